"""Recurrent layers (minigrad/nn/rnn.py): RNN, GRU, LSTM and their cells against torch.nn."""

import math
import warnings

import numpy as np
import pytest
import torch

import minigrad as mg
from mgtest import assert_close, randn

KINDS = ["RNN_TANH", "RNN_RELU", "GRU", "LSTM"]
LAYER_CFGS = [
    dict(),
    dict(num_layers=2),
    dict(batch_first=True),
    dict(bidirectional=True),
    dict(bias=False),
    dict(num_layers=2, bidirectional=True, batch_first=True),
    dict(num_layers=2, bias=False, bidirectional=True),
]
L, N, H_IN, H = 5, 3, 4, 6


def make_layer(lib, kind, *args, **kw):
    if kind.startswith("RNN"):
        return lib.nn.RNN(*args, nonlinearity=kind[4:].lower(), **kw)
    return getattr(lib.nn, kind)(*args, **kw)


def make_cell(lib, kind, *args, **kw):
    if kind.startswith("RNN"):
        return lib.nn.RNNCell(*args, nonlinearity=kind[4:].lower(), **kw)
    return getattr(lib.nn, kind + "Cell")(*args, **kw)


def pair(make, kind, dtype, *args, **kw):
    """The same layer in torch and in minigrad, minigrad's weights loaded from torch's."""
    t, m = make(torch, kind, *args, **kw), make(mg, kind, *args, **kw)
    if dtype == "float64":
        t, m = t.double(), m.double()
    m.load_state_dict(t.state_dict())
    return t, m


def leaves(arrays):
    """The same arrays as torch and minigrad leaf tensors that require grad."""
    return ([torch.tensor(a, requires_grad=True) for a in arrays],
            [mg.tensor(a, requires_grad=True) for a in arrays])


def flat(result):
    """(output, h) or (output, (h, c)) or h or (h, c) as a flat list of tensors."""
    if not isinstance(result, tuple):
        return [result]
    return [t for r in result for t in flat(r)]


def check_pair(t, m, x, states, dtype, call):
    """Forward, then backward with a random upstream gradient on every output; compare
    outputs, and grads of the input, the initial states and every parameter."""
    (xt, *st), (xm, *sm) = leaves([x] + states)
    outs_t, outs_m = flat(call(t, xt, st)), flat(call(m, xm, sm))
    assert len(outs_t) == len(outs_m)
    loss_t, loss_m = 0, 0
    for k, (ot, om) in enumerate(zip(outs_t, outs_m)):
        assert om.dtype == getattr(mg, dtype)
        assert_close(om, ot, what=f"output {k}", dtype=dtype)
        R = randn(*ot.shape, seed=10 + k).astype(dtype)
        loss_t = loss_t + (ot * torch.tensor(R)).sum()
        loss_m = loss_m + (om * mg.tensor(R)).sum()
    loss_t.backward()
    loss_m.backward()
    assert_close(xm.grad, xt.grad, what="input grad", dtype=dtype)
    for k, (a, b) in enumerate(zip(sm, st)):
        assert_close(a.grad, b.grad, what=f"initial state {k} grad", dtype=dtype)
    params = dict(m.named_parameters())
    assert sorted(params) == sorted(n for n, _ in t.named_parameters())
    for name, p in t.named_parameters():
        assert_close(params[name].grad, p.grad, what=f"grad of {name}", dtype=dtype)


def tolerance(dtype):
    return dict() if dtype == "float64" else dict(atol=2e-5, rtol=1e-4)


# ------------------------------------------------------------------ whole sequences
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("batched", [True, False], ids=["batched", "unbatched"])
@pytest.mark.parametrize("with_state", [False, True], ids=["no_hx", "hx"])
@pytest.mark.parametrize("cfg", LAYER_CFGS, ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items())
                         or "default")
