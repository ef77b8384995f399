"""Losses (minigrad/nn/loss.py, the loss functions of minigrad/nn/functional.py and
minigrad/ops/loss.py) against PyTorch: values, gradients of inputs and targets with
random upstream gradients, every reduction, class weights, ignore_index, label smoothing,
probability targets, K-dimensional inputs, modules, errors and a short training loop."""

import warnings

import numpy as np
import pytest
import torch

import minigrad as mg
from mgtest import assert_same_outcome, compare, gradcheck, randn, rng

REDUCTIONS = ["none", "mean", "sum"]


def F(T):
    return T.nn.functional


def const(T, array, like):
    """A tensor that needs no gradient (weights, class indices), in `like`'s dtype."""
    return T.tensor(array).to(like.dtype)


def probabilities(*shape, seed):
    return rng(seed).uniform(0.05, 0.95, size=shape)


# ------------------------------------------------------------------ regression losses
REGRESSION = [("mse_loss", {}), ("l1_loss", {}), ("smooth_l1_loss", {}),
              ("smooth_l1_loss", {"beta": 0.5}), ("smooth_l1_loss", {"beta": 0.0}),
              ("huber_loss", {}), ("huber_loss", {"delta": 0.3}), ("huber_loss", {"delta": 2.5})]


@pytest.mark.parametrize("name,options", REGRESSION, ids=str)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(7,), (3, 4), (2, 3, 4)], ids=str)
def test_regression_losses(name, options, reduction, shape):
    x, t = randn(*shape, seed=1), randn(*shape, seed=2)
    compare(lambda T, a, b: getattr(F(T), name)(a, b, reduction=reduction, **options), x, t)


@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "huber_loss"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_regression_losses_with_elementwise_weight(name, reduction):
    x, t, w = randn(3, 4, seed=3), randn(3, 4, seed=4), probabilities(3, 4, seed=5)
    compare(lambda T, a, b: getattr(F(T), name)(a, b, reduction=reduction,
                                                 weight=const(T, w, a)), x, t)


def test_regression_losses_integer_target_keeps_the_input_dtype():
    x, t = randn(2, 3, seed=6).astype(np.float32), rng(7).integers(-2, 3, (2, 3))
    for name in ["mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss"]:
        assert_same_outcome(lambda T: getattr(F(T), name)(T.tensor(x), T.tensor(t)))


def test_regression_gradcheck():
    x, t = randn(3, 4, seed=8), randn(3, 4, seed=9)
    gradcheck(lambda T, a, b: F(T).smooth_l1_loss(a, b, reduction="none", beta=0.7), x, t)
    gradcheck(lambda T, a, b: F(T).huber_loss(a, b, reduction="sum", delta=0.7), x, t)


# ------------------------------------------------------------------ cross_entropy, nll_loss
def class_targets(shape, n_classes, seed, ignored=None):
    t = rng(seed).integers(0, n_classes, shape)
    if ignored is not None:
        t.reshape(-1)[::3] = ignored
    return t


CLASS_SHAPES = [((5, 4), (5,)), ((3, 4, 5), (3, 5)), ((2, 3, 2, 3), (2, 2, 3)), ((4,), ())]
CLASS_OPTIONS = [{}, {"weight": True}, {"ignored": -100}, {"ignored": 1, "ignore_index": 1},
                 {"label_smoothing": 0.2}, {"label_smoothing": 0.3, "weight": True},
                 {"label_smoothing": 0.1, "weight": True, "ignored": 2, "ignore_index": 2},
                 {"label_smoothing": 1.0}, {"label_smoothing": -0.1}]


def _class_case(input_shape, target_shape, options, seed):
    options = dict(options)
    n_classes = input_shape[1] if len(input_shape) > 1 else input_shape[0]
    target = class_targets(target_shape, n_classes, seed, options.pop("ignored", None))
    weight = probabilities(n_classes, seed=seed + 1) + 0.2 if options.pop("weight", False) \
        else None
    return target, weight, options


@pytest.mark.parametrize("shapes", CLASS_SHAPES, ids=str)
@pytest.mark.parametrize("options", CLASS_OPTIONS, ids=str)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_class_indices(shapes, options, reduction):
    target, weight, options = _class_case(*shapes, options, seed=10)

    def loss(T, x):
        w = None if weight is None else const(T, weight, x)
        return F(T).cross_entropy(x, T.tensor(target), weight=w, reduction=reduction, **options)
    compare(loss, randn(*shapes[0], seed=11))


