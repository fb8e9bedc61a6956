"""Gradient descent: ``x_{k+1} = x_k - alpha_k grad f(x_k)``.

``alpha_k`` is either a fixed ``step_size`` (the learning rate; no line
search, one function-and-gradient evaluation per iteration) or found by a
line search along ``-g_k`` (Armijo backtracking by default), with the
initial trial ``alpha_{k-1} phi'_{k-1}(0) / phi'_k(0)``-like estimate
``min(1, 2.02 (f_k - f_{k-1}) / phi'_k(0))`` (Nocedal & Wright eq. 3.60).
"""
from __future__ import annotations

from typing import NamedTuple, Optional

import numpy as np

from ._driver import MethodSpec, StepInfo
from ._problem import check_float_option
from ._stepper import LineSearchConfig, LSContext, failure_info, make_line_search_config
from .result import Status

__all__ = ["SPEC"]


class GDOptions(NamedTuple):
    step_size: Optional[float]
    ls: Optional[LineSearchConfig]


class GDState(NamedTuple):
    x: np.ndarray
    f: np.generic
    g: np.ndarray
    ctx: Optional[LSContext]


def parse_options(n, dtype, step_size=None, line_search="armijo", c1=None, c2=None,
                  line_search_options=None):
    if step_size is not None:
        step_size = check_float_option(step_size, "step_size", low=0, low_open=True)
        if c1 is not None or c2 is not None or line_search_options:
            raise TypeError("step_size: a fixed step uses no line search; drop c1/c2/line_search_options")
        return GDOptions(step_size=step_size, ls=None)
    ls = make_line_search_config(line_search, "cg", c1, c2, line_search_options, dtype=dtype)
    return GDOptions(step_size=None, ls=ls)


def init(problem, x0, opts):
    f, g = problem.fun_and_grad(x0)
    ctx = opts.ls.start(x0.dtype) if opts.ls is not None else None
    return GDState(x0, f, g, ctx)


def update(problem, state, opts):
    x, f, g = state.x, state.f, state.g
    if opts.ls is None:
        alpha = x.dtype.type(opts.step_size)
        x1 = x - alpha * g
        f1, g1 = problem.fun_and_grad(x1)
        if not (np.isfinite(f1) and np.all(np.isfinite(g1))):
            return state, StepInfo(Status.NONFINITE, "Gradient descent diverged: f or its gradient is "
                                   "not finite after the step; x is the last finite iterate.", alpha)
        return GDState(x1, f1, g1, None), StepInfo(alpha=alpha)
    out = opts.ls.step(problem, x, f, g, -g, state.ctx)
    if not out.accepted:
        return state, failure_info(out.ls)
    ls = out.ls
    return GDState(ls.x, ls.fun, ls.jac, out.ctx), StepInfo(alpha=ls.alpha)


SPEC = MethodSpec("gd", parse_options, init, update)
