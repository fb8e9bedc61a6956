"""Noise injection: annealed Gaussian gradient noise and label noise.

Randomness is pure: the noise of step ``t`` is drawn from
``numpy.random.default_rng([seed, t])``, so the same seed and state give the
same noise, a checkpointed run resumes bit for bit, and no global generator
is touched.
"""
from __future__ import annotations

from typing import NamedTuple

import math

import numpy as np

from .base import (
    GradientTransformation,
    check_grads,
    check_params,
    check_state,
    count0,
    hyper,
    inc,
)
from .oracle import as_oracle

__all__ = ["add_noise", "label_noise_gradient", "perturb_targets", "AddNoiseState",
           "LabelNoiseState"]


def _seed(seed, where):
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"{where}: seed must be a non-negative integer, got {seed!r}")
    return int(seed)


def step_rng(seed, t, salt=0):
    """The generator of step ``t`` for a transform seeded with ``seed``."""
    return np.random.default_rng([seed, t, salt])


class AddNoiseState(NamedTuple):
    count: np.ndarray


def add_noise(eta=0.01, gamma=0.55, seed=0):
    """Annealed Gaussian gradient noise (Neelakantan et al. 2015, Adding Gradient
    Noise Improves Learning for Very Deep Networks, eq. (1)).

    .. math:: g_t \\leftarrow g_t + N(0, \\sigma_t^2 I), \\qquad \\sigma_t^2 = \\eta / (1 + t)^{\\gamma}

    with ``eta`` in {0.01, 0.3, 1.0} and ``gamma = 0.55`` in the paper.
    """
    where = "add_noise"
    e = hyper(eta, "eta", where, allow_schedule=False)
    g = hyper(gamma, "gamma", where, allow_schedule=False)
    s = _seed(seed, where)

    def init_fn(params):
        check_params(params, where + ".init")
        return AddNoiseState(count0())

    def update_fn(grads, state, params=None, *, value=None, oracle=None):
        check_state(state, AddNoiseState, where + ".update")
        t = int(state.count)
        std = math.sqrt(e / (1.0 + t) ** g)
        z = step_rng(s, t).standard_normal(grads.shape, dtype=grads.dtype)
        z *= std
        z += grads
        return z, AddNoiseState(inc(state.count))

    return GradientTransformation(init_fn, update_fn)


def perturb_targets(objective, rng, sigma, kind="gaussian", n_classes=None):
    """The same objective with noisy targets.

    ``kind="gaussian"``: ``y + sigma * xi``, ``xi ~ N(0, I)`` (regression).
    ``kind="flip"``: each integer label is replaced, with probability
    ``sigma``, by a uniformly random class in ``range(n_classes)``.

    Needs ``objective.Y`` (the targets) and ``objective.with_targets(Y)``
    (the same objective with targets ``Y``); an :class:`nnopt.Objective` is
    rebuilt with the new targets.
    """
    Y = getattr(objective, "Y", None)
    wt = getattr(objective, "with_targets", None)
    if not callable(wt):
        wt = _objective_with_targets(objective)
    if Y is None or wt is None:
        raise TypeError(
            "label noise: the minibatch objective must expose its targets as .Y and a method "
            f".with_targets(Y); {type(objective).__name__} does not (pass perturb=... to "
            "label_noise_gradient for a custom objective)"
        )
    Y = np.asarray(Y)
    if kind == "gaussian":
        if Y.dtype.kind != "f":
            raise TypeError(f"label noise: kind='gaussian' needs floating targets, got dtype {Y.dtype}")
        Yn = Y + sigma * rng.standard_normal(Y.shape, dtype=Y.dtype)
    else:
        if Y.dtype.kind not in "iu":
            raise TypeError(f"label noise: kind='flip' needs integer labels, got dtype {Y.dtype}")
        flip = rng.random(Y.shape) < sigma
        Yn = np.where(flip, rng.integers(0, n_classes, size=Y.shape).astype(Y.dtype), Y)
    return wt(Yn)


def _objective_with_targets(objective):
    """``Y -> the same nnopt.Objective with targets Y`` (None for other objects)."""
    from ..objective import Objective

    if not isinstance(objective, Objective):
        return None
    from ..nn.losses import LOSSES

    spec = objective.loss_name if objective.loss_name in LOSSES else objective.loss
    return lambda Y: Objective(objective.net, spec, objective.X, Y, objective.weight_decay)


class LabelNoiseState(NamedTuple):
    count: np.ndarray


def label_noise_gradient(sigma=0.1, *, kind="gaussian", n_classes=None, seed=0, perturb=None):
    """Replace the gradient by the gradient with noisy targets (label-noise SGD).

    Label-noise SGD (Blanc, Gupta, Valiant & Valiant 2020, Implicit
    regularization for deep neural networks driven by an Ornstein-Uhlenbeck
    like process, COLT; Damian, Ma & Lee 2021, Label Noise SGD Provably
    Prefers Flat Global Minimizers, NeurIPS) draws fresh noise on the targets at
    every step:

    .. math:: g_t = \\nabla_\\theta \\frac{1}{|B|}\\sum_{i \\in B} \\ell(f_\\theta(x_i), y_i + \\sigma \\xi_{t,i}),

    which near a manifold of minima implicitly minimises ``tr(H)`` (a penalty
    on sharpness).  It needs ``oracle=`` (the minibatch objective with
    targets, see :func:`perturb_targets`); ``perturb(objective, rng)``
    overrides how the noisy objective is made.  One extra gradient per step.
    """
    where = "label_noise_gradient"
    if kind not in ("gaussian", "flip"):
        raise ValueError(f"{where}: kind must be 'gaussian' or 'flip', got {kind!r}")
    high = 1.0 if kind == "flip" else None
    sg = hyper(sigma, "sigma", where, high=high, allow_schedule=False)
    if kind == "flip" and (not isinstance(n_classes, (int, np.integer)) or n_classes < 2):
        raise ValueError(f"{where}: kind='flip' needs n_classes >= 2, got {n_classes!r}")
    s = _seed(seed, where)
    if perturb is not None and not callable(perturb):
        raise TypeError(f"{where}: perturb must be callable(objective, rng), got {type(perturb).__name__}")

    def init_fn(params):
        check_params(params, where + ".init")
        return LabelNoiseState(count0())

    def update_fn(grads, state, params=None, *, value=None, oracle=None):
        check_state(state, LabelNoiseState, where + ".update")
        orc = as_oracle(oracle, where + ".update")
        if params is None:
            raise ValueError(f"{where}.update: needs params")
        rng = step_rng(s, int(state.count))
        if perturb is not None:
            noisy = perturb(orc.objective, rng)
        else:
            noisy = perturb_targets(orc.objective, rng, sg, kind, n_classes)
        _, g = orc.with_objective(noisy).value_and_grad(params)
        check_grads(g, params, where + ".update", name="the noisy gradient")
        return g, LabelNoiseState(inc(state.count))

    return GradientTransformation(init_fn, update_fn)
