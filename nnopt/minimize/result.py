"""Results of the full-batch solvers: status codes, per-iteration history,
and :class:`OptimizeResult` (a :class:`scipy.optimize.OptimizeResult`).
"""
from __future__ import annotations

import enum
from typing import NamedTuple

import numpy as np
import scipy.optimize

__all__ = ["Status", "History", "OptimizeResult"]


class Status(enum.IntEnum):
    """Why a solver stopped (``OptimizeResult.status``).

    Only ``SUCCESS`` sets ``success=True``; the message says which
    convergence test (``gtol``, ``ftol`` or ``xtol``) passed.
    """

    SUCCESS = 0
    """A convergence test passed."""
    MAXITER = 1
    """``maxiter`` iterations were done."""
    MAXFEV = 2
    """``maxfev`` function evaluations were used (checked between iterations)."""
    LINE_SEARCH = 3
    """The line search found no acceptable step, also after a restart along
    the steepest-descent direction (typically: at the precision floor)."""
    NONFINITE = 4
    """The objective returned NaN or Inf and no finite step could be found;
    ``x`` is the last finite iterate."""
    NO_PROGRESS = 5
    """The step no longer changes ``x`` (or the trust radius collapsed below
    the rounding level of ``x``): the precision floor of the dtype."""
    TIME_LIMIT = 6
    """``max_time`` seconds have passed (checked between iterations)."""
    CALLBACK = 7
    """The callback raised ``StopIteration``."""


_DEFAULT_MESSAGES = {
    Status.SUCCESS: "Optimization terminated successfully.",
    Status.MAXITER: "Maximum number of iterations has been exceeded.",
    Status.MAXFEV: "Maximum number of function evaluations has been exceeded.",
    Status.LINE_SEARCH: "Line search failed to find an acceptable step.",
    Status.NONFINITE: "The objective returned a non-finite value; stopped at the last finite iterate.",
    Status.NO_PROGRESS: "The step no longer changes x: precision floor reached.",
    Status.TIME_LIMIT: "Time limit reached.",
    Status.CALLBACK: "`callback` raised `StopIteration`.",
}


def default_message(status):
    return _DEFAULT_MESSAGES[Status(status)]


class History(NamedTuple):
    """Per-iteration record of a run; entry 0 is the starting point.

    All fields are 1-D arrays of length ``nit + 1``.

    Attributes
    ----------
    fun : ndarray (dtype of x0)
        Objective value ``f(x_k)``.
    grad_norm : ndarray (dtype of x0)
        ``||g_k||`` in the norm the ``gtol`` test uses (``norm`` option,
        infinity-norm by default).
    alpha : ndarray (dtype of x0)
        Line-search step length of iteration ``k`` (``x_k = x_{k-1} + alpha d``);
        NaN at entry 0 and for trust-region methods.
    step_norm : ndarray (dtype of x0)
        ``||x_k - x_{k-1}||_2`` (0 at entry 0).
    nfev, njev, nhev : ndarray of int64
        Cumulative evaluation counts after iteration ``k``.
    time : ndarray of float64
        Wall-clock seconds since the solver started.
    """

    fun: np.ndarray
    grad_norm: np.ndarray
    alpha: np.ndarray
    step_norm: np.ndarray
    nfev: np.ndarray
    njev: np.ndarray
    nhev: np.ndarray
    time: np.ndarray


class HistoryRecorder:
    """Appends one row per iteration; :meth:`finish` returns a :class:`History`."""

    __slots__ = ("dtype", "rows")

    def __init__(self, dtype):
        self.dtype = np.dtype(dtype)
        self.rows = []

    def append(self, fun, grad_norm, alpha, step_norm, nfev, njev, nhev, time):
        self.rows.append((fun, grad_norm, alpha, step_norm, nfev, njev, nhev, time))

    def __len__(self):
        return len(self.rows)

    def finish(self):
        cols = list(zip(*self.rows)) if self.rows else [()] * 8
        dt, i8 = self.dtype, np.int64
        dtypes = (dt, dt, dt, dt, i8, i8, i8, np.float64)
        return History(*(np.array(c, dtype=t) for c, t in zip(cols, dtypes)))


class OptimizeResult(scipy.optimize.OptimizeResult):
    """The result of :func:`nnopt.minimize.minimize` (a SciPy ``OptimizeResult``).

    Attributes
    ----------
    x : ndarray
        The final iterate (the last finite one if the objective diverged),
        in the dtype of ``x0``.
    fun : scalar of the dtype of ``x0``
        ``f(x)``; for ``method="lm"`` the cost ``0.5 * ||r(x)||^2``.
    jac : ndarray
        The gradient at ``x``.
    nit : int
        Number of iterations done.
    nfev, njev, nhev : int
        Evaluations of the function, of its gradient (or of the residual
        Jacobian for ``"lm"``), and of Hessian(-vector) products.
    success : bool
        ``status == Status.SUCCESS``.
    status : int
        A :class:`Status` code.
    message : str
        Why the solver stopped, in words.
    history : History
        Per-iteration record (loss, gradient norm, step, counts, time).
    wall_time : float
        Total wall-clock seconds.
    method : str
        The method name.
    """
