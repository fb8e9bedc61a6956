"""logsumexp and elu as primitives of the bounds interpreter, and the
pieces of a piecewise function.

logsumexp is enclosed as ``m + log(sum(exp(x - m)))`` with a constant shift
(smooth: no kink where two entries tie), elu as ``relu(h) + alpha
expm1(-relu(-h))`` (the switch at 0 analysed like relu's).  Soundness is
checked against 50-digit mpmath; sharpness against the enclosures of the
equivalent smooth functions; and majorization-minimization on a
cross-entropy objective no longer stalls where logits tie.
"""
import mpmath
import numpy as np
import pytest

import nnopt
import nnopt.numpy as nnp
from nnopt import precision
from nnopt.bounds import (UnsupportedBoundError, enclose, mm_minimize, safe_rate,
                          taylor_bounds)
from nnopt.nn import MLP

from bounds_helpers import DPS, check_taylor, taylor_mp

mp = mpmath


def _check(f, mf, x0, a, b, k, pieces=1, backend=None, n=80):
    tb = taylor_bounds(f, x0, (a, b), k, pieces=pieces, backend=backend)
    with mp.workdps(DPS):
        c = taylor_mp(f, x0, tb.degree, region=(a, b))
        check_taylor(tb, mf, x0, a, b, n=n, coeffs=c)
        lo, hi = tb.range
        for x in np.linspace(a, b, 17):
            v = mf(mp.mpf(float(x)))
            assert lo <= v <= hi
    return tb


# ---------------------------------------------------------------------------
# logsumexp
# ---------------------------------------------------------------------------

SLOPES = np.array([1.0, -1.5, 0.25, 2.0])


def _lse_lines(offsets):
    """x -> logsumexp(SLOPES x + offsets) and its mpmath truth."""
    off = np.asarray(offsets, dtype=np.float64)

    def f(x):
        return nnp.logsumexp(SLOPES * x + off)

    def mf(x):
        return mp.log(mp.fsum(mp.exp(mp.mpf(float(s)) * x + mp.mpf(float(o))) for s, o in zip(SLOPES, off)))

    return f, mf


@pytest.mark.parametrize("k", [0, 1, 2, 3])
@pytest.mark.parametrize("where", ["tie at x0", "generic", "x0 at an end"])
def test_logsumexp_taylor_bounds_are_sound(k, where):
    if where == "tie at x0":  # lines 0 and 1 cross at x0 = 0.4: the largest two tie there
        f, mf = _lse_lines([0.0, 1.0, -2.0, -3.0])
        x0, a, b = 0.4, -0.6, 1.2
    elif where == "generic":
        f, mf = _lse_lines([0.3, -0.2, 0.1, -1.0])
        x0, a, b = -0.35, -1.0, 0.8
    else:
        f, mf = _lse_lines([0.0, 1.0, -2.0, -3.0])
        x0, a, b = 0.0, 0.0, 1.0
    for pieces in (1, 4):
        tb = _check(f, mf, x0, a, b, k, pieces=pieces)
        assert tb.degree == k  # smooth: no degree lost, also at the tie


def test_logsumexp_with_the_mpmath_backend_is_sound():
    f, mf = _lse_lines([0.0, 1.0, -2.0, -3.0])
    _check(f, mf, 0.4, -0.6, 1.2, 2, backend=200, n=40)


def test_a_tie_at_x0_keeps_the_degree_where_the_max_shift_lost_it():
    """The former composition m + log(sum(exp(x - m))), m = stop_gradient(max(x)),
    drops to a slope form where two entries tie at x0; the primitive does not."""
    def shifted(x):
        z = nnp.stack([x, -x])
        m = nnp.stop_gradient(nnp.max(z))
        return nnp.log(nnp.sum(nnp.exp(z - m))) + m

    lse = lambda x: nnp.logsumexp(nnp.stack([x, -x]))  # noqa: E731  (= log(2 cosh x))
    old = taylor_bounds(shifted, 0.0, (-0.5, 0.5), 2)
    new = taylor_bounds(lse, 0.0, (-0.5, 0.5), 2)
    assert old.degree == 0 and new.degree == 2
    # f = log 2 + x^2/2 - x^4/12 + ...: exact coefficients enclosed, remainder sound
    lo, hi = new.coefficients[2]
    assert lo <= 0.5 <= hi and hi - lo < 1e-14
    with mp.workdps(DPS):
        check_taylor(new, lambda x: mp.log(2 * mp.cosh(x)), 0.0, -0.5, 0.5,
                     coeffs=[mp.log(2), mp.mpf(0), mp.mpf(0.5)])


