"""The differentiation engine: primitives, tracers and traces.

Every operation of :mod:`nnopt.numpy` is a :class:`Primitive`: a NumPy
implementation plus derivative rules written *in terms of other primitives*.
Because the rules are themselves traced, derivatives nest to any order.

Two kinds of trace interpret a function:

* a reverse-mode trace (:class:`VJPTrace`) records a node per primitive call
  and later pulls cotangents back through the recorded graph (``vjp``);
* a forward-mode trace (:class:`JVPTrace`) carries a tangent beside every
  value (``jvp``).

Traces are numbered by creation; when a primitive sees tracers of several
traces, the one created last (the innermost transform) handles the call first
and hands the unwrapped values on to the outer ones.  This is the design of
HIPS/autograd and of JAX's eager interpreters, reduced to its core.

Rule conventions (the names are fixed across all rule tables)::

    vjp rule:  rule(g, ans, *args, **params) -> cotangent of one argument
    jvp rule:  rule(t, ans, *args, **params) -> tangent contribution of one argument

where ``g`` is the output cotangent, ``t`` the argument's tangent, ``ans``
the primitive's output and ``args`` its (unwrapped) inputs.

Speed.  At the sizes nnopt's users run, a primitive's arithmetic takes a few
microseconds or less, so the engine's own cost per primitive matters, and
the hot path is kept short (docs/speed.md has the measurements):

* a primitive call finds the innermost trace in one pass over its arguments
  (:meth:`Primitive.__call__`); primitives of one or two positional
  arguments and no parameters (:class:`UnaryPrimitive`,
  :class:`BinaryPrimitive`: the element-wise arithmetic and functions,
  ``matmul``) have a shorter call path still;
* a trace calls the NumPy implementation directly unless a value of an
  outer trace is involved, and a call without keyword parameters passes
  none (no ``**{}``), here and to the rules;
* a reverse-mode node is a plain tuple referring to its parents by index,
  tracers are built without a Python-level ``__init__``;
* the reverse pass sums cotangents in place into buffers it allocated
  itself, and :func:`shape_of` reads shapes without ``np.shape``'s dispatch.
"""
from __future__ import annotations

import itertools

import numpy as np

__all__ = [
    "Primitive",
    "UnaryPrimitive",
    "BinaryPrimitive",
    "Tracer",
    "VJPTracer",
    "JVPTracer",
    "bind",
    "getval",
    "shape_of",
    "is_traced",
    "UnsupportedOperationError",
]


class UnsupportedOperationError(TypeError):
    """A NumPy operation without derivative rules met a traced value."""


class Primitive:
    """An operation with a NumPy implementation and derivative rules.

    Parameters
    ----------
    name : str
        Name used in error messages.
    impl : callable
        ``impl(*args, **params)`` on plain arrays (float32, float64, or object
        arrays of mpmath numbers).
    nondiff : bool
        Output carries no derivative (comparisons, ``sign``, ``stop_gradient``):
        tracers are stripped from the inputs and a plain array is returned.
    """

    __slots__ = ("name", "impl", "vjps", "jvps", "vjp_all", "jvp_all", "nondiff")

    def __init__(self, name, impl, nondiff=False):
        self.name = name
        self.impl = impl
        self.vjps = {}
        self.jvps = {}
        self.vjp_all = None
        self.jvp_all = None
        self.nondiff = nondiff

    def __call__(self, *args, **params):
        # ``bind`` inlined: this is the hottest function of the engine.
        top = None
        for a in args:
            if isinstance(a, Tracer):
                t = a.trace
                if top is None or t.level > top.level:
                    top = t
        if top is None:  # plain arrays: no trace involved
            return self.impl(*args, **params) if params else self.impl(*args)
        if self.nondiff and not top.sees_nondiff:
            return self.impl(*[getval(a) for a in args], **params)
        return top.process(self, args, params)

    def defvjp(self, *rules, argnums=None):
        """Register one VJP rule per argument (``None`` = not differentiable)."""
        for i, rule in zip(argnums or itertools.count(), rules):
            if rule is not None:
                self.vjps[i] = rule
        return self

    def defjvp(self, *rules, argnums=None):
        """Register one JVP rule per argument; contributions are summed."""
        for i, rule in zip(argnums or itertools.count(), rules):
            if rule is not None:
                self.jvps[i] = rule
        return self

    def defvjp_all(self, rule):
        """Register a joint rule ``rule(g, ans, *args, argnums=..., **params)``
        returning cotangents for all requested ``argnums`` at once (used where
        the arguments' cotangents share work, e.g. a fused dense layer)."""
        self.vjp_all = rule
        return self

    def defjvp_all(self, rule):
        """Register a joint rule ``rule(tangents, ans, *args, **params)`` with
        ``tangents[i] is None`` for arguments that carry no tangent."""
        self.jvp_all = rule
        return self

    def __repr__(self):
        return f"<nnopt primitive {self.name}>"


