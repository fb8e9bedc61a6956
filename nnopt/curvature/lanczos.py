"""Lanczos with full reorthogonalisation for extremal eigenpairs of a symmetric operator.

Starting from a unit vector ``q_0``, Lanczos builds an orthonormal basis
``Q_j = [q_0, ..., q_{j-1}]`` of the Krylov space ``K_j(A, q_0)`` in which
``A`` is tridiagonal::

    A Q_j = Q_j T_j + beta_j q_j e_j^T,   T_j = tridiag(beta, alpha, beta).

The eigenvalues of ``T_j`` (Ritz values) converge to the extremal eigenvalues
of ``A`` first; the Ritz pair ``(theta_i, y_i = Q_j s_i)`` has the residual
``||A y_i - theta_i y_i|| = beta_j |e_j^T s_i|`` (Golub & Van Loan,
*Matrix Computations*, 4th ed., Algorithm 10.1.1 and section 10.1.4;
Parlett, *The Symmetric Eigenvalue Problem*, ch. 13).  Each new vector is
orthogonalised against all previous ones, twice ("twice is enough",
Giraud et al. 2005), which removes the loss of orthogonality of plain
Lanczos and its spurious copies of converged eigenvalues.  When ``beta_j``
vanishes (an invariant subspace has been found) the iteration restarts with
a random vector orthogonal to ``Q_j``, so that after ``n`` steps the
spectrum is found exactly, multiplicities included.

The basis vectors and products stay in the operator's dtype (float32 stays
float32); the tridiagonal matrix ``T_j`` and its eigen-decomposition are
accumulated in float64 (a ``j x j`` matrix, negligible cost).

Symmetry is checked for free: full reorthogonalisation computes
``h = Q_j^T A q_j``, whose entries below ``j - 1`` must vanish and whose entry
``j - 1`` must equal ``beta_{j-1}`` when ``A`` is symmetric.
"""
from __future__ import annotations

import warnings
from typing import NamedTuple

import numpy as np
import scipy.linalg

from ._checks import as_operator, as_rng, check_int, check_positive, default_tol

__all__ = ["lanczos", "LanczosResult", "ConvergenceWarning", "NonSymmetricOperatorError"]


class ConvergenceWarning(RuntimeWarning):
    """An eigen-solver stopped at ``maxiter`` before reaching its tolerance."""


class NonSymmetricOperatorError(ValueError):
    """Lanczos was given an operator that is not symmetric."""


class LanczosResult(NamedTuple):
    """Result of :func:`lanczos` with ``full_output=True``.

    Attributes
    ----------
    values : ndarray, shape (k,)
        Ritz values, descending for ``"largest"``, ascending for ``"smallest"``.
    vectors : ndarray, shape (dim, k)
        Unit Ritz vectors (columns), in the operator's dtype.
    residuals : ndarray, shape (k,)
        ``||A y_i - theta_i y_i||`` as estimated by Lanczos, ``beta_j |s_{j,i}|``.
    n_iter : int
        Lanczos steps taken (= products with the operator).
    converged : bool
        Whether every residual is ``<= tol * ||T_j||``.
    tol : float
        The relative tolerance used.
    """

    values: np.ndarray
    vectors: np.ndarray
    residuals: np.ndarray
    n_iter: int
    converged: bool
    tol: float


