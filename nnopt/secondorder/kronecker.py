"""Kronecker factors, their damping and the preconditioned update.

For a block with parameter matrix ``M`` (n_out, n_in + 1) (see
:mod:`nnopt.secondorder.capture`) and rows ``a`` (inputs with the constant
1) and ``g`` (per-example pre-activation gradients), K-FAC (Martens &
Grosse 2015, section 3) and KFC (Grosse & Martens 2016) approximate the
block of the Fisher / Gauss-Newton matrix of the mean loss by

    F_block ~= G (x) A,    A = a^T a / N,    G = g^T g / R

in the row-major vectorisation of ``M`` (``vec(g a^T) = g (x) a``), where
N is the number of examples and R the number of rows (R = N for a dense
layer; R = N * OH * OW for a convolution, whose A therefore sums over
output positions and whose G averages over them).  For a single example
through a linear network the approximation is exact.

Damping (Martens & Grosse 2015, section 6.3), with ``lam`` the damping:

* ``"pi"`` (factored Tikhonov): ``(A + pi sqrt(lam) I) (x) (G + sqrt(lam)/pi I)``
  with ``pi = sqrt((tr A / dim A) / (tr G / dim G))``;
* ``"tikhonov"`` (exact Tikhonov of the Kronecker product):
  ``G (x) A + lam I``, inverted through the eigendecompositions of A and G.

Both are applied through eigendecompositions ``A = Q_A diag(s_A) Q_A^T``,
``G = Q_G diag(s_G) Q_G^T`` (recomputed every ``inverse_update_every``
steps), so the damping may change between them::

    (G (x) A + lam I)^{-1} vec(V) = vec(Q_G [(Q_G^T V Q_A) / (s_G s_A^T + lam)] Q_A^T)

With ``lam = 0`` the pseudo-inverse is applied (eigenvalues below
``dim * eps * max`` count as zero).
"""
from __future__ import annotations

import math

import numpy as np

from .capture import from_matrix, to_matrix

__all__ = [
    "factors", "ema", "eig", "pi_factor", "precondition", "precondition_vector",
    "kronecker_matrix", "DAMPING_MODES",
]

DAMPING_MODES = ("pi", "tikhonov")


def factors(cap, passes):
    """Batch factors ``(A_list, G_list)`` from a :class:`Capture` and the
    pre-activation rows of one or more backward passes (``passes`` is a list
    of :meth:`Capture.backward` results; their G contributions are summed,
    as for the rows ``b_k`` of the loss Hessian's square root)."""
    A = [(a.T @ a) * (1.0 / cap.n) for a in cap.a]
    G = []
    for k in range(len(cap.blocks)):
        total = None
        for gs in passes:
            g = gs[k]
            term = (g.T @ g) * (1.0 / g.shape[0])
            total = term if total is None else total + term
        G.append(total)
    return A, G


def ema(old, new, decay):
    """``decay * old + (1 - decay) * new`` per factor (``new`` when ``old`` is empty)."""
    if not old:
        return tuple(new)
    return tuple(decay * o + (1.0 - decay) * n for o, n in zip(old, new))


def eig(M):
    """``(s, Q)`` of a symmetric positive semi-definite factor, eigenvalues
    clipped at 0 (rounding can make the smallest slightly negative)."""
    s, Q = np.linalg.eigh(M)
    return np.maximum(s, 0), Q


def pi_factor(sA, sG):
    """Martens & Grosse's ``pi = sqrt((tr A / dim A) / (tr G / dim G))`` (1 when a trace is 0)."""
    ta = float(np.sum(sA)) / sA.shape[0]
    tg = float(np.sum(sG)) / sG.shape[0]
    if ta <= 0 or tg <= 0 or not math.isfinite(ta / tg):
        return 1.0
    return math.sqrt(ta / tg)


def _inverse(d):
    """1 / d where d is significantly positive, else 0 (pseudo-inverse)."""
    tol = d.size * np.finfo(d.dtype).eps * max(float(d.max(initial=0.0)), np.finfo(d.dtype).tiny)
    out = np.zeros_like(d)
    np.divide(1, d, out=out, where=d > tol)
    return out


def precondition(M, eig_A, eig_G, damping, mode="pi"):
    """``(G (x) A + damping)^{-1}`` applied to ``M`` (n_out, a_dim), damped per ``mode``."""
    sA, QA = eig_A
    sG, QG = eig_G
    V = QG.T @ M @ QA
    if mode == "pi":
        pi = pi_factor(sA, sG)
        r = math.sqrt(damping)
        V *= _inverse((sG + r / pi)[:, None] * (sA + r * pi)[None, :])
    elif mode == "tikhonov":
        V *= _inverse(sG[:, None] * sA[None, :] + damping)
    else:
        raise ValueError(f"precondition: damping_mode must be one of {DAMPING_MODES}, got {mode!r}")
    return QG @ V @ QA.T


def precondition_vector(blocks, v, eig_A, eig_G, damping, mode="pi"):
    """Apply the block-diagonal Kronecker preconditioner to a flat vector."""
    out = np.empty_like(v)
    for blk, ea, eg in zip(blocks, eig_A, eig_G):
        out[blk.slice] = from_matrix(blk, precondition(to_matrix(blk, v[blk.slice]), ea, eg, damping, mode))
    return out


def kronecker_matrix(block, A, G):
    """The dense matrix ``G (x) A`` in the order of the block's flat
    parameters (``W`` then ``b``), for checks against exact curvature."""
    idx = to_matrix(block, np.arange(block.slice.stop - block.slice.start)).ravel()
    K = np.kron(G, A)
    out = np.empty_like(K)
    out[np.ix_(idx, idx)] = K
    return out
