"""The objective as the solvers see it: counted, dtype-checked evaluations.

:class:`Problem` wraps what the user passed to :func:`minimize` (plain
callables ``fun``/``jac``/``hessp``/``hess`` as in SciPy, or an object with
``fun``/``jac``/``hessp``/``hess``/``value_and_grad`` methods such as
``nnopt.Objective``) and gives the solvers one interface:

* ``fun(x)``, ``grad(x)``, ``fun_and_grad(x)``, ``hessp(x, v)``, ``hess(x)``;
* counters ``nfev``, ``njev``, ``nhev`` (one call of ``fun_and_grad`` counts
  one function and one gradient evaluation, as in SciPy);
* checks: a scalar of x's dtype from ``fun``, a gradient of x's shape and
  dtype, ... -- a float32 run never silently turns into a float64 one.

Missing derivatives come from :mod:`nnopt`'s transforms: ``jac=None`` means
``nnopt.value_and_grad(fun)``, ``hessp`` defaults to ``nnopt.hvp(fun, x, v)``
and ``hess`` to ``nnopt.hessian(fun)(x)``.
"""
from __future__ import annotations

import numbers

import numpy as np

__all__ = ["Problem", "check_x0", "check_float_option", "check_int_option"]


# ---------------------------------------------------------------------------
# argument checks shared by minimize() and line_search()
# ---------------------------------------------------------------------------


def check_x0(x0, name="x0"):
    """Return ``x0`` as a new 1-D, finite, real floating array (its dtype kept)."""
    if isinstance(x0, (bool, np.bool_)):
        raise TypeError(f"{name}: expected a 1-D real floating-point array, got a bool")
    arr = np.asarray(x0)
    if arr.dtype.kind in "iub":
        kind = {"i": "integer", "u": "unsigned integer", "b": "boolean"}[arr.dtype.kind]
        raise TypeError(
            f"{name}: expected a real floating-point array (float32 or float64), got {kind} "
            f"dtype {arr.dtype}; cast it explicitly, e.g. np.asarray({name}, dtype=np.float64)"
        )
    if arr.dtype.kind != "f":
        raise TypeError(
            f"{name}: expected a real floating-point array (float32 or float64), got dtype {arr.dtype}"
        )
    if arr.ndim != 1:
        raise ValueError(
            f"{name}: expected a 1-D parameter vector, got shape {arr.shape}; "
            f"flatten it (e.g. {name}.ravel()) and reshape inside the function"
        )
    if arr.size == 0:
        raise ValueError(f"{name}: expected a non-empty vector, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        bad = np.flatnonzero(~np.isfinite(arr))
        raise ValueError(
            f"{name}: must be finite, got {bad.size} non-finite entries (first at index "
            f"{bad[0]}: {arr[bad[0]]!r})"
        )
    return np.array(arr, copy=True)


def check_float_option(value, name, *, low=0.0, low_open=False, high=None, high_open=False,
                       allow_none=False):
    """Validate a real scalar option and return it as a Python float."""
    if value is None and allow_none:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: expected a real number, got {type(value).__name__} {value!r}")
    v = float(value)
    if np.isnan(v):
        raise ValueError(f"{name}: expected a number, got nan")
    bad_low = low is not None and (v <= low if low_open else v < low)
    bad_high = high is not None and (v >= high if high_open else v > high)
    if bad_low or bad_high:
        lo = "" if low is None else ("(" if low_open else "[") + f"{low:g}"
        hi = "" if high is None else f"{high:g}" + (")" if high_open else "]")
        rng = f"{lo or '(-inf'}, {hi or 'inf)'}"
        raise ValueError(f"{name}: expected a value in {rng}, got {value!r}")
    return v


def check_int_option(value, name, *, low=0, allow_none=False):
    """Validate an integer option (``>= low``) and return it as a Python int."""
    if value is None and allow_none:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}: expected an integer, got {type(value).__name__} {value!r}")
    v = int(value)
    if v < low:
        raise ValueError(f"{name}: expected an integer >= {low}, got {v}")
    return v


# ---------------------------------------------------------------------------
# the wrapped objective
# ---------------------------------------------------------------------------


