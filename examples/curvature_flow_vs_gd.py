"""Gradient descent against gradient flow (Elkabetz & Cohen, NeurIPS 2021).

Run:  python examples/curvature_flow_vs_gd.py [--out docs/img/curvature_flow_vs_gd.png]

Integrates the gradient flow of a small tanh MLP regression loss with SciPy's
LSODA (exact Hessian as the Jacobian), runs GD over the same time span at
several step sizes, and reports the largest distance between the GD iterates
and the flow, with the extremal Hessian eigenvalues along the flow.
"""
from __future__ import annotations

import argparse

import matplotlib

matplotlib.use("Agg")

import nnopt  # noqa: E402
from nnopt.curvature import gradient_flow_vs_gd, plot_flow_vs_gd, regression_task  # noqa: E402
from nnopt.nn import MLP  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="curvature_flow_vs_gd.png")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--t-final", type=float, default=10.0)
    args = ap.parse_args(argv)
    X, Y = regression_task(64, 2, seed=args.seed)
    net = MLP([2, 10, 10, 1], activation="tanh")
    obj = nnopt.Objective(net, "mse", X, Y)
    theta = net.init(seed=args.seed)
    lrs = [0.4, 0.2, 0.1, 0.05, 0.025, 0.0125]
    r = gradient_flow_vs_gd(obj, theta, lrs, args.t_final, n_checkpoints=11)
    print(f"MLP {list(net.sizes)}, t in [0, {args.t_final}], LSODA with exact Hessian ({r.nfev} gradient evaluations)")
    print(f"flow: loss {r.flow_loss[0]:.4f} -> {r.flow_loss[-1]:.4f}; lambda_max along the flow "
          f"{r.lambda_max.min():.3f}..{r.lambda_max.max():.3f}, lambda_min {r.lambda_min.min():.3f}..{r.lambda_min.max():.3f}")
    print(f"{'eta':>8s} {'eta*max lambda':>15s} {'max ||GD - flow||':>18s} {'final':>10s}")
    for eta, el, md, fd in zip(r.lrs, r.eta_lambda_max, r.max_distance, r.final_distance):
        print(f"{eta:8.4f} {el:15.3f} {md:18.3e} {fd:10.3e}")
    fig = plot_flow_vs_gd(r)
    fig.savefig(args.out, dpi=110)
    print(f"figure written to {args.out}")


if __name__ == "__main__":
    main()
