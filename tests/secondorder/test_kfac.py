"""K-FAC and FOOF: exact Gauss-Newton step in the exact case, damping modes
against dense inverses, periods, reproducibility, clipping, adaptive damping."""
import numpy as np
import pytest

import nnopt
from nnopt.nn import Dense, MLP, Sequential
from nnopt.secondorder import Capture, foof, gauss_newton, kfac, kronecker_blocks, kronecker_matrix
from nnopt.secondorder.kfac import sample_passes
from nnopt.secondorder.kronecker import eig, factors, pi_factor, precondition_vector

def _first(opt, g, theta, **kw):
    """One update from the optimizer's own initial state."""
    return opt.update(g, opt.init(theta), theta, **kw)



def _linear_lsq(n=40, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4)).astype(dtype)
    Y = (X @ rng.normal(size=(4, 3)) + 0.1 * rng.normal(size=(n, 3))).astype(dtype)
    return nnopt.Objective(Sequential(Dense(4, 3)), "mse", X, Y)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_kfac_without_damping_takes_the_exact_gauss_newton_step_on_linear_least_squares(dtype):
    obj = _linear_lsq(dtype=dtype)
    theta = obj.net.init(seed=1, dtype=dtype)
    g = obj.jac(theta)
    opt = kfac(learning_rate=1.0, damping=0.0, damping_mode="tikhonov", fisher="exact", norm_constraint=None)
    u, _ = opt.update(g, opt.init(theta), theta, oracle=obj)
    ref, _ = _first(gauss_newton(learning_rate=1.0, damping=0.0, line_search=False), g, theta, oracle=obj)
    assert u.dtype == ref.dtype == dtype
    tol = 1e3 * np.finfo(dtype).eps
    np.testing.assert_allclose(u, ref, rtol=tol, atol=tol * np.abs(ref).max())
    # ... which solves the least-squares problem in one step (the minimiser)
    W = np.linalg.lstsq(np.c_[obj.X, np.ones(len(obj.X))].astype(np.float64), obj.Y.astype(np.float64), rcond=None)[0]
    np.testing.assert_allclose(theta + u, np.r_[W[:4].ravel(), W[4]], rtol=tol * 10, atol=tol * 10)
    # the pi-damped mode agrees too as the damping goes to zero
    u_pi, _ = _first(kfac(learning_rate=1.0, damping=1e-10, fisher="exact",
                          norm_constraint=None), g, theta, oracle=obj)
    np.testing.assert_allclose(u_pi, ref, rtol=1e-4, atol=1e-4 * np.abs(ref).max())


def test_damping_modes_against_dense_inverses():
    obj = nnopt.Objective(MLP([3, 4, 2], "tanh"), "mse", *np.split(np.random.default_rng(2).normal(size=(12, 5)), [3], axis=1))
    theta = obj.net.init(seed=0)
    cap = Capture(obj.net, theta, obj.X)
    A, G = factors(cap, sample_passes(cap, obj, "exact", None))
    blocks = kronecker_blocks(obj.net)
    eA, eG = [eig(a) for a in A], [eig(g) for g in G]
    v = np.random.default_rng(3).normal(size=obj.n_params)
    lam = 0.03
    for mode in ("tikhonov", "pi"):
        out = precondition_vector(blocks, v, eA, eG, lam, mode)
        for blk, a, g in zip(blocks, A, G):
            if mode == "tikhonov":
                M = kronecker_matrix(blk, a, g) + lam * np.eye(blk.slice.stop - blk.slice.start)
            else:
                pi = pi_factor(np.linalg.eigvalsh(a), np.linalg.eigvalsh(g))
                np.testing.assert_allclose(pi ** 2, (np.trace(a) / len(a)) / (np.trace(g) / len(g)))
                r = np.sqrt(lam)
                M = kronecker_matrix(blk, a + r * pi * np.eye(len(a)), g + r / pi * np.eye(len(g)))
            np.testing.assert_allclose(out[blk.slice], np.linalg.solve(M, v[blk.slice]), rtol=1e-10, atol=1e-12)


def test_update_and_inversion_periods_and_moving_averages():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(16, 3))
    obj = nnopt.Objective(MLP([3, 4, 2], "tanh"), "mse", X, rng.normal(size=(16, 2)))
    theta = obj.net.init(seed=0)
    opt = kfac(ema_decay=0.5, cov_update_every=2, inverse_update_every=3, fisher="empirical")
    s = opt.init(theta)
    thetas, states = [theta], [s]
    for _ in range(4):
        u, s = opt.update(obj.jac(theta), s, theta, oracle=obj)
        theta = theta + u
        thetas.append(theta)
        states.append(s)
    # factors change at steps 0 and 2 only; the eigendecompositions at steps 0 and 3
    np.testing.assert_array_equal(states[2].A[0], states[1].A[0])
    np.testing.assert_array_equal(states[4].A[0], states[3].A[0])
    cap = Capture(obj.net, thetas[2], obj.X)
    Ab, _ = factors(cap, sample_passes(cap, obj, "empirical", None))
    np.testing.assert_allclose(states[3].A[0], 0.5 * states[2].A[0] + 0.5 * Ab[0], rtol=1e-14)
    assert states[2].eig_A[0] is states[1].eig_A[0] and states[3].eig_A[0] is states[2].eig_A[0]
    np.testing.assert_allclose(states[4].eig_A[0][0], np.linalg.eigvalsh(states[4].A[0]), rtol=1e-12, atol=1e-15)


