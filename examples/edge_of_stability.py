"""Edge of stability (Cohen et al., ICLR 2021) with exact Hessians.

Full-batch gradient descent on a small tanh MLP regression task at three step
sizes; the sharpness (top eigenvalue of the exact Hessian, by Lanczos) rises
to about 2/eta and hovers there while the loss keeps falling, non-monotonically.

Run:  python examples/edge_of_stability.py [--quick] [--out docs/img/edge_of_stability.png]

Prints, per step size, the median sharpness over the last half of the run
divided by 2/eta, the loss figures and the non-convergence diagnostics
(gradient norm, drift of the weight distribution), and writes the figure.
"""
from __future__ import annotations

import argparse
import time

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402

from nnopt.curvature import edge_of_stability, plot_edge_of_stability  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small network, 600 steps (a few seconds)")
    ap.add_argument("--out", default="edge_of_stability.png", help="figure file")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--dtype", default="float64", choices=["float32", "float64"])
    args = ap.parse_args(argv)
    if args.quick:
        setup = dict(lrs=(0.25, 0.2), n_steps=600, every=20, sizes=(4, 16, 16, 16, 1), n_samples=64)
    else:
        setup = dict(lrs=(0.1, 2.0 / 30.0, 0.05), n_steps=4000, every=20, sizes=(4, 32, 32, 32, 1),
                     n_samples=200)
    t0 = time.perf_counter()
    result = edge_of_stability(seed=args.seed, dtype=np.dtype(args.dtype), **setup)
    elapsed = time.perf_counter() - t0
    print(f"edge of stability: MLP {list(setup['sizes'])}, {setup['n_samples']} examples, "
          f"{setup['n_steps']} full-batch GD steps per step size, {args.dtype}, seed {args.seed} "
          f"({elapsed:.1f} s)")
    print(f"{'eta':>7s} {'2/eta':>6s} {'max sharp':>9s} {'median sharp (last half)':>24s} {'/ (2/eta)':>9s} "
          f"{'loss 0':>8s} {'final loss':>10s} {'loss rises':>10s} {'|g| tail/|g|0':>13s} {'W1 drift':>9s}")
    for s in result.summary(0.5):
        print(f"{s['lr']:7.4f} {s['two_over_lr']:6.1f} {s['max_sharpness']:9.2f} {s['median_sharpness_tail']:24.2f} "
              f"{s['ratio_to_2_over_lr']:9.3f} {s['initial_loss']:8.4f} {s['final_loss']:10.4f} "
              f"{s['loss_increases']:10d} {s['grad_norm_tail_median'] / s['grad_norm_initial']:13.3f} "
              f"{s['weight_drift_tail_median']:9.2e}")
    fig = plot_edge_of_stability(result)
    fig.savefig(args.out, dpi=110)
    print(f"figure written to {args.out}")
    return result


if __name__ == "__main__":
    main()
