"""Normalisation layers (BatchNorm, LayerNorm) and models with explicit state.

BatchNorm (Ioffe & Szegedy 2015) normalises each feature (channel) with
statistics of the batch in training mode and with running estimates in
evaluation mode::

    y = gamma * (x - mu) / sqrt(var + eps) + beta

with ``mu, var`` the batch mean and (biased) variance over the batch axis
(and the spatial axes of NCHW images).  LayerNorm (Ba, Kiros & Hinton 2016)
normalises each example over its trailing ``normalized_shape`` axes, the
same in training and evaluation.  Both are compositions of basic
primitives, so their derivatives (through ``mu`` and ``var`` too) come from
the rule tables.

**Scale invariance.**  With ``affine=False`` the layer has no ``gamma`` and
``beta``; placed after a layer without bias (``Dense(..., bias=False)`` or
``Conv2D(..., bias=False)``), the output is invariant to scaling that
layer's weights, ``f(c W) = f(W)`` for ``c > 0``, so the gradient is
orthogonal to ``W`` and scales as ``1 / c`` (the setting of studies of
normalisation plus weight decay, e.g. van Laarhoven 2017, Li & Arora 2020).
:func:`scale_invariant_mlp` builds such a network.

**Explicit state.**  Parameters stay one flat vector ``theta``; the running
statistics are a second flat vector ``state`` with its own layout
(``net.state_layout``).  A :class:`StatefulSequential` evaluates

* ``net(theta, X)``: training mode, batch statistics, no state (the function
  an :class:`nnopt.Objective` differentiates);
* ``net.apply(theta, X, state, train=True) -> (out, new_state)``: training
  mode, returning the state updated with this batch's statistics
  (``running = (1 - momentum) running + momentum batch``, unbiased batch
  variance, as in PyTorch);
* ``net.apply(theta, X, state, train=False) -> (out, state)``: evaluation
  mode with the running statistics;
* ``net.evaluator(state)``: a stateless model ``(theta, X) -> out`` in
  evaluation mode, for ``Objective(net.evaluator(state), ...)``.

``state`` is a plain array: it is checkpointed, copied and replayed like
``theta`` and never changed in place.
"""
from __future__ import annotations

import numpy as np

import nnopt.numpy as nnp

from ..autodiff.core import getval
from ..autodiff.rules.shape import reshape
from .layers import Dense, Layer, Param
from .layout import Layout, ParamSpec
from .models import Sequential

__all__ = [
    "BatchNorm", "LayerNorm", "StatefulSequential", "EvalModel", "ones",
    "scale_invariant_mlp",
]


def ones(rng, shape, fan_in, fan_out):
    """Initialiser of all ones (the scale ``gamma`` of a normalisation layer)."""
    return np.ones(shape)


def _shape(x):
    return np.shape(getval(x))


def _positive(value, name, where):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) or not value > 0:
        raise ValueError(f"{where}: {name} must be a positive number, got {value!r}")
    return float(value)


