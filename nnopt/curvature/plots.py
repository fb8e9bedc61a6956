"""Figures for the curvature experiments (matplotlib, imported on use).

Thin layers over the data returned by :func:`~nnopt.curvature.edge_of_stability`,
:func:`~nnopt.curvature.batch_sharpness` and
:func:`~nnopt.curvature.gradient_flow_vs_gd`; each returns the figure.
"""
from __future__ import annotations

import numpy as np

__all__ = ["plot_edge_of_stability", "plot_batch_sharpness", "plot_flow_vs_gd"]


def _plt():
    import matplotlib.pyplot as plt

    return plt


def plot_edge_of_stability(result, fig=None):
    """Sharpness with ``2/eta`` (dashed), loss, gradient norm and the drift of the
    weight distribution (when recorded) against steps, one colour per ``eta``."""
    from .eos import EdgeOfStabilityResult, weight_drift

    if not isinstance(result, EdgeOfStabilityResult):
        raise TypeError(f"plot_edge_of_stability: result must be an EdgeOfStabilityResult, got {type(result).__name__}")
    plt = _plt()
    if fig is None:
        fig = plt.figure(figsize=(17, 3.8))
    with_drift = all("weight_hist" in r.history and len(r.history["weight_hist"]) > 1 for r in result.runs)
    axs = fig.subplots(1, 4 if with_drift else 3)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, run in enumerate(result.runs):
        c = colors[i % len(colors)]
        h = run.history
        label = f"eta = {run.lr:.3g}"
        axs[0].plot(h["step"], h["sharpness"], color=c, label=label)
        axs[0].axhline(2.0 / run.lr, color=c, ls="--", lw=1)
        axs[1].plot(np.arange(run.loss.size), run.loss, color=c, lw=0.8, label=label)
        axs[2].plot(h["step"], h["grad_norm"], color=c, lw=0.8, label=label)
        if with_drift:
            axs[3].plot(h["step"][1:], weight_drift(h), color=c, lw=0.8, label=label)
    axs[0].set(xlabel="step", ylabel="sharpness  lambda_max(H)", title="sharpness and 2/eta (dashed)")
    axs[1].set(xlabel="step", ylabel="training loss", yscale="log", title="loss (non-monotone)")
    axs[2].set(xlabel="step", ylabel="||grad L||", yscale="log", title="gradient norm")
    if with_drift:
        axs[3].set(xlabel="step", ylabel="W1(weights_t, weights_t-1)", yscale="log",
                   title="drift of the weight distribution")
    axs[0].legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_batch_sharpness(result, fig=None):
    """Top minibatch-Hessian eigenvalue (mean +- std) against batch size, with the full-batch value."""
    plt = _plt()
    if fig is None:
        fig = plt.figure(figsize=(9, 3.5))
    ax1, ax2 = fig.subplots(1, 2)
    ax1.errorbar(result.batch_sizes, result.mean, yerr=result.std, marker="o", capsize=3, label="minibatch")
    ax1.axhline(result.full, color="k", ls="--", label="full batch")
    ax1.set(xscale="log", xlabel="batch size", ylabel="lambda_max", title="top Hessian eigenvalue")
    ax1.legend()
    ax2.plot(result.batch_sizes, result.max_lr, marker="o", label="2 / lambda_max(batch)")
    ax2.axhline(result.max_lr_full, color="k", ls="--", label="2 / lambda_max(full)")
    ax2.set(xscale="log", xlabel="batch size", ylabel="max stable step size", title="implied max learning rate")
    ax2.legend()
    fig.tight_layout()
    return fig


def plot_flow_vs_gd(result, fig=None):
    """Distance between GD and the gradient flow against time per ``eta``, and the
    extremal Hessian eigenvalues along the flow."""
    plt = _plt()
    if fig is None:
        fig = plt.figure(figsize=(9, 3.5))
    ax1, ax2 = fig.subplots(1, 2)
    for eta, d in zip(result.lrs, result.distances):
        t = np.arange(d.size) * eta
        ax1.plot(t[1:], d[1:], label=f"eta = {eta:.3g}")  # d[0] = 0 at t = 0
    ax1.set(yscale="log", xlabel="time t = k eta", ylabel="||theta_k - theta(t)||", title="GD vs gradient flow")
    ax1.legend(fontsize=8)
    ax2.plot(result.times, result.lambda_max, marker=".", label="lambda_max")
    ax2.plot(result.times, result.lambda_min, marker=".", label="lambda_min")
    ax2.set(xlabel="time t", ylabel="Hessian eigenvalue", title="curvature along the flow")
    ax2.legend()
    fig.tight_layout()
    return fig
