"""K-BFGS / K-BFGS(L): secant conditions, double damping, L-BFGS two-loop."""
import numpy as np
import pytest

import nnopt
from nnopt.nn import MLP
from nnopt.secondorder import Capture, bfgs_inverse_update, double_damping, kbfgs, kbfgs_l, lbfgs_apply, losses
from nnopt.secondorder.capture import from_matrix, kronecker_blocks, to_matrix

RNG = np.random.default_rng(0)


def _spd(n, seed):
    M = np.random.default_rng(seed).normal(size=(n, n))
    return M @ M.T / n + 0.1 * np.eye(n)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_bfgs_inverse_update_satisfies_the_secant_condition(dtype):
    n = 6
    H = _spd(n, 1).astype(dtype)
    s = RNG.normal(size=n).astype(dtype)
    y = (_spd(n, 2) @ s).astype(dtype)  # s^T y > 0
    H1 = bfgs_inverse_update(H, s, y)
    assert H1.dtype == dtype
    tol = 1e3 * np.finfo(dtype).eps
    np.testing.assert_allclose(H1 @ y, s, rtol=tol, atol=tol * np.abs(s).max())
    np.testing.assert_allclose(H1, H1.T, atol=tol)
    assert np.linalg.eigvalsh(H1.astype(np.float64)).min() > 0
    with pytest.raises(ValueError, match="s\\^T y > 0"):
        bfgs_inverse_update(H, s, -y)


def test_double_damping_guarantees_curvature():
    n = 5
    H = _spd(n, 3)
    for seed in range(20):
        r = np.random.default_rng(seed)
        s, y = r.normal(size=n), r.normal(size=n)  # often s^T y < 0
        mu1, mu2 = 0.2, 0.05
        Hy = H @ y
        s2, y2 = double_damping(s, y, Hy, mu1, mu2)
        assert float(s2 @ y) >= mu1 * float(y @ Hy) - 1e-12  # Powell: s~^T y >= mu1 y^T H y
        np.testing.assert_allclose(y2, y + mu2 * s2)
        assert float(s2 @ y2) > 0
        if float(s @ y) >= mu1 * float(y @ Hy):  # already safe: s unchanged
            np.testing.assert_array_equal(s2, s)
        H1 = bfgs_inverse_update(H, s2, y2)
        np.testing.assert_allclose(H1 @ y2, s2, rtol=1e-10, atol=1e-12)


