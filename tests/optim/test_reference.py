"""First steps of every optimizer against references written from the papers'
equations (and, for the methods PyTorch has, torch.optim's documented update
rule) as independent plain loops; float64, relative error <= 1e-12."""
import numpy as np
import pytest

import nnopt.optim as optim

N = 5
RNG = np.random.default_rng(42)
A = RNG.standard_normal((N, N))
A = A @ A.T + np.eye(N)
B = RNG.standard_normal(N)
X0 = RNG.standard_normal(N)
STEPS = 6


def grad(x, k):
    # a quadratic's gradient plus a k-dependent offset, so that moments and maxima
    # see non-monotone sequences
    return A @ x - B + np.sin(3.0 * k)


def run_nnopt(opt, steps=STEPS, x0=X0):
    x = x0.copy()
    s = opt.init(x)
    out = [x]
    for k in range(steps):
        u, s = opt.update(grad(x, k), s, x)
        x = optim.apply_updates(x, u)
        out.append(x)
    return np.array(out)


def run_ref(step_fn, steps=STEPS, x0=X0):
    x = x0.copy()
    st = {}
    out = [x]
    for k in range(steps):
        x = step_fn(x, grad(x, k), k + 1, st)
        out.append(x)
    return np.array(out)


def assert_close(a, b):
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


# ---------------------------------------------------------------------------
# references (t counts from 1)
# ---------------------------------------------------------------------------


def ref_sgd(lr, mu=0.0, nesterov=False, damp=0.0, wd=0.0):
    def step(x, g, t, st):
        g = g + wd * x
        if mu:
            st["b"] = g.copy() if t == 1 else mu * st["b"] + (1 - damp) * g
            g = g + mu * st["b"] if nesterov else st["b"]
        return x - lr * g
    return step


def ref_adagrad(lr, lr_decay=0.0, wd=0.0, acc0=0.0, eps=1e-10):
    def step(x, g, t, st):
        g = g + wd * x
        st["s"] = st.get("s", np.full(N, acc0)) + g ** 2
        clr = lr / (1 + (t - 1) * lr_decay)
        return x - clr * g / (np.sqrt(st["s"]) + eps)
    return step


def ref_rmsprop(lr, alpha=0.99, eps=1e-8, wd=0.0, mu=0.0, centered=False):
    def step(x, g, t, st):
        g = g + wd * x
        st["v"] = alpha * st.get("v", 0.0) + (1 - alpha) * g ** 2
        v = st["v"]
        if centered:
            st["m"] = alpha * st.get("m", 0.0) + (1 - alpha) * g
            v = v - st["m"] ** 2
        d = g / (np.sqrt(v) + eps)
        if mu:
            st["b"] = mu * st.get("b", 0.0) + d
            d = st["b"]
        return x - lr * d
    return step


def ref_adam(lr, b1=0.9, b2=0.999, eps=1e-8, wd=0.0, decoupled=False, ams=False):
    def step(x, g, t, st):
        if wd and not decoupled:
            g = g + wd * x
        st["m"] = b1 * st.get("m", 0.0) + (1 - b1) * g
        st["v"] = b2 * st.get("v", 0.0) + (1 - b2) * g ** 2
        v = st["v"]
        if ams:
            st["vmax"] = np.maximum(st.get("vmax", 0.0), v)
            v = st["vmax"]
        mhat = st["m"] / (1 - b1 ** t)
        step_ = mhat / (np.sqrt(v) / np.sqrt(1 - b2 ** t) + eps)
        if decoupled:
            x = x * (1 - lr * wd)
        return x - lr * step_
    return step


def ref_adamax(lr, b1=0.9, b2=0.999, eps=1e-8):
    def step(x, g, t, st):
        st["m"] = b1 * st.get("m", 0.0) + (1 - b1) * g
        st["u"] = np.maximum(b2 * st.get("u", 0.0), np.abs(g) + eps)
        return x - lr / (1 - b1 ** t) * st["m"] / st["u"]
    return step


def ref_nadam(lr, b1=0.9, b2=0.999, eps=1e-8, psi=4e-3):
    def step(x, g, t, st):
        mu = b1 * (1 - 0.5 * 0.96 ** (t * psi))
        mu1 = b1 * (1 - 0.5 * 0.96 ** ((t + 1) * psi))
        st["prod"] = st.get("prod", 1.0) * mu
        st["m"] = b1 * st.get("m", 0.0) + (1 - b1) * g
        st["v"] = b2 * st.get("v", 0.0) + (1 - b2) * g ** 2
        D = np.sqrt(st["v"] / (1 - b2 ** t)) + eps
        return (x - lr * (1 - mu) / (1 - st["prod"]) * g / D
                - lr * mu1 / (1 - st["prod"] * mu1) * st["m"] / D)
    return step


