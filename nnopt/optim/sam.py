"""Sharpness-aware minimisation (SAM) with m-sharpness."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .base import (
    GradientTransformation,
    at,
    check_grads,
    check_params,
    check_state,
    count0,
    hyper,
    inc,
    need_params,
)
from .oracle import as_oracle

__all__ = ["sam_gradient", "SamState"]


class SamState(NamedTuple):
    count: np.ndarray


def sam_gradient(rho=0.05, m=None, eps=1e-12):
    """Replace the gradient by SAM's gradient (Foret, Kleiner, Mobahi & Neyshabur 2021,
    Sharpness-Aware Minimization for Efficiently Improving Generalization, ICLR,
    Algorithm 1 and eq. (3)).

    .. math::

        \\hat\\epsilon(w) = \\rho\\, \\frac{\\nabla L_B(w)}{\\|\\nabla L_B(w)\\|_2}, \\qquad
        g^{\\rm SAM} = \\nabla L_B(w + \\hat\\epsilon(w)).

    With ``m`` (m-sharpness, their Sec. 4.1) the minibatch is split into
    chunks ``B_i`` of ``m`` examples, each with its own perturbation, and
    ``g = sum_i |B_i|/|B| * grad L_{B_i}(w + eps_i)``; smaller ``m`` generalises
    better in their experiments.  Needs ``oracle=`` (the minibatch
    objective); ``m`` needs one with ``batch`` and ``n_samples``.  Costs one
    extra gradient per step (``2 |B| / m`` with m-sharpness).  ``rho`` may be a
    schedule.  Compose with any base optimizer: see :func:`nnopt.optim.sam`.
    """
    where = "sam_gradient"
    r = hyper(rho, "rho", where)
    if m is not None and (isinstance(m, bool) or not isinstance(m, (int, np.integer)) or m < 1):
        raise ValueError(f"{where}: m must be a positive integer or None, got {m!r}")
    e = hyper(eps, "eps", where, allow_schedule=False)

    def init_fn(params):
        check_params(params, where + ".init")
        return SamState(count0())

    def perturbed_grad(orc, p, g, rho_t):
        n = float(np.linalg.norm(g))
        if n <= e:
            _, g2 = orc.value_and_grad(p)
        else:
            _, g2 = orc.value_and_grad(p + g * (rho_t / n))
        return check_grads(g2, p, where + ".update", name="the perturbed gradient")

    def update_fn(grads, state, params=None, *, value=None, oracle=None):
        check_state(state, SamState, where + ".update")
        p = need_params(params, grads, where + ".update")
        check_grads(grads, p, where + ".update")
        orc = as_oracle(oracle, where + ".update")
        rho_t = at(r, int(state.count))
        if m is None:
            out = perturbed_grad(orc, p, grads, rho_t)
        else:
            subs = orc.split(int(m))
            if len(subs) == 1:
                out = perturbed_grad(orc, p, grads, rho_t)
            else:
                sizes = [int(s.objective.n_samples) for s in subs]
                total = float(sum(sizes))
                out = np.zeros_like(p)
                for s, k in zip(subs, sizes):
                    _, gi = s.value_and_grad(p)
                    out += (k / total) * perturbed_grad(s, p, gi, rho_t)
        return out, SamState(inc(state.count))

    return GradientTransformation(init_fn, update_fn)
