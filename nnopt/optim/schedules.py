"""Schedules: pure functions ``step -> value`` for any scalar hyperparameter.

Every schedule accepts an integer step (returning a Python float) or an
integer array of steps (returning a float64 array, for plotting).  Steps
count from 0, the first update.  Any hyperparameter of any transform that is
documented as "float or schedule" accepts one of these (or any callable with
the same contract).

References
----------
* Loshchilov & Hutter (2017), SGDR: Stochastic Gradient Descent with Warm
  Restarts, ICLR (cosine decay with restarts, eq. 5).
* Li, Zhuang & Orabona (2021), A Second Look at Exponential and Cosine Step
  Sizes: Simplicity, Adaptivity, and Performance, ICML (exponential step size
  ``eta_t = eta_0 alpha^t`` with ``alpha = (beta / T)^(1/T)``; cosine step size).
* Smith & Topin (2019), Super-Convergence, the one-cycle policy.
* Sutskever, Martens, Dahl & Hinton (2013), On the importance of
  initialization and momentum in deep learning, ICML, eq. (5):
  ``mu_t = min(1 - 2^(-1 - log2(floor(t/250) + 1)), mu_max)``.
"""
from __future__ import annotations

import difflib
import math
import numbers

import numpy as np

__all__ = [
    "constant_schedule",
    "piecewise_constant_schedule",
    "step_schedule",
    "exponential_decay",
    "exponential_decay_horizon",
    "cosine_decay_schedule",
    "cosine_restarts_schedule",
    "polynomial_schedule",
    "linear_schedule",
    "linear_warmup",
    "warmup_cosine_decay_schedule",
    "one_cycle_schedule",
    "join_schedules",
    "sutskever_momentum_schedule",
    "get_schedule",
    "SCHEDULES",
]


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


def _steps(step, where):
    """Return ``(t, scalar)``: ``t`` a float64 array of steps."""
    if isinstance(step, (bool, np.bool_)):
        raise TypeError(f"{where}: step must be an integer, got a bool")
    if isinstance(step, numbers.Integral) or (isinstance(step, np.ndarray) and step.ndim == 0):
        s = int(step)
        if s < 0:
            raise ValueError(f"{where}: step must be >= 0, got {s}")
        return np.float64(s), True
    arr = np.asarray(step)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"{where}: step must be an integer or an integer array, got dtype {arr.dtype}")
    if arr.size and arr.min() < 0:
        raise ValueError(f"{where}: steps must be >= 0")
    return arr.astype(np.float64), False


def _out(v, scalar):
    return float(v) if scalar else np.asarray(v, dtype=np.float64)


def _num(x, name, where, low=None, low_open=False, high=None, high_open=False):
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        raise TypeError(f"{where}: {name} must be a real number, got {type(x).__name__} {x!r}")
    x = float(x)
    if not math.isfinite(x):
        raise ValueError(f"{where}: {name} must be finite, got {x}")
    if low is not None and (x <= low if low_open else x < low):
        raise ValueError(f"{where}: {name} must be {'>' if low_open else '>='} {low}, got {x}")
    if high is not None and (x >= high if high_open else x > high):
        raise ValueError(f"{where}: {name} must be {'<' if high_open else '<='} {high}, got {x}")
    return x


def _int(x, name, where, low=0):
    if isinstance(x, bool) or not isinstance(x, numbers.Integral):
        raise TypeError(f"{where}: {name} must be an integer, got {type(x).__name__} {x!r}")
    x = int(x)
    if x < low:
        raise ValueError(f"{where}: {name} must be >= {low}, got {x}")
    return x


class _Schedule:
    """A named callable ``step -> value`` with a readable repr."""

    __slots__ = ("_fn", "_repr")

    def __init__(self, fn, rep):
        self._fn = fn
        self._repr = rep

    def __call__(self, step):
        return self._fn(step)

    def __repr__(self):
        return self._repr


# ---------------------------------------------------------------------------
# schedules
# ---------------------------------------------------------------------------


def constant_schedule(value):
    """``eta_t = value``."""
    v = _num(value, "value", "constant_schedule")

    def f(step):
        t, sc = _steps(step, "constant_schedule")
        return _out(np.full(np.shape(t), v), sc)

    return _Schedule(f, f"constant_schedule({v!r})")


