"""Precision studies: the same function in float32, float64 and arbitrary precision.

* :func:`to_mp`, :func:`to_float` - exact conversion to mpmath and correct
  rounding back;
* :func:`evaluate`, :func:`grad`, :func:`value_and_grad`, :func:`hessian` -
  the mpmath interpreter: a :mod:`nnopt.numpy` function and its derivatives
  at ``dps`` decimal digits;
* :func:`rounding_error` - relative error of ``f`` and its gradient in the
  inputs' dtype against that truth;
* :func:`compare` - the same optimisation in float32 and float64 from the
  same start, with the rounding error of loss and gradient measured against
  mpmath along each trajectory (:class:`PrecisionComparison`).
"""
from .compare import PrecisionComparison, PrecisionTrajectory, compare
from .convert import to_float, to_mp
from .error import RoundingError, relative_error, rounding_error
from .reference import evaluate, grad, hessian, value_and_grad

__all__ = [
    "to_mp", "to_float",
    "evaluate", "grad", "value_and_grad", "hessian",
    "rounding_error", "relative_error", "RoundingError",
    "compare", "PrecisionComparison", "PrecisionTrajectory",
]
