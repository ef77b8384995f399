"""Data for the lessons: scikit-learn's bundled digits and small generated 2-D sets.

Everything here is NumPy and deterministic given ``seed``; nothing is downloaded.
Features come back as floating point (``dtype``, float32 by default, to match the
frameworks' default) and labels as int64, the dtype ``cross_entropy`` expects in
PyTorch and minigrad.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import NamedTuple

import numpy as np

__all__ = ["DataSplit", "load_digits", "two_spirals", "moons", "circles"]


class DataSplit(NamedTuple):
    """Train and test arrays; unpacks as ``X_train, y_train, X_test, y_test``."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray


def _digits_table():
    """scikit-learn's bundled digits file (1797 rows: 64 pixels, then the label), read
    straight from the installed package: importing sklearn.datasets would cost about
    two seconds, more than the data itself."""
    spec = importlib.util.find_spec("sklearn")
    if spec is None:
        raise ImportError("the digits data ship with scikit-learn: pip install scikit-learn")
    path = Path(spec.submodule_search_locations[0]) / "datasets" / "data" / "digits.csv.gz"
    return np.loadtxt(path, delimiter=",")


def load_digits(dtype="float32", split=0.2, seed=0) -> DataSplit:
    """The 8x8 digits (1797 images, 10 classes) as flat 64-feature rows.

    Pixels (0..16 in the raw data) are divided by 16, so ``X`` lies in [0, 1].
    ``split`` is the fraction held out for testing; the split is stratified (every
    digit keeps its share in both parts) and shuffled with ``seed``.
    """
    if not 0.0 <= split < 1.0:
        raise ValueError(f"split must be in [0, 1), got {split!r}")
    raw = _digits_table()
    X = (raw[:, :-1] / 16.0).astype(dtype)
    y = raw[:, -1].astype(np.int64)

    rng = np.random.default_rng(seed)
    train_idx, test_idx = [], []
    for label in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == label))
        n_test = int(round(split * idx.size))
        test_idx.append(idx[:n_test])
        train_idx.append(idx[n_test:])
    train_idx = rng.permutation(np.concatenate(train_idx))
    test_idx = rng.permutation(np.concatenate(test_idx))
    return DataSplit(X[train_idx], y[train_idx], X[test_idx], y[test_idx])


def _class_sizes(n: int) -> tuple[int, int]:
    if n < 2:
        raise ValueError(f"need at least 2 points (one per class), got n={n}")
    return n - n // 2, n // 2


def _finish(points0, points1, noise, rng, dtype):
    """Stack two classes, add Gaussian noise, shuffle, cast."""
    X = np.concatenate([points0, points1])
    y = np.concatenate([np.zeros(len(points0), np.int64), np.ones(len(points1), np.int64)])
    if noise:
        X = X + rng.normal(scale=noise, size=X.shape)
    order = rng.permutation(len(X))
    return X[order].astype(dtype), y[order]


def two_spirals(n=200, noise=0.0, seed=0, turns=1.5, dtype="float32"):
    """Two interleaved spirals, ``n`` points in all, radius up to 1.

    Class 0 runs along r = t, angle = 2*pi*turns*t for t in (0, 1]; class 1 is the
    same spiral turned by half a circle. Returns ``X`` of shape (n, 2) and ``y`` (n,).
    """
    n0, n1 = _class_sizes(n)
    rng = np.random.default_rng(seed)

    def arm(count):
        t = rng.uniform(0.05, 1.0, size=count)
        angle = 2.0 * np.pi * turns * t
        return np.stack([t * np.cos(angle), t * np.sin(angle)], axis=1)

    return _finish(arm(n0), -arm(n1), noise, rng, dtype)


def moons(n=200, noise=0.0, seed=0, dtype="float32"):
    """Two interleaving half circles of radius 1.

    Class 0 is the upper half of the unit circle around (0, 0); class 1 the lower
    half of the unit circle around (1, 0.5). Returns ``X`` (n, 2) and ``y`` (n,).
    """
    n0, n1 = _class_sizes(n)
    rng = np.random.default_rng(seed)
    a0 = rng.uniform(0.0, np.pi, size=n0)
    a1 = rng.uniform(0.0, np.pi, size=n1)
    upper = np.stack([np.cos(a0), np.sin(a0)], axis=1)
    lower = np.stack([1.0 - np.cos(a1), 0.5 - np.sin(a1)], axis=1)
    return _finish(upper, lower, noise, rng, dtype)


def circles(n=200, noise=0.0, seed=0, factor=0.5, dtype="float32"):
    """Two concentric circles: class 0 of radius 1, class 1 of radius ``factor``.

    Returns ``X`` (n, 2) and ``y`` (n,).
    """
    if not 0.0 < factor < 1.0:
        raise ValueError(f"factor must be in (0, 1), got {factor!r}")
    n0, n1 = _class_sizes(n)
    rng = np.random.default_rng(seed)

    def ring(count, radius):
        angle = rng.uniform(0.0, 2.0 * np.pi, size=count)
        return radius * np.stack([np.cos(angle), np.sin(angle)], axis=1)

    return _finish(ring(n0, 1.0), ring(n1, factor), noise, rng, dtype)
