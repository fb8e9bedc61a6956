r"""Built-in experiment "lr-scan": gradient descent step sizes x dtypes on least squares.

Full-batch gradient descent

.. math::  w_{t+1} = w_t - \eta \nabla f(w_t), \qquad
           f(w) = \frac{1}{2n} \lVert A w - b \rVert^2

on a random least-squares problem whose Hessian :math:`H = A^\top A / n` has
eigenvalues log-spaced in :math:`[1/\kappa, 1]`, so :math:`L = \lambda_{\max}(H) = 1`
and the step size *is* :math:`\eta L`. On a quadratic, GD converges iff
:math:`0 < \eta L < 2` (each eigen-direction is multiplied by
:math:`1 - \eta\lambda` per step; Nesterov, *Lectures on Convex Optimization*,
2018, Sec. 2.1.5), so the scan shows the classic stability threshold
:math:`\eta = 2/L` and, in float32, the floor that rounding puts under
:math:`f(w_t) - f^*` (about :math:`\varepsilon_{32} f^*`), while float64 keeps
going.

The problem data are drawn in float64 from the seed and cast once to the run's
dtype; the whole descent then runs in that dtype (gradients by
:func:`nnopt.value_and_grad`). :math:`f^*` is a float64 reference
(:func:`numpy.linalg.lstsq` on the float64 data), used only for reporting.
A run stops as "diverged" when the loss is non-finite or exceeds
:math:`10^{6} f(w_0)`, keeping its history up to the last finite loss.
"""
from __future__ import annotations

import numpy as np

import nnopt
import nnopt.numpy as nnp

from .plots import plot_dtype_panels, plot_final, save_figure
from .registry import experiment
from .report import aggregate, write_csv, write_markdown
from .sweep import sweep

__all__ = ["gd_least_squares", "make_problem", "lr_scan", "lr_scan_report"]

#: Loss growth over the initial loss at which a run counts as diverged.
DIVERGENCE_FACTOR = 1e6


def make_problem(n, d, cond, seed):
    """Random least-squares data ``(A, b)`` in float64 with ``eigvals(A^T A / n)`` log-spaced in ``[1/cond, 1]``.

    Parameters
    ----------
    n, d : int
        Samples and parameters (``n >= d``).
    cond : float
        Condition number of the Hessian ``A^T A / n`` (>= 1).
    seed : int
        Seed of the :class:`numpy.random.Generator`.

    Returns
    -------
    A : ndarray, shape (n, d)
    b : ndarray, shape (n,)
        ``b = A w_true + 0.1 * noise``, so the optimum ``f*`` is positive.
    """
    if n < d:
        raise ValueError(f"n: expected n >= d, got n={n}, d={d}")
    if not cond >= 1:
        raise ValueError(f"cond: expected a condition number >= 1, got {cond!r}")
    rng = np.random.default_rng(seed)
    U, _ = np.linalg.qr(rng.standard_normal((n, d)))
    V, _ = np.linalg.qr(rng.standard_normal((d, d)))
    eig = np.logspace(0.0, -np.log10(cond), d)          # eigenvalues of A^T A / n
    A = np.sqrt(n) * (U * np.sqrt(eig)) @ V.T
    w_true = rng.standard_normal(d)
    b = A @ w_true + 0.1 * rng.standard_normal(n)
    return A, b


