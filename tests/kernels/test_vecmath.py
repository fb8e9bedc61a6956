"""The vectorisable tanh of nnopt.kernels.vecmath against 40-digit mpmath."""
import mpmath
import numpy as np
import pytest

from nnopt.kernels import vecmath


def _ulp_errors(x, got):
    dtype = x.dtype.type
    out = []
    with mpmath.workdps(40):
        for xi, gi in zip(x, got):
            exact = mpmath.tanh(mpmath.mpf(float(xi)))
            ulp = float(np.spacing(np.abs(dtype(float(exact)))))
            out.append(float(abs(mpmath.mpf(float(gi)) - exact)) / ulp)
    return np.array(out)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_tanh_within_two_ulp_of_mpmath(dtype):
    rng = np.random.default_rng(3)
    tiny = np.finfo(dtype).tiny
    x = np.concatenate([
        rng.uniform(-25, 25, 1500),
        rng.uniform(-0.7, 0.7, 1500),  # both sides of the 0.625 switch
        np.geomspace(tiny, 30, 400) * rng.choice([-1, 1], 400),
        [0.625, -0.625, np.nextafter(0.625, 0), 21.5, -21.5, 10.0],
    ]).astype(dtype)
    got = vecmath.tanh_array(x)
    assert got.dtype == dtype
    assert _ulp_errors(x, got).max() <= 2.0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_tanh_special_values(dtype):
    big = np.finfo(dtype).max
    x = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, big, -big, 50.0], dtype=dtype)
    got = vecmath.tanh_array(x)
    np.testing.assert_array_equal(got[:4], [0.0, -0.0, 1.0, -1.0])
    assert np.signbit(got[1]) and not np.signbit(got[0])
    assert np.isnan(got[4])
    np.testing.assert_array_equal(got[5:], [1.0, -1.0, 1.0])


def test_tanh_array_keeps_shape_and_rejects_integers():
    x = np.linspace(-3, 3, 12).reshape(3, 4)[:, ::2]  # non-contiguous
    np.testing.assert_allclose(vecmath.tanh_array(x), np.tanh(x), rtol=4e-16, atol=0)
    with pytest.raises(TypeError, match="x must be float32 or float64"):
        vecmath.tanh_array(np.arange(3))
