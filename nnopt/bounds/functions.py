"""Elementary functions: facts, and the sharp enclosures derived from them.

For every smooth elementary function ``phi`` of :mod:`nnopt.numpy` this
module knows

* its real domain and its range;
* its normalised Taylor coefficients ``phi_j(y) = phi^(j)(y) / j!`` at a
  point (or thin interval), from closed forms or from the ODE the function
  satisfies (``tanh' = 1 - tanh^2``, ``sigmoid' = sigmoid (1 - sigmoid)``,
  ``tan' = 1 + tan^2``, ``arctan' = 1/(1+y^2)``, ``erf' = 2/sqrt(pi) exp(-y^2)``),
  evaluated in interval arithmetic;
* the *critical points* of each derivative ``phi^(m)``, i.e. where it stops
  being monotone: none for ``exp``, ``log``, ``sqrt``, ...; ``cot(j pi/(m+1))``
  for ``arctan``; the roots of Hermite polynomials for ``erf``; the roots of
  the derivative polynomials ``P_m'`` of ``tanh^(m) = P_m(tanh)`` and
  ``sigmoid^(m) = Q_m(sigmoid)``, computed with mpmath and *certified* by
  sign changes in interval arithmetic (Rolle's theorem gives their number,
  so the list is complete).

From these facts come:

* the range of ``phi^(m)/m!`` over an interval (``deriv_range``), exact up to
  rounding: its values at the end points and at the critical points inside;
* the sharp Taylor remainder (``remainder``) of AutoBound (Streeter & Dillon
  2022, "Automatically bounding the Taylor remainder series: tighter bounds
  and new applications", Theorem 3): with
  ``R_k(y; y0) = (phi(y) - sum_{j<=k} phi_j(y0) (y - y0)^j) / (y - y0)^(k+1)``,
  ``R_k(y; y0) = int_0^1 (k+1)(1-t)^k phi_{k+1}(y0 + t (y - y0)) dt`` is a
  weighted mean of ``phi_{k+1}`` between ``y0`` and ``y``; if ``phi^(k+1)`` is
  monotone on ``Y``, ``R_k`` is monotone in ``y`` and in ``y0`` and its
  exact range over ``y in Y, y0 in C0`` is spanned by two end-point values.
  Otherwise the Lagrange form ``R_k in phi_{k+1}(Y)`` is used (sound, wider).
"""
from __future__ import annotations

import functools
import math
from fractions import Fraction

import mpmath
import numpy as np

from .interval import BoundsError, DomainError, Interval

__all__ = ["ELEMENTARY", "Elementary", "Power", "get_function"]

_INF = np.inf


def _exact(a, bk):
    return Interval(a, a, bk)


def _frac(p, q, bk):
    """The rational p/q as a thin interval (a point when exact)."""
    lo = bk.full((), bk.frac(p, q, -1)) if bk.is_mp else np.float64(bk.frac(p, q, -1))
    hi = bk.full((), bk.frac(p, q, +1)) if bk.is_mp else np.float64(bk.frac(p, q, +1))
    if lo == hi:
        return Interval(lo, lo, bk)
    return Interval(lo, hi, bk)


def _const(name, bk):
    lo, hi = bk.const(name)
    if bk.is_mp:
        return Interval(np.asarray(lo, dtype=object), np.asarray(hi, dtype=object), bk)
    return Interval(np.float64(lo), np.float64(hi), bk)


def _mono_inc(bk, name, Y):
    """Image of an increasing function over Y from end-point enclosures."""
    return Interval(bk.fn(name, Y.lo)[0], bk.fn(name, Y.hi)[1], bk)


def _clip(I, lo, hi):
    bk = I.bk
    l_, h_ = I.lo, I.hi
    if lo is not None and lo > -_INF:
        c = bk.full((), lo) if bk.is_mp else lo
        l_ = np.maximum(l_, c)
        h_ = np.maximum(h_, c)
    if hi is not None and hi < _INF:
        c = bk.full((), hi) if bk.is_mp else hi
        h_ = np.minimum(h_, c)
        l_ = np.minimum(l_, c)
    return Interval(l_, h_, bk)


