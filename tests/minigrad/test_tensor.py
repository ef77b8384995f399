"""Tensor class (minigrad/tensor.py): properties, conversions, comparisons,
Python scalars on either side."""

import numpy as np
import pytest
import torch

import minigrad as mg
from mgtest import (
    assert_same_outcome,
    compare,
    gradcheck,
    np_dtype_name,
    positive,
    randn,
    tensor_class,
)


def test_properties():
    x = mg.tensor(np.zeros((2, 3, 4)), requires_grad=True)
    assert x.shape == (2, 3, 4)
    assert isinstance(x.shape, tuple)
    assert x.ndim == 3
    assert x.dtype == mg.float64
    assert x.requires_grad
    assert x.grad is None
    assert str(x.device) == "cpu"
    s = mg.tensor(1.0)
    assert s.shape == () and s.ndim == 0


def test_item():
    assert mg.tensor(2.5).item() == 2.5
    assert isinstance(mg.tensor(2.5).item(), float)
    assert mg.tensor(7).item() == 7
    assert isinstance(mg.tensor(7).item(), int)
    assert mg.tensor([[3.0]]).item() == 3.0
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    assert (x * x).sum().item() == 5.0  # item works on tensors requiring grad


def test_tolist():
    data = [[1.0, 2.0], [3.5, -4.0]]
    x = mg.tensor(data)
    assert x.tolist() == torch.tensor(data).tolist()
    assert isinstance(x.tolist()[0][0], float)
    assert mg.tensor([1, 2]).tolist() == [1, 2]
    assert isinstance(mg.tensor([1, 2]).tolist()[0], int)
    assert mg.tensor(3.0).tolist() == 3.0
    y = mg.tensor(data, requires_grad=True)
    assert (y * 2).tolist() == [[2.0, 4.0], [7.0, -8.0]]


def test_numpy():
    a = np.arange(6.0).reshape(2, 3)
    x = mg.tensor(a)
    out = x.numpy()
    assert isinstance(out, np.ndarray)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, a)


def test_numpy_raises_when_requires_grad_like_torch():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError):
        x.numpy()
    with pytest.raises(RuntimeError):
        (x * 2).numpy()
    np.testing.assert_array_equal(x.detach().numpy(), [1.0, 2.0])


def test_to_cpu_and_cuda_exist():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = x.to("cpu")
    assert str(y.device) == "cpu"
    np.testing.assert_array_equal(y.detach().numpy(), [1.0, 2.0])
    z = x.cpu()
    assert str(z.device) == "cpu"
    assert callable(getattr(x, "cuda"))
    # gradient flows through .to("cpu") like in torch
    (y * 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 3.0])


def test_tensor_is_hashable_and_identity_hashed():
    a = mg.tensor([1.0, 2.0])
    b = mg.tensor([1.0, 2.0])
    d = {a: "a", b: "b"}
    assert d[a] == "a" and d[b] == "b"
    assert len({a, b}) == 2


# ------------------------------------------------------------------ comparisons
CMP = {
    "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b,
    "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b,
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
}


@pytest.mark.parametrize("name", list(CMP))
@pytest.mark.parametrize("rhs", ["tensor", "broadcast", "scalar", "lhs_scalar"])
def test_comparisons_bool_no_grad(name, rhs):
    op = CMP[name]
    av = np.array([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]])
    bv = np.array([[1.0, 0.0, 4.0], [3.0, 3.0, 1.0]])
    cv = np.array([2.0, 2.0, 1.0])
    a = mg.tensor(av, requires_grad=True)
    if rhs == "tensor":
        out, expected = op(a, mg.tensor(bv, requires_grad=True)), op(av, bv)
    elif rhs == "broadcast":
        out, expected = op(a, mg.tensor(cv)), op(av, cv)
    elif rhs == "scalar":
        out, expected = op(a, 2.0), op(av, 2.0)
    else:
        out, expected = op(2.0, a), op(2.0, av)
    assert out.dtype == mg.bool
    assert not out.requires_grad
    assert out.grad_fn is None
    res = out.numpy()
    assert res.dtype == np.bool_
    np.testing.assert_array_equal(res, expected)


def test_comparison_on_int_tensor_and_use_as_float():
    x = mg.tensor([1, 5, 3])
    m = x > 2
    np.testing.assert_array_equal(m.numpy(), [False, True, True])
    t = torch.tensor([1, 5, 3]) > 2
    f = mg.tensor([1.0, 2.0, 3.0]) * mg.where(m, 1.0, 0.0)
    np.testing.assert_array_equal(
        f.numpy(), (torch.tensor([1.0, 2.0, 3.0]) * torch.where(t, 1.0, 0.0)).numpy()
    )


