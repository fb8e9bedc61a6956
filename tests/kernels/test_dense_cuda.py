"""CUDA dense kernels equal the NumPy reference (under NUMBA_ENABLE_CUDASIM=1 in CI).

The tile width is patched small so that multi-block paths and partial tiles run.
"""
import numpy as np
import pytest

numba_cuda = pytest.importorskip("numba.cuda")
from numba import cuda  # noqa: E402

if not cuda.is_available():  # pragma: no cover - neither a GPU nor the simulator
    pytest.skip("no CUDA device and NUMBA_ENABLE_CUDASIM is not set", allow_module_level=True)

from nnopt.kernels.dense import ACTIVATIONS, reference  # noqa: E402
from nnopt.kernels.dense import cuda as dense_cuda  # noqa: E402


@pytest.fixture(autouse=True)
def small_tiles(monkeypatch):
    monkeypatch.setattr(dense_cuda, "TPB", 4)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("act", ACTIVATIONS)
def test_cuda_matches_reference(dtype, act):
    rng = np.random.default_rng(0)
    n, n_in, n_out = 9, 6, 5  # partial tiles in every direction
    x = rng.normal(size=(n, n_in)).astype(dtype)
    W = rng.normal(size=(n_in, n_out)).astype(dtype)
    b = rng.normal(size=n_out).astype(dtype)
    g = rng.normal(size=(n, n_out)).astype(dtype)
    tol = 50 * np.finfo(dtype).eps
    a_ref = reference.forward(x, W, b, act)
    a = dense_cuda.forward(x, W, b, act)
    assert a.dtype == dtype
    np.testing.assert_allclose(a, a_ref, rtol=tol, atol=tol)
    for r, c in zip(reference.backward(g, a_ref, x, W, act), dense_cuda.backward(g, a_ref, x, W, act)):
        assert c.dtype == dtype
        np.testing.assert_allclose(c, r, rtol=tol, atol=tol * max(1, np.abs(r).max()))


def test_device_arrays_stay_on_device_and_empty_batch():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(3, 2))
    W = rng.normal(size=(2, 3))
    b = rng.normal(size=3)
    dx, dW, db = (cuda.to_device(v) for v in (x, W, b))
    out = dense_cuda.forward(dx, dW, db, "tanh")
    assert dense_cuda.is_device_array(out)
    np.testing.assert_allclose(out.copy_to_host(), reference.forward(x, W, b, "tanh"), rtol=1e-14)
    gx, gW, gb = dense_cuda.backward(np.zeros((0, 3)), np.zeros((0, 3)), np.zeros((0, 2)), W, "tanh")
    assert gx.shape == (0, 2) and np.all(gW == 0) and np.all(gb == 0)


def test_backend_setting_routes_the_primitive_to_cuda():
    import nnopt
    import nnopt.numpy as nnp
    from nnopt.nn import MLP

    net = MLP([2, 3, 1])
    theta = net.init(seed=0)
    X = np.random.default_rng(0).normal(size=(5, 2))
    f = lambda t: nnp.sum(net(t, X) ** 2)  # noqa: E731
    expected = nnopt.grad(f)(theta)
    with nnopt.config.using(backend="cuda"):
        got = nnopt.grad(f)(theta)
    np.testing.assert_allclose(got, expected, rtol=1e-13)