def piecewise_constant_schedule(init_value, boundaries_and_scales):
    """Multiply the value by ``scale`` at each ``boundary`` step (optax convention).

    ``eta_t = init_value * prod_{b <= t} scale_b`` for the mapping
    ``{boundary: scale}``.
    """
    where = "piecewise_constant_schedule"
    v0 = _num(init_value, "init_value", where)
    if not isinstance(boundaries_and_scales, dict):
        raise TypeError(f"{where}: boundaries_and_scales must be a dict {{step: scale}}, "
                        f"got {type(boundaries_and_scales).__name__}")
    items = sorted((_int(b, "boundary", where), _num(s, "scale", where))
                   for b, s in boundaries_and_scales.items())

    def f(step):
        t, sc = _steps(step, where)
        v = np.full(np.shape(t), v0)
        for b, s in items:
            v = np.where(t >= b, v * s, v)
        return _out(v, sc)

    return _Schedule(f, f"piecewise_constant_schedule({v0!r}, {dict(items)!r})")


def step_schedule(init_value, step_size, gamma=0.1):
    """Step decay (torch's StepLR): ``eta_t = init_value * gamma^floor(t / step_size)``."""
    where = "step_schedule"
    v0 = _num(init_value, "init_value", where)
    k = _int(step_size, "step_size", where, low=1)
    g = _num(gamma, "gamma", where, low=0.0)

    def f(step):
        t, sc = _steps(step, where)
        return _out(v0 * g ** np.floor(t / k), sc)

    return _Schedule(f, f"step_schedule({v0!r}, step_size={k}, gamma={g!r})")


def exponential_decay(init_value, decay_rate, transition_steps=1, staircase=False, end_value=None):
    """Exponential decay: ``eta_t = init_value * decay_rate^(t / transition_steps)``.

    With ``staircase=True`` the exponent is ``floor(t / transition_steps)``.
    ``end_value`` bounds the value (from below when decaying, from above when
    growing).
    """
    where = "exponential_decay"
    v0 = _num(init_value, "init_value", where)
    r = _num(decay_rate, "decay_rate", where, low=0.0, low_open=True)
    k = _int(transition_steps, "transition_steps", where, low=1)
    end = None if end_value is None else _num(end_value, "end_value", where)

    def f(step):
        t, sc = _steps(step, where)
        p = t / k
        if staircase:
            p = np.floor(p)
        v = v0 * r ** p
        if end is not None:
            v = np.maximum(v, end) if r < 1 else np.minimum(v, end)
        return _out(v, sc)

    return _Schedule(f, f"exponential_decay({v0!r}, decay_rate={r!r}, transition_steps={k})")


def exponential_decay_horizon(init_value, total_steps, beta=1.0):
    """The exponential step size of Li, Zhuang & Orabona (2021), eq. (3).

    ``eta_t = init_value * alpha^t`` with ``alpha = (beta / T)^(1 / T)``,
    ``T = total_steps``: the step decays from ``init_value`` to
    ``init_value * beta / T`` over the horizon; it adapts to the noise level
    without knowing it (their Theorem 1).
    """
    where = "exponential_decay_horizon"
    v0 = _num(init_value, "init_value", where)
    T = _int(total_steps, "total_steps", where, low=1)
    b = _num(beta, "beta", where, low=0.0, low_open=True, high=float(T))
    alpha = (b / T) ** (1.0 / T)

    def f(step):
        t, sc = _steps(step, where)
        return _out(v0 * alpha ** t, sc)

    return _Schedule(f, f"exponential_decay_horizon({v0!r}, total_steps={T}, beta={b!r})")


def cosine_decay_schedule(init_value, decay_steps, alpha=0.0, exponent=1.0):
    """Cosine decay (Loshchilov & Hutter 2017; Li, Zhuang & Orabona 2021, eq. (4)).

    ``eta_t = init_value * ((1 - alpha) * c_t^exponent + alpha)`` with
    ``c_t = (1 + cos(pi * min(t, T) / T)) / 2`` and ``T = decay_steps``; after
    ``T`` the value stays at ``alpha * init_value``.
    """
    where = "cosine_decay_schedule"
    v0 = _num(init_value, "init_value", where)
    T = _int(decay_steps, "decay_steps", where, low=1)
    a = _num(alpha, "alpha", where)
    e = _num(exponent, "exponent", where, low=0.0, low_open=True)

    def f(step):
        t, sc = _steps(step, where)
        c = 0.5 * (1.0 + np.cos(np.pi * np.minimum(t, T) / T))
        return _out(v0 * ((1.0 - a) * c ** e + a), sc)

    return _Schedule(f, f"cosine_decay_schedule({v0!r}, decay_steps={T}, alpha={a!r})")


