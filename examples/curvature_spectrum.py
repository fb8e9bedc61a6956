"""The Hessian spectrum of a small MLP: exact, Lanczos, SLQ density, traces, per-layer blocks.

Run:  python examples/curvature_spectrum.py [--out docs/img/curvature_spectrum.png]

Builds the exact dense Hessian, GGN and empirical Fisher of a tanh MLP on a
small classification task, checks Lanczos and the trace estimators against
them, and plots the SLQ spectral density (linear and log scale) over the
exact eigenvalues, with the per-layer block spectra.
"""
from __future__ import annotations

import argparse

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import nnopt  # noqa: E402
from nnopt.curvature import (  # noqa: E402
    block_diagonal, ggn_operator, hessian_operator, hutch_plus_plus, hutchinson, lanczos,
    plot_spectral_density, slq,
)
from nnopt.nn import MLP  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="curvature_spectrum.png")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    X = rng.normal(size=(128, 5))
    labels = (X[:, 0] * X[:, 1] > 0).astype(np.int64) + (X[:, 2] > 0.5)
    net = MLP([5, 16, 16, 3], activation="tanh")
    obj = nnopt.Objective(net, "cross_entropy", X, labels)
    theta = net.init(seed=args.seed)
    for _ in range(300):  # a little training so the spectrum has outliers
        theta = theta - 0.5 * obj.jac(theta)
    n = net.n_params
    H = hessian_operator(obj, theta)
    Hd = H.dense()
    ev = np.linalg.eigvalsh(Hd)
    top = lanczos(H, k=5, tol=1e-12)
    bottom = lanczos(H, k=3, which="smallest", maxiter=n, tol=1e-12)
    print(f"MLP {list(net.sizes)}: {n} parameters, loss {float(obj.fun(theta)):.4f}")
    print(f"top-5 Lanczos  {np.array2string(top, precision=6)}")
    print(f"top-5 eigvalsh {np.array2string(ev[::-1][:5], precision=6)}")
    print(f"max relative error top-5: {np.max(np.abs(top - ev[::-1][:5])) / abs(ev[-1]):.1e}, "
          f"bottom-3: {np.max(np.abs(bottom - ev[:3])) / abs(ev[-1]):.1e}")
    tr = float(np.trace(Hd))
    h = hutchinson(H, n_samples=100, seed=1)
    hpp = hutch_plus_plus(H, n_matvecs=99, seed=1)
    print(f"trace: exact {tr:.4f}, Hutchinson(100) {float(h.value):.4f} +- {float(h.stderr):.4f}, "
          f"Hutch++(99) {float(hpp.value):.4f} +- {float(hpp.stderr):.4f}")
    G = ggn_operator(obj, theta).dense()
    print(f"GGN: min eigenvalue {np.linalg.eigvalsh(G)[0]:.2e} (PSD), top {np.linalg.eigvalsh(G)[-1]:.4f}")
    dens = slq(H, n_probes=10, n_steps=60, seed=2)
    print(f"SLQ: total weight {dens.total_weight():.12f}, moment 2 {dens.moment(2):.5f} "
          f"vs tr(H^2)/n {np.sum(ev ** 2) / n:.5f}")

    fig, axs = plt.subplots(1, 3, figsize=(14, 3.8))
    for ax, log in zip(axs[:2], (False, True)):
        sigma = 0.01 * (ev[-1] - ev[0])
        plot_spectral_density(dens, ax=ax, log=log, sigma=sigma, label="SLQ (10 probes x 60 steps)")
        t = dens.grid(1000, sigma)
        exact = np.exp(-0.5 * ((t[:, None] - ev[None, :]) / sigma) ** 2).sum(axis=1) / (n * sigma * np.sqrt(2 * np.pi))
        ax.plot(t, np.maximum(exact, 1e-12 * exact.max()) if log else exact, "k--", lw=0.8,
                label="exact eigenvalues, same smoothing")
        ax.set_title("Hessian spectral density" + (" (log scale)" if log else ""))
        ax.legend(fontsize=7)
    for b in block_diagonal(obj, theta, "hessian"):
        evb = np.linalg.eigvalsh(b.matrix)
        axs[2].plot(np.arange(1, evb.size + 1), np.sort(np.abs(evb))[::-1], label=f"layer {b.name}")
    axs[2].set(xscale="log", yscale="log", xlabel="rank", ylabel="|eigenvalue|", title="per-layer Hessian blocks")
    axs[2].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(args.out, dpi=110)
    print(f"figure written to {args.out}")


if __name__ == "__main__":
    main()
