"""Layers (minigrad/nn/layers.py): Linear, Conv2d, MaxPool2d, ReLU, Tanh, Sigmoid,
Flatten, Dropout, Sequential against torch.nn."""

import math

import numpy as np
import pytest
import torch

import minigrad as mg
from mgtest import distinct, randn


def copy_weights(tlayer, mlayer):
    mlayer.load_state_dict(tlayer.state_dict())


def run_layer_pair(tlayer, mlayer, x, atol=1e-5, rtol=1e-5):
    """Forward + backward (random upstream) of the same layer in both frameworks."""
    copy_weights(tlayer, mlayer)
    xt = torch.tensor(x, requires_grad=True)
    xm = mg.tensor(x, requires_grad=True)
    ot = tlayer(xt)
    om = mlayer(xm)
    assert tuple(om.shape) == tuple(ot.shape)
    assert om.detach().numpy().dtype == ot.detach().numpy().dtype
    np.testing.assert_allclose(om.detach().numpy(), ot.detach().numpy(), atol=atol, rtol=rtol)
    R = randn(*tuple(ot.shape), seed=99).astype(x.dtype)
    ot.backward(torch.tensor(R))
    om.backward(mg.tensor(R))
    np.testing.assert_allclose(
        xm.grad.numpy(), xt.grad.numpy(), atol=atol, rtol=rtol, err_msg="input grad"
    )
    mp = dict(mlayer.named_parameters())
    for name, p in tlayer.named_parameters():
        np.testing.assert_allclose(
            mp[name].grad.numpy(), p.grad.numpy(), atol=atol, rtol=rtol, err_msg=name
        )


# ------------------------------------------------------------------ Linear
@pytest.mark.parametrize("fin,fout,bias", [(4, 3, True), (1, 5, True), (6, 2, False), (3, 3, True)])
def test_linear_shapes_and_count(fin, fout, bias):
    m = mg.nn.Linear(fin, fout, bias=bias)
    t = torch.nn.Linear(fin, fout, bias=bias)
    assert tuple(m.weight.shape) == (fout, fin)
    if bias:
        assert tuple(m.bias.shape) == (fout,)
    else:
        assert getattr(m, "bias", None) is None
    assert [n for n, _ in m.named_parameters()] == [n for n, _ in t.named_parameters()]
    assert m.weight.dtype == mg.float32


@pytest.mark.parametrize("fin,fout,bias", [(4, 3, True), (6, 2, False)])
@pytest.mark.parametrize("xshape", [(5,), (2, 5), (2, 3, 5)], ids=str)
def test_linear_matches_torch(fin, fout, bias, xshape):
    xshape = xshape[:-1] + (fin,)
    run_layer_pair(torch.nn.Linear(fin, fout, bias=bias), mg.nn.Linear(fin, fout, bias=bias),
                   randn(*xshape, seed=1).astype(np.float32))


def test_linear_init_range_like_torch():
    mg.manual_seed(0)
    fin = 50
    layer = mg.nn.Linear(fin, 40)
    bound = 1 / math.sqrt(fin)
    w = layer.weight.detach().numpy()
    b = layer.bias.detach().numpy()
    assert np.all(np.abs(w) <= bound + 1e-7) and np.all(np.abs(b) <= bound + 1e-7)
    # uniform on [-bound, bound]: std = bound / sqrt(3)
    assert abs(w.std() - bound / math.sqrt(3)) < 0.1 * bound
    assert abs(w.mean()) < 0.1 * bound


# ------------------------------------------------------------------ Conv2d
CONV_CFGS = [
    dict(in_channels=1, out_channels=2, kernel_size=3),
    dict(in_channels=3, out_channels=4, kernel_size=3, stride=2, padding=1),
    dict(in_channels=2, out_channels=3, kernel_size=2, stride=1, padding=1, bias=False),
    dict(in_channels=4, out_channels=1, kernel_size=1),
]


@pytest.mark.parametrize(
    "cfg", CONV_CFGS, ids=lambda c: "-".join(f"{k[:3]}{v}" for k, v in c.items())
)
def test_conv2d_layer(cfg):
    m = mg.nn.Conv2d(**cfg)
    t = torch.nn.Conv2d(**cfg)
    assert {n: tuple(p.shape) for n, p in m.named_parameters()} == {
        n: tuple(p.shape) for n, p in t.named_parameters()
    }
    x = randn(2, cfg["in_channels"], 6, 5, seed=2).astype(np.float32)
    run_layer_pair(t, m, x)


def test_conv2d_positional_args():
    m = mg.nn.Conv2d(2, 3, 3, 2, 1)
    t = torch.nn.Conv2d(2, 3, 3, 2, 1)
    run_layer_pair(t, m, randn(1, 2, 7, 7, seed=3).astype(np.float32))


