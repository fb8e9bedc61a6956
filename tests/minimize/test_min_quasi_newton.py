"""The quasi-Newton approximations: SciPy's HessianUpdateStrategy interface,
secant equations, duality of the hess / inv_hess forms, dtype."""
import numpy as np
import pytest

from nnopt.minimize import BFGS, LBFGS, SR1


def pairs(n=6, k=5, seed=0, dtype=np.float64):
    """Pairs (s, y) from a fixed SPD matrix: y = A s (so s^T y > 0)."""
    rng = np.random.default_rng(seed)
    M = rng.standard_normal((n, n))
    A = M @ M.T + n * np.eye(n)
    out = []
    for _ in range(k):
        s = rng.standard_normal(n)
        out.append((s.astype(dtype), (A @ s).astype(dtype)))
    return A, out


@pytest.mark.parametrize("cls", [BFGS, SR1, lambda: LBFGS(m=3)])
@pytest.mark.parametrize("approx_type", ["hess", "inv_hess"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_secant_equation_and_interface(cls, approx_type, dtype):
    A, prs = pairs(dtype=dtype)
    q = cls()
    q.initialize(6, approx_type, dtype)
    for i, (s, y) in enumerate(prs):
        if not q.update(s, y):
            # SR1 in inverse form after the 'auto' scaling H0 = (s^T y / y^T y) I:
            # u = s - H0 y is orthogonal to y, so the first update is skipped
            assert isinstance(q, SR1) and approx_type == "inv_hess" and i == 0
            continue
        M = q.get_matrix()
        assert M.shape == (6, 6) and M.dtype == dtype
        np.testing.assert_allclose(M, M.T, rtol=1e-4 if dtype == np.float32 else 1e-10,
                                   atol=1e-5 if dtype == np.float32 else 1e-12)
        # the newest pair satisfies the secant equation: B s = y or H y = s
        lhs, rhs = (q.dot(s), y) if approx_type == "hess" else (q.dot(y), s)
        tol = 1e-3 if dtype == np.float32 else 1e-9
        np.testing.assert_allclose(lhs, rhs, rtol=tol, atol=tol * np.abs(rhs).max())
        p = np.linspace(-1, 1, 6).astype(dtype)
        np.testing.assert_allclose(q.dot(p), M @ p, rtol=tol, atol=tol)
        assert q.dot(p).dtype == dtype


@pytest.mark.parametrize("cls", [BFGS, lambda: SR1(init_scale=1.0), lambda: LBFGS(m=10)])
def test_hess_and_inv_hess_forms_are_inverses(cls):
    """BFGS (and SR1) updates of B and of H = B^{-1} are duals: they stay inverse."""
    A, prs = pairs(k=4, seed=1)
    B, H = cls(), cls()
    B.initialize(6, "hess")
    H.initialize(6, "inv_hess")
    for s, y in prs:
        B.update(s, y)
        H.update(s, y)
    np.testing.assert_allclose(B.get_matrix() @ H.get_matrix(), np.eye(6), atol=1e-8)


def test_quasi_newton_recovers_a_quadratic_hessian():
    """n linearly independent exact pairs y = A s: SR1 reproduces A exactly
    (Nocedal & Wright, Theorem 6.1); BFGS with full memory satisfies all the
    secant equations only in the limit, so it is just checked to be SPD."""
    A, prs = pairs(n=6, k=6, seed=2)
    sr1 = SR1()
    sr1.initialize(6, "hess")
    bfgs = BFGS()
    bfgs.initialize(6, "inv_hess")
    for s, y in prs:
        sr1.update(s, y)
        bfgs.update(s, y)
    np.testing.assert_allclose(sr1.get_matrix(), A, rtol=1e-8, atol=1e-8)
    assert np.all(np.linalg.eigvalsh(bfgs.get_matrix()) > 0)


def test_lbfgs_two_loop_matches_dense_bfgs():
    """With memory >= number of pairs and the same initial matrix gamma I,
    L-BFGS's two-loop recursion equals the dense BFGS inverse update."""
    A, prs = pairs(k=4, seed=3)
    lb = LBFGS(m=10)
    lb.initialize(6, "inv_hess")
    for s, y in prs:
        lb.update(s, y)
    gamma = lb.gamma
    H = gamma * np.eye(6)
    for s, y in prs:
        rho = 1 / (y @ s)
        V = np.eye(6) - rho * np.outer(y, s)
        H = V.T @ H @ V + rho * np.outer(s, s)
    np.testing.assert_allclose(lb.get_matrix(), H, rtol=1e-10, atol=1e-12)
    # the compact form used by dot() and the two-loop recursion agree
    p = np.linspace(-2, 1, 6)
    np.testing.assert_allclose(lb.dot(p), lb.two_loop(p), rtol=1e-12, atol=1e-14)


def test_lbfgs_memory_and_skipping():
    _, prs = pairs(k=5, seed=4)
    lb = LBFGS(m=2)
    lb.initialize(6, "inv_hess")
    for s, y in prs:
        lb.update(s, y)
    assert len(lb.S) == 2 and np.array_equal(lb.S[-1], prs[-1][0])
    assert np.array_equal(lb.Y[0], prs[-2][1])
    np.testing.assert_allclose(lb._SY[:2, :2], lb.S @ lb.Y.T, rtol=1e-14)  # kept in step after shifting
    s = np.ones(6)
    assert not lb.update(s, -s)            # negative curvature: skipped
    assert not lb.update(np.zeros(6), s)   # no step: skipped
    assert lb.n_skipped == 2 and lb.n_updates == 5
    sr1 = SR1()
    sr1.initialize(6, "hess")
    assert not sr1.update(s, s * 1.0)      # B s = y already (after scaling): r = 0, skipped


def test_interface_errors():
    q = BFGS()
    with pytest.raises(RuntimeError, match="initialize"):
        q.dot(np.ones(3))
    with pytest.raises(ValueError, match="approx_type"):
        q.initialize(3, "hessian")
    q.initialize(3, "hess")
    with pytest.raises(ValueError, match="s: expected shape"):
        q.update(np.ones(2), np.ones(3))
    with pytest.raises(TypeError, match="y: expected dtype"):
        q.update(np.ones(3), np.ones(3, np.float32))
    with pytest.raises(ValueError, match="m: expected a positive integer"):
        LBFGS(m=0)
