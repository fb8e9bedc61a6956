r"""Built-in experiment "precision-study": is single precision enough?

Teacher-student regression with an exact zero minimum: inputs ``X`` drawn
from U(-1, 1)^d, targets ``Y = teacher(X)`` from a random tanh MLP with the
student's architecture, so ``min L = 0`` is attained.  The teacher's weights
are its Glorot initialisation multiplied by a *scale*: ``"moderate"``
nonlinearity (scale 1, units mostly in tanh's near-linear range) or
``"strong"`` (scale 4, saturated units).  Biases are drawn N(0, (scale/2)^2).
Samples x outputs is 4x the parameter count or more.

Students with 1 to 5 hidden layers are trained from the same start in
float32 and float64 (the float32 start is the float64 one rounded) by

* ``cg``: nonlinear conjugate gradients, Polak-Ribiere+ with the strong
  Wolfe (More-Thuente) line search, Powell restarts;
* ``cg-hz``: CG_DESCENT (Hager-Zhang beta and approximate Wolfe search);
* ``lbfgs``: L-BFGS (memory 10) with More-Thuente;
* ``rmsprop`` and ``adam``: full-batch first-order methods with fixed step
  sizes (1e-3; see ``FIRST_ORDER_LR``);

each for a fixed budget of iterations (``gtol = ftol = 0``: a full-batch
solver stops only when its line search can no longer make progress).  The
metric is the final MSE relative to the variance of the targets; curves of
relative MSE against iterations and wall time are kept.

This follows the design of a study asking whether deep learning's
commitment to single precision is justified (MLPs of 1-5 hidden layers,
moderate/strong nonlinearity, CG vs RMSProp, float32 vs float64); the
reproduction and what it shows are in ``docs/precision.md``.
"""
from __future__ import annotations

import time

import numpy as np

from .plots import new_figure, save_figure
from .registry import experiment
from .report import aggregate, format_markdown, write_csv, write_markdown
from .sweep import sweep

__all__ = ["teacher_task", "train_student", "precision_study", "precision_report", "SCALES"]

#: Teacher weight scale per nonlinearity level.
SCALES = {"moderate": 1.0, "strong": 4.0}
#: Step sizes of the first-order methods (full batch).
FIRST_ORDER_LR = {"rmsprop": 1e-3, "adam": 1e-3}
FULL_BATCH = {
    "cg": dict(method="cg", beta="pr+", line_search="more-thuente"),
    "cg-hz": dict(method="cg", beta="hz", line_search="hager-zhang"),
    "lbfgs": dict(method="lbfgs"),
}


def teacher_task(depth, nonlinearity, width=10, n_in=4, n_out=2, seed=0, oversampling=4):
    """Data ``(X, Y)`` in float64 and the student network of a teacher-student task.

    Parameters
    ----------
    depth : int
        Number of hidden layers (1 to 5 in the study).
    nonlinearity : {"moderate", "strong"}
        Teacher weight scale 1 or 4.
    width, n_in, n_out : int
        Hidden width, inputs, outputs.
    seed : int
        Seeds the teacher and the inputs (the student's start uses its own seed).
    oversampling : float
        Samples x outputs >= ``oversampling`` x parameters.

    Returns
    -------
    net : MLP
    X, Y : ndarray (float64)
    """
    from nnopt.nn import MLP

    if nonlinearity not in SCALES:
        raise ValueError(f"nonlinearity: expected one of {sorted(SCALES)}, got {nonlinearity!r}")
    if not isinstance(depth, (int, np.integer)) or depth < 1:
        raise ValueError(f"depth: expected a positive integer, got {depth!r}")
    sizes = [n_in] + [width] * depth + [n_out]
    net = MLP(sizes, activation="tanh")
    scale = SCALES[nonlinearity]
    rng = np.random.default_rng([seed, 7919])
    theta_t = net.init(seed=int(rng.integers(2**31)), dtype=np.float64) * scale
    for spec in net.layout:
        if spec.param == "b":
            theta_t[spec.slice] = rng.normal(0.0, scale / 2, size=spec.shape)
    n = int(np.ceil(oversampling * net.n_params / n_out))
    X = rng.uniform(-1.0, 1.0, size=(n, n_in))
    Y = net(theta_t, X)
    return net, X, Y


