"""Numba versions of im2col / col2im (the GEMM stays with BLAS).

One pass over the output pixels writes each row of ``cols`` contiguously
and reads the input in place, with no padded copy of the input (the
reference allocates one).  ``forward``/``backward`` are the reference's,
run with these two kernels.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from . import reference as _reference
from .reference import output_size

__all__ = ["output_size", "im2col", "col2im", "forward", "backward"]


@njit(cache=True, nogil=True)
def _im2col(x, kh, kw, sh, sw, ph, pw, dh, dw, OH, OW, cols):
    N, C, H, W = x.shape
    zero = x.dtype.type(0)
    row = 0
    for n in range(N):
        for oh in range(OH):
            for ow in range(OW):
                col = 0
                for c in range(C):
                    for i in range(kh):
                        r = oh * sh + i * dh - ph
                        for j in range(kw):
                            q = ow * sw + j * dw - pw
                            if 0 <= r < H and 0 <= q < W:
                                cols[row, col] = x[n, c, r, q]
                            else:
                                cols[row, col] = zero
                            col += 1
                row += 1


@njit(cache=True, nogil=True)
def _col2im(cols, kh, kw, sh, sw, ph, pw, dh, dw, OH, OW, x):
    N, C, H, W = x.shape
    row = 0
    for n in range(N):
        for oh in range(OH):
            for ow in range(OW):
                col = 0
                for c in range(C):
                    for i in range(kh):
                        r = oh * sh + i * dh - ph
                        for j in range(kw):
                            q = ow * sw + j * dw - pw
                            if 0 <= r < H and 0 <= q < W:
                                x[n, c, r, q] += cols[row, col]
                            col += 1
                row += 1


def im2col(x, kernel, stride, padding, dilation):
    N, C, H, W = x.shape
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, padding, dilation
    OH = output_size(H, kh, sh, ph, dh)
    OW = output_size(W, kw, sw, pw, dw)
    cols = np.empty((N * OH * OW, C * kh * kw), dtype=x.dtype)
    _im2col(np.ascontiguousarray(x), kh, kw, sh, sw, ph, pw, dh, dw, OH, OW, cols)
    return cols


def col2im(cols, x_shape, kernel, stride, padding, dilation):
    N, C, H, W = x_shape
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, padding, dilation
    OH = output_size(H, kh, sh, ph, dh)
    OW = output_size(W, kw, sw, pw, dw)
    x = np.zeros((N, C, H, W), dtype=cols.dtype)
    _col2im(np.ascontiguousarray(cols), kh, kw, sh, sw, ph, pw, dh, dw, OH, OW, x)
    return x


def forward(x, W, b, stride, padding, dilation):
    return _reference.forward_with(im2col, x, W, b, stride, padding, dilation)


def backward(g, x, W, stride, padding, dilation, need_gx=True):
    return _reference.backward_with(im2col, col2im, g, x, W, stride, padding, dilation, need_gx)
