"""The convolution-network kernels of nnopt.kernels.conv (transposed im2col /
col2im in NCHW and CNHW, whole convolution layers over chunks of images,
pooling with the activation's derivative fused): the Numba versions equal
the NumPy reference in float32 and float64, for odd sizes, strides,
paddings, dilations, batches of 0 and 1, several chunks and non-contiguous
inputs; the reference itself is checked against direct loops and against
the general engine's derivatives."""
import numpy as np
import pytest

import nnopt
import nnopt.numpy as nnp
from nnopt.kernels.conv import cpu, reference
from nnopt.nn.pooling import avg_pool2d, max_pool2d

# (N, C, H, W, O, kh, kw, stride, padding, dilation)
GEOMETRIES = [
    (2, 3, 7, 5, 4, 3, 3, (1, 1), (0, 0), (1, 1)),    # stride 1: contiguous ("wide") rows
    (1, 2, 6, 9, 3, 3, 2, (2, 1), (1, 2), (1, 2)),    # other strides: gathered rows
    (3, 1, 5, 5, 2, 1, 1, (1, 1), (0, 0), (1, 1)),
    (2, 2, 8, 7, 3, 2, 3, (3, 2), (2, 1), (2, 1)),
    (5, 3, 6, 6, 5, 3, 3, (1, 1), (2, 1), (2, 1)),    # padding and dilation with stride 1
    (0, 2, 5, 5, 2, 2, 2, (1, 1), (1, 1), (1, 1)),    # empty batch
]
DTYPES = [np.float32, np.float64]
ACTS = ["identity", "tanh", "sigmoid", "relu"]


def _tol(dtype):
    return 100 * np.finfo(dtype).eps


def _close(got, ref, dtype, factor=1.0):
    assert got.dtype == dtype and got.shape == ref.shape
    scale = max(1.0, float(np.abs(ref).max(initial=0)))
    np.testing.assert_allclose(got, ref, rtol=factor * _tol(dtype), atol=factor * _tol(dtype) * scale)


def _data(geom, dtype, seed=0):
    N, C, H, W, O, kh, kw, s, p, d = geom
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(N, C, H, W)).astype(dtype)
    Wt = rng.normal(size=(O, C, kh, kw)).astype(dtype)
    b = rng.normal(size=O).astype(dtype)
    return x, Wt, b, s, p, d


def _in_layout(x, layout):
    return x if layout == "nchw" else np.ascontiguousarray(x.transpose(1, 0, 2, 3))


def _act(z, act):
    return {"identity": z, "tanh": np.tanh(z), "sigmoid": 1 / (1 + np.exp(-z)), "relu": np.maximum(z, 0)}[act]


