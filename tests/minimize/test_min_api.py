"""minimize(): interface, options, dtype faithfulness, bad input, divergence."""
import numpy as np
import pytest
import scipy.optimize

import nnopt
import nnopt.numpy as nnp
import nnopt.minimize as nmin
from nnopt.minimize import METHODS, OptimizeResult, Status, minimize

from min_problems import make_quadratic, rosenbrock, rosenbrock_x0

LINE_SEARCH_METHODS = ["gd", "cg", "lbfgs", "bfgs", "newton-cg"]
SMOOTH_METHODS = ["gd", "cg", "lbfgs", "bfgs", "sr1", "newton-cg", "newton"]


def quad(x):
    return nnp.sum((x - 1.0) ** 2) + 0.5 * nnp.sum(x ** 4)


def test_package_is_callable_and_a_package():
    import nnopt.minimize.line_search  # noqa: F401  (submodules still import)
    import nnopt.minimize.cg as cg_module

    assert callable(nmin) and nmin.minimize is minimize
    assert cg_module.BETAS == nmin.BETAS
    r1 = nmin(quad, np.zeros(3), method="cg")
    r2 = minimize(quad, np.zeros(3), method="cg")
    np.testing.assert_array_equal(r1.x, r2.x)
    assert set(METHODS) == {"gd", "cg", "lbfgs", "bfgs", "sr1", "newton-cg", "newton", "lm"}


