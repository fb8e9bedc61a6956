"""2-D convolution (NCHW) through im2col: patches as rows, then one GEMM.

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
