"""Verified bounds: time per enclosure and sharpness of the remainders.

Two tables (Markdown):

1. time per call of taylor_bounds / enclose / safe_rate / global_minimize /
   integrate (median of repeats), and, when the optional ``autobound`` package
   (google/autobound, which needs an older JAX) is importable, AutoBound's time
   for the same single-function enclosure;
2. sharpness: width of our remainder interval divided by the width of the
   range of the true remainder R(x) = (f(x) - T_k(x)) / (x - x0)^(k+1) sampled
   densely in 30-digit arithmetic (the sampled range is inside the true one,
   so the ratio reported is an upper bound of the true ratio).

    python benchmarks/bench_bounds.py [--quick]
"""
from __future__ import annotations

import argparse
import statistics
import time

import mpmath
import numpy as np

import nnopt
import nnopt.numpy as nnp
from nnopt.bounds import enclose, global_minimize, integrate, safe_rate, taylor_bounds
from nnopt.nn import MLP


def timeit(fn, repeat=5):
    fn()
    ts = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def camel(x):
    a, b = x[0], x[1]
    return (4 - 2.1 * a ** 2 + a ** 4 / 3) * a ** 2 + a * b + (-4 + 4 * b ** 2) * b ** 2


def mlp_objective():
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (64, 2))
    Y = np.sin(2 * X[:, :1]) * X[:, 1:]
    net = MLP([2, 16, 16, 1], activation="tanh")
    obj = nnopt.Objective(net, "mse", X, Y)
    theta = net.init(seed=0)
    _, g = obj.value_and_grad(theta)
    return obj, theta, g


def timing_rows(quick):
    rep = 3 if quick else 7
    obj, theta, g = mlp_objective()
    rows = [
        ("taylor_bounds(exp, degree 2)", lambda: taylor_bounds(nnp.exp, 0.5, (-1.0, 2.0), 2)),
        ("taylor_bounds(sigmoid, degree 2)", lambda: taylor_bounds(nnp.sigmoid, 0.5, (-1.0, 2.0), 2)),
        ("taylor_bounds(log(1+exp(x)), degree 2)",
         lambda: taylor_bounds(lambda x: nnp.log(1 + nnp.exp(x)), 0.5, (-1.0, 2.0), 2)),
        ("taylor_bounds(exp, degree 2, mpmath 113 bits)",
         lambda: taylor_bounds(nnp.exp, 0.5, (-1.0, 2.0), 2, backend="mpmath")),
        ("enclose(2-D camel, degree 1)", lambda: enclose(camel, [(-1, 1), (-1, 1)])),
        ("safe_rate(MLP 2-16-16-1, 64 samples)", lambda: safe_rate(obj, theta, -g, 1.0)),
        ("global_minimize(camel, tol 1e-6)", lambda: global_minimize(camel, [(-3, 3), (-2, 2)], 1e-6)),
        ("integrate(exp(-x^2), [0, 1], tol 1e-10)", lambda: integrate(lambda x: nnp.exp(-x * x), 0.0, 1.0, 1e-10)),
    ]
    out = []
    for name, fn in rows:
        r = rep if "global" not in name else 1
        out.append((name, timeit(fn, r)))
    ab = autobound_times(rep)
    return out, ab


def autobound_times(rep):
    """AutoBound's time for the same single-function enclosures (optional)."""
    try:
        import autobound.jax as ab  # noqa: F401
        import jax.numpy as jnp
    except Exception as exc:  # not installed: an optional peer
        return f"autobound not importable ({type(exc).__name__}: it needs an older JAX); skipped"
    out = []
    for name, fn in (("exp", jnp.exp), ("sigmoid", lambda x: 1 / (1 + jnp.exp(-x)))):
        tb = ab.taylor_bounds(fn, 2)
        out.append((f"autobound taylor_bounds({name}, degree 2)", timeit(lambda: tb(0.5, (-1.0, 2.0)), rep)))
    return out


