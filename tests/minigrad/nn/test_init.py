"""minigrad.nn.init (minigrad/nn/init.py) against torch.nn.init.

The random numbers differ between the two libraries, so each initialiser is checked in
three ways: the parameters it hands its random draw (bounds, mean, std) are captured from
both libraries and must be equal to the last bit; a large draw must have the expected
range, mean and standard deviation (as PyTorch's own draw does); and the effects that
are not random (constants, _version, errors, warnings) must be PyTorch's exactly."""

import math
import warnings
from unittest import mock

import numpy as np
import pytest
import torch
import torch.nn.init as tinit

import minigrad as mg
import minigrad.nn.init as init

RANDOM = ["uniform_", "normal_", "xavier_uniform_", "xavier_normal_", "kaiming_uniform_",
          "kaiming_normal_", "trunc_normal_", "orthogonal_"]
CONSTANT = ["constant_", "ones_", "zeros_", "eye_"]
EXTRA_ARGS = {"constant_": (0.3,)}


# ------------------------------------------------------------------ capturing the draw


class RecordingRNG:
    """Stands in for a Generator's NumPy generator: records what it is asked for."""

    def __init__(self):
        self.calls = []

    def uniform(self, low, high, size):
        self.calls.append(("uniform", float(low), float(high)))
        return np.zeros(size)

    def normal(self, loc, scale, size):
        self.calls.append(("normal", float(loc), float(scale)))
        return np.zeros(size)


def minigrad_draws(name, shape, **kwargs):
    g = mg.Generator()
    g.rng = RecordingRNG()
    getattr(init, name)(mg.zeros(*shape), generator=g, **kwargs)
    return g.rng.calls


def torch_draws(name, shape, **kwargs):
    """What torch.nn.init's `name` passes to Tensor.uniform_ / Tensor.normal_."""
    calls = []

    def recorder(kind):
        def method(self, *args, generator=None):
            calls.append((kind, *map(float, args)))
            return self
        return method

    with mock.patch.object(torch.Tensor, "uniform_", recorder("uniform")), \
            mock.patch.object(torch.Tensor, "normal_", recorder("normal")):
        getattr(tinit, name)(torch.empty(shape), **kwargs)
    return calls


SHAPES = [(128, 64), (64, 128), (16, 3, 5, 5), (10, 20, 3), (1, 1)]
FORMULA_CASES = [
    ("uniform_", dict(a=-0.3, b=0.7)),
    ("uniform_", dict()),
    ("normal_", dict(mean=0.5, std=2.0)),
    ("normal_", dict()),
    ("xavier_uniform_", dict()),
    ("xavier_uniform_", dict(gain=5.0 / 3)),
    ("xavier_normal_", dict()),
    ("xavier_normal_", dict(gain=math.sqrt(2.0))),
    ("kaiming_uniform_", dict(a=math.sqrt(5))),            # nn.Linear's and nn.Conv2d's
    ("kaiming_uniform_", dict()),
    ("kaiming_uniform_", dict(mode="fan_out", nonlinearity="relu")),
    ("kaiming_uniform_", dict(a=0.2, mode="FAN_IN")),
    ("kaiming_uniform_", dict(nonlinearity="tanh")),
    ("kaiming_normal_", dict()),
    ("kaiming_normal_", dict(mode="fan_out", nonlinearity="relu")),
    ("kaiming_normal_", dict(a=0.1, nonlinearity="leaky_relu")),
    ("kaiming_normal_", dict(nonlinearity="selu")),
]


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("name,kwargs", FORMULA_CASES,
                         ids=[f"{n}-{k}" for n, k in FORMULA_CASES])
def test_bounds_and_std_are_pytorchs_to_the_last_bit(name, kwargs, shape):
    ours, theirs = minigrad_draws(name, shape, **kwargs), torch_draws(name, shape, **kwargs)
    assert len(theirs) == 1
    assert ours == theirs


