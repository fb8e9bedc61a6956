"""``minimize``: the one entry point to the full-batch solvers."""
from __future__ import annotations

import numpy as np

from . import cg, gd, lm, newton, newton_cg, qn
from ._driver import CommonOptions, run
from ._options import take_options
from ._problem import Problem, check_float_option, check_int_option, check_x0

__all__ = ["minimize", "METHODS"]

METHODS = {
    "gd": gd.SPEC,
    "cg": cg.SPEC,
    "lbfgs": qn.LBFGS_SPEC,
    "bfgs": qn.BFGS_SPEC,
    "sr1": newton.SR1_SPEC,
    "newton-cg": newton_cg.SPEC,
    "newton": newton.NEWTON_SPEC,
    "lm": lm.SPEC,
}

_ALIASES = {"l-bfgs": "lbfgs", "l-bfgs-b": "lbfgs", "newtoncg": "newton-cg", "newton_cg": "newton-cg",
            "gradient-descent": "gd"}


def _common_options(n, dtype, maxiter, maxfev, gtol, ftol, xtol, norm, max_time, callback):
    eps = float(np.finfo(dtype).eps)
    maxiter = max(1000, 200 * n) if maxiter is None else check_int_option(maxiter, "maxiter", low=0)
    maxfev = check_int_option(maxfev, "maxfev", low=1, allow_none=True)
    gtol = eps ** 0.5 if gtol is None else check_float_option(gtol, "gtol", low=0)
    ftol = 0.0 if ftol is None else check_float_option(ftol, "ftol", low=0)
    xtol = 0.0 if xtol is None else check_float_option(xtol, "xtol", low=0)
    if isinstance(norm, (bool, np.bool_)) or not (norm == np.inf or (isinstance(norm, (int, float)) and norm >= 1)):
        raise ValueError(f"norm: expected np.inf or a number >= 1, got {norm!r}")
    max_time = check_float_option(max_time, "max_time", low=0, low_open=True, allow_none=True)
    if callback is not None and not callable(callback):
        raise TypeError(f"callback: expected a callable or None, got {type(callback).__name__}")
    return CommonOptions(maxiter, maxfev, gtol, ftol, xtol, float(norm), max_time, callback)