@pytest.mark.parametrize("method", SMOOTH_METHODS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_result_fields_history_and_dtype(method, dtype):
    seen_dtypes = set()

    def f(x):
        seen_dtypes.add(x.dtype)
        return quad(x)

    x0 = np.array([0.5, -0.3, 2.0], dtype=dtype)
    res = minimize(f, x0, method=method, maxiter=20000)
    assert isinstance(res, OptimizeResult) and isinstance(res, scipy.optimize.OptimizeResult)
    assert res.success and res.status == Status.SUCCESS, res.message
    assert seen_dtypes == {np.dtype(dtype)}
    assert res.x.dtype == dtype and res.jac.dtype == dtype and type(res.fun) is dtype
    for key in ("x", "fun", "jac", "nit", "nfev", "njev", "nhev", "success", "status", "message",
                "history", "wall_time", "method"):
        assert key in res
    h = res.history
    assert len(h.fun) == res.nit + 1
    assert h.fun.dtype == dtype and h.grad_norm.dtype == dtype and h.step_norm.dtype == dtype
    assert h.fun[0] == quad(x0) and h.fun[-1] == res.fun
    assert h.nfev[-1] == res.nfev and h.njev[-1] == res.njev and h.nhev[-1] == res.nhev
    assert np.all(np.diff(h.nfev) >= 0) and np.all(np.diff(h.time) >= 0)
    assert res.wall_time >= h.time[-1]
    assert h.grad_norm[-1] == np.max(np.abs(res.jac))
    tol = np.sqrt(np.finfo(dtype).eps)
    assert h.grad_norm[-1] <= tol * max(1, min(abs(res.fun), abs(h.fun[0])))  # the default gtol test
    if method in ("newton", "sr1"):
        assert np.all(np.isnan(h.alpha[1:]))
    else:
        assert np.all(h.alpha[1:] > 0)


def test_exact_counts_with_plain_callables():
    calls = {"f": 0, "g": 0, "hp": 0}
    g = nnopt.grad(rosenbrock)

    def fun(x):
        calls["f"] += 1
        return rosenbrock(x)

    def jac(x):
        calls["g"] += 1
        return g(x)

    def hessp(x, v):
        calls["hp"] += 1
        return nnopt.hvp(rosenbrock, x, v)

    for method in ("cg", "lbfgs", "newton-cg", "gd"):
        calls.update(f=0, g=0, hp=0)
        res = minimize(fun, rosenbrock_x0(4), jac=jac, hessp=hessp, method=method, maxiter=50)
        assert (res.nfev, res.njev, res.nhev) == (calls["f"], calls["g"], calls["hp"])


def test_objective_object_uses_value_and_grad():
    class Obj:
        def __init__(self):
            self.calls = {"fun": 0, "jac": 0, "vg": 0, "hessp": 0}
            self._vg = nnopt.value_and_grad(rosenbrock)

        def fun(self, x):
            self.calls["fun"] += 1
            return rosenbrock(x)

        def jac(self, x):
            self.calls["jac"] += 1
            return nnopt.grad(rosenbrock)(x)

        def value_and_grad(self, x):
            self.calls["vg"] += 1
            return self._vg(x)

        def hessp(self, x, v):
            self.calls["hessp"] += 1
            return nnopt.hvp(rosenbrock, x, v)

    obj = Obj()
    res = minimize(obj, rosenbrock_x0(2), method="cg")
    assert res.success
    assert obj.calls["vg"] == res.nfev and obj.calls["fun"] == 0 and obj.calls["jac"] == 0
    obj = Obj()
    res = minimize(obj, rosenbrock_x0(2), method="newton-cg")
    assert res.success and obj.calls["hessp"] == res.nhev > 0


def test_jac_true_and_explicit_hess():
    vg = nnopt.value_and_grad(rosenbrock)
    res = minimize(vg, rosenbrock_x0(2), jac=True, method="lbfgs")
    assert res.success and np.allclose(res.x, 1.0)
    res = minimize(rosenbrock, rosenbrock_x0(2), hess=nnopt.hessian(rosenbrock), method="newton")
    assert res.success and np.allclose(res.x, 1.0)
    res = minimize(rosenbrock, rosenbrock_x0(2), hess=nnopt.hessian(rosenbrock), method="newton-cg")
    assert res.success and np.allclose(res.x, 1.0)


def test_callback_receives_intermediate_result_and_can_stop():
    seen = []

    def cb(intermediate_result):
        seen.append((intermediate_result.x.copy(), intermediate_result.fun, intermediate_result.nit))
        if intermediate_result.nit == 5:
            raise StopIteration

    res = minimize(rosenbrock, rosenbrock_x0(2), method="lbfgs", callback=cb)
    assert res.status == Status.CALLBACK and not res.success and res.nit == 5
    assert [s[2] for s in seen] == [1, 2, 3, 4, 5]
    np.testing.assert_array_equal(res.x, seen[-1][0])
    assert res.fun == seen[-1][1] == res.history.fun[-1]


def test_stopping_options():
    x0 = rosenbrock_x0(10)
    res = minimize(rosenbrock, x0, method="cg", maxiter=7)
    assert res.status == Status.MAXITER and res.nit == 7
    res = minimize(rosenbrock, x0, method="cg", maxfev=30)
    assert res.status == Status.MAXFEV and res.nfev >= 30
    assert res.history.nfev[-2] < 30  # checked between iterations
    res = minimize(rosenbrock, x0, method="lbfgs", ftol=1e-3)
    assert res.success and "ftol" in res.message
    f_prev, f_last = res.history.fun[-2:]
    assert f_prev - f_last <= 1e-3 * max(abs(f_prev), abs(f_last), 1)
    res = minimize(rosenbrock, x0, method="lbfgs", xtol=1e-4)
    assert res.success and "xtol" in res.message
    res = minimize(rosenbrock, x0, method="lbfgs", gtol=1e-2)
    assert res.success and "gtol" in res.message and res.history.grad_norm[-1] <= 1e-2
    h = res.history
    assert np.all(h.grad_norm[:-1] > 1e-2 * np.maximum(1, np.minimum(np.abs(h.fun[:-1]), h.fun[0])))
    res = minimize(rosenbrock, x0, method="lbfgs", gtol=0, ftol=0, maxiter=3000)
    assert res.status in (Status.LINE_SEARCH, Status.NO_PROGRESS)  # ran to the float64 floor
    assert res.fun < 1e-25
    res = minimize(rosenbrock, x0, method="lbfgs", norm=2, gtol=1e-3)
    assert res.history.grad_norm[-1] == pytest.approx(np.linalg.norm(res.jac))
    res = minimize(rosenbrock, x0, method="gd", max_time=1e-9)
    assert res.status == Status.TIME_LIMIT and res.nit <= 1


def test_converged_at_x0():
    res = minimize(quad, np.ones(3) * 0.6823278038280193, method="lbfgs")  # root of 2(x-1)+2x^3
    assert res.success and res.nit == 0 and "x0" in res.message


@pytest.mark.parametrize("method", SMOOTH_METHODS)
def test_nan_mid_run_keeps_last_finite_iterate(method):
    """After 12 evaluations the function returns NaN everywhere: the run must
    stop with NONFINITE (or a line-search status naming it) and keep the last
    finite iterate and its history."""
    calls = {"n": 0}
    vg = nnopt.value_and_grad(rosenbrock)

    def fun(x):
        calls["n"] += 1
        return rosenbrock(x) if calls["n"] <= 12 else np.float64(np.nan)

    def jac(x):
        return vg(x)[1]

    res = minimize(fun, rosenbrock_x0(2), jac=jac, hess=nnopt.hessian(rosenbrock),
                   hessp=lambda x, v: nnopt.hvp(rosenbrock, x, v), method=method)
    assert not res.success
    assert res.status == Status.NONFINITE, res.message
    assert np.all(np.isfinite(res.x)) and np.isfinite(res.fun)
    assert res.fun == rosenbrock(res.x) and res.fun == res.history.fun[-1]
    assert np.all(np.isfinite(res.history.fun))
    assert res.fun < rosenbrock(rosenbrock_x0(2))


def test_gd_divergence_stops_with_status():
    with np.errstate(over="ignore", invalid="ignore"):
        res = minimize(lambda x: nnp.sum(x ** 4), np.array([3.0, -2.0]), method="gd", step_size=1.0,
                       maxiter=100)
    assert res.status == Status.NONFINITE and not res.success
    assert np.all(np.isfinite(res.x)) and res.nit == len(res.history.fun) - 1 > 2
    assert np.all(np.isfinite(res.history.fun)) and np.all(np.diff(res.history.fun) > 0)


def test_nonfinite_region_is_avoided_by_line_searches():
    def f(x):
        # log barrier: NaN for x >= 2; the minimum (x = 1.5ish) is inside
        return nnp.sum((x - 1.0) ** 2 - 0.1 * nnp.log(2.0 - x))

    for method in LINE_SEARCH_METHODS:
        with np.errstate(invalid="ignore"):
            res = minimize(f, np.zeros(3), method=method, maxiter=5000)
        assert res.success, (method, res.message)
        assert np.all(res.x < 2)


def test_bad_input_errors():
    x0 = np.zeros(3)
    with pytest.raises(ValueError, match="method: expected one of"):
        minimize(quad, x0, method="adam")
    with pytest.raises(TypeError, match="unknown option"):
        minimize(quad, x0, method="lbfgs", beta="fr")
    with pytest.raises(ValueError, match="beta: expected one of"):
        minimize(quad, x0, method="cg", beta="xx")
    with pytest.raises(ValueError, match="line_search: expected one of"):
        minimize(quad, x0, method="cg", line_search="wolfe")
    with pytest.raises(ValueError, match="x0: must be finite"):
        minimize(quad, np.array([0.0, np.nan, 1.0]))
    with pytest.raises(TypeError, match="x0: expected a real floating-point array"):
        minimize(quad, np.zeros(3, dtype=int))
    with pytest.raises(ValueError, match="x0: expected a 1-D"):
        minimize(quad, np.zeros((2, 2)))
    with pytest.raises(ValueError, match="gtol"):
        minimize(quad, x0, gtol=-1.0)
    with pytest.raises(TypeError, match="maxiter"):
        minimize(quad, x0, maxiter=2.5)
    with pytest.raises(TypeError, match="callback"):
        minimize(quad, x0, callback=3)
    with pytest.raises(ValueError, match="step_size"):
        minimize(quad, x0, method="gd", step_size=0.0)
    with pytest.raises(ValueError, match="c1, c2"):
        minimize(quad, x0, method="cg", c1=0.5, c2=0.1)
    with pytest.raises(TypeError, match="Armijo line search has no curvature"):
        minimize(quad, x0, method="gd", c2=0.5)
    with pytest.raises(ValueError, match="f\\(x0\\) is not finite"), np.errstate(invalid="ignore"):
        minimize(lambda x: nnp.sum(nnp.log(x)), -np.ones(2))


def test_dtype_mismatch_is_a_clear_error():
    x32 = np.zeros(3, dtype=np.float32)
    A = np.eye(3)  # float64 data: the output silently becomes float64

    def f_mixed(x):
        return nnp.sum((A @ x - 1.0) ** 2)

    with pytest.raises(TypeError, match="float64.*x0 has dtype float32"):
        minimize(f_mixed, x32)
    with pytest.raises(TypeError, match="Python float"):
        minimize(lambda x: float(np.sum(x ** 2)), x32, jac=lambda x: 2 * x)
    with pytest.raises(TypeError, match="jac: returned dtype float64"):
        minimize(lambda x: np.sum(x ** 2), x32, jac=lambda x: 2 * x.astype(np.float64))
    with pytest.raises(ValueError, match="jac: must return an array of shape \\(3,\\)"):
        minimize(lambda x: np.sum(x ** 2), np.zeros(3), jac=lambda x: np.zeros(2))
    with pytest.raises(ValueError, match="scalar"):
        minimize(lambda x: x ** 2, np.zeros(3), jac=lambda x: 2 * x)

    class Obj:  # an objective object in float64 given a float32 x0
        def fun(self, x):
            return np.sum(x.astype(np.float64) ** 2)

        def jac(self, x):
            return 2 * x.astype(np.float64)

        def astype(self, dtype):
            return self

    with pytest.raises(TypeError, match="astype\\(np.float32\\)"):
        minimize(Obj(), x32, method="cg")


def test_float32_run_on_a_quadratic_is_float32_throughout():
    f, A, b, x_star = make_quadratic(20, cond=100.0, seed=5, dtype=np.float32)
    for method in ("cg", "lbfgs", "newton"):
        res = minimize(f, np.zeros(20, np.float32), method=method, gtol=1e-4)
        assert res.success and res.x.dtype == np.float32
        assert np.linalg.norm(res.x - x_star) <= 1e-3 * np.linalg.norm(x_star)


def test_with_nnopt_objective():
    """nnopt.Objective plugs in directly: value_and_grad for f and g in one
    pass, hessp for Newton-CG, residual/residual_jacobian for method='lm'."""
    nn = pytest.importorskip("nnopt.nn")
    X = np.linspace(-1, 1, 20)[:, None]
    Y = np.sin(3 * X)
    net = nn.MLP([1, 5, 1])
    obj = nnopt.Objective(net, "mse", X, Y)
    theta0 = net.init(seed=0)
    f0 = obj.fun(theta0)
    for method in ("lbfgs", "cg", "newton-cg", "lm"):
        res = minimize(obj, theta0, method=method, maxiter=200)
        assert res.x.dtype == np.float64
        assert obj.fun(res.x) < 0.1 * f0, method
    res = minimize(obj.astype(np.float32), theta0.astype(np.float32), method="lbfgs", maxiter=50)
    assert res.x.dtype == np.float32 and type(res.fun) is np.float32
    with pytest.raises(TypeError, match="float32"):
        minimize(obj, theta0.astype(np.float32), method="lbfgs")
