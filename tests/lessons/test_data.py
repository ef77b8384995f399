"""lessons.data, checked against sklearn's raw digits and against the geometry of
each generated set (not against lessons.data itself)."""

import numpy as np
import pytest
from sklearn.datasets import load_digits as sklearn_digits

from lessons import data

GENERATORS = [data.two_spirals, data.moons, data.circles]


def _sorted_rows(X, y):
    """Rows of [X | y] in lexicographic order, so two splits compare as multisets."""
    table = np.column_stack([X, y])
    return table[np.lexsort(table.T[::-1])]


# --- digits -----------------------------------------------------------------------


def test_digits_shapes_and_dtypes():
    X_train, y_train, X_test, y_test = data.load_digits()
    assert X_train.shape[1] == X_test.shape[1] == 64
    assert len(X_train) == len(y_train) and len(X_test) == len(y_test)
    assert len(X_train) + len(X_test) == 1797
    assert X_train.dtype == X_test.dtype == np.float32
    assert y_train.dtype == y_test.dtype == np.int64
    assert y_train.ndim == y_test.ndim == 1


def test_digits_float64_on_request():
    split = data.load_digits(dtype="float64")
    assert split.X_train.dtype == split.X_test.dtype == np.float64


def test_digits_scaled_to_unit_interval():
    split = data.load_digits()
    X = np.concatenate([split.X_train, split.X_test])
    assert X.min() == 0.0 and X.max() == 1.0
    # the raw pixels are integers 0..16, so 16 * X must be whole numbers again
    np.testing.assert_array_equal(16 * X, np.round(16 * X))


def test_digits_is_a_partition_of_sklearn_raw_data():
    raw = sklearn_digits()
    split = data.load_digits(dtype="float64")
    ours = _sorted_rows(
        np.concatenate([split.X_train, split.X_test]) * 16,
        np.concatenate([split.y_train, split.y_test]),
    )
    np.testing.assert_array_equal(ours, _sorted_rows(raw.data, raw.target))


@pytest.mark.parametrize("split_fraction", [0.2, 0.5])
def test_digits_split_is_stratified(split_fraction):
    raw_counts = np.bincount(sklearn_digits().target, minlength=10)
    split = data.load_digits(split=split_fraction)
    test_counts = np.bincount(split.y_test, minlength=10)
    train_counts = np.bincount(split.y_train, minlength=10)
    np.testing.assert_array_equal(train_counts + test_counts, raw_counts)
    # every class holds out its own share, up to rounding of one image
    assert np.all(np.abs(test_counts - split_fraction * raw_counts) <= 1)
    assert abs(len(split.y_test) - split_fraction * 1797) <= 10


def test_digits_split_zero_keeps_everything_for_training():
    split = data.load_digits(split=0.0)
    assert len(split.X_train) == 1797 and len(split.X_test) == 0


@pytest.mark.parametrize("bad", [-0.1, 1.0, 1.5])
def test_digits_rejects_bad_split(bad):
    with pytest.raises(ValueError, match="split"):
        data.load_digits(split=bad)


def test_digits_deterministic_by_seed():
    a, b, c = data.load_digits(seed=3), data.load_digits(seed=3), data.load_digits(seed=4)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a.y_train, c.y_train)


def test_digits_is_shuffled():
    # sklearn stores the digits roughly cycling 0..9; a shuffled split does not
    y = data.load_digits().y_train
    assert np.mean(np.diff(y) == 1) < 0.5


# --- generated 2-D sets ----------------------------------------------------------


@pytest.mark.parametrize("make", GENERATORS)
@pytest.mark.parametrize("n", [2, 7, 200])
def test_generated_shapes_dtypes_and_balance(make, n):
    X, y = make(n, 0.1, 0)
    assert X.shape == (n, 2) and X.dtype == np.float32
    assert y.shape == (n,) and y.dtype == np.int64
    assert set(np.unique(y)) == {0, 1}
    assert np.sum(y == 0) == (n + 1) // 2 and np.sum(y == 1) == n // 2
    assert np.all(np.isfinite(X))


@pytest.mark.parametrize("make", GENERATORS)
def test_generated_dtype_float64(make):
    X, _ = make(10, 0.0, 0, dtype="float64")
    assert X.dtype == np.float64


@pytest.mark.parametrize("make", GENERATORS)
def test_generated_deterministic_by_seed(make):
    X1, y1 = make(100, 0.2, 5)
    X2, y2 = make(100, 0.2, 5)
    X3, _ = make(100, 0.2, 6)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    assert not np.array_equal(X1, X3)


@pytest.mark.parametrize("make", GENERATORS)
def test_generated_classes_are_shuffled(make):
    _, y = make(200, 0.0, 0)
    assert 0 < np.sum(y[:100]) < 100


@pytest.mark.parametrize("make", GENERATORS)
def test_generated_rejects_too_few_points(make):
    with pytest.raises(ValueError):
        make(1, 0.0, 0)


def test_circles_radii_without_noise():
    X, y = data.circles(500, 0.0, 1, factor=0.3)
    radius = np.hypot(X[:, 0], X[:, 1])
    np.testing.assert_allclose(radius[y == 0], 1.0, atol=1e-6)
    np.testing.assert_allclose(radius[y == 1], 0.3, atol=1e-6)


def test_moons_geometry_without_noise():
    X, y = data.moons(500, 0.0, 2)
    upper, lower = X[y == 0], X[y == 1]
    np.testing.assert_allclose(np.hypot(upper[:, 0], upper[:, 1]), 1.0, atol=1e-6)
    assert np.all(upper[:, 1] >= -1e-7)
    np.testing.assert_allclose(np.hypot(lower[:, 0] - 1.0, lower[:, 1] - 0.5), 1.0, atol=1e-6)
    assert np.all(lower[:, 1] <= 0.5 + 1e-7)


def test_spirals_geometry_without_noise():
    turns = 1.5
    X, y = data.two_spirals(400, 0.0, 3, turns=turns, dtype="float64")
    radius = np.hypot(X[:, 0], X[:, 1])
    assert np.all(radius <= 1.0 + 1e-12) and np.all(radius > 0.0)
    # class 0 lies on angle = 2*pi*turns*r, class 1 on the same curve turned by pi
    angle = np.arctan2(X[:, 1], X[:, 0]) + np.where(y == 1, np.pi, 0.0)
    mismatch = np.angle(np.exp(1j * (angle - 2 * np.pi * turns * radius)))
    np.testing.assert_allclose(mismatch, 0.0, atol=1e-9)


@pytest.mark.parametrize("noise", [0.05, 0.2])
def test_noise_has_the_requested_scale(noise):
    # circles: the radial distance from the true ring is roughly N(0, noise)
    X, y = data.circles(4000, noise, 0, factor=0.5, dtype="float64")
    residual = np.hypot(X[:, 0], X[:, 1]) - np.where(y == 0, 1.0, 0.5)
    assert abs(np.std(residual) - noise) < 0.2 * noise


@pytest.mark.parametrize("make", GENERATORS)
def test_noise_moves_points(make):
    X_clean, y_clean = make(100, 0.0, 0)
    X_noisy, y_noisy = make(100, 0.3, 0)
    assert not np.allclose(np.sort(X_clean, axis=0), np.sort(X_noisy, axis=0), atol=0.01)
