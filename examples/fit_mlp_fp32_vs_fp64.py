"""Fit a small tanh MLP to a teacher network in float32 and float64 with
scipy's trust-region Newton-CG on nnopt's exact Hessian-vector products,
and plot both loss curves.

    python examples/fit_mlp_fp32_vs_fp64.py [--out DIR]
"""
from __future__ import annotations

import argparse
import os
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import scipy.optimize  # noqa: E402

import nnopt  # noqa: E402
from nnopt.nn import MLP  # noqa: E402


def teacher_task(n=200, sizes=(2, 8, 1), seed=0):
    """Inputs from N(0, 1), targets from a random teacher of the same shape
    (so the minimum loss is exactly zero)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, sizes[0]))
    teacher = MLP(list(sizes), activation="tanh")
    Y = teacher(teacher.init(seed=seed + 1000), X)
    return X, Y


def fit(obj, theta0, maxiter=200):
    losses = [float(obj.fun(theta0))]
    t0 = time.perf_counter()
    res = scipy.optimize.minimize(
        obj.fun, theta0, jac=obj.jac, hessp=obj.hessp, method="trust-ncg",
        options={"maxiter": maxiter, "gtol": 0.0},
        callback=lambda xk: losses.append(float(obj.fun(xk))),
    )
    return res, losses, time.perf_counter() - t0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", default="out/examples")
    ap.add_argument("--maxiter", type=int, default=200)
    args = ap.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    X, Y = teacher_task()
    net = MLP([2, 8, 1], activation="tanh")
    obj64 = nnopt.Objective(net, "mse", X, Y)
    fig, ax = plt.subplots(figsize=(6, 4))
    for dtype in (np.float64, np.float32):
        obj = obj64.astype(dtype)
        theta0 = net.init(seed=0, dtype=dtype)
        res, losses, seconds = fit(obj, theta0, args.maxiter)
        print(f"{np.dtype(dtype).name}: final MSE {losses[-1]:.3e} after {res.nit} iterations, "
              f"{seconds:.2f} s ({res.message})")
        ax.semilogy(losses, label=np.dtype(dtype).name)
    ax.set_xlabel("iteration (trust-region Newton-CG)")
    ax.set_ylabel("training MSE")
    ax.set_title("Teacher-student fit: float32 vs float64")
    ax.legend()
    path = os.path.join(args.out, "fit_mlp_fp32_vs_fp64.png")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    print(f"figure: {path}")


if __name__ == "__main__":
    main()
