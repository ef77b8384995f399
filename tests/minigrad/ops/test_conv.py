"""Convolution and pooling (minigrad/ops/conv.py): conv2d, max_pool2d vs torch."""

import numpy as np
import pytest
import torch

import minigrad as mg
import minigrad.nn.functional as MF
from mgtest import assert_same_outcome, compare, distinct, gradcheck, np_dtype_name, randn


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
                    expected[n, o, i, j] = (
                        np.sum(xp[n, :, i * s : i * s + 3, j * s : j * s + 3] * w[o]) + b[o]
                    )
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
    gradcheck(
        lambda T, a: F(T).max_pool2d(a, k, stride=s, padding=p), distinct(1, 2, 5, 5, seed=23)
    )


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


# ------------------------------------------------------------------ conv options
# (input shape, weight shape, options): stride, padding (int, tuple, 'valid', 'same'),
# dilation, groups, unbatched inputs
CONV2D_OPTIONS = [
    ((2, 4, 7, 6), (6, 2, 3, 3), dict(groups=2)),
    ((2, 4, 7, 6), (4, 1, 3, 2), dict(groups=4, padding=(1, 0))),       # depthwise
    ((1, 3, 9, 8), (2, 3, 3, 3), dict(dilation=2)),
    ((1, 3, 9, 8), (2, 3, 2, 3), dict(dilation=(2, 1), stride=(2, 1), padding=(2, 1))),
    ((2, 2, 6, 7), (3, 2, 3, 3), dict(padding="same")),
    ((2, 2, 6, 7), (3, 2, 4, 2), dict(padding="same")),                 # even kernels
    ((2, 2, 8, 7), (3, 2, 3, 4), dict(padding="same", dilation=(2, 3))),
    ((2, 2, 6, 7), (3, 2, 3, 3), dict(padding="valid", stride=2)),
    ((6, 4, 5), (4, 3, 2, 2), dict(groups=2, padding=1)),               # unbatched
    ((3, 6, 7), (2, 3, 3, 3), dict(stride=(3, 2), dilation=(1, 2), padding=(1, 2))),
    ((2, 6, 9, 9), (6, 2, 3, 3), dict(stride=2, padding=2, dilation=2, groups=3)),
]


@pytest.mark.parametrize("xs,ws,options", CONV2D_OPTIONS, ids=str)
@pytest.mark.filterwarnings("ignore:Using padding='same'")
def test_conv2d_options_match_torch(xs, ws, options):
    x, w, b = randn(*xs, seed=40), randn(*ws, seed=41), randn(ws[0], seed=42)
    compare(lambda T, a, ww, bb: F(T).conv2d(a, ww, bb, **options), x, w, b)
    compare(lambda T, a, ww: F(T).conv2d(a, ww, **options), x, w)


CONV1D_OPTIONS = [
    ((2, 3, 9), (4, 3, 3), dict()),
    ((2, 3, 9), (4, 3, 3), dict(stride=2, padding=1)),
    ((2, 4, 10), (6, 2, 3), dict(groups=2, dilation=2, padding=(2,))),
    ((2, 4, 10), (4, 1, 4), dict(groups=4, padding="same")),
    ((2, 4, 10), (4, 2, 3), dict(groups=2, padding="same", dilation=3)),
    ((2, 3, 8), (5, 3, 3), dict(padding="valid", stride=3)),
    ((3, 11), (2, 3, 2), dict(stride=2, dilation=3, padding=1)),        # unbatched
]


@pytest.mark.parametrize("xs,ws,options", CONV1D_OPTIONS, ids=str)
@pytest.mark.filterwarnings("ignore:Using padding='same'")
def test_conv1d_matches_torch(xs, ws, options):
    x, w, b = randn(*xs, seed=43), randn(*ws, seed=44), randn(ws[0], seed=45)
    compare(lambda T, a, ww, bb: F(T).conv1d(a, ww, bb, **options), x, w, b)
    compare(lambda T, a, ww: F(T).conv1d(a, ww, None, **options), x, w)


@pytest.mark.parametrize("options", [dict(groups=2, dilation=2),
                                     dict(stride=2, padding=(1, 2), groups=2)], ids=str)
def test_conv2d_grouped_dilated_gradcheck(options):
    x, w, b = randn(1, 4, 6, 6, seed=46), randn(4, 2, 2, 3, seed=47), randn(4, seed=48)
    gradcheck(lambda T, a, ww, bb: F(T).conv2d(a, ww, bb, **options), x, w, b)


def test_conv1d_gradcheck():
    x, w, b = randn(2, 2, 7, seed=49), randn(3, 2, 3, seed=50), randn(3, seed=51)
    gradcheck(lambda T, a, ww, bb: F(T).conv1d(a, ww, bb, stride=2, padding=1, dilation=2),
              x, w, b)


