"""The ``nnopt`` command: run registered experiments and rebuild their reports.

::

    nnopt list
    nnopt run EXPERIMENT [--quick] [--out DIR] [--workers N] [--scheduler ADDRESS]
    nnopt report DIR [--report-dir DIR]

``run`` sweeps the experiment into ``DIR`` (default ``results/EXPERIMENT``,
``results/EXPERIMENT-quick`` with ``--quick``) on local worker processes, or
on a Dask cluster with ``--scheduler tcp://host:8786``, then writes the
report under ``DIR/report``. Rerunning the same command resumes: finished runs
are reused, missing and failed ones are computed. Exit status: 0 when every
run succeeded, 1 when some runs failed (their errors are in the records and
the report is still written), 2 for usage errors, 130 on Ctrl-C.
"""
from __future__ import annotations

import argparse
import importlib
import sys

__all__ = ["main"]


def _parser():
    p = argparse.ArgumentParser(
        prog="nnopt", description="Numerical experiments on neural-network optimization.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    lst = sub.add_parser("list", help="list the registered experiments")
    lst.add_argument("--import", dest="imports", action="append", default=[], metavar="MODULE",
                     help="import MODULE first (it may register experiments); repeatable")

    run = sub.add_parser("run", help="run an experiment and write its report")
    run.add_argument("experiment", help="experiment name (see 'nnopt list')")
    run.add_argument("--quick", action="store_true", help="small version (smoke test, CI)")
    run.add_argument("--out", metavar="DIR", help="experiment directory (default results/NAME[-quick])")
    run.add_argument("--workers", type=int, metavar="N",
                     help="local worker processes (default: all cores)")
    run.add_argument("--scheduler", metavar="ADDRESS",
                     help="run on a Dask cluster: scheduler address, e.g. tcp://host:8786")
    run.add_argument("--connect-timeout", type=float, default=10.0, metavar="SECONDS",
                     help="seconds to wait for the Dask scheduler (default 10)")
    run.add_argument("--no-progress", action="store_true", help="no progress bar")
    run.add_argument("--import", dest="imports", action="append", default=[], metavar="MODULE",
                     help="import MODULE first (it may register experiments); repeatable")

    rep = sub.add_parser("report", help="rebuild tables and figures from a results directory")
    rep.add_argument("dir", metavar="DIR", help="experiment directory or sweep store")
    rep.add_argument("--report-dir", metavar="DIR", help="where to write (default DIR/report)")
    rep.add_argument("--import", dest="imports", action="append", default=[], metavar="MODULE",
                     help="import MODULE first (it may register experiments); repeatable")
    return p


class _UsageError(Exception):
    """Bad command-line input: reported in one line, exit status 2."""


_USAGE_ERRORS = (ValueError, TypeError, FileNotFoundError, ConnectionError, ImportError)


def _err(msg):
    print(f"nnopt: error: {msg}", file=sys.stderr)


def _checked(fn, *args, **kwargs):
    """Call a validation step; turn its clear errors into a usage error (no traceback)."""
    try:
        return fn(*args, **kwargs)
    except _USAGE_ERRORS as e:
        raise _UsageError(str(e)) from e


def _import_all(modules):
    for mod in modules:
        _checked(importlib.import_module, mod)


def _cmd_list(args):
    from .experiments import discover, list_experiments
    _import_all(args.imports)
    for mod, err in discover():
        print(f"nnopt: warning: could not import {mod}: {err}", file=sys.stderr)
    exps = list_experiments()
    if not exps:
        print("no experiments registered")
        return 0
    width = max(len(e.name) for e in exps)
    for e in exps:
        print(f"{e.name:<{width}}  {e.description}")
    return 0


def _cmd_run(args):
    from .experiments import connect, get_experiment, run_experiment
    from .experiments.runner import check_out, default_out
    _import_all(args.imports)
    exp = _checked(get_experiment, args.experiment)  # before anything else
    if args.workers is not None and args.scheduler is not None:
        raise _UsageError("--workers applies to local processes; the Dask cluster decides its "
                          "own workers (drop --workers or --scheduler)")
    if args.workers is not None and args.workers < 1:
        raise _UsageError(f"--workers: expected a positive number, got {args.workers}")
    out = args.out if args.out is not None else default_out(exp.name, args.quick)
    _checked(check_out, out, exp.name, args.quick)  # before connecting or writing anything
    client = None
    executor = None
    if args.scheduler is not None:
        client = _checked(connect, args.scheduler, timeout=args.connect_timeout)
        executor = client.get_executor()
    try:
        res = run_experiment(exp.name, out, quick=args.quick, executor=executor,
                             workers=args.workers, progress=False if args.no_progress else "auto")
    finally:
        if client is not None:
            client.close()
    failed = [r for r in res.records if r["status"] == "failed"]
    print(f"{exp.name}: {len(res.records)} runs, {len(res.records) - len(failed)} ok, "
          f"{len(failed)} failed; records in {res.out / 'records'}")
    for r in failed[:5]:
        print(f"  failed: config={r['config']} seed={r['seed']}: {r['error']}")
    if len(failed) > 5:
        print(f"  ... and {len(failed) - 5} more (see the records)")
    for f in res.report_files:
        print(f"wrote {f}")
    for f in res.report_files:  # the tables themselves, on the terminal
        if str(f).endswith(".md"):
            print()
            print(open(f, encoding="utf-8").read().rstrip())
    return 1 if failed else 0


def _cmd_report(args):
    from .experiments import build_report
    _import_all(args.imports)
    from .experiments.runner import check_report_source
    _checked(check_report_source, args.dir, args.report_dir)
    files = build_report(args.dir, report_dir=args.report_dir)
    for f in files:
        print(f"wrote {f}")
    return 0


def main(argv=None):
    """Entry point of the ``nnopt`` command.

    Parameters
    ----------
    argv : list[str], optional
        Arguments without the program name; ``sys.argv[1:]`` by default.

    Returns
    -------
    int
        Exit status (0 ok, 1 some runs failed, 2 usage error, 130 interrupted).
    """
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # argparse already printed the message
        return int(e.code) if isinstance(e.code, int) else 2
    try:
        if args.command == "list":
            return _cmd_list(args)
        if args.command == "run":
            return _cmd_run(args)
        return _cmd_report(args)
    except KeyboardInterrupt:
        _err("interrupted; finished runs are kept, rerun the same command to resume")
        return 130
    except _UsageError as e:
        _err(str(e))
        return 2


if __name__ == "__main__":  # python -m nnopt.cli
    sys.exit(main())
