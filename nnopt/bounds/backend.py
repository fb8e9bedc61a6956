"""Number backends for verified interval arithmetic.

An interval is a pair of arrays ``(lo, hi)`` of *backend numbers*; a backend
supplies the point operations with directed rounding from which every
interval operation of :mod:`nnopt.bounds.interval` is built:

* :class:`FloatBackend` - vectorised IEEE float64.  ``+ - * /`` and ``sqrt``
  are correctly rounded (IEEE 754), so one step of ``numpy.nextafter`` away
  from the rounded result bounds the exact real result from below / above.
  Elementary functions (``exp``, ``log``, ``tanh``, ``erf``, ...) come from
  NumPy's and SciPy's implementations, which are not correctly rounded.
  **Assumption:** each of them returns a value within ``LIBM_ULPS / 2 = 4``
  units in the last place of the true value (the documented accuracy of
  glibc, NumPy's SIMD kernels and SciPy's cephes routines is 1-4 ulp); the
  enclosure is widened by ``LIBM_ULPS = 8`` ulp relative plus 8 smallest
  subnormals absolute.  Trigonometric functions are widened in addition by
  8 ulp of the *argument* (argument reduction), and refused (the range
  ``[-1, 1]`` is used) for ``|x| > 2**20``.
* :class:`MPBackend` - arrays of :class:`mpmath.mpf` at ``prec`` bits, for
  certificates.  Arithmetic uses mpmath's directed rounding (``libmp`` with
  ``round_floor`` / ``round_ceiling``), which is exact to the last bit.
  Elementary functions are evaluated at ``prec + 40`` bits and widened by
  ``2**-(prec + 20)`` relative.  **Assumption:** mpmath's elementary
  functions are accurate to within ``2**20`` ulp of the working precision
  (they are designed to be correct to within an ulp).

Float32 (or integer) input values are converted *exactly* to the backend
(every float32 is a float64); values that are not exactly representable
(``int`` beyond 2**53, ``longdouble``) get a one-ulp enclosure.
"""
from __future__ import annotations

import math
from fractions import Fraction

import mpmath
import numpy as np
import scipy.special
from mpmath import libmp

__all__ = ["FloatBackend", "MPBackend", "get_backend", "FLOAT64"]

_INF = np.inf
_IV = type(mpmath.iv.mpf(1))  # mpmath interval numbers
_TINY = 2.0 ** -1074
_REALMIN = 2.0 ** -1022
_U = 2.0 ** -53


def gamma_bound(n):
    """An upper bound, as a float, of gamma_n / (1 - gamma_n) with
    gamma_n = n u / (1 - n u), u = 2**-53 (Higham, Accuracy and Stability of
    Numerical Algorithms, 2nd ed., Lemma 3.1), padded for the rounding of
    the bound's own evaluation."""
    n = max(int(n), 1)
    nu = n * _U
    if nu >= 0.01:
        raise ValueError(f"summation of {n} terms is too long for a rounding-error bound")
    g = nu / (1.0 - nu)
    return (g / (1.0 - g)) * 1.0001 + 4 * _U


