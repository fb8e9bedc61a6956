"""nnopt: numerical experiments on neural-network optimization.

A differentiable NumPy subset (:mod:`nnopt.numpy`) with exact derivatives of
any order, layers and models on one flat parameter vector (:mod:`nnopt.nn`),
scipy-compatible objectives, and precision tools (:mod:`nnopt.precision`).
"""
from . import numpy  # noqa: F401  (nnopt.numpy)
from .autodiff import (
    UnsupportedOperationError,
    grad,
    hessian,
    hvp,
    jacobian,
    jvp,
    value_and_grad,
    vjp,
)
from .autodiff.rules.elementwise import stop_gradient
from . import bounds, config, curvature, data, diffeq, experiments, minimize, nn, optim, precision, secondorder, testing  # noqa: E402
from .optim import train  # noqa: E402
from .objective import Objective  # noqa: E402

__version__ = "0.1.0"

__all__ = [
    "grad", "value_and_grad", "jvp", "vjp", "jacobian", "hessian", "hvp",
    "stop_gradient", "UnsupportedOperationError", "Objective", "nn", "config", "precision", "testing", "experiments", "optim", "train", "curvature", "minimize", "secondorder", "bounds", "diffeq", "data",
    "__version__",
]