def test_linear_default_bound_is_one_over_sqrt_fan_in():
    (kind, low, high), = minigrad_draws("kaiming_uniform_", (128, 64), a=math.sqrt(5))
    assert kind == "uniform" and low == -high
    assert high == pytest.approx(1 / math.sqrt(64), rel=1e-15)
    assert [(kind, low, high)] == torch_draws("kaiming_uniform_", (128, 64), a=math.sqrt(5))


@pytest.mark.parametrize("shape", [(10, 4), (4, 10)], ids=str)
def test_orthogonal_draws_a_standard_normal_matrix_like_pytorch(shape):
    assert minigrad_draws("orthogonal_", shape) == [("normal", 0.0, 1.0)]
    assert torch_draws("orthogonal_", shape) == [("normal", 0.0, 1.0)]


# ------------------------------------------------------------------ the draws themselves

BIG = (200, 300)


def expected_moments(name, kwargs):
    """(low, high, mean, std) of the distribution, from the parameters PyTorch uses."""
    (kind, p, q), = torch_draws(name, BIG, **kwargs)
    if kind == "uniform":
        return p, q, (p + q) / 2, (q - p) / math.sqrt(12)
    return -math.inf, math.inf, p, q


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name,kwargs", FORMULA_CASES,
                         ids=[f"{n}-{k}" for n, k in FORMULA_CASES])
def test_a_large_draw_has_the_expected_range_mean_and_std(name, kwargs, dtype):
    low, high, mean, std = expected_moments(name, kwargs)
    mg.manual_seed(0)
    torch.manual_seed(0)
    ours = getattr(init, name)(mg.zeros(*BIG, dtype=getattr(mg, dtype)), **kwargs)
    theirs = getattr(tinit, name)(torch.zeros(BIG, dtype=getattr(torch, dtype)), **kwargs)
    for values in (ours.detach().numpy(), theirs.numpy()):
        assert values.dtype == np.dtype(dtype)
        # 60000 draws: the sample mean and std are within 5 standard errors
        assert abs(values.mean() - mean) < 0.02 * std
        assert abs(values.std() - std) < 0.02 * std
        if math.isfinite(low):
            # inside the bounds (as the tensor's dtype rounds them), and filling them
            assert values.min() >= np.asarray(low, dtype)
            assert values.max() <= np.asarray(high, dtype)
            assert values.min() < low + 0.01 * (high - low)
            assert values.max() > high - 0.01 * (high - low)


def truncated_normal_moments(mean, std, a, b):
    alpha, beta = (a - mean) / std, (b - mean) / std
    pdf = lambda x: math.exp(-x * x / 2) / math.sqrt(2 * math.pi)  # noqa: E731
    cdf = lambda x: (1 + math.erf(x / math.sqrt(2))) / 2  # noqa: E731
    z = cdf(beta) - cdf(alpha)
    shift = (pdf(alpha) - pdf(beta)) / z
    var = 1 + (alpha * pdf(alpha) - beta * pdf(beta)) / z - shift ** 2
    return mean + std * shift, std * math.sqrt(var)


@pytest.mark.parametrize("mean,std,a,b", [
    (0.0, 1.0, -2.0, 2.0),          # most normal draws are kept
    (0.0, 0.02, -0.04, 0.04),       # ViT's trunc_normal_(std=.02)
    (0.5, 0.2, -1.0, 1.0),
    (0.0, 1.0, 1.5, 3.0),           # a tail: drawn uniformly and thinned
    (1.0, 2.0, -0.5, 0.0),          # little mass, mean outside [a, b]
])
def test_trunc_normal_has_the_truncated_normals_moments(mean, std, a, b):
    want_mean, want_std = truncated_normal_moments(mean, std, a, b)
    mg.manual_seed(0)
    torch.manual_seed(0)
    ours = init.trunc_normal_(mg.zeros(*BIG), mean, std, a, b).detach().numpy()
    theirs = tinit.trunc_normal_(torch.zeros(BIG), mean, std, a, b).numpy()
    for values in (ours, theirs):
        assert values.min() >= np.float32(a) and values.max() <= np.float32(b)
        assert abs(values.mean() - want_mean) < 0.02 * want_std
        assert abs(values.std() - want_std) < 0.02 * want_std


