"""Curvature analysis: exact Hessian / Gauss-Newton / Fisher operators, Lanczos
spectra, trace estimation, sharpness tracking and the edge-of-stability experiments.

Operators (:mod:`~nnopt.curvature.operators`) act on a flat parameter vector
and plug into the solvers here and into ``scipy.sparse.linalg``::

    from nnopt.curvature import hessian_operator, lanczos, sharpness
    H = hessian_operator(obj, theta)          # matrix-free, exact
    top = lanczos(H, k=5)                     # 5 largest eigenvalues, descending
    lam = sharpness(obj, theta)               # lambda_max of the full-batch Hessian

See ``docs/curvature.md``.
"""
from .batch import BatchSharpness, batch_sharpness
from .density import SpectralDensity, plot_spectral_density, slq
from .dense import DenseBlock, block_diagonal, fisher_matrix, ggn_matrix, hessian_matrix, output_jacobian
from .eos import EdgeOfStabilityResult, EoSRun, edge_of_stability, regression_task, weight_drift
from .flow import FlowComparison, gradient_flow_vs_gd
from .lanczos import ConvergenceWarning, LanczosResult, NonSymmetricOperatorError, lanczos
from .loss_hessian import loss_hessian, per_example_losses
from .operators import CurvatureOperator, fisher_operator, ggn_operator, hessian_operator
from .plots import plot_batch_sharpness, plot_edge_of_stability, plot_flow_vs_gd
from .power import PowerResult, power_iteration
from .sharpness import SharpnessTracker, sharpness
from .trace import TraceEstimate, hutch_plus_plus, hutchinson

__all__ = [
    "CurvatureOperator", "hessian_operator", "ggn_operator", "fisher_operator",
    "hessian_matrix", "ggn_matrix", "fisher_matrix", "block_diagonal", "DenseBlock",
    "output_jacobian", "loss_hessian", "per_example_losses",
    "lanczos", "LanczosResult", "ConvergenceWarning", "NonSymmetricOperatorError",
    "power_iteration", "PowerResult",
    "hutchinson", "hutch_plus_plus", "TraceEstimate",
    "slq", "SpectralDensity", "plot_spectral_density",
    "sharpness", "SharpnessTracker",
    "edge_of_stability", "EdgeOfStabilityResult", "EoSRun", "regression_task", "weight_drift",
    "batch_sharpness", "BatchSharpness", "gradient_flow_vs_gd", "FlowComparison",
    "plot_edge_of_stability", "plot_batch_sharpness", "plot_flow_vs_gd",
]
