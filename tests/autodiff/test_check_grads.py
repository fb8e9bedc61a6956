"""The shipped checkers themselves: they pass on correct rules and catch wrong ones."""
import numpy as np
import pytest

import nnopt
import nnopt.numpy as nnp
from nnopt.autodiff.core import Primitive
from nnopt.autodiff.rules.elementwise import cos, multiply, sin
from nnopt.testing import check_grads, check_hvp, default_tolerances, problems

X = np.linspace(0.2, 1.1, 5)


def _sin_with(vjp_scale=1.0, jvp_scale=1.0, deriv=cos):
    p = Primitive("test_sin", np.sin)
    p.defvjp(lambda g, ans, x: multiply(g, multiply(deriv(x), vjp_scale)))
    p.defjvp(lambda t, ans, x: multiply(t, multiply(deriv(x), jvp_scale)))
    return p


# cos with a wrong derivative (+sin instead of -sin): sin built on it has
# correct first derivatives and wrong second derivatives.
_bad_cos = Primitive("bad_cos", np.cos)
_bad_cos.defvjp(lambda g, ans, x: multiply(g, sin(x)))
_bad_cos.defjvp(lambda t, ans, x: multiply(t, sin(x)))
SIN_BAD_SECOND = _sin_with(deriv=_bad_cos)


def test_passes_on_correct_rules_with_several_args_and_outputs():
    A = np.arange(6.0).reshape(2, 3) / 7
    check_grads(lambda x, W: nnp.tanh(W @ x), (X[:3], A))
    check_grads(lambda x: (nnp.sin(x), nnp.sum(x ** 3)), X)  # one array = (array,)
    check_grads(_sin_with(), (X,), order=3)


def test_float32_defaults_pass():
    x = X.astype(np.float32)
    check_grads(lambda x: nnp.exp(nnp.tanh(x)) * x, (x,))
    tols = default_tolerances(np.float32)
    assert tols["eps"] == pytest.approx(np.finfo(np.float32).eps ** (1 / 3))
    assert tols["rtol"] == pytest.approx(np.finfo(np.float32).eps ** 0.5)


@pytest.mark.parametrize("mode", ["fwd", "rev"])
def test_wrong_first_derivative_is_caught_in_its_mode(mode):
    bad = _sin_with(vjp_scale=1.001) if mode == "rev" else _sin_with(jvp_scale=1.001)
    with pytest.raises(AssertionError) as info:
        check_grads(bad, (X,), modes=(mode,), order=1)
    msg = str(info.value)
    assert "order 1" in msg and f"mode '{mode}'" in msg and "central differences" in msg
    other = "fwd" if mode == "rev" else "rev"
    check_grads(bad, (X,), modes=(other,), order=1)  # the other mode is right


