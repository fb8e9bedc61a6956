"""The bounds interpretation of :mod:`nnopt.numpy` functions.

A :class:`BoundTrace` is one more interpreter over the primitives of
:mod:`nnopt.autodiff.core`: the user's function receives a
:class:`BoundTracer` instead of an array, every primitive it calls reaches
:meth:`BoundTrace.process`, and the rule registered under the primitive's
name maps Taylor enclosures (:class:`~nnopt.bounds.taylor.TM`) of the inputs
to one of the output.  Comparisons, ``sign`` and ``where`` conditions reach
the trace too (``sees_nondiff = True``): a condition is decided over the
whole box, or its switching analysed (:func:`~nnopt.bounds.taylor.where_switch`).

Sound or refuse: a primitive without a rule raises
:class:`~nnopt.bounds.interval.UnsupportedBoundError` naming it; code that
asks for the concrete value of a bounded quantity (``bool(x)``, ``float(x)``,
``np.asarray(x)``, ``getval(x)`` followed by arithmetic) raises too, because
the quantity ranges over the whole box.
"""
from __future__ import annotations


import numpy as np

from ..autodiff.core import Tracer, new_level
from . import taylor as T
from .functions import ELEMENTARY, Power
from .interval import BoundsError, Interval, UnsupportedBoundError

__all__ = ["BoundTrace", "BoundTracer", "CondTracer", "AbstractValue", "interpret", "RULES"]


_NO_VALUE = (
    "nnopt.bounds: a bounded value has no single point value (it ranges over the whole "
    "trust region or box), so {what} cannot be interpreted; write the function with "
    "nnopt.numpy operations only (no Python control flow on values, no np.asarray, no "
    "getval(x) arithmetic)"
)


class AbstractValue:
    """What :func:`nnopt.autodiff.core.getval` returns for a bounded value:
    its shape and dtype, and an error for anything numeric."""

    __slots__ = ("shape", "dtype")

    def __init__(self, shape, dtype):
        self.shape = tuple(shape)
        self.dtype = np.dtype(dtype)

    @property
    def ndim(self):
        return len(self.shape)

    @property
    def size(self):
        return int(np.prod(self.shape, dtype=np.int64))

    def _refuse(self, what):
        raise UnsupportedBoundError(_NO_VALUE.format(what=what))

    def __array__(self, dtype=None, copy=None):
        self._refuse("converting it to a NumPy array")

    def __bool__(self):
        self._refuse("bool() of it (value-dependent control flow)")

    def __float__(self):
        self._refuse("float() of it")

    __int__ = __float__
    __index__ = __float__

    def _cmp(self, other):
        self._refuse("a plain comparison with it")

    __lt__ = __le__ = __gt__ = __ge__ = _cmp

    def __eq__(self, other):
        self._refuse("a plain comparison with it")

    __ne__ = __eq__
    __hash__ = object.__hash__

    def _arith(self, *other):
        self._refuse("plain arithmetic on getval() of it")

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _arith
    __truediv__ = __rtruediv__ = __pow__ = __rpow__ = __neg__ = __abs__ = _arith

    def __getitem__(self, index):
        self._refuse("indexing getval() of it")

    def astype(self, dtype):
        self._refuse("astype on getval() of it")

    def __repr__(self):
        return f"<bounded value shape={self.shape} dtype={self.dtype}>"


class BoundTracer(Tracer):
    """A traced value carrying a Taylor enclosure (``tm``)."""

    __slots__ = ("tm", "_dtype")

    def __init__(self, trace, tm, dtype):
        self.trace = trace
        self.tm = tm
        self._dtype = np.dtype(dtype)

    @property
    def value(self):
        return AbstractValue(self.tm.shape, self._dtype)

    @property
    def shape(self):
        return self.tm.shape

    @property
    def dtype(self):
        return self._dtype

    def __bool__(self):
        raise UnsupportedBoundError(_NO_VALUE.format(what="bool() of it (value-dependent control flow)"))

    def __float__(self):
        raise UnsupportedBoundError(_NO_VALUE.format(what="float() of it"))

    def __array__(self, dtype=None, copy=None):
        raise UnsupportedBoundError(_NO_VALUE.format(what="converting it to a NumPy array"))

    __int__ = __float__
    __complex__ = __float__
    __index__ = __float__

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if ufunc in (np.isfinite, np.isnan, np.isinf) and method == "__call__" and len(inputs) == 1:
            return _finite_test(self, ufunc)
        return Tracer.__array_ufunc__(self, ufunc, method, *inputs, **kwargs)

    def __repr__(self):
        lo, hi = self.tm.rng.to_floats()
        return f"BoundTracer(shape={self.tm.shape}, degree={self.tm.degree}, range=[{np.min(lo)}, {np.max(hi)}])"


