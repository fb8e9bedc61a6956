"""Per-step cost of an optimizer update on a large flat vector: nnopt.optim vs torch.optim.

Measures ``update`` + ``apply_updates`` (nnopt) against ``optimizer.step()``
(torch, which updates in place) for a 1M-parameter vector, interleaving the
two so that both see the same machine load, and prints the median times and
their ratio.  torch is optional: without it only nnopt's times are printed.

    python benchmarks/bench_optim_update.py [--n 1000000] [--dtype float64] [--repeats 15]
"""
import argparse
import time

import numpy as np

import nnopt.optim as optim

try:  # an optional peer, never a dependency
    import torch
except ImportError:  # pragma: no cover
    torch = None

CASES = [
    # name, nnopt optimizer, torch optimizer factory
    ("sgd", lambda: optim.sgd(1e-3), lambda p: torch.optim.SGD(p, lr=1e-3)),
    ("momentum", lambda: optim.sgd(1e-3, 0.9), lambda p: torch.optim.SGD(p, lr=1e-3, momentum=0.9)),
    ("nesterov", lambda: optim.sgd(1e-3, 0.9, True),
     lambda p: torch.optim.SGD(p, lr=1e-3, momentum=0.9, nesterov=True)),
    ("adagrad", lambda: optim.adagrad(), lambda p: torch.optim.Adagrad(p)),
    ("rmsprop", lambda: optim.rmsprop(), lambda p: torch.optim.RMSprop(p)),
    ("adadelta", lambda: optim.adadelta(), lambda p: torch.optim.Adadelta(p)),
    ("adam", lambda: optim.adam(), lambda p: torch.optim.Adam(p)),
    ("adamw", lambda: optim.adamw(), lambda p: torch.optim.AdamW(p)),
    ("amsgrad", lambda: optim.amsgrad(), lambda p: torch.optim.Adam(p, amsgrad=True)),
    ("adamax", lambda: optim.adamax(), lambda p: torch.optim.Adamax(p)),
    ("nadam", lambda: optim.nadam(), lambda p: torch.optim.NAdam(p)),
]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--dtype", default="float64", choices=["float32", "float64"])
    ap.add_argument("--repeats", type=int, default=15)
    args = ap.parse_args()
    dtype = np.dtype(args.dtype)
    rng = np.random.default_rng(0)
    theta0 = rng.standard_normal(args.n).astype(dtype)
    grad = rng.standard_normal(args.n).astype(dtype)
    if torch is not None:
        torch.set_num_threads(1)  # compare single-threaded element-wise loops
    print(f"n = {args.n}, {dtype}, median of {args.repeats} steps (ms)")
    print(f"{'optimizer':10s} {'nnopt':>9s} {'torch':>9s} {'ratio':>7s}")
    for name, mk, mk_torch in CASES:
        opt = mk()
        theta, state = theta0.copy(), opt.init(theta0)

        def nnopt_step():
            nonlocal theta, state
            updates, state = opt.update(grad, state, theta)
            theta = optim.apply_updates(theta, updates)

        steps = [nnopt_step]
        if torch is not None:
            p = torch.tensor(theta0.copy(), requires_grad=True)
            p.grad = torch.from_numpy(grad.copy())
            topt = mk_torch([p])
            steps.append(topt.step)
        times = [[] for _ in steps]
        for f in steps:  # warm up
            for _ in range(2):
                f()
        for _ in range(args.repeats):
            for i, f in enumerate(steps):  # interleaved: both see the same load
                t0 = time.perf_counter()
                f()
                times[i].append(time.perf_counter() - t0)
        med = [1e3 * float(np.median(t)) for t in times]
        if torch is not None:
            print(f"{name:10s} {med[0]:9.2f} {med[1]:9.2f} {med[0] / med[1]:7.2f}")
        else:
            print(f"{name:10s} {med[0]:9.2f} {'-':>9s} {'-':>7s}")


if __name__ == "__main__":
    main()
