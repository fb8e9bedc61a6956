"""The training loop: minibatches, history, callbacks, divergence, checkpoints.

:func:`train` runs any optimizer of :mod:`nnopt.optim` on any objective with
``value_and_grad(theta)`` (and, for minibatches, ``batch(indices)`` and
``n_samples``), such as ``nnopt.Objective``, or on a plain function
``f(theta) -> scalar`` written with ``nnopt.numpy`` (full batch).
"""
from __future__ import annotations

import math
import numbers
import os
import time

import numpy as np
from scipy.optimize import OptimizeResult

from .averaging import averaged_params
from .base import GradientTransformation, at, check_params
from .callbacks import Callback, ProgressBar, StepInfo
from .checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from .history import History
from .oracle import Oracle, value_and_grad_fn

__all__ = ["train", "TrainResult", "STATUS_MESSAGES"]

STATUS_MESSAGES = {
    0: "finished the requested number of steps",
    1: "stopped by a callback",
    2: "diverged",
}


class TrainResult(OptimizeResult):
    """The result of :func:`train` (a :class:`scipy.optimize.OptimizeResult`).

    Attributes
    ----------
    theta, x : ndarray
        The final iterate; after a divergence, the last iterate whose loss,
        gradient and entries were all finite.
    theta_averaged : ndarray or None
        The averaged / slow weights kept by the optimizer (Gadam, tail or EMA
        averaging, Lookahead), if any.
    history : History
        Per-step arrays (loss, grad_norm, learning_rate, time, ...).
    state : NamedTuple
        The optimizer state at the end (pass it on to continue).
    status : int
        0 finished, 1 stopped by a callback, 2 diverged.
    message : str
    success : bool
        ``status != 2``.
    nit : int
        Steps done.  ``nfev``: gradient evaluations.  ``fun``: the last finite
        minibatch loss.  ``epoch``: epochs started.
    """


class _Sampler:
    """Minibatch indices from one ``numpy.random.Generator``.

    Without replacement: a fresh permutation per epoch, consecutive slices of
    it (the last batch of an epoch may be smaller).  With replacement: each
    batch is ``batch_size`` independent uniform draws.
    """

    def __init__(self, n, batch_size, replace, rng):
        self.n, self.bs, self.replace, self.rng = n, batch_size, replace, rng
        self.perm, self.pos = None, 0

    def next(self):
        if self.replace:
            return self.rng.integers(0, self.n, size=self.bs)
        if self.perm is None or self.pos >= self.n:
            self.perm, self.pos = self.rng.permutation(self.n), 0
        idx = self.perm[self.pos:self.pos + self.bs]
        self.pos += len(idx)
        return idx


def _count(x, name, low=1):
    if isinstance(x, bool) or not isinstance(x, numbers.Integral) or x < low:
        raise ValueError(f"train: {name} must be an integer >= {low}, got {x!r}")
    return int(x)


def _norm(x):
    # sqrt(x . x): a fraction of np.linalg.norm's overhead on small vectors
    return math.sqrt(float(np.dot(x, x)))


def _eval_fn(obj):
    fun = getattr(obj, "fun", None)
    if callable(fun):
        return fun
    vg = value_and_grad_fn(obj, "train: eval_objective")
    return lambda th: vg(th)[0]