def test_conv2d_only_weight_needs_grad():
    x, w = randn(2, 4, 6, 6, seed=52), randn(4, 2, 3, 3, seed=53)
    xt, wt = torch.tensor(x), torch.tensor(w, requires_grad=True)
    xm, wm = mg.tensor(x), mg.tensor(w, requires_grad=True)
    upstream = randn(2, 4, 4, 4, seed=54)
    torch.nn.functional.conv2d(xt, wt, groups=2).backward(torch.tensor(upstream))
    MF.conv2d(xm, wm, groups=2).backward(mg.tensor(upstream))
    np.testing.assert_allclose(wm.grad.numpy(), wt.grad.numpy(), rtol=1e-10, atol=1e-10)


# ------------------------------------------------------------------ max pooling options
MAX_POOL2D_OPTIONS = [
    dict(kernel_size=2, ceil_mode=True),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
    dict(kernel_size=(2, 3), stride=(1, 2), padding=(1, 1)),
    dict(kernel_size=3, dilation=2),
    dict(kernel_size=2, stride=1, padding=1, dilation=(2, 1)),
    dict(kernel_size=3, stride=2, padding=1, dilation=2, ceil_mode=True),
    dict(kernel_size=(3,), stride=[]),
]


@pytest.mark.parametrize("options", MAX_POOL2D_OPTIONS, ids=str)
@pytest.mark.parametrize("shape", [(2, 3, 7, 8), (3, 5, 7)], ids=str)
def test_max_pool2d_options_match_torch(options, shape):
    x = distinct(*shape, seed=60)
    compare(lambda T, a: F(T).max_pool2d(a, **options), x)


MAX_POOL1D_OPTIONS = [
    dict(kernel_size=2),
    dict(kernel_size=3, stride=1, padding=1),
    dict(kernel_size=2, ceil_mode=True),
    dict(kernel_size=3, stride=2, padding=1, dilation=2, ceil_mode=True),
    dict(kernel_size=(2,), stride=(3,), padding=(1,)),
]


@pytest.mark.parametrize("options", MAX_POOL1D_OPTIONS, ids=str)
@pytest.mark.parametrize("shape", [(2, 3, 9), (3, 10)], ids=str)
def test_max_pool1d_matches_torch(options, shape):
    compare(lambda T, a: F(T).max_pool1d(a, **options), distinct(*shape, seed=61))


