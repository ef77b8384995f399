"""Tensor creation (minigrad/creation.py): dtypes, shapes, values, seeding."""

import numpy as np
import pytest
import torch

import minigrad as mg
from mgtest import np_dtype_name


@pytest.mark.parametrize(
    "data",
    [
        1.5,
        3,
        [1.0, 2.0],
        [1, 2, 3],
        [[1, 2], [3, 4]],
        [[1.0, 2.5], [3.0, 4.0]],
        [1, 2.5],
        True and 7,
        -0.0,
    ],
    ids=["float", "int", "floats", "ints", "int2d", "float2d", "mixed", "int7", "negzero"],
)
def test_tensor_from_python_dtype_shape_values(data):
    m = mg.tensor(data)
    t = torch.tensor(data)
    assert tuple(m.shape) == tuple(t.shape)
    assert np_dtype_name(m) == np_dtype_name(t)
    np.testing.assert_array_equal(m.numpy(), t.numpy())


def test_python_float_default_float32_int_default_int64():
    assert mg.tensor(1.0).dtype == mg.float32
    assert mg.tensor([1.0, 2.0]).dtype == mg.float32
    assert mg.tensor(1).dtype == mg.int64
    assert mg.tensor([1, 2]).dtype == mg.int64


@pytest.mark.parametrize("np_dt", ["float32", "float64", "int64"])
def test_tensor_from_numpy_keeps_dtype(np_dt):
    a = np.arange(6).reshape(2, 3).astype(np_dt)
    m = mg.tensor(a)
    assert np_dtype_name(m) == np_dtype_name(torch.tensor(a)) == np_dt
    assert tuple(m.shape) == (2, 3)
    np.testing.assert_array_equal(m.numpy(), a)


def test_tensor_copies_numpy_input():
    a = np.array([1.0, 2.0])
    m = mg.tensor(a)
    a[0] = 100.0
    assert m.numpy()[0] == 1.0  # torch.tensor copies too


@pytest.mark.parametrize("dt", ["float32", "float64", "int64"])
def test_tensor_dtype_argument(dt):
    m = mg.tensor([1, 2, 3], dtype=getattr(mg, dt))
    assert m.dtype == getattr(mg, dt)
    assert np_dtype_name(m) == dt
    m2 = mg.tensor(np.array([1.7, 2.2]), dtype=getattr(mg, dt))
    t2 = torch.tensor(np.array([1.7, 2.2]), dtype=getattr(torch, dt))
    np.testing.assert_array_equal(m2.numpy(), t2.numpy())


def test_tensor_from_minigrad_scalar_0d():
    m = mg.tensor(2.5)
    assert tuple(m.shape) == () and m.ndim == 0
    assert m.item() == 2.5


def test_tensor_requires_grad_and_device_kwargs():
    m = mg.tensor([1.0, 2.0], requires_grad=True, device="cpu")
    assert m.requires_grad
    assert str(m.device) == "cpu"


@pytest.mark.parametrize("name", ["zeros", "ones"])
@pytest.mark.parametrize(
    "shape_args",
    [((2, 3),), (2, 3), (4,), ((),), (0, 3)],
    ids=["tuple", "varargs", "1d", "0d", "empty"],
)
def test_zeros_ones(name, shape_args):
    m = getattr(mg, name)(*shape_args)
    t = getattr(torch, name)(*shape_args)
    assert tuple(m.shape) == tuple(t.shape)
    assert np_dtype_name(m) == "float32"
    np.testing.assert_array_equal(m.numpy(), t.numpy())


@pytest.mark.parametrize("name", ["zeros", "ones"])
def test_zeros_ones_dtype_and_requires_grad(name):
    m = getattr(mg, name)(2, 2, dtype=mg.float64, requires_grad=True)
    assert m.dtype == mg.float64 and m.requires_grad and m.is_leaf
    i = getattr(mg, name)(3, dtype=mg.int64)
    assert i.dtype == mg.int64


def test_full():
    m = mg.full((2, 3), 1.5)
    t = torch.full((2, 3), 1.5)
    assert np_dtype_name(m) == np_dtype_name(t) == "float32"
    np.testing.assert_array_equal(m.numpy(), t.numpy())
    m64 = mg.full((2,), 2.0, dtype=mg.float64)
    assert m64.dtype == mg.float64
    np.testing.assert_array_equal(m64.numpy(), [2.0, 2.0])


def test_full_int_fill_value_like_torch():
    m = mg.full((2,), 3)
    t = torch.full((2,), 3)
    assert np_dtype_name(m) == np_dtype_name(t)
    np.testing.assert_array_equal(m.numpy(), t.numpy())


