"""Figures from run records: curves with seed bands, final values against a swept parameter, dtype panels.

Every function draws on a :class:`matplotlib.figure.Figure` created directly
with the Agg canvas, never through ``pyplot``: nothing is shown, no global
figure state is touched, and it works on machines without a display. Each
returns the Figure; :func:`save_figure` writes it as a PNG. Matplotlib is
imported only when a figure is made.

Curves of different lengths (a run that diverged and stopped early) are padded
with NaN, so the median and the band at iteration ``t`` are over the seeds
still running at ``t``.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .records import atomic_write
from .report import _check_records, group_records

__all__ = ["plot_curves", "plot_final", "plot_dtype_panels", "save_figure", "new_figure"]


def new_figure(nrows=1, ncols=1, figsize=None, **subplot_kw):
    """Return ``(fig, axes)``: a Figure on the Agg canvas and its subplot array (squeezed)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    if figsize is None:
        figsize = (5.0 * ncols, 3.6 * nrows)
    fig = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols, squeeze=True, **subplot_kw)
    return fig, axes


def save_figure(fig, path, dpi=120):
    """Save ``fig`` as a PNG at ``path`` (atomically; parent directories created); return the Path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=dpi))
    return path


def _getter(key, what):
    if callable(key):
        return key
    if not isinstance(key, str):
        raise TypeError(f"key: expected a result key (str) or a callable record -> {what}, "
                        f"got {type(key).__name__} {key!r}")

    def get(rec):
        res = rec.get("result") or {}
        if key not in res:
            raise KeyError(f"key: result {key!r} not in the record of config {rec['config']} "
                           f"seed {rec['seed']}; available: {sorted(res)}")
        return res[key]
    return get


def _ok(records):
    return [r for r in _check_records(records) if r["status"] == "ok"]


def _varying(configs):
    """Configuration keys whose value differs between ``configs``."""
    keys = []
    for c in configs:
        for k in c:
            if k not in keys:
                keys.append(k)
    return [k for k in keys if len({repr(c.get(k)) for c in configs}) > 1]


def _label(cfg, keys):
    return ", ".join(f"{k}={cfg.get(k)}" for k in keys) or "all runs"


def _colors(n):
    from matplotlib import colormaps
    if n <= 10:
        cmap = colormaps["tab10"]
        return [cmap(i) for i in range(n)]
    cmap = colormaps["viridis"]
    return [cmap(i / max(n - 1, 1)) for i in range(n)]


def _stack(curves):
    n = max(c.size for c in curves)
    out = np.full((len(curves), n), np.nan)
    for i, c in enumerate(curves):
        out[i, :c.size] = c
    return out


def plot_curves(records, key, *, by=None, ax=None, logy=False, title=None,
                xlabel="iteration", ylabel=None, legend="auto", color_of=None):
    """Plot a per-iteration result (loss curve) per configuration: median over seeds, min-max band.

    Parameters
    ----------
    records : list[dict]
        Run records; failed runs are skipped.
    key : str or callable
        Result key of a 1-D array, or ``callable(record) -> 1-D array``
        (e.g. ``lambda r: r["result"]["loss"] - r["result"]["f_star"]``).
    by : list[str], optional
        Configuration keys that define a curve; default: the full
        configuration. The legend shows the keys that vary.
    ax : matplotlib.axes.Axes, optional
        Draw into this Axes instead of a new Figure.
    logy : bool
        Logarithmic y axis (non-positive values are not drawn).
    title, xlabel, ylabel : str, optional
        Labels; ``ylabel`` defaults to ``key``.
    legend : {"auto", "inside", "outside", False}
        Legend placement; "auto" puts more than six entries outside, on the right.
    color_of : callable, optional
        ``color_of(group_config) -> color``, to keep colors consistent across
        panels; default: one color per curve in order.

    Returns
    -------
    matplotlib.figure.Figure
    """
    get = _getter(key, "1-D array")
    recs = _ok(records)
    if ax is None:
        fig, ax = new_figure()
    else:
        fig = ax.figure
    groups = group_records(recs, by)
    shown = _varying([g[0] for g in groups])
    colors = _colors(len(groups)) if color_of is None else [color_of(g[0]) for g in groups]
    for (cfg, rs), color in zip(groups, colors):
        curves = []
        for r in rs:
            c = np.asarray(get(r), dtype=np.float64)  # plotting only; the record keeps its dtype
            if c.ndim != 1:
                raise ValueError(f"key: expected a 1-D array per run, got shape {c.shape} "
                                 f"for config {r['config']} seed {r['seed']}")
            curves.append(c)
        data = _stack(curves)
        t = np.arange(data.shape[1])
        with np.errstate(all="ignore"), _quiet_nan_warnings():
            mid = np.nanmedian(data, axis=0)
            lo, hi = np.nanmin(data, axis=0), np.nanmax(data, axis=0)
        n = len(curves)
        ax.plot(t, mid, color=color, lw=1.5, label=f"{_label(cfg, shown)} (n={n})")
        if n > 1:
            if logy:  # a band down to 0 on a log axis is a spike to -inf
                lo = np.where(lo > 0, lo, np.nan)
            ax.fill_between(t, lo, hi, color=color, alpha=0.2, lw=0)
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel if ylabel is not None else (key if isinstance(key, str) else ""))
    if title:
        ax.set_title(title)
    _legend(ax, legend, len(groups))
    ax.grid(True, alpha=0.3)
    return fig


def _legend(ax, where, n):
    if not where or n == 0:
        return
    if where not in ("auto", "inside", "outside"):
        raise ValueError(f"legend: expected 'auto', 'inside', 'outside' or False, got {where!r}")
    if where == "outside" or (where == "auto" and n > 6):
        ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0)
    else:
        ax.legend(fontsize="small")


class _quiet_nan_warnings:
    """Silence NumPy's all-NaN-slice RuntimeWarning (expected after a run stops)."""

    def __enter__(self):
        import warnings
        self._cm = warnings.catch_warnings()
        self._cm.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc):
        return self._cm.__exit__(*exc)


