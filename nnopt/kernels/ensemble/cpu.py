"""Numba CPU ensemble trainer: networks in parallel (prange), each trained
with explicit loops over samples and units (small networks)."""
from __future__ import annotations

import numpy as np
from numba import njit, prange

__all__ = ["train"]

_CODES = {"identity": 0, "tanh": 1, "sigmoid": 2, "relu": 3}


@njit(cache=True, inline="always")
def _act(z, code):
    if code == 1:
        return np.tanh(z)
    if code == 2:
        return 1 / (1 + np.exp(-z))
    if code == 3:
        return z if z > 0 else z * 0
    return z


@njit(cache=True, inline="always")
def _dact(a, code):
    if code == 1:
        return 1 - a * a
    if code == 2:
        return a * (1 - a)
    if code == 3:
        return a * 0 + (1 if a > 0 else 0)
    return a * 0 + 1


@njit(cache=True, parallel=True)
def _train(th, X, Y, sizes, woff, boff, uoff, code, lrs, steps, beta, losses, nit):
    E, P = th.shape
    N = X.shape[0]
    L = sizes.shape[0] - 1
    n_out = sizes[L]
    U = uoff[L]
    for e in prange(E):
        w = th[e]  # this network's parameters (a contiguous row)
        vel = np.zeros(P, dtype=th.dtype)
        grad = np.zeros(P, dtype=th.dtype)
        acts = np.zeros((N, U), dtype=th.dtype)
        deltas = np.zeros((N, U), dtype=th.dtype)
        scale = th.dtype.type(2.0 / (N * n_out))
        for s in range(steps):
            total = th.dtype.type(0)
            # forward, layer by layer; inner loops run along contiguous rows of W
            for l in range(L):
                nin = sizes[l]
                nout = sizes[l + 1]
                for n in range(N):
                    for j in range(nout):
                        acts[n, uoff[l] + j] = w[boff[l] + j]
                    for i in range(nin):
                        a_in = X[n, i] if l == 0 else acts[n, uoff[l - 1] + i]
                        base = woff[l] + i * nout
                        for j in range(nout):
                            acts[n, uoff[l] + j] += a_in * w[base + j]
                    if l < L - 1:
                        for j in range(nout):
                            acts[n, uoff[l] + j] = _act(acts[n, uoff[l] + j], code)
            for n in range(N):
                for j in range(n_out):
                    d = acts[n, uoff[L - 1] + j] - Y[n, j]
                    total += d * d
                    deltas[n, uoff[L - 1] + j] = scale * d
            loss = total / (N * n_out)
            if not np.isfinite(loss):
                break
            losses[e, s] = loss
            # backward: gradients and the deltas of the layer below
            grad[:] = 0
            for l in range(L - 1, -1, -1):
                nin = sizes[l]
                nout = sizes[l + 1]
                for n in range(N):
                    for j in range(nout):
                        grad[boff[l] + j] += deltas[n, uoff[l] + j]
                    for i in range(nin):
                        a_in = X[n, i] if l == 0 else acts[n, uoff[l - 1] + i]
                        base = woff[l] + i * nout
                        acc = th.dtype.type(0)
                        for j in range(nout):
                            dj = deltas[n, uoff[l] + j]
                            grad[base + j] += a_in * dj
                            acc += w[base + j] * dj
                        if l > 0:
                            deltas[n, uoff[l - 1] + i] = acc * _dact(a_in, code)
            for p in range(P):
                vel[p] = beta * vel[p] + grad[p]
                w[p] -= lrs[e] * vel[p]
            nit[e] += 1


def offsets(sizes):
    """(woff, boff, uoff) into theta and the unit arrays, per layer."""
    sizes = np.asarray(sizes, dtype=np.int64)
    L = len(sizes) - 1
    woff = np.zeros(L, np.int64)
    boff = np.zeros(L, np.int64)
    uoff = np.zeros(L + 1, np.int64)
    k = 0
    for l in range(L):
        woff[l] = k
        k += sizes[l] * sizes[l + 1]
        boff[l] = k
        k += sizes[l + 1]
        uoff[l + 1] = uoff[l] + sizes[l + 1]
    return woff, boff, uoff  # uoff[l]: start of layer l's outputs; uoff[L]: all units


def train(thetas, X, Y, sizes, act, lrs, steps, momentum=0.0):
    th = np.array(thetas, copy=True)
    dtype = th.dtype
    sizes = np.asarray(sizes, dtype=np.int64)
    woff, boff, uoff = offsets(sizes)
    losses = np.full((th.shape[0], steps), np.nan, dtype=dtype)
    nit = np.zeros(th.shape[0], dtype=np.int64)
    _train(th, np.ascontiguousarray(X, dtype=dtype), np.ascontiguousarray(Y, dtype=dtype), sizes, woff, boff,
           uoff, _CODES[act], np.asarray(lrs, dtype=dtype), steps, dtype.type(momentum), losses, nit)
    return th, losses, nit
