"""Convolution kernels and second-order steps: where the time goes.

Run:  OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 python benchmarks/bench_conv.py [--quick]

1. im2col / col2im / forward / backward of the convolution at LeNet-5 and
   small-VGG sizes, NumPy reference vs Numba kernels, the whole-layer
   kernels of the compiled path (``conv_forward_t``/``conv_backward_t``:
   chunks of images in L2, bias, tanh and 2x2 average pooling fused), plus
   a direct ``np.einsum`` over sliding-window views
   (``sliding_window_view``: what a user would write by hand in NumPy) and
   PyTorch's ``conv2d`` on the CPU when torch is installed (an optional
   peer, never a dependency);
2. LeNet-5's loss + gradient (batch 128, float64 and float32): the
   compiled path (``nnopt.nn.fast_conv``, what ``Objective`` picks) against
   the general engine, and where the compiled path's time goes, kernel by
   kernel;
3. the time per step of every second-order optimizer relative to SGD, on
   LeNet-5 and on the CURVES autoencoder (the extra cost of the curvature
   statistics, inversions, CG iterations).

Times are process CPU time, the best of several repeats, so that other
load on a shared machine inflates them less; compare ratios from one run.
(With more than one Numba thread, CPU time adds up the threads: use
``OMP_NUM_THREADS=1 NUMBA_NUM_THREADS=1`` for the kernel tables.)
Single-threaded BLAS is recommended on small machines (multi-threaded
OpenBLAS made a 25088 x 8 by 25088 x 72 product 60x slower on a loaded
2-core machine).
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np

import nnopt
from nnopt import optim
from nnopt.kernels.conv import cpu, reference
from nnopt.nn.zoo import deep_autoencoder, lenet5
from nnopt.secondorder import foof, hessian_free, kbfgs, kbfgs_l, kfac

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from timing import best_time  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples"))


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
          "| layer fwd (+tanh+pool) | layer bwd (+tanh+pool) | einsum (forward) | torch forward | torch fwd+bwd |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    pool = ("avg", (2, 2), (2, 2), (0, 0))
    for name, xs, ws, p in cases:
        x = rng.normal(size=xs).astype(np.float32)
        W = rng.normal(size=ws).astype(np.float32)
        b = rng.normal(size=ws[0]).astype(np.float32)
        s, pad, d = (1, 1), (p, p), (1, 1)
        y = reference.forward(x, W, b, s, pad, d)
        g = rng.normal(size=y.shape).astype(np.float32)
        a, yp = cpu.conv_forward_t(x, W, b, s, pad, d, "nchw", "tanh", pool)
        gp = rng.normal(size=yp.shape).astype(np.float32)
        row = [
            best_time(lambda: reference.im2col(x, ws[2:], s, pad, d)),
            best_time(lambda: cpu.im2col(x, ws[2:], s, pad, d)),
            best_time(lambda: reference.forward(x, W, b, s, pad, d)),
            best_time(lambda: cpu.forward(x, W, b, s, pad, d)),
            best_time(lambda: reference.backward(g, x, W, s, pad, d)),
            best_time(lambda: cpu.backward(g, x, W, s, pad, d)),
            best_time(lambda: cpu.conv_forward_t(x, W, b, s, pad, d, "nchw", "tanh", pool)),
            best_time(lambda: cpu.conv_backward_t(gp, x, W, s, pad, d, "nchw", True, True, "tanh", a, pool)),
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


def lenet_step(quick):
    """LeNet-5 loss + gradient, batch 128: compiled path vs engine, and its parts."""
    from nnopt import kernels
    from nnopt.nn import fast_conv

    rng = np.random.default_rng(0)
    X = rng.normal(size=(128, 1, 28, 28))
    y = rng.integers(0, 10, 128)
    net = lenet5()
    print("\n## LeNet-5 loss + gradient, batch 128 (ms)\n")
    print("| dtype | compiled path (Objective) | general engine (fast=False) | engine / compiled |")
    print("|---|---|---|---|")
    for dtype in (np.float64, np.float32):
        theta = net.init(seed=0, dtype=dtype)
        fast = nnopt.Objective(net, "cross_entropy", X.astype(dtype), y, cache=False)
        engine = nnopt.Objective(net, "cross_entropy", X.astype(dtype), y, cache=False, fast=False)
        tf = best_time(lambda: fast.value_and_grad(theta))
        te = best_time(lambda: engine.value_and_grad(theta), min_time=0.2 if quick else 0.5)
        print(f"| {np.dtype(dtype).name} | {1e3 * tf:.2f} | {1e3 * te:.1f} | {te / tf:.1f} |")
    print("\nWhere the compiled path's time goes (ms per call; conv blocks include bias, tanh and pooling):\n")
    print("| dtype | conv1 fwd | conv2 fwd | dense fwd + loss | dense bwd | conv2 bwd | conv1 bwd | whole call |")
    print("|---|---|---|---|---|---|---|---|")
    pool = ("avg", (2, 2), (2, 2), (0, 0))
    for dtype in (np.float64, np.float32):
        theta = net.init(seed=0, dtype=dtype)
        p = [theta[sp.slice].reshape(sp.shape) for sp in net.layout]
        x = X.astype(dtype)
        a1, y1 = cpu.conv_forward_t(x, p[0], p[1], (1, 1), (2, 2), (1, 1), "nchw", "tanh", pool)
        a2, y2 = cpu.conv_forward_t(y1, p[2], p[3], (1, 1), (0, 0), (1, 1), "cnhw", "tanh", pool)
        flat = np.ascontiguousarray(y2.transpose(1, 0, 2, 3)).reshape(128, -1)
        kd = kernels.select("dense")

        def dense_fwd():
            h1 = kd.forward(flat, p[4], p[5], "tanh")
            h2 = kd.forward(h1, p[6], p[7], "tanh")
            return h1, h2, kd.forward(h2, p[8], p[9], "identity")

        h1, h2, out = dense_fwd()
        g = rng.normal(size=out.shape).astype(dtype) / 128

        def dense_bwd():
            g2 = kd.backward(g, out, h2, p[8], "identity")[0]
            g1 = kd.backward(g2, h2, h1, p[6], "tanh")[0]
            return kd.backward(g1, h1, flat, p[4], "tanh")[0]

        gflat = dense_bwd()
        g2 = np.ascontiguousarray(gflat.reshape(128, 16, 5, 5).transpose(1, 0, 2, 3))
        gy1 = cpu.conv_backward_t(g2, y1, p[2], (1, 1), (0, 0), (1, 1), "cnhw", True, True, "tanh", a2, pool)[0]
        theta_, X_ = theta, X.astype(dtype)
        with cpu.single_threaded_blas():
            times = [
                best_time(lambda: cpu.conv_forward_t(x, p[0], p[1], (1, 1), (2, 2), (1, 1), "nchw", "tanh", pool)),
                best_time(lambda: cpu.conv_forward_t(y1, p[2], p[3], (1, 1), (0, 0), (1, 1), "cnhw", "tanh", pool)),
                best_time(dense_fwd),
                best_time(dense_bwd),
                best_time(lambda: cpu.conv_backward_t(g2, y1, p[2], (1, 1), (0, 0), (1, 1), "cnhw", True, True,
                                                      "tanh", a2, pool)),
                best_time(lambda: cpu.conv_backward_t(gy1, x, p[0], (1, 1), (2, 2), (1, 1), "nchw", False, True,
                                                      "tanh", a1, pool)),
                best_time(lambda: fast_conv.value_and_grad(net, "cross_entropy", theta_, X_, y)),
            ]
        print(f"| {np.dtype(dtype).name} | " + " | ".join(f"{1e3 * t:.2f}" for t in times) + " |")


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
    lenet_step(args.quick)
    step_times(args.quick)


if __name__ == "__main__":
    main()
