"""Reductions (sum, max, min) and their derivative rules.

``mean``, ``logsumexp``, ``var`` and friends are compositions of these (see
:mod:`nnopt.numpy`), so they need no rules of their own.
"""
from __future__ import annotations

import builtins

import mpmath
import numpy as np

from ..core import Primitive, getval, shape_of
from .elementwise import divide, multiply

__all__ = ["sum", "max", "min", "normalize_axis", "expand_reduced"]


def normalize_axis(axis, ndim):
    """``axis`` as a sorted tuple of non-negative ints (None = all axes)."""
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (int, np.integer)):
        axis = (axis,)
    out = []
    for a in axis:
        a = int(a)
        if not -ndim <= a < builtins.max(ndim, 1):
            raise np.exceptions.AxisError(f"axis {a} is out of bounds for array of dimension {ndim}")
        out.append(a % ndim if ndim else 0)
    return tuple(sorted(set(out)))


def _kept_shape(shape, axes):
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def expand_reduced(g, x_shape, axis, keepdims):
    """Reshape a reduction's output (or cotangent) to keepdims form."""
    from .shape import reshape

    if keepdims:
        return g
    return reshape(g, _kept_shape(x_shape, normalize_axis(axis, len(x_shape))))


def _sum_impl(x, axis=None, keepdims=False):
    return np.sum(x, axis=axis, keepdims=keepdims)


sum = Primitive("sum", _sum_impl)  # noqa: A001 (numpy name)


def _sum_vjp(g, ans, x, axis=None, keepdims=False):
    from .shape import broadcast_to

    shape = shape_of(x)
    return broadcast_to(expand_reduced(g, shape, axis, keepdims), shape)


sum.defvjp(_sum_vjp)
sum.defjvp(lambda t, ans, x, axis=None, keepdims=False: sum(t, axis=axis, keepdims=keepdims))


def _extremum(name, npfn):
    def impl(x, axis=None, keepdims=False):
        return npfn(x, axis=axis, keepdims=keepdims)

    prim = Primitive(name, impl)

    def weights(ans, x, axis, keepdims):
        # Ties share the derivative equally (as in JAX).
        xv = getval(x)
        shape = np.shape(xv)
        a = np.asarray(getval(ans))
        if not keepdims:
            a = a.reshape(_kept_shape(shape, normalize_axis(axis, len(shape))))
        mask = np.equal(xv, a)
        count = np.sum(mask, axis=axis, keepdims=True)
        if xv.dtype == object:  # exact 1/count for the mpmath interpreter
            return np.where(mask, mpmath.mpf(1), mpmath.mpf(0)) / count
        return (mask / count).astype(xv.dtype)

    def vjp(g, ans, x, axis=None, keepdims=False):
        from .shape import broadcast_to

        shape = np.shape(getval(x))
        ge = broadcast_to(expand_reduced(g, shape, axis, keepdims), shape)
        return multiply(ge, weights(ans, x, axis, keepdims))

    def jvp(t, ans, x, axis=None, keepdims=False):
        return sum(multiply(t, weights(ans, x, axis, keepdims)), axis=axis, keepdims=keepdims)

    prim.defvjp(vjp)
    prim.defjvp(jvp)
    return prim


max = _extremum("max", np.max)  # noqa: A001
min = _extremum("min", np.min)  # noqa: A001

_ = divide  # re-exported for composites
