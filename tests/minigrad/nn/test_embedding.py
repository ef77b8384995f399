"""Embedding (minigrad/nn/sparse.py) and F.embedding against torch.nn."""
import numpy as np
import pytest
import torch

import minigrad as mg
from mgtest import assert_close, randn

DTYPES = {"float64": (torch.float64, mg.float64), "float32": (torch.float32, mg.float32)}


def _pair(dtype, *args, **kw):
    tdt, mdt = DTYPES[dtype]
    t = torch.nn.Embedding(*args, **kw).to(tdt)
    m = mg.nn.Embedding(*args, **kw).to(mdt)
    m.load_state_dict(t.state_dict())
    return t, m


def _run(t, m, idx, seed=1):
    """Forward, then backward with a random upstream gradient; compare output and the
    weight's gradient (rows picked twice add up, the padding row gets none)."""
    yt, ym = t(torch.tensor(idx)), m(mg.tensor(idx))
    assert tuple(ym.shape) == tuple(yt.shape)
    assert_close(ym, yt, atol=0, rtol=0, what="output")
    r = randn(*yt.shape, seed=seed, dtype=str(yt.dtype).split(".")[1])
    yt.backward(torch.tensor(r))
    ym.backward(mg.tensor(r))
    assert_close(m.weight.grad, t.weight.grad, what="weight grad")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(5,), (3, 4), (2, 3, 2), ()], ids=str)
@pytest.mark.parametrize("kw", [{}, {"padding_idx": 0}, {"padding_idx": -2},
                                {"scale_grad_by_freq": True},
                                {"scale_grad_by_freq": True, "padding_idx": 3}], ids=str)
def test_embedding_matches_torch(dtype, shape, kw):
    t, m = _pair(dtype, 7, 3, **kw)
    idx = np.random.default_rng(0).integers(0, 7, shape)     # repeats, and the padding rows
    _run(t, m, idx)


def test_padding_row_gets_no_gradient_and_starts_at_zero():
    m = mg.nn.Embedding(5, 4, padding_idx=2)
    assert np.all(m.weight.detach().numpy()[2] == 0)
    m(mg.tensor([[2, 2, 1], [0, 2, 4]])).sum().backward()
    g = m.weight.grad.numpy()
    assert np.all(g[2] == 0) and np.all(g[[0, 4]] == 1) and np.all(g[3] == 0)


def test_int32_indices_and_functional():
    w = randn(6, 2, seed=3)
    idx = np.array([[5, 0], [1, 1]], dtype=np.int32)
    wt, wm = torch.tensor(w, requires_grad=True), mg.tensor(w, requires_grad=True)
    yt = torch.nn.functional.embedding(torch.tensor(idx), wt, padding_idx=1)
    ym = mg.nn.functional.embedding(mg.tensor(idx), wm, padding_idx=1)
    assert_close(ym, yt)
    r = randn(2, 2, 2, seed=4)
    yt.backward(torch.tensor(r)), ym.backward(mg.tensor(r))
    assert_close(wm.grad, wt.grad)


@pytest.mark.parametrize("norm_type", [2.0, 1.0])
def test_max_norm_renormalizes_used_rows_in_place(norm_type):
    t, m = _pair("float64", 6, 3, max_norm=1.5, norm_type=norm_type)
    assert repr(m) == repr(t)
    idx = np.array([0, 2, 2, 5])
    _run(t, m, idx)
    assert_close(m.weight, t.weight.detach())          # rows 0, 2, 5 scaled down, not 1, 3, 4


def test_embedding_init_statistics():
    """N(0, 1), as torch: mean ~ 0 and std ~ 1 over 100k values."""
    w = mg.nn.Embedding(1000, 100).weight.detach().numpy()
    assert abs(w.mean()) < 0.02 and abs(w.std() - 1) < 0.02
    assert w.dtype == np.float32


def test_repr_state_dict_and_attributes():
    for args, kw in [((10, 3), {"padding_idx": 0}), ((10, 3), {}), ((4, 2), {"padding_idx": -1}),
                     ((5, 2), {"scale_grad_by_freq": True, "norm_type": 1.0, "max_norm": 2.0})]:
        t, m = torch.nn.Embedding(*args, **kw), mg.nn.Embedding(*args, **kw)
        assert repr(m) == repr(t)
        assert m.padding_idx == t.padding_idx
        assert list(m.state_dict()) == list(t.state_dict())
        assert tuple(m.weight.shape) == tuple(t.weight.shape)
        assert m.weight.requires_grad