class CondTracer(Tracer):
    """A comparison of bounded values that is not decided over the whole box:
    ``h > 0`` (strict) or ``h >= 0``, element-wise.  Only ``where`` consumes it."""

    __slots__ = ("h", "strict")

    def __init__(self, trace, h, strict):
        self.trace = trace
        self.h = h
        self.strict = strict

    @property
    def value(self):
        return AbstractValue(self.h.shape, np.bool_)

    @property
    def shape(self):
        return self.h.shape

    @property
    def dtype(self):
        return np.dtype(np.bool_)

    def __bool__(self):
        raise UnsupportedBoundError(
            "nnopt.bounds: a comparison of bounded values is true on part of the box and false "
            "on another part; it cannot drive Python control flow (use nnopt.numpy.where)"
        )

    def __repr__(self):
        return f"CondTracer(shape={self.h.shape})"


def _finite_test(x, ufunc):
    rng = x.tm.rng
    bounded = rng.is_bounded()
    bounded = np.all(np.reshape(bounded, rng.shape[:-1]), axis=-1)
    # values of the real function are finite; an unbounded enclosure cannot tell
    if not np.all(bounded):
        raise UnsupportedBoundError(
            f"nnopt.bounds: numpy.{ufunc.__name__} of a bounded value whose enclosure is unbounded "
            "cannot be decided"
        )
    if ufunc is np.isfinite:
        return np.ones(x.tm.shape, dtype=bool)
    return np.zeros(x.tm.shape, dtype=bool)


class BoundTrace:
    """The interpreter (see the module docstring)."""

    sees_nondiff = True

    def __init__(self, ctx):
        self.level = new_level()
        self.ctx = ctx

    # -- values ----------------------------------------------------------------------
    def unwrap(self, a):
        if isinstance(a, (BoundTracer, CondTracer)):
            if a.trace is not self:
                raise UnsupportedBoundError(
                    "nnopt.bounds: values of two different bounds computations were mixed"
                )
            return a.tm if isinstance(a, BoundTracer) else a
        if isinstance(a, Tracer):
            raise UnsupportedBoundError(
                "nnopt.bounds: a bounds computation cannot run inside another transform "
                "(grad/jvp of a bound is not supported); call it on plain arrays"
            )
        return a

    def tm(self, a):
        """A TM for an unwrapped argument (constants become constant TMs)."""
        if isinstance(a, T.TM):
            return a
        if isinstance(a, CondTracer):
            raise UnsupportedBoundError(
                "nnopt.bounds: an undecided comparison result was used as a number; only "
                "nnopt.numpy.where can consume it"
            )
        return T.TM.const(self.ctx, _const(a, self.ctx.bk))

    def wrap(self, out, dtype):
        if isinstance(out, T.TM):
            return BoundTracer(self, out, dtype)
        return out

    def process(self, prim, args, params):
        rule = RULES.get(prim.name)
        if rule is None:
            raise UnsupportedBoundError(
                f"nnopt.bounds: no rigorous interval rule for the operation '{prim.name}'; "
                "verified bounds refuse functions that use it"
            )
        vals = [self.unwrap(a) for a in args]
        out = rule(self, *vals, **params)
        dtype = _out_dtype(prim.name, args, params)
        return self.wrap(out, dtype)


def _const(a, bk):
    if isinstance(a, Interval):
        return a
    arr = np.asarray(a)
    if arr.dtype.kind not in "biuf" and arr.dtype != object:
        raise UnsupportedBoundError(f"nnopt.bounds: cannot bound a constant of dtype {arr.dtype}")
    return Interval.point(arr, bk)


