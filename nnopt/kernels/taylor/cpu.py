"""Numba versions of the Taylor-mode dense layer (same signatures as reference.py).

What runs where, and why (measured on the shared 2-core development machine,
float64, 200 points x 32 units, 3 streams; process time, best of repeats):

* matrix products go to BLAS through Numba's ``np.dot`` inside the kernels
  (a call of a Numba function costs about 0.7 us, ``np.matmul(..., out=)``
  about 3 us on small arrays), except outer products (inner dimension 1:
  the backward product through a layer with one output), a plain loop;
  ``Ybar @ W^T`` runs on a contiguous copy of ``W^T``: 29 us against
  38-49 us with the transpose flag;
* the activation of stream 0 stays with NumPy's vectorised ``tanh`` /
  SciPy's ``expit``: a Numba loop calls the scalar libm ``tanh``, 13x slower
  (155 us against 11.6 us for 200 x 32 values; no SVML here);
* the rest of a layer's jet is one kernel forward and one backward, where
  NumPy needs about ten temporaries.  The backward kernel runs over the
  flattened ``n w`` axis in short loops with one store each, out of place:
  written as one loop over ``(i, j)`` with every stream inside, or in place,
  LLVM did not vectorise it (too many possibly aliasing arrays for its
  run-time checks) and it took 3-4x longer (43-60 us against 16 us).
"""
from __future__ import annotations

import numpy as np
from numba import njit

from .reference import activation, layer_backward, layer_forward

__all__ = [
    "activation", "jet_forward", "jet_backward", "matmul_into", "forward_step", "backward_step",
    "rows_outer", "backward_rows_step", "forward", "backward", "affine_loss", "affine_rows", "affine_rows_vjp",
]


@njit(cache=True, nogil=True, inline="always")
def _coef(a, code):
    """(act', act''/2, act'''/2) through a = act(y), in a's precision."""
    one = type(a)(1)
    if code == 1:
        d = one - a * a
        return d, -(a * d), d * (type(a)(3) * a * a - one)
    if code == 2:
        d = a * (one - a)
        half = type(a)(0.5)
        return d, half * d * (one - type(a)(2) * a), half * d * (one - type(a)(6) * a + type(a)(6) * a * a)
    return one, type(a)(0), type(a)(0)


@njit(cache=True, nogil=True)
def _jet_forward(Y, T, A, code, order):
    # A may have more columns than Y: they are left alone
    S, n, w = Y.shape
    D = (S - 1) // order if order > 0 else 0
    for i in range(n):
        for j in range(w):
            A[0, i, j] = T[i, j]
    for q in range(D):
        if order == 1:
            for i in range(n):
                for j in range(w):
                    d, e, _ = _coef(T[i, j], code)
                    A[1 + q, i, j] = d * Y[1 + q, i, j]
        else:
            for i in range(n):
                for j in range(w):
                    d, e, _ = _coef(T[i, j], code)
                    y1 = Y[1 + q, i, j]
                    A[1 + q, i, j] = d * y1
                    A[1 + D + q, i, j] = d * Y[1 + D + q, i, j] + e * (y1 * y1)


@njit(cache=True, nogil=True)
def _jet_backward(Ab, Y, T, Yb, code, order):
    # Ab, Y, Yb: (S, M) views of C-contiguous jets; T: (M,)
    S, M = Y.shape
    D = (S - 1) // order if order > 0 else 0
    two = T.dtype.type(2)
    for k in range(M):
        d, e, ep = _coef(T[k], code)
        Yb[0, k] = d * Ab[0, k]
    for q in range(D):
        if order == 1:
            for k in range(M):
                d, e, ep = _coef(T[k], code)
                Yb[0, k] += two * e * (Ab[1 + q, k] * Y[1 + q, k])
            for k in range(M):
                d, e, ep = _coef(T[k], code)
                Yb[1 + q, k] = d * Ab[1 + q, k]
        else:
            for k in range(M):
                d, e, ep = _coef(T[k], code)
                y1 = Y[1 + q, k]
                ab2 = Ab[1 + D + q, k]
                Yb[0, k] += two * e * (Ab[1 + q, k] * y1 + ab2 * Y[1 + D + q, k]) + ep * (ab2 * (y1 * y1))
            for k in range(M):
                d, e, ep = _coef(T[k], code)
                Yb[1 + q, k] = d * Ab[1 + q, k] + two * e * (Y[1 + q, k] * Ab[1 + D + q, k])
            for k in range(M):
                d, e, ep = _coef(T[k], code)
                Yb[1 + D + q, k] = d * Ab[1 + D + q, k]


@njit(cache=True, nogil=True)
def _mm(x, W, out):
    """out = x @ W: BLAS (Numba's np.dot) for an inner dimension of 2 or more,
    a loop for an outer product (inner dimension 1) or an empty operand;
    either layout ('C' or 'F') for x and W."""
    n, a = x.shape
    m = W.shape[1]
    if a < 2 or n == 0 or m == 0:
        for i in range(n):
            for j in range(m):
                out[i, j] = 0
            for k in range(a):
                xik = x[i, k]
                for j in range(m):
                    out[i, j] += xik * W[k, j]
    else:
        np.dot(x, W, out)


@njit(cache=True, nogil=True)
def _jet_backward_3d(Abar, Y, T, Ybar, code, order):
    """As the reference; all four arrays C-contiguous, ``Ybar`` not sharing
    memory with ``Abar`` (the kernel is not written to work in place, so that
    LLVM vectorises it)."""
    S = Y.shape[0]
    M = T.size
    _jet_backward(Abar.reshape(S, M), Y.reshape(S, M), T.reshape(M), Ybar.reshape(S, M), code, order)


