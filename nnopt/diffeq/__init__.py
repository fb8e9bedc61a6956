"""Neural forms: solving ODEs, ODE systems and PDEs with neural networks.

    >>> import numpy as np
    >>> from nnopt import diffeq
    >>> ode = diffeq.ODE(lambda t, u, du, ddu: ddu + 0.4 * du + 4 * u, (0, 2 * np.pi), initial=(1.0, 0.0))
    >>> sol = diffeq.solve(ode)            # Lagaris trial solution, Levenberg-Marquardt, float64
    >>> sol(np.linspace(0, 2 * np.pi, 5)).shape
    (5,)

Problems (:class:`ODE`, :class:`PDE`, conditions), neural forms
(:class:`TrialForm`, :class:`PenaltyForm`, :class:`AffineForm`,
:class:`CustomForm`), Taylor-mode input derivatives (:func:`mlp_jets`),
Levenberg-Marquardt (:func:`levenberg_marquardt`), :func:`solve` and its
:class:`Solution`; :mod:`~nnopt.diffeq.catalogue` (problems with exact
solutions), :mod:`~nnopt.diffeq.studies` (reliability tables) and
:mod:`~nnopt.diffeq.plots`.  See ``docs/diffeq.md``.
"""
from . import catalogue, plots, studies  # noqa: F401
from .collocation import points as collocation_points
from .conditions import Condition, Dirichlet, Neumann, Robin
from .forms import AffineForm, CustomForm, PenaltyForm, TrialForm
from .jets import JetBasis, generic_jets, mlp_jets, mlp_jets_vjp
from .lm import LMResult, levenberg_marquardt
from .problems import ODE, PDE
from .residuals import ResidualSystem
from .solution import Solution
from .solve import default_init, default_maxiter, default_net, default_points, solve

__all__ = [
    "ODE", "PDE", "Dirichlet", "Neumann", "Robin", "Condition",
    "solve", "Solution", "TrialForm", "PenaltyForm", "AffineForm", "CustomForm",
    "levenberg_marquardt", "LMResult", "ResidualSystem",
    "mlp_jets", "mlp_jets_vjp", "generic_jets", "JetBasis",
    "default_net", "default_points", "default_maxiter", "default_init", "collocation_points",
    "catalogue", "studies", "plots",
]