def test_sampled_fisher_is_reproducible_and_seeded(train):
    run = train
    obj = nnopt.Objective(MLP([3, 5, 3], "tanh"), "cross_entropy", np.random.default_rng(5).normal(size=(20, 3)),
                          np.random.default_rng(6).integers(0, 3, 20))
    theta = obj.net.init(seed=0)
    a = run(kfac(seed=3), obj, theta, 3)[1]
    b = run(kfac(seed=3), obj, theta, 3)[1]
    c = run(kfac(seed=4), obj, theta, 3)[1]
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    # a checkpointed state resumes bit for bit
    opt = kfac(seed=3)
    _, th1, st1 = run(opt, obj, theta, 2)
    g = obj.jac(th1)
    np.testing.assert_array_equal(opt.update(g, st1, th1, oracle=obj)[0], opt.update(g, st1, th1, oracle=obj)[0])


def test_norm_constraint_bounds_the_step():
    obj = _linear_lsq()
    theta = obj.net.init(seed=0)
    g = obj.jac(theta)
    c = 1e-4
    u, _ = _first(kfac(learning_rate=1.0, damping=1e-3, norm_constraint=c, fisher="exact"), g, theta, oracle=obj)
    u0, _ = _first(kfac(learning_rate=1.0, damping=1e-3, norm_constraint=None, fisher="exact"), g, theta, oracle=obj)
    # eta^2 p^T g (p = F^{-1} g: the squared step length in the Fisher metric) is clipped to c
    ptg = -float(u0 @ g)  # eta = 1, u0 = -p
    assert ptg > c
    nu = np.linalg.norm(u) / np.linalg.norm(u0)
    assert nu ** 2 * ptg == pytest.approx(c, rel=1e-10)
    np.testing.assert_allclose(u, nu * u0, rtol=1e-12)


def test_adaptive_damping_follows_the_reduction_ratio():
    obj = _linear_lsq()
    theta = obj.net.init(seed=0)
    # linear least squares: the model is exact, rho = 1 > 3/4, so lambda shrinks by omega
    opt = kfac(learning_rate=0.5, damping=1.0, adaptive_damping=True, damping_update_every=1, fisher="exact",
               norm_constraint=None)
    _, st = opt.update(obj.jac(theta), opt.init(theta), theta, oracle=obj)
    assert float(st.damping) == pytest.approx(19 / 20)
    # a huge step overshoots (rho < 1/4): lambda grows
    opt = kfac(learning_rate=5.0, damping=1.0, adaptive_damping=True, damping_update_every=1, fisher="exact",
               norm_constraint=None)
    _, st = opt.update(obj.jac(theta), opt.init(theta), theta, oracle=obj)
    assert float(st.damping) == pytest.approx(20 / 19)


def test_foof_preconditions_with_the_input_factor_only():
    obj = _linear_lsq(n=30)
    theta = obj.net.init(seed=2)
    g = obj.jac(theta)
    lam = 0.1
    u, st = _first(foof(learning_rate=1.0, damping=lam), g, theta, oracle=obj)
    a = np.c_[obj.X, np.ones(len(obj.X))]
    A = a.T @ a / len(a)
    np.testing.assert_allclose(st.A[0], A, rtol=1e-13)
    blk = kronecker_blocks(obj.net)[0]
    dense = kronecker_matrix(blk, A + lam * np.eye(5), np.eye(3))
    np.testing.assert_allclose(u, -np.linalg.solve(dense, g), rtol=1e-10, atol=1e-13)


def test_kfac_on_a_cnn_matches_dense_kronecker_inverse(cnn):
    theta = cnn.net.init(seed=0)
    g = cnn.jac(theta)
    lam = 0.01
    u, st = _first(kfac(learning_rate=1.0, damping=lam, damping_mode="tikhonov", fisher="exact",
                 norm_constraint=None), g, theta, oracle=cnn)
    for blk, a, gg in zip(kronecker_blocks(cnn.net), st.A, st.G):
        M = kronecker_matrix(blk, a, gg) + lam * np.eye(blk.slice.stop - blk.slice.start)
        np.testing.assert_allclose(u[blk.slice], -np.linalg.solve(M, g[blk.slice]), rtol=1e-8, atol=1e-12)
