"""Bad input is refused with a clear error before any training starts."""
import numpy as np
import pytest

import nnopt.numpy as nnp
from nnopt import diffeq
from nnopt.diffeq import ODE, PDE, Condition, Neumann, Robin
from nnopt.nn import MLP

osc = lambda t, u, du, ddu: ddu + 0.4 * du + 4 * u  # noqa: E731
lap = lambda p, u, Du, D2u: D2u[:, 0, 0] + D2u[:, 1, 1]  # noqa: E731


def test_ode_attributes():
    prob = ODE(osc, (0, 1), initial=(1.0, 0.0))
    assert prob.order == 2 and prob.n_components == 1 and not prob.system
    sysp = ODE(lambda t, u, du: du - u, (0, 1), initial=((0.0,), (1.0,)))
    assert sysp.order == 1 and sysp.n_components == 2 and sysp.system
    bvp = ODE(osc, (0, 1), boundary=(0.0, Neumann(1.0)))
    assert [f.order for f in bvp.functionals] == [0, 1]
    pde = PDE(lap, ((0, 1), (0, 2)), dirichlet=0.0)
    assert pde.d == 2 and pde.order == 2 and len(pde.functionals) == 4
    heat = PDE(lambda p, u, Du, D2u: Du[:, 1] - D2u[:, 0, 0], ((0, 1), (0, 1)), dirichlet=0.0, initial=1.0)
    assert sorted((f.axis, f.terms[0][1]) for f in heat.functionals) == [(0, 0.0), (0, 1.0), (1, 0.0)]
    first = PDE(lambda p, u, Du: Du[:, 0] + Du[:, 1], ((0, 1), (0, 1)), dirichlet={(0, "low"): 0.0})
    assert first.order == 1


@pytest.mark.parametrize("residual,kw,match", [
    (lambda t, u, du: du + u, dict(initial=(1.0, 0.0)), "residual must take 4 arguments"),
    (osc, dict(initial=(1.0,)), "residual must take 3 arguments"),
    (osc, dict(boundary=(1.0, 2.0, 3.0)), "pair"),
    (lambda t, u, du: du + u, dict(boundary=(0.0, Neumann(1.0))), "residual must take 4"),
    (lambda t, u, du: du, dict(conditions=[Condition(1.0, 0.0, derivative=1)]), "involves derivative 1"),
    (lambda t, u, du: du, dict(boundary=(Neumann(1.0), None)), "involves derivative 1"),
    (osc, dict(), "needs conditions"),
    (osc, dict(initial=(1.0, "a")), "must be a real number"),
    (osc, dict(initial=(1.0, np.nan)), "finite"),
    (osc, dict(initial=((1.0,), 2.0)), "mixes numbers and tuples"),
    (osc, dict(conditions=[Condition(5.0, 1.0), Condition(0.0, 1.0)]), "outside the domain"),
    (lambda t, u, du: du, dict(conditions=[Condition(0.0, 1.0, component=1)], initial=((0.0,),)), "component 1"),
])
def test_bad_odes(residual, kw, match):
    with pytest.raises((ValueError, TypeError), match=match):
        ODE(residual, (0, 1), **kw)


@pytest.mark.parametrize("domain,match", [
    ((1, 0), "a < b"), ((0, 0), "a < b"), ((0, np.inf), "finite"), ((0,), "interval"), (("a", 1), "real numbers"),
])
def test_bad_domains(domain, match):
    with pytest.raises((ValueError, TypeError), match=match):
        ODE(osc, domain, initial=(1.0, 0.0))
    with pytest.raises((ValueError, TypeError), match=match):
        PDE(lap, (domain, (0, 1)), dirichlet=0.0)


@pytest.mark.parametrize("kw,match", [
    (dict(), "give boundary conditions"),
    (dict(dirichlet={(2, "low"): 0.0}), "axis 2"),
    (dict(dirichlet={(0, "middle"): 0.0}), "side"),
    (dict(dirichlet={0: 0.0}), r"\(axis, side\)"),
    (dict(dirichlet={(0, 0): 0.0}, neumann={(0, 0): 1.0}), "two conditions"),
    (dict(robin={(0, 0): (1.0, 2.0)}), "alpha, beta, h"),
    (dict(robin={(0, 0): (0.0, 0.0, 1.0)}), "cannot both be zero"),
    (dict(neumann=[1.0]), "must be a dict"),
    (dict(dirichlet="x"), "real number or a function"),
])
def test_bad_pdes(kw, match):
    with pytest.raises((ValueError, TypeError), match=match):
        PDE(lap, ((0, 1), (0, 1)), **kw)


