"""Lanczos and power iteration against dense eigen-decompositions."""
import warnings

import numpy as np
import pytest
import scipy.sparse.linalg as sla

from curv_problems import make_objective
from nnopt.curvature import (
    ConvergenceWarning, NonSymmetricOperatorError, hessian_operator, lanczos, power_iteration,
)


def _sym(n, seed=0, spectrum=None):
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.normal(size=(n, n)))
    d = rng.normal(size=n) if spectrum is None else np.asarray(spectrum, dtype=float)
    return (Q * d) @ Q.T, np.sort(d)


@pytest.mark.parametrize("loss", ["mse", "cross_entropy"])
def test_top_and_bottom_k_match_eigvalsh_on_net_hessian(loss):
    sizes = (3, 6, 5, 2) if loss == "mse" else (3, 6, 5, 3)
    obj, theta = make_objective(loss, sizes=sizes, weight_decay=0.01)
    ev = np.linalg.eigvalsh(obj.hess(theta))
    op = hessian_operator(obj, theta)
    n = op.shape[0]
    scale = np.max(np.abs(ev))
    top = lanczos(op, k=5, tol=1e-12)
    assert np.all(np.diff(top) <= 0)
    assert np.max(np.abs(top - ev[::-1][:5])) <= 1e-10 * scale
    bottom = lanczos(op, k=4, which="smallest", tol=1e-12, maxiter=n)
    assert np.all(np.diff(bottom) >= 0)
    assert np.max(np.abs(bottom - ev[:4])) <= 1e-10 * scale
    # and against ARPACK through the LinearOperator view
    arp = np.sort(sla.eigsh(op.aslinearoperator(), k=3, which="LA", tol=1e-12)[0])[::-1]
    assert np.max(np.abs(top[:3] - arp)) <= 1e-10 * scale


def test_vectors_and_reported_residuals_are_true_residuals():
    A, d = _sym(60, seed=3)
    res = lanczos(A, k=3, tol=1e-9, full_output=True)
    assert res.converged
    Y = res.vectors
    assert np.allclose(Y.T @ Y, np.eye(3), atol=1e-10)
    true = np.linalg.norm(A @ Y - Y * res.values, axis=0)
    assert np.all(true <= 1e-9 * np.max(np.abs(d)) * 10)
    assert np.allclose(true, res.residuals, atol=1e-11 * np.max(np.abs(d)))
    vals, vecs = lanczos(A, k=2, which="smallest", return_vectors=True)
    assert vecs.shape == (60, 2)
    assert np.allclose(vals, d[:2], rtol=0, atol=1e-10)


def test_all_eigenvalues_with_multiplicities_through_restarts():
    spectrum = [3.0, 3.0, 3.0, 1.0, 1.0, -2.0, 0.5, 0.0]
    A, d = _sym(8, seed=1, spectrum=spectrum)
    vals = lanczos(A, k=8)
    assert np.allclose(vals, np.sort(spectrum)[::-1], atol=1e-12)
    assert np.allclose(lanczos(np.zeros((4, 4)), k=4), 0)


def test_algebraic_not_magnitude():
    A = np.diag([-10.0, 1.0, 2.0, 0.5])
    assert lanczos(A, k=1)[0] == pytest.approx(2.0, abs=1e-12)
    assert lanczos(A, k=1, which="smallest")[0] == pytest.approx(-10.0, abs=1e-12)
    p = power_iteration(A, tol=1e-12)
    assert p.value == pytest.approx(-10.0, rel=1e-8)


def test_power_iteration_matches_top_eigenvalue_of_psd_hessian():
    obj, theta = make_objective("mse", sizes=(3, 4, 1))
    G = np.asarray(obj.hess(theta))
    ev = np.linalg.eigvalsh(G)
    dominant = ev[np.argmax(np.abs(ev))]
    p = power_iteration(hessian_operator(obj, theta), tol=1e-12, maxiter=5000)
    assert p.converged
    assert p.value == pytest.approx(dominant, rel=1e-8)
    assert abs(float(p.vector @ G @ p.vector) - dominant) <= 1e-8 * abs(dominant)


