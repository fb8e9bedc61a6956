"""Grids, canonical configurations and run keys."""
import numpy as np
import pytest

from nnopt.experiments import canonical_config, expand_grid, run_key
from nnopt.experiments.grid import check_seeds, natural_sort_key


def test_product_order_last_key_fastest():
    g = expand_grid({"a": [1, 2], "b": ["x", "y", "z"]})
    assert len(g) == 6
    assert g[0] == {"a": 1, "b": "x"} and g[1] == {"a": 1, "b": "y"} and g[3] == {"a": 2, "b": "x"}


def test_explicit_list_and_value_types_kept():
    g = expand_grid([{"dtype": np.float32, "lr": 0.1}, {"dtype": np.float64, "lr": 0.1}])
    assert g[0]["dtype"] is np.float32  # the run function gets the original object


def test_accepts_tuple_range_and_1d_array():
    g = expand_grid({"a": (1, 2), "b": range(2), "c": np.array([0.5])})
    assert len(g) == 4 and isinstance(g[0]["c"], (float, np.floating))


def test_canonical_forms_make_equal_keys():
    a = {"dtype": np.float32, "lr": np.float64(0.1), "n": np.int64(3), "sizes": (2, 3)}
    b = {"dtype": "float32", "lr": 0.1, "n": 3, "sizes": [2, 3]}
    assert canonical_config(a) == canonical_config(b) == {"dtype": "float32", "lr": 0.1, "n": 3, "sizes": [2, 3]}
    assert run_key(a, 0, "1.0") == run_key(b, 0, "1.0")
    assert canonical_config({"dt": np.dtype("float16")}) == {"dt": "float16"}


def test_key_depends_on_config_seed_and_version_only():
    k = run_key({"lr": 0.1, "b": 1}, 0, "1.0")
    assert k == run_key({"b": 1, "lr": 0.1}, 0, "1.0")  # key order does not matter
    assert k != run_key({"lr": 0.1, "b": 1}, 1, "1.0")
    assert k != run_key({"lr": 0.1, "b": 1}, 0, "1.1")
    assert k != run_key({"lr": 0.1000001, "b": 1}, 0, "1.0")
    assert len(k) == 24 and int(k, 16) >= 0


def test_key_default_version_is_nnopt_version():
    import nnopt
    assert run_key({"a": 1}, 0) == run_key({"a": 1}, 0, nnopt.__version__)


@pytest.mark.parametrize("grid, exc, words", [
    ({}, ValueError, "non-empty"),
    ([], ValueError, "non-empty"),
    ({"a": []}, ValueError, "grid['a']: empty"),
    ({"a": 0.1}, TypeError, "grid['a']: expected a list"),
    ({"a": "abc"}, TypeError, "grid['a']: expected a list"),
    ({"a": {1, 2}}, TypeError, "grid['a']: expected a list"),
    ({"a": np.zeros((2, 2))}, TypeError, "2-D array"),
    ({"seed": [1]}, ValueError, "seeds="),
    ({"not valid": [1]}, ValueError, "identifier"),
    ({"a": [object()]}, TypeError, "configuration values"),
    ({"a": [1, 1]}, ValueError, "same"),
    ([{"a": 1}, 3], TypeError, "grid[1]"),
    ("a=1", TypeError, "dict of lists"),
])
def test_bad_grids(grid, exc, words):
    with pytest.raises(exc, match=None) as ei:
        expand_grid(grid)
    assert words in str(ei.value)


@pytest.mark.parametrize("seeds, exc", [
    (3, TypeError), ([], ValueError), ([0, 0], ValueError), ([0.5], TypeError), ("01", TypeError),
    ([True], TypeError),
])
def test_bad_seeds(seeds, exc):
    with pytest.raises(exc, match="seeds"):
        check_seeds(seeds)


def test_seeds_accept_range_and_numpy_ints():
    assert check_seeds(range(3)) == [0, 1, 2]
    assert check_seeds(np.arange(2)) == [0, 1]


def test_natural_sort_is_numeric():
    cfgs = [{"lr": 10.0}, {"lr": 2.0}, {"lr": 0.5}]
    assert [c["lr"] for c in sorted(cfgs, key=natural_sort_key)] == [0.5, 2.0, 10.0]
