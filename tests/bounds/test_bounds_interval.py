"""Interval arithmetic: every result contains the exact real result.

The truth is exact rational arithmetic (fractions.Fraction of the float end
points) for + - * / sums and matrix products, and mpmath at 60 digits for the
elementary functions."""
from fractions import Fraction

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nnopt.bounds import BoundsError, FloatBackend, Interval, MPBackend
from nnopt.bounds.backend import get_backend

FLOAT = FloatBackend()
MP = MPBackend(113)

finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False, allow_subnormal=True)
anyf = st.floats(allow_nan=False, allow_infinity=False, width=64)


@st.composite
def intervals(draw, elements=finite):
    a, b = draw(elements), draw(elements)
    return (min(a, b), max(a, b))


def _iv(pairs, bk):
    lo = np.array([p[0] for p in pairs], dtype=np.float64)
    hi = np.array([p[1] for p in pairs], dtype=np.float64)
    return Interval(*(bk.from_values(lo)[0], bk.from_values(hi)[0]), bk)


def _exact_range(op, x, y):
    vals = [op(Fraction(a), Fraction(b)) for a in x for b in y]
    return min(vals), max(vals)


def _contains(I, i, lo, hi):
    l_, h_ = I.lo[i], I.hi[i]
    to = _frac_mp if isinstance(l_, mpmath.mpf) else (lambda v: Fraction(float(v)))
    ok_lo = l_ == -np.inf or to(l_) <= lo
    ok_hi = h_ == np.inf or hi <= to(h_)
    return ok_lo and ok_hi


def _frac_mp(v):
    sign, man, exp, _ = v._mpf_
    return (-1) ** sign * Fraction(int(man)) * (Fraction(2) ** int(exp))


@pytest.mark.parametrize("bk", [FLOAT, MP], ids=["float64", "mpmath"])
@settings(max_examples=150, deadline=None, derandomize=True)
@given(xs=st.lists(st.tuples(intervals(), intervals()), min_size=1, max_size=6))
def test_add_sub_mul_contain_the_exact_range(bk, xs):
    X = _iv([p[0] for p in xs], bk)
    Y = _iv([p[1] for p in xs], bk)
    for I, op in ((X + Y, lambda a, b: a + b), (X - Y, lambda a, b: a - b), (X * Y, lambda a, b: a * b)):
        for i, (x, y) in enumerate(xs):
            assert _contains(I, i, *_exact_range(op, x, y))
    S = X.sqr()
    for i, (x, _) in enumerate(xs):
        lo = Fraction(0) if x[0] <= 0 <= x[1] else min(Fraction(x[0]) ** 2, Fraction(x[1]) ** 2)
        assert _contains(S, i, lo, max(Fraction(x[0]) ** 2, Fraction(x[1]) ** 2))


@settings(max_examples=150, deadline=None, derandomize=True)
@given(xs=st.lists(st.tuples(intervals(), intervals()), min_size=1, max_size=6), n=st.integers(-3, 5))
def test_division_and_integer_powers(xs, n):
    X = _iv([p[0] for p in xs], FLOAT)
    Y = _iv([p[1] for p in xs], FLOAT)
    Q = X / Y
    P = X.pow_int(n)
    for i, (x, y) in enumerate(xs):
        if y[0] <= 0 <= y[1]:
            assert Q.lo[i] == -np.inf and Q.hi[i] == np.inf
        else:
            assert _contains(Q, i, *_exact_range(lambda a, b: a / b, x, y))
        if n < 0 and x[0] <= 0 <= x[1]:
            continue
        pts = [Fraction(x[0]), Fraction(x[1])] + ([Fraction(0)] if x[0] <= 0 <= x[1] else [])
        vals = [p ** n for p in pts]
        assert _contains(P, i, min(vals), max(vals))


@settings(max_examples=60, deadline=None, derandomize=True)
@given(m=st.integers(1, 4), k=st.integers(1, 30), p=st.integers(1, 4), seed=st.integers(0, 2 ** 31),
       scale=st.sampled_from([1e-300, 1e-8, 1.0, 1e8, 1e200]))
def test_sum_and_matmul_contain_exact_results(m, k, p, seed, scale):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((m, k)) * scale
    Bl = rng.standard_normal((k, p))
    Bh = Bl + np.abs(rng.standard_normal((k, p))) * rng.choice([0.0, 1e-3, 1.0], size=(k, p))
    AI = Interval(A, A)
    BI = Interval(Bl, Bh)
    C = Interval.einsum("ij,jk->ik", AI, BI)
    for i in range(m):
        for j in range(p):
            lo = sum(min(Fraction(A[i, t]) * Fraction(Bl[t, j]), Fraction(A[i, t]) * Fraction(Bh[t, j])) for t in range(k))
            hi = sum(max(Fraction(A[i, t]) * Fraction(Bl[t, j]), Fraction(A[i, t]) * Fraction(Bh[t, j])) for t in range(k))
            assert Fraction(C.lo[i, j]) <= lo and hi <= Fraction(C.hi[i, j])
    S = BI.sum(axis=0)
    for j in range(p):
        assert Fraction(S.lo[j]) <= sum(Fraction(v) for v in Bl[:, j])
        assert sum(Fraction(v) for v in Bh[:, j]) <= Fraction(S.hi[j])
    # interval x interval through the expanding path (with an infinite end point)
    Bh2 = Bh.copy()
    Bh2[0, 0] = np.inf
    C2 = Interval.einsum("ij,jk->ik", Interval(A - 1, A + 1), Interval(Bl, Bh2))
    for i in range(m):
        for j in range(p):
            member = sum(Fraction(A[i, t]) * Fraction(Bl[t, j]) for t in range(k))
            assert C2.lo[i, j] == -np.inf or Fraction(C2.lo[i, j]) <= member
            assert C2.hi[i, j] == np.inf or member <= Fraction(C2.hi[i, j])


