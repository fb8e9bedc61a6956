"""Levenberg-Marquardt for a residual vector with an exact Jacobian.

Minimises ``F(x) = 1/2 ||r(x)||^2``.  Each iteration solves the damped
Gauss-Newton system

    (J^T J + mu D) h = -J^T r

(``D = I``: Levenberg 1944; ``D = diag(J^T J)``, kept monotone as in
Moré 1978: Marquardt 1963) and accepts the step when the gain ratio

    rho = (F(x) - F(x + h)) / (L(0) - L(h)),   L(0) - L(h) = 1/2 h^T (mu D h - J^T r)

is positive.  The damping follows Nielsen (1999): on success
``mu *= max(1/3, 1 - (2 rho - 1)^3)``, ``nu = 2``; on failure ``mu *= nu``,
``nu *= 2`` (Madsen, Nielsen & Tingleff 2004, "Methods for non-linear least
squares problems", Algorithm 3.16), or Marquardt's original rule
(``mu /= 10`` / ``mu *= 10``) with ``damping="marquardt"``.  With fewer
residuals than parameters the system is solved in its dual form
``h = -J^T (J J^T + mu I)^{-1} r`` (the same step, an m x m Cholesky).

The arithmetic runs in the dtype of ``x0``; tolerances come from
``np.finfo``.  A non-finite residual counts as a failed step; the result
always holds the last accepted (finite) iterate.
"""
from __future__ import annotations

import time

import numpy as np
import scipy.linalg
import scipy.linalg.lapack
import scipy.optimize

__all__ = ["levenberg_marquardt", "LMResult"]

# status codes (the values of nnopt.minimize.Status)
SUCCESS, MAXITER, NONFINITE, NO_PROGRESS, TIME_LIMIT, CALLBACK = 0, 1, 4, 5, 6, 7

_MESSAGES = {
    SUCCESS: "Converged: {which}.",
    MAXITER: "Maximum number of iterations has been reached.",
    NONFINITE: "The residual is not finite at the starting point.",
    NO_PROGRESS: "No further progress: the damping grew past its limit (precision floor).",
    TIME_LIMIT: "Time limit reached.",
    CALLBACK: "The callback raised StopIteration.",
}


class LMResult(scipy.optimize.OptimizeResult):
    """Result of :func:`levenberg_marquardt` (a SciPy ``OptimizeResult``).

    Attributes
    ----------
    x : ndarray
        Final iterate (the last accepted one).
    fun : float
        ``1/2 ||r(x)||^2``.
    residual : ndarray
        ``r(x)``.
    grad : ndarray
        ``J^T r`` at ``x``.
    status, success, message
        ``status`` uses the codes of :class:`nnopt.minimize.Status`.
    nit, nfev, njev : int
        Iterations (accepted or not), residual and Jacobian evaluations.
    damping : float
        Final ``mu`` (to warm-start a continuation).
    history : dict of ndarray
        Per iteration (entry 0: the start): ``fun``, ``grad_norm`` (inf-norm),
        ``damping``, ``step_norm``, ``accepted``, ``time``.
    """


def _cholesky_solve(M, b):
    """Solve ``M x = b`` for symmetric positive definite ``M`` (overwritten) by
    LAPACK ``potrf``/``potrs`` directly; raises LinAlgError if not positive definite."""
    potrf, potrs = scipy.linalg.lapack.get_lapack_funcs(("potrf", "potrs"), (M,))
    c, info = potrf(M, lower=True, overwrite_a=True, clean=False)
    if info != 0:
        raise np.linalg.LinAlgError("matrix not positive definite")
    x, info = potrs(c, b, lower=True)
    if info != 0:  # pragma: no cover - potrs only fails on bad arguments
        raise np.linalg.LinAlgError("potrs failed")
    return x


