"""Dense exact curvature matrices for small networks, full or one block at a time.

* :func:`hessian_matrix`: ``grad f`` is recorded once and each row of the
  (block of the) Hessian is one reverse pass through the recorded graph.
* :func:`ggn_matrix`: the Jacobian ``J`` of the network output is built with
  whichever is cheaper, one reverse pass per output element (through one
  recorded graph) or one forward pass per parameter of the block, and then
  ``J^T H_L J`` is one matrix product with the closed-form ``H_L``.
* :func:`fisher_matrix`: the ``m x n`` matrix of per-example gradients the
  same way, then ``G^T G / m``.
* :func:`block_diagonal`: the diagonal blocks of one of these, one per layer.

All are exact up to rounding and keep the dtype of ``theta``.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..autodiff.transforms import grad, jvp, vjp
from .loss_hessian import loss_hessian, per_example_losses
from .operators import _has_compiled_hvp, _setup

_COLUMNS = 256  # unit vectors per batched product in hessian_matrix

__all__ = ["hessian_matrix", "ggn_matrix", "fisher_matrix", "block_diagonal", "DenseBlock", "output_jacobian"]


def hessian_matrix(f, theta, *, block=None, layout=None):
    """The exact dense Hessian ``H[b, b]`` of ``f`` at ``theta`` (all of it by default).

    For an Objective with the compiled dense path (a plain dense stack with
    ``mse`` or ``cross_entropy``), blocks of 256 columns at a time through
    its batched Hessian-vector product (``Objective.hessp_many``); otherwise
    one recorded gradient and one reverse pass per row of the block.
    Symmetric up to rounding (not symmetrised).

    Parameters
    ----------
    f : Objective or callable ``f(theta) -> scalar``
    theta : ndarray, shape (n,)
    block, layout : see :func:`nnopt.curvature.hessian_operator`

    Returns
    -------
    ndarray, shape (nb, nb), dtype of theta
    """
    theta, sl = _setup(f, theta, "hessian_matrix", block, layout)
    n = theta.shape[0]
    nb = sl.stop - sl.start
    if _has_compiled_hvp(f):
        # the objective's compiled R-operator pass, a block of unit vectors at a time
        H = np.empty((nb, nb), dtype=theta.dtype)
        for start in range(0, nb, _COLUMNS):
            k = min(_COLUMNS, nb - start)
            E = np.zeros((n, k), dtype=theta.dtype)
            E[sl.start + start + np.arange(k), np.arange(k)] = 1
            H[:, start:start + k] = f.hessp_many(theta, E)[sl]
        return H
    _, pullback = vjp(grad(f), theta)
    H = np.empty((nb, nb), dtype=theta.dtype)
    e = np.zeros(n, dtype=theta.dtype)
    for r, i in enumerate(range(sl.start, sl.stop)):
        e[i] = 1
        H[r] = pullback(e)[0][sl]
        e[i] = 0
    return H


def _jacobian_block(fn, theta, sl):
    """``d fn / d theta[sl]`` of shape ``out.shape + (nb,)``, by rows or columns."""
    out, pullback = vjp(fn, theta)
    out = np.asarray(out)
    nb = sl.stop - sl.start
    n_out = out.size
    J = np.empty((n_out, nb), dtype=theta.dtype)
    if n_out <= nb:
        e = np.zeros(n_out, dtype=out.dtype)
        for i in range(n_out):
            e[i] = 1
            J[i] = pullback(e.reshape(out.shape))[0][sl]
            e[i] = 0
    else:
        e = np.zeros(theta.shape[0], dtype=theta.dtype)
        for r, j in enumerate(range(sl.start, sl.stop)):
            e[j] = 1
            J[:, r] = np.asarray(jvp(fn, (theta,), (e,))[1]).ravel()
            e[j] = 0
    return out, J.reshape(out.shape + (nb,))


def output_jacobian(objective, theta, *, block=None):
    """The Jacobian of the network output ``net(theta, X)`` over the objective's
    data: ``(Z, J)`` with ``J`` of shape ``Z.shape + (nb,)``."""
    theta, sl = _setup(objective, theta, "output_jacobian", block, None, need_objective=True)
    net, X = objective.net, objective.X
    return _jacobian_block(lambda th: net(th, X), theta, sl)


def ggn_matrix(objective, theta, *, block=None):
    """The exact dense generalized Gauss-Newton matrix ``J^T H_L J + lambda I``.

    See :func:`nnopt.curvature.ggn_operator` for the definition.

    Returns
    -------
    ndarray, shape (nb, nb), dtype of theta; symmetric positive semidefinite
    for the built-in losses.
    """
    theta, sl = _setup(objective, theta, "ggn_matrix", block, None, need_objective=True)
    net, X = objective.net, objective.X
    Z, J = _jacobian_block(lambda th: net(th, X), theta, sl)
    G = loss_hessian(objective, Z).sandwich(J)
    if objective.weight_decay:
        G[np.diag_indices_from(G)] += theta.dtype.type(objective.weight_decay)
    return np.asarray(G, dtype=theta.dtype)


def fisher_matrix(objective, theta, *, block=None):
    """The exact dense empirical Fisher ``(1/m) sum_i g_i g_i^T``.

    See :func:`nnopt.curvature.fisher_operator` for the definition.
    """
    theta, sl = _setup(objective, theta, "fisher_matrix", block, None, need_objective=True)
    losses, G = _jacobian_block(per_example_losses(objective), theta, sl)
    return (G.T @ G) * theta.dtype.type(1.0 / G.shape[0])


class DenseBlock(NamedTuple):
    """One diagonal block: the layer's block name, its slice of theta, the matrix."""

    name: str
    slice: slice
    matrix: np.ndarray


_BUILDERS = {"hessian": hessian_matrix, "ggn": ggn_matrix, "fisher": fisher_matrix}


def block_diagonal(f, theta, kind="hessian", *, layout=None):
    """The per-layer diagonal blocks of the Hessian, GGN or empirical Fisher.

    Parameters
    ----------
    f : Objective (or a callable with ``layout=`` for the Hessian)
    theta : ndarray
    kind : ``"hessian"``, ``"ggn"`` or ``"fisher"``
    layout : Layout, optional
        Defaults to ``f.net.layout``.

    Returns
    -------
    list of DenseBlock, one per layer with parameters, in layout order.
    """
    if kind not in _BUILDERS:
        raise ValueError(f"block_diagonal: kind must be one of {sorted(_BUILDERS)}, got {kind!r}")
    lay = layout if layout is not None else getattr(getattr(f, "net", None), "layout", None)
    if lay is None:
        raise ValueError("block_diagonal: needs a layout: give an Objective or layout=net.layout")
    out = []
    for b in lay.blocks:
        if kind == "hessian":
            M = hessian_matrix(f, theta, block=b.slice, layout=lay)
        else:
            M = _BUILDERS[kind](f, theta, block=b.slice)
        out.append(DenseBlock(b.name, b.slice, M))
    return out
