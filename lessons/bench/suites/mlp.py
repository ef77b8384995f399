"""The ``mlp`` suite: one SGD training step of an MLP on the digits.

The settings are ``inputs`` (64: the 8x8 digits; a square such as 784: the digits
resized to 28x28 by bilinear interpolation), ``hidden`` (width of every hidden
layer), ``depth`` (number of hidden layers), ``batch``, ``lr`` and ``seed``:
``run_suite("mlp", config={"batch": 256})``, or 784-512-512-10 with
``{"inputs": 784, "hidden": 512, "depth": 2}``.

A step is: forward (Linear-ReLU-...-Linear), mean cross-entropy, backward, SGD
update, and clearing the gradients where the framework keeps them. Every framework
starts from the same NumPy-generated weights (PyTorch's ``Linear`` initialisation and
``state_dict`` layout) and sees the same batches in the same order, so after the
same number of steps every framework should reach the same loss and the same test
accuracy, up to float32 rounding.

The contestants are written the way each framework is normally used:

- ``torch`` / ``minigrad``: ``nn.Sequential`` + ``optim.SGD``, literally the same code
  with a different module bound to the name ``torch``.
- ``tf-eager``: a Keras ``Sequential`` model, ``tf.GradientTape`` and a Keras SGD
  optimizer (the loop body ``lessons.training.keras_update``), run eagerly;
  ``tf-function``: the same step wrapped in ``tf.function`` (traced on the first call,
  no XLA).
- ``numpy``: the step written out by hand, the floor any Python-level engine on top of
  NumPy is measured against.
- on request (slow to start, or not in every minigrad): ``torch-compile`` and
  ``minigrad-compile``, the forward and loss compiled with ``torch.compile`` /
  ``minigrad.compile``, then ``backward()`` and the optimizer step run eagerly, as
  the usual PyTorch recipe does.
"""

from __future__ import annotations

import importlib
import itertools
import math
from dataclasses import dataclass

import numpy as np

from lessons.bench.registry import Framework, Section, Suite, Unavailable, register_suite
from lessons.frameworks import tensorflow_with_threads, torch_with_threads
from lessons.training import keras_update

N_OUT = 10
DIGITS_SIDE = 8


@dataclass
class Problem:
    batches: list[tuple[np.ndarray, np.ndarray]]  # float32 (batch, inputs), int64 (batch,)
    init: dict[str, np.ndarray]  # PyTorch state_dict keys and layouts, float32
    lr: float
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray


def resize_images(X: np.ndarray, side: int) -> np.ndarray:
    """Flat rows of square images resized to ``side`` x ``side`` by bilinear
    interpolation (corners aligned), still flat rows, same dtype."""
    old = math.isqrt(X.shape[1])
    positions = np.linspace(0, old - 1, side)
    low = np.minimum(positions.astype(int), old - 2)
    frac = positions - low
    weights = np.zeros((side, old))
    weights[np.arange(side), low] = 1 - frac
    weights[np.arange(side), low + 1] = frac
    images = X.reshape(len(X), old, old).astype(np.float64)
    out = np.einsum("ij,njk,lk->nil", weights, images, weights)
    return out.reshape(len(X), side * side).astype(X.dtype)


def load_data(inputs: int, seed: int):
    """The digits split (train, test) as rows of ``inputs`` pixels."""
    from lessons.data import load_digits

    side = math.isqrt(inputs)
    if side * side != inputs or side < DIGITS_SIDE:
        raise ValueError(f"mlp: inputs must be a square of at least {DIGITS_SIDE ** 2} "
                         f"(the digits resized to side x side), got {inputs}")
    X, y, X_test, y_test = load_digits(dtype="float32", split=0.2, seed=seed)
    if side != DIGITS_SIDE:
        X, X_test = resize_images(X, side), resize_images(X_test, side)
    return X, y, X_test, y_test


def make_problem(config: dict) -> Problem:
    X, y, X_test, y_test = load_data(config["inputs"], config["seed"])
    batch, hidden, depth = config["batch"], config["hidden"], config["depth"]
    if not 1 <= batch <= len(X):
        raise ValueError(f"mlp: batch must be between 1 and the {len(X)} training "
                         f"samples, got {batch}")
    if hidden < 1:
        raise ValueError(f"mlp: hidden must be at least 1, got {hidden}")
    if depth < 1:
        raise ValueError(f"mlp: depth (hidden layers) must be at least 1, got {depth}")
    batches = [(X[i : i + batch], y[i : i + batch]) for i in range(0, len(X) - batch + 1, batch)]
    init = init_weights(hidden, config["seed"], inputs=config["inputs"], depth=depth)
    return Problem(batches, init, config["lr"], X, y, X_test, y_test)


