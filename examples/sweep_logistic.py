"""Sweep gradient descent on logistic regression over step sizes x dtypes x seeds, on a laptop.

Run:   python examples/sweep_logistic.py [--out results/sweep-logistic] [--workers N]

Every (lr, dtype, seed) run is written to OUT/records as soon as it finishes;
run the script again and only missing or failed runs are computed. Then a
table (mean/std/min/max/median over seeds) and two figures are written to
OUT/report. Copy this file and change `train` and `GRID`.
"""
import argparse
from pathlib import Path

import numpy as np

import nnopt
import nnopt.numpy as nnp
from nnopt.experiments import aggregate, load, plot_dtype_panels, plot_final, save_figure, sweep, write_markdown

GRID = {"lr": [0.5, 1.0, 2.0, 4.0, 8.0], "dtype": ["float32", "float64"], "steps": [400]}
SEEDS = range(4)


def train(lr, dtype, steps, seed):
    """Full-batch GD on L2-regularised logistic regression of a random linear teacher."""
    dt = np.dtype(dtype)
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((200, 10))
    y = (X @ rng.standard_normal(10) + 0.5 * rng.standard_normal(200) > 0).astype(float)
    X, y = X.astype(dt), y.astype(dt)            # the whole run is in `dtype`

    def loss(w):
        z = X @ w
        # mean log(1 + exp(z)) - y z  (softplus is the stable log(1 + exp))
        return nnp.mean(nnp.softplus(z) - y * z) + dt.type(1e-3) * nnp.sum(w * w)

    value_and_grad = nnopt.value_and_grad(loss)
    w = np.zeros(10, dtype=dt)
    history = []
    for _ in range(steps):
        f, g = value_and_grad(w)
        if not np.isfinite(f):
            return {"loss": np.asarray(history, dtype=dt), "final_loss": np.nan, "diverged": True}
        history.append(f)
        w = w - dt.type(lr) * g
    curve = np.asarray(history, dtype=dt)
    return {"loss": curve, "final_loss": curve[-1], "grad_norm": float(np.linalg.norm(g)),
            "diverged": False}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="results/sweep-logistic")
    p.add_argument("--workers", type=int, default=None)
    args = p.parse_args()
    out = Path(args.out)

    records = sweep(train, GRID, seeds=SEEDS, store=out / "records", workers=args.workers)
    failed = [r for r in records if r["status"] == "failed"]
    print(f"{len(records)} runs, {len(failed)} failed")

    records = load(out / "records")                  # everything in the store
    rows = aggregate(records)
    print(write_markdown(rows, out / "report" / "final_loss.md",
                         columns=["lr", "dtype", "n_ok", "final_loss.mean", "final_loss.std",
                                  "grad_norm.median"]).read_text())
    fig = plot_dtype_panels(records, "loss", by=["lr"], logy=True, ylabel="training loss")
    print("wrote", save_figure(fig, out / "report" / "loss_curves.png"))
    fig = plot_final(records, "lr", "final_loss", hue="dtype", logy=True)
    print("wrote", save_figure(fig, out / "report" / "final_vs_lr.png"))


if __name__ == "__main__":   # required: worker processes import this file
    main()
