"""Interval arrays with outward rounding over an injected number backend.

An :class:`Interval` holds two arrays ``lo`` and ``hi`` of backend numbers
(float64, or mpmath ``mpf`` objects) and stands for the set of real arrays
``x`` with ``lo <= x <= hi`` element-wise.  Every operation returns an
interval that contains the exact real result for every choice of the
operands inside theirs (the *inclusion property*, Moore 1966); results are
rounded outward with the backend's directed operations.

Conventions: infinite endpoints are allowed (``[1, inf]``); ``0 * inf = 0``
(the operands stand for real numbers); a division by an interval containing
0 gives ``[-inf, inf]``.

Products and sums of many terms on the float backend use the a-priori bound
``|fl(sum) - sum| <= gamma_n sum |terms|`` (Higham 2002, eq. 3.5, valid for
any summation order, with or without FMA), so matrix products can run
through BLAS in midpoint-radius form (Rump 1999, "Fast and parallel interval
arithmetic", BIT 39).
"""
from __future__ import annotations

import numpy as np

from .backend import FLOAT64, FloatBackend, gamma_bound

__all__ = ["Interval", "BoundsError", "DomainError", "UnsupportedBoundError"]


class BoundsError(ValueError):
    """A verified bound could not be produced (the message says why)."""


class DomainError(BoundsError):
    """An operation met an argument interval outside its real domain
    (``log`` or ``sqrt`` of an interval with negative numbers, ...)."""


class UnsupportedBoundError(BoundsError, TypeError):
    """The function uses an operation that has no rigorous interval rule."""


_INF = np.inf


