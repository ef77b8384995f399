"""Reductions (minigrad/ops/reduce.py): sum, mean, amax, max(), argmax."""

import numpy as np
import pytest
import torch

import minigrad as mg
from mgtest import assert_same_outcome, compare, distinct, gradcheck, np_dtype_name, randn

DIMS = [None, 0, 1, 2, -1, -2, (0, 2), (-1, 0), (0, 1, 2), (1,)]
DIM_IDS = [str(d) for d in DIMS]


def _reduce(name, dim, keepdim):
    def fn(T, x):
        m = getattr(x, name)
        if dim is None:
            return m()
        return m(dim=dim, keepdim=keepdim)

    return fn


# keepdim only means something when a dim is given
DIM_KEEPDIM = [pytest.param(d, k, id=f"{i}-keepdim={k}")
               for d, i in zip(DIMS, DIM_IDS) for k in (False, True) if d is not None or not k]


@pytest.mark.parametrize("name", ["sum", "mean"])
@pytest.mark.parametrize("dim,keepdim", DIM_KEEPDIM)
def test_sum_mean_dims(name, dim, keepdim):
    x = randn(2, 3, 4, seed=1)
    compare(_reduce(name, dim, keepdim), x)


@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize(
    "dim", [d for d in DIMS if d is not None], ids=[d for d in DIM_IDS if d != "None"]
)
def test_amax_dims(dim, keepdim):
    x = distinct(2, 3, 4, seed=2)
    compare(_reduce("amax", dim, keepdim), x)


@pytest.mark.parametrize("name", ["sum", "mean"])
def test_positional_dim(name):
    x = randn(3, 4, seed=3)
    compare(lambda T, t: getattr(t, name)(1), x)
    compare(lambda T, t: getattr(t, name)(0, True), x)
    compare(lambda T, t: getattr(t, name)(-1, keepdim=True), x)


def test_amax_positional_dim():
    x = distinct(3, 4, seed=3)
    compare(lambda T, t: t.amax(1), x)
    compare(lambda T, t: t.amax(-1, True), x)


@pytest.mark.parametrize("name", ["sum", "mean"])
@pytest.mark.parametrize("shape", [(), (1,), (5,), (1, 1, 3)], ids=str)
def test_small_shapes(name, shape):
    x = randn(*shape, seed=4)
    compare(lambda T, t: getattr(t, name)(), x)
    if len(shape) >= 1:
        compare(lambda T, t: getattr(t, name)(dim=0), x)
        compare(lambda T, t: getattr(t, name)(dim=0, keepdim=True), x)


@pytest.mark.parametrize(
    "fn",
    [
        lambda T, x: x.sum(dim=(0, 2)),
        lambda T, x: x.mean(dim=1, keepdim=True),
        lambda T, x: x.mean(),
        lambda T, x: x.amax(dim=-1),
        lambda T, x: x.amax(dim=(0, 1), keepdim=True),
        lambda T, x: x.max(),
    ],
    ids=["sum02", "mean1k", "mean", "amax-1", "amax01k", "max"],
)
def test_reduce_gradcheck(fn):
    gradcheck(fn, distinct(2, 3, 4, seed=5))


def test_max_full_reduction():
    x = distinct(3, 4, seed=6)
    compare(lambda T, t: t.max(), x)
    res = mg.tensor(x).max()
    assert tuple(res.shape) == ()
    assert res.item() == pytest.approx(x.max())


# ----------------------------------------------------------------- ties
TIE_INPUTS = {
    "row_ties": np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0], [5.0, 5.0, 5.0]]),
    "col_ties": np.array([[4.0, 1.0], [4.0, 2.0], [0.0, 2.0]]),
    "all_equal": np.full((2, 3), 7.0),
}


@pytest.mark.parametrize("name", list(TIE_INPUTS))
@pytest.mark.parametrize("dim", [0, 1, -1, (0, 1)], ids=str)
@pytest.mark.parametrize("keepdim", [False, True])
def test_amax_ties_split_gradient_like_torch(name, dim, keepdim):
    compare(lambda T, t: t.amax(dim=dim, keepdim=keepdim), TIE_INPUTS[name])


