"""Loss functions ``loss(output, target) -> scalar`` (means over the batch).

* ``mse``: mean over all elements of (output - target)^2;
* ``cross_entropy``: softmax cross-entropy with integer labels,
  mean_i [logsumexp(z_i) - z_i[y_i]];
* ``binary_cross_entropy``: from logits, mean [softplus(z) - y z].
"""
from __future__ import annotations

import numpy as np

import nnopt.numpy as nnp

from ..autodiff.core import getval

__all__ = ["mse", "cross_entropy", "binary_cross_entropy", "get", "LOSSES"]


def mse(output, target):
    """Mean squared error over all elements."""
    return nnp.mean(nnp.square(output - target))


def one_hot(labels, n_classes, dtype):
    labels = np.asarray(labels)
    if labels.dtype.kind not in "iu":
        raise TypeError(f"cross_entropy: labels must be integers, got dtype {labels.dtype}")
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(f"cross_entropy: labels must lie in [0, {n_classes}), got range [{labels.min()}, {labels.max()}]")
    out = np.zeros((labels.shape[0], n_classes), dtype=dtype)
    out[np.arange(labels.shape[0]), labels] = 1
    return out


def cross_entropy(logits, labels):
    """Softmax cross-entropy with integer labels (or one-hot / probability rows)."""
    z = getval(logits)
    labels_v = np.asarray(getval(labels)) if not hasattr(getval(labels), "dtype") else getval(labels)
    if labels_v.ndim == 1:
        target = one_hot(labels_v, np.shape(z)[-1], z.dtype)
    else:
        target = labels
    return nnp.mean(nnp.logsumexp(logits, axis=-1) - nnp.sum(logits * target, axis=-1))


def binary_cross_entropy(logits, targets):
    """Binary cross-entropy from logits: mean(softplus(z) - y z)."""
    return nnp.mean(nnp.softplus(logits) - logits * targets)


LOSSES = {
    "mse": mse,
    "cross_entropy": cross_entropy,
    "binary_cross_entropy": binary_cross_entropy,
}


def get(loss):
    """(name, function) for a loss given by name or as a callable."""
    if callable(loss):
        return getattr(loss, "__name__", "custom"), loss
    try:
        return loss, LOSSES[loss]
    except KeyError:
        raise ValueError(f"unknown loss {loss!r}; known: {sorted(LOSSES)} or a callable") from None
