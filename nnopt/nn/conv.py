"""2-D convolution (NCHW): the ``conv2d`` primitive and the ``Conv2D`` layer.

``conv2d(x, W, b, stride, padding, dilation)`` is one primitive, built like
the fused dense layer (:mod:`nnopt.autodiff.rules.dense`):

* forward and first-order backward run the im2col kernels of
  :mod:`nnopt.kernels.conv` (NumPy or Numba, chosen by :mod:`nnopt.config`)
  followed by one matrix product;
* its two cotangent maps are primitives too (``conv2d_input_grad``,
  ``conv2d_weight_grad``, each with its kernel), and the derivatives of all
  three are written with the three: the convolution and its cotangent maps
  are bilinear, so derivatives of any order (Hessian-vector products,
  nested ``jvp``) run the im2col kernels; a LeNet-5 HVP at batch 128
  took 364 ms with the previous rules written in basic primitives and
  NumPy's einsum loops, and takes about 100 ms now;
* :func:`conv2d_decomposed` is the whole convolution written with the basic
  primitives (``index_add`` for the zero padding, strided ``getitem`` for the
  kh * kw shifted views, ``einsum`` for the contraction): the specification,
  checked against the kernels, and what the mpmath interpreter (object
  arrays) runs, so arbitrary-precision values never rest on a float kernel.

The convolution is a cross-correlation, as in PyTorch and in Grosse &
Martens (2016)::

    y[n, o, p, q] = b[o] + sum_{c, i, j} W[o, c, i, j] * x_pad[n, c, p*sh + i*dh, q*sw + j*dw]

with ``x_pad`` the input padded by zeros, ``OH = (H + 2 ph - dh (kh - 1) - 1) // sh + 1``.
"""
from __future__ import annotations

import numpy as np

import nnopt.numpy as nnp

from ..kernels import conv as _conv_kernels
from ..autodiff.core import Primitive, Tracer, getval
from ..autodiff.rules.elementwise import is_mp
from ..autodiff.rules.linalg import einsum
from ..autodiff.rules.reductions import sum as _sum
from ..autodiff.rules.shape import getitem, index_add, reshape
from ..kernels.conv.reference import output_size
from . import activations as _act
from . import initializers
from .layers import Layer, Param

__all__ = ["conv2d", "conv2d_decomposed", "Conv2D", "pair", "conv_output_shape"]


# ---------------------------------------------------------------------------
# geometry and checks
# ---------------------------------------------------------------------------


