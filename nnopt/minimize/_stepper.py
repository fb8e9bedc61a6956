"""One line-search step for the line-search solvers (gd, cg, lbfgs, bfgs,
newton-cg, damped newton): initial trial step, the search, the acceptance
rule, and two fallbacks.

1. *Precision floor* (``floor_fallback``, on by default): when the
   More-Thuente or Armijo search fails along ``d`` -- near a minimizer the
   sufficient-decrease test compares function values that have sunk to
   rounding level, ``|f(x + alpha d) - f(x)| ~ eps |f|`` -- the search is
   redone along ``d`` by Hager-Zhang under the approximate Wolfe conditions,
   which test slopes instead, and the run keeps using it from then on (the
   switch CG_DESCENT makes; Hager & Zhang 2005, Sec. 4).  Without this,
   a float32 run stops at ``||g|| ~ sqrt(eps |f| L)``, three orders of
   magnitude above the float32 floor on a well-conditioned quadratic.
2. *Steepest descent*: if that fails too, or the step leaves ``x``
   unchanged, one retry along ``-g``; then the solver stops.
"""
from __future__ import annotations

from typing import NamedTuple, Optional

import numpy as np

from ._linefun import LineFunction, LineSearchStatus
from ._problem import check_float_option
from .hager_zhang import HagerZhangMemory, default_epsilon, initial_step as hz_initial_step
from .line_search import check_line_search_method, check_line_search_options, search_along

__all__ = ["LineSearchConfig", "LSContext", "StepOutcome", "make_line_search_config", "failure_info"]

# Defaults of (c1, c2) per line search and "flavour" of the solver using it.
_DEFAULT_C = {
    ("armijo", "any"): (1e-4, None),
    ("more-thuente", "cg"): (1e-4, 0.1),
    ("more-thuente", "newton"): (1e-4, 0.9),
    ("hager-zhang", "cg"): (0.1, 0.9),
    ("hager-zhang", "newton"): (0.1, 0.9),
}


class LSContext(NamedTuple):
    """Line-search memory carried across iterations (part of a solver state)."""

    f_prev: Optional[np.generic]
    alpha_prev: Optional[np.generic]
    hz: Optional[HagerZhangMemory]
    switched: bool = False     # the precision-floor fallback is in use


class StepOutcome(NamedTuple):
    ls: object            # LineSearchResult of the accepted (or last failed) search
    d: np.ndarray         # the direction actually used
    accepted: bool
    restarted: bool       # the retry along -g was used
    ctx: LSContext


class LineSearchConfig(NamedTuple):
    method: str
    options: dict          # passed to the search (c1, c2 and line_search_options)
    initial: str           # "hager-zhang" | "fdiff" | "unit" | "newton"
    approximate: object    # HZ: "auto" (switch by omega), True or False
    epsilon: float         # HZ relative tolerance on f
    omega: float
    fallback: bool         # retry along -g
    floor: Optional["LineSearchConfig"] = None  # the precision-floor fallback (HZ, approximate)

    def start(self, dtype):
        hz = None
        if self.method == "hager-zhang":
            hz = HagerZhangMemory.start(dtype, approximate=self.approximate is True)
        return LSContext(f_prev=None, alpha_prev=None, hz=hz)

    # -- one step -------------------------------------------------------------------
    def _alpha0(self, phi, x, f, g, ctx, dt):
        if self.initial == "hager-zhang":
            return hz_initial_step(phi, x, ctx.alpha_prev)
        if self.initial == "newton":
            return dt(1)
        gnorm = np.sqrt(np.dot(g, g))
        if self.initial == "unit":
            if ctx.alpha_prev is None:
                dn = np.sqrt(np.dot(phi.d, phi.d))
                return dt(1) / dn if dn > 0 else dt(1)
            return dt(1)
        # "fdiff": alpha0 = min(1, 1.01 * 2 (f_k - f_{k-1}) / phi'(0)) (Nocedal & Wright eq. 3.60;
        # as scipy's CG); on the first iteration f_{k-1} = f_k + ||g|| / 2, i.e. alpha0 ~ 1/||g||.
        f_prev = ctx.f_prev if ctx.f_prev is not None else f + gnorm / 2
        with np.errstate(all="ignore"):
            a = dt(1.01) * 2 * (f - f_prev) / phi.dphi0
        if not (np.isfinite(a) and a > 0):
            return dt(1)
        return min(dt(1), a)

    def _search(self, phi, x, f, g, ctx, hz):
        """One search along ``phi.d``; returns ``(result, acceptable)``."""
        dt = x.dtype.type
        options, eps_k = self.options, None
        if hz is not None:
            eps_k = dt(self.epsilon) * hz.C
            options = dict(options, epsilon_k=eps_k, approximate=hz.approximate)
        ls = search_along(self.method, phi, self._alpha0(phi, x, f, g, ctx, dt), options)
        ok = _acceptable(ls, f, eps_k if (hz is not None and hz.approximate) else None)
        return ls, ok and not np.array_equal(ls.x, x)

    def step(self, problem, x, f, g, d, ctx):
        """Search along ``d`` (with the fallbacks); returns a :class:`StepOutcome`."""
        cfg = self.floor if ctx.switched else self
        hz = ctx.hz.observe(f) if ctx.hz is not None else None
        switched = ctx.switched
        restarted = False
        ls = None
        while True:
            phi = LineFunction(problem, x, d, f, g)
            if phi.dphi0 < 0:
                ls, ok = cfg._search(phi, x, f, g, ctx, hz)
                if not ok and not switched and self.floor is not None:
                    # precision-floor fallback: Hager-Zhang, approximate Wolfe, same direction
                    hz_floor = HagerZhangMemory(C=abs(f), Q=x.dtype.type(1), approximate=True,
                                                alpha_prev=ctx.alpha_prev)
                    ls2, ok = self.floor._search(phi, x, f, g, ctx, hz_floor)
                    if ok:
                        ls, cfg, hz, switched = ls2, self.floor, hz_floor, True
                if ok:
                    break
            if restarted or not self.fallback:
                return StepOutcome(ls, d, False, restarted, ctx._replace(hz=hz, switched=switched))
            neg_g = -g
            if np.array_equal(d, neg_g):
                return StepOutcome(ls, d, False, restarted, ctx._replace(hz=hz, switched=switched))
            d = neg_g
            restarted = True
        if hz is not None:
            if cfg.approximate == "auto":
                hz = hz.after_step(f, ls.fun, ls.alpha, omega=cfg.omega)
            else:
                hz = hz._replace(alpha_prev=ls.alpha)
        return StepOutcome(ls, d, True, restarted,
                           LSContext(f_prev=f, alpha_prev=ls.alpha, hz=hz, switched=switched))


