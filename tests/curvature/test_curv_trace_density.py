"""Hutchinson, Hutch++ and stochastic Lanczos quadrature on matrices with known spectra."""
import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

from curv_problems import make_objective
from nnopt.curvature import (
    SpectralDensity, hessian_operator, hutch_plus_plus, hutchinson, plot_spectral_density, slq,
)


def _sym(n, spectrum, seed=0):
    Q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(n, n)))
    return (Q * np.asarray(spectrum, dtype=float)) @ Q.T


def test_hutchinson_within_its_stated_error():
    A = _sym(80, np.random.default_rng(1).normal(size=80) + 0.5)
    tr = np.trace(A)
    for dist in ("rademacher", "gaussian"):
        est = hutchinson(A, n_samples=400, seed=3, distribution=dist)
        assert est.n_matvecs == 400 and est.samples.shape == (400,)
        assert abs(est.value - tr) <= 4 * est.stderr
        # the stated error is the right size: compare with the exact variance
        F2 = np.sum(A * A)
        var = 2 * (F2 - np.sum(np.diag(A) ** 2)) if dist == "rademacher" else 2 * F2
        assert 0.7 < est.stderr / np.sqrt(var / 400) < 1.3


def test_hutchinson_unbiased_over_seeds():
    A = _sym(40, np.linspace(-1, 3, 40))
    vals = np.array([hutchinson(A, n_samples=5, seed=s).value for s in range(400)])
    tr = np.trace(A)
    assert abs(vals.mean() - tr) <= 4 * vals.std(ddof=1) / np.sqrt(vals.size)


def test_hutchinson_exact_for_diagonal_with_rademacher():
    D = np.diag(np.arange(1.0, 11.0))
    est = hutchinson(D, n_samples=3, seed=0)
    assert est.value == pytest.approx(55.0, abs=1e-12) and est.stderr == pytest.approx(0.0, abs=1e-12)


def test_hutch_plus_plus_exact_for_low_rank_and_within_error():
    spectrum = np.zeros(60)
    spectrum[:5] = [10.0, 7.0, 5.0, -3.0, 1.0]
    A = _sym(60, spectrum)
    est = hutch_plus_plus(A, n_matvecs=30, seed=0)  # 10 >= rank 5
    assert est.value == pytest.approx(20.0, abs=1e-10)
    assert est.stderr == pytest.approx(0.0, abs=1e-10)
    # decaying spectrum: unbiased and better than Hutchinson at the same budget
    B = _sym(100, 1.0 / np.arange(1, 101) ** 2)
    tr = np.trace(B)
    hpp = np.array([hutch_plus_plus(B, n_matvecs=30, seed=s).value for s in range(100)])
    hut = np.array([hutchinson(B, n_samples=30, seed=s).value for s in range(100)])
    assert abs(hpp.mean() - tr) <= 4 * hpp.std(ddof=1) / 10
    assert np.mean((hpp - tr) ** 2) < np.mean((hut - tr) ** 2)
    one = hutch_plus_plus(B, n_matvecs=30, seed=1)
    assert one.n_matvecs == 30 and abs(one.value - tr) <= 5 * one.stderr + 1e-12


def test_trace_of_net_hessian_and_dtype():
    obj, theta = make_objective("mse", weight_decay=0.01)
    tr = np.trace(obj.hess(theta))
    op = hessian_operator(obj, theta)
    est = hutchinson(op, n_samples=100, seed=0)
    assert abs(est.value - tr) <= 4 * est.stderr
    full = hutch_plus_plus(op, n_matvecs=3 * op.shape[0], seed=0)  # Q spans everything
    assert full.value == pytest.approx(tr, rel=1e-10)
    obj32, theta32 = make_objective("mse", dtype=np.float32)
    est32 = hutchinson(hessian_operator(obj32, theta32), n_samples=10)
    assert est32.value.dtype == np.float32 and est32.samples.dtype == np.float32
    assert hutch_plus_plus(hessian_operator(obj32, theta32), n_matvecs=9).value.dtype == np.float32