def pair(value, name, where, low):
    """``value`` as a pair of ints >= ``low`` (an int stands for both axes)."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
        value = (value, value)
    if (
        not isinstance(value, (tuple, list))
        or len(value) != 2
        or not all(isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)) for v in value)
    ):
        raise TypeError(f"{where}: {name} must be an int or a pair of ints, got {value!r}")
    if min(value) < low:
        raise ValueError(f"{where}: {name} must be >= {low}, got {tuple(int(v) for v in value)}")
    return (int(value[0]), int(value[1]))


def conv_output_shape(hw, kernel, stride, padding, dilation, where="conv2d"):
    """(OH, OW) for an input of spatial size ``hw``; raises when the (dilated)
    kernel does not fit into the padded input."""
    out = []
    for axis, (n, k, s, p, d) in enumerate(zip(hw, kernel, stride, padding, dilation)):
        span = d * (k - 1) + 1
        if span > n + 2 * p:
            raise ValueError(
                f"{where}: the kernel spans {span} pixels along {'HW'[axis]} (kernel_size={k}, "
                f"dilation={d}) but the padded input has only {n + 2 * p} (size {n}, padding={p}); "
                "use a smaller kernel or more padding"
            )
        out.append(output_size(n, k, s, p, d))
    return tuple(out)


def _shape(x):
    return np.shape(getval(x))


# ---------------------------------------------------------------------------
# the decomposition into basic primitives (the specification)
# ---------------------------------------------------------------------------


def _window(i, j, OH, OW, stride, dilation):
    """Index of the view x_pad[:, :, i*dh + sh*p, j*dw + sw*q] for all (p, q)."""
    (sh, sw), (dh, dw) = stride, dilation
    r, c = i * dh, j * dw
    return (slice(None), slice(None), slice(r, r + sh * (OH - 1) + 1, sh), slice(c, c + sw * (OW - 1) + 1, sw))


def _pad(x, padding):
    ph, pw = padding
    if not (ph or pw):
        return x
    N, C, H, W = _shape(x)
    index = (slice(None), slice(None), slice(ph, ph + H), slice(pw, pw + W))
    return index_add(x, index, (N, C, H + 2 * ph, W + 2 * pw))


def _patches(x, kernel, stride, padding, dilation):
    """(N, C, kh, kw, OH, OW): the kh * kw shifted views of the padded input."""
    N, C, H, W = _shape(x)
    OH, OW = conv_output_shape((H, W), kernel, stride, padding, dilation)
    xp = _pad(x, padding)
    views = [
        reshape(getitem(xp, _window(i, j, OH, OW, stride, dilation)), (N, C, 1, OH, OW))
        for i in range(kernel[0])
        for j in range(kernel[1])
    ]
    stacked = views[0] if len(views) == 1 else nnp.concatenate(views, axis=2)
    return reshape(stacked, (N, C, kernel[0], kernel[1], OH, OW))


def _patches_adjoint(P, x_shape, stride, padding, dilation):
    """Adjoint of :func:`_patches`: scatter-add the views back into x's shape."""
    N, C, kh, kw, OH, OW = _shape(P)
    _, _, H, W = x_shape
    ph, pw = padding
    padded = (N, C, H + 2 * ph, W + 2 * pw)
    total = None
    for i in range(kh):
        for j in range(kw):
            part = index_add(getitem(P, (slice(None), slice(None), i, j)), _window(i, j, OH, OW, stride, dilation), padded)
            total = part if total is None else total + part
    if ph or pw:
        total = getitem(total, (slice(None), slice(None), slice(ph, ph + H), slice(pw, pw + W)))
    return total


def conv2d_decomposed(x, W, b=None, stride=(1, 1), padding=(0, 0), dilation=(1, 1)):
    """The convolution written with basic primitives only (``index_add``,
    ``getitem``, ``concatenate``, ``reshape``, ``einsum``, ``add``)."""
    P = _patches(x, _shape(W)[2:], stride, padding, dilation)
    y = einsum("ncijhw,ocij->nohw", P, W)
    if b is not None:
        y = y + reshape(b, (1, -1, 1, 1))
    return y


# ---------------------------------------------------------------------------
# the primitive
# ---------------------------------------------------------------------------


def _plain_float(*arrays):
    dtypes = {a.dtype for a in arrays if a is not None}
    return len(dtypes) == 1 and next(iter(dtypes)).kind == "f" and all(
        a is None or (type(a) is np.ndarray and a.ndim in (1, 4)) for a in arrays
    )


def _conv_impl(x, W, b, stride, padding, dilation):
    if is_mp(x) or is_mp(W) or (b is not None and is_mp(b)) or not _plain_float(x, W, b):
        return conv2d_decomposed(x, W, b, stride, padding, dilation)
    return _conv_kernels.select().forward(x, W, b, stride, padding, dilation)


def _input_grad_impl(g, W, x_shape, stride, padding, dilation):
    if is_mp(g) or is_mp(W) or not _plain_float(g, W):
        GP = einsum("nohw,ocij->ncijhw", g, W)
        return _patches_adjoint(GP, x_shape, stride, padding, dilation)
    return _conv_kernels.select().input_grad(g, W, x_shape, stride, padding, dilation)


def _weight_grad_impl(g, x, kernel, stride, padding, dilation):
    if is_mp(g) or is_mp(x) or not _plain_float(g, x):
        return einsum("nohw,ncijhw->ocij", g, _patches(x, kernel, stride, padding, dilation))
    return _conv_kernels.select().weight_grad(g, x, kernel, stride, padding, dilation)


_conv = Primitive("conv2d", _conv_impl)
_input_grad = Primitive("conv2d_input_grad", _input_grad_impl)
_weight_grad = Primitive("conv2d_weight_grad", _weight_grad_impl)
"""The convolution y = conv(x, W) is bilinear, and so are its two cotangent
maps, gx = input_grad(g, W) and gW = weight_grad(g, x).  The derivatives of
each of the three are written with the three (from <gx', input_grad(g, W)> =
<conv(gx', W), g> and <gW', weight_grad(g, x)> = <conv(x, gW'), g>), so
derivatives of every order run the im2col kernels; the mpmath interpreter
(object arrays) runs the decomposition into basic primitives instead."""


