"""Callbacks of :func:`nnopt.train`: progress display, early stopping.

A callback is a plain function ``f(info) -> bool | None`` called after every
step (return ``True`` to stop), or an object with any of

* ``on_train_begin(info)``,
* ``on_step(info) -> bool | None`` (``True`` stops the run),
* ``on_train_end(result)``,
* ``state_dict() -> dict`` / ``load_state_dict(d)`` (numbers or arrays),
  saved in checkpoints so that a resumed run behaves identically.

``info`` is a :class:`StepInfo`.
"""
from __future__ import annotations

import math
import sys
import time
from typing import Any, NamedTuple, Optional

import numpy as np

__all__ = ["StepInfo", "Callback", "EarlyStopping", "ProgressBar"]


class StepInfo(NamedTuple):
    """What a callback sees after step ``step`` (``step + 1`` updates done)."""

    step: int
    epoch: int
    total_steps: int
    theta: np.ndarray  # the iterate after the update
    loss: float  # minibatch loss before the update
    grad_norm: float
    learning_rate: float
    eval_loss: Optional[float]  # held-out loss if evaluated at this step, else None
    opt_state: Any
    history: Any


class Callback:
    """Base class with no-op hooks."""

    def on_train_begin(self, info):
        pass

    def on_step(self, info):
        return None

    def on_train_end(self, result):
        pass

    def state_dict(self):
        return {}

    def load_state_dict(self, d):
        pass


class EarlyStopping(Callback):
    """Stop when the monitored loss has not improved by ``min_delta`` for
    ``patience`` checks.

    ``monitor="eval_loss"`` (default) checks at every evaluation (needs
    ``eval_objective`` in :func:`nnopt.train`); ``monitor="loss"`` checks the
    minibatch loss every step.  ``best``, ``best_step`` and ``best_theta`` (a
    copy) record the best point seen.
    """

    def __init__(self, patience=10, min_delta=0.0, monitor="eval_loss"):
        if isinstance(patience, bool) or not isinstance(patience, (int, np.integer)) or patience < 1:
            raise ValueError(f"EarlyStopping: patience must be a positive integer, got {patience!r}")
        if monitor not in ("eval_loss", "loss"):
            raise ValueError(f"EarlyStopping: monitor must be 'eval_loss' or 'loss', got {monitor!r}")
        self.patience = int(patience)
        self.min_delta = float(min_delta)
        self.monitor = monitor
        self.best = math.inf
        self.best_step = -1
        self.best_theta = None
        self.wait = 0

    def on_step(self, info):
        v = info.eval_loss if self.monitor == "eval_loss" else info.loss
        if v is None:
            return None
        if v < self.best - self.min_delta:
            self.best, self.best_step, self.wait = float(v), info.step, 0
            self.best_theta = info.theta.copy()
            return None
        self.wait += 1
        return self.wait >= self.patience

    def state_dict(self):
        d = {"best": self.best, "best_step": self.best_step, "wait": self.wait}
        if self.best_theta is not None:
            d["best_theta"] = self.best_theta
        return d

    def load_state_dict(self, d):
        self.best = float(d["best"])
        self.best_step = int(d["best_step"])
        self.wait = int(d["wait"])
        self.best_theta = np.array(d["best_theta"]) if "best_theta" in d else None


class ProgressBar(Callback):
    """A one-line progress display on a terminal stream (default ``sys.stderr``).

    Redrawn at most every ``min_interval`` seconds; on a stream that is not a
    terminal it writes a line at every 10% instead.
    """

    def __init__(self, stream=None, min_interval=0.1, width=24):
        self.stream = stream
        self.min_interval = float(min_interval)
        self.width = int(width)
        self._last = 0.0
        self._t0 = None
        self._next_pct = 0

    def _out(self):
        return self.stream if self.stream is not None else sys.stderr

    def on_train_begin(self, info):
        self._t0 = time.perf_counter()
        self._last = 0.0
        self._next_pct = 0

    def _line(self, info):
        n = max(info.total_steps, 1)
        done = info.step + 1
        frac = min(done / n, 1.0)
        fill = int(round(frac * self.width))
        el = time.perf_counter() - (self._t0 or time.perf_counter())
        eta = el / done * (n - done) if done else 0.0
        ev = "" if info.eval_loss is None else f" eval {info.eval_loss:.4g}"
        return (f"[{'#' * fill}{'.' * (self.width - fill)}] {done}/{n} "
                f"loss {info.loss:.4g} |g| {info.grad_norm:.3g}{ev} "
                f"{el:.1f}s<{eta:.1f}s")

    def on_step(self, info):
        out = self._out()
        tty = getattr(out, "isatty", lambda: False)()
        now = time.perf_counter()
        last = info.step + 1 >= info.total_steps
        if tty:
            if last or now - self._last >= self.min_interval:
                self._last = now
                out.write("\r" + self._line(info))
                out.flush()
        else:
            pct = int(100 * (info.step + 1) / max(info.total_steps, 1))
            if pct >= self._next_pct or last:
                self._next_pct = (pct // 10 + 1) * 10
                out.write(self._line(info) + "\n")
                out.flush()
        return None

    def on_train_end(self, result):
        out = self._out()
        if getattr(out, "isatty", lambda: False)():
            out.write("\n")
        if result.status != 0:
            out.write(f"stopped: {result.message}\n")
        out.flush()
