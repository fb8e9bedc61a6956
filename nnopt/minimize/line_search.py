"""``line_search``: one entry point to the three line searches.

=================  =====================================  ========================================
method             conditions at success                  module
=================  =====================================  ========================================
``"armijo"``       sufficient decrease (Armijo)           :mod:`nnopt.minimize.armijo`
``"more-thuente"`` strong Wolfe                           :mod:`nnopt.minimize.more_thuente`
``"hager-zhang"``  Wolfe, or approximate Wolfe            :mod:`nnopt.minimize.hager_zhang`
=================  =====================================  ========================================
"""
from __future__ import annotations

import numpy as np

from ._linefun import LineFunction, LineSearchResult, LineSearchStatus
from ._problem import Problem, check_float_option, check_int_option, check_x0
from .armijo import armijo
from .hager_zhang import hager_zhang
from .more_thuente import more_thuente

__all__ = ["line_search", "LINE_SEARCHES", "LineFunction", "LineSearchResult", "LineSearchStatus",
           "search_along"]

LINE_SEARCHES = {
    "armijo": armijo,
    "more-thuente": more_thuente,
    "hager-zhang": hager_zhang,
}

# accepted options (beyond alpha0) per method, with their checks
_OPTION_CHECKS = {
    "c1": lambda v: check_float_option(v, "c1", low=0, low_open=True, high=1, high_open=True),
    "c2": lambda v: check_float_option(v, "c2", low=0, low_open=True, high=1, high_open=True),
    "maxfev": lambda v: check_int_option(v, "maxfev", low=1),
    "xtol": lambda v: check_float_option(v, "xtol", low=0),
    "alpha_min": lambda v: check_float_option(v, "alpha_min", low=0),
    "alpha_max": lambda v: check_float_option(v, "alpha_max", low=0, low_open=True),
    "epsilon_k": lambda v: check_float_option(v, "epsilon_k", low=0),
    "approximate": lambda v: bool(v),
    "shrink_low": lambda v: check_float_option(v, "shrink_low", low=0, low_open=True, high=1, high_open=True),
    "shrink_high": lambda v: check_float_option(v, "shrink_high", low=0, low_open=True, high=1, high_open=True),
    "need_grad": lambda v: bool(v),
    "gamma": lambda v: check_float_option(v, "gamma", low=0, low_open=True, high=1, high_open=True),
    "rho": lambda v: check_float_option(v, "rho", low=1, low_open=True),
}
_ALLOWED = {
    "armijo": {"c1", "maxfev", "alpha_min", "shrink_low", "shrink_high", "need_grad"},
    "more-thuente": {"c1", "c2", "maxfev", "xtol", "alpha_min", "alpha_max"},
    "hager-zhang": {"c1", "c2", "maxfev", "epsilon_k", "approximate", "gamma", "rho", "alpha_max"},
}


def check_line_search_method(method, name="line_search"):
    if not isinstance(method, str) or method.lower() not in LINE_SEARCHES:
        raise ValueError(
            f"{name}: expected one of {sorted(LINE_SEARCHES)}, got {method!r}"
        )
    return method.lower()


def check_line_search_options(method, options, name="line_search_options"):
    """Validate options for ``method``; returns a new dict."""
    out = {}
    for key, value in options.items():
        if key not in _ALLOWED[method]:
            raise TypeError(
                f"{name}: unknown option {key!r} for line search {method!r}; "
                f"accepted: {sorted(_ALLOWED[method])}"
            )
        out[key] = _OPTION_CHECKS[key](value)
    if "c1" in out and "c2" in out and not out["c1"] < out["c2"]:
        raise ValueError(f"c1, c2: need 0 < c1 < c2 < 1, got c1={out['c1']}, c2={out['c2']}")
    return out


def search_along(method, phi, alpha0, options):
    """Run line search ``method`` on the :class:`LineFunction` ``phi``."""
    return LINE_SEARCHES[method](phi, alpha0, **options)


