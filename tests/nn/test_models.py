"""Layers and models on a flat parameter vector."""
import numpy as np
import pytest

import nnopt
import nnopt.numpy as nnp
from nnopt.nn import MLP, Activation, Dense, Sequential, dense, initializers
from nnopt.autodiff.rules.dense import dense_decomposed


def test_mlp_layout_and_forward_matches_manual():
    net = MLP([3, 5, 2], activation="tanh")
    assert net.n_params == 3 * 5 + 5 + 5 * 2 + 2
    names = [s.name for s in net.layout]
    assert names == ["0.W", "0.b", "1.W", "1.b"]
    assert [b.slice for b in net.layout.blocks] == [slice(0, 20), slice(20, 32)]
    theta = net.init(seed=3)
    X = np.random.default_rng(0).normal(size=(4, 3))
    p = net.layout.unflatten(theta)
    manual = np.tanh(X @ p["0.W"] + p["0.b"]) @ p["1.W"] + p["1.b"]
    np.testing.assert_allclose(net(theta, X), manual, rtol=1e-14)
    np.testing.assert_array_equal(net.layout.flatten(p), theta)


def test_init_same_point_in_both_precisions_and_reproducible():
    net = MLP([4, 6, 1])
    t64 = net.init(seed=1, dtype=np.float64)
    t32 = net.init(seed=1, dtype=np.float32)
    assert t32.dtype == np.float32 and t64.dtype == np.float64
    np.testing.assert_array_equal(t32, t64.astype(np.float32))
    np.testing.assert_array_equal(net.init(seed=1), t64)
    assert not np.array_equal(net.init(seed=2), t64)
    # biases start at zero
    assert np.all(t64[net.layout["0.b"].slice] == 0)


@pytest.mark.parametrize("init", ["glorot_normal", "glorot_uniform", "he_normal", "he_uniform", "lecun_normal"])
def test_initializer_variances(init):
    rng = np.random.default_rng(0)
    fan_in, fan_out = 400, 300
    W = initializers.get(init)(rng, (fan_in, fan_out), fan_in, fan_out)
    expected = {
        "glorot_normal": 2 / (fan_in + fan_out),
        "glorot_uniform": 2 / (fan_in + fan_out),
        "he_normal": 2 / fan_in,
        "he_uniform": 2 / fan_in,
        "lecun_normal": 1 / fan_in,
    }[init]
    assert abs(W.var() / expected - 1) < 0.03


def test_orthogonal_and_sparse_initializers():
    rng = np.random.default_rng(0)
    Q = initializers.orthogonal(rng, (50, 20), 50, 20)
    np.testing.assert_allclose(Q.T @ Q, np.eye(20), atol=1e-12)
    Q = initializers.orthogonal(rng, (20, 50), 20, 50)
    np.testing.assert_allclose(Q @ Q.T, np.eye(20), atol=1e-12)
    S = initializers.sparse(rng, (100, 30), 100, 30)
    assert np.all((S != 0).sum(axis=0) == 15)


@pytest.mark.parametrize("act", ["tanh", "sigmoid", "relu", "elu", "softplus", "gelu", "sin", "identity"])
def test_every_activation_gradient_against_finite_differences(act):
    net = MLP([2, 4, 1], activation=act)
    theta = net.init(seed=0)
    X = np.random.default_rng(1).normal(size=(6, 2))
    Y = np.random.default_rng(2).normal(size=(6, 1))
    obj = nnopt.Objective(net, "mse", X, Y, fast=False)
    g = nnopt.grad(obj)(theta)
    eps = 1e-6
    fd = np.array([(obj(theta + eps * e) - obj(theta - eps * e)) / (2 * eps) for e in np.eye(theta.size)])
    np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-8)


