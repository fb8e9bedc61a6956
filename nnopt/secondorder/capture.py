"""Layer inputs and pre-activation gradients for Kronecker-factored methods.

K-FAC, FOOF and K-BFGS need, for every layer with weights, its inputs ``a``
and the gradients ``g = dl/dz`` of the per-example loss with respect to its
pre-activations ``z``.  :class:`Capture` runs one forward pass that records
them and then any number of backward passes from chosen output cotangents
(the true loss gradient, sampled targets, or the rows of the loss Hessian's
square root).

**Blocks.**  Each :class:`~nnopt.nn.Dense` or :class:`~nnopt.nn.conv.Conv2D`
layer is one block.  Its parameters (``W`` then ``b``, contiguous in
``theta``) are viewed as one matrix ``M`` of shape ``(n_out, n_in + 1)``
whose last column is the bias (the bias is folded into the input factor by
appending a constant 1 to every input row):

* Dense (``y = x @ W + b``, ``W`` of shape (n_in, n_out)): ``M = [W; b]^T``;
* Conv2D (``W`` of shape (O, C, kh, kw)): ``M = [W.reshape(O, C kh kw) | b]``,
  the input rows being the im2col patches (one row per output pixel).

With ``a`` the input rows (plus the 1) and ``g`` the matching rows of
per-example pre-activation gradients, the gradient of the mean loss is
``dL/dM = g^T a / N`` in both cases (for a convolution the rows run over
examples *and* output pixels, Grosse & Martens 2016).

Layers without parameters (activations, pooling, Flatten, BatchNorm or
LayerNorm with ``affine=False``) may sit between blocks; their backward
passes come from :func:`nnopt.vjp`.  Any other layer with parameters (an
affine BatchNorm, a residual block) raises a ``ValueError`` naming it: no
method here silently falls back to a first-order update.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..kernels import conv as _conv_kernels
from ..autodiff.transforms import vjp
from ..kernels.dense.reference import activation_derivative
from ..nn.conv import Conv2D
from ..nn.layers import Dense
from ..nn.normalization import EvalModel

__all__ = ["Block", "kronecker_blocks", "to_matrix", "from_matrix", "Capture"]

_FUSED = ("identity", "tanh", "sigmoid", "relu")


class Block(NamedTuple):
    """One layer's parameters seen as a matrix ``M`` (n_out, n_in + bias)."""

    index: int       # position among the blocks
    layer: int       # index of the layer in net.layers
    kind: str        # "dense" or "conv2d"
    slice: slice     # the layer's parameters in theta (W, then b)
    w_shape: tuple
    bias: bool
    n_in: int        # input features per row (C kh kw for a convolution), without the 1
    n_out: int

    @property
    def a_dim(self):
        """Columns of the input factor (``n_in + 1`` with a bias)."""
        return self.n_in + int(self.bias)

    @property
    def name(self):
        return f"{self.layer}.{self.kind}"


def kronecker_blocks(net, where="kronecker_blocks"):
    """The :class:`Block` of every Dense/Conv2D layer of ``net``.

    Raises
    ------
    TypeError
        When ``net`` is not a layer stack (``net.layers``, ``net.layout``).
    ValueError
        When a layer has parameters but no Kronecker-factored block.
    """
    layers = getattr(net, "layers", None)
    layout = getattr(net, "layout", None)
    if layers is None or layout is None:
        raise TypeError(
            f"{where}: needs a layer stack (nnopt.nn.Sequential or a model from nnopt.nn.zoo) to "
            f"compute per-layer curvature, got {type(net).__name__}"
        )
    if isinstance(net, EvalModel):
        raise ValueError(
            f"{where}: the model is an evaluation-mode view (EvalModel); curvature statistics are "
            "collected in training mode - pass the StatefulSequential itself"
        )
    out = []
    for li, layer in enumerate(layers):
        specs = [s for s in layout if s.layer == li]
        if isinstance(layer, (Dense, Conv2D)) and type(layer) in (Dense, Conv2D):
            W = specs[0]
            b = specs[1] if len(specs) > 1 else None
            if isinstance(layer, Dense):
                n_in, n_out = layer.n_in, layer.n_out
            else:
                n_out = layer.out_channels
                n_in = layer.in_channels * layer.kernel_size[0] * layer.kernel_size[1]
            stop = (b or W).slice.stop
            out.append(Block(len(out), li, layer.kind, slice(W.slice.start, stop), W.shape, b is not None, n_in, n_out))
        elif specs:
            raise ValueError(
                f"{where}: layer {li} ({layer!r}) has parameters but no Kronecker-factored curvature "
                f"block; supported layers with parameters are Dense and Conv2D (parameter-free layers "
                "such as activations, pooling, Flatten, BatchNorm(affine=False) may sit between them)"
            )
    if not out:
        raise ValueError(f"{where}: the model has no Dense or Conv2D layer")
    covered = sum(b.slice.stop - b.slice.start for b in out)
    if covered != net.n_params:
        raise ValueError(f"{where}: the Dense/Conv2D blocks cover {covered} of {net.n_params} parameters")
    return tuple(out)


def to_matrix(block, v):
    """The block's part of a flat vector ``v`` (already sliced) as ``M`` (n_out, a_dim)."""
    nw = int(np.prod(block.w_shape))
    Wv = v[:nw]
    if block.kind == "dense":
        M = Wv.reshape(block.n_in, block.n_out).T
        if block.bias:
            M = np.concatenate([M, v[nw:nw + block.n_out][:, None]], axis=1)
        return M
    M = Wv.reshape(block.n_out, block.n_in)
    if block.bias:
        M = np.concatenate([M, v[nw:nw + block.n_out][:, None]], axis=1)
    return M


