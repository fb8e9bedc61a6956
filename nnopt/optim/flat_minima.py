"""Flat-minima methods: Entropy-SGD and replicated SGD.

Both bias training toward wide flat regions by coupling the weights to other
configurations: Entropy-SGD to a Langevin sample around them (local entropy),
replicated SGD to ``y`` replicas of the network.  Both need gradients on
fresh minibatches at other points, through ``oracle=`` (see
:mod:`nnopt.optim.oracle`; :func:`nnopt.train` provides it).
"""
from __future__ import annotations

from typing import NamedTuple

import math

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
from .noise import _seed, step_rng
from .oracle import as_oracle

__all__ = ["entropy_gradient", "replicated_sgd", "EntropyState", "ReplicatedState"]


class EntropyState(NamedTuple):
    count: np.ndarray


def entropy_gradient(gamma=0.03, gamma_growth=1e-3, langevin_steps=20, langevin_lr=0.1,
                     noise=1e-4, alpha=0.75, seed=0):
    """Replace the gradient by Entropy-SGD's local-entropy gradient (Chaudhari,
    Choromanska, Soatto, LeCun, Baldassi, Borgs, Chayes, Sagun & Zecchina 2017,
    Entropy-SGD: Biasing Gradient Descent Into Wide Valleys, ICLR, Algorithm 1).

    Starting from ``x' = mu = x``, ``L`` steps of SGLD on
    ``f(x') + gamma/2 ||x - x'||^2`` (each on a fresh minibatch):

    .. math::

        dx' = \\nabla f_{\\Xi_\\ell}(x') - \\gamma (x - x'), \\qquad
        x' \\leftarrow x' - \\eta' dx' + \\sqrt{\\eta'}\\, \\varepsilon\\, N(0, I),

        \\mu \\leftarrow (1 - \\alpha) \\mu + \\alpha x',

    then the gradient of the negative local entropy is
    ``gamma (x - mu)``, which the outer optimizer follows
    (``x <- x - eta gamma (x - mu)`` with SGD).  The scope grows as
    ``gamma_t = gamma (1 + gamma_growth)^t`` ("scoping", their Sec. 4.3).
    Defaults are the paper's (``L = 20``, ``eta' = 0.1``, ``eps = 1e-4``,
    ``alpha = 0.75``, ``gamma = 0.03``, ``gamma_growth = 1e-3``).  The first
    Langevin step reuses the given gradient (it is at ``x'= x``); the other
    ``L - 1`` cost one gradient each.
    """
    where = "entropy_gradient"
    g0 = hyper(gamma, "gamma", where, low=0.0, low_open=True, allow_schedule=False)
    g1 = hyper(gamma_growth, "gamma_growth", where, allow_schedule=False)
    if isinstance(langevin_steps, bool) or not isinstance(langevin_steps, (int, np.integer)) \
            or langevin_steps < 1:
        raise ValueError(f"{where}: langevin_steps must be a positive integer, got {langevin_steps!r}")
    L = int(langevin_steps)
    lr_in = hyper(langevin_lr, "langevin_lr", where, low=0.0, low_open=True, allow_schedule=False)
    eps = hyper(noise, "noise", where, allow_schedule=False)
    a = hyper(alpha, "alpha", where, low=0.0, low_open=True, high=1.0, allow_schedule=False)
    s = _seed(seed, where)

    def init_fn(params):
        check_params(params, where + ".init")
        return EntropyState(count0())

    def update_fn(grads, state, params=None, *, value=None, oracle=None):
        check_state(state, EntropyState, where + ".update")
        x = need_params(params, grads, where + ".update")
        check_grads(grads, x, where + ".update")
        orc = as_oracle(oracle, where + ".update")
        t = int(state.count)
        gam = g0 * (1.0 + g1) ** t
        rng = step_rng(s, t)
        xp = x.copy()
        mu = x.copy()
        sq = math.sqrt(lr_in) * eps
        for ell in range(L):
            if ell == 0:
                g = grads
            else:
                _, g = orc.resample().value_and_grad(xp)
                check_grads(g, x, where + ".update", name="the Langevin gradient")
            dx = g - gam * (x - xp)
            xp = xp - lr_in * dx
            if sq > 0.0:
                xp += sq * rng.standard_normal(x.shape, dtype=x.dtype)
            mu *= 1.0 - a
            mu += a * xp
        return gam * (x - mu), EntropyState(inc(state.count))

    return GradientTransformation(init_fn, update_fn)


