"""The Numba dense kernels equal their NumPy reference in float32 and float64."""
import numpy as np
import pytest

from nnopt.kernels.dense import ACTIVATIONS, cpu, reference


def _tol(dtype):
    return 50 * np.finfo(dtype).eps


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("act", ACTIVATIONS)
# (301, 5, 121): a larger block (36k elements)
@pytest.mark.parametrize("shape", [(1, 1, 1), (7, 3, 5), (0, 4, 3), (33, 17, 9), (301, 5, 121)])
def test_forward_backward_match_reference(dtype, act, shape):
    n, n_in, n_out = shape
    rng = np.random.default_rng(n * 100 + n_in)
    x = rng.normal(size=(n, n_in)).astype(dtype)
    W = rng.normal(size=(n_in, n_out)).astype(dtype)
    b = rng.normal(size=n_out).astype(dtype)
    g = rng.normal(size=(n, n_out)).astype(dtype)
    a_ref = reference.forward(x, W, b, act)
    a_cpu = cpu.forward(x, W, b, act)
    assert a_cpu.dtype == a_ref.dtype == dtype
    np.testing.assert_allclose(a_cpu, a_ref, rtol=_tol(dtype), atol=_tol(dtype))
    for need_gx in (True, False):
        ref = reference.backward(g, a_ref, x, W, act, need_gx)
        got = cpu.backward(g, a_ref, x, W, act, need_gx)
        for r, c in zip(ref, got):
            if r is None:
                assert c is None
                continue
            assert c.dtype == dtype and c.shape == r.shape
            scale = max(1.0, float(np.abs(r).max(initial=0)))
            np.testing.assert_allclose(c, r, rtol=_tol(dtype), atol=_tol(dtype) * scale)


def test_noncontiguous_inputs():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(10, 8))[:, ::2]
    W = rng.normal(size=(8, 6))[::2, :]
    b = rng.normal(size=12)[::2]
    g = rng.normal(size=(20, 6))[::2]
    for act in ACTIVATIONS:
        a = reference.forward(x, W, b, act)
        np.testing.assert_allclose(cpu.forward(x, W, b, act), a, rtol=1e-13, atol=1e-13)
        for r, c in zip(reference.backward(g, a, x, W, act), cpu.backward(g, a, x, W, act)):
            np.testing.assert_allclose(c, r, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("act", ACTIVATIONS)
def test_nan_and_inf_pass_as_in_the_reference(dtype, act):
    """A NaN pre-activation stays NaN (relu included, as np.maximum(z, 0)): never a silent finite number."""
    x = np.array([[np.nan], [-np.inf], [np.inf], [0.5]], dtype=dtype)
    W = np.array([[1.0, -1.0]], dtype=dtype)
    b = np.zeros(2, dtype=dtype)
    ref = reference.forward(x, W, b, act)
    got = cpu.forward(x, W, b, act)
    np.testing.assert_allclose(got, ref, rtol=_tol(dtype), atol=_tol(dtype))  # NaN where the reference has NaN
    assert np.isnan(got[0]).all()
