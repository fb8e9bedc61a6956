"""A compiled-path loss and gradient for plain stacks of dense layers.

For a :class:`~nnopt.nn.Sequential` made only of fused :class:`Dense`
layers (identity/tanh/sigmoid/relu) with the ``mse`` or ``cross_entropy``
loss, the loss and its gradient are computed layer by layer with the dense
kernels, with no per-operation tracing.  :class:`nnopt.Objective` chooses
it automatically for first-order calls; the test suite checks it against
the general engine.  Higher derivatives always use the general engine.
"""
from __future__ import annotations

import numpy as np

from .. import kernels
from ..autodiff.rules.dense import ACTIVATIONS
from .layers import Dense

__all__ = ["supports", "value_and_grad"]


def supports(net, loss_name):
    """True when ``net`` with ``loss_name`` can take the compiled path."""
    layers = getattr(net, "layers", None)
    if not layers or loss_name not in ("mse", "cross_entropy"):
        return False
    return all(
        type(layer) is Dense and layer.bias and layer.activation in ACTIVATIONS for layer in layers
    )


def value_and_grad(net, loss_name, theta, X, Y, onehot=None):
    """Loss and gradient of ``loss(net(theta, X), Y)`` by layer-wise backprop."""
    kern = kernels.select("dense")
    specs = net.layout.specs
    Ws, bs = [], []
    for k in range(0, len(specs), 2):
        w, b = specs[k], specs[k + 1]
        Ws.append(theta[w.slice].reshape(w.shape))
        bs.append(theta[b.slice])
    acts = [X]
    a = X
    for layer, W, b in zip(net.layers, Ws, bs):
        a = kern.forward(a, W, b, layer.activation)
        acts.append(a)
    if loss_name == "mse":
        diff = a - Y
        value = np.mean(diff * diff)
        g = diff * (2.0 / diff.size)
    else:
        n = a.shape[0]
        m = a.max(axis=1, keepdims=True)
        e = np.exp(a - m)
        s = e.sum(axis=1, keepdims=True)
        value = np.mean(np.log(s[:, 0]) + m[:, 0] - np.sum(a * onehot, axis=1))
        g = e / s
        g -= onehot
        g /= n
    grad = np.empty_like(theta)
    for i in range(len(Ws) - 1, -1, -1):
        gx, gW, gb = kern.backward(g, acts[i + 1], acts[i], Ws[i], net.layers[i].activation, i > 0)
        w, b = specs[2 * i], specs[2 * i + 1]
        grad[w.slice] = gW.ravel()
        grad[b.slice] = gb
        g = gx
    return value, grad
