"""Ensemble trainer: E small MLPs trained at once vs one after another.

Run:  python benchmarks/bench_ensemble.py [--quick] [--backend numba|cuda]

Compares nnopt's ensemble trainer with training the same networks one after
another with nnopt's compiled dense path (Objective.value_and_grad) and,
when installed, PyTorch; the losses agree before anything is timed.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import nnopt
from nnopt.nn import MLP
from nnopt.nn.ensemble import train_ensemble


def sequential(net, X, Y, seeds, lrs, steps):
    obj = nnopt.Objective(net, "mse", X, Y, cache=False)
    finals = []
    for seed, lr in zip(seeds, lrs):
        theta = net.init(seed=seed, dtype=X.dtype)
        for _ in range(steps):
            _, g = obj.value_and_grad(theta)
            theta = theta - lr * g
        finals.append(obj.fun(theta))
    return np.array(finals)


def torch_sequential(sizes, X, Y, seeds, lrs, steps, net):
    import torch

    torch.set_num_threads(1)
    Xt, Yt = torch.from_numpy(X), torch.from_numpy(Y)
    finals = []
    for seed, lr in zip(seeds, lrs):
        theta = net.init(seed=seed, dtype=X.dtype)
        params = []
        for spec in net.layout:
            params.append(torch.tensor(theta[spec.slice].reshape(spec.shape), requires_grad=True))
        opt = torch.optim.SGD(params, lr=float(lr))
        def loss_fn():
            a = Xt
            for k in range(0, len(params), 2):
                a = a @ params[k] + params[k + 1]
                if k + 2 < len(params):
                    a = torch.tanh(a)
            return ((a - Yt) ** 2).mean()

        for _ in range(steps):
            opt.zero_grad()
            loss_fn().backward()
            opt.step()
        with torch.no_grad():  # the loss at the final parameters, as sequential() reports
            finals.append(float(loss_fn()))
    return np.array(finals)


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--backend", default="numba")
    args = ap.parse_args(argv)
    E, steps, N = (8, 20, 32) if args.quick else (64, 300, 64)
    sizes = [1, 16, 16, 1]
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(N, 1))
    Y = np.sin(3 * X)
    net = MLP(sizes, activation="tanh")
    seeds = list(range(E))
    lrs = np.geomspace(0.01, 0.5, E)
    train_ensemble(net, X, Y, lrs[:2], 2, seeds=seeds[:2], backend=args.backend)  # compile
    t0 = time.perf_counter()
    res = train_ensemble(net, X, Y, lrs, steps, seeds=seeds, backend=args.backend)
    t_ens = time.perf_counter() - t0
    k = max(2, E // 16)  # time a subset one after another, scale up
    t0 = time.perf_counter()
    seq = sequential(net, X, Y, seeds[:k], lrs[:k], steps)
    t_seq = (time.perf_counter() - t0) * E / k
    final = [net(res.thetas[e], X) for e in range(k)]
    ens_final = np.array([np.mean((f - Y) ** 2) for f in final])
    assert np.allclose(ens_final, seq, rtol=1e-8), (ens_final, seq)
    print(f"{E} MLPs {sizes}, {N} samples, {steps} GD steps, float64")
    print(f"  ensemble ({args.backend}):        {t_ens:8.3f} s")
    print(f"  one after another (nnopt): {t_seq:8.3f} s   ratio ensemble/sequential = {t_ens / t_seq:.3f}")
    try:
        t0 = time.perf_counter()
        tor = torch_sequential(sizes, X, Y, seeds[:k], lrs[:k], steps, net)
        t_torch = (time.perf_counter() - t0) * E / k
        assert np.allclose(tor, seq, rtol=1e-6)
        print(f"  one after another (torch): {t_torch:8.3f} s   ratio ensemble/torch = {t_ens / t_torch:.3f}")
    except ImportError:
        print("  (PyTorch not installed: pip install torch==2.13.0 to compare)")


if __name__ == "__main__":
    main()