def train_student(optimizer, dtype, depth, nonlinearity, iters, width=10, seed=0):
    """One run: train a student from ``net.init(seed)`` in ``dtype``.

    Returns a dict with ``rel_mse`` (per-iteration MSE / var(Y), in
    ``dtype``), ``time`` (seconds, float64), ``final_rel_mse``, ``status``
    (the solver's message or "finished"), ``nit``, ``nfev`` and
    ``n_params``.
    """
    import nnopt
    from nnopt import optim
    from nnopt.minimize import minimize

    dt = np.dtype(dtype)
    net, X, Y = teacher_task(depth, nonlinearity, width=width, seed=seed)
    obj = nnopt.Objective(net, "mse", X, Y).astype(dt)
    variance = float(np.var(Y))
    theta0 = net.init(seed=seed + 1, dtype=dt)
    t0 = time.perf_counter()
    if optimizer in FULL_BATCH:
        res = minimize(obj, theta0, maxiter=iters, gtol=0.0, ftol=0.0, **FULL_BATCH[optimizer])
        losses, times = res.history.fun, res.history.time
        status, nit, nfev = str(res.message), int(res.nit), int(res.nfev)
    elif optimizer in FIRST_ORDER_LR:
        make = {"rmsprop": optim.rmsprop, "adam": optim.adam}[optimizer]
        res = optim.train(obj, make(FIRST_ORDER_LR[optimizer]), theta0, steps=iters, progress=False)
        losses = np.asarray(res.history.loss)
        times = np.asarray(res.history.time, dtype=np.float64)
        status, nit, nfev = str(res.message), int(res.nit), int(res.nfev)
    else:
        raise ValueError(
            f"optimizer: expected one of {sorted(FULL_BATCH) + sorted(FIRST_ORDER_LR)}, got {optimizer!r}"
        )
    elapsed = time.perf_counter() - t0
    rel = (np.asarray(losses) / dt.type(variance)).astype(dt)
    return {
        "rel_mse": rel,
        "time": np.asarray(times, dtype=np.float64),
        "final_rel_mse": rel[-1],
        "best_rel_mse": rel.min(),
        "status": status,
        "nit": nit,
        "nfev": nfev,
        "seconds": elapsed,
        "n_params": net.n_params,
    }


QUICK = dict(
    grid={"optimizer": ["cg", "lbfgs", "rmsprop", "adam"], "dtype": ["float32", "float64"],
          "depth": [1, 3], "nonlinearity": ["moderate", "strong"], "iters": [300]},
    seeds=range(1),
)
FULL = dict(
    grid={"optimizer": ["cg", "cg-hz", "lbfgs", "rmsprop", "adam"], "dtype": ["float32", "float64"],
          "depth": [1, 2, 3, 4, 5], "nonlinearity": ["moderate", "strong"], "iters": [2000]},
    seeds=range(3),
)


def _float(v):
    return float(np.asarray(v, dtype=np.float64))


def summary_rows(records):
    """One row per (nonlinearity, depth, optimizer): median final relative MSE per dtype."""
    rows = {}
    for rec in records:
        if rec["status"] != "ok":
            continue
        c = rec["config"]
        key = (c["nonlinearity"], c["depth"], c["optimizer"])
        rows.setdefault(key, {"float32": [], "float64": []})[c["dtype"]].append(
            _float(rec["result"]["final_rel_mse"]))
    out = []
    order = {"cg": 0, "cg-hz": 1, "lbfgs": 2, "rmsprop": 3, "adam": 4}
    for (nl, depth, opt) in sorted(rows, key=lambda k: (k[0], k[1], order.get(k[2], 9))):
        v = rows[(nl, depth, opt)]
        m32 = float(np.median(v["float32"])) if v["float32"] else float("nan")
        m64 = float(np.median(v["float64"])) if v["float64"] else float("nan")
        out.append({"nonlinearity": nl, "depth": depth, "optimizer": opt,
                    "rel_mse_float32": m32, "rel_mse_float64": m64,
                    "fp32/fp64": m32 / m64 if m64 > 0 else float("nan")})
    return out


