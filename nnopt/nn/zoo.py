"""Standard architectures: LeNet-5, deep autoencoders, small VGG- and
ResNet-style CNNs (NCHW images), built from the layers of :mod:`nnopt.nn`.

* :func:`lenet5` - LeCun, Bottou, Bengio & Haffner (1998): conv 6@5x5,
  pool, conv 16@5x5, pool, dense 120, 84, n_classes;
* :func:`deep_autoencoder` - the MNIST / CURVES / FACES autoencoders of
  Hinton & Salakhutdinov (2006), used as benchmarks by Martens (2010),
  Martens & Grosse (2015) and Goldfarb, Ren & Bahamou (2020): an encoder
  ``sizes`` with logistic units and a linear code layer, and its mirror;
* :func:`vgg_small` - blocks of two 3x3 convolutions and a 2x2 max pooling
  (Simonyan & Zisserman 2015), then two dense layers;
* :func:`resnet_small` - a 3x3 stem and residual blocks ``x + F(x)``
  (He et al. 2016), global average pooling and a dense classifier.
"""
from __future__ import annotations

import numpy as np

from .conv import Conv2D, pair
from .layers import Activation, Dense, Layer, Param
from .models import Sequential
from .normalization import BatchNorm, StatefulSequential
from .pooling import AvgPool2D, Flatten, GlobalAvgPool2D, MaxPool2D

__all__ = ["lenet5", "deep_autoencoder", "AUTOENCODERS", "vgg_small", "resnet_small", "Residual"]

AUTOENCODERS = {
    "mnist": (784, 1000, 500, 250, 30),
    "curves": (784, 400, 200, 100, 50, 25, 6),
    "faces": (625, 2000, 1000, 500, 30),
}
"""Encoder sizes of the classic deep-autoencoder benchmarks (the decoder mirrors them)."""


def _image_shape(in_channels, image_size, where):
    if not isinstance(in_channels, (int, np.integer)) or in_channels <= 0:
        raise ValueError(f"{where}: in_channels must be a positive integer, got {in_channels!r}")
    h, w = pair(image_size, "image_size", where, 1)
    return (int(in_channels), h, w)


def _n_classes(n, where):
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"{where}: n_classes must be a positive integer, got {n!r}")
    return int(n)


def lenet5(in_channels=1, n_classes=10, image_size=28, activation="tanh", pool="avg"):
    """LeNet-5 for ``in_channels`` x ``image_size`` images.

    28x28 inputs are padded by 2 in the first convolution (so the feature
    maps are those of the original 32x32 network); 32x32 inputs are not.
    ``pool`` is ``"avg"`` (the original subsampling) or ``"max"``.
    Returns a :class:`~nnopt.nn.Sequential` with ``n_classes`` logits.
    """
    shape = _image_shape(in_channels, image_size, "lenet5")
    n_classes = _n_classes(n_classes, "lenet5")
    if pool not in ("avg", "max"):
        raise ValueError(f"lenet5: pool must be 'avg' or 'max', got {pool!r}")
    Pool = AvgPool2D if pool == "avg" else MaxPool2D
    pad = 2 if shape[1:] == (28, 28) else 0
    layers = [
        Conv2D(shape[0], 6, 5, padding=pad, activation=activation),
        Pool(2),
        Conv2D(6, 16, 5, activation=activation),
        Pool(2),
        Flatten(),
    ]
    out = shape
    for layer in layers:
        out = layer.output_shape(out)
    layers += [
        Dense(out[0], 120, activation),
        Dense(120, 84, activation),
        Dense(84, n_classes),
    ]
    return Sequential(*layers, input_shape=shape)


def deep_autoencoder(sizes="curves", activation="sigmoid", output_activation=None, init="glorot_normal"):
    """A deep autoencoder: encoder ``sizes``, linear code layer, mirrored decoder.

    Parameters
    ----------
    sizes : str or sequence of int
        ``"mnist"``, ``"curves"``, ``"faces"`` (see :data:`AUTOENCODERS`) or
        the encoder sizes ``[n_in, h_1, ..., code]``.
    activation : str
        Hidden units (logistic in the original benchmarks).
    output_activation : str, optional
        Identity by default: use the ``"binary_cross_entropy"`` loss (from
        logits) for MNIST/CURVES-type data in [0, 1] and ``"mse"`` for FACES.
    """
    if isinstance(sizes, str):
        try:
            sizes = AUTOENCODERS[sizes]
        except KeyError:
            raise ValueError(f"deep_autoencoder: unknown preset {sizes!r}; known: {sorted(AUTOENCODERS)}") from None
    sizes = list(sizes)
    if len(sizes) < 2 or not all(isinstance(s, (int, np.integer)) and s > 0 for s in sizes):
        raise ValueError(f"deep_autoencoder: sizes must be >= 2 positive integers, got {sizes}")
    full = sizes + sizes[-2::-1]
    n = len(full) - 1
    code = len(sizes) - 2  # index of the layer producing the code
    layers = []
    for i in range(n):
        act = None if i == code else (output_activation if i == n - 1 else activation)
        layers.append(Dense(full[i], full[i + 1], act, init=init))
    return Sequential(*layers)


