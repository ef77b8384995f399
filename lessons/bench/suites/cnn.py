"""The ``cnn`` suite: one SGD training step of a small convolutional net on the digits.

The net is ``lessons.models.small_cnn``: Conv2d 3x3 (1 -> ``channels`` maps, no
padding), ReLU, MaxPool2d 2, Flatten, Linear -> 10, on the 8x8 digits (8 maps of 6x6,
then 3x3, then 72 features). Every framework starts from the same NumPy weights
(PyTorch's default initialisation and layout; ``lessons.models.set_weights`` moves
them into Keras' channels-last layout) and sees the same batches, so every row ends
at the same loss and test accuracy, up to float32 rounding.

The contestants are those of the ``mlp`` suite, without a hand-written NumPy step: a
NumPy convolution with its backward is an engine of its own, and minigrad's
``Conv2d`` is exactly that (im2col on NumPy).
"""

from __future__ import annotations

import importlib
import itertools
from dataclasses import dataclass

import numpy as np

from lessons.bench.registry import Framework, Section, Suite, register_suite
from lessons.bench.suites import mlp
from lessons.frameworks import tensorflow_with_threads, torch_with_threads
from lessons.training import keras_update

SIDE, KERNEL, N_OUT = 8, 3, 10


@dataclass
class Problem:
    batches: list[tuple[np.ndarray, np.ndarray]]  # float32 (batch, 1, 8, 8), int64 (batch,)
    init: dict[str, np.ndarray]
    lr: float
    channels: int
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray


def init_weights(channels: int, seed: int) -> dict[str, np.ndarray]:
    """PyTorch's default init, U(-1/sqrt(fan_in), 1/sqrt(fan_in)), under the
    ``nn.Sequential`` names of ``small_cnn``: conv = module 0, linear = module 4."""
    rng = np.random.default_rng(seed)
    pooled = (SIDE - KERNEL + 1) // 2
    shapes = {"0": ((channels, 1, KERNEL, KERNEL), KERNEL * KERNEL),
              "4": ((N_OUT, channels * pooled * pooled), channels * pooled * pooled)}
    weights = {}
    for name, (shape, fan_in) in shapes.items():
        bound = 1.0 / np.sqrt(fan_in)
        weights[f"{name}.weight"] = rng.uniform(-bound, bound, shape).astype(np.float32)
        weights[f"{name}.bias"] = rng.uniform(-bound, bound, shape[0]).astype(np.float32)
    return weights


def make_problem(config: dict) -> Problem:
    from lessons.data import load_digits

    X, y, X_test, y_test = load_digits(dtype="float32", split=0.2, seed=config["seed"])
    batch, channels = config["batch"], config["channels"]
    if not 1 <= batch <= len(X):
        raise ValueError(f"cnn: batch must be between 1 and the {len(X)} training "
                         f"samples, got {batch}")
    if channels < 1:
        raise ValueError(f"cnn: channels must be at least 1, got {channels}")
    X = X.reshape(-1, 1, SIDE, SIDE)
    X_test = X_test.reshape(-1, 1, SIDE, SIDE)
    batches = [(X[i : i + batch], y[i : i + batch]) for i in range(0, len(X) - batch + 1, batch)]
    return Problem(batches, init_weights(channels, config["seed"]), config["lr"], channels,
                   X, y, X_test, y_test)


