"""Test problems for nnopt.optim: closed-form quadratics and Rosenbrock, and small
objectives over examples with the interface of nnopt.Objective
(value_and_grad, fun, batch, n_samples, n_params, Y, with_targets)."""
from __future__ import annotations

import numpy as np

import nnopt
import nnopt.numpy as nnp


class Quadratic:
    """f(w) = 1/2 (w - c)^T diag(h) (w - c); minimiser c, f* = 0."""

    def __init__(self, h=(1.0, 10.0), c=(1.0, -2.0), dtype=np.float64, Y=None):
        self.h = np.asarray(h, dtype=dtype)
        self.c = np.asarray(c, dtype=dtype)
        self.x0 = np.array([-2.0, 3.0], dtype=dtype)
        self.xstar = self.c
        # the minimiser as "targets", for label noise: f = 1/2 sum h (w - Y)^2
        self.Y = self.c if Y is None else Y

    def value_and_grad(self, w):
        d = w - self.Y
        return 0.5 * np.dot(d, self.h * d), self.h * d

    def fun(self, w):
        return self.value_and_grad(w)[0]

    def with_targets(self, Y):
        return Quadratic(self.h, self.c, self.h.dtype, Y=Y)


class Rosenbrock:
    """f(x, y) = (1 - x)^2 + 100 (y - x^2)^2 = ||F(w) - Y||^2 with outputs
    F = (x, 10 (x^2 - y)) and targets Y = (1, 0); minimiser (1, 1), start (-1.2, 1)."""

    def __init__(self, dtype=np.float64, Y=None):
        self.x0 = np.array([-1.2, 1.0], dtype=dtype)
        self.xstar = np.ones(2, dtype=dtype)
        self.Y = np.array([1.0, 0.0], dtype=dtype) if Y is None else Y

    def value_and_grad(self, w):
        x, y = w[0], w[1]
        r0 = x - self.Y[0]
        r1 = 10 * (x * x - y) - self.Y[1]
        f = r0 * r0 + r1 * r1
        g = np.array([2 * r0 + 40 * x * r1, -20 * r1], dtype=w.dtype)
        return f, g

    def fun(self, w):
        return self.value_and_grad(w)[0]

    def with_targets(self, Y):
        return Rosenbrock(self.x0.dtype, Y=Y)


class LeastSquares:
    """f(w) = 1/(2n) ||X w - Y||^2 over n examples (closed-form gradient)."""

    def __init__(self, X, Y):
        self.X, self.Y = X, Y
        self.n_samples = X.shape[0]
        self.n_params = X.shape[1]

    @classmethod
    def random(cls, n=64, d=5, seed=0, dtype=np.float64, noise=0.1):
        rng = np.random.default_rng(seed)
        X = rng.standard_normal((n, d)).astype(dtype)
        w = rng.standard_normal(d).astype(dtype)
        Y = (X @ w + noise * rng.standard_normal(n)).astype(dtype)
        return cls(X, Y)

    def value_and_grad(self, w):
        r = self.X @ w - self.Y
        n = self.X.shape[0]
        return 0.5 * np.dot(r, r) / n, self.X.T @ r / n

    def fun(self, w):
        return self.value_and_grad(w)[0]

    def batch(self, idx):
        idx = np.asarray(idx)
        return LeastSquares(self.X[idx], self.Y[idx])

    def with_targets(self, Y):
        return LeastSquares(self.X, Y)

    def solution(self):
        return np.linalg.lstsq(self.X, self.Y, rcond=None)[0]


class TinyMLP:
    """A one-hidden-layer tanh MLP with MSE loss, written with nnopt.numpy and
    differentiated by nnopt.value_and_grad (the path a user's model takes)."""

    def __init__(self, X, Y, hidden=8):
        self.X, self.Y, self.hidden = X, Y, hidden
        self.d = X.shape[1]
        self.n_samples = X.shape[0]
        self.n_params = self.d * hidden + hidden + hidden + 1
        self._vg = nnopt.value_and_grad(self._loss)

    @classmethod
    def random(cls, n=32, d=3, hidden=8, seed=0, dtype=np.float64):
        rng = np.random.default_rng(seed)
        X = rng.standard_normal((n, d)).astype(dtype)
        Y = np.sin(X @ rng.standard_normal(d)).astype(dtype)
        return cls(X, Y, hidden)

    def init(self, seed=0):
        rng = np.random.default_rng(seed)
        return (0.5 * rng.standard_normal(self.n_params)).astype(self.X.dtype)

    def _loss(self, theta):
        d, h = self.d, self.hidden
        W1 = nnp.reshape(theta[: d * h], (d, h))
        b1 = theta[d * h: d * h + h]
        W2 = theta[d * h + h: d * h + 2 * h]
        b2 = theta[d * h + 2 * h]
        out = nnp.tanh(self.X @ W1 + b1) @ W2 + b2
        return 0.5 * nnp.mean((out - self.Y) ** 2)

    def value_and_grad(self, theta):
        return self._vg(theta)

    def fun(self, theta):
        return self._loss(theta)

    def batch(self, idx):
        idx = np.asarray(idx)
        return TinyMLP(self.X[idx], self.Y[idx], self.hidden)

    def with_targets(self, Y):
        return TinyMLP(self.X, Y, self.hidden)
