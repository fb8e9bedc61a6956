"""Run a function over a grid of configurations and seeds, on any executor, with records that survive.

:func:`sweep` calls ``fn(**config, seed=s)`` for every configuration of the
grid and every seed. Runs go to a :class:`concurrent.futures.Executor`: local
warm worker processes by default, or any other (a thread pool, the
:class:`~nnopt.experiments.InlineExecutor`, a Dask cluster's
``client.get_executor()``). The calling process receives each result as it
finishes and writes it at once, atomically, to the store (see
:mod:`nnopt.experiments.records`); the workers never touch the store, so a
cluster needs no shared file system.

A rerun of the same sweep reads the store and recomputes only the runs that
are missing or failed. A run that raises becomes a "failed" record with its
error and traceback and does not stop the sweep. Ctrl-C stops the sweep: the
finished records stay, the runs in flight are dropped, and the next call
picks up from there.
"""
from __future__ import annotations

import concurrent.futures as cf
import datetime
import inspect
import json
import multiprocessing
import os
import pickle
import socket
import time
import traceback

from .executors import _check_workers, local_executor
from .grid import canonical_config, check_seeds, expand_grid, run_key
from .progress import SweepProgress, resolve_progress
from .records import Store, check_store_path, encode_result, normalise_record

__all__ = ["sweep"]


_NO_MAIN_GUARD = (
    "sweep() was called while a worker process was importing the main script. "
    "Worker processes import the script that defines the run function, so the code "
    "that starts the sweep must be protected:\n\n"
    "    if __name__ == \"__main__\":\n        sweep(...)\n")


def _run_one(fn, config, seed):
    """Worker side of one run: call ``fn``, catch its exception, time it."""
    start = time.perf_counter()
    base = {"host": socket.gethostname(), "pid": os.getpid()}
    try:
        result = fn(**config, seed=seed)
    except Exception as e:  # noqa: BLE001 - recorded, the sweep goes on
        return {**base, "status": "failed", "result": None,
                "error": f"{type(e).__name__}: {e}", "traceback": traceback.format_exc(),
                "elapsed_s": time.perf_counter() - start}
    return {**base, "status": "ok", "result": result, "error": None, "traceback": None,
            "elapsed_s": time.perf_counter() - start}


def _fn_name(fn):
    target = getattr(fn, "func", fn)  # functools.partial
    mod = getattr(target, "__module__", None) or "?"
    name = getattr(target, "__qualname__", None) or type(target).__name__
    return f"{mod}.{name}"


def _check_callable(fn, configs):
    if not callable(fn):
        raise TypeError(f"fn: expected a callable fn(**config, seed=...), got {type(fn).__name__} {fn!r}")
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return
    seen = set()
    for cfg in configs:
        names = tuple(cfg)
        if names in seen:
            continue
        seen.add(names)
        try:
            sig.bind(**cfg, seed=0)
        except TypeError as e:
            raise TypeError(
                f"fn: {_fn_name(fn)}{sig} cannot be called as fn(**config, seed=...) "
                f"with the grid's parameters {list(names)}: {e}") from None


def _check_picklable(fn):
    try:
        pickle.dumps(fn)
    except Exception as e:  # noqa: BLE001 - any pickling failure
        raise TypeError(
            f"fn: {_fn_name(fn)} cannot be sent to worker processes ({type(e).__name__}: {e}); "
            f"define it at the top level of a module, or pass executor=InlineExecutor() "
            f"to run in this process, or a Dask executor (which uses cloudpickle)") from None


def _now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


class _Run:
    __slots__ = ("config", "canon", "seed", "key")

    def __init__(self, config, canon, seed, key):
        self.config, self.canon, self.seed, self.key = config, canon, seed, key


def _make_record(run, outcome, fn_name, version):
    """JSON record dict and arrays for one finished run."""
    rec = {
        "key": run.key, "config": run.canon, "seed": run.seed,
        "status": outcome["status"], "result": None,
        "error": outcome.get("error"), "traceback": outcome.get("traceback"),
        "elapsed_s": outcome.get("elapsed_s"), "nnopt_version": version, "fn": fn_name,
        "finished": _now(), "host": outcome.get("host"), "pid": outcome.get("pid"),
    }
    arrays = {}
    if outcome["status"] == "ok":
        try:
            rec["result"], arrays = encode_result(outcome["result"])
        except TypeError as e:
            rec.update(status="failed", error=f"TypeError: the result cannot be stored: {e}",
                       traceback=None)
    return rec, arrays


