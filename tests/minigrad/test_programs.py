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
import math
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


# ------------------------------------------------ more tutorials: tensors, autograd, data


@program
def tensor_basics_and_numpy_bridge(torch, same_start):
    shape = (2, 3)
    ones, zeros = torch.ones(shape), torch.zeros(shape)
    t = torch.tensor(data(4, 4, seed=11))
    t[:, 1] = 0
    joined = torch.cat([t, t, t], dim=1)
    y1 = t @ t.T
    y2 = t.matmul(t.T)
    y3 = torch.matmul(t, t.T)
    z1 = t * t
    z3 = torch.mul(t, t)
    agg = t.sum()
    t.add_(5)
    n = np.ones(5, dtype=np.float32)
    shared = torch.from_numpy(n)
    np.add(n, 1, out=n)
    back = shared.numpy()
    shared.mul_(3)
    return (ones, zeros, t, joined, y1, y2, y3, z1, z3, agg.item(), shared, back.tolist(),
            t[0], t[..., -1], t.dtype == torch.float32, t.shape[1], list(t.size()))


@program
def autograd_tutorial_gradients_and_jacobian_products(torch, same_start):
    F = torch.nn.functional
    x = torch.ones(5)
    y = torch.zeros(3)
    w = torch.tensor(data(5, 3, seed=12), requires_grad=True)
    b = torch.tensor(data(3, seed=13), requires_grad=True)
    z = torch.matmul(x, w) + b
    loss = F.binary_cross_entropy_with_logits(z, y)
    loss.backward()
    grads = [w.grad.clone(), b.grad.clone()]
    with torch.no_grad():
        z2 = torch.matmul(x, w) + b
    z_det = z.detach()
    inp = torch.eye(4, 5, requires_grad=True)
    out = (inp + 1).pow(2).t()
    out.backward(torch.ones_like(out), retain_graph=True)
    first = inp.grad.clone()
    out.backward(torch.ones_like(out))
    second = inp.grad.clone()
    inp.grad.zero_()
    out = (inp + 1).pow(2).t()
    out.backward(torch.ones_like(out))
    (gx,) = torch.autograd.grad((w * w).sum(), [w])
    return (loss.item(), grads, z.requires_grad, z2.requires_grad, z_det.requires_grad,
            first, second, inp.grad, gx, w.is_leaf, z.is_leaf)


@program
def custom_dataset_with_dict_samples_and_collate_fn(torch, same_start):
    Dataset, DataLoader = torch.utils.data.Dataset, torch.utils.data.DataLoader
    rng = np.random.default_rng(14)
    lengths = rng.integers(1, 6, size=10)

    class Sequences(Dataset):
        def __init__(self, transform=None):
            self.items = [rng.integers(1, 9, size=n) for n in lengths]
            self.transform = transform

        def __len__(self):
            return len(self.items)

        def __getitem__(self, idx):
            seq = torch.tensor(self.items[idx])
            sample = {"tokens": seq, "length": len(seq), "label": float(idx % 2)}
            return self.transform(sample) if self.transform else sample

    def pad_collate(batch):
        width = max(s["length"] for s in batch)
        padded = torch.zeros(len(batch), width, dtype=torch.long)
        for i, s in enumerate(batch):
            padded[i, :s["length"]] = s["tokens"]
        return {"tokens": padded, "length": torch.tensor([s["length"] for s in batch]),
                "label": torch.tensor([s["label"] for s in batch])}

    def first_token(sample):
        return {"first": sample["tokens"][:1], "label": sample["label"],
                "pair": (sample["length"], np.float32(sample["length"]) / 2)}

    dataset = Sequences()
    out = [len(dataset), dataset[3]["tokens"]]
    for batch in DataLoader(dataset, batch_size=4, collate_fn=pad_collate):
        out += [batch["tokens"], batch["length"], batch["label"]]
    for batch in DataLoader(Sequences(first_token), batch_size=3, drop_last=True):
        out += [sorted(batch), batch["first"], batch["label"], batch["pair"][0],
                batch["pair"][1]]
    out.append(len(DataLoader(dataset, batch_size=3)))
    return out


@program
def optimization_loop_tutorial_train_and_test(torch, same_start):
    nn = torch.nn
    DataLoader, TensorDataset = torch.utils.data.DataLoader, torch.utils.data.TensorDataset
    X_train, y_train, X_test, y_test = digits_split(torch)

    class NeuralNetwork(nn.Module):
        def __init__(self):
            super().__init__()
            self.flatten = nn.Flatten()
            self.linear_relu_stack = nn.Sequential(
                nn.Linear(8 * 8, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 10))

        def forward(self, x):
            return self.linear_relu_stack(self.flatten(x))

    train_dl = DataLoader(TensorDataset(X_train.reshape(-1, 8, 8)[:640], y_train[:640]),
                          batch_size=64)
    test_dl = DataLoader(TensorDataset(X_test.reshape(-1, 8, 8), y_test), batch_size=100)
    model = NeuralNetwork()
    same_start(model)
    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)

    def train_loop(dataloader):
        model.train()
        losses = []
        for batch, (X, y) in enumerate(dataloader):
            loss = loss_fn(model(X), y)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
            if batch % 3 == 0:
                losses.append(loss.item())
        return losses

    def test_loop(dataloader):
        model.eval()
        size, num_batches = len(dataloader.dataset), len(dataloader)
        test_loss, correct = 0, 0
        with torch.no_grad():
            for X, y in dataloader:
                pred = model(X)
                test_loss += loss_fn(pred, y).item()
                correct += (pred.argmax(1) == y).type(torch.float).sum().item()
        return test_loss / num_batches, correct / size

    history = []
    for t in range(2):
        history += [train_loop(train_dl), test_loop(test_dl)]
    return history


@program
def save_load_and_transfer_state_dict(torch, same_start):
    nn = torch.nn

    def make():
        return nn.Sequential(nn.Linear(6, 8), nn.BatchNorm1d(8), nn.Tanh(), nn.Linear(8, 2))

    model = make()
    same_start(model)
    x = torch.tensor(data(16, 6, seed=15))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(3):
        loss = model(x).pow(2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    buffer.seek(0)
    clone = make()
    result = clone.load_state_dict(torch.load(buffer, weights_only=True))
    model.eval()
    clone.eval()
    with torch.no_grad():
        same = torch.equal(model(x), clone(x))
    bigger = nn.Sequential(nn.Linear(6, 8), nn.BatchNorm1d(8), nn.Tanh(), nn.Linear(8, 3))
    partial = {k: v for k, v in model.state_dict().items() if not k.startswith("3.")}
    missing, unexpected = bigger.load_state_dict(partial, strict=False)
    tensor_buffer = io.BytesIO()
    torch.save({"x": x[:2], "step": 3, "names": ["a", "b"]}, tensor_buffer)
    tensor_buffer.seek(0)
    loaded = torch.load(tensor_buffer)
    return (list(result.missing_keys), same, list(missing), list(unexpected),
            bigger[0].weight, bigger[1].running_var, bigger[1].num_batches_tracked,
            loaded["x"], loaded["step"], loaded["names"], list(model.state_dict().keys()),
            optimizer.state_dict()["param_groups"][0]["lr"])


@program
def model_structure_repr_and_named_parameters(torch, same_start):
    nn = torch.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 4, 3, stride=2, padding=1, bias=False)
            self.bn = nn.BatchNorm2d(4, momentum=0.2)
            self.blocks = nn.ModuleList([nn.Linear(16, 16) for _ in range(2)])
            self.heads = nn.ModuleDict({"a": nn.Linear(16, 2), "b": nn.Identity()})
            self.register_buffer("scale", torch.ones(1))
            self.register_buffer("scratch", torch.zeros(2), persistent=False)
            self.temperature = nn.Parameter(torch.tensor(1.5))

    net = Net()
    same_start(net)
    params = [(name, tuple(p.shape), p.requires_grad) for name, p in net.named_parameters()]
    buffers = [(name, tuple(b.shape)) for name, b in net.named_buffers()]
    children = [name for name, _ in net.named_children()]
    modules = [name for name, _ in net.named_modules()]
    total = sum(p.numel() for p in net.parameters() if p.requires_grad)
    return (str(net), params, buffers, children, modules, total, list(net.state_dict()),
            repr(nn.Sequential(nn.Linear(2, 3), nn.Dropout(0.1), nn.LeakyReLU(0.2))))


# ------------------------------------------------------ d2l: linear models and MLPs


def synthetic_data(torch, w, b, num_examples, seed=16):
    rng = np.random.default_rng(seed)
    X = torch.tensor(rng.standard_normal((num_examples, len(w))).astype(np.float32))
    y = torch.matmul(X, torch.tensor(w)) + b
    y += torch.tensor(rng.normal(0, 0.01, y.shape).astype(np.float32))
    return X, y.reshape((-1, 1))


@program
def linear_regression_from_scratch(torch, same_start):
    true_w, true_b = np.array([2, -3.4], dtype=np.float32), 4.2
    features, labels = synthetic_data(torch, true_w, true_b, 200)

    def data_iter(batch_size, features, labels):
        indices = list(range(len(features)))
        random.Random(0).shuffle(indices)
        for i in range(0, len(indices), batch_size):
            batch_indices = torch.tensor(indices[i:min(i + batch_size, len(indices))])
            yield features[batch_indices], labels[batch_indices]

    w = torch.tensor(data(2, 1, seed=17, scale=0.01), requires_grad=True)
    b = torch.zeros(1, requires_grad=True)

    def linreg(X, w, b):
        return torch.matmul(X, w) + b

    def squared_loss(y_hat, y):
        return (y_hat - y.reshape(y_hat.shape)) ** 2 / 2

    def sgd(params, lr, batch_size):
        with torch.no_grad():
            for param in params:
                param -= lr * param.grad / batch_size
                param.grad.zero_()

    losses = []
    for epoch in range(3):
        for X, y in data_iter(10, features, labels):
            l = squared_loss(linreg(X, w, b), y)
            l.sum().backward()
            sgd([w, b], 0.03, 10)
        with torch.no_grad():
            losses.append(float(squared_loss(linreg(features, w, b), labels).mean()))
    return losses, (true_w - w.reshape(true_w.shape).detach().numpy()).tolist(), true_b - b.item()


