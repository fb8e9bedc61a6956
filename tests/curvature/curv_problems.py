"""Small problems shared by the curvature tests."""
import numpy as np

import nnopt
from nnopt.nn import MLP


def make_objective(loss="mse", dtype=np.float64, n=24, sizes=(3, 5, 4, 2), weight_decay=0.0, seed=0,
                   activation="tanh"):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, sizes[0])).astype(dtype)
    if loss == "cross_entropy":
        Y = rng.integers(0, sizes[-1], size=n)
    elif loss == "binary_cross_entropy":
        Y = rng.integers(0, 2, size=(n, sizes[-1])).astype(dtype)
    else:
        Y = rng.normal(size=(n, sizes[-1])).astype(dtype)
    net = MLP(list(sizes), activation=activation)
    obj = nnopt.Objective(net, loss, X, Y, weight_decay=weight_decay)
    theta = net.init(seed=seed + 1, dtype=dtype)
    # move off the initialisation so the biases are not zero
    theta = theta + (0.1 * rng.normal(size=theta.shape)).astype(dtype)
    return obj, theta

