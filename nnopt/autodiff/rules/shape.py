"""Shape primitives: reshape, transpose, broadcast_to, indexing, concatenate.

These are linear, so each JVP is the operation applied to the tangent and
each VJP its adjoint (e.g. the adjoint of ``x[index]`` scatters into zeros).
"""
from __future__ import annotations

import numpy as np

from ..core import IndexCotangent, Primitive, Tracer, getval, shape_of
from .elementwise import unbroadcast

__all__ = [
    "block", "reshape", "transpose", "broadcast_to", "getitem", "index_add",
    "concatenate", "moveaxis", "swapaxes",
]


_shape = shape_of


reshape = Primitive("reshape", lambda x, shape: np.reshape(x, shape))
reshape.defvjp(lambda g, ans, x, shape: reshape(g, _shape(x)))
reshape.defjvp(lambda t, ans, x, shape: reshape(t, shape))


def _transpose_impl(x, axes=None):
    return np.transpose(x, axes)


transpose = Primitive("transpose", _transpose_impl)


def _inverse_axes(axes, ndim):
    if axes is None:
        return None
    return tuple(np.argsort([a % ndim for a in axes]))


transpose.defvjp(lambda g, ans, x, axes=None: transpose(g, _inverse_axes(axes, len(_shape(x)))))
transpose.defjvp(lambda t, ans, x, axes=None: transpose(t, axes))


def swapaxes(x, axis1, axis2):
    nd = len(_shape(x))
    axes = list(range(nd))
    axes[axis1], axes[axis2] = axes[axis2], axes[axis1]
    return transpose(x, tuple(axes))


def moveaxis(x, source, destination):
    nd = len(_shape(x))
    axes = [a for a in range(nd) if a != source % nd]
    axes.insert(destination % nd, source % nd)
    return transpose(x, tuple(axes))


broadcast_to = Primitive("broadcast_to", lambda x, shape: np.broadcast_to(x, shape))
broadcast_to.defvjp(lambda g, ans, x, shape: unbroadcast(g, _shape(x)))
broadcast_to.defjvp(lambda t, ans, x, shape: broadcast_to(t, shape))


def _is_basic_index(index):
    items = index if isinstance(index, tuple) else (index,)
    return all(
        i is None or i is Ellipsis or isinstance(i, (slice, int, np.integer)) for i in items
    )


def _check_index(index):
    items = index if isinstance(index, tuple) else (index,)
    for i in items:
        if isinstance(i, Tracer):
            raise TypeError("nnopt: indices must be concrete arrays, not traced values")


def _getitem_impl(x, index):
    return x[index]


getitem = Primitive("getitem", _getitem_impl)


def _dtype_of_plain(g):
    return g.dtype if type(g) is np.ndarray else np.asarray(g).dtype


def _getitem_vjp(g, ans, x, index):
    if isinstance(g, Tracer):
        return index_add(g, index, shape_of(x))
    return IndexCotangent(shape_of(x), _dtype_of_plain(g), index, g, _is_basic_index(index))


getitem.defvjp(_getitem_vjp)
getitem.defjvp(lambda t, ans, x, index: getitem(t, index))


def _index_add_impl(g, index, shape):
    # Scatter-add of ``g`` into zeros of ``shape``: the adjoint of x[index].
    out = np.zeros(shape, dtype=np.asarray(g).dtype)
    if _is_basic_index(index):
        out[index] += g
    else:
        np.add.at(out, index, g)
    return out


index_add = Primitive("index_add", _index_add_impl)
index_add.defvjp(lambda g, ans, y, index, shape: getitem(g, index))
index_add.defjvp(lambda t, ans, y, index, shape: index_add(t, index, shape))


def _concatenate_impl(*arrays, axis=0):
    return np.concatenate(arrays, axis=axis)


_concatenate = Primitive("concatenate", _concatenate_impl)


def _concat_vjp(g, ans, *arrays, axis=0, argnums=()):
    nd = len(_shape(ans))
    ax = axis % nd
    bounds = np.cumsum([0] + [_shape(a)[ax] for a in arrays])
    out = []
    for i in argnums:
        index = (slice(None),) * ax + (slice(int(bounds[i]), int(bounds[i + 1])),)
        out.append(getitem(g, index))
    return out


def _concat_jvp(tangents, ans, *arrays, axis=0):
    parts = [
        t if t is not None else np.zeros(_shape(a), dtype=np.result_type(getval(a)))
        for t, a in zip(tangents, arrays)
    ]
    return concatenate(parts, axis=axis)


_concatenate.defvjp_all(_concat_vjp)
_concatenate.defjvp_all(_concat_jvp)


def concatenate(arrays, axis=0):
    """Join arrays along an existing axis (differentiable in every array)."""
    arrays = tuple(arrays)
    if not arrays:
        raise ValueError("concatenate: 'arrays' must hold at least one array")
    if axis is None:
        arrays = tuple(reshape(a, (-1,)) for a in arrays)
        axis = 0
    return _concatenate(*arrays, axis=axis)


def _block_impl(theta, start, stop, shape):
    """theta[start:stop].reshape(shape): one parameter block of a flat vector."""
    return theta[start:stop].reshape(shape)


block = Primitive("block", _block_impl)


def _block_vjp(g, ans, theta, start, stop, shape):
    if isinstance(g, Tracer):
        return index_add(reshape(g, (-1,)), slice(start, stop), shape_of(theta))
    return IndexCotangent(shape_of(theta), _dtype_of_plain(g), slice(start, stop), np.reshape(g, -1), True)


block.defvjp(_block_vjp)
block.defjvp(lambda t, ans, theta, start, stop, shape: block(t, start, stop, shape))