def _mp_taylor(f, x0, k):
    """[f^(i)(x0)/i!] by nested nnopt.jvp on mpmath numbers (current dps)."""
    mp = mpmath
    one = np.array(mp.mpf(1), dtype=object)
    fs = [f]
    for _ in range(k):
        g = fs[-1]
        fs.append(lambda x, g=g: nnopt.jvp(g, (x,), (one,))[1])
    x = np.array(mp.mpf(float(x0)), dtype=object)
    out = []
    for i, g in enumerate(fs):
        v = g(x)
        out.append(mp.mpf(v.item() if isinstance(v, np.ndarray) else v) / mp.factorial(i))
    return out


def _sampled_remainder_width(f, x0, a, b, k, n):
    """Range width of R(x) = (f(x) - T_k(x)) / (x - x0)^(k+1) on n samples, with
    f evaluated by the nnopt mpmath interpreter at 30 digits."""
    mp = mpmath
    with mp.workdps(30):
        c = _mp_taylor(f, x0, k)
        vals = []
        for x in np.linspace(a, b, n):
            z = mp.mpf(float(x)) - mp.mpf(x0)
            if abs(z) < 1e-4:
                continue
            v = f(np.array(mp.mpf(float(x)), dtype=object))
            v = mp.mpf(v.item() if isinstance(v, np.ndarray) else v)
            vals.append((v - sum(ci * z ** i for i, ci in enumerate(c))) / z ** (k + 1))
        return float(max(vals) - min(vals))


def sharpness_rows(quick):
    n = 300 if quick else 1500
    net = MLP([1, 8, 1], activation="tanh")
    th = net.init(seed=3)

    def mlp(x):
        return net(th, nnp.reshape(x, (1, 1)))[0, 0]

    obj, theta, g = mlp_objective()

    def line(eta):
        return obj(theta - eta * g)

    cases = [
        ("exp (single function)", nnp.exp, 0.5, (-1.0, 2.0), 2),
        ("sigmoid (single function, x0 = 0.5)", nnp.sigmoid, 0.5, (-1.0, 2.0), 1),
        ("sigmoid (single function, monotone branch)", nnp.sigmoid, 2.0, (1.5, 4.0), 1),
        ("log(1 + exp(x))", lambda x: nnp.log(1 + nnp.exp(x)), 0.5, (-1.0, 2.0), 2),
        ("sigmoid(2 tanh(x) - 1) x", lambda x: nnp.sigmoid(2 * nnp.tanh(x) - 1) * x, 0.2, (-1.0, 1.5), 1),
        ("sin(x) exp(-x^2)", lambda x: nnp.sin(x) * nnp.exp(-x * x), 0.3, (-1.0, 1.0), 2),
        ("relu(x - 0.3) (x + 1)", lambda x: nnp.relu(x - 0.3) * (x + 1), 0.5, (0.0, 1.0), 1),
        ("MLP 1-8-1 tanh, input x", mlp, 0.1, (-1.0, 1.0), 1),
        ("MLP 2-16-16-1 mse loss along -grad", line, 0.0, (0.0, 0.5), 1),
    ]
    out = []
    for name, f, x0, (a, b), k in cases:
        truth = _sampled_remainder_width(f, x0, a, b, k, n if "loss" not in name else max(n // 10, 40))
        ws = []
        for pieces in (1, 8):
            tb = taylor_bounds(f, x0, (a, b), k, pieces=pieces)
            ws.append(tb.remainder[1] - tb.remainder[0])
        out.append((name, k, f"[{a}, {b}]", ws[0] / truth, ws[1] / truth))
    return out


def main(quick=False):
    times, ab = timing_rows(quick)
    print("| operation | time per call |\n|---|---|")
    for name, t in times:
        print(f"| {name} | {t * 1e3:.2f} ms |")
    if isinstance(ab, str):
        print(f"\n{ab}")
    else:
        for name, t in ab:
            print(f"| {name} | {t * 1e3:.2f} ms |")
    print("\n| function | degree | trust region | width ratio (pieces=1) | width ratio (pieces=8) |")
    print("|---|---|---|---|---|")
    for name, k, region, r1, r8 in sharpness_rows(quick):
        print(f"| {name} | {k} | {region} | {r1:.3f} | {r8:.3f} |")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    main(ap.parse_args().quick)
