"""NumPy reference of the ensemble trainer, vectorised over networks."""
from __future__ import annotations

import numpy as np

from ..dense.reference import activation_derivative

__all__ = ["train", "value_and_grad"]


def _act(z, act):
    if act == "tanh":
        return np.tanh(z)
    if act == "sigmoid":
        return 1 / (1 + np.exp(-z))
    if act == "relu":
        return np.maximum(z, 0)
    return z


def _unpack(thetas, sizes):
    Ws, bs, k = [], [], 0
    E = thetas.shape[0]
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        Ws.append(thetas[:, k:k + n_in * n_out].reshape(E, n_in, n_out))
        k += n_in * n_out
        bs.append(thetas[:, k:k + n_out])
        k += n_out
    return Ws, bs


def value_and_grad(thetas, X, Y, sizes, act):
    """Per-network loss (E,) and gradient (E, P)."""
    Ws, bs = _unpack(thetas, sizes)
    L = len(Ws)
    acts = [np.broadcast_to(X, (thetas.shape[0],) + X.shape)]
    for i in range(L):
        z = acts[-1] @ Ws[i] + bs[i][:, None, :]
        acts.append(_act(z, act) if i < L - 1 else z)
    diff = acts[-1] - Y
    size = Y.size
    loss = np.sum(diff * diff, axis=(1, 2)) / size
    delta = diff * (2 / size)
    grads = []
    for i in range(L - 1, -1, -1):
        grads.append(delta.sum(axis=1))                       # b
        grads.append((np.swapaxes(acts[i], 1, 2) @ delta).reshape(thetas.shape[0], -1))  # W
        if i > 0:
            delta = (delta @ np.swapaxes(Ws[i], 1, 2)) * activation_derivative(acts[i], act)
    return loss, np.concatenate(grads[::-1], axis=1)


def train(thetas, X, Y, sizes, act, lrs, steps, momentum=0.0):
    th = np.array(thetas, copy=True)
    dtype = th.dtype
    vel = np.zeros_like(th)
    E = th.shape[0]
    losses = np.full((E, steps), np.nan, dtype=dtype)
    nit = np.zeros(E, dtype=np.int64)
    active = np.ones(E, dtype=bool)
    lrs = np.asarray(lrs, dtype=dtype)[:, None]
    beta = dtype.type(momentum)
    for s in range(steps):
        loss, g = value_and_grad(th, X, Y, sizes, act)
        active &= np.isfinite(loss)
        if not active.any():
            break
        losses[active, s] = loss[active]
        vel[active] = beta * vel[active] + g[active]
        th[active] -= (lrs * vel)[active]
        nit[active] += 1
    return th, losses, nit
