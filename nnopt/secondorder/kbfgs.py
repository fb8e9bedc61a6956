"""K-BFGS and K-BFGS(L): Kronecker-factored quasi-Newton methods
(Goldfarb, Ren & Bahamou 2020; Ren, Bahamou & Goldfarb 2021 for
convolutions).

Every Dense/Conv2D block's inverse Hessian is approximated by a Kronecker
product ``H_g (x) H_a`` and the update is, blockwise in the ``(n_out,
n_in + 1)`` convention of :mod:`nnopt.secondorder.capture`,

    Delta M = -eta H_g (dL/dM) H_a      (plus optional heavy-ball momentum)

**The A side** (``H_a ~ (A + lam_A I)^{-1}``): ``A`` is the moving average
of ``a^T a / N`` as in K-FAC.  ``H_a`` starts as the inverse of ``A +
lam_A I`` and is then updated every step by *Hessian-action BFGS* (Ren,
Bahamou & Goldfarb 2021): ``s_a = H_a abar`` with ``abar`` the mean input
row, ``y_a = (A + lam_A I) s_a`` (the exact action of the damped factor),
and the BFGS update of ``H_a`` with ``(s_a, y_a)`` (``a_update="bfgs"``).
With ``a_update="inverse"`` ``H_a`` is recomputed as the inverse every
``inverse_update_every`` steps (the original K-BFGS of 2020).

**The G side** (``H_g``, the inverse of the Hessian with respect to the
pre-activations): after the step, a second forward-backward pass on the
*same* minibatch at ``theta + Delta`` gives the pairs

    s = mean(z+) - mean(z),    y = mean(g+) - mean(g)

(means over the rows: examples, and output pixels for a convolution; ``g``
the per-example gradients of the loss with the true targets).  *Double
damping* (Algorithm DD of Goldfarb et al. 2020) makes them safe: Powell's
damping on ``H`` - if ``s^T y < mu1 y^T H y`` then ``s <- theta s + (1 -
theta) H y`` with ``theta = (1 - mu1) y^T H y / (y^T H y - s^T y)`` - then
Levenberg-Marquardt damping ``y <- y + mu2 s``, which guarantees ``s^T y >=
mu1 y^T H y + mu2 ||s||^2 > 0``.  K-BFGS updates the dense ``H_g`` by BFGS
(starting from ``I``); K-BFGS(L) keeps the last ``memory`` pairs and applies
``H_g`` by the L-BFGS two-loop recursion (Nocedal & Wright 2006, Algorithm
7.4) with ``H_0 = I``.  Both BFGS updates satisfy the secant condition
``H_new y = s``.

Damping: ``lam_A = sqrt(lam) sqrt(T)`` and ``mu2 = sqrt(lam) / sqrt(T)``
with T the number of output pixels per example (1 for dense layers), as in
the convolutional version (``a_damping`` / ``g_damping`` replace the two
``sqrt(lam)`` separately).  The objective's weight decay is part of the
gradient but not of these curvature pairs.

Each step costs the training loop's gradient plus two forward-backward
passes (at ``theta`` and ``theta + Delta``) on the minibatch.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from ..nn import loss_curvature as losses
from ..optim.base import GradientTransformation, at, beta, check_params, count0, hyper, inc
from ._common import check_factor_shapes, check_update, curvature_objective, init_blocks, positive_int
from .capture import Capture, from_matrix, kronecker_blocks, to_matrix
from .kronecker import ema

__all__ = [
    "kbfgs", "kbfgs_l", "KBFGSState", "bfgs_inverse_update", "double_damping", "lbfgs_apply",
]


class KBFGSState(NamedTuple):
    count: np.ndarray      # steps taken (int64, 0-d)
    A: tuple               # moving averages of the input factors
    H_a: tuple             # inverse approximations of A + lam_A I
    H_g: tuple             # K-BFGS: dense inverse Hessian approximations on the G side (empty for (L))
    S: tuple               # K-BFGS(L): (memory, n_out) stored s pairs (empty for K-BFGS)
    Y: tuple               # K-BFGS(L): stored y pairs
    n_pairs: np.ndarray    # K-BFGS(L): pairs stored so far (int64, 0-d)
    velocity: np.ndarray   # previous update (momentum)


def bfgs_inverse_update(H, s, y):
    """The BFGS update of an inverse Hessian approximation,

    ``H+ = (I - rho s y^T) H (I - rho y s^T) + rho s s^T``, ``rho = 1 / s^T y``

    (Nocedal & Wright 2006, eq. 6.17), which satisfies ``H+ y = s``.
    Needs ``s^T y > 0``.
    """
    sy = float(s @ y)
    if not sy > 0:
        raise ValueError(f"bfgs_inverse_update: needs s^T y > 0 (curvature condition), got {sy}")
    Hy = H @ y
    yHy = float(y @ Hy)
    return H + ((sy + yHy) / (sy * sy)) * np.outer(s, s) - (np.outer(Hy, s) + np.outer(s, Hy)) * (1.0 / sy)


def double_damping(s, y, Hy, mu1=0.2, mu2=1e-2):
    """Double damping (Goldfarb, Ren & Bahamou 2020): Powell's damping of ``s``
    towards ``H y`` with ``mu1``, then ``y + mu2 s``.  Returns ``(s, y)``."""
    yHy = float(y @ Hy)
    sy = float(s @ y)
    if sy < mu1 * yHy:
        theta = (1.0 - mu1) * yHy / (yHy - sy)
        s = theta * s + (1.0 - theta) * Hy
    return s, y + mu2 * s


def lbfgs_apply(S, Y, n_pairs, V):
    """``H V`` for the L-BFGS matrix of the stored pairs (two-loop recursion,
    ``H_0 = I``); ``V`` is a vector (n,) or a matrix (n, m) (columns)."""
    memory = S.shape[0]
    k = min(int(n_pairs), memory)
    order = [(int(n_pairs) - 1 - j) % memory for j in range(k)]  # newest first
    q = np.array(V, copy=True)
    alphas = []
    for i in order:
        rho = 1.0 / float(S[i] @ Y[i])
        alpha = rho * (S[i] @ q)
        q -= np.multiply.outer(Y[i], alpha)
        alphas.append((i, rho, alpha))
    r = q
    for i, rho, alpha in reversed(alphas):
        b = rho * (Y[i] @ r)
        r += np.multiply.outer(S[i], alpha - b)
    return r


def _make(limited, learning_rate, damping, momentum, ema_decay, memory, mu1, a_update, inverse_update_every, net,
          a_damping, g_damping, where):
    lr = hyper(learning_rate, "learning_rate", where)
    lam = hyper(damping, "damping", where, low=0.0, low_open=True, allow_schedule=False)
    mu = beta(momentum, "momentum", where, allow_schedule=False)
    decay = beta(ema_decay, "ema_decay", where, allow_schedule=False)
    m1 = hyper(mu1, "mu1", where, low=0.0, high=1.0, low_open=True, high_open=True, allow_schedule=False)
    mem = positive_int(memory, "memory", where)
    t3 = positive_int(inverse_update_every, "inverse_update_every", where)
    if a_update not in ("bfgs", "inverse"):
        raise ValueError(f"{where}: a_update must be 'bfgs' or 'inverse', got {a_update!r}")
    base_a = math.sqrt(lam) if a_damping is None else hyper(a_damping, "a_damping", where, allow_schedule=False)
    base_g = math.sqrt(lam) if g_damping is None else hyper(g_damping, "g_damping", where, low=0.0, low_open=True,
                                                               allow_schedule=False)

    def init_fn(params):
        check_params(params, f"{where}.init")
        blocks = init_blocks(net, params, f"{where}.init")
        if blocks is None:
            return KBFGSState(count0(), (), (), (), (), (), count0(), np.zeros_like(params))
        z = params.dtype
        A = tuple(np.zeros((b.a_dim, b.a_dim), z) for b in blocks)
        H_g = () if limited else tuple(np.eye(b.n_out, dtype=z) for b in blocks)
        S = tuple(np.zeros((mem, b.n_out), z) for b in blocks) if limited else ()
        return KBFGSState(count0(), A, A, H_g, S, S, count0(), np.zeros_like(params))

    def stats(obj, theta, blocks):
        cap = Capture(obj.net, theta, obj.X, blocks, where)
        gs = cap.backward(losses.per_example_grad(obj.loss_name, cap.out, obj.Y))
        zbar = [z.mean(axis=0) for z in cap.z]
        gbar = [g.mean(axis=0) for g in gs]
        return cap, zbar, gbar

    def apply_hg(state, k, V):
        if limited:
            return lbfgs_apply(state.S[k], state.Y[k], state.n_pairs, V)
        return state.H_g[k] @ V

    def update_fn(grads, state, params=None, *, value=None, oracle=None):
        check_update(grads, state, params, KBFGSState, f"{where}.update")
        obj = curvature_objective(oracle, f"{where}.update")
        blocks = kronecker_blocks(obj.net, where)
        t = int(state.count)
        dtype = params.dtype
        cap, zbar, gbar = stats(obj, params, blocks)
        T = [a.shape[0] / cap.n for a in cap.a]  # output pixels per example
        lam_a = [base_a * math.sqrt(tk) for tk in T]
        mu2 = [base_g / math.sqrt(tk) for tk in T]
        fresh = t == 0 or not state.A
        if state.A:
            check_factor_shapes(state.A, blocks, f"{where}.update")
        A = ema(() if fresh else state.A, [(a.T @ a) * (1.0 / cap.n) for a in cap.a], decay)
        if fresh or (a_update == "inverse" and t % t3 == 0):
            H_a = tuple(_damped_inverse(Ak, la) for Ak, la in zip(A, lam_a))
        elif a_update == "bfgs":
            H_a = []
            for Ak, Hk, a, la in zip(A, state.H_a, cap.a, lam_a):
                s_a = Hk @ a.mean(axis=0)
                y_a = Ak @ s_a + la * s_a
                H_a.append(bfgs_inverse_update(Hk, s_a, y_a) if float(s_a @ y_a) > 0 else Hk)
            H_a = tuple(H_a)
        else:
            H_a = state.H_a
        if fresh:
            H_g = () if limited else tuple(np.eye(b.n_out, dtype=dtype) for b in blocks)
            S = tuple(np.zeros((mem, b.n_out), dtype=dtype) for b in blocks) if limited else ()
            Y = tuple(np.zeros((mem, b.n_out), dtype=dtype) for b in blocks) if limited else ()
            state = state._replace(H_g=H_g, S=S, Y=Y)
        step = np.empty_like(grads)
        for k, blk in enumerate(blocks):
            M = to_matrix(blk, grads[blk.slice])
            step[blk.slice] = from_matrix(blk, apply_hg(state, k, M) @ H_a[k])
        step *= -at(lr, t)
        if mu:
            step = mu * state.velocity + step
        H_g, S, Y, n_pairs = state.H_g, state.S, state.Y, int(state.n_pairs)
        if np.all(np.isfinite(step)):
            _, zbar1, gbar1 = stats(obj, params + step, blocks)
            new_H, new_S, new_Y = list(H_g), [x.copy() for x in S], [x.copy() for x in Y]
            accepted = True
            for k in range(len(blocks)):
                s, y = zbar1[k] - zbar[k], gbar1[k] - gbar[k]
                s, y = double_damping(s, y, apply_hg(state, k, y), m1, mu2[k])
                if not (float(s @ y) > 0 and np.all(np.isfinite(s)) and np.all(np.isfinite(y))):
                    accepted = False
                    continue
                if limited:
                    new_S[k][n_pairs % mem] = s
                    new_Y[k][n_pairs % mem] = y
                else:
                    new_H[k] = bfgs_inverse_update(H_g[k], s, y)
            if limited and accepted:
                n_pairs += 1
            elif limited:  # keep every block's memory aligned on one pair count
                new_S, new_Y = list(S), list(Y)
            H_g, S, Y = tuple(new_H), tuple(new_S), tuple(new_Y)
        new = KBFGSState(inc(state.count), tuple(A), H_a, H_g, S, Y, np.asarray(n_pairs, dtype=np.int64), step)
        return step, new

    return GradientTransformation(init_fn, update_fn, {"learning_rate": lr, "damping": lam})


def _damped_inverse(A, lam_a):
    s, Q = np.linalg.eigh(A)
    s = np.maximum(s, 0) + lam_a
    return (Q / s) @ Q.T


def kbfgs(learning_rate=0.1, damping=0.3, *, momentum=0.0, ema_decay=0.9, mu1=0.2, a_update="bfgs",
          inverse_update_every=20, a_damping=None, g_damping=None, net=None):
    """K-BFGS (Goldfarb, Ren & Bahamou 2020): BFGS on the G side, Hessian-action
    BFGS (or periodic inversion) on the A side; see the module docstring.

    Parameters
    ----------
    learning_rate : float or schedule
    damping : float > 0
        ``lam``: ``lam_A = sqrt(lam)`` on the A factor and the
        Levenberg-Marquardt ``mu2 = sqrt(lam)`` of the double damping (dense layers).
    momentum : float in [0, 1)
    ema_decay : float in [0, 1)
        Moving average of A.
    mu1 : float in (0, 1)
        Powell damping threshold.
    a_update : {"bfgs", "inverse"}
    inverse_update_every : int
        Period of the inversion when ``a_update="inverse"``.
    a_damping, g_damping : float, optional
        Override ``lam_A = sqrt(lam)`` and ``mu2 = sqrt(lam)`` separately.  The
        G side scales with the loss and the A side does not: with a loss that
        is a mean over d outputs per example (nnopt's convention) the
        paper's per-example-sum setting corresponds to ``g_damping =
        sqrt(lam) / d``.
    net : model, optional
        Lets ``init`` build the full state (a checkpoint template), as in :func:`~nnopt.secondorder.kfac`.
    """
    return _make(False, learning_rate, damping, momentum, ema_decay, 1, mu1, a_update, inverse_update_every, net,
                 a_damping, g_damping, "kbfgs")


def kbfgs_l(learning_rate=0.1, damping=0.3, *, momentum=0.0, ema_decay=0.9, memory=100, mu1=0.2,
            a_update="bfgs", inverse_update_every=20, a_damping=None, g_damping=None, net=None):
    """K-BFGS(L): as :func:`kbfgs` with L-BFGS (the last ``memory`` pairs) on the G side."""
    return _make(True, learning_rate, damping, momentum, ema_decay, memory, mu1, a_update, inverse_update_every, net,
                 a_damping, g_damping, "kbfgs_l")