def precision_report(records, out):
    """The study's table (markdown + CSV) and figures."""
    from pathlib import Path

    out = Path(out)
    rows = summary_rows(records)
    title = ("precision-study: final MSE / var(Y), median over seeds "
             "(teacher-student MLPs, zero minimum)")
    files = [write_markdown(rows, out / "precision_table.md", title=title, precision=3),
             write_csv(rows, out / "precision_table.csv"),
             write_csv(aggregate(records), out / "runs_aggregated.csv")]
    ok = [r for r in records if r["status"] == "ok"]
    if not ok:
        return files
    depths = sorted({r["config"]["depth"] for r in ok})
    levels = [lv for lv in ("moderate", "strong") if any(r["config"]["nonlinearity"] == lv for r in ok)]
    for xaxis in ("iteration", "time"):
        fig, axes = new_figure(len(levels), len(depths), figsize=(3.2 * len(depths), 2.8 * len(levels)))
        axes = np.atleast_2d(axes)
        for i, lv in enumerate(levels):
            for j, depth in enumerate(depths):
                ax = axes[i, j]
                sel = [r for r in ok if r["config"]["nonlinearity"] == lv and r["config"]["depth"] == depth]
                for r in sel:
                    c = r["config"]
                    y = r["result"]["rel_mse"].astype(np.float64)
                    x = np.arange(y.size) if xaxis == "iteration" else r["result"]["time"]
                    ax.semilogy(x, y, ls="-" if c["dtype"] == "float64" else "--", lw=1,
                                color=_COLORS.get(c["optimizer"], "k"),
                                label=f"{c['optimizer']} {c['dtype']}" if r["seed"] == 0 else None)
                ax.set_title(f"{lv}, {depth} hidden", fontsize="small")
                ax.set_xlabel("iteration" if xaxis == "iteration" else "seconds")
                if j == 0:
                    ax.set_ylabel("MSE / var(Y)")
                if i == 0 and j == len(depths) - 1:
                    ax.legend(fontsize="x-small", loc="upper left", bbox_to_anchor=(1.02, 1.0))
        fig.suptitle(f"relative MSE vs {xaxis} (solid float64, dashed float32)")
        files.append(save_figure(fig, out / f"precision_vs_{xaxis}.png"))
    fig, axes = new_figure(1, len(levels), figsize=(5 * len(levels), 3.6))
    axes = np.atleast_1d(axes)
    for ax, lv in zip(axes, levels):
        for opt in sorted({r["optimizer"] for r in rows}):
            for dt, ls in (("float64", "-"), ("float32", "--")):
                pts = [(r["depth"], r[f"rel_mse_{dt}"]) for r in rows if r["optimizer"] == opt and r["nonlinearity"] == lv]
                if pts:
                    x, y = zip(*pts)
                    ax.semilogy(x, y, ls, marker="o", ms=3, color=_COLORS.get(opt, "k"), label=f"{opt} {dt}")
        ax.set_title(f"{lv} nonlinearity")
        ax.set_xlabel("hidden layers")
        ax.set_ylabel("final MSE / var(Y)")
        ax.set_xticks(depths)
    axes[0].legend(fontsize="x-small", ncol=2)
    files.append(save_figure(fig, out / "precision_final_vs_depth.png"))
    return files


_COLORS = {"cg": "C0", "cg-hz": "C4", "lbfgs": "C2", "rmsprop": "C3", "adam": "C1"}


@experiment("precision-study",
            "float32 vs float64: CG, L-BFGS, RMSProp, Adam on teacher-student MLPs with 1-5 hidden "
            "layers (moderate/strong nonlinearity)", report=precision_report)
def precision_study(*, quick, **sweep_kw):
    """Run the study (``quick``: 1 and 3 hidden layers, 4 optimizers, 300 iterations, one seed)."""
    spec = QUICK if quick else FULL
    return sweep(train_student, spec["grid"], seeds=spec["seeds"], **sweep_kw)


def print_table(records):
    """The summary table as markdown text (what ``nnopt run precision-study`` prints)."""
    return format_markdown(summary_rows(records), precision=3)
