"""The optimizer protocol: pure ``(init, update)`` pairs over one flat vector.

An optimizer (or any piece of one) is a :class:`GradientTransformation`::

    state = opt.init(params)                       # a NamedTuple of plain arrays
    updates, state = opt.update(grads, state, params, value=loss, oracle=batch)
    params = apply_updates(params, updates)        # params + updates

``update`` is pure: it never modifies its inputs and returns a new state, so a
state can be checkpointed, copied and replayed bit for bit.  Transforms
compose with :func:`chain`: the updates of one are the gradients of the next
(optax's convention, Babuschkin et al. 2020).  ``value`` (the loss at
``params``) and ``oracle`` (the current minibatch objective, see
:mod:`nnopt.optim.oracle`) are keyword-only extras that only the methods
needing more than one gradient read (SAM, Entropy-SGD, step-tuned SGD, label
noise, GD on sqrt(L)); every other transform ignores them.

Hyperparameters are Python floats (so NumPy's weak scalar typing keeps a
float32 run in float32) or schedules, functions of the step count returning
one (see :mod:`nnopt.optim.schedules`).
"""
from __future__ import annotations

import numbers
from types import MappingProxyType
from typing import Any, Callable, Mapping, NamedTuple

import numpy as np

__all__ = [
    "GradientTransformation",
    "EmptyState",
    "ChainState",
    "apply_updates",
    "chain",
    "identity",
    "OptimizerStateError",
]


class OptimizerStateError(TypeError):
    """A state that was not made by this transform's ``init`` was passed to ``update``."""


class GradientTransformation(NamedTuple):
    """A pure optimizer: ``init(params) -> state`` and
    ``update(grads, state, params=None, *, value=None, oracle=None) -> (updates, state)``.

    ``hyperparams`` maps names to the hyperparameters a training loop may log
    (``"learning_rate"``: a float or a schedule); it does not affect the math.
    """

    init: Callable[..., Any]
    update: Callable[..., Any]
    hyperparams: Mapping[str, Any] = MappingProxyType({})


class EmptyState(NamedTuple):
    """The state of a stateless transform."""


class ChainState(NamedTuple):
    """The state of :func:`chain`: one state per member, in order."""

    inner: tuple


# ---------------------------------------------------------------------------
# checks shared by all transforms
# ---------------------------------------------------------------------------


def check_params(params, where):
    """Validate ``params`` for ``init``: a 1-D real floating ndarray."""
    if not isinstance(params, np.ndarray):
        raise TypeError(
            f"{where}: params must be a 1-D NumPy array of float32 or float64, got "
            f"{type(params).__name__}"
        )
    if params.dtype.kind != "f":
        raise TypeError(
            f"{where}: params must be a real floating-point vector (float32 or float64), got "
            f"dtype {params.dtype}; cast it explicitly, e.g. params.astype(np.float64)"
        )
    if params.ndim != 1:
        raise ValueError(
            f"{where}: params must be one flat 1-D vector, got shape {params.shape}; "
            "flatten it (params.ravel()) or use a model's flat theta"
        )
    return params


def check_grads(grads, like, where, name="grads"):
    """Check that ``grads`` is an array of ``like``'s shape and dtype."""
    if not isinstance(grads, np.ndarray):
        raise TypeError(
            f"{where}: {name} must be a NumPy array of shape {like.shape} and dtype {like.dtype}, "
            f"got {type(grads).__name__}"
        )
    if grads.shape != like.shape:
        raise ValueError(
            f"{where}: {name} has shape {grads.shape} but the optimizer state was initialised "
            f"for parameters of shape {like.shape}"
        )
    if grads.dtype != like.dtype:
        raise TypeError(
            f"{where}: {name} has dtype {grads.dtype} but the optimizer state is {like.dtype}; "
            "mixing precisions must be explicit (cast the gradient, or init the optimizer "
            "with parameters of the dtype you want)"
        )
    return grads


def check_state(state, cls, where):
    """Raise :class:`OptimizerStateError` unless ``state`` is a ``cls``."""
    if type(state) is not cls:
        raise OptimizerStateError(
            f"{where}: state must be the {cls.__name__} made by this transform's init, got "
            f"{type(state).__name__}; was it made by another optimizer?"
        )
    return state


def need_params(params, like, where):
    """Transforms that read the parameters (weight decay, trust ratios, ...)."""
    if params is None:
        raise ValueError(f"{where}: this transform needs params; call update(grads, state, params)")
    return check_grads(params, like, where, name="params")


# ---------------------------------------------------------------------------
# hyperparameters: floats or schedules
# ---------------------------------------------------------------------------


def _is_real(x):
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