class FloatBackend:
    """Vectorised float64 with outward rounding (see the module docstring)."""

    name = "float64"
    dtype = np.dtype(np.float64)
    LIBM_ULPS = 8
    TRIG_MAX = 2.0 ** 20
    is_mp = False

    # -- conversion ------------------------------------------------------------
    def from_values(self, x):
        """``(lo, hi)`` enclosing the exact values of ``x`` (arrays of any real dtype)."""
        if isinstance(x, (mpmath.mpf, _IV)) or (isinstance(x, np.ndarray) and x.dtype == object):
            return self._from_objects(x)
        a = np.asarray(x)
        if a.dtype == np.float64:
            return a, a
        if a.dtype.kind == "b":
            a = a.astype(np.float64)
            return a, a
        if a.dtype.kind in "iu":
            f = a.astype(np.float64)
            if a.size and np.max(np.abs(a.astype(np.float64))) <= 2.0 ** 53:
                return f, f
            return np.nextafter(f, -_INF), np.nextafter(f, _INF)
        if a.dtype.kind == "f" and a.dtype.itemsize <= 8:
            f = a.astype(np.float64)  # float16/float32 -> float64 is exact
            return f, f
        if a.dtype.kind == "f":  # longdouble: round outward
            f = a.astype(np.float64)
            exact = f.astype(a.dtype) == a
            return (np.where(exact, f, np.nextafter(f, -_INF)),
                    np.where(exact, f, np.nextafter(f, _INF)))
        raise TypeError(f"nnopt.bounds: cannot enclose values of dtype {a.dtype}")

    def _from_objects(self, x):
        flat = np.asarray(x, dtype=object)
        lo = np.empty(flat.shape, dtype=np.float64)
        hi = np.empty(flat.shape, dtype=np.float64)
        for idx, v in np.ndenumerate(flat):
            if isinstance(v, _IV):
                a, b = v.a, v.b
            else:
                a = b = _exact_mpf(v)
            lo[idx] = _mpf_to_float(a, -1)
            hi[idx] = _mpf_to_float(b, +1)
        return lo, hi

    def to_float(self, x, direction):
        return np.asarray(x, dtype=np.float64)

    def asarray(self, x):
        return np.asarray(x, dtype=np.float64)

    def zeros(self, shape):
        return np.zeros(shape)

    def full(self, shape, value):
        return np.full(shape, float(value))

    # -- directed rounding ---------------------------------------------------------
    @staticmethod
    def down(x):
        return np.nextafter(x, -_INF)

    @staticmethod
    def up(x):
        return np.nextafter(x, _INF)

    def add_dn(self, a, b):
        with np.errstate(all="ignore"):
            return np.nextafter(np.add(a, b), -_INF)

    def add_up(self, a, b):
        with np.errstate(all="ignore"):
            return np.nextafter(np.add(a, b), _INF)

    def sub_dn(self, a, b):
        with np.errstate(all="ignore"):
            return np.nextafter(np.subtract(a, b), -_INF)

    def sub_up(self, a, b):
        with np.errstate(all="ignore"):
            return np.nextafter(np.subtract(a, b), _INF)

    @staticmethod
    def _mul(a, b):
        p = np.multiply(a, b)
        if np.ndim(p):
            bad = np.isnan(p)
            if bad.any():  # 0 * inf: in interval arithmetic over the reals 0 * x = 0
                p = np.where(bad, 0.0, p)
        elif p != p:
            p = np.float64(0.0)
        return p

    def mul_dn(self, a, b):
        with np.errstate(all="ignore"):
            return np.nextafter(self._mul(a, b), -_INF)

    def mul_up(self, a, b):
        with np.errstate(all="ignore"):
            return np.nextafter(self._mul(a, b), _INF)

    def div_dn(self, a, b):
        with np.errstate(all="ignore"):
            q = np.divide(a, b)
            return np.where(np.isnan(q), -_INF, np.nextafter(q, -_INF))

    def div_up(self, a, b):
        with np.errstate(all="ignore"):
            q = np.divide(a, b)
            return np.where(np.isnan(q), _INF, np.nextafter(q, _INF))

    def sqrt_dn(self, a):
        return np.maximum(np.nextafter(np.sqrt(a), -_INF), 0.0)

    def sqrt_up(self, a):
        return np.nextafter(np.sqrt(a), _INF)

    # -- exact helpers ---------------------------------------------------------------
    def isinf(self, a):
        return np.isinf(a)

    def isnan(self, a):
        return np.isnan(a)

    def isfinite(self, a):
        return np.isfinite(a)

    def neg(self, a):
        return np.negative(a)

    def abs(self, a):
        return np.abs(a)

    def floor(self, a):
        return np.floor(a)

    def ceil(self, a):
        return np.ceil(a)

    def half(self, a):
        """a / 2 rounded to nearest (may be inexact only for subnormals)."""
        return a * 0.5

    def frac(self, p, q, direction):
        """The rational p/q rounded in ``direction`` (-1 down, +1 up)."""
        v = Fraction(p, q)
        f = float(v)  # correctly rounded
        if Fraction(f) == v:
            return f
        return math.nextafter(f, direction * math.inf)

    # -- elementary functions at points ------------------------------------------------
    def fn(self, name, x):
        """``(lo, hi)`` enclosing ``name(x)`` for each point of ``x``."""
        x = np.asarray(x, dtype=np.float64)
        with np.errstate(all="ignore"):
            v = _FLOAT_FNS[name](x)
            ulps = self.LIBM_ULPS
            d = np.abs(v) * (ulps * 2.0 ** -52) + ulps * _TINY
            if name in ("sin", "cos", "tan"):
                d = d + np.abs(x) * (ulps * 2.0 ** -52)
            lo = np.nextafter(v - d, -_INF)
            hi = np.nextafter(v + d, _INF)
            bad = np.isnan(v)
            if bad.any():  # outside the function's domain, or no value (sin(inf))
                lo = np.where(bad, -_INF, lo)
                hi = np.where(bad, _INF, hi)
            big = np.isinf(v)
            if big.any():
                lo = np.where(big & (v > 0), np.finfo(np.float64).max, lo)
                hi = np.where(big & (v < 0), -np.finfo(np.float64).max, hi)
            if name in ("sin", "cos", "tan"):
                huge = ~(np.abs(x) <= self.TRIG_MAX)
                if huge.any():
                    one = _INF if name == "tan" else 1.0
                    lo = np.where(huge, -one, lo)
                    hi = np.where(huge, one, hi)
        return lo, hi

    def pow_real(self, x, q):
        """``(lo, hi)`` enclosing ``x**q`` for points ``x >= 0`` and a float ``q``
        (libm ``pow``, within a few ulp; widened like the other functions)."""
        x = np.asarray(x, dtype=np.float64)
        with np.errstate(all="ignore"):
            v = np.power(x, q)
            ulps = self.LIBM_ULPS
            d = np.abs(v) * (ulps * 2.0 ** -52) + ulps * _TINY
            lo = np.maximum(np.nextafter(v - d, -_INF), 0.0)
            hi = np.nextafter(v + d, _INF)
            big = np.isinf(v)
            lo = np.where(big, np.finfo(np.float64).max, lo)
            bad = np.isnan(v)
            lo = np.where(bad, 0.0, lo)
            hi = np.where(bad, _INF, hi)
        return lo, hi

    def const(self, name):
        """``(lo, hi)`` floats enclosing a mathematical constant."""
        return _FLOAT_CONSTS[name]

    def __repr__(self):
        return "FloatBackend()"

    def __eq__(self, other):
        return type(other) is FloatBackend

    def __hash__(self):
        return hash("FloatBackend")


