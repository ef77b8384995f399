"""Convolution and pooling layers (minigrad/nn/conv.py, minigrad/nn/pooling.py) against
torch.nn: reprs, state_dict keys and shapes, default initialisation, forward and backward
with weights copied from torch, constructor errors, and a short training run."""

import math

import numpy as np
import pytest
import torch

import minigrad as mg
from mgtest import assert_close, distinct, randn


def run_pair(tlayer, mlayer, x, dtype):
    """Forward + backward (random upstream) of one layer in both frameworks, with torch's
    weights; compares output, input gradient and every parameter's gradient."""
    tlayer, mlayer = (tlayer.double(), mlayer.double()) if dtype == "float64" else (tlayer, mlayer)
    mlayer.load_state_dict(tlayer.state_dict())
    x = x.astype(dtype)
    xt, xm = torch.tensor(x, requires_grad=True), mg.tensor(x, requires_grad=True)
    ot, om = tlayer(xt), mlayer(xm)
    assert_close(om, ot, what="output")
    upstream = randn(*ot.shape, seed=99).astype(dtype)
    ot.backward(torch.tensor(upstream))
    om.backward(mg.tensor(upstream))
    assert_close(xm.grad, xt.grad, what="input grad")
    mp = dict(mlayer.named_parameters())
    assert set(mp) == {n for n, _ in tlayer.named_parameters()}
    for name, p in tlayer.named_parameters():
        assert_close(mp[name].grad, p.grad, what=f"grad of {name}")


def both(name, *args, **kwargs):
    return getattr(torch.nn, name)(*args, **kwargs), getattr(mg.nn, name)(*args, **kwargs)


# ------------------------------------------------------------------ convolution layers
CONV2D = [
    ((3, 8, 3), dict(padding=1)),
    ((3, 8, 3), dict()),
    ((4, 6, (3, 2)), dict(stride=(2, 1), padding=(1, 0), dilation=(1, 2), groups=2)),
    ((4, 4, 3), dict(groups=4, bias=False)),
    ((2, 3, 3), dict(padding="same", dilation=2)),
    ((2, 3, 4), dict(padding="same")),
    ((2, 3, 3), dict(padding="valid", stride=2)),
    ((2, 4, 3), dict(padding=(1, 2), padding_mode="reflect")),
    ((2, 4, 3), dict(padding=2, padding_mode="replicate", stride=2)),
    ((2, 4, (2, 3)), dict(padding=1, padding_mode="circular", groups=2)),
    ((2, 4, 4), dict(padding="same", padding_mode="reflect")),
    ((2, 3, 3), dict(stride=1, padding=0, dilation=1, groups=1, bias=True, padding_mode="zeros")),
]
CONV1D = [
    ((3, 8, 3), dict()),
    ((4, 6, 3), dict(stride=2, padding=1, dilation=2, groups=2)),
    ((4, 4, 2), dict(groups=4, bias=False, padding="same")),
    ((2, 3, 3), dict(padding=2, padding_mode="reflect")),
    ((2, 3, 3), dict(padding=(1,), padding_mode="replicate")),
    ((2, 2, 5), dict(padding="same", padding_mode="circular", dilation=2)),
]
CONV_CASES = [("Conv2d",) + c for c in CONV2D] + [("Conv1d",) + c for c in CONV1D]
CONV_IDS = [f"{n}{a}{k}" for n, a, k in CONV_CASES]


@pytest.mark.parametrize("name,args,kwargs", CONV_CASES, ids=CONV_IDS)
def test_conv_repr_and_state_dict_like_torch(name, args, kwargs):
    t, m = both(name, *args, **kwargs)
    assert repr(m) == repr(t)
    assert [(k, tuple(v.shape)) for k, v in m.state_dict().items()] == \
           [(k, tuple(v.shape)) for k, v in t.state_dict().items()]
    assert [n for n, _ in m.named_parameters()] == [n for n, _ in t.named_parameters()]
    for attr in ("kernel_size", "stride", "padding", "dilation", "groups", "padding_mode",
                 "in_channels", "out_channels", "_reversed_padding_repeated_twice"):
        assert getattr(m, attr) == getattr(t, attr), attr


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name,args,kwargs", CONV_CASES, ids=CONV_IDS)
@pytest.mark.filterwarnings("ignore:Using padding='same'")
def test_conv_layer_matches_torch(name, args, kwargs, dtype):
    t, m = both(name, *args, **kwargs)
    spatial = (7, 8) if name == "Conv2d" else (9,)
    run_pair(t, m, randn(2, args[0], *spatial, seed=1), dtype)
    t, m = both(name, *args, **kwargs)
    run_pair(t, m, randn(args[0], *spatial, seed=2), dtype)          # unbatched