@njit(cache=True, nogil=True)
def _forward_step(Y, T, A, code, order, X_next, W_next, Y_next):
    _jet_forward(Y, T, A, code, order)
    _mm(X_next, W_next, Y_next)


@njit(cache=True, nogil=True)
def _backward_step(G, Y, T, H, code, order, X, gWb, W, WT, G_prev, need_gx):
    S, n, w = G.shape
    if code:
        _jet_backward_3d(G, Y, T, H, code, order)
        H2 = H.reshape(S * n, w)
    else:
        H2 = G.reshape(S * n, w)
    _mm(X.T, H2, gWb)
    if need_gx:
        # BLAS ran Ybar @ W^T 1.3-1.6x faster on a contiguous copy of W^T than with the transpose flag
        WT[:, :] = W.T
        _mm(H2, WT, G_prev)


@njit(cache=True, nogil=True)
def _rows_outer(X, H, J, rows, col0):
    """J[rows[i], col0 + p w + q] += sum_s X[s N + i, p] H[s, i, q] (rows[i] < 0: skipped).

    The innermost index is the loop variable itself, on a 2-D view of the
    row's block, so that LLVM vectorises it (written J[r, base + q] it did
    not: 2.7x slower); streams go three at a time (one pass over the block
    instead of three: 1.5x faster)."""
    S, N, w = H.shape
    a1 = X.shape[1]
    for i in range(N):
        r = rows[i]
        if r < 0:
            continue
        blk = J[r, col0:col0 + a1 * w].reshape(a1, w)
        if w == 1:                      # a layer with one output: run along p instead
            for s in range(S):
                h = H[s, i, 0]
                for p in range(a1):
                    blk[p, 0] += X[s * N + i, p] * h
            continue
        s = 0
        while s + 3 <= S:
            h0, h1, h2 = H[s, i], H[s + 1, i], H[s + 2, i]
            for p in range(a1):
                x0, x1, x2 = X[s * N + i, p], X[(s + 1) * N + i, p], X[(s + 2) * N + i, p]
                for q in range(w):
                    blk[p, q] += x0 * h0[q] + x1 * h1[q] + x2 * h2[q]
            s += 3
        while s < S:
            h0 = H[s, i]
            for p in range(a1):
                x0 = X[s * N + i, p]
                for q in range(w):
                    blk[p, q] += x0 * h0[q]
            s += 1


@njit(cache=True, nogil=True)
def _backward_rows_step(G, Y, T, H, code, order, X, W, WT, G_prev, need_gx, J, rows, col0):
    S, n, w = G.shape
    if code:
        _jet_backward_3d(G, Y, T, H, code, order)
        Hs = H
    else:
        Hs = G
    _rows_outer(X, Hs, J, rows, col0)
    if need_gx:
        WT[:, :] = W.T
        _mm(Hs.reshape(S * n, w), WT, G_prev)


# the public names are the compiled functions themselves (no Python frame per call)
jet_forward = _jet_forward
jet_backward = _jet_backward_3d
matmul_into = _mm
forward_step = _forward_step
backward_step = _backward_step
rows_outer = _rows_outer
backward_rows_step = _backward_rows_step


def forward(X, W, b, act, order):
    return layer_forward((matmul_into, activation, jet_forward), X, W, b, act, order)


def backward(Abar, X, Y, A, W, act, order, need_gx=True):
    return layer_backward((matmul_into, jet_backward), Abar, X, Y, A, W, act, order, need_gx)


@njit(cache=True, nogil=True)
def _affine_loss(Q, c0, Z, Zbar):
    # loops with the point index innermost (contiguous in Q for m = 1)
    O, S, n, m = Q.shape
    two = Z.dtype.type(2)
    total = Z.dtype.type(0)
    r = np.empty(n, dtype=Z.dtype)
    for s in range(S):
        for i in range(n):
            for c in range(m):
                Zbar[s, i, c] = 0
    for o in range(O):
        for i in range(n):
            r[i] = c0[o, i]
        for s in range(S):
            for c in range(m):
                for i in range(n):
                    r[i] += Q[o, s, i, c] * Z[s, i, c]
        for i in range(n):
            total += r[i] * r[i]
            r[i] *= two
        for s in range(S):
            for c in range(m):
                for i in range(n):
                    Zbar[s, i, c] += r[i] * Q[o, s, i, c]
    return total


@njit(cache=True, nogil=True)
def _affine_rows(Q, Z, R):
    O, S, n, m = Q.shape
    for o in range(O):
        for i in range(n):
            r = R[o, i]
            for s in range(S):
                for c in range(m):
                    r += Q[o, s, i, c] * Z[s, i, c]
            R[o, i] = r


@njit(cache=True, nogil=True)
def _affine_rows_vjp(Q, G, Zbar):
    O, S, n, m = Q.shape
    for s in range(S):
        for i in range(n):
            for c in range(m):
                acc = Zbar.dtype.type(0)
                for o in range(O):
                    acc += G[o, i] * Q[o, s, i, c]
                Zbar[s, i, c] = acc


affine_loss = _affine_loss


def affine_rows(Q, Z, R):
    _affine_rows(Q, Z, R)
    return R


def affine_rows_vjp(Q, G, Zbar):
    _affine_rows_vjp(Q, G, Zbar)
    return Zbar
