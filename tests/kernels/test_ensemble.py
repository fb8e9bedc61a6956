"""The ensemble trainer: reference = one-at-a-time training; numba and CUDA = reference."""
import numpy as np
import pytest

import nnopt
from nnopt.nn import MLP
from nnopt.nn.ensemble import train_ensemble


def _task(dtype, n=12, sizes=(2, 5, 4, 1), seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, sizes[0])).astype(dtype)
    Y = np.sin(X @ np.ones((sizes[0], sizes[-1]))).astype(dtype)
    return X, Y


@pytest.mark.parametrize("act", ["tanh", "relu", "sigmoid", "identity"])
def test_reference_equals_gradient_descent_one_network_at_a_time(act):
    X, Y = _task(np.float64)
    net = MLP([2, 5, 4, 1], activation=act)
    lrs = np.array([0.05, 0.1, 0.2])
    res = train_ensemble(net, X, Y, lrs, steps=15, seeds=[0, 1, 2], momentum=0.5, backend="numpy")
    assert res.thetas.shape == (3, net.n_params) and res.losses.shape == (3, 15)
    for e, seed in enumerate([0, 1, 2]):
        obj = nnopt.Objective(net, "mse", X, Y, fast=False)
        theta = net.init(seed=seed)
        v = np.zeros_like(theta)
        for s in range(15):
            loss, g = nnopt.value_and_grad(obj)(theta)
            assert res.losses[e, s] == pytest.approx(loss, rel=1e-12)
            v = 0.5 * v + g
            theta = theta - lrs[e] * v
        np.testing.assert_allclose(res.thetas[e], theta, rtol=1e-11, atol=1e-13)
    assert list(res.status) == ["ok"] * 3


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("act", ["tanh", "relu"])
def test_numba_equals_reference(dtype, act):
    X, Y = _task(dtype)
    net = MLP([2, 5, 4, 1], activation=act)
    args = dict(lrs=np.array([0.05, 0.1]), steps=10, seeds=[3, 4], momentum=0.9)
    ref = train_ensemble(net, X, Y, backend="numpy", **args)
    got = train_ensemble(net, X, Y, backend="numba", **args)
    assert got.thetas.dtype == dtype and got.losses.dtype == dtype
    tol = 1e3 * np.finfo(dtype).eps
    np.testing.assert_allclose(got.losses, ref.losses, rtol=tol)
    np.testing.assert_allclose(got.thetas, ref.thetas, rtol=tol, atol=tol)


def test_divergence_stops_with_status_and_finite_parameters():
    X, Y = _task(np.float64)
    net = MLP([2, 5, 4, 1], activation="relu")
    for backend in ("numpy", "numba"):
        res = train_ensemble(net, X, Y, lrs=np.array([0.05, 1e6]), steps=30, seeds=[0, 1], backend=backend)
        assert list(res.status) == ["ok", "diverged"]
        assert res.nit[0] == 30 and res.nit[1] < 30
        assert np.all(np.isfinite(res.losses[1, : res.nit[1]]))
        assert np.all(np.isnan(res.losses[1, res.nit[1]:]))


def test_bad_input():
    X, Y = _task(np.float64)
    net = MLP([2, 5, 4, 1])
    with pytest.raises(ValueError, match="exactly one of seeds or thetas"):
        train_ensemble(net, X, Y, 0.1, 5)
    with pytest.raises(ValueError, match="backend"):
        train_ensemble(net, X, Y, 0.1, 5, seeds=[0], backend="tpu")
    with pytest.raises(TypeError, match="share one floating dtype"):
        train_ensemble(net, X, Y.astype(np.float32), 0.1, 5, seeds=[0])
    with pytest.raises(ValueError, match="linear output"):
        train_ensemble(MLP([2, 3, 1], activation="elu"), X, Y, 0.1, 5, seeds=[0])
    with pytest.raises(ValueError, match="X must be"):
        train_ensemble(net, X[:, :1], Y, 0.1, 5, seeds=[0])


def test_cuda_equals_reference():
    cuda = pytest.importorskip("numba.cuda")
    if not cuda.is_available():
        pytest.skip("no CUDA device and NUMBA_ENABLE_CUDASIM is not set")
    from nnopt.kernels.ensemble import cuda as ens_cuda

    old = ens_cuda.TPB
    ens_cuda.TPB = 4  # several threads share samples and parameters
    try:
        for dtype in (np.float32, np.float64):
            X, Y = _task(dtype, n=6, sizes=(2, 3, 1))
            net = MLP([2, 3, 1], activation="tanh")
            args = dict(lrs=np.array([0.1, 1e8]), steps=4, seeds=[0, 1], momentum=0.5)
            ref = train_ensemble(net, X, Y, backend="numpy", **args)
            got = train_ensemble(net, X, Y, backend="cuda", **args)
            tol = 1e3 * np.finfo(dtype).eps
            np.testing.assert_array_equal(got.nit, ref.nit)
            np.testing.assert_allclose(got.losses[0], ref.losses[0], rtol=tol)
            np.testing.assert_allclose(got.thetas[0], ref.thetas[0], rtol=tol, atol=tol)
    finally:
        ens_cuda.TPB = old