def test_pde_residual_arity():
    with pytest.raises(ValueError, match=r"\(p, u, Du, D2u\)"):
        PDE(lambda p, u: u, ((0, 1), (0, 1)), dirichlet=0.0)
    with pytest.raises(ValueError, match="derivative but the equation is first order"):
        PDE(lambda p, u, Du: Du[:, 0], ((0, 1), (0, 1)), neumann={(0, 0): 1.0})


def test_solve_refuses_points_outside_the_domain():
    prob = ODE(osc, (0, 1), initial=(1.0, 0.0))
    with pytest.raises(ValueError, match="outside the domain"):
        diffeq.solve(prob, points=np.array([0.0, 0.5, 1.5]))
    with pytest.raises(ValueError, match=r"shape \(n,\) or \(n, 1\)"):
        diffeq.solve(prob, points=np.zeros((3, 2)))
    pde = PDE(lap, ((0, 1), (0, 1)), dirichlet=0.0)
    with pytest.raises(ValueError, match="outside the domain"):
        diffeq.solve(pde, points=np.array([[0.5, 0.5], [0.5, -0.1]]))


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the NaN/inf cases warn while being computed
@pytest.mark.parametrize("residual,match", [
    (lambda t, u, du, ddu: nnp.stack([u, u], axis=1), r"shape \(\d+,\)"),
    (lambda t, u, du, ddu: nnp.sum(u), r"shape \(\d+,\)"),
    (lambda t, u, du, ddu: nnp.log(u - 10.0), "NaN or inf"),
    (lambda t, u, du, ddu: ddu / 0.0, "NaN or inf"),
])
def test_solve_refuses_bad_residuals_before_training(residual, match):
    prob = ODE(residual, (0, 1), initial=(1.0, 0.0))
    calls = []
    with pytest.raises(ValueError, match=match):
        diffeq.solve(prob, maxiter=5, callback=lambda th, loss: calls.append(loss))
    assert calls == []


def test_solve_refuses_residual_that_changes_dtype():
    prob = ODE(lambda t, u, du: du + u.astype(np.float64), (0, 1), initial=(1.0,))
    with pytest.raises(TypeError, match="dtype"):
        diffeq.solve(prob, dtype=np.float32, maxiter=2)


@pytest.mark.parametrize("kw,err,match", [
    (dict(method="sgd-nope"), ValueError, "method must be one of"),
    (dict(form="lagaris"), ValueError, "form must be"),
    (dict(collocation="grid"), ValueError, "collocation must be one of"),
    (dict(dtype=np.int32), TypeError, "float32 or float64"),
    (dict(net=MLP([1, 5, 2])), ValueError, "2 outputs"),
    (dict(net=MLP([2, 5, 1])), ValueError, "inputs of shape"),
    (dict(points=0), ValueError, "integer >= 1"),
    (dict(points=2.5), ValueError, "integer count"),
    (dict(resample=10), ValueError, "random scheme"),
    (dict(theta0=np.zeros(3)), ValueError, "theta0 must have shape"),
    (dict(seed=1.5), TypeError, "seed"),
    (dict(options={"nope": 1}), ValueError, "unknown options"),
])
def test_solve_bad_arguments(kw, err, match):
    prob = ODE(osc, (0, 1), initial=(1.0, 0.0))
    with pytest.raises(err, match=match):
        diffeq.solve(prob, maxiter=2, **kw)


def test_solve_refuses_non_problems():
    with pytest.raises(TypeError, match="ODE or PDE"):
        diffeq.solve(lambda t: t)


def test_conditions_validate_their_arguments():
    with pytest.raises(TypeError, match="alpha"):
        Robin("a", 1.0, 0.0)
    with pytest.raises(ValueError, match="derivative"):
        Condition(0.0, 1.0, derivative=-1)
    with pytest.raises(ValueError, match="not all be zero"):
        Condition(0.0, 1.0, coefficients=(0.0, 0.0))
    with pytest.raises(TypeError, match="point"):
        Condition("0", 1.0)
