"""Boundary and initial conditions as linear functionals.

A condition says that a linear functional of the solution takes a given
value: ``u(a) = 1``, ``u'(b) = 0``, ``2 u(0) - u'(0) = 3``, or, on a face of
a rectangle, ``u(x, 1) = g(x)`` and ``du/dy(x, 1) = h(x)``.  Users write
them as numbers (Dirichlet values) or with the small classes below; the
neural forms (:mod:`nnopt.diffeq.forms`) turn them into trial solutions or
penalty terms.

Convention for derivatives on faces: :class:`Neumann` and :class:`Robin`
use the partial derivative along the coordinate axis of the face
(``du/dx_k``), not the outward normal; on the low face of an axis the two
differ by a sign.
"""
from __future__ import annotations

import numbers

import numpy as np

__all__ = ["Dirichlet", "Neumann", "Robin", "Condition"]


def _check_value(value, where):
    if callable(value):
        return value
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        raise TypeError(f"{where}: expected a real number or a function, got {value!r}")
    if not np.isfinite(value):
        raise ValueError(f"{where}: the value must be finite, got {value!r}")
    return float(value)


class Dirichlet:
    """``u = value`` at a point or on a face (``value``: number or function of the points)."""

    derivative = 0

    def __init__(self, value):
        self.value = _check_value(value, "Dirichlet")

    @property
    def coefficients(self):
        return (1.0, 0.0)

    def __repr__(self):
        return f"Dirichlet({self.value!r})"


class Neumann:
    """``du/dx = value`` at a point (ODEs) or ``du/dx_k = value`` on a face of axis ``k``."""

    derivative = 1

    def __init__(self, value):
        self.value = _check_value(value, "Neumann")

    @property
    def coefficients(self):
        return (0.0, 1.0)

    def __repr__(self):
        return f"Neumann({self.value!r})"


class Robin:
    """``alpha * u + beta * du/dx_k = value`` (mixed condition)."""

    def __init__(self, alpha, beta, value):
        for name, v in (("alpha", alpha), ("beta", beta)):
            if isinstance(v, (bool, np.bool_)) or not isinstance(v, (numbers.Real, np.floating, np.integer)):
                raise TypeError(f"Robin: {name} must be a real number, got {v!r}")
        if alpha == 0 and beta == 0:
            raise ValueError("Robin: alpha and beta cannot both be zero")
        self.alpha, self.beta = float(alpha), float(beta)
        self.value = _check_value(value, "Robin")
        self.derivative = 1 if beta != 0 else 0

    @property
    def coefficients(self):
        return (self.alpha, self.beta)

    def __repr__(self):
        return f"Robin({self.alpha!r}, {self.beta!r}, {self.value!r})"


class Condition:
    """A general point condition for ODEs: ``u_c^(derivative)(point) = value``.

    Parameters
    ----------
    point : float
        Where (inside the domain, ends included).
    value : float
    derivative : int
        Order of the derivative (0: the value).
    component : int
        Component of a system (0 for a scalar equation).
    coefficients : sequence of float, optional
        A general functional ``sum_k coefficients[k] * u^(k)(point) = value``
        (overrides ``derivative``), e.g. ``(2.0, -1.0)`` for ``2u - u' = value``.
    """

    def __init__(self, point, value, derivative=0, component=0, coefficients=None):
        if isinstance(point, (bool, np.bool_)) or not isinstance(point, (numbers.Real, np.floating, np.integer)):
            raise TypeError(f"Condition: point must be a real number, got {point!r}")
        self.point = float(point)
        self.value = _check_value(value, "Condition")
        if callable(self.value):
            raise TypeError("Condition: value must be a number for an ODE condition")
        if not isinstance(derivative, (int, np.integer)) or derivative < 0:
            raise ValueError(f"Condition: derivative must be a non-negative integer, got {derivative!r}")
        if not isinstance(component, (int, np.integer)) or component < 0:
            raise ValueError(f"Condition: component must be a non-negative integer, got {component!r}")
        self.component = int(component)
        if coefficients is None:
            coefficients = [0.0] * derivative + [1.0]
        coefficients = [float(c) for c in coefficients]
        if not coefficients or all(c == 0 for c in coefficients):
            raise ValueError("Condition: coefficients must not all be zero")
        while coefficients[-1] == 0:
            coefficients.pop()
        self.coefficients = tuple(coefficients)
        self.derivative = len(coefficients) - 1

    def __repr__(self):
        return (
            f"Condition(point={self.point!r}, value={self.value!r}, "
            f"coefficients={self.coefficients!r}, component={self.component})"
        )


def as_end_condition(c, where):
    """A number, Dirichlet, Neumann or Robin at one end of an interval."""
    if isinstance(c, (Dirichlet, Neumann, Robin)):
        return c
    if isinstance(c, Condition):
        raise TypeError(f"{where}: use Dirichlet/Neumann/Robin here; Condition objects go in conditions=")
    return Dirichlet(_check_value(c, where))
