"""NumPy reference of the fused dense layer (the specification)."""
from __future__ import annotations

import numpy as np
import scipy.special

__all__ = ["forward", "backward", "activate", "activation_derivative", "matmul"]


def matmul(a, b):
    """``a @ b``, with an inner dimension of 1 computed as a broadcast product.

    NumPy sends a product with inner dimension 1 (an outer product: the
    first layer of a network with one input, the last with one output)
    through its generic non-BLAS loop, about 20x slower than the
    element-wise broadcast ``a * b``.  That loop computes ``0 + a_i b_j``;
    adding ``+0.0`` reproduces it bit for bit (a product ``-0`` becomes ``+0``).
    """
    if a.ndim >= 2 and a.shape[-1] == 1 and b.ndim >= 2 and b.shape[-2] == 1:
        if a.dtype.kind == "f" and b.dtype.kind == "f":
            out = np.multiply(a, b)
            out += 0.0
            return out
    return a @ b


def activate(z, act):
    """z = act(z) in place (identity/tanh/sigmoid/relu); returns z."""
    if act == "tanh":
        np.tanh(z, out=z)
    elif act == "sigmoid":
        scipy.special.expit(z, out=z)
    elif act == "relu":
        np.maximum(z, 0, out=z)
    elif act != "identity":
        raise ValueError(f"activation must be one of identity, tanh, sigmoid, relu; got {act!r}")
    return z


def forward(x, W, b, act):
    z = matmul(x, W) if x.shape[1] == 1 else x @ W
    z += b
    return activate(z, act)


def activation_derivative(a, act):
    """act'(z) written through the output a = act(z) (identity/tanh/sigmoid/relu)."""
    if act == "tanh":
        return 1 - a * a
    if act == "sigmoid":
        return a * (1 - a)
    if act == "relu":
        return (a > 0).astype(a.dtype)
    if act == "identity":
        return np.ones_like(a)
    raise ValueError(f"activation must be one of identity, tanh, sigmoid, relu; got {act!r}")


def backward(g, a, x, W, act, need_gx=True):
    gz = g if act == "identity" else g * activation_derivative(a, act)
    gx = (matmul(gz, W.T) if W.shape[1] == 1 else gz @ W.T) if need_gx else None
    return gx, x.T @ gz, gz.sum(axis=0)
