"""Convolution kernels and second-order steps: where the time goes.

Run:  OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 python benchmarks/bench_conv.py [--quick]

1. im2col / col2im / forward / backward of the convolution at LeNet-5 and
   small-VGG sizes, NumPy reference vs Numba kernels, plus a direct
   ``np.einsum`` over sliding-window views (``sliding_window_view``: what a
   user would write by hand in NumPy) and PyTorch's ``conv2d`` on the CPU
   when torch is installed (an optional peer, never a dependency);
2. the gradient of LeNet-5's loss through the general engine (kernel-backed
   ``conv2d`` primitive) against the same kernels called by hand;
3. the time per step of every second-order optimizer relative to SGD, on
   LeNet-5 and on the CURVES autoencoder (the extra cost of the curvature
   statistics, inversions, CG iterations).

Times are process CPU time, the best of several repeats, so that other
load on a shared machine inflates them less; compare ratios from one run.
Single-threaded BLAS is recommended on small machines (multi-threaded
OpenBLAS made a 25088 x 8 by 25088 x 72 product 60x slower on a loaded
2-core machine).
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

import nnopt
from nnopt import optim
from nnopt.kernels.conv import cpu, reference
from nnopt.nn.zoo import deep_autoencoder, lenet5
from nnopt.secondorder import foof, hessian_free, kbfgs, kbfgs_l, kfac

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples"))


def best_time(fn, min_time=0.3, repeat=3):
    fn()
    n = 1
    while True:
        t0 = time.process_time()
        for _ in range(n):
            fn()
        dt = time.process_time() - t0
        if dt > min_time / repeat:
            break
        n *= 2
    best = np.inf
    for _ in range(repeat):
        t0 = time.process_time()
        for _ in range(n):
            fn()
        best = min(best, (time.process_time() - t0) / n)
    return best


def einsum_conv(x, W, padding):
    """Direct NumPy: sliding windows of the padded input contracted with W (stride 1)."""
    p = padding
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    win = np.lib.stride_tricks.sliding_window_view(xp, W.shape[2:], axis=(2, 3))
    return np.einsum("nchwij,ocij->nohw", win, W, optimize=True)


def kernels_table(quick):
    cases = [("LeNet conv1 (100x1x28x28, 6@5x5, pad 2)", (100, 1, 28, 28), (6, 1, 5, 5), 2),
             ("LeNet conv2 (100x6x14x14, 16@5x5)", (100, 6, 14, 14), (16, 6, 5, 5), 0),
             ("VGG 3x3 (64x16x14x14, 32@3x3, pad 1)", (64, 16, 14, 14), (32, 16, 3, 3), 1)]
    if quick:
        cases = cases[:2]
    try:
        import torch
        import torch.nn.functional as F

        torch.set_num_threads(1)
    except ImportError:
        torch = None
    rng = np.random.default_rng(0)
    print("\n## Convolution kernels (ms, float32)\n")
    print("| case | im2col ref | im2col numba | forward ref | forward numba | backward ref | backward numba "
          "| einsum (forward) | torch forward | torch fwd+bwd |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, xs, ws, p in cases:
        x = rng.normal(size=xs).astype(np.float32)
        W = rng.normal(size=ws).astype(np.float32)
        b = rng.normal(size=ws[0]).astype(np.float32)
        s, pad, d = (1, 1), (p, p), (1, 1)
        y = reference.forward(x, W, b, s, pad, d)
        g = rng.normal(size=y.shape).astype(np.float32)
        row = [
            best_time(lambda: reference.im2col(x, ws[2:], s, pad, d)),
            best_time(lambda: cpu.im2col(x, ws[2:], s, pad, d)),
            best_time(lambda: reference.forward(x, W, b, s, pad, d)),
            best_time(lambda: cpu.forward(x, W, b, s, pad, d)),
            best_time(lambda: reference.backward(g, x, W, s, pad, d)),
            best_time(lambda: cpu.backward(g, x, W, s, pad, d)),
            best_time(lambda: einsum_conv(x, W, p)),
        ]
        if torch is not None:
            xt = torch.tensor(x, requires_grad=True)
            Wt = torch.tensor(W, requires_grad=True)
            bt = torch.tensor(b, requires_grad=True)
            gt = torch.tensor(g)

            def fb():
                out = F.conv2d(xt, Wt, bt, padding=p)
                out.backward(gt)

            row += [best_time(lambda: F.conv2d(xt, Wt, bt, padding=p)), best_time(fb)]
        else:
            row += [float("nan"), float("nan")]
        print(f"| {name} | " + " | ".join(f"{1e3 * t:.2f}" for t in row) + " |")


def engine_vs_kernels():
    from nnopt.data import bars

    X, y = bars(100, seed=0)
    obj = nnopt.Objective(lenet5(), "cross_entropy", X, y, cache=False)
    theta = obj.net.init(seed=0, dtype=np.float32)
    print("\n## LeNet-5 loss + gradient, batch 100, float32 (ms)\n")
    for backend in ("numpy", "numba"):
        with nnopt.config.using(backend=backend):
            t = best_time(lambda: obj.value_and_grad(theta))
        print(f"- engine (conv2d primitive, backend={backend}): {1e3 * t:.1f}")


def step_times(quick):
    from nnopt.data import bars, curves

    X, y = bars(200, seed=0)
    Xc = curves(200, seed=0)
    tasks = [("LeNet-5, batch 100", nnopt.Objective(lenet5(), "cross_entropy", X, y).batch(np.arange(100))),
             ("CURVES autoencoder, batch 100",
              nnopt.Objective(deep_autoencoder("curves"), "binary_cross_entropy", Xc, Xc).batch(np.arange(100)))]
    methods = {
        "sgd (momentum)": lambda net: optim.sgd(0.01, momentum=0.9),
        "adam": lambda net: optim.adam(1e-3),
        "kfac (T1=1, T3=10)": lambda net: kfac(0.1, 1e-2, net=net),
        "kfac (T1=1, T3=1)": lambda net: kfac(0.1, 1e-2, inverse_update_every=1, net=net),
        "foof (T3=10)": lambda net: foof(0.1, 1e-2, net=net),
        "kbfgs": lambda net: kbfgs(0.1, 1e-2, net=net),
        "kbfgs_l (memory 20)": lambda net: kbfgs_l(0.1, 1e-2, memory=20, net=net),
        "hessian_free (20 CG)": lambda net: hessian_free(1.0, 1e-2, max_cg_iters=20, cg_tol=1e-30),
    }
    print("\n## Time per step relative to SGD (float32; gradient included)\n")
    print("| optimizer | " + " | ".join(name for name, _ in tasks) + " |")
    print("|---|" + "---|" * len(tasks))
    results = {}
    for tname, obj in tasks:
        theta0 = obj.net.init(seed=0, dtype=np.float32)
        for mname, make in methods.items():
            opt = make(obj.net)
            box = {"theta": theta0, "state": opt.init(theta0)}

            def step():
                v, g = obj.value_and_grad(box["theta"])
                u, box["state"] = opt.update(g, box["state"], box["theta"], value=v, oracle=obj)
                box["theta"] = box["theta"] + 1e-3 * u  # stay near the start

            results[(tname, mname)] = best_time(step, min_time=0.5 if quick else 1.5, repeat=2 if quick else 3)
    for mname in methods:
        cells = []
        for tname, _ in tasks:
            t, t0 = results[(tname, mname)], results[(tname, "sgd (momentum)")]
            cells.append(f"{1e3 * t:.0f} ms ({t / t0:.1f}x)")
        print(f"| {mname} | " + " | ".join(cells) + " |")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    kernels_table(args.quick)
    engine_vs_kernels()
    step_times(args.quick)


if __name__ == "__main__":
    main()
