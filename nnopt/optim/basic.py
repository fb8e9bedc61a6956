"""Elementary transforms: scaling, learning rate, momentum, weight decay,
normalisation, and the gradient of sqrt(L).

Building blocks of the named optimizers in :mod:`nnopt.optim.alias`.
"""
from __future__ import annotations

from typing import NamedTuple

import math

import numpy as np

from .base import (
    EmptyState,
    GradientTransformation,
    at,
    beta,
    check_grads,
    check_params,
    check_state,
    count0,
    hyper,
    inc,
    need_params,
)

__all__ = [
    "scale",
    "scale_by_learning_rate",
    "scale_by_schedule",
    "trace",
    "TraceState",
    "ScaleByScheduleState",
    "add_decayed_weights",
    "normalize",
    "scale_by_sqrt_loss",
]


class ScaleByScheduleState(NamedTuple):
    count: np.ndarray  # steps taken (int64, 0-d)


def scale(factor):
    """``u = factor * g`` for a constant ``factor``."""
    f = hyper(factor, "factor", "scale", low=None, allow_schedule=False)

    def init_fn(params):
        check_params(params, "scale.init")
        return EmptyState()

    def update_fn(grads, state, params=None, *, value=None, oracle=None):
        check_state(state, EmptyState, "scale.update")
        return f * grads, state

    return GradientTransformation(init_fn, update_fn)


def scale_by_schedule(step_size_fn):
    """``u_t = s(t) * g_t`` for a schedule ``s`` (any sign)."""
    if not callable(step_size_fn):
        raise TypeError(f"scale_by_schedule: step_size_fn must be callable, got "
                        f"{type(step_size_fn).__name__}")

    def init_fn(params):
        check_params(params, "scale_by_schedule.init")
        return ScaleByScheduleState(count0())

    def update_fn(grads, state, params=None, *, value=None, oracle=None):
        check_state(state, ScaleByScheduleState, "scale_by_schedule.update")
        s = float(step_size_fn(int(state.count)))
        return s * grads, ScaleByScheduleState(inc(state.count))

    return GradientTransformation(init_fn, update_fn)


def scale_by_learning_rate(learning_rate, *, flip_sign=True):
    """``u_t = -eta_t g_t`` (descent); ``learning_rate`` is a float >= 0 or a schedule."""
    lr = hyper(learning_rate, "learning_rate", "scale_by_learning_rate")
    sign = -1.0 if flip_sign else 1.0

    def init_fn(params):
        check_params(params, "scale_by_learning_rate.init")
        return ScaleByScheduleState(count0())

    def update_fn(grads, state, params=None, *, value=None, oracle=None):
        check_state(state, ScaleByScheduleState, "scale_by_learning_rate.update")
        return np.multiply(grads, sign * at(lr, int(state.count))), ScaleByScheduleState(inc(state.count))

    return GradientTransformation(init_fn, update_fn, {"learning_rate": lr})


class TraceState(NamedTuple):
    count: np.ndarray  # steps taken (int64, 0-d)
    momentum_buffer: np.ndarray  # b_t


def trace(momentum, nesterov=False, dampening=0.0):
    """Heavy-ball / Nesterov momentum in PyTorch's form (``torch.optim.SGD``).

    .. math::

        b_1 = g_1, \\qquad b_t = \\mu_t b_{t-1} + (1 - \\tau) g_t \\quad (t > 1),

        u_t = b_t \\quad\\text{or, with Nesterov,}\\quad u_t = g_t + \\mu_t b_t,

    with momentum ``mu_t`` (float or schedule, e.g.
    :func:`~nnopt.optim.schedules.sutskever_momentum_schedule`) and
    dampening ``tau``.  Followed by ``scale_by_learning_rate(eta)`` this is
    Polyak (1964) heavy ball, and with ``nesterov=True`` the reformulation of
    Nesterov's accelerated gradient by Sutskever et al. (2013), Sec. 2.1.
    """
    mu = beta(momentum, "momentum", "trace")
    tau = hyper(dampening, "dampening", "trace", high=1.0, allow_schedule=False)
    if nesterov and tau != 0.0:
        raise ValueError("trace: Nesterov momentum requires dampening=0 (as in torch.optim.SGD)")
    nesterov = bool(nesterov)

    def init_fn(params):
        check_params(params, "trace.init")
        return TraceState(count0(), np.zeros_like(params))

    def update_fn(grads, state, params=None, *, value=None, oracle=None):
        check_state(state, TraceState, "trace.update")
        check_grads(grads, state.momentum_buffer, "trace.update")
        t = int(state.count)
        m = at(mu, t)
        if t == 0:
            buf = grads.copy()
        else:
            buf = np.multiply(state.momentum_buffer, m)
            if tau == 0.0:
                buf += grads
            else:
                buf += (1.0 - tau) * grads
        if nesterov:
            out = np.multiply(buf, m)
            out += grads
        else:
            out = buf
        return out, TraceState(inc(state.count), buf)

    return GradientTransformation(init_fn, update_fn, {"momentum": mu})


