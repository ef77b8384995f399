"""Element-wise ops (minigrad/ops/elementwise.py): forward + backward against torch,
broadcasting, Python scalars on either side, dtype rules, and float64 gradcheck."""

import numpy as np
import pytest
import torch

import minigrad as mg
from mgtest import (
    assert_same_outcome,
    away_from_zero,
    compare,
    gradcheck,
    np_dtype_name,
    positive,
    randn,
)

# Broadcasting shape pairs: trailing vector, 0-d on either side, size-1 dimensions on both
# sides, and equal shapes.
SHAPE_PAIRS = [
    ((3, 4), (4,)),
    ((4,), (3, 4)),
    ((2, 1, 4), (3, 1)),
    ((), (2, 3)),
    ((2, 3), ()),
    ((3, 1), (1, 4)),
    ((2, 3), (2, 3)),
    ((), ()),
]
PAIR_IDS = [f"{a}&{b}" for a, b in SHAPE_PAIRS]


def _pair(sa, sb, kind="normal"):
    if kind == "normal":
        return randn(*sa, seed=1), randn(*sb, seed=2)
    if kind == "denominator":
        return randn(*sa, seed=1), away_from_zero(*sb, seed=2, low=0.5)
    if kind == "pow":
        return positive(*sa, seed=1, low=0.5, high=2.0), randn(*sb, seed=2)
    raise ValueError(kind)


BINARY = {
    "add": (lambda T, a, b: a + b, "normal"),
    "sub": (lambda T, a, b: a - b, "normal"),
    "mul": (lambda T, a, b: a * b, "normal"),
    "div": (lambda T, a, b: a / b, "denominator"),
    "pow": (lambda T, a, b: a**b, "pow"),
    "maximum": (lambda T, a, b: T.maximum(a, b), "normal"),
}


@pytest.mark.parametrize("name", list(BINARY))
@pytest.mark.parametrize("sa,sb", SHAPE_PAIRS, ids=PAIR_IDS)
def test_binary_broadcast_matches_torch(name, sa, sb):
    fn, kind = BINARY[name]
    a, b = _pair(sa, sb, kind)
    compare(fn, a, b)


@pytest.mark.parametrize("name", list(BINARY))
@pytest.mark.parametrize("sa,sb", [((3, 4), (4,)), ((2, 1, 4), (3, 1)), ((), (2, 3))], ids=str)
def test_binary_gradcheck(name, sa, sb):
    fn, kind = BINARY[name]
    a, b = _pair(sa, sb, kind)
    gradcheck(fn, a, b)


def test_binary_same_tensor_both_sides():
    x = randn(3, 2)
    compare(lambda T, a: a * a, x)
    compare(lambda T, a: a + a, x)
    compare(lambda T, a: a - a, x)
    compare(lambda T, a: a / a, away_from_zero(3, 2))


# ------------------------------------------------------------------ Python scalars
SCALAR_CASES = {
    "x+2": (lambda T, x: x + 2, "normal"),
    "2+x": (lambda T, x: 2 + x, "normal"),
    "x+1.5": (lambda T, x: x + 1.5, "normal"),
    "x-2.5": (lambda T, x: x - 2.5, "normal"),
    "2-x": (lambda T, x: 2 - x, "normal"),
    "x*3": (lambda T, x: x * 3, "normal"),
    "-1.5*x": (lambda T, x: -1.5 * x, "normal"),
    "x/2": (lambda T, x: x / 2, "normal"),
    "2/x": (lambda T, x: 2 / x, "nonzero"),
    "x**2": (lambda T, x: x**2, "normal"),
    "x**3": (lambda T, x: x**3, "normal"),
    "x**0.5": (lambda T, x: x**0.5, "positive"),
    "x**-1": (lambda T, x: x**-1, "nonzero"),
    "x**-1.5": (lambda T, x: x**-1.5, "positive"),
    "2**x": (lambda T, x: 2**x, "normal"),
    "0.5**x": (lambda T, x: 0.5**x, "normal"),
    "-x": (lambda T, x: -x, "normal"),
}


