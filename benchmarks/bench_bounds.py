"""Verified bounds: time per enclosure, sharpness, and AutoBound side by side.

Three tables (Markdown):

1. time per call of taylor_bounds / enclose / safe_rate / global_minimize /
   integrate (median of repeats);
2. nnopt.bounds.taylor_bounds against the JAX AutoBound package
   (google/autobound, Streeter & Dillon) on functions both support (exp, log,
   sqrt, sigmoid, softplus, compositions of them with arithmetic, a 3-D
   vector input), degrees 1-3: median time per enclosure (AutoBound eager,
   and jitted after compilation), the width of each remainder interval
   against the true (sampled) range, and whether AutoBound's interval (not
   rounded outward) contains the mpmath truth, in float64 and float32.
   AutoBound's ``taylor_bounds(f, max_degree)`` returns the polynomial of
   degree ``max_degree - 1`` with an interval coefficient of degree
   ``max_degree``: it is compared with our ``degree = max_degree - 1``;
3. sharpness: width of our remainder interval divided by the width of the
   range of the true remainder R(x) = (f(x) - T_k(x)) / (x - x0)^(k+1)
   sampled densely in 30-digit arithmetic (the sampled range is inside the
   true one, so the ratio reported is an upper bound of the true ratio).

Table 2 needs AutoBound, which is pinned to older JAX releases; it is an
optional peer, never a dependency.  Its last release, 0.1.7, needs
Python >= 3.12 and works with jax/jaxlib 0.7.2 (not with 0.8 or later:
``jax.core.Var`` changed); 0.1.4 (Python 3.11) needs jax <= 0.4.23, whose
jaxlib wheels need numpy < 2, which nnopt cannot use.  In a scratch
environment, from the repository root::

    python3.12 -m venv /tmp/abenv
    /tmp/abenv/bin/pip install "autobound==0.1.7" "jax==0.7.2" "jaxlib==0.7.2" typing_extensions
    /tmp/abenv/bin/pip install -e .
    OMP_NUM_THREADS=1 /tmp/abenv/bin/python benchmarks/bench_bounds.py

(autobound 0.1.7 imports typing_extensions without declaring it.)  Without
AutoBound the script prints tables 1 and 3 and says why table 2 is missing.

    python benchmarks/bench_bounds.py [--quick] [--no-autobound]
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
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
        ("logsumexp(x, 2x, 0.3 - x), tie at x0", lambda x: nnp.logsumexp(nnp.stack([x, 2 * x, 0.3 - x])),
         0.1, (-0.5, 0.5), 1),
        ("elu(x), switch inside", nnp.elu, 0.5, (-1.0, 1.0), 2),
        ("elu(x, 0.5), switch inside", lambda x: nnp.elu(x, 0.5), -0.3, (-1.0, 1.0), 1),
        ("elu(sin(3x)), no switch", lambda x: nnp.elu(nnp.sin(3 * x)), 0.5, (0.2, 0.9), 2),
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


# ---------------------------------------------------------------------------
# AutoBound side by side
# ---------------------------------------------------------------------------

VEC_A = np.array([[1.0, 0.3, -0.2], [0.1, -0.5, 0.4], [-0.7, 0.2, 0.6]])
VEC_B = np.array([0.1, -0.3, 0.2])
VEC_X0 = np.array([0.1, -0.2, 0.3])
VEC_R = 0.5


def _mp_sigmoid(u):
    return 1 / (1 + mpmath.exp(-u))


def _mp_softplus(u):
    return mpmath.log1p(mpmath.exp(u))


# name -> (nnopt function, mpmath function, x0, trust region); the JAX
# versions are in _jax_functions (the same expressions)
AB_CASES = {
    "exp": (nnp.exp, mpmath.exp, 0.5, (-1.0, 2.0)),
    "log": (nnp.log, mpmath.log, 1.0, (0.5, 2.0)),
    "sqrt": (nnp.sqrt, mpmath.sqrt, 1.0, (0.5, 2.0)),
    "sigmoid": (nnp.sigmoid, _mp_sigmoid, 0.5, (-1.0, 2.0)),
    "softplus": (nnp.softplus, _mp_softplus, 0.5, (-1.0, 2.0)),
    "log(1 + exp(x))": (lambda x: nnp.log(1 + nnp.exp(x)), lambda u: mpmath.log(1 + mpmath.exp(u)),
                        0.5, (-1.0, 2.0)),
    "x exp(-x^2)": (lambda x: x * nnp.exp(-x * x), lambda u: u * mpmath.exp(-u * u), 0.3, (-1.0, 1.0)),
    "sigmoid(2x - 1) x": (lambda x: nnp.sigmoid(2 * x - 1) * x, lambda u: _mp_sigmoid(2 * u - 1) * u,
                          0.2, (-1.0, 1.5)),
    "sum softplus(A x + b), x in R^3": (
        lambda x: nnp.sum(nnp.softplus(VEC_A @ x + VEC_B)),
        lambda *u: mpmath.fsum(_mp_softplus(mpmath.fsum(mpmath.mpf(VEC_A[i, j]) * u[j] for j in range(3))
                                            + mpmath.mpf(VEC_B[i])) for i in range(3)),
        VEC_X0, (VEC_X0 - VEC_R, VEC_X0 + VEC_R)),
}
AB_DEGREES = (1, 2, 3)


def _jax_functions():
    import jax
    import jax.numpy as jnp

    A, b = jnp.asarray(VEC_A), jnp.asarray(VEC_B)
    return {
        "exp": jnp.exp,
        "log": jnp.log,
        "sqrt": jnp.sqrt,
        "sigmoid": jax.nn.sigmoid,
        "softplus": jax.nn.softplus,
        "log(1 + exp(x))": lambda x: jnp.log(1 + jnp.exp(x)),
        "x exp(-x^2)": lambda x: x * jnp.exp(-x * x),
        "sigmoid(2x - 1) x": lambda x: jax.nn.sigmoid(2 * x - 1) * x,
        "sum softplus(A x + b), x in R^3": lambda x: jnp.sum(jax.nn.softplus(A @ x + b)),
    }


def _ab_import(x64):
    """Import AutoBound (None when not installed, with the reason)."""
    try:
        import jax

        jax.config.update("jax_enable_x64", bool(x64))
        import autobound.jax as ab
    except Exception as exc:  # an optional peer
        return None, f"{type(exc).__name__}: {exc}"
    return ab, None


def _ab_call(ab, f, k, x0, region, dtype):
    """AutoBound's degree-k enclosure: coefficients (floats / lists) and the
    remainder interval, as plain Python data."""
    import jax.numpy as jnp

    jd = jnp.float64 if dtype == "float64" else jnp.float32
    b = ab.taylor_bounds(f, k + 1)(jnp.asarray(x0, jd), (jnp.asarray(region[0], jd), jnp.asarray(region[1], jd)))
    cs = [np.asarray(c, dtype=np.float64).tolist() for c in b.coefficients[:-1]]
    lo, hi = (np.asarray(v, dtype=np.float64).tolist() for v in b.coefficients[-1])
    return cs, (lo, hi)


def _ab_worker(dtype):
    """Run in a subprocess: AutoBound's enclosures in one dtype, as JSON
    (float32 needs JAX without x64, float64 with it)."""
    ab, why = _ab_import(dtype == "float64")
    if ab is None:
        print(json.dumps({"error": why}))
        return
    fns = _jax_functions()
    out = {}
    for name, (_, _, x0, region) in AB_CASES.items():
        for k in AB_DEGREES:
            try:
                out[f"{name}|{k}"] = _ab_call(ab, fns[name], k, x0, region, dtype)
            except Exception as exc:  # record and go on
                out[f"{name}|{k}"] = f"{type(exc).__name__}: {exc}"[:200]
    print(json.dumps(out))


def _ab_results_in(dtype):
    proc = subprocess.run([sys.executable, __file__, "--autobound-worker", dtype],
                          capture_output=True, text=True, timeout=1800)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode or not lines:
        return {"error": (proc.stderr or proc.stdout)[-500:]}
    return json.loads(lines[-1])


def _samples(x0, region, n, dtype):
    """Sample points of the trust region (in ``dtype``), end points included."""
    a, b = region
    if np.ndim(x0) == 0:
        xs = np.concatenate([np.linspace(a, b, n), [a, b]]).astype(dtype)
        return [float(x) for x in np.unique(xs) if a <= x <= b]
    rng = np.random.default_rng(0)
    corners = np.array(np.meshgrid(*[[lo, hi] for lo, hi in zip(a, b)])).reshape(len(a), -1).T
    pts = np.concatenate([corners, rng.uniform(a, b, (n, len(a)))]).astype(dtype)
    return [p.astype(np.float64) for p in pts]


def _rest_over_power(mf, x0, x, coeffs, k):
    """(f(x) - sum_i c_i (x - x0)^i) and (x - x0) in mpmath; vector input
    contracts the coefficient tensors."""
    mp = mpmath
    if np.ndim(x0) == 0:
        z = mp.mpf(float(x)) - mp.mpf(float(x0))
        return mf(mp.mpf(float(x))) - mp.fsum(mp.mpf(c) * z ** i for i, c in enumerate(coeffs)), z
    z = [mp.mpf(float(u)) - mp.mpf(float(v)) for u, v in zip(x, x0)]
    total = mf(*[mp.mpf(float(u)) for u in x])
    for i, c in enumerate(coeffs):
        c = np.asarray(c, dtype=np.float64)
        for idx in np.ndindex(*c.shape):
            term = mp.mpf(float(c[idx]))
            for j in idx:
                term *= z[j]
            total -= term
    return total, z


def _interval_times_z(lo, hi, z, k):
    """[lo, hi] (x - x0)^(k+1) as an mpmath interval (lo, hi), tensors contracted."""
    mp = mpmath
    if not isinstance(z, list):
        zk = z ** (k + 1)
        return (min(mp.mpf(lo) * zk, mp.mpf(hi) * zk), max(mp.mpf(lo) * zk, mp.mpf(hi) * zk))
    lo, hi = np.asarray(lo, dtype=np.float64), np.asarray(hi, dtype=np.float64)
    tl = th = mp.mpf(0)
    for idx in np.ndindex(*lo.shape):
        m = mp.mpf(1)
        for j in idx:
            m *= z[j]
        a, b = mp.mpf(float(lo[idx])) * m, mp.mpf(float(hi[idx])) * m
        tl += min(a, b)
        th += max(a, b)
    return tl, th


def _violations(mf, x0, region, k, coeffs, rem, dtype, n):
    """Sample points where f(x) - sum c_i z^i is outside rem * z^(k+1) (mpmath, 40
    digits): (count, largest excess relative to the interval's width there)."""
    bad, worst = 0, 0.0
    with mpmath.workdps(40):
        for x in _samples(x0, region, n, dtype):
            rest, z = _rest_over_power(mf, x0, x, coeffs, k)
            lo, hi = _interval_times_z(rem[0], rem[1], z, k)
            if not (lo <= rest <= hi):
                bad += 1
                ex = (lo - rest) if rest < lo else (rest - hi)
                worst = max(worst, float(ex / max(hi - lo, mpmath.mpf(10) ** -300)))
    return bad, worst


def _width(rem):
    lo, hi = rem
    return float(np.sum(np.asarray(hi, dtype=np.float64) - np.asarray(lo, dtype=np.float64)))


def autobound_rows(quick):
    """Rows of table 2, or a string saying why there are none."""
    ab, why = _ab_import(True)
    if ab is None:
        return (f"AutoBound not importable ({why}); table 2 skipped. It needs its own environment "
                "(see the docstring of benchmarks/bench_bounds.py for the pinned install).")
    import jax

    fns = _jax_functions()
    rep, rep_jit = (3, 50) if quick else (7, 300)
    n = 120 if quick else 400
    f32 = _ab_results_in("float32")
    rows = []
    for name, (f, mf, x0, region) in AB_CASES.items():
        vector = np.ndim(x0) > 0
        for k in AB_DEGREES:
            ours = taylor_bounds(f, x0, region, k)
            cs, rem = _ab_call(ab, fns[name], k, x0, region, "float64")
            jf = jax.jit(lambda x0_, a_, b_, g=fns[name], k=k: ab.taylor_bounds(g, k + 1)(x0_, (a_, b_)).coefficients)
            args = tuple(jax.numpy.asarray(v, jax.numpy.float64) for v in (x0, region[0], region[1]))
            try:
                jax.block_until_ready(jf(*args))  # compile
            except Exception:  # AutoBound branches on values for some functions
                jf = None
            t_ours, t_ab, t_jit = [], [], []
            for _ in range(rep):  # interleaved, one process
                t = time.perf_counter()
                taylor_bounds(f, x0, region, k)
                t_ours.append(time.perf_counter() - t)
                t = time.perf_counter()
                _ab_call(ab, fns[name], k, x0, region, "float64")
                t_ab.append(time.perf_counter() - t)
            for _ in range(rep_jit if jf is not None else 0):
                t = time.perf_counter()
                jax.block_until_ready(jf(*args))
                t_jit.append(time.perf_counter() - t)
            truth = None
            if not vector:
                truth = _sampled_remainder_width(f, x0, region[0], region[1], k, n)
            w_ours, w_ab = _width(ours.remainder), _width(rem)
            w_p8 = None if vector else _width(taylor_bounds(f, x0, region, k, pieces=8).remainder)
            bad64 = _violations(mf, x0, region, k, cs, rem, np.float64, n) if np.isfinite(w_ab) else None
            r32 = f32.get(f"{name}|{k}") if isinstance(f32, dict) else None
            bad32 = None
            if isinstance(r32, list):
                x0_32 = np.asarray(x0, np.float32).astype(np.float64)
                reg32 = tuple(np.asarray(v, np.float32).astype(np.float64) for v in region)
                if np.isfinite(_width(r32[1])):
                    bad32 = _violations(mf, x0_32 if vector else float(x0_32), reg32, k, r32[0], r32[1],
                                        np.float32, n)
                else:
                    bad32 = "no bound"
            rows.append(dict(name=name, k=k, t_ours=statistics.median(t_ours), t_ab=statistics.median(t_ab),
                             t_jit=statistics.median(t_jit) if t_jit else None, w_ours=w_ours, w_ab=w_ab, w_p8=w_p8, truth=truth,
                             bad64=bad64, bad32=bad32))
    versions = f"autobound {_version('autobound')}, jax {jax.__version__}"
    return rows, versions


def _version(pkg):
    try:
        from importlib.metadata import version

        return version(pkg)
    except Exception:  # pragma: no cover
        return "?"


def _fmt_bad(b):
    if b is None:
        return "no bound"
    if isinstance(b, str):
        return b
    count, worst = b
    return "contains" if count == 0 else f"**fails** at {count} points (by {worst:.1e} x width)"


def main(quick=False, autobound=True):
    times = timing_rows(quick)
    print("| operation | time per call |\n|---|---|")
    for name, t in times:
        print(f"| {name} | {t * 1e3:.2f} ms |")
    if autobound:
        res = autobound_rows(quick)
        if isinstance(res, str):
            print(f"\n{res}")
        else:
            rows, versions = res
            print(f"\nnnopt.bounds.taylor_bounds vs AutoBound ({versions}), median time per enclosure; "
                  "widths of the remainder interval (vector input: summed over the tensor), / the sampled "
                  "true width where shown; does AutoBound's interval contain the mpmath truth?\n")
            print("| function | degree | nnopt | AutoBound eager | AutoBound jit | nnopt / AutoBound eager "
                  "| nnopt / AutoBound jit | width nnopt | width nnopt, pieces=8 | width AutoBound "
                  "| AutoBound float64 | AutoBound float32 |")
            print("|---|---|---|---|---|---|---|---|---|---|---|---|")
            for r in rows:
                tr = r["truth"]

                def w(v):
                    if not np.isfinite(v):
                        return "nan (no bound)"
                    return f"{v:.4g}" + (f" ({v / tr:.3f}x)" if tr else "")

                tj = r["t_jit"]
                jit, jr = (f"{tj * 1e6:.0f} us", f"{r['t_ours'] / tj:.0f}") if tj else ("fails under jit", "-")
                print(f"| {r['name']} | {r['k']} | {r['t_ours'] * 1e3:.2f} ms | {r['t_ab'] * 1e3:.1f} ms "
                      f"| {jit} | {r['t_ours'] / r['t_ab']:.3f} | {jr} "
                      f"| {w(r['w_ours'])} | {w(r['w_p8']) if r['w_p8'] is not None else '-'} | {w(r['w_ab'])} "
                      f"| {_fmt_bad(r['bad64'])} | {_fmt_bad(r['bad32'])} |")
    print("\n| function | degree | trust region | width ratio (pieces=1) | width ratio (pieces=8) |")
    print("|---|---|---|---|---|")
    for name, k, region, r1, r8 in sharpness_rows(quick):
        print(f"| {name} | {k} | {region} | {r1:.3f} | {r8:.3f} |")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--autobound-worker":
        _ab_worker(sys.argv[2])
        sys.exit(0)
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--no-autobound", action="store_true", help="skip the AutoBound comparison")
    args = ap.parse_args()
    main(args.quick, not args.no_autobound)
