"""Exact (dense) damped Newton and Gauss-Newton steps, the references for
the approximate methods on small networks.

* :func:`newton`: ``p = -(H + lam I)^{-1} g`` with ``H`` the exact Hessian
  of the minibatch objective (:meth:`nnopt.Objective.hess`, weight decay
  included).  Where ``H + lam I`` is not positive definite the shift is
  raised to ``lam - s_min(H) + lam`` (the smallest Levenberg-Marquardt
  shift that makes it so, plus ``lam``; Nocedal & Wright 2006, section
  3.4), so the step is always a descent direction; the shift used is kept
  in the state.
* :func:`gauss_newton`: ``p = -(GN + lam I)^{-1} g`` with the dense
  Gauss-Newton matrix (:class:`~nnopt.secondorder.gauss_newton.GaussNewton`;
  positive semi-definite).  With ``lam = 0`` the pseudo-inverse gives the
  minimum-norm Gauss-Newton step; for the losses here this is the natural
  gradient step (Amari 1998; Martens 2020).

An Armijo backtracking line search on the step length is on by default.
Both solve through a symmetric eigendecomposition (O(P^3)) and refuse
models with more than ``max_params`` parameters.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..autodiff.transforms import hessian
from ..optim.oracle import Oracle
from ..optim.base import GradientTransformation, at, check_params, count0, hyper, inc
from ._common import armijo_backtrack, check_update, curvature_objective, positive_int
from .gauss_newton import GaussNewton
from .kronecker import _inverse

__all__ = ["newton", "gauss_newton", "ExactState"]


class ExactState(NamedTuple):
    count: np.ndarray      # steps taken (int64, 0-d)
    shift: np.ndarray      # damping actually used at the last step (0-d float64)
    velocity: np.ndarray   # the last update


def _size_check(params, max_params, where):
    if params.shape[0] > max_params:
        raise ValueError(
            f"{where}: the model has {params.shape[0]} parameters, more than max_params={max_params}; "
            "exact second-order steps form and factor the dense P x P matrix (raise max_params to allow it, "
            "or use hessian_free / kfac)"
        )


def _hessian(oracle, params, where):
    if oracle is None:
        raise ValueError(f"{where}.update: pass oracle=<the minibatch objective> (nnopt.train does this for you)")
    obj = oracle.objective if isinstance(oracle, Oracle) else oracle
    if hasattr(obj, "hess"):
        return obj.hess(params)
    if callable(obj):
        return hessian(obj)(params)
    raise TypeError(f"{where}.update: needs an objective with hess(theta) or a function f(theta), got {type(obj).__name__}")


def _fun(oracle):
    obj = oracle.objective if isinstance(oracle, Oracle) else oracle
    if callable(obj):
        return lambda th: float(obj(th))  # forward pass only (an Objective is callable)
    return obj.fun


def _make(kind, learning_rate, damping, max_params, line_search, where):
    lr = hyper(learning_rate, "learning_rate", where)
    lam = hyper(damping, "damping", where, allow_schedule=False)
    cap = positive_int(max_params, "max_params", where)

    def init_fn(params):
        check_params(params, f"{where}.init")
        _size_check(params, cap, where)
        return ExactState(count0(), np.asarray(lam, dtype=np.float64), np.zeros_like(params))

    def update_fn(grads, state, params=None, *, value=None, oracle=None):
        check_update(grads, state, params, ExactState, f"{where}.update")
        _size_check(params, cap, where)
        if kind == "newton":
            M = _hessian(oracle, params, where)
        else:
            M = GaussNewton(curvature_objective(oracle, f"{where}.update"), params).dense()
        M = 0.5 * (M + M.T)
        s, Q = np.linalg.eigh(M)
        shift = lam
        if kind == "newton" and s.size and float(s[0]) + lam <= 0:
            shift = lam - float(s[0]) + max(lam, float(np.finfo(params.dtype).eps) * float(np.abs(s).max()))
        p = -(Q @ (_inverse(s + shift) * (Q.T @ grads)))
        alpha = at(lr, int(state.count))
        if line_search:
            fun = _fun(oracle)
            f0 = float(fun(params)) if value is None else float(value)
            alpha = armijo_backtrack(fun, params, p, f0, float(grads @ p), alpha)
        step = p * alpha
        return step, ExactState(inc(state.count), np.asarray(shift, dtype=np.float64), step)

    return GradientTransformation(init_fn, update_fn, {"learning_rate": lr, "damping": lam})


def newton(learning_rate=1.0, damping=1e-4, *, line_search=True, max_params=2000):
    """Damped exact Newton steps (see the module docstring).

    Parameters
    ----------
    learning_rate : float or schedule
    damping : float >= 0
    line_search : bool
        Backtrack ``alpha`` from ``learning_rate`` by 0.8 until the Armijo
        condition ``L(theta + alpha p) <= L(theta) + 1e-2 alpha g^T p`` holds
        (no step after 60 trials); ``False`` takes ``learning_rate * p``.
    max_params : int
        Refuse larger models (the Hessian is P x P).

    Returns
    -------
    GradientTransformation
        ``update(grads, state, params, oracle=minibatch_objective)``.
    """
    return _make("newton", learning_rate, damping, max_params, line_search, "newton")


def gauss_newton(learning_rate=1.0, damping=1e-4, *, line_search=True, max_params=2000):
    """Damped exact Gauss-Newton steps (see the module docstring)."""
    return _make("gauss_newton", learning_rate, damping, max_params, line_search, "gauss_newton")
