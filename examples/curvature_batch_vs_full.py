"""Top eigenvalue of minibatch Hessians against the full-batch Hessian, and the implied maximal learning rate.

Run:  python examples/curvature_batch_vs_full.py [--out docs/img/curvature_batch_vs_full.png]

Trains a tanh MLP a little with full-batch GD, then draws minibatches of
several sizes and computes the top eigenvalue of each minibatch Hessian by
Lanczos (Granziol et al., JMLR 2022: it grows as the batch shrinks, so the
largest stable step size 2 / lambda_max falls).
"""
from __future__ import annotations

import argparse

import matplotlib

matplotlib.use("Agg")


import nnopt  # noqa: E402
from nnopt.curvature import batch_sharpness, plot_batch_sharpness, regression_task  # noqa: E402
from nnopt.nn import MLP  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="curvature_batch_vs_full.png")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--n-batches", type=int, default=10)
    args = ap.parse_args(argv)
    X, Y = regression_task(256, 4, seed=args.seed)
    net = MLP([4, 32, 32, 1], activation="tanh")
    obj = nnopt.Objective(net, "mse", X, Y)
    theta = net.init(seed=args.seed)
    for _ in range(500):
        theta = theta - 0.02 * obj.jac(theta)
    sizes = [4, 8, 16, 32, 64, 128, 256]
    r = batch_sharpness(obj, theta, sizes, n_batches=args.n_batches, seed=args.seed)
    print(f"MLP {list(net.sizes)}, {obj.n_samples} examples, loss {float(obj.fun(theta)):.4f}; "
          f"{args.n_batches} minibatches per size")
    print(f"full batch: lambda_max = {r.full:.4f}, max stable lr 2/lambda = {r.max_lr_full:.4f}")
    print(f"{'batch':>6s} {'mean lambda_max':>16s} {'std':>8s} {'/ full':>7s} {'max lr':>8s}")
    for b, m, s, lr in zip(r.batch_sizes, r.mean, r.std, r.max_lr):
        print(f"{b:6d} {m:16.4f} {s:8.4f} {m / r.full:7.2f} {lr:8.4f}")
    fig = plot_batch_sharpness(r)
    fig.savefig(args.out, dpi=110)
    print(f"figure written to {args.out}")


if __name__ == "__main__":
    main()
