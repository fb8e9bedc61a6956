"""Problems with known solutions: the test and study set of :mod:`nnopt.diffeq`.

Every function returns an :class:`~nnopt.diffeq.ODE` or
:class:`~nnopt.diffeq.PDE` with its ``exact`` solution attached.

* :func:`damped_oscillator` -- ``u'' + c u' + k u = 0``, ``u(0) = 1``,
  ``u'(0) = 0`` (the damped-system ODE of the neural-forms studies of
  Schneidereit & Breuss); ``periods`` sets a long-horizon variant.
* :func:`stiff_decay` -- ``u' = -lam (u - cos t)``, ``u(0) = 0``: a fast
  transient (time scale ``1/lam``) onto a slow solution.
* :func:`lagaris_ode` -- problems 1, 2 and 3 (initial and boundary value
  versions) of Lagaris, Likas & Fotiadis (1998).
* :func:`lagaris_system` -- their problem 4, a nonlinear system.
* :func:`poisson` -- their problem 5, a 2-D Poisson equation with Dirichlet data.
* :func:`lagaris_mixed` -- their problem 6, Poisson with a Neumann face.
* :func:`heat` -- ``u_t = alpha u_xx`` with a sine initial profile.
* :func:`beam` -- a fourth-order boundary value problem ``u'''' = f``.
"""
from __future__ import annotations

import numpy as np

import nnopt.numpy as nnp

from .conditions import Condition
from .problems import ODE, PDE

__all__ = [
    "damped_oscillator", "stiff_decay", "lagaris_ode", "lagaris_system", "poisson", "lagaris_mixed",
    "heat", "beam", "catalogue",
]


def damped_oscillator(c=0.4, k=4.0, periods=None, horizon=None):
    """``u'' + c u' + k u = 0``, ``u(0) = 1``, ``u'(0) = 0`` (under-damped: ``c^2 < 4k``).

    The horizon is ``[0, 2 pi]`` unless ``periods`` (of the damped motion)
    or ``horizon`` is given.  Exact: ``exp(-c t / 2) (cos w t + c / (2 w) sin w t)``,
    ``w = sqrt(k - c^2 / 4)``.
    """
    if not c * c < 4 * k:
        raise ValueError(f"damped_oscillator: need c^2 < 4k (under-damped), got c={c}, k={k}")
    w = np.sqrt(k - c * c / 4)
    T = horizon if horizon is not None else (2 * np.pi if periods is None else periods * 2 * np.pi / w)

    def exact(t):
        return np.exp(-c * t / 2) * (np.cos(w * t) + c / (2 * w) * np.sin(w * t))

    name = "damped oscillator" + ("" if periods is None else f" ({periods} periods)")
    return ODE(lambda t, u, du, ddu: ddu + c * du + k * u, (0.0, float(T)), initial=(1.0, 0.0), exact=exact,
               name=name)


def stiff_decay(lam=50.0, T=1.0):
    """``u' = -lam (u - cos t)``, ``u(0) = 0`` on ``[0, T]``.

    Exact: ``lam / (1 + lam^2) (lam cos t + sin t) - lam^2 / (1 + lam^2) exp(-lam t)``.
    """
    a = lam * lam / (1 + lam * lam)

    def exact(t):
        return lam / (1 + lam * lam) * (lam * np.cos(t) + np.sin(t)) - a * np.exp(-lam * t)

    return ODE(lambda t, u, du: du + lam * (u - nnp.cos(t)), (0.0, float(T)), initial=(0.0,), exact=exact,
               name=f"stiff decay (lambda={lam:g})")


def lagaris_ode(number, kind="ivp"):
    """Problems 1-3 of Lagaris, Likas & Fotiadis (1998).

    1: ``u' + (t + (1 + 3t^2) / (1 + t + t^3)) u = t^3 + 2t + t^2 (1 + 3t^2) / (1 + t + t^3)``,
       ``u(0) = 1`` on [0, 1]; exact ``exp(-t^2/2) / (1 + t + t^3) + t^2``.
    2: ``u' + u / 5 = exp(-t/5) cos t``, ``u(0) = 0`` on [0, 2]; exact ``exp(-t/5) sin t``.
    3: ``u'' + u' / 5 + u = -exp(-t/5) cos(t) / 5``; ``kind="ivp"``: ``u(0) = 0, u'(0) = 1``
       on [0, 2]; ``kind="bvp"``: ``u(0) = 0, u(1) = sin(1) exp(-1/5)`` on [0, 1];
       exact ``exp(-t/5) sin t``.
    """
    if number == 1:
        def res(t, u, du):
            q = (1 + 3 * t * t) / (1 + t + t ** 3)
            return du + (t + q) * u - (t ** 3 + 2 * t + t * t * q)

        return ODE(res, (0.0, 1.0), initial=(1.0,), name="Lagaris problem 1",
                   exact=lambda t: np.exp(-t * t / 2) / (1 + t + t ** 3) + t * t)
    if number == 2:
        return ODE(lambda t, u, du: du + u / 5 - nnp.exp(-t / 5) * nnp.cos(t), (0.0, 2.0), initial=(0.0,),
                   name="Lagaris problem 2", exact=lambda t: np.exp(-t / 5) * np.sin(t))
    if number == 3:
        def res(t, u, du, ddu):
            return ddu + du / 5 + u + nnp.exp(-t / 5) * nnp.cos(t) / 5

        exact = lambda t: np.exp(-t / 5) * np.sin(t)  # noqa: E731
        if kind == "ivp":
            return ODE(res, (0.0, 2.0), initial=(0.0, 1.0), exact=exact, name="Lagaris problem 3 (IVP)")
        if kind == "bvp":
            return ODE(res, (0.0, 1.0), boundary=(0.0, float(np.sin(1.0) * np.exp(-0.2))), exact=exact,
                       name="Lagaris problem 3 (BVP)")
        raise ValueError(f"lagaris_ode: kind must be 'ivp' or 'bvp', got {kind!r}")
    raise ValueError(f"lagaris_ode: number must be 1, 2 or 3, got {number!r}")


