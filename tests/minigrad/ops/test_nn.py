"""NN ops (minigrad/ops/nn.py): softmax, log_softmax, cross_entropy, mse_loss, linear,
dropout; numerical stability."""

import numpy as np
import pytest
import torch

import minigrad as mg
import minigrad.nn.functional as MF
from mgtest import assert_same_outcome, compare, gradcheck, np_dtype_name, randn


def F(T):
    return T.nn.functional


# ------------------------------------------------------------------ softmax / log_softmax
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize(
    "shape,dim",
    [((3, 5), 1), ((3, 5), 0), ((3, 5), -1), ((2, 3, 4), 1), ((2, 3, 4), -1), ((5,), 0)],
    ids=str,
)
def test_softmax_method(name, shape, dim):
    compare(lambda T, x: getattr(x, name)(dim), randn(*shape, seed=1))
    compare(lambda T, x: getattr(x, name)(dim=dim), randn(*shape, seed=1))


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_softmax_functional(name, dim):
    compare(lambda T, x: getattr(F(T), name)(x, dim=dim), randn(4, 3, seed=2))


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_gradcheck(name):
    gradcheck(lambda T, x: getattr(x, name)(1), randn(3, 4, seed=3))
    gradcheck(lambda T, x: getattr(x, name)(0), randn(3, 4, seed=3))


def test_softmax_against_numpy_and_sums_to_one():
    x = randn(4, 6, seed=4)
    e = np.exp(x - x.max(axis=1, keepdims=True))
    expected = e / e.sum(axis=1, keepdims=True)
    out = mg.tensor(x).softmax(1).numpy()
    np.testing.assert_allclose(out, expected, rtol=1e-12)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-12)


@pytest.mark.parametrize("dt", ["float32", "float64"])
def test_softmax_large_inputs_stable(dt):
    x = np.array([[1000.0, 1001.0, 1002.0], [-1000.0, 0.0, 1000.0], [1e4, 1e4, -1e4]], dtype=dt)
    compare(lambda T, t: t.softmax(1), x, dtypes=(dt,))
    compare(lambda T, t: t.log_softmax(1), x, dtypes=(dt,))
    out = mg.tensor(x, requires_grad=True)
    ls = out.log_softmax(1)
    sm = out.softmax(1)
    (ls.sum() + sm.sum()).backward()
    assert np.all(np.isfinite(ls.detach().numpy()))
    assert np.all(np.isfinite(sm.detach().numpy()))
    assert np.all(np.isfinite(out.grad.numpy()))
    np.testing.assert_allclose(ls.detach().numpy()[1], [-2000.0, -1000.0, 0.0], rtol=1e-6)


# ------------------------------------------------------------------ cross_entropy
TARGET = np.array([0, 2, 1, 2, 4], dtype=np.int64)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_reductions(reduction):
    logits = randn(5, 5, seed=5)
    compare(lambda T, x: F(T).cross_entropy(x, T.tensor(TARGET), reduction=reduction), logits)


def test_cross_entropy_default_is_mean():
    logits = randn(5, 5, seed=6)
    compare(lambda T, x: F(T).cross_entropy(x, T.tensor(TARGET)), logits)


def test_cross_entropy_against_numpy():
    logits = randn(5, 5, seed=7)
    m = logits.max(axis=1, keepdims=True)
    lse = m[:, 0] + np.log(np.exp(logits - m).sum(axis=1))
    expected = np.mean(lse - logits[np.arange(5), TARGET])
    out = MF.cross_entropy(mg.tensor(logits), mg.tensor(TARGET))
    assert out.item() == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_gradcheck(reduction):
    gradcheck(
        lambda T, x: F(T).cross_entropy(x, T.tensor(TARGET), reduction=reduction),
        randn(5, 5, seed=8),
    )


