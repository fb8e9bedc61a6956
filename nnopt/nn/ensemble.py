"""Train an ensemble of small MLPs at once (seed and step-size sweeps).

Every network has the architecture of one :class:`~nnopt.nn.MLP` (hidden
activation identity, tanh, sigmoid or relu; linear output) and is trained by
full-batch gradient descent with heavy-ball momentum on the MSE loss, each
with its own initial point and step size.  The backends share one
specification (:mod:`nnopt.kernels.ensemble`): ``"numpy"`` (vectorised over
networks), ``"numba"`` (networks in parallel on the CPU cores) and
``"cuda"`` (one GPU block per network, the whole loop in one launch).
"""
from __future__ import annotations

import importlib
from typing import NamedTuple

import numpy as np

from .models import MLP

__all__ = ["EnsembleResult", "train_ensemble"]

_FILES = {"numpy": "reference", "numba": "cpu", "cuda": "cuda"}


class EnsembleResult(NamedTuple):
    thetas: np.ndarray   # (E, P) final parameters (the last finite iterate for a diverged network)
    losses: np.ndarray   # (E, steps) loss before each step; NaN after a network stopped
    nit: np.ndarray      # (E,) steps taken
    status: np.ndarray   # (E,) "ok" or "diverged"


def train_ensemble(net, X, Y, lrs, steps, seeds=None, thetas=None, momentum=0.0, backend="numba"):
    """Train ``E`` copies of ``net`` at once.

    Parameters
    ----------
    net : MLP
    X, Y : arrays (N, n_in), (N, n_out) of the computing dtype
    lrs : float or array (E,)
        Step sizes.
    steps : int
    seeds : sequence of int, optional
        Initial points ``net.init(seed=s, dtype=X.dtype)``; or give ``thetas`` (E, P).
    momentum : float
        Heavy-ball beta: ``v <- beta v + g``, ``theta <- theta - lr v``.
    backend : {"numba", "numpy", "cuda"}

    Returns
    -------
    EnsembleResult
    """
    if not isinstance(net, MLP) or net.output_activation != "identity" or (
        len(net.sizes) > 2 and net.activation not in ("identity", "tanh", "sigmoid", "relu")
    ):
        raise ValueError(
            "train_ensemble: net must be an MLP with a linear output and hidden activation "
            "identity, tanh, sigmoid or relu"
        )
    if backend not in _FILES:
        raise ValueError(f"train_ensemble: backend must be one of {sorted(_FILES)}, got {backend!r}")
    X = np.asarray(X)
    Y = np.asarray(Y)
    if X.dtype.kind != "f" or Y.dtype != X.dtype:
        raise TypeError(f"train_ensemble: X and Y must share one floating dtype, got {X.dtype} and {Y.dtype}")
    if X.ndim != 2 or X.shape[1] != net.sizes[0] or Y.shape != (X.shape[0], net.sizes[-1]):
        raise ValueError(
            f"train_ensemble: X must be (N, {net.sizes[0]}) and Y (N, {net.sizes[-1]}), got {X.shape} and {Y.shape}"
        )
    if (seeds is None) == (thetas is None):
        raise ValueError("train_ensemble: give exactly one of seeds or thetas")
    if thetas is None:
        thetas = np.stack([net.init(seed=int(s), dtype=X.dtype) for s in seeds])
    thetas = np.asarray(thetas)
    if thetas.ndim != 2 or thetas.shape[1] != net.n_params or thetas.dtype != X.dtype:
        raise ValueError(
            f"train_ensemble: thetas must be (E, {net.n_params}) of dtype {X.dtype}, got {thetas.shape} {thetas.dtype}"
        )
    E = thetas.shape[0]
    lrs = np.broadcast_to(np.asarray(lrs, dtype=X.dtype), (E,)).copy()
    if not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(f"train_ensemble: steps must be a non-negative integer, got {steps!r}")
    act = net.activation if len(net.sizes) > 2 else "identity"
    impl = importlib.import_module(f"nnopt.kernels.ensemble.{_FILES[backend]}")
    th, losses, nit = impl.train(thetas, X, Y, net.sizes, act, lrs, int(steps), float(momentum))
    status = np.where(nit < steps, "diverged", "ok")
    return EnsembleResult(th, losses, nit, status)
