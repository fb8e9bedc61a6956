"""Collocation points: where the residual is evaluated.

Schemes (all reproducible from a seed):

``"equidistant"``  a uniform grid, ends included (tensor grid in d dimensions);
``"chebyshev"``    Chebyshev-Gauss nodes ``cos((2i + 1) pi / 2k)`` mapped to
                   the interval (tensor grid), clustered towards the ends;
``"random"``       independent uniform points;
``"sobol"``        a scrambled Sobol sequence (:class:`scipy.stats.qmc.Sobol`);
``"halton"``       a scrambled Halton sequence.

For grids in ``d`` dimensions ``n`` is the total number of points; the grid
has ``round(n ** (1/d))`` points per axis.
"""
from __future__ import annotations

import warnings

import numpy as np

__all__ = ["SCHEMES", "points", "face_points", "grid", "check_points"]

SCHEMES = ("equidistant", "chebyshev", "random", "sobol", "halton")


def _unit(scheme, n, d, rng):
    """n points in [0, 1]^d."""
    if scheme in ("equidistant", "chebyshev"):
        k = max(int(round(n ** (1.0 / d))), 1) if d > 1 else n
        if scheme == "equidistant":
            axis = np.linspace(0.0, 1.0, k) if k > 1 else np.array([0.5])
        else:
            i = np.arange(k)
            axis = np.sort(0.5 - 0.5 * np.cos((2 * i + 1) * np.pi / (2 * k)))
        mesh = np.meshgrid(*([axis] * d), indexing="ij")
        return np.column_stack([m.ravel() for m in mesh])
    if scheme == "random":
        return rng.uniform(0.0, 1.0, size=(n, d))
    from scipy.stats import qmc

    seed = int(rng.integers(2**31 - 1))
    engine = qmc.Sobol(d, scramble=True, seed=seed) if scheme == "sobol" else qmc.Halton(d, scramble=True, seed=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Sobol's balance warning for n not a power of 2
        return engine.random(n)


def points(scheme, n, lows, highs, rng=None, dtype=np.float64):
    """``n`` collocation points of ``scheme`` in the box ``[lows, highs]``: shape (n', d).

    Parameters
    ----------
    scheme : str
        One of :data:`SCHEMES`.
    n : int
        Number of points (grids round it to a full tensor grid).
    lows, highs : array (d,)
    rng : numpy.random.Generator, optional
        Source of randomness for the random and quasi-random schemes.
    dtype : numpy dtype
    """
    if scheme not in SCHEMES:
        raise ValueError(f"collocation must be one of {SCHEMES}, got {scheme!r}")
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
        raise ValueError(f"the number of collocation points must be a positive integer, got {n!r}")
    lows, highs = np.asarray(lows, float), np.asarray(highs, float)
    rng = np.random.default_rng(0) if rng is None else rng
    U = _unit(scheme, int(n), len(lows), rng)
    return (lows + U * (highs - lows)).astype(dtype)


def face_points(scheme, n, lows, highs, axis, side, rng=None, dtype=np.float64):
    """``n`` points on the face ``x_axis = (lows or highs)[axis]`` of the box."""
    d = len(lows)
    if d == 1:
        return np.array([[lows[0] if side == 0 else highs[0]]], dtype=dtype)
    lo = np.delete(np.asarray(lows, float), axis)
    hi = np.delete(np.asarray(highs, float), axis)
    P = points(scheme, n, lo, hi, rng, np.float64)
    x = lows[axis] if side == 0 else highs[axis]
    return np.insert(P, axis, x, axis=1).astype(dtype)


def grid(lows, highs, n=None, dtype=np.float64):
    """The evaluation grid: 1001 points in 1-D, 101 per axis in 2-D, 31 per axis above."""
    d = len(lows)
    if n is None:
        n = {1: 1001, 2: 101}.get(d, 31)
    axes = [np.linspace(lo, hi, n) for lo, hi in zip(lows, highs)]
    mesh = np.meshgrid(*axes, indexing="ij")
    return np.column_stack([m.ravel() for m in mesh]).astype(dtype)


def check_points(P, lows, highs, name="points"):
    """Validate user points: shape (n,) for 1-D or (n, d), finite, inside the box."""
    d = len(lows)
    arr = np.asarray(P)
    if arr.dtype.kind not in "fiu":
        raise TypeError(f"{name}: expected a real array of points, got dtype {arr.dtype}")
    if d == 1 and arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[1] != d or arr.shape[0] == 0:
        want = "(n,) or (n, 1)" if d == 1 else f"(n, {d})"
        raise ValueError(f"{name}: expected points of shape {want}, got {np.shape(P)}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name}: the points must be finite")
    lo, hi = np.asarray(lows, float), np.asarray(highs, float)
    # a domain end rounded to the points' dtype (float32 2*pi) is still inside
    tol = 4 * np.finfo(arr.dtype if arr.dtype.kind == "f" else np.float64).eps * np.maximum(
        1.0, np.maximum(np.abs(lo), np.abs(hi)))
    outside = np.any((arr < lo - tol) | (arr > hi + tol), axis=1)
    if np.any(outside):
        i = int(np.argmax(outside))
        box = " x ".join(f"[{a:g}, {b:g}]" for a, b in zip(lo, hi))
        raise ValueError(
            f"{name}: {int(outside.sum())} point(s) lie outside the domain {box}, e.g. point {i}: {arr[i].tolist()}"
        )
    return arr
