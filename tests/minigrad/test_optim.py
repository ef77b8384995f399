"""Optimizers (minigrad/optim.py): SGD (momentum, weight_decay) and Adam, single steps
against NumPy formulas and multi-step training equivalence with torch.optim."""

import numpy as np
import pytest
import torch

import minigrad as mg
import minigrad.nn.functional as MF
from mgtest import randn


def _param(values):
    return mg.nn.Parameter(mg.tensor(np.asarray(values, dtype=np.float64)))


def _set_grad_via_backward(p, g):
    """Give p the gradient g by backpropagating (p * g).sum()."""
    (p * mg.tensor(g)).sum().backward()


# ------------------------------------------------------------------ single-step formulas (NumPy reference)
def test_sgd_plain_step():
    p0 = randn(3, 2, seed=1)
    g = randn(3, 2, seed=2)
    p = _param(p0)
    opt = mg.optim.SGD([p], lr=0.1)
    _set_grad_via_backward(p, g)
    opt.step()
    np.testing.assert_allclose(p.detach().numpy(), p0 - 0.1 * g, rtol=1e-12)


def test_sgd_momentum_weight_decay_three_steps():
    p0 = randn(4, seed=3)
    grads = [randn(4, seed=s) for s in (4, 5, 6)]
    lr, mom, wd = 0.05, 0.9, 0.01
    p = _param(p0)
    opt = mg.optim.SGD([p], lr=lr, momentum=mom, weight_decay=wd)
    ref = p0.copy()
    buf = None
    for g in grads:
        opt.zero_grad()
        _set_grad_via_backward(p, g)
        opt.step()
        d = g + wd * ref
        buf = d.copy() if buf is None else mom * buf + d
        ref = ref - lr * buf
        np.testing.assert_allclose(p.detach().numpy(), ref, rtol=1e-12, atol=1e-14)


def test_adam_three_steps():
    p0 = randn(5, seed=7)
    grads = [randn(5, seed=s) for s in (8, 9, 10)]
    lr, b1, b2, eps = 0.01, 0.8, 0.95, 1e-8
    p = _param(p0)
    opt = mg.optim.Adam([p], lr=lr, betas=(b1, b2), eps=eps)
    ref, m, v = p0.copy(), np.zeros(5), np.zeros(5)
    for t, g in enumerate(grads, start=1):
        opt.zero_grad()
        _set_grad_via_backward(p, g)
        opt.step()
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        mhat, vhat = m / (1 - b1**t), v / (1 - b2**t)
        ref = ref - lr * mhat / (np.sqrt(vhat) + eps)
        np.testing.assert_allclose(p.detach().numpy(), ref, rtol=1e-10, atol=1e-12)


def test_adam_defaults_like_torch():
    p0, g = randn(3, seed=11), randn(3, seed=12)
    pm = _param(p0)
    pt = torch.nn.Parameter(torch.tensor(p0))
    om, ot = mg.optim.Adam([pm]), torch.optim.Adam([pt])
    for _ in range(3):
        om.zero_grad()
        ot.zero_grad()
        _set_grad_via_backward(pm, g)
        (pt * torch.tensor(g)).sum().backward()
        om.step()
        ot.step()
    np.testing.assert_allclose(pm.detach().numpy(), pt.detach().numpy(), rtol=1e-10)


def test_optimizer_zero_grad():
    p = _param([1.0, 2.0])
    opt = mg.optim.SGD([p], lr=0.1)
    _set_grad_via_backward(p, np.array([1.0, 1.0]))
    opt.zero_grad()
    assert p.grad is None or np.all(p.grad.numpy() == 0)
    _set_grad_via_backward(p, np.array([3.0, 4.0]))
    np.testing.assert_allclose(p.grad.numpy(), [3.0, 4.0])


@pytest.mark.parametrize(
    "make",
    [
        lambda ps: mg.optim.SGD(ps, lr=0.1),
        lambda ps: mg.optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.1),
        lambda ps: mg.optim.Adam(ps, lr=0.1),
    ],
    ids=["sgd", "sgd-mom-wd", "adam"],
)
def test_params_without_grad_are_skipped(make):
    used, unused = _param([1.0, 2.0]), _param([3.0, 4.0])
    opt = make([used, unused])
    _set_grad_via_backward(used, np.array([1.0, 1.0]))
    opt.step()
    np.testing.assert_array_equal(unused.detach().numpy(), [3.0, 4.0])
    assert not np.array_equal(used.detach().numpy(), [1.0, 2.0])


def test_optimizer_accepts_generator():
    model = mg.nn.Linear(3, 2)
    opt = mg.optim.SGD(model.parameters(), lr=0.5)
    w0 = model.weight.detach().numpy().copy()
    model(mg.ones(1, 3)).sum().backward()
    opt.step()
    np.testing.assert_allclose(model.weight.detach().numpy(), w0 - 0.5, rtol=1e-6)


def test_step_does_not_record_graph():
    p = _param([1.0, 2.0])
    opt = mg.optim.SGD([p], lr=0.1, momentum=0.9)
    _set_grad_via_backward(p, np.array([1.0, 1.0]))
    opt.step()
    assert p.is_leaf and p.grad_fn is None and p.requires_grad


# ------------------------------------------------------------------ training equivalence with torch
def _mlp(T):
    nn = T.nn
    return nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3))


