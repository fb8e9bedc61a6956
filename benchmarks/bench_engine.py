"""Per-primitive overhead of the general differentiation engine.

Run:  OMP_NUM_THREADS=1 python benchmarks/bench_engine.py [--quick]

Times, in microseconds per primitive call, a chain of 100 ``nnp.sin`` on a
3-vector (arithmetic is negligible, so this is the engine's own cost):
plain evaluation, ``grad`` (forward trace + reverse pass) and ``hvp``
(forward-over-reverse), plus two whole workloads dominated by overhead: the
gradient of a tiny MLP through the general engine and the neural-form loss
+ gradient.  Times are process CPU time (``time.process_time``), the best
of several repeats, so that other load on a shared machine inflates them
less than wall-clock time would; compare ratios taken in one run.
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np

import nnopt
import nnopt.numpy as nnp
from nnopt.nn import MLP

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from timing import best_time  # noqa: E402


def sin_chain(x, n=100):
    for _ in range(n):
        x = nnp.sin(x)
    return nnp.sum(x)


def tiny_mlp_engine():
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(100, 1)), rng.normal(size=(100, 1))
    obj = nnopt.Objective(MLP([1, 20, 20, 1], activation="tanh"), "mse", X, Y, fast=False, cache=False)
    theta = obj.net.init(seed=0)
    vg = nnopt.value_and_grad(obj)
    return lambda: vg(theta)


def neural_form(w=32, b=200):
    net = MLP([1, w, w, 1], activation="tanh")
    wts = net.init(seed=0)
    t = np.linspace(0, 2 * np.pi, b)
    one = np.ones_like(t)

    def u(p, s):
        return net(p, nnp.reshape(s, (-1, 1)))[:, 0]

    def loss(p):
        du = lambda s: nnopt.jvp(lambda r: u(p, r), (s,), (one,))[1]  # noqa: E731
        ddu = nnopt.jvp(du, (t,), (one,))[1]
        return nnp.mean((ddu + 0.4 * du(t) + 4 * u(p, t)) ** 2)

    vg = nnopt.value_and_grad(loss)
    return lambda: vg(wts)


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="short timings (CI smoke test)")
    args = ap.parse_args(argv)
    min_time = 0.02 if args.quick else 0.3
    x = np.array([0.3, -0.2, 0.5])
    v = np.array([1.0, 0.5, -0.25])
    n = 100
    g = nnopt.grad(sin_chain)
    rows = [
        ("sin chain: plain (us/op)", lambda: sin_chain(x), n),
        ("sin chain: grad (us/op)", lambda: g(x), n),
        ("sin chain: hvp (us/op)", lambda: nnopt.hvp(sin_chain, x, v), n),
        ("tiny MLP [1,20,20,1] b=100, engine grad (us)", tiny_mlp_engine(), 1),
        ("neural form [1,32,32,1] 200 pts, loss+grad (us)", neural_form(), 1),
    ]
    for name, fn, per in rows:
        print(f"{name:50s} {best_time(fn, min_time) * 1e6 / per:10.2f}")


if __name__ == "__main__":
    main()
