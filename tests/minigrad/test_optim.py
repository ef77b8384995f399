"""Optimizers (minigrad/optim/): SGD, Adam, AdamW, RMSprop and Adagrad, single steps
against NumPy formulas, multi-step training equivalence with torch.optim for every option
(float64), PyTorch's argument checks, parameter groups and state dicts."""

import copy
import warnings

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


# ----------------------------------------------------------- single-step formulas (NumPy reference)
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
        np.testing.assert_allclose(
            mp[k].detach().numpy(), p.detach().numpy(), atol=1e-4, rtol=1e-4, err_msg=k
        )


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
        np.testing.assert_allclose(
            mp[k].detach().numpy(), p.detach().numpy(), atol=1e-5, rtol=1e-4, err_msg=k
        )


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


# -------------------------------------------------------- every option against torch.optim, float64
# A small tanh network in float64 (weights as plain Parameters, the same code for both
# libraries), trained 20 steps from the same weights on the same batches. The last
# parameter is never used, so it never gets a gradient and must never move.
_R64 = np.random.default_rng(5)
WEIGHTS64 = [_R64.standard_normal((4, 6)) * 0.5, _R64.standard_normal(6) * 0.1,
             _R64.standard_normal((6, 2)) * 0.5, np.zeros(2), np.ones(3)]
BATCHES64 = [(_R64.standard_normal((8, 4)), _R64.standard_normal((8, 2))) for _ in range(20)]


def _params64(lib, weights=WEIGHTS64):
    return [lib.nn.Parameter(lib.tensor(np.array(w, dtype=np.float64))) for w in weights]


def _loss64(lib, params, x, y):
    w1, b1, w2, b2, _unused = params
    h = (lib.tensor(x) @ w1 + b1).tanh()
    return ((h @ w2 + b2 - lib.tensor(y)) ** 2).mean()


def _optimizer(lib, name, settings, groups, params):
    """`groups`: None (one group) or per-group settings for (w1, b1) and (w2, b2, unused)."""
    if groups is not None:
        first, second = groups
        params = [{"params": params[:2], **first}, {"params": params[2:], **second}]
    return getattr(lib.optim, name)(params, **settings)