class ReplicatedState(NamedTuple):
    count: np.ndarray
    replicas: np.ndarray  # (y, n): the replicas w^a


def replicated_sgd(learning_rate=0.1, n_replicas=3, gamma=1e-3, gamma_growth=1e-3,
                   init_noise=0.0, seed=0):
    """Replicated SGD (Baldassi, Pittorino & Zecchina 2020, Shaping the learning
    landscape in neural networks around wide flat minima, PNAS; Pittorino et al.
    2021, Entropic gradient descent algorithms and wide flat minima, ICLR).

    Gradient descent on the robust-ensemble loss of ``y`` replicas coupled to
    a centre ``w_c``,
    ``sum_a L(w^a) + gamma/2 sum_a ||w^a - w_c||^2``, each replica on its own
    minibatch, with the centre at its minimiser (the replicas' mean):

    .. math::

        w^a \\leftarrow w^a - \\eta \\big(\\nabla L_{B_a}(w^a) + \\gamma_t (w^a - w_c)\\big),
        \\qquad w_c \\leftarrow \\frac1y \\sum_a w^a,

    with the coupling growing as ``gamma_t = gamma (1 + gamma_growth)^t``, so
    the replicas collapse onto a point of a wide flat region.  ``params`` is
    the centre; the replicas are in the state, initialised at
    ``params + init_noise * N(0, I)``.  Costs ``y`` gradients per step (the
    gradient passed in, at the centre, is used only by the training loop's
    log).  Needs ``oracle=``.
    """
    where = "replicated_sgd"
    lr = hyper(learning_rate, "learning_rate", where)
    if isinstance(n_replicas, bool) or not isinstance(n_replicas, (int, np.integer)) or n_replicas < 1:
        raise ValueError(f"{where}: n_replicas must be a positive integer, got {n_replicas!r}")
    y = int(n_replicas)
    g0 = hyper(gamma, "gamma", where, allow_schedule=False)
    g1 = hyper(gamma_growth, "gamma_growth", where, allow_schedule=False)
    sig = hyper(init_noise, "init_noise", where, allow_schedule=False)
    s = _seed(seed, where)

    def init_fn(params):
        check_params(params, where + ".init")
        reps = np.repeat(params[None, :], y, axis=0)
        if sig > 0.0:
            reps += sig * step_rng(s, 0, salt=1).standard_normal(reps.shape, dtype=params.dtype)
        return ReplicatedState(count0(), reps)

    def update_fn(grads, state, params=None, *, value=None, oracle=None):
        check_state(state, ReplicatedState, where + ".update")
        c = need_params(params, grads, where + ".update")
        if state.replicas.shape != (y,) + c.shape or state.replicas.dtype != c.dtype:
            raise ValueError(f"{where}.update: state.replicas has shape {state.replicas.shape} "
                             f"and dtype {state.replicas.dtype}, expected {(y,) + c.shape} {c.dtype}")
        orc = as_oracle(oracle, where + ".update")
        t = int(state.count)
        eta = at(lr, t)
        gam = g0 * (1.0 + g1) ** t
        new = np.empty_like(state.replicas)
        for i in range(y):
            w = state.replicas[i]
            o = orc if i == 0 else orc.resample()
            _, g = o.value_and_grad(w)
            check_grads(g, c, where + ".update", name="a replica's gradient")
            new[i] = w - eta * (g + gam * (w - c))
        centre = new.mean(axis=0, dtype=c.dtype)
        return centre - c, ReplicatedState(inc(state.count), new)

    return GradientTransformation(init_fn, update_fn, {"learning_rate": lr})
