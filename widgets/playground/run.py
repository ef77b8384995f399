"""One framework's side of a Playground run: its copy of the model, its training step,
and what training recorded."""

from __future__ import annotations

import threading
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
        from lessons.frameworks import tensorflow_with_threads, torch_with_threads

        if self.framework == "torch":
            torch_with_threads(1)
        elif self.framework == "tensorflow":
            from lessons import quiet_tensorflow

            quiet_tensorflow()  # before TensorFlow is imported
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


_importing: dict[str, threading.Event] = {}  # framework: set once its import is over
_import_lock = threading.Lock()  # one import at a time: PyTorch and TensorFlow imported
                                 # side by side in two threads can deadlock


def import_framework(framework: str) -> None:
    """Import the framework and take two training steps of a tiny model in it, as the
    app trains: the first Train then finds the one-time work done (PyTorch's optimizers
    import its compiler stack on first use, TensorFlow sets up tracing on its first
    tf.function)."""
    weights = {"0.weight": np.full((2, 2), 0.5, np.float32), "0.bias": np.zeros(2, np.float32),
               "2.weight": np.eye(2, dtype=np.float32), "2.bias": np.zeros(2, np.float32)}
    run = FrameworkRun(framework)
    run.setup(Config(depth=1, width=2, lr=1e-3), (2, 2, 2), weights)
    X, y = np.zeros((4, 2), np.float32), np.array([0, 1, 0, 1])
    run.step(X, y)
    run.step(X, y)


def import_in_background(frameworks, then=None) -> list[str]:
    """Start importing the frameworks that are not imported yet, one after the other in
    a thread, so that the first Train does not wait for them; ``then()`` is called as
    each finishes. A framework that fails to import is left for the training thread,
    which imports it again and says why. Returns the frameworks still being imported."""
    todo = [f for f in frameworks if f in ("torch", "tensorflow") and f not in _importing]
    for framework in todo:
        _importing[framework] = threading.Event()
    if todo:
        def work():
            for framework in todo:
                try:
                    with _import_lock:
                        import_framework(framework)
                except Exception:  # reported by the training thread's own import
                    pass
                _importing[framework].set()
                if then is not None:
                    then()

        threading.Thread(target=work, name="import frameworks", daemon=True).start()
    return [f for f in frameworks if importing(f)]


def importing(framework: str) -> bool:
    """Whether a background import of the framework is still going on."""
    done = _importing.get(framework)
    return done is not None and not done.is_set()


def wait_for_import(framework: str) -> None:
    """Wait for the background import of the framework, if one is going on: its
    warm-up draws from the framework's random generator, which a run's dropout masks
    must have to themselves."""
    done = _importing.get(framework)
    if done is not None:
        done.wait()
