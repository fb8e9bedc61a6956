"""Exact Newton with the dense Hessian, globalized by a trust region
(default) or by a line search on an eigenvalue-modified Hessian; and the
SR1 trust-region quasi-Newton method, which shares the trust-region code.

``method="newton"``, ``globalization="trust-region"``: the model
``m(p) = f + g^T p + p^T H p / 2`` with the exact Hessian ``H`` is minimized
exactly in the ball ``||p|| <= Delta`` (:mod:`nnopt.minimize.trust_region`);
near a strict minimizer the full Newton step is taken and convergence is
quadratic (Nocedal & Wright, Theorem 4.9).  One iteration is one accepted
step; rejected trials (function evaluations only) shrink ``Delta``.

``globalization="line-search"``: damped Newton,
``d = -Q |Lambda|_delta^{-1} Q^T g`` with ``H = Q Lambda Q^T`` and
eigenvalues replaced by ``max(|lambda_i|, delta)``,
``delta = sqrt(eps) max|lambda|`` (N&W Sec. 3.4, eq. 3.41), then a line
search (Armijo by default) from ``alpha = 1``.

``method="sr1"``: the same trust region with ``B`` from
:class:`~nnopt.minimize.quasi_newton.SR1`, updated after every trial step,
accepted or not (N&W Algorithm 6.2); every trial evaluates ``f`` and ``g``.
"""
from __future__ import annotations

from typing import NamedTuple, Optional

import numpy as np

from ._driver import MethodSpec, StepInfo
from ._problem import check_float_option
from ._stepper import LineSearchConfig, LSContext, failure_info, make_line_search_config
from .quasi_newton import SR1
from .result import Status
from .trust_region import next_radius, radius_floor, ratio, solve_subproblem

__all__ = ["NEWTON_SPEC", "SR1_SPEC"]


class TROptions(NamedTuple):
    kind: str                 # "newton" | "sr1"
    globalization: str
    trust_radius: float
    max_trust_radius: float
    eta: float
    ls: Optional[LineSearchConfig]


class TRState(NamedTuple):
    x: np.ndarray
    f: np.generic
    g: np.ndarray
    B: Optional[object]       # Hessian (newton) or the SR1 approximation
    radius: np.generic
    ctx: Optional[LSContext]


def _check_tr(trust_radius, max_trust_radius, eta):
    r = check_float_option(trust_radius, "trust_radius", low=0, low_open=True)
    rmax = check_float_option(max_trust_radius, "max_trust_radius", low=0, low_open=True)
    if rmax < r:
        raise ValueError(f"max_trust_radius: must be >= trust_radius ({r}), got {rmax}")
    eta = check_float_option(eta, "eta", low=0, high=0.25, high_open=True)
    return r, rmax, eta


def parse_newton(n, dtype, globalization="trust-region", trust_radius=1.0, max_trust_radius=1000.0,
                 eta=0.15, line_search="armijo", c1=None, c2=None, line_search_options=None):
    if globalization not in ("trust-region", "line-search"):
        raise ValueError(f"globalization: expected 'trust-region' or 'line-search', got {globalization!r}")
    r, rmax, eta = _check_tr(trust_radius, max_trust_radius, eta)
    ls = None
    if globalization == "line-search":
        ls = make_line_search_config(line_search, "newton", c1, c2, line_search_options, dtype=dtype,
                                     initial="newton")
    elif c1 is not None or c2 is not None or line_search_options:
        raise TypeError("c1/c2/line_search_options: only with globalization='line-search'")
    return TROptions("newton", globalization, r, rmax, eta, ls)


def parse_sr1(n, dtype, trust_radius=1.0, max_trust_radius=1000.0, eta=1e-4):
    r, rmax, eta = _check_tr(trust_radius, max_trust_radius, eta)
    return TROptions("sr1", "trust-region", r, rmax, eta, None)


def init(problem, x0, opts):
    dt = x0.dtype.type
    f, g = problem.fun_and_grad(x0)
    if opts.kind == "sr1":
        B = SR1()
        B.initialize(x0.shape[0], "hess", x0.dtype)
    else:
        B = problem.hess(x0) if np.isfinite(f) and np.all(np.isfinite(g)) else None
    ctx = opts.ls.start(x0.dtype) if opts.ls is not None else None
    return TRState(x0, f, g, B, dt(opts.trust_radius), ctx)


def _modified_newton_direction(H, g):
    dt = g.dtype.type
    lam, Q = np.linalg.eigh(H)
    delta = dt(np.sqrt(np.finfo(g.dtype).eps)) * max(np.max(np.abs(lam)), dt(np.finfo(g.dtype).tiny))
    return -(Q @ ((Q.T @ g) / np.maximum(np.abs(lam), delta)))


def _line_search_update(problem, state, opts):
    d = _modified_newton_direction(state.B, state.g)
    out = opts.ls.step(problem, state.x, state.f, state.g, d, state.ctx)
    if not out.accepted:
        return state, failure_info(out.ls)
    ls = out.ls
    H = problem.hess(ls.x)
    return TRState(ls.x, ls.fun, ls.jac, H, state.radius, out.ctx), StepInfo(alpha=ls.alpha)


def update(problem, state, opts):
    if opts.globalization == "line-search":
        return _line_search_update(problem, state, opts)
    x, f, g, radius = state.x, state.f, state.g, state.radius
    sr1 = opts.kind == "sr1"
    dt = x.dtype.type
    floor = radius_floor(x)
    nonfinite_seen = False
    while True:
        if not radius > floor:
            status = Status.NONFINITE if nonfinite_seen else Status.NO_PROGRESS
            return state._replace(radius=radius), StepInfo(
                status, "The trust radius fell below the rounding level of x." if not nonfinite_seen
                else None)
        Bmat = state.B.get_matrix() if sr1 else state.B
        step = solve_subproblem(Bmat, g, radius)
        p = step.p
        x1 = x + p
        pnorm = np.sqrt(np.dot(p, p))
        if sr1:
            f1, g1 = problem.fun_and_grad(x1)
        else:
            f1 = problem.fun(x1)
            g1 = None
        finite = np.isfinite(f1) and (g1 is None or np.all(np.isfinite(g1)))
        rho = ratio(f, f1, step.pred) if finite else dt(-np.inf)
        nonfinite_seen = nonfinite_seen or not finite
        if sr1 and finite:
            state.B.update(p, g1 - g)
        radius = next_radius(radius, rho, pnorm, step.on_boundary, opts.max_trust_radius)
        if rho > dt(opts.eta):
            if g1 is None:
                g1 = problem.grad(x1)
                if not np.all(np.isfinite(g1)):
                    nonfinite_seen = True
                    radius = dt(0.25) * pnorm
                    continue
            B = state.B if sr1 else problem.hess(x1)
            return TRState(x1, f1, g1, B, radius, None), StepInfo()


def finalize(state, opts):
    if opts.kind == "sr1":
        return {"hess": state.B.get_matrix(), "trust_radius": state.radius}
    out = {"hess": state.B}
    if opts.globalization == "trust-region":
        out["trust_radius"] = state.radius
    return out


NEWTON_SPEC = MethodSpec("newton", parse_newton, init, update, finalize)
SR1_SPEC = MethodSpec("sr1", parse_sr1, init, update, finalize)