def _method(obj, name):
    m = getattr(obj, name, None)
    return m if callable(m) else None


def _is_objective_object(fun):
    """An object with a ``fun`` method (nnopt.Objective and look-alikes)."""
    return not isinstance(fun, type) and _method(fun, "fun") is not None and not hasattr(fun, "__code__")


class Problem:
    """Counted, dtype-checked evaluations of an objective (see module docstring).

    Parameters
    ----------
    fun : callable or object
        ``fun(x) -> scalar``, or an object with a ``fun`` method (and
        optionally ``jac``, ``value_and_grad``, ``hessp``, ``hess``).
    x0 : ndarray
        Fixes the dtype and shape that every evaluation must keep.
    jac, hessp, hess : callable, bool or None
        As in :func:`scipy.optimize.minimize`; ``jac=True`` means ``fun``
        returns ``(f, g)``.  ``None`` takes the object's method, else the
        :mod:`nnopt` transform of ``fun``.
    """

    def __init__(self, fun, x0, jac=None, hessp=None, hess=None):
        x0 = np.asarray(x0)
        self.dtype = x0.dtype
        self.n = x0.shape[0]
        self.nfev = 0
        self.njev = 0
        self.nhev = 0
        self._value_and_grad = None
        self._jac_returns_pair = False
        self._astype_hint = ""

        if _is_objective_object(fun):
            obj = fun
            self._fun = obj.fun
            if jac is None:
                jac = _method(obj, "jac")
                self._value_and_grad = _method(obj, "value_and_grad")
            if hessp is None:
                hessp = _method(obj, "hessp")
            if hess is None:
                hess = _method(obj, "hess")
            if _method(obj, "astype") is not None:
                self._astype_hint = (
                    f"; the objective may need converting first, e.g. objective.astype(np.{self.dtype.name})"
                )
            self._differentiable = None  # an object's fun need not be written with nnp
            self.name = type(obj).__name__
        elif callable(fun):
            self._fun = fun
            self._differentiable = fun
            self.name = getattr(fun, "__name__", type(fun).__name__)
        else:
            raise TypeError(
                "fun: expected a callable fun(x) -> scalar or an object with fun/jac methods "
                f"(e.g. nnopt.Objective), got {type(fun).__name__}"
            )

        if jac is True:
            self._jac_returns_pair = True
            self._jac = None
        elif jac is None or jac is False:
            self._jac = None
            if self._value_and_grad is None:
                from nnopt.autodiff import value_and_grad as _vg

                self._value_and_grad = _vg(self._fun)
        elif callable(jac):
            self._jac = jac
        elif isinstance(jac, str):
            raise ValueError(
                f"jac: finite-difference schemes ({jac!r}) are not supported; nnopt differentiates "
                "fun exactly when jac=None (write fun with nnopt.numpy), or pass a callable"
            )
        else:
            raise TypeError(f"jac: expected a callable, True or None, got {type(jac).__name__}")

        for name, f in (("hessp", hessp), ("hess", hess)):
            if f is not None and not callable(f):
                raise TypeError(f"{name}: expected a callable or None, got {type(f).__name__}")
        self._hessp = hessp
        self._hess = hess
        self._hess_cache = (None, None)  # (x copy, H) when hessp comes from hess

    # -- output checks ---------------------------------------------------------
    def _scalar(self, f, what="fun"):
        dt = self.dtype
        if isinstance(f, np.ndarray):
            if f.shape != ():
                raise ValueError(
                    f"{what}: must return a scalar (shape ()), got an array of shape {f.shape}"
                    + ("; for least squares use method='lm' with fun returning the residual vector"
                       if f.ndim == 1 and what == "fun" else "")
                )
            f = f[()]
        if isinstance(f, np.generic):
            if f.dtype != dt:
                raise TypeError(
                    f"{what}: returned dtype {f.dtype} but x0 has dtype {dt}; every evaluation must "
                    f"stay in x0's dtype (nnopt never mixes precisions silently){self._astype_hint}"
                )
            return f
        if isinstance(f, (bool, np.bool_)) or not isinstance(f, numbers.Real):
            from nnopt.autodiff.core import Tracer

            if isinstance(f, Tracer):
                raise TypeError(f"{what}: returned a traced value outside a transform")
            raise TypeError(f"{what}: must return a real scalar, got {type(f).__name__}")
        if dt != np.float64:
            raise TypeError(
                f"{what}: returned a Python {type(f).__name__} (double precision) but x0 has dtype "
                f"{dt}; return a {dt} scalar (e.g. np.{dt.name}(value)) or pass x0 as float64"
                f"{self._astype_hint}"
            )
        return dt.type(f)

    def _vector(self, g, what="jac"):
        if not isinstance(g, np.ndarray):
            g = np.asarray(g)
        if g.shape != (self.n,):
            raise ValueError(f"{what}: must return an array of shape ({self.n},) like x0, got shape {g.shape}")
        if g.dtype != self.dtype:
            raise TypeError(
                f"{what}: returned dtype {g.dtype} but x0 has dtype {self.dtype}; every evaluation "
                f"must stay in x0's dtype{self._astype_hint}"
            )
        return g

    # -- evaluations -------------------------------------------------------------
    def fun(self, x):
        """``f(x)`` (counts one function evaluation)."""
        self.nfev += 1
        if self._jac_returns_pair:
            self.njev += 1
            f, g = self._pair(x)
            return f
        return self._scalar(self._fun(x))

    def _pair(self, x):
        out = self._fun(x)
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            raise TypeError("fun: with jac=True, fun must return a pair (f, g)")
        return self._scalar(out[0]), self._vector(out[1], "fun (gradient part, jac=True)")

    def grad(self, x):
        """``grad f(x)`` (counts one gradient evaluation)."""
        if self._jac is not None:
            self.njev += 1
            return self._vector(self._jac(x))
        return self.fun_and_grad(x, _count_f=False)[1]

    def fun_and_grad(self, x, _count_f=True):
        """``(f(x), grad f(x))``; counts one function and one gradient evaluation."""
        self.nfev += _count_f
        self.njev += 1
        if self._jac_returns_pair:
            return self._pair(x)
        if self._value_and_grad is not None:  # one pass (an object's method, or nnopt's transform)
            f, g = self._value_and_grad(x)
            return self._scalar(f, "fun (value_and_grad)"), self._vector(g, "gradient (value_and_grad)")
        return self._scalar(self._fun(x)), self._vector(self._jac(x))

    def hessp(self, x, v):
        """Hessian-vector product ``H(x) v`` (counts one in ``nhev``)."""
        if self._hessp is not None:
            self.nhev += 1
            return self._vector(self._hessp(x, v), "hessp")
        if self._hess is not None:
            xc, H = self._hess_cache
            if xc is None or not np.array_equal(xc, x):
                H = self.hess(x)
                self._hess_cache = (x.copy(), H)
            return H @ v
        self.nhev += 1
        return self._vector(self._autodiff("hessp", lambda f: _hvp(f, x, v)), "hessp (nnopt.hvp)")

    def hess(self, x):
        """The dense Hessian ``H(x)``, shape ``(n, n)`` (counts one in ``nhev``)."""
        self.nhev += 1
        if self._hess is not None:
            H = self._hess(x)
        else:
            H = self._autodiff("hess", lambda f: _hessian(f)(x))
        H = np.asarray(H)
        if H.shape != (self.n, self.n):
            raise ValueError(f"hess: must return an array of shape ({self.n}, {self.n}), got {H.shape}")
        if H.dtype != self.dtype:
            raise TypeError(f"hess: returned dtype {H.dtype} but x0 has dtype {self.dtype}")
        return H

    def _autodiff(self, what, compute):
        if self._differentiable is None:
            raise ValueError(
                f"{what}: the objective object has no {what} method and nnopt cannot "
                f"differentiate its fun method; pass {what}= explicitly"
            )
        return compute(self._differentiable)

    def counts(self):
        return self.nfev, self.njev, self.nhev


def _hvp(f, x, v):
    from nnopt.autodiff import hvp

    return hvp(f, x, v)


def _hessian(f):
    from nnopt.autodiff import hessian

    return hessian(f)
