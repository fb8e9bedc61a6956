"""Spectral density by stochastic Lanczos quadrature (SLQ).

The spectral density of a symmetric ``n x n`` matrix ``A`` with eigenvalues
``lambda_i`` is ``phi(t) = (1/n) sum_i delta(t - lambda_i)``.  For a unit
probe ``v = z / sqrt(n)`` with Rademacher ``z``, ``E[v^T f(A) v] =
tr(f(A)) / n = int f(t) phi(t) dt``.  ``m`` Lanczos steps from ``v`` give
the ``m``-point Gauss quadrature of the measure ``sum_i (u_i^T v)^2
delta(t - lambda_i)``: nodes ``theta_j`` (eigenvalues of ``T_m``) and weights
``tau_j = s_{1j}^2`` (squared first components of its eigenvectors), exact
for polynomials of degree ``<= 2m - 1``.  Averaging over probes gives the
density estimate ``sum_l sum_j tau_j^(l) delta(t - theta_j^(l)) / n_probes``
(Golub & Meurant, *Matrices, Moments and Quadrature*, 2010; Lin, Saad &
Yang, SIAM Review 58, 2016; Ubaru, Chen & Saad, SIMAX 38, 2017; applied to
network Hessians by Ghorbani, Krishnan & Xiao, ICML 2019).  The weights of
each probe sum to 1, so the density integrates to 1 exactly, and its
moments ``int t^k phi`` are the probe averages of ``v^T A^k v``, unbiased
estimates of ``tr(A^k) / n``.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
import scipy.linalg

from ._checks import as_operator, as_rng, check_int, check_positive
from .lanczos import NonSymmetricOperatorError, _check_dense_symmetry, _sym_tol

__all__ = ["slq", "SpectralDensity", "plot_spectral_density"]


class SpectralDensity(NamedTuple):
    """Gauss quadrature nodes and weights of each probe (float64).

    ``nodes[l]`` and ``weights[l]`` belong to probe ``l`` (lengths may differ
    when Lanczos found an invariant subspace early); ``dim`` is ``n``.
    """

    nodes: tuple
    weights: tuple
    dim: int

    @property
    def n_probes(self):
        return len(self.nodes)

    def probe_moments(self, k):
        """``v_l^T A^k v_l`` for each probe (exact up to rounding for ``k <= 2 m - 1``)."""
        return np.array([np.sum(w * th ** k) for th, w in zip(self.nodes, self.weights)])

    def moment(self, k):
        """Estimate of ``tr(A^k) / n``: the mean of :meth:`probe_moments`."""
        return float(np.mean(self.probe_moments(k)))

    def total_weight(self):
        """``int phi`` = 1 up to rounding."""
        return float(np.mean([np.sum(w) for w in self.weights]))

    def support(self):
        """(smallest, largest) node over all probes."""
        lo = min(float(th.min()) for th in self.nodes)
        hi = max(float(th.max()) for th in self.nodes)
        return lo, hi

    def default_sigma(self):
        """Gaussian smoothing width: 1% of the support's width (or of its scale)."""
        lo, hi = self.support()
        width = hi - lo
        if width <= 0:
            width = max(abs(lo), abs(hi), 1.0)
        return 0.01 * width

    def grid(self, n_points=1000, sigma=None):
        """Evaluation points covering the support plus ``5 sigma`` on each side."""
        n_points = check_int(n_points, "n_points", "SpectralDensity.grid", 2)
        sigma = self.default_sigma() if sigma is None else check_positive(sigma, "sigma", "SpectralDensity.grid")
        lo, hi = self.support()
        return np.linspace(lo - 5 * sigma, hi + 5 * sigma, n_points)

    def evaluate(self, t, sigma=None):
        """The density smoothed by a Gaussian of width ``sigma`` at points ``t``:
        ``sum_l sum_j tau_j N(t; theta_j, sigma^2) / n_probes``."""
        sigma = self.default_sigma() if sigma is None else check_positive(sigma, "sigma", "SpectralDensity.evaluate")
        t = np.asarray(t, dtype=np.float64)
        out = np.zeros_like(t)
        c = 1.0 / (sigma * np.sqrt(2 * np.pi))
        for th, w in zip(self.nodes, self.weights):
            out += np.sum(w[:, None] * np.exp(-0.5 * ((t.ravel()[None, :] - th[:, None]) / sigma) ** 2),
                          axis=0).reshape(t.shape)
        return out * (c / self.n_probes)