@pytest.mark.parametrize("kind", KINDS)
def test_layer_matches_torch(kind, cfg, with_state, batched, dtype):
    t, m = pair(make_layer, kind, dtype, H_IN, H, **cfg)
    S = cfg.get("num_layers", 1) * (2 if cfg.get("bidirectional") else 1)
    if not batched:
        x_shape, h_shape = (L, H_IN), (S, H)
    else:
        x_shape = (N, L, H_IN) if cfg.get("batch_first") else (L, N, H_IN)
        h_shape = (S, N, H)
    x = randn(*x_shape, seed=1).astype(dtype)
    n_states = 2 if kind == "LSTM" else 1
    states = [randn(*h_shape, seed=2 + k).astype(dtype) * 0.5 for k in range(n_states)]

    def call(layer, x, st):
        if not with_state:
            return layer(x)
        return layer(x, tuple(st) if kind == "LSTM" else st[0])

    check_pair(t, m, x, states if with_state else [], dtype, call)


@pytest.mark.parametrize("kind", KINDS)
def test_output_shapes(kind):
    m = make_layer(mg, kind, H_IN, H, num_layers=3, bidirectional=True, batch_first=True)
    out, h = m(mg.randn(N, L, H_IN))
    assert tuple(out.shape) == (N, L, 2 * H)
    for s in (h if kind == "LSTM" else (h,)):
        assert tuple(s.shape) == (6, N, H)


# ------------------------------------------------------------------ cells
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("batched", [True, False], ids=["batched", "unbatched"])
@pytest.mark.parametrize("with_state", [False, True], ids=["no_hx", "hx"])
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no_bias"])
@pytest.mark.parametrize("kind", KINDS)
def test_cell_matches_torch(kind, bias, with_state, batched, dtype):
    t, m = pair(make_cell, kind, dtype, H_IN, H, bias=bias)
    x = randn(*((N, H_IN) if batched else (H_IN,)), seed=3).astype(dtype)
    h_shape = (N, H) if batched else (H,)
    n_states = 2 if kind == "LSTM" else 1
    states = [randn(*h_shape, seed=4 + k).astype(dtype) for k in range(n_states)]

    def call(cell, x, st):
        if not with_state:
            return cell(x)
        return cell(x, tuple(st) if kind == "LSTM" else st[0])

    check_pair(t, m, x, states if with_state else [], dtype, call)


@pytest.mark.parametrize("kind", ["GRU", "LSTM", "RNN_TANH"])
def test_cell_unrolled_equals_layer(kind):
    """A cell stepped by hand over a sequence gives the layer's output (torch's weights)."""
    t = make_layer(torch, kind, H_IN, H).double()
    cell = make_cell(mg, kind, H_IN, H).double()
    cell.load_state_dict({k[:-3]: v for k, v in t.state_dict().items()})   # drop "_l0"
    x = randn(L, N, H_IN, seed=5)
    expected, _ = t(torch.tensor(x))
    state = None
    outs = []
    for step in mg.tensor(x).unbind(0):
        state = cell(step, state)
        outs.append(state[0] if kind == "LSTM" else state)
    assert_close(mg.stack(outs), expected, what="unrolled cell")


# ------------------------------------------------------------------ dropout between layers
@pytest.mark.parametrize("kind", KINDS)
def test_dropout_only_in_training(kind):
    t, m = pair(make_layer, kind, "float64", H_IN, H, num_layers=2, dropout=0.5)
    x = randn(L, N, H_IN, seed=6)
    t.eval()
    m.eval()
    assert_close(m(mg.tensor(x))[0], t(torch.tensor(x))[0], what="eval output")
    eval_out = flat(m.eval()(mg.tensor(x)))
    train_out = flat(m.train()(mg.tensor(x)))
    assert not np.allclose(train_out[0].detach().numpy(), eval_out[0].detach().numpy())
    # the first layer's final state comes before any dropout
    assert_close(train_out[1][0], eval_out[1][0], what="layer 0 h_n")


@pytest.mark.parametrize("kind", KINDS)
def test_dropout_one_in_training_matches_torch(kind):
    """p=1 zeroes every layer's output but the last, deterministically in both."""
    t, m = pair(make_layer, kind, "float64", H_IN, H, num_layers=3, dropout=1.0,
                bidirectional=True)
    x = randn(L, N, H_IN, seed=7)
    check_pair(t.train(), m.train(), x, [], "float64", lambda layer, x, st: layer(x))


