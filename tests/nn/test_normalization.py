"""BatchNorm (training and evaluation modes, explicit state), LayerNorm and
the scale-invariant option."""
import numpy as np
import pytest

import nnopt
import nnopt.numpy as nnp
from nnopt.nn import Activation, Dense, Sequential
from nnopt.nn.conv import Conv2D
from nnopt.nn.normalization import BatchNorm, LayerNorm, StatefulSequential, scale_invariant_mlp
from nnopt.nn.pooling import Flatten
from nnopt.testing import check_grads


def _bn_manual(x, axes, gamma, beta, eps):
    mu = x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, keepdims=True)
    shape = [1] * x.ndim
    shape[1] = x.shape[1]
    return (x - mu) / np.sqrt(var + eps) * gamma.reshape(shape) + beta.reshape(shape)


@pytest.mark.parametrize("shape,axes", [((6, 4), (0,)), ((3, 4, 5, 2), (0, 2, 3))])
def test_batchnorm_training_mode_matches_manual_and_normalises(shape, axes):
    rng = np.random.default_rng(0)
    x = rng.normal(2.0, 3.0, size=shape)
    gamma, beta = rng.normal(size=4), rng.normal(size=4)
    bn = BatchNorm(4)
    y = bn.apply({"gamma": gamma, "beta": beta}, x)
    np.testing.assert_allclose(y, _bn_manual(x, axes, gamma, beta, 1e-5), rtol=1e-12, atol=1e-12)
    z = BatchNorm(4, affine=False).apply({}, x)
    np.testing.assert_allclose(z.mean(axis=axes), 0, atol=1e-12)
    np.testing.assert_allclose(z.var(axis=axes), 1, rtol=1e-4)
    check_grads(lambda x, g, b: nnp.tanh(bn.apply({"gamma": g, "beta": b}, x)), (x, gamma, beta), order=2)


def test_batchnorm_state_updates_and_evaluation_mode():
    rng = np.random.default_rng(1)
    net = StatefulSequential(Dense(3, 4), BatchNorm(4, momentum=0.25), Dense(4, 2))
    theta = net.init(seed=0)
    state = net.init_state()
    assert net.n_state == 8 and [s.name for s in net.state_layout] == ["1.mean", "1.var"]
    np.testing.assert_array_equal(state, np.r_[np.zeros(4), np.ones(4)])
    X = rng.normal(size=(10, 3))
    out, new = net.apply(theta, X, state, train=True)
    np.testing.assert_array_equal(out, net(theta, X))  # training mode == the stateless call
    h = X @ net.layout.unflatten(theta)["0.W"] + net.layout.unflatten(theta)["0.b"]
    np.testing.assert_allclose(new[:4], 0.75 * 0 + 0.25 * h.mean(0), rtol=1e-13)
    np.testing.assert_allclose(new[4:], 0.75 * 1 + 0.25 * h.var(0, ddof=1), rtol=1e-13)
    np.testing.assert_array_equal(state, np.r_[np.zeros(4), np.ones(4)])  # not modified in place
    # evaluation mode: normalise with the running statistics, state unchanged
    ev, same = net.apply(theta, X, new, train=False)
    np.testing.assert_array_equal(same, new)
    p = net.layout.unflatten(theta)
    hn = (h - new[:4]) / np.sqrt(new[4:] + 1e-5) * p["1.gamma"] + p["1.beta"]
    np.testing.assert_allclose(ev, hn @ p["2.W"] + p["2.b"], rtol=1e-12)
    model = net.evaluator(new)
    np.testing.assert_array_equal(model(theta, X), ev)
    # the evaluation-mode model plugs into an Objective and differentiates
    obj = nnopt.Objective(model, "mse", X, rng.normal(size=(10, 2)))
    check_grads(obj, (theta,), order=1, modes=("rev",))
    # float32 stays float32, state included
    t32, s32 = net.init(seed=0, dtype=np.float32), net.init_state(np.float32)
    o32, n32 = net.apply(t32, X.astype(np.float32), s32)
    assert o32.dtype == n32.dtype == np.float32