def _conv(u, j, square=True):
    """sum_{i=0}^{j} u_i u_{j-i} with the symmetric terms merged."""
    total = None
    for i in range((j + 1) // 2):
        t = (u[i] * u[j - i]).scale(2)
        total = t if total is None else total + t
    if j % 2 == 0:
        t = u[j // 2].sqr()
        total = t if total is None else total + t
    return total


def _integer_in(t_lo, t_hi, bk):
    """Is there (possibly) an integer in [t_lo, t_hi]? (element-wise)"""
    return np.greater_equal(bk.floor(t_hi), bk.ceil(t_lo))


class Elementary:
    """A smooth elementary function and its facts (see the module docstring)."""

    name = "?"
    domain = (-_INF, _INF)
    value_range = (-_INF, _INF)
    max_order = 40

    # -- facts to provide -------------------------------------------------------
    def series(self, y, K):
        """[phi_0(y), ..., phi_K(y)] as intervals, for an interval ``y``."""
        raise NotImplementedError

    def crit(self, m):
        """Enclosures (lo, hi) of the critical points of phi^(m) (non-periodic)."""
        return ()

    # -- derived -------------------------------------------------------------------
    def check_domain(self, Y):
        lo, hi = self.domain
        bad = np.zeros(Y.shape, dtype=bool)
        if lo > -_INF:
            bad |= np.less(Y.lo, lo)
        if hi < _INF:
            bad |= np.greater(Y.hi, hi)
        if np.any(bad):
            idx = np.argwhere(bad)[0] if Y.ndim else ()
            l_, h_ = Y[tuple(idx)].to_floats()
            raise DomainError(
                f"nnopt.bounds: {self.name} is not real-valued on the argument interval "
                f"[{float(l_):.17g}, {float(h_):.17g}] (its domain is [{lo}, {hi}])"
            )

    def crit_in(self, Y, m):
        """Element-wise: may a critical point of phi^(m) lie in Y?"""
        out = np.zeros(Y.shape, dtype=bool)
        for clo, chi in self.crit(m):
            out |= np.less_equal(Y.lo, chi) & np.less_equal(clo, Y.hi)
        return out

    def deriv_range(self, Y, m, at_lo=None, at_hi=None):
        """Enclosure of {phi^(m)(y)/m! : y in Y} (``at_lo``/``at_hi``: phi_m at
        the end points if already known)."""
        bk = Y.bk
        lo_s = at_lo if at_lo is not None else self.series(_exact(Y.lo, bk), m)[m]
        hi_s = at_hi if at_hi is not None else self.series(_exact(Y.hi, bk), m)[m]
        out = lo_s.hull(hi_s)
        for clo, chi in self.crit(m):
            inside = np.less_equal(Y.lo, chi) & np.less_equal(clo, Y.hi)
            if np.any(inside):
                c = Interval(bk.full((), clo) if bk.is_mp else np.float64(clo),
                             bk.full((), chi) if bk.is_mp else np.float64(chi), bk)
                v = self.series(c, m)[m]
                out = Interval(np.where(inside, np.minimum(out.lo, v.lo), out.lo),
                               np.where(inside, np.maximum(out.hi, v.hi), out.hi), bk)
        if m == 0:
            out = _clip(out, *self.value_range)
        return out

    def image(self, Y):
        """Enclosure of {phi(y) : y in Y} (after a domain check)."""
        self.check_domain(Y)
        return self.deriv_range(Y, 0)

    def ratio(self, sy, sy0, y, y0, k, bk):
        """Enclosure of R_k(y; y0) for points y, y0 (backend arrays) from their
        series ``sy``, ``sy0`` (lists of phi_j, j <= k+1)."""
        m = k + 1
        h = _exact(y, bk) - _exact(y0, bk)
        poly = sy0[k]
        for j in range(k - 1, -1, -1):
            poly = sy0[j] + h * poly
        with np.errstate(all="ignore"):
            q = (sy[0] - poly) / h.pow_int(m)
        lag = sy0[m].hull(sy[m])  # R_k is a mean of phi_m between y0 and y
        lo = np.maximum(q.lo, lag.lo)
        hi = np.minimum(q.hi, lag.hi)
        bad = np.greater(lo, hi)
        lo = np.where(bad, lag.lo, lo)
        hi = np.where(bad, lag.hi, hi)
        return Interval(lo, hi, bk)

    def remainder(self, c0, Y, k):
        """Interval R with phi(y) - sum_{j<=k} phi_j(y0)(y-y0)^j in R (y-y0)^(k+1)
        for all y in Y and all y0 in c0 (c0 inside Y).

        Each side of the expansion point is treated on its own: where
        phi^(k+1) is monotone on ``[c0, hi(Y)]`` the range over ``y >= y0`` is
        spanned by ``phi_{k+1}(y0)`` (the limit y -> y0) and ``R_k(hi(Y); c0)``;
        likewise on the left.  A side with a critical point of phi^(k+1) gets
        the Lagrange form over that side."""
        bk = Y.bk
        m = k + 1
        Y = Y.hull(c0)
        fin = np.asarray(bk.isfinite(Y.lo) & bk.isfinite(Y.hi))
        if not np.all(fin):
            return self.deriv_range(Y, m)
        s_ylo = self.series(_exact(Y.lo, bk), m)
        s_yhi = self.series(_exact(Y.hi, bk), m)
        s_clo = self.series(_exact(c0.lo, bk), m)
        s_chi = s_clo if c0.is_point else self.series(_exact(c0.hi, bk), m)
        phi0 = s_clo[m].hull(s_chi[m])  # phi_m over C0 (monotone or not: C0 is thin)
        if not c0.is_point:
            phi0 = phi0.hull(self.deriv_range(c0, m, s_clo[m], s_chi[m]))
        out = None
        for side in ("left", "right"):
            if side == "right":
                S = Interval(c0.lo, Y.hi, bk)
                s_start, s_end = s_clo, s_yhi
                end, y0, s_y0 = Y.hi, c0.hi, s_chi
            else:
                S = Interval(Y.lo, c0.hi, bk)
                s_start, s_end = s_ylo, s_chi
                end, y0, s_y0 = Y.lo, c0.lo, s_clo
            lag = self.deriv_range(S, m, s_start[m], s_end[m])
            mono = ~self.crit_in(S, m)
            res = lag
            if np.any(mono):
                # monotone on the side: the direction from the end-point values
                a_, b_ = s_start[m], s_end[m]
                inc = mono & np.greater(b_.lo, a_.hi)
                dec = mono & np.less(b_.hi, a_.lo)
                if np.any(inc | dec):
                    s_e = s_yhi if side == "right" else s_ylo
                    r = self.ratio(s_e, s_y0, end, y0, k, bk)
                    # increasing phi_m: R grows with y (and y0); right side: [phi_m(y0), R(end)],
                    # left side: [R(end), phi_m(y0)]; decreasing: mirrored
                    lo_inc = phi0.lo if side == "right" else r.lo
                    hi_inc = r.hi if side == "right" else phi0.hi
                    lo_dec = r.lo if side == "right" else phi0.lo
                    hi_dec = phi0.hi if side == "right" else r.hi
                    lo = np.where(inc, lo_inc, np.where(dec, lo_dec, lag.lo))
                    hi = np.where(inc, hi_inc, np.where(dec, hi_dec, lag.hi))
                    res = Interval(np.maximum(lo, lag.lo), np.minimum(hi, lag.hi), bk)
            out = res if out is None else out.hull(res)
        return out

    def __repr__(self):
        return f"<elementary {self.name}>"


# ---------------------------------------------------------------------------
# the functions
# ---------------------------------------------------------------------------


class Exp(Elementary):
    name = "exp"
    value_range = (0.0, _INF)

    def series(self, y, K):
        e = _clip(_mono_inc(y.bk, "exp", y), 0.0, None)
        return [e] + [e * _frac(1, math.factorial(j), y.bk) for j in range(1, K + 1)]


class Expm1(Elementary):
    name = "expm1"
    value_range = (-1.0, _INF)

    def series(self, y, K):
        out = [_clip(_mono_inc(y.bk, "expm1", y), -1.0, None)]
        if K:
            e = _clip(_mono_inc(y.bk, "exp", y), 0.0, None)
            out += [e * _frac(1, math.factorial(j), y.bk) for j in range(1, K + 1)]
        return out


class Log(Elementary):
    name = "log"
    domain = (0.0, _INF)

    def series(self, y, K):
        out = [_mono_inc(y.bk, "log", y)]
        if K:
            inv = y.recip()
            p = inv
            for j in range(1, K + 1):
                if j > 1:
                    p = inv.pow_int(j)
                out.append(p * _frac((-1) ** (j + 1), j, y.bk))
        return out


class Log1p(Elementary):
    name = "log1p"
    domain = (-1.0, _INF)

    def series(self, y, K):
        out = [_mono_inc(y.bk, "log1p", y)]
        if K:
            one = Interval.ones_like(y)
            inv = (y + one).recip()
            for j in range(1, K + 1):
                out.append(inv.pow_int(j) * _frac((-1) ** (j + 1), j, y.bk))
        return out


class Sqrt(Elementary):
    name = "sqrt"
    domain = (0.0, _INF)
    value_range = (0.0, _INF)

    def series(self, y, K):
        bk = y.bk
        s = Interval(bk.sqrt_dn(y.lo), bk.sqrt_up(y.hi), bk)
        out = [s]
        if K:
            inv = y.recip()
            b = Fraction(1)
            for j in range(1, K + 1):
                b = b * (Fraction(1, 2) - (j - 1)) / j
                out.append(s * inv.pow_int(j) * _frac(b.numerator, b.denominator, bk))
        return out


def _real_pow(y, q):
    """y**q for y >= 0 and a real exponent q (exact float), as an interval."""
    bk = y.bk
    if q == 0:
        return Interval.ones_like(y)
    a_lo, a_hi = bk.pow_real(y.lo, q)
    b_lo, b_hi = bk.pow_real(y.hi, q)
    if q > 0:  # increasing on [0, inf)
        return Interval(a_lo, b_hi, bk)
    return Interval(b_lo, a_hi, bk)


class Power(Elementary):
    """y**p for a constant exponent p (integer: all reals; else y >= 0)."""

    def __init__(self, p):
        self.p = p
        self.integer = float(p).is_integer()
        self.n = int(p) if self.integer else None
        self.name = f"power(., {p!r})"
        if self.integer:
            self.domain = (-_INF, _INF)
        else:
            self.domain = (0.0, _INF)
        if self.integer and self.n % 2 == 0 and self.n >= 0:
            self.value_range = (0.0, _INF)

    def binom(self, j):
        if self.integer:
            n = self.n
            b = Fraction(1)
            for i in range(j):
                b = b * (n - i) / (i + 1)
            return b
        b = Fraction(self.p)
        out = Fraction(1)
        for i in range(j):
            out = out * (b - i) / (i + 1)
        return out

    def series(self, y, K):
        bk = y.bk
        out = []
        for j in range(K + 1):
            b = self.binom(j)
            if b == 0:
                out.append(Interval.zeros(y.shape, bk) if y.shape else Interval.zeros((), bk))
                continue
            if self.integer:
                base = y.pow_int(self.n - j)
            else:
                base = _real_pow(y, self.p - j)
            out.append(base * _frac(b.numerator, b.denominator, bk))
        return out

    def crit(self, m):
        if self.integer and self.n >= 0 and self.n - m >= 2 and (self.n - m) % 2 == 0:
            return ((0.0, 0.0),)
        return ()

    def check_domain(self, Y):
        if not self.integer:
            Elementary.check_domain(self, Y)

    @property
    def _pole(self):
        return self.p < 0

    def crit_in(self, Y, m):
        out = Elementary.crit_in(self, Y, m)
        if self._pole:  # a pole at 0: nothing is monotone across it
            out = out | Y.contains_zero()
        return out

    def deriv_range(self, Y, m, at_lo=None, at_hi=None):
        out = Elementary.deriv_range(self, Y, m, at_lo, at_hi)
        if self._pole:
            z = Y.contains_zero()
            if np.any(z):
                ent = Interval.entire(np.shape(z), Y.bk)
                out = Interval.where(z, ent, out)
        return out


class _Trig(Elementary):
    """sin(y + q0 pi/2): phi^(m)(y) = sin(y + (q0 + m) pi/2)."""

    q0 = 0
    value_range = (-1.0, 1.0)

    def _sinq(self, bk, q, x):
        q %= 4
        name = "sin" if q % 2 == 0 else "cos"
        lo, hi = bk.fn(name, x)
        if q >= 2:
            lo, hi = bk.neg(hi), bk.neg(lo)
        return lo, hi

    def _hits(self, Y, a, period):
        """May a point a + j*period (j integer) lie in Y? a, period: intervals."""
        tl = (Interval(Y.lo, Y.lo, Y.bk) - a) / period
        tu = (Interval(Y.hi, Y.hi, Y.bk) - a) / period
        return _integer_in(tl.lo, tu.hi, Y.bk)

    def trig_image(self, Y, q):
        """Range of sin(y + q pi/2) over Y."""
        bk = Y.bk
        l1, h1 = self._sinq(bk, q, Y.lo)
        l2, h2 = self._sinq(bk, q, Y.hi)
        lo, hi = np.minimum(l1, l2), np.maximum(h1, h2)
        pi = _const("pi", bk)
        two_pi = pi.scale(2)
        # maxima at y = (1 - q) pi/2 + 2 pi j, minima at (-1 - q) pi/2 + 2 pi j
        amax = pi * _frac(1 - q, 2, bk)
        amin = pi * _frac(-1 - q, 2, bk)
        one = bk.full(np.shape(lo), 1)
        finite = bk.isfinite(Y.lo) & bk.isfinite(Y.hi)
        hmax = self._hits(Y, amax, two_pi) | ~finite
        hmin = self._hits(Y, amin, two_pi) | ~finite
        hi = np.where(hmax, one, hi)
        lo = np.where(hmin, bk.neg(one), lo)
        return _clip(Interval(lo, hi, bk), -1.0, 1.0)

    def series(self, y, K):
        return [self.trig_image(y, self.q0 + j) * _frac(1, math.factorial(j), y.bk) for j in range(K + 1)]

    def crit_in(self, Y, m):
        q = self.q0 + m
        bk = Y.bk
        pi = _const("pi", bk)
        a = pi * _frac(1 - q, 2, bk)
        finite = bk.isfinite(Y.lo) & bk.isfinite(Y.hi)
        return self._hits(Y, a, pi) | ~finite

    def deriv_range(self, Y, m, at_lo=None, at_hi=None):
        return self.trig_image(Y, self.q0 + m) * _frac(1, math.factorial(m), Y.bk)


class Sin(_Trig):
    name = "sin"
    q0 = 0


class Cos(_Trig):
    name = "cos"
    q0 = 1


class Tan(Elementary):
    name = "tan"

    def _pole(self, Y):
        bk = Y.bk
        pi = _const("pi", bk)
        a = pi * _frac(1, 2, bk)
        finite = bk.isfinite(Y.lo) & bk.isfinite(Y.hi)
        return _Trig._hits(self, Y, a, pi) | ~finite

    def series(self, y, K):
        bk = y.bk
        pole = self._pole(y)
        u0 = Interval(bk.fn("tan", y.lo)[0], bk.fn("tan", y.hi)[1], bk)
        u = [u0]
        if K >= 1:
            u.append(Interval.ones_like(u0) + u0.sqr())
        for j in range(1, K):
            u.append(_conv(u, j) * _frac(1, j + 1, bk))
        if np.any(pole):
            ent = Interval.entire(np.shape(pole), bk)
            u = [Interval.where(pole, ent, v) for v in u]
        return u

    def crit_in(self, Y, m):
        bk = Y.bk
        out = self._pole(Y)
        if m % 2 == 1:
            pi = _const("pi", bk)
            out = out | _Trig._hits(self, Y, Interval.zeros((), bk), pi)
        return out

    def deriv_range(self, Y, m, at_lo=None, at_hi=None):
        bk = Y.bk
        out = self.series(_exact(Y.lo, bk), m)[m].hull(self.series(_exact(Y.hi, bk), m)[m])
        if m % 2 == 1:
            pi = _const("pi", bk)
            hit = _Trig._hits(self, Y, Interval.zeros((), bk), pi)
            if np.any(hit):
                v = self.series(Interval.zeros((), bk), m)[m]
                out = Interval(np.where(hit, np.minimum(out.lo, v.lo), out.lo),
                               np.where(hit, np.maximum(out.hi, v.hi), out.hi), bk)
        pole = self._pole(Y)
        if np.any(pole):
            out = Interval.where(pole, Interval.entire(np.shape(pole), bk), out)
        return out


class Sinh(Elementary):
    name = "sinh"

    def _cosh(self, y):
        bk = y.bk
        l1, h1 = bk.fn("cosh", y.lo)
        l2, h2 = bk.fn("cosh", y.hi)
        lo = np.minimum(l1, l2)
        one = bk.full(np.shape(lo), 1)
        lo = np.where(y.contains_zero(), one, lo)
        return _clip(Interval(lo, np.maximum(h1, h2), bk), 1.0, None)

    def series(self, y, K):
        s = _mono_inc(y.bk, "sinh", y)
        c = self._cosh(y)
        return [(s if (j + self._shift) % 2 == 0 else c) * _frac(1, math.factorial(j), y.bk)
                for j in range(K + 1)]

    _shift = 0

    def crit(self, m):
        return ((0.0, 0.0),) if (m + self._shift) % 2 == 1 else ()


class Cosh(Sinh):
    name = "cosh"
    value_range = (1.0, _INF)
    _shift = 1


class Tanh(Elementary):
    name = "tanh"
    value_range = (-1.0, 1.0)

    def series(self, y, K):
        bk = y.bk
        u0 = _clip(_mono_inc(bk, "tanh", y), -1.0, 1.0)
        u = [u0]
        if K >= 1:
            u.append(_clip(Interval.ones_like(u0) - u0.sqr(), 0.0, 1.0))
        for j in range(1, K):
            u.append(-_conv(u, j) * _frac(1, j + 1, bk))
        return u

    def crit(self, m):
        return _certified_crit("tanh", m)


class Sigmoid(Elementary):
    name = "sigmoid"
    value_range = (0.0, 1.0)

    def series(self, y, K):
        bk = y.bk
        s0 = _clip(_mono_inc(bk, "sigmoid", y), 0.0, 1.0)
        s = [s0]
        if K >= 1:
            s.append(_clip(s0 * (Interval.ones_like(s0) - s0), 0.0, 0.25))
        for j in range(1, K):
            s.append((s[j] - _conv(s, j)) * _frac(1, j + 1, bk))
        return s

    def crit(self, m):
        return _certified_crit("sigmoid", m)


class Softplus(Elementary):
    name = "softplus"
    value_range = (0.0, _INF)

    def series(self, y, K):
        out = [_clip(_mono_inc(y.bk, "softplus", y), 0.0, None)]
        if K:
            s = _SIGMOID.series(y, K - 1)
            out += [s[j] * _frac(1, j + 1, y.bk) for j in range(K)]
        return out

    def crit(self, m):
        return _certified_crit("sigmoid", m - 1) if m >= 1 else ()


class Arctan(Elementary):
    name = "arctan"
    value_range = (-1.5707963267948968, 1.5707963267948968)

    def series(self, y, K):
        bk = y.bk
        out = [_mono_inc(bk, "arctan", y)]
        if K:
            one = Interval.ones_like(y)
            q0 = one + y.sqr()
            q1 = y.scale(2)
            w = [q0.recip()]
            for j in range(1, K):
                t = q1 * w[j - 1]
                if j >= 2:
                    t = t + w[j - 2]
                w.append(-(t / q0))
            out += [w[j] * _frac(1, j + 1, bk) for j in range(K)]
        return out

    def crit(self, m):
        return _arctan_crit(m)


class Erf(Elementary):
    name = "erf"
    value_range = (-1.0, 1.0)

    def series(self, y, K):
        bk = y.bk
        out = [_clip(_mono_inc(bk, "erf", y), -1.0, 1.0)]
        if K:
            e0 = _clip(_mono_inc(bk, "exp", -y.sqr()), 0.0, 1.0)
            E = [e0]
            m2y = y.scale(-2)
            for j in range(0, K - 1):
                t = m2y * E[j]
                if j >= 1:
                    t = t - E[j - 1].scale(2)
                E.append(t * _frac(1, j + 1, bk))
            c = _const("2/sqrt(pi)", bk)
            out += [c * E[j] * _frac(1, j + 1, bk) for j in range(K)]
        return out

    def crit(self, m):
        return _certified_crit("erf", m)


# ---------------------------------------------------------------------------
# certified critical points
# ---------------------------------------------------------------------------


def _pmul(a, b):
    out = [0] * (len(a) + len(b) - 1)
    for i, x in enumerate(a):
        for j, y in enumerate(b):
            out[i + j] += x * y
    return out


def _pder(a):
    return [i * a[i] for i in range(1, len(a))] or [0]


def _deriv_polys(kind, m):
    """Integer coefficients (low -> high) of P with phi^(m)(y) = P(u(y))."""
    if kind == "tanh":
        base, p = [1, 0, -1], [1, 0, -1]  # u' = 1 - u^2
    else:  # sigmoid: s' = s - s^2
        base, p = [0, 1, -1], [0, 1, -1]
    for _ in range(1, m):
        p = _pmul(_pder(p), base)
    return p


def _hermite(m):
    """Physicists' Hermite polynomial H_m, integer coefficients low -> high."""
    h0, h1 = [1], [0, 2]
    if m == 0:
        return h0
    for k in range(1, m):
        nxt = [0] + [2 * c for c in h1]
        for i, c in enumerate(h0):
            nxt[i] -= 2 * k * c
        h0, h1 = h1, nxt
    return h1


def _polyroots(coeffs):
    """All complex roots of the polynomial with coefficients low -> high."""
    import inspect

    if "asc" in inspect.signature(mpmath.polyroots).parameters:
        return mpmath.polyroots(list(coeffs), maxsteps=500, extraprec=600, asc=True)
    return mpmath.polyroots(list(reversed(coeffs)), maxsteps=500, extraprec=600)


def _horner_iv(coeffs, u):
    from mpmath import iv

    acc = iv.mpf(0)
    for c in reversed(coeffs):
        acc = acc * u + c
    return acc


def _sign_at(kind, m, y):
    """Rigorous sign (+1, -1, or 0 if undecided) of phi^(m+1)(y) at float y."""
    from mpmath import iv

    if kind == "erf":  # phi^(m+1) is proportional to (-1)^m H_m(y) e^{-y^2}
        h = _hermite(m)
        fy = Fraction(y)
        v = sum(Fraction(c) * fy ** i for i, c in enumerate(h)) * (-1) ** m
        return (v > 0) - (v < 0)
    old = iv.prec
    iv.prec = 200
    try:
        yv = iv.mpf(y)
        if kind == "tanh":
            e = iv.exp(2 * yv)
            u = 1 - 2 / (e + 1)
        else:
            u = 1 / (1 + iv.exp(-yv))
        v = _horner_iv(_deriv_polys(kind, m + 1), u)
    finally:
        iv.prec = old
    if v.a > 0:
        return 1
    if v.b < 0:
        return -1
    return 0


@functools.lru_cache(maxsize=None)
def _certified_crit(kind, m):
    """Certified enclosures of the critical points of phi^(m) (kind: tanh,
    sigmoid or erf); exactly m of them for m >= 1 (Rolle: phi^(m+1) has m zeros)."""
    if m <= 0:
        return ()
    with mpmath.workprec(300):
        if kind == "erf":
            coeffs = _hermite(m)
        else:
            coeffs = _pder(_deriv_polys(kind, m))  # zeros of P_m' = zeros of phi^(m+1)
        roots = _polyroots(coeffs)
        ys = []
        for r in roots:
            r = mpmath.re(r)
            if kind == "tanh":
                if not -1 < r < 1:
                    continue
                ys.append(mpmath.atanh(r))
            elif kind == "sigmoid":
                if not 0 < r < 1:
                    continue
                ys.append(mpmath.log(r / (1 - r)))
            else:
                ys.append(r)
        ys.sort()
    out = []
    for yr in ys:
        yf = float(yr)
        d = 2.0 ** -40 * max(1.0, abs(yf))
        lo, hi = yf - d, yf + d
        s_lo, s_hi = _sign_at(kind, m, lo), _sign_at(kind, m, hi)
        if s_lo == 0 or s_hi == 0 or s_lo == s_hi:
            raise BoundsError(f"nnopt.bounds: could not certify a critical point of {kind}^({m})")
        out.append((lo, hi))
    if len(out) != m or any(out[i][1] >= out[i + 1][0] for i in range(len(out) - 1)):
        raise BoundsError(f"nnopt.bounds: found {len(out)} critical points of {kind}^({m}), expected {m}")
    return tuple(out)


@functools.lru_cache(maxsize=None)
def _arctan_crit(m):
    """Critical points of arctan^(m): cot(j pi / (m+1)), j = 1..m."""
    if m <= 0:
        return ()
    from mpmath import iv

    old = iv.prec
    iv.prec = 200
    try:
        out = []
        for j in range(1, m + 1):
            t = j * iv.pi / (m + 1)
            v = iv.cos(t) / iv.sin(t)
            lo = _to_float_dn(v.a)
            hi = _to_float_up(v.b)
            out.append((lo, hi))
    finally:
        iv.prec = old
    return tuple(sorted(out))


def _to_float_dn(v):
    f = float(v)
    return f if mpmath.mp.make_mpf(mpmath.libmp.from_float(f)) <= v else math.nextafter(f, -math.inf)


def _to_float_up(v):
    f = float(v)
    return f if mpmath.mp.make_mpf(mpmath.libmp.from_float(f)) >= v else math.nextafter(f, math.inf)


_SIGMOID = Sigmoid()

ELEMENTARY = {
    "exp": Exp(),
    "expm1": Expm1(),
    "log": Log(),
    "log1p": Log1p(),
    "sqrt": Sqrt(),
    "sin": Sin(),
    "cos": Cos(),
    "tan": Tan(),
    "sinh": Sinh(),
    "cosh": Cosh(),
    "tanh": Tanh(),
    "sigmoid": _SIGMOID,
    "softplus": Softplus(),
    "arctan": Arctan(),
    "erf": Erf(),
}


def get_function(name):
    return ELEMENTARY[name]
