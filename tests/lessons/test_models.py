"""lessons.models, checked against independent computations: parameter counts worked
out by hand and reported by PyTorch (numel) and Keras (count_params), and a forward
pass written out in NumPy from PyTorch's weight layouts."""

import keras
import numpy as np
import pytest
import torch

import minigrad
from lessons import models
from lessons.data import load_digits

FRAMEWORKS = models.FRAMEWORKS
ACT = {"relu": lambda z: np.maximum(z, 0), "tanh": np.tanh,
       "sigmoid": lambda z: 1 / (1 + np.exp(-z))}
CNN_CASES = [{}, {"in_channels": 2, "channels": 4, "kernel_size": 2, "image_size": 9,
                  "num_classes": 3}]


@pytest.fixture(scope="module")
def digits():
    return load_digits().X_test


# --- NumPy references, in PyTorch's layouts -------------------------------------------


def numpy_mlp(weights, X, activation="relu"):
    n_layers = len(weights) // 2
    out = X.astype(np.float64)
    for i in range(n_layers):
        W, b = weights[f"{2 * i}.weight"], weights[f"{2 * i}.bias"]
        out = out @ W.T.astype(np.float64) + b  # weight is (out, in)
        if i < n_layers - 1:
            out = ACT[activation](out)
    return out


def numpy_cnn(weights, X):
    """X is (N, C, H, W); conv (no padding) -> relu -> 2x2 max pool -> flatten -> linear."""
    W, b = weights["0.weight"].astype(np.float64), weights["0.bias"]  # (out, in, kh, kw)
    X = X.astype(np.float64)
    n, _, h, w = X.shape
    kh, kw = W.shape[2:]
    ho, wo = h - kh + 1, w - kw + 1
    conv = np.zeros((n, W.shape[0], ho, wo)) + b[:, None, None]
    for a in range(kh):
        for c in range(kw):
            conv += np.einsum("nihw,oi->nohw", X[:, :, a:a + ho, c:c + wo], W[:, :, a, c])
    act = np.maximum(conv, 0)
    hp, wp = ho // 2, wo // 2
    pooled = act[:, :, :2 * hp, :2 * wp].reshape(n, -1, hp, 2, wp, 2).max(axis=(3, 5))
    flat = pooled.reshape(n, -1)  # (c, h, w) order, as torch.flatten does
    return flat @ weights["4.weight"].T.astype(np.float64) + weights["4.bias"]


def random_like(weights, seed=1):
    rng = np.random.default_rng(seed)
    return {k: rng.uniform(-0.5, 0.5, v.shape).astype(np.float32) for k, v in weights.items()}


def random_images(n, c, side, seed=2):
    return np.random.default_rng(seed).uniform(0, 1, (n, c, side, side)).astype(np.float32)


# --- building and counting --------------------------------------------------------------


@pytest.mark.parametrize("sizes", [(64, 128, 10), (5, 7, 3, 2)])
def test_mlp_parameter_count(sizes):
    by_hand = sum(n_in * n_out + n_out for n_in, n_out in zip(sizes[:-1], sizes[1:]))
    built = {f: models.mlp(f, sizes) for f in FRAMEWORKS}
    counted = {f: models.count_parameters(m) for f, m in built.items()}
    assert counted == dict.fromkeys(FRAMEWORKS, by_hand)
    assert sum(p.numel() for p in built["torch"].parameters()) == by_hand
    assert built["tensorflow"].count_params() == by_hand