@pytest.mark.parametrize(
    "args",
    [(5,), (2, 7), (1, 10, 3), (0, 1, 0.25), (0.5, 3.0), (-3, 3), (5, 0, -1), (0.0, 1.0, 0.1)],
    ids=str,
)
def test_arange(args):
    m = mg.arange(*args)
    t = torch.arange(*args)
    assert tuple(m.shape) == tuple(t.shape), (tuple(m.shape), tuple(t.shape))
    assert np_dtype_name(m) == np_dtype_name(t)
    np.testing.assert_allclose(m.numpy(), t.numpy(), rtol=1e-6)


def test_arange_dtype_kwarg():
    m = mg.arange(4, dtype=mg.float64)
    assert m.dtype == mg.float64
    np.testing.assert_array_equal(m.numpy(), [0.0, 1.0, 2.0, 3.0])


@pytest.mark.parametrize("name", ["rand", "randn"])
def test_rand_randn_shape_dtype(name):
    for args in [((3, 4),), (3, 4), (5,)]:
        m = getattr(mg, name)(*args)
        t = getattr(torch, name)(*args)
        assert tuple(m.shape) == tuple(t.shape)
        assert m.dtype == mg.float32
    m64 = getattr(mg, name)(2, 2, dtype=mg.float64)
    assert m64.dtype == mg.float64
    assert getattr(mg, name)(2, requires_grad=True).requires_grad


def test_rand_range_and_randn_statistics():
    mg.manual_seed(0)
    u = mg.rand(20000).numpy()
    assert u.min() >= 0.0 and u.max() < 1.0
    assert abs(u.mean() - 0.5) < 0.01
    n = mg.randn(20000).numpy()
    assert abs(n.mean()) < 0.03 and abs(n.std() - 1.0) < 0.03


@pytest.mark.parametrize("name", ["rand", "randn"])
def test_manual_seed_reproducible(name):
    mg.manual_seed(42)
    a = getattr(mg, name)(10).numpy()
    b = getattr(mg, name)(10).numpy()
    mg.manual_seed(42)
    a2 = getattr(mg, name)(10).numpy()
    b2 = getattr(mg, name)(10).numpy()
    np.testing.assert_array_equal(a, a2)
    np.testing.assert_array_equal(b, b2)
    assert not np.array_equal(a, b)
    mg.manual_seed(43)
    assert not np.array_equal(getattr(mg, name)(10).numpy(), a)


def test_manual_seed_makes_layer_init_reproducible():
    mg.manual_seed(7)
    w1 = mg.nn.Linear(4, 3).weight.detach().numpy().copy()
    mg.manual_seed(7)
    w2 = mg.nn.Linear(4, 3).weight.detach().numpy().copy()
    np.testing.assert_array_equal(w1, w2)


@pytest.mark.parametrize("name", ["zeros_like", "ones_like"])
@pytest.mark.parametrize("dt", ["float32", "float64", "int64"])
def test_like(name, dt):
    src = mg.tensor(np.arange(6).reshape(3, 2).astype(dt))
    m = getattr(mg, name)(src)
    t = getattr(torch, name)(torch.tensor(np.arange(6).reshape(3, 2).astype(dt)))
    assert tuple(m.shape) == (3, 2)
    assert np_dtype_name(m) == dt
    np.testing.assert_array_equal(m.numpy(), t.numpy())


def test_like_does_not_inherit_requires_grad():
    src = mg.tensor([1.0, 2.0], requires_grad=True)
    z = mg.zeros_like(src)
    assert not z.requires_grad and z.is_leaf


def test_dtype_objects_distinct():
    assert mg.float32 != mg.float64
    assert mg.float32 != mg.int64
    assert mg.float32 == mg.float32
    assert (mg.tensor([1.0]) > 0).dtype == mg.bool


@pytest.mark.parametrize(
    "value", [np.float64(1.5), np.float32(1.5), np.int64(3)], ids=["f64", "f32", "i64"]
)
def test_tensor_from_numpy_scalar_keeps_dtype_like_torch(value):
    m = mg.tensor(value)
    t = torch.tensor(value)
    assert np_dtype_name(m) == np_dtype_name(t)
    assert tuple(m.shape) == ()


def test_tensor_from_0d_numpy_array_keeps_dtype():
    for a in (np.array(1.5), np.array(2)):
        assert np_dtype_name(mg.tensor(a)) == np_dtype_name(torch.tensor(a))


