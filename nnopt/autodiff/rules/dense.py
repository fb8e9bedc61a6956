"""The fused dense layer ``act(x @ W + b)`` as one primitive.

Forward and first-order backward run a kernel (:mod:`nnopt.kernels.dense`,
chosen by :mod:`nnopt.config`).  Whenever a derivative of higher order is
being taken (any input or the cotangent is itself traced) the rules fall
back to the decomposition into basic primitives, so nested derivatives,
the mpmath interpreter and any other interpretation see only the basic
primitives and never rest on the float kernel.
"""
from __future__ import annotations

import numpy as np

from ... import kernels
from ...kernels.dense import ACTIVATIONS
from ..core import Primitive, Tracer
from .activations import relu
from .elementwise import _broadcast_tangent, add, is_mp, multiply, sigmoid, subtract, tanh
from .linalg import matmul
from .reductions import sum as _sum
from .shape import transpose

__all__ = ["dense", "dense_decomposed", "ACTIVATIONS"]

_ACT_FN = {"identity": lambda z: z, "tanh": tanh, "sigmoid": sigmoid, "relu": relu}


def dense_decomposed(x, W, b, act="identity"):
    """``act(x @ W + b)`` written with basic primitives (the specification)."""
    return _ACT_FN[act](add(matmul(x, W), b))


def _act_derivative(a, act):
    """act'(z) through the output a (differentiable in a)."""
    if act == "tanh":
        return subtract(1, multiply(a, a))
    if act == "sigmoid":
        return multiply(a, subtract(1, a))
    if act == "relu":
        from ..core import getval

        av = getval(a)
        return np.greater(av, 0).astype(av.dtype)
    return None


def _dense_impl(x, W, b, act="identity"):
    if is_mp(x) or is_mp(W) or is_mp(b):
        return dense_decomposed(x, W, b, act)
    if x.ndim == 2 and W.ndim == 2 and b.ndim == 1 and x.dtype == W.dtype == b.dtype:
        return kernels.select("dense").forward(x, W, b, act)
    return dense_decomposed(x, W, b, act)


_dense = Primitive("dense", _dense_impl)


def _dense_vjp(g, ans, x, W, b, act="identity", argnums=()):
    plain = not (
        isinstance(g, Tracer) or isinstance(ans, Tracer) or isinstance(x, Tracer)
        or isinstance(W, Tracer) or isinstance(b, Tracer)
    )
    if plain and not is_mp(g) and x.ndim == 2 and x.dtype == W.dtype == g.dtype:
        gx, gW, gb = kernels.select("dense").backward(g, ans, x, W, act, 0 in argnums)
        full = {0: gx, 1: gW, 2: gb}
        return [full[i] for i in argnums]
    deriv = _act_derivative(ans, act)
    gz = g if deriv is None else multiply(g, deriv)
    out = []
    for i in argnums:
        if i == 0:
            out.append(matmul(gz, transpose(W)))
        elif i == 1:
            out.append(matmul(transpose(x), gz))
        else:
            out.append(_sum(gz, axis=0))
    return out


def _dense_jvp(tangents, ans, x, W, b, act="identity"):
    tx, tW, tb = tangents
    tz = None
    for term in (
        None if tx is None else matmul(tx, W),
        None if tW is None else matmul(x, tW),
        tb,
    ):
        if term is not None:
            tz = term if tz is None else add(tz, term)
    deriv = _act_derivative(ans, act)
    if deriv is None:
        return _broadcast_tangent(tz, ans)
    return _broadcast_tangent(multiply(tz, deriv), ans)


_dense.defvjp_all(_dense_vjp)
_dense.defjvp_all(_dense_jvp)


def dense(x, W, b, act="identity"):
    """Fused dense layer ``act(x @ W + b)`` for ``x`` of shape (batch, n_in).

    Parameters
    ----------
    x : array (batch, n_in)
    W : array (n_in, n_out)
    b : array (n_out,)
    act : {"identity", "tanh", "sigmoid", "relu"}
    """
    if act not in ACTIVATIONS:
        raise ValueError(f"dense: act must be one of {ACTIVATIONS}, got {act!r}")
    return _dense(x, W, b, act=act)