def _batches(n_steps=20, batch=16, seed=0):
    r = np.random.default_rng(seed)
    centers = r.standard_normal((3, 8)) * 1.5
    out = []
    for _ in range(n_steps):
        y = r.integers(0, 3, size=batch)
        x = centers[y] + r.standard_normal((batch, 8))
        out.append((x.astype(np.float32), y.astype(np.int64)))
    return out


OPTIMS = {
    "sgd": (lambda ps: torch.optim.SGD(ps, lr=0.1), lambda ps: mg.optim.SGD(ps, lr=0.1)),
    "sgd-momentum": (
        lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9),
        lambda ps: mg.optim.SGD(ps, lr=0.05, momentum=0.9),
    ),
    "sgd-momentum-wd": (
        lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9, weight_decay=1e-2),
        lambda ps: mg.optim.SGD(ps, lr=0.05, momentum=0.9, weight_decay=1e-2),
    ),
    "sgd-wd": (
        lambda ps: torch.optim.SGD(ps, lr=0.1, weight_decay=5e-2),
        lambda ps: mg.optim.SGD(ps, lr=0.1, weight_decay=5e-2),
    ),
    "adam": (lambda ps: torch.optim.Adam(ps, lr=1e-2), lambda ps: mg.optim.Adam(ps, lr=1e-2)),
    "adam-betas": (
        lambda ps: torch.optim.Adam(ps, lr=5e-3, betas=(0.8, 0.99), eps=1e-6),
        lambda ps: mg.optim.Adam(ps, lr=5e-3, betas=(0.8, 0.99), eps=1e-6),
    ),
}


@pytest.mark.parametrize("name", list(OPTIMS))
def test_training_matches_torch(name):
    make_t, make_m = OPTIMS[name]
    torch.manual_seed(0)
    tmodel = _mlp(torch)
    mmodel = _mlp(mg)
    mmodel.load_state_dict(tmodel.state_dict())
    topt = make_t(tmodel.parameters())
    mopt = make_m(mmodel.parameters())
    tl, ml = [], []
    for x, y in _batches():
        topt.zero_grad()
        lt = torch.nn.functional.cross_entropy(tmodel(torch.tensor(x)), torch.tensor(y))
        lt.backward()
        topt.step()
        tl.append(lt.item())

        mopt.zero_grad()
        lm = MF.cross_entropy(mmodel(mg.tensor(x)), mg.tensor(y))
        lm.backward()
        mopt.step()
        ml.append(lm.item())
    np.testing.assert_allclose(ml, tl, atol=1e-5, rtol=0, err_msg="per-step losses differ")
    assert tl[-1] < tl[0], "sanity: torch's loss goes down"
    mp = dict(mmodel.named_parameters())
    for k, p in tmodel.named_parameters():
        np.testing.assert_allclose(mp[k].detach().numpy(), p.detach().numpy(), atol=1e-4, rtol=1e-4, err_msg=k)


def test_training_with_model_zero_grad_matches_torch():
    torch.manual_seed(1)
    tmodel, mmodel = _mlp(torch), _mlp(mg)
    mmodel.load_state_dict(tmodel.state_dict())
    topt = torch.optim.SGD(tmodel.parameters(), lr=0.1, momentum=0.5)
    mopt = mg.optim.SGD(mmodel.parameters(), lr=0.1, momentum=0.5)
    for x, y in _batches(n_steps=8, seed=3):
        tmodel.zero_grad()
        mmodel.zero_grad()
        torch.nn.functional.cross_entropy(tmodel(torch.tensor(x)), torch.tensor(y)).backward()
        MF.cross_entropy(mmodel(mg.tensor(x)), mg.tensor(y)).backward()
        topt.step()
        mopt.step()
    mp = dict(mmodel.named_parameters())
    for k, p in tmodel.named_parameters():
        np.testing.assert_allclose(mp[k].detach().numpy(), p.detach().numpy(), atol=1e-5, rtol=1e-4, err_msg=k)


def test_frozen_parameters_are_accepted_and_skipped_like_torch():
    torch.manual_seed(0)
    t_model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    m_model = mg.nn.Sequential(mg.nn.Linear(3, 4), mg.nn.ReLU(), mg.nn.Linear(4, 2))
    m_model.load_state_dict(t_model.state_dict())
    X = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    y = np.array([0, 1, 1, 0, 1])
    for model, lib in ((t_model, torch), (m_model, mg)):
        model[0].requires_grad_(False)
        opt = lib.optim.SGD(model.parameters(), lr=0.5)
        opt.zero_grad()
        lib.nn.functional.cross_entropy(model(lib.tensor(X)), lib.tensor(y)).backward()
        opt.step()
    for name, p in m_model.state_dict().items():
        np.testing.assert_allclose(p.numpy(), t_model.state_dict()[name].numpy(), atol=1e-6)
    assert m_model[0].weight.grad is None


def test_optimizing_a_non_leaf_tensor_is_refused_like_torch():
    x = mg.ones(3, requires_grad=True)
    with pytest.raises(ValueError, match="non-leaf"):
        mg.optim.SGD([x * 2], lr=0.1)
    with pytest.raises(ValueError):
        torch.optim.SGD([torch.ones(3, requires_grad=True) * 2], lr=0.1)
