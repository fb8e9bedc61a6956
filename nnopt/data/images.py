"""Synthetic image data generated from a fixed seed (no downloads).

* :func:`curves` - CURVES-like 28x28 images: as for the original CURVES set
  (Hinton & Salakhutdinov 2006), each image is a random smooth curve through
  three random points, rendered to pixels with intensities in [0, 1]
  (here a quadratic Bezier curve drawn with a Gaussian pen of width
  ``pen`` pixels);
* :func:`bars` - a synthetic 10-class image task: a bar through a random
  centre at one of 10 orientations (the class), plus pixel noise;
* :func:`digits` - the scikit-learn 8x8 digits (1797 images) when
  scikit-learn is installed.
"""
from __future__ import annotations

import numpy as np

__all__ = ["curves", "bars", "digits"]


def _render(points, size, pen):
    """Images (N, size, size): at every pixel, the maximum over the curve
    samples of a Gaussian pen ``exp(-d^2 / (2 pen^2))`` (d in pixels), each
    sample touching the pixels within 3 pen of it."""
    N, K, _ = points.shape
    xy = points * size - 0.5  # pixel coordinates of the samples
    r = int(np.ceil(3 * pen))
    offs = np.arange(-r, r + 1)
    base = np.rint(xy).astype(np.int64)  # (N, K, 2)
    px = base[..., 0, None, None] + offs[None, None, None, :]  # (N, K, 1, W)
    py = base[..., 1, None, None] + offs[None, None, :, None]  # (N, K, W, 1)
    d2 = (px - xy[..., 0, None, None]) ** 2 + (py - xy[..., 1, None, None]) ** 2
    val = np.exp(-d2 / (2.0 * pen * pen))
    px, py = np.broadcast_arrays(px, py)
    ok = (px >= 0) & (px < size) & (py >= 0) & (py < size)
    img = np.repeat(np.arange(N), K * offs.size ** 2).reshape(val.shape)
    out = np.zeros(N * size * size)
    np.maximum.at(out, (img * size * size + py * size + px)[ok], val[ok])
    return out.reshape(N, size, size)


def _check_count(n, name):
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"{name}: expected a positive integer, got {n!r}")


def curves(n=2000, size=28, pen=0.8, samples=48, seed=0, dtype=np.float32):
    """CURVES-like images, shape (n, size * size), values in [0, 1].

    Three control points uniform in [0.1, 0.9]^2 define a quadratic Bezier
    curve ``B(t) = (1-t)^2 P0 + 2 t (1-t) P1 + t^2 P2``, sampled at
    ``samples`` values of t and rendered by :func:`_render`.
    """
    _check_count(n, "n")
    _check_count(size, "size")
    rng = np.random.default_rng(seed)
    P = rng.uniform(0.1, 0.9, size=(n, 3, 2))
    t = np.linspace(0.0, 1.0, samples)[None, :, None]
    pts = (1 - t) ** 2 * P[:, None, 0] + 2 * t * (1 - t) * P[:, None, 1] + t ** 2 * P[:, None, 2]
    return _render(pts, size, pen).reshape(n, -1).astype(dtype)


def bars(n=2000, size=28, n_classes=10, noise=0.3, seed=0, dtype=np.float32):
    """(X, y): images (n, 1, size, size) of a bar at orientation ``pi * y / n_classes``
    through a random centre, with Gaussian pixel noise; integer labels y."""
    _check_count(n, "n")
    _check_count(n_classes, "n_classes")
    rng = np.random.default_rng(seed)
    y = rng.integers(0, n_classes, n)
    angle = np.pi * y / n_classes
    centre = rng.uniform(0.35, 0.65, size=(n, 2))
    half = rng.uniform(0.2, 0.3, size=(n, 1))
    t = np.linspace(-1.0, 1.0, 24)[None, :, None]
    direction = np.stack([np.cos(angle), np.sin(angle)], axis=1)[:, None, :]
    pts = centre[:, None, :] + t * half[:, :, None] * direction
    X = _render(pts, size, 1.0) + noise * rng.standard_normal((n, size, size))
    return X[:, None].astype(dtype), y


def digits(dtype=np.float32):
    """(X, y): the scikit-learn 8x8 digits, X of shape (1797, 1, 8, 8) scaled to [0, 1].

    Raises ImportError when scikit-learn is not installed (an optional extra).
    """
    from sklearn.datasets import load_digits

    d = load_digits()
    return (d.images / 16.0)[:, None].astype(dtype), d.target.astype(np.int64)