def _softplus(x):
    return np.logaddexp(0.0, x)


_FLOAT_FNS = {
    "exp": np.exp,
    "expm1": np.expm1,
    "log": np.log,
    "log1p": np.log1p,
    "sin": np.sin,
    "cos": np.cos,
    "tan": np.tan,
    "sinh": np.sinh,
    "cosh": np.cosh,
    "tanh": np.tanh,
    "arctan": np.arctan,
    "sigmoid": scipy.special.expit,
    "softplus": _softplus,
    "erf": scipy.special.erf,
    "sqrt": np.sqrt,
}


def _exact_mpf(v):
    """An mpf equal to ``v`` (mpf kept as is, never re-rounded to mp.prec)."""
    if isinstance(v, mpmath.mpf):
        return v
    if isinstance(v, (bool, np.bool_, int, np.integer)):
        return mpmath.mp.make_mpf(libmp.from_int(int(v)))
    return mpmath.mp.make_mpf(libmp.from_float(float(v)))


def _raw(v):
    return v._mpf_ if isinstance(v, mpmath.mpf) else _exact_mpf(v)._mpf_


def _mpf_to_float(v, direction):
    """mpf -> float64 rounded in ``direction`` (-1 down, +1 up)."""
    v = _exact_mpf(v)
    if mpmath.isinf(v):
        return float(v)
    f = float(v)
    if mpmath.mpf(f) == v:
        return f
    return math.nextafter(f, direction * math.inf)