def lagaris_system(T=3.0):
    """Problem 4 of Lagaris et al.: ``u1' = cos t + u1^2 + u2 - (1 + t^2 + sin^2 t)``,
    ``u2' = 2t - (1 + t^2) sin t + u1 u2``, ``u1(0) = 0``, ``u2(0) = 1``;
    exact ``(sin t, 1 + t^2)``."""

    def res(t, u, du):
        u1, u2 = u[:, 0], u[:, 1]
        r1 = du[:, 0] - (nnp.cos(t) + u1 * u1 + u2 - (1 + t * t + nnp.sin(t) ** 2))
        r2 = du[:, 1] - (2 * t - (1 + t * t) * nnp.sin(t) + u1 * u2)
        return nnp.stack([r1, r2], axis=1)

    return ODE(res, (0.0, float(T)), initial=((0.0,), (1.0,)), name="Lagaris problem 4 (system)",
               exact=lambda t: np.stack([np.sin(t), 1 + t * t], axis=1))


def poisson():
    """Problem 5 of Lagaris et al.: ``u_xx + u_yy = exp(-x) (x - 2 + y^3 + 6y)`` on the
    unit square with Dirichlet data from the exact solution ``exp(-x) (x + y^3)``."""

    def exact_nnp(p):
        x, y = p[:, 0], p[:, 1]
        return nnp.exp(-x) * (x + y ** 3)

    def res(p, u, Du, D2u):
        x, y = p[:, 0], p[:, 1]
        return D2u[:, 0, 0] + D2u[:, 1, 1] - nnp.exp(-x) * (x - 2 + y ** 3 + 6 * y)

    return PDE(res, ((0.0, 1.0), (0.0, 1.0)), dirichlet=exact_nnp, exact=lambda p: np.asarray(exact_nnp(p)),
               name="Poisson (Lagaris problem 5)")


def lagaris_mixed():
    """Problem 6 of Lagaris et al.: ``u_xx + u_yy = (2 - pi^2 y^2) sin(pi x)`` on the unit
    square, ``u = 0`` on x = 0, x = 1, y = 0 and ``u_y(x, 1) = 2 sin(pi x)``;
    exact ``y^2 sin(pi x)``."""
    pi = np.pi

    def res(p, u, Du, D2u):
        return D2u[:, 0, 0] + D2u[:, 1, 1] - (2 - pi * pi * p[:, 1] ** 2) * nnp.sin(pi * p[:, 0])

    return PDE(res, ((0.0, 1.0), (0.0, 1.0)),
               dirichlet={(0, "low"): 0.0, (0, "high"): 0.0, (1, "low"): 0.0},
               neumann={(1, "high"): lambda p: 2 * nnp.sin(pi * p[:, 0])},
               exact=lambda p: p[:, 1] ** 2 * np.sin(pi * p[:, 0]), name="Poisson, mixed (Lagaris problem 6)")


def heat(alpha=0.1, T=1.0):
    """``u_t = alpha u_xx`` on ``[0, 1] x [0, T]``, ``u(0, t) = u(1, t) = 0``,
    ``u(x, 0) = sin(pi x)``; exact ``exp(-alpha pi^2 t) sin(pi x)``.  Points are ``(x, t)``."""
    pi = np.pi
    return PDE(lambda p, u, Du, D2u: Du[:, 1] - alpha * D2u[:, 0, 0], ((0.0, 1.0), (0.0, float(T))),
               dirichlet=0.0, initial=lambda p: nnp.sin(pi * p[:, 0]),
               exact=lambda p: np.exp(-alpha * pi * pi * p[:, 1]) * np.sin(pi * p[:, 0]),
               name=f"heat equation (alpha={alpha:g})")


def beam():
    """A fourth-order problem: ``u'''' = 24`` on [0, 1] with ``u(0) = u'(0) = 0``,
    ``u''(1) = 12``, ``u'''(1) = 24``; exact ``u = t^4``."""
    conds = [Condition(0.0, 0.0), Condition(0.0, 0.0, derivative=1),
             Condition(1.0, 12.0, derivative=2), Condition(1.0, 24.0, derivative=3)]
    return ODE(lambda t, u, d1, d2, d3, d4: d4 - 24.0, (0.0, 1.0), conditions=conds,
               exact=lambda t: t ** 4, name="beam (fourth order)")


def catalogue():
    """Name -> problem, for the reliability studies."""
    return {
        "oscillator": damped_oscillator(),
        "lagaris1": lagaris_ode(1),
        "lagaris2": lagaris_ode(2),
        "lagaris3_ivp": lagaris_ode(3, "ivp"),
        "lagaris3_bvp": lagaris_ode(3, "bvp"),
        "lagaris4_system": lagaris_system(),
        "stiff": stiff_decay(),
        "poisson": poisson(),
        "mixed": lagaris_mixed(),
        "heat": heat(),
    }

