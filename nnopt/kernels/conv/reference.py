"""NumPy reference of the im2col convolution and of pooling (the specification).

``im2col`` copies one strided slice of the padded input per kernel offset
``(i, j)``: kh * kw vectorised copies instead of a loop over pixels;
``forward``, ``backward``, ``input_grad`` and ``weight_grad`` are one matrix
product each with it (the Numba module runs its whole-layer kernels instead).
``im2col_t``/``col2im_t`` (patch matrix transposed, images NCHW or CNHW)
and ``pool_forward``/``pool_backward`` serve the compiled path of whole
networks (:mod:`nnopt.nn.fast_conv`); see :mod:`nnopt.kernels.conv`.
"""
from __future__ import annotations

import numpy as np

from ..dense.reference import activate, activation_derivative

__all__ = ["output_size", "im2col", "col2im", "forward", "backward", "input_grad", "weight_grad", "im2col_t", "col2im_t",
           "conv_forward_t", "conv_backward_t", "pool_forward", "pool_backward", "activation_derivative"]


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


def forward(x, W, b, stride, padding, dilation):
    """The convolution as ``im2col(x) @ W2.T + b``."""
    O = W.shape[0]
    kernel = W.shape[2:]
    N = x.shape[0]
    OH = output_size(x.shape[2], kernel[0], stride[0], padding[0], dilation[0])
    OW = output_size(x.shape[3], kernel[1], stride[1], padding[1], dilation[1])
    y = im2col(x, kernel, stride, padding, dilation) @ W.reshape(O, -1).T
    if b is not None:
        y += b
    return np.ascontiguousarray(y.reshape(N, OH, OW, O).transpose(0, 3, 1, 2))


def _cotangent_rows(g):
    """The output cotangent (N, O, OH, OW) as rows (N OH OW, O), the order of im2col's rows."""
    return np.ascontiguousarray(g.transpose(0, 2, 3, 1)).reshape(-1, g.shape[1])


def _input_grad_rows(g2, W, x_shape, stride, padding, dilation):
    return col2im(g2 @ W.reshape(W.shape[0], -1), x_shape, W.shape[2:], stride, padding, dilation)


def _weight_grad_rows(g2, x, kernel, stride, padding, dilation):
    cols = im2col(x, kernel, stride, padding, dilation)
    return (g2.T @ cols).reshape((g2.shape[1], x.shape[1]) + tuple(kernel))


def backward(g, x, W, stride, padding, dilation, need_gx=True):
    g2 = _cotangent_rows(g)
    gW = _weight_grad_rows(g2, x, W.shape[2:], stride, padding, dilation)
    gx = _input_grad_rows(g2, W, x.shape, stride, padding, dilation) if need_gx else None
    return gx, gW, g2.sum(axis=0)


def input_grad(g, W, x_shape, stride, padding, dilation):
    return _input_grad_rows(_cotangent_rows(g), W, tuple(x_shape), stride, padding, dilation)


def weight_grad(g, x, kernel, stride, padding, dilation):
    return _weight_grad_rows(_cotangent_rows(g), x, tuple(kernel), stride, padding, dilation)


# ---------------------------------------------------------------------------
# the transposed patch matrix, for NCHW or CNHW images
# ---------------------------------------------------------------------------


def _to_nchw(x, layout):
    if layout == "nchw":
        return x
    if layout == "cnhw":
        return x.transpose(1, 0, 2, 3)
    raise ValueError(f"layout must be 'nchw' or 'cnhw', got {layout!r}")


def im2col_t(x, kernel, stride, padding, dilation, layout="nchw"):
    """The patch matrix transposed, ``colsT`` (C kh kw, N OH OW), C-ordered:
    ``colsT = im2col(x).T`` with ``x`` given as (N, C, H, W) (``layout="nchw"``)
    or as (C, N, H, W) (``"cnhw"``).  ``W.reshape(O, -1) @ colsT`` is then
    the convolution in CNHW order, (O, N OH OW), with no transposition."""
    return np.ascontiguousarray(im2col(_to_nchw(x, layout), kernel, stride, padding, dilation).T)


def col2im_t(colsT, x_shape, kernel, stride, padding, dilation, layout="nchw"):
    """The adjoint of :func:`im2col_t`; ``x_shape`` and the result follow ``layout``."""
    if layout == "cnhw":
        C, N, H, W = x_shape
        x = col2im(colsT.T, (N, C, H, W), kernel, stride, padding, dilation)
        return np.ascontiguousarray(x.transpose(1, 0, 2, 3))
    _to_nchw(None, layout)
    return col2im(colsT.T, x_shape, kernel, stride, padding, dilation)


def conv_forward_t(x, W, b, stride, padding, dilation, layout="nchw", act="identity", pool=None):
    """A convolution block with channel-major output: ``a = act(W.reshape(O, -1)
    @ im2col_t(x) + b)`` as (O, N, OH, OW), ``x`` in ``layout``, and, when
    ``pool = (kind, kernel, stride, padding)`` is given, ``y`` =
    :func:`pool_forward` of ``a``'s planes (O, N, PH, PW); returns ``(a, y)``
    (``y`` None without pooling)."""
    xs = _to_nchw(x, layout).shape
    OH = output_size(xs[2], W.shape[2], stride[0], padding[0], dilation[0])
    OW = output_size(xs[3], W.shape[3], stride[1], padding[1], dilation[1])
    z = W.reshape(W.shape[0], -1) @ im2col_t(x, W.shape[2:], stride, padding, dilation, layout)
    if b is not None:
        z += np.reshape(b, (-1, 1))
    a = activate(z, act).reshape(W.shape[0], xs[0], OH, OW)
    if pool is None:
        return a, None
    y = pool_forward(a.reshape(-1, OH, OW), *pool)
    return a, y.reshape(a.shape[:2] + y.shape[1:])


