"""sweep(): executors, reruns, failures, dtypes, bad input."""
import concurrent.futures as cf
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

import xp_helpers as H
from nnopt.experiments import InlineExecutor, load, sweep
from nnopt.experiments.lr_scan import gd_least_squares

HERE = Path(__file__).resolve().parent
LS_GRID = {"lr": [0.5, 1.9], "dtype": ["float32", "float64"], "n": [24], "d": [6],
           "cond": [10.0], "iters": [30]}


def _same(a, b):
    """Records equal in everything a run determines (not timing, host or pid)."""
    assert len(a) == len(b)
    for ra, rb in zip(a, b):
        assert (ra["key"], ra["config"], ra["seed"], ra["status"]) == \
               (rb["key"], rb["config"], rb["seed"], rb["status"])
        assert ra["result"].keys() == rb["result"].keys()
        for k, va in ra["result"].items():
            vb = rb["result"][k]
            assert type(va) is type(vb), k
            if isinstance(va, np.ndarray):
                assert va.dtype == vb.dtype and np.array_equal(va, vb), k
            else:
                assert va == vb, k


def test_inline_sweep_records_in_grid_order():
    recs = sweep(H.quad_run, {"lr": [0.1, 0.5], "dtype": ["float32"]}, seeds=[3, 1],
                 executor=InlineExecutor(), progress=False)
    assert [(r["config"]["lr"], r["seed"]) for r in recs] == [(0.1, 3), (0.1, 1), (0.5, 3), (0.5, 1)]
    assert all(r["status"] == "ok" and r["error"] is None for r in recs)
    # the result is what the function returned
    np.testing.assert_array_equal(recs[0]["result"]["loss"], H.quad_run(0.1, "float32", 3)["loss"])


def test_local_processes_and_dask_give_identical_records(tmp_path):
    distributed = pytest.importorskip("dask.distributed")
    local = sweep(gd_least_squares, LS_GRID, seeds=[0, 1], store=tmp_path / "local",
                  workers=2, progress=False)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        remote = sweep(gd_least_squares, LS_GRID, seeds=[0, 1], store=tmp_path / "dask",
                       executor=client.get_executor(), progress=False)
    _same(local, remote)
    _same(load(tmp_path / "local"), load(tmp_path / "dask"))
    _same(local, sorted(load(tmp_path / "local"), key=lambda r: [x["key"] for x in local].index(r["key"])))
    assert sum(r["result"]["status"] == "completed" for r in local) == len(local)


def test_local_workers_are_reused(tmp_path):
    recs = sweep(H.pid_run, {"a": list(range(12))}, seeds=[0], workers=2, progress=False)
    pids = {r["result"]["pid"] for r in recs}
    assert len(pids) <= 2 and os.getpid() not in pids


def test_fp32_and_fp64_records_keep_their_dtypes(tmp_path):
    sweep(gd_least_squares, LS_GRID, seeds=[0], store=tmp_path, executor=InlineExecutor(),
          progress=False)
    recs = load(tmp_path)
    assert len(recs) == 4
    for r in recs:
        dt = np.dtype(r["config"]["dtype"])
        assert r["result"]["loss"].dtype == dt
        assert type(r["result"]["final_loss"]) is dt.type
        assert type(r["result"]["f_star"]) is float


def test_failing_run_is_recorded_and_others_complete(tmp_path):
    recs = sweep(H.failing_run, {"a": [1, 2, 3]}, seeds=[0, 1], store=tmp_path, workers=2,
                 progress=False)
    bad = [r for r in recs if r["status"] == "failed"]
    assert [(r["config"]["a"], r["seed"]) for r in bad] == [(2, 0), (2, 1)]
    assert bad[0]["error"] == "ValueError: bad a=2 at seed 0"
    assert "Traceback" in bad[0]["traceback"] and "failing_run" in bad[0]["traceback"]
    assert bad[0]["result"] is None
    ok = [r for r in load(tmp_path) if r["status"] == "ok"]
    assert sorted(r["result"]["value"] for r in ok) == [1.0, 2.0, 3.0, 4.0]


