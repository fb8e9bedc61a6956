"""Majorization-minimization with verified "safe" learning rates.

Along an update direction ``d`` the loss ``h(eta) = f(theta + eta d)`` has,
on a trust region ``[0, eta_max]``, a degree-1 Taylor enclosure (AutoBound)

    h(eta) - h(0) = c_1 eta + r(eta) eta^2,   c_1 = <grad f(theta), d>,  r in [R_lo, R_hi],

so ``h(eta) - h(0) <= c_1 eta + R_hi eta^2`` (a quadratic majorizer, verified
with outward rounding).  Its minimiser on the trust region,

    eta* = min(eta_max, -c_1 / (2 R_hi))   (eta_max when R_hi <= 0),

decreases the loss by at least ``-(c_1 eta* + R_hi eta*^2) > 0`` whenever
``c_1 < 0``: the "SafeRate" of Streeter & Dillon (2023, "Automatically
Bounding the Taylor Remainder Series: Tighter Bounds and New Applications",
section 5).  The trust region adapts: doubled when ``eta*`` hits it,
otherwise set to ``growth * eta*``.  No learning rate to tune.

The guarantee is for the exact real loss at ``theta + eta* d``; storing the
new iterate in floating point rounds it (``verify=True`` checks the decrease
at the rounded iterate with interval arithmetic and halves the step otherwise).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .api import taylor_tm
from .backend import get_backend
from .interval import Interval
from .trace import interpret
from . import taylor as T

__all__ = ["SafeRate", "safe_rate", "mm_minimize", "MMResult", "safe_rate_descent", "SafeRateState"]


class SafeRate(NamedTuple):
    """A verified step along a direction (see :func:`safe_rate`)."""

    rate: float
    """The step eta* (0.0 when no decrease can be certified)."""
    decrease: float
    """Verified upper bound of f(theta + rate d) - f(theta) (<= 0)."""
    slope: tuple
    """Enclosure of c_1 = <grad f(theta), d> (of the slope over the trust
    region where f is not differentiable along d at theta)."""
    curvature: tuple
    """(R_lo, R_hi): h(eta) - h(0) - c_1 eta in [R_lo, R_hi] eta^2 on [0, max_rate]."""
    max_rate: float
    """The trust region used."""
    value: tuple
    """Enclosure of f(theta)."""


def _check_vector(x, name, like=None):
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{name} must be a NumPy array, got {type(x).__name__}")
    if x.dtype.kind != "f":
        raise TypeError(f"{name} must be a float32/float64 array, got dtype {x.dtype}")
    if x.ndim != 1:
        raise ValueError(f"{name} must be a 1-D vector, got shape {x.shape}")
    if like is not None:
        if x.shape != like.shape:
            raise ValueError(f"{name} has shape {x.shape}, expected {like.shape} (like theta)")
        if x.dtype != like.dtype:
            raise TypeError(f"{name} has dtype {x.dtype} but theta has dtype {like.dtype}; cast one explicitly")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} must be finite")
    return x


def _line_tm(fun, theta, direction, max_rate, bk, pieces):
    dtype = theta.dtype

    def h(eta):
        return fun(theta + eta * direction)

    X0 = Interval.point(np.zeros((1, 1)), bk)
    Z = Interval(bk.zeros((1, 1)), Interval.point(np.array([[max_rate]]), bk).hi, bk)
    box = Interval(Z.lo, Z.hi, bk)
    return taylor_tm(h, X0, Z, box, 1, bk, True, dtype, pieces=pieces)


def safe_rate(fun, theta, direction, max_rate, *, backend=None, pieces=1):
    """The verified safe step along ``direction`` (see the module docstring).

    Parameters
    ----------
    fun : callable ``fun(theta) -> scalar`` written with :mod:`nnopt.numpy`
        (an :class:`nnopt.Objective` works: it is differentiable with nnp).
    theta, direction : 1-D float arrays of the same dtype
    max_rate : float > 0
        Trust region ``[0, max_rate]`` for the step.
    backend : see :func:`nnopt.bounds.taylor_bounds`
    pieces : int
        Split the trust region into pieces for a sharper curvature bound.

    Returns
    -------
    SafeRate
    """
    if not callable(fun):
        raise TypeError(f"fun must be callable, got {type(fun).__name__}")
    _check_vector(theta, "theta")
    _check_vector(direction, "direction", theta)
    if not isinstance(max_rate, (int, float, np.floating, np.integer)) or isinstance(max_rate, bool) \
            or not (np.isfinite(max_rate) and max_rate > 0):
        raise ValueError(f"max_rate must be a positive finite number, got {max_rate!r}")
    bk = get_backend(backend)
    tm = _line_tm(fun, theta, direction, float(max_rate), bk, pieces)
    if tm.shape != ():
        raise ValueError(f"safe_rate: fun must return a scalar, got shape {tm.shape}")
    c0 = tm.c0()
    value = tuple(float(v) for v in np.ravel(c0.to_floats()))
    if tm.degree < 1:
        # a kink exactly at theta (relu/max switching at eta = 0): no quadratic
        # majorizer, but the slope form h(eta) - h(0) in S eta, S = [s_lo, s_hi],
        # still certifies a decrease for every eta in the trust region when s_hi < 0
        S = tm.truncate(0).rem
        if S is None:
            return SafeRate(0.0, 0.0, (0.0, 0.0), (0.0, 0.0), float(max_rate), value)
        s_lo, s_hi = (float(v) for v in np.ravel(S.to_floats()))
        if not s_hi < 0:
            return SafeRate(0.0, 0.0, (s_lo, s_hi), (-np.inf, np.inf), float(max_rate), value)
        E = Interval.point(np.float64(max_rate), bk)
        dec = float(np.ravel((Interval.point(np.float64(s_hi), bk) * E).to_floats()[1])[0])
        return SafeRate(float(max_rate), dec, (s_lo, s_hi), (-np.inf, np.inf), float(max_rate), value)
    c1 = tm.coeffs[1] if tm.coeffs[1] is not None else Interval.zeros((1, 1), bk)
    R = tm.rem if tm.rem is not None else Interval.zeros((1, 1), bk)
    s_lo, s_hi = (float(v) for v in np.ravel(c1.to_floats()))
    r_lo, r_hi = (float(v) for v in np.ravel(R.to_floats()))
    if not s_hi < 0 or not np.isfinite(r_hi):
        return SafeRate(0.0, 0.0, (s_lo, s_hi), (r_lo, r_hi), float(max_rate), value)
    eta = float(max_rate) if r_hi <= 0 else min(float(max_rate), -s_hi / (2.0 * r_hi))
    # verified bound of the decrease at this (floating-point) eta
    E = Interval.point(np.float64(eta), bk)
    dec = Interval.point(np.float64(s_hi), bk) * E + Interval.point(np.float64(r_hi), bk) * E.sqr()
    decrease = float(np.ravel(dec.to_floats()[1])[0])
    if not decrease < 0:
        return SafeRate(0.0, 0.0, (s_lo, s_hi), (r_lo, r_hi), float(max_rate), value)
    return SafeRate(eta, decrease, (s_lo, s_hi), (r_lo, r_hi), float(max_rate), value)


def _value_enclosure(fun, theta, bk):
    """Verified enclosure of fun(theta) at a floating-point point."""
    n = theta.shape[0]
    X0 = Interval.point(np.zeros((1, 1)), bk)
    ctx = T.Context(Interval.zeros((1, 1), bk), -1, bk)
    tm = interpret(lambda e: fun(theta + e * np.zeros(n, dtype=theta.dtype)), ctx, X0, theta.dtype, True)
    lo, hi = tm.rng.to_floats()
    return float(np.ravel(lo)[0]), float(np.ravel(hi)[0])


class MMResult:
    """Result of :func:`mm_minimize` (attributes like scipy's OptimizeResult).

    Attributes: ``x`` (final parameters), ``fun`` (final loss), ``history``
    (dict of arrays: ``loss``, ``rate``, ``max_rate``, ``decrease``),
    ``nit``, ``nfev`` (gradient evaluations), ``status`` (0 steps done, 1 no
    certified decrease: stationary point or a kink), ``message``.
    """

    def __init__(self, **kw):
        self.__dict__.update(kw)

    def __repr__(self):
        return f"MMResult(fun={self.fun!r}, nit={self.nit}, status={self.status}, message={self.message!r})"


def _value_and_grad(objective):
    vg = getattr(objective, "value_and_grad", None)
    if callable(vg):
        return vg
    from ..autodiff.transforms import value_and_grad

    return value_and_grad(objective)


def mm_minimize(objective, theta0, steps=100, *, max_rate=1.0, growth=2.0, direction=None,
                pieces=1, verify=False, callback=None, backend=None):
    """Full-batch majorization-minimization with verified safe learning rates.

    Each step takes ``d = -grad f(theta)`` (or ``direction(theta, grad)``),
    computes the verified quadratic majorizer of ``f(theta + eta d)`` on
    ``[0, eta_max]`` and moves to its minimiser (:func:`safe_rate`); the loss
    never increases (for the exact real loss at the exact step).  The trust
    region is doubled when the step reaches it and set to ``growth * eta*``
    otherwise.

    Parameters
    ----------
    objective : :class:`nnopt.Objective` or callable ``f(theta)`` written with nnp
    theta0 : 1-D float array (its dtype is kept)
    steps : int
    max_rate : float
        Initial trust region for the step.
    growth : float > 1
    direction : callable ``(theta, grad) -> d``, optional
    pieces : int
        See :func:`safe_rate`.
    verify : bool
        Also check with interval arithmetic that the loss at the stored
        (rounded) iterate is not larger than at the previous one; halve the
        step (up to 30 times) otherwise.
    callback : callable ``callback(step, theta, loss, safe_rate)``, optional
    backend : see :func:`nnopt.bounds.taylor_bounds`

    Returns
    -------
    MMResult
    """
    if not callable(objective):
        raise TypeError(f"objective must be an nnopt.Objective or a callable, got {type(objective).__name__}")
    theta = _check_vector(np.asarray(theta0) if not isinstance(theta0, np.ndarray) else theta0, "theta0").copy()
    if not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(f"steps must be a non-negative integer, got {steps!r}")
    if not (isinstance(growth, (int, float)) and growth > 1):
        raise ValueError(f"growth must be a number > 1, got {growth!r}")
    bk = get_backend(backend)
    vg = _value_and_grad(objective)
    eta_max = float(max_rate)
    hist = {"loss": [], "rate": [], "max_rate": [], "decrease": []}
    status, message = 0, f"{steps} steps done"
    nfev = 0
    nit = 0
    loss = None
    for nit in range(steps):
        loss, g = vg(theta)
        nfev += 1
        g = np.asarray(g, dtype=theta.dtype)
        d = -g if direction is None else np.asarray(direction(theta, g), dtype=theta.dtype)
        sr = safe_rate(objective, theta, d, eta_max, backend=bk, pieces=pieces)
        for _ in range(6):  # no certified decrease: a smaller trust region may give one
            if sr.rate > 0:
                break
            eta_max /= 16.0
            sr = safe_rate(objective, theta, d, eta_max, backend=bk, pieces=pieces)
        hist["loss"].append(float(loss))
        hist["rate"].append(sr.rate)
        hist["max_rate"].append(eta_max)
        hist["decrease"].append(sr.decrease)
        if callback is not None:
            callback(nit, theta, float(loss), sr)
        if sr.rate == 0.0:
            status, message = 1, "no certified decrease along the direction (stationary point or kink)"
            break
        new = (theta + np.asarray(sr.rate, dtype=theta.dtype) * d).astype(theta.dtype)
        if verify:
            old_hi = _value_enclosure(objective, theta, bk)[1]
            rate = sr.rate
            for _ in range(30):
                if _value_enclosure(objective, new, bk)[1] <= old_hi:
                    break
                rate *= 0.5
                new = (theta + np.asarray(rate, dtype=theta.dtype) * d).astype(theta.dtype)
            else:
                status, message = 1, "the rounded iterate could not be verified to decrease the loss"
                break
        theta = new
        eta_max = eta_max * growth if sr.rate >= eta_max * (1 - 1e-12) else max(growth * sr.rate, 1e-300)
    else:
        nit = steps
    if status == 0 or loss is None:
        loss = float(vg(theta)[0])
        nfev += 1
    hist = {k: np.asarray(v) for k, v in hist.items()}
    return MMResult(x=theta, fun=float(loss), history=hist, nit=nit, nfev=nfev, status=status, message=message)


class SafeRateState(NamedTuple):
    count: np.ndarray
    max_rate: np.ndarray  # float64 0-d


def safe_rate_descent(max_rate=1.0, growth=2.0, pieces=1):
    """Gradient descent with the verified safe rate as an ``(init, update)`` pair.

    ``update(grads, state, params, *, value=None, oracle=None)`` needs
    ``oracle=``: the (full-batch) objective, an ``nnopt.Objective`` or a
    callable written with nnp (an :class:`nnopt.optim.oracle.Oracle` is
    unwrapped to its objective).  Returns ``updates = eta* (-grads)``.
    """
    if not (isinstance(max_rate, (int, float)) and max_rate > 0):
        raise ValueError(f"safe_rate_descent: max_rate must be a positive number, got {max_rate!r}")
    if not (isinstance(growth, (int, float)) and growth > 1):
        raise ValueError(f"safe_rate_descent: growth must be a number > 1, got {growth!r}")

    def init(params):
        _check_vector(params, "params")
        return SafeRateState(np.zeros((), dtype=np.int64), np.asarray(float(max_rate)))

    def update(grads, state, params=None, *, value=None, oracle=None):
        if not isinstance(state, SafeRateState):
            raise TypeError(f"safe_rate_descent.update: state must be a SafeRateState, got {type(state).__name__}")
        if params is None:
            raise ValueError("safe_rate_descent.update: needs params (update(grads, state, params, oracle=f))")
        if oracle is None:
            raise ValueError("safe_rate_descent.update: needs oracle=<the objective or a function f(theta)>")
        fun = getattr(oracle, "objective", oracle)
        _check_vector(grads, "grads", params)
        d = -grads
        eta_max = float(state.max_rate)
        sr = safe_rate(fun, params, d, eta_max, pieces=pieces)
        new_max = eta_max * growth if sr.rate >= eta_max * (1 - 1e-12) else max(growth * sr.rate, 1e-300)
        updates = (np.asarray(sr.rate, dtype=params.dtype) * d).astype(params.dtype)
        return updates, SafeRateState(state.count + 1, np.asarray(new_max))

    try:
        from ..optim.base import GradientTransformation

        return GradientTransformation(init, update, {"max_rate": max_rate})
    except Exception:  # pragma: no cover - optim not available
        return (init, update)
