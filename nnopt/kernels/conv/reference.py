"""NumPy reference of the im2col convolution (the specification).

``im2col`` copies one strided slice of the padded input per kernel offset
``(i, j)``: kh * kw vectorised copies instead of a loop over pixels.
``forward``/``backward`` are written once here against an ``im2col`` /
``col2im`` pair, so the Numba module reuses them with its own pair.
"""
from __future__ import annotations

import numpy as np

__all__ = ["output_size", "im2col", "col2im", "forward", "backward"]


def output_size(size, k, s, p, d):
    """Output length of a convolution along one axis (PyTorch's formula)."""
    return (size + 2 * p - d * (k - 1) - 1) // s + 1


def _geometry(x_shape, kernel, stride, padding, dilation):
    N, C, H, W = x_shape
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, padding, dilation
    OH = output_size(H, kh, sh, ph, dh)
    OW = output_size(W, kw, sw, pw, dw)
    return N, C, H, W, kh, kw, sh, sw, ph, pw, dh, dw, OH, OW


def im2col(x, kernel, stride, padding, dilation):
    N, C, H, W, kh, kw, sh, sw, ph, pw, dh, dw, OH, OW = _geometry(x.shape, kernel, stride, padding, dilation)
    xp = np.zeros((N, C, H + 2 * ph, W + 2 * pw), dtype=x.dtype)
    xp[:, :, ph:ph + H, pw:pw + W] = x
    cols = np.empty((N, OH, OW, C, kh, kw), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            r, c = i * dh, j * dw
            patch = xp[:, :, r:r + sh * (OH - 1) + 1:sh, c:c + sw * (OW - 1) + 1:sw]
            cols[:, :, :, :, i, j] = patch.transpose(0, 2, 3, 1)
    return cols.reshape(N * OH * OW, C * kh * kw)


def col2im(cols, x_shape, kernel, stride, padding, dilation):
    N, C, H, W, kh, kw, sh, sw, ph, pw, dh, dw, OH, OW = _geometry(x_shape, kernel, stride, padding, dilation)
    c6 = cols.reshape(N, OH, OW, C, kh, kw)
    xp = np.zeros((N, C, H + 2 * ph, W + 2 * pw), dtype=cols.dtype)
    for i in range(kh):
        for j in range(kw):
            r, c = i * dh, j * dw
            xp[:, :, r:r + sh * (OH - 1) + 1:sh, c:c + sw * (OW - 1) + 1:sw] += c6[:, :, :, :, i, j].transpose(0, 3, 1, 2)
    return np.ascontiguousarray(xp[:, :, ph:ph + H, pw:pw + W])


def forward_with(im2col_fn, x, W, b, stride, padding, dilation):
    """The convolution as ``im2col(x) @ W2.T + b`` (shared with cpu.py)."""
    O = W.shape[0]
    kernel = W.shape[2:]
    N = x.shape[0]
    OH = output_size(x.shape[2], kernel[0], stride[0], padding[0], dilation[0])
    OW = output_size(x.shape[3], kernel[1], stride[1], padding[1], dilation[1])
    cols = im2col_fn(x, kernel, stride, padding, dilation)
    y = cols @ W.reshape(O, -1).T
    if b is not None:
        y += b
    return np.ascontiguousarray(y.reshape(N, OH, OW, O).transpose(0, 3, 1, 2))


def backward_with(im2col_fn, col2im_fn, g, x, W, stride, padding, dilation, need_gx=True):
    """Cotangents of the convolution (shared with cpu.py)."""
    O = W.shape[0]
    kernel = W.shape[2:]
    g2 = np.ascontiguousarray(g.transpose(0, 2, 3, 1)).reshape(-1, O)
    cols = im2col_fn(x, kernel, stride, padding, dilation)
    gW = (g2.T @ cols).reshape(W.shape)
    gb = g2.sum(axis=0)
    gx = None
    if need_gx:
        # (W2^T g2^T)^T = g2 W2, computed so that its transpose is contiguous (what cpu.col2im reads)
        gx = col2im_fn((W.reshape(O, -1).T @ g2.T).T, x.shape, kernel, stride, padding, dilation)
    return gx, gW, gb


def forward(x, W, b, stride, padding, dilation):
    return forward_with(im2col, x, W, b, stride, padding, dilation)


def backward(g, x, W, stride, padding, dilation, need_gx=True):
    return backward_with(im2col, col2im, g, x, W, stride, padding, dilation, need_gx)
