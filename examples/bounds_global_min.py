"""A verified global minimum of a multimodal 2-D function.

nnopt.bounds.global_minimize runs branch and bound on Taylor enclosures and
returns an interval that contains the global minimum value, and boxes whose
union contains every global minimiser.  Run:

    python examples/bounds_global_min.py [outdir]
"""
from __future__ import annotations

import pathlib
import sys
import time

import numpy as np

import nnopt.numpy as nnp
from nnopt.bounds import global_minimize


def camel(x):
    """Six-hump camel: six local minima, two global ones (f* = -1.0316284534898774)."""
    a, b = x[0], x[1]
    return (4 - 2.1 * a ** 2 + a ** 4 / 3) * a ** 2 + a * b + (-4 + 4 * b ** 2) * b ** 2


def wavy(x):
    """A smooth multimodal landscape with many local minima."""
    return nnp.sin(3 * x[0]) * nnp.cos(2 * x[1]) + 0.1 * (x[0] ** 2 + x[1] ** 2) + 0.3 * nnp.tanh(x[0] - x[1])


def run(f, box, tol):
    t = time.perf_counter()
    res = global_minimize(f, box, tol)
    return res, time.perf_counter() - t


def main(outdir="out/bounds", show=False, tol=1e-6):
    import matplotlib

    if not show:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = pathlib.Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    results = {}
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, (name, f, box) in zip(axes, [("six-hump camel", camel, [(-3, 3), (-2, 2)]),
                                         ("wavy", wavy, [(-3, 3), (-3, 3)])]):
        res, secs = run(f, box, tol)
        results[name] = (res, secs)
        u = np.linspace(*box[0], 200)
        v = np.linspace(*box[1], 200)
        U, V = np.meshgrid(u, v)
        Z = np.vectorize(lambda a, b: float(f(np.array([a, b]))))(U, V)
        ax.contourf(U, V, np.minimum(Z, np.percentile(Z, 60)), 40, cmap="viridis")  # show the valleys
        for (l0, h0), (l1, h1) in res.boxes:
            ax.add_patch(plt.Rectangle((l0, l1), h0 - l0, h1 - l1, fill=False, ec="r", lw=1.5))
        ax.plot(*np.atleast_1d(res.x), "r+", ms=12)
        ax.set_title(f"{name}: min in [{res.value[0]:.9f}, {res.value[1]:.9f}]", fontsize=9)
    fig.tight_layout()
    path = out / "bounds_global_min.png"
    fig.savefig(path, dpi=120)
    if show:
        plt.show()
    plt.close(fig)
    return results, path


if __name__ == "__main__":
    results, path = main(sys.argv[1] if len(sys.argv) > 1 else "out/bounds")
    for name, (res, secs) in results.items():
        print(f"{name:15s} min in [{res.value[0]:.12f}, {res.value[1]:.12f}]  {len(res.boxes)} boxes  "
              f"{res.nit} iterations  {res.nfev} boxes enclosed  {secs:.2f} s")
    print("wrote", path)
