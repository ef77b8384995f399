"""One framework's side of a Playground run: its copy of the model, its training step,
and what training recorded."""

from __future__ import annotations

import time

import numpy as np

from lessons.models import mlp, predict, set_weights
from lessons.training import train_step

from .config import Config

TIMED_AFTER = 3                         # steps left out of the time per step (warm-up, tracing)


# ------------------------------------------------------------------------- one framework


class FrameworkRun:
    """One framework's copy of the model, its optimizer, and what training recorded."""

    def __init__(self, framework: str):
        self.framework = framework
        self.losses: list[float] = []
        self.seconds: list[float] = []      # wall time of each step
        self.error: str | None = None       # why this framework stopped, if it did
        self.diverged = False               # it stopped because its loss diverged
        self.stopped_at: int | None = None  # the step at which it stopped
        self.model = None

    def setup(self, config: Config, sizes: tuple[int, ...], weights: dict) -> None:
        """Build the model with ``weights`` and its training step (imports the framework).
        Each framework gets one thread: at this size more threads only wait on each
        other, and on a busy machine a waiting thread costs whole milliseconds a step."""
        from lessons.bench.harness import tensorflow_with_threads, torch_with_threads

        if self.framework == "torch":
            torch_with_threads(1)
        elif self.framework == "tensorflow":
            tensorflow_with_threads(1)
        else:
            _numpy_with_one_thread()
        self.model = mlp(self.framework, sizes, config.activation, dropout=config.dropout,
                         seed=config.seed)
        set_weights(self.model, weights)
        if config.dropout:  # the masks, as the programs of the Code tab draw them
            if self.framework == "torch":
                import torch

                torch.manual_seed(config.seed)
            elif self.framework == "minigrad":
                import minigrad

                minigrad.manual_seed(config.seed)
        self._step = train_step(self.model, config.optimizer, config.lr, l2=config.l2)

    def step(self, X: np.ndarray, y: np.ndarray) -> float:
        """One training step on the batch (X, y); returns the loss before the update."""
        start = time.perf_counter()
        loss = self._step(X, y)
        self.seconds.append(time.perf_counter() - start)
        self.losses.append(loss)
        return loss

    def step_ms(self) -> float | None:
        """Median milliseconds per step over the last 50 steps, warm-up left out."""
        timed = self.seconds[TIMED_AFTER:][-50:]
        return float(np.median(timed)) * 1e3 if timed else None

    def predict(self, X: np.ndarray) -> np.ndarray:
        return predict(self.model, X)


def _numpy_with_one_thread() -> None:
    """NumPy's BLAS (minigrad's matrix products) on one thread, as the other frameworks
    are: with two, a 2-core machine busy with anything else made minigrad's steps two to
    four times slower, not faster. threadpoolctl comes with scikit-learn."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return
    threadpool_limits(limits=1, user_api="blas")
