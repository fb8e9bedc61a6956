"""A compiled-path loss and gradient for plain convolutional networks.

For a :class:`~nnopt.nn.Sequential` made only of :class:`Conv2D`,
:class:`AvgPool2D`, :class:`MaxPool2D`, :class:`GlobalAvgPool2D`,
:class:`Flatten` and fused :class:`Dense` layers (activations identity /
tanh / sigmoid / relu; e.g. :func:`nnopt.nn.zoo.lenet5`,
:func:`nnopt.nn.zoo.vgg_small`) with the ``mse`` or ``cross_entropy`` loss,
the loss and its gradient are computed layer by layer with the kernels of
:mod:`nnopt.kernels.conv` and :mod:`nnopt.kernels.dense`, with no
per-operation tracing.  :class:`nnopt.Objective` chooses it automatically
for ``fun``, ``jac`` and ``value_and_grad`` on plain arrays; the test suite
checks it against the general engine.  Everything else (``hessp``,
``hess``, derivatives nested inside transforms, other layers) runs on the
general engine.

Feature maps are kept channel-major, (C, N, H, W) ("CNHW"), between the
layers, so that every convolution is one matrix product with no
transposition (Chellapilla, Puri & Simard 2006, "High performance
convolutional neural networks for document processing")::

    Z (O, N OH OW) = [W.reshape(O, C kh kw), b] @ [colsT; 1]
    dL/d[W, b]     = dL/dZ @ [colsT; 1]^T
    dL/dx          = col2im(W.reshape(O, -1)^T @ dL/dZ)

with ``colsT`` the transposed patch matrix.  A convolution, its bias, its
activation and the pooling layer after it are one kernel call forwards and
one backwards, run in parallel over chunks of images whose patch matrices
stay in the L2 cache (:func:`nnopt.kernels.conv.cpu.conv_forward_t`);
BLAS is held to one thread for the whole call (the kernels' threads are
the parallelism).  The first convolution reads the NCHW input directly;
``Flatten`` restores the NCHW feature order of the general engine.  The
computation runs in the dtype of ``theta`` throughout.
"""
from __future__ import annotations

import contextlib

import numpy as np

from .. import kernels
from ..autodiff.rules.dense import ACTIVATIONS
from ..kernels import conv as _conv_kernels
from ..kernels.mlp import LOSSES
from ..kernels.mlp.reference import loss_and_cotangent
from . import losses as _losses
from .conv import Conv2D
from .layers import Dense
from .models import Sequential
from .pooling import AvgPool2D, Flatten, GlobalAvgPool2D, MaxPool2D

__all__ = ["supports", "value_and_grad"]


def _act_name(layer):
    """The activation's name among ACTIVATIONS (aliases resolved), or None."""
    name = {"linear": "identity", "logistic": "sigmoid"}.get(layer.activation, layer.activation)
    return name if name in ACTIVATIONS else None


def supports(net, loss_name, X=None, Y=None):
    """True when ``net`` with ``loss_name`` (and the data ``X``, ``Y`` when
    given) can take the compiled path.

    The network must be a :class:`Sequential` (not a subclass) on images (``input_shape``
    (C, H, W)) of :class:`Conv2D` layers (any stride, padding, dilation;
    a fused activation), :class:`AvgPool2D` / :class:`MaxPool2D`, then
    :class:`Flatten` or :class:`GlobalAvgPool2D` and :class:`Dense` layers
    with bias and a fused activation, with at least one convolution.  For
    ``cross_entropy`` the targets must be integer labels (N,), for ``mse``
    an array of the output's shape.
    """
    if type(net) is not Sequential or loss_name not in ("mse", "cross_entropy"):
        return False
    if net.input_shape is None or len(net.input_shape) != 3:
        return False
    flat, has_conv = False, False
    for layer in net.layers:
        kind = type(layer)
        if kind is Conv2D:
            if flat or _act_name(layer) is None:
                return False
            has_conv = True
        elif kind in (AvgPool2D, MaxPool2D):
            if flat:
                return False
        elif kind in (Flatten, GlobalAvgPool2D):
            if flat:
                return False
            flat = True
        elif kind is Dense:
            if not flat or not layer.bias or _act_name(layer) is None:
                return False
        else:
            return False
    if not (has_conv and flat):
        return False
    try:
        shape = tuple(net.input_shape)
        for layer in net.layers:
            shape = layer.output_shape(shape)
    except (ValueError, TypeError, IndexError):
        return False
    if X is not None:
        X = np.asarray(X)
        if X.ndim != 4 or tuple(X.shape[1:]) != tuple(net.input_shape) or X.dtype.kind != "f":
            return False
    if Y is not None:
        Y = np.asarray(Y)
        if loss_name == "cross_entropy":
            return Y.ndim == 1 and Y.dtype.kind in "iu"
        return X is None or tuple(Y.shape) == (X.shape[0],) + tuple(shape)
    return True


