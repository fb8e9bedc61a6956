"""Train one student network with nonlinear CG in float32 and in float64 from
the same start (the float32 start is the float64 one rounded), and measure,
at a few iterates of each run, the rounding error of the loss and of the
gradient against 30-digit mpmath references.  Prints a table and writes a
two-panel figure (loss curves; rounding-error curves).

    python examples/precision_trajectory.py [--iters 300] [--points 6] [--accumulate] [--out DIR]

The mpmath references dominate the run time: about 1.5 s per reference point
for this 130-parameter network on 260 samples (2 dtypes x ``--points``).
"""
from __future__ import annotations

import argparse
import os
import time


import nnopt
from nnopt.experiments.precision_study import teacher_task


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--depth", type=int, default=2, help="hidden layers of the student (default 2)")
    ap.add_argument("--width", type=int, default=8, help="hidden width (default 8)")
    ap.add_argument("--nonlinearity", choices=["moderate", "strong"], default="moderate")
    ap.add_argument("--iters", type=int, default=300, help="CG iterations per run (default 300)")
    ap.add_argument("--points", type=int, default=6, help="mpmath reference points per run (default 6)")
    ap.add_argument("--dps", type=int, default=30, help="digits of the references (default 30)")
    ap.add_argument("--accumulate", action="store_true",
                    help="sum the float32 loss in float64 (Objective(accumulate='float64'))")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="out/examples")
    args = ap.parse_args(argv)

    net, X, Y = teacher_task(args.depth, args.nonlinearity, width=args.width, seed=args.seed)
    obj = nnopt.Objective(net, "mse", X, Y)
    theta0 = net.init(seed=args.seed + 1)  # float64; cast once per run inside compare
    print(f"student {net.sizes}, {net.n_params} parameters, {X.shape[0]} samples; CG (PR+, More-Thuente), "
          f"{args.iters} iterations per dtype" + (", float32 loss accumulated in float64" if args.accumulate else ""))
    t0 = time.perf_counter()
    cmp = nnopt.precision.compare(
        obj, theta0, method="cg", maxiter=args.iters, gtol=0.0, dps=args.dps,
        max_reference_points=args.points, accumulate="float64" if args.accumulate else None,
    )
    print(f"done in {time.perf_counter() - t0:.1f} s\n")
    print("errors in units of u = eps/2 of the run's dtype, over the reference iterates")
    print(f"{'dtype':>8} {'nit':>5} {'final loss':>11} {'loss err med':>13} {'max':>7} "
          f"{'grad err med':>13} {'max':>8}  stopped because")
    for r in cmp.summary():
        print(f"{r['dtype']:>8} {r['nit']:>5} {r['final_loss']:>11.4e} {r['loss_err_median_u']:>13.1f} "
              f"{r['loss_err_max_u']:>7.1f} {r['grad_err_median_u']:>13.1f} {r['grad_err_max_u']:>8.1f}  "
              f"{r['message']}")
    print("\nper reference iterate (k: loss err, grad err, in u)")
    for name, tr in cmp.trajectories.items():
        cells = [f"{k}: {tr.loss_rel_error[k] / tr.unit_roundoff:.1f}, {tr.grad_rel_error[k] / tr.unit_roundoff:.1f}"
                 for k in tr.reference_iteration]
        print(f"  {name}: " + " | ".join(cells))
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "precision_trajectory.png")
    cmp.plot().savefig(path, dpi=120)
    print(f"\nfigure: {path}")
    return cmp


if __name__ == "__main__":
    main()