@pytest.mark.parametrize("shapes", CLASS_SHAPES, ids=str)
@pytest.mark.parametrize("options", [o for o in CLASS_OPTIONS if "label_smoothing" not in o],
                         ids=str)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_loss(shapes, options, reduction):
    target, weight, options = _class_case(*shapes, options, seed=12)

    def loss(T, x):
        w = None if weight is None else const(T, weight, x)
        return F(T).nll_loss(x, T.tensor(target), weight=w, reduction=reduction, **options)
    compare(loss, randn(*shapes[0], seed=13))


@pytest.mark.parametrize("shape", [(5, 4), (3, 4, 5), (2, 3, 2, 3), (4,)], ids=str)
@pytest.mark.parametrize("options", [{}, {"weight": True}, {"label_smoothing": 0.25},
                                     {"label_smoothing": 0.25, "weight": True}], ids=str)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_probability_targets(shape, options, reduction):
    options = dict(options)
    dim = 1 if len(shape) > 1 else 0
    p = rng(14).random(shape)
    p /= p.sum(axis=dim, keepdims=True)
    weight = probabilities(shape[dim], seed=15) if options.pop("weight", False) else None

    def loss(T, x, target):
        w = None if weight is None else const(T, weight, x)
        return F(T).cross_entropy(x, target, weight=w, reduction=reduction, **options)
    compare(loss, randn(*shape, seed=16), p)      # the gradient of the target too


def test_cross_entropy_uint8_targets_and_all_ignored():
    x = randn(4, 3, seed=17)
    assert_same_outcome(lambda T: F(T).cross_entropy(T.tensor(x), T.tensor(
        np.array([0, 2, 1, 1], np.uint8))))
    for reduction in REDUCTIONS:
        compare(lambda T, a: F(T).cross_entropy(a, T.tensor([-100] * 4), reduction=reduction), x)
        compare(lambda T, a: F(T).cross_entropy(a, T.tensor([-100] * 4), weight=const(
            T, np.ones(3), a), reduction=reduction), x)


def test_cross_entropy_fast_path_keeps_the_fused_op():
    x = mg.tensor(randn(4, 3, seed=18), requires_grad=True)
    for target in ([0, 2, 1, 1], [0, -100, 1, 1]):
        assert type(mg.nn.functional.cross_entropy(x, mg.tensor(target)).grad_fn).__name__ \
            == "CrossEntropy"
    smoothed = mg.nn.functional.cross_entropy(x, mg.tensor([0, 2, 1, 1]), label_smoothing=0.1)
    assert type(smoothed.grad_fn).__name__ != "CrossEntropy"


def test_nll_loss_with_smoothing_gradcheck():
    target = class_targets((3, 4), 5, seed=19, ignored=-100)
    w = probabilities(5, seed=20)
    gradcheck(lambda T, x: F(T).cross_entropy(x, T.tensor(target), weight=T.tensor(w),
                                              label_smoothing=0.3), randn(3, 5, 4, seed=21))


# ------------------------------------------------------------------ binary cross-entropy
WEIGHT_SHAPES = [None, (4,), (3, 4), (3, 1)]


@pytest.mark.parametrize("weight_shape", WEIGHT_SHAPES, ids=str)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_cross_entropy(weight_shape, reduction):
    w = None if weight_shape is None else probabilities(*weight_shape, seed=22)

    def loss(T, x, t):
        weight = None if w is None else const(T, w, x)
        return F(T).binary_cross_entropy(x, t, weight=weight, reduction=reduction)
    compare(loss, probabilities(3, 4, seed=23), probabilities(3, 4, seed=24))


def test_binary_cross_entropy_at_zero_and_one_is_clamped():
    x, t = np.array([0.0, 1.0, 0.0, 1.0, 0.5]), np.array([0.0, 1.0, 1.0, 0.0, 0.5])
    compare(lambda T, a: F(T).binary_cross_entropy(a, T.tensor(t).to(a.dtype), reduction="none"),
            x, grad_rtol=1e-6)


@pytest.mark.parametrize("weight_shape", WEIGHT_SHAPES, ids=str)
@pytest.mark.parametrize("pos_weight_shape", [None, (4,), (3, 4)], ids=str)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_cross_entropy_with_logits(weight_shape, pos_weight_shape, reduction):
    w = None if weight_shape is None else probabilities(*weight_shape, seed=25)
    pw = None if pos_weight_shape is None else 3 * probabilities(*pos_weight_shape, seed=26)

    def loss(T, x, t):
        weight = None if w is None else const(T, w, x)
        pos_weight = None if pw is None else const(T, pw, x)
        return F(T).binary_cross_entropy_with_logits(x, t, weight=weight, reduction=reduction,
                                                     pos_weight=pos_weight)
    x = randn(3, 4, seed=27) * 5
    x[0, 0], x[0, 1] = 60.0, -60.0          # far in the tails: still finite, no overflow
    compare(loss, x, probabilities(3, 4, seed=28))


