"""lessons.training, checked against references: a float64 NumPy training loop written
out by hand (forward, softmax cross-entropy, backward, SGD), PyTorch's loop as the
reference for minigrad and Keras, and accuracies recomputed with NumPy from predict."""

import numpy as np
import pytest
import torch

from lessons import models, training
from lessons.data import load_digits

HYPER = dict(lr=0.1, num_epochs=2, batch_size=64, seed=3)


@pytest.fixture(scope="module")
def digits():
    return load_digits()


@pytest.fixture(scope="module")
def start():
    torch.manual_seed(0)
    return models.get_weights(models.mlp("torch"))


def trained(framework, loop, weights, digits, **hyper):
    model = models.set_weights(models.mlp(framework), weights)
    result = loop(model, digits.X_train, digits.y_train, X_test=digits.X_test,
                  y_test=digits.y_test, **{**HYPER, **hyper})
    return model, result


def numpy_sgd(weights, X, y, batches, lr):
    """The 64-128-10 ReLU MLP trained with SGD in float64 NumPy; per-step losses."""
    W1, b1, W2, b2 = (weights[k].astype(np.float64) for k in ("0.weight", "0.bias", "2.weight", "2.bias"))
    losses = []
    for epoch in batches:
        for idx in epoch:
            Xb, yb, n = X[idx].astype(np.float64), y[idx], len(idx)
            z = Xb @ W1.T + b1
            h = np.maximum(z, 0)
            logits = h @ W2.T + b2
            shifted = logits - logits.max(axis=1, keepdims=True)
            log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
            losses.append(-log_p[np.arange(n), yb].mean())
            d_logits = np.exp(log_p)
            d_logits[np.arange(n), yb] -= 1
            d_logits /= n                                  # d(mean CE)/d logits
            dW2, db2 = d_logits.T @ h, d_logits.sum(0)
            dz = (d_logits @ W2) * (z > 0)
            dW1, db1 = dz.T @ Xb, dz.sum(0)
            W1, b1, W2, b2 = W1 - lr * dW1, b1 - lr * db1, W2 - lr * dW2, b2 - lr * db2
    return np.array(losses), {"0.weight": W1, "0.bias": b1, "2.weight": W2, "2.bias": b2}


# --- batches ------------------------------------------------------------------------


def test_batch_order_covers_each_example_once_per_epoch():
    epochs = training.batch_order(10, 4, 3, seed=0)
    assert len(epochs) == 3
    for epoch in epochs:
        assert [len(idx) for idx in epoch] == [4, 4, 2]
        assert sorted(np.concatenate(epoch).tolist()) == list(range(10))
    assert not np.array_equal(np.concatenate(epochs[0]), np.concatenate(epochs[1]))


def test_batch_order_follows_numpy_generator():
    rng = np.random.default_rng(7)
    first, second = rng.permutation(20), rng.permutation(20)
    epochs = training.batch_order(20, 8, 2, seed=7)
    np.testing.assert_array_equal(np.concatenate(epochs[0]), first)
    np.testing.assert_array_equal(np.concatenate(epochs[1]), second)
    assert not np.array_equal(np.concatenate(training.batch_order(20, 8, 1, seed=8)[0]), first)


def test_batch_order_rejects_bad_sizes():
    with pytest.raises(ValueError, match="batch_size"):
        training.batch_order(10, 0, 1)


# --- the explicit loop against a hand-written NumPy one ------------------------------


@pytest.mark.parametrize("framework", ["torch", "minigrad"])
def test_explicit_loop_matches_numpy_reference(framework, start, digits):
    model, result = trained(framework, training.train, start, digits)
    batches = training.batch_order(len(digits.X_train), HYPER["batch_size"], HYPER["num_epochs"],
                                   HYPER["seed"])
    ref_losses, ref_weights = numpy_sgd(start, digits.X_train, digits.y_train, batches, HYPER["lr"])
    assert len(result.losses) == len(ref_losses) == 2 * 23  # 1438 examples: 22 batches of 64 + 30
    np.testing.assert_allclose(result.losses, ref_losses, atol=1e-5)
    for name, value in models.get_weights(model).items():
        np.testing.assert_allclose(value, ref_weights[name], atol=1e-5)
    # the mean over an epoch's examples, each batch weighted by its size
    sizes = np.array([len(idx) for idx in batches[0]])
    assert result.epoch_losses[0] == pytest.approx((ref_losses[:23] * sizes).sum() / sizes.sum(), abs=1e-5)
    assert result.losses[-1] < result.losses[0] - 0.5  # it learned something


# --- the frameworks against PyTorch ---------------------------------------------------


