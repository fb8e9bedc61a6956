"""Where the time goes, per capability: Python overhead vs arithmetic.

Run:  python benchmarks/profile_capabilities.py [--only NAME] [--top 8]

cProfile cannot see inside NumPy's operators (``a @ b`` is charged to the
Python function that wrote it), so the split is measured instead: each
workload is timed at its real size and again with every width and batch
set to 1.  The second run executes the same Python path with negligible
arithmetic, so it estimates the per-call overhead; the difference is the
arithmetic.  ``--top N`` also prints the N functions with the most own
time under cProfile.
"""
from __future__ import annotations

import argparse
import cProfile
import pstats
import time
import warnings

import numpy as np

import nnopt
import nnopt.numpy as nnp
from nnopt.nn import MLP


def _objective(sizes, batch, fast, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(batch, sizes[0]))
    Y = rng.normal(size=(batch, sizes[-1]))
    net = MLP(sizes, activation="tanh")
    return nnopt.Objective(net, "mse", X, Y, fast=fast, cache=False), net.init(seed=seed)


def gradient_fast(w, b):
    obj, th = _objective([w // 5, w, w, w, 1], b, True)
    return lambda: obj.value_and_grad(th)


def gradient_engine(w, b):
    obj, th = _objective([w // 5, w, w, w, 1], b, False)
    vg = nnopt.value_and_grad(obj)
    return lambda: vg(th)


def hvp_fast(w, b):
    obj, th = _objective([w // 5, w, w, w, 1], b, True)
    v = np.ones_like(th)
    return lambda: obj.hessp(th, v)


def hvp_engine(w, b):
    obj, th = _objective([w // 5, w, w, w, 1], b, False)
    v = np.ones_like(th)
    return lambda: nnopt.hvp(obj, th, v)


def dense_hessian(w, b):
    obj, th = _objective([8, w, w, 1], b, True)
    return lambda: obj.hess(th)


def dense_hessian_closed_form(w, b):
    from nnopt.nn import fast

    obj, th = _objective([8, w, w, 1], b, True)
    return lambda: fast.hessian(obj.net, "mse", th, obj.X, obj.Y)


def neural_form(w, b):
    net = MLP([1, w, w, 1], activation="tanh")
    wts = net.init(seed=0)
    t = np.linspace(0, 2 * np.pi, b)
    one = np.ones_like(t)

    def u(p, s):
        return net(p, nnp.reshape(s, (-1, 1)))[:, 0]

    def loss(p):
        du = lambda s: nnopt.jvp(lambda r: u(p, r), (s,), (one,))[1]  # noqa: E731
        ddu = nnopt.jvp(du, (t,), (one,))[1]
        return nnp.mean((ddu + 0.4 * du(t) + 4 * u(p, t)) ** 2)

    vg = nnopt.value_and_grad(loss)
    return lambda: vg(wts)


def neural_form_compiled(w, b):
    from nnopt import diffeq

    T = 2 * np.pi
    net = MLP([1, w, w, 1], activation="tanh")
    ode = diffeq.ODE(lambda t, u, du, ddu: ddu + 0.4 * du + 4 * u, (0.0, T), initial=(1.0, 0.0))
    t = np.linspace(0.0, T, b)[:, None]
    system = diffeq.ResidualSystem(ode, diffeq.TrialForm(ode), net, t, np.float64, [T / 2], [2 / T])
    wts = net.init(seed=0)
    system.check(wts)
    return lambda: system.value_and_grad(wts)


def lanczos_top_eigenvalue(w, b):
    from nnopt import curvature

    obj, th = _objective([w // 5, w, w, w, 1], b, True)
    op = curvature.hessian_operator(obj, th)

    def run():  # exactly 20 steps: a tolerance that cannot be reached, its warning silenced
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", curvature.ConvergenceWarning)
            return curvature.lanczos(op, k=1, maxiter=20, tol=1e-300, check_symmetry=False)

    return run


def cg_iterations(w, b):
    obj, th = _objective([w // 5, w, w, w, 1], b, True)
    return lambda: nnopt.minimize(obj.fun, th, jac=obj.jac, method="cg", maxiter=5, gtol=0.0)


def lenet_step(w, b):
    from nnopt.nn.zoo import lenet5

    net = lenet5()
    rng = np.random.default_rng(0)
    X = rng.normal(size=(b, 1, 28, 28))
    Y = rng.integers(0, 10, b)
    obj = nnopt.Objective(net, "cross_entropy", X, Y, cache=False)
    th = net.init(seed=0)
    return lambda: obj.value_and_grad(th)


WORKLOADS = {
    "gradient, fast dense path ([10,50,50,50,1], batch 1000)": (gradient_fast, 50, 1000, 5),
    "gradient, general engine ([10,50,50,50,1], batch 1000)": (gradient_engine, 50, 1000, 5),
    "HVP, fast R-operator ([10,50,50,50,1], batch 1000)": (hvp_fast, 50, 1000, 5),
    "HVP, general engine ([10,50,50,50,1], batch 1000)": (hvp_engine, 50, 1000, 5),
    "dense Hessian, fast path ([8,30,30,1], batch 200)": (dense_hessian, 30, 200, 5),
    "dense Hessian, closed form ([8,30,30,1], batch 200)": (dense_hessian_closed_form, 30, 200, 5),
    "neural-form loss + gradient, general engine ([1,32,32,1], 200 points)": (neural_form, 32, 200, 1),
    "neural-form loss + gradient, compiled path ([1,32,32,1], 200 points)": (neural_form_compiled, 32, 200, 1),
    "Lanczos, 20 Hessian products ([10,50,50,50,1], batch 1000)": (lanczos_top_eigenvalue, 50, 1000, 5),
    "CG, 5 iterations with line search ([10,50,50,50,1], batch 1000)": (cg_iterations, 50, 1000, 5),
    "LeNet-5 loss + gradient (batch 128; minimal: batch 1)": (lenet_step, 0, 128, 0),
}


def _time(fn, min_time=0.2):
    fn()
    n, t = 1, 0.0
    while t < min_time:
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        t = time.perf_counter() - t0
        n *= 2
    return t / (n // 2)


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", default=None, help="substring of a workload name")
    ap.add_argument("--top", type=int, default=0)
    args = ap.parse_args(argv)
    print(f"{'workload':58s} {'time':>10s} {'overhead':>10s} {'Python share':>12s}")
    for name, (make, width, batch, min_width) in WORKLOADS.items():
        if args.only and args.only not in name:
            continue
        fn = make(width, batch)
        t_full = _time(fn)
        t_min = _time(make(min_width, 1))
        print(f"{name:58s} {t_full * 1e3:8.2f}ms {t_min * 1e3:8.2f}ms {100 * min(t_min / t_full, 1):11.0f}%")
        if args.top:
            prof = cProfile.Profile()
            prof.enable()
            fn()
            prof.disable()
            pstats.Stats(prof).sort_stats("tottime").print_stats(args.top)


if __name__ == "__main__":
    main()
