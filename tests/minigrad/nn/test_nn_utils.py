"""Gradient clipping (minigrad/nn/utils/__init__.py) against torch.nn.utils: the returned norm,
the gradients after clipping, their _version, and the errors and warnings."""

import math
import warnings

import numpy as np
import pytest
import torch
from torch.nn.utils import clip_grad_norm_ as torch_clip_norm, clip_grad_value_ as torch_clip_value

import minigrad as mg
from mgtest import randn
from minigrad.nn.utils import clip_grad_norm_, clip_grad_value_, get_total_norm

SHAPES = [(3, 4), (5,), (), (2, 3, 2)]
ULPS = {"float32": 2e-6, "float64": 1e-14}    # summation order differs: a few ulps


def pair(grads, without_grad=0):
    """The same parameters in both libraries, with `.grad` set to copies of `grads`, then
    `without_grad` more parameters that have no gradient."""
    ours, theirs = [], []
    for g in map(np.asarray, grads):
        p = mg.nn.Parameter(mg.tensor(np.zeros_like(g)))
        tp = torch.nn.Parameter(torch.zeros_like(torch.from_numpy(g)))
        p.grad, tp.grad = mg.tensor(g.copy()), torch.tensor(g.copy())
        ours.append(p)
        theirs.append(tp)
    for _ in range(without_grad):
        ours.append(mg.nn.Parameter(mg.zeros(2)))
        theirs.append(torch.nn.Parameter(torch.zeros(2)))
    return ours, theirs


def grads_of(params):
    return [None if p.grad is None else p.grad.numpy() for p in params]


def random_grads(dtype, seed=0, scale=1.0):
    return [randn(*s, seed=seed + i).astype(dtype) * scale for i, s in enumerate(SHAPES)]


# ------------------------------------------------------------------ clip_grad_norm_


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("norm_type", [2.0, 1, math.inf, 3.0, "inf", 0.5, 0, -math.inf],
                         ids=str)
@pytest.mark.parametrize("clipped", [True, False], ids=["clipped", "unchanged"])
def test_clip_grad_norm_matches_pytorch(norm_type, clipped, dtype):
    ours, theirs = pair(random_grads(dtype), without_grad=1)
    before = torch.nn.utils.get_total_norm([p.grad for p in theirs if p.grad is not None],
                                           norm_type).item()
    max_norm = before / 4 if clipped else 1e6
    total = clip_grad_norm_(ours, max_norm, norm_type)
    ttotal = torch_clip_norm(theirs, max_norm, norm_type)
    assert isinstance(total, mg.Tensor) and total.shape == () and not total.requires_grad
    assert total.numpy().dtype == ttotal.numpy().dtype
    exact = norm_type in (math.inf, "inf", 0, -math.inf)      # no sums to round
    rtol = 0 if exact else ULPS[dtype]
    np.testing.assert_allclose(total.numpy(), ttotal.numpy(), rtol=rtol, atol=0)
    for g, tg in zip(grads_of(ours), grads_of(theirs)):
        if tg is None:
            assert g is None
        else:
            assert g.dtype == tg.dtype
            np.testing.assert_allclose(g, tg, rtol=2 * rtol, atol=0)
    if not clipped:           # multiplied by exactly 1.0
        for g, g0 in zip(grads_of(ours), random_grads(dtype)):
            assert np.array_equal(g, g0)
    elif norm_type != 0:      # a norm scales with the gradients (a count of nonzeros not)
        after = get_total_norm([p.grad for p in ours if p.grad is not None], norm_type)
        assert after.item() == pytest.approx(before * max_norm / (before + 1e-6), rel=1e-6)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("norm_type", [1.0, 2.0, math.inf])
