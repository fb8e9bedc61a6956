"""Adaptive (per-coordinate) scalings: the AdaGrad, RMSProp and Adam families.

Each ``scale_by_*`` returns the *direction* ``d_t``; a named optimizer
multiplies it by ``-eta_t`` (:func:`~nnopt.optim.basic.scale_by_learning_rate`).
Where PyTorch has the method, the defaults and the placement of ``eps`` and
of the bias corrections follow ``torch.optim`` exactly (torch 2.x).

All arithmetic runs in the parameters' dtype: hyperparameters are Python
floats, which NumPy treats as weakly typed.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .base import (
    GradientTransformation,
    at,
    beta,
    check_grads,
    check_params,
    check_state,
    count0,
    hyper,
)

__all__ = [
    "scale_by_rss",
    "scale_by_delayed_adagrad",
    "scale_by_rms",
    "scale_by_adadelta",
    "scale_by_adam",
    "scale_by_adamax",
    "scale_by_nadam",
    "scale_by_generalized_sign",
    "ScaleByRssState",
    "ScaleByDelayedAdagradState",
    "ScaleByRmsState",
    "ScaleByAdadeltaState",
    "ScaleByAdamState",
    "ScaleByAmsgradState",
    "ScaleByAdamaxState",
    "ScaleByNadamState",
    "ScaleByGeneralizedSignState",
]


# ---------------------------------------------------------------------------
# AdaGrad
# ---------------------------------------------------------------------------


class ScaleByRssState(NamedTuple):
    sum_of_squares: np.ndarray  # s_t


def scale_by_rss(initial_accumulator_value=0.0, eps=1e-10):
    """AdaGrad's scaling (Duchi, Hazan & Singer 2011), in torch's form.

    .. math:: s_t = s_{t-1} + g_t^2, \\qquad d_t = g_t / (\\sqrt{s_t} + \\epsilon),

    with ``s_0 = initial_accumulator_value``.
    """
    where = "scale_by_rss"
    a0 = hyper(initial_accumulator_value, "initial_accumulator_value", where, allow_schedule=False)
    e = hyper(eps, "eps", where, allow_schedule=False)

    def init_fn(params):
        check_params(params, where + ".init")
        return ScaleByRssState(np.full_like(params, a0))

    def update_fn(grads, state, params=None, *, value=None, oracle=None):
        check_state(state, ScaleByRssState, where + ".update")
        check_grads(grads, state.sum_of_squares, where + ".update")
        # (buffers are reused: fresh large arrays cost page faults on every step)
        s = np.multiply(grads, grads)
        s += state.sum_of_squares
        d = np.sqrt(s)
        d += e
        np.divide(grads, d, out=d)
        return d, ScaleByRssState(s)

    return GradientTransformation(init_fn, update_fn)


class ScaleByDelayedAdagradState(NamedTuple):
    sum_of_squares: np.ndarray  # S_{t-1}: per coordinate, or 0-d for the global variant


def scale_by_delayed_adagrad(beta0=1.0, exponent=0.5, coordinate_wise=True):
    """Delayed AdaGrad step sizes (Li & Orabona 2019, On the Convergence of
    Stochastic Gradient Descent with Adaptive Stepsizes, AISTATS, eqs. (3)-(4)).

    .. math::

        d_t = g_t / (\\beta + S_{t-1})^{p}, \\qquad S_t = S_{t-1} + g_t^2,

    coordinate-wise, or with ``S_t = S_{t-1} + ||g_t||^2`` (one scalar) when
    ``coordinate_wise=False``.  The step at time ``t`` uses only *past*
    gradients, so it is independent of ``g_t`` given the past: the property
    their convergence proof needs, and what makes the step adapt to the noise
    level.  ``p = 1/2 + epsilon`` with ``epsilon`` in ``[0, 1/2)`` (the paper's
    ``epsilon``); ``beta > 0`` (the paper's ``beta``).  With
    ``scale_by_learning_rate(alpha)`` the step is ``alpha / (beta + S)^p``.
    """
    where = "scale_by_delayed_adagrad"
    b = hyper(beta0, "beta0", where, low=0.0, low_open=True, allow_schedule=False)
    p = hyper(exponent, "exponent", where, low=0.5, high=1.0, high_open=True, allow_schedule=False)
    cw = bool(coordinate_wise)

    def init_fn(params):
        check_params(params, where + ".init")
        if cw:
            return ScaleByDelayedAdagradState(np.zeros_like(params))
        return ScaleByDelayedAdagradState(np.zeros((), dtype=params.dtype))

    def update_fn(grads, state, params=None, *, value=None, oracle=None):
        check_state(state, ScaleByDelayedAdagradState, where + ".update")
        S = state.sum_of_squares
        if cw:
            check_grads(grads, S, where + ".update")
            d = grads / (b + S) ** p
            S_new = S + grads * grads
        else:
            if not isinstance(grads, np.ndarray) or grads.dtype != S.dtype or grads.ndim != 1:
                raise TypeError(f"{where}.update: grads must be a 1-D {S.dtype} array")
            d = grads * (1.0 / (b + S) ** p)
            S_new = S + np.dot(grads, grads)
        return d, ScaleByDelayedAdagradState(np.asarray(S_new))

    return GradientTransformation(init_fn, update_fn)


# ---------------------------------------------------------------------------
# RMSProp and AdaDelta
# ---------------------------------------------------------------------------


class ScaleByRmsState(NamedTuple):
    square_avg: np.ndarray  # v_t
    grad_avg: np.ndarray  # m_t (centered variant; zeros otherwise)


def scale_by_rms(alpha=0.99, eps=1e-8, centered=False):
    """RMSProp's scaling (Tieleman & Hinton 2012, Lecture 6.5; centered: Graves 2013, eq. 38-40),
    in torch's form.

    .. math::

        v_t = \\alpha v_{t-1} + (1-\\alpha) g_t^2, \\qquad
        d_t = g_t / (\\sqrt{v_t} + \\epsilon),

    centered: ``m_t = alpha m_{t-1} + (1-alpha) g_t`` and
    ``d_t = g_t / (sqrt(v_t - m_t^2) + eps)``.  ``v_0 = m_0 = 0``.
    """
    where = "scale_by_rms"
    a = beta(alpha, "alpha", where, allow_schedule=False)
    e = hyper(eps, "eps", where, allow_schedule=False)
    centered = bool(centered)

    def init_fn(params):
        check_params(params, where + ".init")
        return ScaleByRmsState(np.zeros_like(params), np.zeros_like(params))

    def update_fn(grads, state, params=None, *, value=None, oracle=None):
        check_state(state, ScaleByRmsState, where + ".update")
        check_grads(grads, state.square_avg, where + ".update")
        d = np.multiply(grads, grads)
        d *= 1.0 - a
        v = np.multiply(state.square_avg, a)
        v += d
        if centered:
            m = np.multiply(state.grad_avg, a)
            np.multiply(grads, 1.0 - a, out=d)
            m += d
            np.multiply(m, m, out=d)
            np.subtract(v, d, out=d)
            np.sqrt(d, out=d)
        else:
            m = state.grad_avg
            np.sqrt(v, out=d)
        d += e
        np.divide(grads, d, out=d)
        return d, ScaleByRmsState(v, m)

    return GradientTransformation(init_fn, update_fn)


class ScaleByAdadeltaState(NamedTuple):
    square_avg: np.ndarray  # E[g^2]_t
    acc_delta: np.ndarray  # E[dx^2]_t


def scale_by_adadelta(rho=0.9, eps=1e-6):
    """AdaDelta (Zeiler 2012, Algorithm 1), in torch's form.

    .. math::

        E[g^2]_t = \\rho E[g^2]_{t-1} + (1-\\rho) g_t^2, \\quad
        d_t = \\frac{\\sqrt{E[\\Delta^2]_{t-1} + \\epsilon}}{\\sqrt{E[g^2]_t + \\epsilon}}\\, g_t,
        \\quad E[\\Delta^2]_t = \\rho E[\\Delta^2]_{t-1} + (1-\\rho) d_t^2.
    """
    where = "scale_by_adadelta"
    r = beta(rho, "rho", where, allow_schedule=False)
    e = hyper(eps, "eps", where, allow_schedule=False)

    def init_fn(params):
        check_params(params, where + ".init")
        return ScaleByAdadeltaState(np.zeros_like(params), np.zeros_like(params))

    def update_fn(grads, state, params=None, *, value=None, oracle=None):
        check_state(state, ScaleByAdadeltaState, where + ".update")
        check_grads(grads, state.square_avg, where + ".update")
        acc = np.multiply(grads, grads)
        acc *= 1.0 - r
        sq = np.multiply(state.square_avg, r)
        sq += acc
        np.add(sq, e, out=acc)
        np.sqrt(acc, out=acc)
        d = np.add(state.acc_delta, e)
        np.sqrt(d, out=d)
        d /= acc
        d *= grads
        np.multiply(d, d, out=acc)
        acc *= 1.0 - r
        acc += r * state.acc_delta
        return d, ScaleByAdadeltaState(sq, acc)

    return GradientTransformation(init_fn, update_fn)


# ---------------------------------------------------------------------------
# Adam family
# ---------------------------------------------------------------------------


class ScaleByAdamState(NamedTuple):
    count: np.ndarray  # t (int64, 0-d)
    mu: np.ndarray  # m_t
    nu: np.ndarray  # v_t


class ScaleByAmsgradState(NamedTuple):
    count: np.ndarray
    mu: np.ndarray
    nu: np.ndarray
    nu_max: np.ndarray  # running max of v_t (or of v_t / (1 - b2^t), see amsgrad_max)


_AMS_MODES = ("raw", "corrected")


def scale_by_adam(b1=0.9, b2=0.999, eps=1e-8, *, amsgrad=False, amsgrad_max="raw",
                  bias_correction=True, power=0.5):
    """Adam's scaling (Kingma & Ba 2015, Algorithm 1), in torch's form.

    .. math::

        m_t = \\beta_1 m_{t-1} + (1-\\beta_1) g_t, \\qquad
        v_t = \\beta_2 v_{t-1} + (1-\\beta_2) g_t^2,

        d_t = \\frac{m_t / (1-\\beta_1^t)}{\\sqrt{v_t} / \\sqrt{1-\\beta_2^t} + \\epsilon}.

    ``eps`` is added *after* the bias-corrected square root, as in the paper
    and ``torch.optim.Adam``.  ``b1``/``b2`` may be schedules.

    Parameters
    ----------
    amsgrad : bool
        AMSGrad (Reddi, Kale & Kumar 2018, Algorithm 2): replace ``v_t`` by its
        running maximum.
    amsgrad_max : {"raw", "corrected"}
        ``"raw"`` (default, torch): ``vmax_t = max(vmax_{t-1}, v_t)`` and
        ``d_t = m_hat_t / (sqrt(vmax_t) / sqrt(1-b2^t) + eps)``.
        ``"corrected"`` (optax): the maximum of the bias-corrected
        ``v_t / (1 - b2^t)``, ``d_t = m_hat_t / (sqrt(vmax_t) + eps)``.
    bias_correction : bool
        ``False`` drops both corrections (the AMSGrad paper's form).
    power : float
        Exponent of the second moment, ``d_t = m_hat / (v_hat^p + eps)``;
        ``0.5`` is Adam, ``p in (0, 1/2)`` is Padam's partially adaptive
        scaling (Chen & Gu 2018; ``p = 1/8`` recommended), used by GadamX.
    """
    where = "scale_by_adam"
    b1 = beta(b1, "b1", where)
    b2 = beta(b2, "b2", where)
    e = hyper(eps, "eps", where, allow_schedule=False)
    p = hyper(power, "power", where, low=0.0, high=0.5, low_open=True, allow_schedule=False)
    if amsgrad_max not in _AMS_MODES:
        raise ValueError(f"{where}: amsgrad_max must be one of {_AMS_MODES}, got {amsgrad_max!r}")
    amsgrad = bool(amsgrad)
    bc = bool(bias_correction)
    state_cls = ScaleByAmsgradState if amsgrad else ScaleByAdamState

    def init_fn(params):
        check_params(params, where + ".init")
        z = np.zeros_like(params)
        if amsgrad:
            return ScaleByAmsgradState(count0(), z, z.copy(), z.copy())
        return ScaleByAdamState(count0(), z, z.copy())

    def update_fn(grads, state, params=None, *, value=None, oracle=None):
        check_state(state, state_cls, where + ".update")
        check_grads(grads, state.mu, where + ".update")
        t = int(state.count) + 1
        c1, c2 = at(b1, t - 1), at(b2, t - 1)
        u = np.multiply(grads, 1.0 - c1)  # u is the scratch buffer, then the output
        m = np.multiply(state.mu, c1)
        m += u
        np.multiply(grads, grads, out=u)
        u *= 1.0 - c2
        v = np.multiply(state.nu, c2)
        v += u
        bc1 = 1.0 - c1 ** t if bc else 1.0
        bc2 = 1.0 - c2 ** t if bc else 1.0
        if amsgrad:
            if amsgrad_max == "raw":
                vmax = np.maximum(state.nu_max, v)
            else:
                vmax = np.divide(v, bc2)
                np.maximum(state.nu_max, vmax, out=vmax)
                bc2 = 1.0
            vhat = vmax
        else:
            vhat = v
        if p == 0.5:
            np.sqrt(vhat, out=u)
            u /= bc2 ** 0.5
        else:
            np.divide(vhat, bc2, out=u)
            u **= p
        u += e
        np.divide(m, u, out=u)
        u *= 1.0 / bc1
        if amsgrad:
            return u, ScaleByAmsgradState(np.asarray(t, dtype=np.int64), m, v, vmax)
        return u, ScaleByAdamState(np.asarray(t, dtype=np.int64), m, v)

    return GradientTransformation(init_fn, update_fn)


class ScaleByAdamaxState(NamedTuple):
    count: np.ndarray
    mu: np.ndarray  # m_t
    nu: np.ndarray  # u_t, the exponentially weighted infinity norm


def scale_by_adamax(b1=0.9, b2=0.999, eps=1e-8):
    """AdaMax (Kingma & Ba 2015, Algorithm 2), in torch's form.

    .. math::

        m_t = \\beta_1 m_{t-1} + (1-\\beta_1) g_t, \\qquad
        u_t = \\max(\\beta_2 u_{t-1}, |g_t| + \\epsilon), \\qquad
        d_t = \\frac{m_t}{(1-\\beta_1^t)\\, u_t}.
    """
    where = "scale_by_adamax"
    b1 = beta(b1, "b1", where)
    b2 = beta(b2, "b2", where)
    e = hyper(eps, "eps", where, allow_schedule=False)

    def init_fn(params):
        check_params(params, where + ".init")
        return ScaleByAdamaxState(count0(), np.zeros_like(params), np.zeros_like(params))

    def update_fn(grads, state, params=None, *, value=None, oracle=None):
        check_state(state, ScaleByAdamaxState, where + ".update")
        check_grads(grads, state.mu, where + ".update")
        t = int(state.count) + 1
        c1, c2 = at(b1, t - 1), at(b2, t - 1)
        d = np.multiply(grads, 1.0 - c1)
        m = np.multiply(state.mu, c1)
        m += d
        np.abs(grads, out=d)
        d += e
        u = np.multiply(state.nu, c2)
        np.maximum(u, d, out=u)
        np.divide(m, u, out=d)
        d *= 1.0 / (1.0 - c1 ** t)
        return d, ScaleByAdamaxState(np.asarray(t, dtype=np.int64), m, u)

    return GradientTransformation(init_fn, update_fn)


class ScaleByNadamState(NamedTuple):
    count: np.ndarray
    mu: np.ndarray  # m_t
    nu: np.ndarray  # v_t
    mu_product: np.ndarray  # prod_{i<=t} mu_i (float64, 0-d; torch variant only)


def scale_by_nadam(b1=0.9, b2=0.999, eps=1e-8, momentum_decay=4e-3, variant="torch"):
    """NAdam (Dozat 2016, Incorporating Nesterov Momentum into Adam).

    ``variant="torch"`` (default) is ``torch.optim.NAdam``, Dozat's Algorithm 2
    with the momentum schedule ``mu_t = b1 (1 - 0.5 * 0.96^(t psi))``,
    ``psi = momentum_decay``:

    .. math::

        m_t = \\beta_1 m_{t-1} + (1-\\beta_1) g_t, \\quad
        v_t = \\beta_2 v_{t-1} + (1-\\beta_2) g_t^2, \\quad
        D_t = \\sqrt{v_t / (1-\\beta_2^t)} + \\epsilon,

        d_t = \\frac{1-\\mu_t}{1-\\prod_{i\\le t}\\mu_i}\\frac{g_t}{D_t}
            + \\frac{\\mu_{t+1}}{1-\\prod_{i\\le t+1}\\mu_i}\\frac{m_t}{D_t}.

    ``variant="optax"`` is optax's ``nadam`` (constant ``b1``):
    ``d_t = (b1 m_t / (1-b1^{t+1}) + (1-b1) g_t / (1-b1^t)) / (sqrt(v_t/(1-b2^t)) + eps)``.
    """
    where = "scale_by_nadam"
    b1 = beta(b1, "b1", where)
    b2 = beta(b2, "b2", where)
    e = hyper(eps, "eps", where, allow_schedule=False)
    psi = hyper(momentum_decay, "momentum_decay", where, allow_schedule=False)
    if variant not in ("torch", "optax"):
        raise ValueError(f"{where}: variant must be 'torch' or 'optax', got {variant!r}")

    def init_fn(params):
        check_params(params, where + ".init")
        return ScaleByNadamState(count0(), np.zeros_like(params), np.zeros_like(params),
                                 np.ones((), dtype=np.float64))

    def update_fn(grads, state, params=None, *, value=None, oracle=None):
        check_state(state, ScaleByNadamState, where + ".update")
        check_grads(grads, state.mu, where + ".update")
        t = int(state.count) + 1
        c1, c2 = at(b1, t - 1), at(b2, t - 1)
        D = np.multiply(grads, 1.0 - c1)
        m = np.multiply(state.mu, c1)
        m += D
        np.multiply(grads, grads, out=D)
        D *= 1.0 - c2
        v = np.multiply(state.nu, c2)
        v += D
        np.divide(v, 1.0 - c2 ** t, out=D)
        np.sqrt(D, out=D)
        D += e
        prod = float(state.mu_product)
        if variant == "torch":
            mu_t = c1 * (1.0 - 0.5 * 0.96 ** (t * psi))
            mu_next = c1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * psi))
            prod = prod * mu_t
            a = (1.0 - mu_t) / (1.0 - prod)
            b = mu_next / (1.0 - prod * mu_next)
        else:
            a = (1.0 - c1) / (1.0 - c1 ** t)
            b = c1 / (1.0 - c1 ** (t + 1))
        num = np.multiply(m, b)
        num += a * grads
        np.divide(num, D, out=num)
        return num, ScaleByNadamState(np.asarray(t, dtype=np.int64), m, v,
                                      np.asarray(prod, dtype=np.float64))

    return GradientTransformation(init_fn, update_fn)


# ---------------------------------------------------------------------------
# generalized SignSGD
# ---------------------------------------------------------------------------


class ScaleByGeneralizedSignState(NamedTuple):
    mu: np.ndarray  # m_t
    nu: np.ndarray  # v_t


def scale_by_generalized_sign(b1=0.9, b2=0.99, eps=1e-8):
    """Generalized SignSGD (Crawshaw, Liu, Orabona, Zhang & Zhuang 2022,
    Robustness to Unbounded Smoothness of Generalized SignSGD, NeurIPS, Algorithm 1).

    .. math::

        m_t = \\beta_1 m_{t-1} + (1-\\beta_1) g_t, \\qquad
        v_t = \\beta_2 v_{t-1} + (1-\\beta_2) g_t^2, \\qquad
        d_t = m_t / (\\sqrt{v_t} + \\epsilon),

    with no bias correction.  ``b1 = b2 = 0``, ``eps = 0`` is signSGD
    (Bernstein et al. 2018), ``d_t = sign(g_t)``; ``b1 < b2`` close to 1 is
    Adam without bias correction.  The normalisation bounds ``|d_t|`` by
    ``(1-b1)/sqrt(1-b2) * sum_k (b1/sqrt(b2))^k``, an implicit clipping that
    makes the method robust to (L0, L1)-smoothness without explicit clipping.
    Coordinates with ``sqrt(v_t) + eps == 0`` get ``d = 0`` (``sign(0) = 0``).
    """
    where = "scale_by_generalized_sign"
    b1 = beta(b1, "b1", where, allow_schedule=False)
    b2 = beta(b2, "b2", where, allow_schedule=False)
    e = hyper(eps, "eps", where, allow_schedule=False)

    def init_fn(params):
        check_params(params, where + ".init")
        return ScaleByGeneralizedSignState(np.zeros_like(params), np.zeros_like(params))

    def update_fn(grads, state, params=None, *, value=None, oracle=None):
        check_state(state, ScaleByGeneralizedSignState, where + ".update")
        check_grads(grads, state.mu, where + ".update")
        den = np.multiply(grads, 1.0 - b1)
        m = np.multiply(state.mu, b1)
        m += den
        np.multiply(grads, grads, out=den)
        den *= 1.0 - b2
        v = np.multiply(state.nu, b2)
        v += den
        np.sqrt(v, out=den)
        den += e
        d = np.zeros_like(m)
        np.divide(m, den, out=d, where=den > 0)
        return d, ScaleByGeneralizedSignState(m, v)

    return GradientTransformation(init_fn, update_fn)
