"""Exact conversions between NumPy floats and mpmath numbers.

Every binary floating-point number is a dyadic rational, so it converts to an
``mpmath.mpf`` exactly; the way back rounds once, to nearest (ties to even),
directly to the target format (no double rounding through float64).
"""
from __future__ import annotations

import mpmath
import numpy as np

from ..autodiff.core import Tracer

__all__ = ["to_mp", "to_float"]

# Enough bits to hold any float64 or int64 exactly, whatever mp.prec is.
_EXACT_PREC = 64


def _mp_scalar(v, what):
    if isinstance(v, mpmath.mpf):
        return v
    if isinstance(v, (bool, np.bool_)):
        raise TypeError(f"{what}: expected real numbers, got a bool")
    if isinstance(v, (float, np.floating)):
        return mpmath.mpf(float(v))  # exact: every float32/float64 is a float
    if isinstance(v, (int, np.integer)):
        return mpmath.mpf(int(v))
    if isinstance(v, (complex, np.complexfloating, mpmath.mpc)):
        raise TypeError(f"{what}: complex values are not supported, got {v!r}")
    raise TypeError(f"{what}: expected a real number, got {type(v).__name__}")


def to_mp(x):
    """Convert floats to mpmath numbers, exactly.

    Parameters
    ----------
    x : array_like, scalar, or tuple/list of them
        Real floating or integer values (any NumPy float dtype, Python
        numbers, ``mpmath.mpf``, or object arrays of these).

    Returns
    -------
    mpmath.mpf or ndarray of dtype object
        ``mpf`` for a scalar, an object array of ``mpf`` of the same shape for
        an array (0-d arrays stay 0-d), tuples/lists elementwise.  The values
        are exact copies, independent of ``mpmath.mp.dps``.

    Examples
    --------
    >>> import numpy as np
    >>> from nnopt.precision import to_mp
    >>> import mpmath
    >>> to_mp(np.float32(0.1)) == mpmath.mpf(13421773) / 2**27  # 0.1f exactly
    True
    """
    with mpmath.workprec(max(mpmath.mp.prec, _EXACT_PREC)):
        return _to_mp(x)


def _to_mp(x):
    if isinstance(x, Tracer):
        raise TypeError("to_mp: got a traced value; convert inputs before calling a transform")
    if isinstance(x, (tuple, list)):
        return type(x)(_to_mp(v) for v in x)
    if isinstance(x, np.ndarray):
        kind = x.dtype.kind
        if kind == "c":
            raise TypeError(f"to_mp: complex arrays are not supported, got dtype {x.dtype}")
        if kind == "b":
            raise TypeError("to_mp: expected real numbers, got a boolean array")
        if kind not in "fiuO":
            raise TypeError(f"to_mp: expected a real numeric array, got dtype {x.dtype}")
        flat = x.ravel().tolist() if kind != "O" else list(x.ravel())
        out = np.empty(len(flat), dtype=object)
        out[:] = [_mp_scalar(v, "to_mp") for v in flat]
        return out.reshape(x.shape)
    return _mp_scalar(x, "to_mp")


def _round_to(v, dtype):
    """mpf -> the nearest value of ``dtype`` (float16/32/64), ties to even."""
    if not mpmath.isfinite(v):
        return dtype.type(float(v))
    info = np.finfo(dtype)
    bits = info.nmant + 1
    with mpmath.workprec(bits + 8):
        tiny = mpmath.ldexp(1, int(info.minexp))  # smallest normal
    if abs(v) >= tiny:
        with mpmath.workprec(bits):
            r = +v  # one rounding to `bits` significant bits, to nearest even
    else:  # subnormal range: a fixed grid of spacing 2**(minexp - nmant)
        q = int(info.minexp) - info.nmant
        with mpmath.workprec(max(mpmath.mp.prec, 64)):
            r = mpmath.ldexp(mpmath.nint(mpmath.ldexp(v, -q)), q)
    with np.errstate(over="ignore"):
        return dtype.type(float(r))  # exact unless it overflows (then +-inf)


def to_float(x, dtype=np.float64):
    """Round mpmath numbers to a NumPy float dtype, correctly (to nearest).

    Parameters
    ----------
    x : mpmath.mpf, number, object array, array, or tuple/list of them
    dtype : float16, float32 or float64
        Target dtype.  Each value is rounded once, to nearest with ties to
        even, directly to ``dtype`` (values beyond its range become +-inf).

    Returns
    -------
    NumPy scalar of ``dtype`` for a scalar input, ndarray of ``dtype`` for
    an array input, tuples/lists elementwise.
    """
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"to_float: dtype must be a NumPy float dtype, got {dtype!r}") from None
    if dtype.kind != "f" or np.finfo(dtype).nmant > 52:
        raise TypeError(f"to_float: dtype must be float16, float32 or float64, got {dtype}")
    return _to_float(x, dtype)


def _to_float(x, dtype):
    if isinstance(x, Tracer):
        raise TypeError("to_float: got a traced value")
    if isinstance(x, (tuple, list)):
        return type(x)(_to_float(v, dtype) for v in x)
    if isinstance(x, np.ndarray):
        if x.dtype.kind in "fiu":  # NumPy's casts round correctly to nearest
            with np.errstate(over="ignore"):
                return x.astype(dtype)
        if x.dtype.kind != "O":
            raise TypeError(f"to_float: expected a real numeric or object array, got dtype {x.dtype}")
        flat = [_round_to(_exact(v), dtype) for v in x.ravel()]
        return np.asarray(flat, dtype=dtype).reshape(x.shape)
    return _round_to(_exact(x), dtype)


def _exact(v):
    with mpmath.workprec(max(mpmath.mp.prec, _EXACT_PREC)):
        return _mp_scalar(v, "to_float")
