"""nnopt vs scipy.optimize on the same problems (used by a test and the docs)."""
from __future__ import annotations

import numpy as np
import scipy.optimize

import nnopt
from nnopt.minimize import minimize

from min_problems import make_mlp, make_quadratic, rosenbrock, rosenbrock_x0


def comparison_problems(mlp_hidden=5, mlp_samples=25):
    """``name -> (f, x0, f_star)``; ``f_star`` the minimum value (0 for the
    zero-loss teacher MLP)."""
    fq, A, b, x_star = make_quadratic(50, cond=1e3, seed=0)
    loss, theta0 = make_mlp(n_hidden=mlp_hidden, n_samples=mlp_samples)
    return {
        "quadratic-50": (fq, np.zeros(50), float(-0.5 * b @ x_star)),
        "rosenbrock-2": (rosenbrock, rosenbrock_x0(2), 0.0),
        "rosenbrock-100": (rosenbrock, rosenbrock_x0(100), 0.0),
        f"mlp-{theta0.size}": (loss, theta0, 0.0),
    }


SCIPY_METHOD = {"cg": "CG", "lbfgs": "L-BFGS-B"}


def compare(f, x0, f_star, method, gtol=1e-5, **options):
    """Run SciPy's method (default settings, ``gtol``), then nnopt's until it
    is at least as accurate (``f - f* <= SciPy's f - f*``); returns a dict
    with SciPy's ``nfev``, its error, and nnopt's ``nfev`` to reach it."""
    vg = nnopt.value_and_grad(f)
    ref = scipy.optimize.minimize(vg, x0, jac=True, method=SCIPY_METHOD[method], options={"gtol": gtol})
    target = ref.fun - f_star
    res = minimize(f, x0, method=method, gtol=0, maxfev=3 * ref.nfev,
                   callback=lambda r: _stop_at(r, f_star, target), **options)
    h = res.history
    reached = np.flatnonzero(h.fun - f_star <= target)
    return {
        "scipy_nfev": int(ref.nfev), "scipy_err": float(target), "scipy_message": ref.message,
        "nnopt_nfev": int(h.nfev[reached[0]]) if reached.size else None,
        "nnopt_err": float(h.fun[reached[0]] - f_star) if reached.size else float(res.fun - f_star),
    }


def _stop_at(r, f_star, target):
    if r.fun - f_star <= target:
        raise StopIteration
