"""Clipping and guarding: value clipping, global-norm clipping, the SIBERT
weight-norm-proportional clipping, and skipping non-finite updates."""
from __future__ import annotations

from typing import NamedTuple

import math

import numpy as np

from .base import (
    EmptyState,
    GradientTransformation,
    at,
    check_params,
    check_state,
    count0,
    hyper,
    inc,
    need_params,
)

__all__ = [
    "clip",
    "clip_by_global_norm",
    "clip_by_weight_norm",
    "apply_if_finite",
    "ClipByWeightNormState",
    "ApplyIfFiniteState",
]


def clip(max_delta):
    """Clip every coordinate to ``[-max_delta, max_delta]``."""
    c = hyper(max_delta, "max_delta", "clip", allow_schedule=False)

    def init_fn(params):
        check_params(params, "clip.init")
        return EmptyState()

    def update_fn(grads, state, params=None, *, value=None, oracle=None):
        check_state(state, EmptyState, "clip.update")
        return np.clip(grads, -c, c), state

    return GradientTransformation(init_fn, update_fn)


def clip_by_global_norm(max_norm):
    """``g <- g * min(1, max_norm / ||g||_2)`` (Pascanu, Mikolov & Bengio 2013)."""
    c = hyper(max_norm, "max_norm", "clip_by_global_norm", low=0.0, low_open=True,
              allow_schedule=False)

    def init_fn(params):
        check_params(params, "clip_by_global_norm.init")
        return EmptyState()

    def update_fn(grads, state, params=None, *, value=None, oracle=None):
        check_state(state, EmptyState, "clip_by_global_norm.update")
        n = float(np.linalg.norm(grads))
        if n > c:
            return grads * (c / n), state
        return grads, state

    return GradientTransformation(init_fn, update_fn)


class ClipByWeightNormState(NamedTuple):
    count: np.ndarray


def clip_by_weight_norm(learning_rate, weight_decay):
    """SIBERT's global clipping rule (Li, Bhojanapalli, Zaheer, Reddi & Kumar 2022,
    Robust Training of Neural Networks Using Scale Invariant Architectures, ICML).

    .. math::

        C_t = \\|w_t\\|_2 \\sqrt{2 \\lambda_t / \\eta_t}, \\qquad
        g \\leftarrow g \\min(1, C_t / \\|g\\|_2).

    For a scale-invariant network trained by SGD with weight decay
    ``lambda`` and learning rate ``eta``, ``||w|| sqrt(2 lambda / eta)`` is the
    gradient norm at the equilibrium of the weight norm; clipping at it keeps
    the effective step bounded (their Theorem 1.1 and Sec. 4).  ``eta`` and
    ``lambda`` may be schedules (evaluated at the same step count).  Use it on
    the loss gradient, before the weight decay term (see
    :func:`nnopt.optim.sibert_sgd`).
    """
    where = "clip_by_weight_norm"
    lr = hyper(learning_rate, "learning_rate", where, low=0.0, low_open=True)
    wd = hyper(weight_decay, "weight_decay", where, low=0.0, low_open=True)

    def init_fn(params):
        check_params(params, where + ".init")
        return ClipByWeightNormState(count0())

    def update_fn(grads, state, params=None, *, value=None, oracle=None):
        check_state(state, ClipByWeightNormState, where + ".update")
        p = need_params(params, grads, where + ".update")
        t = int(state.count)
        c = float(np.linalg.norm(p)) * math.sqrt(2.0 * at(wd, t) / at(lr, t))
        n = float(np.linalg.norm(grads))
        out = grads * (c / n) if n > c else grads
        return out, ClipByWeightNormState(inc(state.count))

    return GradientTransformation(init_fn, update_fn)


class ApplyIfFiniteState(NamedTuple):
    notfinite_count: np.ndarray  # consecutive non-finite steps
    total_notfinite: np.ndarray  # all non-finite steps
    inner_state: tuple


def apply_if_finite(inner, max_consecutive_errors=None):
    """Skip steps whose updates are not finite.

    When ``inner``'s updates contain inf/NaN the update is zero and ``inner``'s
    state is left as it was (as optax's ``apply_if_finite``).  After
    ``max_consecutive_errors`` consecutive bad steps the bad update is passed
    through, so that a divergence detector further out sees it.
    """
    if not isinstance(inner, GradientTransformation):
        raise TypeError(f"apply_if_finite: inner must be a GradientTransformation, got "
                        f"{type(inner).__name__}")
    if max_consecutive_errors is not None and (
            not isinstance(max_consecutive_errors, (int, np.integer)) or max_consecutive_errors < 1):
        raise ValueError(f"apply_if_finite: max_consecutive_errors must be a positive integer or "
                         f"None, got {max_consecutive_errors!r}")

    def init_fn(params):
        check_params(params, "apply_if_finite.init")
        return ApplyIfFiniteState(count0(), count0(), inner.init(params))

    def update_fn(grads, state, params=None, *, value=None, oracle=None):
        check_state(state, ApplyIfFiniteState, "apply_if_finite.update")
        updates, new_inner = inner.update(grads, state.inner_state, params, value=value,
                                          oracle=oracle)
        if np.isfinite(updates).all():
            return updates, ApplyIfFiniteState(count0(), state.total_notfinite, new_inner)
        bad = int(state.notfinite_count) + 1
        total = inc(state.total_notfinite)
        if max_consecutive_errors is not None and bad >= max_consecutive_errors:
            return updates, ApplyIfFiniteState(np.asarray(bad, dtype=np.int64), total, new_inner)
        return (np.zeros_like(updates),
                ApplyIfFiniteState(np.asarray(bad, dtype=np.int64), total, state.inner_state))

    return GradientTransformation(init_fn, update_fn, inner.hyperparams)

