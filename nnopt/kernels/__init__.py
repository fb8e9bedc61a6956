"""Kernels for hot primitives, one folder per primitive.

Each folder holds the same function signatures in up to three files:

* ``reference.py`` - plain NumPy, the specification (also the fallback);
* ``cpu.py``       - Numba ``@njit`` (``cache=True``) versions;
* ``cuda.py``      - Numba CUDA versions (numba-cuda, the ``cuda`` extra),
  tested under the simulator (``NUMBA_ENABLE_CUDASIM=1``) in CI.

``select(module_name)`` returns the implementation chosen by
``nnopt.config`` so that callers never branch on the backend themselves.
"""
from __future__ import annotations

import importlib

from .. import config

__all__ = ["select"]

_FILES = {"numpy": "reference", "numba": "cpu", "cuda": "cuda"}


_loaded = {}


def select(primitive):
    """The kernel module of ``primitive`` (e.g. ``"dense"``) for the configured backend."""
    key = (primitive, config.get("backend"))
    module = _loaded.get(key)
    if module is None:
        module = importlib.import_module(f"nnopt.kernels.{primitive}.{_FILES[key[1]]}")
        _loaded[key] = module
    return module