class Interval:
    """An array of closed real intervals ``[lo, hi]`` (see the module docstring).

    Parameters
    ----------
    lo, hi : arrays of backend numbers, same shape
    bk : FloatBackend or MPBackend
    """

    __slots__ = ("lo", "hi", "bk")
    __array_priority__ = 2000.0

    def __init__(self, lo, hi, bk=FLOAT64):
        self.lo = lo
        self.hi = hi
        self.bk = bk

    # -- construction ------------------------------------------------------------
    @classmethod
    def point(cls, x, bk=FLOAT64):
        """The (thinnest) interval enclosing the values of ``x``."""
        lo, hi = bk.from_values(x)
        return cls(lo, hi, bk)

    @classmethod
    def exact(cls, x, bk=FLOAT64):
        """A point interval of backend numbers ``x`` (no conversion)."""
        return cls(x, x, bk)

    @classmethod
    def zeros(cls, shape, bk=FLOAT64):
        z = bk.zeros(shape)
        return cls(z, z, bk)

    @classmethod
    def entire(cls, shape, bk=FLOAT64):
        return cls(bk.full(shape, -_INF), bk.full(shape, _INF), bk)

    @classmethod
    def from_bounds(cls, lo, hi, bk=FLOAT64):
        """``[lo, hi]`` from user numbers, rounded outward."""
        l0, _ = bk.from_values(lo)
        _, h1 = bk.from_values(hi)
        l0, h1 = np.broadcast_arrays(l0, h1)
        if np.any(_gt(l0, h1)):
            raise ValueError("an interval needs lo <= hi element-wise")
        return cls(np.array(l0), np.array(h1), bk)

    # -- array protocol -------------------------------------------------------------
    @property
    def shape(self):
        return np.shape(self.lo)

    @property
    def ndim(self):
        return np.ndim(self.lo)

    @property
    def size(self):
        return int(np.size(self.lo))

    @property
    def is_point(self):
        return self.lo is self.hi

    def __repr__(self):
        lo, hi = self.to_floats()
        if np.ndim(lo) == 0:
            return f"Interval([{float(lo)!r}, {float(hi)!r}])"
        return f"Interval(lo={lo!r}, hi={hi!r})"

    def to_floats(self):
        """``(lo, hi)`` as float64 arrays, rounded outward."""
        return self.bk.to_float(self.lo, -1), self.bk.to_float(self.hi, +1)

    def _new(self, lo, hi):
        return Interval(lo, hi, self.bk)

    # -- set operations -------------------------------------------------------------------
    def contains(self, x):
        """Element-wise ``lo <= x <= hi`` for backend numbers or floats ``x``."""
        return np.logical_and(_le(self.lo, x), _le(x, self.hi))

    def hull(self, other):
        return self._new(np.minimum(self.lo, other.lo), np.maximum(self.hi, other.hi))

    def intersect(self, other):
        """The intersection of two enclosures of the same quantity.

        Both contain the true value, so the intersection is never empty; an
        empty one means a bug and raises instead of returning nonsense.
        """
        lo = np.maximum(self.lo, other.lo)
        hi = np.minimum(self.hi, other.hi)
        if np.any(_gt(lo, hi)):
            raise BoundsError(
                "nnopt.bounds internal error: two enclosures of the same value are disjoint "
                "(please report this with the function that produced it)"
            )
        return self._new(lo, hi)

    def contains_zero(self):
        return np.logical_and(_le(self.lo, 0), _le(0, self.hi))

    def width(self):
        """hi - lo rounded up (float64 array)."""
        return self.bk.to_float(self.bk.sub_up(self.hi, self.lo), +1)

    def mid(self):
        """A backend number inside each interval (the midpoint up to rounding)."""
        bk = self.bk
        lo, hi = self.lo, self.hi
        if bk.is_mp:
            m = bk.half(bk.add_dn(lo, hi))
        else:
            with np.errstate(all="ignore"):
                m = 0.5 * lo + 0.5 * hi
            m = np.where(np.isfinite(m), m, np.where(np.isfinite(lo), lo, np.where(np.isfinite(hi), hi, 0.0)))
        return np.minimum(np.maximum(m, lo), hi)

    def mag(self):
        """max |x| over the interval (exact)."""
        return np.maximum(self.bk.abs(self.lo), self.bk.abs(self.hi))

    def mig(self):
        """min |x| over the interval (exact)."""
        bk = self.bk
        m = np.minimum(bk.abs(self.lo), bk.abs(self.hi))
        return np.where(self.contains_zero(), bk.zeros(np.shape(m)), m)

    def is_bounded(self):
        return self.bk.isfinite(self.lo) & self.bk.isfinite(self.hi)

    # -- arithmetic -------------------------------------------------------------------
    def __neg__(self):
        return self._new(self.bk.neg(self.hi), self.bk.neg(self.lo))

    def __add__(self, other):
        bk = self.bk
        return self._new(bk.add_dn(self.lo, other.lo), bk.add_up(self.hi, other.hi))

    def __sub__(self, other):
        bk = self.bk
        return self._new(bk.sub_dn(self.lo, other.hi), bk.sub_up(self.hi, other.lo))

    def __mul__(self, other):
        bk = self.bk
        a, b = self, other
        if b.is_point and not a.is_point:
            a, b = b, a
        if a.is_point and np.ndim(a.lo) == 0 and a.lo == 1:
            return b  # exact
        if not bk.is_mp:
            # round-to-nearest products, then one step outward from the min/max:
            # rounding is monotone, so nextafter(min fl(p), -inf) <= min p exactly
            with np.errstate(all="ignore"):
                if a.is_point:
                    p1, p2 = a.lo * b.lo, a.lo * b.hi
                    lo, hi = np.fmin(p1, p2), np.fmax(p1, p2)
                else:
                    p1, p2, p3, p4 = a.lo * b.lo, a.lo * b.hi, a.hi * b.lo, a.hi * b.hi
                    lo = np.fmin(np.fmin(p1, p2), np.fmin(p3, p4))
                    hi = np.fmax(np.fmax(p1, p2), np.fmax(p3, p4))
            if np.ndim(lo):
                if np.isnan(lo).any():  # only 0 * inf products: the value 0
                    lo = np.where(np.isnan(lo), 0.0, lo)
                    hi = np.where(np.isnan(hi), 0.0, hi)
            elif lo != lo:
                lo = hi = np.float64(0.0)
            lo, hi = np.nextafter(lo, -_INF), np.nextafter(hi, _INF)
            # a factor that is exactly 0 gives exactly 0 (no rounding)
            zero = (a.lo == 0) & (a.hi == 0)
            if not b.is_point or not a.is_point:
                zero = zero | ((b.lo == 0) & (b.hi == 0))
            if np.any(zero):
                lo = np.where(zero, 0.0, lo)
                hi = np.where(zero, 0.0, hi)
            return self._new(lo, hi)
        if a.is_point:
            p = a.lo
            l1, l2 = bk.mul_dn(p, b.lo), bk.mul_dn(p, b.hi)
            h1, h2 = bk.mul_up(p, b.lo), bk.mul_up(p, b.hi)
            return self._new(np.minimum(l1, l2), np.maximum(h1, h2))
        lo = np.minimum(
            np.minimum(bk.mul_dn(a.lo, b.lo), bk.mul_dn(a.lo, b.hi)),
            np.minimum(bk.mul_dn(a.hi, b.lo), bk.mul_dn(a.hi, b.hi)),
        )
        hi = np.maximum(
            np.maximum(bk.mul_up(a.lo, b.lo), bk.mul_up(a.lo, b.hi)),
            np.maximum(bk.mul_up(a.hi, b.lo), bk.mul_up(a.hi, b.hi)),
        )
        return self._new(lo, hi)

    def __truediv__(self, other):
        bk = self.bk
        a, b = self, other
        lo = np.minimum(
            np.minimum(bk.div_dn(a.lo, b.lo), bk.div_dn(a.lo, b.hi)),
            np.minimum(bk.div_dn(a.hi, b.lo), bk.div_dn(a.hi, b.hi)),
        )
        hi = np.maximum(
            np.maximum(bk.div_up(a.lo, b.lo), bk.div_up(a.lo, b.hi)),
            np.maximum(bk.div_up(a.hi, b.lo), bk.div_up(a.hi, b.hi)),
        )
        zero = b.contains_zero()
        if np.any(zero):
            shape = np.broadcast_shapes(np.shape(lo), np.shape(zero))
            lo = np.where(zero, bk.full(shape, -_INF), lo)
            hi = np.where(zero, bk.full(shape, _INF), hi)
        return self._new(lo, hi)

    def sqr(self):
        """x**2 (tighter than x * x: the two factors are the same number)."""
        bk = self.bk
        mig, mag = self.mig(), self.mag()
        return self._new(bk.mul_dn(mig, mig), bk.mul_up(mag, mag))

    def pow_int(self, n):
        """x**n for an integer n (n < 0: 1 / x**|n|, infinite where 0 is inside)."""
        n = int(n)
        if n < 0:
            return Interval.ones_like(self) / self.pow_int(-n)
        if n == 0:
            return Interval.ones_like(self)
        if n == 1:
            return self
        bk = self.bk
        if n % 2 == 0:
            lo = _pow_pos(bk, self.mig(), n, -1)
            hi = _pow_pos(bk, self.mag(), n, +1)
            return self._new(lo, hi)
        # odd: monotone increasing; x**n = sign(x) |x|**n
        def odd(v, direction):
            neg = _lt(v, 0)
            a = bk.abs(v)
            pos_part = _pow_pos(bk, a, n, direction)
            neg_part = bk.neg(_pow_pos(bk, a, n, -direction))
            return np.where(neg, neg_part, pos_part)

        return self._new(odd(self.lo, -1), odd(self.hi, +1))

    @classmethod
    def ones_like(cls, x):
        o = x.bk.full(x.shape, 1)
        return cls(o, o, x.bk)

    def recip(self):
        return Interval.ones_like(self) / self

    def scale(self, c):
        """Multiply by a Python float/int ``c`` (exactly representable)."""
        bk = self.bk
        cv = bk.full((), c) if bk.is_mp else np.float64(c)
        return Interval(cv, cv, bk) * self

    # -- shapes --------------------------------------------------------------------------
    def reshape(self, shape):
        return self._apply(lambda a: np.reshape(a, shape))

    def transpose(self, axes=None):
        return self._apply(lambda a: np.transpose(a, axes))

    def __getitem__(self, index):
        return self._apply(lambda a: a[index])

    def broadcast_to(self, shape):
        return self._apply(lambda a: np.broadcast_to(a, shape))

    def _apply(self, fn):
        lo = fn(self.lo)
        hi = lo if self.is_point else fn(self.hi)
        return self._new(lo, hi)

    @staticmethod
    def concatenate(items, axis=0):
        bk = items[0].bk
        return Interval(
            np.concatenate([i.lo for i in items], axis=axis),
            np.concatenate([i.hi for i in items], axis=axis),
            bk,
        )

    @staticmethod
    def where(cond, a, b):
        return Interval(np.where(cond, a.lo, b.lo), np.where(cond, a.hi, b.hi), a.bk)

    # -- reductions and contractions ----------------------------------------------------------
    def sum(self, axis=None, keepdims=False):
        """Sum over ``axis`` with a rigorous rounding-error bound."""
        bk = self.bk
        shape = self.shape
        axes = _axes(axis, len(shape))
        n = 1
        for a in axes:
            n *= shape[a]
        if n == 0:
            out_shape = np.sum(np.empty(shape, dtype=np.int8), axis=axes, keepdims=keepdims).shape
            return Interval.zeros(out_shape, bk)
        if bk.is_mp:
            lo, hi = self.lo, self.hi
            for a in sorted(axes, reverse=True):
                lo = _mp_reduce(bk.add_dn, lo, a)
                hi = _mp_reduce(bk.add_up, hi, a)
            if keepdims:
                for a in sorted(axes):
                    lo = np.expand_dims(lo, a)
                    hi = np.expand_dims(hi, a)
            return Interval(np.asarray(lo, dtype=object), np.asarray(hi, dtype=object), bk)
        if n == 1:
            return self._new(np.sum(self.lo, axis=axes, keepdims=keepdims),
                             np.sum(self.hi, axis=axes, keepdims=keepdims))
        g = gamma_bound(n)
        with np.errstate(all="ignore"):
            slo = np.sum(self.lo, axis=axes, keepdims=keepdims)
            shi = np.sum(self.hi, axis=axes, keepdims=keepdims)
            elo = np.nextafter(g * np.sum(np.abs(self.lo), axis=axes, keepdims=keepdims), _INF)
            ehi = np.nextafter(g * np.sum(np.abs(self.hi), axis=axes, keepdims=keepdims), _INF)
            lo = np.nextafter(slo - elo, -_INF)
            hi = np.nextafter(shi + ehi, _INF)
            lo = np.where(np.isnan(lo), -_INF, lo)
            hi = np.where(np.isnan(hi), _INF, hi)
        return self._new(lo, hi)

    @staticmethod
    def einsum(spec, a, b):
        """Two-operand ``einsum`` in explicit form (``'ij,jk->ik'``, no
        ellipsis, no repeated letter within one operand), rigorously."""
        ins, out = spec.split("->")
        ta, tb = ins.split(",")
        for t in (ta, tb):
            if len(set(t)) != len(t):
                raise ValueError(f"Interval.einsum: repeated index in '{t}' is not supported")
        sizes = {}
        for t, s in ((ta, a.shape), (tb, b.shape)):
            if len(t) != len(s):
                raise ValueError(f"Interval.einsum: term '{t}' does not match shape {s}")
            for c, k in zip(t, s):
                if sizes.get(c, k) != k:
                    raise ValueError(f"Interval.einsum: index '{c}' has sizes {sizes[c]} and {k}")
                sizes[c] = k
        contracted = [c for c in sizes if c not in out]
        n = 1
        for c in contracted:
            n *= sizes[c]
        bk = a.bk
        if (
            not bk.is_mp
            and n > 0
            and np.all(np.isfinite(a.lo)) and np.all(np.isfinite(a.hi))
            and np.all(np.isfinite(b.lo)) and np.all(np.isfinite(b.hi))
        ):
            return _einsum_midrad(spec, a, b, max(n, 1))
        return _einsum_expand(ta, tb, out, sizes, a, b)