def layer_sizes(hidden: int, inputs: int = 64, depth: int = 1) -> list[int]:
    return [inputs] + [hidden] * depth + [N_OUT]


def init_weights(hidden: int, seed: int, inputs: int = 64, depth: int = 1) -> dict[str, np.ndarray]:
    """PyTorch's default ``Linear`` init, U(-1/sqrt(fan_in), 1/sqrt(fan_in)), in NumPy,
    under ``nn.Sequential``'s names: Linear layers are modules 0, 2, 4, ..."""
    rng = np.random.default_rng(seed)
    weights = {}
    sizes = layer_sizes(hidden, inputs, depth)
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        bound = 1.0 / np.sqrt(fan_in)
        weight = rng.uniform(-bound, bound, (fan_out, fan_in))
        weights[f"{2 * i}.weight"] = weight.astype(np.float32)
        weights[f"{2 * i}.bias"] = rng.uniform(-bound, bound, fan_out).astype(np.float32)
    return weights


def _linear_names(weights: dict) -> list[str]:
    return sorted({k.split(".")[0] for k in weights}, key=int)


def logits_of(weights: dict[str, np.ndarray], X: np.ndarray) -> np.ndarray:
    """The MLP's logits in float64 NumPy, for any framework's exported weights."""
    w = {k: np.asarray(v, dtype=np.float64) for k, v in weights.items()}
    names = _linear_names(w)
    out = X.astype(np.float64)
    for i, name in enumerate(names):
        out = out @ w[f"{name}.weight"].T + w[f"{name}.bias"]
        if i < len(names) - 1:
            out = np.maximum(out, 0.0)
    return out


def cross_entropy(logits: np.ndarray, y: np.ndarray) -> float:
    logits = logits - logits.max(axis=1, keepdims=True)
    log_probs = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    return float(-log_probs[np.arange(len(y)), y].mean())


def evaluate(problem: Problem, weights: dict[str, np.ndarray]) -> float:
    """Mean cross-entropy on the whole training set, in float64, for any framework."""
    return cross_entropy(logits_of(weights, problem.X_train), problem.y_train)


def accuracy(problem: Problem, weights: dict[str, np.ndarray]) -> float:
    """Fraction of the held-out test digits classified right."""
    return float((logits_of(weights, problem.X_test).argmax(axis=1) == problem.y_test).mean())


# --- the contestants ---------------------------------------------------------------


def build_numpy(problem: Problem, threads: int):
    w = {k: v.copy() for k, v in problem.init.items()}
    names = _linear_names(w)
    layers = [(w[f"{n}.weight"], w[f"{n}.bias"]) for n in names]
    lr = np.float32(problem.lr)
    batches = itertools.cycle(problem.batches)
    rows = np.arange(len(problem.batches[0][1]))

    def step():
        X, y = next(batches)
        # forward, keeping each layer's input and pre-activation for backward
        inputs, pre = [X], []
        for i, (W, b) in enumerate(layers):
            z = inputs[-1] @ W.T + b
            if i < len(layers) - 1:
                pre.append(z)
                inputs.append(np.maximum(z, 0))
        logits = z
        shifted = logits - logits.max(axis=1, keepdims=True)
        exp = np.exp(shifted)
        total = exp.sum(axis=1, keepdims=True)
        loss = np.log(total[:, 0]).mean() - shifted[rows, y].mean()
        # backward: d(mean CE)/d(logits) = (softmax - onehot) / batch
        g = exp / total
        g[rows, y] -= 1
        g /= len(y)
        grads = []
        for i in range(len(layers) - 1, -1, -1):
            W, _ = layers[i]
            grads.append((g.T @ inputs[i], g.sum(axis=0)))
            if i > 0:
                g = g @ W
                g *= pre[i - 1] > 0  # d relu(z)/dz = 1 where z > 0, else 0
        # SGD update, in place; the gradients are fresh arrays, nothing to zero
        for (W, b), (g_W, g_b) in zip(layers, reversed(grads)):
            W -= lr * g_W
            b -= lr * g_b
        return loss

    return step, lambda: {k: v.copy() for k, v in w.items()}


