"""Activation layers (minigrad/nn/activation.py) and their functional forms, with and
without inplace=True, against torch.nn."""

import warnings

import numpy as np
import pytest
import torch

import minigrad as mg
from mgtest import assert_same_outcome, compare, randn

# name -> layer built from the library T; one lambda builds both frameworks' layer
ACTIVATIONS = {
    "ReLU": lambda T: T.nn.ReLU(),
    "ReLU6": lambda T: T.nn.ReLU6(),
    "Tanh": lambda T: T.nn.Tanh(),
    "Sigmoid": lambda T: T.nn.Sigmoid(),
    "GELU": lambda T: T.nn.GELU(),
    "GELU-tanh": lambda T: T.nn.GELU(approximate="tanh"),
    "SiLU": lambda T: T.nn.SiLU(),
    "LeakyReLU": lambda T: T.nn.LeakyReLU(),
    "LeakyReLU-0.2": lambda T: T.nn.LeakyReLU(0.2),
    "ELU": lambda T: T.nn.ELU(),
    "ELU-0.5": lambda T: T.nn.ELU(alpha=0.5),
    "Softplus": lambda T: T.nn.Softplus(),
    "Softplus-beta": lambda T: T.nn.Softplus(beta=2.0, threshold=1.5),
    "Mish": lambda T: T.nn.Mish(),
    "Hardtanh": lambda T: T.nn.Hardtanh(),
    "Hardtanh-range": lambda T: T.nn.Hardtanh(-0.5, 2.0),
    "Softmax": lambda T: T.nn.Softmax(dim=1),
    "Softmax-last": lambda T: T.nn.Softmax(dim=-1),
    "LogSoftmax": lambda T: T.nn.LogSoftmax(dim=1),
    "LogSoftmax-0": lambda T: T.nn.LogSoftmax(dim=0),
}

INPLACE = {
    "ReLU": lambda T: T.nn.ReLU(inplace=True),
    "ReLU6": lambda T: T.nn.ReLU6(inplace=True),
    "SiLU": lambda T: T.nn.SiLU(inplace=True),
    "Mish": lambda T: T.nn.Mish(inplace=True),
    "LeakyReLU": lambda T: T.nn.LeakyReLU(0.2, inplace=True),
    "ELU": lambda T: T.nn.ELU(0.7, inplace=True),
    "Hardtanh": lambda T: T.nn.Hardtanh(-0.5, 1.5, inplace=True),
}


def wide(*shape, seed=0):
    """Values over [-8, 8] (ReLU6 and Hardtanh see both of their flat parts)."""
    return randn(*shape, seed=seed) * 3


@pytest.mark.parametrize("name", list(ACTIVATIONS))
@pytest.mark.parametrize("shape", [(4, 5), (2, 3, 4)], ids=str)
def test_activation_forward_backward_match_torch(name, shape):
    compare(lambda T, x: ACTIVATIONS[name](T)(x), wide(*shape, seed=len(name)))


@pytest.mark.parametrize("name", list(INPLACE))
def test_inplace_activation_matches_torch(name):
    # x * 1 is not a leaf, so it may be changed in place; the gradient flows through
    # the in-place op back to the leaf x
    compare(lambda T, x: INPLACE[name](T)(x * 1), wide(3, 4, seed=len(name)))


