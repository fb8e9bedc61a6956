"""Neural forms: nnopt.diffeq against PyTorch, JAX, NeuroDiffEq and DeepXDE.

Run:  python benchmarks/bench_diffeq.py [--quick] [--peer-python PATH] [--peer-budget SECONDS]

Part 1 -- one neural-form loss and its gradient (issue 9's workload): the
damped oscillator u'' + 0.4 u' + 4 u with the trial solution
u = 1 + (t/T)^2 N(t), MLP [1, 32, 32, 1] (tanh), 200 points, float64.
nnopt's compiled Taylor-mode path (:class:`nnopt.diffeq.ResidualSystem`,
:mod:`nnopt.diffeq.compiled`; float64 and float32), its NumPy Taylor-mode
path (``compiled=False``), nnopt's generic path (nested ``jvp`` inside
``grad``), the residual vector and its Jacobian (both Taylor paths),
PyTorch (``autograd.grad`` with ``create_graph``) and JAX
(``jit(value_and_grad)`` of nested ``grad``).
Values are checked against nnopt's before timing.

Part 2 -- solving u'' + 0.4 u' + 4 u = 0, u(0) = 1, u'(0) = 0 on [0, 2 pi]:
nnopt.diffeq.solve with its defaults (Levenberg-Marquardt, float64) over 5
seeds, and NeuroDiffEq (Solver1D defaults: Adam; float64, its default since
0.6) and DeepXDE (the documented Adam then L-BFGS recipe, float32) trained
for a time budget, reporting the max-abs error on 1001 points and the wall
time.

Peers are optional: the script imports them in this interpreter, or runs
itself under ``--peer-python`` (an environment with torch, jax,
neurodiffeq, deepxde); missing peers are reported as skipped.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from timing import median_time  # noqa: E402

T_END = 2 * np.pi
C, K = 0.4, 4.0
W = np.sqrt(K - C * C / 4)


def exact(t):
    return np.exp(-C * t / 2) * (np.cos(W * t) + C / (2 * W) * np.sin(W * t))


def common_weights(seed=0):
    """Weights of the MLP [1, 32, 32, 1] shared by all implementations (as lists)."""
    rng = np.random.default_rng(seed)
    sizes = [1, 32, 32, 1]
    Ws, bs = [], []
    for a, b in zip(sizes[:-1], sizes[1:]):
        Ws.append(rng.normal(0, np.sqrt(2 / (a + b)), (a, b)))
        bs.append(rng.normal(0, 0.1, b))
    return Ws, bs


def points(n=200):
    return np.linspace(0, T_END, n)


# ---------------------------------------------------------------------------
# part 1 peers (run in any interpreter with torch / jax)
# ---------------------------------------------------------------------------


def peer_torch_grad(min_time):
    import torch

    torch.set_num_threads(1)
    Ws, bs = common_weights()
    params = [torch.tensor(w, requires_grad=True) for w in Ws] + [torch.tensor(b, requires_grad=True) for b in bs]
    t = torch.tensor(points(), dtype=torch.float64)

    def loss_and_grad():
        tt = t.clone().requires_grad_(True)
        x = ((tt - T_END / 2) * (2 / T_END)).unsqueeze(1)
        h = x
        L = len(Ws)
        for i in range(L):
            h = h @ params[i] + params[L + i]
            if i < L - 1:
                h = torch.tanh(h)
        N = h[:, 0]
        s = tt / T_END
        u = 1 + s * s * N
        du = torch.autograd.grad(u.sum(), tt, create_graph=True)[0]
        ddu = torch.autograd.grad(du.sum(), tt, create_graph=True)[0]
        r = ddu + C * du + K * u
        loss = (r * r).mean()
        grads = torch.autograd.grad(loss, params)
        return loss, grads

    loss, _ = loss_and_grad()
    return {"loss": float(loss), "time": median_time(loss_and_grad, min_time)}


def peer_jax_grad(min_time):
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    Ws, bs = common_weights()
    params = [jnp.asarray(w) for w in Ws] + [jnp.asarray(b) for b in bs]
    t = jnp.asarray(points())
    L = len(Ws)

    def net_scalar(p, ti):
        h = jnp.reshape((ti - T_END / 2) * (2 / T_END), (1,))
        for i in range(L):
            h = h @ p[i] + p[L + i]
            if i < L - 1:
                h = jnp.tanh(h)
        s = ti / T_END
        return 1 + s * s * h[0]

    def loss(p):
        u = lambda ti: net_scalar(p, ti)  # noqa: E731
        du = jax.grad(u)
        ddu = jax.grad(du)
        r = jax.vmap(ddu)(t) + C * jax.vmap(du)(t) + K * jax.vmap(u)(t)
        return jnp.mean(r * r)

    vg = jax.jit(jax.value_and_grad(loss))
    v, _ = vg(params)

    def run():
        out = vg(params)
        jax.block_until_ready(out)

    return {"loss": float(v), "time": median_time(run, min_time)}


# ---------------------------------------------------------------------------
# part 2 peers: NeuroDiffEq and DeepXDE with their documented defaults
# ---------------------------------------------------------------------------


def peer_neurodiffeq(budget, seed=0):
    import torch
    from neurodiffeq import diff
    from neurodiffeq.conditions import IVP
    from neurodiffeq.solvers import Solver1D

    torch.manual_seed(seed)
    np.random.seed(seed)

    def ode(u, t):
        return [diff(u, t, order=2) + C * diff(u, t) + K * u]

    solver = Solver1D(ode_system=ode, conditions=[IVP(t_0=0.0, u_0=1.0, u_0_prime=0.0)], t_min=0.0, t_max=T_END)
    start = time.perf_counter()
    best = None
    epochs = 0
    tg = np.linspace(0, T_END, 1001)
    while time.perf_counter() - start < budget:
        solver.fit(max_epochs=500)
        epochs += 500
        u = solver.get_solution()(torch.tensor(tg, dtype=torch.get_default_dtype()), to_numpy=True)
        err = float(np.max(np.abs(np.asarray(u).ravel() - exact(tg))))
        best = err if best is None else min(best, err)
    return {"error": err, "best_error": best, "time": time.perf_counter() - start, "epochs": epochs,
            "settings": "Solver1D defaults: FCNN (32, 32) tanh, Adam lr 1e-3, 32 noisy equidistant points, "
                        f"{str(torch.get_default_dtype()).replace('torch.', '')} (neurodiffeq's default)"}


def peer_deepxde(budget, seed=0):
    os.environ.setdefault("DDE_BACKEND", "pytorch")
    import deepxde as dde

    dde.config.set_random_seed(seed)
    geom = dde.geometry.TimeDomain(0.0, T_END)

    def ode(t, y):
        dy = dde.grad.jacobian(y, t)
        d2y = dde.grad.hessian(y, t)
        return d2y + C * dy + K * y

    ic1 = dde.icbc.IC(geom, lambda x: 1.0, lambda _, on_initial: on_initial)

    def on_left(x, on_initial):
        return dde.utils.isclose(x[0], 0.0)

    ic2 = dde.icbc.OperatorBC(geom, lambda x, y, _: dde.grad.jacobian(y, x, i=0, j=None), on_left)
    data = dde.data.TimePDE(geom, ode, [ic1, ic2], num_domain=200, num_boundary=2,
                            solution=lambda t: exact(t), num_test=1001)
    net = dde.nn.FNN([1] + [50] * 3 + [1], "tanh", "Glorot uniform")
    model = dde.Model(data, net)
    tg = np.linspace(0, T_END, 1001)[:, None]
    start = time.perf_counter()
    model.compile("adam", lr=1e-3)
    model.train(iterations=10000, display_every=10**9, verbose=0)
    adam_error = float(np.max(np.abs(model.predict(tg).ravel() - exact(tg.ravel()))))
    adam_time = time.perf_counter() - start
    model.compile("L-BFGS")  # the documented recipe: Adam, then L-BFGS (DeepXDE's default limits)
    model.train(display_every=10**9, verbose=0)
    u = model.predict(tg).ravel()
    return {"error": float(np.max(np.abs(u - exact(tg.ravel())))), "time": time.perf_counter() - start,
            "adam_error": adam_error, "adam_time": adam_time,
            "settings": "FNN [1,50,50,50,1] tanh, Adam lr 1e-3 x 10000 then L-BFGS, 200 points, float32"}


PEERS = {
    "torch-grad": peer_torch_grad,
    "jax-grad": peer_jax_grad,
    "neurodiffeq": peer_neurodiffeq,
    "deepxde": peer_deepxde,
}


def run_peer(name, arg, peer_python):
    """Run a peer in-process if its modules import, else under ``peer_python``."""
    mod = {"torch-grad": "torch", "jax-grad": "jax", "neurodiffeq": "neurodiffeq", "deepxde": "deepxde"}[name]
    try:
        __import__(mod)
        return PEERS[name](arg)
    except ImportError:
        pass
    if not peer_python:
        return {"skipped": f"{mod} not installed (pass --peer-python)"}
    env = dict(os.environ, DDE_BACKEND="pytorch", OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", TQDM_DISABLE="1")
    cmd = [peer_python, os.path.abspath(__file__), "--peer", name, "--peer-arg", str(arg)]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=3600)
    except subprocess.TimeoutExpired:
        return {"skipped": "timed out"}
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
    if out.returncode != 0 or not lines:
        tail = (out.stderr or out.stdout).strip().splitlines()[-1:] or ["no output"]
        return {"skipped": f"{name} failed: {tail[0][:200]}"}
    return json.loads(lines[-1])


# ---------------------------------------------------------------------------
# nnopt
# ---------------------------------------------------------------------------


def nnopt_grad_workload(min_time):
    import nnopt
    import nnopt.numpy as nnp
    from nnopt import diffeq
    from nnopt.nn import MLP

    prob = diffeq.ODE(lambda t, u, du, ddu: ddu + C * du + K * u, (0.0, T_END), initial=(1.0, 0.0))
    net = MLP([1, 32, 32, 1], activation="tanh")
    Ws, bs = common_weights()
    theta = net.layout.flatten({"0.W": Ws[0], "0.b": bs[0], "1.W": Ws[1], "1.b": bs[1], "2.W": Ws[2], "2.b": bs[2]})
    P = points()[:, None]
    args = (prob, diffeq.TrialForm(prob), net, P, np.float64, [T_END / 2], [2 / T_END])
    fast = diffeq.ResidualSystem(*args)                        # the compiled path (chosen automatically)
    fast.check(theta)
    assert fast.compiled
    numpy_path = diffeq.ResidualSystem(*args, compiled=False)  # the NumPy Taylor-mode path
    numpy_path.check(theta)
    f32 = diffeq.ResidualSystem(prob, diffeq.TrialForm(prob), net, P.astype(np.float32), np.float32,
                                [T_END / 2], [2 / T_END])
    theta32 = theta.astype(np.float32)
    f32.check(theta32)
    n = P.shape[0]

    # the generic path: nested jvp over the points inside grad over the weights
    t = points()
    ones = np.ones_like(t)

    def generic_loss(th):
        def u(tt):
            s = tt / T_END
            return 1 + s * s * net(th, nnp.reshape((tt - T_END / 2) * (2 / T_END), (-1, 1)))[:, 0]

        def du(tt):
            return nnopt.jvp(u, (tt,), (ones,))

        (uu, d1), (_, d2) = nnopt.jvp(du, (t,), (ones,))
        r = d2 + C * d1 + K * uu
        return nnp.mean(r * r)

    vg_generic = nnopt.value_and_grad(generic_loss)
    v1, g1 = fast.value_and_grad(theta)
    v2, g2 = vg_generic(theta)
    v3, g3 = numpy_path.value_and_grad(theta)
    for v, g in ((v2, g2), (v3, g3)):
        assert abs(v1 - v) <= 1e-12 * abs(v), (v1, v)
        assert np.allclose(g1, g, rtol=1e-9, atol=1e-12 * np.abs(g).max())
    r1, J1 = fast.residual_and_jacobian(theta)
    r3, J3 = numpy_path.residual_and_jacobian(theta)
    assert np.allclose(r1, r3, rtol=1e-12, atol=1e-12 * np.abs(r3).max())
    assert np.allclose(J1, J3, rtol=1e-10, atol=1e-12 * np.abs(J3).max())
    v4, g4 = f32.value_and_grad(theta32)
    assert g4.dtype == np.float32 and abs(v4 - v1) <= 1e-4 * v1
    out = {
        "loss": float(v1),
        "fast": median_time(lambda: fast.value_and_grad(theta), min_time),
        "numpy": median_time(lambda: numpy_path.value_and_grad(theta), min_time),
        "float32": median_time(lambda: f32.value_and_grad(theta32), min_time),
        "generic": median_time(lambda: vg_generic(theta), min_time),
        "jacobian": median_time(lambda: (fast.residual(theta), fast.residual_and_jacobian(theta)), min_time),
        "jacobian_numpy": median_time(
            lambda: (numpy_path.residual(theta), numpy_path.residual_and_jacobian(theta)), min_time),
        "n": n,
    }
    return out


def nnopt_solve(seeds):
    from nnopt import diffeq

    prob = diffeq.ODE(lambda t, u, du, ddu: ddu + C * du + K * u, (0.0, T_END), initial=(1.0, 0.0), exact=exact)
    rows = []
    for seed in seeds:
        sol = diffeq.solve(prob, seed=seed)
        rows.append({"seed": seed, "error": sol.errors["max_abs"], "time": sol.time, "iterations": sol.nit})
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="short timings, one seed, no solver peers")
    ap.add_argument("--peer-python", default=None, help="python of an environment with the peers installed")
    ap.add_argument("--peer-budget", type=float, default=120.0,
                    help="seconds of NeuroDiffEq training (DeepXDE runs its fixed recipe)")
    ap.add_argument("--peer", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--peer-arg", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.peer:
        print(json.dumps(PEERS[args.peer](float(args.peer_arg))))
        return
    min_time = 0.05 if args.quick else 0.5
    print("Part 1: neural-form loss + gradient, u'' + 0.4u' + 4u, MLP [1,32,32,1] tanh, 200 points, float64")
    ours = nnopt_grad_workload(min_time)
    print(f"  nnopt compiled Taylor path    {ours['fast'] * 1e3:8.3f} ms   (loss {ours['loss']:.6e})")
    print(f"  nnopt compiled, float32       {ours['float32'] * 1e3:8.3f} ms")
    print(f"  nnopt NumPy Taylor path       {ours['numpy'] * 1e3:8.3f} ms   (compiled=False)")
    print(f"  nnopt generic (nested jvp)    {ours['generic'] * 1e3:8.3f} ms")
    print(f"  nnopt residual + Jacobian     {ours['jacobian'] * 1e3:8.3f} ms   (200 x 1153, for Levenberg-Marquardt)")
    print(f"    same, NumPy Taylor path     {ours['jacobian_numpy'] * 1e3:8.3f} ms")
    for name in ("torch-grad", "jax-grad"):
        res = run_peer(name, min_time, args.peer_python)
        if "skipped" in res:
            print(f"  {name:29s} skipped: {res['skipped']}")
            continue
        ok = abs(res["loss"] - ours["loss"]) <= 1e-9 * abs(ours["loss"])
        print(f"  {name:29s} {res['time'] * 1e3:8.3f} ms   (loss {'agrees' if ok else 'DIFFERS: %r' % res['loss']};"
              f" nnopt/peer = {ours['fast'] / res['time']:.2f})")
    print()
    print("Part 2: u'' + 0.4u' + 4u = 0, u(0)=1, u'(0)=0 on [0, 2pi]; max-abs error on 1001 points")
    seeds = [0] if args.quick else list(range(5))
    rows = nnopt_solve(seeds)
    errs = np.array([r["error"] for r in rows])
    times = np.array([r["time"] for r in rows])
    for r in rows:
        print(f"  nnopt solve (defaults) seed {r['seed']}: error {r['error']:.2e}  time {r['time']:.1f} s  "
              f"({r['iterations']} LM iterations)")
    print(f"  nnopt median error {np.median(errs):.2e}, worst {errs.max():.2e}, median time {np.median(times):.1f} s")
    if args.quick:
        return
    for name in ("neurodiffeq", "deepxde"):
        res = run_peer(name, args.peer_budget, args.peer_python)
        if "skipped" in res:
            print(f"  {name:12s} skipped: {res['skipped']}")
            continue
        print(f"  {name:12s} error {res['error']:.2e}  time {res['time']:.1f} s   [{res['settings']}]")
        if "adam_error" in res:
            print(f"  {'':12s} (after the Adam stage: error {res['adam_error']:.2e} at {res['adam_time']:.1f} s)")
        print(f"  {'':12s} nnopt worst error is {res['error'] / errs.max():.0f}x smaller, "
              f"median time {res['time'] / np.median(times):.1f}x shorter")


if __name__ == "__main__":
    main()