def _dtype_rep(a):
    if isinstance(a, (BoundTracer, CondTracer)):
        return np.empty((0,), dtype=a.dtype)
    if isinstance(a, (np.ndarray, np.generic)):
        return a if a.dtype != object else None
    if isinstance(a, (bool, int, float)) and not isinstance(a, complex):
        return a  # Python scalars are weak in NumPy's promotion
    return None  # mpmath numbers, Intervals: no say in the dtype


_SAME_AS_FIRST = {"getitem", "index_add", "block", "reshape", "transpose", "broadcast_to",
                  "sum", "max", "min", "stop_gradient", "negative", "abs", "relu"}
_BOOL = {"less", "less_equal", "greater", "greater_equal", "equal", "not_equal"}


def _out_dtype(name, args, params):
    if name in _BOOL:
        return np.bool_
    if name == "astype":
        return np.dtype(params.get("dtype", args[1] if len(args) > 1 else np.float64))
    if name in _SAME_AS_FIRST:
        a = args[0]
        return a.dtype if isinstance(a, Tracer) else np.result_type(a)
    if name == "where":
        args = args[1:]
    reps = [r for r in (_dtype_rep(a) for a in args) if r is not None]
    if not reps:
        return np.float64
    dt = np.result_type(*reps)
    if dt.kind in "biu":
        return np.dtype(np.float64) if name in ("divide", "logsumexp", "elu") or name in ELEMENTARY else dt
    return dt


# ---------------------------------------------------------------------------
# rules
# ---------------------------------------------------------------------------

RULES = {}


def rule(*names):
    def deco(fn):
        for n in names:
            RULES[n] = fn
        return fn

    return deco


def _is_tm(a):
    return isinstance(a, T.TM)


@rule("add")
def _add(tr, x, y):
    if _is_tm(x) and _is_tm(y):
        return T.add(x, y)
    if _is_tm(x):
        return T.add_const(x, _const(y, tr.ctx.bk))
    return T.add_const(y, _const(x, tr.ctx.bk))


@rule("subtract")
def _sub(tr, x, y):
    if _is_tm(x) and _is_tm(y):
        if x is y:
            return T.TM.const(tr.ctx, Interval.zeros(x.shape, tr.ctx.bk), x.degree)
        return T.add(x, y, sign=-1)
    if _is_tm(x):
        return T.add_const(x, -_const(y, tr.ctx.bk))
    return T.add_const(T.neg(y), _const(x, tr.ctx.bk))


@rule("negative")
def _neg(tr, x):
    return T.neg(x)


@rule("multiply")
def _mul(tr, x, y):
    if _is_tm(x) and _is_tm(y):
        return T.mul(x, y)
    if _is_tm(x):
        return T.mul_const(x, _const(y, tr.ctx.bk))
    return T.mul_const(y, _const(x, tr.ctx.bk))


def _recip(x):
    return T.compose(Power(-1), x)


@rule("divide")
def _div(tr, x, y):
    bk = tr.ctx.bk
    if _is_tm(y):
        r = _recip(y)
        if _is_tm(x):
            return T.mul(x, r)
        return T.mul_const(r, _const(x, bk))
    return T.mul_const(x, _const(y, bk).recip())


def _scalar_exponent(y):
    arr = np.asarray(y)
    if arr.dtype.kind not in "biuf":
        raise UnsupportedBoundError(f"nnopt.bounds: power with exponent of dtype {arr.dtype}")
    flat = arr.ravel()
    if flat.size == 0 or not np.all(flat == flat[0]):
        raise UnsupportedBoundError(
            "nnopt.bounds: power with an array of different exponents is not supported; "
            "use one exponent (or exp(y * log(x)))"
        )
    v = flat[0]
    return int(v) if arr.dtype.kind in "biu" else float(v), arr.shape


