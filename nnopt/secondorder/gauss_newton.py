"""The Gauss-Newton matrix of a minibatch objective, matrix-free and dense.

For ``L(theta) = (1/N) sum_n l_n(f_n(theta)) + (wd/2) ||theta||^2`` with the
network outputs ``f_n`` and Jacobians ``J_n = df_n/dtheta``, the
Gauss-Newton matrix (Schraudolph 2002; Martens 2010) is

    GN = (1/N) sum_n J_n^T H_n J_n + wd I,     H_n = d^2 l_n / df_n^2

(``H_n`` from :mod:`nnopt.nn.loss_curvature`, through
:func:`nnopt.curvature.loss_hessian`, which :func:`nnopt.curvature.ggn_operator`
uses too).  It is positive
semi-definite, equals the Hessian when the network is linear in ``theta``,
and equals the Fisher matrix for the losses here (the negative
log-likelihoods of exponential families in the natural parameters).

:class:`GaussNewton` linearises the model once (one reverse trace kept for
``J^T``) and multiplies vectors with one forward-mode pass each
(:func:`nnopt.jvp`), so it works for any model :class:`nnopt.Objective`
accepts.  :meth:`GaussNewton.dense` forms the matrix (small nets).
"""
from __future__ import annotations

import numpy as np

from ..autodiff.transforms import jacobian, jvp, vjp
from ..curvature.loss_hessian import loss_hessian
from ._common import curvature_objective, weight_decay

__all__ = ["GaussNewton"]


class GaussNewton:
    """Gauss-Newton products of a minibatch objective at ``theta``.

    Parameters
    ----------
    objective : nnopt.Objective
        Model, loss (``"mse"``, ``"cross_entropy"``, ``"binary_cross_entropy"``) and data.
    theta : array
    weight_decay_term : bool
        Include the objective's ``weight_decay * I`` (default True).

    Examples
    --------
    >>> import numpy as np, nnopt
    >>> from nnopt.nn import MLP
    >>> from nnopt.secondorder import GaussNewton
    >>> X = np.linspace(-1, 1, 20)[:, None]
    >>> obj = nnopt.Objective(MLP([1, 4, 1]), "mse", X, np.sin(3 * X))
    >>> theta = obj.net.init(seed=0)
    >>> GN = GaussNewton(obj, theta)
    >>> np.allclose(GN.matvec(theta), GN.dense() @ theta)
    True
    """

    def __init__(self, objective, theta, weight_decay_term=True):
        obj = curvature_objective(objective, "GaussNewton")
        self.objective = obj
        self.theta = theta
        self.loss_name = obj.loss_name
        self._f = lambda th: obj.net(th, obj.X)
        self.out, self._pullback = vjp(self._f, theta)
        self.n = obj.X.shape[0]
        self._loss_hessian = loss_hessian(obj, self.out)
        self.wd = weight_decay(obj) if weight_decay_term else 0.0
        self.n_matvec = 0

    def output_matvec(self, V):
        """``(1/N) H V`` in output space (per example)."""
        return self._loss_hessian.matvec(V)

    def matvec(self, v):
        """``GN v``: one forward-mode pass and one reverse pass."""
        self.n_matvec += 1
        _, Jv = jvp(self._f, (self.theta,), (v,))
        out = self._pullback(self.output_matvec(Jv))[0]
        if self.wd:
            out = out + self.wd * v
        return out

    def __matmul__(self, v):
        return self.matvec(v)

    def dense(self):
        """The matrix ``GN`` (n_params x n_params) from the model Jacobian."""
        J = jacobian(self._f)(self.theta)  # out.shape + (P,)
        GN = self._loss_hessian.sandwich(J)
        P = self.theta.shape[0]
        if self.wd:
            GN[np.diag_indices(P)] += self.wd
        return GN
