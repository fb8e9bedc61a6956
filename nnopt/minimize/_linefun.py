"""What every line search shares: the restriction of ``f`` to a ray and the result.

:class:`LineFunction` is ``phi(alpha) = f(x + alpha d)`` with
``phi'(alpha) = grad f(x + alpha d) . d``.  It counts its evaluations, keeps
the last few (a line search that returns to an earlier trial step does not
pay twice), and does all arithmetic in the dtype of ``x``: step lengths are
NumPy scalars of that dtype, never Python floats.
"""
from __future__ import annotations

import enum
from typing import NamedTuple, Optional

import numpy as np

__all__ = ["LineFunction", "LineSearchResult", "LineSearchStatus"]


class LineSearchStatus(enum.IntEnum):
    """Outcome of a line search (``LineSearchResult.status``)."""

    CONVERGED = 0
    """The conditions the search claims hold at the returned step."""
    MAXFEV = 1
    """The evaluation budget ran out."""
    ROUNDING = 2
    """Rounding errors prevent progress: the interval of uncertainty (or the
    step) is at the rounding level, or function differences are."""
    STEP_MAX = 3
    """The step reached ``alpha_max`` (the function may be unbounded below)."""
    STEP_MIN = 4
    """The step reached ``alpha_min``, below which ``x + alpha d == x``."""
    NONFINITE = 5
    """Only non-finite function values or slopes were found."""
    NOT_DESCENT = 6
    """``d`` is not a descent direction: ``phi'(0) = g . d >= 0``."""


_MESSAGES = {
    LineSearchStatus.CONVERGED: "the line-search conditions hold",
    LineSearchStatus.MAXFEV: "maximum number of line-search evaluations reached",
    LineSearchStatus.ROUNDING: "rounding errors prevent progress",
    LineSearchStatus.STEP_MAX: "the step reached alpha_max",
    LineSearchStatus.STEP_MIN: "the step reached alpha_min (x + alpha d == x below it)",
    LineSearchStatus.NONFINITE: "the function or its slope is not finite along the direction",
    LineSearchStatus.NOT_DESCENT: "not a descent direction: g . d >= 0",
}


class LineSearchResult(NamedTuple):
    """The outcome of a line search along ``d`` from ``x``.

    Attributes
    ----------
    alpha : scalar (dtype of x)
        The step length; ``x_new = x + alpha * d``.  0 when no step was found.
    x : ndarray
        ``x + alpha * d`` (``x`` itself when ``alpha == 0``).
    fun : scalar
        ``f(x_new)``.
    jac : ndarray or None
        ``grad f(x_new)`` (``None`` only if it was not evaluated).
    dphi : scalar
        The slope ``jac . d`` at ``alpha`` (NaN if ``jac`` is None).
    nfev, njev : int
        Function and gradient evaluations this search made.
    status : LineSearchStatus
    message : str
    success : bool
        ``status == CONVERGED``.
    """

    alpha: np.generic
    x: np.ndarray
    fun: np.generic
    jac: Optional[np.ndarray]
    dphi: np.generic
    nfev: int
    njev: int
    status: LineSearchStatus
    message: str
    success: bool