@rule("power")
def _power(tr, x, y):
    bk = tr.ctx.bk
    if _is_tm(x) and not _is_tm(y):
        p, shape = _scalar_exponent(y)
        if shape and np.broadcast_shapes(shape, x.shape) != x.shape:
            x = T.broadcast_to(x, np.broadcast_shapes(shape, x.shape))
        if p == 1:
            return x
        if p == 0:
            return T.TM.const(tr.ctx, Interval.point(np.ones(x.shape), bk), x.degree)
        if p == 2:
            return T.square(x)
        if p == 0.5:
            return T.compose(ELEMENTARY["sqrt"], x)
        return T.compose(Power(p), x)
    # exponent traced: x**y = exp(y log x), x > 0
    if _is_tm(x):
        lx = T.compose(ELEMENTARY["log"], x)
        return T.compose(ELEMENTARY["exp"], T.mul(tr.tm(y), lx))
    cx = _const(x, bk)
    if np.any(np.less_equal(cx.lo, 0)):
        raise UnsupportedBoundError(
            "nnopt.bounds: power(x, y) with a bounded exponent needs a positive base"
        )
    lg = Interval(bk.fn("log", cx.lo)[0], bk.fn("log", cx.hi)[1], bk)
    return T.compose(ELEMENTARY["exp"], T.mul_const(y, lg))


def _elementary(name):
    phi = ELEMENTARY[name]

    def fn(tr, x):
        return T.compose(phi, x)

    return fn


for _n in ELEMENTARY:
    RULES[_n] = _elementary(_n)


@rule("abs")
def _abs(tr, x):
    return T.abs_(x)


@rule("relu")
def _relu(tr, x):
    return T.relu(x)


@rule("elu")
def _elu(tr, x, alpha=1.0):
    if _is_tm(alpha) or isinstance(alpha, CondTracer):
        raise UnsupportedBoundError(
            "nnopt.bounds: elu with a bounded alpha has no rule; alpha must be a constant"
        )
    return T.elu(tr.tm(x), _const(alpha, tr.ctx.bk), ELEMENTARY["expm1"])


@rule("maximum")
def _maximum(tr, x, y):
    return T.maximum(tr.tm(x), tr.tm(y))


@rule("minimum")
def _minimum(tr, x, y):
    return T.minimum(tr.tm(x), tr.tm(y))


def _one_zero(tr, shape):
    bk = tr.ctx.bk
    return (T.TM.const(tr.ctx, Interval.point(np.ones(shape), bk)),
            T.TM.const(tr.ctx, Interval.zeros(shape, bk)))


@rule("sign")
def _sign(tr, x):
    one, zero = _one_zero(tr, x.shape)
    pos = T.where_switch(x, True, one, zero)
    negt = T.where_switch(T.neg(x), True, one, zero)
    return T.add(pos, negt, sign=-1)


def _compare(tr, h, strict):
    """Decide h > 0 (strict) / h >= 0 over the box, or return a CondTracer."""
    rng = h.rng
    if strict:
        yes, no = np.greater(rng.lo, 0), np.less_equal(rng.hi, 0)
    else:
        yes, no = np.greater_equal(rng.lo, 0), np.less(rng.hi, 0)
    yes = np.reshape(yes, rng.shape[:-1])
    no = np.reshape(no, rng.shape[:-1])
    yes = np.broadcast_to(yes, h.shape + yes.shape[-1:])
    no = np.broadcast_to(no, h.shape + no.shape[-1:])
    if np.all(yes | no) and (yes.shape[-1] == 1 or np.all(yes == yes[..., :1])):
        return np.array(yes[..., 0])
    return CondTracer(tr, h, strict)


def _diff(tr, a, b):
    a, b = tr.tm(a), tr.tm(b)
    return T.add(a, b, sign=-1)


@rule("less")
def _less(tr, x, y):
    return _compare(tr, _diff(tr, y, x), True)


@rule("less_equal")
def _less_equal(tr, x, y):
    return _compare(tr, _diff(tr, y, x), False)


@rule("greater")
def _greater(tr, x, y):
    return _compare(tr, _diff(tr, x, y), True)


@rule("greater_equal")
def _greater_equal(tr, x, y):
    return _compare(tr, _diff(tr, x, y), False)


@rule("equal", "not_equal")
def _equal(tr, x, y):
    h = _diff(tr, x, y)
    rng = h.rng
    differ = np.reshape(np.greater(rng.lo, 0) | np.less(rng.hi, 0), rng.shape[:-1])
    if np.all(differ):
        return np.zeros(h.shape, dtype=bool)
    raise UnsupportedBoundError(
        "nnopt.bounds: an (in)equality test of bounded values cannot be decided over the box"
    )


