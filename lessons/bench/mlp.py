"""The ``mlp`` suite: one SGD training step of a 64-128-10 MLP on the digits.

The hidden size, the batch, the learning rate and the seed are settings of the
suite's config: ``run_suite("mlp", config={"batch": 256})``.

A step is: forward (Linear-ReLU-Linear), mean cross-entropy, backward, SGD update,
and clearing the gradients where the framework keeps them. Every framework starts
from the same NumPy-generated weights (PyTorch's ``Linear`` initialisation and
``state_dict`` layout) and sees the same batches in the same order, so after the
same number of steps every framework should reach the same loss, up to float32
rounding.

The contestants are written the way each framework is normally used:

- ``torch`` / ``minigrad``: ``nn.Sequential`` + ``optim.SGD``, literally the same code
  with a different module bound to the name ``torch``.
- ``tf-eager``: a Keras ``Sequential`` model, ``tf.GradientTape`` and a Keras SGD
  optimizer, run eagerly; ``tf-function``: the same step wrapped in ``tf.function``
  (traced once during warm-up, no XLA).
- ``numpy``: the step written out by hand, the floor any Python-level engine on top of
  NumPy is measured against.
"""

from __future__ import annotations

import importlib
import itertools
from dataclasses import dataclass

import numpy as np

from lessons.bench.harness import (Framework, Suite, register_suite, tensorflow_with_threads,
                                    torch_with_threads)

N_IN, N_OUT = 64, 10


@dataclass
class Problem:
    batches: list[tuple[np.ndarray, np.ndarray]]  # float32 (batch, 64), int64 (batch,)
    init: dict[str, np.ndarray]  # PyTorch state_dict keys and layouts, float32
    lr: float
    X_train: np.ndarray
    y_train: np.ndarray


def make_problem(config: dict) -> Problem:
    from lessons.data import load_digits

    X, y, _, _ = load_digits(dtype="float32", split=0.2, seed=config["seed"])
    batch, hidden = config["batch"], config["hidden"]
    if not 1 <= batch <= len(X):
        raise ValueError(f"mlp: batch must be between 1 and the {len(X)} training "
                         f"samples, got {batch}")
    if hidden < 1:
        raise ValueError(f"mlp: hidden must be at least 1, got {hidden}")
    batches = [(X[i : i + batch], y[i : i + batch]) for i in range(0, len(X) - batch + 1, batch)]
    return Problem(batches, init_weights(hidden, config["seed"]), config["lr"], X, y)


def init_weights(hidden: int, seed: int) -> dict[str, np.ndarray]:
    """PyTorch's default ``Linear`` init, U(-1/sqrt(fan_in), 1/sqrt(fan_in)), in NumPy."""
    rng = np.random.default_rng(seed)
    weights = {}
    for name, (fan_in, fan_out) in {"0": (N_IN, hidden), "2": (hidden, N_OUT)}.items():
        bound = 1.0 / np.sqrt(fan_in)
        weights[f"{name}.weight"] = rng.uniform(-bound, bound, (fan_out, fan_in)).astype(np.float32)
        weights[f"{name}.bias"] = rng.uniform(-bound, bound, fan_out).astype(np.float32)
    return weights


def evaluate(problem: Problem, weights: dict[str, np.ndarray]) -> float:
    """Mean cross-entropy on the whole training set, in float64, for any framework."""
    w = {k: np.asarray(v, dtype=np.float64) for k, v in weights.items()}
    hidden = np.maximum(problem.X_train @ w["0.weight"].T + w["0.bias"], 0.0)
    logits = hidden @ w["2.weight"].T + w["2.bias"]
    logits = logits - logits.max(axis=1, keepdims=True)
    log_probs = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    return float(-log_probs[np.arange(len(problem.y_train)), problem.y_train].mean())


# --- the contestants ---------------------------------------------------------------


