"""Shared plumbing: the minibatch objective behind ``oracle=``, checks, seeds."""
from __future__ import annotations

import numpy as np

from ..nn import loss_curvature as losses
from ..optim.base import check_grads, check_state
from ..optim.oracle import Oracle

__all__ = ["curvature_objective", "check_update", "check_seed", "step_rng", "positive_int", "weight_decay", "armijo_backtrack", "loss_at"]


def curvature_objective(oracle, where):
    """The minibatch :class:`nnopt.Objective` behind ``oracle`` (an Oracle or
    the objective itself), checked to have a model, data and a known loss."""
    if oracle is None:
        raise ValueError(
            f"{where}: this method needs the minibatch objective for its curvature statistics; pass "
            "oracle=<the minibatch nnopt.Objective> to update (nnopt.train does this for you)"
        )
    obj = oracle.objective if isinstance(oracle, Oracle) else oracle
    missing = [name for name in ("net", "X", "Y", "loss_name") if not hasattr(obj, name)]
    if missing:
        raise TypeError(
            f"{where}: needs an nnopt.Objective (model, loss and data) as the oracle to compute "
            f"curvature, got {type(obj).__name__} without {missing}"
        )
    losses.check_loss(obj.loss_name, where)
    return obj


def check_update(grads, state, params, cls, where):
    check_state(state, cls, where)
    if params is None:
        raise ValueError(f"{where}: this method needs params; call update(grads, state, params, oracle=batch)")
    check_grads(params, state.velocity, where, name="params")
    check_grads(grads, state.velocity, where)


def step_rng(seed, count):
    """The generator of step ``count``: reproducible and independent of history."""
    return np.random.default_rng([int(seed), int(count)])


def positive_int(value, name, where):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{where}: {name} must be a positive integer, got {value!r}")
    return int(value)


def check_seed(seed, where):
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise TypeError(f"{where}: seed must be a non-negative integer, got {seed!r}")
    return int(seed)


def weight_decay(obj):
    return float(getattr(obj, "weight_decay", 0.0) or 0.0)


def armijo_backtrack(fun, params, p, f0, slope, alpha, c=1e-2, shrink=0.8, max_trials=60, f_first=None):
    """Largest ``alpha * shrink^k`` (k < max_trials) with
    ``fun(params + alpha p) <= f0 + c alpha slope``; 0 when none is found
    (Martens & Sutskever 2012, section 8.8).  ``f_first`` is
    ``fun(params + alpha p)`` when already known."""
    import math

    f_try = float(fun(params + alpha * p)) if f_first is None else f_first
    for _ in range(max_trials):
        if math.isfinite(f_try) and f_try <= f0 + c * alpha * slope:
            return alpha
        alpha *= shrink
        f_try = float(fun(params + alpha * p))
    return 0.0


def init_blocks(net, params, where):
    """The Kronecker blocks of ``net`` for an ``init`` that builds the full state
    (``None`` when no model was given to the optimizer)."""
    if net is None:
        return None
    from .capture import kronecker_blocks

    blocks = kronecker_blocks(net, where)
    if int(net.n_params) != params.shape[0]:
        raise ValueError(f"{where}: params has {params.shape[0]} entries but the model has {net.n_params} parameters")
    return blocks


def check_factor_shapes(factors, blocks, where):
    """Refuse a state made for another model."""
    if len(factors) != len(blocks) or any(f.shape[0] != b.a_dim for f, b in zip(factors, blocks)):
        raise ValueError(
            f"{where}: the optimizer state holds factors {[f.shape for f in factors]} that do not match the "
            f"model's blocks {[(b.a_dim, b.a_dim) for b in blocks]}; was it made for another model?"
        )


def loss_at(obj, theta):
    """The objective's value at ``theta`` by a forward pass only (``obj(theta)``:
    no gradient, no cache update), as a Python float."""
    return float(obj(theta))