def _acceptable(ls, f, eps_k):
    """Take the step if the search succeeded, or if it still decreased ``f``
    (within ``eps_k`` under the approximate Wolfe conditions)."""
    if not ls.alpha > 0 or ls.jac is None:
        return False
    if not (np.isfinite(ls.fun) and np.isfinite(ls.dphi) and np.all(np.isfinite(ls.jac))):
        return False
    if ls.success:
        return True
    if eps_k is not None:
        return bool(ls.fun <= f + eps_k)
    return bool(ls.fun < f)


def failure_info(ls):
    """The :class:`StepInfo` that stops a run after a failed line search."""
    from ._driver import StepInfo
    from .result import Status

    if ls is not None and ls.status == LineSearchStatus.NONFINITE:
        return StepInfo(Status.NONFINITE, "The objective is not finite along the search direction "
                        "(also along -g); x is the last finite iterate.")
    why = f" ({ls.message})" if ls is not None else ""
    return StepInfo(Status.LINE_SEARCH, "Line search failed to find an acceptable step, also along "
                    f"-g{why}; at the precision floor of the dtype this is the expected way to stop.")


def make_line_search_config(method, flavour, c1=None, c2=None, line_search_options=None,
                            initial=None, dtype=np.float64, approximate="auto", fallback=True):
    """Validate the line-search choice and its options for a solver.

    ``flavour`` is ``"cg"`` (CG, gradient descent: c2 = 0.1 for More-Thuente)
    or ``"newton"`` (quasi-Newton and Newton: c2 = 0.9).
    ``line_search_options`` may also hold ``floor_fallback`` (bool, default
    True) and, for Hager-Zhang, ``epsilon``, ``omega`` and ``approximate``.
    """
    method = check_line_search_method(method, "line_search")
    if line_search_options is not None and not isinstance(line_search_options, dict):
        raise TypeError(f"line_search_options: expected a dict, got {type(line_search_options).__name__}")
    opts = dict(line_search_options or {})
    floor_fallback = bool(opts.pop("floor_fallback", True))
    hz_extra = {}
    for key in ("epsilon", "omega"):
        if key in opts:
            if method != "hager-zhang":
                raise TypeError(f"line_search_options: {key!r} applies to line_search='hager-zhang' only")
            hz_extra[key] = check_float_option(opts.pop(key), f"line_search_options[{key!r}]", low=0)
    if "approximate" in opts:
        if method != "hager-zhang":
            raise TypeError("line_search_options: 'approximate' applies to line_search='hager-zhang' only")
        approximate = opts.pop("approximate")
        if approximate not in (True, False, "auto"):
            raise ValueError(f"line_search_options['approximate']: expected True, False or 'auto', got "
                             f"{approximate!r}")
    if "epsilon_k" in opts:
        raise TypeError("line_search_options: epsilon_k is set per iteration; give 'epsilon' (relative) instead")
    for key, val in (("c1", c1), ("c2", c2)):
        if val is not None:
            if key in opts:
                raise TypeError(f"{key}: given both as an option and in line_search_options")
            opts[key] = val
    key = (method, "any" if method == "armijo" else flavour)
    d1, d2 = _DEFAULT_C[key]
    opts.setdefault("c1", d1)
    if method != "armijo":
        opts.setdefault("c2", d2)
    elif "c2" in opts:
        raise TypeError("c2: the Armijo line search has no curvature condition (c2)")
    opts = check_line_search_options(method, opts, "line_search_options")
    if initial is None:
        if flavour == "cg":
            initial = "hager-zhang" if method == "hager-zhang" else "fdiff"
        else:
            initial = "unit"
    floor = None
    if floor_fallback and method != "hager-zhang":
        hz_c1, hz_c2 = _DEFAULT_C[("hager-zhang", flavour)]
        floor = LineSearchConfig(
            method="hager-zhang", options={"c1": hz_c1, "c2": hz_c2},
            initial="hager-zhang" if flavour == "cg" else initial, approximate=True,
            epsilon=default_epsilon(dtype), omega=1e-3, fallback=fallback)
    return LineSearchConfig(
        method=method, options=opts, initial=initial, approximate=approximate,
        epsilon=hz_extra.get("epsilon", default_epsilon(dtype)), omega=hz_extra.get("omega", 1e-3),
        fallback=fallback, floor=floor,
    )
