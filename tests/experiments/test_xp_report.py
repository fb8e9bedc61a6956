"""Aggregation, tables and figures."""
import csv
import math

import numpy as np
import pytest

import xp_helpers as H
from nnopt.experiments import (
    InlineExecutor,
    aggregate,
    format_markdown,
    plot_curves,
    plot_dtype_panels,
    plot_final,
    report,
    save_figure,
    sweep,
    write_csv,
    write_markdown,
)

PNG = b"\x89PNG\r\n\x1a\n"


def _recs(values_by_lr, failed_lrs=()):
    recs = []
    for lr, vals in values_by_lr.items():
        for s, v in enumerate(vals):
            recs.append({"config": {"lr": lr, "dtype": "float32"}, "seed": s, "status": "ok",
                         "result": {"loss": v, "status": "diverged" if v > 5 else "ok",
                                    "curve": np.linspace(2.0, 1.0, 4 + s).astype(np.float32)}})
    for lr in failed_lrs:
        recs.append({"config": {"lr": lr, "dtype": "float32"}, "seed": 9, "status": "failed",
                     "result": None, "error": "ValueError: x"})
    return recs


def test_aggregate_matches_numpy():
    vals = {0.1: [1.0, 2.0, 4.0], 1.0: [3.0, 9.0]}
    rows = aggregate(_recs(vals, failed_lrs=[1.0]))
    assert [r["lr"] for r in rows] == [0.1, 1.0]
    for row, v in zip(rows, vals.values()):
        a = np.array(v)
        assert row["loss.mean"] == pytest.approx(a.mean())
        assert row["loss.std"] == pytest.approx(a.std(ddof=1))
        assert (row["loss.min"], row["loss.max"]) == (a.min(), a.max())
        assert row["loss.median"] == pytest.approx(np.median(a))
        assert row["dtype"] == "float32"
    assert (rows[1]["n"], rows[1]["n_ok"], rows[1]["n_failed"]) == (3, 2, 1)
    assert rows[1]["status"] == "diverged:1 ok:1"
    assert "curve.mean" not in rows[0]  # arrays are not scalars


def test_aggregate_by_pools_other_keys_and_keeps_non_finite():
    recs = _recs({0.1: [1.0], 1.0: [math.inf]})
    (row,) = aggregate(recs, by=["dtype"])
    assert row["n"] == 2 and row["loss.max"] == math.inf and row["loss.mean"] == math.inf
    assert math.isnan(aggregate(_recs({0.1: [1.0]}))[0]["loss.std"])  # one seed
    with pytest.raises(ValueError, match="by"):
        aggregate(recs, by=["momentum"])
    with pytest.raises(TypeError, match="records"):
        aggregate({"config": {}})


def test_markdown_and_csv(tmp_path):
    rows = [{"lr": 0.1, "loss.mean": 1 / 3, "tag": "a|b"}, {"lr": 1.0, "loss.mean": math.nan}]
    md = format_markdown(rows, precision=3)
    lines = md.splitlines()
    assert lines[0] == "| lr | loss.mean | tag |" and lines[1] == "|---|---|---|"
    assert lines[2] == "| 0.1 | 0.333 | a\\|b |" and lines[3] == "| 1 | nan |  |"
    p = write_markdown(rows, tmp_path / "t.md", title="T")
    assert p.read_text().startswith("# T\n\n| lr")
    p = write_csv(rows, tmp_path / "t.csv")
    back = list(csv.DictReader(open(p)))
    assert float(back[0]["loss.mean"]) == 1 / 3 and back[1]["tag"] == ""


def test_figures_are_pngs(tmp_path):
    recs = _recs({0.1: [1.0, 2.0], 1.0: [3.0, 9.0]}, failed_lrs=[1.0])
    fig = plot_curves(recs, "curve", logy=True)
    assert len(fig.axes[0].lines) == 2  # one curve per configuration, failed runs skipped
    p = save_figure(fig, tmp_path / "sub" / "c.png")
    assert p.read_bytes()[:8] == PNG
    fig = plot_final(recs, "lr", "loss", hue="dtype")
    assert fig.axes[0].get_xlabel() == "lr"
    recs64 = [dict(r, config=dict(r["config"], dtype="float64")) for r in recs]
    fig = plot_dtype_panels(recs + recs64, lambda r: r["result"]["curve"] * 2)
    assert [ax.get_title() for ax in fig.axes] == ["dtype=float32", "dtype=float64"]
    with pytest.raises(ValueError, match="x"):
        plot_final(recs, "momentum", "loss")
    with pytest.raises(KeyError, match="nope"):
        plot_curves(recs, "nope")


def test_generic_report_from_a_store(tmp_path):
    sweep(H.quad_run, {"lr": [0.1, 0.5], "dtype": ["float32", "float64"]}, seeds=[0, 1],
          store=tmp_path / "store", executor=InlineExecutor(), progress=False)
    files = report(tmp_path / "store", tmp_path / "rep")
    names = sorted(f.name for f in files)
    assert names == ["loss.png", "summary.csv", "summary.md"]
    assert (tmp_path / "rep" / "loss.png").read_bytes()[:8] == PNG
    md = (tmp_path / "rep" / "summary.md").read_text()
    assert "final.mean" in md and "py_final.median" in md and md.count("\n| 0.") == 4
