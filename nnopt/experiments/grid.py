"""Grids of configurations and the stable key of one run.

A *grid* is either a dict of lists, expanded to their Cartesian product
(``{"lr": [0.1, 1.0], "dtype": ["float32", "float64"]}`` gives four
configurations, last key varying fastest, like :func:`itertools.product`), or
an explicit list of dicts. Each configuration is run once per seed.

A configuration is stored in *canonical* form: JSON-ready values only (numbers,
strings, booleans, ``None``, lists and dicts of them); NumPy scalars become
Python numbers and dtypes (``np.float32``, ``np.dtype("float32")``) become
their name (``"float32"``). The key of a run is the SHA-256 of the canonical
JSON of ``{"config", "seed", "nnopt_version"}``, so it is the same on every
machine and in every process, and changes when nnopt's version does.
"""
from __future__ import annotations

import hashlib
import itertools
import json
import keyword
import math
from collections.abc import Mapping

import numpy as np

__all__ = ["expand_grid", "canonical_config", "run_key", "check_seeds"]

#: Sequence types accepted as the value list of one grid key.
_LIST_TYPES = (list, tuple, range, np.ndarray)


def _canonical_value(value, where):
    """Return ``value`` as a JSON-ready object, or raise a TypeError naming ``where``."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, np.integer)) and not isinstance(value, np.bool_):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    if isinstance(value, np.dtype):
        return value.name
    if isinstance(value, type) and issubclass(value, np.generic):
        return np.dtype(value).name
    if isinstance(value, (list, tuple)):
        return [_canonical_value(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, np.ndarray) and value.dtype != object:
        return _canonical_value(value.tolist(), where)
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise TypeError(
                    f"{where}: dict keys in a configuration must be str, "
                    f"got {type(k).__name__} {k!r}")
            out[k] = _canonical_value(v, f"{where}[{k!r}]")
        return out
    raise TypeError(
        f"{where}: configuration values must be numbers, strings, booleans, None, "
        f"dtypes, or lists/dicts of them (they are stored as JSON and hashed); "
        f"got {type(value).__name__} {value!r}. Pass a name and look the object "
        f"up inside the run function.")


def _check_name(name, where):
    if not isinstance(name, str):
        raise TypeError(f"{where}: parameter names must be str, got {type(name).__name__} {name!r}")
    if not name.isidentifier() or keyword.iskeyword(name):
        raise ValueError(
            f"{where}: parameter name {name!r} is not a valid Python identifier "
            f"(configurations are passed as keyword arguments)")
    if name == "seed":
        raise ValueError(
            f"{where}: 'seed' cannot be a grid parameter; pass the seeds with seeds=")


def canonical_config(config, where="config"):
    """Return the canonical (JSON-ready) form of one configuration dict.

    Parameters
    ----------
    config : Mapping[str, object]
        Keyword arguments of one run (without the seed).
    where : str
        Name used in error messages.

    Returns
    -------
    dict
        Same keys; values converted as described in the module docstring.
    """
    if not isinstance(config, Mapping):
        raise TypeError(f"{where}: expected a dict of parameters, got {type(config).__name__} {config!r}")
    out = {}
    for name, value in config.items():
        _check_name(name, where)
        out[name] = _canonical_value(value, f"{where}[{name!r}]")
    return out


def _canonical_json(obj):
    # allow_nan keeps inf/nan parameters representable (as Python's json does).
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def run_key(config, seed, version=None):
    """Stable key of one run: ``sha256(config, seed, nnopt version)``, 24 hex digits.

    Parameters
    ----------
    config : Mapping[str, object]
        The run's parameters (canonicalised first, so ``np.float32`` and
        ``"float32"`` give the same key).
    seed : int
        The run's seed.
    version : str, optional
        nnopt version to key on; defaults to ``nnopt.__version__``.

    Returns
    -------
    str

    Examples
    --------
    >>> from nnopt.experiments import run_key
    >>> run_key({"lr": 0.1}, 0, version="0.1.0") == run_key({"lr": 0.1}, 0, version="0.1.0")
    True
    """
    if version is None:
        import nnopt  # late: nnopt/__init__ may import this package
        version = nnopt.__version__
    canon = canonical_config(config)
    seed = check_seeds([seed])[0]
    payload = _canonical_json({"config": canon, "seed": seed, "nnopt_version": str(version)})
    return hashlib.sha256(payload.encode("ascii")).hexdigest()[:24]


def check_seeds(seeds):
    """Validate ``seeds`` (a list/tuple/range/1-D array of ints) and return a list of int."""
    if isinstance(seeds, (int, np.integer)) and not isinstance(seeds, (bool, np.bool_)):
        raise TypeError(
            f"seeds: expected a list of ints such as [0, 1, 2] or range(3), got the int {seeds!r}")
    if not isinstance(seeds, _LIST_TYPES):
        raise TypeError(
            f"seeds: expected a list of ints such as [0, 1, 2] or range(3), "
            f"got {type(seeds).__name__} {seeds!r}")
    out = []
    for s in list(seeds):
        if isinstance(s, (bool, np.bool_)) or not isinstance(s, (int, np.integer)):
            raise TypeError(f"seeds: every seed must be an int, got {type(s).__name__} {s!r}")
        out.append(int(s))
    if not out:
        raise ValueError("seeds: expected at least one seed, got an empty list")
    if len(set(out)) != len(out):
        dup = sorted({s for s in out if out.count(s) > 1})
        raise ValueError(f"seeds: duplicate seeds {dup}; each seed must appear once")
    return out


def expand_grid(grid):
    """Expand ``grid`` into a list of configurations.

    Parameters
    ----------
    grid : dict[str, list] or list[dict]
        A dict whose values are lists (or tuples, ranges, 1-D arrays) is
        expanded to the Cartesian product of its values, the last key varying
        fastest. A list of dicts is taken as the explicit list of
        configurations.

    Returns
    -------
    list[dict]
        The configurations with their original values (as they will be passed
        to the run function), in order.

    Raises
    ------
    ValueError
        If the grid is empty, a value list is empty, or two configurations are
        the same (after canonicalisation).
    TypeError
        If a grid value is not a list, a configuration is not a dict, or a
        value cannot be stored as JSON.

    Examples
    --------
    >>> from nnopt.experiments import expand_grid
    >>> expand_grid({"a": [1, 2], "b": ["x"]})
    [{'a': 1, 'b': 'x'}, {'a': 2, 'b': 'x'}]
    """
    if isinstance(grid, Mapping):
        if not grid:
            raise ValueError("grid: expected a non-empty dict of lists or a non-empty list of dicts, got {}")
        names, values = [], []
        for name, vals in grid.items():
            _check_name(name, "grid")
            if isinstance(vals, np.ndarray):
                if vals.ndim != 1:
                    raise TypeError(f"grid[{name!r}]: expected a list of values, got a {vals.ndim}-D array")
                vals = list(vals)
            elif not isinstance(vals, (list, tuple, range)):
                raise TypeError(
                    f"grid[{name!r}]: expected a list of values to sweep, got "
                    f"{type(vals).__name__} {vals!r}; write [{vals!r}] for a single value")
            vals = list(vals)
            if not vals:
                raise ValueError(f"grid[{name!r}]: empty list of values, the grid would have no points")
            names.append(name)
            values.append(vals)
        configs = [dict(zip(names, combo)) for combo in itertools.product(*values)]
    elif isinstance(grid, (list, tuple)):
        if not grid:
            raise ValueError("grid: expected a non-empty dict of lists or a non-empty list of dicts, got []")
        configs = []
        for i, cfg in enumerate(grid):
            if not isinstance(cfg, Mapping):
                raise TypeError(f"grid[{i}]: expected a dict of parameters, got {type(cfg).__name__} {cfg!r}")
            configs.append(dict(cfg))
    else:
        raise TypeError(
            f"grid: expected a dict of lists or a list of dicts, got {type(grid).__name__} {grid!r}")

    seen = {}
    for i, cfg in enumerate(configs):
        where = f"grid point {i}" if isinstance(grid, Mapping) else f"grid[{i}]"
        canon = _canonical_json(canonical_config(cfg, where))
        if canon in seen:
            raise ValueError(
                f"grid: configurations {seen[canon]} and {i} are the same ({cfg!r}); "
                f"each configuration must appear once")
        seen[canon] = i
    return configs


def natural_sort_key(config):
    """Sort key for canonical configurations: numbers numerically, then strings, then the rest."""
    parts = []
    for name in sorted(config):
        v = config[name]
        if v is None:
            parts.append((name, 0, 0.0, ""))
        elif isinstance(v, (bool, int, float)):
            f = float(v)
            parts.append((name, 1, f if not math.isnan(f) else math.inf, ""))
        elif isinstance(v, str):
            parts.append((name, 2, 0.0, v))
        else:
            parts.append((name, 3, 0.0, _canonical_json(v)))
    return tuple(parts)