def test_trunc_normal_warns_as_pytorch_when_the_mean_is_far_outside():
    with pytest.warns(UserWarning, match="mean is more than 2 std from") as ours:
        values = init.trunc_normal_(mg.zeros(1000), 0.0, 1.0, 5.0, 6.0).detach().numpy()
    with pytest.warns(UserWarning) as theirs:
        tinit.trunc_normal_(torch.zeros(1000), 0.0, 1.0, 5.0, 6.0)
    assert [str(w.message) for w in ours] == [str(w.message) for w in theirs]
    assert values.min() >= 5.0 and values.max() <= 6.0


@pytest.mark.parametrize("shape", [(10, 4), (4, 10), (6, 6), (4, 3, 5), (1, 7), (7, 1)],
                         ids=str)
@pytest.mark.parametrize("dtype,tol", [("float32", 1e-5), ("float64", 1e-12)])
@pytest.mark.parametrize("gain", [1, 2.5])
def test_orthogonal_gives_orthonormal_rows_or_columns(shape, dtype, tol, gain):
    mg.manual_seed(1)
    t = init.orthogonal_(mg.zeros(*shape, dtype=getattr(mg, dtype)), gain=gain)
    assert tuple(t.shape) == shape and t.dtype == getattr(mg, dtype)
    q = t.detach().numpy().reshape(shape[0], -1).astype(np.float64) / gain
    small = min(q.shape)
    gram = q.T @ q if q.shape[0] >= q.shape[1] else q @ q.T     # Q^T Q (tall) or Q Q^T (wide)
    np.testing.assert_allclose(gram, np.eye(small), atol=tol)
    # PyTorch's result has the same property
    tq = tinit.orthogonal_(torch.zeros(shape, dtype=getattr(torch, dtype)), gain=gain)
    tq = tq.numpy().reshape(shape[0], -1).astype(np.float64) / gain
    tgram = tq.T @ tq if tq.shape[0] >= tq.shape[1] else tq @ tq.T
    np.testing.assert_allclose(tgram, np.eye(small), atol=max(tol, 1e-5))


def test_orthogonal_signs_are_not_fixed_by_the_algorithm():
    # without the sign correction from R's diagonal, QR would bias the signs of Q
    mg.manual_seed(2)
    corners = [init.orthogonal_(mg.zeros(3, 3))[0, 0].item() for _ in range(200)]
    assert 60 < sum(c > 0 for c in corners) < 140


# ------------------------------------------------------------------ the exact fills


@pytest.mark.parametrize("name", CONSTANT)
@pytest.mark.parametrize("shape", [(3, 5), (5, 3), (4, 4), (0, 3), (1, 1)], ids=str)
@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "bool"])
def test_constant_fills_equal_pytorchs(name, shape, dtype):
    ours = getattr(init, name)(mg.full(shape, 7, dtype=getattr(mg, dtype)),
                               *EXTRA_ARGS.get(name, ()))
    theirs = getattr(tinit, name)(torch.full(shape, 7, dtype=getattr(torch, dtype)),
                                  *EXTRA_ARGS.get(name, ()))
    a, b = ours.detach().numpy(), theirs.numpy()
    assert a.dtype == b.dtype and a.shape == b.shape
    assert np.array_equal(a, b)


@pytest.mark.parametrize("shape", [(2, 3, 4), (5,), ()], ids=str)
@pytest.mark.parametrize("name", ["constant_", "ones_", "zeros_"])
def test_constant_fills_any_shape(name, shape):
    ours = getattr(init, name)(mg.full(shape, 7.0), *EXTRA_ARGS.get(name, ()))
    theirs = getattr(tinit, name)(torch.full(shape, 7.0), *EXTRA_ARGS.get(name, ()))
    assert np.array_equal(ours.detach().numpy(), theirs.numpy())


def test_constant_accepts_a_0d_tensor_and_refuses_others_like_pytorch():
    assert init.constant_(mg.zeros(3), mg.tensor(2.0)).tolist() == [2.0, 2.0, 2.0]
    with pytest.raises(RuntimeError, match="0-dimensional"):
        init.constant_(mg.zeros(3), mg.tensor([2.0, 1.0, 1.0]))
    with pytest.raises(RuntimeError):
        tinit.constant_(torch.zeros(3), torch.tensor([2.0, 1.0, 1.0]))