def _scalar_input(kind, shape=(2, 3)):
    if kind == "normal":
        return randn(*shape, seed=3)
    if kind == "nonzero":
        return away_from_zero(*shape, seed=3, low=0.5)
    return positive(*shape, seed=3)


@pytest.mark.parametrize("case", list(SCALAR_CASES))
@pytest.mark.parametrize("shape", [(2, 3), ()], ids=str)
def test_scalar_either_side_matches_torch(case, shape):
    fn, kind = SCALAR_CASES[case]
    compare(fn, _scalar_input(kind, shape))


@pytest.mark.parametrize("case", list(SCALAR_CASES))
def test_scalar_either_side_gradcheck(case):
    fn, kind = SCALAR_CASES[case]
    gradcheck(fn, _scalar_input(kind))


# ------------------------------------------------------------------ unary
UNARY = {
    "exp": (lambda T, x: x.exp(), "normal"),
    "log": (lambda T, x: x.log(), "positive"),
    "sqrt": (lambda T, x: x.sqrt(), "positive"),
    "abs": (lambda T, x: x.abs(), "nonzero"),
    "tanh": (lambda T, x: x.tanh(), "normal"),
    "sigmoid": (lambda T, x: x.sigmoid(), "normal"),
    "relu": (lambda T, x: x.relu(), "nonzero"),
    "clamp_both": (lambda T, x: x.clamp(min=-0.5, max=0.7), "clamp"),
    "clamp_min": (lambda T, x: x.clamp(min=-0.5), "clamp"),
    "clamp_max": (lambda T, x: x.clamp(max=0.7), "clamp"),
    "neg": (lambda T, x: -x, "normal"),
}


def _unary_input(kind, shape=(3, 4), seed=5):
    if kind == "normal":
        return randn(*shape, seed=seed)
    if kind == "positive":
        return positive(*shape, seed=seed, low=0.3, high=3.0)
    if kind == "nonzero":
        return away_from_zero(*shape, seed=seed, low=0.1)
    if kind == "clamp":
        # values spread over [-2, 2] but never within 0.05 of the bounds -0.5 / 0.7
        x = np.random.default_rng(seed).uniform(-2, 2, size=shape)
        for bound in (-0.5, 0.7):
            close = np.abs(x - bound) < 0.05
            x[close] += 0.2
        return x
    raise ValueError(kind)


@pytest.mark.parametrize("name", list(UNARY))
@pytest.mark.parametrize("shape", [(3, 4), (), (2, 1, 3)], ids=str)
def test_unary_matches_torch(name, shape):
    fn, kind = UNARY[name]
    compare(fn, _unary_input(kind, shape))


@pytest.mark.parametrize("name", list(UNARY))
def test_unary_gradcheck(name):
    fn, kind = UNARY[name]
    gradcheck(fn, _unary_input(kind))


def test_clamp_covers_all_regions():
    # make sure the clamp input really has values below, inside and above the bounds
    x = _unary_input("clamp", (3, 4))
    assert (x < -0.5).any() and (x > 0.7).any() and ((x > -0.5) & (x < 0.7)).any()
    compare(lambda T, t: t.clamp(min=-0.5, max=0.7), x)


def test_relu_and_abs_values_at_zero_forward():
    x = np.array([-1.0, 0.0, 2.0])
    compare(lambda T, t: t.relu(), x, backward=False)
    compare(lambda T, t: t.abs(), x, backward=False)


def test_sigmoid_and_tanh_extreme_inputs_finite():
    x = np.array([-800.0, -50.0, 0.0, 50.0, 800.0])
    for fn in (lambda T, t: t.sigmoid(), lambda T, t: t.tanh()):
        compare(fn, x, dtypes=("float64",))
        with np.errstate(all="ignore"):
            out = fn(mg, mg.tensor(x.astype(np.float32)))
        assert np.all(np.isfinite(out.numpy()))


