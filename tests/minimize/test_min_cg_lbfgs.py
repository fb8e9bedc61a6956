"""Nonlinear CG (all beta rules) and L-BFGS: hand-computed steps and convergence."""
import numpy as np
import pytest

import nnopt
from nnopt.minimize import BETAS, minimize

from min_problems import make_mlp, make_quadratic, rosenbrock, rosenbrock_x0


def test_gd_fixed_step_by_hand():
    f, A, b, _ = make_quadratic(4, cond=10.0, seed=1)
    x0 = np.array([1.0, -2.0, 0.5, 3.0])
    seen = []
    res = minimize(f, x0, method="gd", step_size=0.05, maxiter=3, gtol=0,
                   callback=lambda r: seen.append(r.x.copy()))
    x = x0
    for k in range(3):
        x = x - 0.05 * (A @ x - b)          # x_{k+1} = x_k - lr * grad f(x_k)
        np.testing.assert_allclose(seen[k], x, rtol=1e-14, atol=1e-14)
    np.testing.assert_array_equal(res.x, seen[-1])
    assert res.nit == 3 and res.nfev == 4 and res.njev == 4  # one f&g per step plus x0
    assert res.status == 1 and not res.success  # maxiter


@pytest.mark.parametrize("beta", ["fr", "pr", "hs", "dy"])
def test_cg_two_iterations_by_hand(beta):
    """On a quadratic with exact line searches: alpha_k = -g_k.d_k / d_k.A d_k,
    beta by its formula; the line search here is More-Thuente with c2 = 1e-9,
    which lands on the exact 1-D minimizer (its cubic step is exact on a parabola)."""
    f, A, b, _ = make_quadratic(5, cond=20.0, seed=2)
    x0 = np.linspace(-1, 1, 5)
    seen = []
    minimize(f, x0, method="cg", beta=beta, c1=1e-12, c2=1e-9, maxiter=2, gtol=0,
             callback=lambda r: seen.append(r.x.copy()))
    x, g = x0, A @ x0 - b
    d = -g
    for k in range(2):
        alpha = -(g @ d) / (d @ A @ d)
        x = x + alpha * d
        np.testing.assert_allclose(seen[k], x, rtol=1e-9, atol=1e-12)
        g_new = A @ x - b
        y = g_new - g
        bk = {"fr": g_new @ g_new / (g @ g), "pr": g_new @ y / (g @ g),
              "hs": g_new @ y / (d @ y), "dy": g_new @ g_new / (d @ y)}[beta]
        d = -g_new + bk * d
        g = g_new


@pytest.mark.parametrize("beta", BETAS)
def test_cg_exact_line_search_converges_in_n_steps(beta):
    n = 12
    f, A, b, x_star = make_quadratic(n, cond=50.0, seed=3)
    res = minimize(f, np.zeros(n), method="cg", beta=beta, c1=1e-12, c2=1e-9, maxiter=n, gtol=0)
    assert res.nit <= n
    # n exact line searches on an n-dim quadratic: finite termination, up to
    # the rounding of the (c2 = 1e-9) line searches; an iterative rate with
    # condition number 50 would still be at ~1e-2 here.
    assert np.linalg.norm(res.x - x_star) <= 1e-7 * np.linalg.norm(x_star)


@pytest.mark.parametrize("beta", BETAS)
@pytest.mark.parametrize("line_search", ["more-thuente", "hager-zhang"])
def test_cg_converges_on_a_convex_quadratic(beta, line_search):
    """More-Thuente's sufficient-decrease test compares f values, which sink to
    rounding level at ||g|| ~ 1e-6 here (f - f* ~ 1e-13 with |f| ~ 2); the
    Hager-Zhang approximate Wolfe conditions use slopes and go on to the
    float64 floor, ||g|| ~ 1e-14."""
    n = 30
    f, A, b, x_star = make_quadratic(n, cond=1e3, seed=4)
    gtol = {"more-thuente": 1e-5, "hager-zhang": 1e-11}[line_search]
    res = minimize(f, np.zeros(n), method="cg", beta=beta, line_search=line_search, gtol=gtol)
    assert res.success, res.message
    err = np.linalg.norm(res.x - x_star) / np.linalg.norm(x_star)
    # ||x - x*|| <= ||g|| / lambda_min with lambda_min = 1
    assert err <= {"more-thuente": 1e-4, "hager-zhang": 1e-10}[line_search]


@pytest.mark.parametrize("method,opts", [("cg", {"beta": b}) for b in BETAS]
                         + [("cg", {"beta": "hz", "line_search": "hager-zhang"}),
                            ("lbfgs", {}), ("lbfgs", {"line_search": "hager-zhang"})])
@pytest.mark.parametrize("n", [2, 100])
def test_converges_on_rosenbrock(method, opts, n):
    res = minimize(rosenbrock, rosenbrock_x0(n), method=method, gtol=1e-6, **opts)
    assert res.success, res.message
    np.testing.assert_allclose(res.x, 1.0, atol=1e-4)
    assert res.fun < 1e-9


@pytest.mark.parametrize("method,opts", [("cg", {"beta": b}) for b in BETAS] + [("lbfgs", {})])
def test_converges_on_a_small_mlp(method, opts):
    loss, theta0 = make_mlp(n_hidden=5, n_samples=25, seed=1)
    res = minimize(loss, theta0, method=method, gtol=1e-4, **opts)
    assert res.success, res.message
    assert np.max(np.abs(nnopt.grad(loss)(res.x))) <= 1e-4
    assert res.fun < 1e-2 * loss(theta0)
    h = res.history
    assert np.all(np.diff(h.fun) <= 0)  # Wolfe steps decrease f
