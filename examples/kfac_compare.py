"""Second-order versus first-order training on a CURVES-like autoencoder and
LeNet-5 (issue 8, point 5).

For SGD with momentum, Adam, K-FAC, K-BFGS, K-BFGS(L), FOOF and Hessian-free,
several seeds each, this script

* trains with :func:`nnopt.optim.train` (minibatches, float32);
* records the full training loss after every epoch and the wall time;
* plots the loss against epochs and against wall time (mean over seeds,
  min-max band) and writes a Markdown table of final losses, time per
  epoch and time per step relative to SGD.

Hyperparameters come from a small grid per method and task
(``--tune`` reruns it on seed 0 for ``--tune-epochs`` epochs and prints the
best setting; the defaults below are its result on this machine).

Usage::

    python examples/kfac_compare.py                     # both tasks, 3 seeds
    python examples/kfac_compare.py --task curves --seeds 1 --epochs 2   # quick look
    python examples/kfac_compare.py --tune --task lenet

Figures go to ``--out`` (default ``docs/img``) as ``secondorder_<task>.png``
and the table to ``secondorder_<task>.md``.
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import time
import warnings

import numpy as np

import nnopt
from nnopt import optim
from nnopt.nn.zoo import deep_autoencoder, lenet5
from nnopt.secondorder import foof, hessian_free, kbfgs, kbfgs_l, kfac

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nnopt.data import bars, curves  # noqa: E402

METHODS = ("sgd", "adam", "kfac", "kbfgs", "kbfgs_l", "foof", "hessian_free")

# (learning rate, damping) per task from the grid search (--tune)
BEST = {
    "curves": {"sgd": (3.0, None), "adam": (3e-2, None), "kfac": (3.0, 1e-4), "kbfgs": (0.03, 0.1),
               "kbfgs_l": (0.03, 0.1), "foof": (10.0, 0.1), "hessian_free": (1.0, 1e-3)},
    "lenet": {"sgd": (0.3, None), "adam": (1e-2, None), "kfac": (1.0, 1e-2), "kbfgs": (0.03, 1e-2),
              "kbfgs_l": (0.03, 1e-2), "foof": (0.01, 1e-2), "hessian_free": (1.0, 1e-2)},
}

GRID = {
    "curves": {
        "sgd": ([0.1, 0.3, 1.0, 3.0], [None]),
        "adam": ([1e-3, 3e-3, 1e-2, 3e-2], [None]),
        "kfac": ([0.3, 1.0, 3.0], [1e-5, 1e-4, 1e-3]),
        "kbfgs": ([0.1, 0.3, 1.0], [1e-3, 1e-2, 1e-1]),
        "kbfgs_l": ([0.1, 0.3, 1.0], [1e-3, 1e-2, 1e-1]),
        "foof": ([1.0, 3.0, 10.0, 30.0], [1e-2, 1e-1]),
        "hessian_free": ([1.0], [1e-4, 1e-3, 1e-2, 1e-1]),
    },
    "lenet": {
        "sgd": ([0.01, 0.03, 0.1, 0.3], [None]),
        "adam": ([3e-4, 1e-3, 3e-3], [None]),
        "kfac": ([0.1, 0.3, 1.0], [1e-3, 1e-2, 1e-1]),
        "kbfgs": ([0.1, 0.3, 1.0], [1e-3, 1e-2, 1e-1]),
        "kbfgs_l": ([0.1, 0.3, 1.0], [1e-3, 1e-2, 1e-1]),
        "foof": ([0.1, 0.3, 1.0], [1e-2, 1e-1]),
        "hessian_free": ([1.0], [1e-2, 1e-1]),
    },
}

# outputs per example over which the loss is a mean: the G side of K-BFGS
# scales with 1/d while the A side does not (see kbfgs's g_damping)
LOSS_MEAN_OVER = {"curves": 784, "lenet": 1}


def make_optimizer(method, lr, damping, net, d=1):
    if method == "sgd":
        return optim.sgd(lr, momentum=0.9)
    if method == "adam":
        return optim.adam(lr)
    if method == "kfac":
        return kfac(lr, damping, momentum=0.9, norm_constraint=1e-2, net=net)
    if method == "kbfgs":
        return kbfgs(lr, damping, momentum=0.9, g_damping=damping ** 0.5 / d, net=net)
    if method == "kbfgs_l":
        return kbfgs_l(lr, damping, momentum=0.9, memory=20, g_damping=damping ** 0.5 / d, net=net)
    if method == "foof":
        return foof(lr, damping, momentum=0.9, net=net)
    if method == "hessian_free":
        return hessian_free(lr, damping, max_cg_iters=20)
    raise ValueError(method)


def make_task(task, n):
    if task == "curves":
        X = curves(n, seed=0)
        return nnopt.Objective(deep_autoencoder("curves"), "binary_cross_entropy", X, X)
    X, y = bars(n, seed=0)
    return nnopt.Objective(lenet5(), "cross_entropy", X, y)


def run(obj, method, lr, damping, seed, epochs, batch_size, d=1):
    theta0 = obj.net.init(seed=seed, dtype=np.float32)
    opt = make_optimizer(method, lr, damping, obj.net, d)
    first = float(obj.fun(theta0))
    res = optim.train(obj, opt, theta0, epochs=epochs, batch_size=batch_size, seed=seed, progress=False,
                      eval_objective=obj)
    h = res.history
    steps_per_epoch = -(-obj.n_samples // batch_size)
    times = np.cumsum(h.time)
    ends = [min(len(times), steps_per_epoch * (e + 1)) - 1 for e in range(len(h.eval_loss))]
    return {
        "method": method, "lr": lr, "damping": damping, "seed": seed, "status": int(res.status),
        "epoch_loss": [first] + [float(v) for v in h.eval_loss],
        "epoch_time": [0.0] + [float(times[i]) for i in ends],
        "step_time": float(np.median(h.time)) if len(h.time) else float("nan"),
    }


def tune(task, n, epochs, batch_size, methods, lrs=None, dampings=None):
    obj = make_task(task, n)
    best = {}
    for method in methods:
        grid_lrs, grid_damps = GRID[task][method]
        lrs_m = lrs or grid_lrs
        damps = grid_damps if dampings is None or grid_damps == [None] else dampings
        scores = []
        for lr, dmp in itertools.product(lrs_m, damps):
            r = run(obj, method, lr, dmp, 0, epochs, batch_size, LOSS_MEAN_OVER[task])
            final = r["epoch_loss"][-1] if r["status"] == 0 else float("inf")
            scores.append((final if np.isfinite(final) else float("inf"), lr, dmp))
            print(f"  {task} {method:13s} lr={lr:<7g} damping={dmp!s:<7} final={final:.5g}", flush=True)
        best[method] = min(scores)[1:]
        print(f"{task} {method}: best {best[method]}", flush=True)
    return best


def mean_image_loss(obj):
    """Loss of the best constant output (the mean image, for the autoencoder): the plateau level."""
    m = np.clip(obj.Y.astype(np.float64).mean(axis=0), 1e-7, 1 - 1e-7)
    z = np.log(m / (1 - m))
    return float(np.mean(np.logaddexp(0, z) - obj.Y * z))


def summarise(task, runs, out, tag="", reference=None):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    methods = [m for m in METHODS if any(r["method"] == m for r in runs)]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    rows = []
    sgd_step = np.median([r["step_time"] for r in runs if r["method"] == "sgd"]) if "sgd" in methods else np.nan
    for m in methods:
        rs = [r for r in runs if r["method"] == m]
        k = min(len(r["epoch_loss"]) for r in rs)
        L = np.array([r["epoch_loss"][:k] for r in rs])
        T = np.array([r["epoch_time"][:k] for r in rs])
        ep = np.arange(k)
        mean = np.exp(np.log(L).mean(axis=0))
        for ax, x in ((axes[0], ep), (axes[1], T.mean(axis=0))):
            ax.plot(x, mean, label=m)
            ax.fill_between(x, L.min(axis=0), L.max(axis=0), alpha=0.2)
        final = L[:, -1]
        per_epoch = T[:, -1] / max(1, k - 1)
        step = np.median([r["step_time"] for r in rs])
        rows.append((m, rs[0]["lr"], rs[0]["damping"], final.mean(), final.std(), per_epoch.mean(), step, step / sgd_step,
                     sum(r["status"] != 0 for r in rs)))
    for ax, xl in zip(axes, ("epoch", "wall time (s)")):
        if reference is not None:
            ax.axhline(reference, color="k", ls="--", lw=0.8, label="mean image" if ax is axes[0] else None)
        ax.set_yscale("log")
        ax.set_xlabel(xl)
        ax.set_ylabel("training loss (full data)")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle(f"{task}: mean over seeds (geometric), band = min..max")
    fig.tight_layout()
    os.makedirs(out, exist_ok=True)
    fig.savefig(os.path.join(out, f"secondorder_{task}{tag}.png"), dpi=110)
    lines = ["| method | lr | damping | final loss (mean +- std) | s / epoch | ms / step | step / SGD step | diverged |",
             "|---|---|---|---|---|---|---|---|"]
    for m, lr, d, mu, sd, pe, st, rel, div in rows:
        lines.append(f"| {m} | {lr:g} | {'-' if d is None else f'{d:g}'} | {mu:.4g} +- {sd:.2g} | {pe:.2f} | "
                     f"{1e3 * st:.1f} | {rel:.2f} | {div} |")
    table = "\n".join(lines)
    with open(os.path.join(out, f"secondorder_{task}{tag}.md"), "w") as f:
        f.write(table + "\n")
    return table


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--task", choices=["curves", "lenet", "both"], default="both")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--n", type=int, default=1000, help="training examples")
    p.add_argument("--batch-size", type=int, default=100)
    p.add_argument("--methods", default=",".join(METHODS))
    p.add_argument("--tune", action="store_true")
    p.add_argument("--tune-epochs", type=int, default=2)
    p.add_argument("--lrs", default=None, help="comma-separated learning rates replacing the grid's (with --tune)")
    p.add_argument("--dampings", default=None, help="comma-separated dampings replacing the grid's (with --tune)")
    p.add_argument("--tag", default="", help="suffix of the output file names")
    p.add_argument("--replot", action="store_true", help="redraw figures and tables from the saved JSON")
    p.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "docs", "img"))
    args = p.parse_args(argv)
    warnings.simplefilter("ignore", RuntimeWarning)
    methods = [m for m in args.methods.split(",") if m]
    tasks = ["curves", "lenet"] if args.task == "both" else [args.task]
    for task in tasks:
        if args.tune:
            lrs = [float(v) for v in args.lrs.split(",")] if args.lrs else None
            damps = [float(v) for v in args.dampings.split(",")] if args.dampings else None
            print(json.dumps({task: tune(task, args.n, args.tune_epochs, args.batch_size, methods, lrs, damps)}))
            continue
        obj = make_task(task, args.n)
        ref = mean_image_loss(obj) if task == "curves" else None
        os.makedirs(args.out, exist_ok=True)
        path = os.path.join(args.out, f"secondorder_{task}{args.tag}.json")
        if args.replot:
            with open(path) as f:
                print(summarise(task, json.load(f), args.out, args.tag, ref))
            continue
        runs = []
        for method in methods:
            lr, dmp = BEST[task][method]
            for seed in range(args.seeds):
                t0 = time.perf_counter()
                runs.append(run(obj, method, lr, dmp, seed, args.epochs, args.batch_size, LOSS_MEAN_OVER[task]))
                r = runs[-1]
                print(f"{task} {method:13s} seed {seed}: loss {r['epoch_loss'][0]:.4g} -> {r['epoch_loss'][-1]:.4g} "
                      f"({time.perf_counter() - t0:.1f} s)", flush=True)
        with open(path, "w") as f:
            json.dump(runs, f)
        print(summarise(task, runs, args.out, args.tag, ref))


if __name__ == "__main__":
    main()
