"""Reliability studies: the same problem over seeds and settings.

Neural forms are sensitive to the choice of form, collocation, network and
optimiser (Schneidereit & Breuss); a single run says little.  :func:`reliability`
solves a problem for several seeds under each named configuration and
summarises the errors (median and worst), the success rate below a
threshold and the time; :func:`format_table` renders the rows as Markdown.
"""
from __future__ import annotations

import numpy as np

from .solve import solve

__all__ = ["reliability", "format_table"]


def reliability(problem, configs, seeds=range(5), threshold=1e-6, callback=None):
    """Solve ``problem`` for every seed under every configuration.

    Parameters
    ----------
    problem : ODE or PDE
        With an ``exact`` solution.
    configs : dict
        Name -> keyword arguments of :func:`~nnopt.diffeq.solve`.
    seeds : iterable of int
    threshold : float
        A run "succeeds" when its max-abs error on the evaluation grid is below it.
    callback : callable, optional
        ``callback(name, seed, solution)`` after each run (progress, plots).

    Returns
    -------
    list of dict
        One row per configuration: ``config``, ``median``, ``worst``, ``best``
        (max-abs errors), ``success`` (fraction below ``threshold``),
        ``time`` (median seconds), ``iterations`` (median), ``errors`` (all).
    """
    if problem.exact is None:
        raise ValueError("reliability: the problem needs an exact solution (exact=)")
    if not isinstance(configs, dict) or not configs:
        raise ValueError("reliability: configs must be a non-empty dict name -> solve keyword arguments")
    seeds = list(seeds)
    rows = []
    for name, kwargs in configs.items():
        errs, times, its = [], [], []
        for seed in seeds:
            sol = solve(problem, seed=seed, **kwargs)
            errs.append(sol.errors["max_abs"])
            times.append(sol.time)
            its.append(sol.nit)
            if callback is not None:
                callback(name, seed, sol)
        e = np.array(errs)
        rows.append({
            "config": name,
            "median": float(np.median(e)),
            "worst": float(np.max(e)),
            "best": float(np.min(e)),
            "success": float(np.mean(e < threshold)),
            "time": float(np.median(times)),
            "iterations": float(np.median(its)),
            "errors": errs,
        })
    return rows


def format_table(rows, threshold=None):
    """Markdown table of :func:`reliability` rows."""
    head = "| configuration | median max error | worst max error | success | median time (s) | iterations |"
    sep = "|---|---|---|---|---|---|"
    lines = [head, sep]
    for r in rows:
        succ = f"{100 * r['success']:.0f}%"
        lines.append(
            f"| {r['config']} | {r['median']:.1e} | {r['worst']:.1e} | {succ} | {r['time']:.1f} | {r['iterations']:.0f} |"
        )
    if threshold is not None:
        lines.append(f"\nsuccess: max-abs error below {threshold:g} on the evaluation grid.")
    return "\n".join(lines)
