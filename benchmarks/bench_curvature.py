"""Curvature speed: HVP, dense Hessian and top eigenvalue, nnopt against PyTorch and JAX.

Run:  python benchmarks/bench_curvature.py [--quick] [--threads 1]

Same MLP (tanh hidden layers), same data and the same flat parameter vector
in every framework; results are checked to agree before timing.  Peers are
optional: a missing one is reported and skipped.

* HVP: nnopt ``hessian_operator`` on its default path (``mode="rev"``: the
  gradient recorded once by the general engine, one reverse pass per
  product), on the objective's compiled R-operator pass for dense stacks
  (``mode="compiled"``, also as a block of 20 products in one batched
  ``matmat``), and forward-over-reverse (``nnopt.hvp``, nothing reused);
  PyTorch double backward (``grad`` with ``create_graph`` then the
  gradient of ``g . v``), JAX ``jvp`` of ``grad`` under ``jit``.
* Dense Hessian: nnopt ``hessian_matrix``, ``torch.autograd.functional.hessian``
  (``vectorize=True``), ``jax.hessian`` under ``jit``.
* Top eigenvalue: nnopt ``sharpness`` (Lanczos, full reorthogonalisation,
  relative tolerance 1e-8), and for each peer SciPy's ``eigsh`` (ARPACK
  Lanczos, ``tol=1e-8``) driven by that framework's HVP.  Times include the
  products; the number of products is printed.

Ratios are peer time / nnopt time (> 1: nnopt faster).
"""
from __future__ import annotations

import argparse
import os
import sys
import time


def _set_threads(n):
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        os.environ[var] = str(n)
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") +
                               f" --xla_cpu_multi_thread_eigen={'true' if n > 1 else 'false'}"
                               f" intra_op_parallelism_threads={n}")
    os.environ.setdefault("JAX_PLATFORMS", "cpu")


if __name__ == "__main__":  # thread settings must precede the imports of numpy, torch and jax
    _t = 1
    if "--threads" in sys.argv:
        _t = int(sys.argv[sys.argv.index("--threads") + 1])
    _set_threads(_t)

import numpy as np  # noqa: E402
import scipy.sparse.linalg as sla  # noqa: E402

import nnopt  # noqa: E402
from nnopt.curvature import hessian_matrix, hessian_operator, sharpness  # noqa: E402
from nnopt.nn import MLP  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from timing import median_time  # noqa: E402

CASES = [
    # name, sizes, batch, loss, dense Hessian?
    ("tiny  [1,20,20,1] b=100 mse", [1, 20, 20, 1], 100, "mse", True),
    ("small [10,50,50,1] b=256 mse", [10, 50, 50, 1], 256, "mse", True),
    ("CE  [20,64,64,10] b=256", [20, 64, 64, 10], 256, "cross_entropy", False),
]


def once(fn, repeat=2):
    """Best of ``repeat`` runs (for calls too long to loop): (seconds, result)."""
    best, out = np.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def make(sizes, batch, loss, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(batch, sizes[0]))
    Y = rng.normal(size=(batch, sizes[-1])) if loss == "mse" else rng.integers(0, sizes[-1], size=batch)
    net = MLP(sizes, activation="tanh")
    obj = nnopt.Objective(net, loss, X, Y, cache=False)
    theta = net.init(seed=seed) + 0.05 * rng.normal(size=net.n_params)
    return net, obj, theta, X, Y


def _shapes(sizes):
    return [((sizes[i], sizes[i + 1]), (sizes[i + 1],)) for i in range(len(sizes) - 1)]


