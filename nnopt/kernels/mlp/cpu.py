"""Numba whole-stack kernels: one compiled call per loss + gradient or HVP.

Each call runs the forward pass, the loss and the backward pass of every
layer inside one ``@njit`` function, so a tiny network pays one dispatch
instead of a few dozen NumPy calls.  Matrix products go to BLAS
(``np.dot`` with ``out=``, writing the weight gradients straight into the
flat gradient vector); a product whose inner dimension is 1 (the first
layer of a one-input network) is an explicit outer-product loop.  Bias,
activation and activation derivative are fused loops with the vectorisable
``tanh`` of :mod:`nnopt.kernels.vecmath`; sums over many terms (the loss)
are pairwise, as NumPy's.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from ..dense.cpu import act_grad as _act_grad
from ..dense.cpu import bias_act as _bias_act
from ..dense.cpu import times_act_derivative as _times_act_derivative
from .reference import check_chunk_args

__all__ = ["value_and_grad", "hvp", "workspace_size", "value_and_grad_chunks", "hvp_chunks", "chunk_workspace_size",
           "n_params"]

_JIT = dict(cache=True, nogil=True, error_model="numpy")


@njit(**_JIT)
def _pairwise_sum(x):
    """sum(x) of a 1-D array by blocks of 128 combined pairwise."""
    n = x.size
    nb = (n + 127) // 128
    if nb == 0:
        return x.dtype.type(0)
    part = np.empty(nb, dtype=x.dtype)
    for k in range(nb):
        s = x.dtype.type(0)
        for i in range(k * 128, min(n, k * 128 + 128)):
            s += x[i]
        part[k] = s
    while nb > 1:
        half = nb // 2
        for k in range(half):
            part[k] = part[2 * k] + part[2 * k + 1]
        if nb % 2:
            part[half] = part[nb - 1]
            nb = half + 1
        else:
            nb = half
    return part[0]


@njit(**_JIT)
def _matmul_into(a, W, out):
    """out = a @ W (an outer-product loop when the inner dimension is 1)."""
    if a.shape[1] == 1:
        for i in range(a.shape[0]):
            ai = a[i, 0]
            for j in range(W.shape[1]):
                out[i, j] = ai * W[0, j]
    else:
        np.dot(a, W, out)


@njit(**_JIT)
def _loss_grad(out, T, loss, g, rows):
    """This block's share of the loss, for a batch of ``rows`` rows in all (the
    mean's denominator; out may be a block of them); g = dL/dout.  For
    cross-entropy g first holds the softmax.  nan when ``rows`` is 0."""
    n, m = out.shape
    if rows == 0:
        g[:] = 0
        return out.dtype.type(np.nan)
    if loss == 0:
        scale = out.dtype.type(2.0 / (rows * m))
        sq = np.empty(out.size, dtype=out.dtype)
        k = 0
        for i in range(n):
            for j in range(m):
                d = out[i, j] - T[i, j]
                sq[k] = d * d
                g[i, j] = d * scale
                k += 1
        return _pairwise_sum(sq) / out.dtype.type(rows * m)
    terms = np.empty(n, dtype=out.dtype)
    inv_n = out.dtype.type(1.0 / rows)
    for i in range(n):
        mx = out[i, 0]
        for j in range(1, m):
            mx = max(mx, out[i, j])
        s = out.dtype.type(0)
        for j in range(m):
            e = np.exp(out[i, j] - mx)
            g[i, j] = e
            s += e
        lse = np.log(s) + mx
        dot = out.dtype.type(0)
        for j in range(m):
            dot += out[i, j] * T[i, j]
            g[i, j] = (g[i, j] / s - T[i, j]) * inv_n
        terms[i] = lse - dot
    return _pairwise_sum(terms) / out.dtype.type(rows)


@njit(**_JIT)
def _offsets(dims, n):
    """Offsets of W_l and b_l in theta and of a_l in an activation workspace."""
    L = dims.size - 1
    w_off = np.empty(L, dtype=np.int64)
    b_off = np.empty(L, dtype=np.int64)
    a_off = np.empty(L + 1, dtype=np.int64)
    o, ao = 0, 0
    for l in range(L):
        w_off[l] = o
        o += dims[l] * dims[l + 1]
        b_off[l] = o
        o += dims[l + 1]
        a_off[l] = ao
        ao += n * dims[l + 1]
    a_off[L] = ao
    return w_off, b_off, a_off


@njit(**_JIT)
def workspace_size(dims, n):
    """Length of the scratch vector both kernels can work in (see ``work``)."""
    a_total = 0
    widest = 0
    for l in range(1, dims.size):
        a_total += n * dims[l]
        widest = max(widest, dims[l])
    return 3 * a_total + 5 * n * max(widest, dims[0])


@njit(**_JIT)
def _scratch(work, a_total, n, widest, i, rows, cols):
    """Scratch matrix number i (rows x cols) after the three activation-sized blocks."""
    start = 3 * a_total + i * n * widest
    return work[start:start + rows * cols].reshape((rows, cols))


@njit(**_JIT)
def _workspace(work, dims, n, dtype_like):
    """``work`` when given (at least :func:`workspace_size` long, dtype of theta), else a new one."""
    if work is None:
        return np.empty(workspace_size(dims, n), dtype=dtype_like.dtype)
    if work.size < workspace_size(dims, n):
        raise ValueError("work is shorter than workspace_size(dims, n)")
    return work


@njit(**_JIT)
def value_and_grad(theta, X, T, dims, codes, loss, work=None):
    grad = np.empty_like(theta)
    value = _value_and_grad_into(theta, X, T, dims, codes, loss, work, X.shape[0], grad)
    return value, grad


@njit(**_JIT)
def _value_and_grad_into(theta, X, T, dims, codes, loss, work, rows, grad):
    """The loss share and gradient (into ``grad``) of the block X of a batch of ``rows`` rows."""
    n = X.shape[0]
    L = dims.size - 1
    w_off, b_off, a_off = _offsets(dims, n)
    work = _workspace(work, dims, n, theta)
    widest = max(dims[0], dims[1:].max())
    a = X
    for l in range(L):
        m, k = dims[l], dims[l + 1]
        W = theta[w_off[l]:w_off[l] + m * k].reshape((m, k))
        z = work[a_off[l]:a_off[l] + n * k].reshape((n, k))
        _matmul_into(a, W, z)
        _bias_act(z, theta[b_off[l]:b_off[l] + k], codes[l])
        a = z
    g = _scratch(work, a_off[L], n, widest, 0, n, dims[L])
    value = _loss_grad(a, T, loss, g, rows)
    for l in range(L - 1, -1, -1):
        m, k = dims[l], dims[l + 1]
        a_l = work[a_off[l]:a_off[l] + n * k].reshape((n, k))
        a_prev = X if l == 0 else work[a_off[l - 1]:a_off[l - 1] + n * m].reshape((n, m))
        gz = _scratch(work, a_off[L], n, widest, 1, n, k)
        _act_grad(g, a_l, codes[l], gz, grad[b_off[l]:b_off[l] + k])
        g = gz
        gW = grad[w_off[l]:w_off[l] + m * k].reshape((m, k))
        if n == 0:
            gW[:] = 0
        else:
            np.dot(a_prev.T, g, gW)
        if l > 0:
            W = theta[w_off[l]:w_off[l] + m * k].reshape((m, k))
            gx = _scratch(work, a_off[L], n, widest, 0, n, m)  # the old g is used up
            _matmul_into(g, W.T, gx)
            g = gx
    return value


@njit(**_JIT)
def _r_forward(Rz, Vb, Ra_in, z, code, Ra):
    """R{z} += Vb (+ R{a}_in, already in Ra_in when given); R{a} = act'(z) R{z}
    (act' through the output z = act(.)); one loop per activation so that each vectorises."""
    n, k = Rz.shape
    for i in range(n):
        for j in range(k):
            Rz[i, j] += Vb[j] + Ra_in[i, j]
    for i in range(n):
        _times_act_derivative(Rz[i], z[i], code, Ra[i])


@njit(**_JIT)
def _r_backward(Rg, g, z, Rz, code, Rdelta, delta):
    """delta = g act'(z);  R{delta} = R{g} act'(z) + g act''(z) R{z}."""
    n, k = g.shape
    one = g.dtype.type(1)
    two = g.dtype.type(2)
    zero = g.dtype.type(0)
    for i in range(n):
        if code == 1:
            for j in range(k):
                a = z[i, j]
                d1 = one - a * a
                delta[i, j] = g[i, j] * d1
                Rdelta[i, j] = Rg[i, j] * d1 - g[i, j] * (two * a * d1) * Rz[i, j]
        elif code == 2:
            for j in range(k):
                a = z[i, j]
                d1 = a * (one - a)
                delta[i, j] = g[i, j] * d1
                Rdelta[i, j] = Rg[i, j] * d1 + g[i, j] * (d1 * (one - two * a)) * Rz[i, j]
        elif code == 3:
            for j in range(k):
                pos = z[i, j] > zero
                delta[i, j] = g[i, j] if pos else zero
                Rdelta[i, j] = Rg[i, j] if pos else zero
        else:
            for j in range(k):
                delta[i, j] = g[i, j]
                Rdelta[i, j] = Rg[i, j]


@njit(**_JIT)
def hvp(theta, v, X, T, dims, codes, loss, work=None):
    Hv = np.empty_like(theta)
    _hvp_into(theta, v, X, T, dims, codes, loss, work, X.shape[0], Hv)
    return Hv


@njit(**_JIT)
def _hvp_into(theta, v, X, T, dims, codes, loss, work, rows, Hv):
    """Hv (into ``Hv``) of the block X of a batch of ``rows`` rows; the R-operator with the value and R-streams stacked: per layer one (2n, k)
    block ``[a; R{a}]`` forward and ``[R{delta}; delta]`` backward, so that

        [a; R{a}] W          = [a W; R{a} W]              (one product)
        [a; R{a}]^T [R{delta}; delta] = a^T R{delta} + R{a}^T delta   (= H v in W)
        [R{delta}; delta] W^T = [R{delta} W^T; delta W^T]  (one product)

    five matrix products per hidden layer instead of eight, over the same flops."""
    n = X.shape[0]
    L = dims.size - 1
    w_off, b_off, a_off = _offsets(dims, n)
    work = _workspace(work, dims, n, theta)
    widest = max(dims[0], dims[1:].max())
    A = a_off[L]
    for l in range(L):
        m, k = dims[l], dims[l + 1]
        W = theta[w_off[l]:w_off[l] + m * k].reshape((m, k))
        VW = v[w_off[l]:w_off[l] + m * k].reshape((m, k))
        Vb = v[b_off[l]:b_off[l] + k]
        AR = work[2 * a_off[l]:2 * a_off[l] + 2 * n * k].reshape((2 * n, k))
        z = AR[:n]
        Ra = AR[n:]
        Rz = work[2 * A + a_off[l]:2 * A + a_off[l] + n * k].reshape((n, k))
        if l == 0:
            _matmul_into(X, W, z)
            Ra[:] = 0
            _matmul_into(X, VW, Rz)
        else:
            AR_in = work[2 * a_off[l - 1]:2 * a_off[l - 1] + 2 * n * m].reshape((2 * n, m))
            _matmul_into(AR_in, W, AR)  # [a W; R{a}_in W]: R{a}_in W waits in Ra's place
            _matmul_into(AR_in[:n], VW, Rz)
        _bias_act(z, theta[b_off[l]:b_off[l] + k], codes[l])
        _r_forward(Rz, Vb, Ra, z, codes[l], Ra)
    k = dims[L]
    ARL = work[2 * a_off[L - 1]:2 * a_off[L - 1] + 2 * n * k].reshape((2 * n, k))
    a, RaL = ARL[:n], ARL[n:]
    Q = _scratch(work, A, n, widest, 0, 2 * n, k)  # [R{g}; g]
    Rg, g = Q[:n], Q[n:]
    _loss_grad(a, T, loss, g, rows)
    if loss == 0:
        scale = theta.dtype.type(2.0 / (rows * k)) if rows else theta.dtype.type(0)
        for i in range(n):
            for j in range(k):
                Rg[i, j] = RaL[i, j] * scale
    else:
        inv_n = theta.dtype.type(1.0 / rows) if rows else theta.dtype.type(0)
        p = np.empty(k, dtype=theta.dtype)
        for i in range(n):  # R{g} = (p * R{a} - p * sum(p * R{a})) / n, p = softmax(out)
            mx = a[i, 0]
            for j in range(1, k):
                mx = max(mx, a[i, j])
            tot = theta.dtype.type(0)
            for j in range(k):
                p[j] = np.exp(a[i, j] - mx)
                tot += p[j]
            s = theta.dtype.type(0)
            for j in range(k):
                p[j] = p[j] / tot
                s += p[j] * RaL[i, j]
            for j in range(k):
                Rg[i, j] = p[j] * (RaL[i, j] - s) * inv_n
    for l in range(L - 1, -1, -1):
        m, k = dims[l], dims[l + 1]
        AR = work[2 * a_off[l]:2 * a_off[l] + 2 * n * k].reshape((2 * n, k))
        Rz = work[2 * A + a_off[l]:2 * A + a_off[l] + n * k].reshape((n, k))
        DR = _scratch(work, A, n, widest, 2, 2 * n, k)  # [R{delta}; delta]
        _r_backward(Rg, g, AR[:n], Rz, codes[l], DR[:n], DR[n:])
        HW = Hv[w_off[l]:w_off[l] + m * k].reshape((m, k))
        Hb = Hv[b_off[l]:b_off[l] + k]
        for j in range(k):
            Hb[j] = 0
        for i in range(n):
            for j in range(k):
                Hb[j] += DR[i, j]
        if n == 0:
            HW[:] = 0
        elif l == 0:
            np.dot(X.T, DR[:n], HW)
        else:
            AR_in = work[2 * a_off[l - 1]:2 * a_off[l - 1] + 2 * n * m].reshape((2 * n, m))
            np.dot(AR_in.T, DR, HW)
        if l > 0:
            W = theta[w_off[l]:w_off[l] + m * k].reshape((m, k))
            VW = v[w_off[l]:w_off[l] + m * k].reshape((m, k))
            Q = _scratch(work, A, n, widest, 0, 2 * n, m)
            _matmul_into(DR, W.T, Q)  # [R{delta} W^T; delta W^T] = [R{g} part; g]
            tmp = _scratch(work, A, n, widest, 4, n, m)
            _matmul_into(DR[n:], VW.T, tmp)
            Rg, g = Q[:n], Q[n:]
            Rg += tmp


# ---------------------------------------------------------------------------
# the batch in row blocks, one Numba thread per block
# ---------------------------------------------------------------------------


@njit(**_JIT)
def n_params(dims):
    """Length of theta for layer widths ``dims``."""
    P = 0
    for l in range(dims.size - 1):
        P += (dims[l] + 1) * dims[l + 1]
    return P


@njit(**_JIT)
def chunk_workspace_size(dims, n, chunks):
    """Length of the ``work`` of :func:`value_and_grad_chunks`/:func:`hvp_chunks`:
    per block, a partial result (theta's length) and a workspace."""
    rows = (n + chunks - 1) // chunks
    return chunks * (n_params(dims) + workspace_size(dims, rows))


@njit(**_JIT)
def _block(work, dims, n, chunks, c):
    """(lo, hi, partial, workspace) of block c: rows [c n / chunks, (c + 1) n / chunks)."""
    P = n_params(dims)
    per = workspace_size(dims, (n + chunks - 1) // chunks)
    start = chunks * P + c * per
    return c * n // chunks, (c + 1) * n // chunks, work[c * P:(c + 1) * P], work[start:start + per]


@njit(**_JIT)
def _vg_block(theta, X, T, dims, codes, loss, chunks, work, c):
    lo, hi, part, ws = _block(work, dims, X.shape[0], chunks, c)
    return _value_and_grad_into(theta, X[lo:hi], T[lo:hi], dims, codes, loss, ws, X.shape[0], part)


@njit(**_JIT)
def _hvp_block(theta, v, X, T, dims, codes, loss, chunks, work, c):
    lo, hi, part, ws = _block(work, dims, X.shape[0], chunks, c)
    _hvp_into(theta, v, X[lo:hi], T[lo:hi], dims, codes, loss, ws, X.shape[0], part)


_SUM_BLOCK = 4096


@njit(**_JIT)
def _sum_partials(work, chunks, out, b):
    """out[i] = sum over blocks c = 0, 1, ... (in this order) of partial c, for
    the i in slice b of :data:`_SUM_BLOCK` entries."""
    P = out.size
    i0, i1 = b * _SUM_BLOCK, min(P, (b + 1) * _SUM_BLOCK)
    for i in range(i0, i1):
        out[i] = work[i]
    for c in range(1, chunks):
        for i in range(i0, i1):
            out[i] += work[c * P + i]


@njit(parallel=True, **_JIT)
def _value_and_grad_parallel(theta, X, T, dims, codes, loss, chunks, work):
    values = np.empty(chunks, dtype=theta.dtype)
    for c in prange(chunks):
        values[c] = _vg_block(theta, X, T, dims, codes, loss, chunks, work, c)
    grad = np.empty_like(theta)
    for b in prange((theta.size + _SUM_BLOCK - 1) // _SUM_BLOCK):
        _sum_partials(work, chunks, grad, b)
    return values, grad


@njit(**_JIT)
def _value_and_grad_serial(theta, X, T, dims, codes, loss, chunks, work):
    values = np.empty(chunks, dtype=theta.dtype)
    for c in range(chunks):
        values[c] = _vg_block(theta, X, T, dims, codes, loss, chunks, work, c)
    grad = np.empty_like(theta)
    for b in range((theta.size + _SUM_BLOCK - 1) // _SUM_BLOCK):
        _sum_partials(work, chunks, grad, b)
    return values, grad


@njit(parallel=True, **_JIT)
def _hvp_parallel(theta, v, X, T, dims, codes, loss, chunks, work):
    for c in prange(chunks):
        _hvp_block(theta, v, X, T, dims, codes, loss, chunks, work, c)
    Hv = np.empty_like(theta)
    for b in prange((theta.size + _SUM_BLOCK - 1) // _SUM_BLOCK):
        _sum_partials(work, chunks, Hv, b)
    return Hv


@njit(**_JIT)
def _hvp_serial(theta, v, X, T, dims, codes, loss, chunks, work):
    for c in range(chunks):
        _hvp_block(theta, v, X, T, dims, codes, loss, chunks, work, c)
    Hv = np.empty_like(theta)
    for b in range((theta.size + _SUM_BLOCK - 1) // _SUM_BLOCK):
        _sum_partials(work, chunks, Hv, b)
    return Hv


def _chunk_args(theta, X, T, dims, chunks, work, v=None):
    chunks = check_chunk_args(theta, X, T, dims, chunks, v)
    if work is not None and work.dtype != theta.dtype:
        raise ValueError(f"work has dtype {work.dtype}; theta's is {theta.dtype}")
    need = chunk_workspace_size(dims, X.shape[0], chunks)
    if work is None:
        return int(chunks), np.empty(need, dtype=theta.dtype)
    if work.size < need:
        raise ValueError(f"work has {work.size} entries; chunk_workspace_size(dims, n, chunks) is {need}")
    return int(chunks), work


def value_and_grad_chunks(theta, X, T, dims, codes, loss, chunks, work=None, parallel=True):
    chunks, work = _chunk_args(theta, X, T, dims, chunks, work)
    run = _value_and_grad_parallel if parallel else _value_and_grad_serial
    values, grad = run(theta, X, T, dims, codes, loss, chunks, work)
    value = values[0]
    for c in range(1, chunks):
        value += values[c]
    return value, grad


def hvp_chunks(theta, v, X, T, dims, codes, loss, chunks, work=None, parallel=True):
    chunks, work = _chunk_args(theta, X, T, dims, chunks, work, v)
    run = _hvp_parallel if parallel else _hvp_serial
    return run(theta, v, X, T, dims, codes, loss, chunks, work)
