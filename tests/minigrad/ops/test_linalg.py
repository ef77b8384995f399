"""Matrix multiplication (minigrad/ops/linalg.py): @, .matmul, all rank combinations."""

import numpy as np
import pytest
import torch

import minigrad as mg
from mgtest import assert_same_outcome, compare, gradcheck, np_dtype_name, randn

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


@pytest.mark.parametrize(
    "sa,sb",
    [((3, 4), (4, 2)), ((4,), (4, 2)), ((2, 3, 4), (4,)), ((2, 1, 2, 3), (2, 3, 2))],
    ids=str,
)
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


# ------------------------------------------------------------------ mm, bmm, dot, einsum
def test_mm_bmm_dot_and_outer_match_torch():
    compare(lambda T, a, b: a.mm(b), randn(3, 4, seed=51), randn(4, 2, seed=52))
    compare(lambda T, a, b: T.bmm(a, b), randn(2, 3, 4, seed=53), randn(2, 4, 5, seed=54))
    compare(lambda T, a, b: a.dot(b), randn(4, seed=55), randn(4, seed=56))
    compare(lambda T, a, b: T.outer(a, b), randn(3, seed=57), randn(4, seed=58))


@pytest.mark.parametrize("program", [
    lambda T: T.ones(2, 3, 4).mm(T.ones(4, 2)),
    lambda T: T.ones(2, 3, 4).bmm(T.ones(3, 4, 2)),
    lambda T: T.ones(2, 2).dot(T.ones(2, 2)),
], ids=["mm_3d", "bmm_batches", "dot_2d"])
def test_mm_bmm_dot_refuse_what_torch_refuses(program):
    assert_same_outcome(program)


EINSUMS = [
    ("ij,jk->ik", [(3, 4), (4, 5)]),
    ("ij,jk", [(3, 4), (4, 5)]),                   # implicit output
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
    ("ij->", [(3, 4)]),
    ("ij->j", [(3, 4)]),
    ("ij->ji", [(3, 4)]),
    ("i,j->ij", [(3,), (4,)]),
    ("i,i->", [(3,), (3,)]),
    ("ij,ij->ij", [(3, 4), (3, 4)]),
    ("bhqd,bhkd->bhqk", [(2, 3, 4, 5), (2, 3, 6, 5)]),
    ("...ij,...jk->...ik", [(2, 3, 4), (4, 5)]),
    ("...ij,...jk->...ik", [(2, 1, 3, 4), (5, 4, 2)]),
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 5)]),
    ("abc->ca", [(2, 3, 4)]),
]


@pytest.mark.parametrize("equation,shapes", EINSUMS, ids=[e for e, _ in EINSUMS])
def test_einsum_matches_torch(equation, shapes):
    arrays = [randn(*s, seed=60 + k) for k, s in enumerate(shapes)]
    compare(lambda T, *xs: T.einsum(equation, *xs), *arrays)


def test_einsum_takes_a_list_and_gradchecks():
    a, b = randn(3, 4, seed=70), randn(4, 2, seed=71)
    compare(lambda T, a, b: T.einsum("ij,jk->ik", [a, b]), a, b)
    gradcheck(lambda T, a, b: T.einsum("ij,jk->ik", a, b), a, b)


def test_einsum_errors_match_torch():
    assert_same_outcome(lambda T: T.einsum("ij,jk->ik", T.ones(2, 3)))
    assert_same_outcome(lambda T: T.einsum("ijk->i", T.ones(2, 3)))
