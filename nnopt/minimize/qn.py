"""Line-search quasi-Newton solvers: L-BFGS (``"lbfgs"``) and dense BFGS (``"bfgs"``).

.. math::  d_k = -H_k g_k, \\qquad x_{k+1} = x_k + \\alpha_k d_k,

with ``H_k`` from :class:`~nnopt.minimize.quasi_newton.LBFGS` (memory ``m``,
``H_0 = (s^T y / y^T y) I``) or :class:`~nnopt.minimize.quasi_newton.BFGS`,
updated with ``s = x_{k+1} - x_k``, ``y = g_{k+1} - g_k`` (updates without
positive curvature are skipped).  Line search: More-Thuente with
``c1 = 1e-4``, ``c2 = 0.9`` and the unit step first (the first iteration
tries ``1 / ||g_0||``, as L-BFGS-B).  If ``-H g`` is not a descent direction
or its search fails, the approximation is reset and the step retried along
``-g`` (Nocedal & Wright, Algorithms 6.1 and 7.5; Liu & Nocedal 1989).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._driver import MethodSpec, StepInfo
from ._problem import check_int_option
from ._stepper import LineSearchConfig, LSContext, failure_info, make_line_search_config
from .quasi_newton import BFGS, LBFGS

__all__ = ["LBFGS_SPEC", "BFGS_SPEC"]


class QNOptions(NamedTuple):
    kind: str
    m: int
    ls: LineSearchConfig


class QNState(NamedTuple):
    x: np.ndarray
    f: np.generic
    g: np.ndarray
    approx: object   # the QuasiNewtonApproximation (inverse Hessian)
    ctx: LSContext


def _parse(kind):
    def parse_options(n, dtype, m=10, line_search="more-thuente", c1=None, c2=None,
                      line_search_options=None):
        m = check_int_option(m, "m", low=1)
        ls = make_line_search_config(line_search, "newton", c1, c2, line_search_options, dtype=dtype)
        return QNOptions(kind, m, ls)

    if kind == "bfgs":
        def parse_bfgs(n, dtype, line_search="more-thuente", c1=None, c2=None, line_search_options=None):
            return parse_options(n, dtype, 10, line_search, c1, c2, line_search_options)
        return parse_bfgs
    return parse_options


def init(problem, x0, opts):
    f, g = problem.fun_and_grad(x0)
    approx = LBFGS(opts.m) if opts.kind == "lbfgs" else BFGS()
    approx.initialize(x0.shape[0], "inv_hess", x0.dtype)
    return QNState(x0, f, g, approx, opts.ls.start(x0.dtype))


def update(problem, state, opts):
    x, f, g, approx = state.x, state.f, state.g, state.approx
    d = -approx.dot(g)
    if not (np.all(np.isfinite(d)) and np.dot(g, d) < 0):
        approx.reset()
        d = -g
    ctx = state.ctx
    out = opts.ls.step(problem, x, f, g, d, ctx)
    if not out.accepted:
        return state, failure_info(out.ls)
    ls = out.ls
    if out.restarted:
        approx.reset()
    approx.update(ls.x - x, ls.jac - g)
    return QNState(ls.x, ls.fun, ls.jac, approx, out.ctx), StepInfo(alpha=ls.alpha)


def finalize(state, opts):
    if opts.kind == "bfgs":
        return {"hess_inv": state.approx.get_matrix()}
    return {"hess_inv": state.approx}


LBFGS_SPEC = MethodSpec("lbfgs", _parse("lbfgs"), init, update, finalize)
BFGS_SPEC = MethodSpec("bfgs", _parse("bfgs"), init, update, finalize)
