"""nnopt.numpy: the differentiable subset of NumPy.

Write functions with ``import nnopt.numpy as nnp``; they run on plain
``numpy.ndarray`` (returning plain arrays) and on the traced values that the
transforms (:func:`nnopt.grad`, :func:`nnopt.jvp`, ...) pass in.  Semantics
follow NumPy (broadcasting, axis arguments, dtype rules with Python scalars
weakly typed), so a float32 computation stays float32.

Primitives (with derivative rules, in :mod:`nnopt.autodiff.rules`) and
compositions of them (below, no rules needed) are both listed in ``__all__``.
"""
from __future__ import annotations

import builtins

import mpmath as _mpmath
import numpy as _np
from numpy import (  # noqa: F401  (constants and constructors pass through)
    e,
    float32,
    float64,
    inf,
    nan,
    newaxis,
    pi,
)

from ..autodiff.core import Tracer, getval
from ..autodiff.rules.elementwise import _const  # noqa: E402
from ..autodiff.rules.elementwise import (  # noqa: F401
    abs,
    add,
    arctan,
    astype,
    cos,
    cosh,
    divide,
    equal,
    erf,
    exp,
    expm1,
    greater,
    greater_equal,
    less,
    less_equal,
    log,
    log1p,
    maximum,
    minimum,
    multiply,
    negative,
    not_equal,
    power,
    sigmoid,
    sign,
    sin,
    sinh,
    softplus,
    sqrt,
    stop_gradient,
    subtract,
    tan,
    tanh,
    where,
)
from ..autodiff.rules.linalg import einsum, matmul  # noqa: F401
from ..autodiff.rules.reductions import logsumexp as _logsumexp  # noqa: E402
from ..autodiff.rules.reductions import max, min, normalize_axis, sum  # noqa: F401
from ..autodiff.rules.shape import (  # noqa: F401
    broadcast_to,
    concatenate,
    getitem,
    moveaxis,
    reshape,
    swapaxes,
    transpose,
)
from ..autodiff.rules.activations import elu, relu  # noqa: F401

__all__ = [
    # arithmetic
    "add", "subtract", "multiply", "divide", "true_divide", "negative", "power",
    "square", "reciprocal", "matmul", "dot", "einsum", "outer", "inner", "vdot",
    # elementary functions
    "exp", "log", "log1p", "expm1", "sqrt", "sin", "cos", "tan", "sinh", "cosh",
    "tanh", "arctan", "sigmoid", "logistic", "softplus", "relu", "elu", "gelu",
    "erf", "abs", "absolute", "sign", "maximum", "minimum", "clip", "where",
    "logaddexp",
    # reductions
    "sum", "mean", "max", "min", "amax", "amin", "logsumexp", "var", "std",
    "softmax", "log_softmax", "norm",
    # shapes
    "reshape", "transpose", "swapaxes", "moveaxis", "broadcast_to", "expand_dims",
    "squeeze", "ravel", "concatenate", "stack", "hstack", "vstack", "getitem",
    # dtype and derivative control
    "astype", "stop_gradient",
    # comparisons (no derivative)
    "less", "less_equal", "greater", "greater_equal", "equal", "not_equal",
    # constructors and constants (plain NumPy)
    "zeros", "ones", "zeros_like", "ones_like", "full", "full_like", "eye",
    "arange", "linspace", "array", "asarray", "shape", "ndim", "size",
    "float32", "float64", "pi", "e", "inf", "nan", "newaxis",
]

true_divide = divide
absolute = abs
logistic = sigmoid
amax = max
amin = min


def _shape(x):
    return _np.shape(getval(x))


# ---------------------------------------------------------------------------
# compositions (derivatives come for free)
# ---------------------------------------------------------------------------


def square(x):
    """x * x."""
    return multiply(x, x)


def reciprocal(x):
    """1 / x."""
    return divide(1, x)


def mean(x, axis=None, keepdims=False):
    """Arithmetic mean over ``axis`` (NumPy semantics)."""
    shape = _shape(x)
    axes = normalize_axis(axis, len(shape))
    count = 1
    for a in axes:
        count *= shape[a]
    return divide(sum(x, axis=axis, keepdims=keepdims), count)


def var(x, axis=None, ddof=0, keepdims=False):
    """Variance over ``axis`` with ``ddof`` delta degrees of freedom."""
    shape = _shape(x)
    axes = normalize_axis(axis, len(shape))
    count = 1
    for a in axes:
        count *= shape[a]
    centred = subtract(x, mean(x, axis=axis, keepdims=True))
    return divide(sum(square(centred), axis=axis, keepdims=keepdims), count - ddof)


def std(x, axis=None, ddof=0, keepdims=False):
    """Standard deviation: sqrt(var)."""
    return sqrt(var(x, axis=axis, ddof=ddof, keepdims=keepdims))


def logsumexp(x, axis=None, keepdims=False):
    """log(sum(exp(x))) over ``axis`` (a primitive).

    Float inputs are shifted by the maximum, ``m + log(sum(exp(x - m)))``,
    so that nothing overflows; mpmath inputs are evaluated directly.  The
    derivative is ``softmax(x)`` (its rules are written with primitives, so
    Hessians and higher derivatives follow), and the verified bounds see one
    smooth convex function, not the ``max`` of the shift.
    """
    return _logsumexp(x, axis=axis, keepdims=keepdims)


