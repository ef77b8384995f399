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
    for dropout in (-0.1, 1.0, 1.5):
        with pytest.raises(ValueError, match=r"dropout must be in \[0, 1\)"):
            models.mlp("tensorflow", dropout=dropout)
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


# --- dropout ---------------------------------------------------------------------------


def layer_names(model):
    if models.framework_of(model) == "tensorflow":
        return [type(layer).__name__ for layer in model.layers]
    return [type(module).__name__ for module in model]


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_mlp_with_dropout_zero_is_the_plain_mlp(framework, digits):
    plain, zero = models.mlp(framework), models.mlp(framework, dropout=0.0, seed=3)
    assert layer_names(zero) == layer_names(plain)
    models.set_weights(zero, models.get_weights(plain))
    np.testing.assert_array_equal(models.predict(zero, digits), models.predict(plain, digits))


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_mlp_dropout_follows_each_hidden_activation(framework):
    model = models.mlp(framework, (6, 5, 4, 3), "tanh", dropout=0.25)
    expected = ["Linear", "Tanh", "Dropout", "Linear", "Tanh", "Dropout", "Linear"]
    if framework == "tensorflow":
        expected = ["Dense", "Activation", "Dropout", "Dense", "Activation", "Dropout", "Dense"]
        assert [layer.name for layer in model.layers] == [
            "dense_0", "tanh_1", "dropout_2", "dense_3", "tanh_4", "dropout_5", "dense_6"]
        assert [layer.rate for layer in model.layers if layer.name.startswith("drop")] == [0.25] * 2
    else:
        assert [module.p for module in model if hasattr(module, "p")] == [0.25] * 2
    assert layer_names(model) == expected
    assert set(models.get_weights(model)) == {
        f"{i}.{p}" for i in (0, 3, 6) for p in ("weight", "bias")
    }


def dropout_weights(seed=1):
    """Weights of a (6, 6, 6) dropout MLP, in PyTorch's names (Linear at 0 and 3)."""
    rng = np.random.default_rng(seed)
    return {"0.weight": rng.uniform(-0.5, 0.5, (6, 6)).astype(np.float32),
            "0.bias": rng.uniform(-0.5, 0.5, 6).astype(np.float32),
            "3.weight": rng.uniform(-0.5, 0.5, (6, 6)).astype(np.float32),
            "3.bias": rng.uniform(-0.5, 0.5, 6).astype(np.float32)}


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_dropout_models_predict_like_numpy(framework):
    """In inference mode dropout passes its input through: every framework gives the
    NumPy forward pass of the same weights, whatever mode the model was left in."""
    weights = dropout_weights()
    model = models.set_weights(models.mlp(framework, (6, 6, 6), dropout=0.5, seed=0), weights)
    if framework != "tensorflow":
        model.train()
    X = np.random.default_rng(0).standard_normal((20, 6)).astype(np.float32)
    plain = {"0.weight": weights["0.weight"], "0.bias": weights["0.bias"],
             "2.weight": weights["3.weight"], "2.bias": weights["3.bias"]}
    np.testing.assert_allclose(models.predict(model, X), numpy_mlp(plain, X), atol=1e-5)


def identity_head(width, seed=5):
    """A (width, width, width) MLP whose hidden units are positive for positive inputs
    and whose last layer is the identity, so its outputs are the dropout layer's."""
    rng = np.random.default_rng(seed)
    return {"0.weight": rng.uniform(0.1, 1.0, (width, width)).astype(np.float32),
            "0.bias": rng.uniform(0.1, 1.0, width).astype(np.float32),
            "3.weight": np.eye(width, dtype=np.float32), "3.bias": np.zeros(width, np.float32)}


def training_forward(model, X):
    """The model's outputs in training mode (dropout active), as NumPy."""
    if models.framework_of(model) == "tensorflow":
        return np.asarray(model(X, training=True))
    torch_like = torch if models.framework_of(model) == "torch" else minigrad
    model.train()
    with torch_like.no_grad():
        return model(torch_like.tensor(X)).numpy()


@pytest.mark.parametrize("framework", FRAMEWORKS)
@pytest.mark.parametrize("p", [0.2, 0.5])
def test_dropout_zeroes_about_p_of_the_hidden_units(framework, p):
    """With positive inputs and weights every hidden ReLU is positive, and an identity
    last layer shows the dropped units as zeros; the kept ones are scaled by 1/(1-p)."""
    width = 64
    weights = identity_head(width)
    model = models.set_weights(models.mlp(framework, (width, width, width), dropout=p, seed=7),
                               weights)
    X = np.random.default_rng(6).uniform(0.0, 1.0, (200, width)).astype(np.float32)
    # all positive: relu leaves them as they are
    hidden = X.astype(np.float64) @ weights["0.weight"].T + weights["0.bias"]
    out = training_forward(model, X)
    dropped = out == 0
    # 12,800 units: the fraction's standard deviation is at most 0.0045
    assert abs(dropped.mean() - p) < 0.03
    np.testing.assert_allclose(out[~dropped], (hidden / (1 - p))[~dropped], rtol=1e-5)
    # a second call draws a new mask
    assert not np.array_equal(training_forward(model, X) == 0, dropped)


def test_keras_dropout_seed_fixes_the_masks():
    X = np.ones((50, 6), np.float32)
    masks = []
    for seed in (3, 3, 4):
        model = models.set_weights(models.mlp("tensorflow", (6, 6, 6), dropout=0.5, seed=seed),
                                   identity_head(6))
        masks.append([training_forward(model, X) == 0 for _ in range(2)])
    assert 0.3 < masks[0][0].mean() < 0.7
    np.testing.assert_array_equal(masks[0], masks[1])  # the same seed: the same masks, call by call
    assert not np.array_equal(masks[0][0], masks[0][1])
    assert not np.array_equal(masks[0][0], masks[2][0])


def test_weights_round_trip_with_dropout_between_all_three(digits):
    def make(framework):
        return models.mlp(framework, dropout=0.3, seed=0)

    first = make("torch")
    keras_model = models.set_weights(make("tensorflow"), models.get_weights(first))
    mg_model = models.set_weights(make("minigrad"), models.get_weights(keras_model))
    last = models.set_weights(make("torch"), models.get_weights(mg_model))
    assert list(models.get_weights(keras_model)) == ["0.weight", "0.bias", "3.weight", "3.bias"]
    for name, value in models.get_weights(first).items():
        for model in (keras_model, mg_model, last):
            np.testing.assert_array_equal(models.get_weights(model)[name], value)
    expected = models.predict(first, digits)
    for model in (keras_model, mg_model, last):
        np.testing.assert_allclose(models.predict(model, digits), expected, atol=1e-5, rtol=0)
