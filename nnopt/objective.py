"""Objectives: a model, a loss and data as a function of the flat parameters.

``Objective(net, loss, X, Y)`` is the scalar function

    L(theta) = loss(net(theta, X), Y) + weight_decay / 2 * ||theta||^2

with the methods scipy.optimize expects (``fun``, ``jac``, ``hessp``,
``hess``), so it plugs straight into ``scipy.optimize.minimize``.
"""
from __future__ import annotations

import contextlib

import numpy as np

from . import numpy as nnp
from .autodiff.core import getval
from .autodiff.transforms import hessian, hvp, jacobian, value_and_grad
from .kernels.blas_threads import single_threaded_blas
from .nn import fast as _fast
from .nn import fast_conv as _fast_conv
from .nn import losses as _losses

__all__ = ["Objective"]


class Objective:
    """A model + loss + data, as a function of the flat parameter vector.

    Parameters
    ----------
    net : callable ``net(theta, X)`` with ``n_params`` (e.g. :class:`nnopt.nn.MLP`)
    loss : ``"mse"``, ``"cross_entropy"``, ``"binary_cross_entropy"`` or a
        callable ``loss(output, target) -> scalar``
    X, Y : arrays; ``Y`` holds integer labels for ``"cross_entropy"``
    weight_decay : float
        Adds ``weight_decay / 2 * ||theta||^2``.
    fast : bool
        Allow the compiled path (:mod:`nnopt.nn.fast`) for ``fun``, ``jac``,
        ``value_and_grad``, ``hessp`` and ``hess`` on plain arrays when the
        model is a plain dense stack with the ``mse`` or ``cross_entropy``
        loss (default True); for ``fun``, ``jac`` and ``value_and_grad``
        also when it is a plain convolutional network
        (:mod:`nnopt.nn.fast_conv`).  ``obj(theta)`` inside transforms
        always uses the general engine.
    cache : bool
        Remember the value and gradient at the last ``theta`` (default True).
    accumulate : None or ``"float64"``
        Explicit wider accumulation of the loss value (default None: none).
        With ``"float64"``, ``fun`` and ``value_and_grad`` return

            fl( (1/m) sum_i l_i  +  weight_decay / 2 * sum_j theta_j^2 )

        where the per-element terms ``l_i`` (squared errors for ``mse``,
        per-example ``logsumexp(z) - z_y`` for ``cross_entropy``,
        ``softplus(z) - y z`` for ``binary_cross_entropy``) and the squares
        ``theta_j^2`` are computed in the objective's dtype exactly as
        without the option, and only the two sums, the division by the
        number of terms ``m`` and the final addition run in float64; the
        result is rounded once (``fl``) to the objective's dtype.  The
        gradient, ``hessp``, ``hess`` and ``obj(theta)`` (the differentiable
        function used inside transforms) are unchanged and stay in the
        objective's dtype.  Costs one extra forward pass per evaluation.
        A no-op for float64 objectives; needs a built-in loss (a custom
        loss callable does its own reduction).  ``astype``, ``batch`` and
        ``with_targets`` keep the option.

    The computation runs in the dtype of ``X``: ``theta`` must have the same
    dtype (``astype`` gives the objective in another precision).  Values and
    gradients of the last ``theta`` are cached, so ``fun`` followed by
    ``jac`` at the same point costs one pass.

    Examples
    --------
    >>> import numpy as np, nnopt, scipy.optimize
    >>> from nnopt.nn import MLP
    >>> X = np.linspace(-1, 1, 50)[:, None]; Y = np.sin(3 * X)
    >>> obj = nnopt.Objective(MLP([1, 10, 1]), "mse", X, Y)
    >>> res = scipy.optimize.minimize(obj.fun, obj.net.init(seed=0), jac=obj.jac,
    ...                               hessp=obj.hessp, method="trust-ncg")
    """

    def __init__(self, net, loss, X, Y, weight_decay=0.0, fast=True, cache=True, accumulate=None):
        if not callable(net):
            raise TypeError(f"Objective: net must be callable as net(theta, X), got {type(net).__name__}")
        self.net = net
        self._loss_spec = loss
        self.loss_name, self.loss = _losses.get(loss)
        X = np.asarray(X)
        if X.dtype.kind != "f":
            raise TypeError(
                f"Objective: X must be a floating-point array (float32/float64), got dtype {X.dtype}"
            )
        if X.ndim < 1 or X.shape[0] == 0:
            raise ValueError(f"Objective: X must hold at least one example, got shape {X.shape}")
        Y = np.asarray(Y)
        if Y.shape[0] != X.shape[0]:
            raise ValueError(
                f"Objective: X and Y must have the same number of examples, got {X.shape[0]} and {Y.shape[0]}"
            )
        if self.loss_name == "cross_entropy":
            if Y.dtype.kind not in "iu":
                raise TypeError(f"Objective: cross_entropy needs integer labels Y, got dtype {Y.dtype}")
        elif Y.dtype.kind == "f":
            if Y.dtype != X.dtype:
                raise TypeError(
                    f"Objective: X has dtype {X.dtype} but Y has dtype {Y.dtype}; cast one explicitly"
                )
        elif self.loss_name in ("mse", "binary_cross_entropy"):
            Y = Y.astype(X.dtype)
        n_out = getattr(net, "sizes", None)
        if self.loss_name == "mse" and n_out is not None and Y.ndim == 1 and n_out[-1] == 1:
            Y = Y[:, None]
        if not np.all(np.isfinite(X)) or (Y.dtype.kind == "f" and not np.all(np.isfinite(Y))):
            raise ValueError("Objective: X and Y must be finite (found NaN or Inf)")
        self.X, self.Y = X, Y
        self.weight_decay = float(weight_decay)
        if self.weight_decay < 0:
            raise ValueError(f"Objective: weight_decay must be >= 0, got {weight_decay}")
        self.n_params = int(getattr(net, "n_params"))
        self.accumulate = _check_accumulate(accumulate, self.loss_name, _losses.LOSSES.get(self.loss_name) is self.loss)
        # float64 accumulation changes something only in a narrower dtype
        self._accumulates = self.accumulate is not None and np.finfo(X.dtype).eps > np.finfo(np.float64).eps
        self._acc_target = None
        self._vg = value_and_grad(self.__call__)
        self.cache = bool(cache)
        self.fast = bool(fast) and _fast.supports(net, self.loss_name)
        # plain conv nets (nnopt.nn.fast_conv): value and gradient only
        self._fast_conv = bool(fast) and not self.fast and _fast_conv.supports(net, self.loss_name, X, self.Y)
        self._onehot = (
            _losses.one_hot(Y, net.layers[-1].n_out, X.dtype)
            if self.fast and self.loss_name == "cross_entropy"
            else None
        )
        self._plan = _fast.stack_plan(net, self.loss_name, X, self.Y, self._onehot) if self.fast else None
        self._cache_x = None
        self._cache = None
        self.nfev = 0  # passes through the model (values, gradients)
        self.nhev = 0  # Hessian-vector products / Hessians

    # -- the function ------------------------------------------------------
    @property
    def dtype(self):
        return self.X.dtype

    @property
    def n_samples(self):
        return self.X.shape[0]

    def __call__(self, theta):
        """L(theta), differentiable (usable inside any transform)."""
        value = self.loss(self.net(theta, self.X), self.Y)
        if self.weight_decay:
            value = value + (0.5 * self.weight_decay) * nnp.sum(nnp.square(theta))
        return value

    def _check(self, theta, name="theta"):
        v = getval(theta)
        shape = np.shape(v)
        if shape != (self.n_params,):
            raise ValueError(f"{name} must have shape ({self.n_params},), got {shape}")
        dtype = getattr(v, "dtype", None)
        if dtype != self.dtype and dtype != object:
            raise TypeError(
                f"{name} has dtype {dtype} but this objective computes in {self.dtype}; "
                f"use obj.astype(np.{dtype}) or cast {name} explicitly"
            )

    def value_and_grad(self, theta):
        """(L(theta), grad L(theta)) in one forward and one reverse pass."""
        self._check(theta)
        if self.cache and self._cache_x is not None and np.array_equal(self._cache_x, theta):
            return self._cache
        if self.fast and type(theta) is np.ndarray:
            value, g = _fast.value_and_grad(self.net, self.loss_name, theta, self.X, self.Y, self._onehot,
                                            self._plan)
            if self.weight_decay:
                value = value + (0.5 * self.weight_decay) * np.dot(theta, theta)
                g += self.weight_decay * theta
        elif self._fast_conv and type(theta) is np.ndarray:
            value, g = _fast_conv.value_and_grad(self.net, self.loss_name, theta, self.X, self.Y)
            if self.weight_decay:
                value = value + (0.5 * self.weight_decay) * np.dot(theta, theta)
                g += self.weight_decay * theta
        else:
            value, g = self._vg(theta)
        if self._accumulates and type(theta) is np.ndarray:
            value = self._accumulated_value(theta)
        self.nfev += 1
        if self.cache:
            self._cache_x = np.array(theta, copy=True)
            self._cache = (value, g)
        return value, g

    def _accumulated_value(self, theta):
        """L(theta) with the reductions in float64, rounded once (``accumulate="float64"``)."""
        out = self.net(theta, self.X)  # plain arrays: computed in the objective's dtype
        if self.loss_name == "mse":
            terms = nnp.square(out - self.Y)
        elif self.loss_name == "cross_entropy":
            if self._acc_target is None:
                Y = self.Y
                self._acc_target = _losses.one_hot(Y, np.shape(out)[-1], self.dtype) if Y.ndim == 1 else Y
            terms = nnp.logsumexp(out, axis=-1) - nnp.sum(out * self._acc_target, axis=-1)
        else:  # binary_cross_entropy
            terms = nnp.softplus(out) - out * self.Y
        terms = np.asarray(terms)
        value = np.sum(terms, dtype=np.float64) / terms.size
        if self.weight_decay:
            value = value + (0.5 * self.weight_decay) * np.sum(np.square(theta), dtype=np.float64)
        return self.dtype.type(value)

    def fun(self, theta):
        """L(theta) as a scalar of the objective's dtype."""
        return self.value_and_grad(theta)[0]

    def jac(self, theta):
        """grad L(theta)."""
        return self.value_and_grad(theta)[1]

    def hessp(self, theta, v):
        """Hessian-vector product H(theta) v, exact (forward-over-reverse)."""
        self._check(theta)
        self._check(v, "v")
        self.nhev += 1
        if self.fast and type(theta) is np.ndarray and type(v) is np.ndarray:
            return self._fast_hvp(theta, v)
        with self._engine_threads(theta):
            return hvp(self.__call__, theta, v)

    def _engine_threads(self, theta):
        """The threading of a second-order pass through the engine: on a conv
        net BLAS is held to one thread, because the engine's convolutions run
        Numba's threads over image chunks and BLAS threads left spinning by its
        other products would take their cores (LeNet-5 HVP, 2 threads: 137 ms
        with BLAS on 2 threads, 81 ms held; docs/speed.md)."""
        if self._fast_conv and type(theta) is np.ndarray:
            return single_threaded_blas()
        return contextlib.nullcontext()

    def _fast_hvp(self, theta, V):
        HV = _fast.hvp(self.net, self.loss_name, theta, V, self.X, self.Y, self._onehot, self._plan)
        if self.weight_decay:
            HV = HV + self.weight_decay * V
        return HV

    def hessp_many(self, theta, V):
        """H(theta) @ V for a block of vectors V of shape (n_params, k).

        On the compiled dense path all k products share one batched pass."""
        self._check(theta)
        V = np.asarray(V)
        if V.ndim != 2 or V.shape[0] != self.n_params or V.dtype != self.dtype:
            raise ValueError(
                f"hessp_many: V must have shape ({self.n_params}, k) and dtype {self.dtype}, "
                f"got {V.shape} {V.dtype}"
            )
        self.nhev += V.shape[1]
        if self.fast and type(theta) is np.ndarray:
            return self._fast_hvp(theta, V)
        with self._engine_threads(theta):
            return np.stack([hvp(self.__call__, theta, V[:, j]) for j in range(V.shape[1])], axis=1)

    def hess(self, theta):
        """The exact dense Hessian, shape (n_params, n_params)."""
        self._check(theta)
        self.nhev += 1
        if self.fast and type(theta) is np.ndarray:
            # closed form per layer block (nnopt.nn.fast.hessian), exactly symmetric
            H = _fast.hessian(self.net, self.loss_name, theta, self.X, self.Y, self._onehot)
            if self.weight_decay:
                H[np.diag_indices_from(H)] += self.weight_decay
            return H
        with self._engine_threads(theta):
            return hessian(self.__call__)(theta)

    # -- least-squares view (for Gauss-Newton / Levenberg-Marquardt) --------
    def residual(self, theta):
        """For ``loss="mse"``: r(theta) = (net(theta, X) - Y).ravel(), so that
        L = ||r||^2 / r.size (+ weight decay)."""
        if self.loss_name != "mse":
            raise ValueError(f"residual: only defined for loss='mse', this objective uses {self.loss_name!r}")
        return nnp.reshape(self.net(theta, self.X) - self.Y, (-1,))

    def residual_jacobian(self, theta):
        """d r / d theta, shape (n_samples * n_out, n_params), exact."""
        self._check(theta)
        return jacobian(self.residual)(theta)

    # -- variants ------------------------------------------------------------
    def batch(self, indices):
        """The same objective on the examples ``X[indices]``."""
        idx = np.asarray(indices)
        if idx.dtype.kind not in "iub":
            raise TypeError(f"batch: indices must be integers or a boolean mask, got dtype {idx.dtype}")
        return Objective(self.net, self._loss_spec, self.X[idx], self.Y[idx], self.weight_decay, self.fast, self.cache,
                         self.accumulate)

    def with_targets(self, Y):
        """The same objective with targets ``Y`` (label noise, target perturbations)."""
        return Objective(self.net, self._loss_spec, self.X, Y, self.weight_decay, self.fast, self.cache,
                         self.accumulate)

    def astype(self, dtype, accumulate="keep"):
        """The same objective computing in ``dtype`` (data cast once).

        ``accumulate``: ``"keep"`` (default) keeps this objective's option,
        else ``None`` or ``"float64"`` (see the class docstring)."""
        dtype = np.dtype(dtype)
        if dtype.kind != "f":
            raise TypeError(f"astype: dtype must be float32 or float64, got {dtype}")
        if isinstance(accumulate, str) and accumulate == "keep":
            accumulate = self.accumulate
        Y = self.Y.astype(dtype) if self.Y.dtype.kind == "f" else self.Y
        return Objective(self.net, self._loss_spec, self.X.astype(dtype), Y, self.weight_decay, self.fast, self.cache,
                         accumulate)

    def __repr__(self):
        return (
            f"Objective({self.net!r}, loss={self.loss_name!r}, n_samples={self.n_samples}, "
            f"dtype={self.dtype}, weight_decay={self.weight_decay}"
            + (f", accumulate={self.accumulate!r})" if self.accumulate is not None else ")")
        )


def _check_accumulate(accumulate, loss_name, builtin_loss):
    """Validate ``Objective(accumulate=...)``: None or float64 (as ``"float64"``)."""
    if accumulate is None:
        return None
    try:
        dt = None if isinstance(accumulate, (bool, np.bool_)) else np.dtype(accumulate)
    except TypeError:
        dt = None
    if dt is None or dt != np.float64:
        raise ValueError(f"Objective: accumulate must be None or 'float64', got {accumulate!r}")
    if not builtin_loss:
        raise ValueError(
            "Objective: accumulate='float64' needs a built-in loss ('mse', 'cross_entropy', "
            f"'binary_cross_entropy') whose per-element terms nnopt knows; got the callable {loss_name!r}, "
            "which does its own reduction"
        )
    return "float64"
