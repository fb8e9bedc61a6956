"""Nonlinear CG on Rosenbrock-100 in float32 and float64.

Runs every beta rule with the default More-Thuente line search and CG_DESCENT
(beta="hz" with the Hager-Zhang line search), to the precision floor of each
dtype (gtol=0), and prints where each run stopped.  With --plot FILE, saves
the loss curves (f against function evaluations).

    python examples/rosenbrock_cg.py [--n 100] [--plot curves.png]
"""
import argparse

import numpy as np

import nnopt.numpy as nnp
from nnopt.minimize import BETAS, minimize


def rosenbrock(x):
    return nnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100, help="dimension")
    parser.add_argument("--plot", default=None, help="save loss curves to this file")
    args = parser.parse_args()

    runs = [(f"cg {b}", {"beta": b}) for b in BETAS]
    runs.append(("CG_DESCENT", {"beta": "hz", "line_search": "hager-zhang"}))
    curves = {}
    print(f"{'dtype':8s} {'method':12s} {'nit':>6s} {'nfev':>6s} {'f':>10s} {'|g|_inf':>9s} "
          f"{'|x-1|_inf':>9s}  stopped because")
    for dtype in (np.float32, np.float64):
        x0 = np.ones(args.n, dtype=dtype)
        x0[::2] = -1.2
        for name, opts in runs:
            res = minimize(rosenbrock, x0, method="cg", gtol=0, maxiter=20000, **opts)
            curves[(dtype.__name__, name)] = res.history
            print(f"{dtype.__name__:8s} {name:12s} {res.nit:6d} {res.nfev:6d} {res.fun:10.2e} "
                  f"{np.max(np.abs(res.jac)):9.2e} {np.max(np.abs(res.x - 1)):9.2e}  {res.message[:60]}")

    if args.plot:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
        for ax, dt in zip(axes, ("float32", "float64")):
            for (d, name), h in curves.items():
                if d == dt:
                    ax.semilogy(h.nfev, np.maximum(h.fun.astype(np.float64), 1e-30), label=name)
            ax.set_title(f"Rosenbrock-{args.n}, {dt}")
            ax.set_xlabel("function evaluations")
        axes[0].set_ylabel("f")
        axes[1].legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(args.plot, dpi=120)
        print(f"saved {args.plot}")


if __name__ == "__main__":
    main()
