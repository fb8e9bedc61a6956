"""Numba CUDA versions of the fused dense layer (same signatures as reference.py).

``forward`` and ``backward`` accept host NumPy arrays (copied to the device
and back: the same contract as the CPU kernels, for testing) or device
arrays (``numba.cuda`` device arrays stay on the device, so a training loop
makes no host round trips).

The matrix product is a shared-memory tiled GEMM ``C = op(A) @ op(B)`` with
transposes done by index arithmetic (no transposed copies), and an epilogue
that adds the bias and applies the activation in the same kernel.  The tile
width ``TPB`` is a module constant; tests set it small so that every
multi-block path runs under the simulator (``NUMBA_ENABLE_CUDASIM=1``).
"""
from __future__ import annotations

import math

import numpy as np
from numba import cuda, float32, float64

__all__ = ["forward", "backward", "TPB"]

TPB = 16
_CODES = {"identity": 0, "tanh": 1, "sigmoid": 2, "relu": 3}
_kernel_cache = {}


def _kernels(tpb, dtype):
    key = (tpb, np.dtype(dtype))
    if key in _kernel_cache:
        return _kernel_cache[key]
    nbtype = float32 if np.dtype(dtype) == np.float32 else float64

    @cuda.jit
    def gemm(A, B, C, ta, tb, bias, use_bias, code):
        # C[m, n] = sum_k opA[m, k] opB[k, n], opA = A.T if ta else A, same for B
        sA = cuda.shared.array((tpb, tpb), nbtype)
        sB = cuda.shared.array((tpb, tpb), nbtype)
        tx = cuda.threadIdx.x
        ty = cuda.threadIdx.y
        row = cuda.blockIdx.y * tpb + ty
        col = cuda.blockIdx.x * tpb + tx
        M = C.shape[0]
        N = C.shape[1]
        K = A.shape[0] if ta else A.shape[1]
        acc = nbtype(0)
        for t in range((K + tpb - 1) // tpb):
            ka = t * tpb + tx
            if row < M and ka < K:
                sA[ty, tx] = A[ka, row] if ta else A[row, ka]
            else:
                sA[ty, tx] = 0
            kb = t * tpb + ty
            if col < N and kb < K:
                sB[ty, tx] = B[col, kb] if tb else B[kb, col]
            else:
                sB[ty, tx] = 0
            cuda.syncthreads()
            for k in range(tpb):
                acc += sA[ty, k] * sB[k, tx]
            cuda.syncthreads()
        if row < M and col < N:
            if use_bias:
                acc += bias[col]
            if code == 1:
                acc = math.tanh(acc)
            elif code == 2:
                acc = nbtype(1) / (nbtype(1) + math.exp(-acc))
            elif code == 3:
                if acc < 0:
                    acc = nbtype(0)
            C[row, col] = acc

    @cuda.jit
    def act_grad(g, a, code, gz):
        j, i = cuda.grid(2)  # x runs along columns, y along rows
        if i < g.shape[0] and j < g.shape[1]:
            v = g[i, j]
            if code == 1:
                v = v * (nbtype(1) - a[i, j] * a[i, j])
            elif code == 2:
                v = v * (a[i, j] * (nbtype(1) - a[i, j]))
            elif code == 3:
                if not a[i, j] > 0:
                    v = nbtype(0)
            gz[i, j] = v

    @cuda.jit
    def column_sum(gz, out):
        j = cuda.grid(1)
        if j < gz.shape[1]:
            s = nbtype(0)
            for i in range(gz.shape[0]):
                s += gz[i, j]
            out[j] = s

    _kernel_cache[key] = (gemm, act_grad, column_sum)
    return _kernel_cache[key]


def is_device_array(a):
    """True for numba device arrays (real or simulated)."""
    return hasattr(a, "copy_to_host") or hasattr(a, "__cuda_array_interface__")


def _on_device(*arrays):
    return all(is_device_array(a) for a in arrays)


def _grid2(m, n):
    return ((n + TPB - 1) // TPB or 1, (m + TPB - 1) // TPB or 1), (TPB, TPB)


def _gemm(A, B, M, N, ta, tb, dtype, bias=None, code=0):
    gemm = _kernels(TPB, dtype)[0]
    C = cuda.device_array((M, N), dtype=dtype)
    if M and N:
        blocks, threads = _grid2(M, N)
        b = bias if bias is not None else cuda.device_array(1, dtype=dtype)
        gemm[blocks, threads](A, B, C, ta, tb, b, bias is not None, code)
    return C


def forward(x, W, b, act):
    """``act(x @ W + b)``; device arrays in -> device array out."""
    host = not _on_device(x, W, b)
    dtype = np.dtype(x.dtype)
    dx, dW, db = (cuda.to_device(np.ascontiguousarray(v)) for v in (x, W, b)) if host else (x, W, b)
    out = _gemm(dx, dW, x.shape[0], W.shape[1], False, False, dtype, db, _CODES[act])
    return out.copy_to_host() if host else out


def backward(g, a, x, W, act, need_gx=True):
    """(gx, gW, gb) for the cotangent ``g`` of ``a = act(x @ W + b)``."""
    host = not _on_device(g, a, x, W)
    dtype = np.dtype(g.dtype)
    if host:
        g, a, x, W = (cuda.to_device(np.ascontiguousarray(v)) for v in (g, a, x, W))
    _, act_grad, column_sum = _kernels(TPB, dtype)
    n, m = g.shape
    gz = cuda.device_array((n, m), dtype=dtype)
    if n and m:
        blocks, threads = _grid2(n, m)
        act_grad[blocks, threads](g, a, _CODES[act], gz)
    gb = cuda.device_array(m, dtype=dtype)
    if m:
        column_sum[(m + TPB - 1) // TPB, TPB](gz, gb)
    gW = _gemm(x, gz, W.shape[0], m, True, False, dtype)
    gx = _gemm(gz, W, n, W.shape[0], False, True, dtype) if need_gx else None
    if host:
        return (gx.copy_to_host() if gx is not None else None), gW.copy_to_host(), gb.copy_to_host()
    return gx, gW, gb