def gd_least_squares(lr, dtype, n, d, cond, iters, seed):
    """One run of the scan: ``iters`` steps of GD with step ``lr`` (in units of ``1/L``) in ``dtype``.

    Parameters
    ----------
    lr : float
        Step size; ``L = 1`` by construction, so this is ``eta * L``.
    dtype : str
        ``"float32"`` or ``"float64"``: every step runs in this dtype.
    n, d, cond : int, int, float
        Problem size and Hessian condition number (see :func:`make_problem`).
    iters : int
        Number of steps.
    seed : int
        Seed of the problem and of the starting point.

    Returns
    -------
    dict
        ``loss`` (``f(w_t)`` for ``t = 0..T``, in ``dtype``), ``final_loss``
        (NumPy scalar in ``dtype``), ``f_star`` (float64 reference),
        ``final_gap`` (``final_loss - f_star`` in float64), ``status``
        (``"completed"`` or ``"diverged"``), ``iterations`` (``T``).
    """
    dt = np.dtype(dtype)
    if dt.kind != "f":
        raise TypeError(f"dtype: expected a floating dtype name, got {dtype!r}")
    A64, b64 = make_problem(n, d, cond, seed)
    f_star = 0.5 * float(np.mean((A64 @ np.linalg.lstsq(A64, b64, rcond=None)[0] - b64) ** 2))
    A, b = A64.astype(dt), b64.astype(dt)
    w = np.random.default_rng([seed, 1]).standard_normal(d).astype(dt)
    step = dt.type(lr)

    def f(w):
        r = A @ w - b
        return 0.5 * nnp.mean(r * r)

    value_and_grad = nnopt.value_and_grad(f)
    losses = []
    status = "completed"
    for _ in range(iters + 1):
        loss, g = value_and_grad(w)
        if not np.isfinite(loss) or (losses and loss > DIVERGENCE_FACTOR * losses[0]):
            status = "diverged"
            break
        losses.append(loss)
        if len(losses) > iters:
            break
        w = w - step * g
    loss_curve = np.asarray(losses, dtype=dt)
    final = loss_curve[-1]
    return {"loss": loss_curve, "final_loss": final, "f_star": f_star,
            "final_gap": float(final) - f_star, "status": status,
            "iterations": int(loss_curve.size - 1)}


def _gap_curve(rec):
    res = rec["result"]
    # Reporting in float64 on purpose: f_star is a float64 reference.
    return np.abs(res["loss"].astype(np.float64) - res["f_star"])


def lr_scan_report(records, out):
    """Tables and figures of the lr-scan: final gap per (lr, dtype), gap curves, final gap vs lr."""
    from pathlib import Path
    out = Path(out)
    rows = aggregate(records)
    cols = ["lr", "dtype", "n_ok", "n_failed", "final_gap.median", "final_gap.min",
            "final_gap.max", "final_loss.mean", "final_loss.std", "iterations.min", "status"]
    cols = [c for c in cols if any(c in r for r in rows)]
    files = [write_markdown(rows, out / "final_gap.md", columns=cols,
                            title="lr-scan: f(w_T) - f* after T steps of GD (over seeds)"),
             write_csv(rows, out / "final_gap.csv")]
    ok = [r for r in records if r["status"] == "ok"]
    if not ok:
        return files
    fig = plot_dtype_panels(ok, _gap_curve, by=["lr"], logy=True, ylabel="|f(w_t) - f*|",
                            title="GD on least squares (L = 1): gap to the optimum")
    files.append(save_figure(fig, out / "gap_curves.png"))
    fig = plot_final(ok, "lr", lambda r: abs(r["result"]["final_gap"]), hue="dtype", logy=True,
                     xlabel="step size  eta * L", ylabel="|f(w_T) - f*|",
                     title="final gap vs step size (median, min-max over seeds)")
    fig.axes[0].axvline(2.0, color="0.4", ls="--", lw=1)
    fig.axes[0].annotate("eta = 2/L", (2.0, 0.5), xycoords=("data", "axes fraction"),
                         rotation=90, ha="right", va="center", fontsize="small", color="0.3")
    files.append(save_figure(fig, out / "final_vs_lr.png"))
    return files


QUICK = dict(grid={"lr": [0.5, 1.0, 1.9, 2.1], "dtype": ["float32", "float64"],
                   "n": [64], "d": [16], "cond": [30.0], "iters": [300]},
             seeds=range(2))
FULL = dict(grid={"lr": [0.1, 0.25, 0.5, 1.0, 1.5, 1.9, 1.99, 2.05, 2.2],
                  "dtype": ["float32", "float64"],
                  "n": [256], "d": [32], "cond": [100.0], "iters": [1500]},
            seeds=range(5))


@experiment("lr-scan", "full-batch GD on random least squares: step size x dtype x seed "
                       "(stability threshold 2/L, float32 floor)", report=lr_scan_report)
def lr_scan(*, quick, **sweep_kw):
    """Run the lr-scan sweep (see the module docstring); ``quick`` is 4 x 2 x 2 short runs."""
    spec = QUICK if quick else FULL
    return sweep(gd_least_squares, spec["grid"], seeds=spec["seeds"], **sweep_kw)
