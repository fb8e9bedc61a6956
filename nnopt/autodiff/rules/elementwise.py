"""Element-wise primitives and their derivative rules.

Each primitive is defined once: its NumPy implementation (which also runs on
object arrays of mpmath numbers, for arbitrary-precision evaluation) and one
VJP and one JVP rule per argument, written with other primitives so that
derivatives nest.  Binary operations broadcast; their VJPs sum the cotangent
back to each argument's shape with :func:`unbroadcast`.
"""
from __future__ import annotations

import math

import mpmath
import numpy as np
import scipy.special

from ..core import BinaryPrimitive, Primitive, Tracer, UnaryPrimitive, getval, shape_of

__all__ = [
    "add", "subtract", "multiply", "divide", "negative", "power",
    "exp", "log", "log1p", "expm1", "sqrt", "sin", "cos", "tan", "sinh", "cosh",
    "tanh", "arctan", "sigmoid", "softplus", "erf", "abs", "sign", "maximum",
    "minimum", "where", "astype", "stop_gradient",
    "less", "less_equal", "greater", "greater_equal", "equal", "not_equal",
    "unbroadcast", "is_mp",
]


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


def is_mp(x):
    """True for object arrays / scalars of mpmath numbers (the mp interpreter)."""
    while isinstance(x, Tracer):
        x = x.value
    if type(x) is np.ndarray:
        return x.dtype.kind == "O"
    return getattr(x, "dtype", None) == object or isinstance(x, mpmath.mpf)


def _elementwise_mp(mpfn):
    vec = np.frompyfunc(mpfn, 1, 1)

    def apply(x):
        out = vec(x)
        return out if isinstance(out, np.ndarray) else np.asarray(out, dtype=object)

    return apply


def _unary(name, npfn, mpfn):
    mp_apply = _elementwise_mp(mpfn)

    def impl(x):
        if type(x) is np.ndarray and x.dtype.kind != "O":
            return npfn(x)  # the common case, checked first
        if getattr(x, "dtype", None) == object or isinstance(x, mpmath.mpf):
            return mp_apply(x)
        return npfn(x)

    return UnaryPrimitive(name, impl)


def unbroadcast(g, shape):
    """Sum ``g`` over the axes that broadcasting added to an array of ``shape``."""
    gshape = shape_of(g)
    if gshape == shape:
        return g  # the common case: no broadcasting happened
    shape = tuple(shape)
    if gshape == shape:
        return g
    ndiff = len(gshape) - len(shape)
    axes = tuple(range(ndiff)) + tuple(
        ndiff + i for i, n in enumerate(shape) if n == 1 and gshape[ndiff + i] != 1
    )
    from .reductions import sum as _sum
    from .shape import reshape

    if axes:
        g = _sum(g, axis=axes, keepdims=False)
    if shape_of(g) != shape:
        g = reshape(g, shape)
    return g


def _unbroadcast_like(g, x):
    """``unbroadcast(g, shape of x)``; the no-broadcast case costs no further call."""
    gs = g.shape if type(g) is np.ndarray else shape_of(g)
    xs = x.shape if type(x) is np.ndarray else shape_of(x)
    if gs == xs:
        return g
    return unbroadcast(g, xs)


_shape = shape_of


def _const(x, value, mpvalue):
    """A constant in the precision of ``x`` (exact mpmath value for mp arrays)."""
    return mpvalue() if is_mp(x) else value


# ---------------------------------------------------------------------------
# arithmetic
# ---------------------------------------------------------------------------

add = BinaryPrimitive("add", np.add)
add.defvjp(
    lambda g, ans, x, y: _unbroadcast_like(g, x),
    lambda g, ans, x, y: _unbroadcast_like(g, y),
)
add.defjvp(
    lambda t, ans, x, y: _broadcast_tangent(t, ans),
    lambda t, ans, x, y: _broadcast_tangent(t, ans),
)

subtract = BinaryPrimitive("subtract", np.subtract)
subtract.defvjp(
    lambda g, ans, x, y: _unbroadcast_like(g, x),
    lambda g, ans, x, y: _unbroadcast_like(negative(g), y),
)
subtract.defjvp(
    lambda t, ans, x, y: _broadcast_tangent(t, ans),
    lambda t, ans, x, y: _broadcast_tangent(negative(t), ans),
)

