"""logsumexp and elu as primitives: values, derivatives of orders 1-3 in both
modes, 50-digit agreement with mpmath, dtype faithfulness, and (elu) the
former ``where`` composition's numbers and conventions, unchanged."""
import mpmath
import numpy as np
import pytest

import nnopt
import nnopt.numpy as nnp
from nnopt import precision
from nnopt.autodiff.core import Primitive, getval
from nnopt.autodiff.rules.activations import elu_primitive
from nnopt.autodiff.rules.elementwise import expm1, is_mp, multiply, where
from nnopt.autodiff.rules.reductions import logsumexp as lse_primitive
from nnopt.testing import check_grads

mp = mpmath
DPS = 50
TOL = mp.mpf(10) ** -40
RNG = np.random.default_rng(7)


def _rel(a, b):
    return abs(a - b) / max(abs(b), mp.mpf(1))


def test_they_are_primitives():
    assert isinstance(lse_primitive, Primitive) and lse_primitive.name == "logsumexp"
    assert isinstance(elu_primitive, Primitive) and elu_primitive.name == "elu"
    # one node per call in a reverse-mode trace (no max/exp/sum/log/where inside)
    from nnopt.autodiff.core import VJPTrace

    for fn in (nnp.logsumexp, nnp.elu):
        trace = VJPTrace()
        x = trace.new_input(np.array([0.3, -1.2, 2.0]))
        fn(x)
        assert [n[0].name for n in trace.nodes if n is not None] == [fn.__name__]


# ---------------------------------------------------------------------------
# logsumexp
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("axis", [None, 0, -1, (0, 2)], ids=str)
def test_logsumexp_derivatives_to_order_two_at_ties(axis, keepdims):
    # ties everywhere: the shifted composition had a max there, the primitive is smooth
    x = np.round(RNG.uniform(-1.5, 1.5, (2, 3, 4)), 1)
    x[:, 0, :] = x[:, 1, :]
    check_grads(lambda x: nnp.logsumexp(x, axis=axis, keepdims=keepdims), (x,), order=2, modes=("fwd", "rev"))


def test_logsumexp_third_order_and_composite():
    x = RNG.uniform(-1, 1, (3, 4))
    check_grads(lambda x: nnp.logsumexp(x, axis=1), (x,), order=3, modes=("fwd", "rev"))
    check_grads(lambda x: nnp.sum(nnp.log_softmax(x * x, axis=0) * nnp.softmax(x, axis=1)), (x,), order=2)


def test_logsumexp_values_and_derivatives_match_mpmath():
    x = np.array([0.25, -1.5, 2.0, 0.75, 2.0])

    def truth(*a):
        return mp.log(mp.fsum(mp.exp(v) for v in a))

    with mp.workdps(DPS):
        m = [mp.mpf(float(v)) for v in x]
        val = precision.evaluate(nnp.logsumexp, x, dps=DPS)
        g = precision.grad(nnp.logsumexp, x, dps=DPS)
        H = precision.hessian(nnp.logsumexp, x, dps=DPS)
        assert _rel(val, truth(*m)) < TOL  # exact: no shift in the mpmath interpreter
        for i in range(5):
            e = [0] * 5
            e[i] = 1
            assert _rel(g[i], mp.diff(truth, m, tuple(e))) < TOL
            for j in range(5):
                e2 = list(e)
                e2[j] += 1
                assert _rel(H[i, j], mp.diff(truth, m, tuple(e2))) < TOL
        # third derivative d^3/dx0^3 by nested grads on mpmath numbers
        f3 = nnopt.grad(lambda t: nnopt.grad(lambda s: nnopt.grad(
            lambda r: nnp.logsumexp(nnp.concatenate([r[None], precision.to_mp(x[1:])])))(s))(t))
        t3 = f3(np.array(m[0], dtype=object))
        assert _rel(getval(t3).item() if isinstance(t3, np.ndarray) else t3, mp.diff(truth, m, (3, 0, 0, 0, 0))) < TOL


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_logsumexp_is_stable_and_dtype_faithful(dtype):
    x = np.array([[1000.0, 1000.0, -np.inf], [-3.0, 2.0, 0.5]], dtype=dtype)
    v = nnp.logsumexp(x, axis=1)
    assert v.dtype == dtype
    np.testing.assert_allclose(v[0], 1000 + np.log(2), rtol=np.finfo(dtype).eps * 4)
    g = nnopt.grad(lambda x: nnp.sum(nnp.logsumexp(x, axis=1)))(x)
    assert g.dtype == dtype
    np.testing.assert_array_equal(g[0], np.array([0.5, 0.5, 0.0], dtype=dtype))
    np.testing.assert_allclose(g.sum(axis=1), 1, rtol=np.finfo(dtype).eps * 8)
    H = nnopt.hessian(lambda r: nnp.logsumexp(r))(x[1])
    assert H.dtype == dtype
    p = np.exp(x[1] - nnp.logsumexp(x[1]))
    np.testing.assert_allclose(H, np.diag(p) - np.outer(p, p), atol=np.finfo(dtype).eps * 8)


