"""CUDA ensemble trainer: one block per network, the whole training loop in
one kernel launch (no host round trips between steps).

Within a block, threads share the samples in the forward/backward phase and
the parameters in the update phase, separated by ``syncthreads``; the loss
is reduced in shared memory.  ``TPB`` (threads per block) is a module
constant; tests set it small to run every path under the simulator.
"""
from __future__ import annotations

import math

import numpy as np
from numba import cuda, float32, float64

from .cpu import _CODES, offsets

__all__ = ["train", "TPB"]

TPB = 64
_cache = {}


def _kernel(tpb, dtype):
    key = (tpb, np.dtype(dtype))
    if key in _cache:
        return _cache[key]
    nbtype = float32 if np.dtype(dtype) == np.float32 else float64

    @cuda.jit(device=True)
    def act(z, code):
        if code == 1:
            return math.tanh(z)
        if code == 2:
            return nbtype(1) / (nbtype(1) + math.exp(-z))
        if code == 3:
            return nbtype(0) if z <= 0 else z  # NaN passes, as in np.maximum(z, 0)
        return z

    @cuda.jit(device=True)
    def dact(a, code):
        if code == 1:
            return nbtype(1) - a * a
        if code == 2:
            return a * (nbtype(1) - a)
        if code == 3:
            return nbtype(1) if a > 0 else nbtype(0)
        return nbtype(1)

    @cuda.jit
    def train_kernel(th, vel, X, Y, sizes, woff, boff, uoff, code, lrs, steps, beta, acts, deltas, losses, nit):
        e = cuda.blockIdx.x
        t = cuda.threadIdx.x
        nt = cuda.blockDim.x
        partial = cuda.shared.array(tpb, nbtype)
        stop = cuda.shared.array(1, nbtype)
        N = X.shape[0]
        L = sizes.shape[0] - 1
        n_out = sizes[L]
        P = th.shape[1]
        scale = nbtype(2.0) / (N * n_out)
        for s in range(steps):
            local = nbtype(0)
            for n in range(t, N, nt):
                for l in range(L):
                    nin = sizes[l]
                    nout = sizes[l + 1]
                    for j in range(nout):
                        z = th[e, boff[l] + j]
                        for i in range(nin):
                            a_in = X[n, i] if l == 0 else acts[e, n, uoff[l - 1] + i]
                            z += a_in * th[e, woff[l] + i * nout + j]
                        acts[e, n, uoff[l] + j] = act(z, code) if l < L - 1 else z
                for j in range(n_out):
                    d = acts[e, n, uoff[L - 1] + j] - Y[n, j]
                    local += d * d
                    deltas[e, n, uoff[L - 1] + j] = scale * d
                for l in range(L - 1, 0, -1):
                    nin = sizes[l]
                    nout = sizes[l + 1]
                    for i in range(nin):
                        acc = nbtype(0)
                        for j in range(nout):
                            acc += th[e, woff[l] + i * nout + j] * deltas[e, n, uoff[l] + j]
                        deltas[e, n, uoff[l - 1] + i] = acc * dact(acts[e, n, uoff[l - 1] + i], code)
            partial[t] = local
            cuda.syncthreads()
            if t == 0:
                total = nbtype(0)
                for k in range(nt):
                    total += partial[k]
                loss = total / (N * n_out)
                if math.isfinite(loss):
                    losses[e, s] = loss
                    nit[e] = s + 1
                    stop[0] = 0
                else:
                    stop[0] = 1
            cuda.syncthreads()
            if stop[0] != 0:
                break
            for p in range(t, P, nt):
                l = 0
                while l + 1 < L and p >= woff[l + 1]:
                    l += 1
                nout = sizes[l + 1]
                g = nbtype(0)
                if p < boff[l]:
                    i = (p - woff[l]) // nout
                    j = (p - woff[l]) - i * nout
                    for n in range(N):
                        a_in = X[n, i] if l == 0 else acts[e, n, uoff[l - 1] + i]
                        g += a_in * deltas[e, n, uoff[l] + j]
                else:
                    j = p - boff[l]
                    for n in range(N):
                        g += deltas[e, n, uoff[l] + j]
                v = beta * vel[e, p] + g
                vel[e, p] = v
                th[e, p] -= lrs[e] * v
            cuda.syncthreads()

    _cache[key] = train_kernel
    return train_kernel


def train(thetas, X, Y, sizes, act, lrs, steps, momentum=0.0):
    dtype = np.dtype(thetas.dtype)
    sizes = np.asarray(sizes, dtype=np.int64)
    woff, boff, uoff = offsets(sizes)
    E, P = thetas.shape
    N = X.shape[0]
    U = int(uoff[-1])
    d = cuda.to_device
    th = d(np.ascontiguousarray(thetas))
    vel = d(np.zeros((E, P), dtype=dtype))
    acts = cuda.device_array((E, N, U), dtype=dtype)
    deltas = cuda.device_array((E, N, U), dtype=dtype)
    losses = d(np.full((E, steps), np.nan, dtype=dtype))
    nit = d(np.zeros(E, dtype=np.int64))
    kernel = _kernel(TPB, dtype)
    kernel[E, TPB](th, vel, d(np.ascontiguousarray(X, dtype=dtype)), d(np.ascontiguousarray(Y, dtype=dtype)),
                   d(sizes), d(woff), d(boff), d(uoff), _CODES[act], d(np.asarray(lrs, dtype=dtype)), steps,
                   dtype.type(momentum), acts, deltas, losses, nit)
    return th.copy_to_host(), losses.copy_to_host(), nit.copy_to_host()