# --- PyTorch -----------------------------------------------------------------
def torch_peer(sizes, X, Y, loss):
    import torch

    torch.set_default_dtype(torch.float64)
    Xt = torch.from_numpy(X)
    Yt = torch.from_numpy(Y) if loss == "mse" else torch.from_numpy(Y).long()
    shapes = _shapes(sizes)

    def f(theta):
        k, a = 0, Xt
        for i, (ws, bs) in enumerate(shapes):
            W = theta[k:k + ws[0] * ws[1]].reshape(ws)
            k += ws[0] * ws[1]
            b = theta[k:k + bs[0]]
            k += bs[0]
            a = a @ W + b
            if i < len(shapes) - 1:
                a = torch.tanh(a)
        if loss == "mse":
            return torch.mean((a - Yt) ** 2)
        return torch.nn.functional.cross_entropy(a, Yt)

    def hvp(theta_np, v_np):
        th = torch.from_numpy(theta_np).requires_grad_(True)
        g = torch.autograd.grad(f(th), th, create_graph=True)[0]
        return torch.autograd.grad(g @ torch.from_numpy(v_np), th)[0].numpy()

    def hvp_reuse(theta_np):
        th = torch.from_numpy(theta_np).requires_grad_(True)
        g = torch.autograd.grad(f(th), th, create_graph=True)[0]

        def mv(v_np):
            return torch.autograd.grad(g, th, grad_outputs=torch.from_numpy(np.ascontiguousarray(v_np).ravel()),
                                       retain_graph=True)[0].numpy()
        return mv

    def hess(theta_np):
        return torch.autograd.functional.hessian(f, torch.from_numpy(theta_np), vectorize=True).numpy()

    return {"name": "torch " + torch.__version__, "hvp": hvp, "hvp_reuse": hvp_reuse, "hess": hess}


# --- JAX ---------------------------------------------------------------------
def jax_peer(sizes, X, Y, loss):
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    Xj = jnp.asarray(X)
    Yj = jnp.asarray(Y)
    shapes = _shapes(sizes)

    def f(theta):
        k, a = 0, Xj
        for i, (ws, bs) in enumerate(shapes):
            W = theta[k:k + ws[0] * ws[1]].reshape(ws)
            k += ws[0] * ws[1]
            b = theta[k:k + bs[0]]
            k += bs[0]
            a = a @ W + b
            if i < len(shapes) - 1:
                a = jnp.tanh(a)
        if loss == "mse":
            return jnp.mean((a - Yj) ** 2)
        lse = jax.scipy.special.logsumexp(a, axis=1)
        return jnp.mean(lse - a[jnp.arange(a.shape[0]), Yj])

    hvp_j = jax.jit(lambda th, v: jax.jvp(jax.grad(f), (th,), (v,))[1])
    hess_j = jax.jit(jax.hessian(f))

    def hvp(theta_np, v_np):
        return np.asarray(hvp_j(theta_np, v_np).block_until_ready())

    def hess(theta_np):
        return np.asarray(hess_j(theta_np).block_until_ready())

    return {"name": "jax " + jax.__version__, "hvp": hvp, "hess": hess}


def peers(sizes, X, Y, loss):
    out = []
    for make_peer in (torch_peer, jax_peer):
        try:
            out.append(make_peer(sizes, X, Y, loss))
        except ImportError as exc:
            print(f"  ({make_peer.__name__.split('_')[0]} not installed: {exc}; skipped)")
    return out