@program
def linear_regression_concise(torch, same_start):
    nn, data_mod = torch.nn, torch.utils.data
    true_w = np.array([2, -3.4], dtype=np.float32)
    features, labels = synthetic_data(torch, true_w, 4.2, 300, seed=18)
    data_iter = data_mod.DataLoader(data_mod.TensorDataset(*(features, labels)), batch_size=10)
    net = nn.Sequential(nn.Linear(2, 1))
    with torch.no_grad():
        net[0].weight.normal_(0, 0.01)
        net[0].bias.fill_(0)
    same_start(net)
    loss = nn.MSELoss()
    trainer = torch.optim.SGD(net.parameters(), lr=0.03)
    history = []
    for epoch in range(3):
        for X, y in data_iter:
            l = loss(net(X), y)
            trainer.zero_grad()
            l.backward()
            trainer.step()
        history.append(loss(net(features), labels).item())
    w, b = net[0].weight.detach(), net[0].bias.detach()
    return history, w.reshape(true_w.shape), b, net[0].weight.grad


@program
def softmax_regression_from_scratch_with_gather(torch, same_start):
    X_train, y_train, X_test, y_test = digits_split(torch)
    W = torch.tensor(data(64, 10, seed=19, scale=0.01), requires_grad=True)
    b = torch.zeros(10, requires_grad=True)

    def softmax(X):
        X_exp = torch.exp(X - X.max(dim=1, keepdim=True).values)
        return X_exp / X_exp.sum(1, keepdim=True)

    def net(X):
        return softmax(torch.matmul(X.reshape((-1, W.shape[0])), W) + b)

    def cross_entropy(y_hat, y):
        return -torch.log(y_hat[range(len(y_hat)), y])

    def cross_entropy_gather(y_hat, y):
        return -torch.log(y_hat.gather(1, y.unsqueeze(1))).squeeze(1)

    def accuracy(y_hat, y):
        y_hat = y_hat.argmax(dim=1)
        cmp = y_hat.type(y.dtype) == y
        return float(cmp.type(y.dtype).sum())

    losses = []
    for step in range(15):
        xb, yb = X_train[step * 80:(step + 1) * 80], y_train[step * 80:(step + 1) * 80]
        y_hat = net(xb)
        l = cross_entropy(y_hat, yb) if step % 2 else cross_entropy_gather(y_hat, yb)
        l.mean().backward()
        with torch.no_grad():
            for p in (W, b):
                p -= 0.5 * p.grad
                p.grad.zero_()
        losses.append(l.mean().item())
    with torch.no_grad():
        acc = accuracy(net(X_test), y_test) / len(y_test)
        check = softmax(torch.tensor(data(2, 5, seed=20))).sum(1)
    return losses, acc, check


@program
def mlp_with_dropout_and_weight_decay(torch, same_start):
    nn = torch.nn
    X_train, y_train, X_test, y_test = digits_split(torch)

    def dropout_layer(X, dropout):
        assert 0 <= dropout <= 1
        if dropout == 1:
            return torch.zeros_like(X)
        mask = (torch.rand(X.shape) > dropout).float()
        return mask * X / (1.0 - dropout)

    x = torch.arange(16, dtype=torch.float32).reshape((2, 8)) + 1
    scratch = dropout_layer(x, 0.5)
    drop = nn.Dropout(0.5)
    drop.train()
    trained = drop(x)
    drop.eval()
    checks = [dropout_layer(x, 1.0), dropout_layer(x, 0.0),
              bool(((scratch == 0) | (scratch == 2 * x)).all()),
              bool(((trained == 0) | (trained == 2 * x)).all()), drop(x)]

    net = nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Dropout(0.5),
                        nn.Linear(32, 32), nn.ReLU(), nn.Dropout(0.2), nn.Linear(32, 10))
    same_start(net)
    net.eval()                            # dropout off, so both frameworks train alike
    optimizer = torch.optim.SGD([
        {"params": [p for n, p in net.named_parameters() if n.endswith("weight")],
         "weight_decay": 1e-2},
        {"params": [p for n, p in net.named_parameters() if n.endswith("bias")]}], lr=0.3)
    loss = nn.CrossEntropyLoss(reduction="none")
    losses = []
    for step in range(12):
        xb, yb = X_train[step * 64:(step + 1) * 64], y_train[step * 64:(step + 1) * 64]
        l = loss(net(xb), yb)
        optimizer.zero_grad()
        l.mean().backward()
        optimizer.step()
        losses.append(l.mean().item())
    with torch.no_grad():
        acc = (net(X_test).argmax(dim=1) == y_test).float().mean().item()
    return checks, losses, acc, net.training, net[3].training


@program
def weight_decay_from_scratch_l2_penalty(torch, same_start):
    n_train, num_inputs = 20, 50
    rng = np.random.default_rng(21)
    X = torch.tensor(rng.standard_normal((n_train, num_inputs)).astype(np.float32))
    y = (X * 0.01).sum(dim=1, keepdim=True) + 0.05
    def init_params():
        w = torch.tensor(data(num_inputs, 1, seed=22), requires_grad=True)
        b = torch.zeros(1, requires_grad=True)
        return [w, b]

    def l2_penalty(w):
        return torch.sum(w.pow(2)) / 2

    losses = []
    for lambd in (0, 3):
        w, b = init_params()
        for epoch in range(20):
            l = ((torch.matmul(X, w) + b - y) ** 2 / 2).sum() / n_train + lambd * l2_penalty(w)
            l.backward()
            with torch.no_grad():
                w -= 0.01 * w.grad
                b -= 0.01 * b.grad
            w.grad.zero_()
            b.grad.zero_()
        losses.append([l.item(), torch.norm(w).item()])
    return losses


# ------------------------------------------------------------ d2l: convolutional networks


@program
def lenet_on_digits(torch, same_start):
    nn = torch.nn
    X_train, y_train, X_test, y_test = digits_split(torch)
    net = nn.Sequential(
        nn.Conv2d(1, 6, kernel_size=3, padding=1), nn.Sigmoid(),
        nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Conv2d(6, 16, kernel_size=3, padding=1), nn.Sigmoid(),
        nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Flatten(), nn.Linear(16 * 2 * 2, 32), nn.Sigmoid(), nn.Linear(32, 10))
    X = torch.zeros((1, 1, 8, 8), dtype=torch.float32)
    shapes = []
    for layer in net:
        X = layer(X)
        shapes.append((layer.__class__.__name__, tuple(X.shape)))

    def init_weights(m):
        if type(m) == nn.Linear or type(m) == nn.Conv2d:
            nn.init.xavier_uniform_(m.weight)

    net.apply(init_weights)
    same_start(net)
    images = X_train.reshape(-1, 1, 8, 8)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.9)
    loss = nn.CrossEntropyLoss()
    losses = []
    for step in range(6):
        xb, yb = images[step * 100:(step + 1) * 100], y_train[step * 100:(step + 1) * 100]
        optimizer.zero_grad()
        l = loss(net(xb), yb)
        l.backward()
        optimizer.step()
        losses.append(l.item())
    return shapes, losses


@program
def batch_norm_from_scratch_versus_nn_batchnorm(torch, same_start):
    nn = torch.nn

    def batch_norm(X, gamma, beta, moving_mean, moving_var, eps, momentum):
        if not torch.is_grad_enabled():
            X_hat = (X - moving_mean) / torch.sqrt(moving_var + eps)
        else:
            assert len(X.shape) in (2, 4)
            if len(X.shape) == 2:
                mean = X.mean(dim=0)
                var = ((X - mean) ** 2).mean(dim=0)
            else:
                mean = X.mean(dim=(0, 2, 3), keepdim=True)
                var = ((X - mean) ** 2).mean(dim=(0, 2, 3), keepdim=True)
            X_hat = (X - mean) / torch.sqrt(var + eps)
            moving_mean = (1.0 - momentum) * moving_mean + momentum * mean
            moving_var = (1.0 - momentum) * moving_var + momentum * var
        Y = gamma * X_hat + beta
        return Y, moving_mean.detach(), moving_var.detach()

    class BatchNorm(nn.Module):
        def __init__(self, num_features, num_dims):
            super().__init__()
            shape = (1, num_features) if num_dims == 2 else (1, num_features, 1, 1)
            self.gamma = nn.Parameter(torch.ones(shape))
            self.beta = nn.Parameter(torch.zeros(shape))
            self.moving_mean = torch.zeros(shape)
            self.moving_var = torch.ones(shape)

        def forward(self, X):
            if self.moving_mean.device != X.device:
                self.moving_mean = self.moving_mean.to(X.device)
                self.moving_var = self.moving_var.to(X.device)
            Y, self.moving_mean, self.moving_var = batch_norm(
                X, self.gamma, self.beta, self.moving_mean, self.moving_var,
                eps=1e-5, momentum=0.1)
            return Y

    x = torch.tensor(data(8, 3, 4, 4, seed=23, scale=2.0) + 1.0, requires_grad=True)
    g = torch.tensor(data(8, 3, 4, 4, seed=24))
    mine, builtin = BatchNorm(3, 4), nn.BatchNorm2d(3)
    outs = []
    for bn in (mine, builtin):
        y = bn(x)
        y.backward(g)
        outs += [y, x.grad.clone()]
        x.grad = None
    with torch.no_grad():
        mine_eval = mine(x)
    builtin.eval()
    with torch.no_grad():
        builtin_eval = builtin(x)
    return (outs, mine.moving_mean.reshape(-1), mine.moving_var.reshape(-1),
            builtin.running_mean, builtin.running_var, mine_eval, builtin_eval,
            sorted(dict(mine.named_parameters())), builtin.num_batches_tracked)


