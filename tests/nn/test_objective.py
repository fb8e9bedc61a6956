"""nnopt.Objective: values, exact derivatives, scipy round trip, dtypes, bad input."""
import numpy as np
import pytest
import scipy.optimize

import nnopt
import nnopt.numpy as nnp
from nnopt.nn import MLP, Sequential, Dense, Activation


def _regression(dtype=np.float64, n=40, sizes=(2, 6, 1), act="tanh", seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, sizes[0])).astype(dtype)
    Y = np.sin(X.sum(axis=1, keepdims=True)).astype(dtype)
    net = MLP(list(sizes), activation=act)
    return net, X, Y


def _classification(dtype=np.float64, n=30, sizes=(3, 5, 4), seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, sizes[0])).astype(dtype)
    labels = rng.integers(0, sizes[-1], size=n)
    return MLP(list(sizes)), X, labels


def test_mse_value_matches_definition():
    net, X, Y = _regression()
    obj = nnopt.Objective(net, "mse", X, Y, weight_decay=0.1)
    theta = net.init(seed=0)
    expected = np.mean((net(theta, X) - Y) ** 2) + 0.05 * theta @ theta
    assert obj.fun(theta) == pytest.approx(expected, rel=1e-14)


def test_cross_entropy_value_matches_definition():
    net, X, labels = _classification()
    obj = nnopt.Objective(net, "cross_entropy", X, labels)
    theta = net.init(seed=0)
    z = net(theta, X)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    assert obj.fun(theta) == pytest.approx(-logp[np.arange(len(labels)), labels].mean(), rel=1e-13)


