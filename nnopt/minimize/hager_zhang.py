"""The Hager-Zhang line search (CG_DESCENT) with approximate Wolfe conditions.

A step ``alpha`` is accepted when it satisfies the (weak) Wolfe conditions

.. math::  T1:\\quad \\phi(\\alpha) - \\phi(0) \\le \\delta\\alpha\\phi'(0), \\qquad
           \\phi'(\\alpha) \\ge \\sigma\\phi'(0),

or, once ``approximate=True``, the *approximate Wolfe* conditions

.. math::  T2:\\quad (2\\delta - 1)\\phi'(0) \\ge \\phi'(\\alpha) \\ge \\sigma\\phi'(0),
           \\qquad \\phi(\\alpha) \\le \\phi(0) + \\epsilon_k.

T2 replaces the sufficient-decrease test, which compares two nearly equal
function values, by a test on the slope :math:`\\phi'`.  Near a minimizer,
``f(x + alpha d) - f(x)`` sinks to the rounding level of ``f`` -- in float32
after a few digits -- while the slope still carries information, so this is
the line search that keeps working there.  :math:`\\epsilon_k = \\epsilon C_k`
is a tolerance on the error in ``f`` (``C_k`` a running average of ``|f|``,
see :class:`HagerZhangMemory`).

The search brackets a point satisfying the conditions (``bracket``: expand
by ``rho``), then shrinks the bracket by double secant steps (``secant2``)
with a bisection whenever a secant^2 step shrinks it by less than ``gamma``;
the interval update (``update``) keeps ``phi'(a) < 0``,
``phi(a) <= phi(0) + eps_k`` and ``phi'(b) >= 0``.

References: W. W. Hager and H. Zhang, "A new conjugate gradient method with
guaranteed descent and an efficient line search", SIAM J. Optim. 16(1),
170-192 (2005), Sec. 4 (steps L0-L3, U0-U3, S1-S4, B0-B3); "Algorithm 851:
CG_DESCENT", ACM TOMS 32(1), 113-137 (2006), initial step I0-I2 and the
switch to the approximate conditions (``omega``, ``Delta``).

dtype: all arithmetic is in the dtype of ``x``; the default ``epsilon`` is
``max(1e-6, 64 eps)`` (the paper's 1e-6 in float64, above the rounding level
of a sum of many terms in float32).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._linefun import LineSearchStatus as S

__all__ = ["hager_zhang", "initial_step", "HagerZhangMemory", "default_epsilon"]


def default_epsilon(dtype):
    """``max(1e-6, 64 eps)``: the relative error tolerance on ``f`` for T2."""
    return max(1e-6, 64 * float(np.finfo(dtype).eps))


class HagerZhangMemory(NamedTuple):
    """What the Hager-Zhang line search carries from one iteration to the next.

    ``Q_{k+1} = 1 + Delta Q_k``, ``C_{k+1} = C_k + (|f_{k+1}| - C_k) / Q_{k+1}``
    (``Q_0 = C_0 = 0``); ``eps_k = epsilon C_k``.  The search uses the
    standard Wolfe conditions until ``|f_{k+1} - f_k| <= omega C_k``, then
    the approximate ones for the rest of the run (HZ 2006, Sec. 3).
    """

    C: np.generic
    Q: np.generic
    approximate: bool
    alpha_prev: object  # previous step (dtype scalar) or None on the first iteration

    @classmethod
    def start(cls, dtype, approximate=False):
        z = np.dtype(dtype).type(0)
        return cls(C=z, Q=z, approximate=bool(approximate), alpha_prev=None)

    def observe(self, f, delta=0.7):
        """Fold ``|f_k|`` into ``C`` at the start of iteration ``k``."""
        dt = type(self.C)
        Q = dt(1) + dt(delta) * self.Q
        C = self.C + (abs(dt(f)) - self.C) / Q
        return self._replace(C=C, Q=Q)

    def after_step(self, f_old, f_new, alpha, omega=1e-3):
        """Record the step; switch to approximate Wolfe when ``|df| <= omega C``."""
        approx = self.approximate or bool(abs(f_new - f_old) <= type(self.C)(omega) * self.C)
        return self._replace(approximate=approx, alpha_prev=alpha)


def initial_step(phi, x, alpha_prev, *, psi0=0.01, psi1=0.1, psi2=2.0, quad_step=True):
    """The initial trial step of CG_DESCENT (HZ 2006, steps I0-I2).

    I0 (first iteration): ``psi0 ||x||_inf / ||g||_inf`` if ``x != 0``, else
    ``psi0 |f| / ||g||_2^2`` if ``f != 0``, else 1.  I1: if ``quad_step`` and
    ``phi(psi1 alpha_prev) <= phi(0)``, the minimizer of the quadratic
    interpolating ``phi(0)``, ``phi'(0)``, ``phi(psi1 alpha_prev)`` when it is
    strictly convex (one function evaluation).  I2: ``psi2 alpha_prev``.
    """
    dt = phi.dtype.type
    g = phi.g0
    if alpha_prev is None:
        xn = np.max(np.abs(x))
        gn = np.max(np.abs(g))
        if xn != 0 and gn != 0:
            return dt(psi0) * xn / gn
        if phi.phi0 != 0:
            gg = np.dot(g, g)
            if gg != 0:
                return dt(psi0) * abs(phi.phi0) / gg
        return dt(1)
    alpha_prev = dt(alpha_prev)
    if quad_step:
        r = dt(psi1) * alpha_prev
        fr = phi.value(r)
        if np.isfinite(fr) and fr <= phi.phi0:
            with np.errstate(all="ignore"):
                a2 = (fr - phi.phi0 - phi.dphi0 * r) / (r * r)
                if a2 > 0:
                    c = -phi.dphi0 / (2 * a2)
                    if np.isfinite(c) and c > 0:
                        return c
    return dt(psi2) * alpha_prev


class _Found(Exception):
    def __init__(self, alpha):
        self.alpha = alpha


class _Stop(Exception):
    def __init__(self, status):
        self.status = status


class _Search:
    """State of one Hager-Zhang search; ``ev`` raises ``_Found`` on acceptance."""

    def __init__(self, phi, c1, c2, epsilon_k, approximate, maxfev):
        dt = phi.dtype.type
        self.phi = phi
        self.dt = dt
        self.f0, self.d0 = phi.phi0, phi.dphi0
        self.wolfe_hi = dt(c1) * self.d0            # T1 sufficient decrease: f - f0 <= alpha * wolfe_hi
        self.wolfe_lo = dt(c2) * self.d0            # curvature: dphi >= wolfe_lo
        self.awolfe_hi = (2 * dt(c1) - 1) * self.d0  # T2: dphi <= awolfe_hi
        self.fpert = self.f0 + dt(epsilon_k)
        self.approximate = approximate
        self.maxfev = maxfev
        self.vals = {dt(0): (self.f0, self.d0)}
        self.best = dt(0)  # largest-progress point a with f(a) <= fpert, dphi(a) < 0

    def accept(self, c, f, s):
        if s >= self.wolfe_lo:
            if f - self.f0 <= c * self.wolfe_hi:
                return True
            if self.approximate and f <= self.fpert and s <= self.awolfe_hi:
                return True
        return False

    def ev(self, c):
        """Evaluate at ``c``; returns ``(f, dphi)`` (NaN if not finite)."""
        hit = self.vals.get(c)
        if hit is not None:
            return hit
        if self.phi.nfev >= self.maxfev:
            raise _Stop(S.MAXFEV)
        f, s = self.phi.value_and_slope(c)
        if not (np.isfinite(f) and np.isfinite(s)):
            f = s = self.dt(np.nan)
        self.vals[c] = (f, s)
        if f == f and self.accept(c, f, s):
            raise _Found(c)
        if s < 0 and f <= self.fpert and f <= self.vals[self.best][0]:
            self.best = c
            self.phi.pin(c)
        return f, s

    # -- the interval operations of HZ 2005, Sec. 4 ---------------------------------
    def update(self, a, b, c):
        """U0-U3: shrink ``[a, b]`` with the new point ``c``."""
        if not (a < c < b):                         # U0
            return a, b
        f, s = self.ev(c)
        if s >= 0:                                  # U1
            return a, c
        if f <= self.fpert:                         # U2 (s < 0)
            return c, b
        return self.bisect(a, c)                    # U3 (also for NaN: treat c as too long)

    def bisect(self, a, b):
        """U3a-U3c: bisect ``[a, b]`` (``phi(b)`` too high) until ``phi'(d) >= 0``."""
        theta = self.dt(0.5)
        while True:
            d = a + theta * (b - a)
            if not (a < d < b):
                raise _Stop(S.ROUNDING)
            f, s = self.ev(d)
            if s >= 0:                              # U3a
                return a, d
            if f <= self.fpert:                     # U3b
                a = d
            else:                                   # U3c (or NaN)
                b = d

    def secant(self, a, b):
        sa, sb = self.vals[a][1], self.vals[b][1]
        with np.errstate(all="ignore"):
            return (a * sb - b * sa) / (sb - sa)

    def secant2(self, a, b):
        """S1-S4: a secant step and a second one from the side it replaced."""
        c = self.secant(a, b)
        A, B = self.update(a, b, c)
        if c == B:                                  # S2
            cbar = self.secant(b, B)
        elif c == A:                                # S3
            cbar = self.secant(a, A)
        else:
            return A, B
        return self.update(A, B, cbar)              # S4

    def bracket(self, c, rho, alpha_max):
        """B0-B3: expand from ``c`` until the slope turns non-negative or ``f`` rises."""
        a_last = self.dt(0)
        while True:
            f, s = self.ev(c)
            if s >= 0:                              # B1
                return a_last, c
            if s < 0 and f <= self.fpert:           # B3: still descending, expand
                a_last = c
                if c >= alpha_max:
                    raise _Stop(S.STEP_MAX)
                c = min(self.dt(rho) * c, alpha_max)
                continue
            return self.bisect(a_last, c)           # B2 (also for NaN)


