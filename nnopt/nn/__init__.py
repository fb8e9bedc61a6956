"""Layers and models on one flat parameter vector, initialisers, losses."""
from . import activations, initializers, losses
from ..autodiff.rules.dense import dense
from .layers import Activation, Dense, Layer, Param
from .layout import LayerBlock, Layout, ParamSpec
from .losses import binary_cross_entropy, cross_entropy, mse
from .models import MLP, Sequential

__all__ = [
    "Layer", "Param", "Dense", "Activation", "Sequential", "MLP", "Layout",
    "ParamSpec", "LayerBlock", "dense", "mse", "cross_entropy",
    "binary_cross_entropy", "activations", "initializers", "losses",
]
