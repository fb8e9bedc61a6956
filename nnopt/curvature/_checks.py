"""Shared input checks of :mod:`nnopt.curvature`: vectors, seeds, blocks, operators."""
from __future__ import annotations

import numbers

import numpy as np

__all__ = [
    "as_rng", "check_theta", "check_int", "check_positive", "resolve_block",
    "as_operator", "default_tol",
]


def as_rng(seed, where):
    """A ``numpy.random.Generator`` from an int seed or a Generator."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or (isinstance(seed, numbers.Integral) and not isinstance(seed, bool)):
        return np.random.default_rng(seed)
    raise TypeError(
        f"{where}: seed must be an int or a numpy.random.Generator, got {type(seed).__name__} {seed!r}"
    )


def check_int(value, name, where, low=1, high=None):
    """``value`` as a Python int in ``[low, high]``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{where}: {name} must be an integer, got {type(value).__name__} {value!r}")
    value = int(value)
    if value < low or (high is not None and value > high):
        hi = "inf" if high is None else high
        raise ValueError(f"{where}: {name} must be in [{low}, {hi}], got {value}")
    return value


def check_positive(value, name, where, allow_zero=False):
    """A finite real ``value`` > 0 (or >= 0) as a Python float."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{where}: {name} must be a real number, got {type(value).__name__} {value!r}")
    value = float(value)
    if not np.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        cond = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{where}: {name} must be finite and {cond}, got {value!r}")
    return value


def check_theta(theta, n, dtype, where, name="theta"):
    """``theta`` must be a 1-D floating ndarray of length ``n`` (and ``dtype`` if given)."""
    if not isinstance(theta, np.ndarray):
        raise TypeError(
            f"{where}: {name} must be a 1-D NumPy array of float32 or float64, got {type(theta).__name__}"
        )
    if theta.dtype.kind != "f":
        raise TypeError(
            f"{where}: {name} must be a real floating-point vector (float32 or float64), got dtype "
            f"{theta.dtype}; cast it explicitly, e.g. {name}.astype(np.float64)"
        )
    if theta.ndim != 1 or (n is not None and theta.shape[0] != n):
        expected = f"({n},)" if n is not None else "(n,)"
        raise ValueError(f"{where}: {name} must have shape {expected}, got {theta.shape}")
    if dtype is not None and theta.dtype != dtype:
        raise TypeError(
            f"{where}: {name} has dtype {theta.dtype} but the computation runs in {np.dtype(dtype)}; "
            f"nnopt does not mix precisions silently: cast explicitly (e.g. obj.astype(np.{theta.dtype}))"
        )
    if not np.all(np.isfinite(theta)):
        raise ValueError(f"{where}: {name} must be finite (found NaN or Inf)")
    return theta


def default_tol(dtype):
    """Relative residual tolerance of the eigen-solvers: ``eps ** (2/3)``
    (3.7e-11 in float64, 4.9e-6 in float32)."""
    return float(np.finfo(dtype).eps) ** (2.0 / 3.0)


def _layout_of(f, layout):
    if layout is not None:
        return layout
    net = getattr(f, "net", None)
    if net is not None and getattr(net, "layout", None) is not None:
        return net.layout
    return getattr(f, "layout", None)


def resolve_block(block, f, n, where, layout=None):
    """The slice of theta that ``block`` names.

    ``block`` is None (all parameters), a slice, a :class:`~nnopt.nn.LayerBlock`
    or :class:`~nnopt.nn.ParamSpec`, a layer index (int: the layer's block in
    ``net.layout.blocks``), or a name: a block name (``"0.dense"``) or a
    parameter name (``"0.W"``).
    """
    if block is None:
        return slice(0, n)
    if isinstance(block, slice):
        start, stop, step = block.indices(n)
        if step != 1 or stop <= start:
            raise ValueError(
                f"{where}: block slice must be contiguous and non-empty within [0, {n}), got {block}"
            )
        return slice(start, stop)
    sl = getattr(block, "slice", None)
    if isinstance(sl, slice):  # LayerBlock or ParamSpec
        return resolve_block(sl, f, n, where)
    lay = _layout_of(f, layout)
    if lay is None:
        raise ValueError(
            f"{where}: block={block!r} needs a layout; give an Objective (its net.layout), "
            "layout=net.layout, or a slice"
        )
    if isinstance(block, numbers.Integral) and not isinstance(block, bool):
        for b in lay.blocks:
            if b.layer == int(block):
                return b.slice
        raise ValueError(
            f"{where}: block={block} is not a layer with parameters; layers with parameters: "
            f"{[b.layer for b in lay.blocks]}"
        )
    if isinstance(block, str):
        for b in lay.blocks:
            if b.name == block:
                return b.slice
        for s in lay.specs:
            if s.name == block:
                return s.slice
        raise ValueError(
            f"{where}: no block or parameter named {block!r}; blocks: {[b.name for b in lay.blocks]}, "
            f"parameters: {[s.name for s in lay.specs]}"
        )
    raise TypeError(
        f"{where}: block must be None, a layer index, a name, a LayerBlock/ParamSpec or a slice, "
        f"got {type(block).__name__}"
    )


class _Operator:
    """A uniform view of what the solvers accept: matvec, dim, dtype, optional matmat."""

    __slots__ = ("matvec", "matmat", "dim", "dtype", "dense", "source")

    def __init__(self, matvec, matmat, dim, dtype, dense=None, source=None):
        self.matvec, self.matmat, self.dim, self.dtype = matvec, matmat, dim, dtype
        self.dense, self.source = dense, source


def as_operator(A, dim, dtype, where):
    """Normalise ``A`` (callable, LinearOperator-like object, or 2-D array) for a solver.

    The returned matvec checks every product: shape ``(dim,)``, the solver's
    dtype, and finite values.
    """
    dense = None
    if isinstance(A, np.ndarray):
        if A.ndim != 2 or A.shape[0] != A.shape[1]:
            raise ValueError(f"{where}: a matrix operand must be square 2-D, got shape {A.shape}")
        if A.dtype.kind != "f":
            raise TypeError(f"{where}: matrix must be float32 or float64, got dtype {A.dtype}")
        dense = A
        shape, op_dtype = A.shape, A.dtype
        raw_mv, raw_mm = (lambda v: A @ v), (lambda V: A @ V)
    elif hasattr(A, "matvec") and hasattr(A, "shape"):
        shape = tuple(A.shape)
        if len(shape) != 2 or shape[0] != shape[1]:
            raise ValueError(f"{where}: the operator must be square, got shape {shape}")
        op_dtype = getattr(A, "dtype", None)
        op_dtype = np.dtype(op_dtype) if op_dtype is not None else None
        raw_mv = A.matvec
        raw_mm = A.matmat if hasattr(A, "matmat") else None
    elif callable(A):
        shape, op_dtype = None, None
        raw_mv, raw_mm = A, None
    else:
        raise TypeError(
            f"{where}: matvec must be a callable v -> A v, a linear operator (with matvec and shape) "
            f"or a square matrix, got {type(A).__name__}"
        )
    if dim is None:
        if shape is None:
            raise ValueError(f"{where}: dim is required when matvec is a plain callable")
        dim = shape[0]
    dim = check_int(dim, "dim", where)
    if shape is not None and shape[0] != dim:
        raise ValueError(f"{where}: dim={dim} but the operator has shape {shape}")
    if dtype is None:
        dtype = op_dtype if op_dtype is not None and op_dtype.kind == "f" else np.dtype(np.float64)
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"{where}: dtype must be float32 or float64, got {dtype}")
    if op_dtype is not None and op_dtype.kind == "f" and op_dtype != dtype:
        raise TypeError(
            f"{where}: dtype={dtype} but the operator computes in {op_dtype}; "
            "nnopt does not mix precisions silently (cast the operator, e.g. obj.astype(...))"
        )

    def matvec(v):
        w = raw_mv(v)
        w = np.asarray(w)
        if w.shape != (dim,):
            if w.shape == (dim, 1):
                w = w[:, 0]
            else:
                raise ValueError(
                    f"{where}: matvec returned shape {w.shape} for a vector of shape ({dim},); "
                    f"it must return shape ({dim},)"
                )
        if w.dtype != dtype:
            if w.dtype.kind != "f":
                raise TypeError(f"{where}: matvec returned dtype {w.dtype}, expected {dtype}")
            raise TypeError(
                f"{where}: matvec returned dtype {w.dtype} for a {dtype} vector; "
                "the operator must preserve the dtype"
            )
        if not np.all(np.isfinite(w)):
            raise FloatingPointError(f"{where}: matvec returned non-finite values (NaN or Inf)")
        return w

    def matmat(V):
        if raw_mm is not None:
            W = np.asarray(raw_mm(V))
            if W.shape == V.shape and W.dtype == dtype:
                if not np.all(np.isfinite(W)):
                    raise FloatingPointError(f"{where}: matmat returned non-finite values (NaN or Inf)")
                return W
        return np.stack([matvec(V[:, j]) for j in range(V.shape[1])], axis=1) if V.shape[1] else V.copy()

    return _Operator(matvec, matmat, dim, dtype, dense, A)
