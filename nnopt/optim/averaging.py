"""Iterate averaging and Lookahead: wrappers that keep a second vector of weights.

The wrappers see the final updates of the optimizer they wrap, so they know
the new iterate ``w_{t+1} = w_t + u_t``.  Averaging does not change the
trajectory; the averaged iterate lives in the state and is read with
:func:`averaged_params` (:func:`nnopt.train` returns it as
``result.theta_averaged``).  Lookahead changes the trajectory (the fast
weights are reset to the slow weights every ``k`` steps).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .base import (
    GradientTransformation,
    beta,
    check_params,
    check_state,
    count0,
    hyper,
    need_params,
)

__all__ = [
    "tail_average",
    "ema_average",
    "lookahead",
    "averaged_params",
    "TailAverageState",
    "EmaAverageState",
    "LookaheadState",
]


def _wrapped(inner, where):
    if not isinstance(inner, GradientTransformation):
        raise TypeError(f"{where}: the optimizer to wrap must be a GradientTransformation, got "
                        f"{type(inner).__name__}")


class TailAverageState(NamedTuple):
    count: np.ndarray  # steps taken
    n_averaged: np.ndarray  # iterates in the average
    average: np.ndarray  # the running uniform average
    inner_state: tuple


def tail_average(inner, start=0, every=1):
    """Uniform (tail) iterate averaging (Polyak & Juditsky 1992; SWA, Izmailov et al.
    2018; Gadam, Granziol et al. 2021).

    After step ``t >= start`` with ``(t - start) % every == 0`` the new iterate
    joins the running mean:
    ``a <- a + (w_{t+1} - a) / (n + 1)``.  Before ``start`` the average is the
    current iterate.
    """
    where = "tail_average"
    _wrapped(inner, where)
    for name, v, lo in (("start", start, 0), ("every", every, 1)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
            raise ValueError(f"{where}: {name} must be an integer >= {lo}, got {v!r}")
    start, every = int(start), int(every)

    def init_fn(params):
        check_params(params, where + ".init")
        return TailAverageState(count0(), count0(), params.copy(), inner.init(params))

    def update_fn(grads, state, params=None, *, value=None, oracle=None):
        check_state(state, TailAverageState, where + ".update")
        p = need_params(params, grads, where + ".update")
        updates, inner_state = inner.update(grads, state.inner_state, p, value=value, oracle=oracle)
        t = int(state.count)
        n = int(state.n_averaged)
        new = p + updates
        if t >= start and (t - start) % every == 0:
            avg = state.average + (new - state.average) * (1.0 / (n + 1)) if n else new
            n += 1
        elif n == 0:
            avg = new
        else:
            avg = state.average
        return updates, TailAverageState(np.asarray(t + 1, dtype=np.int64),
                                         np.asarray(n, dtype=np.int64), avg, inner_state)

    return GradientTransformation(init_fn, update_fn, inner.hyperparams)


class EmaAverageState(NamedTuple):
    count: np.ndarray
    ema: np.ndarray  # biased EMA of the iterates
    correction: np.ndarray  # 1 - decay^t when debiasing, else 1 (float64, 0-d)
    inner_state: tuple


def ema_average(inner, decay=0.999, debias=True):
    """Exponential moving average of the iterates.

    ``e_{t+1} = decay * e_t + (1 - decay) * w_{t+1}``, ``e_0 = 0``;
    :func:`averaged_params` returns ``e_t / (1 - decay^t)`` when ``debias``
    (else ``e_t``, which starts at 0).
    """
    where = "ema_average"
    _wrapped(inner, where)
    d = beta(decay, "decay", where, allow_schedule=False)
    debias = bool(debias)

    def init_fn(params):
        check_params(params, where + ".init")
        return EmaAverageState(count0(), np.zeros_like(params), np.ones((), dtype=np.float64),
                               inner.init(params))

    def update_fn(grads, state, params=None, *, value=None, oracle=None):
        check_state(state, EmaAverageState, where + ".update")
        p = need_params(params, grads, where + ".update")
        updates, inner_state = inner.update(grads, state.inner_state, p, value=value, oracle=oracle)
        t = int(state.count) + 1
        e = state.ema * d
        e += (1.0 - d) * (p + updates)
        corr = 1.0 - d ** t if debias else 1.0
        return updates, EmaAverageState(np.asarray(t, dtype=np.int64), e,
                                        np.asarray(corr, dtype=np.float64), inner_state)

    return GradientTransformation(init_fn, update_fn, inner.hyperparams)


class LookaheadState(NamedTuple):
    count: np.ndarray
    slow: np.ndarray  # phi, the slow weights
    inner_state: tuple


def lookahead(inner, sync_period=6, alpha=0.5):
    """Lookahead (Zhang, Lucas, Hinton & Ba 2019, Algorithm 1).

    The wrapped optimizer moves the fast weights ``theta``; every ``k`` steps
    the slow weights move toward them and the fast weights are reset:

    .. math:: \\phi \\leftarrow \\phi + \\alpha (\\theta - \\phi), \\qquad \\theta \\leftarrow \\phi.

    ``params`` are the fast weights; the slow weights are in the state (and
    equal ``params`` right after a synchronisation).
    """
    where = "lookahead"
    _wrapped(inner, where)
    if isinstance(sync_period, bool) or not isinstance(sync_period, (int, np.integer)) or sync_period < 1:
        raise ValueError(f"{where}: sync_period must be a positive integer, got {sync_period!r}")
    k = int(sync_period)
    a = hyper(alpha, "alpha", where, high=1.0, allow_schedule=False)

    def init_fn(params):
        check_params(params, where + ".init")
        return LookaheadState(count0(), params.copy(), inner.init(params))

    def update_fn(grads, state, params=None, *, value=None, oracle=None):
        check_state(state, LookaheadState, where + ".update")
        p = need_params(params, grads, where + ".update")
        updates, inner_state = inner.update(grads, state.inner_state, p, value=value, oracle=oracle)
        t = int(state.count) + 1
        slow = state.slow
        if t % k == 0:
            fast = p + updates
            slow = slow + a * (fast - slow)
            updates = slow - p
        return updates, LookaheadState(np.asarray(t, dtype=np.int64), slow, inner_state)

    return GradientTransformation(init_fn, update_fn, inner.hyperparams)


def averaged_params(state):
    """The averaged (or slow) weights kept in an optimizer state, or None.

    Searches ``state`` (depth first, outermost first) for a
    :class:`TailAverageState`, :class:`EmaAverageState` (debiased) or
    :class:`LookaheadState`.
    """
    if isinstance(state, TailAverageState):
        return state.average
    if isinstance(state, EmaAverageState):
        if int(state.count) == 0:
            return None
        return state.ema * (1.0 / float(state.correction))
    if isinstance(state, LookaheadState):
        return state.slow
    if isinstance(state, tuple):
        for s in state:
            r = averaged_params(s)
            if r is not None:
                return r
    return None
