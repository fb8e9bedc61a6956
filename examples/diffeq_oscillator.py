"""The damped oscillator u'' + 0.4 u' + 4 u = 0, u(0) = 1, u'(0) = 0 with neural forms.

Solves it on [0, 2 pi] with the defaults (Lagaris trial solution,
Levenberg-Marquardt, float64), draws the solution and its error, a
long-horizon variant (6 periods), and a reliability table over seeds
comparing forms, collocation schemes and optimisers.

    python examples/diffeq_oscillator.py [--out DIR] [--seeds 5] [--quick]
"""
from __future__ import annotations

import argparse
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from nnopt import diffeq  # noqa: E402
from nnopt.diffeq import catalogue, plots, studies  # noqa: E402
from nnopt.nn import MLP  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="docs/img")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="2 seeds, short runs")
    args = ap.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    seeds = range(2 if args.quick else args.seeds)

    prob = catalogue.damped_oscillator()
    sol = diffeq.solve(prob)
    print(sol)
    print("errors:", {k: f"{v:.2e}" for k, v in sol.errors.items()})
    fig = plots.plot_solution(sol, title="damped oscillator, trial form + LM")
    fig.savefig(os.path.join(args.out, "diffeq_oscillator.png"), dpi=110)
    plt.close(fig)

    # long horizon: 6 periods need more capacity and more points
    long = catalogue.damped_oscillator(periods=6)
    sol_long = diffeq.solve(long, net=MLP([1, 60, 1]), points=300, maxiter=300 if args.quick else 2000)
    print(sol_long)
    fig = plots.plot_solution(sol_long, title="6 periods, [1, 60, 1], 300 points")
    fig.savefig(os.path.join(args.out, "diffeq_oscillator_long.png"), dpi=110)
    plt.close(fig)

    n_adam = 2000 if args.quick else 20000
    configs = {
        "trial, Chebyshev, LM (default)": {},
        "trial, equidistant, LM": {"collocation": "equidistant"},
        "trial, Sobol, LM": {"collocation": "sobol"},
        "penalty (w=10), Chebyshev, LM": {"form": "penalty", "penalty_weight": 10.0},
        "trial, Chebyshev, L-BFGS": {"method": "lbfgs", "maxiter": 1000 if args.quick else 5000},
        f"trial, Chebyshev, Adam 1e-3 x {n_adam}": {"method": "adam", "maxiter": n_adam},
        "Lagaris net [1, 10, 1] sigmoid, LM": {"net": MLP([1, 10, 1], activation="sigmoid")},
    }
    if args.quick:
        for kw in configs.values():
            kw.setdefault("maxiter", 300)
    rows = studies.reliability(prob, configs, seeds=seeds, threshold=1e-6,
                               callback=lambda name, seed, s: print(f"  {name:40s} seed {seed}: "
                                                                    f"{s.errors['max_abs']:.2e} {s.time:.1f}s"))
    print()
    print(studies.format_table(rows, threshold=1e-6))


if __name__ == "__main__":
    main()
