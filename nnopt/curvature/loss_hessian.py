"""The Hessian of the loss with respect to the network output, and per-example losses.

For an objective ``L(theta) = loss(z(theta), Y)`` with network output
``z = net(theta, X)`` of shape ``(m, o)``, the generalized Gauss-Newton matrix
(Schraudolph 2002; Martens 2020, "New insights and perspectives on the natural
gradient method", JMLR 21, section 8) is

    G = J^T H_L J,    J = dz / dtheta,    H_L = d^2 loss / dz^2,

exact here because ``H_L`` has a closed form for the built-in losses:

* ``mse``  (mean over all ``m * o`` elements): ``H_L = 2 / (m o) * I``;
* ``cross_entropy`` (softmax, mean over the ``m`` examples): block diagonal,
  ``H_i = (diag(p_i) - p_i p_i^T) / m`` with ``p_i = softmax(z_i)``;
* ``binary_cross_entropy`` (from logits, mean over all elements):
  ``H_L = diag(s (1 - s)) / (m o)`` with ``s = sigmoid(z)``.

Any other (callable) loss gets ``H_L`` exactly by automatic differentiation
(a recorded gradient of the loss in ``z``, pulled back once per product).
"""
from __future__ import annotations

import numpy as np

import nnopt.numpy as nnp

from ..autodiff.transforms import grad, vjp
from ..nn import loss_curvature
from ..nn import losses as _losses

__all__ = ["LossHessian", "loss_hessian", "per_example_losses"]


class LossHessian:
    """``H_L`` at the output ``Z``: ``matvec(U)`` for ``U`` of ``Z``'s shape and
    ``sandwich(J)`` = ``J^T H_L J`` for an output Jacobian ``J`` of shape
    ``Z.shape + (p,)``."""

    def __init__(self, kind, Z, matvec, sandwich):
        self.kind = kind
        self.Z = Z
        self.matvec = matvec
        self.sandwich = sandwich


def loss_hessian(objective, Z):
    """The exact :class:`LossHessian` of ``objective``'s loss at the output ``Z``.

    The built-in losses are means over the ``N`` examples of per-example
    losses whose output Hessians ``H_n`` have closed forms
    (:mod:`nnopt.nn.loss_curvature`), so ``H_L = blockdiag(H_n) / N``.
    """
    name = objective.loss_name
    if name in loss_curvature.SUPPORTED and (name != "cross_entropy" or Z.ndim == 2):
        return _builtin_loss_hessian(name, Z)
    return generic_loss_hessian(objective.loss, Z, objective.Y, name)


def _builtin_loss_hessian(name, Z):
    scale = Z.dtype.type(1.0 / max(Z.shape[0], 1))

    def matvec(U):
        return loss_curvature.hessian_vp(name, Z, U) * scale

    if name == "cross_entropy":
        P = loss_curvature.softmax(Z)

        def sandwich(J):
            # (1/N) sum_n [J_n^T diag(p_n) J_n - (J_n^T p_n)(p_n^T J_n)]
            Js = (J * np.sqrt(P)[:, :, None]).reshape(Z.size, -1)
            A = np.einsum("io,iop->ip", P, J)
            return (Js.T @ Js - A.T @ A) * scale

        return LossHessian(name, Z, matvec, sandwich)
    D = matvec(np.ones_like(Z)).reshape(-1, 1)  # mse and binary cross-entropy: H_L is diagonal

    def sandwich(J):
        Jf = J.reshape(Z.size, -1)
        return Jf.T @ (D * Jf)

    return LossHessian(name, Z, matvec, sandwich)


def generic_loss_hessian(loss, Z, Y, name="custom"):
    """``H_L`` of any differentiable ``loss(Z, Y)`` by reverse-over-reverse
    differentiation (the gradient in ``Z`` is recorded once)."""
    _, pullback = vjp(grad(lambda z: loss(z, Y)), Z)

    def matvec(U):
        return pullback(U)[0]

    def sandwich(J):
        Jf = J.reshape(Z.size, -1)
        HJ = np.empty_like(Jf)
        for j in range(Jf.shape[1]):
            HJ[:, j] = matvec(Jf[:, j].reshape(Z.shape)).ravel()
        return Jf.T @ HJ

    return LossHessian(name, Z, matvec, sandwich)


def per_example_losses(objective):
    """``theta -> ell`` with ``ell[i]`` the loss of example ``i``, so that the
    data term of the objective is ``mean(ell)`` (weight decay not included).

    Closed forms for ``mse`` (mean over the output elements of the example),
    ``cross_entropy`` and ``binary_cross_entropy``; a callable loss is
    evaluated example by example as ``loss(z[i:i+1], Y[i:i+1])``.
    """
    net, X, Y, name = objective.net, objective.X, objective.Y, objective.loss_name
    if name == "mse":

        def ell(theta):
            d = net(theta, X) - Y
            sq = nnp.square(d)
            return nnp.mean(nnp.reshape(sq, (sq.shape[0], -1)), axis=1) if len(sq.shape) > 1 else sq

        return ell
    if name == "cross_entropy":
        def ell(theta):
            z = net(theta, X)
            if Y.ndim == 1:
                target = _losses.one_hot(Y, z.shape[-1], X.dtype)
            else:
                target = Y
            return nnp.logsumexp(z, axis=-1) - nnp.sum(z * target, axis=-1)

        return ell
    if name == "binary_cross_entropy":
        def ell(theta):
            z = net(theta, X)
            e = nnp.softplus(z) - z * Y
            return nnp.mean(nnp.reshape(e, (e.shape[0], -1)), axis=1) if len(e.shape) > 1 else e

        return ell
    loss = objective.loss

    def ell(theta):
        z = net(theta, X)
        return nnp.stack([loss(z[i:i + 1], Y[i:i + 1]) for i in range(X.shape[0])])

    return ell
