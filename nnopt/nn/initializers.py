"""Weight initialisers.

Every initialiser has the signature ``init(rng, shape, fan_in, fan_out) ->
float64 array``; the model casts the result once to the requested dtype, so
the same seed gives the same point in float32 and float64 (the float32 one
is the float64 one rounded), which is what a precision study compares.

References: Glorot & Bengio (2010); He et al. (2015); Saxe et al. (2014) for
orthogonal matrices; Sutskever, Martens, Dahl & Hinton (2013), section 3, for
the sparse initialisation (each unit receives 15 non-zero incoming weights).
"""
from __future__ import annotations

import numpy as np

__all__ = [
    "glorot_normal", "glorot_uniform", "he_normal", "he_uniform", "lecun_normal",
    "orthogonal", "sparse", "zeros", "normal", "get",
]


def glorot_normal(rng, shape, fan_in, fan_out):
    """N(0, 2 / (fan_in + fan_out))."""
    return rng.normal(0.0, np.sqrt(2.0 / (fan_in + fan_out)), size=shape)


def glorot_uniform(rng, shape, fan_in, fan_out):
    """U(-l, l), l = sqrt(6 / (fan_in + fan_out))."""
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=shape)


def he_normal(rng, shape, fan_in, fan_out):
    """N(0, 2 / fan_in) (for relu networks)."""
    return rng.normal(0.0, np.sqrt(2.0 / fan_in), size=shape)


def he_uniform(rng, shape, fan_in, fan_out):
    """U(-l, l), l = sqrt(6 / fan_in)."""
    limit = np.sqrt(6.0 / fan_in)
    return rng.uniform(-limit, limit, size=shape)


def lecun_normal(rng, shape, fan_in, fan_out):
    """N(0, 1 / fan_in)."""
    return rng.normal(0.0, np.sqrt(1.0 / fan_in), size=shape)


def orthogonal(rng, shape, fan_in, fan_out, gain=1.0):
    """A (semi-)orthogonal matrix from the QR factorisation of a Gaussian one
    (sign-corrected so the distribution is uniform; Saxe et al. 2014)."""
    rows = int(np.prod(shape[:-1]))
    cols = shape[-1]
    a = rng.normal(size=(max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(a)
    q *= np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return gain * q[:rows, :cols].reshape(shape)


def sparse(rng, shape, fan_in, fan_out, n_nonzero=15, scale=1.0):
    """Sutskever et al. (2013) sparse initialisation: each output unit gets
    ``n_nonzero`` incoming weights drawn from N(0, scale^2), the rest zero."""
    W = np.zeros(shape)
    n_in = shape[0]
    k = min(n_nonzero, n_in)
    for j in range(shape[-1]):
        idx = rng.choice(n_in, size=k, replace=False)
        W[idx, j] = rng.normal(0.0, scale, size=k)
    return W


def zeros(rng, shape, fan_in, fan_out):
    return np.zeros(shape)


def normal(std):
    """Initialiser drawing from N(0, std^2)."""

    def init(rng, shape, fan_in, fan_out):
        return rng.normal(0.0, std, size=shape)

    init.__name__ = f"normal({std})"
    return init


_BY_NAME = {
    f.__name__: f
    for f in (glorot_normal, glorot_uniform, he_normal, he_uniform, lecun_normal, orthogonal, sparse, zeros)
}


def get(init):
    """An initialiser from its name or itself (a callable)."""
    if callable(init):
        return init
    try:
        return _BY_NAME[init]
    except KeyError:
        raise ValueError(f"unknown initialiser {init!r}; known: {sorted(_BY_NAME)}") from None
