"""BLAS held to one thread while Numba's threads do the parallel work.

The compiled kernels that run ``prange`` over chunks (a batch split into
row blocks, images split into groups) call BLAS from every Numba thread at
once, so BLAS must not start threads of its own: two 2-thread OpenBLAS
products at once on 2 cores ran about 3x slower than two 1-thread ones;
and OpenBLAS's threads, once woken by a product, keep spinning and take the
cores from the Numba threads that run next (with 2 threads on 2 cores every
parallel kernel of LeNet-5 ran 2-6x slower after a multi-threaded product;
measured).
"""
from __future__ import annotations

import contextlib
import threading

import numba

__all__ = ["single_threaded_blas", "parallel_region_safe"]

_lock = threading.Lock()
_libraries = None  # threadpoolctl controllers of the loaded BLAS libraries; False without threadpoolctl
_users = 0
_saved = []


def _blas_libraries():
    """The BLAS libraries' controllers, found once (scipy's BLAS, the one
    Numba's ``np.dot`` calls, is loaded before the scan)."""
    try:
        import scipy.linalg.cython_blas  # noqa: F401
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return False
    return list(ThreadpoolController().select(user_api="blas").lib_controllers)


@contextlib.contextmanager
def single_threaded_blas():
    """BLAS limited to one thread for the duration.  Re-entrant and safe
    across Python threads: the first caller in sets the limit (about 4 us:
    the library controllers are found once and kept), the last one out
    restores the previous thread counts.

    Without threadpoolctl (a dependency of nnopt, but a bare environment may
    lack it) Numba's ``prange`` runs on one thread instead, in the calling
    thread: correct, and never oversubscribed.
    """
    global _libraries, _users, _saved
    with _lock:
        if _libraries is None:
            _libraries = _blas_libraries()
        if _libraries is not False:
            if _users == 0:
                _saved = [lib.get_num_threads() for lib in _libraries]
                for lib, n in zip(_libraries, _saved):
                    if n != 1:
                        lib.set_num_threads(1)
            _users += 1
    if _libraries is False:
        with _one_numba_thread():
            yield
        return
    try:
        yield
    finally:
        with _lock:
            _users -= 1
            if _users == 0:
                for lib, n in zip(_libraries, _saved):
                    if n != 1:
                        lib.set_num_threads(n)


@contextlib.contextmanager
def _one_numba_thread():
    old = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        yield
    finally:
        numba.set_num_threads(old)


def parallel_region_safe():
    """True when a Numba parallel region may start from this thread: from the
    main thread always, from other threads only under a thread-safe
    threading layer ("omp", "tbb"; Numba's "workqueue" layer aborts the
    process when two threads enter parallel regions at once, and which
    layer Numba picked is known only after its first parallel region)."""
    if threading.current_thread() is threading.main_thread():
        return True
    try:
        return numba.threading_layer() in ("omp", "tbb")
    except ValueError:  # no parallel region has run yet: the layer is not chosen
        return False