def test_rerun_skips_finished_and_recomputes_failed_and_missing(tmp_path):
    H.CALLS.clear()
    grid = {"a": [1, 2]}
    sweep(H.failing_run, grid, seeds=[0, 1], store=tmp_path, executor=InlineExecutor(), progress=False)
    assert len(load(tmp_path, status="failed")) == 2
    # same configurations and seeds, plus one new seed; runs keyed by config + seed
    recs = sweep(H.counting_run, grid, seeds=[0, 1, 2], store=tmp_path, executor=InlineExecutor(),
                 progress=False)
    assert sorted(H.CALLS) == [(1, 2), (2, 0), (2, 1), (2, 2)]
    assert all(r["status"] == "ok" for r in recs)
    assert [r["result"]["value"] for r in recs] == [1.0, 2.0, 12.0, 20.0, 21.0, 22.0]
    H.CALLS.clear()
    sweep(H.counting_run, grid, seeds=[0, 1, 2], store=tmp_path, executor=InlineExecutor(), progress=False)
    assert H.CALLS == []
    assert len(load(tmp_path)) == 6


def test_unreadable_record_is_recomputed(tmp_path):
    sweep(H.counting_run, {"a": [1]}, seeds=[0], store=tmp_path, executor=InlineExecutor(), progress=False)
    (f,) = tmp_path.glob("*.json")
    f.write_text("{truncated")
    H.CALLS.clear()
    recs = sweep(H.counting_run, {"a": [1]}, seeds=[0], store=tmp_path, executor=InlineExecutor(),
                 progress=False)
    assert H.CALLS == [(1, 0)] and recs[0]["status"] == "ok" and load(tmp_path)[0]["status"] == "ok"


def test_thread_pool_executor_and_lambda():
    with cf.ThreadPoolExecutor(2) as ex:
        recs = sweep(lambda a, seed: {"v": a * seed}, {"a": [1, 2]}, seeds=[2, 3], executor=ex,
                     progress=False)
    assert [r["result"]["v"] for r in recs] == [2, 3, 4, 6]


def test_dead_worker_is_recorded_failed_and_sweep_continues(tmp_path):
    recs = sweep(H.die_run, {"a": [0, 1, 2, 3]}, seeds=[0], store=tmp_path, workers=1, progress=False)
    by_a = {r["config"]["a"]: r for r in recs}
    assert by_a[1]["status"] == "failed" and "BrokenProcessPool" in by_a[1]["error"]
    assert by_a[3]["status"] == "ok" and by_a[3]["result"]["value"] == 3
    assert len(load(tmp_path)) == 4


def test_progress_events():
    events = []
    sweep(H.failing_run, {"a": [1, 2, 3]}, seeds=[0], executor=InlineExecutor(), progress=events.append)
    assert events[0].done == 0 and events[0].record is None and not events[0].final
    assert [e.done for e in events[1:-1]] == [1, 2, 3]
    last = events[-1]
    assert last.final and last.total == 3 and last.done == 3 and last.failed == 1
    assert events[1].eta_s is not None and events[1].eta_s >= 0


def test_unpicklable_function_for_local_processes_is_a_clear_error(tmp_path):
    with pytest.raises(TypeError, match="InlineExecutor"):
        sweep(lambda a, seed: a, {"a": [1]}, store=tmp_path / "s", progress=False)
    assert not (tmp_path / "s").exists()


@pytest.mark.parametrize("kwargs, exc, words", [
    (dict(grid={}), ValueError, "grid"),
    (dict(grid={"a": 1}), TypeError, "grid['a']"),
    (dict(grid={"a": [1]}, seeds=[]), ValueError, "seeds"),
    (dict(grid={"b": [1]}), TypeError, "fn:"),
    (dict(grid={"a": [1]}, workers=0), ValueError, "workers"),
    (dict(grid={"a": [1]}, executor="dask"), TypeError, "executor"),
    (dict(grid={"a": [1]}, executor=InlineExecutor(), workers=2), ValueError, "workers"),
    (dict(grid={"a": [1]}, progress="yes"), ValueError, "progress"),
])
def test_bad_input_raises_before_writing(tmp_path, kwargs, exc, words):
    store = tmp_path / "store"
    with pytest.raises(exc) as ei:
        sweep(H.counting_run, store=store, **{"seeds": [0], **kwargs})
    assert words in str(ei.value)
    assert not store.exists()


