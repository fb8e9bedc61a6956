"""Capture of layer inputs / pre-activation gradients, Kronecker factors
against brute-force per-example sums and the exact Fisher, the
Gauss-Newton matrix and the output-space loss derivatives."""
import numpy as np
import pytest

import nnopt
import nnopt.numpy as nnp
from nnopt.nn import Activation, Dense, Sequential
from nnopt.nn.conv import Conv2D, conv2d
from nnopt.nn.normalization import BatchNorm, StatefulSequential
from nnopt.nn.pooling import AvgPool2D, Flatten
from nnopt.nn.zoo import Residual
from nnopt.secondorder import Capture, GaussNewton, kfac, kronecker_blocks, kronecker_matrix, losses
from nnopt.secondorder.capture import from_matrix, to_matrix
from nnopt.secondorder.kfac import sample_passes
from nnopt.secondorder.kronecker import factors

RNG = np.random.default_rng(0)

def _first(opt, g, theta, **kw):
    """One update from the optimizer's own initial state."""
    return opt.update(g, opt.init(theta), theta, **kw)



def _mlp_obj(loss="cross_entropy", n=9):
    net = Sequential(Dense(4, 5, "tanh"), Dense(5, 3, "sigmoid"), Dense(3, 3))
    X = RNG.normal(size=(n, 4))
    Y = RNG.integers(0, 3, n) if loss == "cross_entropy" else RNG.uniform(size=(n, 3))
    return nnopt.Objective(net, loss, X, Y)


def _cnn_obj():
    net = Sequential(Conv2D(2, 3, (3, 2), stride=(1, 2), padding=1, activation="tanh"), AvgPool2D(2),
                     Conv2D(3, 2, 2, dilation=1), Flatten(), Dense(2 * 2 * 1, 3), input_shape=(2, 7, 8))
    X = RNG.normal(size=(5, 2, 7, 8))
    return nnopt.Objective(net, "cross_entropy", X, RNG.integers(0, 3, 5))


def _bn_obj():
    net = StatefulSequential(Dense(4, 6, bias=False), BatchNorm(6, affine=False), Activation("elu"),
                             Dense(6, 2, activation="gelu"), Dense(2, 2))
    X = RNG.normal(size=(8, 4))
    return nnopt.Objective(net, "mse", X, RNG.normal(size=(8, 2)))


@pytest.mark.parametrize("make", [_mlp_obj, _cnn_obj, _bn_obj])
@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_capture_reproduces_output_and_gradient(make, backend):
    obj = make()
    theta = obj.net.init(seed=2)
    with nnopt.config.using(backend=backend):
        cap = Capture(obj.net, theta, obj.X)
        np.testing.assert_allclose(cap.out, obj.net(theta, obj.X), rtol=1e-13, atol=1e-14)
        gs = cap.backward(losses.per_example_grad(obj.loss_name, cap.out, obj.Y))
        np.testing.assert_allclose(cap.gradient(gs, obj.n_params), obj.jac(theta), rtol=1e-10, atol=1e-14)


def test_matrix_view_round_trip_and_gradient_formula():
    obj = _cnn_obj()
    theta = obj.net.init(seed=0)
    blocks = kronecker_blocks(obj.net)
    assert [b.kind for b in blocks] == ["conv2d", "conv2d", "dense"]
    assert [(b.n_out, b.a_dim) for b in blocks] == [(3, 2 * 3 * 2 + 1), (2, 3 * 4 + 1), (3, 5)]
    v = RNG.normal(size=obj.n_params)
    for b in blocks:
        M = to_matrix(b, v[b.slice])
        assert M.shape == (b.n_out, b.a_dim)
        np.testing.assert_array_equal(from_matrix(b, M), v[b.slice])
    # the bias is the last column; Dense W is (n_in, n_out) so M = [W; b]^T
    p = obj.net.layout.unflatten(theta)
    np.testing.assert_array_equal(to_matrix(blocks[2], theta[blocks[2].slice]), np.vstack([p["4.W"], p["4.b"]]).T)
    np.testing.assert_array_equal(to_matrix(blocks[0], theta[blocks[0].slice])[:, -1], p["0.b"])


# ---------------------------------------------------------------------------
# brute force: per-example loops with probes added to the pre-activations
# ---------------------------------------------------------------------------