def _einsum_midrad(spec, a, b, n):
    """Midpoint-radius product through BLAS (float backend, finite inputs)."""
    def midrad(x):
        if x.is_point:
            return x.lo, None
        with np.errstate(over="ignore"):
            m = 0.5 * x.lo + 0.5 * x.hi
        r = np.maximum(np.nextafter(m - x.lo, _INF), np.nextafter(x.hi - m, _INF))
        return m, r

    ma, ra = midrad(a)
    mb, rb = midrad(b)
    opt = True
    with np.errstate(all="ignore"):
        cm = np.einsum(spec, ma, mb, optimize=opt)
        g = gamma_bound(n + 2)
        amA, amB = np.abs(ma), np.abs(mb)
        err = np.einsum(spec, amA, amB, optimize=opt) * g
        rad = 0.0
        if rb is not None:
            rad = rad + np.einsum(spec, amA, rb, optimize=opt)
        if ra is not None:
            bb = amB if rb is None else np.nextafter(amB + rb, _INF)
            rad = rad + np.einsum(spec, ra, bb, optimize=opt)
        total = np.nextafter((rad + err) * (1.0 + 2.0 * g) + (3 * n) * 2.0 ** -1021, _INF)
        lo = np.nextafter(cm - total, -_INF)
        hi = np.nextafter(cm + total, _INF)
        lo = np.where(np.isnan(lo), -_INF, lo)
        hi = np.where(np.isnan(hi), _INF, hi)
    return Interval(lo, hi, a.bk)