def _naive_conv(x, W, b, stride, padding, dilation):
    N, C, H, Wd = x.shape
    O, _, kh, kw = W.shape
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    OH = (H + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    OW = (Wd + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    xp = np.zeros((N, C, H + 2 * ph, Wd + 2 * pw))
    xp[:, :, ph:ph + H, pw:pw + Wd] = x
    y = np.zeros((N, O, OH, OW))
    for i in range(kh):
        for j in range(kw):
            win = xp[:, :, i * dh:i * dh + sh * (OH - 1) + 1:sh, j * dw:j * dw + sw * (OW - 1) + 1:sw]
            y += np.einsum("nchw,oc->nohw", win, W[:, :, i, j].astype(np.float64))
    return y if b is None else y + b.astype(np.float64)[None, :, None, None]


# ---------------------------------------------------------------------------
# im2col_t / col2im_t
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("geom", GEOMETRIES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", ["nchw", "cnhw"])
def test_im2col_t_col2im_t_match_reference_and_are_adjoint(geom, dtype, layout):
    x, W, b, s, p, d = _data(geom, dtype)
    k = W.shape[2:]
    xl = _in_layout(x, layout)
    colsT = reference.im2col_t(xl, k, s, p, d, layout)
    np.testing.assert_array_equal(reference.im2col(x, k, s, p, d).T, colsT)
    got = cpu.im2col_t(xl, k, s, p, d, layout)
    assert got.dtype == dtype and got.flags.c_contiguous
    np.testing.assert_array_equal(got, colsT)  # copies: bitwise equal
    c = np.random.default_rng(1).normal(size=colsT.shape).astype(dtype)
    back = reference.col2im_t(c, xl.shape, k, s, p, d, layout)
    _close(cpu.col2im_t(c, xl.shape, k, s, p, d, layout), back, dtype)
    lhs = np.sum(colsT.astype(np.float64) * c)
    rhs = np.sum(xl.astype(np.float64) * back)
    assert abs(lhs - rhs) <= 1e3 * np.finfo(dtype).eps * max(1.0, np.sum(np.abs(colsT) * np.abs(c)))


def test_layout_errors():
    x = np.zeros((1, 1, 4, 4))
    for kern in (cpu, reference):
        with pytest.raises(ValueError, match="layout must be 'nchw' or 'cnhw'"):
            kern.im2col_t(x, (2, 2), (1, 1), (0, 0), (1, 1), "nhwc")
        with pytest.raises(ValueError, match="layout must be 'nchw' or 'cnhw'"):
            kern.conv_forward_t(x, np.zeros((1, 1, 2, 2)), None, (1, 1), (0, 0), (1, 1), "hwcn")


# ---------------------------------------------------------------------------
# a whole convolution layer
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("geom", GEOMETRIES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", ["nchw", "cnhw"])
@pytest.mark.parametrize("bias", [True, False])
def test_conv_layer_forward_backward_match_reference(geom, dtype, layout, bias, monkeypatch):
    # chunks of two images: several chunks, the last one partial for odd N
    monkeypatch.setattr(cpu, "_chunk_size", lambda rows, cols, itemsize, N: max(1, min(N, 2)))
    x, W, b, s, p, d = _data(geom, dtype)
    b = b if bias else None
    xl = _in_layout(x, layout)
    z_ref, none = reference.conv_forward_t(xl, W, b, s, p, d, layout)
    assert none is None
    expect = _naive_conv(x, W, b, s, p, d).transpose(1, 0, 2, 3)
    scale = max(1, np.abs(expect).max(initial=0))
    np.testing.assert_allclose(z_ref, expect, rtol=_tol(dtype), atol=_tol(dtype) * scale)
    z, none = cpu.conv_forward_t(xl, W, b, s, p, d, layout)
    assert none is None
    _close(z, z_ref, dtype)
    gz = np.random.default_rng(2).normal(size=z_ref.shape).astype(dtype)
    for need_gx in (True, False):
        ref = reference.conv_backward_t(gz, xl, W, s, p, d, layout, need_gx, bias)
        got = cpu.conv_backward_t(gz, xl, W, s, p, d, layout, need_gx, bias)
        for r, c in zip(ref, got):
            if r is None:
                assert c is None
            else:
                _close(c, r, dtype, factor=4)
    # gx alone: the same gx, x read for its shape only
    for kern in (reference, cpu):
        only_gx = kern.conv_backward_t(gz, np.full_like(xl, np.nan), W, s, p, d, layout, True, bias, need_gW=False)
        assert only_gx[1] is None and only_gx[2] is None
        _close(only_gx[0], reference.conv_backward_t(gz, xl, W, s, p, d, layout, True, bias)[0], dtype)
    # the reference's cotangents are those of the primitive's kernels (the adjoint)
    gx, gW, gb = reference.backward(np.ascontiguousarray(gz.transpose(1, 0, 2, 3)), x, W, s, p, d)
    rx, rW, rb = reference.conv_backward_t(gz, xl, W, s, p, d, layout, True, True)
    _close(rx, _in_layout(gx, layout), dtype)
    _close(rW, gW, dtype)
    _close(rb, gb, dtype)


# (conv geometry, pooling (kind, kernel, stride, padding) or None)
BLOCKS = [
    (GEOMETRIES[0], ("avg", (2, 2), (2, 2), (0, 0))),   # tiling windows, an odd row dropped
    (GEOMETRIES[4], ("max", (2, 2), (2, 2), (0, 0))),
    (GEOMETRIES[1], ("max", (3, 2), (1, 2), (1, 1))),   # overlapping, padded windows
    (GEOMETRIES[3], ("avg", (2, 2), (1, 1), (1, 0))),
    (GEOMETRIES[2], None),
    (GEOMETRIES[5], ("avg", (2, 2), (2, 2), (0, 0))),   # empty batch
]


@pytest.mark.parametrize("geom,pool", BLOCKS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("act", ACTS)
def test_conv_block_with_activation_and_pooling_matches_reference(geom, pool, dtype, act, monkeypatch):
    monkeypatch.setattr(cpu, "_chunk_size", lambda rows, cols, itemsize, N: max(1, min(N, 2)))
    x, W, b, s, p, d = _data(geom, dtype, seed=4)
    x[:, :, :2, :2] = 0  # equal pixels: ties inside pooling windows
    layout = "cnhw"
    xl = _in_layout(x, layout)
    a_ref, y_ref = reference.conv_forward_t(xl, W, b, s, p, d, layout, act, pool)
    a, y = cpu.conv_forward_t(xl, W, b, s, p, d, layout, act, pool)
    _close(a, a_ref, dtype, factor=2)
    # the block is conv -> act -> pool of the separate kernels
    z, _ = reference.conv_forward_t(xl, W, b, s, p, d, layout)
    _close(a_ref, _act(z.astype(np.float64), act).astype(dtype), dtype, factor=2)
    if pool is None:
        assert y is None and y_ref is None
        g = np.random.default_rng(5).normal(size=a.shape).astype(dtype)
    else:
        _close(y, y_ref, dtype, factor=2)
        g = np.random.default_rng(5).normal(size=y.shape).astype(dtype)
    ref = reference.conv_backward_t(g, xl, W, s, p, d, layout, True, True, act, a_ref, pool, y_ref)
    got = cpu.conv_backward_t(g, xl, W, s, p, d, layout, True, True, act, a_ref, pool, y_ref)
    for r, c in zip(ref, got):
        _close(c, r, dtype, factor=8)
    if pool is not None and x.shape[0]:
        ga = reference.pool_backward(g.reshape((-1,) + g.shape[2:]), a_ref.reshape((-1,) + a.shape[2:]),
                                     y_ref.reshape((-1,) + y.shape[2:]), *pool, act)
        for r, c in zip(reference.conv_backward_t(ga.reshape(a.shape), xl, W, s, p, d, layout), ref):
            _close(c, r, dtype, factor=4)


def test_conv_block_argument_errors():
    x, W, b, s, p, d = _data(GEOMETRIES[0], np.float64)
    a, y = cpu.conv_forward_t(x, W, b, s, p, d, "nchw", "tanh", ("max", (2, 2), (2, 2), (0, 0)))
    with pytest.raises(ValueError, match="the activation's output a is needed"):
        cpu.conv_backward_t(np.ones_like(a), x, W, s, p, d, "nchw", act="tanh")
    with pytest.raises(ValueError, match="max pooling needs its forward output y"):
        cpu.conv_backward_t(y, x, W, s, p, d, "nchw", act="tanh", a=a, pool=("max", (2, 2), (2, 2), (0, 0)))
    with pytest.raises(ValueError, match="pool kind must be"):
        cpu.conv_forward_t(x, W, b, s, p, d, pool=("min", (2, 2), (2, 2), (0, 0)))
    with pytest.raises(ValueError, match="activation must be one of"):
        cpu.conv_forward_t(x, W, b, s, p, d, act="elu")


def test_conv_layer_takes_non_contiguous_inputs():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(3, 6, 9, 8))[:, ::2, :, ::-1]
    W = rng.normal(size=(4, 3, 3, 3)).transpose(0, 1, 3, 2)
    b = rng.normal(size=8)[::2]
    gz = rng.normal(size=(4, 3, 7, 6))[:, :, :, ::-1]
    s, p, d = (1, 1), (1, 0), (1, 1)
    xc, Wc, bc = np.ascontiguousarray(x), np.ascontiguousarray(W), np.ascontiguousarray(b)
    ref, _ = reference.conv_forward_t(xc, Wc, bc, s, p, d)
    np.testing.assert_allclose(cpu.conv_forward_t(x, W, b, s, p, d)[0], ref, rtol=1e-13, atol=1e-13)
    ref = reference.conv_backward_t(np.ascontiguousarray(gz), np.ascontiguousarray(x), np.ascontiguousarray(W),
                                    (1, 1), (0, 0), (1, 1))
    gz = gz[:, :, :, :6]  # same values, strided
    for r, c in zip(ref, cpu.conv_backward_t(gz, x, W, (1, 1), (0, 0), (1, 1))):
        np.testing.assert_allclose(c, r, rtol=1e-13, atol=1e-12)


def test_conv_layer_is_independent_of_the_thread_count():
    """Chunks are fixed by the sizes and their partial sums added in order."""
    import numba

    x, W, b, s, p, d = _data((9, 3, 8, 8, 4, 3, 3, (1, 1), (1, 1), (1, 1)), np.float64)
    gz = np.random.default_rng(3).normal(size=(4, 9, 8, 8))
    many = cpu.conv_backward_t(gz, x, W, s, p, d)
    old = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        one = cpu.conv_backward_t(gz, x, W, s, p, d)
    finally:
        numba.set_num_threads(old)
    for a, c in zip(many, one):
        np.testing.assert_array_equal(a, c)


def test_single_threaded_blas_restores_limits_and_falls_back_without_threadpoolctl(monkeypatch):
    import sys

    import numba
    from threadpoolctl import threadpool_info

    before = [(i["filepath"], i["num_threads"]) for i in threadpool_info() if i["user_api"] == "blas"]
    with cpu.single_threaded_blas():
        inside = [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]
        with cpu.single_threaded_blas():  # re-entrant
            pass
    assert set(inside) == {1}
    assert [(i["filepath"], i["num_threads"]) for i in threadpool_info() if i["user_api"] == "blas"] == before
    # from several Python threads at once: same numbers, limits restored by the last one out
    from concurrent.futures import ThreadPoolExecutor

    x, W, b, s, p, d = _data(GEOMETRIES[4], np.float64)
    gz = np.random.default_rng(6).normal(size=cpu.conv_forward_t(x, W, b, s, p, d)[0].shape)
    ref = cpu.conv_backward_t(gz, x, W, s, p, d)
    # (Numba's "workqueue" threading layer aborts on concurrent parallel calls)
    threads = 3 if numba.threading_layer() in ("omp", "tbb") else 1
    with ThreadPoolExecutor(threads) as pool:
        outs = list(pool.map(lambda _: cpu.conv_backward_t(gz, x, W, s, p, d), range(6)))
    for out in outs:
        for r, c in zip(ref, out):
            np.testing.assert_array_equal(c, r)
    assert [(i["filepath"], i["num_threads"]) for i in threadpool_info() if i["user_api"] == "blas"] == before
    # without threadpoolctl: prange runs on one Numba thread instead, same numbers
    x, W, b, s, p, d = _data(GEOMETRIES[0], np.float64)
    expect, _ = cpu.conv_forward_t(x, W, b, s, p, d)
    from nnopt.kernels import blas_threads

    monkeypatch.setattr(blas_threads, "_libraries", None)
    monkeypatch.setitem(sys.modules, "threadpoolctl", None)
    with pytest.raises(ImportError):
        import threadpoolctl  # noqa: F401
    threads = numba.get_num_threads()
    with cpu.single_threaded_blas():
        assert numba.get_num_threads() == 1
    assert numba.get_num_threads() == threads
    np.testing.assert_array_equal(cpu.conv_forward_t(x, W, b, s, p, d)[0], expect)


# ---------------------------------------------------------------------------
# pooling
# ---------------------------------------------------------------------------

# (P, H, W, kernel, stride, padding): tiling windows (the fast loop, with
# dropped edge rows/columns), overlapping and padded windows
POOLS = [
    (6, 8, 8, (2, 2), (2, 2), (0, 0)),
    (5, 7, 9, (2, 2), (2, 2), (0, 0)),
    (4, 9, 7, (3, 2), (3, 2), (0, 0)),
    (3, 6, 7, (3, 2), (2, 1), (1, 1)),
    (4, 5, 5, (3, 3), (1, 1), (1, 0)),
    (1, 4, 4, (2, 2), (1, 1), (0, 0)),
    (0, 4, 4, (2, 2), (2, 2), (0, 0)),
]


@pytest.mark.parametrize("pool", POOLS)
@pytest.mark.parametrize("kind", ["avg", "max"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_pooling_kernels_match_reference(pool, kind, dtype):
    P, H, W, k, s, p = pool
    rng = np.random.default_rng(P * 10 + H)
    z = rng.normal(size=(P, H, W))
    z[:, :2, :2] = 0.25  # ties in a window
    for act in ACTS:
        a = _act(z, act).astype(dtype)
        y = reference.pool_forward(a, kind, k, s, p)
        _close(cpu.pool_forward(a, kind, k, s, p), y, dtype)
        g = rng.normal(size=y.shape).astype(dtype)
        _close(cpu.pool_backward(g, a, y, kind, k, s, p, act), reference.pool_backward(g, a, y, kind, k, s, p, act),
               dtype)


@pytest.mark.parametrize("pool", POOLS[:-1])
@pytest.mark.parametrize("kind", ["avg", "max"])
def test_pooling_reference_is_the_engines_pooling_and_its_derivative(pool, kind):
    P, H, W, k, s, p = pool
    rng = np.random.default_rng(7)
    z = rng.normal(size=(1, P, H, W))
    z[..., 1:3, 1:3] = 0.5  # ties share the derivative
    fn = avg_pool2d if kind == "avg" else max_pool2d
    if kind == "max" and (p[0] > k[0] // 2 or p[1] > k[1] // 2):
        pytest.skip("max pooling padding must be at most half the window")
    y = fn(z, k, s, p)
    np.testing.assert_allclose(reference.pool_forward(z[0], kind, k, s, p), y[0], rtol=1e-14, atol=1e-15)
    g = rng.normal(size=y.shape)
    for act in ACTS:
        # d/dz sum(g * pool(act(z))) through the general engine
        def f(z):
            a = {"identity": z, "tanh": nnp.tanh(z), "sigmoid": nnp.sigmoid(z), "relu": nnp.relu(z)}[act]
            return nnp.sum(g * fn(a, k, s, p))

        expect = nnopt.grad(f)(z)
        a = _act(z[0], act)
        got = reference.pool_backward(g[0], a, reference.pool_forward(a, kind, k, s, p), kind, k, s, p, act)
        np.testing.assert_allclose(got, expect[0], rtol=1e-12, atol=1e-13)


def test_pooling_kernel_errors():
    a = np.zeros((1, 4, 4))
    for kern in (cpu, reference):
        with pytest.raises(ValueError, match="pool kind must be 'avg' or 'max'"):
            kern.pool_forward(a, "median", (2, 2), (2, 2), (0, 0))
        with pytest.raises(ValueError, match="activation must be one of"):
            kern.pool_backward(np.zeros((1, 2, 2)), a, np.zeros((1, 2, 2)), "avg", (2, 2), (2, 2), (0, 0), "elu")


def test_serial_chunk_loops_give_the_parallel_numbers(monkeypatch):
    """Where a parallel region must not start (a worker thread under Numba's
    workqueue layer) the chunks run one after another: the same numbers."""
    x, W, b, s, p, d = _data(GEOMETRIES[0], np.float64)
    pool = ("max", (2, 2), (2, 2), (0, 0))
    runs = []
    for safe in (True, False):
        monkeypatch.setattr(cpu, "parallel_region_safe", lambda safe=safe: safe)
        a, y = cpu.conv_forward_t(x, W, b, s, p, d, "nchw", "tanh", pool)
        g = np.ones_like(y)
        grads = cpu.conv_backward_t(g, x, W, s, p, d, "nchw", True, True, "tanh", a, pool, y)
        planes = a.reshape(-1, *a.shape[2:])
        pooled = cpu.pool_forward(planes, "avg", (2, 2), (2, 2), (0, 0))
        back = cpu.pool_backward(np.ones_like(pooled), planes, pooled, "avg", (2, 2), (2, 2), (0, 0), "tanh")
        runs.append((a, y, *grads, pooled, back))
    for par, ser in zip(*runs):
        np.testing.assert_array_equal(ser, par)
