"""Second-order training: Kronecker-factored, quasi-Newton and exact methods.

Optimizers (pure ``init``/``update`` pairs like :mod:`nnopt.optim`; their
``update`` reads the minibatch objective from ``oracle=``):

* :func:`kfac` - K-FAC (Martens & Grosse 2015; KFC for convolutions,
  Grosse & Martens 2016);
* :func:`kbfgs`, :func:`kbfgs_l` - K-BFGS and K-BFGS(L) (Goldfarb, Ren &
  Bahamou 2020; Ren, Bahamou & Goldfarb 2021);
* :func:`foof` - FOOF (Benzing 2022);
* :func:`hessian_free` - Hessian-free (Martens 2010);
* :func:`newton`, :func:`gauss_newton` - exact damped steps (small nets).

Building blocks: :class:`Capture` (layer inputs and pre-activation
gradients), :mod:`~nnopt.secondorder.kronecker` (factors, damping,
preconditioning), :class:`GaussNewton` (Gauss-Newton products and matrix),
:mod:`~nnopt.nn.loss_curvature` (output-space loss derivatives and
sampled targets; also here as ``nnopt.secondorder.losses``).  See
``docs/second_order.md``.
"""
from ..nn import loss_curvature as losses
from .capture import Block, Capture, from_matrix, kronecker_blocks, to_matrix
from .exact import ExactState, gauss_newton, newton
from .foof import FOOFState, foof
from .gauss_newton import GaussNewton
from .hessian_free import CGResult, HessianFreeState, cg_minimize, hessian_free
from .kbfgs import (
    KBFGSState,
    bfgs_inverse_update,
    double_damping,
    kbfgs,
    kbfgs_l,
    lbfgs_apply,
)
from .kfac import FISHER_MODES, KFACState, kfac
from .kronecker import DAMPING_MODES, kronecker_matrix

__all__ = [
    "kfac", "kbfgs", "kbfgs_l", "foof", "hessian_free", "newton", "gauss_newton",
    "KFACState", "KBFGSState", "FOOFState", "HessianFreeState", "ExactState",
    "Capture", "Block", "kronecker_blocks", "to_matrix", "from_matrix", "kronecker_matrix",
    "GaussNewton", "cg_minimize", "CGResult", "bfgs_inverse_update", "double_damping",
    "lbfgs_apply", "FISHER_MODES", "DAMPING_MODES", "losses",
]
