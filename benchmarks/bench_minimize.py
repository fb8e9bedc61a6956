"""Benchmark: nnopt.minimize (CG, L-BFGS) against scipy.optimize.minimize (CG, L-BFGS-B).

For each problem both solvers minimize the *same* objective callable (nnopt's
exact ``value_and_grad``; SciPy gets it with ``jac=True``).  SciPy runs first
with its defaults and ``gtol=1e-5``; its final ``f - f*`` becomes the target,
and nnopt runs until it reaches that target.  Reported, measured in one run
(best of ``--repeat`` for the times):

* evaluations to reach the target, and their ratio nnopt / SciPy;
* wall time to the target and its ratio;
* time per iteration, and the solver's own overhead per iteration (wall time
  minus the time spent inside the objective, divided by the iterations).

Usage::

    python benchmarks/bench_minimize.py [--repeat 3] [--threads 1]
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np


def _set_threads(n):
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, str(n))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="timing repeats (best is kept)")
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads (set before numpy loads)")
    args = parser.parse_args(argv)
    _set_threads(args.threads)

    import scipy
    import scipy.optimize

    import nnopt
    from nnopt.minimize import minimize

    here = os.path.dirname(os.path.abspath(__file__))
    sys.path.insert(0, os.path.join(here, "..", "tests", "minimize"))
    from min_problems import make_mlp, make_quadratic, rosenbrock, rosenbrock_x0

    fq, A, b, x_star = make_quadratic(100, cond=1e4, seed=0)
    loss, theta0 = make_mlp(n_in=3, n_hidden=8, n_samples=40)
    problems = [
        ("rosenbrock-100", rosenbrock, rosenbrock_x0(100), 0.0),
        ("quadratic-100 (cond 1e4)", fq, np.zeros(100), float(-0.5 * b @ x_star)),
        (f"mlp 3-8-1 ({theta0.size} params, 40 samples)", loss, theta0, 0.0),
    ]
    pairs = [("cg", "CG"), ("lbfgs", "L-BFGS-B")]

    rows = []
    for name, f, x0, f_star in problems:
        vg = nnopt.value_and_grad(f)
        clock = {"t": 0.0}

        def timed_vg(x, vg=vg):
            t = time.perf_counter()
            out = vg(x)
            clock["t"] += time.perf_counter() - t
            return out

        for ours, theirs in pairs:
            best_s = best_n = None
            for _ in range(args.repeat):
                clock["t"] = 0.0
                t0 = time.perf_counter()
                ref = scipy.optimize.minimize(timed_vg, x0, jac=True, method=theirs, options={"gtol": 1e-5})
                wall_s = time.perf_counter() - t0
                obj_s = clock["t"]
                target = ref.fun - f_star

                def stop(r):
                    if r.fun - f_star <= target:
                        raise StopIteration

                clock["t"] = 0.0
                t0 = time.perf_counter()
                res = minimize(timed_vg, x0, jac=True, method=ours, gtol=0, maxfev=5 * ref.nfev,
                               callback=stop)
                wall_n = time.perf_counter() - t0
                obj_n = clock["t"]
                if best_s is None or wall_s < best_s[0]:
                    best_s = (wall_s, obj_s, ref)
                if best_n is None or wall_n < best_n[0]:
                    best_n = (wall_n, obj_n, res)
            (ws, os_, ref), (wn, on, res) = best_s, best_n
            reached = res.fun - f_star <= ref.fun - f_star
            rows.append({
                "problem": name, "method": f"{ours} vs {theirs}",
                "target": ref.fun - f_star, "reached": reached,
                "nfev_s": ref.nfev, "nfev_n": res.nfev,
                "nit_s": ref.nit, "nit_n": res.nit,
                "wall_s": ws, "wall_n": wn,
                "over_s": (ws - os_) / max(ref.nit, 1), "over_n": (wn - on) / max(res.nit, 1),
                "eval_us": 1e6 * on / max(res.nfev, 1),
            })

    print(f"nnopt.minimize vs scipy.optimize.minimize  (numpy {np.__version__}, scipy {scipy.__version__}, "
          f"BLAS threads {args.threads}, load avg {os.getloadavg()[0]:.1f}, best of {args.repeat})")
    print("target: SciPy's final f - f* with gtol=1e-5; nnopt runs until it is at least as accurate\n")
    hdr = (f"{'problem':34s} {'method':18s} {'target':>8s} {'nfev nn/sp':>12s} {'ratio':>6s} "
           f"{'time nn/sp [ms]':>17s} {'ratio':>6s} {'us/iter nn/sp':>15s} {'overhead us/iter nn/sp':>23s} "
           f"{'eval us':>8s}")
    print(hdr)
    print("-" * len(hdr))
    for r in rows:
        mark = "" if r["reached"] else " (not reached)"
        print(f"{r['problem']:34s} {r['method']:18s} {r['target']:8.1e} "
              f"{r['nfev_n']:5d}/{r['nfev_s']:<6d} {r['nfev_n'] / r['nfev_s']:6.2f} "
              f"{1e3 * r['wall_n']:8.1f}/{1e3 * r['wall_s']:<8.1f} {r['wall_n'] / r['wall_s']:6.2f} "
              f"{1e6 * r['wall_n'] / max(r['nit_n'], 1):7.0f}/{1e6 * r['wall_s'] / max(r['nit_s'], 1):<7.0f} "
              f"{1e6 * r['over_n']:11.1f}/{1e6 * r['over_s']:<11.1f} {r['eval_us']:8.0f}{mark}")


if __name__ == "__main__":
    main()
