"""The transforms: vjp, jvp, grad, value_and_grad, jacobian, hessian, hvp.

Names and conventions follow JAX:

* ``vjp(f, *primals) -> (out, vjp_fn)``, ``vjp_fn(cotangent)`` returns one
  cotangent per primal (a tuple);
* ``jvp(f, primals, tangents) -> (out, tangent_out)``;
* ``grad(f, argnums=0)(*args)`` for scalar-valued ``f``;
* ``hessian(f)(x)`` of shape ``x.shape + x.shape``; ``hvp(f, x, v)``
  computed forward-over-reverse.

All of them nest: ``grad(grad(f))``, ``jvp`` of ``grad``, a ``hessian`` of a
function that itself calls ``grad`` with respect to an input.  A transform
never changes dtypes: float32 in, float32 out.
"""
from __future__ import annotations

import numpy as np

from .core import JVPTrace, JVPTracer, Tracer, VJPTrace, VJPTracer, backward, getval, shape_of

__all__ = ["vjp", "jvp", "grad", "value_and_grad", "jacobian", "hessian", "hvp"]

_FLOAT_KINDS = ("f",)


# ---------------------------------------------------------------------------
# input checks and tiny pytree support (arrays, tuples and lists of arrays)
# ---------------------------------------------------------------------------


def _as_input(x, what):
    """Validate a differentiable input: a real floating array (or tracer)."""
    if type(x) is np.ndarray and x.dtype.kind == "f":
        return x  # the common case, checked first
    if isinstance(x, Tracer):
        return x
    if isinstance(x, (bool, np.bool_)):
        raise TypeError(f"{what}: expected a real floating-point array, got a bool")
    if isinstance(x, (int, float, np.number)) and not isinstance(x, np.ndarray):
        if isinstance(x, (int, np.integer)):
            raise TypeError(
                f"{what}: expected a real floating-point array, got integer {x!r}; "
                "pass a float (e.g. 1.0) or an array of dtype float32/float64"
            )
        x = np.asarray(x)
    if not isinstance(x, np.ndarray):
        try:
            x = np.asarray(x)
        except Exception as exc:  # pragma: no cover - defensive
            raise TypeError(f"{what}: expected an array, got {type(x).__name__}") from exc
    if x.dtype.kind not in _FLOAT_KINDS and x.dtype != object:
        kind = {"i": "integer", "u": "unsigned integer", "b": "boolean", "c": "complex"}.get(
            x.dtype.kind, str(x.dtype)
        )
        raise TypeError(
            f"{what}: expected a real floating-point array (float32 or float64), got "
            f"{kind} dtype {x.dtype}; cast it explicitly, e.g. x.astype(np.float64)"
        )
    return x


def _flatten(tree):
    if isinstance(tree, (tuple, list)):
        leaves, defs = [], []
        for t in tree:
            lv, d = _flatten(t)
            leaves.extend(lv)
            defs.append((len(lv), d))
        return leaves, (type(tree), defs)
    return [tree], None


def _unflatten(defn, leaves):
    if defn is None:
        return leaves[0]
    kind, defs = defn
    out, k = [], 0
    for n, d in defs:
        out.append(_unflatten(d, leaves[k:k + n]))
        k += n
    return kind(out)


_shape = shape_of


def _dtype(x):
    v = getval(x)
    if type(v) is np.ndarray:
        return v.dtype
    if hasattr(v, "dtype"):
        return v.dtype
    try:
        return np.result_type(v)
    except TypeError:  # an mpmath scalar (reductions of object arrays return one)
        return np.dtype(object)


def _zeros(like):
    return np.zeros(_shape(like), dtype=_dtype(like))


def _unit(n, i, dtype):
    """The i-th unit vector of length n; exact mpmath 0 and 1 for object dtype
    (NumPy's object zeros/ones are Python ints, and int / int is a float)."""
    if dtype == object:
        import mpmath

        e = np.full(n, mpmath.mpf(0), dtype=object)
        e[i] = mpmath.mpf(1)
        return e
    e = np.zeros(n, dtype=dtype)
    e[i] = 1
    return e


def _match(ct, primal):
    """Cast a cotangent to its primal's dtype (mixed-precision functions)."""
    if (
        type(ct) is np.ndarray
        and type(primal) is np.ndarray
        and ct.dtype == primal.dtype
        and ct.shape == primal.shape
    ):
        return ct  # the common case
    if _dtype(ct) != _dtype(primal) and _dtype(primal) != object:
        from .rules.elementwise import astype

        ct = astype(ct, _dtype(primal))
    if _shape(ct) != _shape(primal):
        from .rules.shape import broadcast_to

        ct = broadcast_to(ct, _shape(primal))
    return ct