@pytest.mark.parametrize("max_norm", [0.5, 5.0, 12.0, 13.0, 100.0])
def test_same_total_norm_gives_the_same_bits(norm_type, max_norm, dtype):
    # integer gradients: every norm is exact (19 for p=1, 13 for p=2, 12 for inf), so the
    # coefficient min(max_norm / (total + 1e-6), 1) must agree with PyTorch's to the bit
    grads = [np.array([3.0, -4.0], dtype), np.array([[12.0]], dtype)]
    ours, theirs = pair(grads)
    total = clip_grad_norm_(ours, max_norm, norm_type)
    ttotal = torch_clip_norm(theirs, max_norm, norm_type)
    assert total.item() == ttotal.item() == {1.0: 19.0, 2.0: 13.0, math.inf: 12.0}[norm_type]
    for g, tg in zip(grads_of(ours), grads_of(theirs)):
        assert np.array_equal(g, tg)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0])
def test_clipping_with_a_given_total_equals_pytorchs_bits(norm_type, dtype):
    # the coefficient formula alone, with both libraries given the same total norm
    ours, theirs = pair(random_grads(dtype, seed=5, scale=3.0))
    total = clip_grad_norm_(ours, 0.7, norm_type)
    torch.nn.utils.clip_grads_with_norm_(theirs, 0.7, torch.from_numpy(total.numpy()))
    for g, tg in zip(grads_of(ours), grads_of(theirs)):
        assert np.array_equal(g, tg)


def test_mixed_dtypes_take_the_total_in_float64_and_each_gradient_in_its_own():
    grads = [randn(1000, seed=1).astype(np.float32) * 5, randn(3, seed=2)]
    ours, theirs = pair(grads)
    total, ttotal = clip_grad_norm_(ours, 1.0), torch_clip_norm(theirs, 1.0)
    assert total.dtype == mg.float64 and ttotal.dtype == torch.float64
    np.testing.assert_allclose(total.numpy(), ttotal.numpy(), rtol=1e-14)
    # given the same total, the float32 gradient is multiplied by the float64 coefficient
    # rounded to float32 first, as PyTorch multiplies by a 0-d tensor: the same bits
    _, theirs = pair(grads)
    torch.nn.utils.clip_grads_with_norm_(theirs, 1.0, torch.from_numpy(total.numpy()))
    for g, tg in zip(grads_of(ours), grads_of(theirs)):
        assert g.dtype == tg.dtype and np.array_equal(g, tg)


def test_a_single_tensor_and_a_generator_are_accepted():
    ours, theirs = pair([np.array([3.0, 4.0], np.float32)])
    assert clip_grad_norm_(ours[0], 1.0).item() == torch_clip_norm(theirs[0], 1.0).item() == 5.0
    assert np.array_equal(grads_of(ours)[0], grads_of(theirs)[0])
    ours, theirs = pair([np.array([3.0, 4.0], np.float32)])
    clip_grad_norm_((p for p in ours), 1.0)
    torch_clip_norm((p for p in theirs), 1.0)
    assert np.array_equal(grads_of(ours)[0], grads_of(theirs)[0])


def test_nothing_to_clip_gives_a_zero_norm_and_an_empty_generator_warns():
    for params in ([], [mg.nn.Parameter(mg.zeros(3))]):
        total = clip_grad_norm_(params, 1.0)
        assert total.item() == 0.0 and total.dtype == mg.float32
    with pytest.warns(UserWarning) as ours:
        clip_grad_norm_((p for p in []), 1.0)
    with pytest.warns(UserWarning) as theirs:
        torch_clip_norm((p for p in []), 1.0)
    assert [str(w.message) for w in ours] == [str(w.message) for w in theirs]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clip_grad_norm_([], 1.0)            # an empty list does not warn


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")  # inf * 0
@pytest.mark.parametrize("bad", [math.inf, -math.inf, math.nan])
def test_error_if_nonfinite(bad):
    ours, theirs = pair([np.array([1.0, bad], np.float32), np.array([2.0], np.float32)])
    with pytest.raises(RuntimeError) as error:
        clip_grad_norm_(ours, 1.0, error_if_nonfinite=True)
    with pytest.raises(RuntimeError) as terror:
        torch_clip_norm(theirs, 1.0, error_if_nonfinite=True)
    assert str(error.value) == str(terror.value)
    assert np.array_equal(grads_of(ours)[0], grads_of(theirs)[0], equal_nan=True)  # untouched
    # without the flag, both scale by the non-finite norm anyway
    total, ttotal = clip_grad_norm_(ours, 1.0), torch_clip_norm(theirs, 1.0)
    assert np.array_equal(total.numpy(), ttotal.numpy(), equal_nan=True)
    for g, tg in zip(grads_of(ours), grads_of(theirs)):
        assert np.array_equal(g, tg, equal_nan=True)