class _Krylov:
    """The Lanczos recurrence with full reorthogonalisation (shared with SLQ)."""

    def __init__(self, op, q0, max_steps, check_symmetry, sym_tol, where, rng=None):
        self.op, self.where = op, where
        self.dtype = op.dtype
        self.Q = np.empty((max_steps + 1, op.dim), dtype=op.dtype)
        self.Q[0] = q0
        self.alpha, self.beta = [], []  # float64
        self.j = 0  # number of completed steps
        self.anorm = 0.0
        self.check_symmetry = check_symmetry
        self.sym_tol = sym_tol
        self.rng = rng
        self.breakdowns = 0
        self.eps = float(np.finfo(op.dtype).eps)

    def step(self, restart=True):
        """One Lanczos step; returns False when the space is exhausted."""
        j, Q = self.j, self.Q
        q = Q[j]
        w = self.op.matvec(q)
        Qj = Q[: j + 1]
        h = Qj @ w
        self.anorm = max(self.anorm, float(np.linalg.norm(w)))
        if self.check_symmetry and j >= 1:
            dev = abs(float(h[j - 1]) - self.beta[j - 1])
            if j >= 2:
                dev = max(dev, float(np.max(np.abs(h[: j - 1]))))
            if dev > self.sym_tol * max(self.anorm, np.finfo(np.float64).tiny):
                raise NonSymmetricOperatorError(
                    f"{self.where}: the operator is not symmetric: q_{j - 1}^T A q_{j} differs from "
                    f"q_{j}^T A q_{j - 1} by {dev:.3g} relative to ||A|| ~ {self.anorm:.3g} "
                    f"(> {self.sym_tol:.1e}); Lanczos needs a symmetric operator "
                    "(pass check_symmetry=False to skip this check)"
                )
        w = w - Qj.T @ h
        h2 = Qj @ w  # second pass: "twice is enough"
        w -= Qj.T @ h2
        self.alpha.append(float(h[j]) + float(h2[j]))
        b = float(np.linalg.norm(w))
        self.j = j + 1
        n = self.op.dim
        if self.j >= n:
            self.beta.append(0.0)
            return False
        if b <= 10.0 * self.eps * max(self.anorm, np.finfo(np.float64).tiny) * np.sqrt(n):
            # invariant subspace: restart with a random vector orthogonal to Q
            self.beta.append(0.0)
            if not restart:
                return False
            self.breakdowns += 1
            Qn = Q[: self.j]
            for _ in range(3):
                r = self.rng.standard_normal(n).astype(self.dtype)
                r -= Qn.T @ (Qn @ r)
                r -= Qn.T @ (Qn @ r)
                nr = float(np.linalg.norm(r))
                if nr > 1e-3 * np.sqrt(n):
                    Q[self.j] = r / self.dtype.type(nr)
                    return True
            return False  # pragma: no cover - numerically exhausted
        self.beta.append(b)
        Q[self.j] = w / self.dtype.type(b)
        return True

    def ritz(self):
        """Eigen-decomposition of T_j in float64: (theta ascending, S, beta_j)."""
        a = np.asarray(self.alpha, dtype=np.float64)
        b = np.asarray(self.beta[:-1], dtype=np.float64)
        if a.size == 1:
            return a.copy(), np.ones((1, 1)), self.beta[-1]
        theta, S = scipy.linalg.eigh_tridiagonal(a, b)
        return theta, S, self.beta[-1]


def _sym_tol(dtype):
    return float(np.sqrt(np.finfo(dtype).eps))


def _start_vector(v0, op, rng, where):
    if v0 is None:
        v = rng.standard_normal(op.dim).astype(op.dtype)
    else:
        v = np.asarray(v0)
        if v.shape != (op.dim,):
            raise ValueError(f"{where}: v0 must have shape ({op.dim},), got {v.shape}")
        if v.dtype != op.dtype:
            raise TypeError(f"{where}: v0 has dtype {v.dtype}, the operator computes in {op.dtype}")
        if not np.all(np.isfinite(v)):
            raise ValueError(f"{where}: v0 must be finite")
    nv = float(np.linalg.norm(v))
    if nv == 0:
        raise ValueError(f"{where}: v0 must be a non-zero vector")
    return (v / op.dtype.type(nv)).astype(op.dtype)


def _check_dense_symmetry(op, where, check):
    A = op.dense
    if check and A is not None:
        tol = _sym_tol(A.dtype) * max(float(np.max(np.abs(A))), np.finfo(np.float64).tiny)
        dev = float(np.max(np.abs(A - A.T)))
        if dev > tol:
            raise NonSymmetricOperatorError(
                f"{where}: the matrix is not symmetric (max |A - A^T| = {dev:.3g}); "
                "Lanczos needs a symmetric operator (pass check_symmetry=False to skip this check)"
            )