@pytest.mark.parametrize("optimizer, lr", [("sgd", 0.1), ("adam", 0.01)])
def test_minigrad_matches_torch_step_by_step(optimizer, lr, start, digits):
    model_t, res_t = trained("torch", training.train, start, digits, optimizer=optimizer, lr=lr)
    model_m, res_m = trained("minigrad", training.train, start, digits, optimizer=optimizer, lr=lr)
    np.testing.assert_allclose(res_m.losses, res_t.losses, atol=1e-5)
    for name, value in models.get_weights(model_t).items():
        np.testing.assert_allclose(models.get_weights(model_m)[name], value, atol=1e-5)


@pytest.mark.parametrize("loop", [training.train_keras_step, training.train_keras_fit])
def test_keras_sgd_matches_torch_step_by_step(loop, start, digits):
    model_t, res_t = trained("torch", training.train, start, digits)
    model_k, res_k = trained("tensorflow", loop, start, digits)
    # fit's per-step losses are recovered from running means, which costs some precision
    atol = 2e-5 if loop is training.train_keras_step else 5e-5
    np.testing.assert_allclose(res_k.losses, res_t.losses, atol=atol)
    np.testing.assert_allclose(res_k.epoch_losses, res_t.epoch_losses, atol=2e-5)
    for name, value in models.get_weights(model_t).items():
        np.testing.assert_allclose(models.get_weights(model_k)[name], value, atol=2e-5)


def test_keras_fit_history_is_the_epoch_mean(start, digits):
    model = models.set_weights(models.mlp("tensorflow"), start)
    result = training.train_keras_fit(model, digits.X_train, digits.y_train, **HYPER)
    # a further epoch of fit from here, by hand: History's loss is the size-weighted mean
    batches = training.batch_order(len(digits.X_train), 64, 1, seed=11)
    order = np.concatenate(batches[0])
    expected = training.train_keras_step(
        models.set_weights(models.mlp("tensorflow"), models.get_weights(model)),
        digits.X_train, digits.y_train, lr=0.1, num_epochs=1, batch_size=64, seed=11)
    history = model.fit(digits.X_train[order], digits.y_train[order], batch_size=64,
                        shuffle=False, verbose=0).history["loss"]
    assert history[0] == pytest.approx(expected.epoch_losses[0], abs=2e-5)
    assert result.epoch_losses[-1] < result.epoch_losses[0]


def test_keras_adam_is_close_to_torch_but_not_equal(start, digits):
    _, res_t = trained("torch", training.train, start, digits, optimizer="adam", lr=0.01)
    _, res_k = trained("tensorflow", training.train_keras_step, start, digits, optimizer="adam", lr=0.01)
    diff = np.abs(res_k.losses - res_t.losses)
    assert diff[0] < 1e-6          # the first loss comes before any update
    assert diff.max() < 0.05       # Keras adds eps before the bias correction, torch after
    np.testing.assert_allclose(res_k.losses[:5], res_t.losses[:5], atol=1e-3)


# --- accuracy and the running mean ----------------------------------------------------


@pytest.mark.parametrize("framework, loop", [("torch", training.train),
                                             ("minigrad", training.train),
                                             ("tensorflow", training.train_keras_fit),
                                             ("tensorflow", training.train_keras_step)])
def test_accuracy_is_computed_from_predictions(framework, loop, start, digits):
    model, result = trained(framework, loop, start, digits, num_epochs=1)
    logits = models.predict(model, digits.X_test)
    correct = sum(int(np.argmax(row) == label) for row, label in zip(logits, digits.y_test))
    assert result.accuracy == pytest.approx(correct / len(digits.y_test))
    assert 0.5 < result.accuracy <= 1.0


def test_no_test_set_gives_no_accuracy(start, digits):
    model = models.set_weights(models.mlp("minigrad"), start)
    result = training.train(model, digits.X_train, digits.y_train, **HYPER)
    assert result.accuracy is None


def test_undo_running_mean_recovers_the_steps():
    batches = [[np.arange(4), np.arange(4), np.arange(2)], [np.arange(4), np.arange(4), np.arange(2)]]
    losses = np.array([2.0, 1.0, 4.0, 0.5, 0.25, 3.0])
    logged = []
    for e in range(2):
        sizes = np.array([4, 4, 2])
        steps = losses[3 * e:3 * e + 3]
        logged += list(np.cumsum(steps * sizes) / np.cumsum(sizes))
    assert logged[:3] == [2.0, 1.5, 2.0]
    np.testing.assert_allclose(training.undo_running_mean(logged, batches), losses)


def test_bad_arguments(start, digits):
    with pytest.raises(ValueError, match="optimizer"):
        training.train(models.mlp("minigrad"), digits.X_train, digits.y_train, **HYPER,
                       optimizer="rmsprop")
    with pytest.raises(TypeError, match="train_keras"):
        training.train(models.mlp("tensorflow"), digits.X_train, digits.y_train, **HYPER)
    with pytest.raises(ValueError, match="one label per row"):
        training.train(models.mlp("torch"), digits.X_train, digits.y_train[:-1], **HYPER)