class BatchNorm(Layer):
    """Batch normalisation over features (N, C) or channels (N, C, H, W).

    Parameters
    ----------
    num_features : int
        C, the size of axis 1.
    momentum : float in (0, 1]
        Weight of the batch statistics in the running estimates.
    eps : float
        Added to the variance (a Python float: weakly typed, so float32 stays
        float32).
    affine : bool
        Learn ``gamma`` (init 1) and ``beta`` (init 0); ``False`` gives the
        scale-invariant normalisation.

    State (per feature): ``mean`` (init 0) and ``var`` (init 1).
    """

    kind = "batchnorm"

    def __init__(self, num_features, momentum=0.1, eps=1e-5, affine=True):
        if not isinstance(num_features, (int, np.integer)) or isinstance(num_features, bool) or num_features <= 0:
            raise ValueError(f"BatchNorm: num_features must be a positive integer, got {num_features!r}")
        self.num_features = int(num_features)
        self.momentum = _positive(momentum, "momentum", "BatchNorm")
        if self.momentum > 1:
            raise ValueError(f"BatchNorm: momentum must be in (0, 1], got {momentum!r}")
        self.eps = _positive(eps, "eps", "BatchNorm")
        self.affine = bool(affine)

    def params(self):
        if not self.affine:
            return ()
        C = self.num_features
        return (Param("gamma", (C,), ones, C, C), Param("beta", (C,), lambda r, s, i, o: np.zeros(s), C, C))

    def state_params(self):
        """(name, shape, initial value) of each state array."""
        return (("mean", (self.num_features,), 0.0), ("var", (self.num_features,), 1.0))

    def _axes(self, x):
        shape = _shape(x)
        if len(shape) not in (2, 4) or shape[1] != self.num_features:
            raise ValueError(
                f"{self!r}: expected input of shape (N, {self.num_features}) or "
                f"(N, {self.num_features}, H, W), got {shape}"
            )
        return (0,) if len(shape) == 2 else (0, 2, 3)

    def _bshape(self, x):
        return (1, self.num_features) + (1,) * (len(_shape(x)) - 2)

    def _normalise(self, p, x, mu, var):
        y = (x - mu) / nnp.sqrt(var + self.eps)
        if self.affine:
            bs = self._bshape(x)
            y = y * reshape(p["gamma"], bs) + reshape(p["beta"], bs)
        return y

    def apply(self, p, x):
        """Training mode: normalise with the batch statistics."""
        axes = self._axes(x)
        n = int(np.prod([_shape(x)[a] for a in axes]))
        if n < 2:
            raise ValueError(f"{self!r}: training mode needs more than one value per feature, got input shape {_shape(x)}")
        mu = nnp.mean(x, axis=axes, keepdims=True)
        var = nnp.mean(nnp.square(x - mu), axis=axes, keepdims=True)
        return self._normalise(p, x, mu, var)

    def apply_state(self, p, x, state, train):
        """``(y, new_state)``; ``state`` is a dict with ``mean`` and ``var``."""
        axes = self._axes(x)
        if not train:
            bs = self._bshape(x)
            return self._normalise(p, x, reshape(state["mean"], bs), reshape(state["var"], bs)), state
        y = self.apply(p, x)
        xv = getval(x)
        if xv.dtype == object:
            return y, state
        n = int(np.prod([xv.shape[a] for a in axes]))
        m = self.momentum
        new = {
            "mean": (1 - m) * state["mean"] + m * xv.mean(axis=axes),
            "var": (1 - m) * state["var"] + m * xv.var(axis=axes) * (n / (n - 1)),
        }
        return y, new

    def output_shape(self, input_shape):
        return input_shape

    def __repr__(self):
        extra = "" if self.affine else ", affine=False"
        return f"BatchNorm({self.num_features}{extra})"


class LayerNorm(Layer):
    """Layer normalisation over the trailing ``normalized_shape`` axes.

    Parameters
    ----------
    normalized_shape : int or tuple of ints
        The shape of the trailing axes normalised together (e.g. the
        feature count, or (C, H, W)).
    eps : float
    affine : bool
        Element-wise ``gamma`` (init 1) and ``beta`` (init 0) of
        ``normalized_shape``; ``False`` gives the scale-invariant form.
    """

    kind = "layernorm"

    def __init__(self, normalized_shape, eps=1e-5, affine=True):
        if isinstance(normalized_shape, (int, np.integer)):
            normalized_shape = (normalized_shape,)
        normalized_shape = tuple(normalized_shape)
        if not normalized_shape or not all(
            isinstance(n, (int, np.integer)) and not isinstance(n, bool) and n > 0 for n in normalized_shape
        ):
            raise ValueError(f"LayerNorm: normalized_shape must be positive integers, got {normalized_shape!r}")
        self.normalized_shape = tuple(int(n) for n in normalized_shape)
        self.eps = _positive(eps, "eps", "LayerNorm")
        self.affine = bool(affine)

    def params(self):
        if not self.affine:
            return ()
        s = self.normalized_shape
        n = int(np.prod(s))
        return (Param("gamma", s, ones, n, n), Param("beta", s, lambda r, sh, i, o: np.zeros(sh), n, n))

    def apply(self, p, x):
        shape = _shape(x)
        k = len(self.normalized_shape)
        if tuple(shape[-k:]) != self.normalized_shape or len(shape) <= k:
            raise ValueError(
                f"{self!r}: expected input of shape (N, ..., {', '.join(map(str, self.normalized_shape))}), got {shape}"
            )
        axes = tuple(range(len(shape) - k, len(shape)))
        mu = nnp.mean(x, axis=axes, keepdims=True)
        var = nnp.mean(nnp.square(x - mu), axis=axes, keepdims=True)
        y = (x - mu) / nnp.sqrt(var + self.eps)
        if self.affine:
            y = y * p["gamma"] + p["beta"]
        return y

    def output_shape(self, input_shape):
        return input_shape

    def __repr__(self):
        s = self.normalized_shape
        extra = "" if self.affine else ", affine=False"
        return f"LayerNorm({s[0] if len(s) == 1 else s}{extra})"


# ---------------------------------------------------------------------------
# models with explicit state
# ---------------------------------------------------------------------------


