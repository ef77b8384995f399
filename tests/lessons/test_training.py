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
    W1, b1, W2, b2 = (
        weights[k].astype(np.float64) for k in ("0.weight", "0.bias", "2.weight", "2.bias")
    )
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
    assert result.epoch_losses[0] == pytest.approx(
        (ref_losses[:23] * sizes).sum() / sizes.sum(), abs=1e-5
    )
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
    _, res_k = trained(
        "tensorflow", training.train_keras_step, start, digits, optimizer="adam", lr=0.01
    )
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
    batches = [
        [np.arange(4), np.arange(4), np.arange(2)],
        [np.arange(4), np.arange(4), np.arange(2)],
    ]
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


# --- train_step: one step, the same in every framework ------------------------------

STEP_FRAMEWORKS = ["torch", "minigrad", "tensorflow"]


def step_batches(digits, n=6, size=32):
    return [(digits.X_train[i * size:(i + 1) * size], digits.y_train[i * size:(i + 1) * size])
            for i in range(n)]


def numpy_step_reference(weights, X, y, l2):
    """The 64-128-10 ReLU MLP in float64 NumPy: the loss (mean cross-entropy plus l2 times
    the sum of the squared weights, biases left out) and its gradients."""
    w = {k: v.astype(np.float64) for k, v in weights.items()}
    X, n = X.astype(np.float64), len(y)
    z = X @ w["0.weight"].T + w["0.bias"]
    h = np.maximum(z, 0)
    logits = h @ w["2.weight"].T + w["2.bias"]
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -log_p[np.arange(n), y].mean() + l2 * sum(
        (w[k] ** 2).sum() for k in ("0.weight", "2.weight")
    )
    d_logits = np.exp(log_p)
    d_logits[np.arange(n), y] -= 1
    d_logits /= n
    dz = (d_logits @ w["2.weight"]) * (z > 0)
    grads = {"0.weight": dz.T @ X + 2 * l2 * w["0.weight"], "0.bias": dz.sum(0),
             "2.weight": d_logits.T @ h + 2 * l2 * w["2.weight"], "2.bias": d_logits.sum(0)}
    return loss, grads


def stepped(framework, weights, batches, **kwargs):
    model = models.set_weights(models.mlp(framework), weights)
    step = training.train_step(model, **kwargs)
    return np.array([step(X, y) for X, y in batches]), model


@pytest.mark.parametrize("framework", STEP_FRAMEWORKS)
@pytest.mark.parametrize("l2", [0.0, 0.01])
def test_train_step_first_loss_is_cross_entropy_plus_penalty(framework, l2, start, digits):
    (X, y), = step_batches(digits, n=1)
    losses, _ = stepped(framework, start, [(X, y)], l2=l2)
    expected, _ = numpy_step_reference(start, X, y, l2)
    assert isinstance(losses[0].item(), float)
    assert losses[0] == pytest.approx(expected, abs=1e-5)
    if l2:
        assert losses[0] > numpy_step_reference(start, X, y, 0.0)[0] + 0.1  # the penalty counts


@pytest.mark.parametrize("framework", STEP_FRAMEWORKS)
def test_train_step_l2_gradient_is_two_l2_w(framework, start, digits):
    (X, y), = step_batches(digits, n=1)
    lr, l2 = 0.1, 0.05
    _, model = stepped(framework, start, [(X, y)], optimizer="sgd", lr=lr, l2=l2)
    _, grads = numpy_step_reference(start, X, y, l2)
    _, plain = stepped(framework, start, [(X, y)], optimizer="sgd", lr=lr)
    after, after_plain = models.get_weights(model), models.get_weights(plain)
    for name, w in start.items():
        # w - lr * (grad of the cross-entropy + 2 * l2 * w); biases carry no penalty
        np.testing.assert_allclose(after[name], w - lr * grads[name], atol=1e-5)
    for name in ("0.weight", "2.weight"):
        np.testing.assert_allclose(after_plain[name] - after[name], lr * 2 * l2 * start[name],
                                   atol=1e-5)
        assert np.abs(after_plain[name] - after[name]).max() > 1e-4
    for name in ("0.bias", "2.bias"):
        np.testing.assert_allclose(after[name], after_plain[name], atol=1e-6)


