"""The closed-form dense Hessian of the compiled dense path (nnopt.nn.fast)
equals the general engine's nnopt.hessian, column blocks included."""
import numpy as np
import pytest

import nnopt
from nnopt.nn import MLP, fast


def _problem(sizes, act, loss, dtype, n=9, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, sizes[0])).astype(dtype)
    if loss == "mse":
        Y = rng.normal(size=(n, sizes[-1])).astype(dtype)
    else:
        Y = rng.integers(0, sizes[-1], size=n)
    net = MLP(list(sizes), activation=act)
    obj = nnopt.Objective(net, loss, X, Y)  # fast path: obj.X, obj.Y, obj._onehot as it uses them
    slow = nnopt.Objective(net, loss, X, Y, fast=False)
    theta = net.init(seed=seed + 1, dtype=dtype)
    # nonzero biases, so that no derivative vanishes by accident
    theta = theta + (0.2 * rng.normal(size=theta.size)).astype(dtype)
    return net, obj, slow, theta


def _tol(dtype):
    return 300 * float(np.finfo(dtype).eps)


CASES = [
    # sizes, activation, loss
    ((3, 5, 4, 2), "tanh", "mse"),
    ((3, 5, 4, 2), "sigmoid", "mse"),
    ((3, 5, 4, 2), "relu", "mse"),
    ((3, 5, 4, 2), "identity", "mse"),
    ((2, 3, 4, 3, 2), "tanh", "mse"),        # deeper: dense d a_j / d z_i between layers
    ((1, 4, 1, 3, 1), "sigmoid", "mse"),     # widths of 1 (outer products)
    ((3, 2, 3, 2, 2, 3), "tanh", "cross_entropy"),
    ((3, 5, 4), "relu", "cross_entropy"),
    ((4, 6, 3), "identity", "cross_entropy"),
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("sizes, act, loss", CASES)
def test_hessian_equals_general_engine(sizes, act, loss, dtype):
    net, obj, slow, theta = _problem(sizes, act, loss, dtype)
    H_ref = nnopt.hessian(slow)(theta)
    H = fast.hessian(net, loss, theta, obj.X, obj.Y, obj._onehot)
    assert H.dtype == dtype and H.shape == (theta.size, theta.size)
    scale = np.abs(H_ref).max()
    np.testing.assert_allclose(H, H_ref, rtol=_tol(dtype), atol=_tol(dtype) * scale)
    assert np.array_equal(H, H.T)  # exactly symmetric by construction


@pytest.mark.parametrize("sizes, act, loss", [CASES[0], CASES[4], CASES[6]])
def test_unit_columns_give_hessian_columns(sizes, act, loss):
    net, obj, slow, theta = _problem(sizes, act, loss, np.float64, seed=3)
    H_ref = nnopt.hessian(slow)(theta)
    P = theta.size
    rng = np.random.default_rng(0)
    # any order, repeats, several layers; a contiguous run as Objective.hess makes
    runs = [np.arange(2, P - 1), np.arange(1, 4), np.arange(6, 9), np.arange(P - 3, P)]  # partial rows
    for cols in [rng.permutation(P)[: P // 2], np.array([P - 1, 0, 0, P // 2, 1])] + runs:
        E = np.zeros((P, cols.size))
        E[cols, np.arange(cols.size)] = 1.0
        got = fast.hvp(net, loss, theta, E, obj.X, obj.Y, obj._onehot)
        scale = np.abs(H_ref).max()
        np.testing.assert_allclose(got, H_ref[:, cols], rtol=1e-12, atol=1e-12 * scale)


def test_non_unit_blocks_take_the_r_operator():
    net, obj, slow, theta = _problem((3, 5, 4, 2), "tanh", "mse", np.float64, seed=5)
    H_ref = nnopt.hessian(slow)(theta)
    P = theta.size
    V = np.zeros((P, 3))
    V[[1, 7, 20], [0, 1, 2]] = [2.0, -1.0, 0.5]  # one nonzero per column, not ones
    W = np.random.default_rng(1).normal(size=(P, 4))
    for M in (V, W):
        got = fast.hvp(net, "mse", theta, M, obj.X, obj.Y)
        np.testing.assert_allclose(got, H_ref @ M, rtol=1e-11, atol=1e-12 * np.abs(H_ref).max())


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_objective_hess_with_weight_decay(dtype):
    rng = np.random.default_rng(2)
    X = rng.normal(size=(1, 2)).astype(dtype)  # a batch of one
    Y = rng.normal(size=(1, 3)).astype(dtype)
    net = MLP([2, 4, 3], activation="tanh")
    fast_obj = nnopt.Objective(net, "mse", X, Y, weight_decay=0.3)
    slow_obj = nnopt.Objective(net, "mse", X, Y, weight_decay=0.3, fast=False)
    theta = net.init(seed=0, dtype=dtype)
    H_ref = slow_obj.hess(theta)
    H = fast_obj.hess(theta)
    assert H.dtype == dtype
    np.testing.assert_allclose(H, H_ref, rtol=_tol(dtype), atol=_tol(dtype) * np.abs(H_ref).max())


def test_hessian_refuses_bad_input():
    net, obj, slow, theta = _problem((3, 5, 2), "tanh", "mse", np.float64)
    with pytest.raises(ValueError, match="theta must be a float array of shape"):
        fast.hessian(net, "mse", theta[:-1], obj.X, obj.Y)
    with pytest.raises(ValueError, match="loss 'mse' or 'cross_entropy'"):
        fast.hessian(net, "binary_cross_entropy", theta, obj.X, obj.Y)
    with pytest.raises(ValueError, match="onehot"):
        fast.hessian(net, "cross_entropy", theta, obj.X, np.zeros(obj.X.shape[0], dtype=int))
