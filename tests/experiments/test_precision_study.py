"""The built-in precision study: tasks with an exact zero minimum, dtype-faithful runs, the report."""
import numpy as np
import pytest

import nnopt
from nnopt.experiments.precision_study import (
    precision_report, summary_rows, teacher_task, train_student)


@pytest.mark.parametrize("nonlinearity", ["moderate", "strong"])
def test_teacher_task_has_an_exact_zero_minimum_and_enough_samples(nonlinearity):
    net, X, Y = teacher_task(2, nonlinearity, width=6, seed=3)
    assert X.shape[0] * Y.shape[1] >= 4 * net.n_params
    # the teacher is a point of the student's parameter space with loss exactly 0:
    # rebuild it from the same seed stream
    rng = np.random.default_rng([3, 7919])
    scale = {"moderate": 1.0, "strong": 4.0}[nonlinearity]
    theta_t = net.init(seed=int(rng.integers(2**31))) * scale
    for spec in net.layout:
        if spec.param == "b":
            theta_t[spec.slice] = rng.normal(0.0, scale / 2, size=spec.shape)
    assert nnopt.Objective(net, "mse", X, Y).fun(theta_t) == 0.0


def test_strong_teacher_is_more_saturated():
    net, X, _ = teacher_task(1, "moderate", seed=0)
    _, _, Ys = teacher_task(1, "strong", seed=0)
    _, _, Ym = teacher_task(1, "moderate", seed=0)
    assert np.std(Ys) > np.std(Ym)


@pytest.mark.parametrize("optimizer", ["cg", "lbfgs", "rmsprop"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_runs_stay_in_their_dtype_and_decrease_the_loss(optimizer, dtype):
    res = train_student(optimizer, dtype, depth=1, nonlinearity="moderate", iters=30, width=4, seed=0)
    assert res["rel_mse"].dtype == np.dtype(dtype)
    assert res["final_rel_mse"].dtype == np.dtype(dtype)
    assert res["rel_mse"][-1] < res["rel_mse"][0]
    assert res["time"].dtype == np.float64 and res["time"].size == res["rel_mse"].size


def test_same_start_in_both_precisions():
    a = train_student("cg", "float32", depth=1, nonlinearity="moderate", iters=1, width=4, seed=5)
    b = train_student("cg", "float64", depth=1, nonlinearity="moderate", iters=1, width=4, seed=5)
    assert a["rel_mse"][0] == pytest.approx(float(b["rel_mse"][0]), rel=1e-5)


def test_bad_input():
    with pytest.raises(ValueError, match="nonlinearity"):
        teacher_task(1, "extreme")
    with pytest.raises(ValueError, match="depth"):
        teacher_task(0, "moderate")
    with pytest.raises(ValueError, match="optimizer"):
        train_student("sgd-magic", "float64", 1, "moderate", 5)


def test_report_table_and_figures(tmp_path):
    records = []
    for opt in ("cg", "rmsprop"):
        for dt in ("float32", "float64"):
            res = train_student(opt, dt, depth=1, nonlinearity="strong", iters=5, width=3, seed=0)
            records.append({"config": {"optimizer": opt, "dtype": dt, "depth": 1, "nonlinearity": "strong",
                                       "iters": 5}, "seed": 0, "status": "ok", "result": res})
    rows = summary_rows(records)
    assert {r["optimizer"] for r in rows} == {"cg", "rmsprop"}
    assert all(r["rel_mse_float32"] > 0 and r["rel_mse_float64"] > 0 for r in rows)
    files = [str(f) for f in precision_report(records, tmp_path)]
    assert any(f.endswith("precision_table.md") for f in files)
    assert any(f.endswith("precision_vs_iteration.png") for f in files)
    assert "| strong | 1 | cg |" in (tmp_path / "precision_table.md").read_text()
