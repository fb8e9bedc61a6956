"""Majorization-minimization with verified safe learning rates against tuned
GD, Adam and AdaGrad, on a small regression and a small classification task.

MM (nnopt.bounds.mm_minimize) takes the gradient direction and, at every
step, the minimiser of a *verified* quadratic upper bound of the loss along
it (AutoBound's SafeRate, Streeter & Dillon 2023): the loss never increases
and there is no learning rate to tune.  GD, Adam and AdaGrad get a grid of
learning rates each and we keep the best (lowest final loss).  All runs are
full batch from the same initial parameters.  Run:

    python examples/bounds_mm_training.py [outdir]
"""
from __future__ import annotations

import pathlib
import sys
import time

import numpy as np

import nnopt
from nnopt.bounds import mm_minimize
from nnopt.nn import MLP

GRIDS = {
    "GD": [0.01, 0.03, 0.1, 0.3, 1.0, 3.0],
    "Adam": [1e-3, 3e-3, 1e-2, 3e-2, 1e-1],
    "AdaGrad": [1e-2, 3e-2, 1e-1, 3e-1, 1.0],
}


def tasks(n=128, seed=0):
    """The two problems: (name, objective, theta0)."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, (n, 2))
    Y = np.sin(2 * X[:, :1]) * X[:, 1:] + 0.05 * rng.normal(size=(n, 1))
    reg_net = MLP([2, 16, 16, 1], activation="tanh")
    reg = nnopt.Objective(reg_net, "mse", X, Y)
    # three Gaussian blobs
    centers = np.array([[0.0, 1.0], [1.0, -0.5], [-1.0, -0.5]])
    labels = rng.integers(0, 3, n)
    Xc = centers[labels] + 0.55 * rng.normal(size=(n, 2))
    cls_net = MLP([2, 16, 3], activation="tanh")
    # the built-in cross-entropy: its logsumexp is a primitive with a smooth bounds rule
    cls = nnopt.Objective(cls_net, "cross_entropy", Xc, labels)
    return [("regression", reg, reg_net.init(seed=1)), ("classification", cls, cls_net.init(seed=1))]


def gd(obj, theta, lr, steps):
    losses = []
    for _ in range(steps):
        v, g = obj.value_and_grad(theta)
        losses.append(v)
        theta = theta - lr * g
    return theta, np.array(losses)


def adam(obj, theta, lr, steps, b1=0.9, b2=0.999, eps=1e-8):
    m = np.zeros_like(theta)
    s = np.zeros_like(theta)
    losses = []
    for t in range(1, steps + 1):
        v, g = obj.value_and_grad(theta)
        losses.append(v)
        m = b1 * m + (1 - b1) * g
        s = b2 * s + (1 - b2) * g * g
        theta = theta - lr * (m / (1 - b1 ** t)) / (np.sqrt(s / (1 - b2 ** t)) + eps)
    return theta, np.array(losses)


def adagrad(obj, theta, lr, steps, eps=1e-10):
    s = np.zeros_like(theta)
    losses = []
    for _ in range(steps):
        v, g = obj.value_and_grad(theta)
        losses.append(v)
        s = s + g * g
        theta = theta - lr * g / (np.sqrt(s) + eps)
    return theta, np.array(losses)


METHODS = {"GD": gd, "Adam": adam, "AdaGrad": adagrad}


def tuned(method, obj, theta0, steps):
    """Best learning rate of the grid by final loss (diverged runs lose)."""
    best = None
    for lr in GRIDS[method]:
        with np.errstate(all="ignore"):
            _, losses = METHODS[method](obj, theta0.copy(), lr, steps)
        final = losses[-1] if np.all(np.isfinite(losses)) else np.inf
        if best is None or final < best[1]:
            best = (lr, final, losses)
    return best


def compare(steps=200, n=128):
    """{task: {method: (learning rate or None, losses, seconds)}}."""
    out = {}
    for name, obj, theta0 in tasks(n):
        row = {}
        for method in METHODS:
            t = time.perf_counter()
            lr, _, losses = tuned(method, obj, theta0, steps)
            row[method] = (lr, losses, time.perf_counter() - t)
        t = time.perf_counter()
        res = mm_minimize(obj, theta0.copy(), steps, max_rate=1.0)
        losses = np.concatenate([res.history["loss"], [res.fun]])[:steps]
        row["MM (safe rate)"] = (None, losses, time.perf_counter() - t)
        out[name] = row
    return out


def main(outdir="out/bounds", steps=200, n=128, show=False):
    import matplotlib

    if not show:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    results = compare(steps, n)
    out = pathlib.Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(1, len(results), figsize=(5 * len(results), 3.8))
    for ax, (task, row) in zip(np.atleast_1d(axes), results.items()):
        for method, (lr, losses, _) in row.items():
            label = method if lr is None else f"{method} (lr={lr:g}, tuned)"
            ax.semilogy(losses, label=label, lw=2 if lr is None else 1.2)
        ax.set_title(task)
        ax.set_xlabel("step (full batch)")
        ax.set_ylabel("loss")
        ax.legend(fontsize=8)
    fig.tight_layout()
    path = out / "bounds_mm_training.png"
    fig.savefig(path, dpi=120)
    if show:
        plt.show()
    plt.close(fig)
    return results, path


if __name__ == "__main__":
    results, path = main(sys.argv[1] if len(sys.argv) > 1 else "out/bounds")
    for task, row in results.items():
        print(task)
        for method, (lr, losses, secs) in row.items():
            lr_s = "no tuning" if lr is None else f"lr={lr:g}"
            print(f"  {method:16s} {lr_s:12s} final loss {losses[-1]:.6g}  ({secs:.1f} s incl. tuning grid)")
    print("wrote", path)
