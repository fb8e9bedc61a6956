"""Peer implementations of the benchmark workloads (see ``benchmarks/suite.py``).

Each peer module (``numpy_impl``, ``torch_impl``, ``jax_impl``) offers

* ``NAME`` - the column label, ``version()``;
* ``set_threads(n)`` - limit the library's own thread pool (BLAS threads are
  set by the suite through environment variables before any import);
* ``build(problem, **options)`` - an :class:`Impl` running ``problem`` with
  that library, or ``None`` when the peer has no version of the workload.

Every peer receives the same :class:`Problem`: data and parameters built once
in NumPy from one seed, so all libraries compute the same numbers.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np

__all__ = ["Problem", "Impl", "flat"]


class Problem(NamedTuple):
    """One workload instance, as plain NumPy arrays.

    kind : ``"grad"`` (loss + gradient of a tanh MLP), ``"hvp"``, ``"hessian"``
        (both of the MLP's MSE loss), ``"neural_form"`` or ``"lenet"``.
    sizes : MLP layer sizes (``None`` for LeNet-5).
    loss : ``"mse"`` or ``"cross_entropy"`` (integer labels in ``Y``).
    X, Y : data (``Y`` is ``None`` for the neural form).
    theta : the flat parameter vector (nnopt's layout).
    params : ``theta`` split into the per-layer arrays, in layout order
        (``W`` then ``b`` for every layer; dense ``W`` is (n_in, n_out), conv
        ``W`` is (out, in, kh, kw)).
    V : direction of the Hessian-vector product (``"hvp"`` only).
    extra : workload constants (the neural form's ``T``, ``c``, ``k``).
    """

    key: str
    kind: str
    dtype: np.dtype
    sizes: tuple
    loss: str
    X: np.ndarray
    Y: np.ndarray
    theta: np.ndarray
    params: list
    V: np.ndarray = None
    extra: dict = {}

    def split(self, vec):
        """A flat vector cut into arrays shaped like ``params`` (views)."""
        out, k = [], 0
        for p in self.params:
            out.append(vec[k:k + p.size].reshape(p.shape))
            k += p.size
        return out


class Impl(NamedTuple):
    """A runnable workload: ``run()`` is what is timed; ``convert(run())``
    gives NumPy arrays (``value`` / ``grad`` / ``hvp`` / ``hess``) for the
    agreement check.  ``compiled`` marks implementations whose first call
    compiles (its time is reported separately)."""

    run: Callable
    convert: Callable
    compiled: bool = False


def flat(arrays):
    """Concatenate per-layer NumPy arrays into one flat float64-or-float32 vector."""
    return np.concatenate([np.asarray(a).ravel() for a in arrays])