def _einsum_expand(ta, tb, out, sizes, a, b):
    """Element-wise products over the joint index space, then interval sums."""
    letters = list(out) + [c for c in sizes if c not in out]

    def place(x, term):
        order = [c for c in letters if c in term]
        perm = [term.index(c) for c in order]
        x = x.transpose(perm) if perm != list(range(len(perm))) else x
        shape = tuple(sizes[c] if c in term else 1 for c in letters)
        return x.reshape(shape)

    prod = place(a, ta) * place(b, tb)
    full = tuple(sizes[c] for c in letters)
    if prod.shape != full:
        prod = prod.broadcast_to(full)
    k = len(out)
    if len(letters) > k:
        prod = prod.sum(axis=tuple(range(k, len(letters))))
    return prod


def _mp_reduce(op, arr, axis):
    arr = np.asarray(arr, dtype=object)
    arr = np.moveaxis(arr, axis, 0)
    acc = arr[0]
    for i in range(1, arr.shape[0]):
        acc = op(acc, arr[i])
    return np.asarray(acc, dtype=object)


def _pow_pos(bk, a, n, direction):
    """a**n for a >= 0 rounded in ``direction`` by repeated squaring."""
    result = None
    base = a
    mul = bk.mul_up if direction > 0 else bk.mul_dn
    while n:
        if n & 1:
            result = base if result is None else mul(result, base)
        n >>= 1
        if n:
            base = mul(base, base)
    return result


def _axes(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (int, np.integer)):
        axis = (axis,)
    return tuple(sorted({int(a) % ndim for a in axis})) if ndim else ()


def _le(a, b):
    return np.less_equal(a, b)


def _lt(a, b):
    return np.less(a, b)


def _gt(a, b):
    return np.greater(a, b)


_ = FloatBackend