def test_logsumexp_matches_the_shifted_composition():
    """The float implementation is the former composition (max shift), bit for bit."""
    for dtype in (np.float32, np.float64):
        x = RNG.normal(size=(3, 5)).astype(dtype) * 4
        for axis, keepdims in ((None, False), (1, False), (0, True)):
            m = np.max(x, axis=axis, keepdims=True)
            ref = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
            if not keepdims:
                ref = np.squeeze(ref, axis=axis)
            out = nnp.logsumexp(x, axis=axis, keepdims=keepdims)
            assert out.dtype == dtype and out.shape == ref.shape
            np.testing.assert_array_equal(out, ref)


# ---------------------------------------------------------------------------
# elu
# ---------------------------------------------------------------------------


def _old_elu(x, alpha=1.0):
    """The former where composition of nnopt.numpy.elu (the reference)."""
    positive = np.greater(getval(x), 0)
    zero = np.zeros((), dtype=np.result_type(getval(x)) if not is_mp(x) else object)
    inner = where(positive, zero, x)
    return where(positive, x, multiply(expm1(inner), alpha))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("alpha", [1.0, 0.7, np.float64(0.3), 2.5])
def test_elu_keeps_the_former_numbers_and_conventions(alpha, dtype):
    x = (RNG.normal(size=40) * 2).astype(dtype)
    x[:4] = [0.0, -0.0, 50.0, -50.0]
    new, old = nnp.elu(x, alpha), _old_elu(x, alpha)
    assert new.dtype == old.dtype
    np.testing.assert_array_equal(new, old)

    def f(e):
        return lambda x: nnp.sum(nnp.sin(e(x, alpha)))

    g_new, g_old = nnopt.grad(f(nnp.elu))(x), nnopt.grad(f(_old_elu))(x)
    assert g_new.dtype == g_old.dtype
    np.testing.assert_array_equal(g_new, g_old)
    u = RNG.normal(size=40).astype(dtype)
    np.testing.assert_array_equal(nnopt.jvp(f(nnp.elu), (x,), (u,))[1], nnopt.jvp(f(_old_elu), (x,), (u,))[1])
    H_new, H_old = nnopt.hessian(f(nnp.elu))(x), nnopt.hessian(f(_old_elu))(x)
    np.testing.assert_allclose(H_new, H_old, rtol=4 * np.finfo(dtype).eps, atol=4 * np.finfo(dtype).eps)
    # conventions at 0: elu'(0) = alpha, elu''(0) = alpha (the x <= 0 branch)
    z = np.zeros(1, dtype=dtype)
    d1 = nnopt.grad(lambda z: nnp.sum(nnp.elu(z, alpha)))(z)
    d2 = nnopt.hessian(lambda z: nnp.sum(nnp.elu(z, alpha)))(z)
    assert d1[0] == np.asarray(alpha, dtype=d1.dtype) and d2[0, 0] == np.asarray(alpha, dtype=d2.dtype)


def test_elu_derivatives_to_order_three_and_in_alpha():
    x = RNG.uniform(0.2, 1.5, (3, 4)) * np.where(RNG.random((3, 4)) < 0.5, -1, 1)
    check_grads(nnp.elu, (x,), order=3, modes=("fwd", "rev"))
    check_grads(lambda x, a: nnp.elu(x, a), (x, np.array(0.7)), order=2, modes=("fwd", "rev"))
    # alpha broadcasting against x
    check_grads(lambda x, a: nnp.elu(x, a), (x, np.array([0.5, 1.0, 1.5, 2.0])), order=2)
    ga = nnopt.grad(lambda a: nnp.sum(nnp.elu(x, a)))(np.array(0.7))
    np.testing.assert_allclose(ga, np.sum(np.where(x > 0, 0.0, np.expm1(x))), rtol=1e-14)


def test_elu_values_and_derivatives_match_mpmath():
    x = np.array([0.3, 1.7, -0.6, -2.2, 0.1])

    def truth(t, a=mp.mpf(0.7)):
        return t if t > 0 else a * mp.expm1(t)

    with mp.workdps(DPS):
        f = lambda z: nnp.elu(z, 0.7)  # noqa: E731
        val = precision.evaluate(f, x, dps=DPS)
        g = precision.grad(lambda z: nnp.sum(f(z)), x, dps=DPS)
        H = precision.hessian(lambda z: nnp.sum(f(z)), x, dps=DPS)
        for i, xi in enumerate(x):
            t = mp.mpf(float(xi))
            assert _rel(val[i], truth(t)) < TOL
            assert _rel(g[i], mp.diff(truth, t)) < TOL
            assert _rel(H[i, i], mp.diff(truth, t, 2)) < TOL
        d3 = nnopt.grad(lambda s: nnopt.grad(lambda r: nnopt.grad(lambda q: f(q))(r))(s))
        for xi in (-0.6, 1.7):
            v = d3(np.array(mp.mpf(xi), dtype=object))
            v = v.item() if isinstance(v, np.ndarray) else v
            assert _rel(v, mp.diff(truth, mp.mpf(xi), 3)) < TOL