@pytest.mark.parametrize("loss", ["mse", "cross_entropy"])
@pytest.mark.parametrize("act", ["tanh", "sigmoid", "relu", "identity"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fast_path_equals_general_engine(loss, act, dtype):
    if loss == "mse":
        net, X, Y = _regression(dtype, sizes=(3, 7, 5, 2), act=act)
    else:
        net, X, Y = _classification(dtype)
        net = MLP([3, 5, 4], activation=act)
    fast = nnopt.Objective(net, loss, X, Y, weight_decay=0.01)
    slow = nnopt.Objective(net, loss, X, Y, weight_decay=0.01, fast=False)
    assert fast.fast and not slow.fast
    theta = net.init(seed=1, dtype=dtype)
    v1, g1 = fast.value_and_grad(theta)
    v2, g2 = slow.value_and_grad(theta)
    assert g1.dtype == g2.dtype == dtype and np.asarray(v1).dtype == dtype
    tol = 100 * float(np.finfo(dtype).eps)
    assert v1 == pytest.approx(v2, rel=tol)
    np.testing.assert_allclose(g1, g2, rtol=tol * 10, atol=tol * np.abs(g2).max())


def test_fast_path_only_for_plain_dense_stacks():
    X, Y = np.ones((3, 2)), np.ones((3, 1))
    assert nnopt.Objective(MLP([2, 3, 1]), "mse", X, Y).fast
    assert not nnopt.Objective(MLP([2, 3, 1], activation="elu"), "mse", X, Y).fast
    assert not nnopt.Objective(Sequential(Dense(2, 3), Activation("tanh"), Dense(3, 1)), "mse", X, Y).fast
    assert not nnopt.Objective(MLP([2, 3, 1]), "binary_cross_entropy", X, Y).fast


@pytest.mark.parametrize("loss", ["mse", "cross_entropy"])
def test_hess_symmetric_and_equal_to_finite_differences_of_jac(loss):
    net, X, Y = _regression(sizes=(2, 4, 1)) if loss == "mse" else _classification(sizes=(2, 3, 3))
    obj = nnopt.Objective(net, loss, X, Y, weight_decay=0.01)
    theta = net.init(seed=2)
    H = obj.hess(theta)
    assert H.shape == (net.n_params, net.n_params)
    np.testing.assert_allclose(H, H.T, rtol=0, atol=1e-13 * np.abs(H).max())
    eps = 1e-6
    fd = np.array([(obj.jac(theta + eps * e) - obj.jac(theta - eps * e)) / (2 * eps) for e in np.eye(theta.size)])
    np.testing.assert_allclose(H, fd, rtol=1e-6, atol=1e-7 * np.abs(H).max())
    v = np.random.default_rng(0).normal(size=theta.size)
    np.testing.assert_allclose(obj.hessp(theta, v), H @ v, rtol=1e-12, atol=1e-12 * np.abs(H).max())


def test_scipy_trust_ncg_round_trip():
    net, X, Y = _regression(n=60, sizes=(2, 8, 1))
    obj = nnopt.Objective(net, "mse", X, Y)
    theta0 = net.init(seed=0)
    res = scipy.optimize.minimize(obj.fun, theta0, jac=obj.jac, hessp=obj.hessp, method="trust-ncg",
                                  options={"maxiter": 300, "gtol": 1e-8})
    assert res.success, res.message
    assert res.fun < 0.05 * obj.fun(theta0)
    assert np.linalg.norm(obj.jac(res.x)) < 1e-7
    # the same with the dense Hessian
    res2 = scipy.optimize.minimize(obj.fun, theta0, jac=obj.jac, hess=obj.hess, method="trust-exact",
                                   options={"maxiter": 100})
    assert res2.fun < 0.05 * obj.fun(theta0)


def test_batch_and_astype():
    net, X, Y = _regression(n=20)
    obj = nnopt.Objective(net, "mse", X, Y)
    theta = net.init(seed=0)
    idx = np.arange(5, 12)
    sub = obj.batch(idx)
    assert sub.n_samples == 7
    assert sub.fun(theta) == pytest.approx(nnopt.Objective(net, "mse", X[idx], Y[idx]).fun(theta), rel=1e-15)
    o32 = obj.astype(np.float32)
    t32 = theta.astype(np.float32)
    v, g = o32.value_and_grad(t32)
    assert o32.dtype == np.float32 and g.dtype == np.float32 and np.asarray(v).dtype == np.float32
    assert o32.hessp(t32, t32).dtype == np.float32
    assert o32.hess(t32).dtype == np.float32
    assert v == pytest.approx(obj.fun(theta), rel=1e-5)


def test_residual_view_for_least_squares():
    net, X, Y = _regression(n=10, sizes=(2, 3, 1))
    obj = nnopt.Objective(net, "mse", X, Y)
    theta = net.init(seed=0)
    r = obj.residual(theta)
    assert r.shape == (10,)
    assert np.dot(r, r) / r.size == pytest.approx(obj.fun(theta), rel=1e-14)
    J = obj.residual_jacobian(theta)
    assert J.shape == (10, net.n_params)
    np.testing.assert_allclose(2 * J.T @ r / r.size, obj.jac(theta), rtol=1e-12, atol=1e-14)


def test_plain_callable_objective_with_every_transform():
    A = np.array([[3.0, 1.0], [1.0, 2.0]])
    f = lambda x: 0.5 * x @ (A @ x) + nnp.sum(nnp.exp(x))  # noqa: E731
    x = np.array([0.1, -0.2])
    np.testing.assert_allclose(nnopt.grad(f)(x), A @ x + np.exp(x), rtol=1e-14)
    np.testing.assert_allclose(nnopt.hessian(f)(x), A + np.diag(np.exp(x)), rtol=1e-14)


def test_bad_input_errors():
    net, X, Y = _regression(n=10)
    obj = nnopt.Objective(net, "mse", X, Y)
    theta = net.init(seed=0)
    with pytest.raises(ValueError, match=r"theta must have shape \(25,\)"):
        obj.fun(theta[:-1])
    with pytest.raises(TypeError, match="float32 but this objective computes in float64"):
        obj.jac(theta.astype(np.float32))
    with pytest.raises(ValueError, match="same number of examples"):
        nnopt.Objective(net, "mse", X, Y[:-1])
    with pytest.raises(TypeError, match="X must be a floating-point"):
        nnopt.Objective(net, "mse", X.astype(int), Y)
    with pytest.raises(TypeError, match="X has dtype float64 but Y has dtype float32"):
        nnopt.Objective(net, "mse", X, Y.astype(np.float32))
    with pytest.raises(TypeError, match="integer labels"):
        nnopt.Objective(net, "cross_entropy", X, Y)
    with pytest.raises(ValueError, match="unknown loss"):
        nnopt.Objective(net, "hinge2", X, Y)
    with pytest.raises(ValueError, match="finite"):
        nnopt.Objective(net, "mse", np.full_like(X, np.nan), Y)
    with pytest.raises(ValueError, match="weight_decay"):
        nnopt.Objective(net, "mse", X, Y, weight_decay=-1)
    with pytest.raises(ValueError, match="labels must lie"):
        nnopt.Objective(MLP([2, 3]), "cross_entropy", X, np.full(10, 7)).fun(MLP([2, 3]).init())
    with pytest.raises(ValueError, match="residual"):
        nnopt.Objective(MLP([2, 3]), "cross_entropy", X, np.zeros(10, int)).residual(MLP([2, 3]).init())


@pytest.mark.parametrize("loss", ["mse", "cross_entropy"])
@pytest.mark.parametrize("act", ["tanh", "sigmoid", "relu", "identity"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fast_hvp_and_hessian_equal_general_engine(loss, act, dtype):
    if loss == "mse":
        net, X, Y = _regression(dtype, n=12, sizes=(3, 5, 4, 2), act=act)
    else:
        _, X, Y = _classification(dtype, n=12, sizes=(3, 5, 4))
        net = MLP([3, 5, 4, 4], activation=act)
    fast = nnopt.Objective(net, loss, X, Y, weight_decay=0.01)
    slow = nnopt.Objective(net, loss, X, Y, weight_decay=0.01, fast=False)
    theta = net.init(seed=2, dtype=dtype)
    rng = np.random.default_rng(0)
    V = rng.normal(size=(net.n_params, 3)).astype(dtype)
    tol = 300 * float(np.finfo(dtype).eps)
    H_slow = slow.hess(theta)
    scale = np.abs(H_slow).max()
    hv = fast.hessp(theta, V[:, 0])
    assert hv.dtype == dtype
    np.testing.assert_allclose(hv, slow.hessp(theta, V[:, 0]), rtol=tol, atol=tol * scale)
    np.testing.assert_allclose(fast.hessp_many(theta, V), H_slow @ V, rtol=tol, atol=tol * scale * 3)
    H_fast = fast.hess(theta)
    assert H_fast.dtype == dtype
    np.testing.assert_allclose(H_fast, H_slow, rtol=tol, atol=tol * scale)