def conv_backward_t(g, x, W, stride, padding, dilation, layout="nchw", need_gx=True, need_gb=True,
                    act="identity", a=None, pool=None, y=None, need_gW=True):
    """Cotangents ``(gx, gW, gb)`` of :func:`conv_forward_t` for the cotangent
    ``g`` of its output (of ``y`` with pooling, else of ``a``); ``a`` (and,
    for max pooling, ``y``) from the forward pass.  ``gx`` follows ``layout``
    (None unless ``need_gx``), ``gb`` is None unless ``need_gb``; without
    ``need_gW`` only ``gx`` (``x`` is then read for its shape only)."""
    O = W.shape[0]
    if pool is not None:
        OH, OW = a.shape[2:]
        yp = None if y is None else np.reshape(y, (-1,) + np.shape(y)[2:])
        gz = pool_backward(np.reshape(g, (-1,) + np.shape(g)[2:]), a.reshape(-1, OH, OW), yp, *pool, act)
    else:
        gz = np.asarray(g) if act == "identity" else g * activation_derivative(a, act)
    g2 = np.reshape(gz, (O, -1))
    gW = gb = gx = None
    if need_gW:
        colsT = im2col_t(x, W.shape[2:], stride, padding, dilation, layout)
        gW = (g2 @ colsT.T).reshape(W.shape)
        gb = g2.sum(axis=1) if need_gb else None
    if need_gx:
        gx = col2im_t(W.reshape(O, -1).T @ g2, x.shape, W.shape[2:], stride, padding, dilation, layout)
    return gx, gW, gb


# ---------------------------------------------------------------------------
# pooling on a stack of planes (P, H, W)
# ---------------------------------------------------------------------------


def _pool_views(a, kernel, stride, padding, pad_value):
    """The kh * kw strided views (P, OH, OW) of ``a`` padded by ``pad_value``."""
    P, H, W = a.shape
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    OH = output_size(H, kh, sh, ph, 1)
    OW = output_size(W, kw, sw, pw, 1)
    ap = np.full((P, H + 2 * ph, W + 2 * pw), pad_value, dtype=a.dtype)
    ap[:, ph:ph + H, pw:pw + W] = a
    views = [ap[:, i:i + sh * (OH - 1) + 1:sh, j:j + sw * (OW - 1) + 1:sw] for i in range(kh) for j in range(kw)]
    return ap, views, OH, OW


def pool_forward(a, kind, kernel, stride, padding):
    """Average (``kind="avg"``, zero padding counted in the mean) or max
    (``"max"``, padding with -inf) pooling of the planes ``a`` (P, H, W)
    with windows ``kernel``, ``stride``, ``padding`` (pairs of ints; floor
    mode, as :mod:`nnopt.nn.pooling` and PyTorch); returns (P, OH, OW)."""
    if kind == "avg":
        _, views, _, _ = _pool_views(a, kernel, stride, padding, 0)
        return np.mean(np.stack(views), axis=0)
    if kind == "max":
        _, views, _, _ = _pool_views(a, kernel, stride, padding, -np.inf)
        return np.max(np.stack(views), axis=0)
    raise ValueError(f"pool kind must be 'avg' or 'max', got {kind!r}")


def pool_backward(g, a, y, kind, kernel, stride, padding, act="identity"):
    """``pool^T(g) * act'(a)``: the cotangent of the pooling's input for the
    output cotangent ``g`` (P, OH, OW), times the derivative of the
    activation that produced ``a = act(z)`` (so the result is dL/dz: the
    backward pass of activation and pooling fused).

    Average pooling sends ``g / (kh kw)`` to every pixel of the window; max
    pooling sends ``g`` to the pixels equal to the window's maximum ``y``
    (the forward result), shared equally among ties, as the derivative of
    :func:`nnopt.numpy.max` does."""
    P, H, W = a.shape
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    pad_value = 0 if kind == "avg" else -np.inf
    ap, views, OH, OW = _pool_views(a, kernel, stride, padding, pad_value)
    gp = np.zeros_like(ap)
    if kind == "avg":
        share = [g / (kh * kw)] * len(views)
    elif kind == "max":
        hits = [v == y for v in views]
        count = np.sum(hits, axis=0)
        share = [np.where(h, g / np.maximum(count, 1).astype(a.dtype), 0) for h in hits]
    else:
        raise ValueError(f"pool kind must be 'avg' or 'max', got {kind!r}")
    k = 0
    for i in range(kh):
        for j in range(kw):
            gp[:, i:i + sh * (OH - 1) + 1:sh, j:j + sw * (OW - 1) + 1:sw] += share[k]
            k += 1
    ga = gp[:, ph:ph + H, pw:pw + W]
    return np.ascontiguousarray(ga * activation_derivative(a, act) if act != "identity" else ga)