# ------------------------------------------------------------------ kl_div
@pytest.mark.parametrize("reduction", ["none", "sum", "batchmean", "mean"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div(reduction, log_target):
    t = probabilities(3, 5, seed=29)
    t = np.log(t) if log_target else t
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        compare(lambda T, x, y: F(T).kl_div(x, y, reduction=reduction, log_target=log_target),
                np.log(probabilities(3, 5, seed=30)), t)


def test_kl_div_zero_target_and_broadcast_target():
    x = np.log(probabilities(2, 3, seed=31))
    t = np.array([0.0, 0.4, 0.6])
    compare(lambda T, a: F(T).kl_div(a, T.tensor(t).to(a.dtype), reduction="sum"), x)
    compare(lambda T, a, b: F(T).kl_div(a, b, reduction="sum"), x, probabilities(3, seed=32))


@pytest.mark.parametrize("lib", [torch, mg], ids=["torch", "minigrad"])
def test_kl_div_mean_warns(lib):
    x = lib.tensor(np.log(probabilities(2, 3, seed=33)))
    with pytest.warns(UserWarning, match="batchmean"):
        lib.nn.functional.kl_div(x, x.exp())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        lib.nn.functional.kl_div(x, x.exp(), reduction="batchmean")


# ------------------------------------------------------------------ legacy arguments
@pytest.mark.parametrize("flags", [{"size_average": False}, {"reduce": False},
                                   {"size_average": True, "reduce": True}], ids=str)
def test_legacy_size_average_and_reduce(flags):
    x, t = randn(3, 4, seed=34), class_targets((3,), 4, seed=35)
    for lib in (torch, mg):
        with pytest.warns(UserWarning, match="deprecated"):
            lib.nn.CrossEntropyLoss(**flags)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        compare(lambda T, a: T.nn.CrossEntropyLoss(**flags)(a, T.tensor(t)), x)
        compare(lambda T, a: F(T).mse_loss(a, a.detach() * 0.5, **flags), x)


# ------------------------------------------------------------------ modules
MODULES = [("MSELoss", {}), ("L1Loss", {"reduction": "sum"}), ("SmoothL1Loss", {"beta": 0.5}),
           ("HuberLoss", {"delta": 0.7, "reduction": "none"}),
           ("CrossEntropyLoss", {"weight": (4,), "ignore_index": 1, "label_smoothing": 0.1}),
           ("CrossEntropyLoss", {}), ("NLLLoss", {"weight": (4,), "reduction": "sum"}),
           ("BCELoss", {"weight": (4,)}), ("BCEWithLogitsLoss", {"pos_weight": (4,)}),
           ("BCEWithLogitsLoss", {"weight": (3, 4), "pos_weight": (4,), "reduction": "none"}),
           ("KLDivLoss", {"reduction": "batchmean", "log_target": True})]


def make_module(lib, name, options, seed=36):
    kwargs = {k: lib.tensor(probabilities(*v, seed=seed)) if isinstance(v, tuple) else v
              for k, v in options.items()}
    return getattr(lib.nn, name)(**kwargs)


def module_inputs(name):
    x = randn(3, 4, seed=37)
    if name in ("CrossEntropyLoss", "NLLLoss"):
        return x, class_targets((3,), 4, seed=38)
    if name == "BCELoss":
        return probabilities(3, 4, seed=39), probabilities(3, 4, seed=40)
    if name == "KLDivLoss":
        return np.log(probabilities(3, 4, seed=41)), np.log(probabilities(3, 4, seed=42))
    return x, randn(3, 4, seed=43)


@pytest.mark.parametrize("name,options", MODULES, ids=str)
def test_module_matches_torch(name, options):
    tm, mm = make_module(torch, name, options), make_module(mg, name, options, seed=99)
    assert repr(mm) == repr(tm)
    assert list(mm.state_dict()) == list(tm.state_dict())
    assert [n for n, _ in mm.named_buffers()] == [n for n, _ in tm.named_buffers()]
    assert list(mm.parameters()) == []
    mm.load_state_dict(tm.state_dict())         # the buffers now hold torch's values
    for key in ("reduction", "ignore_index", "label_smoothing", "beta", "delta", "log_target"):
        assert getattr(mm, key, None) == getattr(tm, key, None), key
    x, t = module_inputs(name)
    for dtype in (np.float64, np.float32):
        if dtype == np.float32:
            tm, mm = tm.float(), mm.float()
        else:
            tm, mm = tm.double(), mm.double()
        xt = torch.tensor(x.astype(dtype), requires_grad=True)
        xm = mg.tensor(x.astype(dtype), requires_grad=True)
        target = (lambda T: T.tensor(t)) if t.dtype.kind == "i" else \
            (lambda T: T.tensor(t.astype(dtype)))
        lt, lm = tm(xt, target(torch)), mm(xm, target(mg))
        np.testing.assert_allclose(lm.detach().numpy(), lt.detach().numpy(), rtol=1e-5,
                                   atol=1e-6)
        upstream = randn(*lt.shape, seed=44).astype(dtype)
        lt.backward(torch.tensor(upstream))
        lm.backward(mg.tensor(upstream))
        assert xm.grad.numpy().dtype == xt.grad.numpy().dtype
        np.testing.assert_allclose(xm.grad.numpy(), xt.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_signatures_and_defaults_like_torch():
    import inspect
    classes = sorted({name for name, _ in MODULES})
    for name in classes + ["mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss",
                           "cross_entropy", "nll_loss", "binary_cross_entropy",
                           "binary_cross_entropy_with_logits", "kl_div"]:
        where = (mg.nn, torch.nn) if name in classes else (mg.nn.functional, torch.nn.functional)
        mg_params, t_params = (inspect.signature(getattr(lib, name)).parameters.values()
                               for lib in where)
        assert [(p.name, p.default) for p in mg_params] == \
            [(p.name, p.default) for p in t_params], name


def test_training_loop_matches_torch():
    """20 SGD steps of a linear classifier with a weighted, smoothed, K-dim loss."""
    x = randn(6, 5, 3, seed=45).astype(np.float32)
    y = class_targets((6, 3), 4, seed=46, ignored=-100)
    losses = {}
    for lib in (torch, mg):
        lib.manual_seed(0)
        model = lib.nn.Conv1d(5, 4, 1)
        if lib is torch:
            start = {k: v.clone() for k, v in model.state_dict().items()}
        else:
            model.load_state_dict(start)
        loss_fn = lib.nn.CrossEntropyLoss(weight=lib.tensor([1.0, 2.0, 0.5, 1.5]),
                                          label_smoothing=0.1)
        opt = lib.optim.SGD(model.parameters(), lr=0.5)
        losses[lib] = []
        for _ in range(20):
            opt.zero_grad()
            loss = loss_fn(model(lib.tensor(x)), lib.tensor(y))
            loss.backward()
            opt.step()
            losses[lib].append(loss.item())
    np.testing.assert_allclose(losses[mg], losses[torch], rtol=1e-5)
    assert losses[torch][-1] < losses[torch][0]


# ------------------------------------------------------------------ errors: both raise
X43 = randn(4, 3, seed=47).astype(np.float32)
ERRORS = {
    "ce target out of range": lambda T: F(T).cross_entropy(T.tensor(X43), T.tensor([0, 1, 3, 1])),
    "ce negative target": lambda T: F(T).cross_entropy(T.tensor(X43), T.tensor([0, -1, 2, 1])),
    "ce K-dim out of range": lambda T: F(T).cross_entropy(
        T.tensor(randn(2, 3, 4)), T.tensor(np.full((2, 4), 3))),
    "ce weighted out of range": lambda T: F(T).cross_entropy(
        T.tensor(X43), T.tensor([0, 1, 5, 1]), weight=T.ones(3)),
    "ce batch mismatch": lambda T: F(T).cross_entropy(T.tensor(X43), T.tensor([0, 1])),
    "ce K-dim target shape": lambda T: F(T).cross_entropy(
        T.tensor(randn(2, 3, 4)), T.tensor(np.zeros((2, 3), np.int64))),
    "ce multi-target": lambda T: F(T).cross_entropy(T.tensor(X43), T.zeros(4, 1).long()),
    "ce float class target": lambda T: F(T).cross_entropy(T.tensor(X43), T.tensor([0., 1, 2, 1])),
    "ce int32 target": lambda T: F(T).cross_entropy(T.tensor(X43), T.tensor([0, 1, 2, 1]).int()),
    "ce int probability target": lambda T: F(T).cross_entropy(T.tensor(X43), T.zeros(4, 3).long()),
    "ce probabilities + ignore_index": lambda T: F(T).cross_entropy(
        T.tensor(X43), T.tensor(X43).softmax(1), ignore_index=0),
    "ce weight size": lambda T: F(T).cross_entropy(T.tensor(X43), T.tensor([0, 1, 2, 1]),
                                                   weight=T.ones(4)),
    "ce weight dtype": lambda T: F(T).cross_entropy(T.tensor(X43).double(), T.tensor([0, 1, 2, 1]),
                                                    weight=T.ones(3)),
    "ce weight requires grad": lambda T: F(T).cross_entropy(
        T.tensor(X43), T.tensor([0, 1, 2, 1]), weight=T.ones(3, requires_grad=True)),
    "ce label_smoothing > 1": lambda T: F(T).cross_entropy(T.tensor(X43), T.tensor([0, 1, 2, 1]),
                                                           label_smoothing=1.5),
    "ce reduction": lambda T: F(T).cross_entropy(T.tensor(X43), T.tensor([0, 1, 2, 1]),
                                                 reduction="batchmean"),
    "nll 0-d input": lambda T: F(T).nll_loss(T.tensor(1.0), T.tensor(0)),
    "nll out of range": lambda T: F(T).nll_loss(T.tensor(X43), T.tensor([0, 1, 2, 7])),
    "nll ignore_index in range ignores": lambda T: F(T).nll_loss(
        T.tensor(X43), T.tensor([0, 1, 2, 2]), ignore_index=2),
    "bce input > 1": lambda T: F(T).binary_cross_entropy(T.tensor(X43) + 2, T.zeros(4, 3)),
    "bce input < 0": lambda T: F(T).binary_cross_entropy(T.tensor(X43) - 2, T.zeros(4, 3)),
    "bce target > 1": lambda T: F(T).binary_cross_entropy(T.full((4, 3), 0.5), T.full((4, 3), 2.)),
    "bce shape": lambda T: F(T).binary_cross_entropy(T.full((4, 3), 0.5), T.zeros(3)),
    "bce dtype": lambda T: F(T).binary_cross_entropy(T.full((4, 3), 0.5), T.zeros(4, 3).double()),
    "bce weight shape": lambda T: F(T).binary_cross_entropy(T.full((4, 3), 0.5), T.zeros(4, 3),
                                                            weight=T.ones(2)),
    "bce weight grows": lambda T: F(T).binary_cross_entropy(T.full((4, 3), 0.5), T.zeros(4, 3),
                                                            weight=T.ones(2, 4, 3)),
    "bce weight requires grad": lambda T: F(T).binary_cross_entropy(
        T.full((4, 3), 0.5), T.zeros(4, 3), weight=T.ones(3, requires_grad=True)),
    "bcel shape": lambda T: F(T).binary_cross_entropy_with_logits(T.tensor(X43), T.zeros(3)),
    "bcel int target": lambda T: F(T).binary_cross_entropy_with_logits(
        T.tensor(X43), T.zeros(4, 3).long()),
    "bcel pos_weight shape": lambda T: F(T).binary_cross_entropy_with_logits(
        T.tensor(X43), T.zeros(4, 3), pos_weight=T.ones(2)),
    "bcel pos_weight requires grad": lambda T: F(T).binary_cross_entropy_with_logits(
        T.tensor(X43), T.zeros(4, 3), pos_weight=T.ones(3, requires_grad=True)),
    "bcel reduction": lambda T: F(T).binary_cross_entropy_with_logits(
        T.tensor(X43), T.zeros(4, 3), reduction="avg"),
    "kl reduction": lambda T: F(T).kl_div(T.tensor(X43), T.tensor(X43), reduction="avg"),
    "kl shapes": lambda T: F(T).kl_div(T.tensor(X43), T.ones(4), reduction="sum"),
    "mse shapes": lambda T: F(T).mse_loss(T.tensor(X43), T.ones(4)),
    "mse weight shape": lambda T: F(T).mse_loss(T.tensor(X43), T.ones(4, 3), weight=T.ones(3)),
    "l1 reduction": lambda T: F(T).l1_loss(T.tensor(X43), T.tensor(X43), reduction="avg"),
    "smooth_l1 negative beta": lambda T: F(T).smooth_l1_loss(T.tensor(X43), T.tensor(X43),
                                                             beta=-1.0),
    "huber zero delta": lambda T: F(T).huber_loss(T.tensor(X43), T.tensor(X43), delta=0.0),
    "module target out of range": lambda T: T.nn.NLLLoss()(T.tensor(X43), T.tensor([0, 1, 9, 1])),
}


@pytest.mark.parametrize("case", list(ERRORS))
def test_errors_like_torch(case):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert_same_outcome(ERRORS[case])


@pytest.mark.parametrize("case", [c for c in ERRORS if "ignores" not in c])
def test_errors_do_raise(case):
    with pytest.raises(Exception), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ERRORS[case](torch)
