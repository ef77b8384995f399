"""The same small models in PyTorch, TensorFlow/Keras and minigrad, and weights that
move between them.

    model = mlp("tensorflow")                  # or "torch", "minigrad"
    weights = get_weights(torch_model)         # {"0.weight": array, ...}, PyTorch's layout
    set_weights(model, weights)                # any framework, from any framework
    predict(model, X)                          # NumPy logits for a NumPy batch

Weights are exchanged as a dict of NumPy arrays with PyTorch's ``state_dict`` names
and layouts, whatever the model's framework:

- ``Linear.weight`` is (out, in); a Keras ``Dense`` kernel is (in, out), its transpose.
- ``Conv2d.weight`` is (out, in, kh, kw); a Keras ``Conv2D`` kernel is (kh, kw, in, out).
- Images: PyTorch and minigrad are *channels-first*, a batch is (N, C, H, W). Keras on
  a CPU is *channels-last*, (N, H, W, C): TensorFlow's CPU convolution does not run
  on NCHW. So flattening a feature map orders its numbers (c, h, w) in PyTorch and
  (h, w, c) in Keras, and the rows of the ``Dense`` kernel that follows a ``Flatten``
  are permuted accordingly when weights are copied.

A Keras layer is named after the position of the matching module in the equivalent
``torch.nn.Sequential`` (its ``InputLayer`` takes no position, and a layer with a
built-in activation, ``Dense(128, activation="relu")``, takes two: Linear and ReLU).
Layers without weights (activations, ``Dropout``, ``Flatten``, pooling) take a position
each, as their modules do in PyTorch: in ``mlp(..., dropout=0.5)`` the second ``Dense``
is ``dense_3``, after ``relu_1`` and ``dropout_2``, as the second ``Linear`` is module 3.
So a Keras Sequential, functional or subclassed model whose weighted layers follow the
PyTorch model's order exchanges weights with it under the same names.

PyTorch and TensorFlow are imported only when a function needs them.
"""

from __future__ import annotations

import math

import numpy as np

from lessons.frameworks import KEYS

__all__ = ["FRAMEWORKS", "mlp", "small_cnn", "framework_of", "get_weights", "set_weights",
           "count_parameters", "predict"]

FRAMEWORKS = KEYS                    # ("torch", "tensorflow", "minigrad")
ACTIVATIONS = ("relu", "tanh", "sigmoid")


def _check_framework(framework):
    if framework not in FRAMEWORKS:
        raise ValueError(f"framework must be one of {FRAMEWORKS}, got {framework!r}")


def _torch_like(framework):
    if framework == "torch":
        import torch
    else:
        import minigrad as torch
    return torch


# ------------------------------------------------------------------ the models


def mlp(framework, sizes=(64, 128, 10), activation="relu", *, dropout=0.0, seed=None):
    """A multilayer perceptron: Linear, activation, Linear, ..., Linear (no activation
    after the last layer: it returns logits). ``sizes`` are the layer widths, input
    first. PyTorch/minigrad give an ``nn.Sequential``, TensorFlow a ``keras.Sequential``
    with a separate activation layer after each hidden ``Dense``, so that layer ``i``
    of the Keras model is module ``i`` of the PyTorch one. Each framework initialises
    the weights its own way, from its own global seed.

    With ``dropout`` > 0 a Dropout layer of that rate follows every hidden activation
    (Linear, activation, Dropout, Linear, ...): it zeroes each hidden unit with
    probability ``dropout`` in training mode and scales the others by
    1 / (1 - ``dropout``); in inference mode (``predict``) it passes its input through.
    PyTorch and minigrad draw the masks from their global generator
    (``torch.manual_seed``, ``minigrad.manual_seed``), so ``seed`` is not used there.
    Keras' Dropout layers get seeds derived from ``seed`` (one per layer), so a Keras
    model built twice with the same ``seed`` draws the same masks; with ``seed=None``
    they draw from Keras' global seed (``keras.utils.set_random_seed``)."""
    _check_framework(framework)
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
    sizes = tuple(int(n) for n in sizes)
    if len(sizes) < 2 or min(sizes) < 1:
        raise ValueError(f"sizes needs at least an input and an output width, all "
                         f"positive, got {sizes}")
    if not 0 <= dropout < 1:
        raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
    pairs = list(zip(sizes[:-1], sizes[1:]))
    hidden = len(pairs) - 1

    if framework == "tensorflow":
        import keras

        seeds = [None] * hidden if seed is None else \
            [int(s) for s in np.random.SeedSequence(seed).generate_state(hidden)]
        layers = [keras.Input(shape=(sizes[0],))]
        for i, (_, n_out) in enumerate(pairs):
            # named after the position of the matching module in the torch Sequential
            layers.append(keras.layers.Dense(n_out, name=f"dense_{len(layers) - 1}"))
            if i < hidden:
                layers.append(keras.layers.Activation(activation,
                                                      name=f"{activation}_{len(layers) - 1}"))
                if dropout:
                    layers.append(keras.layers.Dropout(dropout, seed=seeds[i],
                                                       name=f"dropout_{len(layers) - 1}"))
        return keras.Sequential(layers, name="mlp")

    nn = _torch_like(framework).nn
    act = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}[activation]
    modules = []
    for i, (n_in, n_out) in enumerate(pairs):
        modules.append(nn.Linear(n_in, n_out))
        if i < hidden:
            modules.append(act())
            if dropout:
                modules.append(nn.Dropout(dropout))
    return nn.Sequential(*modules)


