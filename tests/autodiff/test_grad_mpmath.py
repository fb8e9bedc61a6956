"""Values and derivatives in 50-digit arithmetic against an independent mpmath truth.

The nnopt side runs the ordinary primitives and rules on object arrays of
mpmath numbers (nnopt.precision); the truth is computed with mpmath alone
(its functions and mpmath.diff, which differentiates numerically at raised
precision).  Agreement to ~1e-40 shows that the rules are exact formulas and
that their constants are exact (a float constant would show up at ~1e-17).
"""
import mpmath
import numpy as np
import pytest

import nnopt
import nnopt.numpy as nnp
from nnopt import precision

mp = mpmath
DPS = 50
TOL = mp.mpf(10) ** -40


def _rel(a, b):
    return abs(a - b) / max(abs(b), mp.mpf(1))


TRUTH = {
    "exp": (mp.exp, None),
    "log": (mp.log, "pos"),
    "log1p": (mp.log1p, "pos"),
    "expm1": (mp.expm1, None),
    "sqrt": (mp.sqrt, "pos"),
    "sin": (mp.sin, None),
    "cos": (mp.cos, None),
    "tan": (mp.tan, None),
    "sinh": (mp.sinh, None),
    "cosh": (mp.cosh, None),
    "tanh": (mp.tanh, None),
    "arctan": (mp.atan, None),
    "sigmoid": (lambda x: 1 / (1 + mp.exp(-x)), None),
    "softplus": (lambda x: mp.log(1 + mp.exp(x)), None),
    "erf": (mp.erf, None),
    "abs": (mp.fabs, None),
    "relu": (lambda x: x if x > 0 else mp.mpf(0), None),
    "elu": (lambda x: x if x > 0 else mp.expm1(x), None),
    "square": (lambda x: x * x, None),
    "reciprocal": (lambda x: 1 / x, None),
    "gelu": (lambda x: x / 2 * (1 + mp.erf(x / mp.sqrt(2))), None),
}
POINTS = np.array([0.3, 1.7, -0.6, -2.2, 0.1])

@pytest.mark.parametrize("name", sorted(TRUTH))
def test_elementwise_values_and_derivatives(name):
    T, domain = TRUTH[name]
    fn = getattr(nnp, name)
    x = np.abs(POINTS) if domain == "pos" else POINTS
    with mp.workdps(DPS):
        value = precision.evaluate(fn, x, dps=DPS)
        g = precision.grad(lambda z: nnp.sum(fn(z)), x, dps=DPS)
        H = precision.hessian(lambda z: nnp.sum(fn(z)), x, dps=DPS)
        for i, xi in enumerate(x):
            t = mp.mpf(float(xi))
            assert isinstance(value[i], mp.mpf) and isinstance(g[i], mp.mpf)
            assert _rel(value[i], T(t)) < TOL, (name, xi, value[i], T(t))
            assert _rel(g[i], mp.diff(T, t)) < TOL, (name, xi, g[i], mp.diff(T, t))
            assert _rel(H[i, i], mp.diff(T, t, 2)) < TOL, (name, xi, H[i, i], mp.diff(T, t, 2))
        off = H - np.diag(np.diag(H))
        assert all(v == 0 for v in off.ravel())


def test_binary_operations_and_power():
    x, y = np.array([0.7, 1.3]), np.array([1.9, 0.4])

    def f(x, y):
        return nnp.sum(x ** y + x / y - nnp.maximum(x, y) * nnp.minimum(x, y)
                       + nnp.logaddexp(x, y) + 3.0 ** y)

    def truth(a, b):  # d/db 3^b = log(3) 3^b: the rule's log(3) must be exact
        return a ** b + a / b - max(a, b) * min(a, b) + mp.log(mp.exp(a) + mp.exp(b)) + 3 ** b

    with mp.workdps(DPS):
        gx, gy = precision.grad(f, x, y, argnums=(0, 1), dps=DPS)
        val = precision.evaluate(f, x, y, dps=DPS)
        ref = mp.fsum(truth(mp.mpf(a), mp.mpf(b)) for a, b in zip(x, y))
        assert _rel(val, ref) < TOL
        for i in range(2):
            a, b = mp.mpf(x[i]), mp.mpf(y[i])
            assert _rel(gx[i], mp.diff(truth, (a, b), (1, 0))) < TOL
            assert _rel(gy[i], mp.diff(truth, (a, b), (0, 1))) < TOL


def _mlp_truth(params, X, Y):
    """mean((W2 tanh(W1 x + b1) + b2 - y)^2) with mpmath loops (no nnopt)."""
    W1 = [[params[0], params[1]], [params[2], params[3]], [params[4], params[5]]]  # 3 x 2
    b1 = params[6:9]
    W2 = params[9:12]
    b2 = params[12]
    total = mp.mpf(0)
    for x, y in zip(X, Y):
        h = [mp.tanh(W1[j][0] * x[0] + W1[j][1] * x[1] + b1[j]) for j in range(3)]
        out = mp.fsum(W2[j] * h[j] for j in range(3)) + b2
        total += (out - y) ** 2
    return total / len(X)