@pytest.mark.parametrize("fn,shape,options", [
    ("max_pool2d", (2, 3, 7, 8),
     dict(kernel_size=3, stride=2, padding=1, dilation=2, ceil_mode=True)),
    ("max_pool2d", (3, 5, 6), dict(kernel_size=2, padding=1)),
    ("max_pool1d", (2, 3, 9), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
    ("max_pool1d", (3, 9), dict(kernel_size=2, dilation=2)),
], ids=str)
def test_max_pool_return_indices_match_torch(fn, shape, options):
    x = distinct(*shape, seed=62)
    vt, it = getattr(torch.nn.functional, fn)(torch.tensor(x), return_indices=True, **options)
    vm, im = getattr(MF, fn)(mg.tensor(x), return_indices=True, **options)
    np.testing.assert_array_equal(vm.numpy(), vt.numpy())
    assert np_dtype_name(im) == "int64"
    np.testing.assert_array_equal(im.numpy(), it.numpy())


# ------------------------------------------------------------------ average pooling
AVG_POOL2D_OPTIONS = [
    dict(kernel_size=2),
    dict(kernel_size=3, stride=1, padding=1),
    dict(kernel_size=3, stride=1, padding=1, count_include_pad=False),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
    dict(kernel_size=(2, 3), stride=(2, 1), padding=(1, 0), ceil_mode=True),
    dict(kernel_size=2, padding=1, divisor_override=3),
    dict(kernel_size=(3, 2), stride=2, ceil_mode=True, divisor_override=5),
]


@pytest.mark.parametrize("options", AVG_POOL2D_OPTIONS, ids=str)
@pytest.mark.parametrize("shape", [(2, 3, 7, 8), (3, 5, 6)], ids=str)
def test_avg_pool2d_matches_torch(options, shape):
    compare(lambda T, a: F(T).avg_pool2d(a, **options), randn(*shape, seed=63))


AVG_POOL1D_OPTIONS = [
    dict(kernel_size=2),
    dict(kernel_size=3, stride=1, padding=1, count_include_pad=False),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
    dict(kernel_size=4, stride=3, padding=2, ceil_mode=True, count_include_pad=False),
]


@pytest.mark.parametrize("options", AVG_POOL1D_OPTIONS, ids=str)
@pytest.mark.parametrize("shape", [(2, 3, 9), (3, 10)], ids=str)
def test_avg_pool1d_matches_torch(options, shape):
    compare(lambda T, a: F(T).avg_pool1d(a, **options), randn(*shape, seed=64))


def test_avg_pool2d_gradcheck():
    gradcheck(lambda T, a: F(T).avg_pool2d(a, 3, 2, 1, ceil_mode=True, count_include_pad=False),
              randn(1, 2, 6, 5, seed=65))


# ------------------------------------------------------------------ adaptive pooling
ADAPTIVE_2D = [((2, 3, 7, 9), 3), ((2, 3, 7, 9), (2, 4)), ((2, 3, 5, 5), (None, 2)),
               ((2, 3, 4, 6), (7, 8)), ((3, 8, 6), 1), ((2, 2, 6, 6), (6, None)),
               ((2, 3, 5, 7), (3, 5))]


@pytest.mark.parametrize("shape,size", ADAPTIVE_2D, ids=str)
def test_adaptive_avg_pool2d_matches_torch(shape, size):
    compare(lambda T, a: F(T).adaptive_avg_pool2d(a, size), randn(*shape, seed=66))


@pytest.mark.parametrize("shape,size", ADAPTIVE_2D, ids=str)
def test_adaptive_max_pool2d_matches_torch(shape, size):
    x = distinct(*shape, seed=67)
    compare(lambda T, a: F(T).adaptive_max_pool2d(a, size), x)
    vt, it = torch.nn.functional.adaptive_max_pool2d(torch.tensor(x), size, return_indices=True)
    vm, im = MF.adaptive_max_pool2d(mg.tensor(x), size, return_indices=True)
    np.testing.assert_array_equal(im.numpy(), it.numpy())


ADAPTIVE_1D = [((2, 3, 10), 3), ((2, 3, 10), (4,)), ((3, 7), 5), ((2, 2, 4), 9), ((2, 2, 6), 1)]


@pytest.mark.parametrize("shape,size", ADAPTIVE_1D, ids=str)
def test_adaptive_pool1d_matches_torch(shape, size):
    compare(lambda T, a: F(T).adaptive_avg_pool1d(a, size), randn(*shape, seed=68))
    compare(lambda T, a: F(T).adaptive_max_pool1d(a, size), distinct(*shape, seed=69))


def test_adaptive_pools_gradcheck():
    x = distinct(1, 2, 5, 7, seed=70)
    gradcheck(lambda T, a: F(T).adaptive_avg_pool2d(a, (3, 4)), x)
    gradcheck(lambda T, a: F(T).adaptive_max_pool2d(a, (3, 4)), x)


# ------------------------------------------------------------------ errors: both raise
def _x(T, *shape):
    return T.tensor(randn(*shape, seed=71))


ERRORS = {
    "groups_not_dividing_in_channels":
        lambda T: F(T).conv2d(_x(T, 2, 4, 5, 5), _x(T, 6, 2, 3, 3), groups=3),
    "groups_not_dividing_out_channels":
        lambda T: F(T).conv2d(_x(T, 2, 4, 5, 5), _x(T, 5, 2, 3, 3), groups=2),
    "kernel_bigger_than_input": lambda T: F(T).conv2d(_x(T, 2, 4, 5, 5), _x(T, 6, 4, 7, 7)),
    "dilated_kernel_bigger_than_input":
        lambda T: F(T).conv1d(_x(T, 2, 4, 5), _x(T, 6, 4, 3), dilation=3),
    "same_with_stride":
        lambda T: F(T).conv2d(_x(T, 1, 2, 5, 5), _x(T, 1, 2, 3, 3), padding="same", stride=2),
    "bad_padding_string":
        lambda T: F(T).conv2d(_x(T, 1, 2, 5, 5), _x(T, 1, 2, 3, 3), padding="full"),
    "zero_dilation": lambda T: F(T).conv2d(_x(T, 1, 2, 5, 5), _x(T, 1, 2, 3, 3), dilation=0),
    "stride_of_three_values":
        lambda T: F(T).conv2d(_x(T, 1, 2, 5, 5), _x(T, 1, 2, 3, 3), stride=(1, 2, 3)),
    "conv1d_padding_of_two_values":
        lambda T: F(T).conv1d(_x(T, 1, 2, 5), _x(T, 1, 2, 3), padding=(1, 1)),
    "conv2d_on_2d_input": lambda T: F(T).conv2d(_x(T, 5, 5), _x(T, 1, 2, 3, 3)),
    "bias_of_wrong_size": lambda T: F(T).conv2d(_x(T, 1, 2, 5, 5), _x(T, 3, 2, 3, 3), _x(T, 2)),
    "conv_dtype_mismatch": lambda T: F(T).conv2d(_x(T, 1, 2, 5, 5).float(), _x(T, 3, 2, 3, 3)),
    "max_pool_window_bigger_than_input": lambda T: F(T).max_pool2d(_x(T, 1, 2, 5, 5), 7),
    "max_pool_padding_above_half_dilated":
        lambda T: F(T).max_pool2d(_x(T, 1, 2, 9, 9), 3, padding=2, dilation=2),
    "max_pool_zero_dilation": lambda T: F(T).max_pool2d(_x(T, 1, 2, 5, 5), 3, dilation=0),
    "max_pool_negative_kernel": lambda T: F(T).max_pool2d(_x(T, 1, 2, 5, 5), -1),
    "max_pool2d_on_2d_input": lambda T: F(T).max_pool2d(_x(T, 5, 5), 2),
    "max_pool1d_on_1d_input": lambda T: F(T).max_pool1d(_x(T, 5), 2),
    "max_pool_stride_of_three": lambda T: F(T).max_pool2d(_x(T, 1, 2, 5, 5), 2, stride=(1, 2, 3)),
    "avg_pool_padding_above_half": lambda T: F(T).avg_pool2d(_x(T, 1, 2, 5, 5), 3, padding=2),
    "avg_pool_window_bigger_than_input": lambda T: F(T).avg_pool1d(_x(T, 1, 2, 5), 6),
    "avg_pool_zero_divisor": lambda T: F(T).avg_pool2d(_x(T, 1, 2, 5, 5), 2, divisor_override=0),
    "avg_pool2d_on_2d_input": lambda T: F(T).avg_pool2d(_x(T, 5, 5), 2),
    "avg_pool_zero_stride": lambda T: F(T).avg_pool2d(_x(T, 1, 2, 5, 5), 2, stride=0),
    "adaptive_negative_size": lambda T: F(T).adaptive_avg_pool2d(_x(T, 1, 2, 5, 5), -1),
    "adaptive_three_sizes": lambda T: F(T).adaptive_avg_pool2d(_x(T, 1, 2, 5, 5), (1, 2, 3)),
    "adaptive1d_none": lambda T: F(T).adaptive_avg_pool1d(_x(T, 1, 2, 5), None),
    "adaptive_avg_of_integers":
        lambda T: F(T).adaptive_avg_pool2d(T.ones(1, 1, 4, 4, dtype=T.int64), 2),
    "adaptive2d_on_2d_input": lambda T: F(T).adaptive_max_pool2d(_x(T, 5, 5), 2),
}


@pytest.mark.parametrize("name", list(ERRORS))
def test_errors_like_torch(name):
    t_error, m_error = assert_same_outcome(ERRORS[name])
    assert isinstance(t_error, Exception) and str(m_error)


def test_conv_channel_error_names_the_shapes_and_groups():
    with pytest.raises(RuntimeError, match=r"\(2, 4, 5, 5\).*groups=3"):
        MF.conv2d(mg.ones(2, 4, 5, 5), mg.ones(6, 2, 3, 3), groups=3)


def _changed_in_place_before_backward(fn):
    def program(T):
        x = T.tensor(randn(1, 2, 6, 6, seed=72), requires_grad=True) * 1
        y = fn(F(T), x).sum()
        with T.no_grad():
            x.add_(1)
        y.backward()
    return program


IN_PLACE = {
    "conv2d": lambda f, x: f.conv2d(x, x[:1, :1].expand(3, 2, 6, 6)[:, :, :3, :3], dilation=2),
    "max_pool2d": lambda f, x: f.max_pool2d(x, 2),
    "avg_pool2d": lambda f, x: f.avg_pool2d(x, 3, padding=1),
    "adaptive_avg_pool2d": lambda f, x: f.adaptive_avg_pool2d(x, 4),
    "adaptive_max_pool2d": lambda f, x: f.adaptive_max_pool2d(x, 4),
}


@pytest.mark.parametrize("name", list(IN_PLACE))
def test_input_changed_in_place_before_backward_raises_like_torch(name):
    assert_same_outcome(_changed_in_place_before_backward(IN_PLACE[name]))


def test_max_pool_of_integers_matches_torch():
    x = np.arange(-30, 30).reshape(1, 2, 5, 6) * 7 % 23
    compare(lambda T, a: F(T).max_pool2d(a, 3, stride=2, padding=1, ceil_mode=True), x,
            backward=False)
    assert_same_outcome(lambda T: F(T).max_pool1d(T.tensor(x[:, :, 0]), 2))     # both raise