_NO_PARAMS = {}  # shared, never mutated: the params of a call without keywords


class UnaryPrimitive(Primitive):
    """A primitive of one positional argument and no parameters (``exp``,
    ``sin``, ...): the same as :class:`Primitive`, with a shorter call path."""

    __slots__ = ()

    def __call__(self, x):
        if isinstance(x, Tracer):
            trace = x.trace
            if self.nondiff and not trace.sees_nondiff:
                return self.impl(getval(x))
            return trace.process(self, (x,), _NO_PARAMS)
        return self.impl(x)


class BinaryPrimitive(Primitive):
    """A primitive of two positional arguments and no parameters (``add``,
    ``multiply``, ...): the same as :class:`Primitive`, with a shorter call path."""

    __slots__ = ()

    def __call__(self, x, y):
        if isinstance(x, Tracer):
            top = x.trace
            if isinstance(y, Tracer) and y.trace.level > top.level:
                top = y.trace
        elif isinstance(y, Tracer):
            top = y.trace
        else:
            return self.impl(x, y)
        if self.nondiff and not top.sees_nondiff:
            return self.impl(getval(x), getval(y))
        return top.process(self, (x, y), _NO_PARAMS)


class Tracer:
    """Base of the values seen by a function while a transform runs.

    A tracer behaves like an array: operators and the common ndarray
    attributes dispatch to :mod:`nnopt.numpy`.  NumPy functions applied to a
    tracer are routed through ``__array_ufunc__`` / ``__array_function__`` to
    the differentiable versions, or fail with a clear error.
    """

    # ``value`` is the wrapped value one level down (the primal, for forward
    # mode): a plain array or a tracer of an outer transform.
    __slots__ = ("trace", "value")
    __array_priority__ = 1000.0

    # -- array-like attributes -------------------------------------------------
    @property
    def shape(self):
        v = self.value
        while isinstance(v, Tracer):
            v = v.value
        return v.shape if type(v) is np.ndarray else np.shape(v)

    @property
    def dtype(self):
        return _dtype_of(self)

    @property
    def ndim(self):
        return len(self.shape)

    @property
    def size(self):
        return int(np.prod(self.shape, dtype=np.int64))

    def __len__(self):
        shape = self.shape
        if not shape:
            raise TypeError("len() of a 0-d traced array")
        return shape[0]

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __bool__(self):
        # Control flow on the value is fine for derivatives (piecewise code).
        return bool(getval(self))

    def __float__(self):
        raise TypeError(
            "float() of a traced value would drop its derivative; keep it an "
            "array, or use nnopt.stop_gradient(x) explicitly"
        )

    __int__ = __float__
    __complex__ = __float__

    def __array__(self, dtype=None, copy=None):
        raise UnsupportedOperationError(
            "a traced value was converted to a plain NumPy array (np.asarray, "
            "in-place assignment, or a NumPy function without derivative "
            "rules); use nnopt.numpy operations inside transforms"
        )

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        from nnopt.numpy import _dispatch

        return _dispatch.array_ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        from nnopt.numpy import _dispatch

        return _dispatch.array_function(func, args, kwargs)

    def __repr__(self):
        return f"{type(self).__name__}({getval(self)!r})"

    # -- operators --------------------------------------------------------------
    def __add__(self, other):
        return _ops.add(self, other)

    def __radd__(self, other):
        return _ops.add(other, self)

    def __sub__(self, other):
        return _ops.subtract(self, other)

    def __rsub__(self, other):
        return _ops.subtract(other, self)

    def __mul__(self, other):
        return _ops.multiply(self, other)

    def __rmul__(self, other):
        return _ops.multiply(other, self)

    def __truediv__(self, other):
        return _ops.divide(self, other)

    def __rtruediv__(self, other):
        return _ops.divide(other, self)

    def __pow__(self, other):
        return _ops.power(self, other)

    def __rpow__(self, other):
        return _ops.power(other, self)

    def __matmul__(self, other):
        return _ops.matmul(self, other)

    def __rmatmul__(self, other):
        return _ops.matmul(other, self)

    def __neg__(self):
        return _ops.negative(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return _ops.abs(self)

    def __getitem__(self, index):
        return _ops.getitem(self, index)

    def __setitem__(self, index, value):
        raise TypeError(
            "in-place assignment x[index] = value to a traced value is not supported; "
            "build a new array instead (nnopt.numpy.where, concatenate, stack)"
        )

    def __lt__(self, other):
        return _ops.less(self, other)

    def __le__(self, other):
        return _ops.less_equal(self, other)

    def __gt__(self, other):
        return _ops.greater(self, other)

    def __ge__(self, other):
        return _ops.greater_equal(self, other)

    def __eq__(self, other):
        return _ops.equal(self, other)

    def __ne__(self, other):
        return _ops.not_equal(self, other)

    __hash__ = object.__hash__

    # -- ndarray-style methods ---------------------------------------------------
    @property
    def T(self):
        return _ops.transpose(self)

    def reshape(self, *shape):
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = shape[0]
        return _ops.reshape(self, shape)

    def transpose(self, *axes):
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = axes[0]
        return _ops.transpose(self, axes or None)

    def astype(self, dtype):
        return _ops.astype(self, dtype)

    def sum(self, axis=None, keepdims=False):
        return _ops.sum(self, axis=axis, keepdims=keepdims)

    def mean(self, axis=None, keepdims=False):
        return _ops.mean(self, axis=axis, keepdims=keepdims)

    def max(self, axis=None, keepdims=False):
        return _ops.max(self, axis=axis, keepdims=keepdims)

    def min(self, axis=None, keepdims=False):
        return _ops.min(self, axis=axis, keepdims=keepdims)

    def dot(self, other):
        return _ops.dot(self, other)

    def ravel(self):
        return _ops.reshape(self, (-1,))

    flatten = ravel

    def squeeze(self, axis=None):
        return _ops.squeeze(self, axis)


class _OpsProxy:
    """Late binding to nnopt.numpy (which imports this module)."""

    def __getattr__(self, name):
        import nnopt.numpy as nnp

        value = getattr(nnp, name)
        setattr(self, name, value)
        return value


_ops = _OpsProxy()


def getval(x):
    """Strip every level of tracing: the plain value underneath."""
    while isinstance(x, Tracer):
        x = x.value
    return x


def shape_of(x):
    """``np.shape(getval(x))``, without NumPy's dispatch for arrays and tracers."""
    while isinstance(x, Tracer):
        x = x.value
    if type(x) is np.ndarray:
        return x.shape
    return np.shape(x)


def is_traced(x):
    return isinstance(x, Tracer)


def _dtype_of(x):
    while isinstance(x, Tracer):
        x = x.value
    if type(x) is np.ndarray:
        return x.dtype
    dtype = getattr(x, "dtype", None)
    if dtype is not None:
        return dtype
    try:
        return np.result_type(x)
    except TypeError:  # an mpmath scalar (reductions of object arrays return one)
        return np.dtype(object)


# ---------------------------------------------------------------------------
# dispatch
# ---------------------------------------------------------------------------

_trace_counter = itertools.count(1)


def new_level():
    """A fresh trace level, higher than every existing one (for new trace kinds)."""
    return next(_trace_counter)


def bind(prim, args, params):
    """Apply ``prim``: to plain arrays directly, to tracers via their trace."""
    top = None
    for a in args:
        if isinstance(a, Tracer):
            t = a.trace
            if top is None or t.level > top.level:
                top = t
    if top is None:
        return prim.impl(*args, **params)
    if prim.nondiff and not top.sees_nondiff:
        # Derivative traces see through comparisons, sign, stop_gradient:
        # the result is a plain value.  Interpretations that must follow
        # every operation (e.g. interval bounds) set ``sees_nondiff``.
        return prim.impl(*[getval(a) for a in args], **params)
    return top.process(prim, args, params)


class VJPTrace:
    """Reverse-mode trace: records one node per primitive call, in creation
    (= topological) order.

    A node is the tuple ``(prim, vals, params, parents, ans)``: the primitive,
    its unwrapped arguments and parameters, the ``(argument number, node
    index)`` pairs of the arguments recorded on this trace, and the output;
    inputs are recorded as ``None``.  Nodes refer to their parents by index,
    never to tracers, so a trace and its tracers form no reference cycle and
    a finished graph is freed at once.
    """

    __slots__ = ("level", "nodes")
    sees_nondiff = False

    def __init__(self):
        self.level = next(_trace_counter)
        self.nodes = []

    def new_input(self, value):
        nodes = self.nodes
        tracer = _new(VJPTracer)
        tracer.value = value
        tracer.trace = self
        tracer.index = len(nodes)
        nodes.append(None)
        return tracer

    def process(self, prim, args, params):
        # Unwrap this trace's tracers; ``nested`` when a value of an outer
        # trace remains (then the call is dispatched again, one level down).
        if len(args) == 1:  # unary primitives: the common case, unrolled
            a = args[0]  # a tracer of this trace (it is the top one)
            v = a.value
            vals = [v]
            parents = [(0, a.index)]
            nested = isinstance(v, Tracer)
        else:
            vals = list(args)
            parents = []
            nested = False
            for i in range(len(vals)):
                a = vals[i]
                if isinstance(a, Tracer):
                    if a.trace is self:
                        v = a.value
                        vals[i] = v
                        parents.append((i, a.index))
                        if isinstance(v, Tracer):
                            nested = True
                    else:
                        nested = True
        if nested:
            ans = bind(prim, vals, params)
        else:
            ans = prim.impl(*vals, **params) if params else prim.impl(*vals)
        if not prim.vjps and prim.vjp_all is None:
            raise UnsupportedOperationError(
                f"nnopt: no reverse-mode rule for '{prim.name}'"
            )
        nodes = self.nodes
        tracer = _new(VJPTracer)
        tracer.value = ans
        tracer.trace = self
        tracer.index = len(nodes)
        nodes.append((prim, vals, params, parents, ans))
        return tracer


class VJPTracer(Tracer):
    """A value recorded by a :class:`VJPTrace`; ``index`` locates its node
    in ``trace.nodes``."""

    __slots__ = ("index",)

    def __init__(self, value, trace, index):
        self.value = value
        self.trace = trace
        self.index = index

    @property
    def node(self):
        return self


_new = object.__new__  # builds tracers without a Python-level __init__ call


class JVPTrace:
    """Forward-mode trace: every value carries its tangent."""

    __slots__ = ("level",)
    sees_nondiff = False

    def __init__(self):
        self.level = next(_trace_counter)

    def process(self, prim, args, params):
        if len(args) == 1:  # unary primitives, unrolled
            a = args[0]  # a tracer of this trace (it is the top one)
            v = a.value
            primals = [v]
            pairs = [(0, a.tangent)]  # (argument number, tangent)
            nested = isinstance(v, Tracer)
        else:
            primals = list(args)
            pairs = []
            nested = False
            for i in range(len(primals)):
                a = primals[i]
                if isinstance(a, Tracer):
                    if a.trace is self:
                        v = a.value
                        primals[i] = v
                        pairs.append((i, a.tangent))
                        if isinstance(v, Tracer):
                            nested = True
                    else:
                        nested = True
        if nested:
            ans = bind(prim, primals, params)
        else:
            ans = prim.impl(*primals, **params) if params else prim.impl(*primals)
        if not pairs:
            return ans
        if prim.jvp_all is not None:
            tangents = [None] * len(primals)
            for i, t in pairs:
                tangents[i] = t
            tangent = prim.jvp_all(tangents, ans, *primals, **params)
        else:
            tangent = None
            jvps = prim.jvps
            for i, t in pairs:
                rule = jvps.get(i)
                if rule is None:
                    raise UnsupportedOperationError(
                        f"nnopt: no forward-mode rule for argument {i} of '{prim.name}'"
                    )
                contrib = rule(t, ans, *primals, **params) if params else rule(t, ans, *primals)
                tangent = contrib if tangent is None else _ops.add(tangent, contrib)
        out = _new(JVPTracer)
        out.value = ans
        out.tangent = tangent
        out.trace = self
        return out


class JVPTracer(Tracer):
    """A primal value (``value``, also ``primal``) with its tangent."""

    __slots__ = ("tangent",)

    def __init__(self, primal, tangent, trace):
        self.value = primal
        self.tangent = tangent
        self.trace = trace

    @property
    def primal(self):
        return self.value


# ---------------------------------------------------------------------------
# the reverse pass
# ---------------------------------------------------------------------------


class IndexCotangent:
    """Cotangent of ``x[index]``: ``g`` placed at ``index`` in zeros of ``shape``.

    Kept lazy so that slicing many blocks out of one flat parameter vector
    accumulates into a single buffer instead of allocating a full-length
    array per block.
    """

    __slots__ = ("shape", "dtype", "index", "g", "basic")

    def __init__(self, shape, dtype, index, g, basic):
        self.shape = shape
        self.dtype = dtype
        self.index = index
        self.g = g
        self.basic = basic

    def add_into(self, buf):
        if self.basic:
            buf[self.index] += self.g
        else:
            np.add.at(buf, self.index, self.g)

    def dense(self):
        buf = np.zeros(self.shape, dtype=self.dtype)
        self.add_into(buf)
        return buf


def backward(trace, out_nodes_and_cts, wanted):
    """Pull cotangents back through ``trace``.

    ``out_nodes_and_cts`` pairs output tracers (anything with the ``index``
    of a node) with their cotangents; returns the cotangents of the tracers
    in ``wanted`` (``None`` where unreached).

    Cotangents are summed in place into buffers that this pass allocated
    itself (``owned``); a rule's result is never written to, since it may
    alias a value of the forward pass (``add`` passes its cotangent through).
    """
    nodes = trace.nodes
    n = len(nodes)
    cts = [None] * n
    owned = [False] * n
    for node, g in out_nodes_and_cts:
        _accumulate(cts, owned, node.index, g)
    for k in range(n - 1, -1, -1):
        g = cts[k]
        if g is None:
            continue
        node = nodes[k]
        if node is None:  # an input
            continue
        prim, vals, params, parents, ans = node
        if type(g) is IndexCotangent:
            g = g.dense()
        cts[k] = None  # free memory as we go
        if prim.vjp_all is not None:
            argnums = tuple([i for i, _ in parents])
            results = prim.vjp_all(g, ans, *vals, argnums=argnums, **params)
            for (i, j), ct in zip(parents, results):
                if cts[j] is None:
                    cts[j] = ct
                else:
                    _accumulate(cts, owned, j, ct)
        else:
            vjps = prim.vjps
            for i, j in parents:
                rule = vjps.get(i)
                if rule is None:
                    raise UnsupportedOperationError(
                        f"nnopt: no reverse-mode rule for argument {i} of '{prim.name}'"
                    )
                ct = rule(g, ans, *vals, **params) if params else rule(g, ans, *vals)
                if cts[j] is None:
                    cts[j] = ct
                else:
                    _accumulate(cts, owned, j, ct)
    out = []
    for node in wanted:
        g = cts[node.index]
        if type(g) is IndexCotangent:
            g = g.dense()
        out.append(g)
    return out


def _accumulate(cts, owned, k, ct):
    prev = cts[k]
    if prev is None:
        cts[k] = ct
        return
    if type(ct) is IndexCotangent:
        if type(prev) is IndexCotangent:
            buf = prev.dense()
            ct.add_into(buf)
            cts[k], owned[k] = buf, True
        elif owned[k] and not isinstance(prev, Tracer):
            ct.add_into(prev)
        else:
            cts[k] = _ops.add(prev, ct.dense())
        return
    if type(prev) is IndexCotangent:
        if isinstance(ct, Tracer):
            cts[k] = _ops.add(prev.dense(), ct)
        else:
            buf = np.array(ct, dtype=np.result_type(ct, prev.dtype), copy=True)
            prev.add_into(buf)
            cts[k], owned[k] = buf, True
        return
    if type(ct) is np.ndarray:
        if owned[k] and ct.shape == prev.shape and ct.dtype == prev.dtype:
            np.add(prev, ct, out=prev)
            return
        if type(prev) is np.ndarray:
            # np.add is what the add primitive runs on plain arrays
            cts[k] = np.add(prev, ct)
            owned[k] = type(cts[k]) is np.ndarray
            return
    cts[k] = _ops.add(prev, ct)
    owned[k] = type(cts[k]) is np.ndarray
