"""Explicit settings: the kernel backend and the default dtype.

Settings live here and are changed explicitly (``nnopt.config.set(...)`` or
the ``nnopt.config.using(...)`` context manager); library code never reads
environment variables.

backend
    ``"numba"`` (default): hot primitives (the fused dense layer) run Numba
    ``@njit`` kernels (compiled once, cached on disk).  ``"numpy"``: the
    plain NumPy reference implementations.  Both give the same numbers up
    to rounding; tests check them against each other.
default_dtype
    dtype used by constructors when none is given (``float64``).
blas_threads
    ``None`` (default): leave the BLAS thread pool as the environment set it.
    An integer: limit BLAS (OpenBLAS/MKL/BLIS) to that many threads for the
    whole process, through ``threadpoolctl``.  Small matrix products run
    several times faster with 1 thread on small machines (measured up to 60x
    on a loaded 2-core machine), while large ones gain from more; nnopt never
    changes the setting by itself.
"""
from __future__ import annotations

import contextlib

import numpy as np

__all__ = ["get", "set", "using", "BACKENDS"]

BACKENDS = ("numba", "numpy", "cuda")

_settings = {"backend": "numba", "default_dtype": np.dtype(np.float64), "blas_threads": None}
_blas_limiter = None


def get(name):
    """Current value of setting ``name``."""
    if name not in _settings:
        raise KeyError(f"nnopt.config: unknown setting {name!r}; known: {sorted(_settings)}")
    return _settings[name]


def set(**settings):  # noqa: A001 (mirrors a mapping's verb)
    """Change settings, e.g. ``nnopt.config.set(backend="numpy")``."""
    for name, value in settings.items():
        if name not in _settings:
            raise KeyError(f"nnopt.config: unknown setting {name!r}; known: {sorted(_settings)}")
        if name == "backend" and value not in BACKENDS:
            raise ValueError(f"nnopt.config: backend must be one of {BACKENDS}, got {value!r}")
        if name == "default_dtype":
            value = np.dtype(value)
            if value not in (np.float32, np.float64):
                raise ValueError(f"nnopt.config: default_dtype must be float32 or float64, got {value}")
        if name == "blas_threads":
            _set_blas_threads(value)
        _settings[name] = value


def _set_blas_threads(n):
    global _blas_limiter
    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 1):
        raise ValueError(f"nnopt.config: blas_threads must be None or a positive integer, got {n!r}")
    from threadpoolctl import threadpool_limits

    if _blas_limiter is not None:
        _blas_limiter.restore_original_limits()
        _blas_limiter = None
    if n is not None:
        _blas_limiter = threadpool_limits(limits=n, user_api="blas")


@contextlib.contextmanager
def using(**settings):
    """Temporarily change settings: ``with nnopt.config.using(backend="numpy"): ...``."""
    old = {k: get(k) for k in settings}
    set(**settings)
    try:
        yield
    finally:
        set(**old)
