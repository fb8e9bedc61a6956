"""Full-batch solvers and line searches.

``nnopt.minimize.minimize(fun, x0, method=..., **options)`` runs gradient
descent, nonlinear CG (six beta rules), L-BFGS, BFGS, SR1, Newton-CG, exact
Newton or Levenberg-Marquardt and returns a SciPy-style
:class:`OptimizeResult` with a per-iteration :class:`History`.  The package
itself is callable too: ``nnopt.minimize.minimize(...)`` and
``nnopt.minimize(...)`` (when exported at top level) are the same call.

Line searches, each in its own module, work on a :class:`LineFunction`
(``phi(alpha) = f(x + alpha d)``) or through :func:`line_search`:
:func:`armijo` (backtracking, quadratic/cubic interpolation),
:func:`more_thuente` (strong Wolfe, MINPACK-2 dcsrch),
:func:`hager_zhang` (CG_DESCENT, approximate Wolfe).

Quasi-Newton approximations share SciPy's ``HessianUpdateStrategy``
interface: :class:`LBFGS`, :class:`BFGS`, :class:`SR1`.
"""
import sys as _sys
import types as _types

from ._api import METHODS, minimize
from ._linefun import LineFunction, LineSearchResult, LineSearchStatus
from .armijo import armijo
from .cg import BETAS
from .hager_zhang import HagerZhangMemory, hager_zhang
from .line_search import line_search
from .more_thuente import more_thuente
from .quasi_newton import BFGS, LBFGS, SR1, QuasiNewtonApproximation
from .result import History, OptimizeResult, Status
from .trust_region import solve_subproblem as solve_trust_region_subproblem

__all__ = [
    "minimize", "METHODS", "BETAS", "OptimizeResult", "History", "Status",
    "line_search", "LineFunction", "LineSearchResult", "LineSearchStatus",
    "armijo", "more_thuente", "hager_zhang", "HagerZhangMemory",
    "QuasiNewtonApproximation", "LBFGS", "BFGS", "SR1", "solve_trust_region_subproblem",
]


class _CallableModule(_types.ModuleType):
    """The package ``nnopt.minimize``, callable as :func:`minimize` itself.

    This lets ``nnopt.minimize`` be both the package (``nnopt.minimize.line_search``,
    ``import nnopt.minimize.cg``) and the function (``nnopt.minimize(fun, x0)``).
    """

    def __call__(self, fun, x0, *args, **kwargs):
        return minimize(fun, x0, *args, **kwargs)


_sys.modules[__name__].__class__ = _CallableModule
