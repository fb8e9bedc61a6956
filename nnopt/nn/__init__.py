"""Layers and models on one flat parameter vector, initialisers, losses."""
from . import activations, initializers, losses
from ..autodiff.rules.dense import dense
from .layers import Activation, Dense, Layer, Param
from .layout import LayerBlock, Layout, ParamSpec
from .losses import binary_cross_entropy, cross_entropy, mse
from .models import MLP, Sequential
from . import zoo  # noqa: E402
from .conv import Conv2D, conv2d  # noqa: E402
from .normalization import BatchNorm, LayerNorm, StatefulSequential, scale_invariant_mlp  # noqa: E402
from .pooling import AvgPool2D, Flatten, GlobalAvgPool2D, MaxPool2D  # noqa: E402

__all__ = [
    "Layer", "Param", "Dense", "Activation", "Sequential", "MLP", "Layout",
    "ParamSpec", "LayerBlock", "dense", "mse", "cross_entropy",
    "binary_cross_entropy", "activations", "initializers", "losses",
    "Conv2D", "conv2d", "AvgPool2D", "MaxPool2D", "GlobalAvgPool2D", "Flatten",
    "BatchNorm", "LayerNorm", "StatefulSequential", "scale_invariant_mlp", "zoo",
]
