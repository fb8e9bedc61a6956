"""The iteration loop shared by all solvers: stopping tests, history, callback.

A solver is a :class:`MethodSpec`: ``init(problem, x0, opts) -> state`` and
``update(problem, state, opts) -> (state, StepInfo)``, where ``state`` is a
NamedTuple with at least ``x``, ``f`` and ``g``.  The driver owns everything
else, so every method stops, records and reports the same way.
"""
from __future__ import annotations

import time
from typing import Callable, NamedTuple, Optional

import numpy as np

from .result import HistoryRecorder, OptimizeResult, Status, default_message

__all__ = ["MethodSpec", "StepInfo", "CommonOptions", "run"]


class StepInfo(NamedTuple):
    """What one ``update`` reports besides the new state.

    ``status`` is None for a normal step; a failure status (then the returned
    state must be the previous one) or ``Status.SUCCESS`` (the method's own
    convergence test) stops the run.
    """

    status: Optional[Status] = None
    message: Optional[str] = None
    alpha: object = np.nan


class MethodSpec(NamedTuple):
    name: str
    parse_options: Callable      # (n, dtype, **opts) -> options NamedTuple (raises on unknown)
    init: Callable               # (problem, x0, opts) -> state
    update: Callable             # (problem, state, opts) -> (state, StepInfo)
    finalize: Callable = None    # (state, opts) -> dict of extra result fields
    make_problem: Callable = None  # (fun, x0, jac, hessp, hess) -> problem (default Problem)


class CommonOptions(NamedTuple):
    maxiter: int
    maxfev: Optional[int]
    gtol: float
    ftol: float
    xtol: float
    norm: float
    max_time: Optional[float]
    callback: Optional[Callable]


def _norm(v, ord_):
    if ord_ == np.inf:
        return np.max(np.abs(v))
    if ord_ == 2:
        return np.sqrt(np.dot(v, v))
    return np.linalg.norm(v, ord=ord_)


def run(spec, problem, x0, opts, common):
    """Run ``spec`` from ``x0``; returns an :class:`OptimizeResult`."""
    dt = x0.dtype.type
    t_start = time.perf_counter()
    rec = HistoryRecorder(x0.dtype)
    state = spec.init(problem, x0, opts)
    if not (np.isfinite(state.f) and np.all(np.isfinite(state.g))):
        what = "f(x0)" if not np.isfinite(state.f) else "the gradient at x0"
        raise ValueError(f"fun: {what} is not finite (f(x0) = {state.f!r}); start from a point where "
                         "the objective and its gradient are finite")
    gnorm = _norm(state.g, common.norm)
    nan = dt(np.nan)
    rec.append(state.f, gnorm, nan, dt(0), problem.nfev, problem.njev, problem.nhev,
               time.perf_counter() - t_start)
    gtol, ftol, xtol = dt(common.gtol), dt(common.ftol), dt(common.xtol)
    one = dt(1)
    status, message = None, None
    f_scale0 = abs(state.f)
    if gtol > 0 and gnorm <= gtol * max(one, f_scale0):
        status, message = Status.SUCCESS, "Optimization terminated successfully: gtol test passed at x0."
    nit = 0
    while status is None:
        if nit >= common.maxiter:
            status = Status.MAXITER
            break
        if common.maxfev is not None and problem.nfev >= common.maxfev:
            status = Status.MAXFEV
            break
        if common.max_time is not None and time.perf_counter() - t_start >= common.max_time:
            status = Status.TIME_LIMIT
            break
        new, info = spec.update(problem, state, opts)
        if info.status is not None and info.status != Status.SUCCESS:
            status, message = info.status, info.message
            break
        nit += 1
        dx = new.x - state.x
        step_norm = np.sqrt(np.dot(dx, dx))
        gnorm = _norm(new.g, common.norm)
        rec.append(new.f, gnorm, dt(info.alpha), step_norm, problem.nfev, problem.njev, problem.nhev,
                   time.perf_counter() - t_start)
        f_old = state.f
        state = new
        if info.status == Status.SUCCESS:
            status, message = Status.SUCCESS, info.message
            break
        if common.callback is not None:
            intermediate = OptimizeResult(x=state.x, fun=state.f, jac=state.g, nit=nit,
                                          nfev=problem.nfev, njev=problem.njev, nhev=problem.nhev)
            try:
                common.callback(intermediate)
            except StopIteration:
                status = Status.CALLBACK
                break
        # gtol is relative to |f|, but never to a |f| larger than |f(x0)|: a
        # diverging run (|f| -> inf) must not pass it.
        if gtol > 0 and gnorm <= gtol * max(one, min(abs(state.f), f_scale0)):
            status, message = Status.SUCCESS, "Optimization terminated successfully: gtol test passed."
        elif ftol > 0 and 0 <= f_old - state.f <= ftol * max(abs(f_old), abs(state.f), one):
            status, message = Status.SUCCESS, "Optimization terminated successfully: ftol test passed."
        elif xtol > 0 and _norm(dx, np.inf) <= xtol * max(one, _norm(state.x, np.inf)):
            status, message = Status.SUCCESS, "Optimization terminated successfully: xtol test passed."
        elif step_norm == 0:
            status = Status.NO_PROGRESS
    wall = time.perf_counter() - t_start
    res = OptimizeResult(
        x=state.x, fun=state.f, jac=state.g, nit=nit, nfev=problem.nfev, njev=problem.njev,
        nhev=problem.nhev, status=status, success=status == Status.SUCCESS,
        message=message or default_message(status), history=rec.finish(), wall_time=wall,
        method=spec.name,
    )
    if spec.finalize is not None:
        res.update(spec.finalize(state, opts))
    return res
