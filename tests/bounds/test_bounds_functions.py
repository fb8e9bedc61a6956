"""Elementary functions: sound and sharp Taylor remainders, certified facts.

Sharpness: where phi^(k+1) is monotone on the trust region the tightest
remainder interval is [R(a), R(b)] (sorted), R(x) = (phi(x) - T_k(x))/(x-x0)^(k+1)
(Streeter & Dillon 2022, Theorem 3); we require the returned interval to
contain it and to exceed it by at most 1e-12 relative (float64 backend; plus
the rounding of phi's values divided by |x - x0|^(k+1) where R is a small
difference of large values) or 1e-25 (mpmath backend at 200 bits)."""
import mpmath
import numpy as np
import pytest

import nnopt.numpy as nnp
from nnopt.bounds import MPBackend, taylor_bounds
from nnopt.bounds.functions import ELEMENTARY, _arctan_crit, _certified_crit

mp = mpmath

FUNCS = {
    "exp": (nnp.exp, mp.exp, (-3, 3)),
    "expm1": (nnp.expm1, mp.expm1, (-3, 3)),
    "log": (nnp.log, mp.log, (0.2, 5)),
    "log1p": (nnp.log1p, mp.log1p, (-0.8, 4)),
    "sqrt": (nnp.sqrt, mp.sqrt, (0.2, 5)),
    "sin": (nnp.sin, mp.sin, (-4, 4)),
    "cos": (nnp.cos, mp.cos, (-4, 4)),
    "tan": (nnp.tan, mp.tan, (-1.2, 1.2)),
    "sinh": (nnp.sinh, mp.sinh, (-3, 3)),
    "cosh": (nnp.cosh, mp.cosh, (-3, 3)),
    "tanh": (nnp.tanh, mp.tanh, (-4, 4)),
    "sigmoid": (nnp.sigmoid, lambda x: 1 / (1 + mp.exp(-x)), (-6, 6)),
    "softplus": (nnp.softplus, lambda x: mp.log1p(mp.exp(x)), (-6, 6)),
    "arctan": (nnp.arctan, mp.atan, (-4, 4)),
    "erf": (nnp.erf, mp.erf, (-3, 3)),
    "pow_2.5": (lambda x: x ** 2.5, lambda x: x ** mp.mpf(2.5), (0.2, 4)),
    "pow_-3": (lambda x: x ** -3, lambda x: x ** -3, (0.3, 4)),
    "pow_5": (lambda x: x ** 5, lambda x: x ** 5, (-2, 2)),
    "reciprocal": (lambda x: 1.0 / x, lambda x: 1 / x, (0.3, 4)),
}


def _truth_remainder(mf, x0, a, b, k, n=400):
    """True Taylor coefficients and the sampled range of R over [a, b] (60 digits)."""
    c = mp.taylor(mf, mp.mpf(x0), k)
    vals = []
    for x in np.linspace(a, b, n):
        z = mp.mpf(float(x)) - mp.mpf(x0)
        if abs(z) < 1e-3:
            continue
        vals.append((mf(mp.mpf(float(x))) - sum(ci * z ** i for i, ci in enumerate(c))) / z ** (k + 1))
    return c, vals


@pytest.mark.parametrize("name", sorted(FUNCS))
@pytest.mark.parametrize("k", [0, 1, 2, 3])
def test_remainder_sound_on_random_regions(name, k):
    f, mf, (lo, hi) = FUNCS[name]
    rng = np.random.default_rng([k, len(name)])
    with mp.workdps(60):
        for _ in range(4):
            a = rng.uniform(lo, hi - 0.05)
            b = min(hi, a + rng.uniform(0.05, 2.5))
            x0 = float(rng.choice([a, b, rng.uniform(a, b)]))
            tb = taylor_bounds(f, x0, (a, b), k)
            c, vals = _truth_remainder(mf, x0, a, b, k, n=150)
            for i, ci in enumerate(c):
                clo, chi = tb.coefficients[i] if isinstance(tb.coefficients[i], tuple) else (tb.coefficients[i],) * 2
                assert clo <= ci <= chi
            rlo, rhi = tb.remainder
            assert all(rlo <= v <= rhi for v in vals), (name, k, a, b, x0)


def _monotone_region(name, k, rng):
    """A trust region on which phi^(k+1) has no critical point (facts)."""
    f, mf, (lo, hi) = FUNCS[name]
    phi = ELEMENTARY.get(name)
    for _ in range(200):
        a = rng.uniform(lo, hi - 0.5)
        b = min(hi, a + rng.uniform(0.5, 2.0))
        if phi is None:
            return a, b
        from nnopt.bounds.interval import Interval

        if not phi.crit_in(Interval(np.array([a]), np.array([b])), k + 1)[0]:
            return a, b
    pytest.skip("no monotone region found")


