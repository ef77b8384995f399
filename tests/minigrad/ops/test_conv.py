"""Convolution and pooling (minigrad/ops/conv.py): conv2d, max_pool2d vs torch."""

import numpy as np
import pytest
import torch

import minigrad as mg
import minigrad.nn.functional as MF
from mgtest import compare, distinct, gradcheck, np_dtype_name, randn


def F(T):
    return T.nn.functional


# (N, Cin, H, W, Cout, k, stride, padding)
CONV_CASES = [
    (2, 1, 5, 5, 2, 3, 1, 0),
    (2, 3, 6, 6, 4, 3, 1, 1),
    (1, 2, 7, 7, 3, 3, 2, 0),
    (2, 3, 6, 5, 2, 3, 2, 1),
    (1, 4, 4, 4, 1, 1, 1, 0),
    (1, 2, 5, 6, 3, 2, 2, 1),
    (3, 1, 4, 4, 5, 4, 1, 0),
]
CONV_IDS = ["N{}C{}H{}W{}-O{}k{}s{}p{}".format(*c) for c in CONV_CASES]


@pytest.mark.parametrize("case", CONV_CASES, ids=CONV_IDS)
@pytest.mark.parametrize("bias", [True, False])
def test_conv2d_matches_torch(case, bias):
    n, cin, h, w, cout, k, s, p = case
    x = randn(n, cin, h, w, seed=1)
    wt = randn(cout, cin, k, k, seed=2) * 0.5
    if bias:
        b = randn(cout, seed=3)
        compare(lambda T, a, ww, bb: F(T).conv2d(a, ww, bb, stride=s, padding=p), x, wt, b)
    else:
        compare(lambda T, a, ww: F(T).conv2d(a, ww, stride=s, padding=p), x, wt)
        compare(lambda T, a, ww: F(T).conv2d(a, ww, None, stride=s, padding=p), x, wt)


def test_conv2d_defaults():
    x, w = randn(1, 2, 5, 5, seed=4), randn(3, 2, 3, 3, seed=5)
    compare(lambda T, a, ww: F(T).conv2d(a, ww), x, w)


@pytest.mark.parametrize("s,p", [(1, 0), (2, 1), (1, 1)])
def test_conv2d_gradcheck(s, p):
    x, w, b = randn(1, 2, 5, 4, seed=6), randn(2, 2, 3, 3, seed=7), randn(2, seed=8)
    gradcheck(lambda T, a, ww, bb: F(T).conv2d(a, ww, bb, stride=s, padding=p), x, w, b)


def test_conv2d_against_numpy_loop():
    x, w, b = randn(2, 2, 5, 5, seed=9), randn(3, 2, 3, 3, seed=10), randn(3, seed=11)
    s, p = 2, 1
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    ho = (5 + 2 * p - 3) // s + 1
    expected = np.zeros((2, 3, ho, ho))
    for n in range(2):
        for o in range(3):
            for i in range(ho):
                for j in range(ho):
                    expected[n, o, i, j] = np.sum(xp[n, :, i * s:i * s + 3, j * s:j * s + 3] * w[o]) + b[o]
    out = MF.conv2d(mg.tensor(x), mg.tensor(w), mg.tensor(b), stride=s, padding=p).numpy()
    np.testing.assert_allclose(out, expected, rtol=1e-10, atol=1e-12)


def test_conv2d_input_reused():
    x, w = randn(1, 2, 5, 5, seed=12), randn(2, 2, 3, 3, seed=13)
    compare(lambda T, a, ww: F(T).conv2d(a, ww, padding=1) * a[:, :1], x, w)


@pytest.mark.parametrize("dt", ["float32", "float64"])
def test_conv_pool_dtypes(dt):
    x = mg.tensor(randn(1, 2, 4, 4).astype(dt), requires_grad=True)
    w = mg.tensor(randn(3, 2, 3, 3).astype(dt), requires_grad=True)
    y = MF.conv2d(x, w, padding=1)
    z = MF.max_pool2d(y, 2)
    assert np_dtype_name(y) == dt and np_dtype_name(z) == dt
    z.sum().backward()
    assert np_dtype_name(x.grad) == dt and np_dtype_name(w.grad) == dt