# ------------------------------------------------------------------ layout, repr, init
REPR_CASES = [
    ("RNN_TANH", (3, 4), {}),
    ("RNN_RELU", (3, 4, 2), dict(bias=False, batch_first=True, dropout=0.5, bidirectional=True)),
    ("GRU", (3, 4), dict(num_layers=2)),
    ("LSTM", (3, 4), dict(batch_first=True, bidirectional=True)),
    ("LSTM", (3, 4), dict(num_layers=3, dropout=0.25)),
    ("GRU", (5, 7), dict(bias=True, batch_first=False, dropout=0.0, bidirectional=False)),
]


@pytest.mark.filterwarnings("ignore:dropout option")
@pytest.mark.parametrize("kind,args,kw", REPR_CASES)
def test_layer_repr_and_state_dict(kind, args, kw):
    t, m = make_layer(torch, kind, *args, **kw), make_layer(mg, kind, *args, **kw)
    assert repr(m) == repr(t)
    assert ([(k, tuple(v.shape)) for k, v in m.state_dict().items()]
            == [(k, tuple(v.shape)) for k, v in t.state_dict().items()])
    assert [n for n, _ in m.named_parameters()] == [n for n, _ in t.named_parameters()]
    assert [[p.shape for p in ps] for ps in m.all_weights] == \
        [[p.shape for p in ps] for ps in t.all_weights]
    for attr in ("input_size", "hidden_size", "num_layers", "bias", "batch_first", "dropout",
                 "bidirectional", "mode"):
        assert getattr(m, attr) == getattr(t, attr), attr


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("bias", [True, False])
def test_cell_repr_and_state_dict(kind, bias):
    t, m = make_cell(torch, kind, 3, 4, bias=bias), make_cell(mg, kind, 3, 4, bias=bias)
    assert repr(m) == repr(t)
    assert ([(k, tuple(v.shape)) for k, v in m.state_dict().items()]
            == [(k, tuple(v.shape)) for k, v in t.state_dict().items()])
    assert m.bias_ih is None if not bias else m.bias_ih is not None


@pytest.mark.parametrize("make", [make_layer, make_cell], ids=["layer", "cell"])
@pytest.mark.parametrize("kind", KINDS)
def test_default_init_is_uniform_over_hidden_size(make, kind):
    mg.manual_seed(0)
    hidden = 64
    m = make(mg, kind, 20, hidden)
    bound = 1 / math.sqrt(hidden)
    values = np.concatenate([p.detach().numpy().ravel() for p in m.parameters()])
    assert all(p.dtype == mg.float32 for p in m.parameters())
    assert np.abs(values).max() <= bound
    assert np.abs(values).max() > 0.95 * bound      # it fills the whole range ...
    assert abs(values.std() - bound / math.sqrt(3)) < 0.05 * bound   # ... uniformly
    assert abs(values.mean()) < 0.05 * bound


def test_dtype_argument():
    m = mg.nn.GRU(3, 4, dtype=mg.float64)
    assert all(p.dtype == mg.float64 for p in m.parameters())
    assert mg.nn.LSTMCell(3, 4, dtype=mg.float64).weight_hh.dtype == mg.float64


# ------------------------------------------------------------------ training
TEXT = "hello world, hello rnn"