# ------------------------------------------------------------------ scalars on either side
SCALAR_FNS = {
    "2-x": lambda T, x: 2 - x,
    "2/x": lambda T, x: 2 / x,
    "2**x": lambda T, x: 2**x,
    "x**2": lambda T, x: x**2,
    "3+x*0.5": lambda T, x: 3 + x * 0.5,
    "1.5*x-x/4": lambda T, x: 1.5 * x - x / 4,
}


@pytest.mark.parametrize("name", list(SCALAR_FNS))
def test_scalar_either_side(name):
    x = positive(2, 3, seed=1)
    compare(SCALAR_FNS[name], x)
    gradcheck(SCALAR_FNS[name], x)


def test_scalar_on_0d_tensor_and_0d_tensor_with_matrix():
    compare(lambda T, s, m: (2 - s) * m + s**2 / 3, randn(seed=2), randn(2, 2, seed=3))


def test_neg_and_pos_values_explicit():
    x = mg.tensor([1.0, -2.0], requires_grad=True)
    y = (2 - x) * (2 / (x * x)) + 2**x
    expected = (2 - np.array([1.0, -2.0])) * (2 / np.array([1.0, 4.0])) + 2 ** np.array([1.0, -2.0])
    np.testing.assert_allclose(y.detach().numpy(), expected, rtol=1e-6)


def test_rsub_rdiv_with_int_scalar_on_float_tensor_dtype():
    x = mg.tensor([1.0, 2.0])
    assert (2 - x).dtype == mg.float32
    assert (2 / x).dtype == mg.float32
    assert (2**x).dtype == mg.float32
    assert np_dtype_name(x**2) == "float32"


def test_detach_shares_values_but_not_graph():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    d = x.detach()
    assert isinstance(d, tensor_class())
    assert not d.requires_grad
    np.testing.assert_array_equal(d.numpy(), [1.0, 2.0])


# ---------------------- diag, trace, isclose, *_mean, random fills, type(), against PyTorch

MORE_PROGRAMS = {
    "diag_of_a_vector_and_its_gradient": lambda T: _backward_of(
        T, lambda v: T.diag(v, 1) * T.arange(9.).reshape(3, 3), [1.0, -2.0]),
    "diag_of_a_matrix_and_its_gradient": lambda T: _backward_of(
        T, lambda m: m.reshape(3, 4).diag(-1) ** 2, [float(k) for k in range(12)]),
    "trace_and_its_gradient": lambda T: _backward_of(
        T, lambda m: m.reshape(3, 4).trace() * 2, [float(k) for k in range(12)]),
    "diag_of_a_3d_tensor": lambda T: T.diag(T.ones(2, 2, 2)),
    "isclose_allclose": lambda T: [T.isclose(T.tensor([1.0, 2.0, float("nan")]),
                                             T.tensor([1.0 + 1e-9, 2.1, float("nan")]),
                                             equal_nan=True),
                                   T.allclose(T.ones(3), T.ones(3) * 1.001, rtol=1e-2)],
    "std_and_var_with_mean": lambda T: [T.std_mean(T.tensor([[1.0, 2.0, 4.0]]), dim=1),
                                        T.var_mean(T.tensor([1.0, 2.0, 4.0]), correction=0)],
    "uniform_and_normal_fill_in_place": lambda T: [
        (lambda t: (t.uniform_(2.0, 3.0), bool(((t >= 2) & (t < 3)).all()), t._version))(
            T.zeros(50)),
        (lambda t: (t.normal_(5.0, 0.0), t._version))(T.zeros(3))],
    "uniform_on_a_leaf_that_requires_grad": lambda T: T.ones(2, requires_grad=True).uniform_(),
    "normal_with_negative_std": lambda T: T.zeros(2).normal_(0.0, -1.0),
    "type_names_and_conversion": lambda T: [T.ones(1).type().split(".")[1],
                                            T.ones(1, dtype=T.int64).type().split(".")[1],
                                            T.ones(2).type(T.float64).dtype],
}


def _backward_of(T, fn, values):
    x = T.tensor(values, dtype=T.float64, requires_grad=True)
    y = fn(x)
    y.backward(T.linspace(-1.0, 2.0, y.numel(), dtype=T.float64).reshape(y.shape))
    return y, x.grad


@pytest.mark.parametrize("name", sorted(MORE_PROGRAMS))
def test_more_tensor_methods_agree_with_pytorch(name):
    if name == "uniform_and_normal_fill_in_place":
        # random values differ between the libraries: compare what they must share
        for T in (torch, mg):
            (t, inside, version), (n, version_n) = MORE_PROGRAMS[name](T)
            assert inside and version == 1 and version_n == 1
            assert (n.numpy() == 5.0).all()
        return
    assert_same_outcome(MORE_PROGRAMS[name])


# --------------------------------------------------------- repr, as PyTorch prints


