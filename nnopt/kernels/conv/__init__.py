"""2-D convolution through im2col (patches, then one GEMM) and pooling, for NCHW images.

Signatures shared by ``reference.py`` (NumPy) and ``cpu.py`` (Numba);
``kernel``, ``stride``, ``padding`` and ``dilation`` are pairs of ints
``(rows, cols)``:

``output_size(size, k, s, p, d) -> int``
    ``floor((size + 2 p - d (k - 1) - 1) / s) + 1`` (as in PyTorch).
``im2col(x, kernel, stride, padding, dilation) -> cols``
    ``x`` (N, C, H, W) to ``cols`` (N * OH * OW, C * kh * kw): row
    ``(n, oh, ow)`` holds the (zero-padded) receptive field of output pixel
    ``(oh, ow)`` of image ``n``, in the order ``(c, i, j)`` of a weight
    tensor (O, C, kh, kw) flattened row-major, so that ``cols @ W.reshape(O, -1).T``
    is the convolution.
``col2im(cols, x_shape, kernel, stride, padding, dilation) -> x``
    The adjoint of ``im2col``: every entry of ``cols`` added back to the
    input pixel it was copied from (padding positions dropped).
``forward(x, W, b, stride, padding, dilation) -> y``
    ``y[n, o, p, q] = b[o] + sum_{c,i,j} W[o, c, i, j] x_pad[n, c, p s + i d, q s + j d]``
    (cross-correlation, as in PyTorch), ``y`` of shape (N, O, OH, OW);
    ``b`` may be ``None``.
``backward(g, x, W, stride, padding, dilation, need_gx=True) -> (gx, gW, gb)``
    Cotangents of ``x``, ``W`` and ``b`` for the output cotangent ``g``
    (``gx`` is None when ``need_gx`` is false).
``input_grad(g, W, x_shape, stride, padding, dilation) -> gx``,
``weight_grad(g, x, kernel, stride, padding, dilation) -> gW``
    Each of these cotangents alone (the two bilinear maps the convolution's
    derivatives of every order are written with, :mod:`nnopt.nn.conv`).

For whole networks (:mod:`nnopt.nn.fast_conv`), with feature maps kept
channel-major, ``layout="cnhw"`` (C, N, H, W), or the NCHW input
(``layout="nchw"``):

``im2col_t(x, kernel, stride, padding, dilation, layout) -> colsT``
    ``im2col(x).T`` as a C-ordered (C kh kw, N OH OW) array.
``col2im_t(colsT, x_shape, kernel, stride, padding, dilation, layout) -> x``
    Its adjoint, ``x`` in ``layout``.
``conv_forward_t(x, W, b, stride, padding, dilation, layout, act="identity", pool=None) -> (a, y)``
    ``a = act(conv(x, W) + b)`` as (O, N, OH, OW) (``W.reshape(O, -1) @
    colsT``: no transposition), ``act`` one of identity/tanh/sigmoid/relu;
    with ``pool = (kind, kernel, stride, padding)`` also ``y =
    pool_forward`` of ``a``'s planes, (O, N, PH, PW), else ``y`` None.
``conv_backward_t(g, x, W, stride, padding, dilation, layout, need_gx=True, need_gb=True,``
``act="identity", a=None, pool=None, y=None, need_gW=True) -> (gx, gW, gb)``
    Cotangents for the cotangent ``g`` of the block's output (of ``y`` with
    pooling, else of ``a``); ``a`` and, for max pooling, ``y`` from the
    forward pass.  ``gx`` in ``layout`` or None, ``gb`` None unless ``need_gb``;
    with ``need_gW`` false only ``gx`` is computed (``gW``, ``gb`` None) and
    ``x``'s values are not read.
``pool_forward(a, kind, kernel, stride, padding) -> y``
    Average (zero padding counted) or max (padding -inf) pooling of planes
    ``a`` (P, H, W), floor mode.
``pool_backward(g, a, y, kind, kernel, stride, padding, act="identity") -> ga``
    ``pool^T(g) * act'(a)`` with act' written through ``a = act(z)``: the
    cotangent of the pre-activation; max pooling shares ``g`` equally among
    the window's ties with its maximum ``y``.
"""
from __future__ import annotations

from ... import config

__all__ = ["select"]


def select():
    """The convolution kernels for the configured backend.

    ``"numpy"`` gives ``reference``, ``"numba"`` gives ``cpu``.  There is no
    CUDA convolution kernel yet: under the ``"cuda"`` backend (whose arrays
    are host NumPy arrays at this level) the Numba CPU kernels run.
    """
    from . import cpu, reference

    return reference if config.get("backend") == "numpy" else cpu
