"""Line searches: the conditions they claim, exact evaluation counts, dtype, errors."""
import numpy as np
import pytest

import nnopt
import nnopt.numpy as nnp
from nnopt.minimize import (LineFunction, LineSearchStatus, armijo, hager_zhang, line_search,
                            more_thuente)
from nnopt.minimize._problem import Problem

DTYPES = [np.float32, np.float64]
SEEDS = range(25)


def random_smooth(seed, n=6, dtype=np.float64):
    """A random smooth function bounded below along every ray: a positive
    definite quadratic plus sines and softplus terms."""
    rng = np.random.default_rng(seed)
    M = rng.standard_normal((n, n))
    A = (M @ M.T / n + 0.5 * np.eye(n)).astype(dtype)
    b = rng.standard_normal(n).astype(dtype)
    C = rng.standard_normal((n, n)).astype(dtype)
    c = rng.standard_normal(n).astype(dtype)
    w = (0.5 * rng.standard_normal(n)).astype(dtype)

    def f(x):
        return (0.5 * nnp.dot(x, A @ x) + nnp.dot(b, x) + nnp.sum(w * nnp.sin(C @ x + c))
                + 0.1 * nnp.sum(nnp.softplus(C @ x)))

    return f


def counted(f):
    """fun and jac as plain callables with call counters."""
    calls = {"fun": 0, "jac": 0}
    g = nnopt.grad(f)

    def fun(x):
        calls["fun"] += 1
        return f(x)

    def jac(x):
        calls["jac"] += 1
        return g(x)

    return fun, jac, calls


def setup(seed, dtype):
    f = random_smooth(seed, dtype=dtype)
    rng = np.random.default_rng(1000 + seed)
    x = rng.standard_normal(6).astype(dtype)
    g = nnopt.grad(f)(x)
    d = rng.standard_normal(6).astype(dtype) * np.abs(g).max()
    if np.dot(g, d) >= 0:
        d = -d
    if np.dot(g, d) > -0.05 * np.linalg.norm(g) * np.linalg.norm(d):  # keep clearly descent
        d = d - g
    return f, x, d, f(x), g


def check_counts(res, calls):
    assert res.nfev == calls["fun"]
    assert res.njev == calls["jac"]


@pytest.mark.parametrize("dtype", DTYPES)
def test_armijo_condition_and_counts(dtype):
    for seed in SEEDS:
        f, x, d, f0, g0 = setup(seed, dtype)
        fun, jac, calls = counted(f)
        alpha0 = 10.0 * (1 + seed % 3)  # often too long: exercises backtracking
        res = line_search(fun, x, d, jac, method="armijo", f0=f0, g0=g0, alpha0=alpha0)
        assert res.success, res.message
        dphi0 = np.dot(g0, d)
        assert res.fun <= f0 + dtype(1e-4) * res.alpha * dphi0
        assert res.fun == f(x + res.alpha * d)
        assert np.array_equal(res.x, x + res.alpha * d)
        check_counts(res, calls)
        assert res.njev == 1  # gradient only at the accepted step
        assert type(res.alpha) is dtype and res.x.dtype == dtype and res.jac.dtype == dtype


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("c2", [0.1, 0.9])
def test_more_thuente_strong_wolfe_and_counts(dtype, c2):
    successes = 0
    for seed in SEEDS:
        f, x, d, f0, g0 = setup(seed, dtype)
        fun, jac, calls = counted(f)
        alpha0 = [1e-3, 1.0, 30.0][seed % 3]  # too short, about right, too long
        res = line_search(fun, x, d, jac, method="more-thuente", f0=f0, g0=g0, alpha0=alpha0, c2=c2)
        check_counts(res, calls)
        assert res.nfev == res.njev  # every trial evaluates f and g
        if not res.success:
            assert dtype == np.float32, res.message
            continue
        successes += 1
        dphi0 = np.dot(g0, d)
        assert res.fun <= f0 + dtype(1e-4) * res.alpha * dphi0
        assert abs(res.dphi) <= dtype(c2) * abs(dphi0)
        assert res.dphi == np.dot(nnopt.grad(f)(x + res.alpha * d), d)
        assert type(res.alpha) is dtype
    assert successes >= len(SEEDS) - 1


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("approximate", [False, True])
def test_hager_zhang_wolfe_or_approximate_wolfe(dtype, approximate):
    c1, c2 = 0.1, 0.9
    for seed in SEEDS:
        f, x, d, f0, g0 = setup(seed, dtype)
        fun, jac, calls = counted(f)
        alpha0 = [1e-3, 1.0, 30.0][seed % 3]
        eps_k = dtype(1e-6) * abs(f0)
        res = line_search(fun, x, d, jac, method="hager-zhang", f0=f0, g0=g0, alpha0=alpha0,
                          approximate=approximate, epsilon_k=eps_k)
        check_counts(res, calls)
        assert res.success, res.message
        dphi0 = np.dot(g0, d)
        curvature = res.dphi >= dtype(c2) * dphi0
        wolfe = res.fun - f0 <= dtype(c1) * res.alpha * dphi0
        approx = res.fun <= f0 + eps_k and res.dphi <= (2 * dtype(c1) - 1) * dphi0
        assert curvature and (wolfe or (approximate and approx))