@pytest.mark.parametrize("name", list(INPLACE))
def test_inplace_activation_writes_into_its_input(name):
    for T in (torch, mg):
        x = T.tensor(wide(3, 4, seed=5))
        version = x._version
        out = INPLACE[name](T)(x)
        assert out is x, f"{T.__name__}: inplace=True returns its input"
        assert x._version > version, f"{T.__name__}: an in-place op bumps the version"
    expected = INPLACE[name](torch)(torch.tensor(wide(3, 4, seed=5)))
    np.testing.assert_allclose(INPLACE[name](mg)(mg.tensor(wide(3, 4, seed=5))).numpy(),
                               expected.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", list(INPLACE))
def test_inplace_on_leaf_requiring_grad_raises_like_torch(name):
    def program(T):
        x = T.tensor(wide(3, 4), requires_grad=True)
        return INPLACE[name](T)(x)

    t_error, m_error = assert_same_outcome(program)
    assert isinstance(t_error, RuntimeError) and "leaf" in str(m_error)


@pytest.mark.parametrize("name", ["ReLU", "LeakyReLU", "Hardtanh"])
def test_inplace_on_leaf_is_allowed_under_no_grad(name):
    def program(T):
        x = T.tensor(wide(3, 4), requires_grad=True)
        with T.no_grad():
            INPLACE[name](T)(x)
        return x.detach(), x.requires_grad

    assert_same_outcome(program)


@pytest.mark.parametrize("name", list(INPLACE))
def test_inplace_change_of_a_saved_tensor_fails_at_backward_like_torch(name):
    def program(T):
        x = T.tensor(wide(3, 4), requires_grad=True)
        y = x.exp()             # exp saves its output for backward
        INPLACE[name](T)(y)
        y.sum().backward()
        return x.grad

    t_error, m_error = assert_same_outcome(program)
    assert isinstance(t_error, RuntimeError) and isinstance(m_error, RuntimeError)


def test_inplace_through_a_view_matches_torch():
    def program(T):
        x = T.tensor(wide(4, 3), requires_grad=True)
        y = x * 2
        T.nn.functional.relu(y[1:3], inplace=True)
        T.nn.functional.leaky_relu(y[:, 0], 0.3, inplace=True)
        (y * T.tensor(randn(4, 3, seed=9))).sum().backward()
        return y.detach(), x.grad

    assert_same_outcome(program)


FUNCTIONAL_INPLACE = {
    "relu": lambda F, x: F.relu(x, inplace=True),
    "relu6": lambda F, x: F.relu6(x, inplace=True),
    "leaky_relu": lambda F, x: F.leaky_relu(x, 0.1, inplace=True),
    "elu": lambda F, x: F.elu(x, 1.3, inplace=True),
    "hardtanh": lambda F, x: F.hardtanh(x, -2.0, 0.5, inplace=True),
    "silu": lambda F, x: F.silu(x, inplace=True),
    "mish": lambda F, x: F.mish(x, inplace=True),
}


@pytest.mark.parametrize("name", list(FUNCTIONAL_INPLACE))
def test_functional_inplace_matches_torch(name):
    fn = FUNCTIONAL_INPLACE[name]
    compare(lambda T, x: fn(T.nn.functional, x + 0), wide(5, 3, seed=3))

    def program(T):
        x = T.tensor(wide(5, 3, seed=3))
        return fn(T.nn.functional, x) is x, x

    assert_same_outcome(program)


def test_relu6_functional_matches_torch():
    values = np.array([[-1.0, 0.0, 3.0, 6.0, 7.5, 5.9]])
    compare(lambda T, x: T.nn.functional.relu6(x), values)
    compare(lambda T, x: T.nn.functional.relu6(x), wide(4, 6, seed=1))


# ------------------------------------------------------------------ softmax without dim

@pytest.mark.parametrize("ndim", [0, 1, 2, 3, 4])
@pytest.mark.parametrize("fn", ["softmax", "log_softmax"])
def test_softmax_without_dim_follows_torch_legacy_rule(ndim, fn):
    x = randn(*[3, 2, 4, 2][:ndim], seed=ndim)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        compare(lambda T, x: getattr(T.nn.functional, fn)(x), x)
        module = {"softmax": "Softmax", "log_softmax": "LogSoftmax"}[fn]
        compare(lambda T, x: getattr(T.nn, module)()(x), x)


@pytest.mark.parametrize("fn", ["softmax", "log_softmax"])
def test_softmax_without_dim_warns_like_torch(fn):
    for T in (torch, mg):
        with pytest.warns(UserWarning, match=f"Implicit dimension choice for {fn}") as record:
            getattr(T.nn.functional, fn)(T.ones(2, 3))
        assert record[0].filename == __file__, f"{T.__name__}: the warning names the caller"
    with pytest.warns(UserWarning, match="Implicit dimension choice"):
        mg.nn.Softmax()(mg.ones(2, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mg.nn.functional.softmax(mg.ones(2, 3), dim=1)      # no warning with a dim


@pytest.mark.parametrize("fn", ["softmax", "log_softmax"])
def test_softmax_dtype_argument_matches_torch(fn):
    compare(lambda T, x: getattr(T.nn.functional, fn)(x, dim=1, dtype=T.float64),
            randn(3, 4, seed=2), dtypes=("float32",))


# ------------------------------------------------------------------ dropout

@pytest.mark.parametrize("p", [0.2, 0.5, 0.8])
def test_dropout_inplace_zeroes_and_scales_the_input_itself(p):
    mg.manual_seed(0)
    x0 = np.abs(randn(200, 50, seed=4)) + 0.5
    x = mg.tensor(x0)
    out = mg.nn.functional.dropout(x, p, training=True, inplace=True)
    assert out is x and x._version == 1
    kept = x.numpy() != 0
    assert abs(1 - kept.mean() - p) < 0.02
    np.testing.assert_allclose(x.numpy()[kept], x0[kept] / (1 - p), rtol=1e-12)


def test_dropout_inplace_gradient_is_the_scaled_mask():
    mg.manual_seed(1)
    leaf = mg.tensor(np.abs(randn(30, 20, seed=5)) + 0.5, requires_grad=True)
    y = leaf * 1
    mg.nn.Dropout(0.3, inplace=True)(y)
    R = randn(30, 20, seed=6)
    y.backward(mg.tensor(R))
    np.testing.assert_allclose(leaf.grad.numpy(), (y.detach().numpy() != 0) * R / 0.7, rtol=1e-12)


def test_dropout_eval_and_p_edges_like_torch():
    def program(T):
        x = T.tensor(randn(4, 5, seed=7))
        drop = T.nn.Dropout(0.4, inplace=True).eval()
        zeros = T.nn.functional.dropout(x * 1, 1.0, inplace=True)
        same = T.nn.functional.dropout(x, 0.0)
        return drop(x) is x, x, zeros, same

    assert_same_outcome(program)


@pytest.mark.parametrize("p", [-0.1, 1.5])
def test_dropout_probability_errors_like_torch(p):
    assert_same_outcome(lambda T: T.nn.Dropout(p))
    assert_same_outcome(lambda T: T.nn.functional.dropout(T.ones(3), p, inplace=True))


# ------------------------------------------------------------------ repr and errors

REPRS = [
    lambda T: T.nn.ReLU(), lambda T: T.nn.ReLU(inplace=True), lambda T: T.nn.ReLU6(),
    lambda T: T.nn.ReLU6(True), lambda T: T.nn.Tanh(), lambda T: T.nn.Sigmoid(),
    lambda T: T.nn.GELU(), lambda T: T.nn.GELU("tanh"), lambda T: T.nn.SiLU(),
    lambda T: T.nn.SiLU(inplace=True), lambda T: T.nn.Mish(), lambda T: T.nn.Mish(True),
    lambda T: T.nn.LeakyReLU(), lambda T: T.nn.LeakyReLU(0.2, inplace=True),
    lambda T: T.nn.ELU(), lambda T: T.nn.ELU(alpha=0.5, inplace=True),
    lambda T: T.nn.Softplus(), lambda T: T.nn.Softplus(beta=2, threshold=10),
    lambda T: T.nn.Hardtanh(), lambda T: T.nn.Hardtanh(-2, 3, True),
    lambda T: T.nn.Softmax(), lambda T: T.nn.Softmax(dim=1), lambda T: T.nn.LogSoftmax(),
    lambda T: T.nn.LogSoftmax(dim=-1), lambda T: T.nn.Dropout(),
    lambda T: T.nn.Dropout(0.2, inplace=True),
]


@pytest.mark.parametrize("build", REPRS)
def test_repr_matches_torch(build):
    assert repr(build(mg)) == repr(build(torch))


def test_activations_have_no_parameters_or_state_like_torch():
    for build in REPRS:
        assert list(build(mg).state_dict()) == list(build(torch).state_dict()) == []


@pytest.mark.parametrize("args", [(1.0, 1.0), (2.0, -1.0)])
def test_hardtanh_range_errors_like_torch(args):
    with pytest.raises(AssertionError, match="must be greater than"):
        torch.nn.Hardtanh(*args)
    with pytest.raises(AssertionError, match="must be greater than"):
        mg.nn.Hardtanh(*args)
    assert_same_outcome(lambda T: T.nn.functional.hardtanh(T.ones(2), 2.0, -1.0))


def test_gelu_bad_approximate_raises_like_torch():
    assert_same_outcome(lambda T: T.nn.GELU("fast")(T.ones(2)))


def test_activations_in_a_model_train_like_torch():
    """Ten SGD steps of a model mixing in-place and ordinary activations: the same loss
    at every step."""
    def build(T):
        nn = T.nn
        return nn.Sequential(nn.Linear(6, 8), nn.LeakyReLU(0.1, inplace=True),
                             nn.Linear(8, 8), nn.GELU(), nn.Linear(8, 8), nn.ELU(inplace=True),
                             nn.Linear(8, 4), nn.LogSoftmax(dim=1))

    torch.manual_seed(0)
    t, m = build(torch).double(), build(mg).double()
    m.load_state_dict(t.state_dict())
    X, Y = randn(16, 6, seed=11), randn(16, 4, seed=12)
    losses = {}
    for T, model in ((torch, t), (mg, m)):
        opt = T.optim.SGD(model.parameters(), lr=0.1)
        losses[T.__name__] = []
        for _ in range(10):
            opt.zero_grad()
            loss = ((model(T.tensor(X)) - T.tensor(Y)) ** 2).mean()
            loss.backward()
            opt.step()
            losses[T.__name__].append(loss.item())
    np.testing.assert_allclose(losses["minigrad"], losses["torch"], rtol=1e-10)
