"""Small training loops that give the same results in PyTorch, minigrad and Keras.

    result = train(model, X, y, lr=0.1, num_epochs=3, batch_size=64, seed=0,
                   X_test=X_test, y_test=y_test)          # a PyTorch or minigrad model
    result = train_keras_fit(keras_model, X, y, ...)       # Keras: model.fit
    result = train_keras_step(keras_model, X, y, ...)      # Keras: fit + custom train_step
    result.losses, result.epoch_losses, result.accuracy

    step = train_step(model, "adam", lr=0.01, l2=1e-4)     # any of the three frameworks
    loss = step(X_batch, y_batch)                          # one step; the loss as a float

All three see the same mini-batches in the same order: ``batch_order`` draws one
permutation of the training set per epoch from ``np.random.default_rng(seed)`` and cuts
it into batches of ``batch_size`` (the last one may be smaller). The loss is the mean
cross-entropy of the batch's logits; the optimizer is plain SGD (no momentum) or Adam
with PyTorch's defaults (betas 0.9, 0.999, eps 1e-8), set the same way in Keras. So
from the same initial weights (``lessons.models.set_weights``) the loops take the same
steps, up to float32 rounding, except where the frameworks' update rules themselves
differ (Keras' Adam adds eps to sqrt(v) before the bias correction, PyTorch's after).

``train_step`` is the one place where a step is written out: ``torch_like_update`` for
PyTorch and minigrad (forward, loss, zero_grad, backward, step) and ``keras_update`` for
Keras (forward and loss under a ``tf.GradientTape``, gradients, ``apply_gradients``).
``train`` and ``custom_step_model`` are built on them. Its loss may carry an L2 penalty,
``l2`` times the sum of the squares of the weights (tensors of two or more dimensions:
``Linear`` and ``Conv2d`` weights, not biases), added to the loss, so ``2 * l2 * w`` is
added to each weight's gradient before the optimizer sees it (with Adam this is L2 in
the loss, not AdamW's decoupled weight decay).

``losses`` holds the loss of every step, on the batch that step trained on, before the
update. ``epoch_losses`` holds, per epoch, the mean loss over that epoch's examples
(each step weighted by its batch size): the number ``model.fit`` reports. Keras' ``fit``
logs a running mean over the epoch after every step, not the step's own loss;
``train_keras_fit`` undoes that average to return the per-step losses.

PyTorch and TensorFlow are imported only when a function needs them.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .models import framework_of, predict

__all__ = ["OPTIMIZERS", "TrainResult", "batch_order", "accuracy", "epoch_means", "train",
           "train_step", "torch_like_optimizer", "torch_like_update", "train_keras_fit",
           "train_keras_step", "undo_running_mean", "keras_optimizer", "keras_update",
           "custom_step_model"]

OPTIMIZERS = ("sgd", "adam")
ADAM = dict(beta_1=0.9, beta_2=0.999, epsilon=1e-8)  # PyTorch's defaults, Keras' names


class TrainResult(NamedTuple):
    """What a training loop returns."""

    losses: np.ndarray        # one per step: the batch's mean loss, before the update
    epoch_losses: np.ndarray  # one per epoch: the mean loss over the epoch's examples
    accuracy: float | None    # on (X_test, y_test) after training; None if not given


def batch_order(n, batch_size, num_epochs, seed=0):
    """The batches of every epoch: a list (one per epoch) of lists of index arrays. Each
    epoch is a fresh permutation of range(n) from ``np.random.default_rng(seed)``, cut
    into batches of ``batch_size``; the last batch of an epoch holds the remainder."""
    if batch_size < 1 or num_epochs < 0 or n < 1:
        raise ValueError(f"need n >= 1, batch_size >= 1 and num_epochs >= 0, got "
                         f"n={n}, batch_size={batch_size}, num_epochs={num_epochs}")
    rng = np.random.default_rng(seed)
    epochs = []
    for _ in range(num_epochs):
        order = rng.permutation(n)
        epochs.append([order[i:i + batch_size] for i in range(0, n, batch_size)])
    return epochs


def accuracy(model, X, y):
    """The fraction of rows of ``X`` whose largest logit is at the label in ``y``."""
    return float((predict(model, X).argmax(axis=1) == np.asarray(y)).mean())


def epoch_means(losses, batches):
    """Per-epoch means of per-step ``losses``, each step weighted by its batch size."""
    means, step = [], 0
    for epoch in batches:
        sizes = np.array([len(idx) for idx in epoch], dtype=np.float64)
        means.append(float(np.dot(losses[step:step + len(epoch)], sizes) / sizes.sum()))
        step += len(epoch)
    return np.array(means)


def _check_optimizer(optimizer):
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {optimizer!r}")


def _check(optimizer, X, y):
    _check_optimizer(optimizer)
    X, y = np.asarray(X, dtype=np.float32), np.asarray(y, dtype=np.int64)
    if X.ndim < 2 or y.shape != (len(X),):
        raise ValueError(f"X needs one row per example and y one label per row, got "
                         f"X {X.shape} and y {y.shape}")
    return X, y


def _result(model, losses, batches, X_test, y_test):
    losses = np.asarray(losses, dtype=np.float64)
    test = None if X_test is None else accuracy(model, X_test, y_test)
    return TrainResult(losses, epoch_means(losses, batches), test)


# ------------------------------------------------------------------ one step


def train_step(model, optimizer="sgd", lr=0.1, *, l2=0.0, graph=True):
    """One training step of ``model`` (PyTorch, minigrad or Keras) as a function
    ``step(X, y) -> float``: ``X`` a float32 NumPy batch, ``y`` its integer labels.

    The step computes the logits in training mode (dropout active), the loss (mean
    softmax cross-entropy, plus ``l2`` times the sum of the squared weights, biases
    excluded), the gradients and the update: plain SGD (no momentum) or Adam with
    PyTorch's defaults (``ADAM``). It returns the loss before the update, penalty
    included. The optimizer is created here and keeps its state (Adam's moments)
    from one call to the next.

    PyTorch and minigrad: ``model.train()`` is called once, here, and each step is
    ``torch_like_update``. Keras: the optimizer's variables are created here, and the
    step, ``keras_update``, runs inside ``tf.function(reduce_retracing=True)`` when
    ``graph`` is true (traced on the first call, and once more for the first batch of
    another size), eagerly when it is false. ``graph`` has no effect on the others."""
    _check_optimizer(optimizer)
    if not lr > 0:
        raise ValueError(f"lr must be positive, got {lr!r}")
    if not l2 >= 0:
        raise ValueError(f"l2 must be zero or positive, got {l2!r}")
    framework = framework_of(model)
    if framework == "tensorflow":
        return _keras_train_step(model, optimizer, lr, l2, graph)
    torch, opt = torch_like_optimizer(model, framework, optimizer, lr)
    update = torch_like_update(model, opt, torch, l2=l2)
    model.train()

    def step(X, y):
        X, y = np.asarray(X, dtype=np.float32), np.asarray(y, dtype=np.int64)
        return update(torch.tensor(X), torch.tensor(y)).item()

    return step


def _weights(parameters):
    """The parameters an L2 penalty applies to: weights (2 dimensions or more), not biases."""
    return [p for p in parameters if len(p.shape) >= 2]


# ------------------------------------------------------------------ PyTorch and minigrad


def torch_like_optimizer(model, framework, optimizer, lr):
    """(the framework's module, its optimizer over the model's parameters) for "torch"
    or "minigrad"; Adam gets the settings every lesson shares (``ADAM``)."""
    if framework == "torch":
        import torch
    else:
        import minigrad as torch
    if optimizer == "sgd":
        return torch, torch.optim.SGD(model.parameters(), lr=lr)
    return torch, torch.optim.Adam(model.parameters(), lr=lr,
                                   betas=(ADAM["beta_1"], ADAM["beta_2"]), eps=ADAM["epsilon"])


def torch_like_update(model, opt, torch, *, l2=0.0):
    """PyTorch's loop body for ``model`` and its optimizer ``opt`` (``torch`` is the
    module: torch or minigrad), as a function of a batch of the framework's tensors:
    forward, loss (cross-entropy, plus ``l2`` times the sum of the squared weights),
    zero_grad, backward, step. It returns the loss tensor, computed before the update.
    With ``l2=0`` the loss is the cross-entropy alone, without any extra operation."""
    F = torch.nn.functional
    weights = _weights(model.parameters()) if l2 else []

    def update(X, y):
        loss = F.cross_entropy(model(X), y)
        for w in weights:
            loss = loss + l2 * (w * w).sum()  # d/dw = 2 * l2 * w
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss

    return update


def train(model, X, y, *, lr, num_epochs, batch_size, optimizer="sgd", seed=0,
          X_test=None, y_test=None):
    """Train a PyTorch or minigrad ``model`` in place with the explicit loop: for each
    batch, forward, cross-entropy, zero_grad, backward, step (``train_step``). Returns
    a TrainResult."""
    framework = framework_of(model)
    if framework == "tensorflow":
        raise TypeError("train() takes a PyTorch or minigrad model; for Keras use "
                        "train_keras_fit or train_keras_step")
    X, y = _check(optimizer, X, y)
    step = train_step(model, optimizer, lr)
    batches = batch_order(len(X), batch_size, num_epochs, seed)
    losses = [step(X[idx], y[idx]) for epoch in batches for idx in epoch]
    return _result(model, losses, batches, X_test, y_test)


# ------------------------------------------------------------------ Keras


def keras_optimizer(optimizer, lr):
    """A Keras optimizer with the same settings as the PyTorch one ``train`` uses."""
    import keras

    if optimizer == "sgd":
        return keras.optimizers.SGD(learning_rate=lr)  # momentum 0 by default, as in torch
    return keras.optimizers.Adam(learning_rate=lr, **ADAM)


def keras_update(model, optimizer, *, l2=0.0):
    """TensorFlow's loop body for a Keras ``model`` and its ``optimizer``, as a function
    of a batch of tensors (``y`` integer labels): forward in training mode and loss
    (mean cross-entropy, plus ``l2`` times the sum of the squared weights) under a
    ``tf.GradientTape``, gradients, ``apply_gradients``. It returns the loss tensor,
    computed before the update. Eager as it is; wrap it in ``tf.function`` for a graph.
    With ``l2=0`` the loss is the cross-entropy alone, without any extra operation.
    TensorFlow hands out fresh gradients every time: there is nothing to zero."""
    import tensorflow as tf

    def update(X, y):
        with tf.GradientTape() as tape:
            logits = model(X, training=True)
            loss = tf.reduce_mean(
                tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
            if l2:
                for w in _weights(model.trainable_variables):
                    loss = loss + l2 * tf.reduce_sum(tf.square(w))  # d/dw = 2 * l2 * w
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    return update


def _keras_train_step(model, optimizer, lr, l2, graph):
    """``train_step`` for a Keras model."""
    import tensorflow as tf

    if not model.built:
        raise ValueError("this Keras model has no weights yet: give it an Input or call "
                         "it once on a batch")
    opt = keras_optimizer(optimizer, lr)
    opt.build(model.trainable_variables)  # its variables exist before tf.function traces
    update = keras_update(model, opt, l2=l2)
    if graph:
        update = tf.function(update, reduce_retracing=True)

    def step(X, y):
        X = tf.constant(np.asarray(X, dtype=np.float32))
        y = tf.constant(np.asarray(y, dtype=np.int64))
        return float(update(X, y))

    return step


def _record_logged_losses():
    """A callback that keeps the "loss" that fit logs after every step."""
    import keras

    class Record(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.logged = []

        def on_train_batch_end(self, batch, logs=None):
            self.logged.append(float(logs["loss"]))

    return Record()


def _fit(model, X, y, batches, record):
    """One ``fit`` call per epoch, on that epoch's examples in batch order, unshuffled:
    fit then cuts them into the same batches as ``batch_order``."""
    for epoch, epoch_batches in enumerate(batches):
        order = np.concatenate(epoch_batches)
        batch_size = len(epoch_batches[0])
        model.fit(X[order], y[order], batch_size=batch_size, shuffle=False,
                  initial_epoch=epoch, epochs=epoch + 1, verbose=0, callbacks=[record])


def train_keras_fit(model, X, y, *, lr, num_epochs, batch_size, optimizer="sgd", seed=0,
                    X_test=None, y_test=None):
    """Train a Keras ``model`` (in place) with ``compile`` + ``fit``, on the batches of
    ``batch_order`` (no shuffling by Keras). Returns a TrainResult whose per-step
    ``losses`` are recovered from the running means fit logs."""
    import keras

    X, y = _check(optimizer, X, y)
    model.compile(optimizer=keras_optimizer(optimizer, lr),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    batches = batch_order(len(X), batch_size, num_epochs, seed)
    record = _record_logged_losses()
    _fit(model, X, y, batches, record)
    return _result(model, undo_running_mean(record.logged, batches), batches, X_test, y_test)


def undo_running_mean(logged, batches):
    """Per-step losses from the running means ``fit`` logs: after step k of an epoch it
    logs (n_1 l_1 + ... + n_k l_k) / (n_1 + ... + n_k), n_i the batch sizes."""
    losses, step = [], 0
    for epoch in batches:
        seen, total = 0, 0.0
        for idx in epoch:
            n = len(idx)
            new_total = logged[step] * (seen + n)
            losses.append((new_total - total) / n)
            seen, total, step = seen + n, new_total, step + 1
    return np.array(losses)


def custom_step_model(net):
    """A ``keras.Model`` that wraps ``net`` and overrides ``train_step`` with the loop
    body ``keras_update`` (``tf.GradientTape``, gradients, ``apply_gradients``), while
    ``fit`` still runs the loop around it. It logs each step's own loss (no running
    mean)."""
    import keras

    class CustomStep(keras.Model):
        def __init__(self, net):
            super().__init__()
            self.net = net

        def call(self, X, training=False):
            return self.net(X, training=training)

        def train_step(self, data):
            X, y = data
            return {"loss": keras_update(self, self.optimizer)(X, y)}

    return CustomStep(net)


def train_keras_step(model, X, y, *, lr, num_epochs, batch_size, optimizer="sgd", seed=0,
                     X_test=None, y_test=None):
    """Train a Keras ``model`` (in place) with ``fit`` driving a custom ``train_step``
    (see ``custom_step_model``), on the batches of ``batch_order``. Returns a TrainResult."""
    X, y = _check(optimizer, X, y)
    stepper = custom_step_model(model)
    stepper.compile(optimizer=keras_optimizer(optimizer, lr))
    batches = batch_order(len(X), batch_size, num_epochs, seed)
    record = _record_logged_losses()
    _fit(stepper, X, y, batches, record)
    return _result(model, record.logged, batches, X_test, y_test)
