"""Experiments that scale out: sweeps, run records, reports and the ``nnopt`` command.

Run a function over a grid of configurations and seeds on local processes or
a Dask cluster, keep one record per run on disk (atomic, resumable), and
build tables and figures from the records::

    from nnopt.experiments import sweep, load, aggregate, write_markdown, plot_curves

    records = sweep(train, {"lr": [0.01, 0.1], "dtype": ["float32", "float64"]},
                    seeds=range(5), store="results/my-scan")
    rows = aggregate(load("results/my-scan"))

See ``docs/experiments.md``.
"""
from .executors import InlineExecutor, connect, default_workers, local_executor
from .grid import canonical_config, expand_grid, run_key
from .plots import plot_curves, plot_dtype_panels, plot_final, save_figure
from .progress import ProgressBar, SweepProgress
from .records import load
from .registry import (
    Experiment,
    discover,
    experiment,
    get_experiment,
    list_experiments,
    register,
)
from .report import aggregate, format_markdown, report, write_csv, write_markdown
from .runner import ExperimentRun, build_report, run_experiment
from .sweep import sweep

__all__ = [
    # sweeps and records
    "sweep", "load", "expand_grid", "canonical_config", "run_key",
    # executors and progress
    "InlineExecutor", "local_executor", "connect", "default_workers",
    "ProgressBar", "SweepProgress",
    # reports
    "aggregate", "format_markdown", "write_markdown", "write_csv", "report",
    "plot_curves", "plot_final", "plot_dtype_panels", "save_figure",
    # registry and runner
    "Experiment", "register", "experiment", "get_experiment", "list_experiments",
    "discover", "run_experiment", "build_report", "ExperimentRun",
]
