"""Taylor enclosures: polynomials in ``z = x - x0`` with a remainder term.

A :class:`TM` of degree ``d`` encloses an array-valued function ``g`` of the
input ``x`` over a box ``x0 + Z`` (the trust region) in the form of AutoBound
(Streeter & Dillon 2022)::

    g(x) = sum_{i<=d} <c_i, z^(i)> + <r(x), z^(d+1)>,   r(x) in R,

where ``z^(i)`` is the i-fold tensor power of ``z``, the coefficients
``c_i`` are *fixed* tensors (the Taylor coefficients ``g^(i)(x0)/i!`` where
``g`` is ``d`` times differentiable at ``x0``; one-sided where ``x0`` lies on
the boundary of the box) known to lie in the interval tensors ``C_i``, and
``R`` is an interval tensor.  ``d = -1`` is plain interval arithmetic: ``R``
is the range.  Every TM also carries ``rng``, an enclosure of the range of
``g`` over the box, the intersection of the natural interval extension with
the range of the polynomial form ("narrowing the inner ranges", so that
compositions do not blow up).

Storage: a coefficient of order ``i`` is an :class:`Interval` of shape
``S + (B, n**i)`` where ``S`` is the shape the user's function sees, ``B``
the number of boxes processed together (a batch, used by
:func:`nnopt.bounds.global_minimize` and :func:`nnopt.bounds.integrate`) and
``n`` the input dimension; ``None`` stands for an exact zero.  The trailing
axis holds the tensor in C order, so the outer product of orders ``i`` and
``j`` is a reshape of a broadcast product and a contraction with ``z`` sums
the last ``n`` block.

Arithmetic follows the fixed-coefficient semantics: a product
``a b = AB + rho_a b + A rho_b`` (``A`` the polynomial part, ``rho_a`` the
remainder term) keeps the terms of order ``<= d`` of ``AB`` as coefficients
and contracts the higher ones with ``Z`` into the remainder; an elementary
function is composed as ``phi(c_0 + D) = sum_j phi_j(c_0) D^j + R_phi D^(d+1)``
with ``R_phi`` the sharp enclosure of :mod:`nnopt.bounds.functions` over the
range of the argument, and ``D^(d+1) = <S^(d+1), z^(d+1)>`` from the slope
``S`` of ``D``.  Non-smooth operations (relu, abs, max, where, sign) keep the
degree when the switch cannot happen near ``x0`` (their argument is non-zero
at ``x0``): a switch at distance ``||z||_1 >= delta`` contributes a term
``q(x) = sigma ||z||_1^(d+1)`` with a bounded ``sigma``; otherwise the degree
is lowered (to a slope form, or to a plain interval for jumps).
"""
from __future__ import annotations

import numpy as np

from .interval import BoundsError, Interval

__all__ = ["Context", "TM"]


