"""Pooling and reshaping layers for NCHW images: average and max pooling,
global average pooling, Flatten.

They have no parameters and are compositions of basic primitives (strided
``getitem`` views, ``sum``/``max``, ``reshape``), so every derivative comes
from the rule tables.  When the windows tile the image (``stride ==
kernel_size``, no padding) one ``reshape`` and one reduction do the work;
otherwise the kh * kw shifted views are reduced.

* average pooling: ``y[n, c, p, q] = mean_{i,j} x_pad[n, c, p sh + i, q sw + j]``
  (zero padding counted in the mean, PyTorch's ``count_include_pad=True``);
* max pooling: the maximum over the same window (padding with -inf); ties
  share the derivative equally (as :func:`nnopt.numpy.max` does).
"""
from __future__ import annotations

import numpy as np

import nnopt.numpy as nnp

from ..autodiff.core import getval
from ..autodiff.rules.shape import getitem, index_add, reshape
from .conv import _window, conv_output_shape, pair
from .layers import Layer

__all__ = ["AvgPool2D", "MaxPool2D", "GlobalAvgPool2D", "Flatten", "avg_pool2d", "max_pool2d"]


def _shape(x):
    return np.shape(getval(x))


def _check4(x, where):
    shape = _shape(x)
    if len(shape) != 4:
        raise ValueError(f"{where}: expected images of shape (N, C, H, W), got shape {shape}")
    return shape


def _pool(x, kernel, stride, padding, reduce, pad_value, where):
    N, C, H, W = _check4(x, where)
    OH, OW = conv_output_shape((H, W), kernel, stride, padding, (1, 1), where)
    (kh, kw), (ph, pw) = kernel, padding
    if stride == kernel and not (ph or pw):
        if (OH * kh, OW * kw) != (H, W):  # floor mode: drop the incomplete last windows
            x = getitem(x, (slice(None), slice(None), slice(0, OH * kh), slice(0, OW * kw)))
        return reduce(reshape(x, (N, C, OH, kh, OW, kw)), (3, 5))
    if ph or pw:
        index = (slice(None), slice(None), slice(ph, ph + H), slice(pw, pw + W))
        padded = (N, C, H + 2 * ph, W + 2 * pw)
        x = index_add(x, index, padded)
        if pad_value != 0:
            dtype = getval(x).dtype
            mask = np.full(padded, pad_value, dtype=dtype)
            mask[index] = 0
            x = x + mask
    views = [
        reshape(getitem(x, _window(i, j, OH, OW, stride, (1, 1))), (N, C, OH, OW, 1))
        for i in range(kh)
        for j in range(kw)
    ]
    stacked = views[0] if len(views) == 1 else nnp.concatenate(views, axis=4)
    return reduce(stacked, 4)


def avg_pool2d(x, kernel_size, stride=None, padding=0):
    """Average pooling of NCHW images (zero padding counted in the mean)."""
    kernel = pair(kernel_size, "kernel_size", "avg_pool2d", 1)
    stride = kernel if stride is None else pair(stride, "stride", "avg_pool2d", 1)
    padding = pair(padding, "padding", "avg_pool2d", 0)
    return _pool(x, kernel, stride, padding, lambda v, axis: nnp.mean(v, axis=axis), 0, "avg_pool2d")


def max_pool2d(x, kernel_size, stride=None, padding=0):
    """Max pooling of NCHW images (padding with -inf)."""
    kernel = pair(kernel_size, "kernel_size", "max_pool2d", 1)
    stride = kernel if stride is None else pair(stride, "stride", "max_pool2d", 1)
    padding = pair(padding, "padding", "max_pool2d", 0)
    _check_pad(kernel, padding, "max_pool2d")
    return _pool(x, kernel, stride, padding, lambda v, axis: nnp.max(v, axis=axis), -np.inf, "max_pool2d")


def _check_pad(kernel, padding, where):
    if padding[0] > kernel[0] // 2 or padding[1] > kernel[1] // 2:
        raise ValueError(
            f"{where}: padding must be at most half the kernel size (so every window overlaps "
            f"the image), got padding={padding} for kernel_size={kernel}"
        )


class _Pool2D(Layer):
    kind = "pool"
    _name = "Pool2D"

    def __init__(self, kernel_size, stride=None, padding=0):
        self.kernel_size = pair(kernel_size, "kernel_size", self._name, 1)
        self.stride = self.kernel_size if stride is None else pair(stride, "stride", self._name, 1)
        self.padding = pair(padding, "padding", self._name, 0)

    def output_shape(self, input_shape):
        if len(input_shape) != 3:
            raise ValueError(f"{self!r}: expected per-example input shape (C, H, W), got {tuple(input_shape)}")
        C, H, W = input_shape
        return (C,) + conv_output_shape((H, W), self.kernel_size, self.stride, self.padding, (1, 1), repr(self))

    def __repr__(self):
        k = self.kernel_size
        extra = "" if self.stride == self.kernel_size else f", stride={self.stride}"
        extra += "" if self.padding == (0, 0) else f", padding={self.padding}"
        return f"{self._name}({k[0] if k[0] == k[1] else k}{extra})"


class AvgPool2D(_Pool2D):
    """Average pooling layer (``stride`` defaults to ``kernel_size``)."""

    _name = "AvgPool2D"

    def apply(self, p, x):
        return _pool(x, self.kernel_size, self.stride, self.padding,
                     lambda v, axis: nnp.mean(v, axis=axis), 0, repr(self))


class MaxPool2D(_Pool2D):
    """Max pooling layer (``stride`` defaults to ``kernel_size``)."""

    _name = "MaxPool2D"

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__(kernel_size, stride, padding)
        _check_pad(self.kernel_size, self.padding, "MaxPool2D")

    def apply(self, p, x):
        return _pool(x, self.kernel_size, self.stride, self.padding,
                     lambda v, axis: nnp.max(v, axis=axis), -np.inf, repr(self))


class GlobalAvgPool2D(Layer):
    """Mean over the spatial axes: (N, C, H, W) -> (N, C)."""

    kind = "pool"

    def apply(self, p, x):
        _check4(x, "GlobalAvgPool2D")
        return nnp.mean(x, axis=(2, 3))

    def output_shape(self, input_shape):
        return (input_shape[0],)

    def __repr__(self):
        return "GlobalAvgPool2D()"


class Flatten(Layer):
    """(N, d1, d2, ...) -> (N, d1 * d2 * ...)."""

    kind = "flatten"

    def apply(self, p, x):
        shape = _shape(x)
        if len(shape) < 2:
            raise ValueError(f"Flatten: expected input with a batch axis and at least one more, got shape {shape}")
        return reshape(x, (shape[0], int(np.prod(shape[1:], dtype=np.int64))))

    def output_shape(self, input_shape):
        return (int(np.prod(input_shape, dtype=np.int64)),)

    def __repr__(self):
        return "Flatten()"