def _model_and_data(torch, problem: Problem):
    """``nn.Sequential`` with the problem's weights, its SGD and its batches."""
    nn = torch.nn
    names = _linear_names(problem.init)
    modules = []
    for i, name in enumerate(names):
        n_out, n_in = problem.init[f"{name}.weight"].shape
        modules.append(nn.Linear(n_in, n_out))
        if i < len(names) - 1:
            modules.append(nn.ReLU())
    model = nn.Sequential(*modules)
    model.load_state_dict({k: torch.tensor(v) for k, v in problem.init.items()})
    optimizer = torch.optim.SGD(model.parameters(), lr=problem.lr)
    batches = itertools.cycle([(torch.tensor(X), torch.tensor(y)) for X, y in problem.batches])
    return model, optimizer, batches


def _export(model):
    return {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}


def eager_step(model, optimizer, batches, F):
    """PyTorch's training step on the next batch (``F`` is ``torch.nn.functional`` or
    minigrad's): forward, loss, backward, update, gradients cleared."""

    def step():
        X, y = next(batches)
        loss = F.cross_entropy(model(X), y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        return loss

    return step


def _build_torch_like(torch, problem: Problem):
    """The PyTorch training step; ``torch`` may be ``minigrad``."""
    F = importlib.import_module(f"{torch.__name__}.nn.functional")
    model, optimizer, batches = _model_and_data(torch, problem)
    return eager_step(model, optimizer, batches, F), lambda: _export(model)


def compiled_step(compile_fn, model, optimizer, batches, F, name: str):
    """A step whose forward and loss go through ``compile_fn`` (``torch.compile``,
    ``minigrad.compile``); backward and the update stay eager. A failure of the
    first call, where compiling happens, makes the framework unavailable here."""
    forward_loss = compile_fn(lambda X, y: F.cross_entropy(model(X), y))
    calls = [0]

    def step():
        X, y = next(batches)
        calls[0] += 1
        if calls[0] == 1:
            try:
                loss = forward_loss(X, y)
            except Exception as exc:  # no C++ compiler, unsupported platform, ...
                first = (str(exc).strip().splitlines() or [""])[0][:160]
                raise Unavailable(f"{name} failed here: {type(exc).__name__}: {first}") from exc
        else:
            loss = forward_loss(X, y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        return loss

    return step, forward_loss


def build_torch(problem: Problem, threads: int):
    return _build_torch_like(torch_with_threads(threads), problem)


def build_torch_compile(problem: Problem, threads: int):
    torch = torch_with_threads(threads)
    model, optimizer, batches = _model_and_data(torch, problem)
    step, _ = compiled_step(torch.compile, model, optimizer, batches, torch.nn.functional,
                            "torch.compile")
    return step, lambda: _export(model)


def require_minigrad_compile():
    import minigrad  # NumPy's BLAS threads are capped by the environment

    if not hasattr(minigrad, "compile"):
        raise Unavailable("this minigrad has no minigrad.compile yet")
    return minigrad


def build_minigrad(problem: Problem, threads: int):
    import minigrad  # NumPy's BLAS threads are capped by the environment

    return _build_torch_like(minigrad, problem)


def build_minigrad_compile(problem: Problem, threads: int):
    minigrad = require_minigrad_compile()
    import minigrad.nn.functional as F

    model, optimizer, batches = _model_and_data(minigrad, problem)
    step, _ = compiled_step(minigrad.compile, model, optimizer, batches, F, "minigrad.compile")
    return step, lambda: _export(model)


def _build_tf(problem: Problem, threads: int, compiled: bool):
    tf = tensorflow_with_threads(threads)
    import keras

    names = _linear_names(problem.init)
    layers = [keras.Input(shape=(problem.init[f"{names[0]}.weight"].shape[1],))]
    for i, name in enumerate(names):
        layers.append(keras.layers.Dense(problem.init[f"{name}.weight"].shape[0]))
        if i < len(names) - 1:
            layers.append(keras.layers.ReLU())
    model = keras.Sequential(layers)
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    for layer, name in zip(dense, names):
        # Keras keeps the kernel as (in, out), PyTorch's weight is (out, in)
        layer.set_weights([problem.init[f"{name}.weight"].T, problem.init[f"{name}.bias"]])
    optimizer = keras.optimizers.SGD(learning_rate=problem.lr)
    batches = itertools.cycle([(tf.constant(X), tf.constant(y)) for X, y in problem.batches])
    train_step = keras_update(model, optimizer)  # GradientTape, gradients, apply_gradients
    if compiled:
        train_step = tf.function(train_step)

    def step():
        return train_step(*next(batches))

    def export():
        out = {}
        for layer, name in zip(dense, names):
            kernel, bias = layer.get_weights()
            out[f"{name}.weight"], out[f"{name}.bias"] = kernel.T.copy(), bias.copy()
        return out

    return step, export


def build_tf_eager(problem: Problem, threads: int):
    return _build_tf(problem, threads, compiled=False)


def build_tf_function(problem: Problem, threads: int):
    return _build_tf(problem, threads, compiled=True)


def describe(config: dict) -> str:
    inputs, hidden, depth = config["inputs"], config["hidden"], config["depth"]
    try:
        layers = "-".join(str(n) for n in layer_sizes(hidden, int(inputs), int(depth)))
    except (TypeError, ValueError):  # a span such as "64/784", in a chart's title
        layers = f"{inputs}-{hidden}(×{depth})-{N_OUT}"
    data = "digits" if str(inputs) == str(DIGITS_SIDE ** 2) else "digits resized"
    return f"MLP {layers} training step (SGD), {data}, batch {config['batch']}, CPU"


TORCH = ("torch",)
TF = ("tensorflow", "keras")
MINIGRAD = ("minigrad",)

# every contestant, in the order of the tables: minigrad's two modes, then PyTorch's,
# TensorFlow's, and the NumPy floor
ALL = ["minigrad", "minigrad-compile", "torch", "torch-compile", "tf-eager", "tf-function",
       "numpy"]
DIGITS_MLP = {}  # 64-128-10, the suite's own config
WIDE_INPUT = {"inputs": 784, "hidden": 128}
DEEP = {"inputs": 784, "hidden": 512, "depth": 2, "batch": 1024}


def plan(quick: bool) -> list[Section]:
    """``python -m lessons.bench mlp``: 64-128-10 on the digits at batch 64 (many short
    steps: 5 rounds of 100); 784-128-10 at batches 32, 128 and 1024 and 784-512-512-10
    at batch 1024 (3 rounds of 30, in one worker per framework per round)."""
    if quick:  # the 784-512-512-10 model runs in the memory suite's smoke run
        return [Section("mlp", [DIGITS_MLP], ALL, {"rounds": 1, "steps": 10, "warmup": 3})]
    return [
        Section("mlp", [DIGITS_MLP], ALL, {"rounds": 5, "steps": 100, "warmup": 20}),
        Section("mlp", [{**WIDE_INPUT, "batch": b} for b in (32, 128, 1024)] + [DEEP], ALL,
                {"rounds": 3, "steps": 30, "warmup": 5}),
    ]


SUITE = register_suite(
    Suite(
        name="mlp",
        description=describe,
        frameworks={
            "minigrad": Framework("minigrad", f"{__name__}:build_minigrad", traced_memory=True,
                                  imports=MINIGRAD),
            "torch": Framework("PyTorch eager", f"{__name__}:build_torch", imports=TORCH),
            "tf-eager": Framework("TensorFlow eager (GradientTape)", f"{__name__}:build_tf_eager",
                                  imports=TF),
            "tf-function": Framework("TensorFlow tf.function", f"{__name__}:build_tf_function",
                                     imports=TF),
            "numpy": Framework("NumPy by hand", f"{__name__}:build_numpy", traced_memory=True),
        },
        on_request={
            "minigrad-compile": Framework("minigrad.compile", f"{__name__}:build_minigrad_compile",
                                          traced_memory=True, imports=MINIGRAD),
            "torch-compile": Framework("PyTorch torch.compile", f"{__name__}:build_torch_compile",
                                       imports=TORCH),
        },
        problem=f"{__name__}:make_problem",
        evaluate=f"{__name__}:evaluate",
        accuracy=f"{__name__}:accuracy",
        config={"hidden": 128, "batch": 64, "lr": 0.1, "seed": 0, "inputs": 64, "depth": 1},
        plan=plan,
    )
)