def _per_example_stats(obj, theta):
    """A_l, G_l (empirical Fisher) from explicit per-example gradients dl_n/dz_l."""
    net = obj.net
    p = net.unflatten(theta)
    kinds = [layer for layer in net.layers if isinstance(layer, (Dense, Conv2D))]
    A = [0.0] * len(kinds)
    G = [0.0] * len(kinds)
    N = obj.X.shape[0]
    for n in range(N):
        xn, yn = obj.X[n:n + 1], obj.Y[n:n + 1]
        inputs = []

        def loss(*probes, record=False):
            x, k = xn, 0
            for layer, pl in zip(net.layers, p):
                if isinstance(layer, Dense):
                    if record:
                        inputs.append(np.append(x[0], 1.0))
                    x = layer._act_fn(x @ pl["W"] + pl["b"] + probes[k])
                    k += 1
                elif isinstance(layer, Conv2D):
                    if record:
                        inputs.append(_patches_loop(x, layer))
                    x = layer._act_fn(conv2d(x, pl["W"], pl["b"], layer.stride, layer.padding, layer.dilation) + probes[k])
                    k += 1
                else:
                    x = layer.apply(pl, x)
            return obj.loss(x, yn)

        # shapes of the pre-activations, from one recording pass
        shapes = []
        x = xn
        for layer, pl in zip(net.layers, p):
            if isinstance(layer, (Dense, Conv2D)):
                z = layer.preactivation(pl, x) if isinstance(layer, Conv2D) else x @ pl["W"] + pl["b"]
                shapes.append(z.shape)
                x = layer._act_fn(z)
            else:
                x = layer.apply(pl, x)
        zeros = tuple(np.zeros(s) for s in shapes)
        loss(*zeros, record=True)
        grads = nnopt.grad(loss, argnums=tuple(range(len(zeros))))(*zeros)
        for k, g in enumerate(grads):
            rows_g = g.reshape(-1, 1).T if g.ndim == 2 else g[0].reshape(g.shape[1], -1).T
            rows_a = inputs[k][None, :] if inputs[k].ndim == 1 else inputs[k]
            A[k] = A[k] + rows_a.T @ rows_a / N
            G[k] = G[k] + rows_g.T @ rows_g / (N * rows_g.shape[0])
    return A, G


def _patches_loop(x, layer):
    """Rows (one per output pixel) of receptive fields, by direct loops, with the 1."""
    _, C, H, W = x.shape
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = layer.kernel_size, layer.stride, layer.padding, layer.dilation
    OH, OW = layer.output_shape((C, H, W))[1:]
    rows = []
    for p_ in range(OH):
        for q in range(OW):
            row = []
            for c in range(C):
                for i in range(kh):
                    for j in range(kw):
                        r, s = p_ * sh + i * dh - ph, q * sw + j * dw - pw
                        row.append(x[0, c, r, s] if 0 <= r < H and 0 <= s < W else 0.0)
            rows.append(row + [1.0])
    return np.array(rows)