# ------------------------------------------------------------------ max_pool2d
# (N, C, H, W, kernel, stride, padding)
POOL_CASES = [
    (2, 3, 4, 4, 2, 2, 0),
    (1, 2, 6, 6, 2, 2, 0),
    (2, 2, 5, 5, 2, 2, 0),  # odd size: last row/col dropped
    (1, 2, 5, 5, 3, 1, 1),  # overlapping windows with padding
    (2, 1, 6, 4, 3, 1, 1),
    (1, 2, 7, 7, 3, 2, 1),
    (1, 1, 5, 5, 3, 1, 0),
]
POOL_IDS = ["N{}C{}H{}W{}-k{}s{}p{}".format(*c) for c in POOL_CASES]


@pytest.mark.parametrize("case", POOL_CASES, ids=POOL_IDS)
def test_max_pool2d_matches_torch(case):
    n, c, h, w, k, s, p = case
    x = distinct(n, c, h, w, seed=20)
    compare(lambda T, a: F(T).max_pool2d(a, k, stride=s, padding=p), x)


@pytest.mark.parametrize("case", POOL_CASES, ids=POOL_IDS)
def test_max_pool2d_random_normal_inputs(case):
    n, c, h, w, k, s, p = case
    x = randn(n, c, h, w, seed=21)
    compare(lambda T, a: F(T).max_pool2d(a, k, s, p), x)


def test_max_pool2d_stride_defaults_to_kernel():
    x = distinct(1, 2, 6, 6, seed=22)
    compare(lambda T, a: F(T).max_pool2d(a, 2), x)
    compare(lambda T, a: F(T).max_pool2d(a, kernel_size=3), x)


@pytest.mark.parametrize("k,s,p", [(2, 2, 0), (3, 1, 1)])
def test_max_pool2d_gradcheck(k, s, p):
    gradcheck(lambda T, a: F(T).max_pool2d(a, k, stride=s, padding=p), distinct(1, 2, 5, 5, seed=23))


def test_max_pool2d_overlapping_gradient_accumulates():
    # the global max lies in all 9 overlapping 3x3 windows (stride 1, padding 1) around it
    x = np.zeros((1, 1, 3, 3))
    x[0, 0] = [[0.1, 0.2, 0.3], [0.4, 9.0, 0.5], [0.6, 0.7, 0.8]]
    t = mg.tensor(x, requires_grad=True)
    MF.max_pool2d(t, 3, stride=1, padding=1).sum().backward()
    expected = np.zeros_like(x)
    expected[0, 0, 1, 1] = 9.0
    np.testing.assert_allclose(t.grad.numpy(), expected)


def test_max_pool2d_negative_inputs_with_padding():
    # padding must act like -inf, not 0
    x = -np.abs(distinct(1, 1, 4, 4, seed=24)) - 1.0
    compare(lambda T, a: F(T).max_pool2d(a, 3, stride=1, padding=1), x)
    out = MF.max_pool2d(mg.tensor(x), 3, stride=1, padding=1).numpy()
    assert np.all(out < 0)


def test_conv_then_pool_then_linear_pipeline():
    x = randn(2, 1, 6, 6, seed=25)
    w1, b1 = randn(3, 1, 3, 3, seed=26), randn(3, seed=27)
    w2, b2 = randn(4, 27, seed=28) * 0.2, randn(4, seed=29)

    def net(T, a, c1w, c1b, lw, lb):
        h = F(T).conv2d(a, c1w, c1b, padding=1).relu()
        h = F(T).max_pool2d(h, 2)
        h = h.reshape(2, -1)
        return F(T).cross_entropy(F(T).linear(h, lw, lb), T.tensor([1, 3]))

    compare(net, x, w1, b1, w2, b2)


@pytest.mark.parametrize("k,s,p", [(2, None, 0), (3, 1, 1), (3, 2, 0)])
def test_max_pool2d_ties_send_the_gradient_where_torch_does(k, s, p):
    # after a ReLU many windows are all zeros; PyTorch gives each window's gradient
    # to the first maximum in row-major order, and so must minigrad
    x = np.maximum(np.round(randn(2, 2, 6, 6, seed=30)), 0)
    x[0, 0, :2, :2] = 1.0
    upstream = randn(*MF.max_pool2d(mg.tensor(x), k, stride=s, padding=p).shape, seed=31)
    t = torch.tensor(x, requires_grad=True)
    torch.nn.functional.max_pool2d(t, k, stride=s, padding=p).backward(torch.tensor(upstream))
    m = mg.tensor(x, requires_grad=True)
    MF.max_pool2d(m, k, stride=s, padding=p).backward(mg.tensor(upstream))
    # overlapping windows add into shared pixels in another order: allow rounding only
    np.testing.assert_allclose(m.grad.numpy(), t.grad.numpy(), rtol=1e-12, atol=1e-12)
