"""How much rounding error do an MLP's loss and gradient carry in float32 and
float64?  Each is compared with the same function evaluated, and
differentiated, in 50-digit arithmetic by nnopt's mpmath interpreter.  The
gradients are first checked against finite differences with nnopt.testing.

    python examples/rounding_error_mlp.py [--widths 4 16 64] [--dps 50]
"""
from __future__ import annotations

import argparse

import numpy as np

from nnopt import precision
from nnopt.nn import MLP
from nnopt.nn.losses import mse
from nnopt.testing import check_grads


def main(widths=(4, 16, 64), n=32, dps=50, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    Y = np.sin(X[:, :1]) * np.cos(X[:, 1:])
    print("errors in units of u = eps/2")
    print(f"{'width':>6} {'dtype':>8} {'loss err':>10} {'grad err':>10} {'grad max':>10}")
    rows = []
    for width in widths:
        net = MLP([2, width, width, 1], activation="tanh")

        def loss(theta, X, Y, net=net):
            return mse(net(theta, X), Y)

        for dtype in (np.float32, np.float64):
            theta = net.init(seed=seed, dtype=dtype)
            args = (theta, X.astype(dtype), Y.astype(dtype))
            check_grads(loss, args, order=1, modes=("rev",))  # derivatives right first
            r = precision.rounding_error(loss, *args, dps=dps)
            u = r.unit_roundoff
            rows.append((width, np.dtype(dtype).name, r.value / u, r.grad / u, r.grad_max / u))
            print(f"{width:>6} {np.dtype(dtype).name:>8} {r.value / u:>10.2f} {r.grad / u:>10.2f} "
                  f"{r.grad_max / u:>10.2f}")
    return rows


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--widths", type=int, nargs="+", default=[4, 16, 64])
    p.add_argument("--dps", type=int, default=50)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    main(widths=a.widths, dps=a.dps, seed=a.seed)