def _params(net, theta):
    """Per-layer dicts of parameter views of theta."""
    out = [dict() for _ in net.layers]
    for spec in net.layout.specs:
        out[spec.layer][spec.param] = theta[spec.slice].reshape(spec.shape)
    return out


def _loss(out, loss_name, Y):
    """(value, dL/dout) of the mean loss (integer labels Y for cross-entropy)."""
    T = Y if loss_name == "mse" else _losses.one_hot(Y, out.shape[1], out.dtype)
    value, g, _ = loss_and_cotangent(out, T, LOSSES[loss_name])
    return value, g


def value_and_grad(net, loss_name, theta, X, Y):
    """Loss and gradient of ``loss(net(theta, X), Y)`` by layer-wise backprop.

    Parameters
    ----------
    net : a network with ``supports(net, loss_name)``
    loss_name : ``"mse"`` or ``"cross_entropy"``
    theta : (P,) float array; the computation runs in its dtype
    X : (N, C, H, W) images of theta's dtype
    Y : integer labels (N,) for ``cross_entropy``, targets of the output's
        shape for ``mse``

    Returns
    -------
    (value, grad) : a scalar and a (P,) array of theta's dtype.

    Examples
    --------
    >>> import numpy as np, nnopt
    >>> from nnopt.nn import fast_conv
    >>> from nnopt.nn.zoo import lenet5
    >>> net = lenet5(image_size=16, n_classes=3); theta = net.init(seed=0)
    >>> X = np.random.default_rng(0).normal(size=(4, 1, 16, 16)); Y = np.array([0, 1, 2, 1])
    >>> v, g = fast_conv.value_and_grad(net, "cross_entropy", theta, X, Y)
    >>> v0, g0 = nnopt.Objective(net, "cross_entropy", X, Y, fast=False).value_and_grad(theta)
    >>> bool(np.allclose(v, v0) and np.allclose(g, g0))
    True
    """
    ck = _conv_kernels.select()
    # the Numba kernels parallelise over the batch; BLAS stays on one thread
    # throughout (nnopt.kernels.conv.cpu.single_threaded_blas says why)
    with getattr(ck, "single_threaded_blas", contextlib.nullcontext)():
        return _value_and_grad(ck, net, loss_name, theta, X, Y)


def _pool_spec(layer):
    """(kind, kernel, stride, padding) of a pooling layer, as the kernels take it."""
    return ("avg" if type(layer) is AvgPool2D else "max", layer.kernel_size, layer.stride, layer.padding)