@pytest.mark.parametrize("name", list(TIE_INPUTS))
def test_max_full_reduction_ties_like_torch(name):
    compare(lambda T, t: t.max(), TIE_INPUTS[name])


def test_amax_tie_values_explicit():
    # independent NumPy expectation: ties share the gradient evenly
    x = mg.tensor([[1.0, 3.0, 3.0], [2.0, 0.0, 1.0]], requires_grad=True)
    x.amax(dim=1).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [[0, 0.5, 0.5], [1, 0, 0]])


def test_max_tie_values_explicit():
    x = mg.tensor([[1.0, 3.0], [3.0, 2.0], [3.0, 0.0]], requires_grad=True)
    x.max().backward()
    np.testing.assert_allclose(x.grad.numpy(), [[0, 1 / 3], [1 / 3, 0], [1 / 3, 0]], rtol=1e-6)


# ----------------------------------------------------------------- dtypes
@pytest.mark.parametrize("dt", ["float32", "float64"])
def test_reduction_dtypes(dt):
    x = mg.tensor(randn(2, 3).astype(dt), requires_grad=True)
    for out in (x.sum(), x.mean(), x.amax(dim=0), x.max(), x.sum(dim=1, keepdim=True)):
        assert np_dtype_name(out) == dt
    (x.sum() + x.mean()).backward()
    assert np_dtype_name(x.grad) == dt


def test_int_sum_stays_int64():
    m = mg.tensor([[1, 2], [3, 4]])
    t = torch.tensor([[1, 2], [3, 4]])
    assert np_dtype_name(m.sum()) == np_dtype_name(t.sum()) == "int64"
    assert m.sum().item() == 10
    np.testing.assert_array_equal(m.sum(dim=0).numpy(), t.sum(dim=0).numpy())
    np.testing.assert_array_equal(m.amax(dim=1).numpy(), t.amax(dim=1).numpy())


# ----------------------------------------------------------------- argmax
@pytest.mark.parametrize("dim,keepdim", [(None, False), (0, False), (0, True), (1, False),
                                         (1, True), (-1, False), (-1, True)])
def test_argmax_method(dim, keepdim):
    x = distinct(3, 4, seed=8)
    t = torch.tensor(x)
    m = mg.tensor(x)
    if dim is None:
        et, em = t.argmax(), m.argmax()
    else:
        et, em = t.argmax(dim=dim, keepdim=keepdim), m.argmax(dim=dim, keepdim=keepdim)
    assert tuple(em.shape) == tuple(et.shape)
    assert np_dtype_name(em) == "int64"
    np.testing.assert_array_equal(em.numpy(), et.numpy())


def test_argmax_function():
    x = distinct(3, 4, seed=9)
    np.testing.assert_array_equal(mg.argmax(mg.tensor(x), dim=1).numpy(), np.argmax(x, axis=1))
    assert mg.argmax(mg.tensor(x)).item() == int(np.argmax(x))


def test_argmax_ties_first_occurrence():
    x = np.array([[1.0, 5.0, 5.0], [7.0, 7.0, 0.0]])
    np.testing.assert_array_equal(
        mg.tensor(x).argmax(dim=1).numpy(), torch.tensor(x).argmax(dim=1).numpy()
    )


def test_argmax_on_requires_grad_tensor_has_no_grad():
    x = mg.tensor(distinct(2, 3), requires_grad=True)
    idx = x.argmax(dim=1)
    assert not idx.requires_grad


def test_bool_sum_counts_like_torch():
    x = randn(4, 5, seed=10)
    m = (mg.tensor(x) > 0).sum()
    t = (torch.tensor(x) > 0).sum()
    assert np_dtype_name(m) == np_dtype_name(t) == "int64"
    assert m.item() == t.item() == int((x > 0).sum())
    np.testing.assert_array_equal(
        (mg.tensor(x) > 0).sum(dim=1).numpy(), (torch.tensor(x) > 0).sum(dim=1).numpy()
    )


def test_accuracy_idiom():
    logits = distinct(6, 3, seed=11)
    y = np.array([0, 1, 2, 0, 1, 2])
    m = (mg.tensor(logits).argmax(dim=1) == mg.tensor(y)).sum().item()
    t = (torch.tensor(logits).argmax(dim=1) == torch.tensor(y)).sum().item()
    assert m == t == int((logits.argmax(axis=1) == y).sum())