def _mlp_nnp(theta, X, Y):
    W1 = nnp.reshape(theta[0:6], (3, 2))
    b1, W2, b2 = theta[6:9], theta[9:12], theta[12]
    H = nnp.tanh(X @ W1.T + b1)
    return nnp.mean((H @ W2 + b2 - Y) ** 2)


def test_mlp_like_composite_value_and_gradient():
    rng = np.random.default_rng(3)
    theta = rng.normal(size=13) * 0.7
    X, Y = rng.normal(size=(4, 2)), rng.normal(size=4)
    with mp.workdps(DPS):
        val, g = precision.value_and_grad(_mlp_nnp, theta, X, Y, dps=DPS)
        mparams = [mp.mpf(float(t)) for t in theta]
        mX = [[mp.mpf(float(v)) for v in row] for row in X]
        mY = [mp.mpf(float(v)) for v in Y]
        ref = _mlp_truth(mparams, mX, mY)
        assert _rel(val, ref) < TOL

        def partial(k):
            def fk(t):
                p = list(mparams)
                p[k] = t
                return _mlp_truth(p, mX, mY)

            return mp.diff(fk, mparams[k])

        for k in range(13):
            assert _rel(g[k], partial(k)) < TOL, (k, g[k], partial(k))
    # and the float64 gradient agrees with the truth to float64 accuracy
    g64 = nnopt.grad(_mlp_nnp)(theta, X, Y)
    np.testing.assert_allclose(g64, precision.to_float(g), rtol=1e-13, atol=1e-15)


def test_reductions_softmax_and_norm():
    x = np.array([0.25, -1.5, 2.0, 0.75])

    def f(x):
        return nnp.logsumexp(x) + nnp.sum(nnp.softmax(x) * x) + nnp.var(x) + nnp.std(x) + nnp.norm(x)

    def truth(*a):
        n = len(a)
        lse = mp.log(mp.fsum(mp.exp(v) for v in a))
        sm = mp.fsum(mp.exp(v - lse) * v for v in a)
        mean = mp.fsum(a) / n
        var = mp.fsum((v - mean) ** 2 for v in a) / n
        return lse + sm + var + mp.sqrt(var) + mp.sqrt(mp.fsum(v * v for v in a))

    with mp.workdps(DPS):
        m = [mp.mpf(float(v)) for v in x]
        val, g = precision.value_and_grad(f, x, dps=DPS)
        assert _rel(val, truth(*m)) < TOL
        for k in range(4):
            d = [0] * 4
            d[k] = 1
            assert _rel(g[k], mp.diff(truth, m, tuple(d))) < TOL


def test_ties_and_means_are_exact_in_mpmath():
    # 1/3 at a three-way tie and 1/3 from a mean over 3 must be mpf, not floats
    x = np.array([2.0, 2.0, 2.0, -1.0])
    with mp.workdps(DPS):
        g = precision.grad(nnp.max, x, dps=DPS)
        assert all(isinstance(v, mp.mpf) for v in g)
        assert _rel(g[0], mp.mpf(1) / 3) < TOL
        g = precision.grad(lambda z: nnp.mean(z[:3] * z[:3]), x, dps=DPS)
        assert _rel(g[0], mp.mpf(4) / 3) < TOL
        assert g[3] == 0
        # the jacobian's unit vectors are exact too
        J = precision.to_mp(nnopt.jacobian(lambda z: z / 3)(precision.to_mp(x)))
        assert _rel(J[0, 0], mp.mpf(1) / 3) < TOL
        # clip/maximum against a float constant keeps mpf entries
        y = precision.evaluate(lambda z: nnp.sum(nnp.clip(z, -0.5, 1.5)), x, dps=DPS)
        assert y == mp.mpf(4)


def test_where_with_a_float_branch_stays_in_mpmath():
    """A Python-float branch chosen by where among mpmath numbers becomes an mpf,
    so later operations run in arbitrary precision, not float64."""
    with mpmath.workdps(40):
        x = np.array([mpmath.mpf(0), mpmath.mpf(3)], dtype=object)
        w = nnp.where(1.0 > x, 1.0, 0.5 * x)
        out = nnp.exp(w * w)
        assert out.dtype == object and all(isinstance(v, mpmath.mpf) for v in out)
        assert abs(out[0] - mpmath.e) < mpmath.mpf(10) ** -38
        assert abs(out[1] - mpmath.exp(mpmath.mpf(9) / 4)) < mpmath.mpf(10) ** -37
