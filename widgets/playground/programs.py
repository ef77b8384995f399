"""The Playground's set-up as a program that runs on its own, in PyTorch, in
TensorFlow/Keras or in minigrad: what the app's Code tab shows and lets a person
download.

    text = program("torch", config)    # a Config of widgets.playground
    # python playground_torch.py       # prints the loss of every few steps and the
    #                                  # test accuracy, the numbers the app shows

A program needs NumPy and its framework (and scikit-learn for the digits), not this
project (minigrad's program needs minigrad): it makes the data, the initial weights
and the batches itself, with the same NumPy code and seed as the app, so it trains
from the app's weights on the app's batches and prints the losses the app draws.

- The data: the functions below (``two_spirals``, ``moons``, ``circles``, ``digits``)
  are those of ``lessons.data``, each written out whole; the program holds the one it
  needs.
- The initial weights: the app draws them with ``minigrad.manual_seed(seed)`` and
  ``nn.Linear``, which fills each weight, then its bias, layer by layer, with
  U(-1/sqrt(fan_in), 1/sqrt(fan_in)) from ``np.random.default_rng(seed)``.
  ``initial_weights`` draws the same numbers with NumPy alone.
- The batches: ``batches`` is ``widgets.playground.Batches`` as a generator.

These functions are copied into the programs as they are written here
(``inspect.getsource``), and tests/widgets/test_playground_programs.py checks them against the
app's own data, weights and batches, and each program's printed losses against the
app's.
"""

from __future__ import annotations

import base64
import inspect
import math
import textwrap

import numpy as np

from lessons.frameworks import LABELS as FRAMEWORK_LABELS

from .data import POINTS, held_out

__all__ = ["FILENAMES", "LABELS", "program", "download_uri", "two_spirals", "moons",
           "circles", "digits", "initial_weights", "batches"]

FILENAMES = {"minigrad": "playground_minigrad.py", "torch": "playground_torch.py",
             "tensorflow": "playground_keras.py"}
# the program headers name Keras too: the TensorFlow program is written in Keras
LABELS = {key: FRAMEWORK_LABELS[key] + ("/Keras" if key == "tensorflow" else "")
          for key in FILENAMES}
REQUIRES = {"minigrad": ("numpy", "minigrad"), "torch": ("numpy", "torch"),
            "tensorflow": ("numpy", "tensorflow", "keras")}
DATA_TITLES = {"spirals": "two spirals", "moons": "moons", "circles": "circles",
               "digits": "the 8x8 digits"}
PRINTED_LINES = 20  # about this many loss lines, whatever the number of steps
# The minigrad program is the PyTorch one with its imports changed, and says so.
SAME_AS_TORCH = {"torch": ("Only its imports differ from minigrad's program:",
                           "minigrad's API is PyTorch's."),
                 "minigrad": ("Only its imports differ from PyTorch's program:",
                              "minigrad's API is PyTorch's.")}
WIDTH = 60          # the longest line of a program's prose


# ------------------------------------------------------------- copied into the programs
# (their lines are kept short: the Code tab shows three programs side by side)


def two_spirals(n, noise, seed, turns=1.5):
    """n points on two interleaved spirals (class 1 is class 0
    turned by half a circle), Gaussian noise added, shuffled:
    X (n, 2) float32 and y (n,) int64."""
    rng = np.random.default_rng(seed)
    n0, n1 = n - n // 2, n // 2

    def arm(count):
        t = rng.uniform(0.05, 1.0, size=count)
        angle = 2.0 * np.pi * turns * t
        return np.stack([t * np.cos(angle), t * np.sin(angle)], 1)

    X = np.concatenate([arm(n0), -arm(n1)])
    y = np.repeat(np.array([0, 1], np.int64), [n0, n1])
    X = X + rng.normal(scale=noise, size=X.shape)
    order = rng.permutation(n)
    return X[order].astype(np.float32), y[order]


def moons(n, noise, seed):
    """n points on two interleaving half circles of radius 1
    (class 0 the upper half around (0, 0), class 1 the lower half
    around (1, 0.5)), Gaussian noise added, shuffled:
    X (n, 2) float32 and y (n,) int64."""
    rng = np.random.default_rng(seed)
    n0, n1 = n - n // 2, n // 2
    a0 = rng.uniform(0.0, np.pi, size=n0)
    a1 = rng.uniform(0.0, np.pi, size=n1)
    upper = np.stack([np.cos(a0), np.sin(a0)], 1)
    lower = np.stack([1.0 - np.cos(a1), 0.5 - np.sin(a1)], 1)
    X = np.concatenate([upper, lower])
    y = np.repeat(np.array([0, 1], np.int64), [n0, n1])
    X = X + rng.normal(scale=noise, size=X.shape)
    order = rng.permutation(n)
    return X[order].astype(np.float32), y[order]


