"""The compiled loss-and-gradient path of ResidualSystem (nnopt.diffeq.compiled).

Checked against the NumPy Taylor-mode path (``compiled=False``) and the
general engine (``fast=False``: nested ``jvp`` inside the transforms), in
float32 and float64, for odd sizes, 1 and 2 input dimensions, jets of order
0, 1 and 2, linear and nonlinear residuals, systems, trial and penalty forms.
"""
import numpy as np
import pytest

import nnopt
import nnopt.numpy as nnp
from nnopt import diffeq
from nnopt.diffeq import catalogue
from nnopt.diffeq.compiled import CompiledPath, unsupported_reason
from nnopt.diffeq.residuals import ResidualSystem
from nnopt.nn import MLP

DTYPES = [np.float32, np.float64]


def _tol(dtype):
    return 1e3 * np.finfo(dtype).eps


def _systems(prob, form, net, P, dtype, boundary=None):
    """(compiled, NumPy Taylor path, generic engine) systems of one problem."""
    d = P.shape[1]
    lows, highs = (np.array([prob.domain[0]]), np.array([prob.domain[1]])) if d == 1 else (
        np.array([lo for lo, _ in prob.domain]), np.array([hi for _, hi in prob.domain]))
    shift, scale = (lows + highs) / 2, 2.0 / (highs - lows)
    args = (prob, form, net, P.astype(dtype), dtype, shift, scale)
    return (ResidualSystem(*args, boundary=boundary),
            ResidualSystem(*args, boundary=boundary, compiled=False),
            ResidualSystem(*args, boundary=boundary, fast=False))


def _theta(net, dtype, seed=0):
    rng = np.random.default_rng(seed)
    return (net.init(seed=seed) + 0.2 * rng.standard_normal(net.n_params)).astype(dtype)


