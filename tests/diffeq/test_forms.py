"""Trial solutions satisfy their conditions exactly, for every network."""
import numpy as np
import pytest

import nnopt.numpy as nnp
from nnopt.diffeq import ODE, PDE, Condition, Neumann, Robin, catalogue
from nnopt.diffeq.forms import TrialForm
from nnopt.diffeq.residuals import ResidualSystem
from nnopt.nn import MLP

EPS = np.finfo(np.float64).eps


def _system(prob, seed):
    m = prob.n_components
    net = MLP([prob.d, 7, 6, m], activation="tanh")
    rng = np.random.default_rng(seed)
    theta = net.init(seed=seed) + rng.normal(0, 0.5, net.n_params)  # arbitrary weights
    lows, highs = prob.lows, prob.highs
    P = np.column_stack([np.linspace(lo, hi, 5) for lo, hi in zip(lows, highs)])
    S = ResidualSystem(prob, TrialForm(prob), net, P, np.float64, (lows + highs) / 2, 2 / (highs - lows))
    return S, theta


def _functional_value(S, theta, f, P):
    U, betas = S.u_partials(theta, P, order=max(f.order, 0) if S.problem.kind == "pde" else S.problem.order)
    idx = {b: i for i, b in enumerate(betas)}
    d = S.problem.d
    total = 0.0
    for w, _, k in f.terms:
        alpha = tuple(k if i == f.axis else 0 for i in range(d))
        total = total + w * U[:, idx[alpha], f.component]
    return total


r2 = lambda t, u, du, ddu: ddu + u  # noqa: E731
ODES = {
    "ivp1": ODE(lambda t, u, du: du + u, (0.5, 2.0), initial=(1.5,)),
    "ivp2": ODE(r2, (0, 3), initial=(1.0, -0.5)),
    "ivp3": ODE(lambda t, u, a, b, c: c + u, (-1, 1), initial=(0.3, 2.0, -4.0)),
    "dirichlet": ODE(r2, (0, 2), boundary=(1.0, 3.0)),
    "dirichlet_neumann": ODE(r2, (0, 2), boundary=(1.0, Neumann(2.0))),
    "neumann_robin": ODE(r2, (-1, 2), boundary=(Neumann(-1.0), Robin(2.0, 1.0, 0.5))),
    "neumann_both": ODE(lambda t, u, du, ddu: ddu - u, (0, 1), boundary=(Neumann(1.0), Neumann(2.0))),
    "beam": catalogue.beam(),
    "interior_point": ODE(r2, (0, 2), conditions=[Condition(0.0, 1.0), Condition(1.3, -2.0)]),
    "system": catalogue.lagaris_system(),
    "system_mixed_orders": ODE(lambda t, u, du, ddu: ddu + u, (0, 1), initial=((1.0, 2.0), (3.0,))),
}


@pytest.mark.parametrize("name", sorted(ODES))
@pytest.mark.parametrize("seed", [0, 1])
def test_ode_trial_solution_satisfies_conditions_exactly(name, seed):
    prob = ODES[name]
    S, theta = _system(prob, seed)
    for f in prob.functionals:
        x = f.terms[0][1]
        val = _functional_value(S, theta, f, np.array([[x]]))
        scale = 1 + abs(f.value) + float(np.max(np.abs(S.u_partials(theta, np.array([[x]]))[0])))
        assert abs(val[0] - f.value) <= 64 * EPS * scale, (f.label, val[0], f.value)


def _face_points(prob, f, rng, k=6):
    P = np.column_stack([rng.uniform(lo, hi, k) for lo, hi in prob.domain])
    P[:, f.axis] = f.terms[0][1]
    return P


PDES = {
    "poisson": catalogue.poisson(),
    "mixed": catalogue.lagaris_mixed(),
    "heat": catalogue.heat(),
    # data of w(x, y) = cos(y) (1 + x) + x^2 y (consistent where faces meet)
    "robin_neumann": PDE(lambda p, u, Du, D2u: D2u[:, 0, 0] + D2u[:, 1, 1] - u, ((0, 1), (-1, 2)),
                         dirichlet={(0, "low"): lambda p: nnp.cos(p[:, 1])},
                         neumann={(1, "low"): lambda p: np.sin(1.0) * (1 + p[:, 0]) + p[:, 0] ** 2,
                                  (1, "high"): lambda p: -np.sin(2.0) * (1 + p[:, 0]) + p[:, 0] ** 2},
                         robin={(0, "high"): (1.0, 2.0, lambda p: 4 * nnp.cos(p[:, 1]) + 5 * p[:, 1])},
                         name="robin"),
    "wave": PDE(lambda p, u, Du, D2u: D2u[:, 1, 1] - D2u[:, 0, 0], ((0, 1), (0, 1)), dirichlet=0.0,
                initial=(lambda p: nnp.sin(np.pi * p[:, 0]), lambda p: 0.5 * nnp.sin(2 * np.pi * p[:, 0]))),
    "3d": PDE(lambda p, u, Du, D2u: D2u[:, 0, 0] + D2u[:, 1, 1] + D2u[:, 2, 2], ((0, 1), (0, 1), (0, 1)),
              dirichlet=lambda p: p[:, 0] * p[:, 1] + p[:, 2] ** 2),
}


@pytest.mark.parametrize("name", sorted(PDES))
def test_pde_trial_solution_satisfies_conditions_exactly(name):
    prob = PDES[name]
    rng = np.random.default_rng(3)
    S, theta = _system(prob, 5)
    for f in prob.functionals:
        P = _face_points(prob, f, rng)
        val = _functional_value(S, theta, f, P)
        target = np.full(len(P), f.value) if not callable(f.value) else np.asarray(f.value(P))
        scale = 1 + float(np.max(np.abs(target)))
        np.testing.assert_allclose(val, target, rtol=0, atol=256 * EPS * scale * 10, err_msg=f.label)


def test_inconsistent_corner_data_is_refused():
    prob = PDE(lambda p, u, Du, D2u: D2u[:, 0, 0] + D2u[:, 1, 1], ((0, 1), (0, 1)),
               dirichlet={(0, "low"): 1.0, (0, "high"): 0.0, (1, "low"): 0.0, (1, "high"): 0.0})
    with pytest.raises(ValueError, match="disagree where the faces meet"):
        TrialForm(prob)


def test_dependent_conditions_are_refused():
    prob = ODE(r2, (0, 1), conditions=[Condition(0.0, 1.0), Condition(0.0, 2.0)])
    with pytest.raises(ValueError, match="not independent"):
        TrialForm(prob)


def test_ivp_trial_is_lagaris_form():
    """For u(0) = 1, u'(0) = 0 on [0, T]: u = 1 + (t/T)^2 N(t)."""
    prob = catalogue.damped_oscillator()
    S, theta = _system(prob, 0)
    T = prob.domain[1]
    t = np.linspace(0, T, 9)
    U, _ = S.u_partials(theta, t[:, None], order=0)
    N = S.net(theta, (t[:, None] - T / 2) * (2 / T))[:, 0]
    np.testing.assert_allclose(U[:, 0, 0], 1 + (t / T) ** 2 * N, rtol=1e-14, atol=1e-15)
