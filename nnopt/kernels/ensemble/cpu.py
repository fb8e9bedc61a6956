"""Numba CPU ensemble trainer: networks in parallel (prange), each step one
call of the whole-stack loss-and-gradient kernel (:mod:`nnopt.kernels.mlp`)."""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from ..mlp import CODES as _CODES
from ..mlp.cpu import value_and_grad as _value_and_grad

__all__ = ["train"]

@njit(cache=True, parallel=True)
def _train(th, X, Y, dims, codes, lrs, steps, beta, losses, nit):
    E, P = th.shape
    for e in prange(E):
        w = th[e]  # this network's parameters (a contiguous row)
        vel = np.zeros(P, dtype=th.dtype)
        for s in range(steps):
            loss, grad = _value_and_grad(w, X, Y, dims, codes, 0)
            if not np.isfinite(loss):
                break
            losses[e, s] = loss
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
    codes = np.array([_CODES[act]] * (len(sizes) - 2) + [0], dtype=np.int64)  # identity output layer
    losses = np.full((th.shape[0], steps), np.nan, dtype=dtype)
    nit = np.zeros(th.shape[0], dtype=np.int64)
    _train(th, np.ascontiguousarray(X, dtype=dtype), np.ascontiguousarray(Y, dtype=dtype), sizes, codes,
           np.asarray(lrs, dtype=dtype), steps, dtype.type(momentum), losses, nit)
    return th, losses, nit
