"""Derivatives of the built-in losses with respect to the network output, per example.

nnopt's losses are means (:mod:`nnopt.nn.losses`), so the minibatch loss is
``L = (1/N) sum_n l_n`` with the per-example losses

* ``"mse"``:                  ``l_n = (1/d) ||f_n - y_n||^2`` (no 1/2; d = outputs per example);
* ``"cross_entropy"``:        ``l_n = logsumexp(f_n) - f_n[y_n]``;
* ``"binary_cross_entropy"``: ``l_n = (1/d) sum_j softplus(f_nj) - y_nj f_nj`` (from logits).

This module gives, per example, the gradient ``dl_n/df_n``, the Hessian
``H_n = d^2 l_n / df_n^2`` (the output-space factor of the Gauss-Newton
matrix ``GN = (1/N) sum_n J_n^T H_n J_n``) as a product and as a sum of
outer products ``H_n = sum_k b_nk b_nk^T``, and output gradients *sampled*
from the model's predictive distribution with ``E[g g^T] = H_n``:

* mse:  ``g = sqrt(2/d) eps``, ``eps ~ N(0, I)`` - the gradient of ``l_n`` for
  targets ``y ~ N(f, (d/2) I)``, the Gaussian whose negative log-likelihood
  is ``l_n`` up to a constant;
* cross-entropy: ``g = softmax(f) - e_y`` with ``y ~ softmax(f)``;
* binary cross-entropy: ``g = (sigmoid(f) - y) / sqrt(d)`` with
  ``y ~ Bernoulli(sigmoid(f))`` (the ``1/sqrt(d)`` instead of ``1/d`` keeps
  ``E[g g^T] = H_n`` for the mean over elements).

With these conventions the sampled Fisher of K-FAC equals, in expectation,
the Gauss-Newton matrix of the loss exactly as :class:`nnopt.Objective`
defines it; the damping is therefore measured in the units of that loss
(mean over examples and elements).
"""
from __future__ import annotations

import math

import numpy as np
import scipy.special

__all__ = [
    "SUPPORTED", "check_loss", "per_example_grad", "hessian_vp", "hessian_factors",
    "sample_grad", "onehot_targets", "softmax",
]

SUPPORTED = ("mse", "cross_entropy", "binary_cross_entropy")


def check_loss(loss_name, where):
    if loss_name not in SUPPORTED:
        raise ValueError(
            f"{where}: the curvature of loss {loss_name!r} is not known; supported losses are "
            f"{SUPPORTED} (a custom callable loss has no Gauss-Newton/Fisher factor here)"
        )
    return loss_name


def _d(f):
    return int(np.prod(f.shape[1:], dtype=np.int64))


def onehot_targets(f, Y):
    """Targets of the cross-entropy as rows of probabilities (N, C)."""
    Y = np.asarray(Y)
    if Y.ndim == 1:
        out = np.zeros(f.shape, dtype=f.dtype)
        out[np.arange(f.shape[0]), Y] = 1
        return out
    return Y.astype(f.dtype, copy=False)


def softmax(f):
    """Row-wise softmax of (N, C) logits, max-shifted."""
    m = f.max(axis=1, keepdims=True)
    e = np.exp(f - m)
    return e / e.sum(axis=1, keepdims=True)


def per_example_grad(loss_name, f, Y):
    """``dl_n / df_n`` for every example, shape of ``f``."""
    if loss_name == "mse":
        return (2.0 / _d(f)) * (f - np.reshape(Y, f.shape))
    if loss_name == "cross_entropy":
        return softmax(f) - onehot_targets(f, Y)
    return (1.0 / _d(f)) * (scipy.special.expit(f) - np.reshape(Y, f.shape))


def hessian_vp(loss_name, f, V):
    """``H_n v_n`` for every example (``V`` shaped like ``f``)."""
    if loss_name == "mse":
        return (2.0 / _d(f)) * V
    if loss_name == "cross_entropy":
        p = softmax(f)
        return p * V - p * np.sum(p * V, axis=1, keepdims=True)
    s = scipy.special.expit(f)
    return (1.0 / _d(f)) * (s * (1 - s)) * V


def hessian_factors(loss_name, f):
    """Rows ``b_nk`` with ``H_n = sum_k b_nk b_nk^T``: an array (K, *f.shape).

    mse: ``sqrt(2/d) e_k``; cross-entropy: ``sqrt(p_k) (e_k - p)`` (so that
    ``sum_k p_k (e_k - p)(e_k - p)^T = diag(p) - p p^T``); binary
    cross-entropy: ``sqrt(s_k (1 - s_k) / d) e_k``.
    """
    N, d = f.shape[0], _d(f)
    flat = f.reshape(N, d)
    if loss_name == "cross_entropy":
        p = softmax(flat)
        eye = np.eye(d, dtype=f.dtype)
        B = np.sqrt(p).T[:, :, None] * (eye[:, None, :] - p[None, :, :])
        return B.reshape((d,) + f.shape)
    if loss_name == "mse":
        diag = np.full((N, d), math.sqrt(2.0 / d), dtype=f.dtype)
    else:
        s = scipy.special.expit(flat)
        diag = np.sqrt(s * (1 - s) * (1.0 / d))
    B = np.zeros((d, N, d), dtype=f.dtype)
    idx = np.arange(d)
    B[idx, :, idx] = diag.T
    return B.reshape((d,) + f.shape)


def sample_grad(loss_name, f, rng):
    """Output gradients with sampled targets, ``E[g_n g_n^T] = H_n``."""
    if loss_name == "mse":
        return rng.standard_normal(f.shape).astype(f.dtype) * math.sqrt(2.0 / _d(f))
    if loss_name == "cross_entropy":
        p = softmax(f)
        u = rng.random((f.shape[0], 1))
        y = np.minimum((np.cumsum(p, axis=1) < u).sum(axis=1), f.shape[1] - 1)
        return p - onehot_targets(f, y)
    s = scipy.special.expit(f)
    y = (rng.random(f.shape) < s).astype(f.dtype)
    return (s - y) * (1.0 / math.sqrt(_d(f)))
