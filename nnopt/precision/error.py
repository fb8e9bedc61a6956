"""Rounding error of a float computation, measured against an mpmath truth."""
from __future__ import annotations

from typing import NamedTuple, Optional

import mpmath
import numpy as np

from .. import autodiff
from .convert import to_mp
from .reference import check_dps

__all__ = ["RoundingError", "rounding_error", "relative_error"]


class RoundingError(NamedTuple):
    """Result of :func:`rounding_error`.

    Attributes
    ----------
    value : float
        Relative error of ``f`` computed in ``dtype``:
        ``||f_dtype - f_true|| / ||f_true||`` (2-norm over all outputs).
    grad : float or None
        Normwise relative error of the gradient, same formula; ``None`` when
        the gradient was not computed.
    grad_max : float or None
        Largest componentwise relative error of the gradient,
        ``max_i |g_i - g*_i| / |g*_i|`` (components with ``g*_i = 0`` count
        as 0 if computed exactly, inf otherwise).
    f : ndarray
        ``f`` computed in ``dtype``.
    f_ref : mpmath.mpf or ndarray of object
        ``f`` computed with ``dps`` digits at the same (exactly converted)
        inputs.
    dtype : numpy.dtype
        The working dtype (the lowest precision among the arguments).
    unit_roundoff : float
        ``np.finfo(dtype).eps / 2``; ``value / unit_roundoff`` is the error
        in units of the rounding of one operation.
    dps : int
        Digits of the reference computation.
    """

    value: float
    grad: Optional[float]
    grad_max: Optional[float]
    f: np.ndarray
    f_ref: object
    dtype: np.dtype
    unit_roundoff: float
    dps: int


def _leaves(x):
    if isinstance(x, (tuple, list)):
        out = []
        for v in x:
            out.extend(_leaves(v))
        return out
    return [x]


def _flat_mp(x):
    """All entries of ``x`` (arrays, tuples of arrays) as a list of mpf."""
    out = []
    for leaf in _leaves(to_mp(x)):
        out.extend(leaf.ravel().tolist() if isinstance(leaf, np.ndarray) else [leaf])
    return out


def relative_error(approx, exact):
    """Normwise relative error ``||approx - exact||_2 / ||exact||_2``.

    Computed in mpmath at the current precision, returned as a float;
    ``0.0`` when both are zero, ``inf`` when only ``exact`` is.
    """
    a, e = _flat_mp(approx), _flat_mp(exact)
    if len(a) != len(e):
        raise ValueError(f"relative_error: {len(a)} values against {len(e)} reference values")
    num = mpmath.sqrt(mpmath.fsum((x - y) ** 2 for x, y in zip(a, e)))
    den = mpmath.sqrt(mpmath.fsum(y ** 2 for y in e))
    if den == 0:
        return 0.0 if num == 0 else float("inf")
    return float(num / den)


def _max_componentwise(approx, exact):
    worst = 0.0
    for x, y in zip(_flat_mp(approx), _flat_mp(exact)):
        if y == 0:
            r = 0.0 if x == 0 else float("inf")
        else:
            r = float(abs(x - y) / abs(y))
        worst = max(worst, r)
    return worst


def rounding_error(f, *args, argnums=0, dps=50, grad=None):
    """How much rounding error ``f`` (and its gradient) suffer in ``x``'s dtype.

    ``f`` is evaluated as given (float32 stays float32) and again, at the same
    inputs converted exactly, with ``dps`` decimal digits through the mpmath
    interpreter (:mod:`nnopt.precision.reference`); the difference is the
    rounding error of the float computation (not of the input's rounding).

    Parameters
    ----------
    f : callable
        Written with :mod:`nnopt.numpy`.
    *args : arrays
        Real floating arrays; the working dtype is the lowest-precision one.
    argnums : int or tuple of ints, default 0
        The arguments to differentiate with respect to.
    dps : int, default 50
        Digits of the reference computation.
    grad : bool or None
        Also measure the gradient's error; ``None`` (default) means "if ``f``
        returns a scalar".

    Returns
    -------
    RoundingError

    Examples
    --------
    >>> import numpy as np, nnopt.numpy as nnp
    >>> from nnopt.precision import rounding_error
    >>> x = np.full(1000, 0.1, dtype=np.float32)
    >>> r = rounding_error(lambda x: nnp.sum(x * x), x)
    >>> r.value < 1000 * r.unit_roundoff
    True
    """
    if not callable(f):
        raise TypeError(f"rounding_error: f must be callable, got {type(f).__name__}")
    dps = check_dps(dps, "rounding_error")
    if not args:
        raise ValueError("rounding_error: give at least one argument")
    arrays = []
    for i, a in enumerate(args):
        a = np.asarray(a) if not isinstance(a, np.ndarray) else a
        if a.dtype.kind != "f":
            raise TypeError(
                f"rounding_error: args[{i}] must be a real floating array (float32/float64), "
                f"got dtype {a.dtype}"
            )
        arrays.append(a)
    dtype = max((a.dtype for a in arrays), key=lambda d: np.finfo(d).eps)
    if grad is not None and not isinstance(grad, (bool, np.bool_)):
        raise TypeError(f"rounding_error: grad must be True, False or None, got {grad!r}")

    value = f(*arrays)
    for leaf in _leaves(value):
        if np.asarray(leaf).dtype.kind != "f":
            raise TypeError(
                f"rounding_error: f returned dtype {np.asarray(leaf).dtype}; expected floating outputs"
            )
    scalar = not isinstance(value, (tuple, list)) and np.shape(value) == ()
    if grad is None:
        grad = scalar
    if grad and not scalar:
        raise ValueError(
            f"rounding_error: grad=True needs a scalar-valued f, got output shape {np.shape(value)}"
        )

    margs = [to_mp(a) for a in arrays]
    with mpmath.workdps(dps):
        if grad:
            value, g = autodiff.value_and_grad(f, argnums)(*arrays)
            value_ref, g_ref = autodiff.value_and_grad(f, argnums)(*margs)
        else:
            value_ref = f(*margs)
        # the comparisons run at dps digits too, so they add no error of their own
        err_value = relative_error(value, value_ref)
        err_grad = relative_error(g, g_ref) if grad else None
        err_grad_max = _max_componentwise(g, g_ref) if grad else None
    return RoundingError(
        value=err_value,
        grad=err_grad,
        grad_max=err_grad_max,
        f=value,
        f_ref=to_mp(value_ref),
        dtype=np.dtype(dtype),
        unit_roundoff=float(np.finfo(dtype).eps) / 2,
        dps=dps,
    )
