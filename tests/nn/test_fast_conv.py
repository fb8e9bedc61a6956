"""The compiled path for plain convolutional networks (nnopt.nn.fast_conv)
equals the general engine, in float32 and float64, for LeNet-5 and other
stacks of convolutions, pooling and dense layers; Objective takes it by
itself exactly when it applies."""
import numpy as np
import pytest

import nnopt
from nnopt.nn import Activation, BatchNorm, Dense, Sequential, fast_conv
from nnopt.nn.conv import Conv2D
from nnopt.nn.normalization import StatefulSequential
from nnopt.nn.pooling import AvgPool2D, Flatten, GlobalAvgPool2D, MaxPool2D
from nnopt.nn.zoo import lenet5, resnet_small, vgg_small


def _problem(net, n, dtype, loss="cross_entropy", seed=0):
    """theta (biases nonzero, so that every parameter matters), X, Y."""
    rng = np.random.default_rng(seed)
    theta = net.init(seed=seed, dtype=np.float64)
    for spec in net.layout:
        if spec.param == "b":
            theta[spec.slice] = rng.normal(0, 0.1, spec.slice.stop - spec.slice.start)
    X = rng.normal(size=(n,) + tuple(net.input_shape))
    out = net(theta, X)
    if loss == "cross_entropy":
        Y = rng.integers(0, out.shape[1], n)
    else:
        Y = rng.normal(size=out.shape).astype(dtype)
    return theta.astype(dtype), X.astype(dtype), Y