def test_two_entries_are_as_sharp_as_the_smooth_composition():
    """logsumexp(x, 0) = log(1 + exp(x)) = softplus(x): the primitive's
    enclosure is that of the smooth composition (same widths), and with
    pieces within 1 % of the true remainder range (sampled in 50 digits)
    for degrees up to 2."""
    f = lambda x: nnp.logsumexp(nnp.stack([x, nnp.zeros_like(x)]))  # noqa: E731
    g = lambda x: nnp.log(1 + nnp.exp(x))  # noqa: E731
    sp = lambda x: mp.log1p(mp.exp(x))  # noqa: E731
    x0, a, b = 0.5, -1.0, 2.0
    for k in (0, 1, 2, 3):
        for pieces in (1, 8):
            ours = taylor_bounds(f, x0, (a, b), k, pieces=pieces)
            ref = taylor_bounds(g, x0, (a, b), k, pieces=pieces)
            w, wref = ours.remainder[1] - ours.remainder[0], ref.remainder[1] - ref.remainder[0]
            assert abs(w - wref) <= 1e-4 * wref
        if k <= 2:
            with mp.workdps(DPS):
                c = mp.taylor(sp, mp.mpf(x0), k)
                zs = [mp.mpf(x) - x0 for x in np.linspace(a, b, 301) if abs(x - x0) > 1e-3]
                r = [(sp(z + x0) - mp.fsum(ci * z ** i for i, ci in enumerate(c))) / z ** (k + 1) for z in zs]
                assert w <= 1.01 * float(max(r) - min(r))


def test_logsumexp_natural_range_is_exact_and_shapes_follow_numpy():
    box = [(0.0, 1.0), (-1.0, 0.5), (0.25, 0.75)]
    lo_true = np.log(np.sum(np.exp([0.0, -1.0, 0.25])))
    hi_true = np.log(np.sum(np.exp([1.0, 0.5, 0.75])))
    for degree in (-1, 0, 1):
        lo, hi = enclose(nnp.logsumexp, box, degree=degree)
        assert lo <= lo_true and hi_true <= hi
        assert hi - lo <= (hi_true - lo_true) * (1 + 1e-12) + 1e-14  # increasing in each entry
    W = np.array([[1.0, -0.5], [0.3, 0.8], [-1.2, 0.1]])

    def g(x):
        z = nnp.reshape(W @ x, (1, 3)) + np.array([[0.0], [0.5]])  # (2, 3)
        return nnp.logsumexp(z, axis=1, keepdims=True)

    lo, hi = enclose(g, [(-1, 1), (0, 2)])
    assert lo.shape == (2, 1)
    rng = np.random.default_rng(0)
    for _ in range(200):
        x = rng.uniform([-1, 0], [1, 2])
        v = g(x)
        assert np.all(lo <= v + 1e-13) and np.all(v - 1e-13 <= hi)
    # one entry along the axis: logsumexp(x) = x, exactly as enclosed
    h = lambda x: nnp.logsumexp(nnp.reshape(nnp.exp(x), (1,)), axis=0)  # noqa: E731
    t1, t2 = taylor_bounds(h, 0.2, (0.0, 1.0), 2), taylor_bounds(nnp.exp, 0.2, (0.0, 1.0), 2)
    assert t1.remainder == t2.remainder and t1.coefficients == t2.coefficients


def test_vector_input_remainder_tensor_is_sound():
    A = np.array([[1.0, -0.5], [0.3, 0.8], [-1.2, 0.1], [0.0, 0.0]])

    def f(x):
        return nnp.logsumexp(A @ x)

    def m(u, v):
        return mp.log(mp.fsum(mp.exp(mp.mpf(float(r[0])) * u + mp.mpf(float(r[1])) * v) for r in A))

    x0 = np.array([0.2, -0.1])
    r = 0.6
    tb = taylor_bounds(f, x0, (x0 - r, x0 + r), 1)
    assert tb.degree == 1
    Rlo, Rhi = tb.remainder
    with mp.workdps(DPS):
        g = precision.grad(f, x0, dps=DPS)
        f0 = m(mp.mpf(float(x0[0])), mp.mpf(float(x0[1])))
        for u in np.linspace(x0[0] - r, x0[0] + r, 7):
            for v in np.linspace(x0[1] - r, x0[1] + r, 7):
                z = [mp.mpf(float(u)) - mp.mpf(float(x0[0])), mp.mpf(float(v)) - mp.mpf(float(x0[1]))]
                rest = m(mp.mpf(float(u)), mp.mpf(float(v))) - f0 - g[0] * z[0] - g[1] * z[1]
                lo = sum(min(Rlo[i, j] * z[i] * z[j], Rhi[i, j] * z[i] * z[j]) for i in range(2) for j in range(2))
                hi = sum(max(Rlo[i, j] * z[i] * z[j], Rhi[i, j] * z[i] * z[j]) for i in range(2) for j in range(2))
                assert lo - 1e-30 <= rest <= hi + 1e-30