# ------------------------------------------------------------------ versions, errors, warnings


def outcome(lib, name, shape, dtype, requires_grad=False):
    """What calling `name` on a fresh tensor does: ('ok', _version, warnings, requires_grad)
    or ('error', exception type, its message if it should match)."""
    module = init if lib is mg else tinit
    t = lib.zeros(shape, dtype=getattr(lib, dtype), requires_grad=requires_grad)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = getattr(module, name)(t, *EXTRA_ARGS.get(name, ()))
        except Exception as error:   # noqa: BLE001  (comparing which errors are raised)
            same_text = isinstance(error, (ValueError, ZeroDivisionError))
            return ("error", type(error).__name__, str(error) if same_text else None)
    assert result is t
    version = t._version
    if name == "trunc_normal_":   # 1, or 2 when some of the first draw was rejected
        assert version in (1, 2)
        version = "1 or 2"
    return ("ok", version, [str(w.message) for w in caught], t.requires_grad)


@pytest.mark.parametrize("shape", [(4, 6), (2, 3, 4), (5,), (), (0, 3), (3, 0), (0,),
                                   (0, 0), (1, 1)], ids=str)
@pytest.mark.parametrize("name", RANDOM + CONSTANT)
def test_version_errors_and_warnings_match_pytorch(name, shape):
    assert outcome(mg, name, shape, "float32") == outcome(torch, name, shape, "float32")


@pytest.mark.parametrize("dtype", ["int64", "bool", "float64"])
@pytest.mark.parametrize("name", RANDOM + CONSTANT)
def test_dtypes_accepted_and_refused_as_pytorch(name, dtype):
    assert outcome(mg, name, (3, 3), dtype) == outcome(torch, name, (3, 3), dtype)


@pytest.mark.parametrize("name", RANDOM + CONSTANT)
def test_a_leaf_that_requires_grad_is_filled_without_a_graph(name):
    assert outcome(mg, name, (3, 4), "float32", True) == \
        outcome(torch, name, (3, 4), "float32", True)
    w = mg.nn.Parameter(mg.zeros(3, 4))
    getattr(init, name)(w, *EXTRA_ARGS.get(name, ()))
    assert w.is_leaf and w.grad_fn is None and w.requires_grad
    (w * 2).sum().backward()
    assert w.grad.tolist() == [[2.0] * 4] * 3


def test_trunc_normal_version_is_1_without_rejections_and_2_with():
    # [-10, 10] keeps every draw: one write; 10000 draws from [-2, 2]: some are redrawn
    for lib, module in ((mg, init), (torch, tinit)):
        kept = module.trunc_normal_(lib.zeros(5), 0.0, 1.0, -10.0, 10.0)
        redrawn = module.trunc_normal_(lib.zeros(10000))
        assert (kept._version, redrawn._version) == (1, 2)


def test_a_view_is_filled_in_its_base():
    base = mg.zeros(4, 6)
    init.orthogonal_(base[:2])
    tbase = torch.zeros(4, 6)
    tinit.orthogonal_(tbase[:2])
    assert base._version == tbase._version == 2
    assert np.all(base[2:].numpy() == 0) and not np.all(base[:2].numpy() == 0)


@pytest.mark.parametrize("call", [
    lambda m, t: m.uniform_(t, 1.0, 0.0),
    lambda m, t: m.uniform_(t, 0.0, math.inf),
    lambda m, t: m.uniform_(t, math.nan, 1.0),
    lambda m, t: m.uniform_(t, -1e39, 1e39),
    lambda m, t: m.normal_(t, 0.0, -1.0),
    lambda m, t: m.normal_(t, 0.0, math.nan),
    lambda m, t: m.trunc_normal_(t, 0.0, 1.0, 2.0, -2.0),
    lambda m, t: m.trunc_normal_(t, 0.0, 0.0),
    lambda m, t: m.kaiming_uniform_(t, mode="fan_avg"),
    lambda m, t: m.kaiming_normal_(t, nonlinearity="gelu"),
    lambda m, t: m.kaiming_normal_(t, a=True),
    lambda m, t: m.xavier_uniform_(t[0]),
], ids=["uniform a>b", "uniform inf", "uniform nan", "uniform beyond float32",
        "normal std<0", "normal std nan", "trunc a>b", "trunc std 0", "kaiming mode",
        "kaiming nonlinearity", "kaiming a=True", "xavier 1-d"])