def _check_against_engine(net, n, dtype, loss="cross_entropy", weight_decay=0.0, X=None):
    theta, X0, Y = _problem(net, n, dtype, loss)
    X = X0 if X is None else X
    fast = nnopt.Objective(net, loss, X, Y, weight_decay=weight_decay, cache=False)
    assert fast._fast_conv
    engine = nnopt.Objective(net, loss, X, Y, weight_decay=weight_decay, cache=False, fast=False)
    assert not engine._fast_conv
    v, g = fast.value_and_grad(theta)
    v0, g0 = engine.value_and_grad(theta)
    assert g.dtype == dtype and g.shape == theta.shape and np.asarray(v).dtype == dtype
    eps = np.finfo(dtype).eps
    assert abs(v - v0) <= 100 * eps * max(1.0, abs(v0))
    err = np.linalg.norm(g - g0) / max(1.0, np.linalg.norm(g0))
    assert err <= 200 * eps, err
    return v, g


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("pool", ["avg", "max"])
def test_lenet5_equals_the_general_engine(dtype, pool):
    _check_against_engine(lenet5(pool=pool), 11, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_odd_geometries_activations_and_layer_orders(dtype):
    # odd image, strides, padding, dilation, every fused activation, no bias, conv-conv, overlapping pools
    body = [Conv2D(2, 3, (3, 2), stride=(2, 1), padding=(1, 0), activation="relu"),
            MaxPool2D((3, 2), stride=(1, 2), padding=(1, 0)),
            Conv2D(3, 4, 2, dilation=(2, 1), activation="sigmoid", bias=False),
            Conv2D(4, 2, 1, activation="identity"),
            AvgPool2D(2, stride=1, padding=1), Flatten()]
    shape = (2, 9, 11)
    for layer in body:
        shape = layer.output_shape(shape)
    nets = [
        Sequential(*body, Dense(shape[0], 5, "tanh"), Dense(5, 3), input_shape=(2, 9, 11)),
        # pooling first, global average pooling, a dense layer of width 1 into mse
        Sequential(AvgPool2D(2), Conv2D(1, 3, 3, padding=1, activation="tanh"), GlobalAvgPool2D(),
                   Dense(3, 1, "sigmoid"), input_shape=(1, 7, 6)),
        vgg_small(image_size=8, widths=(3,), hidden=5, n_classes=4),
    ]
    for net, loss in zip(nets, ["cross_entropy", "mse", "cross_entropy"]):
        for n in (1, 4):
            _check_against_engine(net, n, dtype, loss)


def test_weight_decay_and_non_contiguous_inputs():
    net = lenet5(image_size=16, n_classes=3)
    theta, X, Y = _problem(net, 5, np.float64)
    Xs = np.asfortranarray(X)  # same values, another memory layout
    v, g = _check_against_engine(net, 5, np.float64, weight_decay=0.3, X=Xs)
    big = np.zeros((5, 1, 32, 16))
    big[:, :, ::2, :] = X
    _check_against_engine(net, 5, np.float64, X=big[:, :, ::2, :])


def test_fun_jac_use_it_and_hessp_stays_exact(monkeypatch):
    net = lenet5(image_size=16, n_classes=3, activation="tanh")
    theta, X, Y = _problem(net, 3, np.float64)
    calls = []
    original = fast_conv.value_and_grad
    monkeypatch.setattr(fast_conv, "value_and_grad", lambda *a: calls.append(1) or original(*a))
    obj = nnopt.Objective(net, "cross_entropy", X, Y)
    engine = nnopt.Objective(net, "cross_entropy", X, Y, fast=False)
    np.testing.assert_allclose(obj.fun(theta), engine.fun(theta), rtol=1e-13)
    np.testing.assert_allclose(obj.jac(theta), engine.jac(theta), rtol=1e-11, atol=1e-14)
    assert len(calls) == 1  # one pass, cached between fun and jac
    v = np.random.default_rng(1).normal(size=theta.size)
    from threadpoolctl import threadpool_info

    before = [(i["filepath"], i["num_threads"]) for i in threadpool_info() if i["user_api"] == "blas"]
    np.testing.assert_allclose(obj.hessp(theta, v), engine.hessp(theta, v), rtol=1e-10, atol=1e-12)
    # hessp holds BLAS to one thread for the engine's pass and gives the limits back
    assert [(i["filepath"], i["num_threads"]) for i in threadpool_info() if i["user_api"] == "blas"] == before
    # inside a transform the objective stays differentiable
    np.testing.assert_allclose(nnopt.grad(obj)(theta), engine.jac(theta), rtol=1e-11, atol=1e-14)
    assert len(calls) == 1


def test_numpy_backend_runs_the_reference_kernels():
    net = lenet5(image_size=16, n_classes=3, pool="max")
    theta, X, Y = _problem(net, 4, np.float32)
    v, g = fast_conv.value_and_grad(net, "cross_entropy", theta, X, Y)
    with nnopt.config.using(backend="numpy"):
        v1, g1 = fast_conv.value_and_grad(net, "cross_entropy", theta, X, Y)
    assert g1.dtype == np.float32
    np.testing.assert_allclose(g1, g, rtol=1e-4, atol=1e-5 * np.abs(g).max())


def test_supports_exactly_the_plain_conv_nets():
    X = np.zeros((2, 1, 28, 28))
    y = np.zeros(2, dtype=int)
    assert fast_conv.supports(lenet5(), "cross_entropy", X, y)
    assert fast_conv.supports(lenet5(pool="max"), "mse", X, np.zeros((2, 10)))
    assert fast_conv.supports(vgg_small(), "cross_entropy")
    conv = Conv2D(1, 2, 3)
    unsupported = [
        (resnet_small(), "cross_entropy"),                                      # residual blocks
        (vgg_small(batch_norm=True), "cross_entropy"),                          # BatchNorm (StatefulSequential)
        (lenet5(), "binary_cross_entropy"),                                      # loss
        (Sequential(Conv2D(1, 2, 3, activation="elu"), Flatten(), Dense(1352, 2), input_shape=(1, 28, 28)),
         "mse"),                                                                # activation without a fused kernel
        (Sequential(conv, Activation("tanh"), Flatten(), Dense(1352, 2), input_shape=(1, 28, 28)), "mse"),
        (Sequential(conv, Flatten(), Dense(1352, 2, bias=False), input_shape=(1, 28, 28)), "mse"),
        (Sequential(Flatten(), Dense(784, 2), input_shape=(1, 28, 28)), "mse"),  # no convolution
        (Sequential(Dense(28, 2), input_shape=(1, 28, 28)), "mse"),              # dense on images
        (Sequential(conv, input_shape=(1, 28, 28)), "mse"),                      # images out
        (Sequential(conv, Flatten(), Flatten(), input_shape=(1, 28, 28)), "mse"),
        (nnopt.nn.MLP([4, 3, 2]), "mse"),
    ]
    for net, loss in unsupported:
        assert not fast_conv.supports(net, loss), net
    # a convolution and Flatten alone: no dense head needed
    _check_against_engine(Sequential(Conv2D(1, 2, 3, activation="tanh"), Flatten(), input_shape=(1, 5, 6)), 3,
                          np.float64, "mse")
    # data the compiled path does not take: one-hot targets, mse targets of another shape
    assert not fast_conv.supports(lenet5(), "cross_entropy", X, np.zeros((2, 10), dtype=int))
    assert not fast_conv.supports(lenet5(), "mse", X, np.zeros((2, 1)))
    assert not fast_conv.supports(lenet5(), "cross_entropy", np.zeros((2, 1, 32, 32)), y)
    bn = StatefulSequential(Conv2D(1, 2, 3), BatchNorm(2), Flatten(), Dense(1352, 2), input_shape=(1, 28, 28))
    assert not fast_conv.supports(bn, "mse")
    assert not nnopt.Objective(resnet_small(image_size=8), "cross_entropy", np.zeros((2, 1, 8, 8)), y)._fast_conv


def test_bad_labels_give_the_engines_error():
    net = lenet5(image_size=16, n_classes=3)
    theta, X, _ = _problem(net, 2, np.float64)
    obj = nnopt.Objective(net, "cross_entropy", X, np.array([0, 3]))
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 3\)"):
        obj.value_and_grad(theta)