def hager_zhang(phi, alpha0=1.0, *, c1=0.1, c2=0.9, epsilon_k=None, approximate=False,
                gamma=0.66, rho=5.0, maxfev=50, alpha_max=None):
    """Hager-Zhang line search (CG_DESCENT), standard or approximate Wolfe.

    Parameters
    ----------
    phi : LineFunction
        The objective along the ray.
    alpha0 : float
        First trial step; see :func:`initial_step` for CG_DESCENT's choice.
    c1, c2 : float
        ``delta`` and ``sigma`` of the paper, ``0 < c1 < 1/2``, ``c1 <= c2 < 1``.
    epsilon_k : float, optional
        Absolute tolerance on ``f`` for T2 and for the interval update;
        default ``default_epsilon(dtype) * |phi(0)|``.
    approximate : bool
        Also accept the approximate Wolfe conditions T2.
    gamma : float
        Bisect when a secant^2 step shrinks the bracket by less than this.
    rho : float
        Expansion factor of the bracketing phase.
    maxfev : int
        Maximum evaluations (each one ``f`` and one gradient).
    alpha_max : float, optional
        Upper bound on the step, default ``min(1e10, sqrt(finfo.max))``.

    Returns
    -------
    LineSearchResult
        ``success``: T1 holds at ``alpha``, or T2 with ``approximate=True``.
        On failure ``alpha`` is the best point with ``phi'(alpha) < 0`` and
        ``phi(alpha) <= phi(0) + epsilon_k`` found (0 if none).
    """
    dt = phi.dtype.type
    fi = np.finfo(phi.dtype)
    if not phi.dphi0 < 0:
        return phi.result(0, S.NOT_DESCENT)
    if epsilon_k is None:
        epsilon_k = dt(default_epsilon(phi.dtype)) * abs(phi.phi0)
    alpha_max = dt(min(1e10, np.sqrt(fi.max))) if alpha_max is None else dt(alpha_max)
    search = _Search(phi, c1, c2, epsilon_k, approximate, maxfev)
    c = min(dt(alpha0), alpha_max)
    if not c > 0:
        raise ValueError(f"alpha0: expected a positive step, got {alpha0!r}")
    gamma = dt(gamma)
    try:
        a, b = search.bracket(c, rho, alpha_max)   # L0
        while True:
            A, B = search.secant2(a, b)             # L1
            if B - A > gamma * (b - a):             # L2
                A, B = search.update(A, B, A + dt(0.5) * (B - A))
            if A == a and B == b:
                # no shrinkage at all: the interval is at the rounding level
                raise _Stop(S.ROUNDING)
            a, b = A, B                             # L3
    except _Found as found:
        return phi.result(found.alpha, S.CONVERGED)
    except _Stop as stop:
        return phi.result(search.best, stop.status)