def _conv_vjp(g, ans, x, W, b, stride, padding, dilation, argnums=()):
    plain = not any(isinstance(v, Tracer) for v in (g, x, W, b))
    if plain and not is_mp(g) and _plain_float(g, x, W, b):
        gx, gW, gb = _conv_kernels.select().backward(g, x, W, stride, padding, dilation, 0 in argnums)
        full = {0: gx, 1: gW, 2: gb}
        return [full[i] for i in argnums]
    out = []
    for i in argnums:
        if i == 0:
            out.append(_input_grad(g, W, x_shape=_shape(x), stride=stride, padding=padding, dilation=dilation))
        elif i == 1:
            out.append(_weight_grad(g, x, kernel=_shape(W)[2:], stride=stride, padding=padding, dilation=dilation))
        else:
            out.append(_sum(g, axis=(0, 2, 3)))
    return out


def _conv_jvp(tangents, ans, x, W, b, stride, padding, dilation):
    tx, tW, tb = tangents
    total = None
    for term in (
        None if tx is None else _conv(tx, W, None, stride=stride, padding=padding, dilation=dilation),
        None if tW is None else _conv(x, tW, None, stride=stride, padding=padding, dilation=dilation),
        None if tb is None else nnp.broadcast_to(reshape(tb, (1, -1, 1, 1)), _shape(ans)),
    ):
        if term is not None:
            total = term if total is None else total + term
    return total


def _input_grad_vjp(c, ans, g, W, x_shape, stride, padding, dilation, argnums=()):
    geometry = dict(stride=stride, padding=padding, dilation=dilation)
    return [_conv(c, W, None, **geometry) if i == 0 else _weight_grad(g, c, kernel=_shape(W)[2:], **geometry)
            for i in argnums]


def _weight_grad_vjp(c, ans, g, x, kernel, stride, padding, dilation, argnums=()):
    geometry = dict(stride=stride, padding=padding, dilation=dilation)
    return [_conv(x, c, None, **geometry) if i == 0 else _input_grad(g, c, x_shape=_shape(x), **geometry)
            for i in argnums]


def _bilinear_jvp(prim):
    """The JVP rule of a primitive bilinear in its two array arguments:
    ``prim(ta, b) + prim(a, tb)``."""

    def rule(tangents, ans, a, b, **params):
        ta, tb = tangents[:2]
        total = None if ta is None else prim(ta, b, **params)
        if tb is not None:
            t = prim(a, tb, **params)
            total = t if total is None else total + t
        return total

    return rule


_conv.defvjp_all(_conv_vjp)
_conv.defjvp_all(_conv_jvp)
_input_grad.defvjp_all(_input_grad_vjp)
_input_grad.defjvp_all(_bilinear_jvp(_input_grad))
_weight_grad.defvjp_all(_weight_grad_vjp)
_weight_grad.defjvp_all(_bilinear_jvp(_weight_grad))


def conv2d(x, W, b=None, stride=1, padding=0, dilation=1):
    """2-D convolution (cross-correlation) of NCHW images, differentiable.

    Parameters
    ----------
    x : array (N, C, H, W)
    W : array (O, C, kh, kw)
        Weights laid out as in PyTorch.
    b : array (O,), optional
    stride, padding, dilation : int or pair of ints

    Returns
    -------
    array (N, O, OH, OW) with ``OH = (H + 2 ph - dh (kh - 1) - 1) // sh + 1``.
    """
    stride = pair(stride, "stride", "conv2d", 1)
    padding = pair(padding, "padding", "conv2d", 0)
    dilation = pair(dilation, "dilation", "conv2d", 1)
    xs, ws = _shape(x), _shape(W)
    if len(xs) != 4:
        raise ValueError(f"conv2d: x must have shape (N, C, H, W), got {xs}")
    if len(ws) != 4:
        raise ValueError(f"conv2d: W must have shape (out_channels, in_channels, kh, kw), got {ws}")
    if xs[1] != ws[1]:
        raise ValueError(f"conv2d: x has {xs[1]} channels but W expects {ws[1]} (W shape {ws}, x shape {xs})")
    if b is not None and _shape(b) != (ws[0],):
        raise ValueError(f"conv2d: b must have shape ({ws[0]},), got {_shape(b)}")
    conv_output_shape(xs[2:], ws[2:], stride, padding, dilation)
    return _conv(x, W, b, stride=stride, padding=padding, dilation=dilation)


