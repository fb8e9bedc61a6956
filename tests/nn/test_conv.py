"""Conv2D, pooling, Flatten and the model zoo: forward against direct loops,
derivatives against finite differences, Numba kernels against the reference."""
import mpmath
import numpy as np
import pytest

import nnopt
import nnopt.numpy as nnp
from nnopt.kernels.conv import cpu, reference
from nnopt.nn import Dense, Sequential
from nnopt.nn.conv import Conv2D, conv2d, conv2d_decomposed
from nnopt.nn.pooling import AvgPool2D, Flatten, GlobalAvgPool2D, MaxPool2D, avg_pool2d, max_pool2d
from nnopt.nn.zoo import AUTOENCODERS, Residual, deep_autoencoder, lenet5, resnet_small, vgg_small
from nnopt.testing import check_grads, check_hvp

# (N, C, H, W, O, kh, kw, stride, padding, dilation): odd sizes, every combination kind
GEOMETRIES = [
    (2, 3, 7, 5, 4, 3, 3, (1, 1), (0, 0), (1, 1)),
    (1, 2, 6, 9, 3, 3, 2, (2, 1), (1, 2), (1, 2)),
    (3, 1, 5, 5, 2, 1, 1, (1, 1), (0, 0), (1, 1)),
    (2, 2, 8, 7, 3, 2, 3, (3, 2), (2, 1), (2, 1)),
    (1, 3, 4, 4, 5, 4, 4, (1, 1), (0, 0), (1, 1)),
    (2, 1, 9, 6, 2, 3, 3, (2, 2), (1, 1), (2, 2)),
]