multiply = BinaryPrimitive("multiply", np.multiply)
multiply.defvjp(
    lambda g, ans, x, y: _unbroadcast_like(multiply(g, y), x),
    lambda g, ans, x, y: _unbroadcast_like(multiply(g, x), y),
)
multiply.defjvp(
    lambda t, ans, x, y: _broadcast_tangent(multiply(t, y), ans),
    lambda t, ans, x, y: _broadcast_tangent(multiply(x, t), ans),
)

divide = BinaryPrimitive("divide", np.divide)
divide.defvjp(
    lambda g, ans, x, y: _unbroadcast_like(divide(g, y), x),
    lambda g, ans, x, y: _unbroadcast_like(negative(divide(multiply(g, ans), y)), y),
)
divide.defjvp(
    lambda t, ans, x, y: _broadcast_tangent(divide(t, y), ans),
    lambda t, ans, x, y: _broadcast_tangent(negative(divide(multiply(t, ans), y)), ans),
)

negative = UnaryPrimitive("negative", np.negative)
negative.defvjp(lambda g, ans, x: negative(g))
negative.defjvp(lambda t, ans, x: negative(t))


def _power_impl(x, y):
    return np.power(x, y)


power = BinaryPrimitive("power", _power_impl)


def _power_dx(x, y):
    # d/dx x**y = y * x**(y-1); integer exponents stay exact (x**0 = 1 at x = 0).
    yv = getval(y)
    if isinstance(yv, (int, np.integer)) or (
        isinstance(yv, (float, np.floating)) and float(yv).is_integer()
    ):
        if yv == 0:
            return multiply(x, 0)
        if yv == 1:
            return power(x, 0)
        if yv == 2:
            return multiply(x, 2)
    if isinstance(y, (int, float)):
        return multiply(y, power(x, y - 1))  # keep Python scalars weakly typed
    return multiply(y, power(x, subtract(y, 1)))


def _power_dy(ans, x):
    # d/dy x**y = log(x) x**y; defined as 0 where x == 0 (and y > 0).
    xv = getval(x)
    if type(xv) in (int, float):  # a Python base stays weakly typed: 2.0 ** x32 is float32
        c = math.log(xv) if xv > 0 else (0.0 if xv == 0 else math.nan)
        return multiply(ans, _const(ans, c, lambda: mpmath.log(xv) if xv > 0 else mpmath.mpf(c)))
    safe = where(equal(xv, 0), 1, x) if np.any(np.asarray(xv) == 0) else x
    return multiply(ans, log(safe))


power.defvjp(
    lambda g, ans, x, y: _unbroadcast_like(multiply(g, _power_dx(x, y)), x),
    lambda g, ans, x, y: _unbroadcast_like(multiply(g, _power_dy(ans, x)), y),
)
power.defjvp(
    lambda t, ans, x, y: _broadcast_tangent(multiply(t, _power_dx(x, y)), ans),
    lambda t, ans, x, y: _broadcast_tangent(multiply(t, _power_dy(ans, x)), ans),
)


def _broadcast_tangent(t, ans):
    """A tangent contribution broadcast to the output's shape."""
    shape = ans.shape if type(ans) is np.ndarray else shape_of(ans)
    if (t.shape if type(t) is np.ndarray else shape_of(t)) == shape:
        return t
    from .shape import broadcast_to

    return broadcast_to(t, shape)


# ---------------------------------------------------------------------------
# elementary functions
# ---------------------------------------------------------------------------

exp = _unary("exp", np.exp, mpmath.exp)
exp.defvjp(lambda g, ans, x: multiply(g, ans))
exp.defjvp(lambda t, ans, x: multiply(t, ans))

log = _unary("log", np.log, mpmath.log)
log.defvjp(lambda g, ans, x: divide(g, x))
log.defjvp(lambda t, ans, x: divide(t, x))

log1p = _unary("log1p", np.log1p, mpmath.log1p)
log1p.defvjp(lambda g, ans, x: divide(g, add(x, 1)))
log1p.defjvp(lambda t, ans, x: divide(t, add(x, 1)))

expm1 = _unary("expm1", np.expm1, mpmath.expm1)
expm1.defvjp(lambda g, ans, x: multiply(g, add(ans, 1)))
expm1.defjvp(lambda t, ans, x: multiply(t, add(ans, 1)))

sqrt = _unary("sqrt", np.sqrt, mpmath.sqrt)
sqrt.defvjp(lambda g, ans, x: divide(g, multiply(ans, 2)))
sqrt.defjvp(lambda t, ans, x: divide(t, multiply(ans, 2)))