def _solve(J, r, g, mu, Dvec, dual):
    """The damped step; raises LinAlgError when the matrix is not positive definite."""
    if dual:
        # h = -D^{-1/2} Jt^T (Jt Jt^T + mu I)^{-1} r,  Jt = J D^{-1/2}
        Jt = J / np.sqrt(Dvec)
        M = Jt @ Jt.T
        M.flat[:: M.shape[0] + 1] += mu
        y = _cholesky_solve(M, r)
        return -(Jt.T @ y) / np.sqrt(Dvec)
    A = J.T @ J
    A.flat[:: A.shape[0] + 1] += mu * Dvec
    return _cholesky_solve(A, -g)


def levenberg_marquardt(fun, x0, jac=None, *, fun_and_jac=None, maxiter=1000, gtol=None, xtol=None,
                        ftol=0.0, damping="nielsen", scaling="levenberg", mu0=None, tau=1e-3,
                        max_time=None, callback=None):
    """Minimise ``1/2 ||fun(x)||^2`` by Levenberg-Marquardt.

    Parameters
    ----------
    fun : callable
        ``fun(x) -> r``, the residual vector (1-D, dtype of ``x``).
    x0 : ndarray (n,)
    jac : callable, optional
        ``jac(x) -> J`` of shape ``(m, n)``.  Without it (and without
        ``fun_and_jac``) it is computed with :func:`nnopt.jacobian`.
    fun_and_jac : callable, optional
        ``x -> (r, J)`` in one call (preferred when they share work).
    maxiter : int
        Maximum number of iterations (each solves one damped system).
    gtol : float, optional
        Stop when ``||J^T r||_inf <= gtol``; default ``eps * max(1, ||J^T r_0||_inf) * 1e-3``.
    xtol : float, optional
        Stop when ``||h|| <= xtol (||x|| + xtol)``; default ``eps``.
    ftol : float
        Stop when ``F(x) <= ftol`` (absolute; default 0: never).
    damping : {"nielsen", "marquardt"}
        The damping update rule.
    scaling : {"levenberg", "marquardt"}
        ``D = I`` or ``D = diag(J^T J)`` (monotone maximum over iterations).
    mu0 : float, optional
        Initial damping; default ``tau * max(diag(J^T J))``.
    tau : float
    max_time : float, optional
        Wall-clock limit in seconds (checked between iterations).
    callback : callable, optional
        ``callback(x, fun)`` after each accepted step; raise ``StopIteration`` to stop.

    Returns
    -------
    LMResult
    """
    if damping not in ("nielsen", "marquardt"):
        raise ValueError(f"levenberg_marquardt: damping must be 'nielsen' or 'marquardt', got {damping!r}")
    if scaling not in ("levenberg", "marquardt"):
        raise ValueError(f"levenberg_marquardt: scaling must be 'levenberg' or 'marquardt', got {scaling!r}")
    if not isinstance(maxiter, (int, np.integer)) or maxiter < 0:
        raise ValueError(f"levenberg_marquardt: maxiter must be a non-negative integer, got {maxiter!r}")
    x = np.array(x0, copy=True)
    if x.ndim != 1 or x.dtype.kind != "f":
        raise TypeError(f"levenberg_marquardt: x0 must be a 1-D floating array, got shape {x.shape}, dtype {x.dtype}")
    dtype = x.dtype
    eps = float(np.finfo(dtype).eps)
    if fun_and_jac is None:
        if jac is None:
            from ..autodiff import jacobian

            jac = jacobian(fun)

        def fun_and_jac(z):
            return fun(z), jac(z)
    start = time.perf_counter()
    nfev = njev = 1
    r, J = fun_and_jac(x)
    r, J = np.asarray(r), np.asarray(J)
    if r.ndim != 1 or J.shape != (r.shape[0], x.shape[0]):
        raise ValueError(
            f"levenberg_marquardt: expected a residual (m,) and Jacobian (m, {x.shape[0]}), "
            f"got {r.shape} and {J.shape}"
        )
    hist = {k: [] for k in ("fun", "grad_norm", "damping", "step_norm", "accepted", "time")}
    F = 0.5 * float(r @ r)
    if not np.all(np.isfinite(r)) or not np.all(np.isfinite(J)):
        res = LMResult(x=x, fun=F, residual=r, grad=np.full_like(x, np.nan), status=NONFINITE, success=False,
                       message=_MESSAGES[NONFINITE], nit=0, nfev=nfev, njev=njev, damping=np.nan,
                       history={k: np.array(v) for k, v in hist.items()})
        return res
    g = J.T @ r
    colsq = np.einsum("ij,ij->j", J, J)
    Dvec = np.ones_like(x) if scaling == "levenberg" else np.maximum(colsq, eps)
    mu = float(mu0) if mu0 is not None else tau * float(np.max(colsq) if colsq.size else 1.0)
    mu = max(mu, np.finfo(dtype).tiny)
    nu = 2.0
    gnorm0 = float(np.max(np.abs(g))) if g.size else 0.0
    gtol = eps * 1e-3 * max(1.0, gnorm0) if gtol is None else float(gtol)
    xtol = eps if xtol is None else float(xtol)
    mu_max = 1e16 * max(1.0, float(np.max(colsq)) if colsq.size else 1.0)
    dual = J.shape[0] < J.shape[1]

    def record(step_norm, accepted):
        hist["fun"].append(F)
        hist["grad_norm"].append(float(np.max(np.abs(g))) if g.size else 0.0)
        hist["damping"].append(mu)
        hist["step_norm"].append(step_norm)
        hist["accepted"].append(accepted)
        hist["time"].append(time.perf_counter() - start)

    record(0.0, True)
    status, which = MAXITER, ""
    nit = 0
    while True:
        if hist["grad_norm"][-1] <= gtol:
            status, which = SUCCESS, "gradient below gtol"
            break
        if F <= ftol:
            status, which = SUCCESS, "loss below ftol"
            break
        if nit >= maxiter:
            status = MAXITER
            break
        if max_time is not None and time.perf_counter() - start > max_time:
            status = TIME_LIMIT
            break
        nit += 1
        try:
            h = _solve(J, r, g, mu, Dvec, dual)
            ok = np.all(np.isfinite(h))
        except (np.linalg.LinAlgError, scipy.linalg.LinAlgError, ValueError):
            ok = False
        if not ok:
            mu *= nu
            nu *= 2.0
            record(0.0, False)
            if mu > mu_max:
                status = NO_PROGRESS
                break
            continue
        hn = float(np.linalg.norm(h))
        if hn <= xtol * (float(np.linalg.norm(x)) + xtol):
            status, which = SUCCESS, "step below xtol"
            record(hn, False)
            break
        x_new = x + h
        r_new = np.asarray(fun(x_new))
        nfev += 1
        F_new = 0.5 * float(r_new @ r_new) if np.all(np.isfinite(r_new)) else np.inf
        pred = 0.5 * float(h @ (mu * Dvec * h - g))
        rho = (F - F_new) / pred if pred > 0 else -1.0
        if rho > 0:
            x = x_new
            r_, J_ = fun_and_jac(x)
            nfev += 1
            njev += 1
            r, J = np.asarray(r_), np.asarray(J_)
            F = 0.5 * float(r @ r)
            g = J.T @ r
            if scaling == "marquardt":
                Dvec = np.maximum(Dvec, np.einsum("ij,ij->j", J, J))
            if damping == "nielsen":
                mu *= max(1.0 / 3.0, 1.0 - (2.0 * rho - 1.0) ** 3)
            else:
                mu /= 10.0
            mu = max(mu, np.finfo(dtype).tiny)
            nu = 2.0
            record(hn, True)
            if callback is not None:
                try:
                    callback(x, F)
                except StopIteration:
                    status = CALLBACK
                    break
        else:
            if damping == "nielsen":
                mu *= nu
                nu *= 2.0
            else:
                mu *= 10.0
            record(hn, False)
            if mu > mu_max:
                status = NO_PROGRESS
                break
    msg = _MESSAGES[status].format(which=which)
    return LMResult(
        x=x, fun=F, residual=r, grad=g, status=status, success=status == SUCCESS, message=msg, nit=nit,
        nfev=nfev, njev=njev, damping=mu, history={k: np.array(v) for k, v in hist.items()},
    )
