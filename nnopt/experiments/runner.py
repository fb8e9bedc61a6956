"""Run a registered experiment into a directory, and rebuild its report.

An experiment directory holds::

    DIR/experiment.json   name, quick flag, defining module, nnopt version
    DIR/records/          the run records (a store, see nnopt.experiments.records)
    DIR/report/           tables (.md, .csv) and figures (.png)

:func:`run_experiment` is what ``nnopt run`` calls and
:func:`build_report` what ``nnopt report`` calls.
"""
from __future__ import annotations

import datetime
import importlib
import json
from pathlib import Path
from typing import NamedTuple

from .records import atomic_write_text, load
from .registry import get_experiment

__all__ = ["run_experiment", "build_report", "ExperimentRun", "default_out"]

_META = "experiment.json"


class ExperimentRun(NamedTuple):
    """What :func:`run_experiment` returns."""

    name: str
    out: Path
    records: list
    report_files: list


def default_out(name, quick=False):
    """Default directory of an experiment: ``results/NAME`` (``results/NAME-quick`` for quick runs)."""
    return Path("results") / (name + ("-quick" if quick else ""))


def _read_meta(out):
    path = Path(out) / _META
    try:
        with open(path, encoding="utf-8") as f:
            meta = json.load(f)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as e:
        raise ValueError(f"out: cannot read {str(path)!r}: {e}") from e
    if not isinstance(meta, dict) or "experiment" not in meta:
        raise ValueError(f"out: {str(path)!r} is not an nnopt experiment description")
    return meta


def check_out(out, name, quick):
    """Validate an experiment directory for ``name``; create nothing. Returns the Path."""
    if not isinstance(out, (str, Path)):
        raise TypeError(f"out: expected a directory path, got {type(out).__name__} {out!r}")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"out: {str(out)!r} is a file, expected a directory")
    if out.is_dir():
        meta = _read_meta(out)
        if meta is None:
            if any(out.iterdir()):
                raise ValueError(
                    f"out: {str(out)!r} exists, is not empty and holds no {_META}; "
                    f"choose a new or empty directory")
        else:
            if meta["experiment"] != name:
                raise ValueError(f"out: {str(out)!r} holds experiment {meta['experiment']!r}, "
                                 f"not {name!r}; choose another directory")
            if bool(meta.get("quick")) != bool(quick):
                kind = "a quick" if meta.get("quick") else "a full"
                raise ValueError(f"out: {str(out)!r} holds {kind} run of {name!r}; "
                                 f"{'drop' if meta.get('quick') else 'add'} --quick or choose another directory")
    return out


def run_experiment(name, out=None, *, quick=False, executor=None, workers=None, progress="auto"):
    """Run the registered experiment ``name`` into ``out`` and write its report.

    Parameters
    ----------
    name : str
        A registered experiment (see :func:`~nnopt.experiments.list_experiments`).
    out : str or Path, optional
        Experiment directory; default :func:`default_out`. A rerun into the
        same directory reuses the finished runs.
    quick : bool
        Run the experiment's small version.
    executor, workers, progress
        Passed to the experiment's sweeps (see :func:`~nnopt.experiments.sweep`).

    Returns
    -------
    ExperimentRun
        ``(name, out, records, report_files)``; ``records`` are those the
        run returned, the report is built from every record in the store.

    Raises
    ------
    ValueError
        Unknown experiment, or ``out`` is a file, a non-empty foreign
        directory, or holds another experiment (or the other of quick/full).
        Nothing is written in these cases.
    """
    exp = get_experiment(name)
    out = check_out(default_out(name, quick) if out is None else out, name, quick)
    out.mkdir(parents=True, exist_ok=True)
    import nnopt
    now = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    meta = _read_meta(out) or {"experiment": name, "quick": bool(quick), "created": now}
    meta.update(module=exp.module, nnopt_version=nnopt.__version__, updated=now)
    atomic_write_text(out / _META, json.dumps(meta, indent=1) + "\n")
    records = exp.run(quick=bool(quick), store=out / "records", executor=executor,
                      workers=workers, progress=progress)
    files = build_report(out)
    return ExperimentRun(name, out, list(records) if records is not None else [], files)


def check_report_source(path, report_dir=None):
    """Validate the arguments of :func:`build_report`; return ``(path, store, meta, report_dir)``."""
    if not isinstance(path, (str, Path)):
        raise TypeError(f"path: expected a directory path, got {type(path).__name__} {path!r}")
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"path: no such directory {str(path)!r}")
    if not path.is_dir():
        raise ValueError(f"path: {str(path)!r} is a file, expected an experiment or store directory")
    meta = _read_meta(path)
    if meta is not None:
        store = path / "records"
        if not store.is_dir():
            raise ValueError(f"path: {str(path)!r} has no records/ directory yet; run the experiment first")
    else:
        store = path / "records" if (path / "records").is_dir() else path
        if not any(store.glob("*.json")):
            raise ValueError(f"path: {str(path)!r} holds no run records (no *.json) and no "
                             f"{_META}; expected an experiment directory or a sweep store")
    out = Path(report_dir) if report_dir is not None else path / "report"
    if out.exists() and not out.is_dir():
        raise ValueError(f"report_dir: {str(out)!r} is a file, expected a directory")
    return path, store, meta, out


def build_report(path, report_dir=None, imports=()):
    """(Re)build the report of an experiment directory or of a bare store.

    Parameters
    ----------
    path : str or Path
        An experiment directory (with ``experiment.json``) or a store
        directory written by :func:`~nnopt.experiments.sweep`.
    report_dir : str or Path, optional
        Where to write; default ``DIR/report``.
    imports : sequence of str
        Modules to import first (they may register the experiment).

    Returns
    -------
    list[Path]
        The files written. The experiment's own report function is used
        when it is registered (its defining module is imported if needed),
        otherwise the generic :func:`~nnopt.experiments.report`.
    """
    from .registry import _REGISTRY, discover
    from .report import report as generic_report
    for mod in imports:
        importlib.import_module(mod)
    path, store, meta, out = check_report_source(path, report_dir)
    report_fn, title = None, path.name
    if meta is not None:
        discover()
        name = meta["experiment"]
        if name not in _REGISTRY and meta.get("module"):
            try:
                importlib.import_module(meta["module"])
            except ImportError:
                pass
        exp = _REGISTRY.get(name)
        report_fn = exp.report if exp is not None else None
        title = name
    records = load(store)
    out.mkdir(parents=True, exist_ok=True)
    if report_fn is None:
        return list(generic_report(records, out, title=title))
    return list(report_fn(records, out))