sin = _unary("sin", np.sin, mpmath.sin)
sin.defvjp(lambda g, ans, x: multiply(g, cos(x)))
sin.defjvp(lambda t, ans, x: multiply(t, cos(x)))

cos = _unary("cos", np.cos, mpmath.cos)
cos.defvjp(lambda g, ans, x: negative(multiply(g, sin(x))))
cos.defjvp(lambda t, ans, x: negative(multiply(t, sin(x))))

tan = _unary("tan", np.tan, mpmath.tan)
tan.defvjp(lambda g, ans, x: multiply(g, add(multiply(ans, ans), 1)))
tan.defjvp(lambda t, ans, x: multiply(t, add(multiply(ans, ans), 1)))

sinh = _unary("sinh", np.sinh, mpmath.sinh)
sinh.defvjp(lambda g, ans, x: multiply(g, cosh(x)))
sinh.defjvp(lambda t, ans, x: multiply(t, cosh(x)))

cosh = _unary("cosh", np.cosh, mpmath.cosh)
cosh.defvjp(lambda g, ans, x: multiply(g, sinh(x)))
cosh.defjvp(lambda t, ans, x: multiply(t, sinh(x)))

tanh = _unary("tanh", np.tanh, mpmath.tanh)
tanh.defvjp(lambda g, ans, x: multiply(g, subtract(1, multiply(ans, ans))))
tanh.defjvp(lambda t, ans, x: multiply(t, subtract(1, multiply(ans, ans))))

arctan = _unary("arctan", np.arctan, mpmath.atan)
arctan.defvjp(lambda g, ans, x: divide(g, add(multiply(x, x), 1)))
arctan.defjvp(lambda t, ans, x: divide(t, add(multiply(x, x), 1)))


def _mp_sigmoid(x):
    return 1 / (1 + mpmath.exp(-x))


sigmoid = _unary("sigmoid", scipy.special.expit, _mp_sigmoid)
sigmoid.defvjp(lambda g, ans, x: multiply(g, multiply(ans, subtract(1, ans))))
sigmoid.defjvp(lambda t, ans, x: multiply(t, multiply(ans, subtract(1, ans))))


def _np_softplus(x):
    # log(1 + e^x) without overflow; np.logaddexp keeps float32 as float32.
    return np.logaddexp(0, x)


def _mp_softplus(x):
    return mpmath.log1p(mpmath.exp(x)) if x < 0 else x + mpmath.log1p(mpmath.exp(-x))


softplus = _unary("softplus", _np_softplus, _mp_softplus)
softplus.defvjp(lambda g, ans, x: multiply(g, sigmoid(x)))
softplus.defjvp(lambda t, ans, x: multiply(t, sigmoid(x)))

erf = _unary("erf", scipy.special.erf, mpmath.erf)


def _derf(x):
    c = _const(x, 2.0 / math.sqrt(math.pi), lambda: 2 / mpmath.sqrt(mpmath.pi))
    return multiply(exp(negative(multiply(x, x))), c)


erf.defvjp(lambda g, ans, x: multiply(g, _derf(x)))
erf.defjvp(lambda t, ans, x: multiply(t, _derf(x)))


def _np_abs(x):
    return np.abs(x)


abs = _unary("abs", _np_abs, mpmath.fabs)  # noqa: A001 (numpy name)


def _sign_impl(x):
    if getattr(x, "dtype", None) == object:
        return _elementwise_mp(mpmath.sign)(x)
    return np.sign(x)


sign = UnaryPrimitive("sign", _sign_impl, nondiff=True)
abs.defvjp(lambda g, ans, x: multiply(g, sign(x)))
abs.defjvp(lambda t, ans, x: multiply(t, sign(x)))


def _mp_binary(npfn, mpfn):
    vec = np.frompyfunc(mpfn, 2, 1)

    def impl(x, y):
        if is_mp(x) or is_mp(y):
            out = vec(x, y)
            return out if isinstance(out, np.ndarray) else np.asarray(out, dtype=object)
        return npfn(x, y)

    return impl


# mpmath.mpf(...) so that max(mpf, 0.5) stays an mpf, not a Python float.
maximum = BinaryPrimitive("maximum", _mp_binary(np.maximum, lambda a, b: mpmath.mpf(max(a, b))))
minimum = BinaryPrimitive("minimum", _mp_binary(np.minimum, lambda a, b: mpmath.mpf(min(a, b))))


