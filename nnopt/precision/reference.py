"""The mpmath interpreter: the same nnopt.numpy function in arbitrary precision.

Every primitive's implementation also runs on object arrays of
``mpmath.mpf``, and every derivative rule is written with primitives, so a
function written with :mod:`nnopt.numpy` can be evaluated, and differentiated
to any order, at ``dps`` significant decimal digits without change.  The
inputs are converted exactly (:func:`~nnopt.precision.to_mp`), so the result
is the value of the function *at the given floating-point point*, computed
with rounding errors of order ``10**-dps`` (times the condition number).

Constants inside the function are taken as written: a Python float such as
``0.1`` or ``np.pi`` is the double nearest to it, not the real number.  The
derivative rules of nnopt keep their irrational constants exact
(``_const`` in :mod:`nnopt.autodiff.rules.elementwise`).
"""
from __future__ import annotations

import mpmath
import numpy as np

from .. import autodiff
from .convert import to_mp

__all__ = ["evaluate", "grad", "value_and_grad", "hessian", "check_dps"]


def check_dps(dps, fname):
    """Validate a number of decimal digits (an int >= 1)."""
    if isinstance(dps, (bool, np.bool_)) or not isinstance(dps, (int, np.integer)):
        raise TypeError(f"{fname}: dps must be an int (decimal digits), got {dps!r}")
    if dps < 1:
        raise ValueError(f"{fname}: dps must be >= 1, got {dps}")
    return int(dps)


def _callable(f, fname):
    if not callable(f):
        raise TypeError(f"{fname}: f must be callable, got {type(f).__name__}")


def evaluate(f, *args, dps=50):
    """Evaluate ``f(*args)`` in arbitrary precision.

    Parameters
    ----------
    f : callable
        Written with :mod:`nnopt.numpy` (NumPy's own ufuncs such as
        ``np.exp`` do not work on mpmath numbers).
    *args : arrays or scalars
        Converted exactly to mpmath numbers (float32, float64, ints).
    dps : int, default 50
        Working precision in decimal digits (``mpmath.workdps``).

    Returns
    -------
    mpmath.mpf or ndarray of dtype object (or a tuple of them)
        The output of ``f`` with every entry an ``mpf``.

    Examples
    --------
    >>> import mpmath, numpy as np, nnopt.numpy as nnp
    >>> from nnopt.precision import evaluate
    >>> y = evaluate(lambda x: nnp.sum(nnp.exp(x)), np.array([0.0, 1.0]), dps=30)
    >>> print(mpmath.nstr(y, 30))
    3.71828182845904523536028747135
    """
    _callable(f, "evaluate")
    dps = check_dps(dps, "evaluate")
    margs = [to_mp(a) for a in args]
    with mpmath.workdps(dps):
        out = f(*margs)
    return to_mp(out)


def value_and_grad(f, *args, argnums=0, dps=50):
    """``(f(*args), grad f(*args))`` in arbitrary precision.

    Runs :func:`nnopt.value_and_grad` on object arrays of ``mpf``; the
    gradient has the shape of ``args[argnums]`` (a tuple for a tuple
    ``argnums``).  See :func:`evaluate` for the conversions.
    """
    _callable(f, "value_and_grad")
    dps = check_dps(dps, "value_and_grad")
    margs = [to_mp(a) for a in args]
    with mpmath.workdps(dps):
        value, g = autodiff.value_and_grad(f, argnums)(*margs)
    return to_mp(value), to_mp(g)


def grad(f, *args, argnums=0, dps=50):
    """The gradient of scalar-valued ``f`` in arbitrary precision.

    Parameters
    ----------
    f : callable
        Scalar-valued, written with :mod:`nnopt.numpy`.
    *args : arrays
        The point; converted exactly to mpmath numbers.
    argnums : int or tuple of ints, default 0
    dps : int, default 50

    Returns
    -------
    ndarray of dtype object (or mpf for a scalar argument)

    Examples
    --------
    >>> import mpmath, numpy as np, nnopt.numpy as nnp
    >>> from nnopt.precision import grad
    >>> g = grad(lambda x: nnp.sum(nnp.sin(x)), np.array([0.5]), dps=30)
    >>> print(mpmath.nstr(g[0], 30))  # cos(0.5)
    0.877582561890372716116281582604
    """
    return value_and_grad(f, *args, argnums=argnums, dps=dps)[1]


def hessian(f, *args, argnums=0, dps=50):
    """The dense Hessian of scalar-valued ``f`` in arbitrary precision
    (:func:`nnopt.hessian` on object arrays), shape ``x.shape * 2``."""
    _callable(f, "hessian")
    dps = check_dps(dps, "hessian")
    margs = [to_mp(a) for a in args]
    with mpmath.workdps(dps):
        H = autodiff.hessian(f, argnums)(*margs)
    return to_mp(H)
