"""Backtracking line search with the Armijo (sufficient decrease) condition.

Accepts the first trial step ``alpha`` with

.. math::  \\phi(\\alpha) \\le \\phi(0) + c_1 \\alpha \\phi'(0),

where :math:`\\phi(\\alpha) = f(x + \\alpha d)`.  A rejected step is replaced by
the minimizer of an interpolant: the quadratic through :math:`\\phi(0)`,
:math:`\\phi'(0)`, :math:`\\phi(\\alpha_0)` after the first trial, the cubic
through :math:`\\phi(0)`, :math:`\\phi'(0)` and the last two trial values after
that, safeguarded to ``[shrink_low * alpha, shrink_high * alpha]``
(Nocedal & Wright, *Numerical Optimization*, 2nd ed., Sec. 3.5, eqs. 3.58-3.59;
Dennis & Schnabel, *Numerical Methods for Unconstrained Optimization*,
Algorithm A6.3.1).  Only function values are used at trial steps; the
gradient is evaluated once, at the accepted step (``need_grad=True``).

A trial where ``f`` is NaN or Inf is treated as "too long": the step is cut by
``nonfinite_shrink``.  The search gives up when the step falls below the
dtype's resolution (``x + alpha d == x``; :meth:`LineFunction.alpha_min`).
"""
from __future__ import annotations

import numpy as np

from ._linefun import LineSearchStatus as S

__all__ = ["armijo"]


def _interpolate(phi0, dphi0, a, fa, a_prev, f_prev):
    """Minimizer of the quadratic (no previous trial) or cubic interpolant."""
    if a_prev is None:
        # q(t) = phi0 + dphi0 t + c t^2 through (a, fa):  t* = -dphi0 a^2 / (2 (fa - phi0 - dphi0 a))
        return -dphi0 * a * a / (2 * (fa - phi0 - dphi0 * a))
    d1 = fa - phi0 - dphi0 * a
    d2 = f_prev - phi0 - dphi0 * a_prev
    denom = a * a * a_prev * a_prev * (a - a_prev)
    ca = (a_prev * a_prev * d1 - a * a * d2) / denom
    cb = (-a_prev * a_prev * a_prev * d1 + a * a * a * d2) / denom
    if ca == 0:
        return -dphi0 / (2 * cb)
    disc = cb * cb - 3 * ca * dphi0
    return (-cb + np.sqrt(disc)) / (3 * ca)


def armijo(phi, alpha0=1.0, *, c1=1e-4, shrink_low=0.1, shrink_high=0.5, nonfinite_shrink=0.1,
           maxfev=50, alpha_min=None, need_grad=True):
    """Backtracking Armijo line search with quadratic/cubic interpolation.

    Parameters
    ----------
    phi : LineFunction
        The objective along the ray, ``phi(alpha) = f(x + alpha d)``.
    alpha0 : float
        First trial step (> 0).
    c1 : float
        Sufficient-decrease constant, ``0 < c1 < 1``.
    shrink_low, shrink_high : float
        Safeguards: a new trial lies in ``[shrink_low, shrink_high] * alpha``.
    nonfinite_shrink : float
        Factor applied to a step at which ``f`` is not finite.
    maxfev : int
        Maximum function evaluations at trial steps.
    alpha_min : float, optional
        Give up below this step; default :meth:`LineFunction.alpha_min`.
    need_grad : bool
        Evaluate the gradient at the accepted step (one extra gradient
        evaluation; a non-finite gradient rejects the step).

    Returns
    -------
    LineSearchResult
        ``success`` means ``phi(alpha) <= phi(0) + c1 alpha phi'(0)``.
        ``alpha == 0`` (and ``x`` unchanged) on failure.
    """
    dt = phi.dtype.type
    phi0, dphi0 = phi.phi0, phi.dphi0
    if not dphi0 < 0:
        return phi.result(0, S.NOT_DESCENT)
    c1 = dt(c1)
    amin = phi.alpha_min() if alpha_min is None else dt(alpha_min)
    a = dt(alpha0)
    a_prev = f_prev = None
    last_nonfinite = False
    with np.errstate(all="ignore"):
        while True:
            if a < amin or not a > 0:
                return phi.result(0, S.NONFINITE if last_nonfinite else S.STEP_MIN)
            if phi.nfev >= maxfev:
                return phi.result(0, S.MAXFEV)
            fa = phi.value(a)
            if not np.isfinite(fa):
                last_nonfinite = True
                a_prev = f_prev = None  # do not interpolate through a non-finite value
                a = a * dt(nonfinite_shrink)
                continue
            last_nonfinite = False
            if fa <= phi0 + c1 * a * dphi0:
                if need_grad:
                    _, slope = phi.value_and_slope(a)
                    if not np.isfinite(slope):
                        last_nonfinite = True
                        a_prev = f_prev = None
                        a = a * dt(nonfinite_shrink)
                        continue
                return phi.result(a, S.CONVERGED, need_grad=need_grad)
            a_new = _interpolate(phi0, dphi0, a, fa, a_prev, f_prev)
            lo, hi = a * dt(shrink_low), a * dt(shrink_high)
            if not np.isfinite(a_new):
                a_new = hi
            a_prev, f_prev = a, fa
            a = min(max(a_new, lo), hi)
