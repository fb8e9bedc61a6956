"""Layers: small objects that declare their parameters and apply themselves.

A layer lists its parameters (name, shape, initialiser, fan-in/out) and
maps ``(params, x) -> y`` with nnopt.numpy operations.  It owns no arrays:
the model slices them out of one flat vector ``theta``.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..autodiff.rules.dense import ACTIVATIONS as FUSED_ACTIVATIONS
from ..autodiff.rules.dense import dense
from . import activations as _act
from . import initializers

__all__ = ["Param", "Layer", "Dense", "Activation"]


class Param(NamedTuple):
    name: str
    shape: tuple
    init: object      # initialiser callable
    fan_in: int
    fan_out: int


class Layer:
    """Base class: ``params()`` declares, ``apply(p, x)`` computes."""

    kind = "layer"

    def params(self):
        return ()

    def apply(self, p, x):  # pragma: no cover - interface
        raise NotImplementedError

    def output_shape(self, input_shape):
        return input_shape


class Dense(Layer):
    """Fully connected layer ``y = act(x @ W + b)``.

    Parameters
    ----------
    n_in, n_out : int
    activation : str or callable, optional
        Fused into the layer (one primitive, one kernel) for identity, tanh,
        sigmoid and relu; any other activation is applied after it.
    init : str or callable
        Weight initialiser (see :mod:`nnopt.nn.initializers`); biases start at 0.
    bias : bool
    """

    kind = "dense"

    def __init__(self, n_in, n_out, activation=None, init="glorot_normal", bias=True):
        for name, v in (("n_in", n_in), ("n_out", n_out)):
            if not isinstance(v, (int, np.integer)) or v <= 0:
                raise ValueError(f"Dense: {name} must be a positive integer, got {v!r}")
        self.n_in, self.n_out = int(n_in), int(n_out)
        self.activation, self._act_fn = _act.get(activation)
        self.init = initializers.get(init)
        self.bias = bool(bias)

    def params(self):
        ps = [Param("W", (self.n_in, self.n_out), self.init, self.n_in, self.n_out)]
        if self.bias:
            ps.append(Param("b", (self.n_out,), initializers.zeros, self.n_in, self.n_out))
        return tuple(ps)

    def apply(self, p, x):
        W = p["W"]
        if self.bias and self.activation in FUSED_ACTIVATIONS and np.ndim(_val(x)) == 2:
            return dense(x, W, p["b"], self.activation)
        y = x @ W
        if self.bias:
            y = y + p["b"]
        return self._act_fn(y)

    def output_shape(self, input_shape):
        return input_shape[:-1] + (self.n_out,)

    def __repr__(self):
        return f"Dense({self.n_in}, {self.n_out}, activation={self.activation!r})"


class Activation(Layer):
    """An element-wise activation as a layer of its own."""

    kind = "activation"

    def __init__(self, activation):
        self.activation, self._act_fn = _act.get(activation)

    def apply(self, p, x):
        return self._act_fn(x)

    def __repr__(self):
        return f"Activation({self.activation!r})"


def _val(x):
    from ..autodiff.core import getval

    return getval(x)