def build_numpy(problem: Problem, threads: int):
    w = {k: v.copy() for k, v in problem.init.items()}
    params = W1, b1, W2, b2 = w["0.weight"], w["0.bias"], w["2.weight"], w["2.bias"]
    lr = np.float32(problem.lr)
    batches = itertools.cycle(problem.batches)
    rows = np.arange(len(problem.batches[0][1]))

    def step():
        X, y = next(batches)
        # forward
        h_pre = X @ W1.T + b1
        h = np.maximum(h_pre, 0)
        logits = h @ W2.T + b2
        shifted = logits - logits.max(axis=1, keepdims=True)
        exp = np.exp(shifted)
        total = exp.sum(axis=1, keepdims=True)
        loss = np.log(total[:, 0]).mean() - shifted[rows, y].mean()
        # backward: d(mean CE)/d(logits) = (softmax - onehot) / batch
        g_logits = exp / total
        g_logits[rows, y] -= 1
        g_logits /= len(y)
        g_W2 = g_logits.T @ h
        g_b2 = g_logits.sum(axis=0)
        g_h = g_logits @ W2
        g_h *= h_pre > 0  # d relu(z)/dz = 1 where z > 0, else 0
        g_W1 = g_h.T @ X
        g_b1 = g_h.sum(axis=0)
        # SGD update, in place; the gradients are fresh arrays, nothing to zero
        for param, grad in zip(params, (g_W1, g_b1, g_W2, g_b2)):
            param -= lr * grad
        return loss

    return step, lambda: {k: v.copy() for k, v in w.items()}


def _build_torch_like(torch, problem: Problem):
    """The PyTorch training step; ``torch`` may be ``minigrad``."""
    nn = torch.nn
    F = importlib.import_module(f"{torch.__name__}.nn.functional")
    hidden = problem.init["0.bias"].shape[0]
    model = nn.Sequential(nn.Linear(N_IN, hidden), nn.ReLU(), nn.Linear(hidden, N_OUT))
    model.load_state_dict({k: torch.tensor(v) for k, v in problem.init.items()})
    optimizer = torch.optim.SGD(model.parameters(), lr=problem.lr)
    batches = itertools.cycle([(torch.tensor(X), torch.tensor(y)) for X, y in problem.batches])

    def step():
        X, y = next(batches)
        loss = F.cross_entropy(model(X), y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        return loss

    def export():
        return {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}

    return step, export


def build_torch(problem: Problem, threads: int):
    return _build_torch_like(torch_with_threads(threads), problem)


def build_minigrad(problem: Problem, threads: int):
    import minigrad  # NumPy's BLAS threads are capped by the environment

    return _build_torch_like(minigrad, problem)


def _build_tf(problem: Problem, threads: int, compiled: bool):
    tf = tensorflow_with_threads(threads)
    import keras

    hidden = problem.init["0.bias"].shape[0]
    model = keras.Sequential(
        [keras.Input(shape=(N_IN,)), keras.layers.Dense(hidden), keras.layers.ReLU(),
         keras.layers.Dense(N_OUT)]
    )
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    for layer, name in zip(dense, ("0", "2")):
        # Keras keeps the kernel as (in, out), PyTorch's weight is (out, in)
        layer.set_weights([problem.init[f"{name}.weight"].T, problem.init[f"{name}.bias"]])
    optimizer = keras.optimizers.SGD(learning_rate=problem.lr)
    batches = itertools.cycle([(tf.constant(X), tf.constant(y)) for X, y in problem.batches])

    def train_step(X, y):
        with tf.GradientTape() as tape:
            logits = model(X, training=True)
            loss = tf.reduce_mean(
                tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits)
            )
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return loss  # TF hands out fresh gradients: nothing to zero

    if compiled:
        train_step = tf.function(train_step)

    def step():
        return train_step(*next(batches))

    def export():
        out = {}
        for layer, name in zip(dense, ("0", "2")):
            kernel, bias = layer.get_weights()
            out[f"{name}.weight"], out[f"{name}.bias"] = kernel.T.copy(), bias.copy()
        return out

    return step, export


def build_tf_eager(problem: Problem, threads: int):
    return _build_tf(problem, threads, compiled=False)


def build_tf_function(problem: Problem, threads: int):
    return _build_tf(problem, threads, compiled=True)


SUITE = register_suite(
    Suite(
        name="mlp",
        description="MLP 64-{hidden}-10 training step (SGD), digits, batch {batch}, CPU",
        frameworks={
            "minigrad": Framework("minigrad", f"{__name__}:build_minigrad", traced_memory=True),
            "torch": Framework("PyTorch eager", f"{__name__}:build_torch"),
            "tf-eager": Framework("TensorFlow eager (GradientTape)", f"{__name__}:build_tf_eager"),
            "tf-function": Framework("TensorFlow tf.function", f"{__name__}:build_tf_function"),
            "numpy": Framework("NumPy by hand", f"{__name__}:build_numpy", traced_memory=True),
        },
        problem=f"{__name__}:make_problem",
        evaluate=f"{__name__}:evaluate",
        config={"hidden": 128, "batch": 64, "lr": 0.1, "seed": 0},
    )
)
