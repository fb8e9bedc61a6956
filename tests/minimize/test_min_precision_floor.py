"""Float32: the line searches keep working at the precision floor."""
import numpy as np
import pytest
import scipy.optimize

import nnopt
from nnopt.minimize import Status, minimize

from min_problems import make_quadratic, rosenbrock, rosenbrock_x0

FLOOR_STATUSES = (Status.LINE_SEARCH, Status.NO_PROGRESS)


@pytest.mark.parametrize("method", ["gd", "cg", "lbfgs", "bfgs", "newton-cg", "newton", "sr1"])
def test_float32_quadratic_reaches_the_floor(method):
    """On a float32 quadratic (cond 100) every method reaches ||x - x*|| at a
    few float32 ulps.  For the line-search methods this needs the switch to
    the approximate Wolfe conditions: function differences sink to rounding
    level long before that (see the next test)."""
    f, A, b, x_star = make_quadratic(20, cond=100.0, seed=5, dtype=np.float32)
    floor = 20 * np.finfo(np.float32).eps
    x_star_norm = np.linalg.norm(x_star)

    def stop_at_floor(r):
        if np.linalg.norm(r.x - x_star) <= floor * x_star_norm:
            raise StopIteration

    res = minimize(f, np.zeros(20, np.float32), method=method, gtol=0, maxiter=1000,
                   callback=stop_at_floor)
    assert res.x.dtype == np.float32
    assert res.status == Status.CALLBACK, res.message  # reached, not stopped before


@pytest.mark.parametrize("method", ["cg", "lbfgs"])
def test_without_the_approximate_wolfe_fallback_float32_stops_early(method):
    f, A, b, x_star = make_quadratic(20, cond=100.0, seed=5, dtype=np.float32)
    res = minimize(f, np.zeros(20, np.float32), method=method, gtol=0,
                   line_search_options={"floor_fallback": False})
    assert res.status == Status.LINE_SEARCH
    err = np.linalg.norm(res.x - x_star) / np.linalg.norm(x_star)
    assert err > 1e-5  # More-Thuente's sufficient decrease test gives up ~100x above the floor


def test_float32_rosenbrock100_cg_hager_zhang_goes_to_the_floor():
    """CG with the Hager-Zhang line search in float32 on Rosenbrock-100 runs
    until its steps no longer change x (status LINE_SEARCH / NO_PROGRESS, not
    an iteration limit), ending with a gradient smaller than at any float32
    neighbour of the minimizer (x* = 1 +- 1 ulp) and smaller than SciPy's CG
    on the same float32 objective, which stops with "precision loss"."""
    x0 = rosenbrock_x0(100, np.float32)
    vg = nnopt.value_and_grad(rosenbrock)

    def f64_view(x):
        f, g = vg(x.astype(np.float32))
        return float(f), g.astype(np.float64)

    ref = scipy.optimize.minimize(f64_view, x0.astype(np.float64), jac=True, method="CG",
                                  options={"gtol": 1e-12, "maxiter": 100000})
    assert "precision loss" in ref.message
    g_scipy = np.max(np.abs(ref.jac))

    one = np.ones(100, np.float32)
    neighbour = np.where(np.arange(100) % 2 == 0, np.nextafter(one, np.float32(2)), one)
    g_floor = np.max(np.abs(nnopt.grad(rosenbrock)(neighbour)))

    res = minimize(rosenbrock, x0, method="cg", beta="hz", line_search="hager-zhang", gtol=0,
                   maxiter=20000)  # CG_DESCENT
    assert res.status in FLOOR_STATUSES, res.message
    assert res.x.dtype == np.float32
    g_final = np.max(np.abs(res.jac))
    assert g_final < g_floor and g_final < g_scipy, (g_final, g_floor, g_scipy)
    assert res.fun < 1e-8