def ref_adadelta(lr=1.0, rho=0.9, eps=1e-6):
    def step(x, g, t, st):
        st["v"] = rho * st.get("v", 0.0) + (1 - rho) * g ** 2
        d = np.sqrt(st.get("a", 0.0) + eps) / np.sqrt(st["v"] + eps) * g
        st["a"] = rho * st.get("a", 0.0) + (1 - rho) * d ** 2
        return x - lr * d
    return step


TORCH_TABLE = [
    ("sgd", optim.sgd(0.01), ref_sgd(0.01)),
    ("momentum", optim.sgd(0.01, momentum=0.9), ref_sgd(0.01, 0.9)),
    ("momentum-dampening-wd", optim.sgd(0.01, 0.9, dampening=0.3, weight_decay=0.1),
     ref_sgd(0.01, 0.9, damp=0.3, wd=0.1)),
    ("nesterov", optim.sgd(0.01, 0.9, nesterov=True), ref_sgd(0.01, 0.9, True)),
    ("adagrad", optim.adagrad(0.1), ref_adagrad(0.1)),
    ("adagrad-all", optim.adagrad(0.1, lr_decay=0.05, weight_decay=0.1, initial_accumulator_value=0.3),
     ref_adagrad(0.1, 0.05, 0.1, 0.3)),
    ("rmsprop", optim.rmsprop(0.01), ref_rmsprop(0.01)),
    ("rmsprop-centered-momentum", optim.rmsprop(0.01, momentum=0.5, centered=True, weight_decay=0.1),
     ref_rmsprop(0.01, wd=0.1, mu=0.5, centered=True)),
    ("adam", optim.adam(0.01), ref_adam(0.01)),
    ("adam-wd", optim.adam(0.01, weight_decay=0.1), ref_adam(0.01, wd=0.1)),
    ("adamw", optim.adamw(0.01), ref_adam(0.01, wd=1e-2, decoupled=True)),
    ("amsgrad", optim.amsgrad(0.01), ref_adam(0.01, ams=True)),
    ("adamax", optim.adamax(0.01), ref_adamax(0.01)),
    ("nadam", optim.nadam(0.01), ref_nadam(0.01)),
    ("adadelta", optim.adadelta(), ref_adadelta()),
]


@pytest.mark.parametrize("name,opt,ref", TORCH_TABLE, ids=[t[0] for t in TORCH_TABLE])
def test_torch_methods_match_paper_equations(name, opt, ref):
    assert_close(run_nnopt(opt), run_ref(ref))


def test_torch_defaults():
    # default hyperparameters equal torch.optim's
    cases = [
        (optim.sgd(), ref_sgd(1e-3)),
        (optim.adagrad(), ref_adagrad(1e-2)),
        (optim.rmsprop(), ref_rmsprop(1e-2)),
        (optim.adam(), ref_adam(1e-3)),
        (optim.adamw(), ref_adam(1e-3, wd=1e-2, decoupled=True)),
        (optim.adamax(), ref_adamax(2e-3)),
        (optim.nadam(), ref_nadam(2e-3)),
        (optim.adadelta(), ref_adadelta(1.0)),
    ]
    for opt, ref in cases:
        assert_close(run_nnopt(opt), run_ref(ref))


def test_amsgrad_variants_differ_and_match_their_equations():
    b1, b2, eps, lr = 0.9, 0.999, 1e-8, 0.01

    def ref(x, g, t, st):
        st["m"] = b1 * st.get("m", 0.0) + (1 - b1) * g
        st["v"] = b2 * st.get("v", 0.0) + (1 - b2) * g ** 2
        st["vmax"] = np.maximum(st.get("vmax", 0.0), st["v"] / (1 - b2 ** t))
        return x - lr * st["m"] / (1 - b1 ** t) / (np.sqrt(st["vmax"]) + eps)

    corrected = run_nnopt(optim.amsgrad(lr, amsgrad_max="corrected"), steps=20)
    assert_close(corrected, run_ref(ref, steps=20))
    assert not np.allclose(corrected, run_nnopt(optim.amsgrad(lr), steps=20), rtol=1e-9, atol=0)