@program
def residual_network_on_digits(torch, same_start):
    nn, F = torch.nn, torch.nn.functional

    class Residual(nn.Module):
        def __init__(self, input_channels, num_channels, use_1x1conv=False, strides=1):
            super().__init__()
            self.conv1 = nn.Conv2d(input_channels, num_channels, kernel_size=3, padding=1,
                                   stride=strides)
            self.conv2 = nn.Conv2d(num_channels, num_channels, kernel_size=3, padding=1)
            self.conv3 = (nn.Conv2d(input_channels, num_channels, kernel_size=1,
                                    stride=strides) if use_1x1conv else None)
            self.bn1 = nn.BatchNorm2d(num_channels)
            self.bn2 = nn.BatchNorm2d(num_channels)

        def forward(self, X):
            Y = F.relu(self.bn1(self.conv1(X)))
            Y = self.bn2(self.conv2(Y))
            if self.conv3:
                X = self.conv3(X)
            Y += X
            return F.relu(Y)

    blk = Residual(3, 3)
    X = torch.zeros(4, 3, 6, 6)
    shape1 = tuple(blk(X).shape)
    shape2 = tuple(Residual(3, 6, use_1x1conv=True, strides=2)(X).shape)
    net = nn.Sequential(nn.Conv2d(1, 8, kernel_size=3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                        Residual(8, 8), Residual(8, 16, use_1x1conv=True, strides=2),
                        nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(), nn.Linear(16, 10))
    same_start(net)
    X_train, y_train, X_test, y_test = digits_split(torch)
    images = X_train.reshape(-1, 1, 8, 8)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    losses = []
    for step in range(6):
        xb, yb = images[step * 50:(step + 1) * 50], y_train[step * 50:(step + 1) * 50]
        l = F.cross_entropy(net(xb), yb)
        optimizer.zero_grad()
        l.backward()
        optimizer.step()
        losses.append(l.item())
    net.eval()
    with torch.no_grad():
        acc = (net(X_test.reshape(-1, 1, 8, 8)).argmax(1) == y_test).sum().item()
    return shape1, shape2, losses, acc, net[3].bn2.running_mean


# ------------------------------------------------------------ d2l: recurrent networks


def corpus_batches(torch, batch_size, num_steps, vocab, seed=25):
    """d2l's sequential partitioning: consecutive minibatches continue each other."""
    corpus = tokens(batch_size * num_steps * 6 + 1, vocab, seed=seed)
    corpus = (corpus + np.arange(len(corpus))) % vocab      # some learnable structure
    num_tokens = ((len(corpus) - 1) // batch_size) * batch_size
    Xs = torch.tensor(corpus[0:num_tokens]).reshape(batch_size, -1)
    Ys = torch.tensor(corpus[1:1 + num_tokens]).reshape(batch_size, -1)
    num_batches = Xs.shape[1] // num_steps
    for i in range(0, num_steps * num_batches, num_steps):
        yield Xs[:, i:i + num_steps], Ys[:, i:i + num_steps]


@program
def rnn_from_scratch_with_state_detach_and_clipping(torch, same_start):
    F = torch.nn.functional
    vocab_size, num_hiddens = 7, 16

    def get_params(vocab_size, num_hiddens):
        num_inputs = num_outputs = vocab_size

        def normal(shape, seed):
            return torch.tensor(data(*shape, seed=seed, scale=0.1))

        W_xh = normal((num_inputs, num_hiddens), 26)
        W_hh = normal((num_hiddens, num_hiddens), 27)
        b_h = torch.zeros(num_hiddens)
        W_hq = normal((num_hiddens, num_outputs), 28)
        b_q = torch.zeros(num_outputs)
        params = [W_xh, W_hh, b_h, W_hq, b_q]
        for param in params:
            param.requires_grad_(True)
        return params

    def init_rnn_state(batch_size, num_hiddens):
        return (torch.zeros((batch_size, num_hiddens)),)

    def rnn(inputs, state, params):
        W_xh, W_hh, b_h, W_hq, b_q = params
        H, = state
        outputs = []
        for X in inputs:
            H = torch.tanh(torch.mm(X, W_xh) + torch.mm(H, W_hh) + b_h)
            Y = torch.mm(H, W_hq) + b_q
            outputs.append(Y)
        return torch.cat(outputs, dim=0), (H,)

    def grad_clipping(params, theta):
        norm = torch.sqrt(sum(torch.sum((p.grad ** 2)) for p in params))
        if norm > theta:
            for param in params:
                param.grad[:] *= theta / norm

    params = get_params(vocab_size, num_hiddens)
    state, losses = None, []
    for X, Y in corpus_batches(torch, 4, 5, vocab_size):
        if state is None:
            state = init_rnn_state(X.shape[0], num_hiddens)
        else:
            for s in state:
                s.detach_()
        inputs = F.one_hot(X.T, vocab_size).type(torch.float32)
        y_hat, state = rnn(inputs, state, params)
        l = F.cross_entropy(y_hat, Y.T.reshape(-1)).mean()
        for p in params:
            p.grad = None
        l.backward()
        grad_clipping(params, 1)
        with torch.no_grad():
            for p in params:
                p -= 1.0 * p.grad
        losses.append(l.item())
    prefix, outputs = [1, 2], [1]
    state = init_rnn_state(1, num_hiddens)
    get_input = lambda: F.one_hot(torch.tensor([outputs[-1]]).reshape((1, 1)).T,
                                  vocab_size).float()
    for y in prefix[1:]:
        _, state = rnn(get_input(), state, params)
        outputs.append(y)
    for _ in range(6):
        y, state = rnn(get_input(), state, params)
        outputs.append(int(y.argmax(dim=1).reshape(1)))
    return losses, outputs, math.exp(losses[-1])       # perplexity


@program
def lstm_and_gru_concise_with_gradient_clipping(torch, same_start):
    nn, F = torch.nn, torch.nn.functional
    vocab_size = 6

    class RNNModel(nn.Module):
        def __init__(self, rnn_layer, vocab_size):
            super().__init__()
            self.rnn = rnn_layer
            self.vocab_size = vocab_size
            self.num_hiddens = self.rnn.hidden_size
            self.num_directions = 2 if self.rnn.bidirectional else 1
            self.linear = nn.Linear(self.num_hiddens * self.num_directions, self.vocab_size)

        def forward(self, inputs, state):
            X = F.one_hot(inputs.T.long(), self.vocab_size)
            X = X.to(torch.float32)
            Y, state = self.rnn(X, state)
            output = self.linear(Y.reshape((-1, Y.shape[-1])))
            return output, state

        def begin_state(self, batch_size=1):
            shape = (self.num_directions * self.rnn.num_layers, batch_size, self.num_hiddens)
            if not isinstance(self.rnn, nn.LSTM):
                return torch.zeros(shape)
            return (torch.zeros(shape), torch.zeros(shape))

    results = []
    for rnn_layer in (nn.LSTM(vocab_size, 12), nn.GRU(vocab_size, 12, bidirectional=True),
                      nn.RNN(vocab_size, 12, num_layers=2, nonlinearity="relu")):
        net = RNNModel(rnn_layer, vocab_size)
        same_start(net)
        updater = torch.optim.SGD(net.parameters(), lr=0.5)
        state, losses = None, []
        for X, Y in corpus_batches(torch, 3, 6, vocab_size, seed=29):
            if state is None:
                state = net.begin_state(batch_size=X.shape[0])
            elif isinstance(state, tuple):
                state = tuple(s.detach() for s in state)
            else:
                state.detach_()
            y_hat, state = net(X, state)
            l = nn.CrossEntropyLoss()(y_hat, Y.T.reshape(-1).long())
            updater.zero_grad()
            l.backward()
            norm = nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            nn.utils.clip_grad_value_(net.parameters(), 0.05)
            updater.step()
            losses += [l.item(), norm.item()]
        results.append(losses)
    return results


# ------------------------------------------------------------ d2l: attention mechanisms


def masked_softmax(torch, X, valid_lens):
    def _sequence_mask(X, valid_len, value=0):
        maxlen = X.size(1)
        mask = torch.arange((maxlen), dtype=torch.float32)[None, :] < valid_len[:, None]
        X[~mask] = value
        return X

    if valid_lens is None:
        return torch.nn.functional.softmax(X, dim=-1)
    shape = X.shape
    if valid_lens.dim() == 1:
        valid_lens = torch.repeat_interleave(valid_lens, shape[1])
    else:
        valid_lens = valid_lens.reshape(-1)
    X = _sequence_mask(X.reshape(-1, shape[-1]), valid_lens, value=-1e6)
    return torch.nn.functional.softmax(X.reshape(shape), dim=-1)


@program
def masked_softmax_with_valid_lengths(torch, same_start):
    X = torch.tensor(data(2, 2, 4, seed=30), requires_grad=True)
    a = masked_softmax(torch, X * 1, torch.tensor([2, 3]))
    b = masked_softmax(torch, X * 1, torch.tensor([[1, 3], [2, 4]]))
    g = torch.tensor(data(2, 2, 4, seed=31))
    (a * g + b).sum().backward()
    return a, b, X.grad, masked_softmax(torch, X.detach(), None)


def attention_classes(torch):
    """d2l's AdditiveAttention and DotProductAttention, built from the framework given."""
    nn = torch.nn

    class AdditiveAttention(nn.Module):
        def __init__(self, num_hiddens, dropout):
            super().__init__()
            self.W_k = nn.Linear(num_hiddens, num_hiddens, bias=False)
            self.W_q = nn.Linear(num_hiddens, num_hiddens, bias=False)
            self.w_v = nn.Linear(num_hiddens, 1, bias=False)
            self.dropout = nn.Dropout(dropout)

        def forward(self, queries, keys, values, valid_lens):
            queries, keys = self.W_q(queries), self.W_k(keys)
            features = queries.unsqueeze(2) + keys.unsqueeze(1)
            features = torch.tanh(features)
            scores = self.w_v(features).squeeze(-1)
            self.attention_weights = masked_softmax(torch, scores, valid_lens)
            return torch.bmm(self.dropout(self.attention_weights), values)

    class DotProductAttention(nn.Module):
        def __init__(self, dropout):
            super().__init__()
            self.dropout = nn.Dropout(dropout)

        def forward(self, queries, keys, values, valid_lens=None):
            d = queries.shape[-1]
            scores = torch.bmm(queries, keys.transpose(1, 2)) / math.sqrt(d)
            self.attention_weights = masked_softmax(torch, scores, valid_lens)
            return torch.bmm(self.dropout(self.attention_weights), values)

    return AdditiveAttention, DotProductAttention


@program
def seq2seq_with_additive_attention_and_masked_loss(torch, same_start):
    nn = torch.nn
    AdditiveAttention, _ = attention_classes(torch)
    vocab, embed, hidden, steps, pad, bos = 9, 8, 16, 6, 0, 1

    class Seq2SeqEncoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(vocab, embed)
            self.rnn = nn.GRU(embed, hidden, num_layers=2)

        def forward(self, X):
            embs = self.embedding(X.t().type(torch.int64))
            return self.rnn(embs)

    class AttentionDecoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.attention = AdditiveAttention(hidden, 0.0)
            self.embedding = nn.Embedding(vocab, embed)
            self.rnn = nn.GRU(embed + hidden, hidden, num_layers=2)
            self.dense = nn.Linear(hidden, vocab)

        def init_state(self, enc_outputs, enc_valid_lens):
            outputs, hidden_state = enc_outputs
            return (outputs.permute(1, 0, 2), hidden_state, enc_valid_lens)

        def forward(self, X, state):
            enc_outputs, hidden_state, enc_valid_lens = state
            X = self.embedding(X).permute(1, 0, 2)
            outputs = []
            for x in X:
                query = torch.unsqueeze(hidden_state[-1], dim=1)
                context = self.attention(query, enc_outputs, enc_outputs, enc_valid_lens)
                x = torch.cat((context, torch.unsqueeze(x, dim=1)), dim=-1)
                out, hidden_state = self.rnn(x.permute(1, 0, 2), hidden_state)
                outputs.append(out)
            outputs = self.dense(torch.cat(outputs, dim=0))
            return outputs.permute(1, 0, 2), [enc_outputs, hidden_state, enc_valid_lens]

    class EncoderDecoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder, self.decoder = Seq2SeqEncoder(), AttentionDecoder()

        def forward(self, enc_X, dec_X, valid_lens):
            enc_all_outputs = self.encoder(enc_X)
            dec_state = self.decoder.init_state(enc_all_outputs, valid_lens)
            return self.decoder(dec_X, dec_state)[0]

    class MaskedSoftmaxCELoss(nn.CrossEntropyLoss):
        def forward(self, pred, label, valid_len):
            weights = torch.ones_like(label)
            maxlen = weights.size(1)
            mask = torch.arange(maxlen)[None, :] < valid_len[:, None]
            weights = weights * mask
            self.reduction = "none"
            unweighted_loss = super().forward(pred.permute(0, 2, 1), label)
            return (unweighted_loss * weights).mean(dim=1)

    rng = np.random.default_rng(32)
    src = torch.tensor(rng.integers(2, vocab, (8, steps)))
    src_len = torch.tensor(rng.integers(2, steps + 1, 8))
    src = src.masked_fill(torch.arange(steps)[None, :] >= src_len[:, None], pad)
    tgt = torch.flip(src, dims=[1]).roll(1, 1)
    tgt_len = src_len
    net = EncoderDecoder()
    same_start(net)
    optimizer = torch.optim.Adam(net.parameters(), lr=5e-3)
    loss = MaskedSoftmaxCELoss()
    losses = []
    for epoch in range(6):
        bos_col = torch.tensor([bos] * tgt.shape[0]).reshape(-1, 1)
        dec_input = torch.cat([bos_col, tgt[:, :-1]], 1)
        Y_hat = net(src, dec_input, src_len)
        l = loss(Y_hat, tgt, tgt_len)
        optimizer.zero_grad()
        l.sum().backward()
        nn.utils.clip_grad_norm_(net.parameters(), 1)
        optimizer.step()
        losses.append(l.sum().item() / tgt_len.sum().item())
    net.eval()
    with torch.no_grad():
        enc = net.encoder(src[:2])
        state = net.decoder.init_state(enc, src_len[:2])
        dec_X, preds = torch.tensor([[bos], [bos]]), []
        for _ in range(4):
            Y, state = net.decoder(dec_X, state)
            dec_X = Y.argmax(dim=2)
            preds.append(dec_X.squeeze(dim=1).tolist())
    weights = net.decoder.attention.attention_weights
    return losses, preds, weights


@program
def positional_encoding_table(torch, same_start):
    nn = torch.nn

    class PositionalEncoding(nn.Module):
        def __init__(self, num_hiddens, dropout, max_len=1000):
            super().__init__()
            self.dropout = nn.Dropout(dropout)
            self.P = torch.zeros((1, max_len, num_hiddens))
            X = torch.arange(max_len, dtype=torch.float32).reshape(-1, 1) / torch.pow(
                10000, torch.arange(0, num_hiddens, 2, dtype=torch.float32) / num_hiddens)
            self.P[:, :, 0::2] = torch.sin(X)
            self.P[:, :, 1::2] = torch.cos(X)

        def forward(self, X):
            X = X + self.P[:, :X.shape[1], :].to(X.device)
            return self.dropout(X)

    pos = PositionalEncoding(8, 0.1, max_len=60)
    pos.eval()
    X = pos(torch.zeros((1, 60, 8)))
    P = pos.P[:, :X.shape[1], :]
    return X, P[0, :, 6:8], list(pos.state_dict())


@program
def multi_head_attention_from_scratch_matches_nn(torch, same_start):
    nn = torch.nn
    _, DotProductAttention = attention_classes(torch)

    def transpose_qkv(X, num_heads):
        X = X.reshape(X.shape[0], X.shape[1], num_heads, -1)
        X = X.permute(0, 2, 1, 3)
        return X.reshape(-1, X.shape[2], X.shape[3])

    def transpose_output(X, num_heads):
        X = X.reshape(-1, num_heads, X.shape[1], X.shape[2])
        X = X.permute(0, 2, 1, 3)
        return X.reshape(X.shape[0], X.shape[1], -1)

    class MultiHeadAttention(nn.Module):
        def __init__(self, num_hiddens, num_heads, dropout, bias=False):
            super().__init__()
            self.num_heads = num_heads
            self.attention = DotProductAttention(dropout)
            self.W_q = nn.Linear(num_hiddens, num_hiddens, bias=bias)
            self.W_k = nn.Linear(num_hiddens, num_hiddens, bias=bias)
            self.W_v = nn.Linear(num_hiddens, num_hiddens, bias=bias)
            self.W_o = nn.Linear(num_hiddens, num_hiddens, bias=bias)

        def forward(self, queries, keys, values, valid_lens):
            queries = transpose_qkv(self.W_q(queries), self.num_heads)
            keys = transpose_qkv(self.W_k(keys), self.num_heads)
            values = transpose_qkv(self.W_v(values), self.num_heads)
            if valid_lens is not None:
                valid_lens = torch.repeat_interleave(valid_lens, repeats=self.num_heads, dim=0)
            output = self.attention(queries, keys, values, valid_lens)
            return self.W_o(transpose_output(output, self.num_heads))

    def einsum_attention(m, q, k, v):
        b, n, d = q.shape
        h = m.num_heads
        Q = m.W_q(q).view(b, n, h, d // h).transpose(1, 2)
        K = m.W_k(k).view(b, k.shape[1], h, d // h).transpose(1, 2)
        V = m.W_v(v).view(b, v.shape[1], h, d // h).transpose(1, 2)
        scores = torch.einsum("bhqd,bhkd->bhqk", Q, K) / (d // h) ** 0.5
        out = torch.einsum("bhqk,bhkd->bhqd", scores.softmax(dim=-1), V)
        return m.W_o(out.transpose(1, 2).contiguous().view(b, n, d))

    num_hiddens, num_heads = 12, 3
    attention = MultiHeadAttention(num_hiddens, num_heads, 0.0)
    same_start(attention)
    attention.eval()
    X = torch.tensor(data(2, 4, num_hiddens, seed=33), requires_grad=True)
    Y = torch.tensor(data(2, 6, num_hiddens, seed=34))
    out = attention(X, Y, Y, torch.tensor([3, 2]))
    out.sum().backward()
    mine = attention(X, Y, Y, None)
    builtin = nn.MultiheadAttention(num_hiddens, num_heads, bias=False, batch_first=True)
    with torch.no_grad():
        builtin.in_proj_weight.copy_(torch.cat([attention.W_q.weight, attention.W_k.weight,
                                                attention.W_v.weight]))
        builtin.out_proj.weight.copy_(attention.W_o.weight)
        theirs, avg = builtin(X, Y, Y)
        einsum_out = einsum_attention(attention, X, Y, Y)
    return (out, X.grad, attention.W_q.weight.grad, (mine - theirs).abs().max().item() < 1e-5,
            (einsum_out - theirs).abs().max().item() < 1e-5, avg.shape, theirs)


@program
def tiny_transformer_decoder_block(torch, same_start):
    nn = torch.nn

    class PositionWiseFFN(nn.Module):
        def __init__(self, ffn_num_hiddens, ffn_num_outputs):
            super().__init__()
            self.dense1 = nn.Linear(ffn_num_outputs, ffn_num_hiddens)
            self.relu = nn.ReLU()
            self.dense2 = nn.Linear(ffn_num_hiddens, ffn_num_outputs)

        def forward(self, X):
            return self.dense2(self.relu(self.dense1(X)))

    class AddNorm(nn.Module):
        def __init__(self, norm_shape, dropout):
            super().__init__()
            self.dropout = nn.Dropout(dropout)
            self.ln = nn.LayerNorm(norm_shape)

        def forward(self, X, Y):
            return self.ln(self.dropout(Y) + X)

    class DecoderBlock(nn.Module):
        def __init__(self, d, heads):
            super().__init__()
            self.attention1 = nn.MultiheadAttention(d, heads, batch_first=True)
            self.addnorm1 = AddNorm(d, 0.0)
            self.attention2 = nn.MultiheadAttention(d, heads, batch_first=True)
            self.addnorm2 = AddNorm(d, 0.0)
            self.ffn = PositionWiseFFN(2 * d, d)
            self.addnorm3 = AddNorm(d, 0.0)

        def forward(self, X, enc_outputs, enc_pad_mask):
            n = X.shape[1]
            causal = torch.triu(torch.full((n, n), float("-inf")), diagonal=1)
            X2, _ = self.attention1(X, X, X, attn_mask=causal)
            Y = self.addnorm1(X, X2)
            Y2, w = self.attention2(Y, enc_outputs, enc_outputs,
                                    key_padding_mask=enc_pad_mask)
            Z = self.addnorm2(Y, Y2)
            return self.addnorm3(Z, self.ffn(Z)), w

    vocab, d = 8, 16
    model = nn.ModuleDict({"embed": nn.Embedding(vocab, d), "block": DecoderBlock(d, 4),
                           "out": nn.Linear(d, vocab)})
    same_start(model)
    enc = torch.tensor(data(3, 5, d, seed=35))
    pad_mask = torch.tensor([[False] * 5, [False] * 3 + [True] * 2, [False] * 4 + [True]])
    seqs = torch.tensor(tokens(3 * 7, vocab, seed=36)).reshape(3, 7)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2, betas=(0.9, 0.98), eps=1e-9)
    losses = []
    for step in range(6):
        h, weights = model["block"](model["embed"](seqs[:, :-1]) * d ** 0.5, enc, pad_mask)
        logits = model["out"](h)
        loss = nn.functional.cross_entropy(logits.transpose(1, 2), seqs[:, 1:])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses, weights[1, :, 3:]


@program
def embedding_bag_of_words_with_padding_idx_and_masked_mean(torch, same_start):
    nn = torch.nn
    vocab, pad = 20, 0

    class BagOfEmbeddings(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(vocab, 8, padding_idx=pad)
            self.fc = nn.Linear(8, 2)

        def forward(self, text):
            mask = (text != pad).float()
            embedded = self.embedding(text)
            pooled = (embedded * mask.unsqueeze(-1)).sum(dim=1) / mask.sum(1, keepdim=True)
            return self.fc(pooled)

    rng = np.random.default_rng(37)
    text = rng.integers(1, vocab, (32, 9))
    lengths = rng.integers(2, 10, 32)
    text[np.arange(9)[None, :] >= lengths[:, None]] = pad
    labels = torch.tensor((text[:, 0] > vocab // 2).astype(np.int64))
    text = torch.tensor(text)
    model = BagOfEmbeddings()
    same_start(model)
    optimizer = torch.optim.Adagrad(model.parameters(), lr=0.3)
    losses = []
    for step in range(10):
        loss = nn.functional.cross_entropy(model(text), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    emb = model.embedding
    fresh = nn.Embedding(5, 3, padding_idx=2)
    pretrained = nn.Embedding.from_pretrained(torch.tensor(data(4, 3, seed=38)), freeze=True)
    return (losses, emb.weight[pad], emb.weight.grad[pad], fresh.weight[2], repr(emb),
            pretrained(torch.tensor([[1, 3]])), pretrained.weight.requires_grad)


# ------------------------------------------------------- training-loop techniques


@program
def schedulers_and_param_groups_with_different_lr(torch, same_start):
    nn = torch.nn
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
    same_start(model)
    x = torch.tensor(data(32, 4, seed=39))
    y = x[:, :1] * 2 - x[:, 1:2]
    results = []
    schedules = [
        lambda opt: torch.optim.lr_scheduler.MultiStepLR(opt, milestones=[2, 4], gamma=0.5),
        lambda opt: torch.optim.lr_scheduler.LambdaLR(opt, lambda epoch: 0.9 ** epoch),
        lambda opt: torch.optim.lr_scheduler.ExponentialLR(opt, gamma=0.8),
        lambda opt: torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=[0.05, 0.1],
                                                        total_steps=6),
    ]
    for make_scheduler in schedules:
        same_start(model)
        optimizer = torch.optim.SGD([{"params": model[0].parameters()},
                                     {"params": model[2].parameters(), "lr": 0.05}],
                                    lr=0.01, momentum=0.9)
        scheduler = make_scheduler(optimizer)
        for step in range(6):
            loss = nn.functional.mse_loss(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
            results.append([loss.item()] + [g["lr"] for g in optimizer.param_groups])
    same_start(model)
    optimizer = torch.optim.Adam(model[0].parameters(), lr=0.01)
    optimizer.add_param_group({"params": model[2].parameters(), "lr": 0.001})
    plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="min", factor=0.5,
                                                         patience=1)
    for step in range(6):
        loss = nn.functional.mse_loss(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        plateau.step(1.0)                 # a stalled metric: lr must drop
        results.append([loss.item()] + [g["lr"] for g in optimizer.param_groups])
    group = optimizer.param_groups[1]
    return (results, len(optimizer.param_groups),
            [group[k] for k in ("betas", "eps", "weight_decay", "amsgrad", "maximize")])


@program
def gradient_accumulation_matches_full_batch(torch, same_start):
    nn = torch.nn
    x = torch.tensor(data(64, 5, seed=40))
    y = torch.tensor(tokens(64, 3, seed=41))
    results = []
    for accumulation_steps in (1, 4):
        model = nn.Sequential(nn.Linear(5, 16), nn.Tanh(), nn.Linear(16, 3))
        same_start(model)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.2)
        losses = []
        for epoch in range(4):
            optimizer.zero_grad()
            for i, (xb, yb) in enumerate(zip(x.chunk(accumulation_steps),
                                             y.chunk(accumulation_steps))):
                loss = nn.functional.cross_entropy(model(xb), yb) / accumulation_steps
                loss.backward()
                losses.append(loss.item())
                if (i + 1) % accumulation_steps == 0:
                    optimizer.step()
                    optimizer.zero_grad(set_to_none=False)
        results += [losses, model[0].weight.detach().clone()]
    return results, (results[1] - results[3]).abs().max().item() < 1e-5


@program
def freezing_a_pretrained_backbone(torch, same_start):
    nn = torch.nn
    X_train, y_train, _, _ = digits_split(torch)
    model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 16), nn.ReLU(),
                          nn.Linear(16, 10))
    same_start(model)
    backbone = model[:4]
    backbone.requires_grad_(False)
    frozen_before = [p.clone() for p in backbone.parameters()]
    optimizer = torch.optim.SGD(filter(lambda p: p.requires_grad, model.parameters()), lr=0.2)
    losses = []
    for step in range(8):
        xb, yb = X_train[step * 64:(step + 1) * 64], y_train[step * 64:(step + 1) * 64]
        loss = nn.functional.cross_entropy(model(xb), yb)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    unchanged = all(torch.equal(a, b) for a, b in zip(frozen_before, backbone.parameters()))
    grads = [p.grad is None for p in model.parameters()]
    model[2].weight.requires_grad = True        # unfreeze one layer and fine-tune it
    optimizer.add_param_group({"params": [model[2].weight], "lr": 0.01})
    loss = nn.functional.cross_entropy(model(X_train[:64]), y_train[:64])
    loss.backward()
    optimizer.step()
    return (losses, unchanged, grads, type(backbone).__name__, len(backbone),
            model[2].weight.grad.abs().sum().item(), model[2].weight[:2, :4])


@program
def model_apply_with_init_functions(torch, same_start):
    nn = torch.nn

    def init_constant(m):
        if isinstance(m, nn.Linear):
            nn.init.constant_(m.weight, 0.05)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.LayerNorm):
            nn.init.ones_(m.weight)

    def init_xavier(m):
        if type(m) == nn.Linear:
            nn.init.xavier_uniform_(m.weight, gain=nn.init.calculate_gain("tanh"))

    net = nn.Sequential(nn.Linear(30, 40), nn.Tanh(), nn.LayerNorm(40), nn.Linear(40, 20))
    returned = net.apply(init_constant)
    constants = [net[0].weight[:2, :3].clone(), net[0].bias[:3].clone(), returned is net]
    net.apply(init_xavier)
    bound = nn.init.calculate_gain("tanh") * (6 / (30 + 40)) ** 0.5
    stats = [bool(net[0].weight.abs().max() <= bound),
             bool(net[0].weight.abs().max() > 0.8 * bound)]
    eye = nn.init.eye_(torch.empty(3, 4))
    conv = nn.Conv2d(2, 4, 3)
    nn.init.kaiming_normal_(conv.weight, mode="fan_out", nonlinearity="relu")
    std = conv.weight.detach().std().item()
    stats.append(0.5 * (2 / 36) ** 0.5 < std < 1.5 * (2 / 36) ** 0.5)
    names = []
    net.apply(lambda m: names.append(type(m).__name__))
    same_start(net)
    with torch.no_grad():
        out = net(torch.tensor(data(4, 30, seed=42)))
    return constants, stats, eye, names, out


@program
def early_stopping_with_deepcopy_of_best_model(torch, same_start):
    import copy
    nn = torch.nn
    X_train, y_train, X_test, y_test = digits_split(torch)
    X_val, y_val = X_test[:200], y_test[:200]
    # no bias before BatchNorm: its gradient is rounding noise, which Adam would amplify
    model = nn.Sequential(nn.Linear(64, 24, bias=False), nn.BatchNorm1d(24), nn.ReLU(),
                          nn.Linear(24, 10))
    same_start(model)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    best_loss, best_state, best_model, patience, bad, history = float("inf"), None, None, 2, 0, []
    for epoch in range(10):
        model.train()
        for step in range(3):
            xb = X_train[step * 100:(step + 1) * 100]
            loss = nn.functional.cross_entropy(model(xb), y_train[step * 100:(step + 1) * 100])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            val_loss = nn.functional.cross_entropy(model(X_val), y_val).item()
        history.append(val_loss)
        if val_loss < best_loss - 0.02:
            best_loss, bad = val_loss, 0
            best_state = copy.deepcopy(model.state_dict())
            best_model = copy.deepcopy(model)
        else:
            bad += 1
            if bad >= patience:
                break
    model.load_state_dict(best_state)
    with torch.no_grad():
        restored = nn.functional.cross_entropy(model(X_val), y_val).item()
        copied = nn.functional.cross_entropy(best_model(X_val), y_val).item()
    independent = best_model[0].weight is not model[0].weight
    return history, restored, copied, best_loss, independent, best_model.training


@program
def saliency_with_autograd_grad_and_no_grad_eval(torch, same_start):
    nn = torch.nn
    X_train, y_train, X_test, y_test = digits_split(torch)
    model = nn.Sequential(nn.Linear(64, 32), nn.SiLU(), nn.Linear(32, 10))
    same_start(model)
    optimizer = torch.optim.RMSprop(model.parameters(), lr=1e-2, alpha=0.9)
    for step in range(8):
        xb, yb = X_train[step * 128:(step + 1) * 128], y_train[step * 128:(step + 1) * 128]
        loss = nn.functional.cross_entropy(model(xb), yb)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    images = X_test[:4].clone().requires_grad_(True)
    scores = model(images)
    top = scores.gather(1, scores.argmax(dim=1, keepdim=True)).sum()
    (saliency,) = torch.autograd.grad(top, images)
    with torch.no_grad():
        probs = nn.functional.softmax(model(X_test), dim=1)
        confidence, predicted = probs.max(dim=1)
        correct = (predicted == y_test)
        per_class = [correct[y_test == c].float().mean().item() for c in range(10)]
    return (saliency.abs().reshape(4, 8, 8).sum(dim=1), confidence[:5], per_class,
            torch.topk(probs[0], 3).indices.tolist(), scores.requires_grad)


@program
def logistic_regression_with_pos_weight_and_thresholds(torch, same_start):
    nn = torch.nn
    rng = np.random.default_rng(43)
    X = torch.tensor(rng.standard_normal((200, 3)).astype(np.float32))
    y = ((X[:, 0] - 0.5 * X[:, 1] > 0.8)).float().unsqueeze(1)
    model = nn.Linear(3, 1)
    same_start(model)
    loss_fn = nn.BCEWithLogitsLoss(pos_weight=torch.tensor([3.0]))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5, momentum=0.5, dampening=0.1)
    losses = []
    for step in range(15):
        loss = loss_fn(model(X), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    with torch.no_grad():
        p = torch.sigmoid(model(X))
        pred = (p > 0.5).float()
        tp = (pred * y).sum().item()
        precision, recall = tp / pred.sum().item(), tp / y.sum().item()
        bce = nn.BCELoss(reduction="sum")(p, y).item()
    return losses, precision, recall, bce, model.weight


@program
def text_cnn_with_conv1d_and_max_over_time(torch, same_start):
    nn, F = torch.nn, torch.nn.functional

    class TextCNN(nn.Module):
        def __init__(self, vocab_size, embed_size, kernel_sizes, num_channels):
            super().__init__()
            self.embedding = nn.Embedding(vocab_size, embed_size)
            self.dropout = nn.Dropout(0.5)
            self.decoder = nn.Linear(sum(num_channels), 2)
            self.pool = nn.AdaptiveMaxPool1d(1)
            self.relu = nn.ReLU()
            self.convs = nn.ModuleList()
            for c, k in zip(num_channels, kernel_sizes):
                self.convs.append(nn.Conv1d(embed_size, c, k))

        def forward(self, inputs):
            embeddings = self.embedding(inputs).permute(0, 2, 1)
            encoding = torch.cat([torch.squeeze(self.relu(self.pool(conv(embeddings))), dim=-1)
                                  for conv in self.convs], dim=1)
            return self.decoder(self.dropout(encoding))

    net = TextCNN(15, 6, [2, 3], [4, 5])
    same_start(net)
    net.eval()
    text = torch.tensor(tokens(16 * 10, 15, seed=44)).reshape(16, 10)
    labels = (text == 3).any(dim=1).long()
    optimizer = torch.optim.Adam(net.parameters(), lr=0.02)
    losses = []
    for step in range(8):
        loss = F.cross_entropy(net(text), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    alt = F.max_pool1d(net.convs[0](net.embedding(text).permute(0, 2, 1)), kernel_size=9)
    return losses, alt.squeeze(-1)[:3]


# ------------------------------------ checkpoints, losses, hooks, generative models, layers


@program
def resume_training_from_model_and_optimizer_checkpoint(torch, same_start):
    nn = torch.nn
    x = torch.tensor(data(48, 6, seed=45))
    y = torch.tensor(tokens(48, 4, seed=46))

    def make():
        model = nn.Sequential(nn.Linear(6, 12), nn.ReLU(), nn.Linear(12, 4))
        optimizer = torch.optim.Adam(model.parameters(), lr=0.02, amsgrad=True,
                                     weight_decay=1e-3)
        scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
        return model, optimizer, scheduler

    def train(model, optimizer, scheduler, steps):
        losses = []
        for _ in range(steps):
            loss = nn.functional.cross_entropy(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
            losses.append(loss.item())
        return losses

    model, optimizer, scheduler = make()
    same_start(model)
    first = train(model, optimizer, scheduler, 3)
    buffer = io.BytesIO()
    torch.save({"epoch": 3, "model_state_dict": model.state_dict(),
                "optimizer_state_dict": optimizer.state_dict(),
                "scheduler": scheduler.state_dict()}, buffer)
    straight = train(model, optimizer, scheduler, 3)
    buffer.seek(0)
    checkpoint = torch.load(buffer)
    model2, optimizer2, scheduler2 = make()
    model2.load_state_dict(checkpoint["model_state_dict"])
    optimizer2.load_state_dict(checkpoint["optimizer_state_dict"])
    scheduler2.load_state_dict(checkpoint["scheduler"])
    resumed = train(model2, optimizer2, scheduler2, 3)
    state = optimizer2.state_dict()["state"][0]
    return (first, straight, resumed, checkpoint["epoch"], sorted(state),
            state["exp_avg_sq"], state["max_exp_avg_sq"], scheduler2.get_last_lr())


@program
def losses_with_class_weights_ignore_index_and_distillation(torch, same_start):
    nn, F = torch.nn, torch.nn.functional
    logits = torch.tensor(data(6, 5, 4, seed=47), requires_grad=True)
    target = torch.tensor(tokens(6 * 4, 5, seed=48)).reshape(6, 4)
    target[0, 2] = target[3, 1] = -100
    weight = torch.tensor([1.0, 2.0, 0.5, 1.0, 3.0])
    out = []
    for loss in (nn.CrossEntropyLoss(weight=weight),
                 nn.CrossEntropyLoss(ignore_index=-100, reduction="sum"),
                 nn.CrossEntropyLoss(weight=weight, label_smoothing=0.2)):
        l = loss(logits, target)
        grad, = torch.autograd.grad(l, logits)
        out += [l.item(), grad]
    nll = nn.NLLLoss(weight=weight, ignore_index=1)(F.log_softmax(logits, dim=1),
                                                    target.clamp(min=0))
    teacher = torch.tensor(data(6, 5, seed=49))
    student = logits[:, :, 0]
    T = 2.0
    kd = nn.KLDivLoss(reduction="batchmean")(F.log_softmax(student / T, dim=1),
                                              F.softmax(teacher / T, dim=1)) * T * T
    kd_log = F.kl_div(F.log_softmax(student, -1), F.log_softmax(teacher, -1),
                      reduction="sum", log_target=True)
    probs = torch.sigmoid(logits[:, 0])
    soft = torch.tensor(np.random.default_rng(50).random((6, 4)).astype(np.float32))
    regression = [F.smooth_l1_loss(logits[:, 1], soft, beta=0.5).item(),
                  F.huber_loss(logits[:, 1], soft, delta=0.3).item(),
                  F.l1_loss(logits[:, 2], soft, reduction="none"),
                  F.binary_cross_entropy(probs, soft, weight=soft + 1).item()]
    return out, nll.item(), kd.item(), kd_log.item(), regression


@program
def weight_tying_and_shared_parameters(torch, same_start):
    nn = torch.nn

    class TiedLM(nn.Module):
        def __init__(self, vocab, dim):
            super().__init__()
            self.encoder = nn.Embedding(vocab, dim)
            self.hidden = nn.Linear(dim, dim)
            self.decoder = nn.Linear(dim, vocab)
            self.decoder.weight = self.encoder.weight

        def forward(self, x):
            return self.decoder(torch.tanh(self.hidden(self.encoder(x))))

    model = TiedLM(11, 6)
    same_start(model)
    seq = torch.tensor(tokens(40, 11, seed=51)).reshape(4, 10)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    losses = []
    for step in range(6):
        logits = model(seq[:, :-1])
        loss = nn.functional.cross_entropy(logits.reshape(-1, 11), seq[:, 1:].reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    shared = nn.Linear(3, 3)
    twice = nn.Sequential(shared, nn.ReLU(), shared)
    return (losses, len(list(model.parameters())), [n for n, _ in model.named_parameters()],
            list(model.state_dict()), model.decoder.weight is model.encoder.weight,
            len(list(twice.parameters())), list(twice.state_dict()),
            model.encoder.weight[:2])


@program
def forward_hooks_for_feature_extraction_and_tensor_hooks(torch, same_start):
    nn = torch.nn
    model = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 8), nn.Tanh(),
                          nn.Linear(8, 2))
    same_start(model)
    features = {}

    def get_activation(name):
        def hook(module, input, output):
            features[name] = output.detach()
        return hook

    handles = [model[1].register_forward_hook(get_activation("relu")),
               model[3].register_forward_hook(get_activation("tanh"))]
    x = torch.tensor(data(4, 5, seed=52), requires_grad=True)
    out = model(x)
    seen = []
    h = model[2](model[1](model[0](x)))
    h.register_hook(lambda grad: seen.append(grad.clone()))
    x.register_hook(lambda grad: grad * 0.5)
    model[4](torch.tanh(h)).sum().backward()
    for handle in handles:
        handle.remove()
    features_after = len(features)
    model(x)
    pre = model.register_forward_pre_hook(lambda module, args: (args[0] * 2,))
    doubled = model(x)
    pre.remove()
    return (out, features["relu"], features["tanh"], seen[0], x.grad, features_after,
            doubled)


@program
def vae_with_reparameterization_from_given_noise(torch, same_start):
    nn, F = torch.nn, torch.nn.functional
    X_train, _, _, _ = digits_split(torch)

    class VAE(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(64, 32)
            self.fc21, self.fc22 = nn.Linear(32, 4), nn.Linear(32, 4)
            self.fc3 = nn.Linear(4, 32)
            self.fc4 = nn.Linear(32, 64)

        def encode(self, x):
            h1 = F.relu(self.fc1(x))
            return self.fc21(h1), self.fc22(h1)

        def reparameterize(self, mu, logvar, eps):
            std = torch.exp(0.5 * logvar)
            return mu + eps * std

        def decode(self, z):
            return torch.sigmoid(self.fc4(F.relu(self.fc3(z))))

        def forward(self, x, eps):
            mu, logvar = self.encode(x.view(-1, 64))
            z = self.reparameterize(mu, logvar, eps)
            return self.decode(z), mu, logvar

    def loss_function(recon_x, x, mu, logvar):
        BCE = F.binary_cross_entropy(recon_x, x.view(-1, 64), reduction="sum")
        KLD = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
        return BCE + KLD

    model = VAE()
    same_start(model)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    losses = []
    for step in range(8):
        xb = X_train[step * 32:(step + 1) * 32]
        eps = torch.tensor(data(32, 4, seed=100 + step))
        recon, mu, logvar = model(xb, eps)
        loss = loss_function(recon, xb, mu, logvar)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item() / len(xb))
    with torch.no_grad():
        sample = model.decode(torch.tensor(data(2, 4, seed=53)))
    return losses, sample[:, :8]


@program
def tiny_gan_with_two_optimizers_and_detach(torch, same_start):
    nn = torch.nn
    G = nn.Sequential(nn.Linear(2, 16), nn.LeakyReLU(0.2), nn.Linear(16, 2))
    D = nn.Sequential(nn.Linear(2, 16), nn.LeakyReLU(0.2), nn.Linear(16, 1), nn.Sigmoid())
    same_start(G)
    same_start(D)
    criterion = nn.BCELoss()
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-3, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-3, betas=(0.5, 0.999))
    real_label, fake_label = 1.0, 0.0
    history = []
    for step in range(8):
        real = torch.tensor(data(16, 2, seed=200 + step) * 0.5 + 2.0)
        noise = torch.tensor(data(16, 2, seed=300 + step))
        D.zero_grad()
        label = torch.full((16,), real_label, dtype=torch.float)
        errD_real = criterion(D(real).view(-1), label)
        errD_real.backward()
        fake = G(noise)
        label.fill_(fake_label)
        errD_fake = criterion(D(fake.detach()).view(-1), label)
        errD_fake.backward()
        opt_d.step()
        G.zero_grad()
        label.fill_(real_label)
        errG = criterion(D(fake).view(-1), label)
        errG.backward()
        opt_g.step()
        history.append([(errD_real + errD_fake).item(), errG.item()])
    return history, G[0].weight.grad, D[0].weight


@program
def skip_gram_with_negative_sampling(torch, same_start):
    nn, F = torch.nn, torch.nn.functional
    vocab, dim = 30, 8

    class SkipGram(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed_v = nn.Embedding(vocab, dim)
            self.embed_u = nn.Embedding(vocab, dim)

        def forward(self, center, contexts_and_negatives):
            v = self.embed_v(center)
            u = self.embed_u(contexts_and_negatives)
            return torch.bmm(v, u.permute(0, 2, 1))

    rng = np.random.default_rng(54)
    center = torch.tensor(rng.integers(0, vocab, (16, 1)))
    ctx_neg = torch.tensor(rng.integers(0, vocab, (16, 6)))
    label = torch.tensor(np.tile([1, 1, 0, 0, 0, 0], (16, 1)).astype(np.float32))
    mask = torch.tensor((rng.random((16, 6)) > 0.1).astype(np.float32))
    net = SkipGram()
    same_start(net)
    optimizer = torch.optim.Adam(net.parameters(), lr=0.01)
    losses = []
    for step in range(8):
        pred = net(center, ctx_neg)
        l = F.binary_cross_entropy_with_logits(pred.reshape(label.shape).float(), label,
                                               weight=mask, reduction="none")
        l = l.mean(dim=1) * mask.shape[1] / mask.sum(dim=1)
        optimizer.zero_grad()
        l.sum().backward()
        optimizer.step()
        losses.append(l.sum().item())
    W = net.embed_v.weight.detach()
    x = W[3]
    cos = torch.mv(W, x) / torch.sqrt(torch.sum(W * W, dim=1) * torch.sum(x * x) + 1e-9)
    topk = torch.topk(cos, k=4)[1].tolist()
    return losses, topk


@program
def float64_training_and_dtype_conversions(torch, same_start):
    nn = torch.nn
    model = nn.Sequential(nn.Linear(3, 5), nn.Softplus(), nn.Linear(5, 1))
    same_start(model)
    model = model.double()
    x = torch.tensor(data(20, 3, seed=55)).double()
    y = (x ** 2).sum(dim=1, keepdim=True)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True,
                                weight_decay=1e-3)
    losses = []
    for step in range(10):
        loss = nn.functional.mse_loss(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    back = model.to(torch.float32)
    ints = torch.arange(6).view(2, 3)
    dtypes = [back(x.float()).dtype, (ints / 2).dtype, (ints * 1.5).dtype,
              torch.tensor([1, 2]).dtype, torch.tensor([1.0, 2]).dtype, (ints > 2).dtype,
              torch.tensor(True).dtype, (ints + 1.0).dtype, ints.sum().dtype]
    return (losses, model[0].weight.dtype == torch.float32, [str(d).split(".")[-1] for d in dtypes],
            (ints // 2), ints.float().mean().item(), (ints > 2).sum().item(), model(x.float()))


@program
def sequence_classifier_lstm_batch_first_with_padding_ignore(torch, same_start):
    nn = torch.nn
    vocab, pad = 12, 0

    class Tagger(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(vocab, 6, padding_idx=pad)
            self.lstm = nn.LSTM(6, 8, num_layers=2, batch_first=True, bidirectional=True)
            self.fc = nn.Linear(16, 3)

        def forward(self, x):
            out, (h, c) = self.lstm(self.emb(x))
            return self.fc(out), h, c

    rng = np.random.default_rng(56)
    x = rng.integers(1, vocab, (5, 7))
    lengths = rng.integers(2, 8, 5)
    x[np.arange(7)[None, :] >= lengths[:, None]] = pad
    tags = (x % 3).astype(np.int64)
    tags[x == pad] = -100
    x, tags = torch.tensor(x), torch.tensor(tags)
    model = Tagger()
    same_start(model)
    optimizer = torch.optim.RMSprop(model.parameters(), lr=5e-3, momentum=0.5, centered=True)
    losses = []
    for step in range(6):
        logits, h, c = model(x)
        loss = nn.functional.cross_entropy(logits.view(-1, 3), tags.view(-1), ignore_index=-100)
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), max_norm=0.5, norm_type=2.0)
        optimizer.step()
        losses.append(loss.item())
    pred = logits.argmax(-1)
    valid = tags != -100
    acc = (pred[valid] == tags[valid]).float().mean().item()
    return losses, h.shape, c[:, 0], acc


@program
def lstm_cell_and_gru_cell_manual_unroll(torch, same_start):
    nn = torch.nn
    cells = nn.ModuleDict({"lstm": nn.LSTMCell(4, 6), "gru": nn.GRUCell(4, 6),
                           "rnn": nn.RNNCell(4, 6, nonlinearity="tanh"),
                           "head": nn.Linear(6, 1)})
    same_start(cells)
    xs = torch.tensor(data(5, 3, 4, seed=57))
    target = torch.tensor(data(3, 1, seed=58))
    optimizer = torch.optim.Adagrad(cells.parameters(), lr=0.1, lr_decay=0.01)
    losses = []
    for step in range(5):
        hx, cx = torch.zeros(3, 6), torch.zeros(3, 6)
        hg, hr = torch.zeros(3, 6), None
        for x in xs:
            hx, cx = cells["lstm"](x, (hx, cx))
            hg = cells["gru"](x, hg)
            hr = cells["rnn"](x, hr)
        loss = ((cells["head"](hx + hg + hr) - target) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    unbatched = cells["gru"](xs[0, 0])
    return losses, unbatched, cx


@program
def parameter_list_and_dict_custom_layers(torch, same_start):
    nn = torch.nn

    class MyLinear(nn.Module):
        def __init__(self, in_units, units):
            super().__init__()
            self.weight = nn.Parameter(torch.ones(in_units, units) * 0.1)
            self.bias = nn.Parameter(torch.zeros(units))

        def forward(self, X):
            return torch.relu(torch.matmul(X, self.weight)
                              + self.bias)

    class Mixture(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = nn.ParameterList([nn.Parameter(torch.full((4, 4), 0.1 * i))
                                            for i in range(1, 4)])
            self.scales = nn.ParameterDict({"a": nn.Parameter(torch.tensor(0.5)),
                                            "b": nn.Parameter(torch.tensor(-0.25))})
            self.dense = MyLinear(4, 3)

        def forward(self, x):
            for i, p in enumerate(self.layers):
                x = torch.tanh(x @ p) * self.scales["a"] + x * self.scales["b"]
            return self.dense(x)

    net = Mixture()
    same_start(net)
    x = torch.tensor(data(6, 4, seed=59))
    optimizer = torch.optim.AdamW(net.parameters(), lr=0.05, weight_decay=0.1)
    losses = []
    for step in range(6):
        loss = net(x).pow(2).mean() - net(x).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    text = str(net).replace("minigrad.", "torch.")     # the module's name is in the repr
    return (losses, list(net.state_dict()), text, len(net.layers), net.scales["b"],
            [tuple(p.shape) for p in net.parameters()])


@program
def conv_variants_groups_dilation_pooling(torch, same_start):
    nn, F = torch.nn, torch.nn.functional
    net = nn.Sequential(
        nn.Conv2d(2, 4, kernel_size=3, padding=2, dilation=2),
        nn.GroupNorm(2, 4), nn.ReLU6(),
        nn.Conv2d(4, 4, kernel_size=3, groups=2, stride=(1, 2), padding=(1, 0)),
        nn.MaxPool2d(kernel_size=2, stride=1, padding=1),
        nn.Conv2d(4, 6, kernel_size=1, bias=False), nn.ELU(),
        nn.AvgPool2d(2, ceil_mode=False), nn.Flatten())
    same_start(net)
    x = torch.tensor(data(3, 2, 9, 8, seed=60), requires_grad=True)
    out = net(x)
    g = torch.tensor(data(*out.shape, seed=61))
    out.backward(g)
    one_d = nn.Sequential(nn.Conv1d(3, 5, 3, padding="same"), nn.MaxPool1d(2),
                          nn.AvgPool1d(2), nn.AdaptiveAvgPool1d(2))
    same_start(one_d)
    seq = torch.tensor(data(2, 3, 11, seed=62))
    functional = F.max_pool2d(x, kernel_size=3, stride=2)
    return (out, x.grad, net[0].weight.grad, net[3].weight.grad, one_d(seq), functional,
            F.adaptive_max_pool2d(x, (2, 3)), F.avg_pool2d(x, 2, padding=1))


@program
def transformer_encoder_with_key_padding_mask(torch, same_start):
    nn = torch.nn
    layer = nn.TransformerEncoderLayer(d_model=8, nhead=2, dim_feedforward=16, dropout=0.0,
                                       activation="gelu", batch_first=True)
    encoder = nn.TransformerEncoder(layer, num_layers=2, enable_nested_tensor=False)
    same_start(encoder)
    x = torch.tensor(data(3, 5, 8, seed=63), requires_grad=True)
    pad = torch.tensor([[False] * 5, [False] * 3 + [True] * 2, [False] * 4 + [True]])
    out = encoder(x, src_key_padding_mask=pad)
    (out * torch.tensor(data(3, 5, 8, seed=64))).sum().backward()
    encoder.eval()
    with torch.no_grad():
        evaluated = encoder(x, src_key_padding_mask=pad)
    return out, x.grad, evaluated[1, :3]


@program
def data_utilities_random_split_subset_and_samplers(torch, same_start):
    tud = torch.utils.data
    X = torch.arange(40, dtype=torch.float32).reshape(20, 2)
    y = torch.arange(20)
    dataset = tud.TensorDataset(X, y)
    train, val = tud.random_split(dataset, [15, 5], generator=torch.Generator().manual_seed(0))
    fractions = tud.random_split(dataset, [0.5, 0.3, 0.2])
    subset = tud.Subset(dataset, [0, 5, 7])
    joined = tud.ConcatDataset([subset, tud.Subset(dataset, [1])])
    shuffled = [int(b) for _, yb in tud.DataLoader(dataset, batch_size=6, shuffle=True)
                for b in yb]
    batches = list(tud.BatchSampler(tud.SequentialSampler(range(7)), batch_size=3,
                                    drop_last=False))

    class EvenSampler(tud.Sampler):
        def __init__(self, n):
            self.n = n

        def __iter__(self):
            return iter(range(0, self.n, 2))

        def __len__(self):
            return (self.n + 1) // 2

    evens = [yb.tolist() for _, yb in tud.DataLoader(dataset, batch_size=4,
                                                     sampler=EvenSampler(20))]
    by_batch_sampler = [yb.tolist() for _, yb in tud.DataLoader(dataset,
                                                                batch_sampler=batches)]
    return (len(train), len(val), sorted(train.indices + val.indices) == list(range(20)),
            [len(f) for f in fractions], subset[1], len(joined), joined[3],
            sorted(shuffled) == list(range(20)), batches, evens, by_batch_sampler,
            len(tud.DataLoader(dataset, batch_size=6, drop_last=True)))


@program
def in_place_edits_and_functional_helpers_in_a_model(torch, same_start):
    nn, F = torch.nn, torch.nn.functional

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 3, 3)
            self.fc = nn.Linear(3 * 4 * 4, 4)

        def forward(self, x):
            x = F.pad(x, (1, 1, 1, 1), mode="constant", value=0.0)
            h = self.conv(x)
            h[:, 0] = h[:, 0] * 2                      # in-place edit of a slice
            h = torch.where(h > 0, h, 0.1 * h)
            h = F.max_pool2d(h, 2)
            h = h.flatten(1)
            h = F.dropout(h, p=0.5, training=False)
            return F.normalize(self.fc(h), dim=1) * 3

    net = Net()
    same_start(net)
    X_train, y_train, _, _ = digits_split(torch)
    images = X_train.reshape(-1, 1, 8, 8)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.3)
    losses = []
    for step in range(6):
        xb, yb = images[step * 40:(step + 1) * 40], y_train[step * 40:(step + 1) * 40] % 4
        one_hot = torch.zeros(len(yb), 4).scatter_(1, yb.unsqueeze(1), 1.0)
        loss = -(F.log_softmax(net(xb), dim=1) * one_hot).sum(dim=1).mean()
        net.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    optimizer.zero_grad(set_to_none=True)
    cleared = all(p.grad is None for p in net.parameters())
    scores = net(images[:5]).detach()
    ranks = scores.argsort(dim=1, descending=True)
    top2 = (ranks[:, :2] == (y_train[:5] % 4).unsqueeze(1)).any(dim=1)
    return losses, cleared, ranks, top2, scores.cumsum(dim=1)


@program
def siamese_embeddings_with_cosine_similarity_and_logsigmoid(torch, same_start):
    nn, F = torch.nn, torch.nn.functional
    encoder = nn.Sequential(nn.Linear(64, 16), nn.Tanh(), nn.Linear(16, 8))
    same_start(encoder)
    X_train, y_train, _, _ = digits_split(torch)
    a, b = X_train[:100], X_train[100:200]
    same = (y_train[:100] == y_train[100:200]).float()
    optimizer = torch.optim.Adam(encoder.parameters(), lr=5e-3)
    losses = []
    for step in range(8):
        za, zb = encoder(a), encoder(b)
        score = 5 * F.cosine_similarity(za, zb)
        loss = -(same * F.logsigmoid(score) + (1 - same) * F.logsigmoid(-score)).mean()
        distance = F.pairwise_distance(za, zb)
        contrastive = (same * distance.pow(2)
                       + (1 - same) * F.relu(1.0 - distance).pow(2)).mean()
        optimizer.zero_grad()
        (loss + 0.1 * contrastive).backward()
        optimizer.step()
        losses.append([loss.item(), contrastive.item()])
    gated = F.glu(encoder(a[:3]), dim=1)
    u = torch.tensor(data(4, 6, seed=68), requires_grad=True)
    v = torch.tensor(data(1, 6, seed=69, scale=0.1), requires_grad=True)
    F.cosine_similarity(u, v, dim=0, eps=0.5).sum().backward()   # norms of the broadcast
    return (losses, gated, F.cosine_similarity(za[:1], zb[:4]), u.grad, v.grad,
            F.logsigmoid(torch.tensor([-120.0, 0.0, 50.0])))


# ------------------------------------------- known gaps: programs minigrad cannot run yet

KNOWN_GAPS = {}


def gap(reason):
    """A program PyTorch runs and minigrad does not yet (it must raise, never differ)."""
    def mark(fn):
        KNOWN_GAPS[fn.__name__] = reason
        return program(fn)
    return mark


@gap("Tensor.data is minigrad's raw array, not a detached Tensor")
def d2l_concise_init_through_data(torch, same_start):
    nn = torch.nn
    net = nn.Sequential(nn.Linear(2, 1))
    net[0].weight.data.normal_(0, 0.01)
    net[0].bias.data.fill_(0)
    same_start(net)
    w = net[0].weight
    with torch.no_grad():
        w.grad = torch.ones_like(w)
    w.data -= 0.1 * w.grad
    return net[0].weight.data, net[0].bias.data.numpy().tolist()


@gap("NumPy-style keywords (axis=, keepdims=) that PyTorch accepts as aliases")
def d2l_numpy_style_axis_keywords(torch, same_start):
    X = torch.tensor(data(3, 4, seed=67))
    return (X.sum(axis=1), X.sum(axis=0, keepdims=True), X.argmax(axis=1),
            X.mean(axis=1), X.max(axis=1).values)


# ------------------------------------------------------------------------ runner


def run_both(name):
    states = []       # one per same_start call, in order: a program may start several models

    def record(model):
        states.append({k: v.detach().clone() for k, v in model.state_dict().items()})

    def load(model):
        model.load_state_dict(states.pop(0))

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


def _expected_outcome(name):
    """A known gap must raise a clear error under minigrad: a wrong number fails."""
    if name not in KNOWN_GAPS:
        return name
    mark = pytest.mark.xfail(raises=(AttributeError, TypeError, NotImplementedError),
                             strict=True, reason=KNOWN_GAPS[name])
    return pytest.param(name, marks=mark)


@pytest.mark.parametrize("name", [_expected_outcome(name) for name in sorted(PROGRAMS)])
def test_program_runs_unchanged_with_the_same_results(name):
    expected, actual = run_both(name)
    assert_close(actual, expected, name)


def test_programs_learn_something():
    """The programs above compare real training: losses go down in both frameworks."""
    for name in ("cubic_fit_with_raw_autograd", "char_model_with_embedding_and_gru"):
        expected, actual = run_both(name)
        losses = actual[0]
        assert losses[-1] < losses[0], name
