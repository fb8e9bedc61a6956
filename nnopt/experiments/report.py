"""Tables from run records: aggregation over seeds, Markdown and CSV writers.

:func:`aggregate` groups records by configuration and reduces every scalar
result over the seeds to ``mean``, ``std`` (sample, ddof=1; NaN for one
seed), ``min``, ``max`` and ``median``, giving one flat row (a dict) per
group. Non-finite values are kept (a diverged run makes the mean ``inf`` or
``nan``: the table shows it rather than hiding it). Statistics are computed
in float64 from the stored values: reporting, not the experiment, so this
does not change what a float32 run computed. String results are summarised
as counts (``"converged:3 diverged:2"``).

:func:`format_markdown`, :func:`write_markdown` and :func:`write_csv` turn
rows into tables; :func:`report` writes the generic report of a store (the
table and a curve figure for every 1-D array result), which is what
``nnopt report DIR`` does for stores with no experiment-specific report.
"""
from __future__ import annotations

import csv
import io
import math
from collections import Counter
from pathlib import Path

import numpy as np

from .grid import natural_sort_key
from .records import atomic_write_text

__all__ = ["aggregate", "format_markdown", "write_markdown", "write_csv", "report", "STATS"]

#: Statistics computed by :func:`aggregate` for every numeric scalar result.
STATS = ("mean", "std", "min", "max", "median")


def _is_number(v):
    if isinstance(v, (bool, np.bool_)):
        return True
    if isinstance(v, (int, float, np.integer, np.floating)):
        return True
    return isinstance(v, np.ndarray) and v.ndim == 0 and v.dtype.kind in "biuf"


def _check_records(records):
    if isinstance(records, dict) or not hasattr(records, "__iter__"):
        raise TypeError(f"records: expected a list of run records (from load() or sweep()), "
                        f"got {type(records).__name__}")
    records = list(records)
    for i, r in enumerate(records):
        if not isinstance(r, dict) or not {"config", "seed", "status"} <= set(r):
            raise TypeError(f"records[{i}]: expected a run record dict with 'config', 'seed' "
                            f"and 'status', got {type(r).__name__}")
    return records


def _group_key(config, by):
    if by is None:
        return tuple(sorted((k, repr(v)) for k, v in config.items())), dict(config)
    sub = {k: config.get(k) for k in by}
    return tuple((k, repr(v)) for k, v in sub.items()), sub


def group_records(records, by=None):
    """Group records by their configuration (or by the config keys in ``by``).

    Returns
    -------
    list[tuple[dict, list[dict]]]
        ``(group_config, records)`` pairs, groups in natural order of their
        configuration.
    """
    records = _check_records(records)
    if by is not None:
        if isinstance(by, str):
            by = [by]
        by = list(by)
        known = set().union(*(r["config"] for r in records)) if records else set()
        missing = [k for k in by if k not in known]
        if missing:
            raise ValueError(f"by: {missing} are not configuration keys; available: {sorted(known)}")
    groups = {}
    for r in records:
        key, cfg = _group_key(r["config"], by)
        groups.setdefault(key, (cfg, []))[1].append(r)
    return sorted(groups.values(), key=lambda g: natural_sort_key(g[0]))


def aggregate(records, by=None, keys=None):
    """Reduce scalar results over seeds: one row per configuration.

    Parameters
    ----------
    records : list[dict]
        Run records, from :func:`~nnopt.experiments.load` or
        :func:`~nnopt.experiments.sweep`.
    by : list[str], optional
        Configuration keys to group by; runs that differ in other keys are
        pooled. Default: the full configuration (so only seeds are pooled).
    keys : list[str], optional
        Result keys to reduce; default: every top-level numeric scalar
        (Python or NumPy number, bool, 0-d array) and string in the results.

    Returns
    -------
    list[dict]
        Flat rows: the group's configuration keys, ``n`` (runs), ``n_ok``,
        ``n_failed``, then ``KEY.mean``, ``KEY.std``, ``KEY.min``,
        ``KEY.max``, ``KEY.median`` for every numeric key (over the runs with
        status "ok"), and ``KEY`` (value counts) for every string key.

    Examples
    --------
    >>> from nnopt.experiments import aggregate
    >>> recs = [{"config": {"lr": 0.1}, "seed": s, "status": "ok",
    ...          "result": {"loss": float(s)}} for s in range(3)]
    >>> row = aggregate(recs)[0]
    >>> row["lr"], row["n"], row["loss.mean"], row["loss.max"]
    (0.1, 3, 1.0, 2.0)
    """
    groups = group_records(records, by)
    if keys is not None:
        if isinstance(keys, str):
            keys = [keys]
        keys = list(keys)
    rows = []
    for cfg, recs in groups:
        ok = [r for r in recs if r["status"] == "ok"]
        row = dict(cfg)
        row.update(n=len(recs), n_ok=len(ok), n_failed=len(recs) - len(ok))
        names = keys
        if names is None:
            names = []
            for r in ok:
                for k, v in (r.get("result") or {}).items():
                    if k not in names and (_is_number(v) or isinstance(v, str)):
                        names.append(k)
        for k in names:
            vals = [(r.get("result") or {}).get(k) for r in ok]
            vals = [v for v in vals if v is not None]
            if vals and all(isinstance(v, str) for v in vals):
                counts = Counter(vals)
                row[k] = " ".join(f"{name}:{c}" for name, c in sorted(counts.items()))
                continue
            nums = [v for v in vals if _is_number(v)]
            if len(nums) != len(vals):
                bad = next(v for v in vals if not _is_number(v))
                raise TypeError(f"keys: result {k!r} is not a scalar number in every run "
                                f"(found {type(bad).__name__})")
            a = np.asarray([float(v) for v in nums], dtype=np.float64)
            if a.size == 0:
                stats = dict.fromkeys(STATS, math.nan)
            else:
                with np.errstate(invalid="ignore", over="ignore"):
                    stats = {"mean": float(np.mean(a)),
                             "std": float(np.std(a, ddof=1)) if a.size > 1 else math.nan,
                             "min": float(np.min(a)), "max": float(np.max(a)),
                             "median": float(np.median(a))}
            for s in STATS:
                row[f"{k}.{s}"] = stats[s]
        rows.append(row)
    return rows


