"""Standard test problems with closed-form derivatives.

Each problem is a :class:`Problem`: the function written with
:mod:`nnopt.numpy` (so every transform applies), its gradient and Hessian in
closed form (plain NumPy, for checking the transforms and for optimizer
tests), a starting point and, where known, the minimiser.
"""
from __future__ import annotations

from typing import Callable, NamedTuple, Optional

import numpy as np

from .. import numpy as nnp

__all__ = ["Problem", "rosenbrock", "quadratic", "logistic_sum"]


class Problem(NamedTuple):
    """A test function with closed-form derivatives.

    Attributes
    ----------
    name : str
    fun : callable
        ``fun(x) -> scalar``, written with :mod:`nnopt.numpy`.
    grad : callable
        ``grad(x) -> array`` in closed form (NumPy).
    hess : callable
        ``hess(x) -> (n, n) array`` in closed form (NumPy).
    x0 : ndarray
        A standard starting point.
    x_star : ndarray or None
        A minimiser, where known.
    f_star : float or None
        The minimum value, where known.
    """

    name: str
    fun: Callable
    grad: Callable
    hess: Callable
    x0: np.ndarray
    x_star: Optional[np.ndarray]
    f_star: Optional[float]


def _check_n(n, minimum, fname):
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"{fname}: n must be an int, got {n!r}")
    if n < minimum:
        raise ValueError(f"{fname}: n must be >= {minimum}, got {n}")
    return int(n)


def _check_dtype(dtype, fname):
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"{fname}: dtype must be float32 or float64, got {dtype}")
    return dtype


def rosenbrock(n=2, a=1.0, b=100.0, dtype=np.float64):
    """The extended Rosenbrock function (Rosenbrock 1960; Nocedal & Wright eq. 9.1).

    .. math::

        f(x) = \\sum_{i=1}^{n-1} b (x_{i+1} - x_i^2)^2 + (a - x_i)^2

    Minimum ``f = 0`` at ``x = (a, ..., a)`` (for ``a = 1``, the global one);
    start ``x0 = (-1.2, 1, -1.2, 1, ...)``.

    Parameters
    ----------
    n : int, default 2
        Dimension (>= 2).
    a, b : float
        Shape parameters.
    dtype : float32 or float64
        dtype of ``x0`` and ``x_star``; ``fun`` runs in the dtype it is given.
    """
    n = _check_n(n, 2, "rosenbrock")
    dtype = _check_dtype(dtype, "rosenbrock")

    def fun(x):
        x0, x1 = x[:-1], x[1:]
        return nnp.sum(b * (x1 - x0 * x0) ** 2 + (a - x0) ** 2)

    def grad(x):
        x = np.asarray(x)
        g = np.zeros_like(x)
        x0, x1 = x[:-1], x[1:]
        r = x1 - x0 * x0
        g[:-1] += -4 * b * x0 * r - 2 * (a - x0)
        g[1:] += 2 * b * r
        return g

    def hess(x):
        x = np.asarray(x)
        H = np.zeros((n, n), dtype=x.dtype)
        i = np.arange(n - 1)
        H[i, i] += 12 * b * x[:-1] ** 2 - 4 * b * x[1:] + 2
        H[i + 1, i + 1] += 2 * b
        H[i, i + 1] = H[i + 1, i] = -4 * b * x[:-1]
        return H

    x0 = np.tile(np.array([-1.2, 1.0]), (n + 1) // 2)[:n].astype(dtype)
    return Problem("rosenbrock", fun, grad, hess, x0, np.full(n, a, dtype=dtype), 0.0)


def quadratic(n=5, cond=10.0, seed=0, dtype=np.float64):
    """A convex quadratic ``f(x) = 1/2 x^T A x + b^T x`` with known condition.

    ``A = Q diag(lambda) Q^T`` with ``Q`` a random orthogonal matrix and
    eigenvalues ``lambda`` spaced geometrically in ``[1, cond]``; ``b``
    random normal.  Gradient ``A x + b``, Hessian ``A``, minimiser
    ``x* = -A^{-1} b``, minimum ``-1/2 b^T A^{-1} b``.

    Parameters
    ----------
    n : int
        Dimension (>= 1).
    cond : float
        Condition number of ``A`` (>= 1).
    seed : int
        Seed for ``numpy.random.default_rng``.
    dtype : float32 or float64
        dtype of ``A``, ``b``, ``x0`` and ``x_star``.
    """
    n = _check_n(n, 1, "quadratic")
    dtype = _check_dtype(dtype, "quadratic")
    cond = float(cond)
    if not cond >= 1.0:
        raise ValueError(f"quadratic: cond must be >= 1, got {cond}")
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    lam = np.geomspace(1.0, cond, n)
    A64 = (Q * lam) @ Q.T
    A64 = 0.5 * (A64 + A64.T)
    b64 = rng.standard_normal(n)
    x_star64 = -np.linalg.solve(A64, b64)
    A, b = A64.astype(dtype), b64.astype(dtype)

    def fun(x):
        return 0.5 * nnp.sum(x * (A @ x)) + nnp.sum(b * x)

    def grad(x):
        return A @ np.asarray(x) + b

    def hess(x):
        return A.copy()

    f_star = float(0.5 * b64 @ x_star64)
    return Problem("quadratic", fun, grad, hess, rng.standard_normal(n).astype(dtype),
                   x_star64.astype(dtype), f_star)


def logistic_sum(m=6, n=4, seed=0, dtype=np.float64):
    """``f(x) = sum_i log(1 + exp(a_i^T x))``: a smooth convex loss with a
    non-trivial Hessian.

    Gradient ``A^T s`` and Hessian ``A^T diag(s (1 - s)) A`` with
    ``s = sigmoid(A x)``.  (No finite minimiser in general.)

    Parameters
    ----------
    m, n : int
        ``A`` has shape ``(m, n)``.
    seed : int
    dtype : float32 or float64
    """
    m = _check_n(m, 1, "logistic_sum")
    n = _check_n(n, 1, "logistic_sum")
    dtype = _check_dtype(dtype, "logistic_sum")
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((m, n)).astype(dtype)

    def fun(x):
        return nnp.sum(nnp.log(1.0 + nnp.exp(A @ x)))

    def _s(x):
        return 1.0 / (1.0 + np.exp(-(A @ np.asarray(x))))

    def grad(x):
        return A.T @ _s(x)

    def hess(x):
        s = _s(x)
        return (A.T * (s * (1 - s))) @ A

    return Problem("logistic_sum", fun, grad, hess, rng.standard_normal(n).astype(dtype), None, None)
