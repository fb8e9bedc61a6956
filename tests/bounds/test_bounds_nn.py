"""Bounds of neural-network objectives along a line (what the MM optimizer
uses): sound against 40-digit evaluations of the same objective."""
import mpmath
import numpy as np
import pytest

import nnopt
import nnopt.numpy as nnp
from nnopt import precision
from nnopt.bounds import taylor_bounds
from nnopt.nn import MLP

mp = mpmath


def _objective(act, loss, dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(16, 2))
    if loss == "cross_entropy":
        Y = (X[:, 0] > X[:, 1]).astype(np.int64) + (X[:, 0] > 1)
        n_out = 3
    elif loss == "binary_cross_entropy":
        Y = (X[:, :1] > 0).astype(dtype)
        n_out = 1
    else:
        Y = np.sin(X[:, :1]).astype(dtype)
        n_out = 1
    net = MLP([2, 5, n_out], activation=act)
    return nnopt.Objective(net, loss, X.astype(dtype), Y, weight_decay=1e-3), net.init(seed=seed, dtype=dtype)


def _line(obj, theta, d):
    return lambda eta: obj(theta + eta * d)


@pytest.mark.parametrize("act, loss", [
    ("tanh", "mse"), ("relu", "mse"), ("sigmoid", "binary_cross_entropy"),
    ("softplus", "cross_entropy"), ("gelu", "mse"), ("tanh", "cross_entropy"),
])
def test_objective_along_a_direction_is_enclosed(act, loss):
    obj, theta = _objective(act, loss)
    rng = np.random.default_rng(3)
    d = rng.normal(size=theta.shape) * 0.3
    a, b = -0.2, 0.5
    tb = taylor_bounds(_line(obj, theta, d), 0.0, (a, b), 1)
    assert tb.degree == 1 or act == "relu"
    with mp.workdps(40):
        tm = mp.mpf
        th = np.array([tm(float(v)) for v in theta], dtype=object)
        dm = np.array([tm(float(v)) for v in d], dtype=object)

        def F(eta):
            v = precision.evaluate(lambda t: obj(t), th + tm(eta) * dm, dps=40)
            return v.item() if isinstance(v, np.ndarray) else v

        f0 = F(0.0)
        g = precision.grad(lambda e: obj(th + e * dm), np.array(tm(0), dtype=object), dps=40)
        g = g.item() if isinstance(g, np.ndarray) else g
        c0, c1 = tb.coefficients[0], tb.coefficients[1] if tb.degree >= 1 else None
        lo, hi = c0 if isinstance(c0, tuple) else (c0, c0)
        assert lo <= f0 <= hi
        if c1 is not None:
            lo, hi = c1 if isinstance(c1, tuple) else (c1, c1)
            assert lo - 1e-25 <= g <= hi + 1e-25
        rlo, rhi = tb.remainder
        for eta in np.linspace(a, b, 25):
            if abs(eta) < 1e-9:
                continue
            z = tm(float(eta))
            coeffs = [f0, g] if tb.degree == 1 else [f0]
            r = (F(float(eta)) - sum(c * z ** i for i, c in enumerate(coeffs))) / z ** (tb.degree + 1)
            assert rlo - 1e-25 <= r <= rhi + 1e-25, (eta, r, rlo, rhi)


def test_mlp_input_box_enclosure_is_sound():
    net = MLP([3, 8, 8, 2], activation="tanh")
    theta = net.init(seed=2)
    box = [(-0.5, 0.5), (0.0, 0.3), (-1.0, -0.8)]

    from nnopt.bounds import enclose

    lo, hi = enclose(lambda x: net(theta, nnp.reshape(x, (1, 3)))[0], box, degree=1)
    assert lo.shape == (2,)
    rng = np.random.default_rng(0)
    for _ in range(300):
        x = np.array([rng.uniform(*b) for b in box])
        v = net(theta, x[None])[0]
        assert np.all(lo <= v + 1e-12) and np.all(v - 1e-12 <= hi)