@pytest.mark.parametrize(
    "expr",
    [
        "T.tensor([1, 2], dtype=T.float64, requires_grad=True)",
        "T.arange(5, dtype=T.float32, requires_grad=True)",
        "T.full((2,), 1.0, requires_grad=True)",
        "T.zeros((2, 3), dtype=T.int64)",
        "T.ones(0)",
        "T.tensor([])",
        "T.tensor([[]])",
        "T.arange(0, 5, 2)",
        "T.arange(5.0)",
        "T.arange(1, 2.5, 0.5)",
        "T.full((2, 2), 7, dtype=T.float64)",
        "T.zeros_like(T.tensor([1, 2]), dtype=T.float32)",
        "T.ones_like(T.ones(2, 3, dtype=T.float64))",
        "T.tensor(True)",
        "T.tensor([True, False])",
        "T.rand(2, 3, dtype=T.float64)",
        "T.randn(())",
        "T.zeros(())",
        "T.tensor([[1, 2], [3, 4]], dtype=T.float32)",
        "T.tensor(np.array([[1.5, 2.5]]), dtype=T.float32)",
    ],
)
def test_creation_shape_dtype_requires_grad_like_torch(expr):
    res = {}
    for T in (mg, torch):
        t = eval(expr, {"T": T, "np": np})
        res[T.__name__] = (tuple(t.shape), np_dtype_name(t.detach()), bool(t.requires_grad))
    assert res["minigrad"] == res["torch"]


# ------------------------------------------------------------------ more ways to make tensors
def test_more_creation_functions_match_torch():
    from mgtest import assert_same_outcome

    def program(T):
        x = T.tensor([[1.0, 2.0], [3.0, 4.0]])
        return [T.linspace(0, 1, 5), T.linspace(-2, 3, 1), T.linspace(1, 0, 4, dtype=T.float64),
                T.eye(3), T.eye(2, 4), T.eye(2, dtype=T.int64), T.empty(2, 3).shape,
                T.full_like(x, 7), T.full_like(x, 2, dtype=T.int64), T.empty_like(x).shape,
                T.zeros_like(x, dtype=T.int32), T.ones(2, dtype=T.int32) + 1,
                T.arange(0, 1, 0.25), T.arange(1.5, 4), T.arange(10, 0, -3), T.arange(5.0),
                T.as_tensor([1, 2]), T.as_tensor(np.arange(3.0)), T.as_tensor(x) is x,
                T.rand_like(x).shape, T.randn_like(x).dtype, T.randint_like(x, 5).dtype,
                T.int, T.long, T.float, T.double, T.bool, T.int32, T.get_default_dtype()]

    assert_same_outcome(program)


def test_as_tensor_shares_memory_with_numpy_as_torch():
    array = np.zeros(3)
    t = mg.as_tensor(array)
    array[0] = 5
    assert t.tolist() == [5.0, 0.0, 0.0] and t.dtype == mg.float64


def test_arange_and_linspace_errors_match_torch():
    from mgtest import assert_same_outcome
    assert_same_outcome(lambda T: T.arange(0, 5, 0))
    assert_same_outcome(lambda T: T.arange(5, 0, 1))
    assert_same_outcome(lambda T: T.linspace(0, 1, -1))


def test_normal_and_generators():
    g1, g2 = mg.Generator().manual_seed(3), mg.Generator().manual_seed(3)
    a, b = mg.normal(2.0, 0.5, (2000,), generator=g1), mg.normal(2.0, 0.5, (2000,), generator=g2)
    assert (
        a.tolist() == b.tolist()
        and abs(a.mean().item() - 2) < 0.05
        and abs(a.std().item() - 0.5) < 0.05
    )
    means, stds = mg.zeros(2, 3), mg.ones(3) * 2
    assert mg.normal(means, stds).shape == (2, 3)
    with pytest.raises(RuntimeError, match="std >= 0"):
        mg.normal(means, -stds)
    assert sorted(mg.randperm(6, generator=g1).tolist()) == list(range(6))


def test_default_dtype_can_be_float64():
    try:
        mg.set_default_dtype(mg.float64)
        torch.set_default_dtype(torch.float64)
        from mgtest import assert_same_outcome
        assert_same_outcome(lambda T: [T.tensor([1.5]), T.zeros(2), T.arange(0.0, 1.0, 0.5),
                                       T.tensor([1], dtype=T.float32) + T.tensor([2.0])])
    finally:
        mg.set_default_dtype(mg.float32)
        torch.set_default_dtype(torch.float32)