def _mp_consts():
    with mpmath.workprec(200):
        vals = {
            "pi": mpmath.pi,
            "2/sqrt(pi)": 2 / mpmath.sqrt(mpmath.pi),
            "ln2": mpmath.log(2),
        }
        return {k: (_mpf_to_float(v, -1), _mpf_to_float(v, +1)) for k, v in vals.items()}


_FLOAT_CONSTS = _mp_consts()


# ---------------------------------------------------------------------------
# mpmath backend
# ---------------------------------------------------------------------------

_make = mpmath.mp.make_mpf
_RF, _RC = libmp.round_floor, libmp.round_ceiling
_MP_ZERO = _make(libmp.fzero)
_MP_INF = mpmath.inf
_MP_NINF = mpmath.ninf


def _mp_sigmoid(x):
    return 1 / (1 + mpmath.exp(-x))


def _mp_softplus(x):
    return mpmath.log1p(mpmath.exp(x)) if x < 0 else x + mpmath.log1p(mpmath.exp(-x))


_MP_FNS = {
    "exp": mpmath.exp,
    "expm1": mpmath.expm1,
    "log": mpmath.log,
    "log1p": mpmath.log1p,
    "sin": mpmath.sin,
    "cos": mpmath.cos,
    "tan": mpmath.tan,
    "sinh": mpmath.sinh,
    "cosh": mpmath.cosh,
    "tanh": mpmath.tanh,
    "arctan": mpmath.atan,
    "sigmoid": _mp_sigmoid,
    "softplus": _mp_softplus,
    "erf": mpmath.erf,
    "sqrt": mpmath.sqrt,
}