def test_lbfgs_two_loop_equals_dense_bfgs_and_its_secant():
    n, m = 7, 4
    S = np.zeros((m, n))
    Y = np.zeros((m, n))
    H = np.eye(n)
    B = _spd(n, 5)
    for k in range(6):  # more pairs than memory: the ring buffer wraps
        s = RNG.normal(size=n)
        y = B @ s
        S[k % m], Y[k % m] = s, y
        if k < m:
            H = bfgs_inverse_update(H, s, y)
            V = RNG.normal(size=(n, 3))
            np.testing.assert_allclose(lbfgs_apply(S, Y, k + 1, V), H @ V, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(lbfgs_apply(S, Y, k + 1, y), s, rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(lbfgs_apply(S, Y, 0, y), y)  # no pairs: H_0 = I


def _problem(n=32):
    X = RNG.normal(size=(n, 4))
    Y = np.tanh(X @ RNG.normal(size=(4, 3)))
    return nnopt.Objective(MLP([4, 6, 3], "tanh"), "mse", X, Y)


def test_kbfgs_state_updates_satisfy_the_secant_conditions():
    obj = _problem()
    theta = obj.net.init(seed=0)
    opt = kbfgs(learning_rate=0.2, damping=0.1, ema_decay=0.5)
    lam = 0.1
    u, s1 = opt.update(obj.jac(theta), opt.init(theta), theta, oracle=obj)
    theta1 = theta + u
    u2, s2 = opt.update(obj.jac(theta1), s1, theta1, oracle=obj)
    blocks = kronecker_blocks(obj.net)
    # A side: Hessian-action BFGS, H_a+ (A + lam_A I) s_a = s_a with s_a = H_a abar
    cap = Capture(obj.net, theta1, obj.X)
    for k, a in enumerate(cap.a):
        s_a = s1.H_a[k] @ a.mean(axis=0)
        y_a = s2.A[k] @ s_a + np.sqrt(lam) * s_a
        np.testing.assert_allclose(s2.H_a[k] @ y_a, s_a, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(s2.A[k], 0.5 * s1.A[k] + 0.5 * a.T @ a / len(a), rtol=1e-13)
    # G side: pairs from the mean pre-activations / gradients before and after the step
    def means(th):
        c = Capture(obj.net, th, obj.X)
        gs = c.backward(losses.per_example_grad("mse", c.out, obj.Y))
        return [z.mean(0) for z in c.z], [g.mean(0) for g in gs]

    z0, g0 = means(theta1)
    z1, g1 = means(theta1 + u2)
    for k in range(len(blocks)):
        s, y = double_damping(z1[k] - z0[k], g1[k] - g0[k], s1.H_g[k] @ (g1[k] - g0[k]), 0.2, np.sqrt(lam))
        np.testing.assert_allclose(s2.H_g[k] @ y, s, rtol=1e-9, atol=1e-12)
    # the direction is H_g dL/dM H_a per block
    g = obj.jac(theta1)
    for k, blk in enumerate(blocks):
        expect = -0.2 * from_matrix(blk, s1.H_g[k] @ to_matrix(blk, g[blk.slice]) @ s2.H_a[k])
        np.testing.assert_allclose(u2[blk.slice], expect, rtol=1e-10, atol=1e-13)


def test_kbfgs_l_with_full_memory_follows_kbfgs(train):
    obj = _problem()
    theta = obj.net.init(seed=1)
    a = train(kbfgs(damping=0.1), obj, theta, 6)
    b = train(kbfgs_l(damping=0.1, memory=10), obj, theta, 6)
    np.testing.assert_allclose(b[1], a[1], rtol=1e-9, atol=1e-12)
    same = train(kbfgs(damping=0.1, a_damping=np.sqrt(0.1), g_damping=np.sqrt(0.1)), obj, theta, 6)
    np.testing.assert_array_equal(same[1], a[1])
    other = train(kbfgs(damping=0.1, g_damping=1e-3), obj, theta, 6)
    assert not np.allclose(other[1], a[1])
    c = train(kbfgs_l(damping=0.1, memory=2), obj, theta, 6)
    assert not np.allclose(c[1], a[1], rtol=1e-6)
    assert int(c[2].n_pairs) == 6 and c[2].S[0].shape == (2, 6)


def test_kbfgs_inverse_mode_and_argument_errors(train):
    obj = _problem()
    theta = obj.net.init(seed=2)
    losses_, _, st = train(kbfgs(a_update="inverse", inverse_update_every=2, damping=0.1), obj, theta, 3)
    # steps 0 and 2 invert A + sqrt(lam) I (the last state holds the inverse of its own A)
    for H_a, A in zip(st.H_a, st.A):
        np.testing.assert_allclose(H_a @ (A + np.sqrt(0.1) * np.eye(len(A))), np.eye(len(A)), atol=1e-10)
    assert losses_[-1] < losses_[0]
    with pytest.raises(ValueError, match="damping must be in"):
        kbfgs(damping=0.0)
    with pytest.raises(ValueError, match="mu1 must be in"):
        kbfgs_l(mu1=1.0)
    with pytest.raises(ValueError, match="memory must be a positive integer"):
        kbfgs_l(memory=0)
    with pytest.raises(ValueError, match="g_damping must be in"):
        kbfgs(g_damping=0.0)
    with pytest.raises(ValueError, match="a_update must be"):
        kbfgs(a_update="newton")
