"""Smoke test of the benchmark suite (``benchmarks/suite.py --quick``).

Runs the smallest version of every workload in this process (PyTorch and
JAX are usually absent here and are skipped with a note), and checks that
the table has the nnopt rows and that every implementation agreed with
nnopt before it was timed.  No timed assertions.
"""
from __future__ import annotations

import contextlib
import importlib.util
import io
import math
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


def _load_suite():
    spec = importlib.util.spec_from_file_location("nnopt_benchmark_suite", ROOT / "benchmarks" / "suite.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def suite():
    return _load_suite()


@pytest.fixture(scope="module")
def quick(suite, tmp_path_factory):
    md = tmp_path_factory.mktemp("bench") / "benchmarks.md"
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        report = suite.main(["--quick", "--markdown", str(md)])
    return report, out.getvalue(), md


def test_quick_run_has_nnopt_rows_and_agreement(suite, quick):
    report, printed, md = quick
    keys = [w.key for w in suite.WORKLOADS if w.quick]
    assert {"mlp-tiny", "hvp-tiny", "hessian-tiny", "neural-form", "lenet5-tiny"} <= set(keys)
    assert report["ok"], report["markdown"]
    assert "Agreement: all" in printed
    rows = [ln for ln in printed.splitlines() if ln.startswith("| ") and not ln.startswith("| workload")]
    assert len(rows) == len(keys)
    for key in keys:
        cell = report["table"][key]["cells"]["nnopt"]
        assert cell["median"] is not None and cell["median"] > 0, key
        assert suite.BY_KEY[key].title in printed
    # the hand-written NumPy peer needs nothing but NumPy: it must have run and agreed
    for key in ("mlp-tiny", "mlp-tiny-f32", "neural-form"):
        numpy_cell = report["table"][key]["cells"]["NumPy"]
        assert numpy_cell["median"] is not None, numpy_cell
        assert numpy_cell["rel_err"] <= suite.tolerance(suite.BY_KEY[key].dtype)
        assert report["table"][key]["ratio"] > 0
    text = md.read_text()
    assert suite.MARK_BEGIN in text and suite.MARK_END in text and "Agreement: all" in text


def test_markdown_section_is_replaced_in_place(suite, tmp_path):
    path = tmp_path / "bench.md"
    path.write_text("# Title\n\nprose before\n")
    suite.write_markdown(path, "first table\n")
    suite.write_markdown(path, "second table\n")
    text = path.read_text()
    assert text.startswith("# Title\n\nprose before\n")
    assert text.count(suite.MARK_BEGIN) == 1 and "second table" in text and "first table" not in text
    path.write_text(text + "\nprose after\n")
    suite.write_markdown(path, "third table\n")
    text = path.read_text()
    assert "prose after" in text and "third table" in text and "second table" not in text
    suite.write_markdown(path, "third table\n")
    assert path.read_text() == text  # rewriting the same section changes nothing


def test_rel_error_and_tolerances(suite):
    g = np.random.default_rng(0).normal(size=50)
    assert suite.rel_error({"grad": g.copy()}, {"grad": g}) == 0.0
    err = suite.rel_error({"grad": g * (1 + 1e-8)}, {"grad": g})
    assert math.isclose(err, 1e-8, rel_tol=1e-6)
    assert err > suite.tolerance(np.float64)
    assert suite.rel_error({"grad": np.full(50, np.nan)}, {"grad": g}) == math.inf
    assert suite.tolerance(np.float32) == 1e3 * np.finfo(np.float32).eps
    with pytest.raises(ValueError, match="shape"):
        suite.rel_error({"grad": g[:10]}, {"grad": g})
    with pytest.raises(ValueError, match="lacks 'hvp'"):
        suite.rel_error({"grad": g}, {"hvp": g})


def test_a_disagreeing_peer_is_not_timed_and_fails_the_run(suite, monkeypatch):
    """A peer whose gradient is off by 1e-6 relative must be caught by the check."""

    class WrongPeer:
        @staticmethod
        def set_threads(n):
            pass

        @staticmethod
        def build(problem, **options):
            from peers import Impl, numpy_impl

            right = numpy_impl.build(problem)
            return Impl(right.run, lambda out: {"value": out[0], "grad": out[1] * (1 + 1e-6)})

    monkeypatch.setattr(suite, "_load_peer", lambda column, notes: WrongPeer if column == "NumPy" else None)
    run = suite.run_workload("mlp-tiny", quick=True)
    rec = run["impls"]["NumPy"]
    assert rec["status"].startswith("disagrees") and "median" not in rec
    assert run["impls"]["nnopt"]["status"] == "ok"
    passed, total, failures = suite.agreement([run])
    assert total == passed + 1 and "NumPy" in failures[0]


def test_missing_nnopt_part_skips_the_row_and_failures_are_reported(suite, monkeypatch):
    """A workload whose nnopt part cannot be imported is a note, not a failure;
    an implementation that fails on a later call is reported, the others timed."""

    def no_zoo(w, seed=0):
        raise ImportError("No module named 'nnopt.nn.zoo'")

    with monkeypatch.context() as m:
        m.setattr(suite, "build_problem", no_zoo)
        run = suite.run_workload("lenet5-tiny", quick=True)
    assert run["impls"] == {} and "skipped" in run["notes"][0]
    assert suite.agreement([run]) == (0, 0, [])

    calls = {"n": 0}

    def flaky():
        calls["n"] += 1
        if calls["n"] > 1:
            raise RuntimeError("boom")

    timings = suite.measure({"ok": lambda: None, "flaky": flaky}, {"ok": 0.0, "flaky": 0.0}, 3, 1e-4)
    assert timings["flaky"].startswith("error while timing: RuntimeError: boom")
    wall, cpu, samples = timings["ok"]
    assert len(samples) == 3 and wall >= 0 and cpu >= 0


def test_bad_arguments_give_clear_errors(suite):
    with pytest.raises(ValueError, match="--only: no workload matches 'nope'.*mlp-tiny"):
        suite.select("nope", quick=False)
    with pytest.raises(ValueError, match="--threads must be .* got '1,x'"):
        suite.parse_threads("1,x")
    with pytest.raises(ValueError, match="--threads"):
        suite.parse_threads("0")
    assert suite.parse_threads("2,1,2") == [1, 2]
    assert suite.parse_threads("inherit") is None
    assert suite.select("mlp-large", quick=False) == ["mlp-large"]  # an exact key wins
    assert suite.select("large", quick=False) == ["mlp-large", "mlp-large-f32"]
    assert [w for w in suite.select(None, quick=False) if not suite.BY_KEY[w].full] == []


def test_problem_is_the_same_for_every_library(suite):
    """Parameters split per layer are views of one theta laid out as nnopt's."""
    problem, net = suite.build_problem(suite.BY_KEY["lenet5-tiny"])
    assert problem.theta.size == net.n_params
    assert [p.shape for p in problem.params] == [s.shape for s in net.layout]
    np.testing.assert_array_equal(np.concatenate([p.ravel() for p in problem.params]), problem.theta)
    again, _ = suite.build_problem(suite.BY_KEY["lenet5-tiny"])
    np.testing.assert_array_equal(again.X, problem.X)
    p32, _ = suite.build_problem(suite.BY_KEY["mlp-tiny-f32"])
    assert p32.X.dtype == p32.theta.dtype == p32.Y.dtype == np.float32
