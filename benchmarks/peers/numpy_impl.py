"""Hand-written NumPy peer: manual backprop, no autodiff.

MLP loss + gradient uses ``benchmarks/handwritten.py`` (one matrix product per
layer and direction, in-place element-wise work).  The neural-form loss is
written here: the network's value and first two input derivatives are pushed
forward together (Taylor mode by hand), then the loss gradient is pulled back
through all three streams.  HVP, dense Hessian and LeNet-5 have no
hand-written version (as in issue 9's table).
"""
from __future__ import annotations

import os
import sys

import numpy as np

from . import Impl

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import handwritten  # noqa: E402

NAME = "NumPy"


def version():
    return np.__version__


def set_threads(n):
    """BLAS threads are set through OMP_NUM_THREADS / OPENBLAS_NUM_THREADS by the suite."""


def neural_form_value_and_grad(params, t, T, c, k):
    """Loss and gradient of mean((u'' + c u' + k u)^2), u = 1 + (t/T)^2 N((t - T/2) 2/T).

    Forward (per hidden layer, d = 1 - h^2):  z = h W + b, z' = h' W, z'' = h'' W,
    h = tanh z, h' = d z', h'' = d z'' - 2 h d z'^2.  Backward: the adjoint of
    each of the three streams, with gd = gh' z' + gh'' (z'' - 2 h z'^2) the adjoint of d.
    """
    L = len(params) // 2
    n = t.shape[0]
    a = 2.0 / T
    x = ((t - T / 2) * a)[:, None]
    h, h1, h2 = x, np.full_like(x, a), None  # x' = 2/T, x'' = 0
    ins, acts = [], []
    for i in range(L):
        W, b = params[2 * i], params[2 * i + 1]
        ins.append((h, h1, h2))
        z = h @ W
        z += b
        z1 = h1 @ W
        z2 = None if h2 is None else h2 @ W
        if i == L - 1:
            N, N1, N2 = z[:, 0], z1[:, 0], z2[:, 0]
            break
        y = np.tanh(z)
        d = 1 - y * y
        yd = y * d
        y1 = d * z1
        y2 = -2 * yd * z1 * z1
        if z2 is not None:
            y2 += d * z2
        acts.append((y, d, yd, z1, z2))
        h, h1, h2 = y, y1, y2
    s = t / T
    u = 1 + s * s * N
    du = (2 * s / T) * N + s * s * N1
    ddu = (2 / (T * T)) * N + (4 * s / T) * N1 + s * s * N2
    r = ddu + c * du + k * u
    value = np.mean(r * r)
    gr = r * (2.0 / n)
    gz = (gr * (2 / (T * T) + c * 2 * s / T + k * s * s))[:, None]
    gz1 = (gr * (4 * s / T + c * s * s))[:, None]
    gz2 = (gr * s * s)[:, None]
    grads = [None] * (2 * L)
    for i in range(L - 1, -1, -1):
        W = params[2 * i]
        h, h1, h2 = ins[i]
        gW = h.T @ gz + h1.T @ gz1
        if h2 is not None:
            gW += h2.T @ gz2
        grads[2 * i] = gW
        grads[2 * i + 1] = gz.sum(axis=0)
        if i == 0:
            break
        gh, gh1, gh2 = gz @ W.T, gz1 @ W.T, gz2 @ W.T
        y, d, yd, z1, z2 = acts[i - 1]
        gd = gh1 * z1 - 2 * gh2 * y * z1 * z1
        if z2 is not None:
            gd += gh2 * z2
        gz2 = gh2 * d
        gz1 = gh1 * d - 4 * gh2 * yd * z1
        gz = (gh - 2 * gh2 * d * z1 * z1 - 2 * y * gd) * d
    return value, grads


def build(problem, **options):
    if problem.kind == "grad":
        theta, X, Y, sizes, loss = problem.theta, problem.X, problem.Y, list(problem.sizes), problem.loss

        def run():
            return handwritten.value_and_grad(theta, X, Y, sizes, loss)

        return Impl(run, lambda out: {"value": out[0], "grad": out[1]})
    if problem.kind == "neural_form":
        ex = problem.extra
        params, t = problem.params, problem.X

        def run():
            return neural_form_value_and_grad(params, t, ex["T"], ex["c"], ex["k"])

        return Impl(run, lambda out: {"value": out[0], "grad": np.concatenate([g.ravel() for g in out[1]])})
    return None