NAMES = ["exp", "expm1", "log", "log1p", "sin", "cos", "tan", "sinh", "cosh", "tanh", "arctan",
         "sigmoid", "softplus", "erf", "sqrt"]
MPF = {
    "exp": mpmath.exp, "expm1": mpmath.expm1, "log": mpmath.log, "log1p": mpmath.log1p,
    "sin": mpmath.sin, "cos": mpmath.cos, "tan": mpmath.tan, "sinh": mpmath.sinh, "cosh": mpmath.cosh,
    "tanh": mpmath.tanh, "arctan": mpmath.atan, "sigmoid": lambda x: 1 / (1 + mpmath.exp(-x)),
    "softplus": lambda x: mpmath.log1p(mpmath.exp(x)), "erf": mpmath.erf, "sqrt": mpmath.sqrt,
}


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("bk", [FLOAT, MP], ids=["float64", "mpmath"])
def test_point_enclosures_of_elementary_functions(name, bk):
    rng = np.random.default_rng(abs(hash(name)) % 2 ** 32)
    x = np.concatenate([rng.uniform(-30, 30, 40), rng.uniform(-1, 1, 20), [0.0, 1e-300, -1e-12, 700.0, 2e6]])
    if name in ("log", "sqrt"):
        x = np.abs(x)
    if name == "log1p":
        x = np.abs(x) - 0.999
    lo, hi = bk.fn(name, bk.from_values(x)[0])
    with mpmath.workdps(60):
        for i, v in enumerate(x):
            t = MPF[name](mpmath.mpf(float(v)))
            assert mpmath.mpf(lo[i]) <= t <= mpmath.mpf(hi[i]), (name, v)
    if bk is FLOAT:  # tight: a few ulp (plus argument reduction for trig)
        ok = np.isfinite(hi - lo) & (np.abs(x) <= FLOAT.TRIG_MAX)
        w, vals = (hi - lo)[ok], np.abs(lo[ok])
        assert np.all(w <= 40 * np.spacing(np.maximum(vals, 1e-300)) + np.abs(x[ok]) * 1e-14 + 1e-300)


def test_mp_backend_is_independent_of_the_global_precision():
    old = mpmath.mp.prec
    try:
        mpmath.mp.prec = 30
        bk = MPBackend(200)
        X = Interval.point(np.array([0.1, 1.7]), bk)
        Y = (X * X - X.sqr()).sum() + Interval.point(np.array(1.0), bk)
        lo, hi = Y.lo, Y.hi
        mpmath.mp.prec = 300
        assert hi - lo < mpmath.mpf(2) ** -150
        from nnopt.bounds.functions import ELEMENTARY

        s = ELEMENTARY["tanh"].series(Interval.point(np.array([[1.0]]), bk), 2)
        assert s[1].hi[0, 0] - s[1].lo[0, 0] < mpmath.mpf(2) ** -150
        t = 1 - mpmath.tanh(1) ** 2
        assert s[1].lo[0, 0] <= t <= s[1].hi[0, 0]
    finally:
        mpmath.mp.prec = old


def test_conversions_are_exact_or_outward():
    x32 = np.array([0.1, -3.3, 1e-40], dtype=np.float32)
    lo, hi = FLOAT.from_values(x32)
    assert np.all(lo == x32.astype(np.float64)) and np.all(hi == lo)
    big = np.array([2 ** 60 + 1], dtype=np.int64)
    lo, hi = FLOAT.from_values(big)
    assert Fraction(lo[0]) <= 2 ** 60 + 1 <= Fraction(hi[0])
    mlo, mhi = MP.from_values(x32)
    assert all(mpmath.mpf(float(v)) == a for v, a in zip(x32, mlo))


def test_intersection_of_disjoint_enclosures_is_an_error():
    with pytest.raises(BoundsError, match="disjoint"):
        Interval(np.array([0.0]), np.array([1.0])).intersect(Interval(np.array([2.0]), np.array([3.0])))


def test_backend_argument_is_validated():
    assert get_backend(None) is get_backend("float64")
    assert isinstance(get_backend(150), MPBackend) and get_backend(150).prec == 150
    with pytest.raises(ValueError, match="backend must be"):
        get_backend("float16")
    with pytest.raises(ValueError, match="prec must be"):
        MPBackend(10)
    with pytest.raises(ValueError, match="lo <= hi"):
        Interval.from_bounds(np.array([1.0]), np.array([0.0]))
