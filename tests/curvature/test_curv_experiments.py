"""The curvature experiments: edge of stability, batch vs full Hessian, gradient flow vs GD."""
import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

import nnopt
from curv_problems import make_objective
from nnopt.curvature import (
    batch_sharpness, edge_of_stability, gradient_flow_vs_gd, plot_batch_sharpness,
    plot_edge_of_stability, plot_flow_vs_gd, regression_task, sharpness,
)

SMALL = dict(sizes=(4, 16, 16, 16, 1), n_samples=64)


def test_edge_of_stability_sharpness_settles_at_two_over_eta():
    # full-batch GD at eta = 0.2: the sharpness overshoots 2/eta = 10, and
    # then hovers around it while the loss keeps decreasing non-monotonically
    res = edge_of_stability((0.2,), n_steps=600, every=20, **SMALL)
    run = res.runs[0]
    s = run.summary()
    assert run.status == "completed" and s["steps"] == 600
    assert 0.85 < s["ratio_to_2_over_lr"] < 1.15
    assert s["max_sharpness"] > 2 / 0.2
    assert s["loss_increases"] > 10  # non-monotone
    assert s["final_loss"] < 0.2 * s["initial_loss"]
    # non-convergence: the gradient does not go to zero, the weights keep moving
    assert s["grad_norm_tail_median"] > 0.05 * s["grad_norm_initial"]
    assert s["weight_drift_tail_median"] > 0
    h = run.history
    assert np.allclose(h["two_over_lr"], 10.0)
    assert h["weight_hist"].shape[0] == h["step"].size == 31
    fig = plot_edge_of_stability(res)
    assert len(fig.axes) == 4


def test_edge_of_stability_is_reproducible_and_stops_on_divergence():
    a = edge_of_stability((0.1, 5.0), n_steps=40, every=10, **SMALL)
    b = edge_of_stability((0.1, 5.0), n_steps=40, every=10, **SMALL)
    assert np.array_equal(a.runs[0].loss, b.runs[0].loss)
    assert np.array_equal(a.runs[0].history["sharpness"], b.runs[0].history["sharpness"])
    bad = a.runs[1]  # eta = 5 is far beyond 2 / lambda_max
    assert bad.status == "diverged" and "diverged at step" in bad.message
    assert np.all(np.isfinite(bad.theta))
    assert bad.loss.size < 41 and bad.history["step"].size >= 1
    assert a.runs[0].status == "completed"


def test_edge_of_stability_float32_and_bad_input():
    res = edge_of_stability((0.1,), n_steps=10, every=5, dtype=np.float32, **SMALL)
    assert res.runs[0].theta.dtype == np.float32 and res.config["dtype"] == "float32"
    with pytest.raises(ValueError, match="lrs\\[i\\] must be finite and > 0"):
        edge_of_stability((0.1, -1.0), n_steps=5)
    with pytest.raises(ValueError, match="at least one"):
        edge_of_stability((), n_steps=5)
    obj, theta = make_objective("mse")
    with pytest.raises(ValueError, match="theta0 must have shape"):
        edge_of_stability((0.1,), n_steps=5, objective=obj, theta0=theta[:2])


def test_batch_sharpness():
    X, Y = regression_task(40, 2, seed=1)
    net = nnopt.nn.MLP([2, 6, 1])
    obj = nnopt.Objective(net, "mse", X, Y)
    theta = net.init(seed=0)
    r = batch_sharpness(obj, theta, [2, 10, 40], n_batches=4, seed=0)
    assert r.values.shape == (3, 4)
    assert r.full == pytest.approx(float(sharpness(obj, theta)), rel=1e-8)
    # the whole data set as a "minibatch" is the full batch
    assert np.allclose(r.values[2], r.full, rtol=1e-8) and r.std[2] < 1e-8 * r.full
    # small batches: larger top eigenvalue on average, smaller max step size
    assert r.mean[0] > r.full and r.max_lr[0] < r.max_lr_full
    assert np.allclose(r.max_lr, 2 / r.mean)
    assert len(plot_batch_sharpness(r).axes) == 2
    with pytest.raises(ValueError, match=r"batch_sizes\[i\] must be in \[1, 40\], got 41"):
        batch_sharpness(obj, theta, [41])
    with pytest.raises(TypeError, match="nnopt.Objective"):
        batch_sharpness(lambda x: x, theta, [1])


def test_gradient_flow_vs_gd_first_order_in_eta():
    X, Y = regression_task(30, 2, seed=0)
    net = nnopt.nn.MLP([2, 5, 1])
    obj = nnopt.Objective(net, "mse", X, Y)
    theta = net.init(seed=0)
    r = gradient_flow_vs_gd(obj, theta, [0.1, 0.05, 0.025], 2.0, n_checkpoints=5)
    # explicit Euler: the global error is O(eta) while eta * lambda_max is small
    assert np.all(r.eta_lambda_max < 1.0)
    ratios = r.max_distance[:-1] / r.max_distance[1:]
    assert np.all((ratios > 1.7) & (ratios < 2.3))
    assert r.flow_loss[-1] < r.flow_loss[0]
    assert np.all(r.lambda_min <= r.lambda_max)
    assert r.distances[0].size == 21 and r.distances[0][0] == 0.0
    assert len(plot_flow_vs_gd(r).axes) == 2
    with pytest.raises(TypeError, match="float64"):
        gradient_flow_vs_gd(obj.astype(np.float32), theta.astype(np.float32), [0.1], 1.0)
    with pytest.raises(ValueError, match="t_final must be finite and > 0"):
        gradient_flow_vs_gd(obj, theta, [0.1], 0.0)


def test_edge_of_stability_registered_experiment(tmp_path):
    from nnopt.curvature.eos_experiment import eos_report, eos_run
    from nnopt.experiments import InlineExecutor, sweep
    from nnopt.experiments.registry import get_experiment

    exp = get_experiment("edge-of-stability")
    assert exp.run.__module__ == "nnopt.curvature.eos_experiment" and exp.report is eos_report
    grid = {"lr": [0.2, 0.1], "n_steps": [30], "every": [10], "sizes": [[4, 8, 1]], "n_samples": [32],
            "dtype": ["float64"]}
    records = sweep(eos_run, grid, seeds=[0], executor=InlineExecutor(), store=tmp_path / "rec",
                    progress=None)
    assert all(r["status"] == "ok" for r in records)
    res = records[0]["result"]
    assert res["loss"].shape == (31,) and list(res["record_step"]) == [0, 10, 20, 30]
    files = eos_report(records, tmp_path / "report")
    names = sorted(p.name for p in files)
    assert names == ["edge_of_stability.csv", "edge_of_stability.md", "edge_of_stability.png"]
    assert "ratio_to_2_over_lr" in (tmp_path / "report" / "edge_of_stability.md").read_text()