def test_store_that_is_a_file(tmp_path):
    f = tmp_path / "store"
    f.write_text("keep me")
    with pytest.raises(ValueError, match="is a file"):
        sweep(H.counting_run, {"a": [1]}, store=f, executor=InlineExecutor(), progress=False)
    assert f.read_text() == "keep me"


def test_bad_input_on_existing_store_loses_nothing(tmp_path):
    sweep(H.counting_run, {"a": [1, 2]}, seeds=[0], store=tmp_path, executor=InlineExecutor(), progress=False)
    before = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(TypeError):
        sweep(H.counting_run, {"a": 3}, store=tmp_path, executor=InlineExecutor(), progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == before and len(load(tmp_path)) == 2


_SCRIPT = """
import signal
import sys
# Ctrl-C raises KeyboardInterrupt as in a terminal, also when the test runs
# with SIGINT ignored (started in the background by a non-interactive shell,
# whose children inherit the ignored signal and Python then installs no handler)
signal.signal(signal.SIGINT, signal.default_int_handler)
sys.path.insert(0, {here!r})
import xp_helpers as H
from nnopt.experiments import sweep
if __name__ == "__main__":
    sweep(H.slow_run, {{"a": list(range(40))}}, seeds=[0], store={store!r}, workers=1, progress=False)
"""


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals and process groups")
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT])
def test_interrupted_sweep_resumes_with_every_run_once(tmp_path, sig, monkeypatch):
    store = tmp_path / "store"
    script = tmp_path / "run_sweep.py"
    script.write_text(textwrap.dedent(_SCRIPT.format(here=str(HERE), store=str(store))))
    # 0.25 s per run: 40 runs take 10 s, so that a test process stalled for a few
    # seconds on a loaded machine still finds the sweep running when it interrupts it
    env = dict(os.environ, XP_SLEEP="0.25")
    proc = subprocess.Popen([sys.executable, str(script)], start_new_session=True, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if store.is_dir() and len(list(store.glob("*.json"))) >= 5:
                break
            time.sleep(0.05)
        assert proc.poll() is None, proc.stderr.read().decode()
        os.killpg(proc.pid, sig)  # the sweep, its forkserver and its worker
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    if sig == signal.SIGINT:
        assert proc.returncode != 0 and b"KeyboardInterrupt" in proc.stderr.read()
    proc.stderr.close()
    first = {r["key"]: r for r in load(store)}  # every record on disk is complete
    assert 5 <= len(first) < 40
    monkeypatch.setattr(H, "SLEEP", 0.0)
    recs = sweep(H.slow_run, {"a": list(range(40))}, seeds=[0], store=store,
                 executor=InlineExecutor(), progress=False)
    final = load(store)
    assert len(final) == 40 and len({r["key"] for r in final}) == 40
    assert sorted(r["config"]["a"] for r in final) == list(range(40))
    assert all(r["status"] == "ok" and r["result"]["value"].dtype == np.float32 for r in final)
    # finished runs were reused, not recomputed: they keep the killed process's worker pid
    for r in recs:
        if r["key"] in first:
            assert r["result"]["pid"] == first[r["key"]]["result"]["pid"] != os.getpid()
    assert sum(r["result"]["pid"] == os.getpid() for r in recs) == 40 - len(first)


def test_pools_that_keep_dying_stop_the_sweep_with_advice(tmp_path):
    with pytest.raises(RuntimeError, match="died twice in a row"):
        sweep(H.always_die, {"a": list(range(8))}, seeds=[0], store=tmp_path, workers=1, progress=False)
    recs = load(tmp_path)
    assert 2 <= len(recs) < 8 and all(r["status"] == "failed" for r in recs)


def test_sweep_inside_a_bootstrapping_worker_explains_the_main_guard(monkeypatch):
    import multiprocessing
    monkeypatch.setattr(multiprocessing.current_process(), "_inheriting", True, raising=False)
    with pytest.raises(RuntimeError, match='if __name__ == "__main__":'):
        sweep(H.counting_run, {"a": [1]}, executor=InlineExecutor(), progress=False)
