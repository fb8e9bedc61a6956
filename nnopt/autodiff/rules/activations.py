"""Activation primitives whose derivative is a step: relu and elu.

relu'(0) = 0 and elu'(0) = alpha, as in PyTorch and JAX (the branch for
``x <= 0`` is taken at 0).  Writing relu as ``maximum(x, 0)`` would give 1/2
at 0, the tie rule of ``maximum``.

Both are primitives, so that every interpreter sees them as one operation:
the verified bounds of :mod:`nnopt.bounds` treat their switch at 0 like a
kink (a ``where`` on the point value of the input would be refused there).
"""
from __future__ import annotations

import numpy as np

from ..core import BinaryPrimitive, UnaryPrimitive, getval
from .elementwise import (
    _broadcast_tangent,
    _unbroadcast_like,
    _zeros_like_value,
    add,
    expm1,
    is_mp,
    multiply,
    where,
)

__all__ = ["relu", "elu", "elu_primitive"]


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


# ---------------------------------------------------------------------------
# elu(x, alpha) = x for x > 0, alpha * expm1(x) for x <= 0
# ---------------------------------------------------------------------------


def _elu_parts(x):
    """(x > 0 as a plain mask, the argument of expm1: 0 where x > 0, else x).

    expm1 sees 0 where x > 0, so a large x cannot produce inf * 0 in a
    derivative; the argument is built with ``where`` (a primitive), so the
    derivative rules below nest.
    """
    xv = getval(x)
    positive = np.greater(xv, 0)
    zero = np.zeros((), dtype=object if is_mp(xv) else np.result_type(xv))
    return positive, where(positive, zero, x)


def _elu_impl(x, alpha):
    positive, inner = _elu_parts(x)
    return np.where(positive, x, np.multiply(expm1.impl(inner), alpha))


elu_primitive = BinaryPrimitive("elu", _elu_impl)


def _elu_dx(v, x, alpha, reverse):
    """elu'(x) v: v where x > 0, alpha exp(x) v otherwise (elu'(0) = alpha).

    The products are grouped as in the former ``where`` composition
    ``where(x > 0, x, expm1(where(x > 0, 0, x)) * alpha)``, so that values and
    first derivatives are the same to the last bit (reverse mode
    ``(v alpha)(expm1 + 1)``, forward mode ``(v (expm1 + 1)) alpha``; higher
    derivatives agree up to the order of summation).
    """
    positive, inner = _elu_parts(x)
    e1 = add(expm1(inner), 1)
    neg = multiply(multiply(v, alpha), e1) if reverse else multiply(multiply(v, e1), alpha)
    return where(positive, v, neg)


def _elu_dalpha(v, x):
    """d elu / d alpha times v: expm1(x) v for x <= 0, 0 for x > 0."""
    positive, inner = _elu_parts(x)
    return where(positive, _zeros_like_value(v), multiply(v, expm1(inner)))


elu_primitive.defvjp(
    lambda g, ans, x, alpha: _unbroadcast_like(_elu_dx(g, x, alpha, True), x),
    lambda g, ans, x, alpha: _unbroadcast_like(_elu_dalpha(g, x), alpha),
)
elu_primitive.defjvp(
    lambda t, ans, x, alpha: _broadcast_tangent(_elu_dx(t, x, alpha, False), ans),
    lambda t, ans, x, alpha: _broadcast_tangent(_elu_dalpha(t, x), ans),
)


def elu(x, alpha=1.0):
    """Exponential linear unit: x for x > 0, alpha * (exp(x) - 1) otherwise.

    elu'(0) = alpha (PyTorch, JAX); elu is C^1 at 0 only for alpha = 1 and
    its second derivative jumps there (from alpha to 0).  Clevert, Unterthiner
    & Hochreiter (2016), "Fast and accurate deep network learning by
    exponential linear units (ELUs)", ICLR.
    """
    return elu_primitive(x, alpha)