def logits_of(weights: dict[str, np.ndarray], X: np.ndarray) -> np.ndarray:
    """The net's logits in float64 NumPy for (N, 1, 8, 8) images."""
    w = {k: np.asarray(v, dtype=np.float64) for k, v in weights.items()}
    windows = np.lib.stride_tricks.sliding_window_view(X.astype(np.float64), (KERNEL, KERNEL),
                                                       axis=(2, 3))  # N, C, 6, 6, 3, 3
    maps = np.einsum("nchwij,ocij->nohw", windows, w["0.weight"]) + w["0.bias"][:, None, None]
    maps = np.maximum(maps, 0.0)
    n, c, h, _ = maps.shape
    pooled = maps[:, :, : h // 2 * 2, : h // 2 * 2].reshape(n, c, h // 2, 2, h // 2, 2)
    features = pooled.max(axis=(3, 5)).reshape(n, -1)  # (c, h, w) order, as PyTorch
    return features @ w["4.weight"].T + w["4.bias"]


def evaluate(problem: Problem, weights: dict[str, np.ndarray]) -> float:
    """Mean cross-entropy on the whole training set, in float64, for any framework."""
    return mlp.cross_entropy(logits_of(weights, problem.X_train), problem.y_train)


def accuracy(problem: Problem, weights: dict[str, np.ndarray]) -> float:
    """Fraction of the held-out test digits classified right."""
    return float((logits_of(weights, problem.X_test).argmax(axis=1) == problem.y_test).mean())


# --- the contestants ---------------------------------------------------------------


def _model_and_data(torch, framework: str, problem: Problem):
    from lessons import models

    model = models.small_cnn(framework, channels=problem.channels)
    models.set_weights(model, problem.init)
    optimizer = torch.optim.SGD(model.parameters(), lr=problem.lr)
    batches = itertools.cycle([(torch.tensor(X), torch.tensor(y)) for X, y in problem.batches])
    return model, optimizer, batches


def _build_torch_like(torch, framework: str, problem: Problem, compile_name: str | None):
    F = importlib.import_module(f"{torch.__name__}.nn.functional")
    model, optimizer, batches = _model_and_data(torch, framework, problem)
    if compile_name is None:
        step = mlp.eager_step(model, optimizer, batches, F)
    else:
        step, _ = mlp.compiled_step(torch.compile, model, optimizer, batches, F, compile_name)
    return step, lambda: mlp._export(model)


def build_torch(problem: Problem, threads: int):
    return _build_torch_like(torch_with_threads(threads), "torch", problem, None)


def build_torch_compile(problem: Problem, threads: int):
    return _build_torch_like(torch_with_threads(threads), "torch", problem, "torch.compile")


def build_minigrad(problem: Problem, threads: int):
    import minigrad

    return _build_torch_like(minigrad, "minigrad", problem, None)


def build_minigrad_compile(problem: Problem, threads: int):
    return _build_torch_like(mlp.require_minigrad_compile(), "minigrad", problem,
                             "minigrad.compile")


def _build_tf(problem: Problem, threads: int, compiled: bool):
    tf = tensorflow_with_threads(threads)
    import keras

    from lessons import models

    model = models.small_cnn("tensorflow", channels=problem.channels)
    models.set_weights(model, problem.init)
    optimizer = keras.optimizers.SGD(learning_rate=problem.lr)
    # channels first -> channels last, TensorFlow's CPU layout
    batches = itertools.cycle([(tf.constant(X.transpose(0, 2, 3, 1)), tf.constant(y))
                               for X, y in problem.batches])
    train_step = keras_update(model, optimizer)  # GradientTape, gradients, apply_gradients
    if compiled:
        train_step = tf.function(train_step)

    def step():
        return train_step(*next(batches))

    return step, lambda: models.get_weights(model)


def build_tf_eager(problem: Problem, threads: int):
    return _build_tf(problem, threads, compiled=False)


def build_tf_function(problem: Problem, threads: int):
    return _build_tf(problem, threads, compiled=True)


ALL = ["minigrad", "minigrad-compile", "torch", "torch-compile", "tf-eager", "tf-function"]


def plan(quick: bool) -> list[Section]:
    """The suite's config with every contestant (--quick: without torch.compile,
    whose compiling alone takes longer than the rest of the suite)."""
    return [Section("cnn", [{}], [k for k in ALL if not (quick and k == "torch-compile")])]


SUITE = register_suite(
    Suite(
        name="cnn",
        description="CNN conv3x3({channels})-relu-maxpool2-linear training step (SGD), "
        "digits 8x8, batch {batch}, CPU",
        frameworks={
            "minigrad": Framework("minigrad", f"{__name__}:build_minigrad", traced_memory=True,
                                  imports=mlp.MINIGRAD),
            "torch": Framework("PyTorch eager", f"{__name__}:build_torch", imports=mlp.TORCH),
            "tf-eager": Framework("TensorFlow eager (GradientTape)", f"{__name__}:build_tf_eager",
                                  imports=mlp.TF),
            "tf-function": Framework("TensorFlow tf.function", f"{__name__}:build_tf_function",
                                     imports=mlp.TF),
        },
        on_request={
            "minigrad-compile": Framework("minigrad.compile", f"{__name__}:build_minigrad_compile",
                                          traced_memory=True, imports=mlp.MINIGRAD),
            "torch-compile": Framework("PyTorch torch.compile", f"{__name__}:build_torch_compile",
                                       imports=mlp.TORCH),
        },
        problem=f"{__name__}:make_problem",
        evaluate=f"{__name__}:evaluate",
        accuracy=f"{__name__}:accuracy",
        config={"batch": 64, "channels": 8, "lr": 0.1, "seed": 0},
        full={"rounds": 5, "steps": 100, "warmup": 20},
        quick={"rounds": 1, "steps": 10, "warmup": 3},
        plan=plan,
    )
)