@pytest.mark.parametrize("kwargs", CNN_CASES)
def test_cnn_parameter_count(kwargs):
    cfg = {"in_channels": 1, "channels": 8, "kernel_size": 3, "image_size": 8,
           "num_classes": 10, **kwargs}
    k, c_in, c_out = cfg["kernel_size"], cfg["in_channels"], cfg["channels"]
    features = c_out * ((cfg["image_size"] - k + 1) // 2) ** 2
    by_hand = (k * k * c_in * c_out + c_out) + (features * cfg["num_classes"] + cfg["num_classes"])
    built = {f: models.small_cnn(f, **kwargs) for f in FRAMEWORKS}
    counted = {f: models.count_parameters(m) for f, m in built.items()}
    assert counted == dict.fromkeys(FRAMEWORKS, by_hand)
    assert sum(p.numel() for p in built["torch"].parameters()) == by_hand
    assert built["tensorflow"].count_params() == by_hand


def test_models_are_of_their_framework():
    for make in (models.mlp, models.small_cnn):
        assert isinstance(make("torch"), torch.nn.Module)
        assert isinstance(make("minigrad"), minigrad.nn.Module)
        assert isinstance(make("tensorflow"), keras.Sequential)
        assert [models.framework_of(make(f)) for f in FRAMEWORKS] == list(FRAMEWORKS)


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="framework must be one of"):
        models.mlp("jax")
    with pytest.raises(ValueError, match="activation"):
        models.mlp("torch", activation="gelu")
    with pytest.raises(ValueError, match="sizes"):
        models.mlp("torch", sizes=(64,))
    with pytest.raises(ValueError, match="leave nothing"):
        models.small_cnn("torch", kernel_size=3, image_size=3)
    with pytest.raises(TypeError, match="not a PyTorch, Keras or minigrad model"):
        models.get_weights(object())


# --- layouts, against the NumPy forward pass --------------------------------------------


@pytest.mark.parametrize("framework", FRAMEWORKS)
@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid"])
def test_mlp_layouts_match_numpy(framework, activation):
    model = models.mlp(framework, (6, 5, 4, 3), activation)
    X = np.random.default_rng(0).standard_normal((7, 6)).astype(np.float32)
    own = models.get_weights(model)  # the framework's own initial weights
    assert {k: v.shape for k, v in own.items()} == {
        "0.weight": (5, 6), "0.bias": (5,), "2.weight": (4, 5), "2.bias": (4,),
        "4.weight": (3, 4), "4.bias": (3,)}
    np.testing.assert_allclose(models.predict(model, X), numpy_mlp(own, X, activation), atol=1e-5)
    new = random_like(own)
    models.set_weights(model, new)
    np.testing.assert_allclose(models.predict(model, X), numpy_mlp(new, X, activation), atol=1e-5)
    got = models.get_weights(model)
    assert all(np.array_equal(got[k], new[k]) for k in new)


@pytest.mark.parametrize("framework", FRAMEWORKS)
@pytest.mark.parametrize("kwargs", CNN_CASES)
def test_cnn_layouts_match_numpy(framework, kwargs):
    model = models.small_cnn(framework, **kwargs)
    X = random_images(5, kwargs.get("in_channels", 1), kwargs.get("image_size", 8))
    own = models.get_weights(model)
    c_in, c_out, k = (kwargs.get(key, default) for key, default in
                      [("in_channels", 1), ("channels", 8), ("kernel_size", 3)])
    assert own["0.weight"].shape == (c_out, c_in, k, k)  # PyTorch's (out, in, kh, kw)
    np.testing.assert_allclose(models.predict(model, X), numpy_cnn(own, X), atol=1e-5)
    new = random_like(own)
    models.set_weights(model, new)
    np.testing.assert_allclose(models.predict(model, X), numpy_cnn(new, X), atol=1e-5)
    got = models.get_weights(model)
    assert all(np.array_equal(got[k], new[k]) for k in new)


