"""Shipped checkers and test problems, for nnopt's tests and for users'.

* :func:`check_grads` - forward and reverse derivatives against central
  differences, to any order (random inner-product tests);
* :func:`check_hvp` - Hessian-vector products against the dense Hessian and
  finite differences of the gradient;
* :mod:`nnopt.testing.problems` - Rosenbrock, quadratics and a logistic sum
  with closed-form gradients and Hessians.
"""
from .gradcheck import check_grads, check_hvp, default_tolerances
from .problems import Problem, logistic_sum, quadratic, rosenbrock

__all__ = [
    "check_grads", "check_hvp", "default_tolerances",
    "Problem", "rosenbrock", "quadratic", "logistic_sum",
]
