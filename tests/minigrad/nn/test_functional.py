"""minigrad.nn.functional (minigrad/nn/functional.py): the namespace, torch-compatible
signatures and a small functional network against torch."""

import numpy as np
import pytest
import torch

import minigrad as mg
import minigrad.nn.functional as MF
from mgtest import compare, distinct, gradcheck, message_has_shape, randn

NAMES = [
    "linear",
    "relu",
    "softmax",
    "log_softmax",
    "cross_entropy",
    "mse_loss",
    "conv2d",
    "max_pool2d",
    "dropout",
]


@pytest.mark.parametrize("name", NAMES)
def test_functional_names_exist(name):
    assert callable(getattr(MF, name))
    assert getattr(mg.nn.functional, name) is getattr(MF, name)


def F(T):
    return T.nn.functional


def test_relu():
    x = randn(3, 4, seed=1)
    x[np.abs(x) < 0.05] = 0.3
    compare(lambda T, a: F(T).relu(a), x)
    gradcheck(lambda T, a: F(T).relu(a), x)


def test_softmax_log_softmax_keyword_dim():
    x = randn(2, 5, seed=2)
    compare(lambda T, a: F(T).softmax(a, dim=-1), x)
    compare(lambda T, a: F(T).log_softmax(a, dim=0), x)
    compare(lambda T, a: F(T).softmax(a, 1), x)


def test_log_softmax_equals_log_of_softmax():
    x = randn(3, 4, seed=3)
    a = MF.log_softmax(mg.tensor(x), dim=1).numpy()
    b = np.log(MF.softmax(mg.tensor(x), dim=1).numpy())
    np.testing.assert_allclose(a, b, rtol=1e-10)


def test_cross_entropy_keyword_reduction_and_positional_target():
    x = randn(4, 3, seed=4)
    tgt = np.array([2, 0, 1, 1])
    for red in ("mean", "sum", "none"):
        compare(lambda T, a: F(T).cross_entropy(a, T.tensor(tgt), reduction=red), x)
    compare(lambda T, a: F(T).cross_entropy(input=a, target=T.tensor(tgt)), x)


def test_cross_entropy_equals_nll_of_log_softmax():
    x = randn(4, 3, seed=5)
    tgt = np.array([2, 0, 1, 1])
    ls = MF.log_softmax(mg.tensor(x), dim=1).numpy()
    expected = -ls[np.arange(4), tgt]
    got = MF.cross_entropy(mg.tensor(x), mg.tensor(tgt), reduction="none").numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-10)


def test_mse_loss_keyword_args():
    a, b = randn(3, 2, seed=6), randn(3, 2, seed=7)
    compare(lambda T, x, y: F(T).mse_loss(x, y), a, b)
    compare(lambda T, x, y: F(T).mse_loss(input=x, target=y), a, b)


def test_conv2d_and_max_pool2d_keywords():
    x, w, b = randn(1, 2, 6, 6, seed=8), randn(3, 2, 3, 3, seed=9), randn(3, seed=10)
    compare(lambda T, a, ww, bb: F(T).conv2d(a, ww, bias=bb, stride=2, padding=1), x, w, b)
    compare(lambda T, a, ww, bb: F(T).conv2d(a, ww, bb, 1, 1), x, w, b)
    y = distinct(1, 2, 6, 6, seed=11)
    compare(lambda T, a: F(T).max_pool2d(a, kernel_size=2, stride=2), y)
    compare(lambda T, a: F(T).max_pool2d(a, 3, 1, 1), y)


def test_linear_keyword_bias():
    x, w, b = randn(2, 3, seed=12), randn(4, 3, seed=13), randn(4, seed=14)
    compare(lambda T, a, ww, bb: F(T).linear(a, ww, bias=bb), x, w, b)


def test_dropout_signature():
    x = randn(30, 30, seed=15)
    np.testing.assert_array_equal(MF.dropout(mg.tensor(x), p=0.3, training=False).numpy(), x)
    mg.manual_seed(0)
    out = MF.dropout(mg.tensor(x), 0.3, True).numpy()
    frac = (out == 0).mean()
    assert 0.2 < frac < 0.4


def test_functional_cnn_forward_backward_matches_torch():
    def net(T, x, w1, b1, w2, b2, w3):
        h = F(T).relu(F(T).conv2d(x, w1, b1, stride=1, padding=1))
        h = F(T).max_pool2d(h, 2)
        h = F(T).conv2d(h, w2, b2, stride=2)
        h = h.flatten(1)
        logits = F(T).linear(h, w3)
        return F(T).cross_entropy(logits, T.tensor([0, 2, 1]))

    args = [
        randn(3, 1, 8, 8, seed=20),
        randn(4, 1, 3, 3, seed=21) * 0.5,
        randn(4, seed=22) * 0.1,
        randn(5, 4, 2, 2, seed=23) * 0.5,
        randn(5, seed=24) * 0.1,
        randn(3, 5 * 2 * 2, seed=25) * 0.3,
    ]
    compare(net, *args, grad_atol=1e-5, grad_rtol=1e-4)


def test_mlp_with_softmax_and_mse_matches_torch():
    def net(T, x, w1, b1, w2, target):
        p = F(T).softmax(F(T).linear(F(T).relu(F(T).linear(x, w1, b1)), w2), dim=1)
        return F(T).mse_loss(p, target)

    target = np.eye(3)[[0, 1, 2, 0]]
    compare(
        net,
        randn(4, 5, seed=30),
        randn(6, 5, seed=31),
        randn(6, seed=32),
        randn(3, 6, seed=33),
        target,
    )


# ------------------------------------------------------------ loss input errors
@pytest.mark.parametrize("fn", ["cross_entropy", "mse_loss"])
def test_unknown_reduction_is_a_value_error_like_torch(fn):
    x = np.zeros((4, 3), np.float32)
    target = np.zeros(4, np.int64) if fn == "cross_entropy" else x
    for lib in (mg, torch):
        F_ = lib.nn.functional
        with pytest.raises(ValueError):
            getattr(F_, fn)(lib.tensor(x), lib.tensor(target), reduction="avg")


def test_cross_entropy_wrong_target_shape_names_both_shapes():
    with pytest.raises(RuntimeError) as info:
        MF.cross_entropy(mg.zeros(4, 3), mg.tensor([0, 1, 2]))
    assert "cross_entropy" in str(info.value)
    assert message_has_shape(str(info.value), (4, 3)) and message_has_shape(str(info.value), (3,))


def test_cross_entropy_float_targets_ask_for_class_indices():
    with pytest.raises(RuntimeError, match="int64"):
        MF.cross_entropy(mg.zeros(4, 3), mg.tensor([0.0, 1.0, 2.0, 1.0]))


def test_cross_entropy_target_out_of_range_is_an_index_error_like_torch():
    logits, target = np.zeros((4, 3), np.float32), np.array([0, 1, 3, 1])
    with pytest.raises(IndexError):
        torch.nn.functional.cross_entropy(torch.tensor(logits), torch.tensor(target))
    with pytest.raises(IndexError, match="0..2"):
        MF.cross_entropy(mg.tensor(logits), mg.tensor(target))


def test_mse_loss_shape_mismatch_names_both_shapes():
    with pytest.raises(RuntimeError) as info:
        MF.mse_loss(mg.zeros(4, 3), mg.zeros(3))
    assert "mse_loss" in str(info.value)
    assert message_has_shape(str(info.value), (4, 3)) and message_has_shape(str(info.value), (3,))