def line_search(fun, x, d, jac=None, *, method="more-thuente", f0=None, g0=None, alpha0=1.0,
                **options):
    """Search for a step along ``d`` from ``x``: ``x_new = x + alpha d``.

    Parameters
    ----------
    fun : callable or object
        ``fun(x) -> scalar`` (or an object with ``fun``/``jac``/
        ``value_and_grad`` methods, e.g. ``nnopt.Objective``).
    x, d : ndarray
        Start point and direction: 1-D, same shape and floating dtype; ``d``
        must be a descent direction (``grad f(x) . d < 0``).
    jac : callable, True or None
        Gradient; ``None`` differentiates ``fun`` with :func:`nnopt.grad`.
    method : {"more-thuente", "hager-zhang", "armijo"}
        See the module docstring.
    f0, g0 : optional
        ``f(x)`` and ``grad f(x)`` if already known (saves one evaluation).
    alpha0 : float
        First trial step.
    **options
        Passed to the line search: ``c1``, ``c2``, ``maxfev``, ``xtol``,
        ``alpha_min``, ``alpha_max`` (More-Thuente); ``c1``, ``c2``,
        ``epsilon_k``, ``approximate``, ``gamma``, ``rho``, ``maxfev``,
        ``alpha_max`` (Hager-Zhang); ``c1``, ``shrink_low``, ``shrink_high``,
        ``maxfev``, ``alpha_min``, ``need_grad`` (Armijo).

    Returns
    -------
    LineSearchResult
        ``alpha``, ``x``, ``fun``, ``jac`` at the step, the evaluations this
        search made (``nfev``, ``njev``; computing ``f0``/``g0`` here is not
        included), ``status``, ``message``, ``success``.

    Raises
    ------
    ValueError
        If ``d`` is not a descent direction, or inputs are malformed.

    Examples
    --------
    >>> import numpy as np, nnopt.numpy as nnp
    >>> from nnopt.minimize import line_search
    >>> f = lambda x: nnp.sum((x - 1.0) ** 2)
    >>> r = line_search(f, np.zeros(3), np.ones(3))
    >>> bool(r.success), float(r.alpha)
    (True, 1.0)
    """
    method = check_line_search_method(method, "method")
    x = check_x0(x, "x")
    d_arr = np.asarray(d)
    if d_arr.shape != x.shape:
        raise ValueError(f"d: expected shape {x.shape} like x, got {d_arr.shape}")
    if d_arr.dtype != x.dtype:
        raise TypeError(f"d: expected dtype {x.dtype} like x, got {d_arr.dtype}")
    if not np.all(np.isfinite(d_arr)):
        raise ValueError("d: must be finite")
    a0 = check_float_option(alpha0, "alpha0", low=0, low_open=True)
    opts = check_line_search_options(method, options, "options")
    problem = Problem(fun, x, jac=jac)
    if f0 is None or g0 is None:
        f0_, g0_ = problem.fun_and_grad(x)
        f0 = f0_ if f0 is None else problem._scalar(f0, "f0")
        g0 = g0_ if g0 is None else problem._vector(np.asarray(g0), "g0")
    else:
        f0 = problem._scalar(f0, "f0")
        g0 = problem._vector(np.asarray(g0), "g0")
    if not (np.isfinite(f0) and np.all(np.isfinite(g0))):
        raise ValueError(f"fun: f(x) and its gradient must be finite at x, got f(x)={f0!r}")
    phi = LineFunction(problem, x, d_arr, f0, g0)
    if not phi.dphi0 < 0:
        raise ValueError(
            f"d: not a descent direction: grad f(x) . d = {float(phi.dphi0):.6g} >= 0; "
            "a line search needs grad f(x) . d < 0 (e.g. d = -grad f(x))"
        )
    return search_along(method, phi, x.dtype.type(a0), opts)
