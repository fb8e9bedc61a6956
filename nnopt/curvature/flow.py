"""Gradient flow against gradient descent.

Gradient descent ``theta_{k+1} = theta_k - eta grad L(theta_k)`` is the
explicit Euler discretisation of the gradient flow ``d theta / dt =
-grad L(theta)``.  Elkabetz & Cohen ("Continuous vs. Discrete Optimization
of Deep Neural Networks", NeurIPS 2021) show that GD stays close to the flow
when the curvature along the flow's trajectory is moderate relative to
``1 / eta``: the distance ``||theta_k - theta(k eta)||`` grows with ``eta``
and with the Hessian's eigenvalues along the path (a large ``lambda_max``
drives GD to oscillate, a negative ``lambda_min`` makes nearby trajectories
separate).  :func:`gradient_flow_vs_gd` integrates the flow with a
stiff-capable SciPy integrator (LSODA by default, given the exact Hessian
as the Jacobian of the vector field), runs GD for each ``eta`` over the same
time span, and reports the distances and the extremal Hessian eigenvalues
along the flow.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._checks import check_int, check_positive, check_theta
from .dense import hessian_matrix
from .lanczos import lanczos
from .operators import hessian_operator

__all__ = ["gradient_flow_vs_gd", "FlowComparison"]


class FlowComparison(NamedTuple):
    """Result of :func:`gradient_flow_vs_gd`.

    Attributes
    ----------
    lrs : ndarray
    t_final : float
    max_distance, final_distance : ndarray, one per ``lr``
        ``max_k ||theta_k - theta(k eta)||`` and the value at ``t_final``.
    distances : tuple of ndarray
        ``||theta_k - theta(k eta)||`` for every GD step, one array per ``lr``.
    times : ndarray
        Checkpoints along the flow.
    flow_loss, lambda_max, lambda_min : ndarray
        Loss and extremal Hessian eigenvalues at the checkpoints.
    eta_lambda_max : ndarray
        ``eta * max_t lambda_max(theta(t))`` per ``lr`` (GD on the local
        quadratic is stable below 2).
    nfev : int
        Gradient evaluations of the ODE solver.
    """

    lrs: np.ndarray
    t_final: float
    max_distance: np.ndarray
    final_distance: np.ndarray
    distances: tuple
    times: np.ndarray
    flow_loss: np.ndarray
    lambda_max: np.ndarray
    lambda_min: np.ndarray
    eta_lambda_max: np.ndarray
    nfev: int


_IMPLICIT = ("LSODA", "BDF", "Radau")


def gradient_flow_vs_gd(objective, theta0, lrs, t_final, *, method="LSODA", rtol=1e-10, atol=1e-12,
                        use_hessian=True, n_checkpoints=21, seed=0):
    """Distance between GD iterates and the gradient flow, per step size.

    Parameters
    ----------
    objective : Objective or callable
        ``fun``/``jac`` are used when present (an :class:`nnopt.Objective`),
        otherwise the gradient by :func:`nnopt.grad`.  Must compute in
        float64: the SciPy integrators work in float64.
    theta0 : ndarray, float64
    lrs : sequence of float
        Step sizes; GD takes ``round(t_final / eta)`` steps for each.
    t_final : float
        Length of the flow.
    method : str
        A ``scipy.integrate.solve_ivp`` method; LSODA (default), BDF and
        Radau are given the exact Jacobian ``-H(theta)`` when ``use_hessian``.
    rtol, atol : float
        Integrator tolerances (the flow must be far more accurate than the
        distances measured).
    n_checkpoints : int
        Points along the flow where loss and extremal eigenvalues are taken.
    seed : int
        Lanczos start vectors.

    Returns
    -------
    FlowComparison
    """
    from scipy.integrate import solve_ivp

    where = "gradient_flow_vs_gd"
    dtype = getattr(objective, "dtype", None)
    theta0 = check_theta(theta0, getattr(objective, "n_params", None), None, where, "theta0")
    if theta0.dtype != np.float64 or (dtype is not None and np.dtype(dtype) != np.float64):
        raise TypeError(
            f"{where}: the ODE integrators of SciPy compute in float64; give a float64 objective and "
            f"theta0 (got {dtype or theta0.dtype}): use obj.astype(np.float64) explicitly"
        )
    lrs = np.asarray([check_positive(lr, "lrs[i]", where) for lr in lrs], dtype=np.float64)
    if lrs.size == 0:
        raise ValueError(f"{where}: lrs must hold at least one step size")
    t_final = check_positive(t_final, "t_final", where)
    n_checkpoints = check_int(n_checkpoints, "n_checkpoints", where, 2)
    if hasattr(objective, "jac") and hasattr(objective, "fun"):
        fun, jac = objective.fun, objective.jac
    else:
        from ..autodiff.transforms import value_and_grad

        vg = value_and_grad(objective)
        fun, jac = (lambda th: vg(th)[0]), (lambda th: vg(th)[1])

    def field(t, y):
        return -jac(np.ascontiguousarray(y))

    kwargs = {}
    if use_hessian and method in _IMPLICIT:
        kwargs["jac"] = lambda t, y: -hessian_matrix(objective, np.ascontiguousarray(y))
    sol = solve_ivp(field, (0.0, t_final), theta0, method=method, rtol=rtol, atol=atol,
                    dense_output=True, **kwargs)
    if not sol.success:
        raise RuntimeError(f"{where}: the ODE solver failed: {sol.message}")
    times = np.linspace(0.0, t_final, n_checkpoints)
    flow_loss = np.empty(n_checkpoints)
    lam_max = np.empty(n_checkpoints)
    lam_min = np.empty(n_checkpoints)
    for i, t in enumerate(times):
        th = np.ascontiguousarray(sol.sol(t))
        flow_loss[i] = float(fun(th))
        H = hessian_operator(objective, th)
        lam_max[i] = float(lanczos(H, k=1, which="largest", tol=1e-8, seed=seed, full_output=True).values[0])
        lam_min[i] = float(lanczos(H, k=1, which="smallest", tol=1e-8, seed=seed, full_output=True).values[0])
    distances = []
    for eta in lrs:
        n = max(1, int(round(t_final / eta)))
        theta = theta0.copy()
        d = np.empty(n + 1)
        d[0] = 0.0
        for step in range(1, n + 1):
            theta = theta - eta * jac(theta)
            if not np.all(np.isfinite(theta)):
                d[step:] = np.inf
                break
            d[step] = float(np.linalg.norm(theta - sol.sol(min(step * eta, t_final))))
        distances.append(d)
    max_d = np.array([np.max(d) for d in distances])
    fin_d = np.array([d[-1] for d in distances])
    return FlowComparison(lrs, t_final, max_d, fin_d, tuple(distances), times, flow_loss, lam_max, lam_min,
                          lrs * float(np.max(lam_max)), int(sol.nfev))
