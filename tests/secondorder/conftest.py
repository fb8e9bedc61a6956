"""Small problems shared by the second-order tests."""
import numpy as np
import pytest

import nnopt
from nnopt.nn import Dense, Sequential
from nnopt.nn.conv import Conv2D
from nnopt.nn.pooling import Flatten, MaxPool2D


@pytest.fixture
def train():
    """The function ``train(opt, obj, theta, steps) -> (losses, theta, state)``."""
    return run


def run(opt, obj, theta, steps):
    """A plain full-batch training loop: the losses before each step and the last point."""
    state = opt.init(theta)
    losses = []
    for _ in range(steps):
        value, g = obj.value_and_grad(theta)
        losses.append(float(value))
        u, state = opt.update(g, state, theta, value=value, oracle=obj)
        theta = theta + u
    losses.append(float(obj.fun(theta)))
    return np.array(losses), theta, state


@pytest.fixture
def autoencoder():
    """A 12-6-3-6-12 autoencoder (sigmoid units, linear code) on smooth 12-pixel profiles."""
    rng = np.random.default_rng(0)
    t = np.linspace(0, 1, 12)
    centres = rng.uniform(0.2, 0.8, size=(64, 1))
    widths = rng.uniform(0.05, 0.2, size=(64, 1))
    X = np.exp(-((t - centres) / widths) ** 2)
    net = Sequential(Dense(12, 6, "sigmoid"), Dense(6, 3), Dense(3, 6, "sigmoid"), Dense(6, 12))
    return nnopt.Objective(net, "binary_cross_entropy", X, X)


@pytest.fixture
def cnn():
    """Which half of a 8x8 image is brighter: conv-relu-pool-conv-dense, 2 classes."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(32, 1, 8, 8))
    y = (X[:, 0, :4].sum(axis=(1, 2)) > X[:, 0, 4:].sum(axis=(1, 2))).astype(np.int64)
    net = Sequential(Conv2D(1, 3, 3, padding=1, activation="relu"), MaxPool2D(2),
                     Conv2D(3, 4, 3, activation="tanh"), Flatten(), Dense(16, 2), input_shape=(1, 8, 8))
    return nnopt.Objective(net, "cross_entropy", X, y)
