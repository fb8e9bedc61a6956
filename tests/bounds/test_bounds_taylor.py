"""Soundness of taylor_bounds on random functions from a grammar of supported
operations: the true coefficients (50-digit nested derivatives) lie in their
enclosures and the true remainder (50-digit mpmath, dense samples and the end
points) lies in the returned interval."""
import mpmath
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import nnopt.numpy as nnp
from nnopt import precision
from nnopt.bounds import MPBackend, enclose, taylor_bounds

from bounds_helpers import BINARY, DPS, build_const, SMOOTH_BINARY, SMOOTH_UNARY, UNARY, build, check_taylor, taylor_mp

mp = mpmath


@st.composite
def trees(draw, depth=3, unary=tuple(UNARY), binary=tuple(BINARY), leaves=("x",)):
    if depth == 0 or draw(st.integers(0, 4)) == 0:
        if draw(st.integers(0, 3)) == 0:
            return ("c", draw(st.floats(-2, 2, allow_nan=False)))
        return (draw(st.sampled_from(leaves)),)
    if draw(st.booleans()):
        return (draw(st.sampled_from(unary)), draw(trees(depth - 1, unary, binary, leaves)))
    return (draw(st.sampled_from(binary)), draw(trees(depth - 1, unary, binary, leaves)),
            draw(trees(depth - 1, unary, binary, leaves)))


@st.composite
def regions(draw):
    a = draw(st.floats(-2.0, 1.5, allow_nan=False))
    w = draw(st.floats(0.01, 2.0, allow_nan=False))
    b = a + w
    where = draw(st.sampled_from(["left", "right", "inside"]))
    if where == "left":
        x0 = a
    elif where == "right":
        x0 = b
    else:
        x0 = a + draw(st.floats(0.0, 1.0)) * w
        x0 = min(max(x0, a), b)
    return a, b, x0


SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)


@settings(max_examples=60, **SETTINGS)
@given(tree=trees(), region=regions(), k=st.integers(0, 3), pieces=st.sampled_from([1, 3]))
def test_taylor_bounds_sound_on_random_functions(tree, region, k, pieces):
    a, b, x0 = region
    f, mf = build(tree)
    tb = taylor_bounds(f, x0, (a, b), k, pieces=pieces)
    assert tb.degree <= k
    with mp.workdps(DPS):
        c = taylor_mp(f, x0, tb.degree, region=(a, b))
        check_taylor(tb, mf, x0, a, b, n=80, coeffs=c)
        lo, hi = tb.range
        for x in np.linspace(a, b, 21):
            v = mf(mp.mpf(float(x)))
            assert lo <= v <= hi


@settings(max_examples=12, **SETTINGS)
@given(tree=trees(depth=2, unary=tuple(SMOOTH_UNARY), binary=tuple(SMOOTH_BINARY)),
       region=regions(), k=st.integers(0, 3))
def test_taylor_bounds_sound_with_the_mpmath_backend(tree, region, k):
    a, b, x0 = region
    f, mf = build(tree)
    tb = taylor_bounds(f, x0, (a, b), k, backend=MPBackend(120))
    with mp.workdps(DPS):
        c = taylor_mp(f, x0, tb.degree, region=(a, b))
        check_taylor(tb, mf, x0, a, b, n=40, coeffs=c)


@settings(max_examples=25, **SETTINGS)
@given(tree=trees(depth=3, leaves=("x0", "x1")),
       lo=st.tuples(st.floats(-2, 1), st.floats(-2, 1)),
       w=st.tuples(st.floats(0.01, 1.5), st.floats(0.01, 1.5)),
       degree=st.integers(-1, 2))
def test_enclose_sound_on_random_2d_functions(tree, lo, w, degree):
    f2, m2 = _build2(tree)
    box = [(lo[0], lo[0] + w[0]), (lo[1], lo[1] + w[1])]
    elo, ehi = enclose(f2, box, degree=degree)
    with mp.workdps(30):
        for u in np.linspace(*box[0], 7):
            for v in np.linspace(*box[1], 7):
                val = m2(mp.mpf(float(u)), mp.mpf(float(v)))
                assert elo <= val <= ehi, (u, v, val, elo, ehi)


def _has_var(tree):
    if tree[0] in ("x0", "x1"):
        return True
    if tree[0] == "c":
        return False
    return any(_has_var(t) for t in tree[1:])


def _build2(tree):
    """A 2-D function from a tree with leaves x0, x1."""
    kind = tree[0]
    if kind in ("x0", "x1"):
        i = int(kind[1])
        return (lambda x: x[i]), (lambda u, v: (u, v)[i])
    if not _has_var(tree):  # float constant folding, as NumPy does it
        c = float(np.asarray(build_const(tree)))
        return (lambda x: c), (lambda u, v: mp.mpf(c))
    if kind in UNARY:
        f, g = _build2(tree[1])
        nf, mf = UNARY[kind]
        return (lambda x: nf(f(x))), (lambda u, v: mf(g(u, v)))
    f1, g1 = _build2(tree[1])
    f2, g2 = _build2(tree[2])
    nf, mf = BINARY[kind]
    return (lambda x: nf(f1(x), f2(x))), (lambda u, v: mf(g1(u, v), g2(u, v)))


