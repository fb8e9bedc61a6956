"""Power iteration for the dominant eigenvalue (the method of PyHessian-style tools).

``v_{t+1} = A v_t / ||A v_t||`` with the Rayleigh quotient
``lambda_t = v_t^T A v_t``; it converges to the eigenvalue of largest
*magnitude* at the rate ``|lambda_2 / lambda_1|`` (Golub & Van Loan,
*Matrix Computations*, 4th ed., section 7.3.1).  It is here for comparison
with such tools; :func:`nnopt.curvature.lanczos` is faster and finds the
algebraically largest eigenvalue even when a negative one dominates.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._checks import as_operator, as_rng, check_int, check_positive
from .lanczos import _start_vector

__all__ = ["power_iteration", "PowerResult"]


class PowerResult(NamedTuple):
    """Dominant eigenvalue ``value`` (signed), unit ``vector``, the residual
    ``||A v - value v||``, iterations (= products) and the convergence flag."""

    value: float
    vector: np.ndarray
    residual: float
    n_iter: int
    converged: bool


def power_iteration(matvec, dim=None, *, tol=None, maxiter=1000, seed=0, v0=None, dtype=None):
    """Eigenvalue of largest magnitude by power iteration.

    Stops when the Rayleigh quotient changes by at most ``tol`` relative
    (PyHessian's criterion; default ``sqrt(eps)`` of the dtype) or after
    ``maxiter`` products.

    Parameters
    ----------
    matvec, dim, dtype : see :func:`nnopt.curvature.lanczos`
    tol : float, optional
    maxiter : int
    seed : int or numpy.random.Generator
    v0 : ndarray, optional

    Returns
    -------
    PowerResult
    """
    where = "power_iteration"
    op = as_operator(matvec, dim, dtype, where)
    tol = float(np.sqrt(np.finfo(op.dtype).eps)) if tol is None else check_positive(tol, "tol", where)
    maxiter = check_int(maxiter, "maxiter", where, 1)
    rng = as_rng(seed, where)
    v = _start_vector(v0, op, rng, where)
    lam_prev = None
    converged = False
    w = op.matvec(v)
    lam = float(np.dot(v, w))
    it = 1
    while it < maxiter:
        nw = float(np.linalg.norm(w))
        if nw == 0:
            converged = True
            break
        v = w / op.dtype.type(nw)
        w = op.matvec(v)
        it += 1
        lam_prev, lam = lam, float(np.dot(v, w))
        if abs(lam - lam_prev) <= tol * max(abs(lam), np.finfo(np.float64).tiny):
            converged = True
            break
    residual = float(np.linalg.norm(w - op.dtype.type(lam) * v))
    return PowerResult(op.dtype.type(lam), v, residual, it, converged)