def test_keras_kernels_are_transposed_and_permuted():
    """The raw Keras variables, read without lessons.models: Dense kernel (in, out),
    Conv2D kernel (kh, kw, in, out), and the Dense after Flatten reads (h, w, c)."""
    dense = models.mlp("tensorflow", (3, 4, 2))
    w = models.get_weights(dense)
    np.testing.assert_array_equal(dense.layers[0].kernel.numpy(), w["0.weight"].T)

    cnn = models.small_cnn("tensorflow")
    w = models.get_weights(cnn)
    np.testing.assert_array_equal(cnn.layers[0].kernel.numpy(),
                                  w["0.weight"].transpose(2, 3, 1, 0))
    keras_dense = cnn.layers[-1].kernel.numpy()  # (3*3*8, 10), rows in (h, w, c) order
    for h, w_, c in [(0, 0, 1), (1, 2, 5), (2, 1, 7)]:  # a feature map of 3 x 3 x 8
        np.testing.assert_array_equal(keras_dense[(h * 3 + w_) * 8 + c],
                                      w["4.weight"][:, c * 9 + h * 3 + w_])


# --- across frameworks --------------------------------------------------------------------


@pytest.mark.parametrize("make", [models.mlp, models.small_cnn])
def test_weights_round_trip_torch_keras_minigrad_torch(make, digits):
    first = make("torch")
    keras_model = models.set_weights(make("tensorflow"), models.get_weights(first))
    mg_model = models.set_weights(make("minigrad"), models.get_weights(keras_model))
    last = models.set_weights(make("torch"), models.get_weights(mg_model))
    expected = models.predict(first, digits)
    assert expected.shape == (len(digits), 10)
    for model in (keras_model, mg_model, last):
        np.testing.assert_allclose(models.predict(model, digits), expected, atol=1e-5, rtol=0)
    assert all(np.array_equal(models.get_weights(last)[k], v)
               for k, v in models.get_weights(first).items())
    # and the copy really changed something: a fresh model disagrees
    assert np.abs(models.predict(make("torch"), digits) - expected).max() > 1e-2


def test_keras_functional_and_subclassed_models_take_torch_names(digits):
    torch_model = models.mlp("torch")
    inputs = keras.Input(shape=(64,))
    outputs = keras.layers.Dense(10)(keras.layers.Dense(128, activation="relu")(inputs))
    functional = keras.Model(inputs, outputs)

    class Subclassed(keras.Model):
        def __init__(self):
            super().__init__()
            self.hidden = keras.layers.Dense(128, activation="relu")
            self.out = keras.layers.Dense(10)

        def call(self, x):
            return self.out(self.hidden(x))

    subclassed = Subclassed()
    subclassed(digits[:1])  # builds the weights
    expected = models.predict(torch_model, digits)
    for model in (functional, subclassed):
        assert set(models.get_weights(model)) == {"0.weight", "0.bias", "2.weight", "2.bias"}
        models.set_weights(model, models.get_weights(torch_model))
        np.testing.assert_allclose(models.predict(model, digits), expected, atol=1e-5, rtol=0)


def test_predict_takes_flat_rows_or_channels_first(digits):
    images = digits[:4].reshape(4, 1, 8, 8)
    for framework in FRAMEWORKS:
        model = models.small_cnn(framework)
        np.testing.assert_array_equal(models.predict(model, images),
                                      models.predict(model, digits[:4]))
        with pytest.raises(ValueError, match="layout"):
            models.predict(model, images.transpose(0, 2, 3, 1))  # channels last is refused


@pytest.mark.parametrize("framework", ["torch", "minigrad"])
def test_predict_restores_training_mode(framework):
    model = models.mlp(framework)
    models.predict(model, np.zeros((2, 64), np.float32))
    assert model.training
    model.eval()
    models.predict(model, np.zeros((2, 64), np.float32))
    assert not model.training


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_set_weights_checks_names_and_shapes(framework):
    model = models.mlp(framework)
    weights = models.get_weights(models.mlp("torch"))
    renamed = {k.replace("2.", "1."): v for k, v in weights.items()}
    with pytest.raises((KeyError, RuntimeError), match="(?i)missing key"):
        models.set_weights(model, renamed)
    wrong = dict(weights, **{"0.weight": weights["0.weight"][:, :10]})
    with pytest.raises((ValueError, RuntimeError), match="shape"):
        models.set_weights(model, wrong)
