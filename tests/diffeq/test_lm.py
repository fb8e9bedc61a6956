"""Levenberg-Marquardt on small least-squares problems with known minimisers."""
import numpy as np
import pytest
import scipy.optimize

import nnopt.numpy as nnp
from nnopt.diffeq import levenberg_marquardt


def rosenbrock(x):
    return nnp.stack([10 * (x[1] - x[0] ** 2), 1 - x[0]])


@pytest.mark.parametrize("damping", ["nielsen", "marquardt"])
@pytest.mark.parametrize("scaling", ["levenberg", "marquardt"])
def test_rosenbrock_residuals_converge_to_the_minimiser(damping, scaling):
    res = levenberg_marquardt(rosenbrock, np.array([-1.2, 1.0]), damping=damping, scaling=scaling, maxiter=500)
    assert res.success, res.message
    np.testing.assert_allclose(res.x, [1.0, 1.0], atol=1e-10)
    h = res.history
    assert len(h["fun"]) == res.nit + 1
    accepted = h["fun"][h["accepted"]]
    assert np.all(np.diff(accepted) <= 0)  # accepted steps never increase F


def test_matches_scipy_least_squares_on_an_exponential_fit():
    rng = np.random.default_rng(0)
    t = np.linspace(0, 3, 40)
    y = 2.5 * np.exp(-1.3 * t) + 0.4 + 0.01 * rng.standard_normal(t.size)

    def fun(p):
        return p[0] * nnp.exp(-p[1] * t) + p[2] - y

    ours = levenberg_marquardt(fun, np.array([1.0, 0.5, 0.0]), maxiter=200)
    ref = scipy.optimize.least_squares(lambda p: p[0] * np.exp(-p[1] * t) + p[2] - y, [1.0, 0.5, 0.0],
                                       method="lm", xtol=1e-15, ftol=1e-15, gtol=1e-15)
    np.testing.assert_allclose(ours.x, ref.x, rtol=1e-8)
    np.testing.assert_allclose(ours.fun, 0.5 * np.sum(ref.fun ** 2), rtol=1e-10)


def test_underdetermined_dual_form_finds_a_zero_residual():
    # 2 residuals, 4 unknowns: the dual (m x m) system is used
    def fun(x):
        return nnp.stack([x[0] + x[1] ** 2 - 1, x[2] * x[3] - 2 + x[0]])

    res = levenberg_marquardt(fun, np.array([0.3, 0.2, 1.0, 1.0]), maxiter=200)
    assert res.fun < 1e-25


def test_float32_stays_float32():
    res = levenberg_marquardt(rosenbrock, np.array([-1.2, 1.0], dtype=np.float32), maxiter=500)
    assert res.x.dtype == np.float32
    np.testing.assert_allclose(res.x, [1.0, 1.0], atol=1e-3)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_nonfinite_start_and_bad_arguments():
    res = levenberg_marquardt(lambda x: nnp.log(x), np.array([-1.0]), maxiter=5)
    assert res.status == 4 and not res.success
    with pytest.raises(ValueError, match="damping"):
        levenberg_marquardt(rosenbrock, np.zeros(2), damping="x")
    with pytest.raises(ValueError, match="maxiter"):
        levenberg_marquardt(rosenbrock, np.zeros(2), maxiter=-1)
    with pytest.raises(TypeError, match="1-D floating"):
        levenberg_marquardt(rosenbrock, np.zeros(2, dtype=int))


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_rejected_steps_recover_from_nonfinite_trials():
    # sqrt is undefined below 0: the first Gauss-Newton step from x = 4 lands at x = -3.6
    def fun(x):
        return nnp.sqrt(x) - 0.1

    res = levenberg_marquardt(fun, np.array([4.0]), mu0=1e-12, maxiter=200)
    np.testing.assert_allclose(res.x, [0.01], rtol=1e-9)
    assert not np.all(res.history["accepted"])


def test_callback_can_stop():
    def cb(x, f):
        raise StopIteration

    res = levenberg_marquardt(rosenbrock, np.array([-1.2, 1.0]), callback=cb)
    assert res.status == 7 and res.nit == 1
