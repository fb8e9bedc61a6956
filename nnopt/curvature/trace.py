"""Stochastic trace estimation: Hutchinson and Hutch++.

* Hutchinson (1990): ``tr(A) = E[z^T A z]`` for random ``z`` with
  ``E[z z^T] = I`` (Rademacher or Gaussian); the mean of ``N`` samples is
  unbiased with variance ``2 (||A||_F^2 - sum_i a_ii^2) / N`` for Rademacher
  probes and ``2 ||A||_F^2 / N`` for Gaussian ones.
* Hutch++ (Meyer, Musco, Musco & Woodruff, "Hutch++: Optimal Stochastic
  Trace Estimation", SOSA 2021, Algorithm 1): with ``m`` products, spend
  ``m/3`` to find ``Q = orth(A S)``, take ``tr(Q^T A Q)`` exactly
  (``m/3`` products) and estimate the trace of the deflated rest
  ``(I - QQ^T) A (I - QQ^T)`` with Hutchinson (``m/3`` products).  Unbiased;
  the error falls as ``1/m`` instead of ``1/sqrt(m)`` when the spectrum decays.

Both report a standard error from the sample spread of their stochastic
part, so a result reads as ``value +- stderr``.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._checks import as_operator, as_rng, check_int

__all__ = ["hutchinson", "hutch_plus_plus", "TraceEstimate"]


class TraceEstimate(NamedTuple):
    """``value`` +- ``stderr`` (standard error of the mean of ``samples``)
    after ``n_matvecs`` products; for Hutch++ ``exact_part`` is ``tr(Q^T A Q)``
    and ``samples`` the Hutchinson samples of the deflated remainder."""

    value: float
    stderr: float
    n_matvecs: int
    samples: np.ndarray
    exact_part: float = 0.0


_DISTRIBUTIONS = ("rademacher", "gaussian")


def _probes(rng, n, k, dtype, distribution, where):
    if distribution == "rademacher":
        Z = rng.integers(0, 2, size=(n, k)).astype(dtype) * dtype.type(2) - dtype.type(1)
    elif distribution == "gaussian":
        Z = rng.standard_normal((n, k)).astype(dtype)
    else:
        raise ValueError(f"{where}: distribution must be one of {_DISTRIBUTIONS}, got {distribution!r}")
    return Z


def _stderr(samples):
    if samples.size < 2:
        return samples.dtype.type(np.inf)
    return samples.dtype.type(np.std(samples, ddof=1) / np.sqrt(samples.size))


def hutchinson(matvec, dim=None, n_samples=100, *, seed=0, distribution="rademacher", dtype=None):
    """Hutchinson's unbiased estimate of ``tr(A)`` from ``n_samples`` products.

    Parameters
    ----------
    matvec, dim, dtype : see :func:`nnopt.curvature.lanczos` (``A`` need not be
        symmetric here)
    n_samples : int
        Number of probe vectors (= products).
    seed : int or numpy.random.Generator
    distribution : ``"rademacher"`` (default, lower variance) or ``"gaussian"``

    Returns
    -------
    TraceEstimate
        ``value`` and its standard error ``stderr`` in the operator's dtype.

    Examples
    --------
    >>> import numpy as np
    >>> from nnopt.curvature import hutchinson
    >>> est = hutchinson(np.diag(np.arange(1.0, 11.0)), n_samples=10)
    >>> float(est.value)  # exact for a diagonal matrix with Rademacher probes
    55.0
    """
    where = "hutchinson"
    op = as_operator(matvec, dim, dtype, where)
    n_samples = check_int(n_samples, "n_samples", where, 1)
    rng = as_rng(seed, where)
    Z = _probes(rng, op.dim, n_samples, op.dtype, distribution, where)
    AZ = op.matmat(Z)
    samples = np.einsum("ij,ij->j", Z, AZ)
    return TraceEstimate(samples.mean(dtype=op.dtype), _stderr(samples), n_samples, samples)


def hutch_plus_plus(matvec, dim=None, n_matvecs=99, *, seed=0, distribution="rademacher", dtype=None):
    """Hutch++ estimate of ``tr(A)`` with ``n_matvecs`` products (used in thirds).

    Parameters
    ----------
    matvec, dim, dtype : see :func:`hutchinson`
    n_matvecs : int
        Budget of products, at least 3; ``3 * (n_matvecs // 3)`` are used.
    seed : int or numpy.random.Generator
    distribution : ``"rademacher"`` or ``"gaussian"``

    Returns
    -------
    TraceEstimate
        ``value = exact_part + mean(samples)``; ``stderr`` is the standard
        error of the Hutchinson part.  Exact (zero stderr) when
        ``n_matvecs // 3 >= dim`` or ``A`` has rank ``<= n_matvecs // 3``.
    """
    where = "hutch_plus_plus"
    op = as_operator(matvec, dim, dtype, where)
    n_matvecs = check_int(n_matvecs, "n_matvecs", where, 3)
    s = n_matvecs // 3
    rng = as_rng(seed, where)
    S = _probes(rng, op.dim, s, op.dtype, distribution, where)
    G = _probes(rng, op.dim, s, op.dtype, distribution, where)
    Q, _ = np.linalg.qr(op.matmat(S))
    exact = np.trace(Q.T @ op.matmat(np.ascontiguousarray(Q)))
    R = G - Q @ (Q.T @ G)
    samples = np.einsum("ij,ij->j", R, op.matmat(R))
    value = op.dtype.type(exact + samples.mean(dtype=op.dtype))
    used = 2 * s + Q.shape[1]
    return TraceEstimate(value, _stderr(samples), used, samples, op.dtype.type(exact))
