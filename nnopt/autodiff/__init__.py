"""Automatic differentiation: the engine (core), the rule tables (rules/) and
the transforms (grad, jvp, vjp, jacobian, hessian, hvp)."""
from .core import Primitive, Tracer, UnsupportedOperationError, getval
from .transforms import grad, hessian, hvp, jacobian, jvp, value_and_grad, vjp

__all__ = [
    "Primitive", "Tracer", "UnsupportedOperationError", "getval",
    "grad", "value_and_grad", "jvp", "vjp", "jacobian", "hessian", "hvp",
]
