"""Option parsing helpers shared by the solvers."""
from __future__ import annotations

import inspect

__all__ = ["take_options"]


def take_options(method, parse, n, dtype, options):
    """Call ``parse(n, dtype, **options)``, turning unknown keywords into a clear TypeError."""
    params = inspect.signature(parse).parameters
    accepted = [p for p in params if p not in ("n", "dtype")]
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise TypeError(
            f"minimize: unknown option(s) {unknown} for method={method!r}; accepted: "
            f"{sorted(accepted)} and the common options maxiter, maxfev, gtol, ftol, xtol, norm, "
            "max_time, callback"
        )
    return parse(n, dtype, **options)