def naive_conv(x, W, b, stride, padding, dilation):
    """Direct loops over every output pixel and kernel tap (the definition)."""
    N, C, H, Wd = x.shape
    O, _, kh, kw = W.shape
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    OH = (H + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    OW = (Wd + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    y = np.zeros((N, O, OH, OW), dtype=np.float64)
    for n in range(N):
        for o in range(O):
            for p in range(OH):
                for q in range(OW):
                    acc = 0.0 if b is None else float(b[o])
                    for c in range(C):
                        for i in range(kh):
                            for j in range(kw):
                                r, s = p * sh + i * dh - ph, q * sw + j * dw - pw
                                if 0 <= r < H and 0 <= s < Wd:
                                    acc += float(W[o, c, i, j]) * float(x[n, c, r, s])
                    y[n, o, p, q] = acc
    return y


def naive_pool(x, k, stride, padding, kind):
    N, C, H, W = x.shape
    (kh, kw), (sh, sw), (ph, pw) = k, stride, padding
    OH = (H + 2 * ph - kh) // sh + 1
    OW = (W + 2 * pw - kw) // sw + 1
    y = np.zeros((N, C, OH, OW))
    for n in range(N):
        for c in range(C):
            for p in range(OH):
                for q in range(OW):
                    vals = []
                    for i in range(kh):
                        for j in range(kw):
                            r, s = p * sh + i - ph, q * sw + j - pw
                            inside = 0 <= r < H and 0 <= s < W
                            vals.append(float(x[n, c, r, s]) if inside else (0.0 if kind == "avg" else -np.inf))
                    y[n, c, p, q] = np.mean(vals) if kind == "avg" else np.max(vals)
    return y


def _data(geom, dtype, seed=0):
    N, C, H, W, O, kh, kw, s, p, d = geom
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(N, C, H, W)).astype(dtype)
    Wt = rng.normal(size=(O, C, kh, kw)).astype(dtype)
    b = rng.normal(size=O).astype(dtype)
    return x, Wt, b, s, p, d


def _tol(dtype):
    return 100 * np.finfo(dtype).eps


@pytest.mark.parametrize("geom", GEOMETRIES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_kernels_match_direct_loops(geom, dtype):
    x, W, b, s, p, d = _data(geom, dtype)
    expect = naive_conv(x, W, b, s, p, d)
    scale = max(1.0, np.abs(expect).max())
    for kern in (reference, cpu):
        y = kern.forward(x, W, b, s, p, d)
        assert y.dtype == dtype and y.shape == expect.shape
        np.testing.assert_allclose(y, expect, rtol=_tol(dtype), atol=_tol(dtype) * scale)
    for backend in ("numpy", "numba"):
        with nnopt.config.using(backend=backend):
            np.testing.assert_allclose(conv2d(x, W, b, s, p, d), expect, rtol=_tol(dtype), atol=_tol(dtype) * scale)
    np.testing.assert_allclose(conv2d_decomposed(x, W, b, s, p, d), expect, rtol=_tol(dtype), atol=_tol(dtype) * scale)


@pytest.mark.parametrize("geom", GEOMETRIES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_numba_im2col_col2im_equal_reference_and_are_adjoint(geom, dtype):
    x, W, b, s, p, d = _data(geom, dtype)
    k = W.shape[2:]
    cols = reference.im2col(x, k, s, p, d)
    np.testing.assert_array_equal(cpu.im2col(x, k, s, p, d), cols)  # pure copies: bitwise equal
    c = np.random.default_rng(1).normal(size=cols.shape).astype(dtype)
    back_ref = reference.col2im(c, x.shape, k, s, p, d)
    back_cpu = cpu.col2im(c, x.shape, k, s, p, d)
    assert back_cpu.dtype == dtype
    np.testing.assert_allclose(back_cpu, back_ref, rtol=_tol(dtype), atol=_tol(dtype) * 10)
    # <im2col(x), c> == <x, col2im(c)>
    lhs = np.sum(cols.astype(np.float64) * c)
    rhs = np.sum(x.astype(np.float64) * back_ref)
    assert abs(lhs - rhs) <= 1e3 * np.finfo(dtype).eps * np.sum(np.abs(cols) * np.abs(c))


@pytest.mark.parametrize("geom", GEOMETRIES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_kernel_backward_is_the_adjoint(geom, dtype):
    x, W, b, s, p, d = _data(geom, dtype)
    g = np.random.default_rng(2).normal(size=reference.forward(x, W, b, s, p, d).shape).astype(dtype)
    gx, gW, gb = reference.backward(g, x, W, s, p, d)
    for kern in (cpu,):
        for r, c in zip((gx, gW, gb), kern.backward(g, x, W, s, p, d)):
            assert c.dtype == dtype
            np.testing.assert_allclose(c, r, rtol=_tol(dtype), atol=_tol(dtype) * max(1, np.abs(r).max()))
    assert reference.backward(g, x, W, s, p, d, need_gx=False)[0] is None
    x64, W64, g64 = x.astype(np.float64), W.astype(np.float64), g.astype(np.float64)
    # <g, conv(x, W)> is bilinear: its gradients are the VJP
    np.testing.assert_allclose(np.sum(g64 * naive_conv(x64, W64, None, s, p, d)), np.sum(gW * W64),
                               rtol=1e3 * np.finfo(dtype).eps)
    np.testing.assert_allclose(np.sum(g64 * naive_conv(x64, W64, None, s, p, d)), np.sum(gx * x64),
                               rtol=1e3 * np.finfo(dtype).eps)
    np.testing.assert_allclose(gb, g64.sum(axis=(0, 2, 3)), rtol=1e3 * np.finfo(dtype).eps, atol=1e-5)


def test_kernels_take_non_contiguous_inputs():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(2, 6, 9, 8))[:, ::2, :, ::-1]  # strided and reversed views
    W = rng.normal(size=(4, 3, 3, 3)).transpose(0, 1, 3, 2)
    b = rng.normal(size=8)[::2]
    g = rng.normal(size=(2, 4, 7, 6))[:, :, :, ::-1]
    s, p, d = (1, 1), (0, 0), (1, 1)
    expect = naive_conv(x, W, b, s, p, d)
    for kern in (reference, cpu):
        np.testing.assert_allclose(kern.forward(x, W, b, s, p, d), expect, rtol=1e-13, atol=1e-13)
        ref = reference.backward(np.ascontiguousarray(g), np.ascontiguousarray(x), np.ascontiguousarray(W), s, p, d)
        for r, c in zip(ref, kern.backward(g, x, W, s, p, d)):
            np.testing.assert_allclose(c, r, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("geom", GEOMETRIES[:4])
def test_conv2d_derivatives_to_second_order(geom):
    x, W, b, s, p, d = _data(geom, np.float64)

    def f(x, W, b):
        return nnp.tanh(conv2d(x, W, b, s, p, d))

    check_grads(f, (x, W, b), order=2)


def test_conv2d_third_order_and_hvp_against_finite_differences():
    x, W, b, s, p, d = _data((1, 2, 5, 4, 2, 2, 2, (1, 2), (1, 0), (1, 1)), np.float64)
    check_grads(lambda W: nnp.sin(conv2d(x, W, b, s, p, d)), (W,), order=3, modes=("rev",))

    def loss(w):
        return nnp.sum(nnp.tanh(conv2d(x, nnp.reshape(w, W.shape), b, s, p, d)) ** 2)

    check_hvp(loss, W.ravel())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("geom", GEOMETRIES)
def test_cotangent_map_kernels_equal_backward_and_decomposition(geom, dtype):
    """input_grad / weight_grad (each cotangent alone) equal backward's and the basic-primitive rules'."""
    from nnopt.nn.conv import _patches, _patches_adjoint

    x, W, b, s, p, d = _data(geom, dtype)
    g = np.random.default_rng(3).normal(size=reference.forward(x, W, b, s, p, d).shape).astype(dtype)
    tol = _tol(dtype)
    gx0 = _patches_adjoint(np.einsum("nohw,ocij->ncijhw", g, W), x.shape, s, p, d)
    gW0 = np.einsum("nohw,ncijhw->ocij", g, _patches(x, W.shape[2:], s, p, d))
    for kern in (reference, cpu):
        gx, gW, _ = kern.backward(g, x, W, s, p, d)
        ix = kern.input_grad(g, W, x.shape, s, p, d)
        wg = kern.weight_grad(g, x, W.shape[2:], s, p, d)
        assert ix.dtype == wg.dtype == dtype and ix.shape == x.shape and wg.shape == W.shape
        np.testing.assert_allclose(ix, gx, rtol=tol, atol=tol)
        np.testing.assert_allclose(wg, gW, rtol=tol, atol=tol)
        np.testing.assert_allclose(ix, gx0, rtol=tol, atol=tol * np.abs(gx0).max())
        np.testing.assert_allclose(wg, gW0, rtol=tol, atol=tol * np.abs(gW0).max())


def test_conv2d_second_derivatives_in_arbitrary_precision_match_float():
    """The cotangent maps' rules run the decomposition on mpmath arrays: an HVP
    at 40 digits agrees with the float64 one (which runs the kernels)."""
    x, W, b, s, p, d = _data((1, 2, 5, 4, 2, 3, 2, (2, 1), (1, 1), (1, 1)), np.float64)
    v = np.random.default_rng(4).normal(size=W.shape)

    def loss(W):
        return nnp.sum(nnp.tanh(conv2d(x, W, b, s, p, d)) * conv2d(x, W, None, s, p, d))

    hv = nnopt.hvp(loss, W, v)
    to_mp = np.vectorize(mpmath.mpf, otypes=[object])
    with mpmath.workdps(40):
        x_mp, b_mp = to_mp(x), to_mp(b)

        def loss_mp(W):
            return nnp.sum(nnp.tanh(conv2d(x_mp, W, b_mp, s, p, d)) * conv2d(x_mp, W, None, s, p, d))

        hv_mp = nnopt.hvp(loss_mp, to_mp(W), to_mp(v))
        assert hv_mp.dtype == object and isinstance(hv_mp.flat[0], mpmath.mpf)
    np.testing.assert_allclose(hv_mp.astype(float), hv, rtol=1e-12, atol=1e-12)


def test_conv2d_float32_stays_float32_through_derivatives():
    x, W, b, s, p, d = _data(GEOMETRIES[1], np.float32)
    g = nnopt.grad(lambda W: nnp.sum(conv2d(x, W, b, s, p, d) ** 2))(W)
    assert g.dtype == np.float32
    hv = nnopt.hvp(lambda W: nnp.sum(nnp.tanh(conv2d(x, W, b, s, p, d))), W, W)
    assert hv.dtype == np.float32


def test_conv2d_in_arbitrary_precision_runs_the_decomposition():
    x, W, b, s, p, d = _data((1, 2, 5, 4, 2, 3, 2, (2, 1), (1, 1), (1, 1)), np.float64)
    to_mp = np.vectorize(mpmath.mpf, otypes=[object])
    with mpmath.workdps(40):
        y = conv2d(to_mp(x), to_mp(W), to_mp(b), s, p, d)
        assert y.dtype == object and isinstance(y.flat[0], mpmath.mpf)
        exact = naive_conv(x, W, b, s, p, d)
        assert max(abs(float(a - e)) for a, e in zip(y.ravel(), exact.ravel())) < 1e-13


def test_conv2d_bad_input_errors():
    x = np.zeros((2, 3, 5, 5))
    with pytest.raises(ValueError, match="channels"):
        conv2d(x, np.zeros((4, 2, 3, 3)))
    with pytest.raises(ValueError, match="kernel spans 7 pixels"):
        conv2d(x, np.zeros((4, 3, 7, 3)))
    with pytest.raises(ValueError, match="kernel spans 5 pixels.*padding=1"):
        conv2d(np.zeros((1, 3, 2, 2)), np.zeros((1, 3, 3, 3)), dilation=2, padding=1)
    with pytest.raises(ValueError, match=r"x must have shape \(N, C, H, W\)"):
        conv2d(np.zeros((3, 5, 5)), np.zeros((4, 3, 3, 3)))
    with pytest.raises(ValueError, match="stride must be >= 1"):
        conv2d(x, np.zeros((4, 3, 3, 3)), stride=0)
    with pytest.raises(TypeError, match="padding must be an int or a pair"):
        conv2d(x, np.zeros((4, 3, 3, 3)), padding=(1, 2, 3))
    with pytest.raises(ValueError, match=r"b must have shape \(4,\)"):
        conv2d(x, np.zeros((4, 3, 3, 3)), np.zeros(3))


def test_conv2d_layer_layout_shapes_and_errors():
    layer = Conv2D(3, 5, (3, 2), stride=2, padding=1)
    net = Sequential(layer, Flatten(), input_shape=(3, 7, 6))
    assert [s.shape for s in net.layout] == [(5, 3, 3, 2), (5,)]
    assert [s.kind for s in net.layout] == ["conv2d", "conv2d"]
    assert layer.output_shape((3, 7, 6)) == (5, 4, 4)
    theta = net.init(seed=0)
    X = np.random.default_rng(0).normal(size=(2, 3, 7, 6))
    p = net.layout.unflatten(theta)
    expect = naive_conv(X, p["0.W"], p["0.b"], (2, 2), (1, 1), (1, 1)).reshape(2, -1)
    np.testing.assert_allclose(net(theta, X), expect, rtol=1e-13, atol=1e-13)
    with pytest.raises(ValueError, match=r"X must have shape \(batch, 3, 7, 6\)"):
        net(theta, np.zeros((2, 3, 6, 6)))
    with pytest.raises(ValueError, match=r"expected input of shape \(N, 3, H, W\)"):
        layer.apply(p and {"W": p["0.W"], "b": p["0.b"]}, np.zeros((2, 4, 7, 6)))
    with pytest.raises(ValueError, match="kernel spans"):
        Conv2D(1, 1, 9).output_shape((1, 4, 4))
    with pytest.raises(ValueError, match="in_channels must be a positive integer"):
        Conv2D(0, 1, 3)
    with pytest.raises(ValueError, match="kernel_size must be >= 1"):
        Conv2D(1, 1, 0)
    assert "W" in [q.name for q in Conv2D(1, 2, 3, bias=False).params()]
    assert len(Conv2D(1, 2, 3, bias=False).params()) == 1


# ---------------------------------------------------------------------------
# pooling
# ---------------------------------------------------------------------------

POOLS = [((2, 2), None, (0, 0)), ((3, 3), (2, 2), (1, 1)), ((2, 3), (1, 2), (0, 1)), ((3, 2), (3, 2), (0, 0))]


@pytest.mark.parametrize("k,stride,pad", POOLS)
@pytest.mark.parametrize("kind", ["avg", "max"])
def test_pooling_matches_direct_loops_and_differentiates(k, stride, pad, kind):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(2, 3, 7, 8))  # distinct values: no ties in max
    fn = avg_pool2d if kind == "avg" else max_pool2d
    y = fn(x, k, stride, pad)
    np.testing.assert_allclose(y, naive_pool(x, k, stride or k, pad, kind), rtol=1e-14, atol=1e-15)
    check_grads(lambda x: nnp.sin(fn(x, k, stride, pad)), (x,), order=2)
    layer = (AvgPool2D if kind == "avg" else MaxPool2D)(k, stride, pad)
    assert layer.output_shape((3, 7, 8)) == y.shape[1:]
    np.testing.assert_array_equal(layer.apply({}, x), y)
    y32 = fn(x.astype(np.float32), k, stride, pad)
    assert y32.dtype == np.float32


def test_max_pool_ties_share_the_derivative():
    x = np.ones((1, 1, 2, 2))
    g = nnopt.grad(lambda x: nnp.sum(max_pool2d(x, 2)))(x)
    np.testing.assert_allclose(g, np.full((1, 1, 2, 2), 0.25))


def test_pooling_errors_and_flatten_global_pool():
    with pytest.raises(ValueError, match=r"expected images of shape \(N, C, H, W\)"):
        avg_pool2d(np.zeros((3, 4, 4)), 2)
    with pytest.raises(ValueError, match="kernel spans 5"):
        max_pool2d(np.zeros((1, 1, 4, 4)), 5)
    with pytest.raises(ValueError, match="padding must be at most half"):
        MaxPool2D(2, padding=2)
    x = np.random.default_rng(0).normal(size=(2, 3, 4, 5))
    np.testing.assert_array_equal(Flatten().apply({}, x), x.reshape(2, -1))
    assert Flatten().output_shape((3, 4, 5)) == (60,)
    np.testing.assert_allclose(GlobalAvgPool2D().apply({}, x), x.mean(axis=(2, 3)))
    check_grads(lambda x: nnp.tanh(Flatten().apply({}, x)), (x,), order=1)


# ---------------------------------------------------------------------------
# the zoo
# ---------------------------------------------------------------------------


def test_lenet5_structure_and_forward():
    net = lenet5()
    # conv 6@5x5 (156), conv 16@5x5 (2416), 400-120 (48120), 120-84 (10164), 84-10 (850)
    assert net.n_params == 156 + 2416 + 48120 + 10164 + 850
    assert [b.kind for b in net.layout.blocks] == ["conv2d", "conv2d", "dense", "dense", "dense"]
    X = np.random.default_rng(0).normal(size=(2, 1, 28, 28)).astype(np.float32)
    out = net(net.init(seed=0, dtype=np.float32), X)
    assert out.shape == (2, 10) and out.dtype == np.float32
    assert lenet5(image_size=32, pool="max").n_params == net.n_params
    with pytest.raises(ValueError, match="pool must be"):
        lenet5(pool="median")


def test_autoencoders_mirror_and_have_a_linear_code():
    net = deep_autoencoder("curves")
    sizes = AUTOENCODERS["curves"]
    full = list(sizes) + list(sizes[-2::-1])
    assert [(l.n_in, l.n_out) for l in net.layers] == list(zip(full[:-1], full[1:]))
    acts = [l.activation for l in net.layers]
    assert acts[len(sizes) - 2] == "identity" and acts[-1] == "identity"
    assert all(a == "sigmoid" for i, a in enumerate(acts) if i not in (len(sizes) - 2, len(acts) - 1))
    assert deep_autoencoder([6, 4, 2]).n_params == 6 * 4 + 4 + 4 * 2 + 2 + 2 * 4 + 4 + 4 * 6 + 6
    with pytest.raises(ValueError, match="unknown preset"):
        deep_autoencoder("cifar")


def test_vgg_and_resnet_forward_and_gradients():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(3, 1, 8, 8))
    y = rng.integers(0, 3, 3)
    for net in (vgg_small(image_size=8, widths=(2,), hidden=4, n_classes=3),
                resnet_small(image_size=8, width=2, n_blocks=1, n_classes=3)):
        obj = nnopt.Objective(net, "cross_entropy", X, y)
        theta = net.init(seed=1)
        assert net(theta, X).shape == (3, 3)
        check_grads(obj, (theta,), order=1, modes=("rev",))
    with pytest.raises(ValueError, match="must keep it"):
        Residual(Conv2D(2, 3, 3, padding=1)).output_shape((2, 4, 4))
    block = Residual(Dense(3, 3, "tanh"), Dense(3, 3))
    assert [p.name for p in block.params()] == ["0.W", "0.b", "1.W", "1.b"]
