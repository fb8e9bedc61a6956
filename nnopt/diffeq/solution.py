"""The result of :func:`nnopt.diffeq.solve`: a callable solution."""
from __future__ import annotations

import numpy as np

from . import collocation as _col

__all__ = ["Solution"]


class Solution:
    """A trained neural form, callable on new points.

    ``sol(points)`` gives values: ``points`` of shape ``(n,)`` for a 1-D
    problem (``(n, d)`` otherwise), values of shape ``(n,)`` (``(n, m)`` for
    a system).  :meth:`derivatives` gives the derivatives, :meth:`residual`
    the equation's defect at any points.

    Attributes
    ----------
    problem, form, net
        What was solved, with which form and network.
    theta : ndarray
        The trained weights.
    history : dict of ndarray
        Per iteration: ``loss`` (weighted mean squared residual), ``grad_norm``,
        ``time`` (seconds), and for Levenberg-Marquardt ``damping`` and
        ``accepted``.
    success, status, message, nit
        From the optimiser.
    points : ndarray
        The (last) collocation points.
    residual_stats : dict
        ``rms`` and ``max`` of the residual at the collocation points and on
        the evaluation grid (``grid_rms``, ``grid_max``).
    errors : dict or None
        With an exact solution: ``max_abs``, ``rms`` and ``rel_l2`` errors on
        the evaluation grid (1001 points in 1-D, 101 x 101 in 2-D).
    time : float
        Wall-clock seconds of the training.
    path : str
        ``"fast"`` (Taylor-mode kernels) or ``"generic"`` (transforms).
    """

    def __init__(self, system, theta, history, result, points, method, time, seed, grid=None):
        self._system = system
        self.problem = system.problem
        self.form = system.form
        self.net = system.net
        self.theta = theta
        self.history = history
        self.result = result
        self.success = bool(result.get("success", False))
        self.status = result.get("status")
        self.message = result.get("message", "")
        self.nit = int(result.get("nit", len(history.get("loss", [])) - 1))
        self.points = points
        self.method = method
        self.time = time
        self.seed = seed
        self.path = getattr(system, "path_note", "fast" if system.fast else "generic")
        self.dtype = system.dtype
        prob = self.problem
        self.grid = _col.grid(prob.lows, prob.highs, dtype=self.dtype) if grid is None else grid
        r_col = np.asarray(self.residual(points))
        r_grid = np.asarray(self.residual(self.grid))
        self.residual_stats = {
            "rms": float(np.sqrt(np.mean(r_col.astype(np.float64) ** 2))),
            "max": float(np.max(np.abs(r_col))),
            "grid_rms": float(np.sqrt(np.mean(r_grid.astype(np.float64) ** 2))),
            "grid_max": float(np.max(np.abs(r_grid))),
        }
        self.errors = self.error() if prob.exact is not None else None

    # -- evaluation -----------------------------------------------------------
    def _points(self, points):
        prob = self.problem
        P = _col.check_points(points, prob.lows, prob.highs, name="points")
        return P.astype(self.dtype, copy=False)

    def _shape_out(self, U):
        return U[:, 0] if not self.problem.system else U

    def __call__(self, points):
        """Values of the solution at ``points``."""
        P = self._points(points)
        U, _ = self._system.u_partials(self.theta, P, order=0)
        return self._shape_out(U[:, 0, :])

    def derivatives(self, points, order=None):
        """Derivatives with respect to the independent variables.

        ODE: the list ``[u, u', ..., u^(order)]`` (``order`` defaults to the
        equation's order).  PDE: ``(u, Du, D2u)`` of shapes ``(n,)``,
        ``(n, d)``, ``(n, d, d)`` (``order=1``: ``(u, Du)``).
        """
        prob = self.problem
        q = prob.order if order is None else int(order)
        P = self._points(points)
        U, betas = self._system.u_partials(self.theta, P, order=q)
        if prob.kind == "ode":
            return [self._shape_out(U[:, k, :]) for k in range(q + 1)]
        index = {b: i for i, b in enumerate(betas)}
        d = prob.d
        u = U[:, index[(0,) * d], 0]
        Du = np.stack([U[:, index[tuple(int(i == j) for i in range(d))], 0] for j in range(d)], axis=1)
        if q < 2:
            return u, Du
        D2u = np.empty((P.shape[0], d, d), dtype=U.dtype)
        for j in range(d):
            for k in range(d):
                D2u[:, j, k] = U[:, index[tuple((i == j) + (i == k) for i in range(d))], 0]
        return u, Du, D2u

    def residual(self, points):
        """The equation's residual at ``points`` (unweighted)."""
        prob = self.problem
        P = self._points(points)
        U, betas = self._system.u_partials(self.theta, P)
        if prob.kind == "ode":
            return np.asarray(prob.evaluate_residual(P, U))
        return np.asarray(prob.evaluate_residual(P, U, {b: i for i, b in enumerate(betas)}))

    def error(self, exact=None, grid=None):
        """Errors against ``exact`` (default: the problem's) on ``grid``:
        ``{"max_abs", "rms", "rel_l2"}``."""
        prob = self.problem
        exact = prob.exact if exact is None else exact
        if exact is None:
            raise ValueError("error: no exact solution given (pass exact= here or to the problem)")
        G = self.grid if grid is None else self._points(grid)
        u = np.asarray(self(G), dtype=np.float64)
        x = G[:, 0] if prob.d == 1 else G
        ue = np.asarray(exact(np.asarray(x, dtype=np.float64)), dtype=np.float64).reshape(u.shape)
        e = u - ue
        norm = float(np.sqrt(np.sum(ue ** 2)))
        return {
            "max_abs": float(np.max(np.abs(e))),
            "rms": float(np.sqrt(np.mean(e ** 2))),
            "rel_l2": float(np.sqrt(np.sum(e ** 2)) / norm) if norm > 0 else float("nan"),
        }

    def __repr__(self):
        err = f", max error {self.errors['max_abs']:.2e}" if self.errors else ""
        return (
            f"Solution({self.problem.name}, form={self.form.kind}, method={self.method}, "
            f"{self.nit} iterations, loss {self.history['loss'][-1]:.2e}{err}, {self.time:.2f} s)"
        )
