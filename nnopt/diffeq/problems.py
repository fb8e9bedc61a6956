"""Differential equation problems: :class:`ODE` and :class:`PDE`.

A problem is a residual function written with :mod:`nnopt.numpy`, a domain
and conditions.  The residual receives the independent variable(s) and the
solution with its derivatives at a batch of points and returns the equation's
defect at each point; the solver drives it to zero.

ODE (scalar, order n)::

    ODE(lambda t, u, du, ddu: ddu + 0.4 * du + 4 * u, (0, 2 * np.pi), initial=(1.0, 0.0))

``t`` has shape ``(n,)``, ``u`` and its derivatives ``(n,)`` (``(n, m)`` for a
system of ``m`` components); the order is set by the conditions and must
match the residual's number of arguments.

PDE on a box (``p`` of shape ``(n, d)``, ``u`` ``(n,)``, ``Du`` ``(n, d)``,
``D2u`` ``(n, d, d)``)::

    PDE(lambda p, u, Du, D2u: D2u[:, 0, 0] + D2u[:, 1, 1] - f(p), ((0, 1), (0, 1)), dirichlet=g)

A residual with three arguments ``(p, u, Du)`` declares a first-order PDE.
"""
from __future__ import annotations

import inspect
import numbers
from typing import NamedTuple

import numpy as np

from .conditions import Condition, Dirichlet, Neumann, Robin, as_end_condition

__all__ = ["ODE", "PDE", "Functional"]


class Functional(NamedTuple):
    """``sum_i w_i * d^{k_i} u_c / dx_axis^{k_i} (x_axis = x_i) = value``.

    ``terms`` is a tuple of ``(w, x, k)``; ``value`` a float or a function of
    the points (PDE faces).  ``label`` names the condition in messages.
    """

    axis: int
    component: int
    terms: tuple
    value: object
    label: str

    @property
    def order(self):
        return max(k for _, _, k in self.terms)

    @property
    def points(self):
        return sorted({x for _, x, _ in self.terms})


def _is_real(x):
    return isinstance(x, (numbers.Real, np.floating, np.integer)) and not isinstance(x, (bool, np.bool_))


def _check_interval(iv, where):
    if not isinstance(iv, (tuple, list, np.ndarray)) or len(iv) != 2:
        raise ValueError(f"{where}: expected an interval (a, b), got {iv!r}")
    a, b = iv
    if not (_is_real(a) and _is_real(b)):
        raise TypeError(f"{where}: interval ends must be real numbers, got {iv!r}")
    a, b = float(a), float(b)
    if not (np.isfinite(a) and np.isfinite(b)):
        raise ValueError(f"{where}: interval ends must be finite, got {iv!r}")
    if not a < b:
        raise ValueError(f"{where}: expected a < b, got a={a!r}, b={b!r}")
    return a, b