class MPBackend:
    """Arrays of :class:`mpmath.mpf` with ``prec`` bits and directed rounding.

    Parameters
    ----------
    prec : int
        Working precision in bits (default 113, IEEE quad).
    """

    is_mp = True
    dtype = np.dtype(object)

    def __init__(self, prec=113):
        if not isinstance(prec, (int, np.integer)) or prec < 53:
            raise ValueError(f"MPBackend: prec must be an integer >= 53 (bits), got {prec!r}")
        self.prec = int(prec)
        self.name = f"mpmath[{self.prec}]"
        p = self.prec

        def binop(raw, rnd):
            def f(a, b):
                return _make(raw(_raw(a), _raw(b), p, rnd))
            return np.frompyfunc(f, 2, 1)

        self._add_dn = binop(libmp.mpf_add, _RF)
        self._add_up = binop(libmp.mpf_add, _RC)
        self._sub_dn = binop(libmp.mpf_sub, _RF)
        self._sub_up = binop(libmp.mpf_sub, _RC)

        def mul(rnd):
            def f(a, b):
                a, b = _exact_mpf(a), _exact_mpf(b)
                if (a == 0 and mpmath.isinf(b)) or (b == 0 and mpmath.isinf(a)):
                    return _MP_ZERO
                return _make(libmp.mpf_mul(a._mpf_, b._mpf_, p, rnd))
            return np.frompyfunc(f, 2, 1)

        self._mul_dn = mul(_RF)
        self._mul_up = mul(_RC)

        def div(rnd, nan_value):
            def f(a, b):
                a, b = _exact_mpf(a), _exact_mpf(b)
                if b == 0 or (mpmath.isinf(a) and mpmath.isinf(b)):
                    return nan_value
                return _make(libmp.mpf_div(a._mpf_, b._mpf_, p, rnd))
            return np.frompyfunc(f, 2, 1)

        self._div_dn = div(_RF, _MP_NINF)
        self._div_up = div(_RC, _MP_INF)

        def sqrt(rnd):
            def f(a):
                a = _exact_mpf(a)
                if a <= 0:
                    return _MP_ZERO
                return _make(libmp.mpf_sqrt(a._mpf_, p, rnd))
            return np.frompyfunc(f, 1, 1)

        self._sqrt_dn = sqrt(_RF)
        self._sqrt_up = sqrt(_RC)
        self._isinf = np.frompyfunc(lambda a: bool(mpmath.isinf(a)), 1, 1)
        self._isnan = np.frompyfunc(lambda a: bool(mpmath.isnan(a)), 1, 1)
        self._tompf = np.frompyfunc(self._conv, 1, 1)
        self._down1 = np.frompyfunc(lambda a: self._nudge(a, -1), 1, 1)
        self._up1 = np.frompyfunc(lambda a: self._nudge(a, +1), 1, 1)
        self._fn_cache = {}

    def _conv(self, v):
        """Exact conversion of one value to mpf (float32/float64/int: exact)."""
        if isinstance(v, mpmath.mpf):
            return v
        if isinstance(v, (bool, np.bool_)):
            return _make(libmp.from_int(int(v)))
        if isinstance(v, (int, np.integer)):
            return _make(libmp.from_int(int(v)))
        return _make(libmp.from_float(float(v)))

    def _nudge(self, a, direction):
        """The neighbour of ``a`` at this precision in ``direction``."""
        a = _exact_mpf(a)
        if mpmath.isinf(a) or mpmath.isnan(a):
            return a
        e = -(self.prec + 1100) if a == 0 else int(mpmath.mag(a)) - self.prec - 20
        tiny = libmp.from_man_exp(direction, e)
        return _make(libmp.mpf_add(a._mpf_, tiny, self.prec, _RC if direction > 0 else _RF))

    # -- conversion ----------------------------------------------------------------
    def from_values(self, x):
        if isinstance(x, _IV):
            return np.asarray(x.a, dtype=object), np.asarray(x.b, dtype=object)
        a = np.asarray(x)
        if a.dtype == object:
            if any(isinstance(v, _IV) for v in a.flat):
                lo = np.frompyfunc(lambda v: v.a if isinstance(v, _IV) else _exact_mpf(v), 1, 1)(a)
                hi = np.frompyfunc(lambda v: v.b if isinstance(v, _IV) else _exact_mpf(v), 1, 1)(a)
                return self._round_out(np.asarray(lo, dtype=object), np.asarray(hi, dtype=object))
            v = np.asarray(self._tompf(a), dtype=object)
            return self._round_out(v, v)
        if a.dtype.kind not in "fiub":
            raise TypeError(f"nnopt.bounds: cannot enclose values of dtype {a.dtype}")
        if a.dtype.kind == "f" and a.dtype.itemsize > 8:
            lo, hi = FloatBackend().from_values(a)
            return np.asarray(self._tompf(lo), dtype=object), np.asarray(self._tompf(hi), dtype=object)
        if a.dtype.kind in "iu" and a.size and np.max(np.abs(a.astype(np.float64))) > 2.0 ** (self.prec - 1):
            v = np.asarray(self._tompf(a), dtype=object)
            return self._round_out(v, v)
        v = np.asarray(self._tompf(a), dtype=object)
        return v, v

    def _round_out(self, lo, hi):
        """Round mpf values of arbitrary precision outward to ``prec`` bits."""
        p = self.prec
        rlo = np.frompyfunc(lambda v: _make(libmp.mpf_pos(_raw(v), p, _RF)), 1, 1)(lo)
        rhi = np.frompyfunc(lambda v: _make(libmp.mpf_pos(_raw(v), p, _RC)), 1, 1)(hi)
        return np.asarray(rlo, dtype=object), np.asarray(rhi, dtype=object)

    def to_float(self, x, direction):
        x = np.asarray(x, dtype=object)
        out = np.empty(x.shape, dtype=np.float64)
        for idx, v in np.ndenumerate(x):
            out[idx] = _mpf_to_float(v, direction)
        return out

    def asarray(self, x):
        return np.asarray(self.from_values(x)[0], dtype=object)

    def zeros(self, shape):
        out = np.empty(shape, dtype=object)
        out.fill(_MP_ZERO)
        return out

    def full(self, shape, value):
        out = np.empty(shape, dtype=object)
        out.fill(self._conv(value))
        return out

    # -- directed rounding -----------------------------------------------------------
    def _o(self, r):
        return r if isinstance(r, np.ndarray) else np.asarray(r, dtype=object)

    def down(self, x):
        return self._o(self._down1(x))

    def up(self, x):
        return self._o(self._up1(x))

    def add_dn(self, a, b):
        return self._o(self._add_dn(a, b))

    def add_up(self, a, b):
        return self._o(self._add_up(a, b))

    def sub_dn(self, a, b):
        return self._o(self._sub_dn(a, b))

    def sub_up(self, a, b):
        return self._o(self._sub_up(a, b))

    def mul_dn(self, a, b):
        return self._o(self._mul_dn(a, b))

    def mul_up(self, a, b):
        return self._o(self._mul_up(a, b))

    def div_dn(self, a, b):
        return self._o(self._div_dn(a, b))

    def div_up(self, a, b):
        return self._o(self._div_up(a, b))

    def sqrt_dn(self, a):
        return self._o(self._sqrt_dn(a))

    def sqrt_up(self, a):
        return self._o(self._sqrt_up(a))

    def isinf(self, a):
        return np.asarray(self._isinf(a), dtype=bool)

    def isnan(self, a):
        return np.asarray(self._isnan(a), dtype=bool)

    def isfinite(self, a):
        return ~(self.isinf(a) | self.isnan(a))

    # mpf's own operators round to the global mp.prec: use exact libmp calls
    _neg1 = staticmethod(np.frompyfunc(lambda v: _make(libmp.mpf_neg(_raw(v))), 1, 1))
    _abs1 = staticmethod(np.frompyfunc(lambda v: _make(libmp.mpf_abs(_raw(v))), 1, 1))
    _half1 = staticmethod(np.frompyfunc(lambda v: _make(libmp.mpf_shift(_raw(v), -1)), 1, 1))

    def neg(self, a):
        return self._o(self._neg1(a))

    def abs(self, a):
        return self._o(self._abs1(a))

    def half(self, a):
        return self._o(self._half1(a))

    def floor(self, a):
        return self._o(np.frompyfunc(lambda v: v if mpmath.isinf(v) else _make(libmp.mpf_floor(v._mpf_)), 1, 1)(a))

    def ceil(self, a):
        return self._o(np.frompyfunc(lambda v: v if mpmath.isinf(v) else _make(libmp.mpf_ceil(v._mpf_)), 1, 1)(a))

    def frac(self, p, q, direction):
        rnd = _RC if direction > 0 else _RF
        return _make(libmp.mpf_div(libmp.from_int(int(p)), libmp.from_int(int(q)), self.prec, rnd))

    # -- elementary functions ------------------------------------------------------------
    def fn(self, name, x):
        f = _MP_FNS[name]
        p = self.prec
        wp = p + 40

        def lohi(v):
            v = _exact_mpf(v)
            if name in ("sin", "cos", "tan") and mpmath.isinf(v):
                return _MP_NINF, _MP_INF
            with mpmath.workprec(wp):
                r = f(v)
            if mpmath.isnan(r):
                return _MP_NINF, _MP_INF
            if mpmath.isinf(r):
                return r, r
            # |error| <= |r| 2^-(p+20) <= 2^(mag(r) - p - 20), plus a tiny absolute term
            e = (int(mpmath.mag(r)) - p - 20) if r != 0 else -(p + 1100)
            err = libmp.from_man_exp(1, e)
            err = libmp.mpf_add(err, libmp.from_man_exp(1, -(p + 1100)), p + 10, _RC)
            lo = _make(libmp.mpf_sub(r._mpf_, err, p, _RF))
            hi = _make(libmp.mpf_add(r._mpf_, err, p, _RC))
            return lo, hi

        x = np.asarray(x, dtype=object)
        lo = np.empty(x.shape, dtype=object)
        hi = np.empty(x.shape, dtype=object)
        for idx, v in np.ndenumerate(x):
            a, b = lohi(v)
            if name in ("exp",) and a < 0:
                a = _MP_ZERO
            lo[idx], hi[idx] = a, b
        return lo, hi

    def pow_real(self, x, q):
        p = self.prec
        wp = p + 40
        qm = _exact_mpf(q)
        x = np.asarray(x, dtype=object)
        lo = np.empty(x.shape, dtype=object)
        hi = np.empty(x.shape, dtype=object)
        for idx, v in np.ndenumerate(x):
            v = _exact_mpf(v)
            if v == 0:
                lo[idx], hi[idx] = (_MP_ZERO, _MP_ZERO) if q > 0 else (_MP_INF, _MP_INF)
                continue
            if mpmath.isinf(v):
                lo[idx], hi[idx] = (_MP_INF, _MP_INF) if q > 0 else (_MP_ZERO, _MP_ZERO)
                continue
            with mpmath.workprec(wp):
                r = mpmath.power(v, qm)
            e = int(mpmath.mag(r)) - p - 20
            err = libmp.from_man_exp(1, e)
            lo[idx] = _make(libmp.mpf_sub(r._mpf_, err, p, _RF))
            hi[idx] = _make(libmp.mpf_add(r._mpf_, err, p, _RC))
        return lo, hi

    def const(self, name):
        p = self.prec
        with mpmath.workprec(p + 60):
            v = {"pi": mpmath.pi, "2/sqrt(pi)": 2 / mpmath.sqrt(mpmath.pi), "ln2": mpmath.log(2)}[name]
            v = +v
        err = libmp.from_man_exp(1, int(mpmath.mag(v)) - p - 40)
        lo = _make(libmp.mpf_sub(v._mpf_, err, p, _RF))
        hi = _make(libmp.mpf_add(v._mpf_, err, p, _RC))
        return lo, hi

    def __repr__(self):
        return f"MPBackend(prec={self.prec})"

    def __eq__(self, other):
        return type(other) is MPBackend and other.prec == self.prec

    def __hash__(self):
        return hash(("MPBackend", self.prec))


FLOAT64 = FloatBackend()


def get_backend(backend):
    """Resolve the ``backend`` argument of the public functions.

    ``None`` or ``"float64"``: :class:`FloatBackend`; ``"mpmath"``:
    :class:`MPBackend` at 113 bits; an int ``p``: :class:`MPBackend` at
    ``p`` bits; a backend instance is returned as is.
    """
    if backend is None or backend == "float64" or backend == "float":
        return FLOAT64
    if isinstance(backend, (FloatBackend, MPBackend)):
        return backend
    if backend == "mpmath" or backend == "mp":
        return MPBackend()
    if isinstance(backend, (int, np.integer)) and not isinstance(backend, bool):
        return MPBackend(int(backend))
    raise ValueError(
        f"backend must be None/'float64', 'mpmath', an int precision in bits, or a "
        f"FloatBackend/MPBackend instance, got {backend!r}"
    )
