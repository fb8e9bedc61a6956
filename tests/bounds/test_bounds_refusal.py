"""Sound or refuse: unsupported operations, value-dependent code, singularities
and bad arguments give clear errors (or explicitly infinite bounds)."""
import numpy as np
import pytest

import nnopt.numpy as nnp
from nnopt.autodiff.core import Primitive
from nnopt.bounds import (BoundsError, DomainError, UnsupportedBoundError, enclose, global_minimize,
                          integrate, safe_rate, taylor_bounds)

my_op = Primitive("my_special_op", lambda x: 2 * x)


def test_an_operation_without_a_rule_is_refused_by_name():
    with pytest.raises(UnsupportedBoundError, match="my_special_op"):
        taylor_bounds(lambda x: nnp.exp(my_op(x)), 0.0, (-1.0, 1.0), 2)
    with pytest.raises(UnsupportedBoundError, match="my_special_op"):
        enclose(lambda x: my_op(x[0]), [(0, 1)])


def test_numpy_functions_without_rules_are_refused():
    with pytest.raises(Exception, match="not supported"):
        enclose(lambda x: np.floor(x), (0.0, 1.0))


def test_value_dependent_control_flow_is_refused():
    def f(x):
        if x > 0.5:  # undecided over [0, 1]
            return x
        return -x

    with pytest.raises(UnsupportedBoundError, match="control flow"):
        enclose(f, (0.0, 1.0))
    with pytest.raises(UnsupportedBoundError):
        enclose(lambda x: float(x) * 2, (0.0, 1.0))
    with pytest.raises(UnsupportedBoundError, match="NumPy array"):
        enclose(lambda x: np.asarray(x) * 2, (0.0, 1.0))


def test_getval_gives_shape_and_dtype_but_no_point():
    from nnopt.autodiff.core import getval

    seen = {}

    def f(x):
        v = getval(x)
        seen["shape"], seen["dtype"] = v.shape, v.dtype
        with pytest.raises(UnsupportedBoundError, match="no single point value"):
            v + 1
        with pytest.raises(UnsupportedBoundError):
            bool(v)
        return x * 2

    enclose(f, [(0, 1), (2, 3)])
    assert seen == {"shape": (2,), "dtype": np.dtype(np.float64)}


def test_a_decided_comparison_is_allowed_in_control_flow():
    def f(x):
        if x > -1.0:  # true on the whole box [0, 1]: decided
            return nnp.exp(x)
        return x

    lo, hi = enclose(f, (0.0, 1.0))
    assert lo <= 1.0 and np.e <= hi


def test_log_of_an_interval_with_negative_numbers_raises():
    with pytest.raises(DomainError, match="log"):
        enclose(nnp.log, (-1.0, 1.0))
    with pytest.raises(DomainError, match="sqrt"):
        taylor_bounds(nnp.sqrt, 0.5, (-0.5, 1.0), 1)
    with pytest.raises(DomainError, match="log1p"):
        enclose(nnp.log1p, (-2.0, 1.0))


def test_log_at_zero_gives_an_explicit_infinite_bound():
    lo, hi = enclose(nnp.log, (0.0, 1.0))
    assert lo == -np.inf and 0.0 <= hi < 1e-300
    tb = taylor_bounds(nnp.log, 0.5, (0.0, 1.0), 1)
    assert tb.remainder[0] == -np.inf and np.isfinite(tb.remainder[1])


def test_division_by_an_interval_containing_zero_is_infinite():
    lo, hi = enclose(lambda x: 1.0 / x, (-1.0, 1.0))
    assert lo == -np.inf and hi == np.inf
    tb = taylor_bounds(lambda x: 1.0 / (x - 0.25), 0.75, (0.0, 1.0), 1)
    assert not np.all(np.isfinite(tb.remainder))


def test_elu_is_bounded_not_refused():
    """nnopt.numpy.elu is a primitive with a rigorous rule (it used to read the
    point value of its input and be refused): its range is enclosed sharply."""
    lo, hi = enclose(nnp.elu, (-1.0, 1.0))
    assert lo <= np.expm1(-1.0) and 1.0 <= hi
    assert np.expm1(-1.0) - lo < 1e-14 and hi - 1.0 < 1e-14


@pytest.mark.parametrize("call, match", [
    (lambda: taylor_bounds(nnp.exp, 2.0, (0.0, 1.0), 1), "x0 must lie in the trust region"),
    (lambda: taylor_bounds(nnp.exp, 0.0, (0.0, 1.0), -1), "degree must be"),
    (lambda: taylor_bounds(nnp.exp, 0.0, (0.0, 1.0), 1.5), "degree must be an integer"),
    (lambda: taylor_bounds(nnp.exp, 0.0, 1.0, 1), "trust_region must be a pair"),
    (lambda: taylor_bounds(nnp.exp, np.nan, (0.0, 1.0), 1), "x0 must be finite"),
    (lambda: taylor_bounds(nnp.exp, "a", (0.0, 1.0), 1), "x0 must be real"),
    (lambda: taylor_bounds(3.0, 0.0, (0.0, 1.0), 1), "f must be a callable"),
    (lambda: taylor_bounds(nnp.exp, np.zeros(2), (0.0, 1.0), 1, pieces=2), "pieces > 1"),
    (lambda: enclose(nnp.exp, [(1.0, 0.0)]), "low <= high"),
    (lambda: enclose(nnp.exp, [(0.0, np.inf)]), "bounded and finite"),
    (lambda: enclose(nnp.exp, [[0.0, 1.0, 2.0]]), "pairs"),
    (lambda: global_minimize(nnp.exp, (0.0, 1.0), tol=0), "tol must be a positive"),
    (lambda: global_minimize(lambda x: nnp.stack([x, x]), (0.0, 1.0)), "must return a scalar"),
    (lambda: integrate(nnp.exp, 0.0, 1.0, tol=-1), "tol must be a positive"),
    (lambda: integrate(nnp.exp, 0.0, np.inf), "b must be finite"),
    (lambda: safe_rate(lambda t: nnp.sum(t), np.zeros(3), np.zeros(2), 1.0), "direction has shape"),
    (lambda: safe_rate(lambda t: nnp.sum(t), np.zeros(3), np.zeros(3), -1.0), "max_rate must be"),
    (lambda: safe_rate(lambda t: nnp.sum(t), np.zeros(3, np.float32), np.zeros(3), 1.0), "dtype"),
])
def test_bad_arguments_give_clear_errors(call, match):
    with pytest.raises((ValueError, TypeError, BoundsError), match=match):
        call()


def test_a_function_returning_a_tuple_is_refused():
    with pytest.raises(BoundsError, match="one array"):
        enclose(lambda x: (x, x), (0.0, 1.0))
