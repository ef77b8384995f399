"""Whole PyTorch programs, written the way PyTorch's tutorials and d2l write them, run
unchanged under PyTorch and under minigrad (`import minigrad as torch`).

Each program is a function of the framework `torch` (so it reaches `nn`, `optim` and
`utils.data` as attributes: an `import torch.nn` inside would always find PyTorch) and of
`same_start(model)`, which
the runner uses to give both frameworks the same initial weights (PyTorch's, moved into
minigrad with `load_state_dict`). Data come from NumPy with a fixed seed, or from
scikit-learn's bundled digits. A program returns the numbers it produced (losses step by
step, accuracies, predictions); the two runs must agree to float32 rounding.
"""
import io
import random

import numpy as np
import pytest
import torch as real_torch

import minigrad
from mgtest import to_numpy

PROGRAMS = {}


def program(fn):
    PROGRAMS[fn.__name__] = fn
    return fn


def data(*shape, seed=0, scale=1.0):
    return (np.random.default_rng(seed).standard_normal(shape) * scale).astype(np.float32)


def tokens(n, vocab, seed=0):
    return np.random.default_rng(seed).integers(0, vocab, n)


# --------------------------------------------------- PyTorch's "Learning PyTorch with Examples"


@program
def cubic_fit_with_raw_autograd(torch, same_start):
    dtype = torch.float
    x = torch.linspace(-np.pi, np.pi, 2000, dtype=dtype)
    y = torch.sin(x)
    a, b, c, d = (torch.tensor(v, dtype=dtype, requires_grad=True)
                  for v in (0.1, -0.2, 0.05, 0.3))
    learning_rate = 1e-6
    losses = []
    for t in range(200):
        y_pred = a + b * x + c * x ** 2 + d * x ** 3
        loss = (y_pred - y).pow(2).sum()
        losses.append(loss.item())
        loss.backward()
        with torch.no_grad():
            for p in (a, b, c, d):
                p -= learning_rate * p.grad
                p.grad = None
    return losses, [p.item() for p in (a, b, c, d)]


@program
def cubic_fit_with_nn_and_optim(torch, same_start):
    x = torch.linspace(-np.pi, np.pi, 2000)
    y = torch.sin(x)
    p = torch.tensor([1, 2, 3])
    xx = x.unsqueeze(-1).pow(p)
    model = torch.nn.Sequential(torch.nn.Linear(3, 1), torch.nn.Flatten(0, 1))
    same_start(model)
    loss_fn = torch.nn.MSELoss(reduction="sum")
    optimizer = torch.optim.RMSprop(model.parameters(), lr=1e-3)
    losses = []
    for t in range(100):
        loss = loss_fn(model(xx), y)
        losses.append(loss.item())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    linear_layer = model[0]
    return losses, linear_layer.bias.item(), linear_layer.weight[:, 0].item()


@program
def custom_autograd_function_legendre(torch, same_start):
    class LegendrePolynomial3(torch.autograd.Function):
        @staticmethod
        def forward(ctx, input):
            ctx.save_for_backward(input)
            return 0.5 * (5 * input ** 3 - 3 * input)

        @staticmethod
        def backward(ctx, grad_output):
            input, = ctx.saved_tensors
            return grad_output * 1.5 * (5 * input ** 2 - 1)

    x = torch.linspace(-np.pi, np.pi, 2000)
    y = torch.sin(x)
    a, b, c, d = (torch.full((), v, requires_grad=True) for v in (0.0, -1.0, 0.0, 0.3))
    losses = []
    for t in range(100):
        P3 = LegendrePolynomial3.apply
        y_pred = a + b * P3(c + d * x)
        loss = (y_pred - y).pow(2).sum()
        losses.append(loss.item())
        loss.backward()
        with torch.no_grad():
            for p in (a, b, c, d):
                p -= 5e-6 * p.grad
                p.grad = None
    return losses


@program
def define_by_run_dynamic_net(torch, same_start):
    class DynamicNet(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.a = torch.nn.Parameter(torch.tensor(0.1))
            self.b = torch.nn.Parameter(torch.tensor(-0.3))
            self.c = torch.nn.Parameter(torch.tensor(0.2))
            self.d = torch.nn.Parameter(torch.tensor(0.05))
            self.e = torch.nn.Parameter(torch.tensor(0.01))

        def forward(self, x):
            y = self.a + self.b * x + self.c * x ** 2 + self.d * x ** 3
            for exp in range(4, rng.randint(4, 6)):       # Python decides, every call
                y = y + self.e * x ** exp
            return y

    rng = random.Random(0)
    x = torch.linspace(-np.pi, np.pi, 2000)
    y = torch.sin(x)
    model = DynamicNet()
    criterion = torch.nn.MSELoss(reduction="sum")
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-8, momentum=0.9)
    losses = []
    for t in range(60):
        loss = criterion(model(x), y)
        losses.append(loss.item())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return losses