def test_from_pretrained():
    w = randn(4, 3, seed=5).astype(np.float32)
    t = torch.nn.Embedding.from_pretrained(torch.tensor(w))
    m = mg.nn.Embedding.from_pretrained(mg.tensor(w))
    assert repr(m) == repr(t)
    assert m.weight.requires_grad is t.weight.requires_grad is False
    assert_close(m(mg.tensor([3, 0])), t(torch.tensor([3, 0])))
    assert not m(mg.tensor([1])).requires_grad
    source = mg.tensor(w)                   # the weight is the given tensor's memory
    m = mg.nn.Embedding.from_pretrained(source, freeze=False, padding_idx=1)
    assert m.weight.requires_grad and m.padding_idx == 1
    with mg.no_grad():
        source[0, 0] = 42.0
    assert m.weight[0, 0].item() == 42.0
    m(mg.tensor([1, 2])).sum().backward()
    assert np.all(m.weight.grad.numpy()[[0, 1, 3]] == 0) and np.all(m.weight.grad.numpy()[2] == 1)
    t = torch.nn.Embedding.from_pretrained(torch.tensor(w), freeze=False, padding_idx=1)
    t(torch.tensor([1, 2])).sum().backward()
    assert_close(m.weight.grad, t.weight.grad)


@pytest.mark.parametrize("call,error", [
    (lambda T: T.nn.Embedding(5, 2)(T.tensor([5])), IndexError),
    (lambda T: T.nn.Embedding(5, 2)(T.tensor([[0, -1]])), IndexError),
    (lambda T: T.nn.Embedding(5, 2)(T.tensor([1.0])), RuntimeError),
    (lambda T: T.nn.Embedding(5, 2, padding_idx=5), AssertionError),
    (lambda T: T.nn.Embedding(5, 2, padding_idx=-6), AssertionError),
    (lambda T: T.nn.Embedding(5, 2, _weight=T.ones(4, 2)), AssertionError),
    (lambda T: T.nn.Embedding.from_pretrained(T.ones(3)), AssertionError),
])
def test_errors(call, error):
    with pytest.raises(error):
        call(torch)
    with pytest.raises(error):
        call(mg)


def test_sparse_is_refused_clearly():
    with pytest.raises(NotImplementedError, match="sparse"):
        mg.nn.Embedding(5, 2, sparse=True)


def test_training_loop_with_embedding():
    """20 SGD steps of a bag-of-embeddings classifier: the same loss at every step."""
    def model(nn):
        return nn.Sequential(nn.Embedding(12, 4, padding_idx=0), nn.Flatten(),
                             nn.LayerNorm(12), nn.Linear(12, 3))
    torch.manual_seed(0)
    t = model(torch.nn).double()
    m = model(mg.nn).double()
    m.load_state_dict(t.state_dict())
    topt = torch.optim.SGD(t.parameters(), lr=0.5)
    mopt = mg.optim.SGD(m.parameters(), lr=0.5)
    rng = np.random.default_rng(0)
    for step in range(20):
        x, y = rng.integers(0, 12, (8, 3)), rng.integers(0, 3, 8)
        lt = torch.nn.functional.cross_entropy(t(torch.tensor(x)), torch.tensor(y))
        lm = mg.nn.functional.cross_entropy(m(mg.tensor(x)), mg.tensor(y))
        topt.zero_grad(), mopt.zero_grad()
        lt.backward(), lm.backward()
        topt.step(), mopt.step()
        assert abs(lm.item() - lt.item()) < 1e-10, step
    assert_close(m[0].weight, t[0].weight.detach())
    assert np.all(m[0].weight.detach().numpy()[0] == 0)


def test_compiled_embedding_checks_each_batch():
    m = mg.nn.Embedding(5, 2)
    fn = mg.compile(m)
    x = mg.tensor([1, 4])
    assert_close(fn(x), m(x))
    assert_close(fn(mg.tensor([3, 0])), m(mg.tensor([3, 0])))
    with pytest.raises(IndexError):
        fn(mg.tensor([2, 5]))