class StatefulSequential(Sequential):
    """A :class:`~nnopt.nn.Sequential` whose layers may carry state
    (running statistics), passed explicitly as a flat vector.

    Layers with state define ``state_params()`` (name, shape, initial value)
    and ``apply_state(p, x, state_dict, train) -> (y, new_state_dict)``.

    Examples
    --------
    >>> import numpy as np
    >>> from nnopt.nn import Dense
    >>> from nnopt.nn.normalization import BatchNorm, StatefulSequential
    >>> net = StatefulSequential(Dense(3, 4), BatchNorm(4), Dense(4, 1))
    >>> theta, state = net.init(seed=0), net.init_state()
    >>> X = np.random.default_rng(0).normal(size=(8, 3))
    >>> out, state = net.apply(theta, X, state, train=True)     # updates running stats
    >>> out_eval, _ = net.apply(theta, X, state, train=False)    # uses them
    """

    def __init__(self, *layers, input_shape=None):
        super().__init__(*layers, input_shape=input_shape)
        specs, offset = [], 0
        self._state_init = []
        for li, layer in enumerate(self.layers):
            for name, shape, value in getattr(layer, "state_params", lambda: ())():
                size = int(np.prod(shape))
                specs.append(ParamSpec(f"{li}.{name}", li, name, slice(offset, offset + size), tuple(shape), layer.kind))
                self._state_init.append((offset, offset + size, value))
                offset += size
        self.state_layout = Layout(specs)
        self.n_state = offset

    def init_state(self, dtype=np.float64):
        """The initial state vector (running means 0, variances 1)."""
        dtype = np.dtype(dtype)
        if dtype.kind != "f":
            raise TypeError(f"init_state: dtype must be a floating type (float32/float64), got {dtype}")
        state = np.empty(self.n_state, dtype=dtype)
        for start, stop, value in self._state_init:
            state[start:stop] = value
        return state

    def _check_state(self, state, theta):
        if not isinstance(state, np.ndarray) or state.shape != (self.n_state,):
            raise ValueError(
                f"state must be a 1-D array of shape ({self.n_state},) (from net.init_state()), got "
                f"{type(state).__name__} of shape {getattr(state, 'shape', None)}"
            )
        td = getval(theta).dtype
        if state.dtype != td and td != object:
            raise TypeError(f"state has dtype {state.dtype} but theta has dtype {td}; cast one explicitly")

    def apply(self, theta, X, state=None, train=True):
        """``(out, new_state)`` in training (batch statistics, state updated)
        or evaluation mode (running statistics, state unchanged)."""
        if state is None:
            if not train:
                raise ValueError("apply: evaluation mode (train=False) needs the state (net.init_state() or a trained one)")
            state = self.init_state(getval(theta).dtype)
        self._check_state(state, theta)
        params = self.unflatten(theta)
        self._check_input(X, theta)
        new_state = state.copy()
        x = X
        for li, (layer, p) in enumerate(zip(self.layers, params)):
            if hasattr(layer, "apply_state"):
                specs = [s for s in self.state_layout if s.layer == li]
                s_in = {s.param: state[s.slice].reshape(s.shape) for s in specs}
                x, s_out = layer.apply_state(p, x, s_in, bool(train))
                for s in specs:
                    new_state[s.slice] = np.asarray(s_out[s.param], dtype=state.dtype).ravel()
            else:
                x = layer.apply(p, x)
        return x, new_state

    def evaluator(self, state):
        """The model in evaluation mode at ``state``: ``(theta, X) -> out``."""
        self._check_state(state, np.zeros(0, dtype=state.dtype))
        return EvalModel(self, state.copy())


class EvalModel:
    """A :class:`StatefulSequential` frozen in evaluation mode at a state."""

    def __init__(self, net, state):
        self.net = net
        self.state = state
        self.layout = net.layout
        self.n_params = net.n_params
        self.layers = net.layers
        self.input_shape = net.input_shape

    def init(self, seed=0, dtype=np.float64):
        return self.net.init(seed=seed, dtype=dtype)

    def __call__(self, theta, X):
        return self.net.apply(theta, X, self.state, train=False)[0]

    def __repr__(self):
        return f"EvalModel({self.net!r})"


def scale_invariant_mlp(sizes, activation="relu", output_activation=None, init="glorot_normal", eps=1e-5):
    """An MLP whose hidden layers are ``Dense(bias=False) -> BatchNorm(affine=False) -> act``.

    Each hidden weight matrix is scale invariant (the loss does not change
    when it is multiplied by ``c > 0``, up to the ``eps`` added to the
    variance); the output layer is an ordinary ``Dense`` layer with bias.
    """
    from .layers import Activation

    sizes = list(sizes)
    if len(sizes) < 2 or not all(isinstance(s, (int, np.integer)) and s > 0 for s in sizes):
        raise ValueError(f"scale_invariant_mlp: sizes must be >= 2 positive integers, got {sizes}")
    layers = []
    for i in range(len(sizes) - 2):
        layers += [Dense(sizes[i], sizes[i + 1], bias=False, init=init), BatchNorm(sizes[i + 1], eps=eps, affine=False),
                   Activation(activation)]
    layers.append(Dense(sizes[-2], sizes[-1], output_activation, init=init))
    return StatefulSequential(*layers)