def test_conv2d_positional_arguments_in_torch_order():
    t, m = both("Conv2d", 4, 6, 3, 2, 1, 2, 2, False, "replicate")
    assert repr(m) == repr(t)
    run_pair(t, m, randn(1, 4, 9, 9, seed=3), "float32")


@pytest.mark.parametrize("name,args,kwargs", [
    ("Conv2d", (3, 8, 3), {}), ("Conv2d", (6, 42, (3, 5)), dict(groups=3)),
    ("Conv1d", (4, 50, 5), dict(groups=2)), ("Conv1d", (16, 30, 1), {}),
], ids=str)
def test_conv_default_init_bounds(name, args, kwargs):
    """kaiming_uniform_(a=sqrt(5)) gives U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in =
    in_channels / groups * kernel size; the bias has the same bound."""
    mg.manual_seed(0)
    m = getattr(mg.nn, name)(*args, **kwargs)
    t = getattr(torch.nn, name)(*args, **kwargs)
    bound = 1 / math.sqrt(t.weight[0].numel())
    for p, tp in ((m.weight, t.weight), (m.bias, t.bias)):
        a = p.detach().numpy()
        assert a.dtype == np.float32
        assert np.all(np.abs(a) <= bound)
        assert np.abs(tp.detach().numpy()).max() <= bound     # the same bound as torch
    w = m.weight.detach().numpy()
    assert abs(w.std() - bound / math.sqrt(3)) < 0.15 * bound     # uniform's spread
    assert abs(w.mean()) < 0.15 * bound and np.abs(w).max() > 0.9 * bound
    assert m.weight._version == t.weight._version


@pytest.mark.parametrize("args,kwargs", [
    ((4, 6, 3), dict(groups=4)),                 # out_channels not divisible
    ((3, 6, 3), dict(groups=2)),                 # in_channels not divisible
    ((4, 6, 3), dict(groups=0)),
    ((4, 6, 3), dict(padding="same", stride=2)),
    ((4, 6, 3), dict(padding="full")),
    ((4, 6, 3), dict(padding_mode="mirror")),
], ids=str)
@pytest.mark.parametrize("name", ["Conv1d", "Conv2d"])
def test_conv_constructor_errors_like_torch(name, args, kwargs):
    with pytest.raises(ValueError):
        getattr(torch.nn, name)(*args, **kwargs)
    with pytest.raises(ValueError):
        getattr(mg.nn, name)(*args, **kwargs)


@pytest.mark.parametrize("make,x", [
    (lambda nn: nn.Conv2d(3, 4, 3), np.ones((2, 4, 5, 5))),          # wrong channels
    (lambda nn: nn.Conv2d(3, 4, 7), np.ones((2, 3, 5, 5))),          # kernel bigger
    (lambda nn: nn.Conv2d(1, 1, 3, stride=0), np.ones((1, 1, 5, 5))),
    (lambda nn: nn.Conv1d(3, 4, 3), np.ones((2, 3, 5, 5))),          # 4-D into Conv1d
    (lambda nn: nn.Conv2d(1, 1, 3, padding=3, padding_mode="reflect"), np.ones((1, 1, 3, 3))),
], ids=["channels", "kernel", "stride", "ndim", "reflect_too_wide"])
def test_conv_forward_errors_like_torch(make, x):
    with pytest.raises(RuntimeError):
        make(torch.nn)(torch.tensor(x, dtype=torch.float32))
    with pytest.raises(RuntimeError):
        make(mg.nn)(mg.tensor(x, dtype=mg.float32))