def _columns(rows, columns):
    if columns is not None:
        return list(columns)
    cols = []
    for r in rows:
        for k in r:
            if k not in cols:
                cols.append(k)
    return cols


def _fmt(v, precision):
    if v is None:
        return ""
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, (float, np.floating)):
        return f"{float(v):.{precision}g}"
    return str(v)


def format_markdown(rows, columns=None, precision=4):
    """Return ``rows`` (list of dicts) as a GitHub-flavoured Markdown table.

    Parameters
    ----------
    rows : list[dict]
        E.g. from :func:`aggregate`.
    columns : list[str], optional
        Columns and their order; default: every key, in order of appearance.
    precision : int
        Significant digits for floats.

    Returns
    -------
    str
    """
    rows = list(rows)
    cols = _columns(rows, columns)
    if not cols:
        return "(no runs)\n"

    def esc(s):
        return s.replace("|", "\\|").replace("\n", " ")
    lines = ["| " + " | ".join(esc(c) for c in cols) + " |",
             "|" + "|".join("---" for _ in cols) + "|"]
    for r in rows:
        lines.append("| " + " | ".join(esc(_fmt(r.get(c), precision)) for c in cols) + " |")
    return "\n".join(lines) + "\n"


def write_markdown(rows, path, columns=None, precision=4, title=None):
    """Write :func:`format_markdown` of ``rows`` to ``path`` (atomically, parents created); return the Path."""
    text = format_markdown(rows, columns, precision)
    if title:
        text = f"# {title}\n\n{text}"
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, text)
    return path


def write_csv(rows, path, columns=None):
    """Write ``rows`` as CSV (full-precision ``repr`` of floats) to ``path`` (atomically, parents created); return the Path."""
    rows = list(rows)
    cols = _columns(rows, columns)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(cols)
    for r in rows:
        w.writerow(["" if r.get(c) is None else
                    repr(float(r[c])) if isinstance(r.get(c), (float, np.floating)) else r[c]
                    for c in cols])
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, buf.getvalue())
    return path


def _curve_keys(records):
    keys = []
    for r in records:
        if r["status"] != "ok":
            continue
        for k, v in (r.get("result") or {}).items():
            if (isinstance(v, np.ndarray) and v.ndim == 1 and v.size > 1
                    and v.dtype.kind in "iuf" and k not in keys):
                keys.append(k)
    return keys


def report(records, out, title="Sweep"):
    """Write the generic report of a set of records: a table and figures.

    Writes ``summary.md`` and ``summary.csv`` (:func:`aggregate` over
    seeds), and for every 1-D numeric array result ``KEY`` a figure
    ``KEY.png`` (one curve per configuration, median over seeds with a
    min-max band; one panel per dtype when the configurations have a
    ``dtype`` key).

    Parameters
    ----------
    records : list[dict] or str or Path
        Records, or a store directory to :func:`~nnopt.experiments.load`.
    out : str or Path
        Output directory (created if missing).
    title : str
        Title of the Markdown table.

    Returns
    -------
    list[Path]
        The files written.
    """
    from . import plots
    from .records import load
    if not isinstance(records, (list, tuple)):
        records = load(records)
    records = _check_records(records)
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"out: {str(out)!r} is a file, expected a directory for the report")
    out.mkdir(parents=True, exist_ok=True)
    rows = aggregate(records)
    written = [write_markdown(rows, out / "summary.md", title=title),
               write_csv(rows, out / "summary.csv")]
    has_dtype = any("dtype" in r["config"] for r in records)
    for key in _curve_keys(records):
        if has_dtype:
            fig = plots.plot_dtype_panels(records, key, logy=_positive(records, key))
        else:
            fig = plots.plot_curves(records, key, logy=_positive(records, key))
        written.append(plots.save_figure(fig, out / f"{_safe(key)}.png"))
    return written


def _positive(records, key):
    vals = [r["result"][key] for r in records
            if r["status"] == "ok" and isinstance((r.get("result") or {}).get(key), np.ndarray)]
    finite = [v[np.isfinite(v)] for v in vals]
    return bool(finite) and all(f.size == 0 or f.min() > 0 for f in finite) and any(f.size for f in finite)


def _safe(name):
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