def test_exp_log_chain():
    x = positive(4, seed=9)
    compare(lambda T, t: (t.log() * 2).exp(), x)  # = x**2


# ------------------------------------------------------------------ maximum / where
def test_maximum_ties_split_gradient_like_torch():
    a = np.array([[1.0, 2.0, 3.0], [0.5, 0.5, -1.0]])
    b = np.array([[1.0, 0.0, 3.0], [0.5, 2.0, -1.0]])
    compare(lambda T, x, y: T.maximum(x, y), a, b)


def test_maximum_ties_with_broadcast():
    a = np.array([[1.0, 2.0], [2.0, 1.0], [3.0, 2.0]])
    b = np.array([2.0, 1.0])
    compare(lambda T, x, y: T.maximum(x, y), a, b)


WHERE_SHAPES = [
    ((3, 4), (3, 4), (3, 4)),
    ((3, 4), (4,), (3, 1)),
    ((2, 1, 4), (3, 1), ()),
    ((4,), (3, 4), (4,)),
]


@pytest.mark.parametrize("sc,sx,sy", WHERE_SHAPES, ids=str)
def test_where_broadcast(sc, sx, sy):
    c = randn(*sc, seed=7)
    x = randn(*sx, seed=8)
    y = randn(*sy, seed=9)

    def fn(T, cond_src, a, b):
        return T.where(cond_src > 0, a, b)

    compare(fn, c, x, y)


@pytest.mark.parametrize(
    "variant",
    ["x_scalar", "scalar_y", "int_scalar"],
)
def test_where_scalar_branch(variant):
    c = randn(3, 4, seed=7)
    x = randn(3, 4, seed=8)
    if variant == "x_scalar":
        compare(lambda T, cs, a: T.where(cs > 0, a, 0.0), c, x)
    elif variant == "scalar_y":
        compare(lambda T, cs, a: T.where(cs > 0, -1.5, a), c, x)
    else:
        compare(lambda T, cs, a: T.where(cs > 0, a, 0), c, x)


def test_where_gradcheck():
    c = randn(3, 4, seed=7)
    gradcheck(lambda T, a, b: T.where(T.tensor(c) > 0, a, b), randn(3, 4, seed=1), randn(4, seed=2))


def test_where_condition_gets_no_gradient_and_only_selected_branch_does():
    cond = np.array([True, False, True])
    x = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = mg.tensor([4.0, 5.0, 6.0], requires_grad=True)
    out = mg.where(mg.tensor([1.0, -1.0, 1.0]) > 0, x, y)
    np.testing.assert_allclose(out.detach().numpy(), np.where(cond, [1, 2, 3], [4, 5, 6]))
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), cond.astype(float))
    np.testing.assert_allclose(y.grad.numpy(), (~cond).astype(float))


# ------------------------------------------------------------------ composite expressions
def test_composite_expression_matches_torch():
    a = randn(3, 4, seed=1)
    b = randn(4, seed=2)
    c = positive(3, 1, seed=3)

    def fn(T, x, y, z):
        h = (x * y + z).tanh()
        return (h - x / z) ** 2 + (y.sigmoid() * 3).log() - (x.exp() * 0.1).sqrt()

    compare(fn, a, b, c)
    gradcheck(fn, a, b, c)