def test_max_norm_zero_or_negative_as_pytorch():
    for max_norm in (0.0, -1.0):
        ours, theirs = pair([np.array([3.0, 4.0], np.float32)])
        clip_grad_norm_(ours, max_norm)
        torch_clip_norm(theirs, max_norm)
        assert np.array_equal(grads_of(ours)[0], grads_of(theirs)[0])


def test_the_gradients_are_changed_in_place_and_their_version_moves_on():
    for max_norm in (0.1, 100.0):             # PyTorch multiplies even by 1.0
        ours, theirs = pair([np.array([3.0, 4.0], np.float32)])
        g, tg = ours[0].grad, theirs[0].grad
        clip_grad_norm_(ours, max_norm, foreach=True)
        torch_clip_norm(theirs, max_norm, foreach=True)
        assert ours[0].grad is g and theirs[0].grad is tg
        assert g._version == tg._version == 1


def test_empty_gradient_and_the_infinity_norm_is_refused_as_pytorch():
    ours, theirs = pair([np.zeros(0, np.float32)])
    with pytest.raises(RuntimeError, match="infinity norm"):
        clip_grad_norm_(ours, 1.0, math.inf)
    with pytest.raises(RuntimeError, match="infinity norm"):
        torch_clip_norm(theirs, 1.0, math.inf)
    assert clip_grad_norm_(ours, 1.0).item() == torch_clip_norm(theirs, 1.0).item() == 0.0


def test_clipping_a_models_gradients_after_backward():
    torch.manual_seed(0)
    tmodel = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3))
    model = mg.nn.Sequential(mg.nn.Linear(5, 8), mg.nn.Tanh(), mg.nn.Linear(8, 3))
    model.load_state_dict(tmodel.state_dict())
    x = randn(4, 5, seed=3).astype(np.float32) * 10
    (model(mg.tensor(x)) ** 2).sum().backward()
    (tmodel(torch.tensor(x)) ** 2).sum().backward()
    total = clip_grad_norm_(model.parameters(), 0.5)
    ttotal = torch_clip_norm(tmodel.parameters(), 0.5)
    np.testing.assert_allclose(total.item(), ttotal.item(), rtol=1e-5)
    for p, tp in zip(model.parameters(), tmodel.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-5, atol=1e-7)


# ------------------------------------------------------------------ clip_grad_value_


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("clip_value", [0.5, 1, 1e-3, 10.0, -0.5, "0.25"], ids=str)
def test_clip_grad_value_matches_pytorch_exactly(clip_value, dtype):
    ours, theirs = pair(random_grads(dtype), without_grad=1)
    assert clip_grad_value_(ours, clip_value) is None
    assert torch_clip_value(theirs, clip_value) is None
    for p, tp in zip(ours, theirs):
        if tp.grad is None:
            assert p.grad is None
            continue
        g, tg = p.grad.numpy(), tp.grad.numpy()
        assert g.dtype == tg.dtype and np.array_equal(g, tg)
        assert p.grad._version == tp.grad._version == 2      # clamp_min_, then clamp_max_


def test_clip_grad_value_takes_a_tensor_or_a_generator():
    ours, theirs = pair([np.array([3.0, -4.0, 0.2], np.float32)])
    clip_grad_value_(ours[0], 1.0)
    torch_clip_value(theirs[0], 1.0)
    assert grads_of(ours)[0].tolist() == grads_of(theirs)[0].tolist() == \
        pytest.approx([1.0, -1.0, 0.2])
    clip_grad_value_((p for p in ours), 0.1, foreach=False)
    torch_clip_value((p for p in theirs), 0.1, foreach=False)
    assert np.array_equal(grads_of(ours)[0], grads_of(theirs)[0])