@pytest.mark.parametrize("optimizer, lr", [("sgd", 0.1), ("adam", 0.01)])
@pytest.mark.parametrize("l2", [0.0, 0.01])
def test_train_step_frameworks_match_torch_step_by_step(optimizer, lr, l2, start, digits):
    batches = step_batches(digits)
    ref, model_t = stepped("torch", start, batches, optimizer=optimizer, lr=lr, l2=l2)
    mg, model_m = stepped("minigrad", start, batches, optimizer=optimizer, lr=lr, l2=l2)
    tf, model_k = stepped("tensorflow", start, batches, optimizer=optimizer, lr=lr, l2=l2)
    assert ref[-1] < ref[0]  # it learned something
    np.testing.assert_allclose(mg, ref, atol=1e-5)
    for name, value in models.get_weights(model_t).items():
        np.testing.assert_allclose(models.get_weights(model_m)[name], value, atol=1e-5)
    if optimizer == "sgd":
        np.testing.assert_allclose(tf, ref, atol=2e-5)
        for name, value in models.get_weights(model_t).items():
            np.testing.assert_allclose(models.get_weights(model_k)[name], value, atol=2e-5)
    else:  # Keras adds Adam's eps before the bias correction, PyTorch after
        assert abs(tf[0] - ref[0]) < 1e-5
        np.testing.assert_allclose(tf, ref, atol=1e-3)


@pytest.mark.parametrize("optimizer, lr", [("sgd", 0.1), ("adam", 0.01)])
def test_train_step_keras_graph_and_eager_agree(optimizer, lr, start, digits):
    batches = step_batches(digits, n=4) + [(digits.X_train[:10], digits.y_train[:10])]
    graph, _ = stepped("tensorflow", start, batches, optimizer=optimizer, lr=lr, l2=0.01)
    eager, _ = stepped("tensorflow", start, batches, optimizer=optimizer, lr=lr, l2=0.01,
                       graph=False)
    np.testing.assert_allclose(graph, eager, atol=1e-6)


def test_train_step_matches_train(start, digits):
    """train() is train_step over batch_order's batches."""
    model = models.set_weights(models.mlp("minigrad"), start)
    result = training.train(model, digits.X_train, digits.y_train, **{**HYPER, "num_epochs": 1})
    batches = training.batch_order(len(digits.X_train), 64, 1, seed=HYPER["seed"])[0]
    losses, _ = stepped("torch", start, [(digits.X_train[i], digits.y_train[i]) for i in batches])
    np.testing.assert_allclose(result.losses, losses, atol=1e-5)


# --- train_step with dropout -----------------------------------------------------------


def dropout_losses(framework, weights, batches, seed):
    """Losses of three steps of a dropout MLP; the masks come from ``seed``."""
    import minigrad

    if framework == "torch":
        torch.manual_seed(seed)
    elif framework == "minigrad":
        minigrad.manual_seed(seed)
    model = models.set_weights(models.mlp(framework, dropout=0.5, seed=seed), weights)
    if framework != "tensorflow":
        model.eval()
    step = training.train_step(model, "sgd", 0.1)
    if framework != "tensorflow":
        assert model.training  # train_step switched it to training mode
    return np.array([step(X, y) for X, y in batches])


@pytest.mark.parametrize("framework", STEP_FRAMEWORKS)
def test_dropout_runs_repeat_with_the_same_seed(framework, start, digits):
    weights = {k.replace("2.", "3."): v for k, v in start.items()}  # Linear, ReLU, Dropout, Linear
    batches = step_batches(digits, n=3)
    first = dropout_losses(framework, weights, batches, seed=1)
    np.testing.assert_array_equal(dropout_losses(framework, weights, batches, seed=1), first)
    assert np.abs(dropout_losses(framework, weights, batches, seed=2) - first).max() > 1e-4
    plain, _ = stepped("torch", start, batches[:1])
    assert abs(first[0] - plain[0]) > 1e-4  # the masks changed the loss


def test_dropout_keras_graph_and_eager_draw_the_same_masks(start, digits):
    weights = {k.replace("2.", "3."): v for k, v in start.items()}
    batches = step_batches(digits, n=3)
    runs = []
    for graph in (True, False):
        model = models.set_weights(models.mlp("tensorflow", dropout=0.5, seed=4), weights)
        step = training.train_step(model, "sgd", 0.1, graph=graph)
        runs.append([step(X, y) for X, y in batches])
    np.testing.assert_allclose(runs[0], runs[1], atol=1e-6)


# --- bad arguments ---------------------------------------------------------------------


@pytest.mark.parametrize("framework", STEP_FRAMEWORKS)
def test_train_step_bad_arguments(framework):
    model = models.mlp(framework)
    with pytest.raises(ValueError, match="optimizer must be one of"):
        training.train_step(model, "rmsprop")
    for lr in (0, -0.1, float("nan")):
        with pytest.raises(ValueError, match="lr must be positive"):
            training.train_step(model, "sgd", lr)
    for l2 in (-1e-4, float("nan")):
        with pytest.raises(ValueError, match="l2 must be zero or positive"):
            training.train_step(model, "sgd", 0.1, l2=l2)


def test_train_step_refuses_what_is_not_a_model():
    with pytest.raises(TypeError, match="not a PyTorch, Keras or minigrad model"):
        training.train_step(np.zeros(3))