# ------------------------------------------------------------------ more reductions
SHORT_DIMS = [None, 0, -1, (0, 2)]


@pytest.mark.parametrize("name", ["prod", "amin", "logsumexp", "var", "std", "norm"])
@pytest.mark.parametrize("dim", SHORT_DIMS, ids=str)
@pytest.mark.parametrize("keepdim", [False, True])
def test_more_reductions_match_torch(name, dim, keepdim):
    if name == "logsumexp" and dim is None:
        dim = (0, 1, 2)                 # PyTorch's logsumexp needs dims
    if keepdim and dim is None:
        return
    if name == "prod" and isinstance(dim, tuple):   # PyTorch's prod takes one dim: both refuse
        assert_same_outcome(lambda T: T.ones(2, 3, 4).prod(dim=dim))
        return
    x = distinct(2, 3, 4, seed=21) if name != "prod" else randn(2, 3, 4, seed=21)

    def fn(T, x):
        m = getattr(x, name)
        return m() if dim is None else m(dim=dim, keepdim=keepdim)

    compare(fn, x)


@pytest.mark.parametrize("p", [1, 2, 3, 0.5, float("inf"), float("-inf"), "fro"])
def test_norm_of_every_order_matches_torch(p):
    compare(lambda T, x: x.norm(p), distinct(3, 4, seed=22))
    compare(lambda T, x: T.norm(x, p, dim=1, keepdim=True), distinct(3, 4, seed=23))


@pytest.mark.parametrize("correction", [0, 1, 2])
def test_variance_corrections_match_torch(correction):
    x = randn(4, 5, seed=24)
    compare(lambda T, x: x.var(dim=1, correction=correction), x)
    compare(lambda T, x: T.std(x, 0, correction=correction, keepdim=True), x)
    compare(lambda T, x: x.var(1, False), x)             # the older unbiased= argument
    compare(lambda T, x: x.std(unbiased=True), x)


def test_prod_with_zeros_and_std_of_constants_match_torch():
    x = randn(3, 4, seed=25)
    x[1, 2] = 0.0
    x[2, 1] = x[2, 3] = 0.0
    compare(lambda T, x: x.prod(dim=1), x)
    compare(lambda T, x: x.prod(), x)
    compare(lambda T, x: (x * 0 + 1).std(dim=1), x)      # std 0: gradient 0, not nan
    compare(lambda T, x: (x * 0).norm(dim=1), x)         # norm 0: gradient 0


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_cumulative_ops_match_torch(dim):
    x = randn(3, 4, seed=26)
    compare(lambda T, x: x.cumsum(dim), x)
    compare(lambda T, x: T.cumprod(x, dim), x)
    x[1, 1] = x[0, 2] = 0.0                              # zeros take the other path
    compare(lambda T, x: x.cumprod(dim), x)


def test_logsumexp_of_infinite_rows_matches_torch():
    x = np.array([[1.0, 2.0, 3.0], [-np.inf, -np.inf, -np.inf], [np.inf, 0.0, 1.0]])
    compare(lambda T, x: x.logsumexp(1), x, backward=False)
    compare(lambda T, x: x.logsumexp(1), x[:1])


@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("keepdim", [False, True])
def test_min_and_max_over_a_dim_give_values_and_indices(dim, keepdim):
    x = distinct(3, 4, seed=27)
    for name in ("min", "max"):
        compare(lambda T, x: getattr(x, name)(dim, keepdim).values, x)
        compare(lambda T, x: getattr(T, name)(x, dim=dim, keepdim=keepdim)[0], x)
        assert_same_outcome(lambda T: getattr(T.tensor(x), name)(dim, keepdim).indices)
    assert_same_outcome(lambda T: T.tensor(x).argmin(dim, keepdim))
    compare(lambda T, x: x.min() + x.max(), x)
    compare(lambda T, a, b: a.min(b) + a.max(b), x, distinct(3, 4, seed=28))


