"""The "edge-of-stability" experiment for ``nnopt run`` (registry of :mod:`nnopt.experiments`).

One run per (step size, seed): full-batch GD on the default tanh-MLP
regression task of :func:`~nnopt.curvature.edge_of_stability`, recording the
sharpness against ``2/eta``, the loss at every step, the gradient norm and the
drift of the weight distribution.  The report writes a table (median
sharpness over the last half of each run divided by ``2/eta``, loss and
non-convergence figures, over seeds) and the figure (sharpness with ``2/eta``
and loss against steps, first seed).

``nnopt run edge-of-stability [--quick]`` once this module is listed in
``nnopt.experiments.registry.BUILTIN_MODULES``; before that,
``nnopt run --import nnopt.curvature.eos_experiment edge-of-stability``.
"""
from __future__ import annotations

import numpy as np

from ..experiments.registry import experiment
from .eos import edge_of_stability, weight_drift

__all__ = ["eos_run", "eos_report", "eos_experiment", "QUICK", "FULL"]


def eos_run(lr, n_steps, every, sizes, n_samples, dtype, seed):
    """One GD run at step size ``lr`` (see :func:`~nnopt.curvature.edge_of_stability`).

    Returns
    -------
    dict
        The scalars of :meth:`EoSRun.summary` plus the curves ``loss`` (every
        step), ``record_step``, ``sharpness``, ``grad_norm`` and ``weight_drift``.
    """
    res = edge_of_stability((lr,), n_steps=n_steps, every=every, sizes=tuple(sizes), n_samples=n_samples,
                            seed=seed, dtype=np.dtype(dtype))
    run = res.runs[0]
    h = run.history
    out = dict(run.summary(0.5))
    out.update(loss=run.loss, record_step=h["step"], sharpness=h["sharpness"], grad_norm=h["grad_norm"],
               weight_drift=weight_drift(h) if h["weight_hist"].shape[0] > 1 else np.zeros(0))
    return out


def eos_report(records, out):
    """Table over seeds and the sharpness / loss figure of the first seed."""
    from pathlib import Path

    from ..experiments.plots import new_figure, save_figure
    from ..experiments.report import aggregate, write_csv, write_markdown

    out = Path(out)
    rows = aggregate(records, by=["lr"])
    cols = ["lr", "n_ok", "n_failed", "two_over_lr.mean", "ratio_to_2_over_lr.median",
            "ratio_to_2_over_lr.min", "ratio_to_2_over_lr.max", "max_sharpness.median",
            "final_loss.median", "loss_increases.median", "grad_norm_tail_median.median",
            "weight_drift_tail_median.median", "status"]
    cols = [c for c in cols if any(c in r for r in rows)]
    files = [write_markdown(rows, out / "edge_of_stability.md", columns=cols,
                            title="edge of stability: median sharpness over the last half / (2/eta)"),
             write_csv(rows, out / "edge_of_stability.csv")]
    ok = [r for r in records if r["status"] == "ok"]
    if not ok:
        return files
    first_seed = min(r["seed"] for r in ok)
    runs = sorted((r for r in ok if r["seed"] == first_seed), key=lambda r: -r["config"]["lr"])
    fig, axs = new_figure(1, 2, figsize=(11, 3.8))
    for i, r in enumerate(runs):
        c = f"C{i % 10}"
        res, lr = r["result"], r["config"]["lr"]
        axs[0].plot(res["record_step"], res["sharpness"], color=c, label=f"eta = {lr:.3g}")
        axs[0].axhline(2.0 / lr, color=c, ls="--", lw=1)
        axs[1].plot(np.arange(len(res["loss"])), res["loss"], color=c, lw=0.8)
    axs[0].set(xlabel="step", ylabel="sharpness", title=f"sharpness and 2/eta (dashed), seed {first_seed}")
    axs[0].legend(fontsize=8)
    axs[1].set(xlabel="step", ylabel="training loss", yscale="log", title="loss")
    files.append(save_figure(fig, out / "edge_of_stability.png"))
    return files


QUICK = dict(grid={"lr": [0.25, 0.2], "n_steps": [600], "every": [20], "sizes": [[4, 16, 16, 16, 1]],
                   "n_samples": [64], "dtype": ["float64"]},
             seeds=range(1))
FULL = dict(grid={"lr": [0.1, 2.0 / 30.0, 0.05], "n_steps": [4000], "every": [20],
                  "sizes": [[4, 32, 32, 32, 1]], "n_samples": [200], "dtype": ["float64"]},
            seeds=range(3))


@experiment("edge-of-stability", "full-batch GD on a tanh MLP: sharpness rises to 2/eta and hovers there "
                                 "(Cohen et al. 2021), with non-convergence diagnostics", report=eos_report)
def eos_experiment(*, quick, **sweep_kw):
    """Run the edge-of-stability sweep; ``quick``: 2 step sizes on a small net, 600 steps."""
    from ..experiments.sweep import sweep

    spec = QUICK if quick else FULL
    return sweep(eos_run, spec["grid"], seeds=spec["seeds"], **sweep_kw)