@pytest.mark.parametrize("kind", ["GRU", "LSTM"])
def test_char_model_training_matches_torch(kind):
    chars = sorted(set(TEXT))
    ids = np.array([chars.index(c) for c in TEXT])
    V = len(chars)
    x = np.eye(V, dtype=np.float32)[ids[:-1]][None]           # (1, L, V) one-hot
    y = ids[1:][None]

    def build(lib):
        class CharModel(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.rnn = getattr(lib.nn, kind)(V, 16, batch_first=True)
                self.head = lib.nn.Linear(16, V)

            def forward(self, x):
                return self.head(self.rnn(x)[0])
        return CharModel()

    torch.manual_seed(0)
    t, m = build(torch), build(mg)
    m.load_state_dict(t.state_dict())
    losses = {}
    for lib, model in ((torch, t), (mg, m)):
        opt = lib.optim.SGD(model.parameters(), lr=2.0, momentum=0.5)
        xs, ys = lib.tensor(x), lib.tensor(y)
        losses[lib.__name__] = []
        for _ in range(20):
            opt.zero_grad()
            loss = lib.nn.functional.cross_entropy(model(xs).reshape(-1, V), ys.reshape(-1))
            loss.backward()
            opt.step()
            losses[lib.__name__].append(loss.item())
    np.testing.assert_allclose(losses["minigrad"], losses["torch"], rtol=1e-4, atol=1e-5)
    assert losses["torch"][-1] < 0.6 * losses["torch"][0]     # it does learn


# ------------------------------------------------------------------ errors
def both_raise(fn, exc):
    with pytest.raises(exc):
        fn(torch)
    with pytest.raises(exc):
        fn(mg)


@pytest.mark.parametrize("kind", KINDS)
def test_layer_errors(kind):
    def layer(lib, **kw):
        return make_layer(lib, kind, 3, 4, **kw)

    def state(lib, *shape):
        h = lib.zeros(*shape)
        return (h, h) if kind == "LSTM" else h

    both_raise(lambda lib: layer(lib)(lib.zeros(5, 2, 7)), RuntimeError)            # input size
    both_raise(lambda lib: layer(lib)(lib.zeros(5, 2, 3), state(lib, 1, 3, 4)), RuntimeError)
    both_raise(lambda lib: layer(lib)(lib.zeros(5, 2, 3), state(lib, 2, 2, 4)), RuntimeError)
    both_raise(lambda lib: layer(lib)(lib.zeros(5, 2, 3), state(lib, 1, 2, 5)), RuntimeError)
    both_raise(lambda lib: layer(lib)(lib.zeros(5, 2, 3), state(lib, 2, 4)), RuntimeError)
    both_raise(lambda lib: layer(lib)(lib.zeros(5, 3), state(lib, 1, 1, 4)), RuntimeError)
    both_raise(lambda lib: layer(lib)(lib.zeros(5, 3), state(lib, 2, 4)), RuntimeError)
    both_raise(lambda lib: layer(lib, batch_first=True)(lib.zeros(2, 5, 3),
                                                        state(lib, 1, 5, 4)), RuntimeError)
    both_raise(lambda lib: layer(lib)(lib.zeros(1, 5, 2, 3)), ValueError)           # 4-D
    both_raise(lambda lib: layer(lib)(lib.zeros(5, 2, 3, dtype=lib.float64)), ValueError)
    both_raise(lambda lib: layer(lib, dropout=1.5), ValueError)
    both_raise(lambda lib: layer(lib, bias=1), TypeError)
    both_raise(lambda lib: make_layer(lib, kind, 3, 0), ValueError)
    both_raise(lambda lib: make_layer(lib, kind, 3, 4.0), TypeError)
    both_raise(lambda lib: layer(lib, num_layers=0), ValueError)
    for lib in (torch, mg):
        with pytest.warns(UserWarning, match="dropout"):
            layer(lib, dropout=0.2)


def test_constructor_errors():
    both_raise(lambda lib: lib.nn.RNN(3, 4, nonlinearity="sigmoid"), ValueError)
    both_raise(lambda lib: lib.nn.GRU(3, 4, proj_size=2), ValueError)
    both_raise(lambda lib: lib.nn.RNN(3, 4, proj_size=2), ValueError)
    both_raise(lambda lib: lib.nn.LSTM(3, 4, proj_size=4), ValueError)
    with pytest.raises(NotImplementedError, match="proj_size"):   # torch supports it
        mg.nn.LSTM(3, 4, proj_size=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mg.nn.LSTM(3, 4, num_layers=2, dropout=0.2)    # no warning with several layers


@pytest.mark.parametrize("kind", KINDS)
def test_cell_errors(kind):
    def cell(lib):
        return make_cell(lib, kind, 3, 4)

    def state(lib, *shape):
        h = lib.zeros(*shape)
        return (h, h) if kind == "LSTM" else h

    both_raise(lambda lib: cell(lib)(lib.zeros(2, 5)), RuntimeError)                # input size
    both_raise(lambda lib: cell(lib)(lib.zeros(2, 3), state(lib, 3, 4)), RuntimeError)
    both_raise(lambda lib: cell(lib)(lib.zeros(2, 3), state(lib, 2, 5)), RuntimeError)
    both_raise(lambda lib: cell(lib)(lib.zeros(1, 2, 3)), ValueError)
    both_raise(lambda lib: cell(lib)(lib.zeros(2, 3), state(lib, 1, 2, 4)), ValueError)


def test_rnn_cell_unknown_nonlinearity_raises_at_forward():
    for lib in (torch, mg):
        cell = lib.nn.RNNCell(3, 4, nonlinearity="gelu")     # accepted here, as in torch
        with pytest.raises(RuntimeError, match="nonlinearity"):
            cell(lib.zeros(2, 3))


# ------------------------------------------------------- nn.utils.rnn: padding a batch
from mgtest import assert_same_outcome, compare  # noqa: E402


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("padding_side", ["right", "left"])
@pytest.mark.parametrize("trailing", [(), (3,), (2, 2)])
def test_pad_sequence_forward_and_backward_match_pytorch(batch_first, padding_side, trailing):
    arrays = [randn(n, *trailing, seed=n) for n in (4, 1, 6, 3)]
    compare(lambda T, *seqs: T.nn.utils.rnn.pad_sequence(
        list(seqs), batch_first=batch_first, padding_value=-2.5, padding_side=padding_side),
        *arrays)


@pytest.mark.parametrize("program", [
    lambda T: T.nn.utils.rnn.pad_sequence(T.arange(12.0).reshape(3, 4)),   # a tensor: rows
    lambda T: T.nn.utils.rnn.pad_sequence([T.ones(2, 3), T.ones(4, 2)]),    # trailing differ
    lambda T: T.nn.utils.rnn.pad_sequence([T.ones(2)], padding_side="middle"),
    lambda T: T.nn.utils.rnn.pad_sequence([T.ones(2, dtype=T.int64), T.ones(3, dtype=T.int64)]),
    lambda T: T.nn.utils.rnn.unpad_sequence(
        T.nn.utils.rnn.pad_sequence([T.ones(2), 2 * T.ones(5), 3 * T.ones(1)], batch_first=True),
        T.tensor([2, 5, 1]), batch_first=True),
    lambda T: T.nn.utils.rnn.unpad_sequence(
        T.nn.utils.rnn.pad_sequence([T.ones(2, 3), T.ones(4, 3)]), T.tensor([2, 4])),
])
def test_pad_sequence_edge_cases_agree_with_pytorch(program):
    assert_same_outcome(program)


def test_an_rnn_on_a_padded_batch_gives_each_final_state_at_its_length():
    lengths = [5, 2, 7, 3]
    seqs = [randn(n, 3, seed=10 + n).astype(np.float32) for n in lengths]
    torch_gru = torch.nn.GRU(3, 4, batch_first=True)
    mg_gru = mg.nn.GRU(3, 4, batch_first=True)
    mg_gru.load_state_dict(torch_gru.state_dict())
    packed = torch.nn.utils.rnn.pack_sequence([torch.tensor(s) for s in seqs], enforce_sorted=False)
    _, h_n = torch_gru(packed)
    padded = mg.nn.utils.rnn.pad_sequence([mg.tensor(s) for s in seqs], batch_first=True)
    output, _ = mg_gru(padded)
    last = output[mg.arange(len(lengths)), mg.tensor(lengths) - 1]
    assert_close(last.detach().numpy(), h_n[0].detach().numpy(), atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("name", ["pack_padded_sequence", "pack_sequence", "pad_packed_sequence"])
def test_packing_is_refused_with_the_padding_recipe(name):
    with pytest.raises(NotImplementedError, match=r"no PackedSequence.*pad_sequence"):
        getattr(mg.nn.utils.rnn, name)(mg.ones(3, 2, 1), [3, 2])


def test_a_pytorch_packed_sequence_given_to_a_minigrad_rnn_is_refused_clearly():
    packed = torch.nn.utils.rnn.pack_sequence([torch.ones(3, 2), torch.ones(2, 2)])
    with pytest.raises(TypeError, match="PackedSequence"):
        mg.nn.GRU(2, 3)(packed)