def _train64(lib, opt, params, batches):
    losses = []
    for x, y in batches:
        opt.zero_grad()
        loss = _loss64(lib, params, x, y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


# name: (optimizer, settings, per-group settings or None)
EVERY_OPTION = {
    "sgd": ("SGD", dict(lr=0.1), None),
    "sgd-default-lr": ("SGD", {}, None),
    "sgd-wd": ("SGD", dict(lr=0.1, weight_decay=0.05), None),
    "sgd-momentum": ("SGD", dict(lr=0.1, momentum=0.9), None),
    "sgd-dampening": ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.3), None),
    "sgd-dampening-wd": ("SGD", dict(lr=0.1, momentum=0.5, dampening=0.9, weight_decay=0.1), None),
    "sgd-nesterov": ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True), None),
    "sgd-nesterov-wd": ("SGD", dict(lr=0.1, momentum=0.8, nesterov=True, weight_decay=0.05), None),
    "sgd-maximize": ("SGD", dict(lr=0.01, momentum=0.5, maximize=True), None),
    "sgd-groups": ("SGD", dict(lr=0.1), ({"momentum": 0.9, "nesterov": True},
                                         {"lr": 0.05, "momentum": 0.5, "dampening": 0.5,
                                          "weight_decay": 0.1})),
    "adam": ("Adam", dict(lr=0.01), None),
    "adam-defaults": ("Adam", {}, None),
    "adam-betas-eps": ("Adam", dict(lr=0.02, betas=(0.8, 0.99), eps=1e-6), None),
    "adam-wd": ("Adam", dict(lr=0.01, weight_decay=0.1), None),
    "adam-amsgrad": ("Adam", dict(lr=0.01, amsgrad=True), None),
    "adam-amsgrad-wd": ("Adam", dict(lr=0.01, amsgrad=True, weight_decay=0.1), None),
    "adam-decoupled": ("Adam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True),
                       None),
    "adam-maximize": ("Adam", dict(lr=0.01, maximize=True), None),
    "adam-groups": ("Adam", dict(lr=0.01), ({"betas": (0.5, 0.9), "amsgrad": True},
                                            {"lr": 0.03, "weight_decay": 0.2, "eps": 1e-4})),
    "adamw": ("AdamW", {}, None),
    "adamw-lr-wd": ("AdamW", dict(lr=0.02, weight_decay=0.3), None),
    "adamw-betas": ("AdamW", dict(lr=0.02, betas=(0.7, 0.95), eps=1e-5), None),
    "adamw-amsgrad": ("AdamW", dict(lr=0.01, amsgrad=True), None),
    "adamw-maximize": ("AdamW", dict(lr=0.01, maximize=True), None),
    "adamw-groups": ("AdamW", dict(lr=0.01), ({"weight_decay": 0.0},
                                              {"weight_decay": 0.5, "amsgrad": True})),
    "rmsprop": ("RMSprop", {}, None),
    "rmsprop-alpha-eps": ("RMSprop", dict(lr=0.005, alpha=0.9, eps=1e-4), None),
    "rmsprop-wd": ("RMSprop", dict(lr=0.005, weight_decay=0.1), None),
    "rmsprop-momentum": ("RMSprop", dict(lr=0.005, momentum=0.9), None),
    "rmsprop-centered": ("RMSprop", dict(centered=True), None),
    "rmsprop-centered-momentum-wd": ("RMSprop", dict(lr=0.003, centered=True, momentum=0.7,
                                                     weight_decay=0.05), None),
    "rmsprop-maximize": ("RMSprop", dict(lr=0.001, maximize=True), None),
    "rmsprop-groups": ("RMSprop", dict(lr=0.005), ({"centered": True},
                                                   {"momentum": 0.5, "alpha": 0.8, "lr": 0.001})),
    "adagrad": ("Adagrad", {}, None),
    "adagrad-lr-decay": ("Adagrad", dict(lr=0.1, lr_decay=0.05), None),
    "adagrad-wd": ("Adagrad", dict(lr=0.1, weight_decay=0.1), None),
    "adagrad-initial-accumulator": ("Adagrad", dict(lr=0.1, initial_accumulator_value=0.5), None),
    "adagrad-eps": ("Adagrad", dict(lr=0.1, eps=1e-2), None),
    "adagrad-maximize": ("Adagrad", dict(lr=0.05, maximize=True), None),
    # a group's own initial_accumulator_value is not read, in PyTorch: this checks it isn't
    "adagrad-groups": ("Adagrad", dict(lr=0.1, initial_accumulator_value=0.1),
                       ({"lr_decay": 0.1, "initial_accumulator_value": 2.0},
                        {"lr": 0.05, "weight_decay": 0.1, "eps": 1e-3})),
}
# float64 rounding differs (PyTorch fuses multiply-adds), so "equal" is to ~1e-13 here
F64 = dict(rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("case", list(EVERY_OPTION))
def test_every_option_trains_like_torch_in_float64(case):
    name, settings, groups = EVERY_OPTION[case]
    runs = {}
    for lib in (torch, mg):
        params = _params64(lib)
        opt = _optimizer(lib, name, settings, groups, params)
        losses = _train64(lib, opt, params, BATCHES64)
        runs[lib.__name__] = losses, [p.detach().numpy() for p in params]
    (tl, tp), (ml, mp) = runs["torch"], runs["minigrad"]
    np.testing.assert_allclose(ml, tl, **F64, err_msg="per-step losses differ")
    for k, (m, t) in enumerate(zip(mp, tp)):
        np.testing.assert_allclose(m, t, **F64, err_msg=f"parameter {k}")
    assert not np.allclose(tp[0], WEIGHTS64[0], rtol=0, atol=1e-6), "sanity: it trained"
    np.testing.assert_array_equal(mp[-1], WEIGHTS64[-1])   # no gradient, no step


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad"])
def test_defaults_are_torchs(name):
    t = getattr(torch.optim, name)([torch.nn.Parameter(torch.zeros(1))]).defaults
    m = getattr(mg.optim, name)([mg.nn.Parameter(mg.zeros(1))]).defaults
    for key, value in m.items():
        assert t[key] == value, key
    # what minigrad leaves out are PyTorch's implementation switches, not the rule's settings
    assert set(t) - set(m) <= {"foreach", "fused", "capturable", "differentiable"}


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad"])
def test_a_tensor_lr_trains_like_torch(name):
    # PyTorch computes with a tensor lr in its dtype (float32) where it divides or
    # multiplies it (Adam's step size, Adagrad's decay): so must minigrad
    finals = {}
    for lib in (torch, mg):
        params = _params64(lib)
        opt = getattr(lib.optim, name)(params, lr=lib.tensor(0.0123), weight_decay=0.1)
        _train64(lib, opt, params, BATCHES64[:10])
        finals[lib.__name__] = [p.detach().numpy() for p in params]
    for m, t in zip(finals["minigrad"], finals["torch"]):
        np.testing.assert_allclose(m, t, **F64)


def test_tensor_betas_are_refused_with_a_reason():
    p = mg.nn.Parameter(mg.ones(2))
    torch.optim.Adam([torch.nn.Parameter(torch.ones(2))],
                     betas=(torch.tensor(0.9), torch.tensor(0.99)))   # PyTorch takes them
    with pytest.raises(NotImplementedError, match="betas as floats"):
        mg.optim.Adam([p], betas=(mg.tensor(0.9), mg.tensor(0.99)))


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad"])
def test_closure_is_called_and_its_loss_returned(name):
    results = {}
    for lib in (torch, mg):
        params = _params64(lib)
        opt = getattr(lib.optim, name)(params, lr=0.01)
        x, y = BATCHES64[0]

        def closure():
            opt.zero_grad()
            loss = _loss64(lib, params, x, y)
            loss.backward()
            return loss

        losses = [opt.step(closure).item() for _ in range(3)]
        results[lib.__name__] = losses, params[0].detach().numpy()
    np.testing.assert_allclose(results["minigrad"][0], results["torch"][0], **F64)
    np.testing.assert_allclose(results["minigrad"][1], results["torch"][1], **F64)
    assert results["torch"][0][2] < results["torch"][0][0]


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad"])
def test_a_step_bumps_the_version_of_what_a_graph_saved(name):
    p = mg.nn.Parameter(mg.ones(3))
    y = (p * p).sum()
    opt = getattr(mg.optim, name)([p], lr=0.1)
    (p * 2.0).sum().backward()
    opt.step()
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()


def test_zero_grad_set_to_none_false_zeroes_in_place_like_torch():
    for lib in (torch, mg):
        p = lib.nn.Parameter(lib.ones(2))
        opt = lib.optim.Adam([p])
        (p * 3.0).sum().backward()
        grad = p.grad
        opt.zero_grad(set_to_none=False)
        assert p.grad is grad and not p.grad.numpy().any()
        opt.zero_grad()
        assert p.grad is None


# ------------------------------------------------------------------ argument checks, as PyTorch's
nan = float("nan")
SETTINGS_CHECKED = [
    ("SGD", dict(lr=-1.0)), ("SGD", dict(lr=nan)), ("SGD", dict(momentum=-0.1)),
    ("SGD", dict(momentum=nan)), ("SGD", dict(weight_decay=-1e-4)), ("SGD", dict(dampening=-1.0)),
    ("SGD", dict(nesterov=True)), ("SGD", dict(nesterov=True, momentum=0.9, dampening=0.1)),
    ("SGD", dict(nesterov=True, momentum=0.9)),
    ("Adam", dict(lr=-1e-3)), ("Adam", dict(lr=nan)), ("Adam", dict(eps=-1e-8)),
    ("Adam", dict(eps=nan)), ("Adam", dict(betas=(1.0, 0.9))), ("Adam", dict(betas=(0.9, 1.0))),
    ("Adam", dict(betas=(-0.1, 0.9))), ("Adam", dict(betas=(nan, 0.9))),
    ("Adam", dict(betas=(0.9, nan))), ("Adam", dict(betas=(0, 0.9))),
    ("Adam", dict(betas=(0.5, 0))),
    ("Adam", dict(betas=[0.5, 0.9])), ("Adam", dict(weight_decay=-1.0)),
    ("Adam", dict(weight_decay=nan)), ("Adam", dict(amsgrad=True, decoupled_weight_decay=True)),
    ("AdamW", dict(lr=-1.0)), ("AdamW", dict(weight_decay=-1e-3)), ("AdamW", dict(betas=(0.9, 1))),
    ("AdamW", dict(eps=-1.0)), ("AdamW", dict(amsgrad=True)),
    ("RMSprop", dict(lr=-1.0)), ("RMSprop", dict(lr=nan)), ("RMSprop", dict(eps=-1.0)),
    ("RMSprop", dict(momentum=-1.0)), ("RMSprop", dict(weight_decay=-1.0)),
    ("RMSprop", dict(alpha=-0.5)), ("RMSprop", dict(alpha=nan)), ("RMSprop", dict(alpha=2.0)),
    ("Adagrad", dict(lr=-1.0)), ("Adagrad", dict(lr_decay=-1.0)), ("Adagrad", dict(lr_decay=nan)),
    ("Adagrad", dict(weight_decay=-1.0)), ("Adagrad", dict(initial_accumulator_value=-1.0)),
    ("Adagrad", dict(eps=-1.0)), ("Adagrad", dict(eps=nan)),
]


def _outcome(make):
    try:
        make()
    except Exception as e:          # noqa: BLE001  (the type is what is compared)
        return type(e), str(e)
    return None


@pytest.mark.parametrize("name,settings", SETTINGS_CHECKED,
                         ids=[f"{n}-{s}" for n, s in SETTINGS_CHECKED])
def test_settings_are_checked_like_torch(name, settings):
    expected = _outcome(lambda: getattr(torch.optim, name)(
        [torch.nn.Parameter(torch.zeros(2))], **settings))
    actual = _outcome(lambda: getattr(mg.optim, name)(
        [mg.nn.Parameter(mg.zeros(2))], **settings))
    assert actual == expected        # (type, message), or None where PyTorch accepts it


def test_most_checked_settings_are_refused():
    # the comparison above has teeth: PyTorch refuses most of those settings
    refused = [_outcome(lambda n=n, s=s: getattr(torch.optim, n)(
        [torch.nn.Parameter(torch.zeros(2))], **s)) for n, s in SETTINGS_CHECKED]
    assert sum(r is not None for r in refused) >= 35


def _both_raise(make):
    """make(lib) must raise the same exception type for both, with the same message."""
    expected, actual = _outcome(lambda: make(torch)), _outcome(lambda: make(mg))
    assert expected is not None and actual is not None
    assert actual[0] is expected[0], (actual, expected)
    return actual, expected


def test_params_are_checked_like_torch():
    same_message = [
        lambda lib: lib.optim.SGD([], lr=0.1),
        lambda lib: lib.optim.SGD([1.0], lr=0.1),
        lambda lib: lib.optim.SGD({"params": [lib.nn.Parameter(lib.ones(1))]}, lr=0.1),
        lambda lib: lib.optim.SGD([{"params": {lib.nn.Parameter(lib.ones(1))}}], lr=0.1),
        lambda lib: lib.optim.Adam([{"params": [lib.nn.Parameter(lib.ones(1))]}, "not a group"]),
    ]
    for make in same_message:
        actual, expected = _both_raise(make)
        assert actual == expected
    # a lone tensor (not a list of them): PyTorch names its own tensor type
    actual, _ = _both_raise(lambda lib: lib.optim.SGD(lib.nn.Parameter(lib.ones(1)), lr=0.1))
    assert actual[1].startswith("params argument given to the optimizer should be an iterable")
    with pytest.raises(TypeError):       # a keyword PyTorch has and minigrad does not
        mg.optim.Adam([mg.nn.Parameter(mg.ones(1))], fused=True)


def test_parameter_groups_are_checked_like_torch():
    def overlapping(lib):
        p = lib.nn.Parameter(lib.ones(1))
        return lib.optim.SGD([{"params": [p]}, {"params": [p], "lr": 0.5}], lr=0.1)

    def names_mixed(lib):
        p, q = lib.nn.Parameter(lib.ones(1)), lib.nn.Parameter(lib.ones(1))
        return lib.optim.SGD([{"params": [("p", p)]}, {"params": [q]}], lr=0.1)

    def some_named(lib):
        p, q = lib.nn.Parameter(lib.ones(1)), lib.nn.Parameter(lib.ones(1))
        return lib.optim.SGD([("p", p), q], lr=0.1)

    def add_a_list(lib):
        opt = lib.optim.SGD([lib.nn.Parameter(lib.ones(1))], lr=0.1)
        opt.add_param_group([lib.nn.Parameter(lib.ones(1))])

    for make in (overlapping, names_mixed, some_named, add_a_list):
        actual, expected = _both_raise(make)
        assert actual == expected


def test_duplicate_parameters_warn_like_torch():
    messages = {}
    for lib in (torch, mg):
        p = lib.nn.Parameter(lib.ones(1))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            lib.optim.SGD([p, p], lr=0.1)
        messages[lib.__name__] = [(w.category, str(w.message)) for w in caught]
    assert messages["minigrad"] == messages["torch"] and len(messages["torch"]) == 1


# ------------------------------------------------------------------ parameter groups
def test_groups_take_the_defaults_they_leave_out_like_torch():
    groups = {}
    for lib in (torch, mg):
        a, b = lib.nn.Parameter(lib.ones(1)), lib.nn.Parameter(lib.ones(1))
        opt = lib.optim.Adam([{"params": [a], "lr": 0.5, "betas": (0.1, 0.2)}, {"params": b}],
                             lr=0.01, amsgrad=True)
        groups[lib.__name__] = opt.param_groups
    for m, t in zip(groups["minigrad"], groups["torch"]):
        assert {k: v for k, v in m.items() if k != "params"} == {
            k: v for k, v in t.items()
            if k not in ("params", "foreach", "fused", "capturable", "differentiable")}
        assert len(m["params"]) == 1


@pytest.mark.parametrize("name,settings,added", [
    ("SGD", dict(lr=0.1, momentum=0.9), dict(lr=0.02, nesterov=True)),
    ("Adam", dict(lr=0.01), dict(lr=0.05, amsgrad=True)),
    ("AdamW", dict(lr=0.01), dict(weight_decay=0.5)),
    ("RMSprop", dict(lr=0.01), dict(centered=True, momentum=0.3)),
    # a group added later starts its sums from the optimizer's initial_accumulator_value
    ("Adagrad", dict(lr=0.1, initial_accumulator_value=0.3), dict(initial_accumulator_value=5.0)),
])
def test_add_param_group_mid_training_like_torch(name, settings, added):
    runs = {}
    for lib in (torch, mg):
        params = _params64(lib)
        opt = getattr(lib.optim, name)(params[:2], **settings)
        losses = _train64(lib, opt, params, BATCHES64[:5])
        opt.add_param_group({"params": params[2:], **added})
        losses += _train64(lib, opt, params, BATCHES64[5:])
        runs[lib.__name__] = losses, [p.detach().numpy() for p in params]
    np.testing.assert_allclose(runs["minigrad"][0], runs["torch"][0], **F64)
    for m, t in zip(runs["minigrad"][1], runs["torch"][1]):
        np.testing.assert_allclose(m, t, **F64)
    assert not np.allclose(runs["torch"][1][2], WEIGHTS64[2]), "sanity: the new group trained"


def test_changing_a_groups_lr_by_hand_takes_effect_like_torch():
    finals = {}
    for lib in (torch, mg):
        params = _params64(lib)
        opt = lib.optim.SGD(params, lr=0.1, momentum=0.9)
        _train64(lib, opt, params, BATCHES64[:3])
        opt.param_groups[0]["lr"] = 0.01
        _train64(lib, opt, params, BATCHES64[3:6])
        finals[lib.__name__] = params[0].detach().numpy()
    np.testing.assert_allclose(finals["minigrad"], finals["torch"], **F64)


def test_named_parameters_give_param_names_like_torch():
    torch.manual_seed(0)
    t_model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    m_model = mg.nn.Sequential(mg.nn.Linear(3, 4), mg.nn.ReLU(), mg.nn.Linear(4, 2))
    t = torch.optim.SGD(t_model.named_parameters(), lr=0.1).state_dict()
    m = mg.optim.SGD(m_model.named_parameters(), lr=0.1).state_dict()
    assert m["param_groups"][0]["param_names"] == t["param_groups"][0]["param_names"]
    assert m["param_groups"][0]["params"] == t["param_groups"][0]["params"] == [0, 1, 2, 3]


def test_repr_lists_each_groups_settings_like_torch():
    t = repr(torch.optim.RMSprop([torch.nn.Parameter(torch.ones(1))], momentum=0.5))
    m = repr(mg.optim.RMSprop([mg.nn.Parameter(mg.ones(1))], momentum=0.5))
    assert m.startswith("RMSprop (\nParameter Group 0\n") and m.endswith("\n)")
    assert set(m.splitlines()) <= set(t.splitlines())
    assert "    momentum: 0.5" in m.splitlines()


# ------------------------------------------------------------------ state dicts
STATEFUL = {   # settings under which each optimizer keeps every kind of state it has
    "SGD": dict(lr=0.1, momentum=0.9, nesterov=True),
    "Adam": dict(lr=0.01, amsgrad=True),
    "AdamW": dict(lr=0.01, weight_decay=0.1),
    "RMSprop": dict(lr=0.01, momentum=0.5, centered=True),
    "Adagrad": dict(lr=0.1, lr_decay=0.01, initial_accumulator_value=0.1),
}


@pytest.mark.parametrize("name", list(STATEFUL))
def test_state_dict_has_torchs_format(name):
    dicts = {}
    for lib in (torch, mg):
        params = _params64(lib)
        opt = _optimizer(lib, name, STATEFUL[name], ({}, {"lr": 0.05}), params)
        _train64(lib, opt, params, BATCHES64[:3])
        dicts[lib.__name__] = opt.state_dict()
    t, m = dicts["torch"], dicts["minigrad"]
    assert set(m) == {"state", "param_groups"}
    assert list(m["state"]) == list(t["state"])           # same parameter indices
    for index, t_state in t["state"].items():
        m_state = m["state"][index]
        assert list(m_state) == list(t_state)             # same names, same order
        for key, t_value in t_state.items():
            assert isinstance(m_state[key], mg.Tensor), key
            assert str(m_state[key].dtype).split(".")[-1] == str(t_value.dtype).split(".")[-1]
            np.testing.assert_allclose(m_state[key].numpy(), t_value.numpy(), **F64, err_msg=key)
        if "step" in t_state:                             # a float32 0-d tensor, as PyTorch
            assert m_state["step"].shape == ()
            assert m_state["step"].item() == t_state["step"].item() == (3.0 if index < 4 else 0.0)
    assert len(m["param_groups"]) == len(t["param_groups"]) == 2
    for m_group, t_group in zip(m["param_groups"], t["param_groups"]):
        assert m_group == {k: v for k, v in t_group.items()
                           if k not in ("foreach", "fused", "capturable", "differentiable")}
    assert m["param_groups"][1]["params"] == [2, 3, 4]


ROUND_TRIP = ["sgd-nesterov-wd", "sgd-dampening", "adam-amsgrad-wd", "adam-groups",
              "adamw-groups", "rmsprop-centered-momentum-wd", "rmsprop-groups", "adagrad-groups",
              "adagrad-lr-decay"]


@pytest.mark.parametrize("case", ROUND_TRIP)
def test_state_dict_round_trip_continues_the_same_trajectory(case):
    name, settings, groups = EVERY_OPTION[case]
    params = _params64(mg)
    opt = _optimizer(mg, name, settings, groups, params)
    straight = _train64(mg, opt, params, BATCHES64)
    straight_params = [p.detach().numpy() for p in params]

    params = _params64(mg)
    opt = _optimizer(mg, name, settings, groups, params)
    resumed = _train64(mg, opt, params, BATCHES64[:10])
    saved = copy.deepcopy(opt.state_dict())
    weights = [p.detach().numpy().copy() for p in params]
    _train64(mg, opt, params, BATCHES64[10:12])            # the first run goes on a little

    params = _params64(mg, weights)
    fresh = _optimizer(mg, name, dict(settings, lr=123.0), groups, params)
    fresh.load_state_dict(saved)
    assert [g["lr"] for g in fresh.param_groups] == [g["lr"] for g in saved["param_groups"]]
    resumed += _train64(mg, fresh, params, BATCHES64[10:])
    assert resumed == straight
    for p, expected in zip(params, straight_params):
        np.testing.assert_array_equal(p.detach().numpy(), expected)


def test_state_dict_round_trip_matches_torch_after_loading():
    # save and load on both sides mid-training: still the same steps as PyTorch
    runs = {}
    for lib in (torch, mg):
        params = _params64(lib)
        opt = lib.optim.Adam(params, lr=0.01, amsgrad=True)
        losses = _train64(lib, opt, params, BATCHES64[:7])
        saved = copy.deepcopy(opt.state_dict())
        opt = lib.optim.Adam(params, lr=0.5)
        opt.load_state_dict(saved)
        losses += _train64(lib, opt, params, BATCHES64[7:])
        runs[lib.__name__] = losses, params[2].detach().numpy()
    np.testing.assert_allclose(runs["minigrad"][0], runs["torch"][0], **F64)
    np.testing.assert_allclose(runs["minigrad"][1], runs["torch"][1], **F64)


def test_state_dict_shares_the_optimizers_tensors_like_torch():
    for lib in (torch, mg):
        p = lib.nn.Parameter(lib.ones(2))
        opt = lib.optim.Adam([p])
        (p * 2.0).sum().backward()
        opt.step()
        saved = opt.state_dict()
        assert saved["state"][0]["exp_avg"] is opt.state[p]["exp_avg"]
        assert saved["param_groups"][0] is not opt.param_groups[0]
        opt.step()
        assert saved["state"][0]["step"].item() == 2.0       # deepcopy it to keep a snapshot


def test_load_state_dict_casts_state_to_the_parameters_dtype_like_torch():
    for lib in (torch, mg):
        p64 = lib.nn.Parameter(lib.ones(2, dtype=lib.float64))
        opt = lib.optim.Adam([p64])
        (p64 * 2.0).sum().backward()
        opt.step()
        p32 = lib.nn.Parameter(lib.ones(2))
        other = lib.optim.Adam([p32])
        other.load_state_dict(opt.state_dict())
        state = other.state[p32]
        assert state["exp_avg"].dtype == lib.float32 and state["exp_avg_sq"].dtype == lib.float32
        assert state["step"].dtype == lib.float32


def test_load_state_dict_refuses_a_different_layout_like_torch():
    def load(groups_then, groups_now):
        def make(lib):
            def build(sizes):
                ps = [lib.nn.Parameter(lib.ones(1)) for _ in range(sum(sizes))]
                groups, start = [], 0
                for n in sizes:
                    groups.append({"params": ps[start:start + n]})
                    start += n
                return lib.optim.SGD(groups, lr=0.1)
            build(groups_now).load_state_dict(build(groups_then).state_dict())
        return make

    for then, now in (([1, 2], [3]), ([1, 2], [2, 1])):
        actual, expected = _both_raise(load(then, now))
        assert actual == expected


def test_loading_an_adam_state_dict_keeps_adamw_decoupled_like_torch():
    for lib in (torch, mg):
        p = lib.nn.Parameter(lib.ones(2))
        saved = lib.optim.Adam([p], weight_decay=0.1).state_dict()
        adamw = lib.optim.AdamW([p])
        adamw.load_state_dict(saved)
        assert adamw.param_groups[0]["decoupled_weight_decay"] is True
        assert adamw.param_groups[0]["weight_decay"] == 0.1


def test_sgd_state_holds_a_momentum_buffer_only_with_momentum_like_torch():
    for lib in (torch, mg):
        plain, heavy = lib.nn.Parameter(lib.ones(2)), lib.nn.Parameter(lib.ones(2))
        opt = lib.optim.SGD([{"params": [plain]}, {"params": [heavy], "momentum": 0.9}], lr=0.1)
        (plain * heavy).sum().backward()
        opt.step()
        assert list(opt.state_dict()["state"]) == [1]
        assert list(opt.state_dict()["state"][1]) == ["momentum_buffer"]