@pytest.mark.parametrize("dt", ["float32", "float64"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_large_logits_finite(dt, reduction):
    logits = np.array(
        [[1000.0, 0.0, -1000.0], [0.0, 1000.0, 0.0], [-1000.0, -1000.0, 1000.0]], dtype=dt
    )
    target = np.array([1, 1, 0], dtype=np.int64)
    compare(
        lambda T, x: F(T).cross_entropy(x, T.tensor(target), reduction=reduction),
        logits,
        dtypes=(dt,),
    )
    x = mg.tensor(logits, requires_grad=True)
    loss = MF.cross_entropy(x, mg.tensor(target), reduction=reduction)
    loss.sum().backward()
    assert np.all(np.isfinite(loss.detach().numpy()))
    assert np.all(np.isfinite(x.grad.numpy()))


def test_cross_entropy_target_list_of_classes_one_sample():
    compare(lambda T, x: F(T).cross_entropy(x, T.tensor([3])), randn(1, 4, seed=9))


# ------------------------------------------------------------------ mse_loss
@pytest.mark.parametrize("shape", [(5,), (3, 4), ()], ids=str)
def test_mse_loss(shape):
    compare(lambda T, a, b: F(T).mse_loss(a, b), randn(*shape, seed=10), randn(*shape, seed=11))
    gradcheck(lambda T, a, b: F(T).mse_loss(a, b), randn(*shape, seed=10), randn(*shape, seed=11))


def test_mse_loss_against_numpy_and_constant_target():
    a, b = randn(3, 4, seed=12), randn(3, 4, seed=13)
    assert MF.mse_loss(mg.tensor(a), mg.tensor(b)).item() == pytest.approx(
        np.mean((a - b) ** 2), rel=1e-12
    )
    compare(lambda T, x: F(T).mse_loss(x, T.tensor(b)), a)


# ------------------------------------------------------------------ linear
@pytest.mark.parametrize("xshape", [(5, 4), (4,), (2, 3, 4)], ids=str)
@pytest.mark.parametrize("bias", [True, False])
def test_linear(xshape, bias):
    x, w, b = randn(*xshape, seed=14), randn(3, 4, seed=15), randn(3, seed=16)
    if bias:
        compare(lambda T, a, ww, bb: F(T).linear(a, ww, bb), x, w, b)
        gradcheck(lambda T, a, ww, bb: F(T).linear(a, ww, bb), x, w, b)
    else:
        compare(lambda T, a, ww: F(T).linear(a, ww), x, w)
        compare(lambda T, a, ww: F(T).linear(a, ww, None), x, w)


def test_linear_against_numpy():
    x, w, b = randn(5, 4, seed=1), randn(3, 4, seed=2), randn(3, seed=3)
    out = MF.linear(mg.tensor(x), mg.tensor(w), mg.tensor(b)).numpy()
    np.testing.assert_allclose(out, x @ w.T + b, rtol=1e-12)


# ------------------------------------------------------------------ dropout
@pytest.mark.parametrize("p", [0.2, 0.5, 0.8])
def test_dropout_training_statistics_and_grad(p):
    mg.manual_seed(0)
    xv = np.random.default_rng(0).uniform(1.0, 2.0, size=(100, 100))  # nonzero everywhere
    x = mg.tensor(xv, requires_grad=True)
    out = MF.dropout(x, p=p, training=True)
    o = out.detach().numpy()
    zero = o == 0
    frac = zero.mean()
    assert abs(frac - p) < 0.03, f"dropped fraction {frac} far from p={p}"
    np.testing.assert_allclose(o[~zero], xv[~zero] / (1 - p), rtol=1e-12)
    out.sum().backward()
    g = x.grad.numpy()
    np.testing.assert_allclose(g[zero], 0.0)
    np.testing.assert_allclose(g[~zero], 1.0 / (1 - p), rtol=1e-12)


def test_dropout_eval_is_identity():
    xv = randn(4, 5, seed=17)
    compare(lambda T, x: F(T).dropout(x, p=0.5, training=False), xv)
    out = MF.dropout(mg.tensor(xv), 0.5, training=False)
    np.testing.assert_array_equal(out.numpy(), xv)


def test_dropout_default_is_training_like_torch():
    mg.manual_seed(1)
    xv = np.ones((50, 50))
    out = MF.dropout(mg.tensor(xv), 0.5).numpy()
    assert 0.4 < (out == 0).mean() < 0.6


def test_dropout_p0_identity_and_p1_zeros():
    xv = randn(6, 7, seed=18)
    np.testing.assert_allclose(MF.dropout(mg.tensor(xv), p=0.0, training=True).numpy(), xv)
    x = mg.tensor(xv, requires_grad=True)
    out = MF.dropout(x, p=1.0, training=True)
    np.testing.assert_array_equal(
        out.detach().numpy(), torch.nn.functional.dropout(torch.tensor(xv), p=1.0).numpy()
    )
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros_like(xv))


def test_dropout_reproducible_with_manual_seed():
    xv = np.ones((20, 20), dtype=np.float32)
    mg.manual_seed(123)
    a = MF.dropout(mg.tensor(xv), 0.5, training=True).numpy()
    mg.manual_seed(123)
    b = MF.dropout(mg.tensor(xv), 0.5, training=True).numpy()
    np.testing.assert_array_equal(a, b)
    assert a.dtype == np.float32


@pytest.mark.parametrize("dt", ["float32", "float64"])
def test_nn_ops_dtypes(dt):
    x = mg.tensor(randn(3, 4).astype(dt), requires_grad=True)
    w = mg.tensor(randn(2, 4).astype(dt), requires_grad=True)
    outs = [x.softmax(1), x.log_softmax(1), MF.cross_entropy(x, mg.tensor([0, 1, 3])),
            MF.mse_loss(x, mg.tensor(randn(3, 4).astype(dt))), MF.linear(x, w), MF.dropout(x, 0.5)]
    for o in outs:
        assert np_dtype_name(o) == dt
    sum(o.sum() for o in outs).backward()
    assert np_dtype_name(x.grad) == dt and np_dtype_name(w.grad) == dt


# ------------------------------------------------------------------ activations and friends
ACTIVATIONS = {
    "gelu": lambda T, x: T.nn.functional.gelu(x),
    "gelu_tanh": lambda T, x: T.nn.functional.gelu(x, approximate="tanh"),
    "silu": lambda T, x: T.nn.functional.silu(x),
    "softplus": lambda T, x: T.nn.functional.softplus(x),
    "softplus_beta": lambda T, x: T.nn.functional.softplus(x * 10, beta=2, threshold=5),
    "leaky_relu": lambda T, x: T.nn.functional.leaky_relu(x, 0.2),
    "elu": lambda T, x: T.nn.functional.elu(x, alpha=0.7),
    "mish": lambda T, x: T.nn.functional.mish(x),
    "hardtanh": lambda T, x: T.nn.functional.hardtanh(x * 2, -1.0, 0.5),
}


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_activations_match_torch(name):
    x = randn(4, 5, seed=81) * 2
    x[0, :3] = [0.0, -1.0, 0.5]                    # kinks and bounds
    compare(ACTIVATIONS[name], x)


@pytest.mark.parametrize("name", ["gelu", "gelu_tanh", "silu", "softplus", "mish", "elu"])
def test_activations_gradcheck(name):
    gradcheck(ACTIVATIONS[name], randn(3, 4, seed=82))


def test_one_hot_matches_torch():
    assert_same_outcome(lambda T: T.nn.functional.one_hot(T.tensor([0, 2, 1, 2])))
    assert_same_outcome(lambda T: T.nn.functional.one_hot(T.tensor([[0, 1], [3, 2]]), 5))
    assert_same_outcome(lambda T: T.nn.functional.one_hot(T.tensor([0, 5]), 3))
    assert_same_outcome(lambda T: T.nn.functional.one_hot(T.tensor([0.0, 1.0])))


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("pad", [(1, 2), (1, 0, 2, 1), (0, 1, 1, 1)], ids=str)
def test_pad_matches_torch(mode, pad):
    x = randn(2, 3, 4, 5, seed=83)
    if mode != "constant":      # these pad a (batch of) 1-D or 2-D images: batch, channels
        x = x[0] if len(pad) == 2 else x
        assert_same_outcome(lambda T: T.nn.functional.pad(T.ones(2, 3, 4, 5, 6), pad, mode=mode))
    compare(lambda T, x: T.nn.functional.pad(x, pad, mode=mode), x)


def test_pad_with_a_value_and_negative_padding_matches_torch():
    x = randn(3, 4, seed=84)
    compare(lambda T, x: T.nn.functional.pad(x, (2, -1, -1, 1), value=0.5), x)
    assert_same_outcome(lambda T: T.nn.functional.pad(T.ones(1, 1, 3), (3, 3), mode="reflect"))


@pytest.mark.parametrize("p,dim", [(2, 1), (1, 0), (2, -1)])
def test_normalize_matches_torch(p, dim):
    x = randn(3, 4, seed=85)
    x[1] = 0.0                                     # a zero row: eps keeps it finite
    compare(lambda T, x: T.nn.functional.normalize(x, p=p, dim=dim), x)


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("mask", [None, "bool", "float"])
def test_scaled_dot_product_attention_matches_torch(causal, mask):
    if causal and mask is not None:
        return
    q, k, v = randn(2, 3, 4, 8, seed=86), randn(2, 3, 5, 8, seed=87), randn(2, 3, 5, 6, seed=88)
    if causal:
        k, v = k[:, :, :4], v[:, :, :4]
    m = None
    if mask == "bool":
        m = np.random.default_rng(3).random((4, 5)) > 0.3
        m[:, 0] = True                             # every query attends somewhere
    elif mask == "float":
        m = np.random.default_rng(4).standard_normal((4, 5))

    def fn(T, q, k, v):
        attn_mask = (
            None if m is None else T.tensor(m) if mask == "bool" else T.tensor(m, dtype=q.dtype)
        )
        return T.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask,
                                                           is_causal=causal)

    compare(fn, q, k, v)
    compare(lambda T, q, k, v: T.nn.functional.scaled_dot_product_attention(q, k, v, scale=0.3),
            q[0, 0], k[0, 0], v[0, 0])