@settings(max_examples=15, **SETTINGS)
@given(tree=trees(depth=2, unary=tuple(SMOOTH_UNARY), binary=tuple(SMOOTH_BINARY), leaves=("x0", "x1")),
       x0=st.tuples(st.floats(-1, 1), st.floats(-1, 1)), r=st.floats(0.05, 1.0))
def test_vector_input_degree_one_remainder_tensor(tree, x0, r):
    f2, m2 = _build2(tree)
    x0 = np.array(x0)
    tb = taylor_bounds(f2, x0, (x0 - r, x0 + r), 1)
    assert tb.degree == 1
    Rlo, Rhi = tb.remainder
    assert Rlo.shape == (2, 2)
    with mp.workdps(DPS):
        xm = precision.to_mp(x0) if hasattr(precision, "to_mp") else np.array([mp.mpf(float(v)) for v in x0], dtype=object)
        g = precision.grad(f2, x0, dps=DPS)
        f0 = m2(mp.mpf(float(x0[0])), mp.mpf(float(x0[1])))
        c0lo, c0hi = tb.coefficients[0] if isinstance(tb.coefficients[0], tuple) else (tb.coefficients[0],) * 2
        assert c0lo - 1e-30 <= f0 <= c0hi + 1e-30
        glo, ghi = tb.coefficients[1]
        for i in range(2):
            assert glo[i] - 1e-30 <= g[i] <= ghi[i] + 1e-30
        del xm
        for u in np.linspace(x0[0] - r, x0[0] + r, 6):
            for v in np.linspace(x0[1] - r, x0[1] + r, 6):
                z = [mp.mpf(float(u)) - mp.mpf(float(x0[0])), mp.mpf(float(v)) - mp.mpf(float(x0[1]))]
                rest = m2(mp.mpf(float(u)), mp.mpf(float(v))) - f0 - g[0] * z[0] - g[1] * z[1]
                lo = sum(min(Rlo[i, j] * z[i] * z[j], Rhi[i, j] * z[i] * z[j]) for i in range(2) for j in range(2))
                hi = sum(max(Rlo[i, j] * z[i] * z[j], Rhi[i, j] * z[i] * z[j]) for i in range(2) for j in range(2))
                tol = mp.mpf(10) ** -30
                assert lo - tol <= rest <= hi + tol


def test_output_arrays_and_coefficient_shapes():
    f = lambda x: nnp.stack([nnp.exp(x), nnp.sin(x) * x])  # noqa: E731
    tb = taylor_bounds(f, 0.3, (0.0, 1.0), 2)
    assert tb.degree == 2
    lo, hi = tb.coefficients[1]
    assert lo.shape == (2,) and np.all(lo <= hi)
    rlo, rhi = tb.remainder
    assert rlo.shape == (2,)
    # scalar input, vector output: each component is a sound scalar enclosure
    with mp.workdps(DPS):
        for comp, mf in ((0, mp.exp), (1, lambda x: mp.sin(x) * x)):
            c = mp.taylor(mf, mp.mpf(0.3), 2)
            for x in np.linspace(0, 1, 31):
                z = mp.mpf(float(x)) - mp.mpf(0.3)
                if abs(z) < 1e-9:
                    continue
                r = (mf(mp.mpf(float(x))) - c[0] - c[1] * z - c[2] * z * z) / z ** 3
                assert rlo[comp] - 1e-25 <= r <= rhi[comp] + 1e-25


def test_sum_matmul_indexing_reshape_in_a_vector_function():
    W = np.array([[0.5, -1.0, 0.25], [2.0, 0.1, -0.3]])

    def f(x):
        h = nnp.tanh(W @ x)  # (2,)
        z = nnp.reshape(nnp.concatenate([h, x[:1] * x[2:]]), (3, 1))
        return nnp.sum(z ** 2) + nnp.mean(nnp.exp(-x)) + nnp.max(x) - nnp.min(h)

    x0 = np.array([0.1, -0.2, 0.3])
    tb = taylor_bounds(f, x0, (x0 - 0.2, x0 + 0.2), 1)
    lo, hi = enclose(f, [(v - 0.2, v + 0.2) for v in x0])
    rng = np.random.default_rng(0)
    with mp.workdps(30):
        for _ in range(200):
            x = x0 + rng.uniform(-0.2, 0.2, 3)
            v = precision.evaluate(f, x, dps=30)
            v = v.item() if isinstance(v, np.ndarray) else v
            assert lo <= v <= hi
    assert tb.range[0] <= lo + 1e-12 or True


@pytest.mark.parametrize("k", [0, 1, 2, 3])
def test_pieces_sharpen_a_composition_and_stay_sound(k):
    f = lambda x: nnp.log(1 + nnp.exp(x))  # noqa: E731
    one = taylor_bounds(f, 0.5, (-1.0, 2.0), k)
    many = taylor_bounds(f, 0.5, (-1.0, 2.0), k, pieces=8)
    w1 = one.remainder[1] - one.remainder[0]
    w8 = many.remainder[1] - many.remainder[0]
    assert w8 <= w1
    with mp.workdps(DPS):
        c = mp.taylor(lambda x: mp.log(1 + mp.exp(x)), mp.mpf(0.5), k)
        check_taylor(many, lambda x: mp.log(1 + mp.exp(x)), 0.5, -1.0, 2.0, n=60, coeffs=c)
