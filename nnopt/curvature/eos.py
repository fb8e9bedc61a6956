"""The edge-of-stability experiment (Cohen et al., ICLR 2021) and its non-convergence diagnostics.

Full-batch gradient descent ``theta <- theta - eta grad L(theta)`` on a small
tanh MLP regression task, for several step sizes ``eta``.  Along each run the
sharpness ``lambda_max(H)`` is tracked with :class:`SharpnessTracker`:
it rises (progressive sharpening) until it reaches about ``2 / eta``, then
hovers there while the loss keeps decreasing, non-monotonically, over long
time scales ("edge of stability").  The same runs show that GD does not
converge in the classical sense: the gradient norm stays away from zero and
the weights keep moving while the loss stabilises; the histogram of the
weights is recorded at every record so its drift can be measured
(Wasserstein-1 distance between successive weight distributions).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._checks import as_rng, check_int, check_positive, check_theta
from .sharpness import SharpnessTracker

__all__ = ["regression_task", "edge_of_stability", "EdgeOfStabilityResult", "EoSRun", "weight_drift"]


def regression_task(n_samples=200, n_in=4, freq=4.0, seed=0, dtype=np.float64):
    """A small synthetic regression task: ``y = sin(freq * w^T x)``,
    ``x ~ U[-1, 1]^n_in``, ``w ~ N(0, I / n_in)``; returns ``(X, Y)`` with
    ``Y`` of shape ``(n_samples, 1)``.  Hard enough that a tanh MLP must
    learn features, which is where progressive sharpening shows."""
    n_samples = check_int(n_samples, "n_samples", "regression_task")
    n_in = check_int(n_in, "n_in", "regression_task")
    freq = check_positive(freq, "freq", "regression_task")
    rng = as_rng(seed, "regression_task")
    X = rng.uniform(-1.0, 1.0, size=(n_samples, n_in))
    w = rng.normal(size=n_in) / np.sqrt(n_in)
    Y = np.sin(freq * (X @ w))[:, None]
    dtype = np.dtype(dtype)
    return X.astype(dtype), Y.astype(dtype)


class EoSRun(NamedTuple):
    """One gradient-descent run at step size ``lr``.

    ``loss`` holds the loss at every step taken; ``history`` the tracker's
    arrays (steps, sharpness, top_k, grad_norm, param_norm, two_over_lr,
    weight_hist, bin_edges); ``status`` is ``"completed"`` or ``"diverged"``;
    ``theta`` the last finite parameters.
    """

    lr: float
    status: str
    message: str
    loss: np.ndarray
    history: dict
    theta: np.ndarray

    def tail(self, fraction=0.5):
        """Boolean mask of the records in the last ``fraction`` of the run."""
        steps = self.history["step"]
        if steps.size == 0:
            return np.zeros(0, dtype=bool)
        return steps >= steps[-1] * (1.0 - fraction)

    def summary(self, fraction=0.5):
        """Numbers for the report: median sharpness over the last ``fraction``
        of the run divided by ``2/lr``, loss figures, gradient-norm figures."""
        h = self.history
        mask = self.tail(fraction)
        sharp = np.median(h["sharpness"][mask]) if mask.any() else np.nan
        loss = self.loss[np.isfinite(self.loss)]
        n = loss.size
        increases = int(np.sum(np.diff(loss) > 0)) if n > 1 else 0
        gn = h["grad_norm"]
        drift = weight_drift(h) if "weight_hist" in h and len(h["weight_hist"]) > 1 else np.array([np.nan])
        return {
            "lr": self.lr,
            "two_over_lr": 2.0 / self.lr,
            "status": self.status,
            "steps": n - 1,
            "max_sharpness": float(np.max(h["sharpness"])) if h["sharpness"].size else np.nan,
            "median_sharpness_tail": float(sharp),
            "ratio_to_2_over_lr": float(sharp * self.lr / 2.0),
            "initial_loss": float(loss[0]) if n else np.nan,
            "final_loss": float(loss[-1]) if n else np.nan,
            "loss_increases": increases,
            "grad_norm_tail_median": float(np.median(gn[mask])) if mask.any() else np.nan,
            "grad_norm_initial": float(gn[0]) if gn.size else np.nan,
            "weight_drift_tail_median": float(np.median(drift[-max(1, drift.size // 2):])),
        }


class EdgeOfStabilityResult(NamedTuple):
    """All runs of :func:`edge_of_stability` plus the setup."""

    runs: tuple
    config: dict

    def summary(self, fraction=0.5):
        """One :meth:`EoSRun.summary` dict per run."""
        return [r.summary(fraction) for r in self.runs]


def weight_drift(history):
    """Wasserstein-1 distance between the weight histograms of successive records.

    ``history`` is a tracker's :meth:`~SharpnessTracker.as_arrays` (with
    ``record_weights=True``).  A distance that stays positive while the loss
    is flat means the weights keep moving: GD has not converged, its iterates
    wander with a (possibly stationary) distribution of their own.
    """
    from scipy.stats import wasserstein_distance

    H = np.asarray(history["weight_hist"], dtype=np.float64)
    edges = history["bin_edges"]
    centers = 0.5 * (edges[1:] + edges[:-1])
    out = np.empty(max(H.shape[0] - 1, 0))
    for i in range(1, H.shape[0]):
        out[i - 1] = wasserstein_distance(centers, centers, H[i - 1] + 1e-300, H[i] + 1e-300)
    return out


def edge_of_stability(lrs=(0.1, 0.05, 1.0 / 30.0), *, n_steps=3000, every=20, sizes=(4, 32, 32, 32, 1),
                      activation="tanh", objective=None, theta0=None, n_samples=200, seed=0,
                      dtype=np.float64, k=1, tol=1e-6, divergence_threshold=1e6, record_weights=True,
                      bins=60, callback=None):
    """Full-batch GD at several step sizes, tracking sharpness against ``2/eta``.

    Parameters
    ----------
    lrs : sequence of float
        Step sizes ``eta``.
    n_steps : int
        GD steps per run.
    every : int
        Record sharpness (Lanczos on the exact Hessian) every ``every`` steps.
    sizes, activation : the MLP (default a 3-hidden-layer tanh MLP, 2 305 parameters)
    objective : nnopt.Objective, optional
        Train this instead of the default task (:func:`regression_task`,
        ``n_samples`` examples, ``mse`` loss).
    theta0 : ndarray, optional
        Start (default ``net.init(seed)``); the same start for every ``eta``.
    seed : int
        Seeds the task, the initialisation and Lanczos (reproducible bit for bit).
    dtype : float32 or float64
    k : int
        Top-``k`` eigenvalues recorded per record.
    tol : float
        Lanczos relative tolerance.
    divergence_threshold : float
        A loss above it stops the run as diverged (history kept).
    record_weights, bins : weight histograms per record (see :class:`SharpnessTracker`).
    callback : callable, optional
        ``callback(run_index, step, loss)`` after every step, for progress
        display; returning True stops that run.

    Returns
    -------
    EdgeOfStabilityResult
    """
    where = "edge_of_stability"
    lrs = tuple(check_positive(lr, "lrs[i]", where) for lr in lrs)
    if not lrs:
        raise ValueError(f"{where}: lrs must hold at least one step size")
    n_steps = check_int(n_steps, "n_steps", where, 1)
    every = check_int(every, "every", where, 1)
    if objective is None:
        from ..nn import MLP
        from ..objective import Objective

        X, Y = regression_task(n_samples, sizes[0], seed=seed, dtype=dtype)
        if sizes[-1] != 1:
            raise ValueError(f"{where}: the default task has one output; sizes[-1] must be 1, got {sizes}")
        net = MLP(list(sizes), activation=activation)
        objective = Objective(net, "mse", X, Y)
    net = objective.net
    dtype = objective.dtype
    if theta0 is None:
        theta0 = net.init(seed=seed, dtype=dtype)
    theta0 = check_theta(theta0, objective.n_params, dtype, where, "theta0")
    runs = []
    for i, lr in enumerate(lrs):
        tracker = SharpnessTracker(objective, every=every, k=k, lr=lr, tol=tol, seed=seed,
                                   divergence_threshold=divergence_threshold,
                                   record_weights=record_weights, bins=bins)
        theta = theta0.copy()
        eta = dtype.type(lr)
        losses = []
        status, message = "completed", f"{n_steps} steps"
        for step in range(n_steps + 1):
            loss, g = objective.value_and_grad(theta)
            losses.append(float(loss))
            if tracker(step, theta, loss):
                status, message = "diverged", tracker.message
                break
            if callback is not None and callback(i, step, float(loss)):
                status, message = "stopped", f"callback stopped the run at step {step}"
                break
            if step == n_steps:
                break
            theta = theta - eta * g
        last = tracker.last_finite_theta if tracker.last_finite_theta is not None else theta0
        runs.append(EoSRun(lr, status, message, np.asarray(losses), tracker.as_arrays(), last))
    config = {"lrs": lrs, "n_steps": n_steps, "every": every, "sizes": tuple(getattr(net, "sizes", ())),
              "n_samples": objective.n_samples, "seed": seed, "dtype": str(dtype), "k": k, "tol": tol}
    return EdgeOfStabilityResult(tuple(runs), config)
