"""rounding_error: float32/float64 results against the mpmath truth, and a few
known loss-of-precision cases."""
import mpmath
import numpy as np
import pytest

import nnopt.numpy as nnp
from nnopt.precision import RoundingError, relative_error, rounding_error


def test_benign_sum_is_within_the_classical_bound():
    # recursive summation: |error| <= (n - 1) u sum|x_i| (Higham, Accuracy and
    # Stability of Numerical Algorithms, eq. 4.4); here all x_i > 0
    rng = np.random.default_rng(0)
    for dtype in (np.float32, np.float64):
        x = rng.uniform(0.5, 1.5, 1000).astype(dtype)
        r = rounding_error(nnp.sum, x)
        assert isinstance(r, RoundingError) and r.dtype == dtype
        assert r.unit_roundoff == np.finfo(dtype).eps / 2
        assert r.value <= 999 * r.unit_roundoff
        assert r.grad == 0.0 and r.grad_max == 0.0  # the gradient is exactly ones


def test_float32_is_less_accurate_than_float64():
    rng = np.random.default_rng(1)
    x = rng.normal(size=50)

    def f(x):
        return nnp.logsumexp(3 * x) + nnp.sum(nnp.tanh(x) ** 2)

    r64 = rounding_error(f, x)
    r32 = rounding_error(f, x.astype(np.float32))
    assert 0 < r64.value < 1e-14 and 0 < r64.grad < 1e-14
    assert r32.value > 1e3 * r64.value
    assert r32.grad > 1e3 * r64.grad
    assert r32.value < 1e-5 and r32.grad < 1e-5
    assert r32.grad_max >= r32.grad * 0.5  # componentwise is at least comparable


def test_log_of_one_plus_x_loses_precision_log1p_does_not():
    # log(1 + x) for tiny x: the rounding of 1 + x is amplified by 1/x
    x = np.array(1e-10)
    naive = rounding_error(lambda x: nnp.log(1.0 + x), x)
    good = rounding_error(nnp.log1p, x)
    assert naive.value > 1e-8           # about 1e-7: seven digits lost
    assert good.value <= 2 * good.unit_roundoff
    # and the derivative 1/(1+x) is fine either way
    assert naive.grad <= 2 * naive.unit_roundoff


def test_softplus_naive_vs_stable():
    # log(1 + exp(x)) overflows to inf at x = 100 in float32
    x = np.array([100.0], dtype=np.float32)
    with np.errstate(over="ignore"):
        naive = rounding_error(lambda x: nnp.sum(nnp.log(1.0 + nnp.exp(x))), x, grad=False)
    stable = rounding_error(lambda x: nnp.sum(nnp.softplus(x)), x)
    assert naive.value == np.inf or naive.value > 1
    assert stable.value <= 2 * stable.unit_roundoff


def test_variance_by_the_textbook_formula_cancels():
    # E[x^2] - E[x]^2 with a large mean cancels catastrophically; the
    # two-pass formula (nnp.var) does not
    x = 1e4 + np.random.default_rng(2).normal(size=100)

    def textbook(x):
        return nnp.mean(x * x) - nnp.mean(x) ** 2

    bad, good = rounding_error(textbook, x), rounding_error(nnp.var, x)
    assert bad.value > 1e-10
    assert good.value < 1e-14


def test_non_scalar_outputs_and_options():
    x = np.linspace(0.1, 1.0, 5).astype(np.float32)
    r = rounding_error(nnp.exp, x)
    assert r.grad is None and r.grad_max is None and r.f.shape == (5,)
    assert r.value < 4 * r.unit_roundoff
    assert r.f_ref.shape == (5,) and r.dps == 50
    with pytest.raises(ValueError, match="grad=True needs a scalar-valued f"):
        rounding_error(nnp.exp, x, grad=True)
    r = rounding_error(lambda a, b: nnp.sum(a * b), x, x.astype(np.float64), argnums=1, dps=30)
    assert r.dtype == np.float32 and r.dps == 30


def test_bad_arguments():
    with pytest.raises(TypeError, match=r"args\[0\] must be a real floating array"):
        rounding_error(nnp.sum, np.arange(3))
    with pytest.raises(TypeError, match="f must be callable"):
        rounding_error(None, np.ones(2))
    with pytest.raises(ValueError, match="at least one argument"):
        rounding_error(nnp.sum)
    with pytest.raises(TypeError, match="grad must be True, False or None"):
        rounding_error(nnp.sum, np.ones(2), grad="yes")


def test_relative_error_helper():
    assert relative_error(np.array([1.0, 2.0]), np.array([1.0, 2.0])) == 0.0
    assert relative_error(np.zeros(2), np.zeros(2)) == 0.0
    assert relative_error(np.ones(2), np.zeros(2)) == np.inf
    assert relative_error(np.array([3.0, 4.0]), np.array([0.0, 0.0]) + [3.0, 5.0]) == pytest.approx(
        1 / np.sqrt(34)
    )
    with mpmath.workdps(30):
        assert relative_error(mpmath.mpf(1) / 3, mpmath.mpf(1) / 3) == 0.0
    with pytest.raises(ValueError, match="3 values against 2"):
        relative_error(np.ones(3), np.ones(2))