def test_nadam_optax_variant():
    b1, b2, eps, lr = 0.9, 0.999, 1e-8, 0.01

    def ref(x, g, t, st):
        st["m"] = b1 * st.get("m", 0.0) + (1 - b1) * g
        st["v"] = b2 * st.get("v", 0.0) + (1 - b2) * g ** 2
        mhat = b1 * st["m"] / (1 - b1 ** (t + 1)) + (1 - b1) * g / (1 - b1 ** t)
        return x - lr * mhat / (np.sqrt(st["v"] / (1 - b2 ** t)) + eps)

    assert_close(run_nnopt(optim.nadam(lr, variant="optax")), run_ref(ref))


# ---------------------------------------------------------------------------
# the literature's methods
# ---------------------------------------------------------------------------


def test_delayed_adagrad():
    a, beta, p = 0.1, 1.0, 0.6

    def ref(x, g, t, st):
        S = st.get("S", np.zeros(N))
        x = x - a * g / (beta + S) ** p
        st["S"] = S + g ** 2
        return x

    def ref_global(x, g, t, st):
        S = st.get("S", 0.0)
        x = x - a * g / (beta + S) ** p
        st["S"] = S + g @ g
        return x

    assert_close(run_nnopt(optim.delayed_adagrad(a, beta, p)), run_ref(ref))
    assert_close(run_nnopt(optim.delayed_adagrad(a, beta, p, coordinate_wise=False)),
                 run_ref(ref_global))


def test_generalized_signsgd_and_signsgd():
    lr, b1, b2, eps = 0.01, 0.8, 0.95, 1e-8

    def ref(x, g, t, st):
        st["m"] = b1 * st.get("m", 0.0) + (1 - b1) * g
        st["v"] = b2 * st.get("v", 0.0) + (1 - b2) * g ** 2
        return x - lr * st["m"] / (np.sqrt(st["v"]) + eps)

    assert_close(run_nnopt(optim.generalized_signsgd(lr, b1, b2, eps)), run_ref(ref))
    assert_close(run_nnopt(optim.signsgd(lr)), run_ref(lambda x, g, t, st: x - lr * np.sign(g)))
    # sign(0) = 0
    opt = optim.signsgd(1.0)
    u, _ = opt.update(np.array([0.0, 2.0, -3.0]), opt.init(np.zeros(3)), np.zeros(3))
    np.testing.assert_array_equal(u, [0.0, -1.0, 1.0])


def ref_lars(lr, mu, wd, eta, blocks):
    def step(x, g, t, st):
        d = np.empty(N)
        for s in blocks:
            wn, gn = np.linalg.norm(x[s]), np.linalg.norm(g[s])
            lam = eta * wn / (gn + wd * wn)
            d[s] = lam * (g[s] + wd * x[s])
        st["v"] = lr * d if t == 1 else mu * st["v"] + lr * d
        return x - st["v"]
    return step


def test_lars_paper_algorithm_with_blocks():
    lr, mu, wd, eta = 0.5, 0.9, 0.01, 0.001
    blocks = [slice(0, 2), slice(2, 5)]
    assert_close(run_nnopt(optim.lars(lr, mu, weight_decay=wd, blocks=blocks)),
                 run_ref(ref_lars(lr, mu, wd, eta, blocks)))
    # (start, stop) pairs in any order work too
    assert_close(run_nnopt(optim.lars(lr, mu, weight_decay=wd, blocks=[(2, 5), (0, 2)])),
                 run_ref(ref_lars(lr, mu, wd, eta, blocks)))
    # one block by default
    assert_close(run_nnopt(optim.lars(lr, mu, weight_decay=wd)),
                 run_ref(ref_lars(lr, mu, wd, eta, [slice(0, N)])))


def test_lamb_paper_algorithm():
    lr, b1, b2, eps, wd = 0.01, 0.9, 0.999, 1e-6, 0.01

    def ref(x, g, t, st):
        st["m"] = b1 * st.get("m", 0.0) + (1 - b1) * g
        st["v"] = b2 * st.get("v", 0.0) + (1 - b2) * g ** 2
        r = (st["m"] / (1 - b1 ** t)) / (np.sqrt(st["v"] / (1 - b2 ** t)) + eps) + wd * x
        return x - lr * np.linalg.norm(x) / np.linalg.norm(r) * r

    assert_close(run_nnopt(optim.lamb(lr, b1, b2, eps, weight_decay=wd)), run_ref(ref))


