"""Activation primitives whose derivative is a step: relu and elu.

relu'(0) = 0 and elu'(0) = 1 as in PyTorch and JAX.  (Writing relu as
``maximum(x, 0)`` would give 1/2 at 0, the tie rule of ``maximum``.)
"""
from __future__ import annotations

import numpy as np

from ..core import UnaryPrimitive, getval
from .elementwise import expm1, is_mp, multiply, where

__all__ = ["relu", "elu"]


def _positive(x):
    """The plain indicator 1[x > 0] in x's dtype (float64 for mp arrays)."""
    xv = getval(x)
    if type(xv) is np.ndarray and xv.dtype.kind == "f":
        return np.greater(xv, 0).astype(xv.dtype)
    dtype = np.float64 if is_mp(xv) else np.result_type(xv)
    return np.greater(xv, 0).astype(dtype)


def _relu_impl(x):
    if is_mp(x):
        return np.where(np.greater(x, 0), x, 0 * x)
    return np.maximum(x, 0)


relu = UnaryPrimitive("relu", _relu_impl)
relu.defvjp(lambda g, ans, x: multiply(g, _positive(x)))
relu.defjvp(lambda t, ans, x: multiply(t, _positive(x)))


def elu(x, alpha=1.0):
    """x for x > 0, alpha * (exp(x) - 1) otherwise (elu'(0) = alpha)."""
    positive = np.greater(getval(x), 0)
    # expm1 sees 0 where x > 0, so a large x cannot produce inf * 0 in a derivative.
    inner = where(positive, np.zeros((), dtype=np.result_type(getval(x)) if not is_mp(x) else object), x)
    return where(positive, x, multiply(expm1(inner), alpha))
