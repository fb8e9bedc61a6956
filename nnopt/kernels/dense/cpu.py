"""Numba versions of the fused dense layer.

The matrix products stay with BLAS (through NumPy).  Backward, one kernel
fuses ``g * act'(z)`` with the bias gradient (one pass instead of three;
measured 13.7 us vs 23 us at batch 100 x 20).  Forward, NumPy's own
vectorised ``tanh``/``exp`` (SIMD) beat a scalar-libm Numba loop by about
4x, so ``forward`` is the reference; ``_bias_act`` stays for activations
where the fused loop wins (relu, identity).
"""
from __future__ import annotations

import numpy as np
from numba import njit

from . import reference as _reference

__all__ = ["forward", "backward"]

_CODES = {"identity": 0, "tanh": 1, "sigmoid": 2, "relu": 3}


@njit(cache=True, nogil=True)
def _bias_act(z, b, code):
    n, m = z.shape
    one = z.dtype.type(1)
    for i in range(n):
        for j in range(m):
            v = z[i, j] + b[j]
            if code == 1:
                v = np.tanh(v)
            elif code == 2:
                v = one / (one + np.exp(-v))
            elif code == 3:
                v = v if v > 0 else z.dtype.type(0)
            z[i, j] = v


@njit(cache=True, nogil=True)
def _act_grad(g, a, code, gz, gb):
    n, m = g.shape
    one = g.dtype.type(1)
    for j in range(m):
        gb[j] = 0
    for i in range(n):
        for j in range(m):
            v = g[i, j]
            if code == 1:
                v = v * (one - a[i, j] * a[i, j])
            elif code == 2:
                v = v * (a[i, j] * (one - a[i, j]))
            elif code == 3:
                v = v if a[i, j] > 0 else g.dtype.type(0)
            gz[i, j] = v
            gb[j] += v


def forward(x, W, b, act):
    if act in ("tanh", "sigmoid"):
        return _reference.forward(x, W, b, act)
    z = _reference.matmul(x, W) if x.shape[1] == 1 else x @ W  # see reference.matmul
    _bias_act(z, np.ascontiguousarray(b), _CODES[act])
    return z


def backward(g, a, x, W, act, need_gx=True):
    g = np.ascontiguousarray(g)
    gz = np.empty_like(g)
    gb = np.empty(g.shape[1], dtype=g.dtype)
    _act_grad(g, np.ascontiguousarray(a), _CODES[act], gz, gb)
    if not need_gx:
        gx = None
    else:
        gx = _reference.matmul(gz, W.T) if W.shape[1] == 1 else gz @ W.T  # see reference.matmul
    return gx, x.T @ gz, gb