def test_padam():
    lr, b1, b2, eps, p = 0.01, 0.9, 0.999, 1e-8, 0.125

    def ref(x, g, t, st):
        st["m"] = b1 * st.get("m", 0.0) + (1 - b1) * g
        st["v"] = b2 * st.get("v", 0.0) + (1 - b2) * g ** 2
        st["vmax"] = np.maximum(st.get("vmax", 0.0), st["v"])
        return x - lr * (st["m"] / (1 - b1 ** t)) / ((st["vmax"] / (1 - b2 ** t)) ** p + eps)

    assert_close(run_nnopt(optim.padam(lr, partial=p)), run_ref(ref))


def test_normalized_and_sqrt_loss_gd():
    lr = 0.05
    assert_close(run_nnopt(optim.normalized_gd(lr)),
                 run_ref(lambda x, g, t, st: x - lr * g / np.linalg.norm(g)))
    # GD on sqrt(L) for L = 1/2 ||x - c||^2
    c = np.arange(N, dtype=float)
    opt = optim.sqrt_loss_gd(lr)
    x, s = X0.copy(), opt.init(X0)
    xr = X0.copy()
    for _ in range(STEPS):
        L = 0.5 * np.sum((x - c) ** 2)
        u, s = opt.update(x - c, s, x, value=L)
        x = x + u
        Lr = 0.5 * np.sum((xr - c) ** 2)
        xr = xr - lr * (xr - c) / (2 * np.sqrt(Lr))
        assert_close(x, xr)


def test_sibert_clipping():
    lr, wd = 0.1, 0.01

    def ref(x, g, t, st):
        C = np.linalg.norm(x) * np.sqrt(2 * wd / lr)
        gn = np.linalg.norm(g)
        if gn > C:
            g = g * C / gn
        return x - lr * (g + wd * x)

    traj = run_nnopt(optim.sibert_sgd(lr, wd))
    assert_close(traj, run_ref(ref))
    # the rule is active on this problem (the gradient is larger than the threshold)
    assert np.linalg.norm(grad(X0, 0)) > np.linalg.norm(X0) * np.sqrt(2 * wd / lr)


class QuadOracle:
    """f(x) = 1/2 x^T A x - B^T x (no offset), for methods that evaluate elsewhere."""

    def value_and_grad(self, x):
        return 0.5 * x @ A @ x - B @ x, A @ x - B


def test_sam_first_steps():
    lr, rho = 0.05, 0.1
    opt = optim.sam(optim.sgd(lr), rho=rho)
    x = X0.copy()
    s = opt.init(x)
    xr = X0.copy()
    o = QuadOracle()
    for _ in range(STEPS):
        _, g = o.value_and_grad(x)
        u, s = opt.update(g, s, x, oracle=o)
        x = x + u
        gr = A @ xr - B
        e = rho * gr / np.linalg.norm(gr)
        xr = xr - lr * (A @ (xr + e) - B)
        assert_close(x, xr)


def test_step_tuned_sgd_first_steps():
    alpha, nu, beta, m, M, delta = 0.05, 2.0, 0.9, 0.5, 2.0, 0.001
    opt = optim.step_tuned_sgd(alpha, nu, beta, m, M, delta)
    o = QuadOracle()
    x = X0.copy()
    s = opt.init(x)
    xr, gam, G = X0.copy(), 1.0, np.zeros(N)
    for k in range(STEPS):
        _, g = o.value_and_grad(x)
        u, s = opt.update(g, s, x, oracle=o)
        x = x + u
        eta = alpha * gam / (k + 1) ** (0.5 + delta)
        g0 = A @ xr - B
        xh = xr - eta * g0
        gh = A @ xh - B
        xr = xh - eta * gh
        dth, dg = xh - (xh + eta * g0), gh - g0
        G = beta * G + (1 - beta) * dg
        Gh = G / (1 - beta ** (k + 1))
        sdot = Gh @ dth
        gam = min(max(dth @ dth / sdot if sdot > 0 else nu, m), M)
        assert_close(x, xr)
        assert float(s.gamma) == pytest.approx(gam, rel=1e-12)


