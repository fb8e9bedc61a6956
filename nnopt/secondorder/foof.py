"""FOOF: first-order optimisation of neurons (Benzing 2022).

Benzing (2022, "Gradient descent on neurons and its link to approximate
second-order optimisation", ICML) shows that K-FAC's advantage comes from
its input factor ``A`` alone: the update

    Delta M = -eta dL/dM (A + lam I)^{-1}

(in the ``(n_out, n_in + 1)`` block convention of
:mod:`nnopt.secondorder.capture`) is gradient descent on the neurons'
pre-activations (the minimum-norm weight change that moves every
pre-activation of the batch by ``-eta dL/dz``, regularised by ``lam``), and
it performs like K-FAC while ignoring the pre-activation-gradient factor
``G``.  ``A`` is a moving average of ``a^T a / N`` (with the constant-1
column for the bias), recomputed every ``cov_update_every`` steps and
inverted (eigendecomposition) every ``inverse_update_every`` steps, as in
K-FAC.  Only a forward pass is needed for the statistics.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..optim.base import GradientTransformation, at, beta, check_params, count0, hyper, inc
from ._common import check_factor_shapes, check_update, curvature_objective, init_blocks, positive_int, weight_decay
from .capture import Capture, from_matrix, kronecker_blocks, to_matrix
from .kfac import safe_eig
from .kronecker import _inverse, ema

__all__ = ["foof", "FOOFState"]


class FOOFState(NamedTuple):
    count: np.ndarray      # steps taken (int64, 0-d)
    A: tuple               # moving averages of the input factors
    eig_A: tuple           # (eigenvalues, eigenvectors) at the last inversion
    velocity: np.ndarray   # previous update (momentum)


def foof(learning_rate=0.1, damping=1e-2, *, momentum=0.0, ema_decay=0.95, cov_update_every=1,
         inverse_update_every=10, net=None):
    """FOOF (see the module docstring).

    Parameters
    ----------
    learning_rate : float or schedule
    damping : float >= 0
        ``lam`` added to ``A`` (plus the objective's weight decay).
    momentum : float in [0, 1)
        Heavy ball on the update.
    ema_decay : float in [0, 1)
    cov_update_every, inverse_update_every : int
    net : model, optional
        Lets ``init`` build the full state (a checkpoint template), as in :func:`~nnopt.secondorder.kfac`.

    Returns
    -------
    GradientTransformation
        ``update(grads, state, params, oracle=minibatch_objective)``.
    """
    where = "foof"
    lr = hyper(learning_rate, "learning_rate", where)
    lam = hyper(damping, "damping", where, allow_schedule=False)
    mu = beta(momentum, "momentum", where, allow_schedule=False)
    decay = beta(ema_decay, "ema_decay", where, allow_schedule=False)
    t1 = positive_int(cov_update_every, "cov_update_every", where)
    t3 = positive_int(inverse_update_every, "inverse_update_every", where)

    def init_fn(params):
        check_params(params, f"{where}.init")
        blocks = init_blocks(net, params, f"{where}.init")
        A = eA = ()
        if blocks is not None:
            z = params.dtype
            A = tuple(np.zeros((b.a_dim, b.a_dim), z) for b in blocks)
            eA = tuple((np.zeros(b.a_dim, z), np.zeros((b.a_dim, b.a_dim), z)) for b in blocks)
        return FOOFState(count0(), A, eA, np.zeros_like(params))

    def update_fn(grads, state, params=None, *, value=None, oracle=None):
        check_update(grads, state, params, FOOFState, f"{where}.update")
        obj = curvature_objective(oracle, f"{where}.update")
        blocks = kronecker_blocks(obj.net, where)
        t = int(state.count)
        A, eig_A = state.A, state.eig_A
        fresh = t == 0 or not A
        if A:
            check_factor_shapes(A, blocks, f"{where}.update")
        if fresh or t % t1 == 0:
            cap = Capture(obj.net, params, obj.X, blocks, where)
            A = ema(() if fresh else A, [(a.T @ a) * (1.0 / cap.n) for a in cap.a], decay)
        if fresh or t % t3 == 0:
            eig_A = tuple(safe_eig(a) for a in A)
        damp = lam + weight_decay(obj)
        step = np.empty_like(grads)
        for blk, (s, Q) in zip(blocks, eig_A):
            M = to_matrix(blk, grads[blk.slice])
            step[blk.slice] = from_matrix(blk, ((M @ Q) * _inverse(s + damp)) @ Q.T)
        step *= -at(lr, t)
        if mu:
            step = mu * state.velocity + step
        return step, FOOFState(inc(state.count), tuple(A), eig_A, step)

    return GradientTransformation(init_fn, update_fn, {"learning_rate": lr, "damping": lam})