def _argnums_tuple(argnums, nargs, fname):
    single = isinstance(argnums, (int, np.integer))
    nums = (int(argnums),) if single else tuple(int(a) for a in argnums)
    for a in nums:
        if not -nargs <= a < nargs:
            raise ValueError(f"{fname}: argnums={argnums} but the function was given {nargs} arguments")
    return single, tuple(a % nargs for a in nums)


# ---------------------------------------------------------------------------
# reverse mode
# ---------------------------------------------------------------------------


def vjp(f, *primals):
    """Evaluate ``f(*primals)`` and return ``(out, vjp_fn)``.

    ``vjp_fn(ct)`` returns the tuple ``(ct @ J_1, ..., ct @ J_k)`` of
    cotangents, one per primal, where ``J_i = d out / d primals[i]``.  ``out``
    may be an array or a tuple/list of arrays; ``ct`` has the same structure.
    ``vjp_fn`` may be called many times (rows of a Jacobian).
    """
    if not callable(f):
        raise TypeError(f"vjp: f must be callable, got {type(f).__name__}")
    primals = [_as_input(p, f"vjp: primals[{i}]") for i, p in enumerate(primals)]
    trace = VJPTrace()
    boxed = [trace.new_input(p) for p in primals]
    out = f(*boxed)
    leaves, treedef = _flatten(out)
    out_vals = [
        leaf.value if isinstance(leaf, VJPTracer) and leaf.trace is trace else leaf
        for leaf in leaves
    ]

    def vjp_fn(cotangent):
        cts, ct_def = _flatten(cotangent)
        if len(cts) != len(leaves):
            raise ValueError(
                f"vjp_fn: the cotangent has {len(cts)} arrays, the output {len(leaves)}"
            )
        pairs = []
        for k, (leaf, ct) in enumerate(zip(leaves, cts)):
            if _shape(ct) != _shape(leaf):
                raise ValueError(
                    f"vjp_fn: cotangent {k} has shape {_shape(ct)}, the output has "
                    f"shape {_shape(leaf)}"
                )
            if isinstance(leaf, VJPTracer) and leaf.trace is trace:
                pairs.append((leaf, ct))  # a reverse-mode tracer is its own graph node
        results = backward(trace, pairs, boxed) if pairs else [None] * len(boxed)
        return tuple(
            _zeros(p) if r is None else _match(r, p) for r, p in zip(results, primals)
        )

    return _unflatten(treedef, out_vals), vjp_fn


def value_and_grad(f, argnums=0):
    """Return a function computing ``(f(*args), grad f(*args))``.

    ``f`` must return a scalar (shape ``()``) of floating dtype.  With a tuple
    ``argnums`` the gradient is a tuple, one entry per argument.
    """
    if not callable(f):
        raise TypeError(f"value_and_grad: f must be callable, got {type(f).__name__}")

    def value_and_grad_f(*args):
        # vjp(f, ...) and one pullback of the unit cotangent, written out
        # (the generic vjp's pytree handling and checks are not needed here).
        single, nums = _argnums_tuple(argnums, len(args), "grad")
        wrt = [_as_input(args[a], f"grad: argument {a}") for a in nums]
        trace = VJPTrace()
        boxed = [trace.new_input(p) for p in wrt]
        full = list(args)
        for a, b in zip(nums, boxed):
            full[a] = b
        out = f(*full)
        if isinstance(out, (tuple, list)):
            raise TypeError("grad: f must return a scalar array, got a tuple/list")
        traced = isinstance(out, VJPTracer) and out.trace is trace
        value = out.value if traced else out
        shape = _shape(value)
        if shape != ():
            raise TypeError(
                f"grad: f must return a scalar (shape ()), got shape {shape}; "
                "use jacobian or vjp for non-scalar outputs"
            )
        dtype = _dtype(value)
        if dtype.kind != "f" and dtype != object:
            raise TypeError(f"grad: f must return a floating-point scalar, got dtype {dtype}")
        if traced:
            results = backward(trace, [(out, _unit(1, 0, dtype).reshape(()))], boxed)
        else:
            results = [None] * len(boxed)
        grads = tuple(_zeros(p) if r is None else _match(r, p) for r, p in zip(results, wrt))
        return value, (grads[0] if single else grads)

    return value_and_grad_f


def grad(f, argnums=0):
    """The gradient of scalar-valued ``f`` with respect to ``args[argnums]``.

    Examples
    --------
    >>> import numpy as np, nnopt, nnopt.numpy as nnp
    >>> nnopt.grad(lambda x: nnp.sum(x ** 3))(np.array([1.0, 2.0]))
    array([ 3., 12.])
    """
    vg = value_and_grad(f, argnums)

    def grad_f(*args):
        return vg(*args)[1]

    return grad_f


# ---------------------------------------------------------------------------
# forward mode
# ---------------------------------------------------------------------------