def minimize(fun, x0, jac=None, hessp=None, hess=None, method="lbfgs", callback=None, *,
             maxiter=None, maxfev=None, gtol=None, ftol=None, xtol=None, norm=np.inf,
             max_time=None, **options):
    """Minimize ``fun`` from ``x0`` with a full-batch method; SciPy-style result.

    Parameters
    ----------
    fun : callable or object
        ``fun(x) -> scalar`` written with :mod:`nnopt.numpy` (so that
        derivatives can be computed exactly) or with anything if ``jac`` is
        given; or an object with ``fun``/``jac``/``value_and_grad``/
        ``hessp``/``hess`` methods (``nnopt.Objective``), whose
        ``value_and_grad`` is used to get both in one pass.  For
        ``method="lm"``: ``fun(x)`` returns the residual vector ``r(x)``.
    x0 : array_like
        Starting point: 1-D, finite, float32 or float64.  Every computation
        runs in this dtype; the objective must return values of it.
    jac : callable, True or None
        Gradient ``jac(x) -> (n,)``; ``True``: ``fun`` returns ``(f, g)``;
        ``None``: ``nnopt.value_and_grad(fun)`` (exact, one reverse pass).
        For ``"lm"``: the ``(m, n)`` Jacobian of the residual (default
        :func:`nnopt.jacobian`).
    hessp : callable, optional
        ``hessp(x, v) -> H(x) v``; default :func:`nnopt.hvp` (or ``hess``).
    hess : callable, optional
        ``hess(x) -> (n, n)``; default :func:`nnopt.hessian`.
    method : str
        ``"lbfgs"`` (default), ``"cg"``, ``"gd"``, ``"bfgs"``, ``"sr1"``,
        ``"newton-cg"``, ``"newton"``, ``"lm"``.
    callback : callable, optional
        ``callback(intermediate_result)`` after every iteration, with an
        :class:`OptimizeResult` holding ``x``, ``fun``, ``jac``, ``nit``,
        ``nfev``, ``njev``, ``nhev``.  Raise ``StopIteration`` to stop the
        run (status ``CALLBACK``).
    maxiter : int, optional
        Maximum iterations; default ``max(1000, 200 n)``.
    maxfev : int, optional
        Maximum function evaluations, checked between iterations (a line
        search in progress finishes); default unlimited.
    gtol : float, optional
        Stop (success) when ``||g_k|| <= gtol * max(1, min(|f_k|, |f_0|))``
        (norm given by ``norm``, the infinity norm by default; ``f_0 = f(x0)``
        caps the scale so that a diverging run cannot pass).  Default
        ``sqrt(eps)`` of the dtype (1.5e-8 in float64, 3.5e-4 in float32).
        ``0`` disables the test.
    ftol : float, optional
        Stop (success) when ``0 <= f_{k-1} - f_k <= ftol * max(|f_{k-1}|, |f_k|, 1)``.
        Default 0 (disabled).
    xtol : float, optional
        Stop (success) when ``||x_k - x_{k-1}||_inf <= xtol * max(1, ||x_k||_inf)``.
        Default 0 (disabled).  Independently, a step that leaves ``x``
        unchanged always stops the run (status ``NO_PROGRESS``).
    norm : float
        Norm of the gradient for ``gtol`` and the history (``np.inf`` or >= 1).
    max_time : float, optional
        Stop after this many seconds (checked between iterations).
    **options
        Method options:

        * ``"gd"``: ``step_size`` (fixed step, no line search) or
          ``line_search`` (default ``"armijo"``), ``c1``, ``c2``,
          ``line_search_options``;
        * ``"cg"``: ``beta`` (``"pr+"`` default, ``"fr"``, ``"pr"``,
          ``"hs"``, ``"dy"``, ``"hz"``), ``line_search`` (default
          ``"more-thuente"``; CG_DESCENT is ``beta="hz",
          line_search="hager-zhang"``), ``c1``, ``c2``,
          ``line_search_options``, ``powell_restart`` (True),
          ``restart_every`` (default 6 n; 0 = never), ``eta`` (HZ, 0.01);
        * ``"lbfgs"``: ``m`` (memory, 10), ``line_search`` (default
          ``"more-thuente"``), ``c1``, ``c2``, ``line_search_options``;
          ``"bfgs"``: the same without ``m``;
        * ``"newton-cg"``: ``cg_maxiter`` (20 n), ``line_search``, ``c1``,
          ``c2``, ``line_search_options``;
        * ``"newton"``: ``globalization`` (``"trust-region"`` or
          ``"line-search"``), ``trust_radius`` (1), ``max_trust_radius``
          (1000), ``eta`` (0.15), and line-search options;
          ``"sr1"``: ``trust_radius``, ``max_trust_radius``, ``eta`` (1e-4);
        * ``"lm"``: ``tau`` (initial damping factor, 1e-3).

        ``line_search`` is ``"armijo"``, ``"more-thuente"`` or
        ``"hager-zhang"``; ``line_search_options`` is a dict for it
        (``maxfev``, ``xtol``, ``epsilon``, ``omega``, ``approximate``, ...).

    Returns
    -------
    OptimizeResult
        ``x``, ``fun``, ``jac``, ``nit``, ``nfev``, ``njev``, ``nhev``,
        ``success``, ``status`` (:class:`Status`), ``message``, ``history``
        (:class:`History`), ``wall_time``, ``method``; plus ``hess_inv``
        (bfgs, lbfgs), ``hess`` (newton, sr1), ``residual`` and
        ``jac_residual`` (lm).

    Examples
    --------
    >>> import numpy as np, nnopt.numpy as nnp
    >>> from nnopt.minimize import minimize
    >>> def rosen(x):
    ...     return nnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)
    >>> res = minimize(rosen, np.array([-1.2, 1.0]), method="cg")
    >>> bool(res.success), np.allclose(res.x, 1.0, atol=1e-6)
    (True, True)
    """
    if not isinstance(method, str):
        raise TypeError(f"method: expected a string, got {type(method).__name__}")
    key = method.lower()
    key = _ALIASES.get(key, key)
    if key not in METHODS:
        raise ValueError(f"method: expected one of {sorted(METHODS)}, got {method!r}")
    spec = METHODS[key]
    x0 = check_x0(x0)
    n, dtype = x0.shape[0], x0.dtype
    common = _common_options(n, dtype, maxiter, maxfev, gtol, ftol, xtol, norm, max_time, callback)
    opts = take_options(key, spec.parse_options, n, dtype, options)
    make_problem = spec.make_problem or Problem
    problem = make_problem(fun, x0, jac=jac, hessp=hessp, hess=hess)
    return run(spec, problem, x0, opts, common)