def test_conv2d_init_range_like_torch():
    mg.manual_seed(1)
    layer = mg.nn.Conv2d(3, 8, 3)
    bound = 1 / math.sqrt(3 * 3 * 3)
    w = layer.weight.detach().numpy()
    assert np.all(np.abs(w) <= bound + 1e-7)
    assert w.std() > 0.3 * bound
    assert np.all(np.abs(layer.bias.detach().numpy()) <= bound + 1e-7)


# ------------------------------------------------------------------ pooling / activations / flatten
@pytest.mark.parametrize(
    "args,kwargs",
    [((2,), {}), ((2, 2), {}), ((3,), dict(stride=1, padding=1)), ((3, 2, 1), {})],
    ids=str,
)
def test_maxpool2d_layer(args, kwargs):
    x = distinct(2, 2, 6, 6, seed=4).astype(np.float32)
    run_layer_pair(torch.nn.MaxPool2d(*args, **kwargs), mg.nn.MaxPool2d(*args, **kwargs), x)


@pytest.mark.parametrize("name", ["ReLU", "Tanh", "Sigmoid"])
def test_activation_layers(name):
    x = randn(3, 4, seed=5).astype(np.float32)
    x[np.abs(x) < 1e-3] = 0.5
    run_layer_pair(getattr(torch.nn, name)(), getattr(mg.nn, name)(), x)
    assert len(list(getattr(mg.nn, name)().parameters())) == 0


@pytest.mark.parametrize("shape", [(2, 3, 4, 5), (2, 3), (4, 1, 2)], ids=str)
def test_flatten_layer_starts_at_dim1(shape):
    x = randn(*shape, seed=6).astype(np.float32)
    run_layer_pair(torch.nn.Flatten(), mg.nn.Flatten(), x)


# ------------------------------------------------------------------ Dropout
def test_dropout_eval_identity():
    layer = mg.nn.Dropout(0.5).eval()
    x = randn(10, 10, seed=7).astype(np.float32)
    xm = mg.tensor(x, requires_grad=True)
    out = layer(xm)
    np.testing.assert_array_equal(out.detach().numpy(), x)
    out.sum().backward()
    np.testing.assert_array_equal(xm.grad.numpy(), np.ones_like(x))


@pytest.mark.parametrize("p", [0.1, 0.5, 0.7])
def test_dropout_train_statistics(p):
    mg.manual_seed(2)
    layer = mg.nn.Dropout(p)
    assert layer.training
    x = np.random.default_rng(0).uniform(0.5, 1.5, size=(100, 100)).astype(np.float32)
    out = layer(mg.tensor(x)).numpy()
    dropped = out == 0
    assert abs(dropped.mean() - p) < 0.03
    np.testing.assert_allclose(out[~dropped], x[~dropped] / (1 - p), rtol=1e-6)


def test_dropout_default_p_is_half():
    mg.manual_seed(3)
    out = mg.nn.Dropout()(mg.ones(100, 100)).numpy()
    assert abs((out == 0).mean() - 0.5) < 0.03
    np.testing.assert_allclose(out[out != 0], 2.0)


def test_dropout_masks_differ_between_calls():
    mg.manual_seed(4)
    layer = mg.nn.Dropout(0.5)
    a = layer(mg.ones(50)).numpy()
    b = layer(mg.ones(50)).numpy()
    assert not np.array_equal(a, b)


# ------------------------------------------------------------------ Sequential
def test_sequential_mlp_matches_torch():
    def build(nn):
        return nn.Sequential(
            nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 2), nn.Sigmoid()
        )

    torch.manual_seed(0)
    run_layer_pair(build(torch.nn), build(mg.nn), randn(5, 6, seed=8).astype(np.float32))


def test_sequential_cnn_matches_torch():
    def build(nn):
        return nn.Sequential(
            nn.Conv2d(2, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(4, 4, 3, stride=2, padding=1), nn.Tanh(),
            nn.MaxPool2d(3, stride=1, padding=1), nn.Flatten(), nn.Linear(4 * 2 * 2, 3),
        )

    torch.manual_seed(1)
    run_layer_pair(
        build(torch.nn),
        build(mg.nn),
        randn(2, 2, 8, 8, seed=9).astype(np.float32),
        atol=2e-5,
        rtol=1e-4,
    )


def test_sequential_with_dropout_in_eval_matches_torch():
    def build(nn):
        return nn.Sequential(nn.Linear(4, 6), nn.Dropout(0.3), nn.ReLU(), nn.Linear(6, 2))

    t, m = build(torch.nn).eval(), build(mg.nn).eval()
    run_layer_pair(t, m, randn(3, 4, seed=10).astype(np.float32))


def test_sequential_float32_model_gives_float32():
    m = mg.nn.Sequential(mg.nn.Linear(3, 2))
    out = m(mg.tensor(randn(4, 3).astype(np.float32)))
    assert out.dtype == mg.float32
