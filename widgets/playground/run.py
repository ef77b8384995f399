"""One framework's side of a Playground run: its copy of the model, its training step,
and what training recorded."""

from __future__ import annotations

import time

import numpy as np

from lessons.models import mlp, predict, set_weights
from lessons.training import keras_optimizer, torch_like_optimizer

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
        self.model = mlp(self.framework, sizes, config.activation)
        set_weights(self.model, weights)
        make = _keras_step if self.framework == "tensorflow" else _torch_like_step
        self._step = make(self.model, self.framework, config.optimizer, config.lr)

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


def _torch_like_step(model, framework, optimizer, lr):
    """PyTorch's (and minigrad's) loop body, as ``lessons.training.train`` writes it."""
    torch, opt = torch_like_optimizer(model, framework, optimizer, lr)
    F = torch.nn.functional
    model.train()

    def step(X, y):
        loss = F.cross_entropy(model(torch.tensor(X)), torch.tensor(y))
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()

    return step


def _keras_step(model, framework, optimizer, lr):
    """TensorFlow's loop body: GradientTape inside a tf.function (traced on the first
    step, which is why that step is left out of the time per step)."""
    import tensorflow as tf

    opt = keras_optimizer(optimizer, lr)
    opt.build(model.trainable_variables)  # its variables exist before tf.function traces

    @tf.function(reduce_retracing=True)
    def train_step(X, y):
        with tf.GradientTape() as tape:
            logits = model(X, training=True)
            loss = tf.reduce_mean(
                tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
        grads = tape.gradient(loss, model.trainable_variables)
        opt.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    return lambda X, y: float(train_step(X, y))