def test_bad_arguments_raise_pytorchs_exceptions(call):
    def raised(module, lib):
        with pytest.raises(Exception) as info:
            call(module, lib.zeros(3, 4))
        return info.type, (str(info.value) if info.type is ValueError else None)
    assert raised(init, mg) == raised(tinit, torch)


@pytest.mark.parametrize("case", [
    ("linear",), ("conv1d",), ("conv2d",), ("conv3d",), ("conv_transpose1d",),
    ("conv_transpose2d",), ("conv_transpose3d",), ("sigmoid",), ("tanh",), ("relu",),
    ("leaky_relu",), ("leaky_relu", 0.2), ("leaky_relu", 1), ("leaky_relu", math.sqrt(5)),
    ("leaky_relu", None), ("selu",), ("relu", 3), ("tanh", 0.5),
], ids=str)
def test_calculate_gain_equals_pytorchs(case):
    ours, theirs = init.calculate_gain(*case), tinit.calculate_gain(*case)
    assert ours == theirs and type(ours) is type(theirs)


@pytest.mark.parametrize("case", [("gelu",), ("ReLU",), ("leaky_relu", True),
                                  ("leaky_relu", "0.1")], ids=str)
def test_calculate_gain_refuses_as_pytorch(case):
    with pytest.raises(ValueError) as ours:
        init.calculate_gain(*case)
    with pytest.raises(ValueError) as theirs:
        tinit.calculate_gain(*case)
    assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize("shape", [(3, 4), (4, 3), (3, 4, 5, 2), (0, 4, 5), (6, 2, 3),
                                   (5,), ()], ids=str)
def test_fan_in_and_fan_out_equal_pytorchs(shape):
    def result(fn, t):
        try:
            return fn(t)
        except ValueError as error:
            return str(error)
    assert result(init._calculate_fan_in_and_fan_out, mg.zeros(*shape)) == \
        result(tinit._calculate_fan_in_and_fan_out, torch.zeros(shape))


# ------------------------------------------------------------------ reproducibility


@pytest.mark.parametrize("name", RANDOM)
def test_manual_seed_and_generators_repeat_the_numbers(name):
    def draw(generator=None):
        return getattr(init, name)(mg.zeros(8, 5), generator=generator).numpy()
    mg.manual_seed(7)
    first = draw()
    mg.manual_seed(7)
    assert np.array_equal(draw(), first)
    assert not np.array_equal(draw(), first)        # the global generator moved on
    a = draw(mg.Generator().manual_seed(3))
    mg.manual_seed(7)
    b = draw(mg.Generator().manual_seed(3))
    assert np.array_equal(a, b) and not np.array_equal(a, first)


def test_reinitialising_a_layer_then_training_it():
    mg.manual_seed(0)
    layer = mg.nn.Linear(64, 128)
    init.kaiming_normal_(layer.weight, nonlinearity="relu")
    init.zeros_(layer.bias)
    assert layer.weight._version == 2 and layer.bias.tolist() == [0.0] * 128   # made, then filled
    assert abs(layer.weight.detach().numpy().std() - math.sqrt(2 / 64)) < 0.02 * math.sqrt(2 / 64)
    layer(mg.ones(2, 64)).sum().backward()
    assert layer.bias.grad.tolist() == [2.0] * 128


def test_pytorchs_other_initialisers_are_named_in_the_error():
    with pytest.raises(AttributeError, match="dirac_.*minigrad does not implement it"):
        init.dirac_
    with pytest.raises(AttributeError, match="nn.init.uniform_"):
        init.uniform
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        init.nothing