@rule("stop_gradient")
def _stop_gradient(tr, x):
    return x  # the value is the same function; only derivatives are cut


@rule("astype")
def _astype(tr, x, dtype=None):
    dt = np.dtype(dtype)
    if dt.kind != "f":
        raise UnsupportedBoundError(
            f"nnopt.bounds: astype to {dt} (not a floating type) has no rigorous rule"
        )
    return x  # bounds are for the exact real function; rounding is not modelled


@rule("where")
def _where(tr, cond, x, y):
    bk = tr.ctx.bk
    if isinstance(cond, CondTracer):
        return T.where_switch(cond.h, cond.strict, tr.tm(x), tr.tm(y))
    if isinstance(cond, T.TM):
        raise UnsupportedBoundError("nnopt.bounds: where() needs a boolean condition")
    c = np.asarray(cond, dtype=bool)
    xt, yt = tr.tm(x), tr.tm(y)
    if c.shape == () or np.all(c == c.ravel()[0]):
        pick = xt if bool(c.ravel()[0]) else yt
        S = np.broadcast_shapes(c.shape, xt.shape, yt.shape)
        return pick if pick.shape == S else T.broadcast_to(pick, S)
    _ = bk
    return T.where_const(c, xt, yt)


# -- reductions ------------------------------------------------------------------------


@rule("sum")
def _sum(tr, x, axis=None, keepdims=False):
    return T.tm_sum(x, axis=axis, keepdims=keepdims)


def _extremum(op):
    def fn(tr, x, axis=None, keepdims=False):
        nd = len(x.shape)
        axes = tuple(range(nd)) if axis is None else tuple(
            sorted({int(a) % nd for a in ((axis,) if np.isscalar(axis) else axis)}))
        out = x
        for a in sorted(axes, reverse=True):
            out = _reduce_axis(out, a, op)
        if keepdims:
            shape = list(out.shape)
            for a in axes:
                shape.insert(a, 1)
            out = T.reshape(out, tuple(shape))
        return out

    return fn


def _reduce_axis(x, axis, op):
    """Pairwise (tournament) reduction of ``x`` along ``axis``."""
    n = x.shape[axis]
    if n == 0:
        raise ValueError("max/min of an empty axis")
    while n > 1:
        half = n // 2
        idx_a = [slice(None)] * len(x.shape)
        idx_b = [slice(None)] * len(x.shape)
        idx_a[axis] = slice(0, half)
        idx_b[axis] = slice(half, 2 * half)
        a = T.getitem(x, tuple(idx_a))
        b = T.getitem(x, tuple(idx_b))
        m = op(a, b)
        if n % 2:
            idx_c = [slice(None)] * len(x.shape)
            idx_c[axis] = slice(2 * half, n)
            m = T.concatenate([m, T.getitem(x, tuple(idx_c))], axis=axis)
        x = m
        n = x.shape[axis]
    idx = [slice(None)] * len(x.shape)
    idx[axis] = 0
    return T.getitem(x, tuple(idx))


@rule("logsumexp")
def _logsumexp(tr, x, axis=None, keepdims=False):
    return T.logsumexp(tr.tm(x), axis, keepdims, ELEMENTARY["exp"], ELEMENTARY["log"])


RULES["max"] = _extremum(T.maximum)
RULES["min"] = _extremum(T.minimum)


# -- shapes ------------------------------------------------------------------------------


@rule("reshape")
def _reshape(tr, x, shape):
    return T.reshape(x, shape)


@rule("transpose")
def _transpose(tr, x, axes=None):
    return T.transpose(x, axes)


@rule("broadcast_to")
def _broadcast_to(tr, x, shape):
    return T.broadcast_to(x, shape)


@rule("getitem")
def _getitem(tr, x, index):
    return T.getitem(x, index)


@rule("block")
def _block(tr, theta, start, stop, shape):
    return T.reshape(T.getitem(theta, slice(start, stop)), shape)


@rule("concatenate")
def _concatenate(tr, *arrays, axis=0):
    return T.concatenate([tr.tm(a) for a in arrays], axis=axis)


