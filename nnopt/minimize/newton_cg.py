"""Line-search Newton-CG (truncated Newton) with exact Hessian-vector products.

Each iteration solves ``H_k p = -g_k`` approximately by conjugate gradients,
stopping when ``||r|| <= eta_k ||g_k||`` with the forcing term
``eta_k = min(0.5, sqrt(||g_k||))`` (superlinear convergence), and then
searches along ``p`` from ``alpha = 1`` (Nocedal & Wright, Algorithm 7.1).

Negative curvature: when a CG direction ``d_j`` has ``d_j^T H d_j <= 0``,
CG stops and returns its current iterate ``z_j`` -- or, on the first CG
iteration, ``-g`` (steepest descent).  Hessian-vector products come from
``hessp`` (default :func:`nnopt.hvp`: forward-over-reverse, exact); each
counts in ``nhev``.
"""
from __future__ import annotations

from typing import NamedTuple, Optional

import numpy as np

from ._driver import MethodSpec, StepInfo
from ._problem import check_int_option
from ._stepper import LineSearchConfig, LSContext, failure_info, make_line_search_config

__all__ = ["SPEC", "truncated_cg"]


class NCGOptions(NamedTuple):
    cg_maxiter: Optional[int]
    ls: LineSearchConfig


class NCGState(NamedTuple):
    x: np.ndarray
    f: np.generic
    g: np.ndarray
    ctx: LSContext
    cg_iters: int     # CG iterations of the last step (information)


def parse_options(n, dtype, cg_maxiter=None, line_search="more-thuente", c1=None, c2=None,
                  line_search_options=None):
    cg_maxiter = check_int_option(cg_maxiter, "cg_maxiter", low=1, allow_none=True)
    ls = make_line_search_config(line_search, "newton", c1, c2, line_search_options, dtype=dtype,
                                 initial="newton")
    return NCGOptions(cg_maxiter, ls)


def truncated_cg(hessp, g, tol, maxiter):
    """Approximately solve ``H p = -g`` by CG (N&W Algorithm 7.1, inner loop).

    Returns ``(p, iterations, negative_curvature)``.
    """
    z = np.zeros_like(g)
    r = g.copy()
    d = -r
    rr = np.dot(r, r)
    for j in range(maxiter):
        Hd = hessp(d)
        dHd = np.dot(d, Hd)
        if not dHd > 0:
            return (-g if j == 0 else z), j + 1, True
        a = rr / dHd
        z = z + a * d
        r = r + a * Hd
        rr_new = np.dot(r, r)
        if np.sqrt(rr_new) <= tol:
            return z, j + 1, False
        d = -r + (rr_new / rr) * d
        rr = rr_new
    return (z if np.any(z) else -g), maxiter, False


def init(problem, x0, opts):
    f, g = problem.fun_and_grad(x0)
    return NCGState(x0, f, g, opts.ls.start(x0.dtype), 0)


def update(problem, state, opts):
    x, f, g = state.x, state.f, state.g
    dt = x.dtype.type
    gnorm = np.sqrt(np.dot(g, g))
    eta = min(dt(0.5), np.sqrt(gnorm))
    maxiter = opts.cg_maxiter or 20 * x.shape[0]
    p, iters, _ = truncated_cg(lambda v: problem.hessp(x, v), g, eta * gnorm, maxiter)
    out = opts.ls.step(problem, x, f, g, p, state.ctx)
    if not out.accepted:
        return state, failure_info(out.ls)
    ls = out.ls
    return NCGState(ls.x, ls.fun, ls.jac, out.ctx, iters), StepInfo(alpha=ls.alpha)


SPEC = MethodSpec("newton-cg", parse_options, init, update)