class LineFunction:
    """``phi(alpha) = f(x + alpha d)`` on top of a :class:`~nnopt.minimize._problem.Problem`.

    Parameters
    ----------
    problem : Problem
        Supplies counted ``fun``, ``grad`` and ``fun_and_grad``.
    x, d : ndarray
        Start and direction (same dtype).
    f0 : scalar
        ``f(x)``.
    g0 : ndarray
        ``grad f(x)``; ``dphi0 = g0 . d``.
    cache_size : int
        How many evaluated points to remember.
    """

    __slots__ = ("problem", "x", "d", "dtype", "phi0", "dphi0", "g0", "nfev", "njev",
                 "_cache", "_cache_size", "_pinned", "_alpha_min")

    def __init__(self, problem, x, d, f0, g0, cache_size=4):
        self.problem = problem
        self.x = x
        self.d = d
        self.dtype = x.dtype
        self.phi0 = self.dtype.type(f0)
        self.g0 = g0
        self.dphi0 = self.dtype.type(np.dot(g0, d))
        self.nfev = 0
        self.njev = 0
        self._cache = {}
        self._cache_size = cache_size
        self._pinned = (None, None)
        self._alpha_min = None

    # -- points ------------------------------------------------------------------
    def point(self, alpha):
        """``x + alpha d`` in the dtype of x."""
        return self.x + self.dtype.type(alpha) * self.d

    def alpha_min(self):
        """The smallest step that changes ``x``: below it ``x + alpha d == x``.

        ``min_i spacing(x_i) / (2 |d_i|)`` over ``d_i != 0``; a step smaller
        than half the spacing of every component rounds back to ``x``.
        """
        if self._alpha_min is None:
            ad = np.abs(self.d)
            ratio = np.divide(np.spacing(np.abs(self.x)), ad, out=np.full_like(ad, np.inf), where=ad > 0)
            self._alpha_min = self.dtype.type(0.5) * np.min(ratio)
        return self._alpha_min

    # -- evaluations ---------------------------------------------------------------
    def pin(self, alpha):
        """Keep the evaluation at ``alpha`` (the best point so far) out of eviction."""
        alpha = self.dtype.type(alpha)
        entry = self._cache.get(alpha)
        if entry is not None:
            self._pinned = (alpha, entry)

    def _lookup(self, alpha):
        hit = self._cache.get(alpha)
        if hit is None and self._pinned[0] == alpha:
            hit = self._pinned[1]
        return hit

    def _remember(self, alpha, entry):
        if self._pinned[0] == alpha:
            self._pinned = (alpha, entry)
        cache = self._cache
        if len(cache) >= self._cache_size and alpha not in cache:
            cache.pop(next(iter(cache)))
        cache[alpha] = entry

    def value(self, alpha):
        """``phi(alpha)`` (function only; counts one function evaluation)."""
        alpha = self.dtype.type(alpha)
        hit = self._lookup(alpha)
        if hit is not None:
            return hit[1]
        xa = self.point(alpha)
        f = self.problem.fun(xa)
        self.nfev += 1
        self._remember(alpha, (xa, f, None))
        return f

    def value_and_slope(self, alpha):
        """``(phi(alpha), phi'(alpha))``; one function and one gradient evaluation."""
        alpha = self.dtype.type(alpha)
        hit = self._lookup(alpha)
        if hit is not None:
            xa, f, g = hit
            if g is None:
                g = self.problem.grad(xa)
                self.njev += 1
                self._remember(alpha, (xa, f, g))
            return f, self.dtype.type(np.dot(g, self.d))
        xa = self.point(alpha)
        f, g = self.problem.fun_and_grad(xa)
        self.nfev += 1
        self.njev += 1
        self._remember(alpha, (xa, f, g))
        return f, self.dtype.type(np.dot(g, self.d))

    def result(self, alpha, status, need_grad=True):
        """Package the outcome at ``alpha`` as a :class:`LineSearchResult`."""
        dt = self.dtype.type
        status = LineSearchStatus(status)
        alpha = dt(alpha)
        if alpha == 0:
            xa, f, g = self.x, self.phi0, self.g0
        else:
            hit = self._lookup(alpha)
            if hit is None or (need_grad and hit[2] is None):
                if need_grad:
                    self.value_and_slope(alpha)
                else:
                    self.value(alpha)
                hit = self._lookup(alpha)
            xa, f, g = hit
        dphi = dt(np.dot(g, self.d)) if g is not None else dt(np.nan)
        return LineSearchResult(
            alpha=alpha, x=xa, fun=f, jac=g, dphi=dphi, nfev=self.nfev, njev=self.njev,
            status=status, message=_MESSAGES[status], success=status == LineSearchStatus.CONVERGED,
        )