def _value_and_grad(ck, net, loss_name, theta, X, Y):
    dk = kernels.select("dense")
    params = _params(net, theta)
    X = np.ascontiguousarray(X)
    N = X.shape[0]
    layers = net.layers
    L = len(layers)
    # the first layer with parameters: no input cotangent is needed below it
    first = min(i for i, layer in enumerate(layers) if layer.params())

    # forward: a is (N, C, H, W) for the input, (C, N, H, W) after a
    # convolution or pooling, (N, F) after Flatten / GlobalAvgPool2D.  A
    # pooling layer right after a convolution runs inside it (one kernel:
    # convolution, bias, activation, pooling); saved[i] is then None.
    a, layout = X, "nchw"
    saved = [None] * L
    i = 0
    while i < L:
        layer, kind = layers[i], type(layers[i])
        if kind is Conv2D:
            shape = a.shape
            C, H, W = (shape[0], shape[2], shape[3]) if layout == "cnhw" else (shape[1], shape[2], shape[3])
            layer.check_input((N, C, H, W))
            fuse = i + 1 < L and type(layers[i + 1]) in (AvgPool2D, MaxPool2D)
            pool = _pool_spec(layers[i + 1]) if fuse else None
            act = _act_name(layer)
            out, y = ck.conv_forward_t(a, params[i]["W"], params[i].get("b"), layer.stride, layer.padding,
                                       layer.dilation, layout, act, pool)
            saved[i] = (a, layout, act, out, pool, y)
            a, layout = (y if fuse else out), "cnhw"
            i += 2 if fuse else 1
            continue
        if kind in (AvgPool2D, MaxPool2D):
            if layout == "nchw":
                a, layout = np.ascontiguousarray(a.transpose(1, 0, 2, 3)), "cnhw"
            C, _, H, W = a.shape
            y = ck.pool_forward(a.reshape(C * N, H, W), *_pool_spec(layer))
            saved[i] = (a, y)
            a = y.reshape(C, N, y.shape[1], y.shape[2])
        elif kind in (Flatten, GlobalAvgPool2D):
            saved[i] = (a.shape, layout)
            nchw = a if layout == "nchw" else a.transpose(1, 0, 2, 3)
            if kind is Flatten:
                a = np.ascontiguousarray(nchw).reshape(N, -1)
            else:
                a = np.ascontiguousarray(np.mean(nchw, axis=(2, 3)))
            layout = "flat"
        else:  # Dense
            act = _act_name(layer)
            out = dk.forward(a, params[i]["W"], params[i]["b"], act)
            saved[i] = (a, out, act)
            a = out
        i += 1

    value, g = _loss(a, loss_name, Y)

    # backward
    grad = np.empty_like(theta)
    specs = {(s.layer, s.param): s.slice for s in net.layout.specs}
    for i in range(L - 1, first - 1, -1):
        layer, rec = layers[i], saved[i]
        kind = type(layer)
        if rec is None:  # a pooling layer inside the convolution below it
            continue
        need_gx = i > first
        if kind is Dense:
            a_in, out, act = rec
            gx, gW, gb = dk.backward(g, out, a_in, params[i]["W"], act, need_gx)
            grad[specs[(i, "W")]] = gW.ravel()
            grad[specs[(i, "b")]] = gb
            g = gx
        elif kind in (Flatten, GlobalAvgPool2D):
            shape, layout = rec
            C, _, H, W = shape  # (C, N, H, W): below lie parameters (i > first), so a convolution came first
            if kind is Flatten:
                g = np.ascontiguousarray(g.reshape(N, C, H, W).transpose(1, 0, 2, 3))
            else:
                g = np.ascontiguousarray(np.broadcast_to((g.T / (H * W))[:, :, None, None], shape))
        elif kind in (AvgPool2D, MaxPool2D):
            a_in, y = rec
            C, _, H, W = a_in.shape
            g = ck.pool_backward(g.reshape(y.shape), a_in.reshape(C * N, H, W), y, *_pool_spec(layer)).reshape(
                C, N, H, W)
        else:  # Conv2D, with the pooling above it when fused
            a_in, layout, act, out, pool, y = rec
            gx, gW, gb = ck.conv_backward_t(g, a_in, params[i]["W"], layer.stride, layer.padding, layer.dilation,
                                            layout, need_gx, layer.bias, act, out, pool, y)
            grad[specs[(i, "W")]] = gW.ravel()
            if layer.bias:
                grad[specs[(i, "b")]] = gb
            g = gx
    return value, grad
