"""Majorization-minimization with verified safe rates: the loss never
increases, the certified decrease holds in exact arithmetic, and the
(init, update) protocol works with an oracle."""
import mpmath
import numpy as np
import pytest

import nnopt
import nnopt.numpy as nnp
from nnopt import precision
from nnopt.bounds import mm_minimize, safe_rate, safe_rate_descent
from nnopt.nn import MLP

mp = mpmath


def _regression(act="tanh", dtype=np.float64, n=32, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, (n, 2)).astype(dtype)
    Y = (np.sin(2 * X[:, :1]) * X[:, 1:]).astype(dtype)
    net = MLP([2, 8, 1], activation=act)
    return nnopt.Objective(net, "mse", X, Y), net.init(seed=seed, dtype=dtype)


def _mp_value(obj, theta_mp):
    v = precision.evaluate(lambda t: obj(t), theta_mp, dps=40)
    return v.item() if isinstance(v, np.ndarray) else v


@pytest.mark.parametrize("act", ["tanh", "relu", "softplus"])
def test_safe_rate_decrease_holds_in_exact_arithmetic(act):
    obj, theta = _regression(act)
    _, g = obj.value_and_grad(theta)
    for max_rate in (0.05, 1.0, 10.0):
        sr = safe_rate(obj, theta, -g, max_rate)
        assert 0 < sr.rate <= max_rate
        assert sr.decrease < 0
        assert sr.slope[0] <= -np.dot(g, g) <= sr.slope[1]
        with mp.workdps(40):
            t0 = np.array([mp.mpf(float(v)) for v in theta], dtype=object)
            gm = np.array([mp.mpf(float(v)) for v in g], dtype=object)
            f0 = _mp_value(obj, t0)
            f1 = _mp_value(obj, t0 - mp.mpf(sr.rate) * gm)
            assert f1 - f0 <= mp.mpf(sr.decrease) + mp.mpf(10) ** -30


def test_no_decrease_along_an_ascent_direction():
    obj, theta = _regression()
    _, g = obj.value_and_grad(theta)
    sr = safe_rate(obj, theta, g, 1.0)
    assert sr.rate == 0.0 and sr.decrease == 0.0


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_mm_minimize_is_monotone_and_keeps_dtype(dtype):
    obj, theta = _regression(dtype=dtype)
    res = mm_minimize(obj, theta, steps=15, verify=True)
    assert res.x.dtype == dtype
    loss = res.history["loss"]
    assert len(loss) == 15 and np.all(np.diff(loss) <= 0)
    assert res.fun < loss[0]
    assert np.all(res.history["rate"] > 0)


def test_mm_minimize_on_a_plain_function_and_a_custom_direction():
    A = np.diag([1.0, 10.0])

    def f(t):
        return 0.5 * nnp.sum(t * (A @ t)) + nnp.sum(nnp.exp(0.1 * t))

    res = mm_minimize(f, np.array([1.0, 1.0]), steps=60)
    assert res.fun < f(np.array([1.0, 1.0]))
    assert np.all(np.diff(res.history["loss"]) <= 0)
    res2 = mm_minimize(f, np.array([1.0, 1.0]), steps=20, direction=lambda th, g: -g / np.linalg.norm(g))
    assert np.all(np.diff(res2.history["loss"]) <= 0)


def test_safe_rate_descent_protocol_with_an_oracle():
    obj, theta = _regression()
    opt = safe_rate_descent(max_rate=0.5)
    state = opt.init(theta)
    losses = []
    for _ in range(5):
        loss, g = obj.value_and_grad(theta)
        losses.append(loss)
        updates, state = opt.update(g, state, theta, oracle=obj)
        assert updates.dtype == theta.dtype
        theta = theta + updates
    assert np.all(np.diff(losses) <= 0)
    with pytest.raises(ValueError, match="oracle"):
        opt.update(g, state, theta)
    with pytest.raises(TypeError, match="SafeRateState"):
        opt.update(g, (), theta, oracle=obj)
