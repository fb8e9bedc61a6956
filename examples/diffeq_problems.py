"""The study set of nnopt.diffeq: Lagaris' ODE and PDE problems, a stiff decay,
a fourth-order problem and a heat equation, each solved with the defaults
over several seeds (median and worst max-abs error, time), with a figure per
problem and a trial-versus-penalty comparison.

    python examples/diffeq_problems.py [--out DIR] [--seeds 5] [--quick] [--only NAME ...]
"""
from __future__ import annotations

import argparse
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from nnopt import diffeq  # noqa: E402
from nnopt.diffeq import catalogue, plots, studies  # noqa: E402

PROBLEMS = {
    "lagaris1": lambda: catalogue.lagaris_ode(1),
    "lagaris2": lambda: catalogue.lagaris_ode(2),
    "lagaris3_ivp": lambda: catalogue.lagaris_ode(3, "ivp"),
    "lagaris3_bvp": lambda: catalogue.lagaris_ode(3, "bvp"),
    "lagaris4_system": catalogue.lagaris_system,
    "stiff": catalogue.stiff_decay,
    "beam": catalogue.beam,
    "poisson": catalogue.poisson,
    "mixed": catalogue.lagaris_mixed,
    "heat": catalogue.heat,
}


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="docs/img")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="2 seeds, 100 iterations")
    ap.add_argument("--only", nargs="*", default=None, help=f"subset of {sorted(PROBLEMS)}")
    args = ap.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    seeds = range(2 if args.quick else args.seeds)
    extra = {"maxiter": 100} if args.quick else {}
    names = args.only or list(PROBLEMS)
    lines = ["| problem | form | median max error | worst max error | median time (s) |", "|---|---|---|---|---|"]
    for name in names:
        prob = PROBLEMS[name]()
        configs = {"trial": dict(extra), "penalty": dict(extra, form="penalty", penalty_weight=10.0)}
        rows = studies.reliability(prob, configs, seeds=seeds, callback=lambda cfg, seed, s: (
            print(f"  {name:16s} {cfg:8s} seed {seed}: {s.errors['max_abs']:.2e}  {s.time:.1f}s", flush=True)))
        for r in rows:
            lines.append(f"| {prob.name} | {r['config']} | {r['median']:.1e} | {r['worst']:.1e} | {r['time']:.1f} |")
        sol = diffeq.solve(prob, seed=0, **extra)
        fig = plots.plot_solution(sol)
        fig.savefig(os.path.join(args.out, f"diffeq_{name}.png"), dpi=100)
        plt.close(fig)
    print()
    print("\n".join(lines))


if __name__ == "__main__":
    main()