def from_matrix(block, M):
    """Inverse of :func:`to_matrix`: the flat block vector of ``M``."""
    if block.kind == "dense":
        return np.ascontiguousarray(M.T).ravel()
    if block.bias:
        return np.concatenate([M[:, :block.n_in].ravel(), M[:, block.n_in]])
    return np.ascontiguousarray(M).ravel()


class Capture:
    """One forward pass of ``net`` at ``theta`` on ``X``, recording per block
    the input rows ``a`` (with the constant-1 column) and the pre-activation
    rows ``z``; :meth:`backward` then maps output cotangents to the
    pre-activation cotangent rows ``g`` of every block.

    Attributes
    ----------
    out : array
        The network output ``net(theta, X)``.
    a : list of arrays (rows, a_dim)
    z : list of arrays (rows, n_out)
    n : int
        Number of examples N (rows = N for Dense, N * OH * OW for Conv2D).
    """

    def __init__(self, net, theta, X, blocks=None, where="capture"):
        self.blocks = kronecker_blocks(net, where) if blocks is None else blocks
        if X.dtype != theta.dtype:
            raise TypeError(f"{where}: X has dtype {X.dtype} but theta has dtype {theta.dtype}; cast one explicitly")
        self.n = X.shape[0]
        by_layer = {b.layer: b for b in self.blocks}
        self.a, self.z = [], []
        self._back = []
        kern = _conv_kernels.select()
        x = X
        for li, layer in enumerate(net.layers):
            blk = by_layer.get(li)
            if blk is None:
                y, fn = vjp(lambda t, layer=layer: layer.apply({}, t), x)
                self._back.append(("vjp", fn, None, None))
                x = y
                continue
            p = theta[blk.slice]
            nw = int(np.prod(blk.w_shape))
            W = p[:nw].reshape(blk.w_shape)
            b = p[nw:] if blk.bias else None
            if blk.kind == "dense":
                if x.ndim != 2:
                    raise ValueError(
                        f"{where}: layer {li} ({layer!r}) gets input of shape {x.shape}; Kronecker factors "
                        "need 2-D (batch, features) inputs to Dense layers - insert Flatten()"
                    )
                rows = x
                z = x @ W
                if b is not None:
                    z += b
                zr = z
                shape_info = None
            else:
                layer.check_input(x.shape)
                rows = kern.im2col(x, layer.kernel_size, layer.stride, layer.padding, layer.dilation)
                W2 = W.reshape(blk.n_out, blk.n_in)
                zr = rows @ W2.T
                if b is not None:
                    zr += b
                N = x.shape[0]
                OH, OW = layer.output_shape(x.shape[1:])[1:]
                z = zr.reshape(N, OH, OW, blk.n_out).transpose(0, 3, 1, 2)
                shape_info = (x.shape, layer)
            if blk.bias:
                rows = np.concatenate([rows, np.ones((rows.shape[0], 1), dtype=rows.dtype)], axis=1)
            self.a.append(rows)
            self.z.append(zr)
            act = layer.activation
            if act in _FUSED:
                y = layer._act_fn(z)
                self._back.append(("fused", act, y, (blk, W, shape_info)))
            else:
                y, fn = vjp(layer._act_fn, z)
                self._back.append(("act", fn, None, (blk, W, shape_info)))
            x = y
        self.out = x

    def backward(self, cot):
        """Pre-activation cotangent rows ``g`` of every block for the output
        cotangent ``cot`` (shaped like :attr:`out`): ``g = d<cot, out>/dz``.

        With ``cot`` the per-example loss gradients ``dl_n/df_n`` the rows are
        per-example gradients ``dl_n/dz_n`` (not divided by N).
        """
        if np.shape(cot) != self.out.shape:
            raise ValueError(f"Capture.backward: cot must have the output's shape {self.out.shape}, got {np.shape(cot)}")
        gs = [None] * len(self.blocks)
        g = cot
        kern = None
        for k in range(len(self._back) - 1, -1, -1):
            kind, fn, y, info = self._back[k]
            if kind == "vjp":
                g = fn(g)[0]
                continue
            if kind == "fused":
                gz = g if fn == "identity" else g * activation_derivative(y, fn)
            else:
                gz = fn(g)[0]
            blk, W, shape_info = info
            first = blk.index == 0
            if blk.kind == "dense":
                gs[blk.index] = gz
                g = None if first else gz @ W.T
            else:
                g2 = np.ascontiguousarray(gz.transpose(0, 2, 3, 1)).reshape(-1, blk.n_out)
                gs[blk.index] = g2
                if not first:
                    x_shape, layer = shape_info
                    kern = kern or _conv_kernels.select()
                    g = kern.col2im((W.reshape(blk.n_out, blk.n_in).T @ g2.T).T, x_shape, layer.kernel_size,
                                    layer.stride, layer.padding, layer.dilation)
            if first:
                break
        return gs

    def gradient(self, gs, n_params):
        """The flat gradient ``(1/N) sum_rows g a^T`` per block (the gradient of
        the mean loss when ``gs`` come from the per-example loss gradients)."""
        out = np.empty(n_params, dtype=self.out.dtype)
        scale = 1.0 / self.n
        for blk, a, g in zip(self.blocks, self.a, gs):
            out[blk.slice] = from_matrix(blk, (g.T @ a) * scale)
        return out
