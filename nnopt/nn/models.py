"""Models on one flat parameter vector: ``Sequential`` and ``MLP``."""
from __future__ import annotations

import numpy as np

from ..autodiff.core import getval
from ..autodiff.rules.shape import block
from . import activations as _act
from .layers import Dense, Layer
from .layout import Layout, ParamSpec

__all__ = ["Sequential", "MLP"]


class Sequential:
    """A stack of layers mapping ``(theta, X) -> output``.

    ``theta`` is a 1-D array of length ``n_params``; ``net.layout`` tells
    where each layer's parameters live in it.

    Examples
    --------
    >>> import numpy as np
    >>> from nnopt.nn import Sequential, Dense
    >>> net = Sequential(Dense(2, 8, "tanh"), Dense(8, 1))
    >>> theta = net.init(seed=0, dtype=np.float32)
    >>> net(theta, np.ones((5, 2), np.float32)).shape
    (5, 1)
    """

    def __init__(self, *layers, input_shape=None):
        if len(layers) == 1 and isinstance(layers[0], (list, tuple)):
            layers = tuple(layers[0])
        if not layers:
            raise ValueError("Sequential: give at least one layer")
        for i, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise TypeError(f"Sequential: layer {i} is {type(layer).__name__}, not an nnopt.nn layer")
        self.layers = tuple(layers)
        if input_shape is None and isinstance(layers[0], Dense):
            input_shape = (layers[0].n_in,)
        self.input_shape = tuple(input_shape) if input_shape is not None else None
        specs, offset = [], 0
        for li, layer in enumerate(self.layers):
            for p in layer.params():
                size = int(np.prod(p.shape))
                specs.append(ParamSpec(f"{li}.{p.name}", li, p.name, slice(offset, offset + size), tuple(p.shape), layer.kind))
                offset += size
        self.layout = Layout(specs)
        self.n_params = offset

    # -- parameters -----------------------------------------------------------
    def init(self, seed=0, dtype=np.float64):
        """A fresh parameter vector from ``numpy.random.default_rng(seed)``.

        Values are drawn in float64 and cast once to ``dtype``: the float32
        point is the float64 point rounded.
        """
        dtype = np.dtype(dtype)
        if dtype.kind != "f":
            raise TypeError(f"init: dtype must be a floating type (float32/float64), got {dtype}")
        rng = np.random.default_rng(seed)
        theta = np.empty(self.n_params, dtype=np.float64)
        for li, layer in enumerate(self.layers):
            for p in layer.params():
                spec = self.layout[f"{li}.{p.name}"]
                theta[spec.slice] = np.asarray(p.init(rng, p.shape, p.fan_in, p.fan_out), dtype=np.float64).ravel()
        return theta.astype(dtype)

    def unflatten(self, theta):
        """Per-layer dicts of parameter arrays (views of ``theta``)."""
        self._check_theta(theta)
        out = [dict() for _ in self.layers]
        for s in self.layout:
            out[s.layer][s.param] = block(theta, s.slice.start, s.slice.stop, s.shape)
        return out

    # -- evaluation -----------------------------------------------------------
    def __call__(self, theta, X):
        params = self.unflatten(theta)
        self._check_input(X, theta)
        x = X
        for layer, p in zip(self.layers, params):
            x = layer.apply(p, x)
        return x

    def _check_theta(self, theta):
        v = getval(theta)
        shape = np.shape(v)
        if shape != (self.n_params,):
            raise ValueError(
                f"theta must have shape ({self.n_params},) for this model, got {shape}"
            )
        dtype = getattr(v, "dtype", None)
        if dtype is None or (dtype.kind != "f" and dtype != object):
            raise TypeError(f"theta must be a floating-point array, got dtype {dtype}")

    def _check_input(self, X, theta):
        v = getval(X)
        shape = np.shape(v)
        if self.input_shape is not None and tuple(shape[1:]) != self.input_shape:
            raise ValueError(
                f"X must have shape (batch, {', '.join(map(str, self.input_shape))}), got {shape}"
            )
        xd, td = getattr(v, "dtype", None), getval(theta).dtype
        if xd is not None and xd != td and td != object and xd != object:
            raise TypeError(
                f"X has dtype {xd} but theta has dtype {td}; nnopt does not mix precisions "
                f"silently: cast one of them explicitly (e.g. X.astype(np.{td}))"
            )

    def __repr__(self):
        inner = ", ".join(repr(layer) for layer in self.layers)
        return f"{type(self).__name__}({inner}; {self.n_params} parameters)"


class MLP(Sequential):
    """Multilayer perceptron: ``sizes = [n_in, h_1, ..., h_k, n_out]``.

    Hidden layers use ``activation``; the output layer ``output_activation``
    (identity by default).  Weights from ``init`` (Glorot normal by default),
    biases zero.
    """

    def __init__(self, sizes, activation="tanh", output_activation=None, init="glorot_normal"):
        sizes = list(sizes)
        if len(sizes) < 2 or not all(isinstance(s, (int, np.integer)) and s > 0 for s in sizes):
            raise ValueError(f"MLP: sizes must be >= 2 positive integers [n_in, ..., n_out], got {sizes}")
        _act.get(activation)  # validate even when there is no hidden layer
        layers = [
            Dense(sizes[i], sizes[i + 1], activation if i < len(sizes) - 2 else output_activation, init=init)
            for i in range(len(sizes) - 1)
        ]
        super().__init__(*layers)
        self.sizes = tuple(int(s) for s in sizes)
        self.activation = layers[0].activation if len(layers) > 1 else activation
        self.output_activation = layers[-1].activation

    def __repr__(self):
        return f"MLP({list(self.sizes)}, activation={self.activation!r}; {self.n_params} parameters)"