def cosine_restarts_schedule(init_value, period, t_mult=1.0, min_value=0.0):
    """SGDR, cosine annealing with warm restarts (Loshchilov & Hutter 2017, eq. 5).

    ``eta_t = min_value + (init_value - min_value) * (1 + cos(pi * T_cur / T_i)) / 2``
    where the i-th cycle lasts ``T_i = period * t_mult^i`` steps and ``T_cur``
    counts steps since the last restart.
    """
    where = "cosine_restarts_schedule"
    v0 = _num(init_value, "init_value", where)
    T0 = _int(period, "period", where, low=1)
    m = _num(t_mult, "t_mult", where, low=1.0)
    lo = _num(min_value, "min_value", where)

    def f(step):
        t, sc = _steps(step, where)
        if m == 1.0:
            i_cur = np.mod(t, T0)
            Ti = np.full(np.shape(t), float(T0))
        else:
            # number of full cycles i with T0 (m^i - 1)/(m - 1) <= t
            i = np.floor(np.log1p(t * (m - 1.0) / T0) / np.log(m))
            start = T0 * (m ** i - 1.0) / (m - 1.0)
            # guard the floor against rounding at cycle boundaries
            Ti = T0 * m ** i
            over = t - start >= Ti
            start = np.where(over, start + Ti, start)
            Ti = np.where(over, Ti * m, Ti)
            under = t < start
            Ti = np.where(under, Ti / m, Ti)
            start = np.where(under, start - Ti, start)
            i_cur = t - start
        return _out(lo + (v0 - lo) * 0.5 * (1.0 + np.cos(np.pi * i_cur / Ti)), sc)

    return _Schedule(f, f"cosine_restarts_schedule({v0!r}, period={T0}, t_mult={m!r})")


def polynomial_schedule(init_value, end_value, power, transition_steps, transition_begin=0):
    """Polynomial decay from ``init_value`` to ``end_value``.

    ``eta_t = (init - end) * (1 - s / T)^power + end`` with
    ``s = clip(t - transition_begin, 0, T)``, ``T = transition_steps``.
    """
    where = "polynomial_schedule"
    v0 = _num(init_value, "init_value", where)
    v1 = _num(end_value, "end_value", where)
    p = _num(power, "power", where, low=0.0)
    T = _int(transition_steps, "transition_steps", where, low=1)
    b = _int(transition_begin, "transition_begin", where)

    def f(step):
        t, sc = _steps(step, where)
        s = np.clip(t - b, 0, T)
        return _out((v0 - v1) * (1.0 - s / T) ** p + v1, sc)

    return _Schedule(f, f"polynomial_schedule({v0!r}, {v1!r}, power={p!r}, transition_steps={T})")


def linear_schedule(init_value, end_value, transition_steps, transition_begin=0):
    """Linear interpolation from ``init_value`` to ``end_value`` over ``transition_steps``."""
    return polynomial_schedule(init_value, end_value, 1.0, transition_steps, transition_begin)


def linear_warmup(peak_value, warmup_steps, init_value=0.0):
    """Linear warmup ``init_value -> peak_value`` over ``warmup_steps``, then constant."""
    return linear_schedule(init_value, peak_value, warmup_steps)


def join_schedules(schedules, boundaries):
    """Run ``schedules[i]`` between ``boundaries[i-1]`` and ``boundaries[i]``.

    Each schedule sees the step counted from its own start
    (``t - boundaries[i-1]``), as in optax's ``join_schedules``.
    """
    where = "join_schedules"
    schedules = list(schedules)
    boundaries = [_int(b, "boundary", where) for b in boundaries]
    if len(boundaries) != len(schedules) - 1:
        raise ValueError(f"{where}: need len(boundaries) == len(schedules) - 1, got "
                         f"{len(boundaries)} boundaries for {len(schedules)} schedules")
    if any(b1 <= b0 for b0, b1 in zip(boundaries, boundaries[1:])):
        raise ValueError(f"{where}: boundaries must be strictly increasing, got {boundaries}")
    for i, s in enumerate(schedules):
        if not callable(s):
            raise TypeError(f"{where}: schedules[{i}] must be callable, got {type(s).__name__}")
    starts = [0] + boundaries

    def f(step):
        t, sc = _steps(step, where)
        if sc:
            i = int(np.searchsorted(boundaries, t, side="right"))
            return float(schedules[i](int(t) - starts[i]))
        ti = t.astype(np.int64)
        idx = np.searchsorted(boundaries, ti, side="right")
        out = np.empty(ti.shape, dtype=np.float64)
        for i, s in enumerate(schedules):
            mask = idx == i
            if mask.any():
                out[mask] = np.asarray(s(ti[mask] - starts[i]), dtype=np.float64)
        return out

    return _Schedule(f, f"join_schedules({schedules!r}, {boundaries!r})")