def vgg_small(in_channels=1, n_classes=10, image_size=28, widths=(8, 16), hidden=64, batch_norm=False,
              activation="relu"):
    """A small VGG-style CNN: per width, two 3x3 convolutions and a 2x2 max pooling.

    With ``batch_norm=True`` each convolution is ``Conv2D(bias=False) ->
    BatchNorm -> activation`` and a :class:`StatefulSequential` is returned
    (running statistics as explicit state).
    """
    shape = _image_shape(in_channels, image_size, "vgg_small")
    n_classes = _n_classes(n_classes, "vgg_small")
    layers, c = [], shape[0]
    for w in widths:
        for _ in range(2):
            if batch_norm:
                layers += [Conv2D(c, w, 3, padding=1, bias=False, init="he_normal"), BatchNorm(w), Activation(activation)]
            else:
                layers.append(Conv2D(c, w, 3, padding=1, activation=activation, init="he_normal"))
            c = w
        layers.append(MaxPool2D(2))
    layers.append(Flatten())
    out = shape
    for layer in layers:
        out = layer.output_shape(out)
    layers += [Dense(out[0], hidden, activation, init="he_normal"), Dense(hidden, n_classes)]
    cls = StatefulSequential if batch_norm else Sequential
    return cls(*layers, input_shape=shape)


class Residual(Layer):
    """A residual block ``y = act(x + F(x))`` with ``F`` a stack of layers
    that keeps the shape of ``x``.

    Its parameters are those of the inner layers, named ``"<i>.<name>"``
    (e.g. ``"0.W"``), contiguous in ``theta``.  Inner layers must not carry
    state (put BatchNorm outside the block).
    """

    kind = "residual"

    def __init__(self, *layers, activation=None):
        from . import activations as _act

        if not layers:
            raise ValueError("Residual: give at least one layer")
        for i, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise TypeError(f"Residual: layer {i} is {type(layer).__name__}, not an nnopt.nn layer")
            if hasattr(layer, "state_params"):
                raise ValueError(f"Residual: layer {i} ({layer!r}) carries state; put it outside the residual block")
        self.layers = tuple(layers)
        self.activation, self._act_fn = _act.get(activation)

    def params(self):
        return tuple(
            Param(f"{i}.{p.name}", p.shape, p.init, p.fan_in, p.fan_out)
            for i, layer in enumerate(self.layers)
            for p in layer.params()
        )

    def apply(self, p, x):
        h = x
        for i, layer in enumerate(self.layers):
            prefix = f"{i}."
            h = layer.apply({k[len(prefix):]: v for k, v in p.items() if k.startswith(prefix)}, h)
        return self._act_fn(x + h)

    def output_shape(self, input_shape):
        out = tuple(input_shape)
        for layer in self.layers:
            out = layer.output_shape(out)
        if out != tuple(input_shape):
            raise ValueError(f"Residual: the inner layers map shape {tuple(input_shape)} to {out}; they must keep it")
        return out

    def __repr__(self):
        return f"Residual({', '.join(map(repr, self.layers))})"


def resnet_small(in_channels=1, n_classes=10, image_size=28, width=8, n_blocks=2, activation="relu"):
    """A small ResNet-style CNN: a 3x3 stem convolution, ``n_blocks`` residual
    blocks ``act(x + conv(act(conv(x))))`` at constant width, a 2x2 average
    pooling after the stem, global average pooling and a dense classifier.
    """
    shape = _image_shape(in_channels, image_size, "resnet_small")
    n_classes = _n_classes(n_classes, "resnet_small")
    layers = [Conv2D(shape[0], width, 3, padding=1, activation=activation, init="he_normal"), AvgPool2D(2)]
    for _ in range(n_blocks):
        layers.append(Residual(
            Conv2D(width, width, 3, padding=1, activation=activation, init="he_normal"),
            Conv2D(width, width, 3, padding=1, init="he_normal"),
            activation=activation,
        ))
    layers += [GlobalAvgPool2D(), Dense(width, n_classes)]
    out = shape
    for layer in layers:
        out = layer.output_shape(out)
    return Sequential(*layers, input_shape=shape)