# ------------------------------------------------------------------ pooling layers
POOLS = [
    ("MaxPool1d", (2,), {}),
    ("MaxPool1d", (3, 2, 1, 2, False, True), {}),
    ("MaxPool2d", (2,), {}),
    ("MaxPool2d", ((2, 3),), dict(stride=1, padding=1, dilation=2, ceil_mode=True)),
    ("MaxPool2d", (3,), dict(stride=(2, 1), padding=(1, 0))),
    ("AvgPool1d", (2,), {}),
    ("AvgPool1d", (3, 2, 1, True, False), {}),
    ("AvgPool2d", (2,), {}),
    ("AvgPool2d", ((2, 3), 1, 1, True, False, 3), {}),
    ("AvgPool2d", (3,), dict(stride=2, padding=1, count_include_pad=False)),
    ("AdaptiveAvgPool1d", (3,), {}),
    ("AdaptiveAvgPool2d", (3,), {}),
    ("AdaptiveAvgPool2d", ((None, 2),), {}),
    ("AdaptiveAvgPool2d", ((1, 1),), {}),
    ("AdaptiveMaxPool1d", (4,), {}),
    ("AdaptiveMaxPool2d", ((2, 3),), {}),
    ("AdaptiveMaxPool2d", ((None, 3),), {}),
]
POOL_IDS = [f"{n}{a}{k}" for n, a, k in POOLS]


@pytest.mark.parametrize("name,args,kwargs", POOLS, ids=POOL_IDS)
def test_pool_repr_like_torch(name, args, kwargs):
    t, m = both(name, *args, **kwargs)
    assert repr(m) == repr(t)
    assert m.state_dict() == {} and len(t.state_dict()) == 0
    for attr in ("kernel_size", "stride", "padding", "dilation", "ceil_mode",
                 "count_include_pad", "divisor_override", "output_size", "return_indices"):
        assert getattr(m, attr, None) == getattr(t, attr, None), attr


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name,args,kwargs", POOLS, ids=POOL_IDS)
def test_pool_layer_matches_torch(name, args, kwargs, dtype):
    spatial = (7, 9) if "2d" in name else (11,)
    for shape in ((2, 3) + spatial, (3,) + spatial):
        t, m = both(name, *args, **kwargs)
        run_pair(t, m, distinct(*shape, seed=4), dtype)


@pytest.mark.parametrize("name,args", [
    ("MaxPool2d", (3, 2, 1)), ("MaxPool1d", (2,)), ("AdaptiveMaxPool2d", ((2, 3),)),
    ("AdaptiveMaxPool1d", (4,))], ids=str)
def test_max_pool_layers_return_indices(name, args):
    t, m = both(name, *args, return_indices=True)
    x = distinct(2, 3, 7, 9, seed=5) if "2d" in name else distinct(2, 3, 11, seed=5)
    (vt, it), (vm, im) = t(torch.tensor(x)), m(mg.tensor(x))
    assert_close(vm, vt)
    np.testing.assert_array_equal(im.numpy(), it.numpy())


# ------------------------------------------------------------------ a short training run
def small_cnn(nn):
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2, ceil_mode=True),
        nn.Conv2d(4, 6, 3, padding="same", groups=2, padding_mode="reflect"), nn.Tanh(),
        nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False),
        nn.AdaptiveAvgPool2d((2, 2)), nn.Flatten(), nn.Linear(24, 3))


def test_sgd_training_losses_match_torch():
    torch.manual_seed(0)
    tnet, mnet = small_cnn(torch.nn), small_cnn(mg.nn)
    mnet.load_state_dict(tnet.state_dict())
    x, y = randn(8, 1, 7, 7, seed=6).astype(np.float32), np.arange(8) % 3
    topt = torch.optim.SGD(tnet.parameters(), lr=0.1, momentum=0.9)
    mopt = mg.optim.SGD(mnet.parameters(), lr=0.1, momentum=0.9)
    losses = []
    for _ in range(15):
        for lib, net, opt in ((torch, tnet, topt), (mg, mnet, mopt)):
            opt.zero_grad()
            loss = lib.nn.functional.cross_entropy(net(lib.tensor(x)), lib.tensor(y))
            loss.backward()
            opt.step()
            losses.append(loss.item())
    t_losses, m_losses = losses[0::2], losses[1::2]
    np.testing.assert_allclose(m_losses, t_losses, rtol=1e-4, atol=1e-5)
    assert t_losses[-1] < t_losses[0]        # it learns something: the test can fail