def circles(n, noise, seed, factor=0.5):
    """n points on two concentric circles (class 0 of radius 1,
    class 1 of radius ``factor``), Gaussian noise added, shuffled:
    X (n, 2) float32 and y (n,) int64."""
    rng = np.random.default_rng(seed)
    n0, n1 = n - n // 2, n // 2

    def ring(count, radius):
        angle = rng.uniform(0.0, 2.0 * np.pi, size=count)
        return radius * np.stack([np.cos(angle), np.sin(angle)], 1)

    X = np.concatenate([ring(n0, 1.0), ring(n1, factor)])
    y = np.repeat(np.array([0, 1], np.int64), [n0, n1])
    X = X + rng.normal(scale=noise, size=X.shape)
    order = rng.permutation(n)
    return X[order].astype(np.float32), y[order]


def digits(seed, test_fraction=0.2):
    """scikit-learn's 8x8 digits, pixels scaled to [0, 1], split
    so that every digit keeps its share of the test set, both
    parts shuffled: X_train, y_train, X_test, y_test."""
    from sklearn.datasets import load_digits

    images, labels = load_digits(return_X_y=True)
    X = (images / 16.0).astype(np.float32)
    y = labels.astype(np.int64)
    rng = np.random.default_rng(seed)
    train, test = [], []
    for label in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == label))
        n_test = int(round(test_fraction * idx.size))
        test.append(idx[:n_test])
        train.append(idx[n_test:])
    train = rng.permutation(np.concatenate(train))
    test = rng.permutation(np.concatenate(test))
    return X[train], y[train], X[test], y[test]


def initial_weights(sizes, seed):
    """[(weight, bias), ...], one pair per layer, the weight
    (fan_out, fan_in) as in PyTorch. All are drawn from
    U(-1/sqrt(fan_in), 1/sqrt(fan_in)), PyTorch's default for
    Linear: weight then bias, layer by layer, from one NumPy
    generator. These are the numbers minigrad's nn.Linear draws
    after minigrad.manual_seed(seed)."""
    rng = np.random.default_rng(seed)
    layers = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        bound = 1 / math.sqrt(fan_in)
        u = rng.random((fan_out, fan_in)).astype(np.float32)
        weight = (u * 2 - 1) * bound
        u = rng.random(fan_out).astype(np.float32)
        bias = (u * 2 - 1) * bound
        layers.append((weight, bias))
    return layers


def batches(n, batch_size, steps, seed):
    """The index arrays of ``steps`` mini-batches: each epoch is a
    fresh permutation of range(n), cut into batches of
    ``batch_size`` (the last one holds the rest)."""
    rng = np.random.default_rng(seed)
    step = 0
    while True:
        order = rng.permutation(n)
        for start in range(0, n, batch_size):
            if step == steps:
                return
            yield order[start:start + batch_size]
            step += 1


# ------------------------------------------------------------- the program's text


def program(framework: str, config) -> str:
    """The complete program that trains ``config`` (a ``widgets.playground.Config``)
    in ``framework`` ("torch", "tensorflow" or "minigrad") and prints its losses and
    test accuracy."""
    if framework not in FILENAMES:
        raise ValueError(f"framework must be one of {', '.join(FILENAMES)}, "
                         f"not {framework!r}")
    sizes = ((64, 10) if config.dataset == "digits" else (2, 2))
    sizes = (sizes[0], *[config.width] * config.depth, sizes[1])
    parts = [_header(framework, config, sizes), _imports(framework),
             _settings(config, sizes), _data(config),
             _source(initial_weights), _source(batches),
             _model(framework, config, sizes), _training(framework, config)]
    return "\n\n\n".join(part.strip("\n") for part in parts) + "\n"


def download_uri(text: str) -> str:
    """A data: URI of a Python file: the href of a download link that needs no server."""
    return "data:text/x-python;base64," + base64.b64encode(text.encode()).decode()


def _source(function) -> str:
    return inspect.getsource(function)


def _optimizer_text(config) -> str:
    return ("SGD" if config.optimizer == "sgd" else "Adam") + f" (learning rate {config.lr:g})"