def test_entropy_sgd_without_noise():
    lr, gamma, L, lr_in, alpha = 0.5, 0.1, 3, 0.05, 0.75
    opt = optim.entropy_sgd(lr, gamma=gamma, gamma_growth=0.0, langevin_steps=L,
                            langevin_lr=lr_in, noise=0.0, alpha=alpha)
    o = QuadOracle()
    x = X0.copy()
    s = opt.init(x)
    xr = X0.copy()
    for _ in range(3):
        _, g = o.value_and_grad(x)
        u, s = opt.update(g, s, x, oracle=o)
        x = x + u
        xp, mu = xr.copy(), xr.copy()
        for _ in range(L):
            dx = (A @ xp - B) - gamma * (xr - xp)
            xp = xp - lr_in * dx
            mu = (1 - alpha) * mu + alpha * xp
        xr = xr - lr * gamma * (xr - mu)
        assert_close(x, xr)


def test_replicated_sgd_full_batch():
    lr, gamma, y = 0.05, 0.3, 3
    opt = optim.replicated_sgd(lr, n_replicas=y, gamma=gamma, gamma_growth=0.0, init_noise=0.1,
                               seed=3)
    o = QuadOracle()
    x = X0.copy()
    s = opt.init(x)
    W = s.replicas.copy()
    assert W.shape == (y, N) and np.all(np.std(W, axis=0) > 0)  # replicas start apart
    xc = X0.copy()
    for _ in range(3):
        u, s = opt.update(o.value_and_grad(x)[1], s, x, oracle=o)
        x = x + u
        W = np.array([w - lr * ((A @ w - B) + gamma * (w - xc)) for w in W])
        xc = W.mean(axis=0)
        assert_close(x, xc)
        assert_close(s.replicas, W)


def test_lookahead_and_averages():
    lr, k, alpha = 0.01, 3, 0.5
    opt = optim.lookahead(optim.sgd(lr), sync_period=k, alpha=alpha)

    def ref(x, g, t, st):
        st.setdefault("slow", X0.copy())
        x = x - lr * g
        if t % k == 0:
            st["slow"] = st["slow"] + alpha * (x - st["slow"])
            x = st["slow"].copy()
        return x

    assert_close(run_nnopt(opt, steps=7), run_ref(ref, steps=7))

    # tail averaging and EMA track the iterates of the inner optimizer unchanged
    inner = run_nnopt(optim.sgd(lr), steps=8)
    x = X0.copy()
    opt = optim.tail_average(optim.sgd(lr), start=2, every=2)
    s = opt.init(x)
    for kk in range(8):
        u, s = opt.update(grad(x, kk), s, x)
        x = x + u
    assert_close(x, inner[-1])
    # averaged after steps 2, 4, 6 -> iterates 3, 5, 7
    assert_close(optim.averaged_params(s), inner[[3, 5, 7]].mean(axis=0))
    d = 0.9
    opt = optim.ema_average(optim.sgd(lr), decay=d)
    x, s = X0.copy(), opt.init(X0)
    e = np.zeros(N)
    for kk in range(8):
        u, s = opt.update(grad(x, kk), s, x)
        x = x + u
        e = d * e + (1 - d) * x
    assert_close(optim.averaged_params(s), e / (1 - d ** 8))


def test_gadam_is_adamw_plus_average():
    x0 = X0.copy()
    plain = run_nnopt(optim.adamw(0.01, weight_decay=0.1), steps=6)
    opt = optim.gadam(0.01, weight_decay=0.1, average_start=3)
    x, s = x0, opt.init(x0)
    for kk in range(6):
        u, s = opt.update(grad(x, kk), s, x)
        x = x + u
    assert_close(x, plain[-1])
    assert_close(optim.averaged_params(s), plain[4:7].mean(axis=0))


def test_gradient_noise_statistics_and_determinism():
    eta, gam = 0.3, 0.55
    opt = optim.add_noise(eta, gam, seed=7)
    n = 200_000
    z = np.zeros(n)
    s = opt.init(z)
    u0, s1 = opt.update(z, s, z)
    u1, _ = opt.update(z, s1, z)
    # sample std within 1% of sqrt(eta / (1 + t)^gamma)
    assert np.std(u0) == pytest.approx(np.sqrt(eta), rel=0.01)
    assert np.std(u1) == pytest.approx(np.sqrt(eta / 2 ** gam), rel=0.01)
    u0b, _ = opt.update(z, s, z)
    np.testing.assert_array_equal(u0, u0b)
