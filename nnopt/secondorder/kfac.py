"""K-FAC: Kronecker-factored approximate curvature (Martens & Grosse 2015).

Each Dense/Conv2D block's Fisher (= Gauss-Newton for the supported losses)
is approximated by ``G (x) A`` (:mod:`nnopt.secondorder.kronecker`; KFC of
Grosse & Martens 2016 for convolutions) and the update is

    u_t = mu u_{t-1} - eta_t nu_t (G_t (x) A_t + (lam_t + wd) I)^{-1} grad_t

blockwise, i.e. ``Delta M = -eta G^{-1} dL/dM A^{-1}`` for every block, with

* ``A_t, G_t`` exponential moving averages (``ema_decay``, Martens & Grosse
  section 5) of the minibatch factors, recomputed every
  ``cov_update_every`` steps (T1), their eigendecompositions every
  ``inverse_update_every`` steps (T3);
* G from backward passes with targets **sampled** from the model's
  predictive distribution (``fisher="sampled"``, the default: the Fisher),
  the true targets (``"empirical"``: the empirical Fisher), or every row of
  the loss Hessian's square root (``"exact"``: the exact expectation over
  targets, one backward pass per output dimension);
* damping ``lam`` factored (``damping_mode="pi"``, section 6.3) or exact
  Tikhonov of the Kronecker product (``"tikhonov"``), plus the objective's
  weight decay ``wd``; optionally adapted by the Levenberg-Marquardt rule
  (section 6.5): every T2 = ``damping_update_every`` steps,
  ``rho = (L(theta + u) - L(theta)) / M(u)`` with the quadratic model
  ``M(u) = g^T u + u^T (GN + lam I) u / 2`` (exact Gauss-Newton product
  on the minibatch), and ``lam <- omega lam`` if ``rho > 3/4``,
  ``lam <- lam / omega`` if ``rho < 1/4``, ``omega = (19/20)^T2``;
* ``nu_t = min(1, sqrt(c / (eta^2 p^T g)))`` when ``norm_constraint=c``
  (the KL-based step clipping of Ba, Grosse & Martens 2017), else 1;
* momentum ``mu`` on the update (heavy ball; 0 by default).

The per-step random targets come from ``numpy.random.default_rng([seed, t])``,
so a run is reproducible and a checkpointed state resumes bit for bit.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from ..nn import loss_curvature as losses
from ..optim.base import GradientTransformation, at, beta, check_params, count0, hyper, inc
from ._common import (
    check_factor_shapes, check_seed, check_update, curvature_objective, init_blocks, loss_at, positive_int, step_rng,
    weight_decay,
)
from .capture import Capture, kronecker_blocks
from .gauss_newton import GaussNewton
from .kronecker import DAMPING_MODES, ema, eig, factors, precondition_vector

__all__ = ["kfac", "KFACState", "FISHER_MODES", "sample_passes", "safe_eig", "lm_damping_update"]

FISHER_MODES = ("sampled", "empirical", "exact")


class KFACState(NamedTuple):
    count: np.ndarray      # steps taken (int64, 0-d)
    A: tuple               # moving averages of the input factors (empty before the first step)
    G: tuple               # moving averages of the pre-activation gradient factors
    eig_A: tuple           # (eigenvalues, eigenvectors) of A at the last inversion
    eig_G: tuple
    velocity: np.ndarray   # previous update (momentum)
    damping: np.ndarray    # current lambda (0-d float64)


def sample_passes(cap, obj, fisher, rng):
    """Backward passes for the G factor: one (sampled/empirical) or one per output dimension (exact)."""
    if fisher == "sampled":
        return [cap.backward(losses.sample_grad(obj.loss_name, cap.out, rng))]
    if fisher == "empirical":
        return [cap.backward(losses.per_example_grad(obj.loss_name, cap.out, obj.Y))]
    return [cap.backward(b) for b in losses.hessian_factors(obj.loss_name, cap.out)]


def safe_eig(M):
    """Eigendecomposition, or NaNs (so the update is non-finite and the
    training loop stops the run) when the factor is not finite."""
    if not np.all(np.isfinite(M)):
        n = M.shape[0]
        return np.full(n, np.nan, dtype=M.dtype), np.full((n, n), np.nan, dtype=M.dtype)
    return eig(M)


def lm_damping_update(obj, params, step, grads, value, damping, omega):
    """Levenberg-Marquardt rule: the new damping from the reduction ratio of ``step``."""
    f0 = loss_at(obj, params) if value is None else float(value)
    f1 = loss_at(obj, params + step)
    GN = GaussNewton(obj, params)
    model = float(np.dot(grads, step)) + 0.5 * float(np.dot(step, GN.matvec(step))) + 0.5 * damping * float(np.dot(step, step))
    rho = (f1 - f0) / model if model < 0 else -math.inf
    if not math.isfinite(f1) or rho < 0.25:
        return damping / omega
    if rho > 0.75:
        return damping * omega
    return damping


def kfac(learning_rate=0.1, damping=1e-2, *, momentum=0.0, ema_decay=0.95, cov_update_every=1,
         inverse_update_every=10, damping_mode="pi", fisher="sampled", adaptive_damping=False,
         damping_update_every=5, min_damping=1e-8, norm_constraint=1e-2, seed=0, net=None):
    """K-FAC for stacks of Dense/Conv2D layers (see the module docstring).

    Parameters
    ----------
    learning_rate : float or schedule
    damping : float >= 0
        Initial Tikhonov damping ``lam`` (in the units of the mean loss).
    momentum : float in [0, 1)
    ema_decay : float in [0, 1)
        Weight of the old factors in the moving averages.
    cov_update_every, inverse_update_every : int
        T1 and T3 of Martens & Grosse (the first step always computes both).
    damping_mode : {"pi", "tikhonov"}
    fisher : {"sampled", "empirical", "exact"}
    adaptive_damping : bool
        Levenberg-Marquardt adaptation of ``lam`` every ``damping_update_every``
        steps (costs one forward pass and one Gauss-Newton product then).
    min_damping : float
        Lower bound for the adapted damping.
    norm_constraint : float or None
        KL clipping constant ``c`` (``None``: no clipping).  The default
        1e-2 keeps early steps safe while the factors are still changing fast.
    seed : int
        Seed of the sampled targets.
    net : model, optional
        The model, so that ``init`` builds the full state (factor arrays of
        their final shapes, zeros until the first step) as a checkpoint
        template; without it the factors are created by the first ``update``.

    Returns
    -------
    GradientTransformation
        ``update(grads, state, params, oracle=minibatch_objective)`` returns the
        update (to add to ``params``); the oracle must be an
        :class:`nnopt.Objective` whose model is a stack of Dense/Conv2D layers
        with parameter-free layers between them.

    Examples
    --------
    >>> import numpy as np, nnopt
    >>> from nnopt.nn import MLP
    >>> from nnopt.secondorder import kfac
    >>> X = np.random.default_rng(0).normal(size=(64, 4))
    >>> obj = nnopt.Objective(MLP([4, 8, 2]), "mse", X, X[:, :2] ** 2)
    >>> opt = kfac(learning_rate=0.1, damping=1e-2)
    >>> theta = obj.net.init(seed=0); state = opt.init(theta)
    >>> for _ in range(20):
    ...     loss, g = obj.value_and_grad(theta)
    ...     u, state = opt.update(g, state, theta, value=loss, oracle=obj)
    ...     theta = theta + u
    """
    where = "kfac"
    lr = hyper(learning_rate, "learning_rate", where)
    lam0 = hyper(damping, "damping", where, allow_schedule=False)
    mu = beta(momentum, "momentum", where, allow_schedule=False)
    decay = beta(ema_decay, "ema_decay", where, allow_schedule=False)
    t1 = positive_int(cov_update_every, "cov_update_every", where)
    t3 = positive_int(inverse_update_every, "inverse_update_every", where)
    t2 = positive_int(damping_update_every, "damping_update_every", where)
    lam_min = hyper(min_damping, "min_damping", where, allow_schedule=False)
    if damping_mode not in DAMPING_MODES:
        raise ValueError(f"{where}: damping_mode must be one of {DAMPING_MODES}, got {damping_mode!r}")
    if fisher not in FISHER_MODES:
        raise ValueError(f"{where}: fisher must be one of {FISHER_MODES}, got {fisher!r}")
    clip = None if norm_constraint is None else hyper(norm_constraint, "norm_constraint", where, low=0.0,
                                                      low_open=True, allow_schedule=False)
    seed = check_seed(seed, where)
    adaptive = bool(adaptive_damping)
    omega = (19.0 / 20.0) ** t2

    def init_fn(params):
        check_params(params, f"{where}.init")
        blocks = init_blocks(net, params, f"{where}.init")
        A = G = eA = eG = ()
        if blocks is not None:
            z = params.dtype
            A = tuple(np.zeros((b.a_dim, b.a_dim), z) for b in blocks)
            G = tuple(np.zeros((b.n_out, b.n_out), z) for b in blocks)
            eA = tuple((np.zeros(b.a_dim, z), np.zeros((b.a_dim, b.a_dim), z)) for b in blocks)
            eG = tuple((np.zeros(b.n_out, z), np.zeros((b.n_out, b.n_out), z)) for b in blocks)
        return KFACState(count0(), A, G, eA, eG, np.zeros_like(params), np.asarray(lam0, dtype=np.float64))

    def update_fn(grads, state, params=None, *, value=None, oracle=None):
        check_update(grads, state, params, KFACState, f"{where}.update")
        obj = curvature_objective(oracle, f"{where}.update")
        blocks = kronecker_blocks(obj.net, where)
        t = int(state.count)
        A, G, eig_A, eig_G = state.A, state.G, state.eig_A, state.eig_G
        fresh = t == 0 or not A
        if A:
            check_factor_shapes(A, blocks, f"{where}.update")
        if fresh or t % t1 == 0:
            cap = Capture(obj.net, params, obj.X, blocks, where)
            Ab, Gb = factors(cap, sample_passes(cap, obj, fisher, step_rng(seed, t)))
            A, G = ema(() if fresh else A, Ab, decay), ema(() if fresh else G, Gb, decay)
        if fresh or t % t3 == 0:
            eig_A = tuple(safe_eig(a) for a in A)
            eig_G = tuple(safe_eig(g) for g in G)
        lam = float(state.damping)
        P = precondition_vector(blocks, grads, eig_A, eig_G, lam + weight_decay(obj), damping_mode)
        eta = at(lr, t)
        step = P * (-eta)
        if clip is not None:
            vg = eta * eta * float(np.dot(P, grads))
            if vg > 0:
                step *= min(1.0, math.sqrt(clip / vg))
        if mu:
            step = mu * state.velocity + step
        if adaptive and (t + 1) % t2 == 0 and np.all(np.isfinite(step)):
            lam = max(lm_damping_update(obj, params, step, grads, value, lam, omega), lam_min)
        new = KFACState(inc(state.count), tuple(A), tuple(G), eig_A, eig_G, step, np.asarray(lam, dtype=np.float64))
        return step, new

    return GradientTransformation(init_fn, update_fn, {"learning_rate": lr, "damping": lam0})
