"""Hessian-free optimisation (Martens 2010): truncated conjugate gradient on
the damped Gauss-Newton quadratic model.

At ``theta`` with gradient ``g`` (the training loop's), CG minimises

    q(p) = g^T p + p^T (GN + lam I) p / 2

(``GN`` the Gauss-Newton matrix of the minibatch, products by
:class:`~nnopt.secondorder.gauss_newton.GaussNewton`), started from
``zeta`` times the previous solution (Martens 2010, section 4.5).  CG stops
after ``max_cg_iters`` iterations, when the residual is below
``cg_tol_abs``, or by Martens' relative-progress test (section 4.4)

    i > k,  q(p_i) < 0,  (q(p_i) - q(p_{i-k})) / q(p_i) < k eps,  k = max(10, i / 10).

*CG backtracking* (section 4.6): the iterates at iterations
``ceil(1.3^j)`` and the last one are kept; starting from the last, the
earlier ones are tried while the objective keeps decreasing.  The
Levenberg-Marquardt rule (section 4.1) adapts ``lam``: with ``rho = (L(theta
+ p) - L(theta)) / q(p)``, ``lam <- 3/2 lam`` if ``rho < 1/4``, ``lam <- 2/3
lam`` if ``rho > 3/4``.  Finally a backtracking line search (Martens &
Sutskever 2012, section 8.8) shrinks the step ``alpha p`` from
``alpha = learning_rate`` by 0.8 until the Armijo condition
``L(theta + alpha p) <= L(theta) + 1e-2 alpha g^T p`` holds (at most 60
times; then no step is taken).
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from ..optim.base import GradientTransformation, at, beta, check_params, count0, hyper, inc
from ._common import armijo_backtrack, check_update, curvature_objective, loss_at, positive_int
from .gauss_newton import GaussNewton

__all__ = ["hessian_free", "HessianFreeState", "cg_minimize", "CGResult"]


class HessianFreeState(NamedTuple):
    count: np.ndarray      # steps taken (int64, 0-d)
    damping: np.ndarray    # current lambda (0-d float64)
    velocity: np.ndarray   # previous CG solution p (warm start)
    cg_iters: np.ndarray   # CG iterations of the last step (int64, 0-d)


class CGResult(NamedTuple):
    x: np.ndarray          # the last iterate
    iterates: list         # (iteration, x) kept for backtracking, in order
    n_iter: int
    q: float               # q(x) of the last iterate


def cg_minimize(matvec, b, x0=None, max_iter=250, tol=5e-4, abs_tol=0.0, min_iter=1, keep_ratio=1.3):
    """Minimise ``q(x) = x^T B x / 2 - b^T x`` by conjugate gradient (Hestenes &
    Stiefel 1952; Nocedal & Wright 2006, Algorithm 5.2) with Martens'
    relative-progress stopping test; ``B`` (through ``matvec``) must be
    symmetric positive definite.  Solves ``B x = b``.

    Returns a :class:`CGResult` whose ``iterates`` hold the iterates at
    iterations ``ceil(keep_ratio^j)`` and the last one.
    """
    x = np.zeros_like(b) if x0 is None else np.array(x0, copy=True)
    r = b - matvec(x) if x0 is not None and np.any(x0) else b.copy()  # r = b - B x
    d = r.copy()
    rr = float(r @ r)
    # q(x) = -x^T (r + b) / 2 since B x = b - r
    qs = [-0.5 * float(x @ (r + b))]
    keep = set()
    j = 0
    while True:
        k = math.ceil(keep_ratio ** j)
        if k > max_iter:
            break
        keep.add(k)
        j += 1
    iterates = []
    i = 0
    while i < max_iter:
        if math.sqrt(rr) <= abs_tol:
            break
        Bd = matvec(d)
        dBd = float(d @ Bd)
        if not dBd > 0:  # B not positive definite along d (or NaN): stop
            break
        alpha = rr / dBd
        x = x + alpha * d
        r = r - alpha * Bd
        rr_new = float(r @ r)
        d = r + (rr_new / rr) * d
        rr = rr_new
        i += 1
        q = -0.5 * float(x @ (r + b))
        qs.append(q)
        if i in keep:
            iterates.append((i, x))
        kk = max(10, int(0.1 * i))
        if i > max(kk, min_iter) and q < 0 and (q - qs[i - kk]) / q < kk * tol:
            break
    if not iterates or iterates[-1][0] != i:
        iterates.append((i, x))
    return CGResult(x, iterates, i, qs[-1])


def hessian_free(learning_rate=1.0, damping=1.0, *, max_cg_iters=250, cg_tol=5e-4, init_decay=0.95,
                 adaptive_damping=True, backtracking=True, line_search=True, min_damping=1e-8):
    """Hessian-free optimisation (see the module docstring).

    Parameters
    ----------
    learning_rate : float or schedule
        Initial step of the line search (1: the CG step itself).
    damping : float > 0
        Initial Levenberg-Marquardt damping ``lam`` (Martens 2010 starts at 45
        for his sum-of-losses scaling; the means used by nnopt need less).
    max_cg_iters : int
    cg_tol : float
        ``eps`` of the relative-progress test.
    init_decay : float in [0, 1)
        ``zeta``: CG starts from ``zeta`` times the previous solution.
    adaptive_damping, backtracking, line_search : bool
    min_damping : float

    Returns
    -------
    GradientTransformation
        ``update(grads, state, params, value=loss, oracle=minibatch_objective)``;
        the objective is evaluated at several trial points.
    """
    where = "hessian_free"
    lr = hyper(learning_rate, "learning_rate", where)
    lam0 = hyper(damping, "damping", where, low=0.0, low_open=True, allow_schedule=False)
    n_cg = positive_int(max_cg_iters, "max_cg_iters", where)
    eps = hyper(cg_tol, "cg_tol", where, low=0.0, low_open=True, allow_schedule=False)
    zeta = beta(init_decay, "init_decay", where, allow_schedule=False)
    lam_min = hyper(min_damping, "min_damping", where, allow_schedule=False)

    def init_fn(params):
        check_params(params, f"{where}.init")
        return HessianFreeState(count0(), np.asarray(lam0, dtype=np.float64), np.zeros_like(params), count0())

    def update_fn(grads, state, params=None, *, value=None, oracle=None):
        check_update(grads, state, params, HessianFreeState, f"{where}.update")
        obj = curvature_objective(oracle, f"{where}.update")
        t = int(state.count)
        lam = float(state.damping)
        f0 = loss_at(obj, params) if value is None else float(value)
        GN = GaussNewton(obj, params)

        def matvec(v):
            return GN.matvec(v) + lam * v

        x0 = zeta * state.velocity if zeta else None
        res = cg_minimize(matvec, -grads, x0, max_iter=n_cg, tol=eps,
                          abs_tol=float(np.finfo(params.dtype).tiny))
        p = res.x
        f_p = loss_at(obj, params + p)
        q_p = res.q
        if backtracking and len(res.iterates) > 1:
            best, best_f = p, f_p
            for _, xi in reversed(res.iterates[:-1]):
                fi = loss_at(obj, params + xi)
                if fi < best_f:
                    best, best_f = xi, fi
                else:
                    break
            if best is not p:
                q_p = float(grads @ best) + 0.5 * float(best @ matvec(best))
                p, f_p = best, best_f
        if adaptive_damping:
            rho = (f_p - f0) / q_p if q_p < 0 and math.isfinite(f_p) else -math.inf
            if rho < 0.25:
                lam = lam * 1.5
            elif rho > 0.75:
                lam = max(lam * (2.0 / 3.0), lam_min)
        alpha = at(lr, t)
        if line_search:
            alpha = armijo_backtrack(lambda th: loss_at(obj, th), params, p, f0, float(grads @ p), alpha,
                                     f_first=f_p if alpha == 1.0 else None)
        step = p * alpha if alpha != 1.0 else p.copy()
        new = HessianFreeState(inc(state.count), np.asarray(lam, dtype=np.float64), res.x,
                               np.asarray(res.n_iter, dtype=np.int64))
        return step, new

    return GradientTransformation(init_fn, update_fn, {"learning_rate": lr, "damping": lam0})
