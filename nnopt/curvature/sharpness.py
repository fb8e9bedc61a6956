"""Sharpness (the top Hessian eigenvalue) and a tracker that records it along training.

``sharpness(f, theta)`` is ``lambda_max(H(theta))``, the algebraically
largest eigenvalue of the Hessian of the full-batch loss, by Lanczos on the
exact Hessian operator.  Gradient descent with step size ``eta`` is stable on
the quadratic model of the loss only while ``lambda_max < 2 / eta``; Cohen,
Kaur, Li, Kolter & Talwalkar ("Gradient Descent on Neural Networks Typically
Occurs at the Edge of Stability", ICLR 2021) observed that full-batch GD
drives the sharpness up to about ``2 / eta`` (progressive sharpening) and
keeps it there while the loss keeps decreasing, non-monotonically.

:class:`SharpnessTracker` is a callback for any training loop: call it after
each step with the step number and the parameters; every ``every`` steps it
records the sharpness (and optionally the top-k eigenvalues), loss, gradient
norm, parameter norm and ``2 / eta``, and it tells the loop to stop (returns
True) as soon as the run diverges, keeping the history and the last finite
parameters.
"""
from __future__ import annotations

import numbers

import numpy as np

from ._checks import as_rng, check_int, check_positive
from .lanczos import lanczos
from .operators import hessian_operator

__all__ = ["sharpness", "SharpnessTracker"]


def sharpness(f, theta, k=1, *, tol=None, maxiter=None, seed=0, v0=None, block=None,
              return_vectors=False, full_output=False):
    """The largest eigenvalue of the Hessian of ``f`` at ``theta`` (algebraic).

    Parameters
    ----------
    f : Objective or callable
        An :class:`nnopt.Objective` (full batch: its data as given) or any
        scalar function of a flat vector written with :mod:`nnopt.numpy`.
    theta : ndarray, shape (n,)
    k : int
        With ``k > 1``, the ``k`` largest eigenvalues (descending).
    tol, maxiter, seed, v0 : see :func:`nnopt.curvature.lanczos`
        ``v0`` (e.g. the previous top eigenvector) speeds up tracking.
    block : optional
        Sharpness of one layer's diagonal Hessian block (see
        :func:`nnopt.curvature.hessian_operator`).
    return_vectors : bool
        Also return the eigenvector(s).
    full_output : bool
        Return the :class:`~nnopt.curvature.LanczosResult`.

    Returns
    -------
    scalar of theta's dtype for ``k=1`` (array of shape ``(k,)`` otherwise);
    ``(value, vector)`` with ``return_vectors=True``.

    Examples
    --------
    >>> import numpy as np, nnopt.numpy as nnp
    >>> from nnopt.curvature import sharpness
    >>> f = lambda x: 0.5 * (3.0 * x[0] ** 2 + x[1] ** 2) - x[0] * x[1]
    >>> round(float(sharpness(f, np.zeros(2))), 6)  # eigenvalues of [[3, -1], [-1, 1]]
    3.414214
    """
    op = hessian_operator(f, theta, block=block)
    k = check_int(k, "k", "sharpness", 1, op.shape[0])
    res = lanczos(op, k=k, which="largest", tol=tol, maxiter=maxiter, seed=seed, v0=v0,
                  return_vectors=return_vectors, full_output=full_output)
    if full_output:
        return res
    if return_vectors:
        values, vectors = res
        return (values[0], vectors[:, 0]) if k == 1 else (values, vectors)
    return res[0] if k == 1 else res


def _lr_at(lr, step):
    if lr is None:
        return np.nan
    return float(lr(step)) if callable(lr) else float(lr)


