"""Figures of neural-form solutions (matplotlib; thin layer over the data)."""
from __future__ import annotations

import numpy as np

__all__ = ["plot_solution", "plot_history"]


def plot_solution(sol, title=None, fig=None):
    """Solution against the exact one and the pointwise error.

    1-D problems: two panels (u and exact; |error| on a log scale), one line
    per component.  2-D problems: three panels (u, exact, |error|) on the
    evaluation grid.  Returns the matplotlib figure.
    """
    import matplotlib.pyplot as plt

    prob = sol.problem
    title = title or prob.name
    if prob.d == 1:
        t = np.linspace(prob.domain[0], prob.domain[1], 1001)
        u = np.asarray(sol(t), dtype=np.float64).reshape(len(t), -1)
        fig = fig or plt.figure(figsize=(9, 3.4))
        ax1, ax2 = fig.subplots(1, 2)
        for c in range(u.shape[1]):
            ax1.plot(t, u[:, c], label=f"neural form{'' if u.shape[1] == 1 else f' u{c + 1}'}")
        if prob.exact is not None:
            ue = np.asarray(prob.exact(t), dtype=np.float64).reshape(len(t), -1)
            for c in range(ue.shape[1]):
                ax1.plot(t, ue[:, c], "k--", lw=1, label="exact" if c == 0 else None)
                floor = np.finfo(np.float64).eps * max(1.0, float(np.max(np.abs(ue[:, c]))))
                ax2.semilogy(t, np.maximum(np.abs(u[:, c] - ue[:, c]), floor),
                             label=None if ue.shape[1] == 1 else f"u{c + 1}")
            ax2.set_title("|u - exact|")
        else:
            ax2.semilogy(t, np.maximum(np.abs(sol.residual(t)).reshape(len(t), -1), 1e-16))
            ax2.set_title("|residual|")
        ax1.set_title(title)
        ax1.set_xlabel("t")
        ax2.set_xlabel("t")
        ax1.legend(fontsize=8)
        if u.shape[1] > 1:
            ax2.legend(fontsize=8)
        fig.tight_layout()
        return fig
    if prob.d != 2:
        raise ValueError("plot_solution: only 1-D and 2-D problems are drawn")
    n = 101
    (a0, b0), (a1, b1) = prob.domain
    x, y = np.linspace(a0, b0, n), np.linspace(a1, b1, n)
    X, Y = np.meshgrid(x, y, indexing="ij")
    P = np.column_stack([X.ravel(), Y.ravel()])
    u = np.asarray(sol(P), dtype=np.float64).reshape(n, n)
    fig = fig or plt.figure(figsize=(12, 3.6))
    axes = fig.subplots(1, 3 if prob.exact is not None else 2)
    ext = (a0, b0, a1, b1)
    im = axes[0].imshow(u.T, origin="lower", extent=ext, aspect="auto")
    fig.colorbar(im, ax=axes[0])
    axes[0].set_title("neural form")
    fig.suptitle(title)
    if prob.exact is not None:
        ue = np.asarray(prob.exact(P), dtype=np.float64).reshape(n, n)
        im = axes[1].imshow(ue.T, origin="lower", extent=ext, aspect="auto")
        fig.colorbar(im, ax=axes[1])
        axes[1].set_title("exact")
        floor = np.finfo(np.float64).eps * max(1.0, float(np.max(np.abs(ue))))
        err = np.log10(np.maximum(np.abs(u - ue), floor))  # exact zeros on the faces: at the rounding level
        im = axes[2].imshow(err.T, origin="lower", extent=ext, aspect="auto")
        fig.colorbar(im, ax=axes[2])
        axes[2].set_title("log10 |u - exact|")
    else:
        r = np.log10(np.maximum(np.abs(sol.residual(P)).reshape(n, n), 1e-16))
        im = axes[1].imshow(r.T, origin="lower", extent=ext, aspect="auto")
        fig.colorbar(im, ax=axes[1])
        axes[1].set_title("log10 |residual|")
    for ax in axes:
        ax.set_xlabel("x" if prob.time_axis is None else "x")
        ax.set_ylabel("y" if prob.time_axis is None else "t")
    fig.tight_layout()
    return fig


def plot_history(solutions, labels=None, ax=None, x="iteration"):
    """Loss histories of several solutions (``x``: ``"iteration"`` or ``"time"``)."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.4))
    for i, sol in enumerate(solutions):
        h = sol.history
        xs = h["time"] if x == "time" else np.arange(len(h["loss"]))
        ax.semilogy(xs, h["loss"], label=None if labels is None else labels[i])
    ax.set_xlabel("seconds" if x == "time" else "iteration")
    ax.set_ylabel("loss (mean squared residual)")
    if labels is not None:
        ax.legend(fontsize=8)
    return ax
