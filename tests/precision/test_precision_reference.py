"""The mpmath interpreter: evaluate / grad / value_and_grad / hessian at dps digits."""
import mpmath
import numpy as np
import pytest

import nnopt
import nnopt.numpy as nnp
from nnopt import precision
from nnopt.testing import problems

mp = mpmath


def _all_mpf(a):
    return all(isinstance(v, mp.mpf) for v in np.ravel(a))


def test_evaluate_matches_mpmath_and_respects_dps():
    x = np.array([0.25, 1.5, -0.75])

    def f(x):
        return nnp.sum(nnp.exp(x) * nnp.sin(x))

    with mp.workdps(80):
        truth = mp.fsum(mp.exp(mp.mpf(v)) * mp.sin(mp.mpf(v)) for v in x)
    for dps in (20, 50, 70):
        y = precision.evaluate(f, x, dps=dps)
        assert isinstance(y, mp.mpf)
        assert abs(y - truth) < mp.mpf(10) ** (-dps + 2)
    # the caller's precision is untouched
    assert mp.mp.dps == 15


def test_evaluate_keeps_structure_and_float32_inputs_exact():
    x32 = np.array([0.1, 0.7], dtype=np.float32)
    out = precision.evaluate(lambda x: (x * 3, nnp.sum(x)), x32, dps=40)
    assert isinstance(out, tuple) and out[0].shape == (2,) and _all_mpf(out[0])
    with mp.workdps(40):
        assert out[1] == mp.mpf(float(x32[0])) + mp.mpf(float(x32[1]))  # the float32 values, not 0.1
        assert out[1] != mp.mpf("0.8")


def test_grad_and_hessian_of_rosenbrock_are_exact_rationals():
    # Rosenbrock is a polynomial: at dyadic points its derivatives are exact
    p = problems.rosenbrock(3)
    x = np.array([-1.25, 0.5, 1.75])
    g = precision.grad(p.fun, x, dps=30)
    H = precision.hessian(p.fun, x, dps=30)
    assert _all_mpf(g) and _all_mpf(H)
    assert [float(v) for v in g] == list(p.grad(x))
    np.testing.assert_array_equal(precision.to_float(H), p.hess(x))


def test_value_and_grad_multiple_arguments():
    W = np.array([[0.5, -1.0], [2.0, 0.25]])
    x = np.array([0.3, -0.2])

    def f(W, x):
        return nnp.sum(nnp.tanh(W @ x) ** 2)

    v, (gW, gx) = precision.value_and_grad(f, W, x, argnums=(0, 1), dps=40)
    assert gW.shape == (2, 2) and gx.shape == (2,)
    v64, (gW64, gx64) = nnopt.value_and_grad(f, argnums=(0, 1))(W, x)
    assert float(v) == pytest.approx(v64, rel=1e-15)
    np.testing.assert_allclose(precision.to_float(gW), gW64, rtol=1e-14)
    np.testing.assert_allclose(precision.to_float(gx), gx64, rtol=1e-14)


def test_catastrophic_cancellation_is_resolved():
    # (1 + x) - 1 - x is 0 in exact arithmetic; float64 gives the rounding of 1 + x
    x = np.array(1e-10)

    def f(x):
        return (1.0 + x) - 1.0 - x

    assert f(x) != 0.0
    assert precision.evaluate(f, x, dps=50) == 0
    # with too few digits the interpreter shows the same kind of error
    assert precision.evaluate(f, x, dps=8) != 0


def test_mpmath_complex_results_are_reported():
    with pytest.raises(TypeError, match="complex"):
        precision.evaluate(nnp.log, np.array([-1.0]))


def test_bad_arguments():
    with pytest.raises(TypeError, match="f must be callable"):
        precision.evaluate(3, np.ones(2))
    with pytest.raises(TypeError, match="dps must be an int"):
        precision.grad(nnp.sum, np.ones(2), dps=50.0)
    with pytest.raises(ValueError, match="dps must be >= 1"):
        precision.hessian(nnp.sum, np.ones(2), dps=0)
    with pytest.raises(TypeError, match="complex"):
        precision.evaluate(nnp.sum, np.ones(2, dtype=complex))