def hyper(value, name, where, *, low=0.0, high=None, high_open=False, low_open=False,
          allow_schedule=True):
    """Validate a scalar hyperparameter, returning a Python float or a schedule.

    A schedule (callable) is checked at step 0.  Ranges are ``[low, high]``
    with ``low_open``/``high_open`` to exclude an end.
    """
    if callable(value):
        if not allow_schedule:
            raise TypeError(f"{where}: {name} must be a number, got a callable")
        try:
            v0 = value(0)
        except Exception as exc:  # pragma: no cover - message only
            raise TypeError(f"{where}: {name} is callable but schedule(0) failed: {exc}") from exc
        _check_range(v0, name + "(0)", where, low, high, low_open, high_open)
        return value
    _check_range(value, name, where, low, high, low_open, high_open)
    return float(value)


def _check_range(v, name, where, low, high, low_open, high_open):
    if not _is_real(v) and not (isinstance(v, np.ndarray) and v.ndim == 0 and v.dtype.kind in "fiu"):
        raise TypeError(f"{where}: {name} must be a real number, got {type(v).__name__} {v!r}")
    v = float(v)
    if not np.isfinite(v):
        raise ValueError(f"{where}: {name} must be finite, got {v}")
    lo_bad = low is not None and ((v <= low) if low_open else (v < low))
    hi_bad = high is not None and ((v >= high) if high_open else (v > high))
    if lo_bad or hi_bad:
        lb = "(" if low_open else "["
        rb = ")" if high_open else "]"
        lo = "-inf" if low is None else repr(low)
        hi = "inf" if high is None else repr(high)
        raise ValueError(f"{where}: {name} must be in {lb}{lo}, {hi}{rb}, got {v!r}")


def beta(value, name, where, allow_schedule=True):
    """A decay rate in [0, 1) (a float, or a schedule if allowed)."""
    return hyper(value, name, where, low=0.0, high=1.0, high_open=True,
                 allow_schedule=allow_schedule)


def at(h, count):
    """Value of a hyperparameter (float or schedule) at step ``count`` as a Python float."""
    if callable(h):
        return float(h(count))
    return h


# ---------------------------------------------------------------------------
# applying and composing
# ---------------------------------------------------------------------------


def apply_updates(params, updates):
    """Return ``params + updates`` (a new array).

    Both must be arrays of the same shape and dtype: a float32 run stays
    float32.
    """
    if not isinstance(params, np.ndarray):
        raise TypeError(f"apply_updates: params must be a NumPy array, got {type(params).__name__}")
    check_grads(updates, params, "apply_updates", name="updates")
    return params + updates


def identity():
    """The transform that returns the gradients unchanged."""

    def init_fn(params):
        check_params(params, "identity.init")
        return EmptyState()

    def update_fn(grads, state, params=None, *, value=None, oracle=None):
        check_state(state, EmptyState, "identity.update")
        return grads, state

    return GradientTransformation(init_fn, update_fn)


def chain(*transforms):
    """Compose transforms: the updates of each are the gradients of the next.

    ``chain(scale_by_adam(), scale_by_learning_rate(1e-3))`` is Adam.  Every
    member sees the same ``params``, ``value`` and ``oracle``.  The state is a
    :class:`ChainState` holding one state per member.  ``hyperparams`` of the
    members are merged (the first one to name a key wins).
    """
    for i, t in enumerate(transforms):
        if not isinstance(t, GradientTransformation):
            raise TypeError(
                f"chain: argument {i} must be a GradientTransformation (an (init, update) pair), "
                f"got {type(t).__name__}"
            )
    transforms = tuple(transforms)
    n = len(transforms)

    def init_fn(params):
        check_params(params, "chain.init")
        return ChainState(tuple(t.init(params) for t in transforms))

    def update_fn(grads, state, params=None, *, value=None, oracle=None):
        check_state(state, ChainState, "chain.update")
        if len(state.inner) != n:
            raise OptimizerStateError(
                f"chain.update: state holds {len(state.inner)} member states but this chain has "
                f"{n} members; was it made by another optimizer?"
            )
        new_states = []
        for t, s in zip(transforms, state.inner):
            grads, s = t.update(grads, s, params, value=value, oracle=oracle)
            new_states.append(s)
        return grads, ChainState(tuple(new_states))

    hp = {}
    for t in transforms:
        for k, v in t.hyperparams.items():
            hp.setdefault(k, v)
    return GradientTransformation(init_fn, update_fn, MappingProxyType(hp))


def count0():
    """A fresh step counter (0-d int64 array)."""
    return np.zeros((), dtype=np.int64)


def inc(count):
    return np.asarray(int(count) + 1, dtype=np.int64)