def train(objective, optimizer, theta0, steps=None, epochs=None, batch_size=None, seed=0,
          callbacks=(), progress=True, *, replace=False, eval_objective=None, eval_every=None,
          divergence_threshold=None, checkpoint=None, checkpoint_every=None, resume=False):
    """Run ``optimizer`` on ``objective`` from ``theta0``.

    Each step ``k``: draw a minibatch ``B_k`` (or use the full objective),
    compute ``(L_B(theta_k), g_k)``, ``updates, state = optimizer.update(g_k,
    state, theta_k, value=L, oracle=Oracle(B_k))``, ``theta_{k+1} = theta_k +
    updates``; record the history; evaluate; call the callbacks; checkpoint.

    Parameters
    ----------
    objective : object or callable
        With ``value_and_grad(theta)`` (or ``fun``/``jac``); for minibatches
        also ``batch(indices)`` and ``n_samples``.  A callable
        ``f(theta) -> scalar`` written with ``nnopt.numpy`` runs full batch.
    optimizer : GradientTransformation
        E.g. ``nnopt.optim.adam(1e-3)``.
    theta0 : ndarray
        1-D float32 or float64 starting point (copied; its dtype is the run's dtype).
    steps, epochs : int
        Exactly one: the number of updates, or of passes over the data
        (``ceil(n_samples / batch_size)`` steps each; one step per epoch at
        full batch).  On resume, the *total* for the whole run.
    batch_size : int, optional
        Minibatch size; ``None`` is full batch.
    seed : int
        Seed of the run's ``numpy.random.Generator`` (minibatches and fresh
        batches for the oracle): the same seed gives the same run bit for bit.
    callbacks : sequence
        Functions ``f(info) -> bool`` or :class:`~nnopt.optim.callbacks.Callback`
        objects (see :mod:`nnopt.optim.callbacks`).
    progress : bool
        Show a :class:`~nnopt.optim.callbacks.ProgressBar` on stderr.
    replace : bool
        Sample minibatch indices with replacement (default: without, reshuffled each epoch).
    eval_objective : object or callable, optional
        Held-out objective, evaluated (``fun`` or ``value_and_grad``) every
        ``eval_every`` steps (default: once per epoch, or every ``steps // 10``)
        and at the end.
    divergence_threshold : float, optional
        Also stop as diverged when the loss exceeds this multiple of the first
        loss (non-finite loss, gradient or iterate always stops the run).
    checkpoint : path, optional
        Write ``(theta, optimizer state, rng state, sampler, history,
        callback states)`` atomically to this ``.npz`` file every
        ``checkpoint_every`` steps (default 100), at the end, and when the run
        is interrupted (``KeyboardInterrupt``, re-raised after saving).
    resume : bool
        If ``checkpoint`` exists, continue from it; the continued run equals
        the uninterrupted one bit for bit (wall-clock times aside).

    Returns
    -------
    TrainResult
    """
    if not isinstance(optimizer, GradientTransformation):
        raise TypeError(f"train: optimizer must be a GradientTransformation (e.g. nnopt.optim.adam(1e-3)), "
                        f"got {type(optimizer).__name__}")
    if not isinstance(theta0, np.ndarray):
        raise TypeError(f"train: theta0 must be a 1-D NumPy float array, got {type(theta0).__name__}")
    check_params(theta0, "train: theta0")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"train: seed must be a non-negative integer, got {seed!r}")
    vg_full = value_and_grad_fn(objective, "train: objective")
    n_params = getattr(objective, "n_params", None)
    if n_params is not None and int(n_params) != theta0.shape[0]:
        raise ValueError(f"train: theta0 has {theta0.shape[0]} entries but the objective has "
                         f"n_params={int(n_params)}")

    n = None
    if batch_size is not None:
        batch_size = _count(batch_size, "batch_size")
        if not callable(getattr(objective, "batch", None)) or getattr(objective, "n_samples", None) is None:
            raise TypeError(
                "train: batch_size needs an objective with batch(indices) and n_samples "
                f"(such as nnopt.Objective); {type(objective).__name__} has "
                f"{'no batch method' if not callable(getattr(objective, 'batch', None)) else 'no n_samples'}"
                "; pass batch_size=None for full batch"
            )
        n = int(objective.n_samples)
        if n < 1:
            raise ValueError(f"train: the objective has n_samples={n}")
    steps_per_epoch = 1 if batch_size is None else -(-n // batch_size)
    if (steps is None) == (epochs is None):
        raise ValueError(f"train: give exactly one of steps and epochs, got steps={steps!r}, epochs={epochs!r}")
    total = _count(steps, "steps") if steps is not None else _count(epochs, "epochs") * steps_per_epoch
    if eval_every is None:
        eval_every = steps_per_epoch if (epochs is not None and batch_size is not None) else max(1, total // 10)
    eval_every = _count(eval_every, "eval_every")
    eval_f = _eval_fn(eval_objective) if eval_objective is not None else None
    if divergence_threshold is not None:
        divergence_threshold = float(divergence_threshold)
        if not divergence_threshold > 0:
            raise ValueError(f"train: divergence_threshold must be > 0, got {divergence_threshold}")
    if checkpoint is not None:
        checkpoint = os.fspath(checkpoint)
        checkpoint_every = 100 if checkpoint_every is None else _count(checkpoint_every, "checkpoint_every")
    if resume and checkpoint is None:
        raise ValueError("train: resume=True needs checkpoint=<path>")

    cbs = list(callbacks) if callbacks is not None else []
    for i, cb in enumerate(cbs):
        if not (callable(cb) or isinstance(cb, Callback) or hasattr(cb, "on_step")):
            raise TypeError(f"train: callbacks[{i}] must be callable or a Callback, got {type(cb).__name__}")
    if progress:
        cbs.append(ProgressBar())

    theta = np.array(theta0, copy=True)
    state = optimizer.init(theta)
    rng = np.random.default_rng(int(seed))
    sampler = _Sampler(n, batch_size, bool(replace), rng) if batch_size is not None else None
    history = History()
    k = 0
    nfev = 0
    lr_h = optimizer.hyperparams.get("learning_rate")
    meta = {"n_params": int(theta.shape[0]), "dtype": theta.dtype.str, "seed": int(seed),
            "batch_size": batch_size, "replace": bool(replace), "n_samples": n}

    last_good, last_loss = theta, math.nan  # the last iterate with a finite loss and gradient
    if resume and os.path.exists(checkpoint):
        ck = load_checkpoint(checkpoint, state)
        m = ck["meta"]
        for key in ("n_params", "dtype", "seed", "batch_size", "replace", "n_samples"):
            if m.get(key) != meta[key]:
                raise CheckpointError(f"train: checkpoint {checkpoint!r} was written with "
                                      f"{key}={m.get(key)!r}, this run has {key}={meta[key]!r}")
        theta = np.array(ck["theta"], dtype=theta.dtype)
        state = ck["opt_state"]
        rng.bit_generator.state = ck["rng_state"]
        if sampler is not None:
            sampler.perm = ck["sampler"]["perm"]
            sampler.pos = int(ck["sampler"]["pos"])
        history = History.from_dict(ck["history"])
        k, nfev = int(m["step"]), int(m["nfev"])
        last_good = np.array(ck["extra"]["last_good"], dtype=theta.dtype)
        last_loss = float(ck["extra"]["last_loss"])
        for i, cb in enumerate(cbs):
            if hasattr(cb, "load_state_dict"):
                d = {key[len(f"cb{i}_"):]: v for key, v in ck["extra"].items() if key.startswith(f"cb{i}_")}
                if d:
                    cb.load_state_dict({key: (v.item() if v.ndim == 0 else v) for key, v in d.items()})

    def snapshot():
        return {"k": k, "theta": theta, "state": state, "rng": rng.bit_generator.state,
                "last_good": last_good, "last_loss": last_loss,
                "perm": None if sampler is None else sampler.perm,
                "pos": 0 if sampler is None else sampler.pos,
                "hist": (len(history), history.n_evals), "nfev": nfev,
                "cbs": [cb.state_dict() if hasattr(cb, "state_dict") else {} for cb in cbs]}

    def write(snap):
        h = history
        if (len(h), h.n_evals) != snap["hist"]:
            h = History.from_dict(history.as_dict())
            h.truncate(*snap["hist"])
        extra = {"last_good": snap["last_good"], "last_loss": snap["last_loss"]}
        for i, d in enumerate(snap["cbs"]):
            for key, v in d.items():
                extra[f"cb{i}_{key}"] = v
        save_checkpoint(checkpoint, theta=snap["theta"], opt_state=snap["state"],
                        rng_state=snap["rng"], sampler={"perm": snap["perm"], "pos": snap["pos"]},
                        history=h, meta=dict(meta, step=snap["k"], nfev=snap["nfev"]), extra=extra)

    status = 0
    message = STATUS_MESSAGES[0]
    first_loss = float(history.loss[0]) if len(history) else None

    def info_at(step, loss, gn, lr, ev):
        return StepInfo(step, step // steps_per_epoch, total, theta, loss, gn, lr, ev, state, history)

    for cb in cbs:
        if hasattr(cb, "on_train_begin"):
            cb.on_train_begin(info_at(k, math.nan, math.nan, math.nan, None))

    snap = snapshot() if checkpoint is not None else None
    try:
        while k < total:
            if checkpoint is not None:
                snap = snapshot()
            t0 = time.perf_counter()
            if sampler is not None:
                idx = sampler.next()
                batch = objective.batch(idx)
                oracle = Oracle(batch, source=objective, batch_size=batch_size, rng=rng)
            else:
                oracle = Oracle(objective, _vg=vg_full)
            loss, g = oracle.value_and_grad(theta)
            loss = float(loss)
            if not isinstance(g, np.ndarray) or g.shape != theta.shape:
                raise ValueError(
                    f"train: the objective's gradient has shape {np.shape(g)}, theta has shape "
                    f"{theta.shape}"
                )
            gn = _norm(g)
            pn = _norm(theta)
            lr = at(lr_h, k) if lr_h is not None else math.nan
            if not (math.isfinite(loss) and (math.isfinite(gn) or np.isfinite(g).all())):
                nfev += oracle.n_evals
                history.append(step=k, epoch=k // steps_per_epoch, loss=loss, grad_norm=gn,
                               learning_rate=lr, param_norm=pn, update_norm=math.nan,
                               time=time.perf_counter() - t0, n_grad_evals=nfev)
                status, message = 2, (f"diverged at step {k}: non-finite "
                                      f"{'loss' if not math.isfinite(loss) else 'gradient'}; "
                                      "theta is the last finite iterate")
                break
            if first_loss is None:
                first_loss = loss
            if divergence_threshold is not None and loss > divergence_threshold * abs(first_loss):
                nfev += oracle.n_evals
                history.append(step=k, epoch=k // steps_per_epoch, loss=loss, grad_norm=gn,
                               learning_rate=lr, param_norm=pn, update_norm=math.nan,
                               time=time.perf_counter() - t0, n_grad_evals=nfev)
                status, message = 2, (f"diverged at step {k}: loss {loss:.4g} > "
                                      f"{divergence_threshold:g} x initial loss {first_loss:.4g}")
                last_good = theta
                break
            last_good, last_loss = theta, loss
            updates, new_state = optimizer.update(g, state, theta, value=loss, oracle=oracle)
            new_theta = theta + updates
            nfev += oracle.n_evals
            un = _norm(updates)
            history.append(step=k, epoch=k // steps_per_epoch, loss=loss, grad_norm=gn,
                           learning_rate=lr, param_norm=pn, update_norm=un,
                           time=time.perf_counter() - t0, n_grad_evals=nfev)
            if not np.isfinite(new_theta).all():
                status, message = 2, (f"diverged at step {k}: the update is not finite; "
                                      "theta is the last finite iterate")
                break
            theta, state = new_theta, new_state
            k += 1
            ev = None
            if eval_f is not None and (k % eval_every == 0 or k == total):
                ev = float(eval_f(theta))
                history.append_eval(k, ev)
            info = info_at(k - 1, loss, gn, lr, ev)
            stop = False
            for cb in cbs:
                r = cb.on_step(info) if hasattr(cb, "on_step") else cb(info)
                if r is True:
                    stop = True
                    message = f"{STATUS_MESSAGES[1]} ({type(cb).__name__}) at step {k - 1}"
            if checkpoint is not None and (k % checkpoint_every == 0 or k == total or stop):
                write(snapshot())
            if stop:
                status = 1
                break
    except KeyboardInterrupt:
        if checkpoint is not None:
            write(snap)
        raise

    if status == 2:
        theta_out = last_good
        if checkpoint is not None:
            write(snap)  # as of the start of the failing step: a consistent point to resume from
    else:
        theta_out = theta
    result = TrainResult(
        theta=theta_out, x=theta_out, theta_averaged=averaged_params(state), history=history,
        state=state, status=status, message=message, success=status != 2, nit=k, nfev=nfev,
        fun=last_loss if status == 2 else (float(history.loss[-1]) if len(history) else math.nan),
        epoch=(k - 1) // steps_per_epoch + 1 if k else 0,
    )
    for cb in cbs:
        if hasattr(cb, "on_train_end"):
            cb.on_train_end(result)
    return result