# ---------------------------------------------------------------------------
# the layer
# ---------------------------------------------------------------------------


class Conv2D(Layer):
    """2-D convolution layer on NCHW images: ``y = act(conv2d(x, W) + b)``.

    Parameters
    ----------
    in_channels, out_channels : int
    kernel_size : int or (kh, kw)
    stride, padding, dilation : int or pair of ints
    bias : bool
    activation : str or callable, optional
        Applied after the convolution (identity by default).
    init : str or callable
        Weight initialiser with ``fan_in = C kh kw`` and ``fan_out = O kh kw``
        (Glorot normal by default); the bias starts at zero.

    The parameters are ``W`` of shape (out_channels, in_channels, kh, kw), as
    in PyTorch, then ``b`` (out_channels,), visible through ``net.layout``.

    Examples
    --------
    >>> import numpy as np
    >>> from nnopt.nn import Sequential
    >>> from nnopt.nn.conv import Conv2D
    >>> net = Sequential(Conv2D(1, 4, 3, padding=1), input_shape=(1, 8, 8))
    >>> net(net.init(seed=0), np.ones((2, 1, 8, 8))).shape
    (2, 4, 8, 8)
    """

    kind = "conv2d"

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 bias=True, activation=None, init="glorot_normal"):
        for name, v in (("in_channels", in_channels), ("out_channels", out_channels)):
            if not isinstance(v, (int, np.integer)) or isinstance(v, (bool, np.bool_)) or v <= 0:
                raise ValueError(f"Conv2D: {name} must be a positive integer, got {v!r}")
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.kernel_size = pair(kernel_size, "kernel_size", "Conv2D", 1)
        self.stride = pair(stride, "stride", "Conv2D", 1)
        self.padding = pair(padding, "padding", "Conv2D", 0)
        self.dilation = pair(dilation, "dilation", "Conv2D", 1)
        self.bias = bool(bias)
        self.activation, self._act_fn = _act.get(activation)
        self.init = initializers.get(init)

    def params(self):
        kh, kw = self.kernel_size
        fan_in = self.in_channels * kh * kw
        fan_out = self.out_channels * kh * kw
        ps = [Param("W", (self.out_channels, self.in_channels, kh, kw), self.init, fan_in, fan_out)]
        if self.bias:
            ps.append(Param("b", (self.out_channels,), initializers.zeros, fan_in, fan_out))
        return tuple(ps)

    def check_input(self, shape):
        """Raise a ValueError naming the layer when ``shape`` (N, C, H, W) does not fit."""
        if len(shape) != 4 or shape[1] != self.in_channels:
            raise ValueError(
                f"{self!r}: expected input of shape (N, {self.in_channels}, H, W), got {tuple(shape)}"
            )
        return conv_output_shape(shape[2:], self.kernel_size, self.stride, self.padding, self.dilation, repr(self))

    def preactivation(self, p, x):
        """``conv2d(x, W) + b`` before the activation (used by K-FAC's capture)."""
        self.check_input(_shape(x))
        return _conv(x, p["W"], p.get("b"), stride=self.stride, padding=self.padding, dilation=self.dilation)

    def apply(self, p, x):
        return self._act_fn(self.preactivation(p, x))

    def output_shape(self, input_shape):
        OH, OW = self.check_input((1,) + tuple(input_shape))
        return (self.out_channels, OH, OW)

    def __repr__(self):
        extra = "".join(
            f", {name}={getattr(self, name)}"
            for name, default in (("stride", (1, 1)), ("padding", (0, 0)), ("dilation", (1, 1)))
            if getattr(self, name) != default
        )
        act = "" if self.activation == "identity" else f", activation={self.activation!r}"
        k = self.kernel_size
        return f"Conv2D({self.in_channels}, {self.out_channels}, kernel_size={k[0] if k[0] == k[1] else k}{extra}{act})"