SHARP = ["exp", "expm1", "log", "log1p", "sqrt", "sinh", "cosh", "tanh", "sigmoid", "softplus",
         "arctan", "erf", "sin", "cos", "pow_2.5", "pow_-3", "reciprocal"]


@pytest.mark.parametrize("name", SHARP)
@pytest.mark.parametrize("k", [0, 1, 2])
def test_remainder_is_sharp_on_monotone_branches(name, k):
    f, mf, _ = FUNCS[name]
    rng = np.random.default_rng([7, k, len(name)])
    with mp.workdps(60):
        for backend, rel in ((None, 1e-12), (MPBackend(200), 1e-25)):
            a, b = _monotone_region(name, k, rng)
            x0 = float(rng.choice([a, b, 0.5 * (a + b)]))
            tb = taylor_bounds(f, x0, (a, b), k, backend=backend)
            c = mp.taylor(mf, mp.mpf(x0), k + 1)

            def R(x):
                z = mp.mpf(x) - mp.mpf(x0)
                if z == 0:
                    return c[k + 1]
                return (mf(mp.mpf(x)) - sum(c[i] * z ** i for i in range(k + 1))) / z ** (k + 1)

            t1, t2 = sorted([R(a), R(b), R(x0)])[::2]
            rlo, rhi = (tb._tm.rem.lo.item(), tb._tm.rem.hi.item())
            assert rlo <= t1 and t2 <= rhi
            width = t2 - t1
            scale = max(width, abs(t1), abs(t2))
            allowed = rel * scale
            if backend is None:
                # float64 evaluates R(end) = (phi(end) - T(end)) / z^(k+1): its own rounding of
                # phi's values (a few ulp, 8 ulp assumed for libm) divided by |z|^(k+1)
                fmax = max(abs(mf(mp.mpf(v))) for v in (a, b, x0))
                if name in ("sin", "cos", "tan"):  # argument reduction: ulps of the argument
                    fmax = max(fmax, abs(a), abs(b))
                zmin = min(abs(mp.mpf(v) - mp.mpf(x0)) for v in (a, b) if v != x0)
                allowed += 64 * np.finfo(np.float64).eps * fmax / zmin ** (k + 1)
            assert (t1 - rlo) <= allowed and (rhi - t2) <= allowed, (name, k, a, b, x0, rlo - t1, rhi - t2)


@pytest.mark.parametrize("kind", ["tanh", "sigmoid", "erf"])
@pytest.mark.parametrize("m", [1, 2, 3, 4, 5, 6])
def test_certified_critical_points(kind, m):
    pts = _certified_crit(kind, m)
    assert len(pts) == m
    fn = {"tanh": mp.tanh, "sigmoid": lambda x: 1 / (1 + mp.exp(-x)), "erf": mp.erf}[kind]
    with mp.workdps(40):
        for lo, hi in pts:
            assert lo < hi and hi - lo < 1e-9 * max(1, abs(lo))
            d_lo = mp.diff(fn, mp.mpf(lo), m + 1)
            d_hi = mp.diff(fn, mp.mpf(hi), m + 1)
            assert d_lo * d_hi < 0  # phi^(m+1) changes sign: phi^(m) has an extremum inside


@pytest.mark.parametrize("m", [1, 2, 3, 5])
def test_arctan_critical_points(m):
    pts = _arctan_crit(m)
    assert len(pts) == m
    with mp.workdps(40):
        for lo, hi in pts:
            mid = (mp.mpf(lo) + mp.mpf(hi)) / 2
            assert abs(mp.diff(mp.atan, mid, m + 1)) < 1e-10


def test_elementary_images_are_tight_and_clipped():
    from nnopt.bounds.interval import Interval

    Y = Interval(np.array([-50.0, -1.0, 0.5]), np.array([50.0, 2.0, 0.75]))
    t = ELEMENTARY["tanh"].image(Y)
    assert np.all(t.lo >= -1) and np.all(t.hi <= 1)
    s = ELEMENTARY["sin"].image(Interval(np.array([0.0, 1.0]), np.array([7.0, 1.2])))
    assert s.lo[0] == -1 and s.hi[0] == 1
    assert abs(s.lo[1] - np.sin(1.0)) < 1e-14 and abs(s.hi[1] - np.sin(1.2)) < 1e-14
    c = ELEMENTARY["cosh"].image(Interval(np.array([-1.0]), np.array([2.0])))
    assert c.lo[0] == 1.0