def slq(matvec, dim=None, n_probes=10, n_steps=80, *, seed=0, dtype=None, check_symmetry=True):
    """Spectral density of a symmetric operator by stochastic Lanczos quadrature.

    Parameters
    ----------
    matvec, dim, dtype : see :func:`nnopt.curvature.lanczos`
    n_probes : int
        Number of random Rademacher probes: the columns of
        ``rng.integers(0, 2, size=(n, n_probes)) * 2 - 1``, divided by ``sqrt(n)``.
    n_steps : int
        Lanczos steps per probe (``min(n_steps, dim)``); the quadrature is
        exact for moments up to ``2 n_steps - 1``.
    seed : int or numpy.random.Generator
    check_symmetry : bool
        As in :func:`~nnopt.curvature.lanczos`.

    Returns
    -------
    SpectralDensity
        ``n_probes * n_steps`` products in all, ``n_probes`` at a time
        (``matmat``): the probes' recurrences advance in lockstep, so an
        operator with a batched product (the compiled Hessian of a dense
        stack) does one pass per step for all probes.

    Examples
    --------
    >>> import numpy as np
    >>> from nnopt.curvature import slq
    >>> d = slq(np.diag(np.linspace(-1.0, 2.0, 50)), n_probes=4, n_steps=20)
    >>> round(d.total_weight(), 12), round(d.moment(1), 1)
    (1.0, 0.5)
    """
    where = "slq"
    op = as_operator(matvec, dim, dtype, where)
    n_probes = check_int(n_probes, "n_probes", where, 1)
    n_steps = min(check_int(n_steps, "n_steps", where, 1), op.dim)
    _check_dense_symmetry(op, where, check_symmetry)
    rng = as_rng(seed, where)
    n, P, m = op.dim, n_probes, n_steps
    Z = rng.integers(0, 2, size=(n, P)).astype(op.dtype) * op.dtype.type(2) - op.dtype.type(1)
    alpha, beta, lengths = _block_lanczos_recurrences(op, Z * op.dtype.type(1.0 / np.sqrt(n)), m,
                                                      check_symmetry, where)
    nodes, weights = [], []
    for p in range(P):
        L = lengths[p]
        a, b = alpha[:L, p], beta[:L - 1, p]
        if L == 1:
            theta, S = a.copy(), np.ones((1, 1))
        else:
            theta, S = scipy.linalg.eigh_tridiagonal(a, b)
        nodes.append(theta)
        weights.append(S[0] ** 2)
    return SpectralDensity(tuple(nodes), tuple(weights), op.dim)


def _block_lanczos_recurrences(op, V, m, check_symmetry, where):
    """``P`` independent Lanczos recurrences (full reorthogonalisation, twice)
    advanced in lockstep, so that each step is one ``matmat`` with ``P``
    columns (one batched pass on the compiled path).  Returns the float64
    ``alpha`` and ``beta`` of shape ``(m, P)`` and each probe's length (a
    probe stops early when it finds an invariant subspace)."""
    n, P = V.shape
    dtype = op.dtype
    eps = float(np.finfo(dtype).eps)
    sym_tol = _sym_tol(dtype)
    Q = np.empty((m + 1, n, P), dtype=dtype)
    Q[0] = V
    alpha = np.zeros((m, P))
    beta = np.zeros((m, P))
    lengths = np.full(P, m, dtype=np.int64)
    active = np.ones(P, dtype=bool)
    anorm = np.zeros(P)
    for j in range(m):
        W = op.matmat(np.ascontiguousarray(Q[j]))
        Qj = Q[: j + 1]
        h = np.einsum("inp,np->ip", Qj, W)
        anorm = np.maximum(anorm, np.linalg.norm(W, axis=0))
        if check_symmetry and j >= 1:
            dev = np.abs(h[j - 1] - beta[j - 1])
            if j >= 2:
                dev = np.maximum(dev, np.max(np.abs(h[: j - 1]), axis=0))
            bad = active & (dev > sym_tol * np.maximum(anorm, np.finfo(np.float64).tiny))
            if np.any(bad):
                raise NonSymmetricOperatorError(
                    f"{where}: the operator is not symmetric (relative asymmetry "
                    f"{float(np.max(dev[bad] / anorm[bad])):.3g} > {sym_tol:.1e}); Lanczos needs a symmetric "
                    "operator (pass check_symmetry=False to skip this check)"
                )
        W -= np.einsum("inp,ip->np", Qj, h)
        h2 = np.einsum("inp,np->ip", Qj, W)
        W -= np.einsum("inp,ip->np", Qj, h2)
        alpha[j] = np.where(active, h[j] + h2[j], 0.0)
        b = np.linalg.norm(W, axis=0).astype(np.float64)
        broken = active & (b <= 10.0 * eps * np.maximum(anorm, np.finfo(np.float64).tiny) * np.sqrt(n))
        lengths[broken] = j + 1
        active &= ~broken
        beta[j] = np.where(active, b, 0.0)
        if j + 1 == m or not active.any():
            break
        Q[j + 1] = W / np.where(active, b, 1.0).astype(dtype)
    return alpha, beta, lengths


def plot_spectral_density(density, ax=None, *, log=False, sigma=None, n_points=1000, label=None, **kwargs):
    """Plot a :class:`SpectralDensity` (Gaussian-smoothed) with matplotlib.

    Parameters
    ----------
    density : SpectralDensity
    ax : matplotlib Axes, optional
    log : bool
        Log-scale density axis (floored at ``1e-12`` of the peak), which
        shows the outliers and the bulk at once (as in Ghorbani et al. 2019).
    sigma : float, optional
        Smoothing width (:meth:`SpectralDensity.default_sigma`).
    n_points : int
    label : str, optional
    **kwargs : passed to ``ax.plot``.

    Returns
    -------
    matplotlib Axes
    """
    if not isinstance(density, SpectralDensity):
        raise TypeError(f"plot_spectral_density: density must be a SpectralDensity, got {type(density).__name__}")
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.5))
    t = density.grid(n_points, sigma)
    phi = density.evaluate(t, sigma)
    if log:
        floor = 1e-12 * max(float(phi.max()), np.finfo(np.float64).tiny)
        phi = np.maximum(phi, floor)
        ax.set_yscale("log")
    ax.plot(t, phi, label=label, **kwargs)
    ax.set_xlabel("eigenvalue")
    ax.set_ylabel("density (log scale)" if log else "density")
    return ax
