"""sharpness() and SharpnessTracker: values, recording, divergence, dtype."""
import numpy as np
import pytest
import scipy.optimize

import nnopt.numpy as nnp
from curv_problems import make_objective
from nnopt.curvature import SharpnessTracker, hessian_matrix, sharpness


def rosenbrock(x):
    return nnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def test_sharpness_is_top_eigenvalue():
    obj, theta = make_objective("mse", weight_decay=0.01)
    ev = np.linalg.eigvalsh(obj.hess(theta))
    lam = sharpness(obj, theta, tol=1e-12)
    assert lam == pytest.approx(ev[-1], rel=1e-10)
    top3 = sharpness(obj, theta, k=3, tol=1e-12)
    assert np.allclose(top3, ev[::-1][:3], rtol=1e-9)
    value, vec = sharpness(obj, theta, return_vectors=True)
    assert vec.shape == (obj.n_params,) and value == pytest.approx(ev[-1], rel=1e-8)
    res = sharpness(obj, theta, full_output=True)
    assert res.converged and res.n_iter <= obj.n_params


def test_sharpness_of_plain_function_is_algebraic():
    x = np.array([1.0, 1.0, 1.0])  # minimum of Rosenbrock
    H = hessian_matrix(rosenbrock, x)
    assert sharpness(rosenbrock, x, tol=1e-12) == pytest.approx(np.linalg.eigvalsh(H)[-1], rel=1e-12)
    # a saddle with a dominant negative direction: lambda_max is the positive one
    f = lambda z: -5.0 * z[0] ** 2 + 0.5 * z[1] ** 2  # noqa: E731
    assert sharpness(f, np.zeros(2)) == pytest.approx(1.0, abs=1e-12)


def test_block_sharpness():
    obj, theta = make_objective("mse")
    H = obj.hess(theta)
    b = obj.net.layout.blocks[-1]
    assert sharpness(obj, theta, block=b.name, tol=1e-12) == pytest.approx(
        np.linalg.eigvalsh(H[b.slice, b.slice])[-1], rel=1e-10)


def test_sharpness_float32():
    obj, theta = make_objective("mse", dtype=np.float32)
    lam = sharpness(obj, theta)
    assert lam.dtype == np.float32
    ref = np.linalg.eigvalsh(obj.astype(np.float64).hess(theta.astype(np.float64)))[-1]
    assert float(lam) == pytest.approx(ref, rel=1e3 * float(np.finfo(np.float32).eps))


def test_sharpness_bad_input():
    obj, theta = make_objective("mse")
    with pytest.raises(ValueError, match="k must be in"):
        sharpness(obj, theta, k=obj.n_params + 1)
    with pytest.raises(ValueError, match="theta must have shape"):
        sharpness(obj, theta[:3])


def test_tracker_records_every_k_with_two_over_eta():
    obj, theta = make_objective("mse")
    lr = 0.05
    tr = SharpnessTracker(obj, every=5, k=2, lr=lr, record_weights=True, bins=20)
    for step in range(21):
        loss, g = obj.value_and_grad(theta)
        assert tr(step, theta, loss) is False
        theta = theta - lr * g
    h = tr.as_arrays()
    assert list(h["step"]) == [0, 5, 10, 15, 20]
    assert np.allclose(h["two_over_lr"], 2 / lr)
    assert h["top_k"].shape == (5, 2)
    assert np.all(h["top_k"][:, 0] >= h["top_k"][:, 1])
    assert np.array_equal(h["sharpness"], h["top_k"][:, 0])
    assert h["weight_hist"].shape == (5, 20)
    assert np.all(h["weight_hist"].sum(axis=1) == obj.n_params)
    assert np.all(h["lanczos_converged"])
    # the recorded values are the quantities at the recorded iterate
    assert h["sharpness"][-1] == pytest.approx(np.linalg.eigvalsh(obj.hess(tr.last_finite_theta))[-1], rel=1e-5)
    assert tr.status == "running"


def test_tracker_stops_cleanly_on_divergence():
    obj, theta = make_objective("mse")
    lam = sharpness(obj, theta)
    lr = 6.0 / lam  # far beyond 2 / lambda_max: GD diverges
    tr = SharpnessTracker(obj, every=2, lr=lr, divergence_threshold=1e8)
    stopped_at = None
    last_good = None
    with np.errstate(all="ignore"):
        for step in range(500):
            loss, g = obj.value_and_grad(theta)
            if tr(step, theta, loss):
                stopped_at = step
                break
            last_good = theta
            theta = theta - lr * g
    assert stopped_at is not None
    assert tr.status == "diverged" and "diverged at step" in tr.message
    assert len(tr.history["step"]) >= 1
    assert np.all(np.isfinite(tr.last_finite_theta))
    assert np.array_equal(tr.last_finite_theta, last_good)
    assert tr(stopped_at + 1, theta) is True  # stays stopped


def test_tracker_non_finite_parameters_stop():
    obj, theta = make_objective("mse")
    tr = SharpnessTracker(obj, every=1)
    assert tr(0, theta) is False
    bad = theta.copy()
    bad[0] = np.inf
    assert tr(1, bad) is True
    assert "not finite" in tr.message
    assert np.array_equal(tr.last_finite_theta, theta)


def test_tracker_as_scipy_callback():
    x0 = np.array([-1.2, 1.0])
    tr = SharpnessTracker(rosenbrock, every=3)
    scipy.optimize.minimize(lambda x: float(rosenbrock(x)), x0, method="BFGS", callback=tr.scipy_callback())
    h = tr.as_arrays()
    assert h["step"].size >= 3 and h["step"][0] == 1
    assert h["sharpness"][-1] == pytest.approx(1001.6, rel=1e-2)  # Hessian at (1, 1): [[802, -400], [-400, 200]]


def test_tracker_bad_input():
    obj, _ = make_objective("mse")
    with pytest.raises(ValueError, match=r"every must be in \[1, inf\], got 0"):
        SharpnessTracker(obj, every=0)
    with pytest.raises(ValueError, match="lr must be finite and > 0"):
        SharpnessTracker(obj, lr=-0.1)
    with pytest.raises(TypeError, match="objective must be"):
        SharpnessTracker(3.0)
    with pytest.raises(TypeError, match="step must be an integer"):
        SharpnessTracker(obj)(0.5, np.zeros(obj.n_params))
