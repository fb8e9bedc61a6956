"""solve(): accuracy with the default settings, and every option.

The accuracy bars of the project: max-abs error on 1001 points below 1e-6
for smooth 1-D problems and below 1e-5 on a 101 x 101 grid for the 2-D
Poisson problem, float64, default settings, for at least 4 of 5 seeds.
"""
import numpy as np
import pytest

import nnopt.numpy as nnp
from nnopt import diffeq
from nnopt.diffeq import catalogue
from nnopt.diffeq.residuals import ResidualSystem
from nnopt.nn import MLP, Activation, Dense, Sequential

SEEDS = range(5)


@pytest.mark.parametrize("name", ["oscillator", "lagaris3_bvp"])
def test_smooth_1d_problems_reach_1e_6_with_defaults(name):
    """A second-order initial value problem and a two-point boundary value
    problem (first-order and other problems: the study tables in docs/diffeq.md)."""
    prob = {"oscillator": catalogue.damped_oscillator(), "lagaris3_bvp": catalogue.lagaris_ode(3, "bvp")}[name]
    errors = [diffeq.solve(prob, seed=s).errors["max_abs"] for s in SEEDS]
    assert sum(e < 1e-6 for e in errors) >= 4, errors


def test_poisson_2d_reaches_1e_5_with_defaults():
    prob = catalogue.poisson()
    sols = [diffeq.solve(prob, seed=s) for s in SEEDS]
    errors = [s.errors["max_abs"] for s in sols]
    assert sols[0].grid.shape == (101 * 101, 2)
    assert sum(e < 1e-5 for e in errors) >= 4, errors


@pytest.mark.parametrize("name", ["heat", "mixed", "lagaris2"])
def test_heat_mixed_and_first_order_problems(name):
    prob = {"heat": catalogue.heat(), "mixed": catalogue.lagaris_mixed(), "lagaris2": catalogue.lagaris_ode(2)}[name]
    sol = diffeq.solve(prob, seed=0, maxiter=200)
    assert sol.errors["max_abs"] < (1e-5 if prob.d == 2 else 1e-6), sol.errors


def test_solution_object():
    prob = catalogue.damped_oscillator()
    sol = diffeq.solve(prob, seed=1, maxiter=300)
    t = np.linspace(0, 2 * np.pi, 50)
    u = sol(t)
    assert u.shape == (50,) and u.dtype == np.float64
    np.testing.assert_array_equal(sol(t[:, None]), u)
    u0, du, ddu = sol.derivatives(t)
    w = np.sqrt(4 - 0.04)
    du_exact = np.exp(-0.2 * t) * (-0.2 * (np.cos(w * t) + 0.2 / w * np.sin(w * t))
                                   + (-w * np.sin(w * t) + 0.2 * np.cos(w * t)))
    assert np.max(np.abs(du - du_exact)) < 1e-4
    np.testing.assert_allclose(sol.residual(t), ddu + 0.4 * du + 4 * u0, rtol=1e-12, atol=1e-12)
    h = sol.history
    assert set(h) >= {"loss", "grad_norm", "time", "damping", "accepted"}
    assert len(h["loss"]) == sol.nit + 1 == 301
    acc = h["loss"][h["accepted"]]
    assert np.all(np.diff(acc) <= 0) and acc[-1] < 1e-6 * acc[0]
    assert sol.path == "fast"
    assert set(sol.residual_stats) == {"rms", "max", "grid_rms", "grid_max"}
    assert set(sol.errors) == {"max_abs", "rms", "rel_l2"}
    assert "Solution(" in repr(sol)
    with pytest.raises(ValueError, match="outside the domain"):
        sol(np.array([7.0]))


def test_same_seed_same_result_and_float32_stays_float32():
    prob = catalogue.lagaris_ode(2)
    a = diffeq.solve(prob, seed=3, maxiter=50)
    b = diffeq.solve(prob, seed=3, maxiter=50)
    np.testing.assert_array_equal(a.theta, b.theta)
    s32 = diffeq.solve(prob, seed=3, maxiter=200, dtype=np.float32)
    assert s32.theta.dtype == np.float32
    assert s32(np.linspace(0, 2, 11)).dtype == np.float32
    assert s32.history["loss"].dtype == np.float64  # a record of float32 losses
    assert s32.errors["max_abs"] < 1e-3


def test_penalty_form_and_user_forms():
    prob = catalogue.damped_oscillator()
    pen = diffeq.solve(prob, form="penalty", seed=0, maxiter=400, penalty_weight=10.0)
    assert pen.errors["max_abs"] < 1e-4, pen.errors
    T = prob.domain[1]
    # the Lagaris IVP form written by hand is the automatic one
    aff = diffeq.solve(prob, form=(lambda t: 1.0 + 0 * t, lambda t: (t / T) ** 2), seed=0, maxiter=30)
    auto = diffeq.solve(prob, seed=0, maxiter=30)
    np.testing.assert_allclose(aff.theta, auto.theta, rtol=1e-8, atol=1e-12)