def _agree(systems, theta, dtype, expect_compiled=True):
    comp, numpy_path, generic = systems
    for s in systems:
        s.check(theta)
    assert comp.compiled is expect_compiled and not numpy_path.compiled and not generic.compiled
    v, g = comp.value_and_grad(theta)
    assert isinstance(v, float) and g.dtype == dtype and g.shape == theta.shape
    tol = _tol(dtype)
    for other in (numpy_path, generic):
        v2, g2 = other.value_and_grad(theta)
        assert abs(v - v2) <= tol * max(1.0, abs(v2))
        np.testing.assert_allclose(g, g2, rtol=tol, atol=tol * max(1.0, float(np.abs(g2).max())))
    # the loss is the squared norm of the weighted residual vector
    r = np.asarray(numpy_path.residual(theta))
    assert abs(v - float(r @ r)) <= tol * max(1.0, abs(v))
    # residual vector and Jacobian (Levenberg-Marquardt's calls), compiled for linear equations
    rc, Jc = comp.residual_and_jacobian(theta)
    assert rc.dtype == Jc.dtype == dtype
    np.testing.assert_allclose(np.asarray(comp.residual(theta)), r, rtol=tol, atol=tol * max(1.0, np.abs(r).max()))
    for other in (numpy_path, generic):
        r2, J2 = other.residual_and_jacobian(theta)
        np.testing.assert_allclose(rc, r2, rtol=tol, atol=tol * max(1.0, float(np.abs(r2).max())))
        np.testing.assert_allclose(Jc, J2, rtol=tol, atol=tol * max(1.0, float(np.abs(J2).max())))
    return v, g


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("sizes,n", [([1, 32, 32, 1], 200), ([1, 5, 3, 1], 7), ([1, 1], 1), ([1, 9, 1], 13)])
def test_damped_oscillator_trial_form(dtype, sizes, n):
    prob = catalogue.damped_oscillator()
    net = MLP(sizes)
    P = np.linspace(0.0, 2 * np.pi, n)[:, None]
    _agree(_systems(prob, diffeq.TrialForm(prob), net, P, dtype), _theta(net, dtype), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("act", ["sigmoid", "identity", "logistic", "linear"])
def test_other_activations(dtype, act):
    prob = catalogue.lagaris_ode(3, "bvp")                      # two-point trial form
    net = MLP([1, 6, 4, 1], activation=act, output_activation="sigmoid" if act == "sigmoid" else None)
    P = np.linspace(0.05, 0.95, 11)[:, None]
    _agree(_systems(prob, diffeq.TrialForm(prob), net, P, dtype), _theta(net, dtype, 1), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_first_order_equation_with_forcing(dtype):
    prob = catalogue.stiff_decay(lam=5.0)                       # order 1: jets of order 1
    net = MLP([1, 8, 1])
    P = np.linspace(0.0, 1.0, 17)[:, None]
    _agree(_systems(prob, diffeq.TrialForm(prob), net, P, dtype), _theta(net, dtype, 2), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_nonlinear_system_of_odes(dtype):
    prob = catalogue.lagaris_system()                           # 2 components, 2 residuals, nonlinear
    net = MLP([1, 7, 2])
    P = np.linspace(0.0, 3.0, 9)[:, None]
    systems = _systems(prob, diffeq.TrialForm(prob), net, P, dtype)
    _agree(systems, _theta(net, dtype, 3), dtype)
    assert systems[0].blocks[0].sens is None                    # took the reverse pass of the residual
    assert not systems[0]._compiled.has_jacobian                # its Jacobian stays on the NumPy path


@pytest.mark.parametrize("dtype", DTYPES)
def test_linear_system_of_odes_two_residual_components(dtype):
    """Two residual rows per point: the Jacobian in two passes."""
    def res(t, u, du):
        return nnp.stack([du[:, 0] - u[:, 1], du[:, 1] + 4 * u[:, 0] + 0.1 * u[:, 1] - nnp.sin(t)], axis=1)

    prob = diffeq.ODE(res, (0.0, 2.0), initial=((1.0,), (0.0,)))
    net = MLP([1, 6, 5, 2])
    P = np.linspace(0.0, 2.0, 10)[:, None]
    systems = _systems(prob, diffeq.TrialForm(prob), net, P, dtype)
    _agree(systems, _theta(net, dtype, 13), dtype)
    cp = systems[0]._compiled
    assert cp.has_jacobian and cp.n_pass == 2 and cp.n_rows == 20


@pytest.mark.parametrize("dtype", DTYPES)
def test_pde_trial_form_two_inputs(dtype):
    prob = catalogue.poisson()                                  # d = 2, order 2: 7 streams
    net = MLP([2, 6, 5, 1])
    P = np.random.default_rng(0).uniform(0, 1, (23, 2))
    _agree(_systems(prob, diffeq.TrialForm(prob), net, P, dtype), _theta(net, dtype, 4), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_heat_equation_trial_form(dtype):
    prob = catalogue.heat()
    net = MLP([2, 5, 1], activation="sigmoid")
    P = np.random.default_rng(1).uniform(0, 1, (10, 2))
    _agree(_systems(prob, diffeq.TrialForm(prob), net, P, dtype), _theta(net, dtype, 5), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_penalty_form_several_groups(dtype):
    """Equation rows (order 2), Dirichlet rows (order 0) and Neumann rows
    (order 1): three jet bases, so three groups and a summed gradient."""
    prob = catalogue.lagaris_mixed()
    form = diffeq.PenaltyForm(prob, weight=3.0)
    net = MLP([2, 5, 4, 1])
    rng = np.random.default_rng(2)
    P = rng.uniform(0, 1, (9, 2))
    bnd = {}
    for i, f in enumerate(prob.functionals):
        Q = rng.uniform(0, 1, (5, 2))
        Q[:, f.axis] = f.terms[0][1]
        bnd[i] = Q.astype(dtype)
    systems = _systems(prob, form, net, P, dtype, boundary=bnd)
    _agree(systems, _theta(net, dtype, 6), dtype)
    assert len(systems[0]._compiled.groups) == 3


def test_multi_set_block_and_unsupported_orders():
    """Lagaris' mixed problem as a trial form needs third derivatives at the
    Neumann face: no compiled path (order 3), same numbers as before."""
    prob = catalogue.lagaris_mixed()
    net = MLP([2, 5, 1])
    P = np.random.default_rng(3).uniform(0, 1, (8, 2))
    systems = _systems(prob, diffeq.TrialForm(prob), net, P, np.float64)
    assert "order 3" in unsupported_reason(systems[0])
    _agree(systems, _theta(net, np.float64, 7), np.float64, expect_compiled=False)
    with pytest.raises(ValueError, match="order 3"):
        ResidualSystem(prob, diffeq.TrialForm(prob), net, P, np.float64, [0.5, 0.5], [2.0, 2.0], compiled=True)


def test_blocks_drawing_on_several_point_sets():
    """A Neumann correction at one end of an ODE puts the rows on two point
    sets (the points and the boundary point): the two-step affine head."""
    ode = diffeq.ODE(lambda t, u, du, ddu: ddu + 0.5 * du + 2 * u - nnp.cos(t), (0.0, 1.0),
                     conditions=[diffeq.Condition(0.0, 1.0), diffeq.Condition(1.0, 0.5, derivative=1)])
    net = MLP([1, 6, 1])
    P = np.linspace(0.0, 1.0, 12)[:, None]
    systems = _systems(ode, diffeq.TrialForm(ode), net, P, np.float64)
    _agree(systems, _theta(net, np.float64, 8), np.float64)
    ops = systems[0]._compiled._head_ops
    assert len(ops) == 1 and ops[0][0] == systems[0]._compiled._multi_head


def test_unsupported_networks_and_flags():
    prob = catalogue.damped_oscillator()
    P = np.linspace(0.0, 6.0, 5)[:, None]
    args = (prob, diffeq.TrialForm(prob), MLP([1, 4, 1], activation="sin"), P, np.float64, [3.0], [1 / 3])
    s = ResidualSystem(*args)
    s.check(s.net.init(seed=0))
    assert s.fast and not s.compiled
    with pytest.raises(ValueError, match="activation 'sin'"):
        ResidualSystem(*args, compiled=True)
    net = MLP([1, 4, 1])
    off = ResidualSystem(prob, diffeq.TrialForm(prob), net, P, np.float64, [3.0], [1 / 3], compiled=False)
    off.check(net.init(seed=0))
    assert not off.compiled
    with pytest.raises(ValueError, match="fast path is off"):
        ResidualSystem(prob, diffeq.TrialForm(prob), net, P, np.float64, [3.0], [1 / 3], fast=False, compiled=True)
    with pytest.raises(ValueError, match="no compiled path"):
        CompiledPath(ResidualSystem(*args))
    # a residual that couples the points is found at check(): generic path, and compiled=True refuses
    coupled = diffeq.ODE(lambda t, u, du, ddu: ddu + u - nnp.mean(u), (0.0, 6.0), initial=(1.0, 0.0))
    s = ResidualSystem(coupled, diffeq.TrialForm(coupled), net, P, np.float64, [3.0], [1 / 3])
    s.check(net.init(seed=0))
    assert not s.fast and not s.compiled
    s = ResidualSystem(coupled, diffeq.TrialForm(coupled), net, P, np.float64, [3.0], [1 / 3], compiled=True)
    with pytest.raises(ValueError, match="couples collocation points"):
        s.check(net.init(seed=0))


def test_float32_stays_float32_and_matches_float64():
    prob = catalogue.damped_oscillator()
    net = MLP([1, 16, 16, 1])
    P = np.linspace(0.0, 2 * np.pi, 50)[:, None]
    th64 = _theta(net, np.float64, 9)
    s32 = _systems(prob, diffeq.TrialForm(prob), net, P, np.float32)[0]
    s64 = _systems(prob, diffeq.TrialForm(prob), net, P, np.float64)[0]
    s32.check(th64.astype(np.float32))
    s64.check(th64)
    cp = s32._compiled
    arrays = [a for g in cp.groups for a in g.Y + g.T + g.A + g.G + g.H + g.Xa] + cp._grads + cp._WT + [cp._theta]
    arrays += [a for _, args in cp._head_ops for a in args if isinstance(a, np.ndarray)]
    assert all(a.dtype == np.float32 for a in arrays)
    v32, g32 = s32.value_and_grad(th64.astype(np.float32))
    v64, g64 = s64.value_and_grad(th64)
    assert g32.dtype == np.float32
    tol = _tol(np.float32)
    assert abs(v32 - v64) <= tol * v64
    np.testing.assert_allclose(g32, g64, rtol=tol, atol=tol * np.abs(g64).max())
    # a float64 vector on a float32 system is not cast silently: it takes the NumPy path, as before
    assert not cp.accepts(th64)
    old = _systems(prob, diffeq.TrialForm(prob), net, P, np.float32)[1]
    old.check(th64.astype(np.float32))
    v_mixed, g_mixed = s32.value_and_grad(th64)
    v_old, g_old = old.value_and_grad(th64)
    assert v_mixed == v_old and np.array_equal(g_mixed, g_old)


def test_fresh_results_and_updates_in_place():
    prob = catalogue.damped_oscillator()
    net = MLP([1, 6, 6, 1])
    P = np.linspace(0.0, 2 * np.pi, 15)[:, None]
    comp, ref, _ = _systems(prob, diffeq.TrialForm(prob), net, P, np.float64)
    theta = _theta(net, np.float64, 10)
    comp.check(theta)
    ref.check(theta)
    v1, g1 = comp.value_and_grad(theta)
    keep = g1.copy()
    theta += 0.05                                             # an update in place
    v2, g2 = comp.value_and_grad(theta)
    np.testing.assert_array_equal(g1, keep)                   # the first result was not overwritten
    vr, gr = ref.value_and_grad(theta)
    assert v2 != v1 and abs(v2 - vr) <= _tol(np.float64) * vr
    np.testing.assert_allclose(g2, gr, rtol=1e-12, atol=1e-12 * np.abs(gr).max())
    # a strided view is accepted too
    wide = np.zeros(2 * theta.size)
    wide[::2] = theta
    v3, g3 = comp.value_and_grad(wide[::2])
    assert v3 == v2 and np.array_equal(g3, g2)


def test_gradient_against_the_engine_on_the_loss():
    """The compiled gradient equals the engine's reverse mode of ``loss``."""
    prob = catalogue.damped_oscillator()
    net = MLP([1, 5, 4, 1])
    P = np.linspace(0.0, 2 * np.pi, 11)[:, None]
    comp = _systems(prob, diffeq.TrialForm(prob), net, P, np.float64)[0]
    theta = _theta(net, np.float64, 11)
    comp.check(theta)
    v, g = comp.value_and_grad(theta)
    v_e, g_e = nnopt.value_and_grad(comp.loss)(theta)
    assert abs(v - float(v_e)) <= 1e-12 * v
    np.testing.assert_allclose(g, g_e, rtol=1e-11, atol=1e-11 * np.abs(g_e).max())


def test_numpy_backend_runs_the_reference_kernels():
    prob = catalogue.damped_oscillator()
    net = MLP([1, 5, 1])
    P = np.linspace(0.0, 2 * np.pi, 9)[:, None]
    theta = _theta(net, np.float64, 12)
    with nnopt.config.using(backend="numpy"):
        s = _systems(prob, diffeq.TrialForm(prob), net, P, np.float64)[0]
        s.check(theta)
        from nnopt.kernels.taylor import reference
        assert s._compiled.kern is reference
        v, g = s.value_and_grad(theta)
    s2 = _systems(prob, diffeq.TrialForm(prob), net, P, np.float64)[0]
    s2.check(theta)
    v2, g2 = s2.value_and_grad(theta)
    assert abs(v - v2) <= 1e-13 * v
    np.testing.assert_allclose(g, g2, rtol=1e-12, atol=1e-12 * np.abs(g2).max())
