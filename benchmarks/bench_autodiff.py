"""Objective.value_and_grad and hvp against a hand-written NumPy backprop.

Run:  python benchmarks/bench_autodiff.py [--quick]

Prints median times and the ratio nnopt / hand-written NumPy for MLPs of a
few sizes (tanh hidden layers).  Numbers agree before timing.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
import handwritten  # noqa: E402
from timing import median_time  # noqa: E402

import nnopt  # noqa: E402
from nnopt.nn import MLP, fast  # noqa: E402

CASES = [
    ("tiny  [1,20,20,1] b=100 mse", [1, 20, 20, 1], 100, "mse"),
    ("small [10,50,50,50,1] b=1000 mse", [10, 50, 50, 50, 1], 1000, "mse"),
    ("medium [784,256,256,10] b=256 CE", [784, 256, 256, 10], 256, "cross_entropy"),
]


def make(sizes, batch, loss, dtype, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(batch, sizes[0])).astype(dtype)
    if loss == "mse":
        Y = rng.normal(size=(batch, sizes[-1])).astype(dtype)
    else:
        Y = rng.integers(0, sizes[-1], size=batch)
    net = MLP(sizes, activation="tanh")
    return net, nnopt.Objective(net, loss, X, Y, cache=False), net.init(seed=seed, dtype=dtype), X, Y


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="tiny size only, short timings (CI smoke test)")
    ap.add_argument("--dtype", default="float64")
    ap.add_argument("--engine-hessian", action="store_true", help="also time nnopt.hessian (slow)")
    args = ap.parse_args(argv)
    dtype = np.dtype(args.dtype)
    cases = CASES[:1] if args.quick else CASES
    min_time = 0.02 if args.quick else 0.3
    print("value_and_grad: Objective.value_and_grad (dense fast path) and the general engine")
    print(f"{'workload':36s} {'hand NumPy':>11s} {'Objective':>11s} {'ratio':>6s} {'engine':>11s} {'ratio':>6s} "
          f"{'hessp':>11s} {'engine hvp':>11s}")
    for name, sizes, batch, loss in cases:
        net, obj, theta, X, Y = make(sizes, batch, loss, dtype)
        v_ref, g_ref = handwritten.value_and_grad(theta, X, Y, sizes, loss)
        tol = 1e3 * np.finfo(dtype).eps
        v, g = obj.value_and_grad(theta)
        v2, g2 = nnopt.value_and_grad(obj)(theta)
        assert np.allclose(g, g2, rtol=tol * 10, atol=tol * np.abs(g_ref).max())
        assert abs(v - v_ref) <= tol * abs(v_ref), (v, v_ref)
        assert np.allclose(g, g_ref, rtol=tol * 10, atol=tol * np.abs(g_ref).max()), "gradients disagree"
        vg = nnopt.value_and_grad(obj)
        t_ref = median_time(lambda: handwritten.value_and_grad(theta, X, Y, sizes, loss), min_time)
        t_obj = median_time(lambda: obj.value_and_grad(theta), min_time)
        t_nn = median_time(lambda: vg(theta), min_time)
        v_dir = np.random.default_rng(1).normal(size=theta.size).astype(dtype)
        hv_fast, hv_engine = obj.hessp(theta, v_dir), nnopt.hvp(obj, theta, v_dir)
        assert np.allclose(hv_fast, hv_engine, rtol=tol * 10, atol=tol * np.abs(hv_engine).max())
        t_hessp = median_time(lambda: obj.hessp(theta, v_dir), min_time)
        t_hvp = median_time(lambda: nnopt.hvp(obj, theta, v_dir), min_time)
        print(
            f"{name:36s} {t_ref*1e6:9.1f}us {t_obj*1e6:9.1f}us {t_obj/t_ref:6.2f} "
            f"{t_nn*1e6:9.1f}us {t_nn/t_ref:6.2f} {t_hessp*1e6:9.1f}us {t_hvp*1e6:9.1f}us"
        )
    if not args.quick:
        net, obj, theta, X, Y = make([8, 60, 60, 1], 200, "mse", dtype)
        small = nnopt.Objective(MLP([8, 6, 1]), "mse", X, Y, fast=False)
        th_small = small.net.init(seed=0, dtype=dtype)
        assert np.allclose(nnopt.Objective(small.net, "mse", X, Y).hess(th_small), small.hess(th_small),
                           rtol=1e-10, atol=1e-12)
        H = obj.hess(theta)
        H2 = fast.hessian(net, "mse", theta, obj.X, obj.Y)
        assert np.allclose(H, H2, rtol=tol, atol=tol * np.abs(H2).max())
        t_obj = best_of(lambda: obj.hess(theta))
        t_closed = best_of(lambda: fast.hessian(net, "mse", theta, obj.X, obj.Y))
        t0 = time.perf_counter()
        nnopt.hessian(obj)(theta[:]) if args.engine_hessian else None
        t_engine = time.perf_counter() - t0
        print(f"dense Hessian [8,60,60,1] ({net.n_params} parameters), batch 200: "
              f"Objective.hess {t_obj:.3f} s, closed form nnopt.nn.fast.hessian {t_closed:.3f} s"
              + (f", general engine {t_engine:.2f} s" if args.engine_hessian else "")
              + f"; symmetric to {np.abs(H - H.T).max():.1e}")


def best_of(fn, repeat=3):
    """Best wall-clock time of ``repeat`` calls (for calls of a second or so)."""
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best

if __name__ == "__main__":
    main()