def warmup_cosine_decay_schedule(init_value, peak_value, warmup_steps, decay_steps, end_value=0.0):
    """Linear warmup to ``peak_value`` for ``warmup_steps``, then cosine decay to
    ``end_value`` at step ``decay_steps`` (total, warmup included)."""
    where = "warmup_cosine_decay_schedule"
    w = _int(warmup_steps, "warmup_steps", where, low=1)
    d = _int(decay_steps, "decay_steps", where, low=w + 1)
    peak = _num(peak_value, "peak_value", where)
    end = _num(end_value, "end_value", where)
    alpha = end / peak if peak != 0 else 0.0
    return join_schedules(
        [linear_schedule(init_value, peak, w), cosine_decay_schedule(peak, d - w, alpha=alpha)], [w]
    )


def one_cycle_schedule(transition_steps, peak_value, pct_start=0.3, div_factor=25.0,
                       final_div_factor=1e4):
    """The one-cycle policy (Smith & Topin 2019), with cosine annealing as in torch's OneCycleLR
    (``three_phase=False``).

    Rises from ``peak / div_factor`` to ``peak`` over the first
    ``pct_start * transition_steps`` steps and falls to
    ``peak / (div_factor * final_div_factor)`` at ``transition_steps``.
    """
    where = "one_cycle_schedule"
    T = _int(transition_steps, "transition_steps", where, low=2)
    peak = _num(peak_value, "peak_value", where)
    pct = _num(pct_start, "pct_start", where, low=0.0, low_open=True, high=1.0, high_open=True)
    div = _num(div_factor, "div_factor", where, low=0.0, low_open=True)
    fdiv = _num(final_div_factor, "final_div_factor", where, low=0.0, low_open=True)
    v0 = peak / div
    vend = v0 / fdiv
    up = float(pct * T) - 1.0
    down = float(T - 1)

    def anneal(a, b, frac):
        return b + (a - b) * 0.5 * (1.0 + np.cos(np.pi * frac))

    def f(step):
        t, sc = _steps(step, where)
        t = np.minimum(t, down)
        frac_up = np.clip(t / up, 0.0, 1.0) if up > 0 else np.ones_like(t)
        frac_down = np.clip((t - up) / (down - up), 0.0, 1.0)
        v = np.where(t <= up, anneal(v0, peak, frac_up), anneal(peak, vend, frac_down))
        return _out(v, sc)

    return _Schedule(f, f"one_cycle_schedule({T}, peak_value={peak!r}, pct_start={pct!r})")


def sutskever_momentum_schedule(mu_max=0.99, period=250):
    """The momentum schedule of Sutskever, Martens, Dahl & Hinton (2013), eq. (5).

    ``mu_t = min(1 - 2^(-1 - log2(floor(t / period) + 1)), mu_max)``
    ``     = min(1 - 1 / (2 (floor(t / period) + 1)), mu_max)``

    with ``period = 250`` and ``mu_max`` in {0.9, 0.99, 0.995, 0.999} in the
    paper: momentum 0.5 for the first 250 steps, 0.75 for the next 250, and so
    on up to ``mu_max``.
    """
    where = "sutskever_momentum_schedule"
    mmax = _num(mu_max, "mu_max", where, low=0.0, high=1.0, high_open=True)
    k = _int(period, "period", where, low=1)

    def f(step):
        t, sc = _steps(step, where)
        return _out(np.minimum(1.0 - 2.0 ** (-1.0 - np.log2(np.floor(t / k) + 1.0)), mmax), sc)

    return _Schedule(f, f"sutskever_momentum_schedule(mu_max={mmax!r}, period={k})")


SCHEDULES = {
    "constant": constant_schedule,
    "piecewise_constant": piecewise_constant_schedule,
    "step": step_schedule,
    "exponential": exponential_decay,
    "exponential_horizon": exponential_decay_horizon,
    "cosine": cosine_decay_schedule,
    "cosine_restarts": cosine_restarts_schedule,
    "polynomial": polynomial_schedule,
    "linear": linear_schedule,
    "linear_warmup": linear_warmup,
    "warmup_cosine": warmup_cosine_decay_schedule,
    "one_cycle": one_cycle_schedule,
    "sutskever_momentum": sutskever_momentum_schedule,
}


def get_schedule(name, *args, **kwargs):
    """Build a schedule by name, e.g. ``get_schedule("cosine", 0.1, decay_steps=1000)``.

    Names: the keys of :data:`SCHEDULES`.
    """
    if not isinstance(name, str):
        raise TypeError(f"get_schedule: name must be a string, got {type(name).__name__}")
    try:
        factory = SCHEDULES[name]
    except KeyError:
        close = difflib.get_close_matches(name, SCHEDULES, n=3)
        hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
        raise ValueError(
            f"get_schedule: unknown schedule name {name!r}{hint} Known: {', '.join(sorted(SCHEDULES))}"
        ) from None
    return factory(*args, **kwargs)