def _header(framework, config, sizes) -> str:
    model = ("a linear model" if config.depth == 0 else
             f"an MLP with {config.activation}")
    needs = [*REQUIRES[framework], *(["scikit-learn"] if config.dataset == "digits" else [])]
    summary = (f"{DATA_TITLES[config.dataset].capitalize()}: {model}, layers "
               f"{'-'.join(map(str, sizes))}, trained with {_optimizer_text(config)} "
               f"for {config.steps} steps of {config.batch} examples"
               + "".join(f", {text}" for text in _regularization_words(config)) + ".")
    about = ("A program of its own: it makes the same data, starts from the same "
             "initial weights and trains on the same batches as the app, so it "
             "prints the losses the app draws.")
    query = textwrap.wrap("?" + config.to_query().replace("&", " &"), WIDTH - 4,
                          break_long_words=False, break_on_hyphens=False)
    # Only the first line and SAME_AS_TORCH name the framework: the PyTorch and
    # minigrad programs have headers of the same length, and line up side by side.
    return "\n".join([f'"""A Frameworks Lab Playground set-up in {LABELS[framework]}.', "",
                      textwrap.fill(summary, WIDTH), "", textwrap.fill(about, WIDTH),
                      *SAME_AS_TORCH.get(framework, ()),
                      f"Needs {', '.join(needs[:-1])} and {needs[-1]}; run it with", "",
                      f"    python {FILENAMES[framework]}", "",
                      "The set-up in the Playground's address:", "",
                      *["    " + line.replace(" &", "&") for line in query], '"""'])


def _regularization_words(config) -> list[str]:
    return ([f"L2 penalty {config.l2:g}"] if config.l2 else []) + (
        [f"dropout {config.dropout:g}"] if config.dropout and config.depth else [])


def _imports(framework) -> str:
    if framework == "tensorflow":
        return "import math\n\nimport keras\nimport numpy as np\nimport tensorflow as tf"
    if framework == "torch":
        return ("import math\n\nimport numpy as np\nimport torch\n"
                "import torch.nn.functional as F\nfrom torch import nn")
    return ("import math\n\nimport numpy as np\n"
            "import minigrad as torch\nimport minigrad.nn.functional as F\n"
            "from minigrad import nn")


