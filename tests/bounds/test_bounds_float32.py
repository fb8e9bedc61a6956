"""Float32 inputs: the bounds are for the exact real function at the float32
values (converted exactly) and stay sound; they are never computed in float32."""
import mpmath
import numpy as np

import nnopt
import nnopt.numpy as nnp
from nnopt.bounds import enclose, safe_rate, taylor_bounds
from nnopt.nn import MLP

mp = mpmath


def test_float32_point_and_trust_region():
    x0 = np.float32(0.1)
    a, b = np.float32(-0.3), np.float32(0.7)
    W = np.float32(1.7)  # a float32 constant inside the function

    def f(x):
        return nnp.sigmoid(W * x) * nnp.tanh(x - np.float32(0.2))

    tb = taylor_bounds(f, x0, (a, b), 2)
    with mp.workdps(50):
        mf = lambda x: 1 / (1 + mp.exp(-mp.mpf(float(W)) * x)) * mp.tanh(x - mp.mpf(float(np.float32(0.2))))  # noqa: E731
        c = mp.taylor(mf, mp.mpf(float(x0)), 2)
        for i in range(3):
            lo, hi = tb.coefficients[i] if isinstance(tb.coefficients[i], tuple) else (tb.coefficients[i],) * 2
            assert lo <= c[i] <= hi
        for x in np.linspace(float(a), float(b), 201, dtype=np.float64):
            z = mp.mpf(x) - mp.mpf(float(x0))
            if abs(z) < 1e-9:
                continue
            r = (mf(mp.mpf(x)) - c[0] - c[1] * z - c[2] * z * z) / z ** 3
            assert tb.remainder[0] <= r <= tb.remainder[1]
    assert isinstance(tb.remainder[0], float)


def test_float32_box_enclosure_contains_float32_points():
    box = np.array([[0.1, 0.4], [-0.3, 0.9]], dtype=np.float32)
    lo, hi = enclose(lambda x: nnp.exp(x[0]) * nnp.sin(3 * x[1]), box, degree=2)
    rng = np.random.default_rng(0)
    with mp.workdps(30):
        for _ in range(300):
            u = rng.uniform(box[0, 0], box[0, 1])
            v = rng.uniform(box[1, 0], box[1, 1])
            val = mp.exp(mp.mpf(u)) * mp.sin(3 * mp.mpf(v))
            assert lo <= val <= hi


def test_float32_objective_safe_rate_is_certified_in_exact_arithmetic():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(20, 2)).astype(np.float32)
    Y = np.sin(X[:, :1]).astype(np.float32)
    net = MLP([2, 6, 1], activation="tanh")
    obj = nnopt.Objective(net, "mse", X, Y)
    theta = net.init(seed=0, dtype=np.float32)
    _, g = obj.value_and_grad(theta)
    sr = safe_rate(obj, theta, -g, 1.0)
    assert sr.rate > 0 and sr.decrease < 0
    # the exact loss at the exact step theta - rate * g, in 40-digit arithmetic
    from nnopt import precision

    with mp.workdps(40):
        th = precision.to_mp(theta) if hasattr(precision, "to_mp") else None
        gm = np.array([mp.mpf(float(v)) for v in g], dtype=object)
        t0 = np.array([mp.mpf(float(v)) for v in theta], dtype=object)
        step = t0 - mp.mpf(sr.rate) * gm
        f0 = _mp_loss(obj, t0)
        f1 = _mp_loss(obj, step)
        assert f1 - f0 <= mp.mpf(sr.decrease) + mp.mpf(10) ** -30
        del th


def _mp_loss(obj, theta_mp):
    from nnopt import precision

    v = precision.evaluate(lambda t: obj(t), theta_mp, dps=40)
    return v.item() if isinstance(v, np.ndarray) else v