# --------------------------------------------------------------- d2l-style course


def digits_split(torch):
    from sklearn.datasets import load_digits
    digits = load_digits()
    order = np.random.default_rng(0).permutation(len(digits.target))
    X = (digits.data[order] / 16.0).astype(np.float32)
    y = digits.target[order]
    return (torch.tensor(X[:1400]), torch.tensor(y[:1400]),
            torch.tensor(X[1400:]), torch.tensor(y[1400:]))


@program
def digits_classifier_with_dataloader_adamw_scheduler_and_checkpoint(torch, same_start):
    nn = torch.nn
    DataLoader, TensorDataset = torch.utils.data.DataLoader, torch.utils.data.TensorDataset

    X_train, y_train, X_test, y_test = digits_split(torch)
    train = DataLoader(TensorDataset(X_train, y_train), batch_size=64, shuffle=False)
    model = nn.Sequential(nn.Linear(64, 128), nn.GELU(), nn.Dropout(0.0), nn.Linear(128, 10))
    same_start(model)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=0.1)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.05)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.7)
    losses, rates = [], []
    for epoch in range(3):
        model.train()
        for xb, yb in train:
            loss = loss_fn(model(xb), yb)
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), max_norm=5.0)
            optimizer.step()
            losses.append(loss.item())
        scheduler.step()
        rates.append(scheduler.get_last_lr()[0])

    buffer = io.BytesIO()
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict()}, buffer)
    buffer.seek(0)
    checkpoint = torch.load(buffer)
    restored = nn.Sequential(nn.Linear(64, 128), nn.GELU(), nn.Dropout(0.0), nn.Linear(128, 10))
    restored.load_state_dict(checkpoint["model"])
    restored.eval()
    with torch.no_grad():
        logits = restored(X_test)
        accuracy = (logits.argmax(dim=1) == y_test).float().mean().item()
        test_loss = nn.functional.cross_entropy(logits, y_test).item()
    return losses, rates, accuracy, test_loss