def test_exact_counts_on_a_quadratic():
    """phi(alpha) = (alpha - 1)^2 - 1 along d: the unit step satisfies every
    condition, so each search evaluates once; from alpha0 = 4 More-Thuente's
    cubic step through a quadratic lands on the minimizer at the second trial."""
    f = lambda x: nnp.sum((x - 1.0) ** 2)
    x, d = np.zeros(3), np.ones(3)
    for method in ("armijo", "more-thuente", "hager-zhang"):
        fun, jac, calls = counted(f)
        res = line_search(fun, x, d, jac, method=method, f0=f(x), g0=nnopt.grad(f)(x))
        assert res.success and res.alpha == 1.0
        assert (res.nfev, res.njev) == (1, 1)
        check_counts(res, calls)
    fun, jac, calls = counted(f)
    res = line_search(fun, x, d, jac, method="more-thuente", alpha0=4.0, c2=1e-6)
    assert res.alpha == pytest.approx(1.0, rel=1e-12)
    # alpha0 = 4 is evaluated, then the interpolated minimizer; plus f(x), g(x) here
    assert (res.nfev, res.njev) == (2, 2) and calls == {"fun": 3, "jac": 3}
    # Armijo from alpha0 = 4: the quadratic interpolant is exact, so 2 trials
    fun, jac, calls = counted(f)
    res = line_search(fun, x, d, jac, method="armijo", alpha0=4.0, f0=f(x), g0=nnopt.grad(f)(x))
    assert res.alpha == 1.0 and (res.nfev, res.njev) == (2, 1)


@pytest.mark.parametrize("method", ["armijo", "more-thuente", "hager-zhang"])
def test_ascent_direction_is_an_error(method):
    f = lambda x: nnp.sum(x ** 2)
    x = np.array([1.0, 2.0])
    with pytest.raises(ValueError, match="not a descent direction"):
        line_search(f, x, np.array([1.0, 0.0]), method=method)
    with pytest.raises(ValueError, match="not a descent direction"):
        line_search(f, x, np.array([2.0, -1.0]), method=method)  # orthogonal: g.d = 0


@pytest.mark.parametrize("search", [armijo, more_thuente, hager_zhang])
def test_low_level_searches_report_ascent_status(search):
    f = lambda x: nnp.sum(x ** 2)
    x = np.array([1.0, 2.0])
    problem = Problem(f, x)
    f0, g0 = problem.fun_and_grad(x)
    phi = LineFunction(problem, x, g0.copy(), f0, g0)
    res = search(phi, 1.0)
    assert res.status == LineSearchStatus.NOT_DESCENT and not res.success
    assert res.alpha == 0 and res.nfev == 0 and np.array_equal(res.x, x)


@pytest.mark.parametrize("method", ["armijo", "more-thuente", "hager-zhang"])
def test_nonfinite_region_is_backtracked(method):
    """f is NaN beyond |x| > 2: a long first trial must be cut back."""
    def f(x):
        val = nnp.sum((x - 1.0) ** 2)
        return val if np.all(np.abs(nnopt.stop_gradient(x)) <= 2) else val * np.nan

    x, d = np.zeros(2), np.ones(2)
    res = line_search(f, x, d, method=method, alpha0=100.0)
    assert res.success and np.isfinite(res.fun) and 0 < res.alpha <= 2


def test_nonfinite_everywhere_gives_status():
    calls = {"n": 0}

    def fun(x):
        calls["n"] += 1
        return np.float64(np.nan) if calls["n"] > 1 else np.sum(x ** 2)

    x = np.array([1.0, 1.0])
    res = line_search(fun, x, -x, lambda x: 2 * x, method="more-thuente")
    assert not res.success and res.status == LineSearchStatus.NONFINITE
    assert res.alpha == 0 and np.array_equal(res.x, x)


def test_bad_inputs():
    f = lambda x: nnp.sum(x ** 2)
    x = np.array([1.0, 2.0])
    with pytest.raises(ValueError, match="method"):
        line_search(f, x, -x, method="wolfe")
    with pytest.raises(ValueError, match="d: expected shape"):
        line_search(f, x, np.ones(3))
    with pytest.raises(TypeError, match="d: expected dtype float64"):
        line_search(f, x, -x.astype(np.float32))
    with pytest.raises(TypeError, match="unknown option 'c2'"):
        line_search(f, x, -x, method="armijo", c2=0.9)
    with pytest.raises(ValueError, match="c1 < c2"):
        line_search(f, x, -x, method="more-thuente", c1=0.5, c2=0.4)
    with pytest.raises(ValueError, match="alpha0"):
        line_search(f, x, -x, alpha0=0.0)
    with pytest.raises(ValueError, match="x: must be finite"):
        line_search(f, np.array([np.inf, 0.0]), -x)