def _settings(config, sizes) -> str:
    every = max(1, config.steps // PRINTED_LINES)
    which = ("every step" if every == 1 else
             f"step 1, every {every} steps, the last")
    return f"""\
SEED = {config.seed}
# the layers' widths: input, hidden layers, classes
SIZES = {sizes}
LEARNING_RATE = {config.lr!r}
BATCH = {config.batch}
STEPS = {config.steps}
# the loss is printed at {which}
PRINT_EVERY = {every}""" + _regularization(config)


def _regularization(config) -> str:
    lines = []
    if config.l2:
        lines += ["# the loss adds L2 times the sum of the squared weights",
                  "# (not the biases)", f"L2 = {config.l2!r}"]
    if config.dropout and config.depth:
        lines += ["# the share of hidden units zeroed in each training step",
                  f"DROPOUT = {config.dropout!r}"]
    return "".join("\n" + line for line in lines)


def _data(config) -> str:
    if config.dataset == "digits":
        return (_source(digits) + "\n\n\nX, y, X_test, y_test = digits(SEED, "
                f"test_fraction={config.test / 100!r})")
    make = {"spirals": two_spirals, "moons": moons, "circles": circles}[config.dataset]
    n_test = held_out(config.test)
    return (_source(make) + f"\n\n\nX_all, y_all = {make.__name__}({POINTS}, "
            f"noise={config.noise!r}, seed=SEED)\n"
            f"X, y = X_all[{n_test}:], y_all[{n_test}:]  # {POINTS - n_test} to train on\n"
            f"X_test, y_test = X_all[:{n_test}], y_all[:{n_test}]  # {n_test} held out")


def _model(framework, config, sizes) -> str:
    pairs = list(zip(sizes[:-1], sizes[1:]))
    dropout = bool(config.dropout and config.depth)
    if framework == "tensorflow":
        lines = ["model = keras.Sequential([", f"    keras.Input(shape=({sizes[0]},)),"]
        for i, (_, n_out) in enumerate(pairs):
            last = i == len(pairs) - 1
            lines.append(f"    keras.layers.Dense({n_out}),  # logits" if last else
                         f'    keras.layers.Dense({n_out}, activation="{config.activation}"),')
            if dropout and not last:
                lines.append(f"    keras.layers.Dropout(DROPOUT, seed=int(SEEDS[{i}])),")
        if dropout:
            lines[:0] = ["# each Dropout layer draws its masks from a seed of its own",
                         f"SEEDS = np.random.SeedSequence(SEED).generate_state({config.depth})"]
        dense = "model.layers"
        if dropout:
            lines += ["])", "dense = [layer for layer in model.layers",
                      "         if isinstance(layer, keras.layers.Dense)]"]
            dense = "dense"
        else:
            lines += ["])"]
        lines += ["# a Dense kernel is (in, out): PyTorch's weight transposed",
                  "weights = initial_weights(SIZES, SEED)",
                  f"for layer, (weight, bias) in zip({dense}, weights):",
                  "    layer.set_weights([weight.T, bias])"]
        return "\n".join(lines)
    act = {"relu": "nn.ReLU()", "tanh": "nn.Tanh()", "sigmoid": "nn.Sigmoid()"}[config.activation]
    lines = ["model = nn.Sequential("]
    for i, (n_in, n_out) in enumerate(pairs):
        lines.append(f"    nn.Linear({n_in}, {n_out}),")
        if i < len(pairs) - 1:
            lines.append(f"    {act},")
            if dropout:
                lines.append("    nn.Dropout(DROPOUT),")
    lines += [")",
              "weights = initial_weights(SIZES, SEED)",
              "linears = [m for m in model if isinstance(m, nn.Linear)]",
              "with torch.no_grad():",
              "    for layer, (weight, bias) in zip(linears, weights):",
              "        layer.weight.copy_(torch.from_numpy(weight))",
              "        layer.bias.copy_(torch.from_numpy(bias))"]
    if dropout:
        lines += ["# the dropout masks come from the global generator",
                  "torch.manual_seed(SEED)"]
    return "\n".join(lines)


def _training(framework, config) -> str:
    report = """\
    if step == 1 or step % PRINT_EVERY == 0 or step == STEPS:
        print(f"step {step:5d}  loss {loss:.6f}")"""
    if framework == "tensorflow":
        keras_l2 = ("\n        loss += L2 * tf.add_n([tf.reduce_sum(w ** 2) for w in l2_weights])"
                    if config.l2 else "")
        weights = ("\n# the weights the L2 penalty adds up (not the biases)\n"
                   "l2_weights = [v for v in model.trainable_variables\n"
                   "              if len(v.shape) > 1]\n"
                   if config.l2 else "")
        optimizer = ("keras.optimizers.SGD(learning_rate=LEARNING_RATE)"
                     if config.optimizer == "sgd" else
                     "keras.optimizers.Adam(\n    learning_rate=LEARNING_RATE, "
                     "beta_1=0.9, beta_2=0.999,\n    epsilon=1e-8)")
        return f"""\
optimizer = {optimizer}
# its variables are made now, before train_step is traced
optimizer.build(model.trainable_variables)
{weights}

# tf.function traces train_step into a graph on its first
# call, and again for a batch of another size (the smaller
# last batch of an epoch).
@tf.function(reduce_retracing=True)
def train_step(X, y):
    with tf.GradientTape() as tape:
        logits = model(X, training=True)
        losses = tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels=y, logits=logits)
        loss = tf.reduce_mean(losses){keras_l2}
    variables = model.trainable_variables
    grads = tape.gradient(loss, variables)
    optimizer.apply_gradients(zip(grads, variables))
    return loss


batch_indices = batches(len(X), BATCH, STEPS, SEED)
for step, idx in enumerate(batch_indices, start=1):
    # the batch's loss, before the update
    loss = float(train_step(X[idx], y[idx]))
{report}

logits = model(X_test, training=False)
accuracy = np.mean(np.argmax(logits, axis=1) == y_test)
print(f"test accuracy {{accuracy:.4f}}")"""
    torch_l2 = ("\n    loss = loss + L2 * sum((w ** 2).sum() for w in l2_weights)"
                if config.l2 else "")
    optimizer = ("torch.optim.SGD(model.parameters(), lr=LEARNING_RATE)"
                 if config.optimizer == "sgd" else
                 "torch.optim.Adam(\n    model.parameters(), lr=LEARNING_RATE,\n"
                 "    betas=(0.9, 0.999), eps=1e-8)")
    weights = ("\n# the weights the L2 penalty adds up (not the biases)\n"
               "l2_weights = [p for p in model.parameters() if p.dim() > 1]\n"
               if config.l2 else "")
    return f"""\
optimizer = {optimizer}
{weights}
model.train()
batch_indices = batches(len(X), BATCH, STEPS, SEED)
for step, idx in enumerate(batch_indices, start=1):
    logits = model(torch.tensor(X[idx]))
    loss = F.cross_entropy(logits, torch.tensor(y[idx])){torch_l2}
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    loss = loss.item()  # the batch's loss, before the update
{report}

model.eval()
with torch.no_grad():
    logits = model(torch.tensor(X_test))
accuracy = np.mean(logits.argmax(dim=1).numpy() == y_test)
print(f"test accuracy {{accuracy:.4f}}")"""