def _select_weight(x, y, wins):
    """Weight of ``x`` in max/min: 1 where it wins, 1/2 at ties, else 0."""
    xv, yv = getval(x), getval(y)
    w = np.where(wins(xv, yv), 1.0, np.where(np.equal(xv, yv), 0.5, 0.0))
    if is_mp(xv) or is_mp(yv):
        return w  # 0, 1/2 and 1 are exact; times an mpf they give an mpf
    # result_type of the values, not of their dtypes: Python scalars stay weak
    # (maximum(x32, 0.5) is float32, and so must its derivative be).
    return w.astype(np.result_type(xv, yv))


def _dtype_of_value(v):
    return getattr(v, "dtype", np.result_type(v) if not isinstance(v, mpmath.mpf) else object)


maximum.defvjp(
    lambda g, ans, x, y: _unbroadcast_like(multiply(g, _select_weight(x, y, np.greater)), x),
    lambda g, ans, x, y: _unbroadcast_like(multiply(g, _select_weight(y, x, np.greater)), y),
)
maximum.defjvp(
    lambda t, ans, x, y: _broadcast_tangent(multiply(t, _select_weight(x, y, np.greater)), ans),
    lambda t, ans, x, y: _broadcast_tangent(multiply(t, _select_weight(y, x, np.greater)), ans),
)
minimum.defvjp(
    lambda g, ans, x, y: _unbroadcast_like(multiply(g, _select_weight(x, y, np.less)), x),
    lambda g, ans, x, y: _unbroadcast_like(multiply(g, _select_weight(y, x, np.less)), y),
)
minimum.defjvp(
    lambda t, ans, x, y: _broadcast_tangent(multiply(t, _select_weight(x, y, np.less)), ans),
    lambda t, ans, x, y: _broadcast_tangent(multiply(t, _select_weight(y, x, np.less)), ans),
)


def _as_mp(v):
    return v if isinstance(v, (mpmath.mpf, mpmath.mpc)) else mpmath.mpf(v)


_as_mp_vec = np.frompyfunc(_as_mp, 1, 1)


def _where_impl(cond, x, y):
    out = np.where(cond, x, y)
    if out.dtype == object and not (is_mp(x) and is_mp(y)):
        # a float branch chosen among mpmath numbers becomes an mpf (exactly), so that
        # the mpmath interpreter does not go on in float64 from there
        out = np.asarray(_as_mp_vec(out), dtype=object)
    return out


where = Primitive("where", _where_impl)


def _zeros_like_value(g):
    return np.zeros((), dtype=_dtype_of_value(getval(g)))


where.defvjp(
    None,
    lambda g, ans, c, x, y: _unbroadcast_like(where(c, g, _zeros_like_value(g)), x),
    lambda g, ans, c, x, y: _unbroadcast_like(where(c, _zeros_like_value(g), g), y),
    argnums=(0, 1, 2),
)
where.defjvp(
    None,
    lambda t, ans, c, x, y: _broadcast_tangent(where(c, t, _zeros_like_value(t)), ans),
    lambda t, ans, c, x, y: _broadcast_tangent(where(c, _zeros_like_value(t), t), ans),
    argnums=(0, 1, 2),
)


def _astype_impl(x, dtype):
    if np.dtype(dtype).kind == "f" and is_mp(x):
        return x  # the mpmath interpreter keeps every float in arbitrary precision
    if isinstance(x, np.ndarray) or np.isscalar(x):
        return np.asarray(x).astype(dtype) if np.ndim(x) else np.dtype(dtype).type(x)
    return np.asarray(x).astype(dtype)


astype = Primitive("astype", _astype_impl)
astype.defvjp(lambda g, ans, x, dtype: astype(g, _dtype_of_value(getval(x))))
astype.defjvp(lambda t, ans, x, dtype: astype(t, dtype))

stop_gradient = UnaryPrimitive("stop_gradient", lambda x: x, nondiff=True)


def _compare(name, fn):
    return BinaryPrimitive(name, fn, nondiff=True)


less = _compare("less", np.less)
less_equal = _compare("less_equal", np.less_equal)
greater = _compare("greater", np.greater)
greater_equal = _compare("greater_equal", np.greater_equal)
equal = _compare("equal", np.equal)
not_equal = _compare("not_equal", np.not_equal)