def eigsh_top(mv, n, tol=1e-8):
    count = [0]

    def matvec(v):
        count[0] += 1
        return mv(np.ascontiguousarray(v).ravel())

    lo = sla.LinearOperator((n, n), matvec=matvec, dtype=np.float64)
    val = sla.eigsh(lo, k=1, which="LA", tol=tol, v0=np.random.default_rng(0).normal(size=n))[0][0]
    return val, count[0]


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="tiny case only, short timings")
    ap.add_argument("--threads", type=int, default=1, help="BLAS / framework threads (default 1)")
    args = ap.parse_args(argv)
    cases = CASES[:1] if args.quick else CASES
    min_time = 0.02 if args.quick else 0.3
    try:
        import torch

        torch.set_num_threads(args.threads)
    except ImportError:
        pass
    print(f"curvature benchmark, float64, {args.threads} thread(s); times in ms; ratio = peer / nnopt")
    for name, sizes, batch, loss, dense in cases:
        net, obj, theta, X, Y = make(sizes, batch, loss)
        n = net.n_params
        print(f"\n{name}: {n} parameters")
        v = np.random.default_rng(1).normal(size=n)
        ps = peers(sizes, X, Y, loss)
        op = hessian_operator(obj, theta)  # default: recorded graph
        op_c = hessian_operator(obj, theta, mode="compiled")
        ref = op.matvec(v)
        assert np.allclose(op_c.matvec(v), ref, rtol=1e-10, atol=1e-12 * np.abs(ref).max())
        for p in ps:
            got = p["hvp"](theta, v)
            err = np.max(np.abs(got - ref)) / np.max(np.abs(ref))
            assert err < 1e-10, f"{p['name']} HVP disagrees with nnopt: {err:.1e}"
        t_rec = median_time(lambda: hessian_operator(obj, theta, mode="rev"), min_time)
        t_nn = median_time(lambda: op.matvec(v), min_time)
        t_c = median_time(lambda: op_c.matvec(v), min_time)
        t_fo = median_time(lambda: nnopt.hvp(obj, theta, v), min_time)
        V = np.random.default_rng(2).normal(size=(n, 20))
        t_mm = median_time(lambda: op_c.matmat(V), min_time) / 20
        t_best = min(t_nn, t_c, t_mm)
        print(f"  HVP  nnopt recorded graph (default) {1e3 * t_nn:8.3f}   (recording once: {1e3 * t_rec:.3f})")
        print(f"  HVP  nnopt compiled                 {1e3 * t_c:8.3f}   per product in a matmat of 20: {1e3 * t_mm:.3f}")
        print(f"  HVP  nnopt engine, fwd-rev          {1e3 * t_fo:8.3f}")
        for p in ps:
            t = median_time(lambda: p["hvp"](theta, v), min_time)
            line = f"  HVP  {p['name']:<30s} {1e3 * t:8.3f}   ratio {t / t_nn:6.2f} (vs best nnopt {t / t_best:6.2f})"
            if "hvp_reuse" in p:
                mv = p["hvp_reuse"](theta)
                t2 = median_time(lambda: mv(v), min_time)
                line += f" | graph kept: {1e3 * t2:.3f} (ratio {t2 / t_nn:.2f})"
            print(line)
        if dense:
            t_h, H = once(lambda: hessian_matrix(obj, theta))
            t_o, H2 = once(lambda: obj.hess(theta))
            assert np.allclose(H, H2, rtol=1e-12, atol=1e-12 * np.abs(H).max())
            t_e, _ = once(lambda: hessian_matrix(lambda th: obj(th), theta), 1)
            print(f"  dense Hessian nnopt hessian_matrix {1e3 * t_h:10.1f}  (Objective.hess {1e3 * t_o:.1f}; "
                  f"general engine {1e3 * t_e:.1f})")
            for p in ps:
                p["hess"](theta)  # compile / warm up
                t_p, Hp = once(lambda: p["hess"](theta))
                assert np.allclose(Hp, H, rtol=1e-9, atol=1e-10 * np.abs(H).max()), f"{p['name']} Hessian disagrees"
                print(f"  dense Hessian {p['name']:<20s} {1e3 * t_p:10.1f}   ratio {t_p / t_h:6.2f}")
        t_s, res = once(lambda: sharpness(obj, theta, tol=1e-8, full_output=True))
        print(f"  top eigenvalue nnopt lanczos      {1e3 * t_s:9.1f}  ({res.n_iter} HVPs, lambda = {res.values[0]:.10g})")
        t_a, (val_a, cnt_a) = once(lambda: eigsh_top(op.matvec, n))
        print(f"  top eigenvalue nnopt op + eigsh   {1e3 * t_a:9.1f}  ({cnt_a} HVPs)")
        for p in ps:
            mv = p["hvp_reuse"](theta) if "hvp_reuse" in p else (lambda w, p=p: p["hvp"](theta, w))
            t_p, (val, cnt) = once(lambda: eigsh_top(mv, n))
            assert abs(val - res.values[0]) <= 1e-6 * abs(res.values[0]), (val, res.values[0])
            print(f"  top eigenvalue {p['name']:<18s} eigsh {1e3 * t_p:9.1f}  ({cnt} HVPs)   ratio {t_p / t_s:6.2f}")


if __name__ == "__main__":
    main()
