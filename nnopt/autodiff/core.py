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
"""
from __future__ import annotations

import itertools

import numpy as np

__all__ = [
    "Primitive",
    "Tracer",
    "VJPTracer",
    "JVPTracer",
    "bind",
    "getval",
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
        for a in args:
            if isinstance(a, Tracer):
                return bind(self, args, params)
        return self.impl(*args, **params)  # plain arrays: no trace involved

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


class Tracer:
    """Base of the values seen by a function while a transform runs.

    A tracer behaves like an array: operators and the common ndarray
    attributes dispatch to :mod:`nnopt.numpy`.  NumPy functions applied to a
    tracer are routed through ``__array_ufunc__`` / ``__array_function__`` to
    the differentiable versions, or fail with a clear error.
    """

    __slots__ = ("trace",)
    __array_priority__ = 1000.0

    # -- array-like attributes -------------------------------------------------
    @property
    def shape(self):
        return np.shape(getval(self))

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
        x = x.primal if isinstance(x, JVPTracer) else x.value
    return x


def is_traced(x):
    return isinstance(x, Tracer)


def _dtype_of(x):
    x = getval(x)
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


class Node:
    """One recorded primitive call of a reverse-mode trace."""

    __slots__ = ("index", "prim", "vals", "params", "ans", "parents")

    def __init__(self, index, prim, vals, params, ans, parents):
        self.index = index
        self.prim = prim
        self.vals = vals
        self.params = params
        self.ans = ans
        self.parents = parents


class VJPTrace:
    """Reverse-mode trace: records nodes in creation (= topological) order."""

    __slots__ = ("level", "nodes")
    sees_nondiff = False

    def __init__(self):
        self.level = next(_trace_counter)
        self.nodes = []

    def new_input(self, value):
        node = Node(len(self.nodes), None, (), None, value, ())
        self.nodes.append(node)
        return VJPTracer(value, self, node)

    def process(self, prim, args, params):
        vals = []
        parents = []
        for i, a in enumerate(args):
            if isinstance(a, VJPTracer) and a.trace is self:
                vals.append(a.value)
                parents.append((i, a.node))
            else:
                vals.append(a)
        ans = bind(prim, vals, params)
        if not prim.vjps and prim.vjp_all is None:
            raise UnsupportedOperationError(
                f"nnopt: no reverse-mode rule for '{prim.name}'"
            )
        nodes = self.nodes
        node = Node(len(nodes), prim, vals, params, ans, tuple(parents))
        nodes.append(node)
        return VJPTracer(ans, self, node)


class VJPTracer(Tracer):
    __slots__ = ("value", "node")

    def __init__(self, value, trace, node):
        self.value = value
        self.trace = trace
        self.node = node


class JVPTrace:
    """Forward-mode trace: every value carries its tangent."""

    __slots__ = ("level",)
    sees_nondiff = False

    def __init__(self):
        self.level = next(_trace_counter)

    def process(self, prim, args, params):
        primals = []
        tangents = []
        any_tangent = False
        for a in args:
            if isinstance(a, JVPTracer) and a.trace is self:
                primals.append(a.primal)
                tangents.append(a.tangent)
                any_tangent = True
            else:
                primals.append(a)
                tangents.append(None)
        ans = bind(prim, primals, params)
        if not any_tangent:
            return ans
        if prim.jvp_all is not None:
            tangent = prim.jvp_all(tangents, ans, *primals, **params)
        else:
            tangent = None
            for i, t in enumerate(tangents):
                if t is None:
                    continue
                rule = prim.jvps.get(i)
                if rule is None:
                    raise UnsupportedOperationError(
                        f"nnopt: no forward-mode rule for argument {i} of '{prim.name}'"
                    )
                contrib = rule(t, ans, *primals, **params)
                tangent = contrib if tangent is None else _ops.add(tangent, contrib)
        return JVPTracer(ans, tangent, self)


class JVPTracer(Tracer):
    __slots__ = ("primal", "tangent")

    def __init__(self, primal, tangent, trace):
        self.primal = primal
        self.tangent = tangent
        self.trace = trace


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

    ``out_nodes_and_cts`` pairs output nodes with their cotangents; returns
    the cotangents of the nodes in ``wanted`` (``None`` where unreached).
    """
    nodes = trace.nodes
    cts = [None] * len(nodes)
    owned = [False] * len(nodes)
    for node, g in out_nodes_and_cts:
        _accumulate(cts, owned, node.index, g)
    for k in range(len(nodes) - 1, -1, -1):
        g = cts[k]
        if g is None:
            continue
        node = nodes[k]
        prim = node.prim
        if prim is None:
            continue
        if isinstance(g, IndexCotangent):
            g = g.dense()
        cts[k] = None  # free memory as we go
        parents = node.parents
        if prim.vjp_all is not None:
            argnums = tuple(i for i, _ in parents)
            results = prim.vjp_all(g, node.ans, *node.vals, argnums=argnums, **node.params)
            for (i, parent), ct in zip(parents, results):
                _accumulate(cts, owned, parent.index, ct)
        else:
            for i, parent in parents:
                rule = prim.vjps.get(i)
                if rule is None:
                    raise UnsupportedOperationError(
                        f"nnopt: no reverse-mode rule for argument {i} of '{prim.name}'"
                    )
                ct = rule(g, node.ans, *node.vals, **node.params)
                _accumulate(cts, owned, parent.index, ct)
    out = []
    for node in wanted:
        g = cts[node.index]
        if isinstance(g, IndexCotangent):
            g = g.dense()
        out.append(g)
    return out


def _accumulate(cts, owned, k, ct):
    prev = cts[k]
    if prev is None:
        cts[k] = ct
        return
    if isinstance(ct, IndexCotangent):
        if isinstance(prev, IndexCotangent):
            buf = prev.dense()
            ct.add_into(buf)
            cts[k], owned[k] = buf, True
        elif owned[k] and not isinstance(prev, Tracer):
            ct.add_into(prev)
        else:
            cts[k] = _ops.add(prev, ct.dense())
        return
    if isinstance(prev, IndexCotangent):
        if isinstance(ct, Tracer):
            cts[k] = _ops.add(prev.dense(), ct)
        else:
            buf = np.array(ct, dtype=np.result_type(ct, prev.dtype), copy=True)
            prev.add_into(buf)
            cts[k], owned[k] = buf, True
        return
    if (
        owned[k]
        and type(ct) is np.ndarray
        and ct.shape == prev.shape
        and ct.dtype == prev.dtype
    ):
        np.add(prev, ct, out=prev)
        return
    cts[k] = _ops.add(prev, ct)
    owned[k] = type(cts[k]) is np.ndarray