def _positional_count(fn):
    """(required, maximum) positional arguments of ``fn``; maximum None for *args."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    req, total, star = 0, 0, False
    for p in sig.parameters.values():
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            total += 1
            if p.default is p.empty:
                req += 1
        elif p.kind == p.VAR_POSITIONAL:
            star = True
    return req, (None if star else total)


def _check_callable(fn, name):
    if not callable(fn):
        raise TypeError(f"{name} must be a function written with nnopt.numpy, got {type(fn).__name__}")


def _end_functional(cond, x, component, where):
    alpha, beta = cond.coefficients
    terms = tuple(t for t in ((alpha, x, 0), (beta, x, 1)) if t[0] != 0)
    return Functional(0, component, terms, cond.value, f"{where}: {cond!r}")


def _is_seq(x):
    return isinstance(x, (tuple, list, np.ndarray))


class ODE:
    """An ordinary differential equation (or system) on an interval.

    Parameters
    ----------
    residual : callable
        ``residual(t, u, du, ..., d^n u)`` written with :mod:`nnopt.numpy`,
        returning the defect of the equation, shape ``(n,)`` (``(n, m)`` for
        a system).  ``n``, the order, is the number of conditions per
        component (the highest for a system).
    domain : (a, b)
        The interval, ``a < b``.
    initial : sequence, optional
        Initial values at ``a``: ``(u(a), u'(a), ..., u^(n-1)(a))`` for a
        scalar equation of order ``n``; for a system, one such tuple per
        component, e.g. ``((0.0,), (1.0,))``.
    boundary : pair, optional
        ``(left, right)`` conditions at ``a`` and ``b`` for a second-order
        equation: numbers (Dirichlet values) or :class:`Dirichlet`,
        :class:`Neumann`, :class:`Robin`; for a system one pair per component.
    conditions : sequence of Condition, optional
        Any other point conditions (higher-order boundary value problems,
        conditions inside the interval, general functionals).
    exact : callable, optional
        The exact solution ``exact(t)`` (shape ``(n,)`` or ``(n, m)``), used
        to report errors.
    name : str, optional

    Attributes
    ----------
    order : int
        Highest derivative in the residual.
    orders : tuple of int
        Order of each component's equation (number of its conditions).
    n_components : int
    functionals : list of Functional
    """

    kind = "ode"

    def __init__(self, residual, domain, initial=None, boundary=None, conditions=None, exact=None, name=None):
        _check_callable(residual, "ODE: residual")
        self.residual = residual
        self.domain = _check_interval(domain, "ODE: domain")
        a, b = self.domain
        self.d = 1
        funcs = []
        system = False
        m = None
        if initial is not None:
            if not _is_seq(initial) or len(initial) == 0:
                raise ValueError(f"ODE: initial must be a tuple of initial values, got {initial!r}")
            if all(_is_seq(c) for c in initial):
                system, m = True, len(initial)
                comps = initial
            elif any(_is_seq(c) for c in initial):
                raise ValueError(
                    "ODE: initial mixes numbers and tuples; give (u(a), u'(a), ...) for one equation "
                    "or one tuple per component for a system"
                )
            else:
                comps = [initial]
            for c, vals in enumerate(comps):
                if len(vals) == 0:
                    raise ValueError(f"ODE: initial values of component {c} are empty")
                for k, v in enumerate(vals):
                    if callable(v) or not _is_real(v):
                        raise TypeError(f"ODE: initial[{c}][{k}] must be a real number, got {v!r}" if system
                                        else f"ODE: initial[{k}] must be a real number, got {v!r}")
                    if not np.isfinite(v):
                        raise ValueError(f"ODE: initial values must be finite, got {v!r}")
                    lab = f"initial: u{'_' + str(c) if system else ''}^({k})({a:g}) = {float(v):g}"
                    funcs.append(Functional(0, c, ((1.0, a, k),), float(v), lab))
        if boundary is not None:
            if not _is_seq(boundary) or len(boundary) == 0:
                raise ValueError(f"ODE: boundary must be a pair (left, right), got {boundary!r}")
            if all(_is_seq(c) and len(c) == 2 for c in boundary) and not (
                len(boundary) == 2 and any(isinstance(c, (Dirichlet, Neumann, Robin)) for c in boundary)
            ):
                pairs = boundary
                if m is not None and m != len(pairs):
                    raise ValueError(
                        f"ODE: initial has {m} components but boundary gives {len(pairs)} pairs"
                    )
                system, m = True, len(pairs)
            else:
                if len(boundary) != 2:
                    raise ValueError(
                        f"ODE: boundary must be a pair (left, right) of conditions at a and b, got {boundary!r}"
                    )
                if system:
                    raise ValueError("ODE: for a system give boundary as one (left, right) pair per component")
                pairs = [boundary]
            for c, (left, right) in enumerate(pairs):
                for cond, x, side in ((left, a, "left"), (right, b, "right")):
                    if cond is None:
                        continue
                    cond = as_end_condition(cond, f"ODE: boundary {side}")
                    if callable(cond.value):
                        raise TypeError(f"ODE: boundary {side} value must be a number, got a function")
                    funcs.append(_end_functional(cond, x, c, f"boundary {side}" + (f" (component {c})" if system else "")))
        if conditions is not None:
            if isinstance(conditions, Condition):
                conditions = [conditions]
            for i, cond in enumerate(conditions):
                if not isinstance(cond, Condition):
                    raise TypeError(f"ODE: conditions[{i}] must be a Condition, got {type(cond).__name__}")
                if not a <= cond.point <= b:
                    raise ValueError(f"ODE: conditions[{i}] is at {cond.point}, outside the domain [{a}, {b}]")
                terms = tuple((w, cond.point, k) for k, w in enumerate(cond.coefficients) if w != 0)
                funcs.append(Functional(0, cond.component, terms, cond.value, f"conditions[{i}]: {cond!r}"))
                if cond.component > 0:
                    system = True
        if not funcs:
            raise ValueError("ODE: give initial=, boundary= or conditions=; a differential equation needs conditions")
        if m is None:
            m = max(f.component for f in funcs) + 1
        for f in funcs:
            if f.component >= m:
                raise ValueError(f"ODE: {f.label} refers to component {f.component} but the system has {m} components")
        orders = []
        for c in range(m):
            mine = [f for f in funcs if f.component == c]
            if not mine:
                raise ValueError(f"ODE: component {c} of the system has no conditions")
            orders.append(len(mine))
        self.orders = tuple(orders)
        self.order = max(orders)
        for f in funcs:
            if f.order >= self.orders[f.component]:
                raise ValueError(
                    f"ODE: {f.label} involves derivative {f.order}, but the conditions give component "
                    f"{f.component} an equation of order {self.orders[f.component]}; conditions may "
                    f"involve derivatives up to order {self.orders[f.component] - 1} "
                    "(an equation of order n needs n conditions)"
                )
        self.n_components = m
        self.system = system or m > 1
        self.functionals = funcs
        cnt = _positional_count(residual)
        if cnt is not None:
            req, tot = cnt
            want = self.order + 2
            if req > want or (tot is not None and tot < want):
                names = ", ".join(["t", "u", "du", "ddu", "d3u", "d4u", "d5u", "d6u"][: want]) if want <= 8 else "t, u, ..."
                raise ValueError(
                    f"ODE: the conditions give an equation of order {self.order} "
                    f"({'initial' if initial is not None else 'boundary/conditions'}: "
                    f"{len(funcs)} condition(s)), so residual must take {want} arguments "
                    f"residual({names}); it takes {tot if tot == req else f'{req} to {tot}'}"
                )
        if exact is not None:
            _check_callable(exact, "ODE: exact")
        self.exact = exact
        self.name = name or "ODE"

    @property
    def lows(self):
        return np.array([self.domain[0]])

    @property
    def highs(self):
        return np.array([self.domain[1]])

    def evaluate_residual(self, p, U):
        """The residual from points ``p`` (n, 1) and derivative stack
        ``U`` (n, order+1, m): calls ``residual(t, u, du, ...)``."""
        t = p[:, 0]
        if self.system:
            args = [U[:, k, :] for k in range(self.order + 1)]
        else:
            args = [U[:, k, 0] for k in range(self.order + 1)]
        return self.residual(t, *args)

    def __repr__(self):
        return (
            f"ODE({self.name}: order {self.order}, {self.n_components} component(s) on "
            f"[{self.domain[0]:g}, {self.domain[1]:g}], {len(self.functionals)} conditions)"
        )


_SIDES = {0: 0, 1: 1, "low": 0, "high": 1, "lo": 0, "hi": 1, "-": 0, "+": 1}


def _face_key(key, d, where):
    if not (isinstance(key, tuple) and len(key) == 2):
        raise ValueError(f"{where}: faces are named (axis, side) with side 'low' or 'high', got {key!r}")
    axis, side = key
    if not isinstance(axis, (int, np.integer)) or not 0 <= axis < d:
        raise ValueError(f"{where}: face {key!r} has axis {axis!r}; the domain has axes 0..{d - 1}")
    if side not in _SIDES:
        raise ValueError(f"{where}: face {key!r} has side {side!r}; use 'low' or 'high' (or 0/1)")
    return int(axis), _SIDES[side]


class PDE:
    """A scalar partial differential equation on a box ``[a_1, b_1] x ... x [a_d, b_d]``.

    Parameters
    ----------
    residual : callable
        ``residual(p, u, Du, D2u)`` with ``p`` (n, d), ``u`` (n,), ``Du``
        (n, d), ``D2u`` (n, d, d), returning ``(n,)``; with three arguments
        ``(p, u, Du)`` a first-order equation.
    domain : sequence of (low, high)
        One interval per dimension.
    dirichlet : callable, number or dict, optional
        Boundary values ``g(p)`` (``p`` (n, d) -> (n,)).  A function or
        number applies to every face not given another condition (and, with
        ``initial``, not to the faces of the time axis); a dict maps faces
        ``(axis, 'low' | 'high')`` to functions or numbers.
    neumann : dict, optional
        Face -> ``h(p)``: ``du/dx_axis = h`` on that face (partial derivative
        along the axis, not the outward normal).
    robin : dict, optional
        Face -> ``(alpha, beta, h)``: ``alpha u + beta du/dx_axis = h``.
    initial : callable or pair, optional
        For time-dependent problems the last axis is time: ``u0`` gives
        ``u(x, t_0) = u0(p)``; ``(u0, v0)`` adds ``du/dt(x, t_0) = v0(p)``.
        The face at the final time stays free.
    exact : callable, optional
        ``exact(p) -> (n,)``, used to report errors.
    name : str, optional
    """

    kind = "pde"

    def __init__(self, residual, domain, dirichlet=None, neumann=None, robin=None, initial=None,
                 exact=None, name=None):
        _check_callable(residual, "PDE: residual")
        self.residual = residual
        if not _is_seq(domain) or len(domain) == 0 or not all(_is_seq(iv) for iv in domain):
            raise ValueError(
                f"PDE: domain must be a tuple of (low, high) intervals, one per dimension, got {domain!r}"
            )
        self.domain = tuple(_check_interval(iv, f"PDE: domain[{i}]") for i, iv in enumerate(domain))
        d = self.d = len(self.domain)
        cnt = _positional_count(residual)
        self.order = 2
        if cnt is not None:
            req, tot = cnt
            if req <= 4 and (tot is None or tot >= 4):
                self.order = 2
            elif req <= 3 and (tot is None or tot >= 3):
                self.order = 1
            else:
                raise ValueError(
                    "PDE: residual must take (p, u, Du, D2u) (second order) or (p, u, Du) (first order); "
                    f"it takes {tot if tot == req else f'{req} to {tot}'} arguments"
                )
        faces = {}  # (axis, side) -> list of Functional

        def add(face, cond, label):
            axis, side = face
            x = self.domain[axis][side]
            alpha, beta = cond.coefficients
            terms = tuple(t for t in ((alpha, x, 0), (beta, x, 1)) if t[0] != 0)
            value = cond.value
            faces.setdefault(face, []).append(Functional(axis, 0, terms, value, label))

        for arg, cls, argname in ((neumann, Neumann, "neumann"), (robin, Robin, "robin")):
            if arg is None:
                continue
            if not isinstance(arg, dict):
                raise TypeError(f"PDE: {argname} must be a dict mapping faces (axis, 'low'|'high') to conditions")
            for key, val in arg.items():
                face = _face_key(key, d, f"PDE: {argname}")
                if face in faces:
                    raise ValueError(f"PDE: face {key!r} is given two conditions")
                if cls is Robin:
                    if not (_is_seq(val) and len(val) == 3):
                        raise ValueError(f"PDE: robin[{key!r}] must be (alpha, beta, h), got {val!r}")
                    cond = Robin(*val)
                else:
                    cond = cls(val)
                add(face, cond, f"{argname}[{key!r}]")
        time_axis = d - 1 if initial is not None else None
        if initial is not None:
            if callable(initial) or _is_real(initial):
                inits = [initial]
            elif _is_seq(initial) and 1 <= len(initial) <= 2:
                inits = list(initial)
            else:
                raise ValueError(f"PDE: initial must be u0 or a pair (u0, v0), got {initial!r}")
            face = (d - 1, 0)
            if face in faces:
                raise ValueError(f"PDE: the initial face {face!r} (time axis {d - 1}, low) also has another condition")
            add(face, Dirichlet(inits[0]), "initial u0")
            if len(inits) == 2:
                add(face, Neumann(inits[1]), "initial du/dt")
        if dirichlet is not None:
            if isinstance(dirichlet, dict):
                for key, val in dirichlet.items():
                    face = _face_key(key, d, "PDE: dirichlet")
                    if face in faces:
                        raise ValueError(f"PDE: face {key!r} is given two conditions")
                    add(face, Dirichlet(val), f"dirichlet[{key!r}]")
            else:
                cond = Dirichlet(dirichlet)
                for axis in range(d):
                    if axis == time_axis:
                        continue
                    for side in (0, 1):
                        if (axis, side) not in faces:
                            add((axis, side), cond, f"dirichlet on face ({axis}, {'low' if side == 0 else 'high'})")
        if not faces:
            raise ValueError("PDE: give boundary conditions (dirichlet=, neumann=, robin= or initial=)")
        if self.order == 1:
            for fs in faces.values():
                for f in fs:
                    if f.order >= 1:
                        raise ValueError(f"PDE: {f.label} involves a derivative but the equation is first order")
        self.faces = faces
        self.functionals = [f for key in sorted(faces) for f in faces[key]]
        self.n_components = 1
        self.system = False
        self.time_axis = time_axis
        if exact is not None:
            _check_callable(exact, "PDE: exact")
        self.exact = exact
        self.name = name or "PDE"

    @property
    def lows(self):
        return np.array([iv[0] for iv in self.domain])

    @property
    def highs(self):
        return np.array([iv[1] for iv in self.domain])

    def evaluate_residual(self, p, U, index):
        """The residual from points ``p`` (n, d) and partials ``U`` (n, n_beta, 1);
        ``index`` maps multi-indices to positions in ``U``'s second axis."""
        import nnopt.numpy as nnp

        d = self.d
        u = U[:, index[(0,) * d], 0]
        first = [index[tuple(1 if i == j else 0 for i in range(d))] for j in range(d)]
        Du = U[:, first, 0]
        if self.order == 1:
            return self.residual(p, u, Du)
        sec = np.array(
            [[index[tuple((i == j) + (i == k) for i in range(d))] for k in range(d)] for j in range(d)]
        )
        D2u = nnp.reshape(U[:, sec.ravel(), 0], (-1, d, d))
        return self.residual(p, u, Du, D2u)

    def __repr__(self):
        box = " x ".join(f"[{a:g}, {b:g}]" for a, b in self.domain)
        return f"PDE({self.name}: order {self.order} on {box}, {len(self.functionals)} face conditions)"
