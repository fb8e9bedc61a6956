"""Verified bounds: interval arithmetic, Taylor enclosures and what they enable.

Bounds are one more interpretation of the functions written with
:mod:`nnopt.numpy` (see ``docs/bounds.md``):

* :func:`taylor_bounds` - Taylor coefficients and a sharp, rigorous remainder
  bound over a trust region (AutoBound, Streeter & Dillon 2022);
* :func:`enclose` - a verified range over a box;
* :func:`global_minimize` - verified global minimum by branch and bound;
* :func:`integrate` - verified integral;
* :func:`safe_rate`, :func:`mm_minimize`, :func:`safe_rate_descent` -
  majorization-minimization with verified safe learning rates.

Everything is rounded outward (:class:`FloatBackend`, float64) or computed
with mpmath's directed rounding (:class:`MPBackend`); operations without a
rigorous rule raise :class:`UnsupportedBoundError`.
"""
from .api import TaylorBounds, enclose, taylor_bounds
from .backend import FloatBackend, MPBackend
from .integrate import ToleranceNotReached, integrate
from .interval import BoundsError, DomainError, Interval, UnsupportedBoundError
from .mm import MMResult, SafeRate, SafeRateState, mm_minimize, safe_rate, safe_rate_descent
from .optimize import GlobalMinimizeResult, global_minimize

__all__ = [
    "taylor_bounds", "TaylorBounds", "enclose",
    "global_minimize", "GlobalMinimizeResult",
    "integrate", "ToleranceNotReached",
    "safe_rate", "SafeRate", "mm_minimize", "MMResult", "safe_rate_descent", "SafeRateState",
    "Interval", "FloatBackend", "MPBackend",
    "BoundsError", "DomainError", "UnsupportedBoundError",
]
