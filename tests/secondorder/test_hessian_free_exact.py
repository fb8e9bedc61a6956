"""Hessian-free (CG against a dense solve, damping rule, backtracking) and
the exact Newton / Gauss-Newton references."""
import math

import numpy as np
import pytest

import nnopt
from nnopt.nn import Dense, MLP, Sequential
from nnopt.secondorder import GaussNewton, cg_minimize, gauss_newton, hessian_free, newton

RNG = np.random.default_rng(0)

def _first(opt, g, theta, **kw):
    """One update from the optimizer's own initial state."""
    return opt.update(g, opt.init(theta), theta, **kw)



def _spd(n, cond=100.0, seed=0):
    r = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(r.normal(size=(n, n)))
    return (Q * np.geomspace(1, cond, n)) @ Q.T


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_cg_solves_a_dense_system(dtype):
    B = _spd(12, seed=1).astype(dtype)
    b = RNG.normal(size=12).astype(dtype)
    res = cg_minimize(lambda v: B @ v, b, max_iter=200, tol=1e-30, abs_tol=1e-10 * np.finfo(dtype).eps ** 0.5)
    assert res.x.dtype == dtype
    tol = 1e4 * float(np.finfo(dtype).eps)
    np.testing.assert_allclose(res.x, np.linalg.solve(B.astype(np.float64), b), rtol=tol, atol=tol)
    # q(x) = x^T B x / 2 - b^T x reported, iterates kept at ceil(1.3^j)
    x = res.x.astype(np.float64)
    assert res.q == pytest.approx(0.5 * x @ B @ x - b @ x, rel=tol)
    kept = [i for i, _ in res.iterates]
    expect = sorted({math.ceil(1.3 ** j) for j in range(30)} & set(range(1, res.n_iter + 1)) | {res.n_iter})
    assert kept == expect and kept[:8] == [1, 2, 3, 4, 5, 7, 9, 11]


def test_cg_model_decreases_monotonically_and_progress_test_stops_early():
    B = _spd(200, cond=1e4, seed=2)
    b = RNG.normal(size=200)
    qs = []

    def mv(v):
        return B @ v

    for it in (1, 2, 5, 10, 20, 40):
        qs.append(cg_minimize(mv, b, max_iter=it, tol=1e-30).q)
    assert all(q2 <= q1 + 1e-12 for q1, q2 in zip(qs, qs[1:]))
    loose = cg_minimize(mv, b, max_iter=500, tol=5e-2)
    assert 10 < loose.n_iter < 200  # Martens' relative-progress test fired
    # warm start from the solution needs no iteration
    x = np.linalg.solve(B, b)
    assert cg_minimize(mv, b, x0=x, max_iter=50, abs_tol=1e-8).n_iter == 0


def test_hessian_free_step_is_the_damped_gauss_newton_step_when_cg_converges():
    X, Y = RNG.normal(size=(30, 3)), RNG.normal(size=(30, 2))
    obj = nnopt.Objective(MLP([3, 4, 2], "tanh"), "mse", X, Y)
    theta = obj.net.init(seed=0)
    g = obj.jac(theta)
    lam = 0.5
    opt = hessian_free(damping=lam, max_cg_iters=500, cg_tol=1e-30, init_decay=0.0, adaptive_damping=False,
                       backtracking=False, line_search=False)
    u, st = opt.update(g, opt.init(theta), theta, oracle=obj)
    GN = GaussNewton(obj, theta).dense()
    np.testing.assert_allclose(u, -np.linalg.solve(GN + lam * np.eye(len(g)), g), rtol=1e-7, atol=1e-10)
    assert int(st.cg_iters) <= len(g) + 5


def test_hessian_free_levenberg_marquardt_rule_and_line_search():
    X, Y = RNG.normal(size=(30, 3)), RNG.normal(size=(30, 2))
    lin = nnopt.Objective(Sequential(Dense(3, 2)), "mse", X, Y)
    theta = lin.net.init(seed=0)
    # linear least squares: the quadratic model is exact, rho ~ 1 -> lambda * 2/3
    _, st = _first(hessian_free(damping=1e-3), lin.jac(theta), theta, oracle=lin)
    assert float(st.damping) == pytest.approx(2e-3 / 3)
    # a strongly nonlinear problem with tiny damping: rho < 1/4 -> lambda * 3/2, line search keeps descent
    obj = nnopt.Objective(MLP([3, 8, 2], "tanh"), "mse", X, 3 * np.sin(3 * Y))
    th = obj.net.init(seed=1) * 4
    f0, g = obj.value_and_grad(th)
    u, st = _first(hessian_free(damping=1e-6, max_cg_iters=300, cg_tol=1e-12), g, th, value=f0, oracle=obj)
    assert float(obj.fun(th + u)) <= f0 + 1e-2 * float(g @ u)
    assert float(st.damping) in (pytest.approx(1.5e-6), pytest.approx(1e-6), pytest.approx(2e-6 / 3))


def test_newton_and_gauss_newton_references():
    X = RNG.normal(size=(40, 3))
    y = (X @ np.array([1.0, -2.0, 0.5]) > 0).astype(np.int64)
    obj = nnopt.Objective(Sequential(Dense(3, 2)), "cross_entropy", X, y, weight_decay=0.01)
    theta = obj.net.init(seed=0)
    g = obj.jac(theta)
    H = obj.hess(theta)
    lam = 1e-3
    u, st = _first(newton(damping=lam, line_search=False), g, theta, oracle=obj)
    np.testing.assert_allclose(u, -np.linalg.solve(H + lam * np.eye(len(g)), g), rtol=1e-9, atol=1e-12)
    assert float(st.shift) == lam
    # softmax regression is linear in theta: Gauss-Newton equals the Hessian (weight decay included)
    ug, _ = _first(gauss_newton(damping=lam, line_search=False), g, theta, oracle=obj)
    np.testing.assert_allclose(ug, u, rtol=1e-9, atol=1e-12)


def test_newton_shifts_an_indefinite_hessian_to_a_descent_direction():
    obj = nnopt.Objective(MLP([2, 6, 1], "tanh"), "mse", RNG.normal(size=(20, 2)), RNG.normal(size=(20, 1)))
    theta = obj.net.init(seed=3) * 3
    H = obj.hess(theta)
    smin = np.linalg.eigvalsh(H)[0]
    assert smin < 0
    g = obj.jac(theta)
    u, st = _first(newton(damping=1e-3, line_search=False), g, theta, oracle=obj)
    assert float(st.shift) > -smin
    assert float(u @ g) < 0
    np.testing.assert_allclose(u, -np.linalg.solve(H + float(st.shift) * np.eye(len(g)), g), rtol=1e-8, atol=1e-12)
    # Newton on a plain function (no Objective): the Hessian comes from nnopt.hessian
    import nnopt.numpy as nnp

    f = lambda x: nnp.sum(x ** 4) + nnp.sum(x ** 2)  # noqa: E731
    x = np.array([1.0, -2.0])
    u, _ = _first(newton(damping=0.0, line_search=False), nnopt.grad(f)(x), x, oracle=f)
    np.testing.assert_allclose(u, -(4 * x ** 3 + 2 * x) / (12 * x ** 2 + 2))


def test_exact_methods_refuse_large_models():
    theta = np.zeros(3001)
    with pytest.raises(ValueError, match="3001 parameters, more than max_params=2000"):
        newton().init(theta)
    with pytest.raises(ValueError, match="more than max_params=10"):
        gauss_newton(max_params=10).init(np.zeros(11))
    assert math.isfinite(float(gauss_newton(max_params=3001).init(theta).shift))
