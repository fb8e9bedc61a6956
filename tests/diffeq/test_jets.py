"""Taylor-mode input derivatives of networks and forms.

Checked three ways: against nested forward mode of the engine, the reverse
sweep against the engine's gradient, and the form's derivatives against
central differences computed in mpmath at 50 digits.
"""
import mpmath
import numpy as np
import pytest

import nnopt
import nnopt.numpy as nnp
from nnopt import diffeq
from nnopt.diffeq import catalogue
from nnopt.diffeq.forms import TrialForm
from nnopt.diffeq.jets import JetBasis, generic_jets, mlp_jets, mlp_jets_vjp
from nnopt.diffeq.residuals import ResidualSystem
from nnopt.nn import MLP

RNG = np.random.default_rng(7)

CASES = [
    (1, 2, "tanh"), (1, 4, "sigmoid"), (2, 2, "tanh"), (2, 3, "sin"), (3, 2, "softplus"), (2, 2, "gelu"),
    (1, 3, "identity"),
]


def _net_point(d, act, seed=1):
    net = MLP([d, 6, 5, 2], activation=act)
    theta = net.init(seed=seed) + 0.1 * RNG.standard_normal(net.n_params)
    return net, theta


@pytest.mark.parametrize("d,order,act", CASES)
def test_taylor_jets_match_nested_jvp(d, order, act):
    net, theta = _net_point(d, act)
    X = RNG.uniform(-1, 1, (5, d))
    basis = JetBasis(d, order)
    shift, scale = RNG.normal(size=d), RNG.uniform(0.5, 2, d)
    Z = mlp_jets(net, theta, X, basis, shift, scale)
    Zg = generic_jets(lambda x: net(theta, (x - shift) * scale), X, basis)
    assert Z.shape == (5, basis.n_streams, 2)
    np.testing.assert_allclose(Z, Zg, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("d,order,act", CASES)
def test_reverse_sweep_matches_engine(d, order, act):
    net, theta = _net_point(d, act)
    X = RNG.uniform(-1, 1, (4, d))
    basis = JetBasis(d, order)
    tape = []
    Z = mlp_jets(net, theta, X, basis, tape=tape)
    Zbar = RNG.standard_normal(Z.shape)
    rows = mlp_jets_vjp(net, tape, Zbar, per_row=True)
    total = mlp_jets_vjp(net, tape, Zbar, per_row=False)
    ref = nnopt.grad(lambda th: nnp.sum(mlp_jets(net, th, X, basis) * Zbar))(theta)
    np.testing.assert_allclose(total, ref, rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(rows.sum(axis=0), total, rtol=1e-11, atol=1e-12)
    row2 = nnopt.grad(lambda th: nnp.sum(mlp_jets(net, th, X[2:3], basis) * Zbar[2:3]))(theta)
    np.testing.assert_allclose(rows[2], row2, rtol=1e-11, atol=1e-12)


def test_basis_recovers_gradient_and_hessian():
    net, theta = _net_point(2, "tanh")
    X = RNG.uniform(-1, 1, (3, 2))
    basis = JetBasis(2, 2)
    P = basis.partials(mlp_jets(net, theta, X, basis))
    idx = basis.index
    for i in range(3):
        f = lambda x: net(theta, x[None])[0, 1]  # noqa: E731
        g = nnopt.grad(f)(X[i])
        H = nnopt.hessian(f)(X[i])
        np.testing.assert_allclose(P[i, [idx[(1, 0)], idx[(0, 1)]], 1], g, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(P[i, idx[(2, 0)], 1], H[0, 0], rtol=1e-11, atol=1e-13)
        np.testing.assert_allclose(P[i, idx[(1, 1)], 1], H[0, 1], rtol=1e-11, atol=1e-13)
        np.testing.assert_allclose(P[i, idx[(0, 2)], 1], H[1, 1], rtol=1e-11, atol=1e-13)


def test_float32_jets_stay_float32():
    net = MLP([1, 8, 1])
    theta = net.init(seed=0, dtype=np.float32)
    X = np.linspace(-1, 1, 7, dtype=np.float32)[:, None]
    basis = JetBasis(1, 2)
    tape = []
    Z = mlp_jets(net, theta, X, basis, np.float32(0.1), np.float32(2.0), tape=tape)
    assert Z.dtype == np.float32
    assert mlp_jets_vjp(net, tape, np.ones_like(Z)).dtype == np.float32
    Z64 = mlp_jets(net, theta.astype(np.float64), X.astype(np.float64), basis, 0.1, 2.0)
    np.testing.assert_allclose(Z, Z64, rtol=2e-5, atol=1e-5)


def _mp(a):
    return np.vectorize(lambda v: mpmath.mpf(float(v)), otypes=[object])(np.asarray(a, dtype=float))


def _form_u_mp(prob, net, theta, p):
    """The trial solution u(p) evaluated in mpmath (object arrays)."""
    form = TrialForm(prob)
    lows, highs = prob.lows, prob.highs
    shift, scale = _mp((lows + highs) / 2), _mp(2 / (highs - lows))
    th = _mp(theta)
    return form.apply(lambda q: net(th, (q - shift) * scale), p)


@pytest.mark.parametrize("prob", [catalogue.damped_oscillator(), catalogue.lagaris_ode(3, "bvp")],
                         ids=["ivp", "bvp"])
def test_ode_form_derivatives_match_mpmath_differences(prob):
    net = MLP([1, 5, 1])
    theta = net.init(seed=2) + 0.2
    a, b = prob.domain
    ts = np.array([a + 0.3 * (b - a), a + 0.71 * (b - a)])
    S = ResidualSystem(prob, TrialForm(prob), net, ts[:, None], np.float64, (prob.lows + prob.highs) / 2,
                       2 / (prob.highs - prob.lows))
    U, _ = S.u_partials(theta, ts[:, None], order=2)
    with mpmath.workdps(50):
        h = mpmath.mpf("1e-12")
        for i, t in enumerate(ts):
            pts = _mp([[t]])
            f = lambda x: _form_u_mp(prob, net, theta, np.array([[x]], dtype=object))[0, 0]  # noqa: E731
            t0 = pts[0, 0]
            d1 = (f(t0 + h) - f(t0 - h)) / (2 * h)
            d2 = (f(t0 + h) - 2 * f(t0) + f(t0 - h)) / (h * h)
            assert abs(float(f(t0)) - U[i, 0, 0]) <= 1e-14 * max(1, abs(U[i, 0, 0]))
            assert abs(float(d1) - U[i, 1, 0]) <= 1e-12 * max(1, abs(U[i, 1, 0]))
            assert abs(float(d2) - U[i, 2, 0]) <= 1e-11 * max(1, abs(U[i, 2, 0]))


def test_pde_mixed_form_derivatives_match_mpmath_differences():
    prob = catalogue.lagaris_mixed()
    net = MLP([2, 5, 1])
    theta = net.init(seed=4) + 0.1
    p = np.array([[0.31, 0.47]])
    S = ResidualSystem(prob, TrialForm(prob), net, p, np.float64, np.array([0.5, 0.5]), np.array([2.0, 2.0]))
    U, betas = S.u_partials(theta, p, order=2)
    idx = {b: i for i, b in enumerate(betas)}
    with mpmath.workdps(50):
        h = mpmath.mpf("1e-12")
        x0, y0 = _mp(p)[0]

        def f(x, y):
            return _form_u_mp(prob, net, theta, np.array([[x, y]], dtype=object))[0, 0]

        fxx = (f(x0 + h, y0) - 2 * f(x0, y0) + f(x0 - h, y0)) / (h * h)
        fyy = (f(x0, y0 + h) - 2 * f(x0, y0) + f(x0, y0 - h)) / (h * h)
        fxy = (f(x0 + h, y0 + h) - f(x0 + h, y0 - h) - f(x0 - h, y0 + h) + f(x0 - h, y0 - h)) / (4 * h * h)
        fy = (f(x0, y0 + h) - f(x0, y0 - h)) / (2 * h)
    for val, beta in ((fxx, (2, 0)), (fyy, (0, 2)), (fxy, (1, 1)), (fy, (0, 1))):
        assert abs(float(val) - U[0, idx[beta], 0]) <= 1e-10 * max(1, abs(U[0, idx[beta], 0])), beta


def test_lagaris_mixed_trial_equals_his_formula():
    """Lagaris (1998), problem 6: psi = 2y sin(pi x) + x(1-x) y [N(x,y) - N(x,1) - N_y(x,1)]."""
    prob = catalogue.lagaris_mixed()
    net = MLP([2, 6, 1])
    theta = net.init(seed=0) + 0.1
    P = RNG.uniform(0, 1, (6, 2))
    S = ResidualSystem(prob, TrialForm(prob), net, P, np.float64, np.array([0.5, 0.5]), np.array([2.0, 2.0]))
    U, _ = S.u_partials(theta, P, order=0)

    def N(q):
        return net(theta, (q - 0.5) * 2.0)[:, 0]

    x, y = P[:, 0], P[:, 1]
    top = np.column_stack([x, np.ones_like(x)])
    Ny = nnopt.jvp(N, (top,), (np.tile([0.0, 1.0], (len(x), 1)),))[1]
    ref = 2 * y * np.sin(np.pi * x) + x * (1 - x) * y * (N(P) - N(top) - Ny)
    np.testing.assert_allclose(U[:, 0, 0], ref, rtol=1e-13, atol=1e-14)


def test_generic_and_fast_residual_paths_agree():
    prob = catalogue.lagaris_system()
    net = MLP([1, 7, 2])
    theta = net.init(seed=3)
    P = np.linspace(0, 3, 9)[:, None]
    args = (prob, TrialForm(prob), net, P, np.float64, np.array([1.5]), np.array([2 / 3]))
    fast, slow = ResidualSystem(*args, fast=True), ResidualSystem(*args, fast=False)
    fast.check(theta)
    slow.check(theta)
    r1, J1 = fast.residual_and_jacobian(theta)
    r2, J2 = slow.residual_and_jacobian(theta)
    np.testing.assert_allclose(r1, r2, rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(J1, J2, rtol=1e-11, atol=1e-12)
    v, g = fast.value_and_grad(theta)
    np.testing.assert_allclose(v, r1 @ r1, rtol=1e-13)
    np.testing.assert_allclose(g, 2 * J1.T @ r1, rtol=1e-11, atol=1e-12)


def test_penalty_pde_jacobian_matches_engine():
    prob = catalogue.lagaris_mixed()
    form = diffeq.PenaltyForm(prob, weight=3.0)
    net = MLP([2, 5, 1])
    theta = net.init(seed=1)
    P = RNG.uniform(0, 1, (7, 2))
    bnd = {}
    for i, f in enumerate(prob.functionals):
        Q = RNG.uniform(0, 1, (3, 2))
        Q[:, f.axis] = f.terms[0][1]
        bnd[i] = Q
    S = ResidualSystem(prob, form, net, P, np.float64, np.array([0.5, 0.5]), np.array([2.0, 2.0]), boundary=bnd)
    S.check(theta)
    r, J = S.residual_and_jacobian(theta)
    Jref = nnopt.jacobian(S.residual, mode="rev")(theta)
    np.testing.assert_allclose(r, S.residual(theta), rtol=1e-14)
    np.testing.assert_allclose(J, Jref, rtol=1e-11, atol=1e-12)
    assert r.shape == (7 + 4 * 3,)