def test_callable_and_seeds_reproducible():
    A, d = _sym(30, seed=5)
    a = lanczos(lambda v: A @ v, 30, k=2, seed=7, tol=1e-6, maxiter=8, full_output=True)
    b = lanczos(lambda v: A @ v, 30, k=2, seed=np.random.default_rng(7), tol=1e-6, maxiter=8,
                full_output=True)
    assert np.array_equal(a.values, b.values)


def test_float32_lanczos_keeps_dtype():
    obj, theta = make_objective("mse", dtype=np.float32)
    op = hessian_operator(obj, theta)
    vals, vecs = lanczos(op, k=2, return_vectors=True)
    assert vals.dtype == np.float32 and vecs.dtype == np.float32
    ref = np.linalg.eigvalsh(obj.astype(np.float64).hess(theta.astype(np.float64)))[::-1][:2]
    assert np.allclose(vals, ref, rtol=1e3 * np.finfo(np.float32).eps, atol=1e-5 * ref[0])
    assert power_iteration(op).value.dtype == np.float32


def test_not_converged_warns_and_full_output_reports():
    A, d = _sym(200, seed=2, spectrum=np.linspace(0, 1, 200))
    with pytest.warns(ConvergenceWarning, match="maxiter"):
        lanczos(A, k=1, maxiter=5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = lanczos(A, k=1, maxiter=5, full_output=True)
    assert not res.converged and res.n_iter == 5


def test_non_symmetric_operator_is_detected():
    rng = np.random.default_rng(0)
    B = rng.normal(size=(20, 20))
    with pytest.raises(NonSymmetricOperatorError, match="not symmetric"):
        lanczos(B, k=2)  # dense: checked directly
    with pytest.raises(NonSymmetricOperatorError, match="not symmetric"):
        lanczos(lambda v: B @ v, 20, k=2)  # matrix-free: seen during reorthogonalisation
    # slightly non-symmetric (1e-3) is still caught; a symmetric one passes
    S, _ = _sym(20)
    with pytest.raises(NonSymmetricOperatorError):
        lanczos(lambda v: (S + 1e-3 * np.triu(B)) @ v, 20, k=1)
    lanczos(lambda v: (S + 1e-3 * np.triu(B)) @ v, 20, k=1, check_symmetry=False)
    assert isinstance(NonSymmetricOperatorError("x"), ValueError)


def test_bad_input_errors():
    A, _ = _sym(6)
    with pytest.raises(ValueError, match=r"k=7 is larger than the dimension dim=6"):
        lanczos(A, k=7)
    with pytest.raises(ValueError, match=r"k must be in \[1, 6\], got 0"):
        lanczos(A, k=0)
    with pytest.raises(ValueError, match="which must be 'largest' or 'smallest'"):
        lanczos(A, which="LM")
    with pytest.raises(ValueError, match="dim is required"):
        lanczos(lambda v: A @ v)
    with pytest.raises(ValueError, match=r"returned shape \(5,\)"):
        lanczos(lambda v: (A @ v)[:5], 6)
    with pytest.raises(TypeError, match="preserve the dtype"):
        lanczos(lambda v: (A @ v).astype(np.float32), 6)
    with pytest.raises(FloatingPointError, match="non-finite"):
        lanczos(lambda v: v * np.nan, 6)
    with pytest.raises(ValueError, match=r"v0 must have shape \(6,\)"):
        lanczos(A, v0=np.ones(5))
    with pytest.raises(ValueError, match="non-zero"):
        lanczos(A, v0=np.zeros(6))
    with pytest.raises(ValueError, match="must be square"):
        lanczos(np.ones((3, 4)))
    with pytest.raises(TypeError, match="seed must be"):
        lanczos(A, seed=1.5)
    with pytest.raises(ValueError, match="tol must be finite and > 0"):
        lanczos(A, tol=-1.0)
    with pytest.raises(TypeError, match="dtype=float32 but the operator computes in float64"):
        lanczos(hessian_operator(lambda x: (x ** 2).sum(), np.ones(3)), dtype=np.float32)
