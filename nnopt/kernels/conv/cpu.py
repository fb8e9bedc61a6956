"""Numba versions of im2col / col2im (the GEMM stays with BLAS).

The patch matrix is built transposed, ``colsT`` of shape (C kh kw, N OH OW),
and returned as its transpose (a Fortran-ordered view with the values and
shape of the reference): looping over kernel taps outermost makes both the
reads of ``x`` (along a row of the image) and the writes (along a row of
``colsT``) contiguous, with no padded copy of the input.  This measured
2-3x faster than writing one patch row at a time (25 ms -> 9 ms for
100 x 1 x 28 x 28 images and a 5x5 kernel); the GEMMs take either layout at
the same speed.  ``col2im`` reads ``cols.T`` the same way.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from . import reference as _reference
from .reference import output_size

__all__ = ["output_size", "im2col", "col2im", "forward", "backward"]


@njit(cache=True, nogil=True)
def _im2col_t(x, kh, kw, sh, sw, ph, pw, dh, dw, OH, OW, colsT):
    N, C, H, W = x.shape
    zero = x.dtype.type(0)
    L = OH * OW
    for c in range(C):
        for i in range(kh):
            for j in range(kw):
                col = (c * kh + i) * kw + j
                for n in range(N):
                    for oh in range(OH):
                        r = oh * sh + i * dh - ph
                        row = n * L + oh * OW
                        if r < 0 or r >= H:
                            for ow in range(OW):
                                colsT[col, row + ow] = zero
                            continue
                        for ow in range(OW):
                            q = ow * sw + j * dw - pw
                            if 0 <= q < W:
                                colsT[col, row + ow] = x[n, c, r, q]
                            else:
                                colsT[col, row + ow] = zero


@njit(cache=True, nogil=True)
def _col2im_t(colsT, kh, kw, sh, sw, ph, pw, dh, dw, OH, OW, x):
    N, C, H, W = x.shape
    L = OH * OW
    for c in range(C):
        for i in range(kh):
            for j in range(kw):
                col = (c * kh + i) * kw + j
                for n in range(N):
                    for oh in range(OH):
                        r = oh * sh + i * dh - ph
                        if r < 0 or r >= H:
                            continue
                        row = n * L + oh * OW
                        for ow in range(OW):
                            q = ow * sw + j * dw - pw
                            if 0 <= q < W:
                                x[n, c, r, q] += colsT[col, row + ow]


def _geometry(shape, kernel, stride, padding, dilation):
    N, C, H, W = shape
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, padding, dilation
    return kh, kw, sh, sw, ph, pw, dh, dw, output_size(H, kh, sh, ph, dh), output_size(W, kw, sw, pw, dw)


def im2col(x, kernel, stride, padding, dilation):
    N, C = x.shape[:2]
    g = _geometry(x.shape, kernel, stride, padding, dilation)
    colsT = np.empty((C * g[0] * g[1], N * g[8] * g[9]), dtype=x.dtype)
    _im2col_t(np.ascontiguousarray(x), *g, colsT)
    return colsT.T


def col2im(cols, x_shape, kernel, stride, padding, dilation):
    g = _geometry(x_shape, kernel, stride, padding, dilation)
    x = np.zeros(x_shape, dtype=cols.dtype)
    _col2im_t(np.ascontiguousarray(cols.T), *g, x)
    return x


def forward(x, W, b, stride, padding, dilation):
    return _reference.forward_with(im2col, x, W, b, stride, padding, dilation)


def backward(g, x, W, stride, padding, dilation, need_gx=True):
    return _reference.backward_with(im2col, col2im, g, x, W, stride, padding, dilation, need_gx)
