"""NumPy reference of the Taylor-mode dense layer (the specification).

See :mod:`nnopt.kernels.taylor` for the jet layout, the formulas and the
signatures.
"""
from __future__ import annotations

import numpy as np
import scipy.special

from . import CODES

__all__ = [
    "activation", "jet_forward", "jet_backward", "matmul_into", "forward_step", "backward_step",
    "rows_outer", "backward_rows_step", "forward", "backward", "affine_loss", "affine_rows", "affine_rows_vjp",
]


def check(act, order):
    """The activation's code; ValueError for an unknown activation or order."""
    if act not in CODES:
        raise ValueError(f"taylor kernels: act must be one of {sorted(CODES)}, got {act!r}")
    if order not in (0, 1, 2):
        raise ValueError(f"taylor kernels: order must be 0, 1 or 2, got {order!r}")
    return CODES[act]


def n_directions(S, order):
    """``D`` from the number of streams ``S = 1 + order * D``."""
    if S < 1 or (order == 0 and S != 1) or (order > 0 and (S - 1) % order):
        raise ValueError(f"taylor kernels: a jet of order {order} has 1 + {order} * D streams, got {S}")
    return (S - 1) // order if order else 0


def coefficients(a, code):
    """``(d, e, e')`` = ``(act', act''/2, act'''/2)`` where ``act = a``."""
    one = a.dtype.type(1)
    if code == 1:
        d = one - a * a
        return d, -(a * d), d * (3 * a * a - one)
    if code == 2:
        d = a * (one - a)
        half = a.dtype.type(0.5)
        return d, half * d * (one - 2 * a), half * d * (one - 6 * a + 6 * a * a)
    return np.ones_like(a), np.zeros_like(a), np.zeros_like(a)


def activation(y0, code, out):
    """``out = act(y0)`` (NumPy's vectorised ``tanh``, SciPy's ``expit``)."""
    if code == 1:
        return np.tanh(y0, out=out)
    if code == 2:
        return scipy.special.expit(y0, out=out)
    np.copyto(out, y0)
    return out


def jet_forward(Y, T, A, code, order):
    D = n_directions(Y.shape[0], order)
    w = Y.shape[2]
    d, e, _ = coefficients(T, code)
    A[0, :, :w] = T
    for q in range(D):
        y1 = Y[1 + q]
        A[1 + q, :, :w] = d * y1
        if order == 2:
            A[1 + D + q, :, :w] = d * Y[1 + D + q] + e * (y1 * y1)
    return A


def jet_backward(Abar, Y, T, Ybar, code, order):
    D = n_directions(Y.shape[0], order)
    d, e, ep = coefficients(T, code)
    two = Y.dtype.type(2)
    g0 = d * Abar[0]
    for q in range(D):
        y1, ab1 = Y[1 + q], Abar[1 + q]
        if order == 1:
            g0 = g0 + two * e * (ab1 * y1)
            Ybar[1 + q] = d * ab1
        else:
            y2, ab2 = Y[1 + D + q], Abar[1 + D + q]
            g0 = g0 + two * e * (ab1 * y1 + ab2 * y2) + ep * (ab2 * (y1 * y1))
            Ybar[1 + q] = d * ab1 + two * e * (y1 * ab2)
            Ybar[1 + D + q] = d * ab2
    Ybar[0] = g0
    return Ybar


def matmul_into(x, W, out):
    """``out = x @ W`` for 2-D arrays; an inner dimension of 1 (an outer
    product, which NumPy sends through a slow non-BLAS loop) as the broadcast
    product (see :func:`nnopt.kernels.dense.reference.matmul`)."""
    if x.shape[1] == 1:
        np.multiply(x, W, out=out)
    else:
        np.matmul(x, W, out=out)
    return out


def forward_step(Y, T, A, code, order, X_next, W_next, Y_next):
    jet_forward(Y, T, A, code, order)
    matmul_into(X_next, W_next, Y_next)