# ---------------------------------------------------------------------------
# majorization-minimization on cross-entropy
# ---------------------------------------------------------------------------


def _tied_classification():
    """Three Gaussian blobs, MLP 2-6-3, and a start where all three logits
    tie for every example (identical output columns, zero output bias)."""
    rng = np.random.default_rng(0)
    n = 24
    centers = np.array([[0.0, 1.0], [1.0, -0.5], [-1.0, -0.5]])
    y = np.arange(n) % 3
    X = centers[y] + 0.5 * rng.normal(size=(n, 2))
    net = MLP([2, 6, 3], activation="tanh")
    theta = net.init(seed=0)
    W = theta[18:36].reshape(6, 3)
    theta[18:36] = np.repeat(W[:, :1], 3, axis=1).ravel()
    theta[36:39] = 0.0
    return net, X, y, theta


def _shifted_cross_entropy(logits, target):
    """The former nnp.logsumexp, written out: m + log(sum(exp(z - m))), m = max."""
    m = nnp.stop_gradient(nnp.max(logits, axis=-1, keepdims=True))
    lse = nnp.log(nnp.sum(nnp.exp(logits - m), axis=-1)) + m[..., 0]
    return nnp.mean(lse - nnp.sum(logits * target, axis=-1))


def test_mm_on_cross_entropy_makes_progress_where_logits_tie():
    net, X, y, theta = _tied_classification()
    obj = nnopt.Objective(net, "cross_entropy", X, y)
    assert obj(theta) == pytest.approx(np.log(3.0), rel=1e-14)  # all logits tie
    res = mm_minimize(obj, theta, steps=20)
    loss = np.append(res.history["loss"], res.fun)
    assert res.status == 0 and np.all(res.history["rate"] > 0)
    assert np.all(np.diff(loss) <= 0)
    assert res.fun < 0.5 * loss[0]  # real progress (about 95 % in 20 steps)
    # the same function with the max shift: the kink at the tie gives no
    # certified decrease (it stalls at once), so the primitive matters
    shifted = nnopt.Objective(net, _shifted_cross_entropy, X, np.eye(3)[y])
    old = mm_minimize(shifted, theta, steps=20)
    assert res.fun < old.fun


def test_safe_rate_at_a_tie_holds_in_exact_arithmetic():
    net, X, y, theta = _tied_classification()
    obj = nnopt.Objective(net, "cross_entropy", X, y)
    _, g = obj.value_and_grad(theta)
    sr = safe_rate(obj, theta, -g, 1.0)
    assert sr.rate > 0 and sr.decrease < 0
    with mp.workdps(40):
        t0 = np.array([mp.mpf(float(v)) for v in theta], dtype=object)
        gm = np.array([mp.mpf(float(v)) for v in g], dtype=object)
        f0 = precision.evaluate(lambda t: obj(t), t0, dps=40)
        f1 = precision.evaluate(lambda t: obj(t), t0 - mp.mpf(sr.rate) * gm, dps=40)
        f0 = f0.item() if isinstance(f0, np.ndarray) else f0
        f1 = f1.item() if isinstance(f1, np.ndarray) else f1
        assert f1 - f0 <= mp.mpf(sr.decrease) + mp.mpf(10) ** -30


# ---------------------------------------------------------------------------
# elu
# ---------------------------------------------------------------------------


def _elu_mp(alpha):
    a = mp.mpf(alpha)
    return lambda u: u if u > 0 else a * mp.expm1(u)


@pytest.mark.parametrize("alpha", [1.0, 0.5, 2.0])
@pytest.mark.parametrize("k", [0, 1, 2, 3])
def test_elu_switch_inside_the_trust_region_is_sound(alpha, k):
    f = lambda x: nnp.elu(x * 1.5 - 0.2, alpha)  # noqa: E731
    m = lambda x: _elu_mp(alpha)(mp.mpf(1.5) * x - mp.mpf(0.2))  # noqa: E731
    for x0, pieces in ((0.6, 1), (-0.4, 1), (0.6, 4), (-0.4, 4), (-1.0, 1), (1.0, 4)):
        tb = _check(f, m, x0, -1.0, 1.0, k, pieces=pieces, n=60)
        assert tb.degree == k  # the switch is away from x0
    # the switch exactly at x0 (x0 = 0.2 / 1.5 is not a float; h(x0) = 0 for h = x):
    tb = _check(lambda x: nnp.elu(x, alpha), _elu_mp(alpha), 0.0, -1.0, 1.0, k)
    assert tb.degree == 0 or k == 0