@rule("index_add")
def _index_add(tr, g, index, shape):
    # scatter g into zeros of ``shape``: linear; only non-overlapping (basic) indices
    items = index if isinstance(index, tuple) else (index,)
    if not all(i is None or i is Ellipsis or isinstance(i, (slice, int, np.integer)) for i in items):
        raise UnsupportedBoundError("nnopt.bounds: index_add with advanced indices is not supported")
    bk = tr.ctx.bk
    full_idx = items + ((slice(None), slice(None)) if any(i is Ellipsis for i in items) else (Ellipsis,))

    def scatter(t):
        if t is None:
            return None
        tb = t.broadcast_to(g.shape + t.shape[-2:])
        lo = bk.zeros(tuple(shape) + t.shape[-2:])
        hi = bk.zeros(tuple(shape) + t.shape[-2:])
        lo[full_idx] = tb.lo
        hi[full_idx] = tb.hi
        return Interval(lo, hi, bk)

    out = T.TM(g.ctx, [scatter(c) for c in g.coeffs], scatter(g.rem), None, tuple(shape))
    rng = scatter(g.rng)
    if out.degree < 0:
        out.rem = out.rng = rng
        return out
    return out._finish(rng)


# -- products ----------------------------------------------------------------------------


def _operand(tr, a):
    return a if _is_tm(a) else _const(a, tr.ctx.bk)


def _bcast(tr, a, shape):
    if _is_tm(a):
        return a if a.shape == tuple(shape) else T.broadcast_to(a, shape)
    return a if a.shape == tuple(shape) else a.broadcast_to(shape)


@rule("matmul")
def _matmul(tr, a, b):
    a, b = _operand(tr, a), _operand(tr, b)
    sa, sb = a.shape, b.shape
    if len(sa) > 2 or len(sb) > 2:
        if len(sa) >= 2 and len(sb) >= 2:
            batch = np.broadcast_shapes(sa[:-2], sb[:-2])
            a = _bcast(tr, a, batch + sa[-2:])
            b = _bcast(tr, b, batch + sb[-2:])
        elif len(sa) == 1:
            pass
        elif len(sb) == 1:
            pass
    spec = T.matmul_spec(a.shape, b.shape)
    return T.einsum2(spec, a, b)


@rule("einsum")
def _einsum(tr, subscripts, *operands):
    if len(operands) != 2:
        raise UnsupportedBoundError(
            f"nnopt.bounds: einsum with {len(operands)} operands is not supported (only two); "
            "split it into two-operand products"
        )
    a, b = (_operand(tr, o) for o in operands)
    return T.einsum2(subscripts, a, b)


@rule("dense")
def _dense(tr, x, W, b, act="identity"):
    z = _matmul(tr, x, W)
    z = _add(tr, z, b)
    if act == "identity":
        return z
    if act == "relu":
        return T.relu(z)
    return T.compose(ELEMENTARY[act], z)


# ---------------------------------------------------------------------------
# running a function
# ---------------------------------------------------------------------------


def interpret(f, ctx, x0, dtype, scalar_input):
    """Run ``f`` on the input ``x = x0 + z`` (z in ctx.Z) and return the TM of
    its output (constant outputs become constant TMs)."""
    trace = BoundTrace(ctx)
    tm = T.TM.variable(ctx, x0)
    if scalar_input:
        tm = T.reshape(tm, ())
    x = BoundTracer(trace, tm, dtype)
    out = f(x)
    if isinstance(out, BoundTracer):
        if out.trace is not trace:
            raise UnsupportedBoundError("nnopt.bounds: the function returned a value of another bounds computation")
        return out.tm
    if isinstance(out, CondTracer):
        raise UnsupportedBoundError("nnopt.bounds: the function returned an undecided comparison, not a number")
    if isinstance(out, Tracer):
        raise UnsupportedBoundError("nnopt.bounds: the function returned a value traced by another transform")
    if isinstance(out, (tuple, list)):
        raise BoundsError("nnopt.bounds: the function must return one array (not a tuple or list)")
    arr = np.asarray(out)
    if arr.dtype.kind not in "biuf":
        raise BoundsError(f"nnopt.bounds: the function returned a value of dtype {arr.dtype}, not a number")
    return T.TM.const(ctx, Interval.point(arr, ctx.bk))
