"""Verified Taylor remainder bounds of exp, log and sigmoid, drawn with the
majorizers and minorizers they give.

For f, an expansion point x0 and a trust region [a, b], nnopt.bounds.taylor_bounds
returns the Taylor coefficients c_i and an interval [R_lo, R_hi] with

    f(x) - sum_{i<=k} c_i (x - x0)^i  in  [R_lo, R_hi] (x - x0)^(k+1)   for x in [a, b],

so  sum c_i z^i + R_hi z^(k+1)  (for z^(k+1) >= 0) is an upper bound of f on the
trust region (a majorizer) and the R_lo version a lower bound.  Run:

    python examples/bounds_remainder_plots.py [outdir]
"""
from __future__ import annotations

import pathlib
import sys

import numpy as np

import nnopt.numpy as nnp
from nnopt.bounds import taylor_bounds

CASES = [
    ("exp", nnp.exp, np.exp, 0.5, (-1.0, 2.0)),
    ("log", nnp.log, np.log, 1.5, (0.5, 3.0)),
    ("sigmoid", nnp.sigmoid, lambda x: 1 / (1 + np.exp(-x)), 0.5, (-3.0, 4.0)),
]


def bounds_table(degrees=(1, 2)):
    """[(name, degree, R_lo, R_hi)] for the cases above."""
    rows = []
    for name, f, _, x0, region in CASES:
        for k in degrees:
            tb = taylor_bounds(f, x0, region, k)
            rows.append((name, k, tb.remainder[0], tb.remainder[1]))
    return rows


def main(outdir="out/bounds", show=False, degrees=(1, 2)):
    import matplotlib

    if not show:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = pathlib.Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(len(degrees), len(CASES), figsize=(4 * len(CASES), 3.2 * len(degrees)),
                             squeeze=False)
    for j, (name, f, f_np, x0, (a, b)) in enumerate(CASES):
        x = np.linspace(a, b, 400)
        for i, k in enumerate(degrees):
            tb = taylor_bounds(f, x0, (a, b), k)
            ax = axes[i, j]
            ax.plot(x, f_np(x), "k", lw=2, label=name)
            ax.plot(x, tb.upper(x), "C3--", label="majorizer")
            ax.plot(x, tb.lower(x), "C0--", label="minorizer")
            ax.axvline(x0, color="0.7", lw=0.8)
            ax.set_title(f"{name}, degree {k}: R in [{tb.remainder[0]:.4g}, {tb.remainder[1]:.4g}]", fontsize=9)
            if i == 0 and j == 0:
                ax.legend(fontsize=8)
            assert np.all(tb.lower(x) <= f_np(x) + 1e-9) and np.all(f_np(x) <= tb.upper(x) + 1e-9)
    fig.tight_layout()
    path = out / "bounds_remainders.png"
    fig.savefig(path, dpi=120)
    if show:
        plt.show()
    plt.close(fig)
    return path


if __name__ == "__main__":
    for row in bounds_table():
        print("%-8s degree %d  R in [%.12g, %.12g]" % row)
    print("wrote", main(sys.argv[1] if len(sys.argv) > 1 else "out/bounds"))
