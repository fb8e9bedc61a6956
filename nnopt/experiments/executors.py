"""Where runs execute: local worker processes, the calling thread, or a Dask cluster.

:func:`~nnopt.experiments.sweep` accepts any :class:`concurrent.futures.Executor`.
This module provides the three that matter:

* :func:`local_executor` - a pool of *warm* worker processes: each worker
  lives for the whole sweep and runs many tasks, so modules are imported and
  Numba functions are compiled (or loaded from their ``cache=True`` cache)
  once per worker, not once per run.
* :class:`InlineExecutor` - runs each task in the calling thread at submit
  time; for debugging and for run functions that cannot be pickled.
* :func:`connect` - a ``dask.distributed.Client`` for a scheduler address;
  ``client.get_executor()`` is then the executor. Dask is imported only here,
  only when asked for (``pip install "nnopt[dist]"``).
"""
from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import signal
import sys
import threading

__all__ = ["InlineExecutor", "local_executor", "connect", "default_workers"]


class InlineExecutor(cf.Executor):
    """A :class:`concurrent.futures.Executor` that runs each task at submit time.

    Tasks run one after the other in the calling thread; nothing is pickled.
    Useful for debugging (breakpoints and tracebacks work as usual) and for
    run functions defined as lambdas or closures.

    Examples
    --------
    >>> from nnopt.experiments import InlineExecutor
    >>> InlineExecutor().submit(pow, 2, 10).result()
    1024
    """

    def __init__(self):
        self._shutdown = False
        self._lock = threading.Lock()

    def submit(self, fn, /, *args, **kwargs):
        with self._lock:
            if self._shutdown:
                raise RuntimeError("cannot schedule new futures after shutdown")
        fut = cf.Future()
        fut.set_running_or_notify_cancel()
        try:
            fut.set_result(fn(*args, **kwargs))
        except BaseException as e:  # noqa: BLE001 - delivered through the future
            if not isinstance(e, Exception):
                raise  # KeyboardInterrupt / SystemExit stop the caller
            fut.set_exception(e)
        return fut

    def shutdown(self, wait=True, *, cancel_futures=False):
        with self._lock:
            self._shutdown = True


def default_workers():
    """Number of CPU cores this process may use (``os.sched_getaffinity`` where available)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


def _check_workers(workers):
    if workers is None:
        return default_workers()
    if isinstance(workers, bool) or not isinstance(workers, int):
        raise TypeError(f"workers: expected a positive int or None, got {type(workers).__name__} {workers!r}")
    if workers < 1:
        raise ValueError(f"workers: expected a positive int or None, got {workers}")
    return workers


def _worker_init():
    # Ctrl-C in a terminal reaches the whole process group; the parent alone
    # decides what to do (stop submitting, keep finished records), so workers
    # ignore SIGINT instead of dying with a traceback each.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _mp_context():
    # "forkserver" where it exists: a fork of a parent that already runs
    # threads (a Dask client, a GUI, BLAS) can deadlock; forkserver children
    # start from a clean single-threaded server. It is Python 3.14's default.
    # The server preloads nnopt (numpy, scipy: ~0.6 s of imports), so each
    # worker forks from an interpreter that has already imported them. It does
    # not preload the user's __main__: a script without a __main__ guard
    # would then run (and crash) inside the server itself.
    methods = multiprocessing.get_all_start_methods()
    if sys.platform.startswith("linux") and "forkserver" in methods:
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["nnopt.experiments.sweep"])
        return ctx
    return multiprocessing.get_context()


def local_executor(workers=None):
    """A process pool of warm workers, as :func:`~nnopt.experiments.sweep` uses by default.

    Parameters
    ----------
    workers : int, optional
        Number of worker processes; all usable cores by default.

    Returns
    -------
    concurrent.futures.ProcessPoolExecutor
        Workers are started on demand and then reused for every task until
        ``shutdown()``; pass it as ``executor=`` to several sweeps to keep
        them warm across sweeps. Workers ignore SIGINT (the caller handles
        Ctrl-C).

    Notes
    -----
    The run function and its arguments are sent to the workers by pickle, so
    the function must be importable: defined at the top level of a module
    (or of a script guarded by ``if __name__ == "__main__":``).
    """
    workers = _check_workers(workers)
    return cf.ProcessPoolExecutor(max_workers=workers, mp_context=_mp_context(),
                                  initializer=_worker_init)


def _wait_for_tcp(address, timeout):
    """For ``tcp://host:port`` (or ``host:port``) addresses, check the port accepts connections.

    Failing here, before a Client exists, gives a prompt clear error instead
    of a Client half-built in the background (whose clean-up prints noise at
    exit). Other protocols (tls, ucx, inproc) go straight to Dask.
    """
    import socket
    import time
    rest = address[len("tcp://"):] if address.startswith("tcp://") else address
    if "://" in rest:
        return
    host, sep, port = rest.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(
            f"address: expected a scheduler address such as 'tcp://host:8786', got {address!r}")
    host = host.strip("[]") or "127.0.0.1"
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        try:
            with socket.create_connection((host, int(port)), timeout=max(left, 0.05)):
                return
        except OSError as e:
            if time.monotonic() + 0.1 >= deadline:
                raise ConnectionError(
                    f"scheduler: could not connect to the Dask scheduler at {address!r} "
                    f"within {timeout:g} s: {e}") from e
            time.sleep(0.1)


def connect(address, timeout=10.0):
    """Connect to a Dask scheduler; return the ``dask.distributed.Client``.

    Parameters
    ----------
    address : str
        Scheduler address, e.g. ``"tcp://10.0.0.5:8786"``.
    timeout : float
        Seconds to wait for the connection.

    Returns
    -------
    dask.distributed.Client
        Use ``client.get_executor()`` as the sweep's executor and
        ``client.close()`` when done.

    Raises
    ------
    ImportError
        If dask.distributed is not installed (``pip install "nnopt[dist]"``).
    ConnectionError
        If the scheduler cannot be reached within ``timeout`` seconds.

    Examples
    --------
    >>> from nnopt.experiments import connect, sweep          # doctest: +SKIP
    >>> client = connect("tcp://scheduler:8786")              # doctest: +SKIP
    >>> sweep(fn, grid, executor=client.get_executor(), store="out")  # doctest: +SKIP
    """
    if not isinstance(address, str) or not address.strip():
        raise TypeError(f"address: expected a scheduler address such as 'tcp://host:8786', got {address!r}")
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise ValueError(f"timeout: expected a positive number of seconds, got {timeout!r}")
    try:
        from dask.distributed import Client
    except ImportError as e:
        raise ImportError(
            "connecting to a Dask scheduler needs dask.distributed; "
            "install it with: pip install \"nnopt[dist]\"") from e
    _wait_for_tcp(address, timeout)
    try:
        return Client(address, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as e:
        raise ConnectionError(
            f"scheduler: could not connect to the Dask scheduler at {address!r} "
            f"within {timeout:g} s: {e}") from e
