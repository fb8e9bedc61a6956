"""A compiled-path loss, gradient and Hessian-vector product for plain
stacks of dense layers.

For a :class:`~nnopt.nn.Sequential` made only of fused :class:`Dense`
layers (identity/tanh/sigmoid/relu) with the ``mse`` or ``cross_entropy``
loss, the loss and its gradient are computed layer by layer with the dense
kernels, with no per-operation tracing.  :class:`nnopt.Objective` chooses
it automatically for ``fun``/``jac``/``hessp``/``hess`` on plain arrays;
the test suite checks it against the general engine.  Derivatives nested
inside other transforms always use the general engine.

The Hessian-vector product is Pearlmutter's R-operator (Pearlmutter 1994,
"Fast exact multiplication by the Hessian"): a forward pass of directional
derivatives R{.} followed by the backward pass differentiated along the same
direction, for a whole block of K directions at once (batched matrix
products), so a dense Hessian costs P/K passes instead of P.
"""
from __future__ import annotations

import numpy as np

from .. import kernels
from ..autodiff.rules.dense import ACTIVATIONS
from .layers import Dense

__all__ = ["supports", "value_and_grad", "hvp"]


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


def _unpack(net, theta):
    """Per-layer W and b views of theta (P,) or of a block of vectors (K, P)."""
    specs = net.layout.specs
    Ws, bs = [], []
    for k in range(0, len(specs), 2):
        w, b = specs[k], specs[k + 1]
        Ws.append(theta[..., w.slice].reshape(theta.shape[:-1] + w.shape))
        bs.append(theta[..., b.slice])
    return Ws, bs


def _derivs(a, act):
    """(act'(z), act''(z)) written through the output a = act(z); None = 1 / 0."""
    if act == "tanh":
        d1 = 1 - a * a
        return d1, -2 * a * d1
    if act == "sigmoid":
        d1 = a * (1 - a)
        return d1, d1 * (1 - 2 * a)
    if act == "relu":
        return (a > 0).astype(a.dtype), None
    return None, None


def hvp(net, loss_name, theta, V, X, Y, onehot=None):
    """H(theta) @ V of ``loss(net(theta, X), Y)`` for V of shape (P,) or (P, K).

    R-forward:  R{z_l} = R{a_(l-1)} W_l + a_(l-1) V_Wl + V_bl,  R{a_l} = act'(z_l) R{z_l};
    R-backward: R{delta_l} = R{g_l} act'(z_l) + g_l act''(z_l) R{z_l},
                R{g_(l-1)} = R{delta_l} W_l^T + delta_l V_Wl^T,
                H V |_W_l = R{a_(l-1)}^T delta_l + a_(l-1)^T R{delta_l},  H V |_b_l = sum R{delta_l};
    with R{g_L} = 2 R{a_L} / size (mse) or (diag(p) - p p^T) R{a_L} / n (cross-entropy).
    """
    single = V.ndim == 1
    Vk = V[None, :] if single else np.ascontiguousarray(V.T)  # (K, P)
    K = Vk.shape[0]
    Ws, bs = _unpack(net, theta)
    VWs, Vbs = _unpack(net, Vk)
    kern = kernels.select("dense")
    L = len(Ws)
    acts, Rzs, Racts = [X], [], [None]  # R{a_0} = R{X} = 0
    for i, layer in enumerate(net.layers):
        a_in = acts[-1]
        acts.append(kern.forward(a_in, Ws[i], bs[i], layer.activation))
        Rz = a_in @ VWs[i] if i == 0 else Racts[-1] @ Ws[i] + a_in @ VWs[i]
        Rz += Vbs[i][:, None, :]
        d1, _ = _derivs(acts[-1], layer.activation)
        Rzs.append(Rz)
        Racts.append(Rz if d1 is None else Rz * d1)
    out, Rout = acts[-1], Racts[-1]
    if loss_name == "mse":
        g = (out - Y) * (2.0 / out.size)
        Rg = Rout * (2.0 / out.size)
    else:
        n = out.shape[0]
        e = np.exp(out - out.max(axis=1, keepdims=True))
        p = e / e.sum(axis=1, keepdims=True)
        g = (p - onehot) / n
        Rg = (p * Rout - p * np.sum(p * Rout, axis=-1, keepdims=True)) / n
    HV = np.empty((K, theta.size), dtype=theta.dtype)
    specs = net.layout.specs
    for i in range(L - 1, -1, -1):
        d1, d2 = _derivs(acts[i + 1], net.layers[i].activation)
        delta = g if d1 is None else g * d1
        Rdelta = Rg if d1 is None else Rg * d1
        if d2 is not None:
            Rdelta = Rdelta + (g * d2) * Rzs[i]
        a_in = acts[i]
        HW = a_in.T @ Rdelta
        if i > 0:
            HW = HW + np.swapaxes(Racts[i], 1, 2) @ delta
        w, b = specs[2 * i], specs[2 * i + 1]
        HV[:, w.slice] = HW.reshape(K, -1)
        HV[:, b.slice] = Rdelta.sum(axis=1)
        if i > 0:
            Rg = Rdelta @ Ws[i].T + delta @ np.swapaxes(VWs[i], 1, 2)
            g = delta @ Ws[i].T
    return HV[0] if single else HV.T