def _executor_failure(exc):
    """Outcome for a run whose future raised (the executor, not fn, failed)."""
    msg = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, cf.process.BrokenProcessPool):
        msg = ("BrokenProcessPool: a worker process died while this run was in flight "
               "(killed, out of memory, or a crash in native code; possibly caused by "
               f"another run in flight at the same time): {exc}")
    if isinstance(exc, RuntimeError) and str(exc) == _NO_MAIN_GUARD:
        msg = "RuntimeError: " + _NO_MAIN_GUARD
    tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return {"status": "failed", "result": None, "error": msg, "traceback": tb,
            "elapsed_s": None, "host": None, "pid": None}


def _terminate(pool):
    """Stop our own worker processes now (Ctrl-C must not wait for long runs)."""
    stop = getattr(pool, "terminate_workers", None)  # Python >= 3.14
    if stop is not None:
        stop()
        return
    for p in list((getattr(pool, "_processes", None) or {}).values()):
        try:
            p.terminate()
        except Exception:  # noqa: BLE001 - already gone
            pass


def sweep(fn, grid, seeds=(0,), *, executor=None, store=None, workers=None, progress="auto"):
    """Run ``fn(**config, seed=s)`` for every configuration of ``grid`` and every seed.

    Parameters
    ----------
    fn : callable
        The run function. It receives the configuration as keyword arguments
        plus ``seed`` and returns its result: a dict of numbers, strings,
        NumPy arrays/scalars (dtypes are kept), lists and dicts of them (a
        non-dict return value ``x`` is stored as ``{"value": x}``). For the
        default local processes it must be picklable (defined at the top
        level of a module).
    grid : dict[str, list] or list[dict]
        A dict of lists, expanded to the Cartesian product of its values, or
        an explicit list of configurations (see
        :func:`~nnopt.experiments.expand_grid`). Values must be storable as
        JSON (numbers, strings, booleans, None, dtypes, lists/dicts of them).
    seeds : sequence of int
        Seeds to run every configuration with, e.g. ``range(5)``.
    executor : concurrent.futures.Executor, optional
        Where the runs execute. None: a pool of warm local worker processes
        (:func:`~nnopt.experiments.local_executor`), shut down at the end.
        Any Executor is used as given and left running, e.g.
        ``dask.distributed.Client(address).get_executor()``.
    store : str or Path, optional
        Directory of run records (created if missing). Finished runs already
        there are reused, missing and failed ones are (re)computed. None:
        keep the records in memory only.
    workers : int, optional
        Number of local worker processes (only with ``executor=None``); all
        usable cores by default.
    progress : "auto", bool, None or callable
        ``callable(SweepProgress)`` called at the start, after every run and
        at the end; ``"auto"`` draws a :class:`~nnopt.experiments.ProgressBar`
        on stderr when it is a terminal; True always; False/None never.

    Returns
    -------
    list[dict]
        One record per run, in grid order (configurations, then seeds), each
        as :func:`~nnopt.experiments.load` returns it: ``config`` (canonical),
        ``seed``, ``status`` ("ok"/"failed"), ``result``, ``error``,
        ``traceback``, ``key``, ``elapsed_s``, ...

    Raises
    ------
    TypeError, ValueError
        For bad arguments (empty grid, a grid value that is not a list, a
        store path that is a file, ``fn`` that does not accept the grid's
        parameters, ...); raised before anything is written.
    KeyboardInterrupt
        Re-raised after stopping the runs in flight; finished records are
        kept.

    Notes
    -----
    Runs are keyed by :func:`~nnopt.experiments.run_key` (configuration,
    seed, nnopt version), not by the function: keep one store per run
    function.

    Examples
    --------
    >>> import numpy as np
    >>> from nnopt.experiments import sweep, InlineExecutor
    >>> def run(lr, seed):
    ...     x = np.random.default_rng(seed).standard_normal(3)
    ...     for _ in range(10):
    ...         x = x - lr * 2 * x          # gradient descent on |x|^2
    ...     return {"final": float(x @ x)}
    >>> recs = sweep(run, {"lr": [0.1, 0.4]}, seeds=[0, 1], executor=InlineExecutor(), progress=False)
    >>> [(r["config"]["lr"], r["seed"], r["status"]) for r in recs]
    [(0.1, 0, 'ok'), (0.1, 1, 'ok'), (0.4, 0, 'ok'), (0.4, 1, 'ok')]
    """
    # ---- validate everything before touching the disk or starting workers
    if getattr(multiprocessing.current_process(), "_inheriting", False):
        raise RuntimeError(_NO_MAIN_GUARD)
    configs = expand_grid(grid)
    seeds = check_seeds(seeds)
    _check_callable(fn, configs)
    if executor is not None:
        if not isinstance(executor, cf.Executor):
            raise TypeError(
                f"executor: expected a concurrent.futures.Executor (e.g. client.get_executor() "
                f"for Dask) or None, got {type(executor).__name__} {executor!r}")
        if workers is not None:
            raise ValueError(
                f"workers: applies only to the local process pool (executor=None); "
                f"got workers={workers!r} together with executor={executor!r}")
    else:
        workers = _check_workers(workers)
        _check_picklable(fn)
    callback = resolve_progress(progress)
    if store is not None:
        check_store_path(store, create=None)  # type and "is a file" errors, creates nothing
    import nnopt  # late: nnopt/__init__ may import this package
    version = nnopt.__version__
    fn_name = _fn_name(fn)
    runs = []
    for cfg in configs:
        canon = canonical_config(cfg)
        for s in seeds:
            runs.append(_Run(cfg, canon, s, run_key(canon, s, version)))

    # ---- reuse finished records
    st = Store(store) if store is not None else None
    records = [None] * len(runs)
    todo = []
    for i, run in enumerate(runs):
        if st is not None:
            try:
                rec = st.read(run.key)
            except ValueError:
                rec = None  # missing or unreadable: recompute
            if rec is not None and rec["status"] == "ok":
                records[i] = rec
                continue
        todo.append(i)
    if st is not None:
        st.remove_stale_temporaries()

    total, reused = len(runs), len(runs) - len(todo)
    failed = 0
    computed = 0
    t0 = time.monotonic()

    def emit(record, final=False):
        if callback is None:
            return
        elapsed = time.monotonic() - t0
        done = reused + computed
        eta = elapsed / computed * (total - done) if computed else None
        callback(SweepProgress(total, done, failed, reused, elapsed, eta, record, final))

    def finish(i, outcome):
        nonlocal failed, computed
        rec, arrays = _make_record(runs[i], outcome, fn_name, version)
        if st is not None:
            st.write(rec, arrays)
        # In-memory copy normalised exactly as a disk round trip would be.
        public = normalise_record(json.loads(json.dumps({**rec, "arrays": None})), arrays)
        records[i] = public
        computed += 1
        failed += public["status"] == "failed"
        emit(public)

    emit(None)
    owned = executor is None
    if not todo:
        emit(None, final=True)
        return records

    n_workers = min(workers, len(todo)) if owned else None
    ex = local_executor(n_workers) if owned else executor
    limit = 2 * n_workers if owned else len(todo)
    queue = list(reversed(todo))
    pending = {}
    dead_pools = 0  # consecutive local pools that broke before any run came back from them
    try:
        while queue or pending:
            broke = False
            while queue and len(pending) < limit:
                i = queue[-1]
                try:
                    fut = ex.submit(_run_one, fn, runs[i].config, runs[i].seed)
                except cf.process.BrokenProcessPool:
                    if not owned:
                        raise
                    broke = True
                    break
                queue.pop()
                pending[fut] = i
            if pending:
                done, _ = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
                for fut in done:
                    i = pending.pop(fut)
                    exc = fut.exception()
                    if exc is None:
                        dead_pools = 0  # this pool works (the run itself may have failed)
                        finish(i, fut.result())
                    elif not isinstance(exc, Exception):
                        raise exc  # KeyboardInterrupt/SystemExit raised inside a task
                    else:
                        broke |= isinstance(exc, cf.process.BrokenProcessPool)
                        finish(i, _executor_failure(exc))
            if broke and owned:
                # Every run in flight fails with the same BrokenProcessPool:
                # record them (failed runs are recomputed by the next sweep)
                # and go on with a fresh pool, unless pools die before
                # running anything, which no fresh pool will fix.
                for fut in list(pending):
                    i = pending.pop(fut)
                    exc = fut.exception()
                    finish(i, fut.result() if exc is None else _executor_failure(exc))
                ex.shutdown(wait=False, cancel_futures=True)
                dead_pools += 1
                if dead_pools >= 2:
                    raise RuntimeError(
                        "sweep: worker processes died twice in a row before returning any run "
                        "(the runs in flight are recorded as failed). If the run function is "
                        "defined in a script, protect the code that starts the sweep with "
                        "`if __name__ == \"__main__\":`; if one run crashes the interpreter, "
                        "run it with executor=InlineExecutor() to see where.")
                ex = local_executor(n_workers)
    except BaseException:
        for fut in pending:
            fut.cancel()
        if owned:
            _terminate(ex)
            ex.shutdown(wait=False, cancel_futures=True)
        raise
    else:
        if owned:
            ex.shutdown(wait=True)
    finally:
        emit(None, final=True)
    return records