def jvp(f, primals, tangents):
    """Evaluate ``f`` and its directional derivative: ``(f(*primals), J @ tangents)``.

    ``primals`` and ``tangents`` are sequences of the same length; each
    tangent has the shape and dtype of its primal.
    """
    if not callable(f):
        raise TypeError(f"jvp: f must be callable, got {type(f).__name__}")
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise TypeError("jvp: primals and tangents must be tuples (or lists) of arrays")
    if len(primals) != len(tangents):
        raise ValueError(
            f"jvp: {len(primals)} primals but {len(tangents)} tangents; give one tangent per primal"
        )
    trace = JVPTrace()
    boxed = []
    for i, (p, t) in enumerate(zip(primals, tangents)):
        p = _as_input(p, f"jvp: primals[{i}]")
        t = _as_input(t, f"jvp: tangents[{i}]")
        if _shape(p) != _shape(t):
            raise ValueError(
                f"jvp: tangents[{i}] has shape {_shape(t)}, primals[{i}] has shape {_shape(p)}"
            )
        if _dtype(p) != _dtype(t):
            raise TypeError(
                f"jvp: tangents[{i}] has dtype {_dtype(t)}, primals[{i}] has dtype {_dtype(p)}"
            )
        boxed.append(JVPTracer(p, t, trace))
    out = f(*boxed)
    leaves, treedef = _flatten(out)
    outs, touts = [], []
    for leaf in leaves:
        if isinstance(leaf, JVPTracer) and leaf.trace is trace:
            outs.append(leaf.primal)
            t = leaf.tangent
            if _shape(t) != _shape(leaf.primal):
                from .rules.shape import broadcast_to

                t = broadcast_to(t, _shape(leaf.primal))
            touts.append(t)
        else:
            outs.append(leaf)
            touts.append(_zeros(leaf))
    return _unflatten(treedef, outs), _unflatten(treedef, touts)


# ---------------------------------------------------------------------------
# Jacobians and Hessians
# ---------------------------------------------------------------------------


def _stack(rows, shape):
    from nnopt.numpy import reshape, stack

    if any(isinstance(r, Tracer) for r in rows):
        return reshape(stack(rows), shape)
    return np.stack(rows).reshape(shape)


def jacobian(f, argnums=0, mode="auto"):
    """The Jacobian ``d f(x) / d x`` of shape ``out.shape + x.shape``.

    ``mode="rev"`` computes it row by row with one forward pass and one
    reverse pass per output element; ``mode="fwd"`` column by column with
    forward mode; ``"auto"`` picks whichever needs fewer passes.
    """
    if mode not in ("auto", "rev", "fwd"):
        raise ValueError(f"jacobian: mode must be 'auto', 'rev' or 'fwd', got {mode!r}")

    def jac_f(*args):
        single, nums = _argnums_tuple(argnums, len(args), "jacobian")
        if not single:
            raise NotImplementedError("jacobian: argnums must be a single integer")
        a = nums[0]
        x = _as_input(args[a], f"jacobian: argument {a}")
        xshape, xdtype = _shape(x), _dtype(x)
        n = int(np.prod(xshape, dtype=np.int64))

        def f_x(z):
            full = list(args)
            full[a] = z
            return f(*full)

        use_rev = mode == "rev"
        if mode == "auto":  # one forward pass tells the output size
            out, pullback = vjp(f_x, x)
            use_rev = int(np.prod(_shape(out), dtype=np.int64)) <= n
        elif use_rev:
            out, pullback = vjp(f_x, x)
        if use_rev:
            oshape, odtype = _shape(out), _dtype(out)
            m = int(np.prod(oshape, dtype=np.int64))
            rows = []
            for i in range(m):
                e = _unit(m, i, odtype)
                rows.append(pullback(e.reshape(oshape))[0])
            if m == 0:
                return np.zeros(oshape + xshape, dtype=xdtype)
            return _stack(rows, oshape + xshape)
        cols = []
        out = None
        for j in range(n):
            e = _unit(n, j, xdtype)
            out, col = jvp(f_x, (x,), (e.reshape(xshape),))
            cols.append(col)
        oshape = _shape(out)
        from nnopt.numpy import reshape, stack

        if any(isinstance(c, Tracer) for c in cols):
            J = stack(cols, axis=-1)
            return reshape(J, oshape + xshape)
        return np.stack(cols, axis=-1).reshape(oshape + xshape)

    return jac_f


def hessian(f, argnums=0):
    """The exact dense Hessian of scalar-valued ``f``: shape ``x.shape * 2``.

    Computed as the Jacobian of the gradient (one recorded gradient
    computation, then one reverse pass per row); symmetric up to rounding.
    """

    def hess_f(*args):
        return jacobian(grad(f, argnums), argnums, mode="rev")(*args)

    return hess_f


def hvp(f, x, v):
    """Hessian-vector product ``H(x) @ v`` of scalar-valued ``f``,
    forward-over-reverse: the directional derivative of ``grad f`` along ``v``."""
    return jvp(grad(f), (x,), (v,))[1]
