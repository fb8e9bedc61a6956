"""Hand-written NumPy backprop for tanh MLPs: the baseline nnopt is measured against.

Written the way a careful NumPy user would: one matrix product per layer and
direction, in-place element-wise work, no autodiff.
"""
from __future__ import annotations

import numpy as np


def unpack(theta, sizes):
    Ws, bs, k = [], [], 0
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        Ws.append(theta[k:k + n_in * n_out].reshape(n_in, n_out))
        k += n_in * n_out
        bs.append(theta[k:k + n_out])
        k += n_out
    return Ws, bs


def value_and_grad(theta, X, Y, sizes, loss="mse"):
    """Loss and gradient of a tanh MLP (identity output) by manual backprop."""
    Ws, bs = unpack(theta, sizes)
    acts = [X]
    a = X
    for i, (W, b) in enumerate(zip(Ws, bs)):
        z = a @ W
        z += b
        if i < len(Ws) - 1:
            np.tanh(z, out=z)
        acts.append(z)
        a = z
    n = X.shape[0]
    if loss == "mse":
        diff = a - Y
        value = np.mean(diff * diff)
        g = diff * (2.0 / diff.size)
    else:  # softmax cross-entropy with integer labels Y
        m = a.max(axis=1, keepdims=True)
        e = np.exp(a - m)
        s = e.sum(axis=1, keepdims=True)
        logp_y = (a - m)[np.arange(n), Y] - np.log(s[:, 0])
        value = -np.mean(logp_y)
        g = e / s
        g[np.arange(n), Y] -= 1
        g /= n
    grad = np.empty_like(theta)
    k = theta.size
    for i in range(len(Ws) - 1, -1, -1):
        W = Ws[i]
        a_in = acts[i]
        gb = g.sum(axis=0)
        gW = a_in.T @ g
        k -= gb.size
        grad[k:k + gb.size] = gb
        k -= gW.size
        grad[k:k + gW.size] = gW.ravel()
        if i > 0:
            g = g @ W.T
            g *= 1 - a_in * a_in
    return value, grad