def small_cnn(framework, in_channels=1, channels=8, kernel_size=3, image_size=8,
              num_classes=10):
    """Conv2d(kernel_size, no padding) -> ReLU -> MaxPool2d(2) -> Flatten -> Linear, for
    square images of ``image_size`` pixels: by default the 8x8 digits, which become
    8 maps of 6x6, then 3x3, then 72 features, then 10 logits.

    PyTorch and minigrad take (N, C, H, W) batches; the Keras model takes
    (N, H, W, C), TensorFlow's CPU layout. ``predict`` accepts PyTorch's layout (or
    flat rows of pixels) for all three and transposes for Keras."""
    _check_framework(framework)
    pooled = (image_size - kernel_size + 1) // 2
    if pooled < 1:
        raise ValueError(f"a {kernel_size}x{kernel_size} convolution and a 2x2 pooling "
                         f"leave nothing of a {image_size}x{image_size} image")

    if framework == "tensorflow":
        import keras

        return keras.Sequential([
            keras.Input(shape=(image_size, image_size, in_channels)),  # channels last
            keras.layers.Conv2D(channels, kernel_size, name="conv2d_0"),
            keras.layers.ReLU(name="relu_1"),
            keras.layers.MaxPooling2D(2, name="max_pooling2d_2"),
            keras.layers.Flatten(name="flatten_3"),
            keras.layers.Dense(num_classes, name="dense_4"),
        ], name="small_cnn")

    nn = _torch_like(framework).nn
    return nn.Sequential(
        nn.Conv2d(in_channels, channels, kernel_size),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(channels * pooled * pooled, num_classes),
    )


# ------------------------------------------------------------------ which framework


def framework_of(model):
    """"torch", "tensorflow" or "minigrad", from the classes the model is built on (so a
    subclass defined in a notebook is recognised too)."""
    for cls in type(model).__mro__:
        root = cls.__module__.split(".")[0]
        if root == "minigrad":
            return "minigrad"
        if root == "torch":
            return "torch"
        if root in ("keras", "tf_keras", "tensorflow"):
            return "tensorflow"
    raise TypeError(f"not a PyTorch, Keras or minigrad model: {type(model).__name__}")


# ------------------------------------------------------------------ Keras <-> PyTorch names


def _keras_named_layers(model):
    """(PyTorch prefix, layer, feature-map shape if a Flatten came just before) for each
    Keras layer that holds weights, in order; see the module docstring for the names."""
    import keras

    if not model.built:
        raise ValueError("this Keras model has no weights yet: give it an Input or call "
                         "it once on a batch")
    position, flattened_from, named = 0, None, []
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        if isinstance(layer, keras.layers.Flatten):
            shape = tuple(layer.input.shape[1:])
            flattened_from = shape if len(shape) == 3 else None  # (H, W, C)
        elif layer.weights:
            if not isinstance(layer, (keras.layers.Dense, keras.layers.Conv2D)):
                raise NotImplementedError(f"lessons.models handles Dense and Conv2D "
                                          f"weights, not {type(layer).__name__}")
            named.append((str(position), layer, flattened_from))
            flattened_from = None
            activation = getattr(layer, "activation", None)
            if activation is not None and activation.__name__ != "linear":
                position += 1  # Dense(..., activation="relu") is Linear + ReLU
        position += 1
    return named


def _keras_to_torch(layer, kernel, flattened_from):
    """A Keras kernel in PyTorch's weight layout."""
    if kernel.ndim == 4:  # Conv2D (kh, kw, in, out) -> (out, in, kh, kw)
        return kernel.transpose(3, 2, 0, 1)
    if flattened_from is not None:  # rows ordered (h, w, c) -> columns ordered (c, h, w)
        h, w, c = flattened_from
        return kernel.reshape(h, w, c, -1).transpose(3, 2, 0, 1).reshape(kernel.shape[1], -1)
    return kernel.T  # Dense (in, out) -> (out, in)


def _torch_to_keras(layer, weight, flattened_from):
    """A PyTorch weight in the Keras kernel's layout (the inverse of _keras_to_torch)."""
    if weight.ndim == 4:
        return weight.transpose(2, 3, 1, 0)
    if flattened_from is not None:
        h, w, c = flattened_from
        return weight.reshape(-1, c, h, w).transpose(2, 3, 1, 0).reshape(-1, weight.shape[0])
    return weight.T


# ------------------------------------------------------------------ weights