@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("dim", [0, -1])
def test_sort_argsort_and_topk_match_torch(descending, dim):
    x = distinct(4, 5, seed=29)
    compare(lambda T, x: x.sort(dim, descending).values, x)
    compare(lambda T, x: T.sort(x, dim=dim, descending=descending)[0] * 2, x)
    assert_same_outcome(lambda T: T.tensor(x).sort(dim, descending).indices)
    assert_same_outcome(lambda T: T.tensor(x).argsort(dim, descending=descending))
    compare(lambda T, x: x.topk(3, dim, largest=not descending).values, x)
    assert_same_outcome(lambda T: T.tensor(x).topk(2, dim).indices)
    assert_same_outcome(lambda T: T.tensor(x).topk(9, dim))   # k too large: both refuse


def test_sort_is_stable_for_ties_as_torch_with_stable():
    x = np.array([3.0, 1.0, 3.0, 1.0, 2.0])
    assert_same_outcome(lambda T: T.tensor(x).sort(stable=True).indices)
    assert_same_outcome(lambda T: T.tensor(x).sort(descending=True, stable=True).indices)


@pytest.mark.parametrize("dim", [None, 0, 1])
def test_all_and_any_with_dims_match_torch(dim):
    x = np.array([[True, False, True], [True, True, True]])

    def program(T):
        t = T.tensor(x)
        if dim is None:
            return [t.all(), t.any(), T.all(t), (~t).any()]
        return [t.all(dim), t.any(dim, keepdim=True), T.any(t, dim=dim)]

    assert_same_outcome(program)


def test_gather_matches_torch():
    x = randn(3, 4, seed=30)
    index = np.array([[0, 3], [2, 2], [1, 0]])
    compare(lambda T, x: x.gather(1, T.tensor(index)), x)
    compare(lambda T, x: T.gather(x, 0, T.tensor(np.array([[2, 0, 1, 1]]))), x)


@pytest.mark.parametrize("name", ["prod", "var", "std", "logsumexp", "cumprod"])
def test_more_reductions_gradcheck(name):
    args = {"prod": (), "var": (1,), "std": (1,), "logsumexp": (1,), "cumprod": (1,)}[name]
    gradcheck(lambda T, x: getattr(x, name)(*args), randn(3, 4, seed=31))


# ------------------------------------------------ more of PyTorch's reductions

MORE_REDUCTIONS = {
    "nansum": lambda T, x: T.nansum(x.log(), 1),
    "nansum_all": lambda T, x: x.log().nansum(),
    "nanmean": lambda T, x: T.nanmean(x.masked_fill(x < -0.5, float("nan")), 1),
    "aminmax": lambda T, x: T.stack(list(T.aminmax(x, dim=1))),
    "aminmax_all": lambda T, x: T.aminmax(x).max - T.aminmax(x).min,
    "diff": lambda T, x: T.diff(x, n=2, dim=0),
    "diff_last": lambda T, x: x.diff(),
    "median": lambda T, x: T.median(x),
    "median_dim": lambda T, x: T.median(x, 1).values,
    "median_keepdim": lambda T, x: x.median(0, keepdim=True)[0],
    "kthvalue": lambda T, x: T.kthvalue(x, 2, 1).values,
    "kthvalue_keepdim": lambda T, x: x.kthvalue(3, 0, keepdim=True)[0],
    "msort": lambda T, x: T.msort(x),
    "sum_dtype": lambda T, x: x.sum(1, dtype=T.float64),
    "mean_dtype": lambda T, x: x.mean(dtype=T.float64),
    "cumsum_dtype": lambda T, x: x.cumsum(1, dtype=T.float64),
    "cumprod_dtype": lambda T, x: T.cumprod(x, 0, dtype=T.float64),
    "softmax_dtype": lambda T, x: T.softmax(x, 1, dtype=T.float64),
    "log_softmax_dtype": lambda T, x: x.log_softmax(0, dtype=T.float64),
    "sort_descending_nan": lambda T, x: (x / (x > -0.5)).sort(1, descending=True)
    .values.nan_to_num(),
}


@pytest.mark.parametrize("name", sorted(MORE_REDUCTIONS))
def test_more_reductions_forward_and_backward(name):
    compare(MORE_REDUCTIONS[name], distinct(4, 5, seed=3))


