"""The per-step record of a training run: numbers you can plot."""
from __future__ import annotations

import numpy as np

__all__ = ["History"]

_STEP_FIELDS = ("step", "epoch", "loss", "grad_norm", "learning_rate", "param_norm",
                "update_norm", "time", "n_grad_evals")
_INT_FIELDS = ("step", "epoch", "n_grad_evals", "eval_step")
_EVAL_FIELDS = ("eval_step", "eval_loss")


class History:
    """Per-step arrays of a run of :func:`nnopt.train`.

    Attributes (NumPy arrays, one entry per step unless noted)
    ----------------------------------------------------------
    step : int64
        Step index ``k`` (``loss[k]`` is the minibatch loss at ``theta_k``,
        before the ``k``-th update).
    epoch : int64
        Epoch of the step.
    loss, grad_norm : float64
        Minibatch loss and gradient 2-norm at ``theta_k``.
    learning_rate : float64
        The optimizer's ``hyperparams["learning_rate"]`` at step ``k`` (NaN if
        it has none).
    param_norm, update_norm : float64
        ``||theta_k||`` and ``||theta_{k+1} - theta_k||``.
    time : float64
        Wall-clock seconds of the step (gradient, update, bookkeeping).
    n_grad_evals : int64
        Cumulative gradient evaluations after the step (SAM and friends use
        more than one per step).
    eval_step, eval_loss : int64, float64
        Held-out loss after ``eval_step`` updates (one entry per evaluation).
    """

    def __init__(self):
        self._d = {k: [] for k in _STEP_FIELDS + _EVAL_FIELDS}

    def append(self, **values):
        for k in _STEP_FIELDS:
            self._d[k].append(values[k])

    def append_eval(self, step, loss):
        self._d["eval_step"].append(int(step))
        self._d["eval_loss"].append(float(loss))

    def __len__(self):
        return len(self._d["step"])

    def truncate(self, n_steps, n_evals):
        for k in _STEP_FIELDS:
            del self._d[k][n_steps:]
        for k in _EVAL_FIELDS:
            del self._d[k][n_evals:]

    @property
    def n_evals(self):
        return len(self._d["eval_step"])

    def __getattr__(self, name):
        d = self.__dict__.get("_d")
        if d is not None and name in d:
            return np.asarray(d[name], dtype=np.int64 if name in _INT_FIELDS else np.float64)
        raise AttributeError(f"History has no field {name!r}; fields: {', '.join(self.fields)}")

    @property
    def fields(self):
        return _STEP_FIELDS + _EVAL_FIELDS

    def as_dict(self):
        """All fields as NumPy arrays."""
        return {k: getattr(self, k) for k in self.fields}

    @classmethod
    def from_dict(cls, d):
        h = cls()
        for k in h.fields:
            if k in d:
                arr = np.asarray(d[k])
                h._d[k] = [int(v) for v in arr] if k in _INT_FIELDS else [float(v) for v in arr]
        return h

    def __repr__(self):
        if not len(self):
            return "History(0 steps)"
        return (f"History({len(self)} steps, loss {self._d['loss'][0]:.4g} -> "
                f"{self._d['loss'][-1]:.4g}, {self.n_evals} evaluations)")
