"""The registry of named experiments that ``nnopt run NAME`` knows.

An experiment is a *run* function and, optionally, a *report* function::

    from nnopt.experiments import experiment, sweep

    def my_report(records, out):            # -> list of files written
        ...

    @experiment("my-scan", "GD step sizes on my problem", report=my_report)
    def my_scan(*, quick, **sweep_kw):
        grid = {"lr": [0.1, 1.0]} if quick else {"lr": [0.01, 0.1, 1.0, 1.5]}
        return sweep(train, grid, seeds=range(2 if quick else 5), **sweep_kw)

The run function is called with keyword arguments ``quick`` (bool: a small
version for smoke tests and CI), ``store`` (the records directory),
``executor``, ``workers`` and ``progress`` (to pass on to
:func:`~nnopt.experiments.sweep`), and returns the records. The report
function receives all records of the store and the report directory and
returns the paths it wrote; without one, the generic
:func:`~nnopt.experiments.report` is used.

Built-in experiments live in modules listed in :data:`BUILTIN_MODULES` (one
line to add a module); other packages can register theirs under the entry
point group ``nnopt.experiments`` (the entry point names a module to import),
and scripts can call :func:`register` directly (``nnopt run --import MODULE``).
"""
from __future__ import annotations

import importlib
import re
from typing import Callable, NamedTuple, Optional

__all__ = ["Experiment", "register", "experiment", "get_experiment", "list_experiments",
           "discover", "BUILTIN_MODULES"]

#: Modules that register nnopt's built-in experiments, imported on first use
#: of the registry. Add a module here to make its experiments built in.
BUILTIN_MODULES = (
    "nnopt.experiments.lr_scan",
    "nnopt.experiments.precision_study",
    "nnopt.curvature.eos_experiment",
)

#: Entry point group through which other packages add experiment modules.
ENTRY_POINT_GROUP = "nnopt.experiments"

_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")


class Experiment(NamedTuple):
    """A registered experiment.

    Attributes
    ----------
    name : str
        Name used on the command line (lower case, digits, ``-_.``).
    run : callable
        ``run(*, quick, store, executor, workers, progress) -> list[dict]``.
    description : str
        One line shown by ``nnopt list``.
    report : callable or None
        ``report(records, out) -> list[Path]``; None for the generic report.
    module : str
        Module that defines ``run`` (imported again by ``nnopt report``).
    """

    name: str
    run: Callable
    description: str
    report: Optional[Callable]
    module: str


_REGISTRY: dict[str, Experiment] = {}
_DISCOVERED = False
_IMPORT_ERRORS: list[tuple[str, str]] = []


def _same_function(a, b):
    return (getattr(a, "__module__", None), getattr(a, "__qualname__", None)) == \
           (getattr(b, "__module__", None), getattr(b, "__qualname__", None))


def register(name, run, description, *, report=None, replace=False):
    """Register an experiment under ``name``.

    Parameters
    ----------
    name : str
        Lower-case name (letters, digits, ``-``, ``_``, ``.``).
    run : callable
        ``run(*, quick, store, executor, workers, progress) -> list[dict]``.
    description : str
        One-line description.
    report : callable, optional
        ``report(records, out) -> list[Path]``.
    replace : bool
        Allow replacing an experiment of the same name defined by another
        function (re-registering the same function, e.g. on module reload,
        is always allowed).

    Returns
    -------
    Experiment

    Raises
    ------
    ValueError
        Bad name, empty description, or the name is taken.
    TypeError
        ``run`` or ``report`` not callable.
    """
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(f"name: expected a lower-case name such as 'lr-scan' "
                         f"(letters, digits, '-', '_', '.'), got {name!r}")
    if not callable(run):
        raise TypeError(f"run: expected a callable, got {type(run).__name__} {run!r}")
    if report is not None and not callable(report):
        raise TypeError(f"report: expected a callable or None, got {type(report).__name__} {report!r}")
    if not isinstance(description, str) or not description.strip():
        raise ValueError(f"description: expected a non-empty one-line string, got {description!r}")
    old = _REGISTRY.get(name)
    if old is not None and not replace and not _same_function(old.run, run):
        raise ValueError(f"name: an experiment {name!r} is already registered "
                         f"(from {old.module}); pass replace=True to replace it")
    exp = Experiment(name, run, description.strip(), report,
                     getattr(run, "__module__", None) or "?")
    _REGISTRY[name] = exp
    return exp


def experiment(name, description, *, report=None, replace=False):
    """Decorator form of :func:`register`; returns the run function unchanged."""
    def deco(run):
        register(name, run, description, report=report, replace=replace)
        return run
    return deco


def discover():
    """Import the built-in experiment modules and entry points (once).

    Returns
    -------
    list[tuple[str, str]]
        ``(module, error)`` for each module that failed to import; the other
        experiments stay available.
    """
    global _DISCOVERED
    if _DISCOVERED:
        return list(_IMPORT_ERRORS)
    _DISCOVERED = True
    modules = list(BUILTIN_MODULES)
    try:
        from importlib.metadata import entry_points
        modules += [ep.value.split(":")[0] for ep in entry_points(group=ENTRY_POINT_GROUP)]
    except Exception:  # noqa: BLE001 - broken metadata must not break the registry
        pass
    for mod in modules:
        try:
            importlib.import_module(mod)
        except Exception as e:  # noqa: BLE001 - reported, others still load
            _IMPORT_ERRORS.append((mod, f"{type(e).__name__}: {e}"))
    return list(_IMPORT_ERRORS)


def list_experiments():
    """All registered experiments, sorted by name (built-ins discovered first)."""
    discover()
    return [_REGISTRY[k] for k in sorted(_REGISTRY)]


def get_experiment(name):
    """The experiment registered as ``name``.

    Raises
    ------
    ValueError
        Unknown name; the message lists the available ones.
    """
    discover()
    if name not in _REGISTRY:
        avail = ", ".join(sorted(_REGISTRY)) or "(none)"
        raise ValueError(f"experiment: unknown experiment {name!r}; available: {avail}")
    return _REGISTRY[name]
