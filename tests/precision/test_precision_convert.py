"""to_mp is exact; to_float rounds once, to nearest even, directly to the target."""
import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nnopt.precision import to_float, to_mp

mp = mpmath


def test_to_mp_is_exact_for_float32_and_float64():
    x32 = np.float32(0.1)
    assert to_mp(x32) == mp.mpf(13421773) / 2**27
    x64 = 0.1
    assert to_mp(x64) == mp.mpf(3602879701896397) / 2**55
    # exact whatever the current precision
    with mp.workprec(10):
        v = to_mp(np.array([0.1, 1 / 3]))
    assert v[0] == mp.mpf(3602879701896397) / 2**55
    assert v[1] == mp.mpf(6004799503160661) / 2**54


def test_to_mp_shapes_types_and_containers():
    a = to_mp(np.arange(6.0).reshape(2, 3))
    assert a.shape == (2, 3) and a.dtype == object
    assert all(isinstance(v, mp.mpf) for v in a.ravel())
    z = to_mp(np.array(2.5))
    assert z.shape == () and z.dtype == object and z[()] == mp.mpf(2.5)
    assert isinstance(to_mp(3), mp.mpf) and to_mp(np.int64(2**62 + 1)) == 2**62 + 1
    t = to_mp((np.ones(2), [1.5, np.float32(0.25)]))
    assert isinstance(t, tuple) and isinstance(t[1], list) and t[1][1] == mp.mpf(0.25)
    mixed = np.array([mp.mpf(1) / 3, 0.5, 2], dtype=object)
    m = to_mp(mixed)
    assert m[0] is mixed[0] and all(isinstance(v, mp.mpf) for v in m)


def test_to_mp_refuses_non_real_input():
    with pytest.raises(TypeError, match="complex"):
        to_mp(np.ones(2, dtype=complex))
    with pytest.raises(TypeError, match="boolean"):
        to_mp(np.ones(2, dtype=bool))
    with pytest.raises(TypeError, match="expected a real number, got str"):
        to_mp("1.0")
    with pytest.raises(TypeError, match="complex"):
        to_mp(np.array([mp.mpc(1, 1)], dtype=object))


def test_to_float_rounds_to_nearest_even_without_double_rounding():
    with mp.workprec(120):
        halfway = 1 + mp.mpf(2) ** -24          # exactly between two float32s
        above = halfway + mp.mpf(2) ** -60      # just above the midpoint
        odd_half = 1 + 3 * mp.mpf(2) ** -24     # midpoint with an odd lower neighbour
    one_ulp = np.float32(1) + np.float32(2.0 ** -23)
    assert to_float(halfway, np.float32) == np.float32(1)
    assert to_float(above, np.float32) == one_ulp
    assert to_float(odd_half, np.float32) == np.float32(1) + np.float32(2.0 ** -22)
    # going through float64 first rounds twice and gets `above` wrong
    assert np.float32(float(above)) == np.float32(1)
    assert to_float(above, np.float64) == 1 + 2.0 ** -24  # 2**-60 is below half an ulp


def test_to_float_range_subnormals_and_types():
    tiny32 = np.finfo(np.float32).smallest_subnormal
    assert to_float(to_mp(tiny32), np.float32) == tiny32
    assert to_float(to_mp(tiny32) * 0.4, np.float32) == 0
    assert to_float(to_mp(tiny32) * 0.6, np.float32) == tiny32
    assert to_float(to_mp(tiny32) * 2.5, np.float32) == 2 * tiny32  # tie to even
    with np.errstate(over="raise"):
        assert to_float(mp.mpf("1e39"), np.float32) == np.inf
        assert to_float(-mp.mpf("1e309"), np.float64) == -np.inf
    assert np.isnan(to_float(mp.nan, np.float64))
    out = to_float(to_mp(np.arange(4.0).reshape(2, 2)), np.float32)
    assert out.dtype == np.float32 and out.shape == (2, 2)
    assert isinstance(to_float(mp.mpf(1), np.float64), np.float64)
    assert to_float(np.array([1.0, 2.0]), np.float32).dtype == np.float32
    assert to_float(mp.mpf(1) / 3, np.float16) == np.float16(1 / 3)
    with pytest.raises(TypeError, match="float16, float32 or float64"):
        to_float(mp.mpf(1), np.int32)
    with pytest.raises(TypeError, match="dtype"):
        to_float(mp.mpf(1), "not a dtype")


@settings(max_examples=50, deadline=None, derandomize=True)
@given(st.floats(allow_nan=False, allow_infinity=False, width=64),
       st.sampled_from([np.float16, np.float32, np.float64]))
def test_round_trip_and_agreement_with_numpy_casts(v, dtype):
    # float64 -> mpf -> float64 is the identity; and for one rounding step
    # (float64 -> dtype) to_float agrees with NumPy's correctly rounded cast
    assert to_float(to_mp(v), np.float64) == v
    with np.errstate(over="ignore"):
        expected = np.array(v).astype(dtype)
    got = to_float(to_mp(v), dtype)
    assert got == expected or (np.isinf(expected) and np.isinf(got) and np.sign(got) == np.sign(expected))