@pytest.mark.parametrize("expression", [
    "T.median(T.tensor([1.0, 2.0, 3.0, 4.0]))",                # the lower middle value
    "T.median(T.tensor([[1.0, float('nan'), 3.0], [2.0, 5.0, 4.0]]), 1)",
    "T.median(T.tensor([float('nan'), 1.0]))",
    "T.median(T.tensor([[4, 1, 3], [2, 2, 9]]), 0)",
    "T.kthvalue(T.tensor([3.0, 1.0, 2.0]), 2)",
    "T.nansum(T.tensor([1, 2]))",
    "T.nanmean(T.tensor([1.0, float('nan'), 2.0]))",
    "T.count_nonzero(T.tensor([[0, 1, 2], [0, 0, 3]]))",
    "T.count_nonzero(T.tensor([[0, 1, 2], [0, 0, 3]]), dim=1)",
    "T.tensor([[1, 2], [3, 4]]).sum(dtype=T.float32)",
    "T.tensor([[1, 2], [3, 4]]).mean(dtype=T.float64)",
    "T.tensor([True, False, True]).cumsum(0)",
    "T.tensor([1, 2], dtype=T.int32).cumsum(0, dtype=T.int64)",
    "T.diff(T.tensor([1, 4, 9, 16]))",
    "T.diff(T.tensor([True, False, False, True]))",
    "T.diff(T.tensor([1, 4]), prepend=T.tensor([0]), append=T.tensor([20, 30]))",
    "T.unique(T.tensor([3, 1, 2, 1, 3, 0]))",
    "T.unique(T.tensor([3.0, 1.0, 2.0, 1.0]))",
    "T.unique(T.tensor([3, 1, 2, 1]), sorted=False)",
    "T.unique(T.tensor([[3, 1], [2, 1]]), return_inverse=True)",
    "T.unique(T.tensor([3, 1, 2, 1]), return_counts=True)",
    "T.unique(T.tensor([3, 1, 2, 1]), return_inverse=True, return_counts=True)",
    "T.tensor([True, False, True]).unique()",
    "T.unique(T.tensor([[1, 2], [1, 2], [0, 4]]), dim=0, return_inverse=True, "
    "return_counts=True)",
    "T.unique_consecutive(T.tensor([1, 1, 2, 2, 1]))",
    "T.unique_consecutive(T.tensor([1, 1, 2, 2, 1]), return_inverse=True, return_counts=True)",
    "T.bincount(T.tensor([3, 1, 2, 1, 3, 0]))",
    "T.bincount(T.tensor([3, 1, 1]), minlength=6)",
    "T.bincount(T.tensor([2, 1, 1]), weights=T.tensor([0.5, 1.0, 2.0]))",
    "T.bincount(T.tensor([2, 1, 1]), weights=T.tensor([0.5, 1.0, 2.0], dtype=T.float64))",
    "T.bincount(T.tensor([2, 1, 1]), weights=T.tensor([1, 2, 3]))",
    "T.bincount(T.tensor([], dtype=T.int64))",
    "T.bincount(T.tensor([-1]))",
    "T.bincount(T.tensor([1.0]))",
    "T.bincount(T.tensor([[1]]))",
    "T.histc(T.tensor([3.0, 1.0, 2.0, 1.0, 3.0, 0.5]), bins=4)",
    "T.histc(T.tensor([3.0, 1.0, 2.0, 1.0, 3.0, 0.5]), bins=3, min=0, max=3)",
    "T.histc(T.tensor([1.0, 1.0]), bins=4)",
    "T.histc(T.tensor([1.0, 5.0, -2.0], dtype=T.float64), bins=2, min=0, max=2)",
    "T.histc(T.tensor([1, 2]), bins=2)",
    "T.searchsorted(T.tensor([1, 3, 5]), T.tensor([0, 3, 6]))",
    "T.searchsorted(T.tensor([1, 3, 5]), T.tensor([0, 3, 6]), right=True)",
    "T.bucketize(T.tensor([0, 3, 6]), T.tensor([1, 3, 5]))",
    "T.bucketize(T.tensor([0.5, 3.0]), T.tensor([1.0, 3.0]), right=True)",
    "T.argwhere(T.tensor([[0, 1], [2, 0]]))",
])
def test_more_reductions_values_and_dtypes(expression):
    assert_same_outcome(lambda T: eval(expression, {"T": T}))
