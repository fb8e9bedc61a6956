"""Nonlinear conjugate gradients.

.. math::

    x_{k+1} = x_k + \\alpha_k d_k, \\qquad d_{k+1} = -g_{k+1} + \\beta_k d_k,
    \\qquad d_0 = -g_0,

with :math:`y_k = g_{k+1} - g_k` and the choices of :math:`\\beta_k`
(Hager & Zhang, "A survey of nonlinear conjugate gradient methods",
Pacific J. Optim. 2(1), 35-58, 2006, Table 1):

=========  ==============================================================  ===============================
``beta``   :math:`\\beta_k`                                                reference
=========  ==============================================================  ===============================
``"fr"``   :math:`g_{k+1}^T g_{k+1} / g_k^T g_k`                           Fletcher & Reeves 1964
``"pr"``   :math:`g_{k+1}^T y_k / g_k^T g_k`                               Polak & Ribiere 1969, Polyak 1969
``"pr+"``  :math:`\\max(0, \\beta^{PR})`                                   Gilbert & Nocedal 1992
``"hs"``   :math:`g_{k+1}^T y_k / d_k^T y_k`                               Hestenes & Stiefel 1952
``"dy"``   :math:`g_{k+1}^T g_{k+1} / d_k^T y_k`                           Dai & Yuan 1999
``"hz"``   :math:`\\max(\\beta^N, \\eta_k)`,                                Hager & Zhang 2005 (CG_DESCENT)
           :math:`\\beta^N = (y_k - 2 d_k \\|y_k\\|^2/d_k^T y_k)^T g_{k+1} / d_k^T y_k`,
           :math:`\\eta_k = -1/(\\|d_k\\| \\min(\\eta, \\|g_k\\|))`
=========  ==============================================================  ===============================

Restarts (:math:`\\beta_k = 0`, i.e. a steepest-descent step):

* Powell's test (M. J. D. Powell, "Restart procedures for the conjugate
  gradient method", Math. Prog. 12, 241-254, 1977):
  :math:`|g_{k+1}^T g_k| \\ge 0.2\\, \\|g_{k+1}\\|^2` (``powell_restart``,
  on by default);
* every ``restart_every`` iterations (default ``6 n`` as CG_DESCENT's
  ``restart_fac = 6``; 0 disables);
* the descent safeguard: whenever :math:`g_{k+1}^T d_{k+1} \\ge 0`.

The line search defaults to More-Thuente with the strong Wolfe conditions,
``c1 = 1e-4``, ``c2 = 0.1`` (Nocedal & Wright, Sec. 5.2), and the initial
step ``min(1, 2.02 (f_k - f_{k-1}) / phi'(0))``.  CG_DESCENT is
``beta="hz", line_search="hager-zhang"`` (weak/approximate Wolfe,
``c1 = 0.1``, ``c2 = 0.9``, initial step I0-I2); the approximate Wolfe
conditions make it the choice in float32 near the precision floor.  If a
search fails along :math:`d_k` (or its step leaves ``x`` unchanged), one
retry along :math:`-g_k` is made before the run stops.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._driver import MethodSpec, StepInfo
from ._problem import check_float_option, check_int_option
from ._stepper import LineSearchConfig, LSContext, failure_info, make_line_search_config

__all__ = ["SPEC", "BETAS", "beta"]

BETAS = ("fr", "pr", "pr+", "hs", "dy", "hz")


class CGOptions(NamedTuple):
    beta: str
    ls: LineSearchConfig
    powell: bool
    restart_every: int
    eta: float


class CGState(NamedTuple):
    x: np.ndarray
    f: np.generic
    g: np.ndarray
    d: np.ndarray
    since_restart: int
    ctx: LSContext


def parse_options(n, dtype, beta="pr+", line_search="more-thuente", c1=None, c2=None,
                  line_search_options=None, powell_restart=True, restart_every=None, eta=0.01):
    if not isinstance(beta, str) or beta.lower() not in BETAS:
        raise ValueError(f"beta: expected one of {list(BETAS)}, got {beta!r}")
    beta = beta.lower()
    ls = make_line_search_config(line_search, "cg", c1, c2, line_search_options, dtype=dtype)
    powell = bool(powell_restart)
    restart_every = 6 * n if restart_every is None else check_int_option(restart_every, "restart_every",
                                                                          low=0)
    eta = check_float_option(eta, "eta", low=0, low_open=True)
    return CGOptions(beta, ls, powell, restart_every, eta)


def beta(rule, g_new, g, d, eta=0.01):
    """The CG parameter ``beta_k`` of ``rule`` (see the module docstring).

    Computed in the dtype of the inputs; returns NaN where a denominator
    vanishes (the caller then restarts).
    """
    dt = g.dtype.type
    with np.errstate(all="ignore"):
        if rule == "fr":
            return np.dot(g_new, g_new) / np.dot(g, g)
        y = g_new - g
        if rule in ("pr", "pr+"):
            b = np.dot(g_new, y) / np.dot(g, g)
            return max(dt(0), b) if rule == "pr+" else b
        dy = np.dot(d, y)
        if rule == "hs":
            return np.dot(g_new, y) / dy
        if rule == "dy":
            return np.dot(g_new, g_new) / dy
        if rule == "hz":
            yy = np.dot(y, y)
            b_n = (np.dot(y, g_new) - 2 * yy * np.dot(d, g_new) / dy) / dy
            eta_k = dt(-1) / (np.sqrt(np.dot(d, d)) * min(dt(eta), np.sqrt(np.dot(g, g))))
            return max(b_n, eta_k)
    raise ValueError(f"beta: unknown rule {rule!r}")


def init(problem, x0, opts):
    f, g = problem.fun_and_grad(x0)
    return CGState(x0, f, g, -g, 0, opts.ls.start(x0.dtype))


def update(problem, state, opts):
    x, f, g, d = state.x, state.f, state.g, state.d
    out = opts.ls.step(problem, x, f, g, d, state.ctx)
    if not out.accepted:
        return state, failure_info(out.ls)
    ls = out.ls
    d = out.d
    x1, f1, g1 = ls.x, ls.fun, ls.jac
    since = 1 if out.restarted else state.since_restart + 1

    restart = opts.restart_every > 0 and since >= opts.restart_every
    if not restart and opts.powell:
        restart = abs(np.dot(g1, g)) >= x.dtype.type(0.2) * np.dot(g1, g1)
    if restart:
        d1, since = -g1, 0
    else:
        b = beta(opts.beta, g1, g, d, opts.eta)
        d1 = -g1 + b * d if np.isfinite(b) else -g1
        if not np.dot(g1, d1) < 0:  # descent safeguard
            d1, since = -g1, 0
    return CGState(x1, f1, g1, d1, since, out.ctx), StepInfo(alpha=ls.alpha)


SPEC = MethodSpec("cg", parse_options, init, update)
