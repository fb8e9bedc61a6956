"""Every primitive runs in the mpmath interpreter (object arrays of mpf): values,
gradients and Hessian-vector products come out as mpf and agree with float64.

This is where object arrays tend to break (np.frompyfunc scalars, reductions
returning bare mpf, matmul/einsum on object arrays, comparisons in relu,
max and where, Python floats leaking out of max/min, float constants in rules).
"""
import mpmath
import numpy as np
import pytest

import nnopt
import nnopt.numpy as nnp
from nnopt import precision
from nnopt.autodiff.rules.dense import dense
from nnopt.autodiff.rules.shape import block

RNG = np.random.default_rng(5)


def U(*shape, lo=0.3, hi=1.4):
    return np.asarray(RNG.uniform(lo, hi, shape))


CASES = {
    # elementwise
    "unary": (lambda x: nnp.exp(x) + nnp.log(x) + nnp.log1p(x) + nnp.expm1(x) + nnp.sqrt(x)
              + nnp.sin(x) + nnp.cos(x) + nnp.tan(x) + nnp.sinh(x) + nnp.cosh(x) + nnp.tanh(x)
              + nnp.arctan(x) + nnp.sigmoid(x) + nnp.softplus(x) + nnp.erf(x), (U(3, 4),)),
    "kinks": (lambda x: nnp.abs(x - 0.8) + nnp.relu(x - 0.8) + nnp.elu(x - 0.8)
              + nnp.sign(x - 0.8) * x + nnp.clip(x, 0.5, 1.0), (U(3, 4),)),
    "binary": (lambda x, y: x * y + x / y - y ** x + x ** 3 + 2.0 ** x + nnp.maximum(x, y)
               + nnp.minimum(x, 0.7) + nnp.logaddexp(x, y), (U(3, 4), U(4))),
    "where": (lambda x: nnp.where(x > 0.8, x * x, nnp.sin(x)), (U(3, 4),)),
    # reductions
    "reductions": (lambda x: nnp.sum(x, axis=0) * nnp.mean(x, axis=0) + nnp.max(x, axis=1, keepdims=True)
                   + nnp.min(x) + nnp.var(x, axis=0) + nnp.std(x, axis=0) + nnp.norm(x)
                   + nnp.logsumexp(x, axis=0), (U(3, 4),)),
    "softmax": (lambda x: nnp.softmax(x) + nnp.log_softmax(x, axis=0), (U(3, 4),)),
    "full_reductions": (lambda x: nnp.sum(x) * nnp.max(x) + nnp.var(x), (U(5),)),
    # products
    "matmul": (lambda a, b: a @ b, (U(3, 4), U(4, 2))),
    "matmul_vec": (lambda a, b: (a @ b) * (b @ b), (U(3, 4), U(4))),
    "matmul_batched": (lambda a, b: a @ b, (U(2, 3, 4), U(2, 4, 2))),
    "einsum": (lambda a, b: nnp.einsum("bij,jk->bik", a, b) + nnp.einsum("...ij->...i", a)[..., None],
               (U(2, 3, 4), U(4, 1))),
    "einsum_scalar": (lambda a: nnp.einsum("ij,ij->", a, a), (U(3, 4),)),
    "dense": (lambda x, W: dense(x, W, W[0], act="tanh") + dense(x, W, W[1], act="sigmoid"),
              (U(5, 4), U(4, 4))),
    # shapes and indexing
    "shapes": (lambda x: nnp.concatenate([x, x[::-1] * 2], axis=1).T.reshape(-1)[2:9], (U(3, 4),)),
    "indexing": (lambda x: x[np.array([0, 2, 2]), 1:] * x[x[:, 0] > 0.8 + 0 * x[:, 0]].sum()
                 + x[1, -1], (U(3, 4),)),
    "stack_block": (lambda t: nnp.stack([block(t, 0, 6, (2, 3)), block(t, 4, 10, (2, 3))]), (U(10),)),
    "astype": (lambda x: nnp.astype(x, np.float64) * x, (U(3),)),
}


def _all_mpf(a):
    leaves = a if isinstance(a, (tuple, list)) else [a]
    return all(isinstance(v, mpmath.mpf) for leaf in leaves for v in np.ravel(np.asarray(leaf, dtype=object)))


@pytest.mark.parametrize("name", sorted(CASES))
def test_primitive_runs_in_mpmath_and_agrees_with_float64(name):
    f, args = CASES[name]
    n = len(args)

    def s(*z):
        return nnp.sum(f(*z) ** 2)

    argnums = tuple(range(n))
    val = precision.evaluate(f, *args, dps=40)
    v_mp, g_mp = precision.value_and_grad(s, *args, argnums=argnums, dps=40)
    assert _all_mpf(val) and isinstance(v_mp, mpmath.mpf) and _all_mpf(list(g_mp))

    v64, g64 = nnopt.value_and_grad(s, argnums=argnums)(*args)
    np.testing.assert_allclose(precision.to_float(val), f(*args), rtol=1e-13, atol=1e-14)
    assert float(v_mp) == pytest.approx(float(v64), rel=1e-13)
    for a, b in zip(g_mp, g64):
        np.testing.assert_allclose(precision.to_float(a), b, rtol=1e-12, atol=1e-12)

    # second order: a Hessian-vector product in the interpreter
    v = args[0][::-1].copy() if args[0].ndim == 1 else np.ones_like(args[0])
    margs = [precision.to_mp(a) for a in args]
    with mpmath.workdps(40):
        hv_mp = nnopt.hvp(lambda z: s(z, *margs[1:]), margs[0], precision.to_mp(v))
    hv64 = nnopt.hvp(lambda z: s(z, *args[1:]), args[0], v)
    np.testing.assert_allclose(precision.to_float(precision.to_mp(hv_mp)), hv64, rtol=1e-11, atol=1e-11)


def test_mpmath_results_carry_the_requested_precision():
    # the same composite at 20 and 60 digits differs by ~1e-20, not ~1e-16
    f, (x,) = CASES["unary"]
    lo = precision.evaluate(lambda x: nnp.sum(f(x)), x, dps=20)
    hi = precision.evaluate(lambda x: nnp.sum(f(x)), x, dps=60)
    with mpmath.workdps(60):
        d = abs(lo - hi) / abs(hi)
    assert 0 < d < mpmath.mpf(10) ** -18


def test_casts_to_float_dtypes_keep_arbitrary_precision():
    # the interpreter replaces every float dtype by mpmath numbers: an explicit
    # float32 cast inside f is a float32-run choice and is a no-op here
    x = np.array([0.1, 0.7])
    y = precision.evaluate(lambda x: nnp.astype(x, np.float32) * 3, x, dps=30)
    with mpmath.workdps(30):
        assert y[0] == 3 * mpmath.mpf(0.1)
    g = precision.grad(lambda x: nnp.sum(nnp.astype(x * x, np.float32)), x, dps=30)
    assert g[1] == 2 * mpmath.mpf(0.7)
    # casts to integer dtypes still convert
    assert nnp.astype(precision.to_mp(np.array([1.5, 2.5])), np.int64).dtype == np.int64