def test_tight_tolerances_catch_a_small_error():
    # a 1e-6 relative error in reverse mode only, caught with rtol = atol = 1e-9
    bad = _sin_with(vjp_scale=1 + 1e-6)
    with pytest.raises(AssertionError, match="mode '(rev|fwd vs rev)'"):
        check_grads(bad, (X,), order=1, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("mode", ["fwd", "rev"])
def test_wrong_second_derivative_is_caught_at_order_2(mode):
    check_grads(SIN_BAD_SECOND, (X,), modes=(mode,), order=1)  # first order is right
    with pytest.raises(AssertionError) as info:
        check_grads(SIN_BAD_SECOND, (X,), modes=(mode,), order=2)
    msg = str(info.value)
    assert "order 2" in msg
    assert ("jvp(f)" if mode == "fwd" else "vjp(f)") in msg


def test_message_carries_both_numbers():
    with pytest.raises(AssertionError) as info:
        check_grads(_sin_with(vjp_scale=2.0), (X,), modes=("rev",), order=1)
    msg = str(info.value)
    # "... = <a> but central differences ... = <b>": both parse as floats
    a = float(msg.split("<J^T v, u> = ")[1].split(" ")[0])
    b = float(msg.split("(2 eps)> = ")[1].split(";")[0])
    assert a == pytest.approx(2 * b, rel=1e-6)


def test_bad_arguments():
    f = nnp.sin
    with pytest.raises(TypeError, match="f must be callable"):
        check_grads(3.0, (X,))
    with pytest.raises(TypeError, match=r"args\[0\].*int64"):
        check_grads(f, (np.arange(3),))
    with pytest.raises(TypeError, match="nnopt.precision"):
        check_grads(f, (X.astype(object),))
    with pytest.raises(ValueError, match="order must be >= 1"):
        check_grads(f, (X,), order=0)
    with pytest.raises(ValueError, match="modes"):
        check_grads(f, (X,), modes=("backward",))
    with pytest.raises(ValueError, match="eps"):
        check_grads(f, (X,), eps=-1.0)
    with pytest.raises(TypeError, match="rng"):
        check_grads(f, (X,), rng="seed")
    with pytest.raises(ValueError, match="non-finite"), np.errstate(invalid="ignore"):
        check_grads(nnp.log, (X - 1.0,))
    with pytest.raises(TypeError, match="dtype bool"):
        check_grads(lambda x: x > 0, (X,))


def test_reproducible_and_seedable():
    bad = _sin_with(vjp_scale=1.001)
    msgs = []
    for _ in range(2):
        with pytest.raises(AssertionError) as info:
            check_grads(bad, (X,), modes=("rev",), order=1, rng=7)
        msgs.append(str(info.value))
    assert msgs[0] == msgs[1]


def test_check_hvp_passes_on_problems():
    for p in (problems.rosenbrock(4), problems.quadratic(5), problems.logistic_sum()):
        check_hvp(p.fun, p.x0)
        check_hvp(p.fun, p.x0, v=np.ones_like(p.x0))
    check_hvp(problems.rosenbrock(3, dtype=np.float32).fun, np.array([0.5, -0.3, 0.8], np.float32))


def test_check_hvp_catches_a_wrong_second_derivative():
    with pytest.raises(AssertionError, match="central differences of grad"):
        check_hvp(lambda x: nnp.sum(SIN_BAD_SECOND(x)), X)


def test_check_hvp_bad_arguments():
    f = problems.rosenbrock(5).fun
    with pytest.raises(ValueError, match=r"v has shape \(4,\), x has shape \(5,\)"):
        check_hvp(f, X, v=np.ones(4))
    with pytest.raises(TypeError, match="v has dtype float32, x has dtype float64"):
        check_hvp(f, X, v=np.ones(5, np.float32))
    with pytest.raises(TypeError, match="x: expected a real floating-point array"):
        check_hvp(f, np.arange(5))


def test_problems_closed_forms_match_autodiff():
    for p in (problems.rosenbrock(5), problems.quadratic(4, cond=100.0), problems.logistic_sum(7, 3)):
        x = p.x0 + 0.1
        np.testing.assert_allclose(nnopt.grad(p.fun)(x), p.grad(x), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(nnopt.hessian(p.fun)(x), p.hess(x), rtol=1e-12, atol=1e-12)
    r = problems.rosenbrock(4)
    assert r.fun(r.x_star) == 0.0
    np.testing.assert_array_equal(r.grad(r.x_star), 0.0)
    q = problems.quadratic(6, cond=50.0)
    np.testing.assert_allclose(q.grad(q.x_star), 0.0, atol=1e-12)
    assert float(q.fun(q.x_star)) == pytest.approx(q.f_star, rel=1e-12)
    assert np.linalg.cond(q.hess(q.x0)) == pytest.approx(50.0, rel=1e-9)
    with pytest.raises(ValueError, match="n must be >= 2"):
        problems.rosenbrock(1)
    with pytest.raises(TypeError, match="dtype must be float32 or float64"):
        problems.quadratic(3, dtype=np.int32)


def test_a_rule_that_leaves_the_dtype_is_caught():
    # a forward rule computing in float64 for float32 input
    p = Primitive("sin64", np.sin)
    p.defjvp(lambda t, ans, x: multiply(t, cos(x).astype(np.float64)))
    with pytest.raises(AssertionError, match="tangent 0 has shape .* dtype float64, the output has .* float32"):
        check_grads(p, (X.astype(np.float32),), modes=("fwd",), order=1)
