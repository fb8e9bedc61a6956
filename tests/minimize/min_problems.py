"""Test problems written with nnopt.numpy (shared by the tests and the benchmark)."""
from __future__ import annotations

import numpy as np

import nnopt.numpy as nnp


def rosenbrock(x):
    """The n-dimensional Rosenbrock function (minimum 0 at x = 1)."""
    return nnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def rosenbrock_x0(n, dtype=np.float64):
    """The standard start: -1.2 at even, 1.0 at odd positions."""
    x = np.ones(n, dtype=dtype)
    x[::2] = -1.2
    return x


def make_quadratic(n, cond=100.0, seed=0, dtype=np.float64):
    """``f(x) = 0.5 x^T A x - b^T x`` with eigenvalues log-spaced in [1, cond].

    Returns ``(f, A, b, x_star)``; ``A``, ``b`` in ``dtype``.
    """
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    lam = np.logspace(0, np.log10(cond), n)
    A64 = (Q * lam) @ Q.T
    A64 = 0.5 * (A64 + A64.T)
    b64 = rng.standard_normal(n)
    x_star = np.linalg.solve(A64, b64)
    A, b = A64.astype(dtype), b64.astype(dtype)

    def f(x):
        return 0.5 * nnp.dot(x, A @ x) - nnp.dot(b, x)

    return f, A, b, x_star


def make_mlp(n_in=3, n_hidden=8, n_out=1, n_samples=40, seed=0, dtype=np.float64):
    """A tiny 2-layer tanh network on a flat parameter vector, MSE loss.

    Data: inputs ``X ~ N(0, 1)``, targets from a random "teacher" of the same
    shape (so a zero-loss solution exists).  Returns ``(loss, theta0)``.
    """
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_samples, n_in)).astype(dtype)
    shapes = [(n_in, n_hidden), (n_hidden,), (n_hidden, n_out), (n_out,)]
    sizes = [int(np.prod(s)) for s in shapes]
    offsets = np.cumsum([0] + sizes)

    def unpack(theta):
        return [nnp.reshape(theta[offsets[i]:offsets[i + 1]], shapes[i]) for i in range(4)]

    def net(theta, X):
        W1, b1, W2, b2 = unpack(theta)
        return nnp.tanh(X @ W1 + b1) @ W2 + b2

    teacher = rng.standard_normal(offsets[-1]).astype(dtype)
    Y = net(teacher, X)

    def loss(theta):
        return nnp.mean((net(theta, X) - Y) ** 2)

    theta0 = (0.5 * rng.standard_normal(offsets[-1])).astype(dtype)
    return loss, theta0
