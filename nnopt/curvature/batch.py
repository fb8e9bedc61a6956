"""Minibatch Hessians against the full-batch Hessian.

The Hessian of a minibatch loss is a random matrix whose mean is the full
Hessian; its extremal eigenvalues are pushed outwards by the sampling noise
as the batch shrinks (Granziol, Zohren & Roberts, "Learning Rates as a
Function of Batch Size: A Random Matrix Theory Approach to Neural Network
Training", JMLR 23, 2022).  Since a step of size ``eta`` on a quadratic is
stable only while ``eta < 2 / lambda_max``, the top eigenvalue of the batch
Hessian sets the largest stable learning rate for that batch size.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._checks import as_rng, check_int, check_theta
from .sharpness import sharpness

__all__ = ["batch_sharpness", "BatchSharpness"]


class BatchSharpness(NamedTuple):
    """Top Hessian eigenvalue per batch size.

    Attributes
    ----------
    batch_sizes : ndarray of int
    values : ndarray, shape (len(batch_sizes), n_batches)
        ``lambda_max`` of the Hessian of each sampled minibatch.
    mean, std : ndarray, shape (len(batch_sizes),)
    full : float
        ``lambda_max`` of the full-batch Hessian.
    max_lr : ndarray
        ``2 / mean``: the largest stable step size implied per batch size.
    max_lr_full : float
        ``2 / full``.
    """

    batch_sizes: np.ndarray
    values: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    full: float
    max_lr: np.ndarray
    max_lr_full: float


def batch_sharpness(objective, theta, batch_sizes, n_batches=10, *, seed=0, tol=1e-8, maxiter=None):
    """Top eigenvalue of minibatch Hessians as a function of the batch size.

    Parameters
    ----------
    objective : nnopt.Objective
        The full-batch objective (with ``batch(indices)`` and ``n_samples``).
    theta : ndarray
    batch_sizes : sequence of int
        Each in ``[1, n_samples]``; batches are drawn without replacement.
    n_batches : int
        Minibatches drawn per batch size.
    seed : int or numpy.random.Generator
    tol, maxiter : Lanczos settings.

    Returns
    -------
    BatchSharpness
    """
    where = "batch_sharpness"
    if not hasattr(objective, "batch") or not hasattr(objective, "n_samples"):
        raise TypeError(f"{where}: objective must be an nnopt.Objective (with batch and n_samples), "
                        f"got {type(objective).__name__}")
    theta = check_theta(theta, objective.n_params, objective.dtype, where)
    m = objective.n_samples
    sizes = np.asarray([check_int(b, "batch_sizes[i]", where, 1, m) for b in batch_sizes], dtype=np.int64)
    if sizes.size == 0:
        raise ValueError(f"{where}: batch_sizes must hold at least one size")
    n_batches = check_int(n_batches, "n_batches", where, 1)
    rng = as_rng(seed, where)
    full = float(sharpness(objective, theta, tol=tol, maxiter=maxiter, seed=rng))
    values = np.empty((sizes.size, n_batches))
    for i, b in enumerate(sizes):
        for j in range(n_batches):
            idx = rng.choice(m, size=int(b), replace=False)
            values[i, j] = float(sharpness(objective.batch(idx), theta, tol=tol, maxiter=maxiter, seed=rng))
    mean = values.mean(axis=1)
    std = values.std(axis=1, ddof=1) if n_batches > 1 else np.zeros(sizes.size)
    with np.errstate(divide="ignore"):
        max_lr = np.where(mean > 0, 2.0 / mean, np.inf)
    return BatchSharpness(sizes, values, mean, std, full, max_lr, 2.0 / full if full > 0 else np.inf)