def test_custom_form_takes_the_generic_path_with_the_same_jacobian():
    prob = catalogue.damped_oscillator()
    T = prob.domain[1]
    net = MLP([1, 6, 1])
    theta = net.init(seed=0)
    P = np.linspace(0, T, 12)[:, None]
    args = (net, P, np.float64, np.array([T / 2]), np.array([2 / T]))
    custom = diffeq.CustomForm(prob, lambda t, N: 1.0 + (t / T) ** 2 * N(t))
    S1 = ResidualSystem(prob, custom, *args)
    S2 = ResidualSystem(prob, diffeq.TrialForm(prob), *args)
    S1.check(theta)
    S2.check(theta)
    assert not S1.fast and S2.fast
    r1, J1 = S1.residual_and_jacobian(theta)
    r2, J2 = S2.residual_and_jacobian(theta)
    np.testing.assert_allclose(r1, r2, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(J1, J2, rtol=1e-10, atol=1e-12)
    sol = diffeq.solve(prob, net=net, form=lambda t, N: 1.0 + (t / T) ** 2 * N(t), maxiter=20, points=30)
    assert sol.path == "generic" and sol.history["loss"][-1] < sol.history["loss"][0]


def test_other_networks_take_the_generic_path():
    prob = catalogue.lagaris_ode(2)
    net = Sequential(Dense(1, 8, "tanh"), Activation("sin"), Dense(8, 1))
    sol = diffeq.solve(prob, net=net, maxiter=15, points=20)
    assert sol.path.startswith("generic")
    assert sol.history["loss"][-1] < 1e-2 * sol.history["loss"][0]


def test_coupled_residual_is_detected_and_handled():
    # an integro-differential equation: u' + u = mean(u) couples the points
    prob = diffeq.ODE(lambda t, u, du: du + u - nnp.mean(u) + 0 * t, (0, 1), initial=(1.0,))
    sol = diffeq.solve(prob, maxiter=15, points=20)
    assert "couples" in sol.path
    assert sol.history["loss"][-1] < 1e-4 * sol.history["loss"][0]


@pytest.mark.parametrize("method", ["lbfgs", "cg", "adam"])
def test_gradient_methods_reduce_the_loss(method):
    prob = catalogue.lagaris_ode(2)
    sol = diffeq.solve(prob, method=method, maxiter=150, learning_rate=1e-2, seed=0)
    h = sol.history["loss"]
    assert np.all(np.isfinite(h)) and h[-1] < 1e-2 * h[0]
    assert sol.nit == len(h) - 1


def test_resampling():
    prob = catalogue.lagaris_ode(2)
    sol = diffeq.solve(prob, collocation="sobol", resample=25, maxiter=100, seed=0)
    assert sol.nit == 100
    assert sol.errors["max_abs"] < 1e-4
    first = diffeq.collocation_points("sobol", 100, prob.lows, prob.highs, np.random.default_rng([0, 104729]))
    assert not np.allclose(np.sort(sol.points[:, 0]), np.sort(first[:, 0]))
    adam = diffeq.solve(prob, method="adam", collocation="random", resample=10, maxiter=60, learning_rate=1e-2)
    assert adam.history["loss"][-1] < adam.history["loss"][0]


def test_system_and_user_points():
    prob = catalogue.lagaris_system()
    t = np.linspace(0, 3, 40)
    sol = diffeq.solve(prob, points=t, maxiter=100)
    assert sol(t).shape == (40, 2)
    np.testing.assert_array_equal(sol.points[:, 0], t)
    assert sol.history["loss"][-1] < 1e-6 * sol.history["loss"][0]


def test_callback_and_time_limit():
    prob = catalogue.lagaris_ode(2)
    seen = []

    def cb(theta, loss):
        seen.append(loss)
        if len(seen) == 5:
            raise StopIteration

    sol = diffeq.solve(prob, callback=cb)
    assert len(seen) == 5 and sol.status == 7
    quick = diffeq.solve(prob, max_time=0.0)
    assert quick.status == 6


@pytest.mark.parametrize("scheme", ["equidistant", "chebyshev", "random", "sobol", "halton"])
def test_collocation_schemes(scheme):
    lows, highs = np.array([0.0, -1.0]), np.array([2.0, 1.0])
    P = diffeq.collocation_points(scheme, 64, lows, highs, np.random.default_rng(0))
    assert P.shape == (64, 2)
    assert np.all(P >= lows) and np.all(P <= highs)
    Q = diffeq.collocation_points(scheme, 64, lows, highs, np.random.default_rng(0))
    np.testing.assert_array_equal(P, Q)
