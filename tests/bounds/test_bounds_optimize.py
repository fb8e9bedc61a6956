"""Verified global minimisation and integration against independent truths
(dense sampling plus local refinement in mpmath; mpmath.quad)."""
import mpmath
import numpy as np
import pytest
import scipy.optimize

import nnopt.numpy as nnp
from nnopt.bounds import MPBackend, ToleranceNotReached, global_minimize, integrate

mp = mpmath


def camel(x):
    a, b = x[0], x[1]
    return (4 - 2.1 * a ** 2 + a ** 4 / 3) * a ** 2 + a * b + (-4 + 4 * b ** 2) * b ** 2


CAMEL_MIN = -1.0316284534898774
CAMEL_ARGMIN = [(0.08984201310031806, -0.7126564030207396), (-0.08984201310031806, 0.7126564030207396)]


def test_six_hump_camel_verified_minimum_and_boxes():
    res = global_minimize(camel, [(-3, 3), (-2, 2)], tol=1e-5)
    assert res.success
    lo, hi = res.value
    assert hi - lo <= 1e-5
    assert lo <= CAMEL_MIN <= hi
    for xs in CAMEL_ARGMIN:
        inside = np.any(np.all((res.boxes[:, :, 0] <= xs) & (xs <= res.boxes[:, :, 1]), axis=1))
        assert inside, xs
    # the boxes are small: they localise the two minimisers
    assert np.max(res.boxes[:, :, 1] - res.boxes[:, :, 0]) < 0.05


def _dense_min(f_np, lo, hi, n=4001):
    xs = np.linspace(lo, hi, n)
    ys = f_np(xs)
    i = int(np.argmin(ys))
    r = scipy.optimize.minimize_scalar(f_np, bounds=(xs[max(i - 1, 0)], xs[min(i + 1, n - 1)]), method="bounded",
                                       options={"xatol": 1e-12})
    return min(float(ys[i]), float(r.fun)), float(r.x)


@pytest.mark.parametrize("case", range(4))
def test_multimodal_1d_minimum_contains_the_sampled_truth(case):
    rng = np.random.default_rng(case)
    w = rng.uniform(2, 9, 3)
    p = rng.uniform(0, 3, 3)

    def f(x):
        return nnp.sin(w[0] * x + p[0]) + 0.5 * nnp.cos(w[1] * x + p[1]) + 0.3 * nnp.tanh(w[2] * x - p[2]) + 0.05 * x * x

    def f_np(x):
        return np.sin(w[0] * x + p[0]) + 0.5 * np.cos(w[1] * x + p[1]) + 0.3 * np.tanh(w[2] * x - p[2]) + 0.05 * x * x

    res = global_minimize(f, (-3.0, 3.0), tol=1e-6)
    assert res.success
    truth, xstar = _dense_min(f_np, -3.0, 3.0)
    lo, hi = res.value
    # the sampled minimum is an upper bound of the true one, and within tol of it
    assert lo <= truth + 1e-12
    assert hi >= truth - 1e-6 - 1e-12
    assert np.any((res.boxes[:, 0, 0] <= xstar + 1e-6) & (xstar - 1e-6 <= res.boxes[:, 0, 1]))


def test_minimum_at_a_kink_and_on_the_boundary():
    res = global_minimize(lambda x: nnp.abs(x[0] - 0.3) + nnp.relu(x[1]) + x[1], [(-1, 1), (0.2, 1)], tol=1e-6)
    lo, hi = res.value
    assert lo <= 0.4 <= hi and hi - lo <= 1e-6


def test_iteration_limit_is_reported():
    res = global_minimize(camel, [(-3, 3), (-2, 2)], tol=1e-12, max_iter=3)
    assert not res.success and res.status == 1
    lo, hi = res.value
    assert lo <= CAMEL_MIN <= hi


INTEGRANDS = [
    (lambda x: nnp.exp(-x * x), lambda x: mp.exp(-x * x), 0.0, 2.0, []),
    (lambda x: nnp.sin(x) * nnp.log1p(x), lambda x: mp.sin(x) * mp.log1p(x), 0.0, 3.0, []),
    (lambda x: nnp.abs(x - 0.3) * nnp.tanh(x), lambda x: abs(x - mp.mpf(0.3)) * mp.tanh(x), -1.0, 2.0, [0.3]),
    (lambda x: nnp.sqrt(1 + x ** 4), lambda x: mp.sqrt(1 + x ** 4), -1.0, 1.5, []),
    (lambda x: nnp.sigmoid(5 * x) * nnp.cos(3 * x), lambda x: mp.cos(3 * x) / (1 + mp.exp(-5 * x)), 1.0, -2.0, []),
]


@pytest.mark.parametrize("i", range(len(INTEGRANDS)))
def test_integral_contains_mpmath_quad(i):
    f, mf, a, b, kinks = INTEGRANDS[i]
    tol = 1e-9
    lo, hi = integrate(f, a, b, tol)
    assert hi - lo <= tol
    with mp.workdps(40):
        pts = sorted([mp.mpf(a), mp.mpf(b)] + [mp.mpf(k) for k in kinks])
        truth = mp.quad(mf, pts)
        if a > b:
            truth = -truth
        assert lo <= truth <= hi


def test_integral_with_the_mpmath_backend_goes_below_float_resolution():
    lo, hi = integrate(lambda x: nnp.exp(-x * x), 0.5, 0.0, 1e-18, degree=9, backend=MPBackend(120))
    assert isinstance(lo, mp.mpf)
    with mp.workdps(40):
        assert hi - lo <= mp.mpf(1e-18)
        truth = -mp.quad(lambda x: mp.exp(-x * x), [0, 0.5])
        assert lo <= truth <= hi


def test_unreachable_tolerance_is_reported_with_the_enclosure():
    with pytest.raises(ToleranceNotReached) as info:
        integrate(lambda x: nnp.sin(20 * x), 0.0, 3.0, 1e-14, max_pieces=8)
    lo, hi = info.value.enclosure
    with mp.workdps(30):
        truth = (1 - mp.cos(60)) / 20
    assert lo <= truth <= hi