def get_weights(model):
    """The model's weights as {name: NumPy array}, with PyTorch's state_dict names and
    layouts for every framework. The arrays are copies."""
    framework = framework_of(model)
    if framework != "tensorflow":
        return {name: np.array(value.detach().cpu().numpy())
                for name, value in model.state_dict().items()}
    weights = {}
    for prefix, layer, flattened_from in _keras_named_layers(model):
        kernel, *bias = layer.get_weights()
        weights[f"{prefix}.weight"] = np.ascontiguousarray(
            _keras_to_torch(layer, kernel, flattened_from))
        if bias:
            weights[f"{prefix}.bias"] = bias[0]
    return weights


def set_weights(model, weights):
    """Copy ``weights`` (as returned by ``get_weights``, from any framework) into
    ``model``, in place. Names must match exactly, as ``load_state_dict`` demands;
    shapes are checked. Returns the model."""
    framework = framework_of(model)
    if framework != "tensorflow":
        torch = _torch_like(framework)
        model.load_state_dict({name: torch.tensor(np.asarray(value))
                               for name, value in weights.items()})
        return model

    named = _keras_named_layers(model)
    expected = [f"{prefix}.{part}" for prefix, layer, _ in named
                for part in ("weight", "bias")[:len(layer.weights)]]
    missing = [k for k in expected if k not in weights]
    unexpected = [k for k in weights if k not in expected]
    if missing or unexpected:
        raise KeyError(f"set_weights for Keras model {model.name!r}: missing keys "
                       f"{missing}, unexpected keys {unexpected}")
    for prefix, layer, flattened_from in named:
        kernel = _torch_to_keras(layer, np.asarray(weights[f"{prefix}.weight"]), flattened_from)
        values = [kernel]
        if len(layer.weights) == 2:
            values.append(np.asarray(weights[f"{prefix}.bias"]))
        for variable, value in zip(layer.weights, values):
            if tuple(variable.shape) != value.shape:
                raise ValueError(f"set_weights: {prefix} of {model.name!r} needs shape "
                                 f"{tuple(variable.shape)}, got {value.shape} (in Keras' "
                                 f"layout, converted from PyTorch's)")
        layer.set_weights(values)
    return model


def count_parameters(model):
    """The number of numbers the model holds as weights (trainable or not)."""
    if framework_of(model) == "tensorflow":
        if not model.built:
            raise ValueError("this Keras model has no weights yet: give it an Input or "
                             "call it once on a batch")
        shapes = [w.shape for w in model.weights]
    else:
        shapes = [p.shape for p in model.parameters()]
    return sum(math.prod(shape) for shape in shapes)


# ------------------------------------------------------------------ predictions


def _image_shape(model, framework):
    """(C, H, W) for a model that starts with a convolution, None for one that takes
    flat rows; H and W are None where the model does not fix them (PyTorch, minigrad)."""
    if framework == "tensorflow":
        try:
            shape = tuple(model.inputs[0].shape[1:])
        except (AttributeError, IndexError, ValueError):
            return None  # a subclassed model: it takes the batch as it comes
        if len(shape) == 3:
            h, w, c = shape
            return c, h, w
        return None
    for module in model.modules():
        if hasattr(module, "weight"):
            return (module.in_channels, None, None) if module.weight.ndim == 4 else None
    return None


def _as_images(X, image):
    """A (N, C, H, W) batch from flat rows of square images or from (N, C, H, W)."""
    c, h, w = image
    if X.ndim == 2:
        side = math.isqrt(X.shape[1] // c)
        h, w = h or side, w or side
        if c * h * w != X.shape[1]:
            raise ValueError(f"rows of {X.shape[1]} numbers are not images of "
                             f"{c} channel(s) x {h} x {w}")
        return X.reshape(len(X), c, h, w)
    if X.ndim != 4 or X.shape[1] != c or (h, w) not in ((None, None), X.shape[2:]):
        raise ValueError(f"expected images in PyTorch's layout (N, C, H, W) with C={c}"
                         f"{'' if h is None else f', H={h}, W={w}'}, got shape {X.shape}")
    return X


def predict(model, X):
    """The model's outputs (logits) for the NumPy batch ``X``, as a float32 NumPy array,
    in inference mode and without recording gradients.

    For a model that starts with a convolution, ``X`` is in PyTorch's layout for every
    framework: (N, C, H, W), or flat rows of C*H*W pixels (square images); for Keras it
    is transposed to (N, H, W, C) here."""
    framework = framework_of(model)
    X = np.asarray(X, dtype=np.float32)
    image = _image_shape(model, framework)
    if image is not None:
        X = _as_images(X, image)
        if framework == "tensorflow":
            X = X.transpose(0, 2, 3, 1)  # channels first -> channels last
    if framework == "tensorflow":
        return np.asarray(model(X, training=False))
    torch = _torch_like(framework)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            return model(torch.tensor(X)).numpy()
    finally:
        model.train(was_training)
