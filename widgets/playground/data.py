"""The Playground's data: the data sets, split for training and testing, and the
mini-batches drawn as training reaches them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lessons.data import circles, load_digits, moons, two_spirals

POINTS = 400                            # the generated 2-D sets' size
NOISE = {"spirals": 0.04, "moons": 0.1, "circles": 0.06}
GRID = 50                               # the decision boundary is drawn from GRID x GRID points


# ------------------------------------------------------------------------- data


@dataclass
class Data:
    """One data set, split; ``grid`` holds the points of the decision boundary (2-D)."""

    X: np.ndarray
    y: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    classes: int
    extent: tuple[float, float, float, float] | None = None  # x0, x1, y0, y1
    grid: np.ndarray | None = None


def load_data(name: str, seed: int = 0, *, noise: float | None = None,
              test: int = 20) -> Data:
    """The data set ``name`` (a key of DATASETS) with ``test`` percent of its examples
    held out for testing. The 2-D sets are POINTS points with Gaussian noise of standard
    deviation ``noise`` on each coordinate (None: the set's own, NOISE); the digits
    have no noise setting, and their split keeps every digit's share."""
    if name == "digits":
        X, y, X_test, y_test = load_digits(seed=seed, split=test / 100)
        return Data(X, y, X_test, y_test, classes=10)
    make = {"spirals": two_spirals, "moons": moons, "circles": circles}[name]
    X, y = make(n=POINTS, noise=NOISE[name] if noise is None else noise,
                seed=seed)  # already shuffled
    n_test = held_out(test)
    lo, hi = X.min(axis=0), X.max(axis=0)
    center, half = (lo + hi) / 2, (hi - lo).max() / 2 * 1.15  # a square view, with a margin
    x0, x1, y0, y1 = center[0] - half, center[0] + half, center[1] - half, center[1] + half
    gx, gy = np.meshgrid(np.linspace(x0, x1, GRID), np.linspace(y1, y0, GRID))  # top row first
    grid = np.stack([gx.ravel(), gy.ravel()], axis=1).astype(np.float32)
    return Data(X[n_test:], y[n_test:], X[:n_test], y[:n_test], classes=2,
                extent=(x0, x1, y0, y1), grid=grid)


def held_out(test: int) -> int:
    """How many of the POINTS generated points ``test`` percent holds out."""
    return POINTS * test // 100


class Batches:
    """The mini-batches of ``lessons.training.batch_order(n, batch_size, epochs, seed)``,
    the same indices in the same order, drawn as training reaches them: ``batches[step]``
    is the index array of step ``step`` (from 0). Only the current epoch's order (n
    indices) is kept, so memory does not grow with the number of steps; asking for an
    earlier epoch than the current one draws the orders again from the seed."""

    def __init__(self, n: int, batch_size: int, seed: int = 0):
        self.n, self.batch_size, self.seed = n, batch_size, seed
        self.per_epoch = -(-n // batch_size)  # the last batch of an epoch holds the rest
        self._restart()

    def _restart(self) -> None:
        self._rng, self._epoch, self._order = np.random.default_rng(self.seed), -1, None

    def __getitem__(self, step: int) -> np.ndarray:
        epoch, i = divmod(step, self.per_epoch)
        if epoch < self._epoch:
            self._restart()
        while self._epoch < epoch:
            self._order = self._rng.permutation(self.n)
            self._epoch += 1
        return self._order[i * self.batch_size:(i + 1) * self.batch_size]