# ------------------------------------------------------------------ dtypes
@pytest.mark.parametrize("dt", ["float32", "float64"])
def test_dtype_preserved_by_ops_and_grads(dt):
    a = randn(2, 3).astype(dt)
    b = randn(3).astype(dt)
    ta, tb = mg.tensor(a, requires_grad=True), mg.tensor(b, requires_grad=True)
    outs = [
        ta + tb, ta - 2.5, 2.5 * ta, ta / 3.0, 1.0 / tb.abs(), ta**2, 2**ta, ta.exp(),
        tb.abs().log(), tb.abs().sqrt(), ta.tanh(), ta.sigmoid(), ta.relu(), ta.clamp(min=0.1),
        mg.maximum(ta, tb), -ta, ta.abs(),
    ]
    for i, o in enumerate(outs):
        assert o.dtype == mg_dtype_of(dt), f"op #{i} gave {o.dtype} for {dt} inputs"
    total = outs[0].sum()
    for o in outs[1:]:
        total = total + o.sum()
    assert total.dtype == mg_dtype_of(dt)
    total.backward()
    assert ta.grad.dtype == mg_dtype_of(dt)
    assert tb.grad.dtype == mg_dtype_of(dt)
    assert np_dtype_name(ta.grad) == dt and np_dtype_name(tb.grad) == dt


def mg_dtype_of(name):
    return {"float32": mg.float32, "float64": mg.float64, "int64": mg.int64}[name]


def test_python_float_scalar_keeps_float32():
    x = mg.tensor(np.array([1.0, 2.0], dtype=np.float32))
    for out in (x + 0.1, 0.1 + x, x * 1e-3, x / 3.0, 3.0 / x, x**2.5, 2.5**x, x - 1e10):
        assert out.dtype == mg.float32
        assert out.numpy().dtype == np.float32


@pytest.mark.parametrize(
    "expr",
    ["x+0.5", "x*2.5", "0.5-x", "x/2", "x/y", "2/x", "x*fy"],
)
def test_int_tensor_promotion_like_torch(expr):
    def run(T):
        x = T.tensor([1, 2, 3])
        y = T.tensor([2, 4, 5])
        fy = T.tensor([0.5, 1.5, 2.0])
        return eval(expr, {"x": x, "y": y, "fy": fy})

    t = run(torch)
    m = run(mg)
    assert np_dtype_name(m) == np_dtype_name(t) == "float32", (
        expr,
        np_dtype_name(m),
        np_dtype_name(t),
    )
    np.testing.assert_allclose(m.numpy(), t.numpy(), rtol=1e-6)


@pytest.mark.parametrize("expr", ["x+1", "x*3", "2-x", "x**2", "-x", "x+y", "x*y"])
def test_int_tensor_with_int_stays_int64(expr):
    def run(T):
        x = T.tensor([1, 2, 3])
        y = T.tensor([4, 5, 6])
        return eval(expr, {"x": x, "y": y})

    t = run(torch)
    m = run(mg)
    assert m.dtype == mg.int64
    assert np_dtype_name(m) == np_dtype_name(t) == "int64"
    np.testing.assert_array_equal(m.numpy(), t.numpy())


def test_mixed_float32_float64_promotes_like_torch():
    a = randn(2, 3).astype(np.float32)
    b = randn(3).astype(np.float64)
    ma, mb = mg.tensor(a, requires_grad=True), mg.tensor(b, requires_grad=True)
    ta, tb = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    mo, to = ma * mb, ta * tb
    assert np_dtype_name(mo) == np_dtype_name(to) == "float64"
    np.testing.assert_allclose(mo.detach().numpy(), to.detach().numpy(), rtol=1e-12)
    mo.sum().backward()
    to.sum().backward()
    # each gradient has the dtype of its own input
    assert np_dtype_name(ma.grad) == "float32"
    assert np_dtype_name(mb.grad) == "float64"
    np.testing.assert_allclose(ma.grad.numpy(), ta.grad.numpy(), rtol=1e-6)
    np.testing.assert_allclose(mb.grad.numpy(), tb.grad.numpy(), rtol=1e-6)


# ------------------------------------------------------------- special points (torch's conventions)
def test_pow_zero_and_one_exponent_at_zero_like_torch():
    x = np.array([0.0, 1.0, -2.0, 3.0])
    compare(lambda T, t: t**0, x)
    compare(lambda T, t: t**1, x)
    compare(lambda T, t: t**2, x)