def test_sequential_with_separate_activation_layer():
    net = Sequential(Dense(2, 3), Activation("elu"), Dense(3, 1, "sigmoid"))
    theta = net.init(seed=0)
    X = np.ones((2, 2))
    p = net.layout.unflatten(theta)
    z = X @ p["0.W"] + p["0.b"]
    h = np.where(z > 0, z, np.expm1(z))
    expected = 1 / (1 + np.exp(-(h @ p["2.W"] + p["2.b"])))
    np.testing.assert_allclose(net(theta, X), expected, rtol=1e-14)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("act", ["identity", "tanh", "sigmoid", "relu"])
def test_fused_dense_equals_decomposition_to_second_order(dtype, act):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(5, 3)).astype(dtype)
    W = rng.normal(size=(3, 4)).astype(dtype)
    b = rng.normal(size=4).astype(dtype)

    def f(fn):
        return lambda W: nnp.sum(nnp.sin(fn(x, W, b, act)))

    tol = 200 * np.finfo(dtype).eps
    np.testing.assert_allclose(f(dense)(W), f(dense_decomposed)(W), rtol=tol)
    g1, g2 = nnopt.grad(f(dense))(W), nnopt.grad(f(dense_decomposed))(W)
    assert g1.dtype == dtype
    np.testing.assert_allclose(g1, g2, rtol=tol, atol=tol)
    v = rng.normal(size=W.shape).astype(dtype)
    h1, h2 = nnopt.hvp(f(dense), W, v), nnopt.hvp(f(dense_decomposed), W, v)
    assert h1.dtype == dtype
    np.testing.assert_allclose(h1, h2, rtol=tol, atol=tol)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_backends_agree(backend):
    net = MLP([3, 7, 7, 2], activation="tanh")
    X = np.random.default_rng(0).normal(size=(9, 3))
    theta = net.init(seed=0)
    with nnopt.config.using(backend=backend):
        out = net(theta, X)
        g = nnopt.grad(lambda t: nnp.sum(net(t, X) ** 2))(theta)
    with nnopt.config.using(backend="numpy"):
        np.testing.assert_allclose(out, net(theta, X), rtol=1e-14)
        np.testing.assert_allclose(g, nnopt.grad(lambda t: nnp.sum(net(t, X) ** 2))(theta), rtol=1e-12)


def test_bad_inputs():
    net = MLP([3, 4, 1])
    theta = net.init(seed=0)
    with pytest.raises(ValueError, match="theta must have shape"):
        net(theta[:-1], np.ones((2, 3)))
    with pytest.raises(ValueError, match="X must have shape"):
        net(theta, np.ones((2, 4)))
    with pytest.raises(TypeError, match="dtype float32 but theta has dtype float64"):
        net(theta, np.ones((2, 3), np.float32))
    with pytest.raises(TypeError, match="floating"):
        net.init(seed=0, dtype=np.int32)
    with pytest.raises(ValueError, match="sizes"):
        MLP([3])
    with pytest.raises(ValueError, match="unknown activation"):
        MLP([2, 2], activation="swishy")
    with pytest.raises(ValueError, match="unknown initialiser"):
        MLP([2, 2], init="magic")
    with pytest.raises(ValueError, match="n_out"):
        Dense(2, 0)
    with pytest.raises(TypeError, match="layer 0"):
        Sequential("dense")
    with pytest.raises(ValueError, match="act must be one of"):
        dense(np.ones((1, 1)), np.ones((1, 1)), np.ones(1), "swish")
    with pytest.raises(ValueError, match="backend"):
        nnopt.config.set(backend="fortran")


def test_blas_threads_setting():
    from threadpoolctl import threadpool_info

    old = nnopt.config.get("blas_threads")
    try:
        nnopt.config.set(blas_threads=1)
        assert all(p["num_threads"] == 1 for p in threadpool_info() if p["user_api"] == "blas")
        with pytest.raises(ValueError, match="blas_threads"):
            nnopt.config.set(blas_threads=0)
    finally:
        nnopt.config.set(blas_threads=old)
