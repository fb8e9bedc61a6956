"""Reductions (sum, max, min, logsumexp) and their derivative rules.

``mean``, ``var`` and friends are compositions of these (see
:mod:`nnopt.numpy`), so they need no rules of their own.  ``logsumexp`` is a
primitive rather than the composition ``m + log(sum(exp(x - m)))`` with the
shift ``m = max(x)``: the shift cancels exactly, but an interpreter that
follows every operation (the verified bounds of :mod:`nnopt.bounds`) would
see the ``max`` and its kinks where two entries tie.
"""
from __future__ import annotations

import builtins

import mpmath
import numpy as np

from ..core import Primitive, getval, shape_of
from .elementwise import divide, exp, is_mp, log, multiply, subtract

__all__ = ["sum", "max", "min", "logsumexp", "normalize_axis", "expand_reduced"]


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


_FEW_TERMS = 16
_MANY_ELEMENTS = 1 << 15


def _sum_impl(x, axis=None, keepdims=False):
    if type(x) is np.ndarray and axis is not None and x.dtype.kind == "f" and x.size >= _MANY_ELEMENTS:
        axes = normalize_axis(axis, x.ndim)
        terms = int(np.prod([x.shape[a] for a in axes], dtype=np.int64))
        if 1 < terms <= _FEW_TERMS:
            return _sum_of_slices(x, axes, keepdims)
    return np.sum(x, axis=axis, keepdims=keepdims)


def _sum_of_slices(x, axes, keepdims):
    """sum over a few terms (the axes' sizes multiply to at most 16) as whole-array
    additions of the strided slices, in index order.  NumPy reduces such short
    axes element by element: summing the 2 x 2 windows of average pooling over
    a (128, 6, 14, 2, 14, 2) array took 6.4 ms with ``np.sum`` and 1.3 ms this
    way (measured)."""
    total = None
    for index in np.ndindex(*[x.shape[a] for a in axes]):
        sel = [slice(None)] * x.ndim
        for a, i in zip(axes, index):
            sel[a] = i
        part = x[tuple(sel)]
        total = part.copy() if total is None else np.add(total, part, out=total)
    if keepdims:
        total = total.reshape(_kept_shape(x.shape, axes))
    return total


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


# ---------------------------------------------------------------------------
# logsumexp
# ---------------------------------------------------------------------------


def _reduced_shape(shape, axis):
    axes = normalize_axis(axis, len(shape))
    return tuple(n for i, n in enumerate(shape) if i not in axes)


def _logsumexp_impl(x, axis=None, keepdims=False):
    if is_mp(x):
        # mpmath has no overflow: log(sum(exp(x))) directly, to working precision
        out = log.impl(np.sum(exp.impl(x), axis=axis, keepdims=True))
    else:
        # shift by the (finite) maximum so that exp cannot overflow:
        # log(sum(exp(x))) = m + log(sum(exp(x - m))) for any real m
        m = np.max(x, axis=axis, keepdims=True)
        m = np.where(np.isfinite(m), m, 0).astype(m.dtype)
        out = np.add(np.log(np.sum(np.exp(np.subtract(x, m)), axis=axis, keepdims=True)), m)
    if keepdims:
        return out
    return np.reshape(out, _reduced_shape(np.shape(x), axis))


logsumexp = Primitive("logsumexp", _logsumexp_impl)


def _softmax_of(ans, x, axis, keepdims):
    """softmax(x) = q / sum(q), q = exp(x - logsumexp(x)), from the primitive's
    output and written with primitives (so that derivatives of derivatives
    follow).

    In exact arithmetic sum(q) = 1; in floating point the rounding of
    ``ans`` (an error of ~|ans| eps) multiplies every q along the axis by
    the same factor, which the normalisation cancels: softmax stays accurate
    to a few eps even for large logits (float32 logits near 1000 would
    otherwise be off by 3e-5).
    """
    q = exp(subtract(x, expand_reduced(ans, shape_of(x), axis, keepdims)))
    return divide(q, sum(q, axis=axis, keepdims=True))


def _logsumexp_vjp(g, ans, x, axis=None, keepdims=False):
    return multiply(expand_reduced(g, shape_of(x), axis, keepdims), _softmax_of(ans, x, axis, keepdims))


def _logsumexp_jvp(t, ans, x, axis=None, keepdims=False):
    return sum(multiply(t, _softmax_of(ans, x, axis, keepdims)), axis=axis, keepdims=keepdims)


logsumexp.defvjp(_logsumexp_vjp)
logsumexp.defjvp(_logsumexp_jvp)

_ = divide  # re-exported for composites