@pytest.mark.parametrize("make", [_mlp_obj, _cnn_obj])
def test_factors_match_brute_force_per_example_sums(make):
    obj = make()
    theta = obj.net.init(seed=3)
    cap = Capture(obj.net, theta, obj.X)
    A, G = factors(cap, sample_passes(cap, obj, "empirical", None))
    A_bf, G_bf = _per_example_stats(obj, theta)
    for a, g, ab, gb in zip(A, G, A_bf, G_bf):
        np.testing.assert_allclose(a, ab, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(g, gb, rtol=1e-10, atol=1e-14)


def test_kfac_state_factors_are_the_batch_factors_on_the_first_step():
    obj = _mlp_obj()
    theta = obj.net.init(seed=3)
    opt = kfac(fisher="empirical")
    _, state = opt.update(obj.jac(theta), opt.init(theta), theta, oracle=obj)
    A_bf, G_bf = _per_example_stats(obj, theta)
    for a, g, ab, gb in zip(state.A, state.G, A_bf, G_bf):
        np.testing.assert_allclose(a, ab, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(g, gb, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("loss", ["mse", "cross_entropy", "binary_cross_entropy"])
def test_kronecker_factors_are_exact_for_one_example_through_a_linear_network(loss):
    net = Sequential(Dense(3, 4), Dense(4, 3))
    X = RNG.normal(size=(1, 3))
    Y = RNG.integers(0, 3, 1) if loss == "cross_entropy" else RNG.uniform(size=(1, 3))
    obj = nnopt.Objective(net, loss, X, Y)
    theta = net.init(seed=4)
    cap = Capture(net, theta, X)
    A, G = factors(cap, sample_passes(cap, obj, "exact", None))
    F = GaussNewton(obj, theta).dense()
    for blk, a, g in zip(kronecker_blocks(net), A, G):
        block = F[blk.slice, blk.slice]
        np.testing.assert_allclose(kronecker_matrix(blk, a, g), block, rtol=1e-12, atol=1e-14)


def test_kronecker_approximation_is_not_exact_for_a_batch():
    """With many examples the block is a sum of Kronecker products, not one."""
    obj = _mlp_obj("mse", n=20)
    theta = obj.net.init(seed=1)
    cap = Capture(obj.net, theta, obj.X)
    A, G = factors(cap, sample_passes(cap, obj, "exact", None))
    F = GaussNewton(obj, theta).dense()
    blk = kronecker_blocks(obj.net)[0]
    diff = np.abs(kronecker_matrix(blk, A[0], G[0]) - F[blk.slice, blk.slice]).max()
    assert diff > 1e-3 * np.abs(F[blk.slice, blk.slice]).max()


# ---------------------------------------------------------------------------
# Gauss-Newton matrix and output-space derivatives
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("loss", ["mse", "cross_entropy", "binary_cross_entropy"])
def test_gauss_newton_against_jacobian_and_output_hessian(loss):
    obj = _mlp_obj(loss, n=4)
    obj = nnopt.Objective(obj.net, loss, obj.X, obj.Y, weight_decay=0.01)
    theta = obj.net.init(seed=5)
    f = lambda th: obj.net(th, obj.X)  # noqa: E731
    J = nnopt.jacobian(f)(theta)  # (N, d, P)
    out = f(theta)
    H = nnopt.hessian(lambda o: obj.loss(o, obj.Y))(out)  # of the mean loss: (N, d, N, d)
    expect = np.einsum("ndp,ndme,meq->pq", J, H, J) + 0.01 * np.eye(obj.n_params)
    GN = GaussNewton(obj, theta)
    np.testing.assert_allclose(GN.dense(), expect, rtol=1e-10, atol=1e-13)
    v = RNG.normal(size=obj.n_params)
    np.testing.assert_allclose(GN.matvec(v), expect @ v, rtol=1e-10, atol=1e-13)


def test_gauss_newton_is_the_hessian_of_a_linear_least_squares_problem():
    net = Sequential(Dense(3, 2))
    X, Y = RNG.normal(size=(10, 3)), RNG.normal(size=(10, 2))
    obj = nnopt.Objective(net, "mse", X, Y)
    theta = net.init(seed=0)
    np.testing.assert_allclose(GaussNewton(obj, theta).dense(), obj.hess(theta), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("loss", ["mse", "cross_entropy", "binary_cross_entropy"])
def test_output_space_derivatives(loss):
    N, d = 5, 3
    f = RNG.normal(size=(N, d))
    Y = RNG.integers(0, d, N) if loss == "cross_entropy" else RNG.uniform(size=(N, d))
    fn = nnopt.nn.losses.get(loss)[1]
    g = nnopt.grad(lambda o: fn(o, Y))(f)
    np.testing.assert_allclose(losses.per_example_grad(loss, f, Y), N * g, rtol=1e-12, atol=1e-15)
    H = nnopt.hessian(lambda o: fn(o, Y))(f) * N  # per-example blocks on the diagonal
    B = losses.hessian_factors(loss, f)
    V = RNG.normal(size=(N, d))
    for n in range(N):
        Hn = H[n, :, n, :]
        np.testing.assert_allclose(np.einsum("ki,kj->ij", B[:, n], B[:, n]), Hn, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(losses.hessian_vp(loss, f, V)[n], Hn @ V[n], rtol=1e-12, atol=1e-15)
    # sampled output gradients: second moment equals H_n (Monte Carlo, 40000 draws)
    rng = np.random.default_rng(0)
    fbig = np.repeat(f[:1], 40000, axis=0)
    s = losses.sample_grad(loss, fbig, rng)
    M = s.T @ s / s.shape[0]
    H0 = H[0, :, 0, :]
    assert np.abs(M - H0).max() < 0.03 * np.abs(H0).max()
    assert losses.sample_grad(loss, f.astype(np.float32), rng).dtype == np.float32


# ---------------------------------------------------------------------------
# unsupported models and losses
# ---------------------------------------------------------------------------


def test_unsupported_layers_and_losses_raise_clear_errors():
    X = RNG.normal(size=(6, 3))
    bn = StatefulSequential(Dense(3, 4), BatchNorm(4), Dense(4, 1))
    obj = nnopt.Objective(bn, "mse", X, RNG.normal(size=(6, 1)))
    theta = bn.init()
    with pytest.raises(ValueError, match=r"layer 1 \(BatchNorm\(4\)\) has parameters but no Kronecker"):
        _first(kfac(), obj.jac(theta), theta, oracle=obj)
    res = Sequential(Dense(3, 3), Residual(Dense(3, 3, "tanh")), Dense(3, 1))
    with pytest.raises(ValueError, match=r"layer 1 \(Residual\(Dense"):
        kronecker_blocks(res, "kfac")
    with pytest.raises(ValueError, match="evaluation-mode view"):
        kronecker_blocks(bn.evaluator(bn.init_state()), "kfac")
    with pytest.raises(TypeError, match="needs a layer stack"):
        kronecker_blocks(lambda th, X: X, "kfac")
    net = Sequential(Dense(3, 2))
    custom = nnopt.Objective(net, lambda o, y: nnp.mean(nnp.abs(o - y)), X, RNG.normal(size=(6, 2)))
    th = net.init()
    with pytest.raises(ValueError, match="curvature of loss .* is not known"):
        _first(kfac(), custom.jac(th), th, oracle=custom)
    with pytest.raises(TypeError, match="needs an nnopt.Objective"):
        _first(kfac(), th, th, oracle=lambda t: nnp.sum(t ** 2))
    with pytest.raises(ValueError, match="pass oracle="):
        _first(kfac(), th, th)
    img = Sequential(Conv2D(1, 2, 3), Dense(2, 1), input_shape=(1, 3, 3))
    with pytest.raises(ValueError, match="insert Flatten"):
        Capture(img, img.init(), RNG.normal(size=(2, 1, 3, 3)))