def softmax(x, axis=-1):
    """exp(x) / sum(exp(x)) along ``axis``."""
    return exp(log_softmax(x, axis=axis))


def log_softmax(x, axis=-1):
    """x - logsumexp(x) along ``axis``."""
    return subtract(x, logsumexp(x, axis=axis, keepdims=True))


def logaddexp(x, y):
    """log(exp(x) + exp(y)) = max(x, y) + softplus(-|x - y|)."""
    return add(maximum(x, y), softplus(negative(abs(subtract(x, y)))))


def gelu(x):
    """Gaussian error linear unit: x * Phi(x) = x/2 (1 + erf(x / sqrt(2)))."""
    # 1/sqrt(2) as a weak Python float, or exactly in the mpmath interpreter
    c = _const(x, 0.7071067811865476, lambda: 1 / _mpmath.sqrt(2))
    return multiply(multiply(x, 0.5), add(erf(multiply(x, c)), 1))


def clip(x, a_min, a_max):
    """Clip to [a_min, a_max] (derivative 1 inside, 0 outside)."""
    if a_min is not None:
        x = maximum(x, a_min)
    if a_max is not None:
        x = minimum(x, a_max)
    return x


def norm(x, ord=None, axis=None, keepdims=False):
    """Euclidean (Frobenius) norm; ``ord`` other than None/2/'fro' is refused."""
    if ord not in (None, 2, "fro"):
        raise NotImplementedError(f"norm: ord={ord!r} is not supported (only the 2-norm)")
    return sqrt(sum(square(x), axis=axis, keepdims=keepdims))


def dot(a, b):
    """NumPy ``dot`` for scalars, vectors and matrices (and N-d @ 1-d/2-d)."""
    na, nb = len(_shape(a)), len(_shape(b))
    if na == 0 or nb == 0:
        return multiply(a, b)
    if nb > 2:
        raise NotImplementedError("dot: the second argument may have at most 2 dimensions; use einsum")
    return matmul(a, b)


def inner(a, b):
    """Inner product over the last axes."""
    return sum(multiply(a, b), axis=-1)


def vdot(a, b):
    """Sum of a * b over all elements (real inputs)."""
    return sum(multiply(reshape(a, (-1,)), reshape(b, (-1,))))


def outer(a, b):
    """Outer product of two vectors (flattened)."""
    return multiply(reshape(a, (-1, 1)), reshape(b, (1, -1)))


def expand_dims(x, axis):
    """Insert an axis of length one at ``axis``."""
    shape = list(_shape(x))
    nd = len(shape) + 1
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    for a in sorted(a % nd for a in axes):
        shape.insert(a, 1)
    return reshape(x, tuple(shape))


def squeeze(x, axis=None):
    """Remove axes of length one."""
    shape = _shape(x)
    if axis is None:
        new = tuple(n for n in shape if n != 1)
    else:
        axes = normalize_axis(axis, len(shape))
        for a in axes:
            if shape[a] != 1:
                raise ValueError(f"squeeze: axis {a} has length {shape[a]}, not 1")
        new = tuple(n for i, n in enumerate(shape) if i not in axes)
    return reshape(x, new)


def ravel(x):
    """Flatten to 1-D."""
    return reshape(x, (-1,))


def stack(arrays, axis=0):
    """Join arrays along a new axis."""
    arrays = list(arrays)
    if not arrays:
        raise ValueError("stack: 'arrays' must hold at least one array")
    return concatenate([expand_dims(a, axis) for a in arrays], axis=axis)


def hstack(arrays):
    arrays = list(arrays)
    axis = 0 if len(_shape(arrays[0])) == 1 else 1
    return concatenate(arrays, axis=axis)


def vstack(arrays):
    return concatenate([reshape(a, (1, -1)) if len(_shape(a)) == 1 else a for a in arrays], axis=0)


# ---------------------------------------------------------------------------
# constructors (no derivative): plain NumPy, accepting traced values for *_like
# ---------------------------------------------------------------------------

zeros = _np.zeros
ones = _np.ones
full = _np.full
eye = _np.eye
arange = _np.arange
linspace = _np.linspace


def zeros_like(x, dtype=None):
    return _np.zeros(_shape(x), dtype=dtype or _dtype(x))


def ones_like(x, dtype=None):
    return _np.ones(_shape(x), dtype=dtype or _dtype(x))


def full_like(x, fill_value, dtype=None):
    return _np.full(_shape(x), fill_value, dtype=dtype or _dtype(x))


def _dtype(x):
    v = getval(x)
    if isinstance(v, _mpmath.mpf):
        return _np.dtype(object)
    return getattr(v, "dtype", None) or _np.result_type(v)


def asarray(x, dtype=None):
    """Traced values pass through; lists holding traced values are stacked."""
    if isinstance(x, Tracer):
        return x if dtype is None or _np.dtype(dtype) == x.dtype else astype(x, dtype)
    if isinstance(x, (list, tuple)) and builtins.any(_contains_tracer(v) for v in x):
        return stack([asarray(v, dtype) for v in x])
    return _np.asarray(x, dtype=dtype)


array = asarray


def _contains_tracer(v):
    if isinstance(v, Tracer):
        return True
    if isinstance(v, (list, tuple)):
        return builtins.any(_contains_tracer(u) for u in v)
    return False


def shape(x):
    return _shape(x)


def ndim(x):
    return len(_shape(x))


def size(x):
    return int(_np.prod(_shape(x), dtype=_np.int64))