def test_trace_bad_input():
    with pytest.raises(ValueError, match="distribution must be one of"):
        hutchinson(np.eye(3), distribution="uniform")
    with pytest.raises(ValueError, match=r"n_matvecs must be in \[3, inf\], got 2"):
        hutch_plus_plus(np.eye(3), n_matvecs=2)
    with pytest.raises(TypeError, match="n_samples must be an integer"):
        hutchinson(np.eye(3), n_samples=2.5)


def test_slq_integrates_to_one_and_moments_match_traces():
    n = 120
    spectrum = np.concatenate([np.random.default_rng(0).normal(0.0, 0.3, n - 3), [4.0, 6.0, -2.0]])
    A = _sym(n, spectrum)
    dens = slq(A, n_probes=30, n_steps=25, seed=1)
    assert isinstance(dens, SpectralDensity) and dens.n_probes == 30
    for w in dens.weights:
        assert np.sum(w) == pytest.approx(1.0, abs=1e-12)
        assert np.all(w >= 0)
    t = dens.grid(4000)
    assert np.trapezoid(dens.evaluate(t), t) == pytest.approx(1.0, abs=1e-6)
    Ak = np.eye(n)
    for k in range(1, 5):
        Ak = Ak @ A
        exact = np.trace(Ak) / n
        per_probe = dens.probe_moments(k)
        stderr = per_probe.std(ddof=1) / np.sqrt(per_probe.size)
        assert abs(dens.moment(k) - exact) <= 4 * stderr + 1e-12
    # the nodes find the outliers exactly
    lo, hi = dens.support()
    assert lo == pytest.approx(-2.0, abs=1e-8) and hi == pytest.approx(6.0, abs=1e-8)


def test_slq_quadrature_is_exact_for_low_degree():
    # with as many steps as the dimension, every probe's quadrature is the
    # probe's spectral measure: moments equal v^T A^k v for all k
    A = _sym(10, np.arange(10.0) - 3.0)
    dens = slq(A, n_probes=3, n_steps=10, seed=0)
    Z = np.random.default_rng(0).integers(0, 2, size=(10, 3)).astype(float) * 2 - 1  # documented probes
    for p in range(3):
        v = Z[:, p] / np.sqrt(10)
        for k in (1, 2, 5, 9):
            assert np.sum(dens.weights[p] * dens.nodes[p] ** k) == pytest.approx(
                v @ np.linalg.matrix_power(A, k) @ v, rel=1e-9, abs=1e-9)


def test_slq_on_net_hessian_and_plot():
    obj, theta = make_objective("cross_entropy", sizes=(3, 5, 4, 3))
    H = obj.hess(theta)
    dens = slq(hessian_operator(obj, theta), n_probes=4, n_steps=30, seed=0)
    ev = np.linalg.eigvalsh(H)
    lo, hi = dens.support()
    assert lo >= ev[0] - 1e-10 and hi <= ev[-1] + 1e-10
    assert hi == pytest.approx(ev[-1], rel=1e-8)
    ax = plot_spectral_density(dens, log=True)
    assert ax.get_yscale() == "log"
    ax2 = plot_spectral_density(dens)
    assert ax2.get_yscale() == "linear" and len(ax2.lines) == 1
    with pytest.raises(TypeError, match="SpectralDensity"):
        plot_spectral_density(np.ones(3))
    with pytest.raises(ValueError, match="sigma must be finite and > 0"):
        dens.evaluate(np.zeros(2), sigma=0.0)


def test_slq_float32_and_non_symmetric():
    A = _sym(30, np.linspace(-1, 1, 30)).astype(np.float32)
    d = slq(A, n_probes=2, n_steps=10)
    assert abs(d.total_weight() - 1.0) < 1e-5
    B = np.random.default_rng(0).normal(size=(30, 30))
    with pytest.raises(ValueError, match="not symmetric"):
        slq(lambda v: B @ v, 30, n_probes=2, n_steps=5)
    with pytest.raises(ValueError, match=r"n_probes must be in \[1, inf\], got 0"):
        slq(A, n_probes=0)
