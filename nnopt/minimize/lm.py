"""Levenberg-Marquardt for nonlinear least squares with exact Jacobians.

Minimizes ``F(x) = 0.5 ||r(x)||^2`` for a residual ``r: R^n -> R^m``.  With
``J = dr/dx`` (from ``jac``, else :func:`nnopt.jacobian` of the residual),
each trial step solves

.. math::  (J^T J + \\mu I)\\, h = -J^T r,

computed stably from one SVD ``J = U S V^T`` per Jacobian as
``h = -V diag(s / (s^2 + mu)) U^T r`` (no normal equations: nothing is
squared, which matters in float32); a rejected trial only costs a residual
evaluation.  The gain ratio
``rho = (F(x) - F(x + h)) / (L(0) - L(h))``, ``L(0) - L(h) = h^T (mu h - J^T r) / 2``
drives the damping update of Nielsen: on success ``mu *= max(1/3,
1 - (2 rho - 1)^3)``, ``nu = 2``; on failure ``mu *= nu``, ``nu *= 2``
(K. Madsen, H. B. Nielsen, O. Tingleff, *Methods for Non-Linear Least Squares
Problems*, 2nd ed., 2004, Algorithm 3.16), started at
``mu_0 = tau max_i (J^T J)_ii``.

Interface: ``minimize(residual, x0, method="lm", jac=None)`` where
``residual(x)`` returns the 1-D residual vector ``r(x)`` (same dtype as
``x0``) and ``jac(x)``, if given, the ``(m, n)`` Jacobian.  An object with a
``residual`` method (``nnopt.Objective`` with ``loss="mse"``) is used through
it, with its ``residual_jacobian`` as ``jac``; note that the cost is then
``0.5 ||r||^2``, not the objective's mean (same minimizers).  The result's
``fun`` is ``F(x)``, ``jac`` the gradient ``J^T r``; ``residual`` and
``jac_residual`` hold ``r(x)`` and ``J(x)``.  ``nfev`` counts residual
evaluations, ``njev`` Jacobian evaluations.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._driver import MethodSpec, StepInfo
from ._problem import check_float_option
from .result import Status

__all__ = ["SPEC", "ResidualProblem"]


class ResidualProblem:
    """Counted, dtype-checked residual and Jacobian evaluations."""

    def __init__(self, fun, x0, jac=None, hessp=None, hess=None):
        residual = getattr(fun, "residual", None)
        if callable(residual) and not hasattr(fun, "__code__"):
            # an objective object (nnopt.Objective): its least-squares view
            if jac is None and callable(getattr(fun, "residual_jacobian", None)):
                jac = fun.residual_jacobian
            fun = residual
        if not callable(fun):
            raise TypeError(f"fun: with method='lm' expected a callable residual(x) -> 1-D array "
                            f"or an object with a residual method, got {type(fun).__name__}")
        if hessp is not None or hess is not None:
            raise TypeError("hessp/hess: method='lm' uses the Gauss-Newton model J^T J; do not pass them")
        if jac is not None and not callable(jac):
            raise TypeError(f"jac: with method='lm' expected a callable returning the (m, n) Jacobian "
                            f"or None, got {type(jac).__name__}")
        self._fun = fun
        self._jac = jac
        self.dtype = np.asarray(x0).dtype
        self.n = np.asarray(x0).shape[0]
        self.m = None
        self.nfev = self.njev = self.nhev = 0

    def residual(self, x):
        self.nfev += 1
        r = self._fun(x)
        if not isinstance(r, np.ndarray):
            r = np.asarray(r)
        if r.ndim != 1:
            raise ValueError(f"fun: with method='lm' must return a 1-D residual vector, got shape {r.shape}")
        if r.dtype != self.dtype:
            raise TypeError(f"fun: returned dtype {r.dtype} but x0 has dtype {self.dtype}; the residual "
                            "must stay in x0's dtype")
        if self.m is None:
            self.m = r.shape[0]
        elif r.shape[0] != self.m:
            raise ValueError(f"fun: the residual changed length from {self.m} to {r.shape[0]}")
        return r

    def jacobian(self, x):
        self.njev += 1
        if self._jac is not None:
            J = np.asarray(self._jac(x))
        else:
            from nnopt.autodiff import jacobian

            J = jacobian(self._fun)(x)
        if J.shape != (self.m, self.n):
            raise ValueError(f"jac: must return the ({self.m}, {self.n}) Jacobian, got shape {J.shape}")
        if J.dtype != self.dtype:
            raise TypeError(f"jac: returned dtype {J.dtype} but x0 has dtype {self.dtype}")
        return J


class LMOptions(NamedTuple):
    tau: float


class LMState(NamedTuple):
    x: np.ndarray
    f: np.generic
    g: np.ndarray
    r: np.ndarray
    J: np.ndarray
    svd: tuple            # (U^T r, s, Vt)
    mu: np.generic
    nu: np.generic


def parse_options(n, dtype, tau=1e-3):
    return LMOptions(check_float_option(tau, "tau", low=0, low_open=True))


def _cost(r):
    return r.dtype.type(0.5) * np.dot(r, r)


def _factor(J, r):
    U, s, Vt = np.linalg.svd(J, full_matrices=False)
    return (U.T @ r, s, Vt)


def init(problem, x0, opts):
    dt = x0.dtype.type
    r = problem.residual(x0)
    J = problem.jacobian(x0)
    f = _cost(r)
    g = J.T @ r
    mu = dt(opts.tau) * max(np.max(np.sum(J * J, axis=0)), dt(np.finfo(x0.dtype).tiny))
    return LMState(x0, f, g, r, J, _factor(J, r), mu, dt(2))


def update(problem, state, opts):
    x, f, g = state.x, state.f, state.g
    dt = x.dtype.type
    utr, s, Vt = state.svd
    mu, nu = state.mu, state.nu
    big = dt(np.finfo(x.dtype).max) ** dt(0.5)
    while True:
        h = -(Vt.T @ (s / (s * s + mu) * utr))
        x1 = x + h
        if np.array_equal(x1, x):
            return state._replace(mu=mu, nu=nu), StepInfo(
                Status.NO_PROGRESS, "The Levenberg-Marquardt step no longer changes x.")
        r1 = problem.residual(x1)
        f1 = _cost(r1) if np.all(np.isfinite(r1)) else dt(np.inf)
        pred = dt(0.5) * np.dot(h, mu * h - g)
        delta = dt(10) * dt(np.finfo(x.dtype).eps) * max(dt(1), f)
        with np.errstate(all="ignore"):
            rho = ((f - f1) + delta) / (pred + delta) if np.isfinite(f1) else dt(-1)
        if rho > 0:
            J1 = problem.jacobian(x1)
            if not np.all(np.isfinite(J1)):
                return state, StepInfo(Status.NONFINITE, "The Jacobian is not finite at the new point.")
            g1 = J1.T @ r1
            mu = mu * max(dt(1) / dt(3), dt(1) - (dt(2) * rho - dt(1)) ** 3)
            return LMState(x1, f1, g1, r1, J1, _factor(J1, r1), mu, dt(2)), StepInfo()
        mu = mu * nu
        nu = nu * dt(2)
        if not mu < big:
            status = Status.NONFINITE if not np.isfinite(f1) else Status.NO_PROGRESS
            return state, StepInfo(status, "The damping parameter overflowed: no acceptable step.")


def finalize(state, opts):
    return {"residual": state.r, "jac_residual": state.J}


SPEC = MethodSpec("lm", parse_options, init, update, finalize, make_problem=ResidualProblem)