def add_decayed_weights(weight_decay):
    """``u = g + lambda * w``.

    Placed before an adaptive scaling it is L2 regularisation ("coupled" weight
    decay, ``weight_decay`` of torch's SGD/Adam); placed after it and before
    the learning rate it is decoupled weight decay (Loshchilov & Hutter 2019,
    AdamW: ``w <- w - eta (d_t + lambda w)``).
    """
    wd = hyper(weight_decay, "weight_decay", "add_decayed_weights")

    state_cls = ScaleByScheduleState if callable(wd) else EmptyState

    def init_fn(params):
        check_params(params, "add_decayed_weights.init")
        return ScaleByScheduleState(count0()) if state_cls is ScaleByScheduleState else EmptyState()

    def update_fn(grads, state, params=None, *, value=None, oracle=None):
        check_state(state, state_cls, "add_decayed_weights.update")
        p = need_params(params, grads, "add_decayed_weights.update")
        if state_cls is ScaleByScheduleState:
            out = np.multiply(p, at(wd, int(state.count)))
            out += grads
            return out, ScaleByScheduleState(inc(state.count))
        out = np.multiply(p, wd)
        out += grads
        return out, state

    return GradientTransformation(init_fn, update_fn, {"weight_decay": wd})


def normalize(eps=0.0):
    """Normalised gradient: ``u = g / ||g||_2`` (``0`` where ``||g|| <= eps``).

    Normalised GD, ``w <- w - eta g / ||g||``, is studied by Arora, Li &
    Panigrahi (2022), Understanding Gradient Descent on the Edge of Stability
    in Deep Learning, ICML: it reduces sharpness along the manifold of minima.
    """
    e = hyper(eps, "eps", "normalize", allow_schedule=False)

    def init_fn(params):
        check_params(params, "normalize.init")
        return EmptyState()

    def update_fn(grads, state, params=None, *, value=None, oracle=None):
        check_state(state, EmptyState, "normalize.update")
        n = float(np.linalg.norm(grads))
        if not n > e:
            return np.zeros_like(grads), state
        return grads * (1.0 / n), state

    return GradientTransformation(init_fn, update_fn)


def scale_by_sqrt_loss(eps=0.0):
    """Gradient of ``sqrt(L)``: ``u = g / (2 sqrt(L))``; needs ``value=L`` in ``update``.

    GD on ``sqrt(L)`` (Arora, Li & Panigrahi 2022, Sec. 4) behaves like
    normalised GD near a manifold of minima with ``L = 0``.  ``L`` must be
    >= 0; where ``sqrt(L) <= eps`` the update is 0.
    """
    e = hyper(eps, "eps", "scale_by_sqrt_loss", allow_schedule=False)

    def init_fn(params):
        check_params(params, "scale_by_sqrt_loss.init")
        return EmptyState()

    def update_fn(grads, state, params=None, *, value=None, oracle=None):
        check_state(state, EmptyState, "scale_by_sqrt_loss.update")
        if value is None:
            raise ValueError(
                "scale_by_sqrt_loss.update: needs the loss value; call "
                "update(grads, state, params, value=loss) (nnopt.train does this)"
            )
        v = float(value)
        if v < 0:
            raise ValueError(f"scale_by_sqrt_loss.update: the loss must be >= 0 for sqrt(L), got {v}")
        r = math.sqrt(v)
        if not r > e:
            return np.zeros_like(grads), state
        return grads * (0.5 / r), state

    return GradientTransformation(init_fn, update_fn)