def test_batchnorm_in_a_cnn_with_state():
    net = StatefulSequential(Conv2D(1, 2, 3, bias=False), BatchNorm(2), Activation("relu"), Flatten(),
                             Dense(2 * 4 * 4, 1), input_shape=(1, 6, 6))
    X = np.random.default_rng(2).normal(size=(4, 1, 6, 6))
    theta = net.init(seed=0)
    state = net.init_state()
    for _ in range(3):
        _, state = net.apply(theta, X, state)
    out, _ = net.apply(theta, X, state, train=False)
    assert out.shape == (4, 1)
    assert np.all(state[2:] != 1)


def test_batchnorm_errors():
    with pytest.raises(ValueError, match="num_features must be a positive integer"):
        BatchNorm(0)
    with pytest.raises(ValueError, match="momentum must be in"):
        BatchNorm(3, momentum=1.5)
    bn = BatchNorm(3)
    with pytest.raises(ValueError, match=r"expected input of shape \(N, 3\) or \(N, 3, H, W\)"):
        bn.apply({"gamma": np.ones(3), "beta": np.zeros(3)}, np.zeros((4, 2)))
    with pytest.raises(ValueError, match="more than one value per feature"):
        bn.apply({"gamma": np.ones(3), "beta": np.zeros(3)}, np.zeros((1, 3)))
    net = StatefulSequential(Dense(2, 3), BatchNorm(3))
    theta = net.init()
    with pytest.raises(ValueError, match=r"state must be a 1-D array of shape \(6,\)"):
        net.apply(theta, np.zeros((4, 2)), np.zeros(5))
    with pytest.raises(TypeError, match="state has dtype float32 but theta has dtype float64"):
        net.apply(theta, np.zeros((4, 2)), net.init_state(np.float32))
    with pytest.raises(ValueError, match="evaluation mode .* needs the state"):
        net.apply(theta, np.zeros((4, 2)), None, train=False)


def test_layernorm_matches_manual_and_differentiates():
    rng = np.random.default_rng(3)
    x = rng.normal(1.0, 2.0, size=(4, 3, 5))
    ln = LayerNorm((3, 5))
    g, b = rng.normal(size=(3, 5)), rng.normal(size=(3, 5))
    mu = x.mean(axis=(1, 2), keepdims=True)
    var = x.var(axis=(1, 2), keepdims=True)
    np.testing.assert_allclose(ln.apply({"gamma": g, "beta": b}, x), (x - mu) / np.sqrt(var + 1e-5) * g + b,
                               rtol=1e-12, atol=1e-12)
    check_grads(lambda x, g, b: ln.apply({"gamma": g, "beta": b}, x) ** 2, (x, g, b), order=2)
    with pytest.raises(ValueError, match=r"expected input of shape \(N, \.\.\., 3, 5\)"):
        ln.apply({"gamma": g, "beta": b}, np.zeros((4, 5, 3)))
    assert LayerNorm(4, affine=False).params() == ()


@pytest.mark.parametrize("norm", ["batch", "layer"])
def test_scale_invariance_without_affine(norm):
    rng = np.random.default_rng(4)
    if norm == "batch":
        net = scale_invariant_mlp([3, 5, 2], activation="tanh", eps=1e-14)
    else:
        net = Sequential(Dense(3, 5, bias=False), LayerNorm(5, eps=1e-14, affine=False), Activation("tanh"), Dense(5, 2))
    X, Y = rng.normal(size=(8, 3)), rng.normal(size=(8, 2))
    obj = nnopt.Objective(net, "mse", X, Y, fast=False)
    theta = net.init(seed=0)
    w = net.layout["0.W"].slice
    scaled = theta.copy()
    scaled[w] *= 3.0
    np.testing.assert_allclose(obj.fun(scaled), obj.fun(theta), rtol=1e-9)
    g, gs = obj.jac(theta), obj.jac(scaled)
    # (exact up to eps / var: eps is 1e-14 here)
    # the gradient is orthogonal to the scale-invariant weights and scales as 1/c
    assert abs(np.dot(g[w], theta[w])) < 1e-8 * np.linalg.norm(g[w]) * np.linalg.norm(theta[w])
    np.testing.assert_allclose(gs[w], g[w] / 3.0, rtol=1e-6, atol=1e-12)