def _same_repr(m, t):
    """minigrad names its dtypes minigrad.float64 where PyTorch writes torch.float64
    (three characters longer, so a suffix may wrap to the next line there)."""
    mine = repr(m).replace("minigrad.", "torch.").replace(",\n       dtype=", ", dtype=")
    assert mine == repr(t).replace(",\n       dtype=", ", dtype=")


@pytest.mark.parametrize("expression", [
    "T.tensor([[1.0, float('nan'), 3.0], [2.0, 5.0, float('nan')]])",
    "T.zeros(0, 3)", "T.tensor([], dtype=T.int64)", "T.tensor([])", "T.zeros(2, 0, dtype=T.bool)",
    "T.tensor([1e5, 1.0])", "T.tensor([1e10, 1.0])", "T.tensor([1234567.0, 2.0])",
    "T.tensor([12345678.0])", "T.tensor([1e-5, 1.0])", "T.tensor([1.0, 1e-8])",
    "T.tensor([float('inf'), -float('inf'), float('nan'), 1.5])", "T.tensor([float('inf'), 1.0])",
    "T.tensor([-0.0, 0.0])", "T.ones(3) > 0", "T.tensor([True, False, True]).reshape(3, 1)",
    "T.arange(2000)", "T.arange(2000.0)", "T.arange(1001)", "T.arange(1000)",
    "T.ones(40, 40)", "T.arange(3000).reshape(30, 100)", "T.arange(2 * 3 * 400).reshape(2, 3, 400)",
    "T.tensor([2**40, 1])", "T.tensor([1, -2, 300], dtype=T.int32)",
    "T.tensor(2.5, dtype=T.float64)", "T.tensor(3)", "T.tensor(float('nan'))",
    "T.arange(60.0).reshape(3, 20) / 7", "T.ones(2, requires_grad=True)",
    "(T.arange(25.0).reshape(5, 5) - 12) ** 3 * 1e4",
])
def test_repr_matches_pytorch(expression):
    _same_repr(eval(expression, {"T": mg}), eval(expression, {"T": torch}))


def test_repr_matches_pytorch_on_random_tensors():
    rng = np.random.default_rng(0)
    shapes = [(), (1,), (5,), (3, 4), (2, 3, 4), (7, 30), (1001,), (3, 1, 400), (13, 7)]
    for k in range(120):
        shape = shapes[k % len(shapes)]
        scale = 10.0 ** rng.integers(-9, 12)
        values = [rng.standard_normal(shape) * scale,
                  np.round(rng.standard_normal(shape) * 100),
                  rng.integers(-10 ** 6, 10 ** 6, shape),
                  rng.random(shape) > 0.5][k % 4]
        for dtype in (["float32", "float64"] if values.dtype.kind == "f" else [None]):
            _same_repr(mg.tensor(values, dtype=dtype and getattr(mg, dtype)),
                       torch.tensor(values, dtype=dtype and getattr(torch, dtype)))


# ------------------------------------------- .data updates, as older PyTorch code writes


def _sgd_step_through_data(T, in_place):
    w = T.tensor([1.0, -2.0, 3.0], requires_grad=True)
    view = w.detach()                         # shares w's memory in both libraries
    for _ in range(3):
        (w * w).sum().backward()
        if in_place:
            w.data -= 0.1 * w.grad
        else:
            w.data = w.data - 0.1 * w.grad
        w.grad.zero_()
    return w.detach().clone(), type(w.data).__name__ in ("Tensor", "ndarray"), view


@pytest.mark.parametrize("in_place", [True, False])
def test_updating_data_like_pytorch_code(in_place):
    """`p.data -= lr * p.grad` changes p in place, and `p.data = p.data - lr * p.grad`
    gives p new values (minigrad's .data is the array; it stays an array)."""
    t_value, _, t_view = _sgd_step_through_data(torch, in_place)
    m_value, is_array, m_view = _sgd_step_through_data(mg, in_place)
    assert is_array and isinstance(mg.ones(1).data, np.ndarray)
    np.testing.assert_allclose(m_value.numpy(), t_value.numpy(), rtol=1e-6)
    np.testing.assert_allclose(m_view.numpy(), t_view.numpy(), rtol=1e-6)


@pytest.mark.parametrize("expression", [
    "np.float64(2.0) * T.ones(2)",
    "np.int64(3) - T.tensor([1, 2])",
    "np.float32(0.5) < T.tensor([0.0, 2.0])",
    "T.zeros(2, 3).fill_diagonal_(1.5)",
    "T.zeros(3, 2, dtype=T.int64).fill_diagonal_(7)",
])
def test_numpy_operands_and_more_methods(expression):
    assert_same_outcome(lambda T: eval(expression, {"T": T, "np": np}))


def test_fill_diagonal_is_differentiable():
    compare(lambda T, x: (x * 2).fill_diagonal_(0.5), randn(3, 4))
