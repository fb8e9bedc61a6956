"""NumPy reference of the whole-stack kernels (the specification)."""
from __future__ import annotations

import numpy as np

from ..dense import reference as dense

__all__ = ["value_and_grad", "hvp", "workspace_size", "loss_and_cotangent", "value_and_grad_chunks", "hvp_chunks",
           "chunk_workspace_size", "n_params", "check_chunk_args"]

_NAMES = ("identity", "tanh", "sigmoid", "relu")


def workspace_size(dims, n):
    """Length of the scratch vector of the compiled kernels (the reference allocates its own)."""
    widths = [int(d) for d in dims]
    return 3 * n * sum(widths[1:]) + 5 * n * max(widths)


def n_params(dims):
    """Length of theta for layer widths ``dims``."""
    return sum((int(dims[l]) + 1) * int(dims[l + 1]) for l in range(len(dims) - 1))


def chunk_workspace_size(dims, n, chunks):
    """Length of the ``work`` of the compiled ``value_and_grad_chunks``/``hvp_chunks``."""
    return chunks * (n_params(dims) + workspace_size(dims, -(-n // chunks)))


def _layers(theta, dims):
    """[(W_l, b_l)] as views of theta (P,)."""
    out, o = [], 0
    for l in range(len(dims) - 1):
        m, k = int(dims[l]), int(dims[l + 1])
        W = theta[o:o + m * k].reshape(m, k)
        o += m * k
        out.append((W, theta[o:o + k]))
        o += k
    return out


def _derivs(a, code):
    """(act'(z), act''(z)) through the output a = act(z); None for 1 and 0."""
    if code == 1:
        d1 = 1 - a * a
        return d1, -2 * a * d1
    if code == 2:
        d1 = a * (1 - a)
        return d1, d1 * (1 - 2 * a)
    if code == 3:
        return (a > 0).astype(a.dtype), None
    return None, None


def _forward(theta, X, dims, codes):
    acts = [X]
    for (W, b), code in zip(_layers(theta, dims), codes):
        acts.append(dense.forward(acts[-1], W, b, _NAMES[code]))
    return acts


def loss_and_cotangent(out, T, loss):
    """(value, dL/dout, softmax or None) of the mean loss: ``loss`` 0 for mse against
    ``T``, 1 for cross-entropy with one-hot ``T`` (max-shifted); nan value on an empty batch."""
    if loss == 0:
        diff = out - T
        value = np.mean(diff * diff) if diff.size else out.dtype.type(np.nan)
        return value, diff * (2.0 / max(diff.size, 1)), None
    n = out.shape[0]
    m = out.max(axis=1, keepdims=True)
    e = np.exp(out - m)
    s = e.sum(axis=1, keepdims=True)
    terms = np.log(s[:, 0]) + m[:, 0] - np.sum(out * T, axis=1)
    value = np.mean(terms) if n else out.dtype.type(np.nan)
    p = e / s
    return value, (p - T) / max(n, 1), p


def value_and_grad(theta, X, T, dims, codes, loss, work=None):  # work: unused here
    layers = _layers(theta, dims)
    acts = _forward(theta, X, dims, codes)
    value, g, _ = loss_and_cotangent(acts[-1], T, loss)
    grad = np.empty_like(theta)
    gl = _layers(grad, dims)
    for l in range(len(layers) - 1, -1, -1):
        W = layers[l][0]
        gx, gW, gb = dense.backward(g, acts[l + 1], acts[l], W, _NAMES[codes[l]], l > 0)
        gl[l][0][...] = gW
        gl[l][1][...] = gb
        g = gx
    return value, grad


def hvp(theta, v, X, T, dims, codes, loss, work=None):  # work: unused here
    layers, vlayers = _layers(theta, dims), _layers(v, dims)
    acts, Rzs, Racts = [X], [], [np.zeros_like(X)]
    for (W, b), (VW, Vb), code in zip(layers, vlayers, codes):
        a_in = acts[-1]
        acts.append(dense.forward(a_in, W, b, _NAMES[code]))
        Rz = dense.matmul(Racts[-1], W) + dense.matmul(a_in, VW) + Vb
        d1, _ = _derivs(acts[-1], code)
        Rzs.append(Rz)
        Racts.append(Rz if d1 is None else Rz * d1)
    out, Rout = acts[-1], Racts[-1]
    _, g, p = loss_and_cotangent(out, T, loss)
    if loss == 0:
        Rg = Rout * (2.0 / max(out.size, 1))
    else:
        Rg = (p * Rout - p * np.sum(p * Rout, axis=1, keepdims=True)) / max(out.shape[0], 1)
    Hv = np.empty_like(theta)
    hl = _layers(Hv, dims)
    for l in range(len(layers) - 1, -1, -1):
        d1, d2 = _derivs(acts[l + 1], codes[l])
        delta = g if d1 is None else g * d1
        Rdelta = Rg if d1 is None else Rg * d1
        if d2 is not None:
            Rdelta = Rdelta + g * d2 * Rzs[l]
        hl[l][0][...] = Racts[l].T @ delta + acts[l].T @ Rdelta
        hl[l][1][...] = Rdelta.sum(axis=0)
        if l > 0:
            W, VW = layers[l][0], vlayers[l][0]
            Rg = dense.matmul(Rdelta, W.T) + dense.matmul(delta, VW.T)
            g = dense.matmul(delta, W.T)
    return Hv


def check_chunk_args(theta, X, T, dims, chunks, v=None):
    """The checks of ``value_and_grad_chunks``/``hvp_chunks`` (both versions):
    a clear error naming the argument instead of a kernel reading out of bounds."""
    if isinstance(chunks, bool) or not isinstance(chunks, (int, np.integer)) or chunks < 1:
        raise ValueError(f"chunks must be a positive integer, got {chunks!r}")
    P = n_params(dims)
    for name, a in (("theta", theta), ("v", v)):
        if a is not None and (a.ndim != 1 or a.size != P or a.dtype.kind != "f"):
            raise ValueError(f"{name} must be a float vector of {P} entries (dims {list(dims)}), "
                             f"got shape {a.shape} and dtype {a.dtype}")
    n = X.shape[0] if X.ndim == 2 else -1
    if X.ndim != 2 or X.shape[1] != dims[0]:
        raise ValueError(f"X must have shape (n, {int(dims[0])}), got {X.shape}")
    if T.shape != (n, int(dims[-1])):
        raise ValueError(f"T must have shape ({n}, {int(dims[-1])}), got {T.shape}")
    for name, a in (("X", X), ("T", T), ("v", v)):
        if a is not None and a.dtype != theta.dtype:
            raise ValueError(f"{name} has dtype {a.dtype}; theta's is {theta.dtype} (one dtype throughout)")
    return int(chunks)


def _in_blocks(one_block, X, T, chunks, args):
    """sum over the row blocks c of X (rows [c n / chunks, (c + 1) n / chunks))
    of one_block's result weighted by the block's share n_c / n of the mean."""
    n = X.shape[0]
    total = None
    for c in range(chunks):
        lo, hi = c * n // chunks, (c + 1) * n // chunks
        if hi == lo:
            continue
        part = one_block(*args, X[lo:hi], T[lo:hi])
        share = X.dtype.type((hi - lo) / n)
        part = tuple(p * share for p in part) if isinstance(part, tuple) else part * share
        total = part if total is None else (
            tuple(a + b for a, b in zip(total, part)) if isinstance(part, tuple) else total + part)
    return total


def value_and_grad_chunks(theta, X, T, dims, codes, loss, chunks, work=None, parallel=True):
    """value_and_grad with the batch in ``chunks`` row blocks whose shares are
    summed in block order (the compiled version runs the blocks on Numba's
    threads; here ``work`` and ``parallel`` are unused)."""
    chunks = check_chunk_args(theta, X, T, dims, chunks)
    out = _in_blocks(lambda th, x, t: value_and_grad(th, x, t, dims, codes, loss), X, T, chunks, (theta,))
    return value_and_grad(theta, X, T, dims, codes, loss) if out is None else out


def hvp_chunks(theta, v, X, T, dims, codes, loss, chunks, work=None, parallel=True):
    """hvp with the batch in ``chunks`` row blocks (see :func:`value_and_grad_chunks`)."""
    chunks = check_chunk_args(theta, X, T, dims, chunks, v)
    out = _in_blocks(lambda th, vv, x, t: hvp(th, vv, x, t, dims, codes, loss), X, T, chunks, (theta, v))
    return hvp(theta, v, X, T, dims, codes, loss) if out is None else out