@program
def cnn_with_batch_norm_train_and_eval(torch, same_start):
    nn, F = torch.nn, torch.nn.functional

    X_train, y_train, X_test, y_test = digits_split(torch)
    images = X_train.reshape(-1, 1, 8, 8)
    model = nn.Sequential(
        nn.Conv2d(1, 8, kernel_size=3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(8, 16, kernel_size=3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
        nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(), nn.Linear(16, 10))
    same_start(model)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True)
    losses = []
    for step in range(12):
        xb, yb = images[step * 64:(step + 1) * 64], y_train[step * 64:(step + 1) * 64]
        loss = F.cross_entropy(model(xb), yb)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    model.eval()
    with torch.no_grad():
        test_logits = model(X_test.reshape(-1, 1, 8, 8))
    return losses, model[1].running_mean, model[1].running_var, test_logits[:5]


@program
def char_model_with_embedding_and_gru(torch, same_start):
    nn = torch.nn

    vocab, hidden, steps = 12, 16, 10

    class CharGRU(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(vocab, 8)
            self.rnn = nn.GRU(8, hidden, num_layers=2, batch_first=True)
            self.head = nn.Linear(hidden, vocab)

        def forward(self, x, state=None):
            out, state = self.rnn(self.embed(x), state)
            return self.head(out), state

    model = CharGRU()
    same_start(model)
    text = torch.tensor(tokens(4 * 21 * steps, vocab)).reshape(steps, 4, 21)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for batch in text:
        inputs, targets = batch[:, :-1], batch[:, 1:]
        logits, _ = model(inputs)
        loss = nn.functional.cross_entropy(logits.reshape(-1, vocab), targets.reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        losses.append(loss.item())
    with torch.no_grad():                # greedy generation, one step at a time
        x, state, generated = torch.tensor([[3]]), None, []
        for _ in range(8):
            logits, state = model(x, state)
            x = logits[:, -1].argmax(dim=-1, keepdim=True)
            generated.append(x.item())
    return losses, generated


@program
def lstm_sequence_regression(torch, same_start):
    nn = torch.nn

    class Regressor(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(input_size=3, hidden_size=10)
            self.out = nn.Linear(10, 1)

        def forward(self, x):
            output, (h, c) = self.lstm(x)
            return self.out(h[-1]).squeeze(-1)

    model = Regressor()
    same_start(model)
    x = torch.tensor(data(7, 16, 3))                  # (time, batch, features)
    y = x.sum(dim=(0, 2)) * 0.1
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-2)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=15)
    losses = []
    for step in range(15):
        loss = nn.functional.mse_loss(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()
        losses.append(loss.item())
    return losses


@program
def causal_attention_block(torch, same_start):
    nn, F = torch.nn, torch.nn.functional

    vocab, d_model, length = 10, 16, 12

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(vocab, d_model)
            self.position = nn.Parameter(torch.zeros(length, d_model))
            nn.init.normal_(self.position, std=0.02)
            self.norm1 = nn.LayerNorm(d_model)
            self.attn = nn.MultiheadAttention(d_model, num_heads=4, batch_first=True)
            self.norm2 = nn.LayerNorm(d_model)
            self.mlp = nn.Sequential(nn.Linear(d_model, 32), nn.GELU(), nn.Linear(32, d_model))
            self.head = nn.Linear(d_model, vocab)

        def forward(self, x):
            h = self.embed(x) + self.position[:x.shape[1]]
            mask = torch.triu(torch.ones(x.shape[1], x.shape[1], dtype=torch.bool), diagonal=1)
            a = self.norm1(h)
            h = h + self.attn(a, a, a, attn_mask=mask, need_weights=False)[0]
            h = h + self.mlp(self.norm2(h))
            return self.head(h)

    model = Block()
    same_start(model)
    batches = torch.tensor(tokens(8 * 4 * (length + 1), vocab, seed=3)).reshape(8, 4, length + 1)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    losses = []
    for batch in batches:
        logits = model(batch[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, vocab), batch[:, 1:].reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    q = torch.tensor(data(2, 4, 5, 8, seed=5))
    sdpa = F.scaled_dot_product_attention(q, q * 0.5, q + 1, is_causal=True)
    return losses, sdpa


@program
def transformer_encoder_classifier(torch, same_start):
    nn = torch.nn

    layer = nn.TransformerEncoderLayer(d_model=16, nhead=2, dim_feedforward=32, dropout=0.0,
                                       batch_first=True, norm_first=True)
    model = nn.ModuleDict({"encoder": nn.TransformerEncoder(layer, num_layers=2),
                           "head": nn.Linear(16, 3)})
    same_start(model)
    x = torch.tensor(data(6, 4, 7, 16, seed=7))
    y = torch.tensor(tokens(6 * 4, 3, seed=8)).reshape(6, 4)
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-3)
    losses = []
    for xb, yb in zip(x, y):
        logits = model["head"](model["encoder"](xb).mean(dim=1))
        loss = nn.functional.cross_entropy(logits, yb)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


# ------------------------------------------------------------------------ runner


def run_both(name):
    weights = {}

    def record(model):
        weights["state"] = {k: v.detach().clone() for k, v in model.state_dict().items()}

    def load(model):
        model.load_state_dict(weights["state"])

    real_torch.manual_seed(0)
    expected = PROGRAMS[name](real_torch, record)
    actual = PROGRAMS[name](minigrad, load)
    return expected, actual


def assert_close(actual, expected, where):
    """Same structure, same numbers to float32 training's rounding (errors of a few ulps
    per step grow over a few hundred steps)."""
    if isinstance(expected, (list, tuple)):
        assert isinstance(actual, (list, tuple)) and len(actual) == len(expected), where
        if expected and all(isinstance(v, float) for v in expected):
            np.testing.assert_allclose(actual, expected, rtol=2e-4, atol=2e-5, err_msg=where)
            return
        for k, (a, e) in enumerate(zip(actual, expected)):
            assert_close(a, e, f"{where}[{k}]")
    elif isinstance(expected, real_torch.Tensor):
        assert isinstance(actual, minigrad.Tensor), where
        assert tuple(actual.shape) == tuple(expected.shape), where
        assert str(actual.dtype).split(".")[-1] == str(expected.dtype).split(".")[-1], where
        np.testing.assert_allclose(to_numpy(actual), to_numpy(expected), rtol=2e-4, atol=2e-5,
                                   err_msg=where)
    elif isinstance(expected, float):
        np.testing.assert_allclose(actual, expected, rtol=2e-4, atol=2e-5, err_msg=where)
    else:
        assert actual == expected, f"{where}: minigrad {actual!r} vs PyTorch {expected!r}"


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_program_runs_unchanged_with_the_same_results(name):
    expected, actual = run_both(name)
    assert_close(actual, expected, name)


def test_programs_learn_something():
    """The programs above compare real training: losses go down in both frameworks."""
    for name in ("cubic_fit_with_raw_autograd", "char_model_with_embedding_and_gru"):
        expected, actual = run_both(name)
        losses = actual[0]
        assert losses[-1] < losses[0], name