def lanczos(matvec, dim=None, k=1, which="largest", tol=None, dtype=None, *, maxiter=None,
            seed=0, v0=None, return_vectors=False, full_output=False, check_symmetry=True):
    """Extremal eigenvalues (and vectors) of a symmetric operator by Lanczos.

    Parameters
    ----------
    matvec : callable, linear operator or ndarray
        ``v -> A v`` for a symmetric ``A``; or an object with ``matvec`` and
        ``shape`` (a :class:`~nnopt.curvature.CurvatureOperator`, a
        ``scipy.sparse.linalg.LinearOperator``); or a square array.
    dim : int, optional
        The dimension ``n`` (taken from the operator's ``shape`` if omitted).
    k : int
        Number of eigenvalues, ``1 <= k <= dim``.
    which : ``"largest"`` or ``"smallest"``
        Algebraic order (not magnitude).
    tol : float, optional
        Relative residual tolerance: stop when every wanted Ritz pair has
        ``||A y - theta y|| <= tol * ||T||``.  Default ``eps ** (2/3)`` of the
        dtype (3.7e-11 in float64, 4.9e-6 in float32).  The eigenvalue error
        is at most the residual, and typically its square over the spectral gap.
    dtype : numpy dtype, optional
        Dtype of the Lanczos vectors; defaults to the operator's (float64
        for a plain callable).
    maxiter : int, optional
        Most Lanczos steps (default ``min(dim, max(200, 20 k))``); the basis
        takes ``maxiter * dim`` numbers of memory.
    seed : int or numpy.random.Generator
        Random start vector (and restarts).
    v0 : ndarray, optional
        Start vector (e.g. the previous top eigenvector, for tracking).
    return_vectors : bool
        Also return the Ritz vectors, shape ``(dim, k)``.
    full_output : bool
        Return a :class:`LanczosResult` (values, vectors, residuals,
        iterations, convergence flag) instead; no warning is issued then.
    check_symmetry : bool
        Raise :class:`NonSymmetricOperatorError` when the operator is seen
        not to be symmetric (a free by-product of the reorthogonalisation).

    Returns
    -------
    values : ndarray, shape (k,)
        Descending for ``"largest"``, ascending for ``"smallest"``; in the
        operator's dtype.  ``(values, vectors)`` with ``return_vectors=True``.

    Warns
    -----
    ConvergenceWarning
        When ``maxiter`` steps did not reach ``tol`` (unless ``full_output``).

    Examples
    --------
    >>> import numpy as np
    >>> from nnopt.curvature import lanczos
    >>> A = np.diag([3.0, 1.0, -2.0, 0.5])
    >>> lanczos(A, k=2)
    array([3., 1.])
    >>> lanczos(A, k=1, which="smallest")
    array([-2.])
    """
    where = "lanczos"
    op = as_operator(matvec, dim, dtype, where)
    n = op.dim
    if isinstance(k, (int, np.integer)) and not isinstance(k, bool) and k > n:
        raise ValueError(f"{where}: k={k} is larger than the dimension dim={n}; need 1 <= k <= {n}")
    k = check_int(k, "k", where, 1, n)
    if which not in ("largest", "smallest"):
        raise ValueError(f"{where}: which must be 'largest' or 'smallest' (algebraic), got {which!r}")
    tol = default_tol(op.dtype) if tol is None else check_positive(tol, "tol", where)
    if maxiter is None:
        maxiter = min(n, max(200, 20 * k))
    else:
        maxiter = check_int(maxiter, "maxiter", where, 1)
        if maxiter < k:
            raise ValueError(f"{where}: maxiter={maxiter} must be at least k={k}")
        maxiter = min(maxiter, n)
    _check_dense_symmetry(op, where, check_symmetry)
    rng = as_rng(seed, where)
    q0 = _start_vector(v0, op, rng, where)
    kr = _Krylov(op, q0, maxiter, check_symmetry, _sym_tol(op.dtype), where, rng)

    converged = False
    while True:
        more = kr.step(restart=True)
        m = kr.j
        if m >= k:
            theta, S, bj = kr.ritz()
            idx = np.arange(m - 1, m - 1 - k, -1) if which == "largest" else np.arange(k)
            res = np.abs(bj * S[-1, idx])
            scale = max(float(np.max(np.abs(theta))), np.finfo(np.float64).tiny)
            converged = bool(np.all(res <= tol * scale)) or not more
            if converged or m >= maxiter:
                break
        elif not more:  # pragma: no cover - cannot happen for k <= n
            break
    values = theta[idx]
    vectors = None
    if return_vectors or full_output:
        vectors = kr.Q[:m].T @ S[:, idx].astype(op.dtype)
    values = values.astype(op.dtype)
    if full_output:
        return LanczosResult(values, vectors, res, m, converged, tol)
    if not converged:
        warnings.warn(
            f"lanczos: {m} steps (maxiter) did not reach the relative tolerance {tol:.1e}; "
            f"largest relative residual {float(np.max(res)) / scale:.2e}. Increase maxiter or tol "
            "(full_output=True gives the residuals)",
            ConvergenceWarning,
            stacklevel=2,
        )
    if return_vectors:
        return values, vectors
    return values
