"""Step-tuned SGD: a stochastic Barzilai-Borwein step from noisy gradients."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .base import (
    GradientTransformation,
    beta as _check_beta,
    check_grads,
    check_params,
    check_state,
    count0,
    hyper,
    need_params,
)
from .oracle import as_oracle

__all__ = ["step_tuned_sgd", "StepTunedState"]


class StepTunedState(NamedTuple):
    count: np.ndarray  # k
    gamma: np.ndarray  # the tuned multiplier gamma_k (float64, 0-d)
    G: np.ndarray  # EMA of gradient differences


def step_tuned_sgd(learning_rate=0.1, nu=2.0, beta=0.9, m=0.5, M=2.0, delta=0.001):
    """Step-tuned SGD (Castera, Bolte, Fevotte & Pauwels 2022, Second-Order
    Step-Size Tuning of SGD for Non-Convex Optimization, Neural Processing
    Letters, Algorithm 2).

    Each iteration makes two half steps on the *same* minibatch ``B_k`` with
    the step ``eta_k = alpha gamma_k / (k+1)^(1/2 + delta)``:

    .. math::

        \\theta_{k+1/2} = \\theta_k - \\eta_k \\nabla f_{B_k}(\\theta_k), \\qquad
        \\theta_{k+1} = \\theta_{k+1/2} - \\eta_k \\nabla f_{B_k}(\\theta_{k+1/2}),

    then estimates curvature along the first half step from
    ``dtheta = theta_{k+1/2} - theta_k`` and an exponential average of the
    gradient differences ``dg = grad f_B(theta_{k+1/2}) - grad f_B(theta_k)``:

    .. math::

        G_k = \\beta G_{k-1} + (1-\\beta)\\, dg, \\quad \\hat G_k = G_k / (1-\\beta^{k+1}),

        \\gamma_{k+1} = \\mathrm{clip}\\Big(\\frac{\\|d\\theta\\|^2}{\\langle \\hat G_k, d\\theta\\rangle}
        \\text{ if } \\langle \\hat G_k, d\\theta\\rangle > 0 \\text{ else } \\nu,\\ [m, M]\\Big),

    a Barzilai-Borwein step (inverse curvature) from a local quadratic model;
    ``nu`` is used where the model is concave.  ``gamma_0 = 1``.  Defaults are
    the paper's ``(nu, beta, m, M, delta) = (2, 0.9, 0.5, 2, 0.001)``.  Needs
    ``oracle=`` (the same minibatch); one extra gradient per step.  The
    returned update is ``theta_{k+1} - theta_k``.
    """
    where = "step_tuned_sgd"
    a = hyper(learning_rate, "learning_rate", where, allow_schedule=False)
    nu_ = hyper(nu, "nu", where, low=0.0, low_open=True, allow_schedule=False)
    b = _check_beta(beta, "beta", where, allow_schedule=False)
    lo = hyper(m, "m", where, low=0.0, low_open=True, allow_schedule=False)
    hi = hyper(M, "M", where, low=lo, allow_schedule=False)
    d = hyper(delta, "delta", where, high=0.5, high_open=True, allow_schedule=False)

    def init_fn(params):
        check_params(params, where + ".init")
        return StepTunedState(count0(), np.ones((), dtype=np.float64), np.zeros_like(params))

    def update_fn(grads, state, params=None, *, value=None, oracle=None):
        check_state(state, StepTunedState, where + ".update")
        p = need_params(params, grads, where + ".update")
        check_grads(grads, state.G, where + ".update")
        orc = as_oracle(oracle, where + ".update")
        k = int(state.count)
        eta = a * float(state.gamma) / (k + 1.0) ** (0.5 + d)
        half = p - eta * grads
        _, g_half = orc.value_and_grad(half)
        check_grads(g_half, p, where + ".update", name="the half-step gradient")
        dtheta = -eta * grads
        dg = g_half - grads
        G = state.G * b
        G += (1.0 - b) * dg
        s = float(np.dot(G, dtheta)) / (1.0 - b ** (k + 1))
        if s > 0:
            gam = float(np.dot(dtheta, dtheta)) / s
        else:
            gam = nu_
        gam = min(max(gam, lo), hi)
        updates = grads + g_half
        updates *= -eta
        return updates, StepTunedState(np.asarray(k + 1, dtype=np.int64),
                                       np.asarray(gam, dtype=np.float64), G)

    return GradientTransformation(init_fn, update_fn, {"learning_rate": a})