class Context:
    """The box shared by every TM of one interpretation.

    Parameters
    ----------
    Z : Interval of shape (B, n)
        ``x - x0`` ranges over ``Z`` (one row per box).
    degree : int
        Degree of the enclosures (-1: plain intervals).
    """

    def __init__(self, Z, degree, bk, box=None):
        if Z.ndim != 2:
            raise ValueError("Context: Z must have shape (B, n)")
        self.Z = Z
        self.box = box  # the exact input box x0 + Z (Interval (B, n)) where known
        self.B, self.n = Z.shape
        self.degree = int(degree)
        self.bk = bk
        self._zlast = Z.reshape((self.B, 1, self.n))
        mag = Interval(Z.mag(), Z.mag(), bk)
        self.tmax = mag.sum(axis=1, keepdims=True).hi  # max ||z||_1, shape (B, 1)
        self._sign = {}

    def contract(self, T, times=1):
        """Contract the last tensor axis of ``T`` (shape ``S + (B, n**m)``) with Z."""
        n = self.n
        for _ in range(times):
            t = T.shape[-1]
            if n == 1:
                T = T * self.Z  # (B, 1) broadcasts against (..., B, 1)
            else:
                shp = T.shape[:-1] + (t // n, n)
                T = (T.reshape(shp) * self._zlast).sum(axis=-1)
        return T

    def sign_tensor(self, m):
        """Interval tensor (B, n**m) holding every product u_1...u_m, u = sign(z)."""
        if m in self._sign:
            return self._sign[m]
        bk = self.bk
        Z = self.Z
        one = bk.full(Z.shape, 1)
        mone = bk.neg(one)
        lo = np.where(np.less(Z.lo, 0), mone, one)   # u = -1 possible where z < 0 possible
        hi = np.where(np.greater(Z.hi, 0) | ~np.less(Z.lo, 0), one, mone)
        u = Interval(lo, hi, bk)
        out = Interval(bk.full((self.B, 1), 1), bk.full((self.B, 1), 1), bk)
        for _ in range(m):
            out = _outer(out, u)
        self._sign[m] = out
        return out


def _outer(a, b):
    """Outer product over the trailing tensor axis: (.., s) x (.., t) -> (.., s*t)."""
    s, t = a.shape[-1], b.shape[-1]
    if s == 1 or t == 1:
        return a * b
    p = a.reshape(a.shape[:-1] + (s, 1)) * b.reshape(b.shape[:-1] + (1, t))
    return p.reshape(p.shape[:-2] + (s * t,))


def _add(a, b):
    if a is None:
        return b
    if b is None:
        return a
    return a + b


def _sum_terms(terms):
    out = None
    for t in terms:
        out = _add(out, t)
    return out


def _shape_of(x):
    return x.shape


class TM:
    """A Taylor enclosure (see the module docstring)."""

    __slots__ = ("ctx", "coeffs", "rem", "rng", "shape")

    def __init__(self, ctx, coeffs, rem, rng, shape):
        self.ctx = ctx
        self.coeffs = list(coeffs)
        self.rem = rem
        self.rng = rng
        self.shape = tuple(shape)

    @property
    def degree(self):
        return len(self.coeffs) - 1

    @property
    def bk(self):
        return self.ctx.bk

    def __repr__(self):
        return f"TM(shape={self.shape}, degree={self.degree})"

    # -- construction ---------------------------------------------------------------
    @classmethod
    def const(cls, ctx, value, degree=None):
        """The constant function ``value`` (any real array) at ``degree``."""
        d = ctx.degree if degree is None else degree
        I = value if isinstance(value, Interval) else Interval.point(value, ctx.bk)
        S = I.shape
        c0 = I.reshape(S + (1, 1))
        if d < 0:
            return cls(ctx, [], c0, c0, S)
        return cls(ctx, [c0] + [None] * d, None, c0, S)

    @classmethod
    def variable(cls, ctx, x0):
        """The input ``x = x0 + z`` (x0: Interval of shape (B, n) or (1, n))."""
        B, n = ctx.B, ctx.n
        d = ctx.degree
        x0 = x0.broadcast_to((B, n))
        S = (n,)
        xT = x0.transpose((1, 0)).reshape((n, B, 1))  # S + (B, 1)
        Z = ctx.Z.transpose((1, 0)).reshape((n, B, 1))
        rng = xT + Z
        if ctx.box is not None:  # the box itself is exact (x0 + Z is rounded outward)
            bx = ctx.box.broadcast_to((B, n)).transpose((1, 0)).reshape((n, B, 1))
            rng = Interval(np.maximum(rng.lo, bx.lo), np.minimum(rng.hi, bx.hi), ctx.bk)
        if d < 0:
            return cls(ctx, [], rng, rng, S)
        bk = ctx.bk
        eye = np.eye(n).reshape(n, 1, n)
        if bk.is_mp:
            eye = bk.asarray(eye)
        eye = np.broadcast_to(eye, (n, B, n))
        c1 = Interval(eye, eye, bk)
        if d == 0:
            return cls(ctx, [xT], c1, rng, S)
        return cls(ctx, [xT, c1] + [None] * (d - 1), None, rng, S)

    # -- views -----------------------------------------------------------------------
    def poly_range(self, with_rem=True, coeffs=None, rem=None):
        """Range of the polynomial form over the box (Horner), shape S + (B, 1)."""
        ctx = self.ctx
        coeffs = self.coeffs if coeffs is None else coeffs
        rem = (self.rem if with_rem else None) if rem is None else rem
        if ctx.n == 1 and len(coeffs) >= 1:
            return _horner_split(ctx, coeffs, rem, self.shape)
        v = rem
        for c in reversed(coeffs):
            if v is not None:
                v = ctx.contract(v)
            v = _add(c, v)
        if v is None:
            return Interval.zeros(self.shape + (1, 1), self.bk)
        return v

    def c0(self):
        c = self.coeffs[0]
        if c is None:
            return Interval.zeros(self.shape + (1, 1), self.bk)
        return c

    def truncate(self, d):
        """The same function as a TM of lower degree ``d`` (-1: plain interval)."""
        if d >= self.degree:
            return self
        ctx = self.ctx
        if d < 0:
            return TM(ctx, [], self.rng, self.rng, self.shape)
        # sum_{i>d} <c_i, z^i> + <R, z^(D+1)> = <new R, z^(d+1)>
        v = self.rem
        for i in range(self.degree, d, -1):
            if v is not None:
                v = ctx.contract(v)
            v = _add(self.coeffs[i], v)
        return TM(ctx, self.coeffs[: d + 1], v, self.rng, self.shape)

    def slope(self):
        """Interval tensor S (shape S + (B, n)) with g(x) - c_0 = <s(x), z>, s in S."""
        t = TM(self.ctx, [None] + self.coeffs[1:], self.rem, self.rng, self.shape)
        r = t.truncate(0).rem
        if r is None:
            return Interval.zeros(self.shape + (1, self.ctx.n), self.bk)
        return r

    def with_rng(self, rng):
        return TM(self.ctx, self.coeffs, self.rem, rng, self.shape)

    def _finish(self, rng_natural=None):
        """Set ``rng`` to natural range intersected with the polynomial range."""
        pr = self.poly_range()
        if rng_natural is not None:
            pr = _intersect(pr, rng_natural)
        self.rng = pr
        return self

    # -- shape ops (linear, applied to every tensor) --------------------------------------
    def map_tensors(self, fn, shape):
        def f(t):
            return None if t is None else fn(t)

        return TM(self.ctx, [f(c) for c in self.coeffs], f(self.rem), fn(self.rng), shape)


def _intersect(a, b):
    lo = np.maximum(a.lo, b.lo)
    hi = np.minimum(a.hi, b.hi)
    bad = np.greater(lo, hi)
    if np.any(bad):
        raise BoundsError(
            "nnopt.bounds internal error: two enclosures of the same value are disjoint "
            "(please report this with the function that produced it)"
        )
    return Interval(lo, hi, a.bk)


def _horner_split(ctx, coeffs, rem, S):
    """1-D Horner evaluated separately on z >= 0 and z <= 0 (0 is in Z: the hull
    of both halves encloses the range)."""
    bk = ctx.bk
    Z = ctx.Z  # (B, 1)
    zero = bk.zeros(Z.shape)
    parts = []
    for Zs in (Interval(np.maximum(Z.lo, zero), np.maximum(Z.hi, zero), bk),
               Interval(np.minimum(Z.lo, zero), np.minimum(Z.hi, zero), bk)):
        v = rem
        for c in reversed(coeffs):
            if v is not None:
                v = v * Zs
            v = _add(c, v)
        if v is None:
            return Interval.zeros(S + (1, 1), bk)
        parts.append(v)
    return parts[0].hull(parts[1])


# ---------------------------------------------------------------------------
# arithmetic
# ---------------------------------------------------------------------------


def align(a, b):
    """Bring two TMs to a common degree."""
    d = min(a.degree, b.degree)
    return a.truncate(d), b.truncate(d)


def _bshape(*shapes):
    return np.broadcast_shapes(*shapes)


def add(a, b, sign=1):
    """a + b (or a - b with sign=-1) for two TMs."""
    a, b = align(a, b)
    S = _bshape(a.shape, b.shape)
    if sign < 0:
        b = neg(b)
    coeffs = [_add(x, y) for x, y in zip(a.coeffs, b.coeffs)]
    rem = _add(a.rem, b.rem)
    t = TM(a.ctx, coeffs, rem, None, S)
    return t._finish(a.rng + b.rng)


def neg(a):
    return a.map_tensors(lambda t: -t, a.shape)


def _bt(t, S):
    """Broadcast a tensor (shape S' + (B, T)) to S + (B, T)."""
    if t is None or t.shape[:-2] == S:
        return t
    return t.broadcast_to(S + t.shape[-2:])


def add_c0(a, c):
    """a + c for an interval c of tensor shape S' + (B or 1, 1) (fixed values)."""
    S = _bshape(a.shape, c.shape[:-2])
    if a.degree < 0:
        r = a.rem + c
        return TM(a.ctx, [], r, r, S)
    coeffs = [_add(a.coeffs[0], c)] + [_bt(x, S) for x in a.coeffs[1:]]
    t = TM(a.ctx, coeffs, _bt(a.rem, S), None, S)
    return t._finish(a.rng + c)


def add_const(a, c):
    """a + c for a constant Interval c of user shape (broadcastable with a.shape)."""
    return add_c0(a, c.reshape(c.shape + (1, 1)))


def mul_c0(a, cc):
    """a * c for an interval c of tensor shape S' + (B or 1, 1) (fixed values)."""
    S = _bshape(a.shape, cc.shape[:-2])
    t = TM(a.ctx, [None if x is None else x * cc for x in a.coeffs],
           None if a.rem is None else a.rem * cc, a.rng * cc, S)
    if t.degree >= 0:
        t._finish(a.rng * cc)
    return t


def mul_const(a, c):
    """a * c for a constant Interval c of user shape."""
    return mul_c0(a, c.reshape(c.shape + (1, 1)))


def mul(a, b):
    """Product of two TMs (fixed-coefficient semantics, see module docstring)."""
    if a is b:
        return square(a)
    a, b = align(a, b)
    ctx = a.ctx
    S = _bshape(a.shape, b.shape)
    d = a.degree
    if d < 0:
        r = a.rem * b.rem
        return TM(ctx, [], r, r, S)
    coeffs = [None] * (d + 1)
    high = None
    for i, ai in enumerate(a.coeffs):
        if ai is None:
            continue
        for j, bj in enumerate(b.coeffs):
            if bj is None:
                continue
            p = _outer(ai, bj)
            m = i + j
            if m <= d:
                coeffs[m] = _add(coeffs[m], p)
            else:
                high = _add(high, ctx.contract(p, m - d - 1))
    rem = high
    if a.rem is not None:
        rem = _add(rem, a.rem * b.rng)
    if b.rem is not None:
        A = a.poly_range(with_rem=False)
        rem = _add(rem, A * b.rem)
    t = TM(ctx, coeffs, rem, None, S)
    return t._finish(a.rng * b.rng)


def square(a):
    ctx = a.ctx
    S = a.shape
    d = a.degree
    if d < 0:
        r = a.rem.sqr()
        return TM(ctx, [], r, r, S)
    coeffs = [None] * (d + 1)
    high = None
    n1 = ctx.n == 1
    for i, ai in enumerate(a.coeffs):
        if ai is None:
            continue
        for j in range(i, d + 1):
            aj = a.coeffs[j]
            if aj is None:
                continue
            if i == j:
                p = ai.sqr() if n1 else _outer(ai, ai)
            elif n1:
                p = (ai * aj).scale(2)
            else:
                p = _outer(ai, aj) + _outer(aj, ai)
            m = i + j
            if m <= d:
                coeffs[m] = _add(coeffs[m], p)
            else:
                high = _add(high, ctx.contract(p, m - d - 1))
    rem = high
    if a.rem is not None:
        # a^2 = A^2 + rho (A + a)
        A = a.poly_range(with_rem=False)
        rem = _add(rem, a.rem * (A + a.rng))
    t = TM(ctx, coeffs, rem, None, S)
    return t._finish(a.rng.sqr())


def _outer_power(Sl, m):
    out = Sl
    for _ in range(m - 1):
        out = _outer(out, Sl)
    return out


def compose(phi, a):
    """phi(a) for an elementary function (facts in :mod:`.functions`)."""
    ctx = a.ctx
    d = a.degree
    phi.check_domain(a.rng)
    img = phi.image(a.rng)
    if d < 0:
        return TM(ctx, [], img, img, a.shape)
    c0 = a.c0()
    if c0.shape != a.rng.shape:
        c0 = c0.broadcast_to(a.rng.shape)
    Y = a.rng.hull(c0)
    coef = phi.series(c0, d)
    R = phi.remainder(c0, Y, d)
    delta = TM(ctx, [None] + a.coeffs[1:], a.rem, a.rng - c0, a.shape)
    # remainder term R * D^(d+1) = <R S^(d+1), z^(d+1)>
    Sl = delta.slope()
    if ctx.n == 1:
        E = Sl.pow_int(d + 1) * R
    else:
        E = _outer_power(Sl, d + 1) * R
    P = TM(ctx, [coef[d]] + [None] * d, None, coef[d], coef[d].shape[:-2])
    for j in range(d - 1, -1, -1):
        P = mul(delta, P)
        P = add_c0(P, coef[j])
    S = a.shape
    rem = _add(P.rem, E)
    t = TM(ctx, P.coeffs, rem, None, S)
    return t._finish(img)


# ---------------------------------------------------------------------------
# non-smooth operations
# ---------------------------------------------------------------------------


def _switch_geometry(h):
    """(|h0| lower bound, Gmax, delta) for the switch analysis of h around x0.

    With g(x) - h0 = <s(x), z>, |g(x) - h0| <= Gmax ||z||_1, so the sign of g
    cannot change while ||z||_1 < delta = |h0| / Gmax.
    """
    ctx = h.ctx
    bk = ctx.bk
    c0 = h.c0()
    Sl = h.slope()
    if ctx.n == 1:
        gmax = Sl.mag()
    else:
        gmax = np.max(Sl.mag(), axis=-1, keepdims=True)
    h0 = c0.mig()
    return h0, gmax, _dist(bk, h0, gmax)


def _dist(bk, h0, gmax):
    with np.errstate(all="ignore"):
        dist = bk.div_dn(h0, gmax)  # gmax = 0 -> inf (no switch); 0/0 guarded
    dist = np.where(bk.isnan(dist), bk.zeros(np.shape(dist)), dist)
    return np.maximum(dist, bk.zeros(np.shape(dist)))


def _phi_bound(bk, gmax, h0, dist, tmax, d):
    """Upper bound of max_{t in [dist, tmax]} (G t - h0) / t^(d+1), >= 0."""
    m = d + 1
    Tm = Interval(tmax, tmax, bk)
    G = Interval(gmax, gmax, bk)
    H0 = Interval(h0, h0, bk)
    zero = bk.zeros(np.broadcast_shapes(np.shape(gmax), np.shape(tmax), np.shape(h0)))
    with np.errstate(all="ignore"):
        T = Interval(np.minimum(dist, tmax), tmax, bk)
        b = ((G * T - H0) / T.pow_int(m)).hi  # naive, always valid
        if d == 0:
            c = (G - H0 / Tm).hi  # increasing in t
        else:
            # global maximum over t > 0: G^m d^d / (m^m h0^d), at t* = m h0 / (d G)
            c = (G.pow_int(m).scale(d ** d) / H0.pow_int(d).scale(m ** m)).hi
            tstar = (H0.scale(m) / G.scale(d)).lo
            cinc = (G / Tm.pow_int(d) - H0 / Tm.pow_int(m)).hi
            c = np.where(np.greater_equal(tstar, tmax), np.minimum(c, cinc), c)
    out = np.minimum(b, c)
    out = np.where(bk.isnan(out), bk.full(np.shape(out), np.inf), out)
    out = np.maximum(out, zero)
    return np.where(np.greater_equal(dist, tmax), zero, out)


def _div_by_lower(bk, num, den):
    """An upper bound of num / t for every t >= den, for num >= 0 (inf when
    the lower bound den is not positive: it may have underflowed to 0)."""
    with np.errstate(all="ignore"):
        q = bk.div_up(num, den)
    shape = np.broadcast_shapes(np.shape(q), np.shape(den))
    inf = bk.full(shape, np.inf)
    q = np.where(bk.isnan(q), inf, q)
    return np.where(np.greater(den, 0), q, inf)


def _poly_on(coeffs, rem, Zs, S, bk):
    """Range of sum_i c_i z^i + R z^(len(coeffs)) over z in Zs (n == 1)."""
    v = rem
    for c in reversed(coeffs):
        if v is not None:
            v = v * Zs
        v = _add(c, v)
    if v is None:
        return Interval.zeros(S + (1, 1), bk)
    return v


def _sides(ctx):
    """The two halves of Z (n == 1): (+1, [0, zr]) and (-1, [zl, 0])."""
    bk = ctx.bk
    Z = ctx.Z
    zero = bk.zeros(Z.shape)
    return ((1, Interval(zero, np.maximum(Z.hi, zero), bk)),
            (-1, Interval(np.minimum(Z.lo, zero), zero, bk)))


def _part(bk, sgn, dist, T):
    """[dist, T] (sgn > 0) or [-T, -dist], clamped so that lo <= hi."""
    d = np.minimum(dist, T)
    if sgn > 0:
        return Interval(np.broadcast_to(d, np.broadcast_shapes(np.shape(d), np.shape(T))),
                        np.broadcast_to(T, np.broadcast_shapes(np.shape(d), np.shape(T))), bk)
    lo = bk.neg(T)
    hi = bk.neg(d)
    shp = np.broadcast_shapes(np.shape(lo), np.shape(hi))
    return Interval(np.broadcast_to(lo, shp), np.broadcast_to(hi, shp), bk)


def _relu_q(h, c0_pos):
    """Enclosure tensor Q with q = relu(-h) (where c0 > 0) or relu(h) (c0 < 0)
    equal to <r, z^(d+1)>, r in Q; q >= 0 and q = 0 near x0."""
    ctx = h.ctx
    bk = ctx.bk
    d = h.degree
    m = d + 1
    S = h.shape
    c0 = h.c0()
    h0 = c0.mig()
    if ctx.n == 1:
        out = None
        for sgn, Zs in _sides(ctx):
            T = Zs.mag()
            G = _poly_on(h.coeffs[1:], h.rem, Zs, S, bk).mag()
            dist = _dist(bk, h0, G)
            present = np.less(dist, T)
            hp = _poly_on(h.coeffs, h.rem, _part(bk, sgn, dist, T), S, bk)
            zero = bk.zeros(np.shape(hp.lo))
            qmax = np.where(c0_pos, np.maximum(bk.neg(hp.lo), zero), np.maximum(hp.hi, zero))
            a = _div_by_lower(bk, qmax, Interval(dist, dist, bk).pow_int(m).lo)
            sig = np.minimum(a, _phi_bound(bk, G, h0, dist, T, d))
            sig = np.where(present, sig, bk.zeros(np.shape(sig)))
            zs = bk.zeros(np.shape(sig))
            side = Interval(zs, sig, bk) if (sgn > 0 or m % 2 == 0) else Interval(bk.neg(sig), zs, bk)
            out = side if out is None else out.hull(side)
        return out
    h0, gmax, dist = _switch_geometry(h)
    negh = Interval(bk.neg(h.rng.hi), bk.neg(h.rng.lo), bk)
    zero = bk.zeros(h.rng.shape)
    qmax = np.where(c0_pos, np.maximum(negh.hi, zero), np.maximum(h.rng.hi, zero))
    a = _div_by_lower(bk, qmax, Interval(dist, dist, bk).pow_int(m).lo)
    sig = np.minimum(a, _phi_bound(bk, gmax, h0, dist, ctx.tmax, d))
    U = ctx.sign_tensor(m)
    return Interval(bk.zeros(np.shape(sig)), sig, bk) * U


def _where_q(h, w):
    """Enclosure tensor Q for q = s w (or (1 - s) w), s the indicator of a switch
    of h away from its sign at x0: q in hull(0, w) and q = 0 near x0."""
    ctx = h.ctx
    bk = ctx.bk
    d = h.degree
    m = d + 1
    _bshape(h.shape, w.shape)  # h and w must broadcast
    c0 = h.c0()
    h0 = c0.mig()
    if ctx.n == 1:
        out = None
        for sgn, Zs in _sides(ctx):
            T = Zs.mag()
            G = _poly_on(h.coeffs[1:], h.rem, Zs, h.shape, bk).mag()
            dist = _dist(bk, h0, G)
            present = np.less(dist, T)
            Zp = _part(bk, sgn, dist, T)
            hp = _poly_on(h.coeffs, h.rem, Zp, h.shape, bk)
            c0p = np.greater(c0.lo, 0)
            present = present & np.where(c0p, np.less_equal(hp.lo, 0), np.greater_equal(hp.hi, 0))
            wp = _poly_on(w.coeffs, w.rem, Zp, w.shape, bk)
            zero = bk.zeros(np.shape(wp.lo))
            hull0 = Interval(np.minimum(wp.lo, zero), np.maximum(wp.hi, zero), bk)
            with np.errstate(all="ignore"):
                q = hull0 / Zp.pow_int(m)
            zq = bk.zeros(np.broadcast_shapes(np.shape(q.lo), np.shape(present)))
            side = Interval(np.where(present, q.lo, zq), np.where(present, q.hi, zq), bk)
            out = side if out is None else out.hull(side)
        return out
    h0, gmax, dist = _switch_geometry(h)
    wmag = w.rng.mag()
    M = _div_by_lower(bk, wmag, Interval(dist, dist, bk).pow_int(m).lo)
    M = np.where(np.greater_equal(dist, ctx.tmax), bk.zeros(np.shape(M)), M)
    return Interval(bk.neg(M), M, bk) * ctx.sign_tensor(m)


def _select(mask, a, b):
    """Element-wise choice between two TMs; ``mask`` has shape S' + (B or 1,)."""
    a, b = align(a, b)
    mask = np.asarray(mask, dtype=bool)
    S = _bshape(a.shape, b.shape, mask.shape[:-1])
    mk = mask.reshape(mask.shape + (1,))

    def sel(x, y):
        if x is None and y is None:
            return None
        if x is None:
            x = Interval.zeros((1,) * len(y.shape), y.bk)
        if y is None:
            y = Interval.zeros((1,) * len(x.shape), x.bk)
        return Interval.where(mk, x, y)

    coeffs = [sel(x, y) for x, y in zip(a.coeffs, b.coeffs)]
    rem = sel(a.rem, b.rem)
    rng = Interval.where(mk, a.rng, b.rng)
    return TM(a.ctx, coeffs, rem, rng, S)


def relu(h):
    """max(h, 0) (see the module docstring for the switch analysis)."""
    ctx = h.ctx
    bk = ctx.bk
    S = h.shape
    zero_tm = TM.const(ctx, Interval.zeros(S, bk), max(h.degree, -1))
    pos = np.reshape(np.greater_equal(h.rng.lo, 0), h.rng.shape[:-1])
    negm = np.reshape(np.less_equal(h.rng.hi, 0), h.rng.shape[:-1])
    zrng = Interval(np.maximum(h.rng.lo, bk.zeros(h.rng.shape)), np.maximum(h.rng.hi, bk.zeros(h.rng.shape)), bk)
    if h.degree < 0:
        return TM(ctx, [], zrng, zrng, S)
    if np.all(pos | negm):
        return _select(pos, h, zero_tm.truncate(h.degree)) if not np.all(pos) else h
    c0 = h.c0()
    c0_pos = np.greater(c0.lo, 0)
    c0_neg = np.less(c0.hi, 0)
    undecided_x0 = ~(c0_pos | c0_neg)
    if h.degree >= 1 and np.any(undecided_x0 & ~_expand(pos | negm, c0.shape)):
        return relu(h.truncate(0))
    d = h.degree
    if d == 0 and np.any(undecided_x0):
        # slope form: relu(g) - relu(g0) = mu (g - g0), mu in [0, 1]
        Sl = h.slope()
        zero = bk.zeros(Sl.shape)
        remu = Interval(np.minimum(Sl.lo, zero), np.maximum(Sl.hi, zero), bk)
        c0r = Interval(np.maximum(c0.lo, bk.zeros(c0.shape)), np.maximum(c0.hi, bk.zeros(c0.shape)), bk)
        slope_tm = TM(ctx, [c0r], remu, zrng, S)
    else:
        slope_tm = None
    # c0 > 0: relu(g) = g + relu(-g);  c0 < 0: relu(g) = relu(g)  (q term only)
    Q = _relu_q(h, c0_pos)
    above = TM(ctx, h.coeffs, _add(h.rem, Q), zrng, S)
    below = TM(ctx, [None] * (d + 1), Q, zrng, S)
    out = _select(np.reshape(c0_pos, c0.shape[:-1]), above, below)
    if slope_tm is not None:
        out = _select(np.reshape(undecided_x0, c0.shape[:-1]), slope_tm, out)
    out = _select(negm, zero_tm.truncate(out.degree), out)
    out = _select(pos, h.truncate(out.degree), out)
    return out._finish(zrng)


def _expand(mask, shape):
    """A mask over S (or S + (B,)) broadcast to S + (B, 1)."""
    m = np.asarray(mask)
    if m.ndim == len(shape) - 1:
        return m.reshape(m.shape + (1,))
    return m.reshape(m.shape + (1, 1))


def abs_(h):
    """|h| = h + 2 relu(-h) = -h + 2 relu(h)."""
    r = relu(h)
    rn = relu(neg(h))
    t = add(r, rn)
    bk = h.bk
    a = h.rng.mag()
    natural = Interval(h.rng.mig(), a, bk)
    return t._finish(natural)


def maximum(a, b):
    """max(a, b) = b + relu(a - b)."""
    diff = add(a, b, sign=-1)
    out = add(b, relu(diff))
    bk = a.bk
    nat = Interval(np.maximum(a.rng.lo, b.rng.lo), np.maximum(a.rng.hi, b.rng.hi), bk)
    return out._finish(nat)


def minimum(a, b):
    """min(a, b) = a - relu(a - b)."""
    diff = add(a, b, sign=-1)
    out = add(a, relu(diff), sign=-1)
    bk = a.bk
    nat = Interval(np.minimum(a.rng.lo, b.rng.lo), np.minimum(a.rng.hi, b.rng.hi), bk)
    return out._finish(nat)


def elu(h, alpha, expm1):
    """elu(h) = relu(h) + alpha expm1(-relu(-h)) (exact: -relu(-h) = min(h, 0)).

    ``alpha`` is a constant Interval of user shape, ``expm1`` the elementary
    function.  Where h does not change sign over the box, one relu is ``h``
    and the other 0 (exactly), so the result is the sharp enclosure of the
    active branch (``h``, or ``alpha expm1(h)``).  Where it switches, but not
    at x0, both relus keep the degree with the switch term of
    :func:`relu` (elu is C^1 at 0 only for alpha = 1, and its second
    derivative jumps: a kink as far as the enclosure is concerned); a switch
    at x0 lowers the degree like relu's.  The natural range, exact for
    alpha >= 0 (elu is then increasing), is ``[elu(lo), elu(hi)]``: the sum of
    the two parts' ranges, one of which is 0 where the other varies.
    """
    pos = relu(h)
    negpart = neg(relu(neg(h)))  # min(h, 0)
    e = compose(expm1, negpart)
    return add(pos, mul_const(e, alpha))


def logsumexp(x, axis, keepdims, exp, log):
    """log(sum(exp(x))) over ``axis`` as ``m + log(sum(exp(x - m)))``.

    The shift ``m`` is a *constant* (a backend number per output element and
    box: the largest of the expansion-point values ``c_0`` of ``x`` along the
    axis, or of the lower ends of the ranges for plain intervals), so the
    identity is exact for any ``m`` and the enclosure is sound; with ``m``
    near the largest term nothing overflows.  This is smooth interval Taylor
    mode through exp, sum and log: no ``max`` and no kink where two entries
    tie (the shift by ``max(x)`` of a float evaluation would be one).  The
    result is intersected with the natural range ``[lse(lo), lse(hi)]``
    (logsumexp is increasing in every entry).  ``exp``/``log``: the
    elementary functions.
    """
    from ..autodiff.rules.reductions import normalize_axis

    bk = x.bk
    nd = len(x.shape)
    axes = normalize_axis(axis, nd)
    kept = tuple(1 if i in axes else n for i, n in enumerate(x.shape))
    out_shape = kept if keepdims else tuple(n for i, n in enumerate(x.shape) if i not in axes)
    if int(np.prod([x.shape[a] for a in axes], dtype=np.int64)) == 1:
        return reshape(x, out_shape)  # one term: logsumexp(x) = x
    src = x.c0() if x.degree >= 0 else x.rng
    src = src.broadcast_to(x.shape + src.shape[-2:]) if src.shape[:-2] != x.shape else src
    lo = src.lo
    lo = np.where(bk.isfinite(lo), lo, bk.zeros(np.shape(lo)))
    m = np.max(lo, axis=axes, keepdims=True)  # axes is not empty here
    M = Interval(m, m, bk)  # S_kept + (B, 1), exact backend numbers
    e = compose(exp, add_c0(x, -M))
    s = tm_sum(e, axis=axes, keepdims=True)
    out = add_c0(compose(log, s), M)
    # natural range: the monotone extension on the whole range of x
    nat = log.image((exp.image(x.rng - M)).sum(axis=axes, keepdims=True)) + M
    if out.degree < 0:
        r = _intersect(out.rng, nat)
        out = TM(out.ctx, [], r, r, out.shape)
    else:
        out = out._finish(_intersect(out.rng, nat))
    return out if keepdims else reshape(out, out_shape)


def where_switch(h, strict, x, y):
    """where(h > 0 (strict) or h >= 0, x, y) for TMs h, x, y."""
    ctx = x.ctx
    bk = ctx.bk
    x, y = align(x, y)
    d = min(x.degree, h.degree)
    x, y, h = x.truncate(d), y.truncate(d), h.truncate(d)
    S = _bshape(h.shape, x.shape, y.shape)
    hl, hh = h.rng.lo, h.rng.hi
    if strict:
        yes, no = np.greater(hl, 0), np.less_equal(hh, 0)
    else:
        yes, no = np.greater_equal(hl, 0), np.less(hh, 0)
    yes = np.reshape(yes, h.rng.shape[:-1])
    no = np.reshape(no, h.rng.shape[:-1])
    hull = Interval(np.minimum(x.rng.lo, y.rng.lo), np.maximum(x.rng.hi, y.rng.hi), bk)
    if d < 0:
        rng = Interval.where(_expand(yes, hull.shape), x.rng.broadcast_to(hull.shape),
                             Interval.where(_expand(no, hull.shape), y.rng.broadcast_to(hull.shape), hull))
        return TM(ctx, [], rng, rng, S)
    if np.all(yes | no):
        return _select(yes, x, y)
    c0 = h.c0()
    c0_pos = np.greater(c0.lo, 0)
    c0_neg = np.less(c0.hi, 0)
    und = ~(c0_pos | c0_neg) & ~_expand(yes | no, c0.shape)
    if np.any(und):  # a jump at x0: no polynomial form, plain interval
        return where_switch(h.truncate(-1), strict, x.truncate(-1), y.truncate(-1))
    w = add(x, y, sign=-1)
    Q = _where_q(h, w)
    # c0 > 0: x - (1 - s) w ; c0 < 0: y + s w ; both q in hull(0, w)
    above = TM(ctx, x.coeffs, _add(x.rem, -Q), x.rng, S)
    below = TM(ctx, y.coeffs, _add(y.rem, Q), y.rng, S)
    out = _select(np.reshape(c0_pos, c0.shape[:-1]), above, below)
    out = _select(no, y, out)
    out = _select(yes, x, out)
    rng = Interval.where(_expand(yes, hull.shape), x.rng.broadcast_to(hull.shape),
                         Interval.where(_expand(no, hull.shape), y.rng.broadcast_to(hull.shape), hull))
    return out._finish(rng)


def where_const(mask, x, y):
    """where(mask, x, y) with a plain boolean mask of user shape."""
    mask = np.asarray(mask, dtype=bool)
    return _select(mask.reshape(mask.shape + (1,)), x, y)


# ---------------------------------------------------------------------------
# reductions, shapes, products
# ---------------------------------------------------------------------------


def tm_sum(a, axis=None, keepdims=False):
    nd = len(a.shape)
    if axis is None:
        axes = tuple(range(nd))
    else:
        axes = tuple(sorted({int(x) % nd for x in ((axis,) if np.isscalar(axis) else axis)})) if nd else ()
    def f(t):
        full = t.broadcast_to(a.shape + t.shape[-2:]) if t.shape[:-2] != a.shape else t
        return full.sum(axis=axes, keepdims=keepdims)
    shape = np.sum(np.empty(a.shape, dtype=np.int8), axis=axes, keepdims=keepdims).shape
    out = TM(a.ctx, [None if c is None else f(c) for c in a.coeffs],
             None if a.rem is None else f(a.rem), None, shape)
    nat = f(a.rng)
    if out.degree < 0:
        out.rng = nat
        out.rem = nat
        return out
    return out._finish(nat)


def reshape(a, shape):
    shape = tuple(np.empty(a.shape, dtype=np.int8).reshape(shape).shape)

    def f(t):
        full = t.broadcast_to(a.shape + t.shape[-2:]) if t.shape[:-2] != a.shape else t
        return full.reshape(shape + t.shape[-2:])

    return a.map_tensors(f, shape)


def transpose(a, axes=None):
    nd = len(a.shape)
    axes = tuple(range(nd))[::-1] if axes is None else tuple(int(x) % nd for x in axes)
    shape = tuple(a.shape[i] for i in axes)

    def f(t):
        full = t.broadcast_to(a.shape + t.shape[-2:]) if t.shape[:-2] != a.shape else t
        return full.transpose(axes + (nd, nd + 1))

    return a.map_tensors(f, shape)


def getitem(a, index):
    idx = index if isinstance(index, tuple) else (index,)
    if any(i is Ellipsis for i in idx):
        full_idx = idx + (slice(None), slice(None))
    else:
        full_idx = idx + (Ellipsis,)
    shape = np.empty(a.shape, dtype=np.int8)[index].shape

    def f(t):
        full = t.broadcast_to(a.shape + t.shape[-2:]) if t.shape[:-2] != a.shape else t
        return full[full_idx]

    return a.map_tensors(f, shape)


def broadcast_to(a, shape):
    shape = tuple(shape)

    def f(t):
        return t.broadcast_to(shape + t.shape[-2:])

    return a.map_tensors(f, shape)


def concatenate(items, axis=0):
    d = min(t.degree for t in items)
    items = [t.truncate(d) for t in items]
    nd = len(items[0].shape)
    ax = axis % nd
    shape = np.concatenate([np.empty(t.shape, dtype=np.int8) for t in items], axis=ax).shape
    ctx = items[0].ctx
    bk = ctx.bk
    B = max(max((c.shape[-2] for c in t.coeffs if c is not None), default=1) for t in items)
    B = max(B, max(t.rng.shape[-2] for t in items))

    def cat(tensors, order, T):
        parts = []
        for t, ts in zip(items, tensors):
            if ts is None:
                ts = Interval.zeros(t.shape + (B, T), bk)
            else:
                ts = ts.broadcast_to(t.shape + (B, ts.shape[-1]))
            parts.append(ts)
        return Interval.concatenate(parts, axis=ax)

    n = ctx.n
    coeffs = []
    for i in range(d + 1):
        ts = [t.coeffs[i] for t in items]
        coeffs.append(None if all(x is None for x in ts) else cat(ts, i, n ** i))
    rs = [t.rem for t in items]
    rem = None if all(x is None for x in rs) else cat(rs, d + 1, n ** (d + 1))
    rng = cat([t.rng for t in items], 0, 1)
    return TM(ctx, coeffs, rem, rng, shape)


_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXY"


def einsum2(spec, a, b):
    """Two-operand einsum (explicit form, letters over S) of TMs or constants
    (constants: Interval of the user shape)."""
    ins, out = spec.split("->")
    ta, tb = ins.split(",")
    free = [c for c in _LETTERS if c not in spec]
    bl, sl, tl = free[0], free[1], free[2]
    a_tm, b_tm = isinstance(a, TM), isinstance(b, TM)
    ref = a if a_tm else b
    ctx = ref.ctx
    B = ctx.B

    def prep(t, S):
        if t is None:
            return None
        return t.broadcast_to(S + (B, t.shape[-1]))

    sizes = {}
    for term, shp in ((ta, a.shape), (tb, b.shape)):
        for c, k in zip(term, shp):
            sizes[c] = max(sizes.get(c, 1), k)
    out_shape = tuple(sizes[c] for c in out)

    if a_tm and b_tm:
        a, b = align(a, b)
        d = a.degree
        if d < 0:
            r = Interval.einsum(f"{ta}{bl}{sl},{tb}{bl}{tl}->{out}{bl}{sl}{tl}", prep(a.rem, a.shape), prep(b.rem, b.shape))
            r = r.reshape(out_shape + (B, 1))
            return TM(ctx, [], r, r, out_shape)
        coeffs = [None] * (d + 1)
        high = None

        def outer_e(x, y):
            r = Interval.einsum(f"{ta}{bl}{sl},{tb}{bl}{tl}->{out}{bl}{sl}{tl}", x, y)
            return r.reshape(out_shape + (B, x.shape[-1] * y.shape[-1]))

        for i, ai in enumerate(a.coeffs):
            if ai is None:
                continue
            for j, bj in enumerate(b.coeffs):
                if bj is None:
                    continue
                p = outer_e(prep(ai, a.shape), prep(bj, b.shape))
                m = i + j
                if m <= d:
                    coeffs[m] = _add(coeffs[m], p)
                else:
                    high = _add(high, ctx.contract(p, m - d - 1))
        rem = high
        if a.rem is not None:
            rem = _add(rem, outer_e(prep(a.rem, a.shape), prep(b.rng, b.shape)))
        if b.rem is not None:
            A = a.poly_range(with_rem=False)
            rem = _add(rem, outer_e(prep(A, a.shape), prep(b.rem, b.shape)))
        nat = outer_e(prep(a.rng, a.shape), prep(b.rng, b.shape))
        return TM(ctx, coeffs, rem, None, out_shape)._finish(nat)

    # one constant operand: linear in the TM
    if a_tm:
        tm, c, tt, tc, tm_first = a, b, ta, tb, True
    else:
        tm, c, tt, tc, tm_first = b, a, tb, ta, False

    def lin(t):
        if t is None:
            return None
        t = prep(t, tm.shape)
        if tm_first:
            s = f"{tt}{bl}{sl},{tc}->{out}{bl}{sl}"
            return Interval.einsum(s, t, c)
        s = f"{tc},{tt}{bl}{sl}->{out}{bl}{sl}"
        return Interval.einsum(s, c, t)

    coeffs = [lin(x) for x in tm.coeffs]
    rem = lin(tm.rem)
    nat = lin(tm.rng)
    out_tm = TM(ctx, coeffs, rem, None, out_shape)
    if out_tm.degree < 0:
        out_tm.rng = nat
        out_tm.rem = nat
        return out_tm
    return out_tm._finish(nat)


def matmul_spec(sa, sb):
    """Explicit einsum subscripts for ``a @ b`` with shapes sa, sb (batch dims
    already broadcast to equal length and size)."""
    if len(sa) == 0 or len(sb) == 0:
        raise ValueError("matmul: scalar operands are not allowed, use *")
    L = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    if len(sa) == 1 and len(sb) == 1:
        return "k,k->"
    if len(sa) == 1:
        batch = L[: len(sb) - 2]
        return f"k,{batch}km->{batch}m"
    if len(sb) == 1:
        batch = L[: len(sa) - 2]
        return f"{batch}nk,k->{batch}n"
    batch = L[: len(sa) - 2]
    return f"{batch}nk,{batch}km->{batch}nm"