@pytest.mark.parametrize("alpha", [1.0, 0.5])
def test_elu_without_a_switch_is_the_sharp_branch_enclosure(alpha):
    neg = taylor_bounds(lambda x: nnp.elu(x, alpha), -0.5, (-1.0, -0.1), 2)
    ref = taylor_bounds(lambda x: alpha * nnp.expm1(x), -0.5, (-1.0, -0.1), 2)
    assert neg.degree == 2
    np.testing.assert_allclose(neg.remainder, ref.remainder, rtol=1e-12)
    for c, cr in zip(neg.coefficients, ref.coefficients):
        np.testing.assert_allclose(c, cr, rtol=1e-13)
    pos = taylor_bounds(lambda x: nnp.elu(x, alpha), 0.5, (0.1, 1.0), 2)
    assert pos.coefficients[2] == 0.0 and abs(pos.remainder[0]) < 1e-300 and abs(pos.remainder[1]) < 1e-300
    lo, hi = pos.coefficients[1]
    assert lo <= 1.0 <= hi and hi - lo < 1e-15


def test_elu_range_is_exact_and_alpha_must_be_a_constant():
    for alpha in (1.0, 0.3):
        lo, hi = enclose(lambda x: nnp.elu(x, alpha), (-1.0, 1.0))
        assert lo <= alpha * np.expm1(-1.0) and 1.0 <= hi
        assert hi - lo <= (1.0 - alpha * np.expm1(-1.0)) * (1 + 1e-12)
    with pytest.raises(UnsupportedBoundError, match="alpha"):
        enclose(lambda x: nnp.elu(x[0], x[1]), [(-1, 1), (0.5, 1)])


def test_elu_network_objective_along_a_line_is_sound():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(12, 2))
    Y = np.sin(X[:, :1])
    net = MLP([2, 5, 1], activation="elu")
    obj = nnopt.Objective(net, "mse", X, Y)
    theta = net.init(seed=1)
    d = rng.normal(size=theta.shape) * 0.3
    line = lambda eta: obj(theta + eta * d)  # noqa: E731
    tb = taylor_bounds(line, 0.0, (-0.3, 0.6), 1, pieces=3)
    with mp.workdps(30):
        th = precision.to_mp(theta)
        dm = precision.to_mp(d)

        def F(eta):
            v = precision.evaluate(lambda t: obj(t), th + mp.mpf(float(eta)) * dm, dps=30)
            return v.item() if isinstance(v, np.ndarray) else v

        f0 = F(0.0)
        g = precision.grad(lambda e: obj(th + e * dm), np.array(mp.mpf(0), dtype=object), dps=30)
        g = g.item() if isinstance(g, np.ndarray) else g
        rlo, rhi = tb.remainder
        for eta in np.linspace(-0.3, 0.6, 31):
            if abs(eta) < 1e-9:
                continue
            z = mp.mpf(float(eta))
            r = (F(eta) - f0 - (g * z if tb.degree == 1 else 0)) / z ** (tb.degree + 1)
            assert rlo - 1e-20 <= r <= rhi + 1e-20


# ---------------------------------------------------------------------------
# pieces of a piecewise function (a regression: pieces away from x0 may lie on
# another branch, with other Taylor coefficients)
# ---------------------------------------------------------------------------

PIECEWISE = {
    "relu(x) + x^2": (lambda x: nnp.relu(x) + x * x, lambda x: max(x, mp.mpf(0)) + x * x),
    "where(x > 0, x, x/2)": (lambda x: nnp.where(x > 0, x, 0.5 * x), lambda x: x if x > 0 else x / 2),
    "maximum(x, x/5)": (lambda x: nnp.maximum(x, 0.2 * x), lambda x: max(x, mp.mpf(0.2) * x)),
    "elu(x, 1/2)": (lambda x: nnp.elu(x, 0.5), _elu_mp(0.5)),
}


@pytest.mark.parametrize("name", sorted(PIECEWISE))
def test_pieces_on_other_branches_are_rebased_to_the_coefficients_at_x0(name):
    f, mf = PIECEWISE[name]
    for x0, k in ((-0.3, 1), (0.4, 2), (0.0, 1)):
        one = taylor_bounds(f, x0, (-1.0, 1.0), k)
        many = _check(f, mf, x0, -1.0, 1.0, k, pieces=8)
        assert many.degree == one.degree
        w1 = one.remainder[1] - one.remainder[0]
        w8 = many.remainder[1] - many.remainder[0]
        assert w8 <= w1 * (1 + 1e-12)
