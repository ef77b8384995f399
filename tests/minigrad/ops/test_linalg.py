"""Matrix multiplication (minigrad/ops/linalg.py): @, .matmul, all rank combinations."""

import numpy as np
import pytest
import torch

import minigrad as mg
from mgtest import compare, gradcheck, np_dtype_name, randn

MATMUL_SHAPES = [
    ((3, 4), (4, 5)),
    ((1, 4), (4, 1)),
    ((4,), (4, 5)),
    ((3, 4), (4,)),
    ((4,), (4,)),
    ((2, 3, 4), (4, 5)),
    ((3, 4), (2, 4, 5)),
    ((2, 3, 4), (2, 4, 5)),
    ((2, 1, 3, 4), (3, 4, 2)),
    ((5,), (2, 5, 3)),
    ((2, 3, 5), (5,)),
]


@pytest.mark.parametrize("sa,sb", MATMUL_SHAPES, ids=[f"{a}@{b}" for a, b in MATMUL_SHAPES])
def test_matmul_operator(sa, sb):
    compare(lambda T, a, b: a @ b, randn(*sa, seed=1), randn(*sb, seed=2))


@pytest.mark.parametrize("sa,sb", MATMUL_SHAPES[:6], ids=[f"{a}@{b}" for a, b in MATMUL_SHAPES[:6]])
def test_matmul_method(sa, sb):
    compare(lambda T, a, b: a.matmul(b), randn(*sa, seed=3), randn(*sb, seed=4))


@pytest.mark.parametrize("sa,sb", [((3, 4), (4, 2)), ((4,), (4, 2)), ((2, 3, 4), (4,)), ((2, 1, 2, 3), (2, 3, 2))], ids=str)
def test_matmul_gradcheck(sa, sb):
    gradcheck(lambda T, a, b: a @ b, randn(*sa, seed=5), randn(*sb, seed=6))


def test_matmul_same_operand():
    x = randn(3, 3, seed=7)
    compare(lambda T, a: a @ a, x)
    compare(lambda T, a: a @ a.T, x)
    gradcheck(lambda T, a: a @ a.T @ a, x)


def test_matmul_with_constant_operand():
    w = randn(4, 2, seed=8)
    compare(lambda T, a: a @ T.tensor(w, dtype=a.dtype), randn(3, 4, seed=9))
    compare(lambda T, a: T.tensor(w, dtype=a.dtype).T @ a, randn(4, 3, seed=9))


def test_matmul_chain_mlp_like():
    x, w1, b1, w2 = randn(5, 4, seed=1), randn(4, 6, seed=2), randn(6, seed=3), randn(6, 2, seed=4)
    compare(lambda T, a, b, c, d: ((a @ b + c).tanh() @ d), x, w1, b1, w2)
    gradcheck(lambda T, a, b, c, d: ((a @ b + c).tanh() @ d), x, w1, b1, w2)


def test_matmul_against_numpy():
    a, b = randn(2, 3, 4, seed=1), randn(4, 5, seed=2)
    out = mg.tensor(a) @ mg.tensor(b)
    np.testing.assert_allclose(out.numpy(), np.matmul(a, b), rtol=1e-12)


@pytest.mark.parametrize("dt", ["float32", "float64"])
def test_matmul_dtype(dt):
    a = mg.tensor(randn(2, 3).astype(dt), requires_grad=True)
    b = mg.tensor(randn(3, 2).astype(dt), requires_grad=True)
    out = a @ b
    assert np_dtype_name(out) == dt
    out.sum().backward()
    assert np_dtype_name(a.grad) == dt and np_dtype_name(b.grad) == dt


def test_int_matmul():
    a = [[1, 2], [3, 4]]
    m = mg.tensor(a) @ mg.tensor(a)
    t = torch.tensor(a) @ torch.tensor(a)
    assert np_dtype_name(m) == "int64"
    np.testing.assert_array_equal(m.numpy(), t.numpy())