def backward_step(G, Y, T, H, code, order, X, gWb, W, WT, G_prev, need_gx):
    S, n, w = G.shape
    if code:
        jet_backward(G, Y, T, H, code, order)
        H2 = H.reshape(S * n, w)
    else:
        H2 = G.reshape(S * n, w)
    np.matmul(X.T, H2, out=gWb)
    if need_gx:
        np.copyto(WT, W.T)
        matmul_into(H2, WT, G_prev)


def rows_outer(X, H, J, rows, col0):
    S, N, w = H.shape
    ok = rows >= 0
    per_row = np.einsum("sip,siq->ipq", X.reshape(S, N, X.shape[1]), H).reshape(N, X.shape[1] * w)
    J[rows[ok], col0:col0 + per_row.shape[1]] += per_row[ok]


def backward_rows_step(G, Y, T, H, code, order, X, W, WT, G_prev, need_gx, J, rows, col0):
    S, n, w = G.shape
    if code:
        jet_backward(G, Y, T, H, code, order)
    else:
        H = G
    rows_outer(X, H, J, rows, col0)
    if need_gx:
        np.copyto(WT, W.T)
        matmul_into(H.reshape(S * n, w), WT, G_prev)


def layer_forward(ops, X, W, b, act, order):
    """:func:`forward` with ``ops = (matmul_into, activation, jet_forward)``."""
    matmul_into_, activation_, jet_forward_ = ops
    code = check(act, order)
    S, n, a = X.shape
    n_directions(S, order)
    dtype = np.result_type(X, W, b)
    Y = np.empty((S, n, W.shape[1]), dtype=dtype)
    matmul_into_(np.ascontiguousarray(X, dtype=dtype).reshape(S * n, a), np.ascontiguousarray(W, dtype=dtype),
                 Y.reshape(S * n, W.shape[1]))
    Y[0] += b
    T = np.empty_like(Y[0])
    activation_(Y[0], code, T)
    A = np.empty_like(Y)
    jet_forward_(Y, T, A, code, order)
    return Y, A


def layer_backward(ops, Abar, X, Y, A, W, act, order, need_gx):
    """:func:`backward` with ``ops = (matmul_into, jet_backward)``."""
    matmul_into_, jet_backward_ = ops
    code = check(act, order)
    S, n, a = X.shape
    w = W.shape[1]
    n_directions(S, order)
    Abar, Y = np.ascontiguousarray(Abar), np.ascontiguousarray(Y)
    T = np.ascontiguousarray(A[0])
    Ybar = np.empty_like(Abar)
    jet_backward_(Abar, Y, T, Ybar, code, order)
    Y2 = Ybar.reshape(S * n, w)
    gW = np.ascontiguousarray(X).reshape(S * n, a).T @ Y2
    gb = Ybar[0].sum(axis=0)
    gX = None
    if need_gx:
        gX = np.empty((S, n, a), dtype=Ybar.dtype)
        matmul_into_(Y2, np.ascontiguousarray(W.T), gX.reshape(S * n, a))
    return gX, gW, gb


def forward(X, W, b, act, order):
    return layer_forward((matmul_into, activation, jet_forward), X, W, b, act, order)


def backward(Abar, X, Y, A, W, act, order, need_gx=True):
    return layer_backward((matmul_into, jet_backward), Abar, X, Y, A, W, act, order, need_gx)


def affine_rows(Q, Z, R):
    R += np.einsum("osic,sic->oi", Q, Z)
    return R


def affine_rows_vjp(Q, G, Zbar):
    Zbar[...] = np.einsum("osic,oi->sic", Q, G)
    return Zbar


def affine_loss(Q, c0, Z, Zbar):
    r = affine_rows(Q, Z, c0.copy())
    affine_rows_vjp(Q, 2 * r, Zbar)
    return float(np.sum(r * r))