def plot_final(records, x, key, *, hue=None, ax=None, logx=None, logy=False, title=None,
               xlabel=None, ylabel=None):
    """Plot a final scalar result against a swept parameter: median over seeds, min-max error bars.

    Parameters
    ----------
    records : list[dict]
        Run records; failed runs are skipped.
    x : str
        Numeric configuration key on the x axis (e.g. ``"lr"``).
    key : str or callable
        Result key of a scalar, or ``callable(record) -> float``.
    hue : str, optional
        Configuration key drawn as separate lines (e.g. ``"dtype"``).
    ax : matplotlib.axes.Axes, optional
        Draw into this Axes.
    logx : bool, optional
        Logarithmic x axis; default: when all x are positive and span more
        than a factor of 20.
    logy : bool
        Logarithmic y axis.

    Returns
    -------
    matplotlib.figure.Figure
    """
    get = _getter(key, "float")
    recs = _ok(records)
    for r in recs:
        if x not in r["config"]:
            raise ValueError(f"x: {x!r} is not a configuration key; available: {sorted(r['config'])}")
        if hue is not None and hue not in r["config"]:
            raise ValueError(f"hue: {hue!r} is not a configuration key; available: {sorted(r['config'])}")
    if ax is None:
        fig, ax = new_figure()
    else:
        fig = ax.figure
    lines = group_records(recs, [hue]) if hue is not None else [({}, recs)]
    xs_all = []
    for (hcfg, rs), color in zip(lines, _colors(len(lines))):
        pts = {}
        for r in rs:
            xv = r["config"][x]
            if isinstance(xv, bool) or not isinstance(xv, (int, float)):
                raise TypeError(f"x: configuration {x!r} must be numeric, got {xv!r}")
            pts.setdefault(float(xv), []).append(float(np.asarray(get(r))))
        xs = np.array(sorted(pts))
        xs_all.extend(xs)
        with np.errstate(all="ignore"), _quiet_nan_warnings():
            mid = np.array([np.nanmedian(pts[v]) for v in xs])
            lo = np.array([np.nanmin(pts[v]) for v in xs])
            hi = np.array([np.nanmax(pts[v]) for v in xs])
        label = f"{hue}={hcfg[hue]}" if hue is not None else None
        yerr = np.vstack([mid - lo, hi - mid])
        yerr = np.where(np.isfinite(yerr), yerr, 0.0)
        ax.errorbar(xs, mid, yerr=yerr, color=color, marker="o", ms=4, capsize=3, label=label)
    if logx is None:
        xa = np.array(xs_all)
        logx = bool(xa.size) and bool(np.all(xa > 0)) and xa.max() / xa.min() > 20
    if logx:
        ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel if xlabel is not None else x)
    ax.set_ylabel(ylabel if ylabel is not None else (key if isinstance(key, str) else ""))
    if title:
        ax.set_title(title)
    if hue is not None:
        _legend(ax, "auto", len(lines))
    ax.grid(True, alpha=0.3)
    return fig


def plot_dtype_panels(records, key, *, dtype_key="dtype", by=None, logy=False, title=None,
                      xlabel="iteration", ylabel=None):
    """One panel of :func:`plot_curves` per dtype, side by side with a shared y axis.

    Parameters
    ----------
    records : list[dict]
        Run records with a configuration key ``dtype_key``.
    key : str or callable
        As in :func:`plot_curves`.
    dtype_key : str
        Configuration key holding the dtype name.
    by, logy, title, xlabel, ylabel
        As in :func:`plot_curves` (``title`` is the figure's title).

    Returns
    -------
    matplotlib.figure.Figure
    """
    recs = _ok(records)
    missing = [r["config"] for r in recs if dtype_key not in r["config"]]
    if missing:
        raise ValueError(f"dtype_key: {dtype_key!r} is not in configuration {missing[0]}")
    panels = group_records(recs, [dtype_key])
    if not panels:
        panels = [({dtype_key: "(no runs)"}, [])]
    fig, axes = new_figure(1, len(panels), sharey=True)
    axes = np.atleast_1d(axes)
    # The same configuration gets the same color in every panel.
    def strip(cfg):
        return repr(sorted((k, repr(v)) for k, v in cfg.items() if k != dtype_key))
    keys = []
    for cfg, _ in group_records(recs, by):
        if strip(cfg) not in keys:
            keys.append(strip(cfg))
    palette = dict(zip(keys, _colors(len(keys))))
    same = len({tuple(strip(c) for c, _ in group_records(rs, by)) for _, rs in panels}) == 1
    # One legend, right of the last panel, when every panel has the same curves.
    for ax, (cfg, rs) in zip(axes, panels):
        plot_curves(rs, key, by=by, ax=ax, logy=logy, xlabel=xlabel,
                    ylabel=ylabel if ax is axes[0] else "", title=f"{dtype_key}={cfg[dtype_key]}",
                    legend=("outside" if ax is axes[-1] else False) if same else "auto",
                    color_of=lambda c: palette[strip(c)])
    if title:
        fig.suptitle(title)
    return fig

