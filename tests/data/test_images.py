"""Synthetic image data: reproducible from the seed, in range, right shapes and dtypes."""
import numpy as np
import pytest

from nnopt.data import bars, curves, digits


def test_curves_are_reproducible_images_in_unit_range():
    a = curves(20, seed=3)
    assert a.shape == (20, 784) and a.dtype == np.float32
    assert a.min() >= 0 and a.max() <= 1 and a.max() > 0.9  # the pen reaches full intensity
    np.testing.assert_array_equal(a, curves(20, seed=3))
    assert not np.array_equal(a, curves(20, seed=4))
    # a curve covers a small part of the image
    assert 0.01 < np.mean(a > 0.5) < 0.3
    assert curves(3, dtype=np.float64).dtype == np.float64


def test_bars_labels_and_orientation_classes():
    X, y = bars(200, seed=0, noise=0.0)
    assert X.shape == (200, 1, 28, 28) and y.shape == (200,) and y.dtype.kind == "i"
    assert set(np.unique(y)) <= set(range(10))
    # images of the same class share an orientation: their mean correlates more within than across
    m = np.stack([X[y == k, 0].mean(axis=0).ravel() for k in range(10)])
    c = np.corrcoef(m)
    assert np.mean(np.diag(c)) > np.mean(c[~np.eye(10, dtype=bool)])


def test_bad_sizes():
    with pytest.raises(ValueError, match="n"):
        curves(0)
    with pytest.raises(ValueError, match="n_classes"):
        bars(5, n_classes=0)


def test_digits_when_scikit_learn_is_installed():
    pytest.importorskip("sklearn")
    X, y = digits()
    assert X.shape == (1797, 1, 8, 8) and X.max() <= 1
