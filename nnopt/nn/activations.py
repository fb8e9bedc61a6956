"""Activation functions by name (compositions of nnopt.numpy primitives)."""
from __future__ import annotations

import nnopt.numpy as nnp

__all__ = ["get", "ACTIVATIONS"]


def identity(x):
    return x


ACTIVATIONS = {
    "identity": identity,
    "linear": identity,
    "tanh": nnp.tanh,
    "sigmoid": nnp.sigmoid,
    "logistic": nnp.sigmoid,
    "relu": nnp.relu,
    "elu": nnp.elu,
    "softplus": nnp.softplus,
    "gelu": nnp.gelu,
    "sin": nnp.sin,
}


def get(activation):
    """(name, function) for an activation given by name or as a callable."""
    if activation is None:
        return "identity", identity
    if callable(activation):
        return getattr(activation, "__name__", "custom"), activation
    try:
        return activation, ACTIVATIONS[activation]
    except KeyError:
        raise ValueError(
            f"unknown activation {activation!r}; known: {sorted(ACTIVATIONS)} or a callable"
        ) from None
