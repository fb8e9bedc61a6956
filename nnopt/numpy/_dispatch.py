"""Routing of NumPy's own functions, applied to traced values, to nnopt.numpy.

``np.exp(x)`` or ``A @ x`` with ``x`` traced arrive here through NumPy's
``__array_ufunc__`` / ``__array_function__`` protocols.  Functions with a
differentiable counterpart are forwarded to it; anything else raises an
error naming the function, never a silently wrong derivative.
"""
from __future__ import annotations

from ..autodiff.core import UnsupportedOperationError

_UFUNC_ALIASES = {"absolute": "abs", "true_divide": "divide", "arctan": "arctan"}


def _nnp():
    import nnopt.numpy as nnp

    return nnp


def array_ufunc(ufunc, method, inputs, kwargs):
    name = ufunc.__name__
    nnp = _nnp()
    fn = getattr(nnp, _UFUNC_ALIASES.get(name, name), None)
    if method != "__call__" or fn is None or (name not in nnp.__all__ and name not in _UFUNC_ALIASES):
        raise UnsupportedOperationError(
            f"numpy.{name}{'' if method == '__call__' else '.' + method} is not supported on "
            "traced values inside an nnopt transform; see nnopt.numpy.__all__ for the "
            "differentiable operations"
        )
    if kwargs.get("out") is not None:
        raise UnsupportedOperationError(f"numpy.{name}: out= is not supported inside a transform")
    kwargs = {k: v for k, v in kwargs.items() if k != "out"}
    if kwargs:
        raise UnsupportedOperationError(f"numpy.{name}: keyword arguments {sorted(kwargs)} are not supported inside a transform")
    return fn(*inputs)


def array_function(func, args, kwargs):
    name = func.__name__
    nnp = _nnp()
    module = getattr(func, "__module__", "") or ""
    qualified = f"{module}.{name}" if module else name
    if module not in ("numpy",) or name not in nnp.__all__:
        raise UnsupportedOperationError(
            f"{qualified.replace('numpy._core.', 'numpy.')} is not supported on traced values "
            "inside an nnopt transform; use the functions of nnopt.numpy "
            "(nnopt.numpy.__all__ lists them)"
        )
    return getattr(nnp, name)(*args, **kwargs)
