"""Newton (trust region and damped), Newton-CG, SR1, Levenberg-Marquardt, and
the trust-region subproblem."""
import numpy as np
import pytest

import nnopt
import nnopt.numpy as nnp
from nnopt.minimize import Status, minimize, solve_trust_region_subproblem

from min_problems import make_mlp, rosenbrock, rosenbrock_x0


def errors_along_run(method, x0, x_star, **opts):
    xs = [x0]
    minimize(rosenbrock, x0, method=method, gtol=0, maxiter=40,
             callback=lambda r: xs.append(r.x.copy()), **opts)
    return np.array([np.linalg.norm(x - x_star) for x in xs])


@pytest.mark.parametrize("globalization", ["trust-region", "line-search"])
def test_newton_converges_quadratically(globalization):
    """Near x* = 1: e_{k+1} <= C e_k^2 once in the region of quadratic
    convergence (C ~ ||H^{-1}|| ||D^3 f|| / 2, a few hundred for Rosenbrock),
    so that the digits double: e.g. 4e-5 -> 3e-7 -> 2e-14."""
    x_star = np.ones(4)
    x0 = x_star + np.array([0.005, -0.003, 0.002, 0.004])
    e = errors_along_run("newton", x0, x_star, globalization=globalization)
    k = np.flatnonzero((e > 1e-10) & (e < 1e-3))
    assert len(k) >= 2, e
    ratios = e[k + 1] / e[k] ** 2
    assert np.all(ratios < 1e3), ratios
    assert e[k[-1] + 1] < 1e-12  # the step after the last one above 1e-10 lands at rounding level
    assert e[k[-1] + 1] / e[k[-1]] < 1e-5  # superlinear: not a constant linear rate


def test_newton_cg_converges_superlinearly():
    x_star = np.ones(6)
    x0 = x_star + 0.03 * np.sin(np.arange(6.0) + 1)
    e = errors_along_run("newton-cg", x0, x_star)
    k = np.flatnonzero(e > 1e-9)
    # the forcing term eta_k = min(0.5, sqrt(||g_k||)) makes the inner CG more
    # accurate as g -> 0: the error never grows and the final steps shrink it
    # by many orders of magnitude at once (superlinear), after <= 15 steps
    assert np.all(e[k + 1] <= e[k])
    assert e[k[-1] + 1] / e[k[-1]] < 1e-4 and len(k) <= 15


@pytest.mark.parametrize("method,opts", [("newton", {}), ("newton", {"globalization": "line-search"}),
                                         ("newton-cg", {}), ("sr1", {}), ("bfgs", {})])
@pytest.mark.parametrize("n", [2, 20])
def test_second_order_methods_on_rosenbrock(method, opts, n):
    res = minimize(rosenbrock, rosenbrock_x0(n), method=method, gtol=1e-8, **opts)
    assert res.success, res.message
    assert res.fun < 1e-12 or np.isclose(res.fun, 3.98662385, atol=1e-6)  # global or the known local minimum
    assert np.max(np.abs(nnopt.grad(rosenbrock)(res.x))) <= 1e-8 * max(1, res.fun)
    if method in ("newton", "newton-cg"):
        assert res.nhev > 0


def test_newton_handles_negative_curvature():
    """Start at a saddle-ish point of f = x0^4 - x0^2 + x1^2 (H indefinite)."""
    f = lambda x: x[0] ** 4 - x[0] ** 2 + x[1] ** 2
    x0 = np.array([0.1, 0.5])
    assert np.linalg.eigvalsh(nnopt.hessian(f)(x0))[0] < 0
    for method, opts in [("newton", {}), ("newton", {"globalization": "line-search"}),
                         ("newton-cg", {}), ("sr1", {})]:
        res = minimize(f, x0, method=method, **opts)
        assert res.success, (method, res.message)
        np.testing.assert_allclose(np.abs(res.x), [np.sqrt(0.5), 0.0], atol=1e-7)