class SharpnessTracker:
    """Record sharpness, loss, gradient norm, parameter norm and ``2/eta`` along training.

    Call ``tracker(step, theta)`` after every step of any optimizer (or pass
    ``tracker.scipy_callback()`` to ``scipy.optimize.minimize``).  On steps
    that are multiples of ``every`` it computes the full-batch loss and
    gradient of ``objective`` and the top eigenvalue(s) of its Hessian by
    Lanczos, warm-started from the previous top eigenvector.

    On every call it checks the run: if the parameters (or the given loss
    value) are not finite, or the loss exceeds ``divergence_threshold``, it
    sets ``status = "diverged"`` and returns True (stop); the history so far
    and :attr:`last_finite_theta` are kept.  It returns False otherwise.

    Parameters
    ----------
    objective : Objective or callable
        The full-batch loss (``fun``/``jac`` used when present, else
        :func:`nnopt.value_and_grad`).
    every : int
        Record every ``every`` steps (and at the first call).
    k : int
        Number of top eigenvalues to record (``"top_k"``); ``sharpness`` is
        the first.
    lr : float or callable, optional
        The step size ``eta`` (or a schedule ``step -> eta``), for ``2/eta``.
    tol, maxiter : Lanczos settings (``tol`` default ``1e-6``: tracking needs
        a few digits, not machine precision).
    seed : int or numpy.random.Generator
    divergence_threshold : float, optional
        A loss above this counts as divergence (default: only non-finite).
    record_weights : bool
        Also keep a histogram of the parameters at each record (for the
        drift of the weight distribution).
    bins : int or array
        Histogram bins (an int: equal bins over the range of the first
        recorded parameters, widened 2x).

    Attributes
    ----------
    history : dict of lists
        ``step, loss, grad_norm, param_norm, sharpness, top_k, lr,
        two_over_lr, lanczos_iters, lanczos_converged`` (and ``weight_hist``).
    status : str
        ``"running"`` or ``"diverged"``.
    message : str
    last_finite_theta, last_finite_step
    """

    def __init__(self, objective, every=10, k=1, *, lr=None, tol=1e-6, maxiter=None, seed=0,
                 divergence_threshold=None, record_weights=False, bins=50):
        where = "SharpnessTracker"
        if not callable(objective) and not hasattr(objective, "value_and_grad"):
            raise TypeError(f"{where}: objective must be an Objective or a callable, got {type(objective).__name__}")
        self.objective = objective
        self.every = check_int(every, "every", where, 1)
        self.k = check_int(k, "k", where, 1)
        if lr is not None and not callable(lr):
            lr = check_positive(lr, "lr", where)
        self.lr = lr
        self.tol = check_positive(tol, "tol", where)
        self.maxiter = maxiter
        self.rng = as_rng(seed, where)
        if divergence_threshold is not None:
            divergence_threshold = check_positive(divergence_threshold, "divergence_threshold", where)
        self.divergence_threshold = divergence_threshold
        self.record_weights = bool(record_weights)
        self._bins = bins
        self.bin_edges = None
        self.history = {name: [] for name in (
            "step", "loss", "grad_norm", "param_norm", "sharpness", "top_k", "lr", "two_over_lr",
            "lanczos_iters", "lanczos_converged")}
        if self.record_weights:
            self.history["weight_hist"] = []
        self.status = "running"
        self.message = ""
        self.last_finite_theta = None
        self.last_finite_step = None
        self._v0 = None
        self._n_calls = 0
        vg = getattr(objective, "value_and_grad", None)
        if callable(vg):
            self._vg = vg
        else:
            from ..autodiff.transforms import value_and_grad

            self._vg = value_and_grad(objective)

    # -- the callback ------------------------------------------------------
    def _diverge(self, step, why):
        self.status = "diverged"
        self.message = f"diverged at step {step}: {why}; history and last finite parameters kept"
        return True

    def __call__(self, step, theta, value=None):
        """Check the run and record on multiples of ``every``; True means stop."""
        if self.status == "diverged":
            return True
        if not isinstance(step, numbers.Integral) or isinstance(step, bool):
            raise TypeError(f"SharpnessTracker: step must be an integer, got {type(step).__name__}")
        theta = np.asarray(theta)
        self._n_calls += 1
        if not np.all(np.isfinite(theta)):
            return self._diverge(step, "the parameters are not finite")
        if value is not None:
            v = float(value)
            if not np.isfinite(v):
                return self._diverge(step, f"the loss is {v}")
            if self.divergence_threshold is not None and v > self.divergence_threshold:
                return self._diverge(step, f"the loss {v:.3g} exceeds divergence_threshold={self.divergence_threshold:g}")
        self.last_finite_theta = theta.copy()
        self.last_finite_step = int(step)
        if step % self.every != 0 and self._n_calls > 1:
            return False
        return self._record(int(step), theta)

    def _record(self, step, theta):
        loss, g = self._vg(theta)
        loss = float(loss)
        if not np.isfinite(loss) or not np.all(np.isfinite(g)):
            return self._diverge(step, f"the loss or gradient is not finite (loss {loss})")
        if self.divergence_threshold is not None and loss > self.divergence_threshold:
            return self._diverge(step, f"the loss {loss:.3g} exceeds divergence_threshold={self.divergence_threshold:g}")
        op = hessian_operator(self.objective, theta)
        k = min(self.k, op.shape[0])
        v0 = self._v0 if self._v0 is not None and self._v0.dtype == theta.dtype else None
        try:
            res = lanczos(op, k=k, tol=self.tol, maxiter=self.maxiter, seed=self.rng, v0=v0, full_output=True)
        except FloatingPointError as exc:
            return self._diverge(step, f"a Hessian-vector product is not finite ({exc})")
        self._v0 = np.ascontiguousarray(res.vectors[:, 0])
        h = self.history
        eta = _lr_at(self.lr, step)
        h["step"].append(step)
        h["loss"].append(loss)
        h["grad_norm"].append(float(np.linalg.norm(g)))
        h["param_norm"].append(float(np.linalg.norm(theta)))
        h["sharpness"].append(float(res.values[0]))
        h["top_k"].append(np.asarray(res.values, dtype=np.float64))
        h["lr"].append(eta)
        h["two_over_lr"].append(2.0 / eta if eta and np.isfinite(eta) else np.nan)
        h["lanczos_iters"].append(res.n_iter)
        h["lanczos_converged"].append(res.converged)
        if self.record_weights:
            if self.bin_edges is None:
                if isinstance(self._bins, (int, np.integer)):
                    a = float(np.max(np.abs(theta))) or 1.0
                    self.bin_edges = np.linspace(-2 * a, 2 * a, int(self._bins) + 1)
                else:
                    self.bin_edges = np.asarray(self._bins, dtype=np.float64)
            counts, _ = np.histogram(theta, bins=self.bin_edges)
            h["weight_hist"].append(counts)
        return False

    def scipy_callback(self):
        """A callback for ``scipy.optimize.minimize(..., callback=cb)``: counts
        iterations, records every ``every``, raises ``StopIteration`` on divergence."""
        counter = [0]

        def cb(intermediate_result=None, *args):
            x = getattr(intermediate_result, "x", intermediate_result)
            fun = getattr(intermediate_result, "fun", None)
            counter[0] += 1
            if self(counter[0], np.asarray(x), fun):
                raise StopIteration(self.message)

        return cb

    # -- results -----------------------------------------------------------
    def as_arrays(self):
        """The history as a dict of NumPy arrays (``top_k``: shape (records, k))."""
        out = {}
        for name, values in self.history.items():
            if name in ("top_k", "weight_hist"):
                out[name] = np.array(values) if values else np.empty((0, 0))
            else:
                out[name] = np.asarray(values)
        if self.bin_edges is not None:
            out["bin_edges"] = self.bin_edges
        return out

    def __repr__(self):
        n = len(self.history["step"])
        return f"SharpnessTracker(every={self.every}, k={self.k}, records={n}, status={self.status!r})"