@pytest.mark.parametrize(
    "name,fn",
    [
        ("relu_at_0", lambda T, t: t.relu()),
        ("abs_at_0", lambda T, t: t.abs()),
        ("clamp_at_bounds", lambda T, t: t.clamp(min=-1.0, max=1.0)),
        ("maximum_scalar_tensor_tie", lambda T, t: T.maximum(t, T.zeros_like(t))),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_subgradients_at_kinks_like_torch(name, fn):
    x = np.array([-1.0, 0.0, 1.0, 2.0, -2.0])
    compare(fn, x)


@pytest.mark.parametrize(
    "name,fn",
    [
        ("float_scalars", lambda T, c, x: T.where(c, 1.0, 0.0)),
        ("int_scalars", lambda T, c, x: T.where(c, 2, 0)),
        ("tensor_and_float", lambda T, c, x: T.where(c, x, 0.5)),
        ("float_and_tensor", lambda T, c, x: T.where(c, -0.5, x)),
        ("int_tensor_and_float", lambda T, c, x: T.where(c, T.tensor([1, 2, 3]), 0.5)),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
@pytest.mark.parametrize("dt", ["float32", "float64"])
def test_where_result_dtype_like_torch(name, fn, dt):
    xv = np.array([1.0, -2.0, 3.0], dtype=dt)
    outs = {}
    for T in (mg, torch):
        x = T.tensor(xv)
        outs[T.__name__] = fn(T, x > 0, x)
    assert np_dtype_name(outs["minigrad"]) == np_dtype_name(outs["torch"]), (
        np_dtype_name(outs["minigrad"]), np_dtype_name(outs["torch"]))
    np.testing.assert_array_equal(outs["minigrad"].numpy(), outs["torch"].numpy())


@pytest.mark.parametrize(
    "expr",
    [
        "x.exp()",
        "x.log()",
        "x.sqrt()",
        "x.tanh()",
        "x.sigmoid()",
        "x.abs()",
        "x.relu()",
        "-x",
        "x.clamp(min=0.5)",
        "x.clamp(min=1, max=2)",
        "x.clamp(max=2.5)",
        "x ** 0.5",
        "2.5 ** x",
        "x ** 2",
    ],
)
def test_int_tensor_unary_and_clamp_dtype_like_torch(expr):
    res = {}
    for T in (mg, torch):
        x = T.tensor([1, 2, 3])
        res[T.__name__] = eval(expr, {"x": x, "T": T})
    assert np_dtype_name(res["minigrad"]) == np_dtype_name(res["torch"]), (
        expr, np_dtype_name(res["minigrad"]), np_dtype_name(res["torch"]))
    np.testing.assert_allclose(res["minigrad"].numpy(), res["torch"].numpy(), rtol=1e-6)


# ------------------------------------------------------------------ more math
UNARY_MATH = {
    "sin": (lambda T, x: x.sin(), randn),
    "cos": (lambda T, x: T.cos(x), randn),
    "log1p": (lambda T, x: x.log1p(), lambda *s, **k: positive(*s, low=0.1, high=3.0, **k)),
    "expm1": (lambda T, x: x.expm1(), randn),
    "log2": (lambda T, x: T.log2(x), positive),
    "rsqrt": (lambda T, x: x.rsqrt(), positive),
    "reciprocal": (lambda T, x: x.reciprocal(), away_from_zero),
    "erf": (lambda T, x: T.erf(x), randn),
    "neg": (lambda T, x: x.neg(), randn),
    "square": (lambda T, x: T.square(x), randn),
    "clamp_min": (lambda T, x: x.clamp_min(0.1), randn),
    "clamp_max": (lambda T, x: T.clamp_max(x, 0.1), randn),
}


@pytest.mark.parametrize("name", list(UNARY_MATH))
@pytest.mark.parametrize("shape", [(3, 4), (), (2, 1, 3)], ids=str)
def test_more_unary_math_matches_torch(name, shape):
    fn, make = UNARY_MATH[name]
    compare(fn, make(*shape, seed=3))


@pytest.mark.parametrize("name", ["sin", "log1p", "expm1", "rsqrt", "erf", "reciprocal"])
def test_more_unary_math_gradcheck(name):
    fn, make = UNARY_MATH[name]
    gradcheck(fn, make(3, 2, seed=4))


@pytest.mark.parametrize("name", ["floor", "ceil", "round", "trunc", "sign"])
def test_piecewise_constant_ops_give_zero_gradients_as_pytorch(name):
    x = randn(3, 4, seed=5) * 3
    x[0, 0] = 2.5                      # a half, rounded to the even neighbour
    compare(lambda T, x: getattr(x, name)(), x)
    compare(lambda T, x: getattr(T, name)(x * 2), x)


def test_round_with_decimals_and_integer_inputs():
    compare(lambda T, x: x.round(decimals=2), randn(3, 3, seed=6))
    compare(lambda T, x: T.arange(5).floor() + x.sum(), randn(2, seed=7))


@pytest.mark.parametrize("sa,sb", [((3, 4), (4,)), ((2, 1), (1, 3)), ((), (2,))], ids=str)
def test_minimum_matches_torch(sa, sb):
    compare(lambda T, a, b: T.minimum(a, b), randn(*sa, seed=8), randn(*sb, seed=9))
    x = np.array([1.0, 2.0, 3.0])
    compare(lambda T, a, b: a.minimum(b), x, np.array([1.0, 5.0, 0.0]))   # a tie splits


@pytest.mark.parametrize("weight", ["tensor", 0.25, 0.75])
def test_lerp_matches_torch(weight):
    start, end = randn(3, 4, seed=10), randn(4, seed=11)
    if weight == "tensor":
        compare(lambda T, a, b, w: T.lerp(a, b, w), start, end, np.random.default_rng(1).random(4))
    else:
        compare(lambda T, a, b: a.lerp(b, weight), start, end)
        # the function takes torch's argument names
        compare(lambda T, a, b: T.lerp(input=a, end=b, weight=weight), start, end)


def test_logical_and_bitwise_ops_match_torch():
    x, y = randn(4, 3, seed=12), randn(4, 3, seed=13)

    def logical(T, x, y):
        a, b = x > 0, y > 0
        ints = T.tensor([[1, 2], [3, 4]])
        return [a.logical_and(b), T.logical_or(a, b), a.logical_xor(b), T.logical_not(a),
                a & b, a | b, a ^ b, ~a, ints & 6, ints | 1, ~ints, (x / 0).isnan(),
                T.isinf(x / 0), (x / y).isfinite(), a.eq(b), T.ne(a, b), x.lt(y), x.le(0),
                T.gt(x, y), x.ge(y), x.equal(x), x.equal(y), ints // 3, -ints // 3,
                ints % 3, -ints % 3, T.remainder(x, 0.7), x // 0.3, T.floor_divide(ints, 2)]

    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)     # NumPy warns of x / 0
        assert_same_outcome(lambda T: logical(T, T.tensor(x), T.tensor(y)))


def test_bitwise_ops_on_floats_are_refused_in_both():
    assert_same_outcome(lambda T: T.ones(2) & T.ones(2))
    assert_same_outcome(lambda T: ~T.ones(2))


# ------------------------------------------------ more of PyTorch's element-wise API

def _unit(*shape, seed=1):
    return np.random.default_rng(seed).uniform(-0.9, 0.9, shape)


MORE_ELEMENTWISE = {
    "tan": (lambda T, x: T.tan(x), [_unit(3, 4)]),
    "asin": (lambda T, x: T.asin(x), [_unit(3, 4)]),
    "acos": (lambda T, x: x.acos(), [_unit(3, 4)]),
    "atan": (lambda T, x: T.atan(x), [randn(3, 4)]),
    "sinh": (lambda T, x: T.sinh(x), [randn(3, 4)]),
    "cosh": (lambda T, x: x.cosh(), [randn(3, 4)]),
    "asinh": (lambda T, x: T.asinh(x), [randn(3, 4)]),
    "acosh": (lambda T, x: T.acosh(x), [positive(3, 4, low=1.5, high=3.0)]),
    "atanh": (lambda T, x: T.arctanh(x), [_unit(3, 4)]),
    "atan2": (lambda T, y, x: T.atan2(y, x), [randn(3, 4), away_from_zero(4, seed=3)]),
    "fmod": (lambda T, a, b: T.fmod(a, b), [randn(3, 4) * 3, away_from_zero(3, 1, seed=4)]),
    "fmod_scalar": (lambda T, a: a.fmod(-1.5), [randn(3, 4) * 3]),
    "log10": (lambda T, x: T.log10(x), [positive(3, 4)]),
    "exp2": (lambda T, x: T.exp2(x), [randn(3, 4)]),
    "frac": (lambda T, x: T.frac(x), [randn(3, 4) * 3]),
    "hypot": (lambda T, a, b: T.hypot(a, b), [randn(3, 4), randn(3, 4, seed=5)]),
    "logaddexp": (lambda T, a, b: T.logaddexp(a, b), [randn(3, 4), randn(1, 4, seed=5)]),
    "logit": (lambda T, x: T.logit(x), [positive(3, 4, low=0.1, high=0.9)]),
    "logit_eps": (lambda T, x: T.logit(x, eps=0.2), [positive(3, 4, low=0.05, high=0.95)]),
    "xlogy": (lambda T, a, b: T.xlogy(a, b), [randn(3, 4), positive(3, 4, seed=5)]),
    "nan_to_num": (lambda T, x: T.nan_to_num(x / (x > 0)), [away_from_zero(3, 4)]),
    "nan_to_num_values": (lambda T, x: (x.log() / (x > 1)).nan_to_num(1.0, 2.0, -3.0),
                          [randn(3, 4)]),
    "addcmul": (lambda T, a, b, c: T.addcmul(a, b, c, value=0.5),
                [randn(3, 4), randn(3, 4, seed=2), randn(4, seed=3)]),
    "addcdiv": (lambda T, a, b, c: T.addcdiv(a, b, c, value=-2),
                [randn(3, 4), randn(3, 4, seed=2), away_from_zero(4, seed=3)]),
    "fmax": (lambda T, a, b: T.fmax(a.log(), b), [randn(3, 4), randn(3, 4, seed=2)]),
    "fmin": (lambda T, a, b: T.fmin(a, b.log()), [randn(3, 4), randn(3, 4, seed=2)]),
    "add_alpha": (lambda T, a, b: T.add(a, b, alpha=3), [randn(3, 4), randn(4)]),
    "sub_alpha": (lambda T, a, b: a.sub(b, alpha=0.5), [randn(3, 4), randn(4)]),
    "subtract": (lambda T, a, b: T.subtract(a, b), [randn(3, 4), randn(4)]),
    "mul": (lambda T, a, b: T.mul(a, b), [randn(3, 4), randn(4)]),
    "multiply": (lambda T, a: a.multiply(2.5), [randn(3, 4)]),
    "div": (lambda T, a, b: T.div(a, b), [randn(3, 4), away_from_zero(4)]),
    "divide": (lambda T, a: T.divide(a, 4), [randn(3, 4)]),
    "true_divide": (lambda T, a, b: T.true_divide(a, b), [randn(3, 4), away_from_zero(4)]),
    "div_trunc": (lambda T, a, b: T.div(a, b, rounding_mode="trunc"),
                  [randn(3, 4) * 3, away_from_zero(4)]),
    "div_floor": (lambda T, a, b: a.div(b, rounding_mode="floor"),
                  [randn(3, 4) * 3, away_from_zero(4)]),
    "pow": (lambda T, a: T.pow(a, 3), [randn(3, 4)]),
    "pow_scalar_base": (lambda T, a: T.pow(2, a), [randn(3, 4)]),
    "abs_builtin": (lambda T, a: abs(a), [away_from_zero(3, 4)]),
    "absolute": (lambda T, a: T.absolute(a), [away_from_zero(3, 4)]),
    "floor_": (lambda T, a: (a * 1).floor_(), [randn(3, 4) * 3]),
    "round_decimals_": (lambda T, a: (a * 1).round_(decimals=1), [randn(3, 4) * 3]),
    "square_": (lambda T, a: (a * 1).square_(), [randn(3, 4)]),
    "ipow": (lambda T, a: (a * 1).__ipow__(2), [randn(3, 4)]),
    "imod": (lambda T, a: (a * 1).__imod__(0.7), [randn(3, 4)]),
}


@pytest.mark.parametrize("name", sorted(MORE_ELEMENTWISE))
def test_more_elementwise_forward_and_backward(name):
    fn, inputs = MORE_ELEMENTWISE[name]
    compare(fn, *inputs)


@pytest.mark.parametrize("expression", [
    "T.div(T.tensor([-7, 7, -8, 1]), 2, rounding_mode='trunc')",
    "T.div(T.tensor([-7, 7, -8, 1]), -2, rounding_mode='trunc')",
    "T.div(T.tensor([-7, 7, -8, 1]), 2, rounding_mode='floor')",
    "T.div(7, T.tensor([-2, 2]), rounding_mode='trunc')",
    "T.div(T.tensor([-7.5, 7.5]), 2, rounding_mode='trunc')",
    "T.div(T.tensor([-7, 7]), 2)",
    "T.div(T.tensor([1]), 0, rounding_mode='trunc')",
    "T.div(T.tensor([1.0]), 2, rounding_mode='round')",
    "T.fmod(T.tensor([-3, 3]), 2)",
    "T.fmod(T.tensor([-3, 3]), 0)",
    "T.fmod(T.tensor([-3.5, 3.5]), -2)",
    "T.remainder(T.tensor([-3.5, 3.5]), -2)",
    "T.tensor([1, 2]).add(3, alpha=2)",
    "T.tensor([1, 2]).sub(T.tensor([1, 1]), alpha=2)",
    "T.add(T.tensor([1, 2]), 1.5)",
    "T.mul(T.tensor([1, 2]), T.tensor(2.5))",
    "T.pow(T.tensor([1, 2]), 2)",
    "abs(T.tensor([-1, 2]))",
    "T.tan(T.tensor([0, 1]))",
    "T.sgn(T.tensor([-2.0, 0.0, 3.0]))",
    "T.log10(T.tensor([1, 100]))",
    "T.exp2(T.tensor([1, 3]))",
    "T.atan2(T.tensor([1, -1]), T.tensor([0, -2]))",
    "T.nan_to_num(T.tensor([float('inf'), -float('inf'), float('nan'), 1.0]))",
    "T.nan_to_num(T.tensor([float('inf'), float('nan')], dtype=T.float64), posinf=1.0)",
    "T.nan_to_num(T.tensor([1, 2]))",
    "T.fmax(T.tensor([1.0, float('nan'), float('nan')]), "
    "T.tensor([float('nan'), 2.0, float('nan')]))",
    "T.isposinf(T.tensor([float('inf'), -float('inf'), 1.0]))",
    "T.isneginf(T.tensor([float('inf'), -float('inf'), 1.0]))",
    "T.isin(T.tensor([3, 1, 2, 1]), T.tensor([1, 3]))",
    "T.isin(T.tensor([3, 1, 2, 1]), T.tensor([1, 3]), invert=True)",
    "T.logit(T.tensor([0.0, 0.25, 1.0]))",
    "T.xlogy(T.tensor([0.0, 2.0, 0.0]), T.tensor([0.0, 3.0, 5.0]))",
])
def test_more_elementwise_values_and_dtypes(expression):
    assert_same_outcome(lambda T: eval(expression, {"T": T}))