def test_trust_region_subproblem():
    rng = np.random.default_rng(0)
    for _ in range(20):
        n = 5
        M = rng.standard_normal((n, n))
        B = M + M.T
        g = rng.standard_normal(n)
        radius = rng.uniform(0.1, 3.0)
        step = solve_trust_region_subproblem(B, g, radius)
        p = step.p
        # optimality (N&W Theorem 4.1): (B + s I) p = -g, s >= 0, B + s I psd, s (radius - |p|) = 0
        assert np.linalg.norm(p) <= radius * (1 + 1e-10)
        s = -np.dot(p, B @ p + g) / np.dot(p, p)
        np.testing.assert_allclose((B + s * np.eye(n)) @ p, -g, atol=1e-7 * (1 + abs(s)))
        assert s >= -1e-8 and np.linalg.eigvalsh(B + s * np.eye(n))[0] >= -1e-7
        assert step.pred == pytest.approx(-(g @ p + 0.5 * p @ B @ p), rel=1e-10)
        # no random feasible point does better
        for _ in range(50):
            q = rng.standard_normal(n)
            q *= radius * rng.uniform() ** (1 / n) / np.linalg.norm(q)
            assert g @ q + 0.5 * q @ B @ q >= -step.pred - 1e-10
    # the hard case: g orthogonal to the eigenvector of the negative eigenvalue
    B = np.diag([-2.0, 1.0, 3.0])
    g = np.array([0.0, 1.0, 1.0])
    step = solve_trust_region_subproblem(B, g, 2.0)
    assert np.linalg.norm(step.p) == pytest.approx(2.0)
    np.testing.assert_allclose(step.p[1:], [-1 / 3, -1 / 5], rtol=1e-12)
    # interior Newton step when it fits
    step = solve_trust_region_subproblem(np.diag([2.0, 4.0]), np.array([2.0, 4.0]), 10.0)
    np.testing.assert_allclose(step.p, [-1.0, -1.0]) and not step.on_boundary


def exponential_data(dtype, m=30):
    t = np.linspace(0, 3, m)
    rng = np.random.default_rng(0)
    y = 2.5 * np.exp(-1.3 * t) + 0.5 + 0.01 * rng.standard_normal(m)
    return t.astype(dtype), y.astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("give_jac", [False, True])
def test_levenberg_marquardt_nonlinear_least_squares(dtype, give_jac):
    t, y = exponential_data(dtype)

    def residual(p):
        return p[0] * nnp.exp(-p[1] * t) + p[2] - y

    def jac(p):
        e = np.exp(-p[1] * t)
        return np.stack([e, -p[0] * t * e, np.ones_like(t)], axis=1)

    x0 = np.array([1.0, 0.5, 0.0], dtype=dtype)
    res = minimize(residual, x0, method="lm", jac=jac if give_jac else None)
    assert res.success, res.message
    assert res.x.dtype == dtype and res.residual.dtype == dtype and type(res.fun) is dtype
    # the optimality condition of least squares, J^T r = 0, at the dtype's level
    J = jac(res.x)
    np.testing.assert_allclose(res.jac, J.T @ res.residual, rtol=1e-4, atol=1e-6)
    # agrees with the float64 normal equations solution (Gauss-Newton refinement)
    import scipy.optimize
    ref = scipy.optimize.least_squares(lambda p: np.asarray(residual(p.astype(dtype)), float), x0.astype(float),
                                       jac=lambda p: jac(p.astype(dtype)).astype(float), method="lm",
                                       xtol=1e-15, ftol=1e-15, gtol=1e-15)
    tol = 1e-3 if dtype == np.float32 else 1e-8
    np.testing.assert_allclose(res.x, ref.x, rtol=tol, atol=tol)
    assert res.fun == pytest.approx(ref.cost, rel=10 * tol)
    assert res.nit < 30 and res.njev == res.nit + 1


def test_levenberg_marquardt_rosenbrock_residuals_and_errors():
    # Rosenbrock as least squares: r = (10 (x1 - x0^2), 1 - x0); zero residual at (1, 1)
    res = minimize(lambda x: nnp.stack([10 * (x[1] - x[0] ** 2), 1 - x[0]]), np.array([-1.2, 1.0]),
                   method="lm", gtol=1e-12)
    assert res.success
    np.testing.assert_allclose(res.x, [1.0, 1.0], atol=1e-10)
    with pytest.raises(ValueError, match="1-D residual"):
        minimize(lambda x: nnp.sum(x ** 2), np.ones(2), method="lm")
    with pytest.raises(TypeError, match="hessp/hess"):
        minimize(lambda x: x, np.ones(2), method="lm", hess=lambda x: np.eye(2))
    with pytest.raises(TypeError, match="dtype"):
        minimize(lambda x: x.astype(np.float64), np.ones(2, np.float32), method="lm")


def test_sr1_and_newton_on_a_small_mlp():
    loss, theta0 = make_mlp(n_hidden=3, n_samples=12, seed=2)
    for method in ("sr1", "newton"):
        res = minimize(loss, theta0, method=method, gtol=1e-6, maxiter=500)
        assert res.status in (Status.SUCCESS,), (method, res.message)
        assert res.fun < loss(theta0)
