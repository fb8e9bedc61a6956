"""The nnopt command and the experiment registry."""
import json
import time

import numpy as np
import pytest

from nnopt.cli import main
from nnopt.experiments import (
    build_report,
    experiment,
    get_experiment,
    list_experiments,
    load,
    register,
    run_experiment,
    sweep,
)
from nnopt.experiments import registry as REG

PNG = b"\x89PNG\r\n\x1a\n"


def test_list(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    line = next(ln for ln in out.splitlines() if ln.startswith("lr-scan "))
    assert "least squares" in line


def test_run_quick_then_report(tmp_path, capsys):
    out = tmp_path / "lr"
    assert main(["run", "lr-scan", "--quick", "--out", str(out), "--workers", "2"]) == 0
    text = capsys.readouterr().out
    assert "16 runs, 16 ok, 0 failed" in text
    meta = json.loads((out / "experiment.json").read_text())
    assert meta["experiment"] == "lr-scan" and meta["quick"] is True
    recs = load(out / "records")
    assert len(recs) == 16
    # the genuine experiment behaves as theory says: GD on a quadratic with L = 1
    # converges for lr < 2 and diverges beyond; float32 stops at its rounding floor
    for r in recs:
        res = r["result"]
        assert res["loss"].dtype == np.dtype(r["config"]["dtype"])
        if r["config"]["lr"] < 2:
            assert res["status"] == "completed" and res["iterations"] == 300
            assert np.all(np.diff(res["loss"][:20].astype(float)) < 0)
        else:
            assert res["status"] == "diverged"
    fast64 = [r for r in recs if r["config"]["lr"] == 1.9 and r["config"]["dtype"] == "float64"]
    fast32 = [r for r in recs if r["config"]["lr"] == 1.9 and r["config"]["dtype"] == "float32"]
    for r in fast64:
        assert abs(r["result"]["final_gap"]) < 1e3 * np.finfo(np.float64).eps * r["result"]["f_star"]
    for r in fast32:
        assert abs(r["result"]["final_gap"]) < 1e2 * np.finfo(np.float32).eps * r["result"]["f_star"]
    files = sorted(p.name for p in (out / "report").iterdir())
    assert files == ["final_gap.csv", "final_gap.md", "final_vs_lr.png", "gap_curves.png"]
    png = out / "report" / "gap_curves.png"
    png.unlink()
    assert main(["report", str(out)]) == 0
    assert png.read_bytes()[:8] == PNG
    assert "wrote" in capsys.readouterr().out
    # rerun: every run reused, nothing recomputed
    stamps = {p.name: p.stat().st_mtime_ns for p in (out / "records").iterdir()}
    assert main(["run", "lr-scan", "--quick", "--out", str(out), "--no-progress"]) == 0
    assert stamps == {p.name: p.stat().st_mtime_ns for p in (out / "records").iterdir()}


def test_unknown_experiment_writes_nothing(tmp_path, capsys):
    assert main(["run", "no-such-thing", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "unknown experiment 'no-such-thing'" in err and "lr-scan" in err
    assert not (tmp_path / "o").exists()


def test_out_is_a_file_or_foreign_directory(tmp_path, capsys):
    f = tmp_path / "f"
    f.write_text("keep")
    assert main(["run", "lr-scan", "--quick", "--out", str(f)]) == 2
    assert "is a file" in capsys.readouterr().err and f.read_text() == "keep"
    d = tmp_path / "d"
    d.mkdir()
    (d / "notes.txt").write_text("mine")
    assert main(["run", "lr-scan", "--quick", "--out", str(d)]) == 2
    assert "not empty" in capsys.readouterr().err
    assert [p.name for p in d.iterdir()] == ["notes.txt"]


def test_quick_and_full_do_not_mix(tmp_path, capsys):
    out = tmp_path / "o"
    out.mkdir()
    (out / "experiment.json").write_text(json.dumps({"experiment": "lr-scan", "quick": True}))
    assert main(["run", "lr-scan", "--out", str(out)]) == 2
    assert "quick run" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["experiment.json"]


def test_unreachable_scheduler(tmp_path, capsys):
    pytest.importorskip("dask.distributed")
    out = tmp_path / "o"
    t0 = time.monotonic()
    code = main(["run", "lr-scan", "--quick", "--out", str(out),
                 "--scheduler", "tcp://127.0.0.1:9", "--connect-timeout", "0.5"])
    assert code == 2 and time.monotonic() - t0 < 30
    assert "could not connect to the Dask scheduler at 'tcp://127.0.0.1:9'" in capsys.readouterr().err
    assert not out.exists()


def test_scheduler_with_workers_is_a_usage_error(tmp_path, capsys):
    assert main(["run", "lr-scan", "--scheduler", "tcp://x:1", "--workers", "2",
                 "--out", str(tmp_path / "o")]) == 2
    assert "--workers" in capsys.readouterr().err and not (tmp_path / "o").exists()


def test_report_errors(tmp_path, capsys):
    assert main(["report", str(tmp_path / "missing")]) == 2
    assert "no such directory" in capsys.readouterr().err
    assert main(["report", str(tmp_path)]) == 2
    assert "no run records" in capsys.readouterr().err
    assert main(["bogus"]) == 2  # argparse usage error


# ---------------------------------------------------------------- registry
@pytest.fixture
def clean_registry(monkeypatch):
    monkeypatch.setattr(REG, "_REGISTRY", dict(REG._REGISTRY))


def _run_a(a, seed):
    return {"v": float(a * seed)}


def test_register_a_new_experiment_in_a_few_lines(tmp_path, clean_registry):
    @experiment("toy-scan", "a toy")
    def toy(*, quick, **kw):
        return sweep(_run_a, {"a": [1, 2] if quick else [1, 2, 3]}, seeds=[1, 2], **kw)

    assert get_experiment("toy-scan").run is toy
    assert "toy-scan" in [e.name for e in list_experiments()]
    res = run_experiment("toy-scan", tmp_path / "t", quick=True, workers=1, progress=False)
    assert [r["result"]["v"] for r in res.records] == [1.0, 2.0, 2.0, 4.0]
    assert sorted(p.name for p in res.report_files) == ["summary.csv", "summary.md"]
    assert (tmp_path / "t" / "report" / "summary.md").read_text().count("\n| ") == 3  # header + 2 rows
    # a bare store gets the generic report too
    files = build_report(tmp_path / "t" / "records", report_dir=tmp_path / "r2")
    assert len(files) == 2


def test_register_errors(clean_registry):
    with pytest.raises(ValueError, match="name"):
        register("Bad Name", _run_a, "x")
    with pytest.raises(TypeError, match="run"):
        register("ok-name", 3, "x")
    with pytest.raises(ValueError, match="description"):
        register("ok-name", _run_a, " ")
    with pytest.raises(ValueError, match="already registered"):
        register("lr-scan", _run_a, "another")
    register("lr-scan", _run_a, "another", replace=True)
    assert get_experiment("lr-scan").run is _run_a
    with pytest.raises(ValueError, match="unknown experiment"):
        get_experiment("nope")
