"""Shape ops and indexing (minigrad/ops/shape.py): reshape, view, transpose, permute,
T, unsqueeze, squeeze, flatten, indexing, cat, stack."""

import numpy as np
import pytest
import torch

import minigrad as mg
from mgtest import assert_same_outcome, compare, gradcheck, np_dtype_name, randn

X234 = randn(2, 3, 4, seed=1)

SHAPE_FNS = {
    "reshape_6_4": lambda T, x: x.reshape(6, 4),
    "reshape_tuple": lambda T, x: x.reshape((4, 6)),
    "reshape_-1": lambda T, x: x.reshape(-1),
    "reshape_2_-1": lambda T, x: x.reshape(2, -1),
    "reshape_-1_2_2": lambda T, x: x.reshape(-1, 2, 2),
    "view_3_8": lambda T, x: x.view(3, 8),
    "view_-1": lambda T, x: x.view(-1),
    "view_tuple": lambda T, x: x.view((2, 12)),
    "transpose_0_1": lambda T, x: x.transpose(0, 1),
    "transpose_0_2": lambda T, x: x.transpose(0, 2),
    "transpose_-1_-2": lambda T, x: x.transpose(-1, -2),
    "transpose_same": lambda T, x: x.transpose(1, 1),
    "permute_2_0_1": lambda T, x: x.permute(2, 0, 1),
    "permute_tuple": lambda T, x: x.permute((1, 2, 0)),
    "permute_neg": lambda T, x: x.permute(-1, 0, 1),
    "unsqueeze_0": lambda T, x: x.unsqueeze(0),
    "unsqueeze_2": lambda T, x: x.unsqueeze(2),
    "unsqueeze_-1": lambda T, x: x.unsqueeze(-1),
    "unsqueeze_3": lambda T, x: x.unsqueeze(3),
    "flatten": lambda T, x: x.flatten(),
    "flatten_1": lambda T, x: x.flatten(1),
    "reshape_then_permute": lambda T, x: x.reshape(4, 6).T.reshape(2, 2, 6).permute(2, 1, 0),
}


@pytest.mark.parametrize("name", list(SHAPE_FNS))
def test_shape_ops_match_torch(name):
    compare(SHAPE_FNS[name], X234)


@pytest.mark.parametrize(
    "name", ["reshape_2_-1", "transpose_0_2", "permute_2_0_1", "unsqueeze_-1", "flatten"]
)
def test_shape_ops_gradcheck(name):
    gradcheck(SHAPE_FNS[name], X234)


def test_T_2d():
    compare(lambda T, x: x.T, randn(3, 5, seed=2))
    compare(lambda T, x: x.T * 2 + 1, randn(3, 5, seed=2))


@pytest.mark.parametrize(
    "fn",
    [
        lambda T, x: x.squeeze(),
        lambda T, x: x.squeeze(0),
        lambda T, x: x.squeeze(2),
        lambda T, x: x.squeeze(-1),
        lambda T, x: x.squeeze(1),  # size 3: no-op, like torch
        lambda T, x: x.unsqueeze(1).squeeze(1),
    ],
    ids=["all", "0", "2", "-1", "noop", "roundtrip"],
)
def test_squeeze(fn):
    compare(fn, randn(1, 3, 1, 2, 1, seed=3))


def test_shape_ops_on_non_contiguous_views():
    # reshape after transpose must use logical (row-major) order, like torch
    x = randn(3, 4, seed=4)
    compare(lambda T, t: t.transpose(0, 1).reshape(2, 6), x)
    compare(lambda T, t: t.T.flatten(), x)
    compare(lambda T, t: t.permute(1, 0)[1:3].reshape(-1), x)


def test_scalar_reshape():
    compare(lambda T, x: x.reshape(1, 1), randn(seed=5))
    compare(lambda T, x: x.reshape(()), randn(1, seed=5))
    compare(lambda T, x: x.unsqueeze(0), randn(seed=5))


# ------------------------------------------------------------------ indexing
INDEX_CASES = {
    "int": lambda x: x[1],
    "neg_int": lambda x: x[-1],
    "two_ints": lambda x: x[1, 2],
    "three_ints": lambda x: x[-1, 0, 3],
    "slice": lambda x: x[0:2],
    "slice_step": lambda x: x[:, ::2],
    "slice_step_start": lambda x: x[:, 1::2, 1:4:2],
    "neg_slice": lambda x: x[:, -2:],
    "neg_stop": lambda x: x[..., :-1],
    "slice_out_of_range": lambda x: x[:, 1:10],
    "empty_slice": lambda x: x[:, 2:1],
    "none_front": lambda x: x[None],
    "none_middle": lambda x: x[:, None, 1],
    "none_end": lambda x: x[..., None],
    "ellipsis_int": lambda x: x[..., 1],
    "int_ellipsis": lambda x: x[0, ...],
    "ellipsis_middle": lambda x: x[1, ..., 2],
    "mixed": lambda x: x[1, 1:, None, ::3],
    "list": lambda x: x[[0, 1, 0]],
    "list_dim1": lambda x: x[:, [2, 0]],
    "list_repeated": lambda x: x[:, [1, 1, 1, 0]],
    "two_lists": lambda x: x[[0, 1, 1], [2, 0, 2]],
    "list_and_int": lambda x: x[[1, 0], :, 3],
    "neg_list": lambda x: x[[-1, -2, -1]],
    "2d_index_array": lambda x: x[:, [[0, 1], [2, 2]]],
}


@pytest.mark.parametrize("name", list(INDEX_CASES))
def test_indexing_matches_torch(name):
    f = INDEX_CASES[name]
    compare(lambda T, x: f(x), X234)


@pytest.mark.parametrize("name", ["int", "slice_step_start", "mixed", "list_repeated", "two_lists"])
def test_indexing_gradcheck(name):
    f = INDEX_CASES[name]
    gradcheck(lambda T, x: f(x), X234)


@pytest.mark.parametrize("kind", ["numpy", "tensor", "list"])
def test_index_array_repeated_indices_accumulate(kind):
    x = randn(5, 3, seed=6)
    raw = [0, 2, 2, 4, 0, 0]

    def idx(T):
        if kind == "numpy":
            return np.array(raw, dtype=np.int64)
        if kind == "tensor":
            return T.tensor(raw)
        return list(raw)

    compare(lambda T, t: t[idx(T)] * 1.0, x)
    # explicit expectation from NumPy: each row's grad = number of times it was picked
    m = mg.tensor(x, requires_grad=True)
    m[idx(mg)].sum().backward()
    counts = np.bincount(raw, minlength=5).astype(float)
    np.testing.assert_allclose(m.grad.numpy(), np.repeat(counts[:, None], 3, axis=1))


def test_index_int64_tensor_2d():
    x = randn(4, 3, seed=7)
    rows = np.array([3, 3, 1], dtype=np.int64)
    cols = np.array([0, 0, 2], dtype=np.int64)
    compare(lambda T, t: t[T.tensor(rows), T.tensor(cols)], x)


def test_index_result_used_twice():
    x = randn(4, 3, seed=8)
    compare(lambda T, t: t[1] * t[1:2] + t[:, 0:1].T @ t, x)


def test_index_scalar_result_item():
    x = mg.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert x[1, 0].item() == 3.0
    assert tuple(x[1, 0].shape) == ()


# ------------------------------------------------------------------ cat / stack
@pytest.mark.parametrize("dim", [0, 1, 2, -1, -3])
def test_cat(dim):
    shapes = [[2, 3, 4], [2, 3, 4], [2, 3, 4]]
    ax = dim % 3
    for i, s in enumerate(shapes):
        s[ax] = i + 1  # different sizes along the cat dim
    a, b, c = (randn(*s, seed=10 + i) for i, s in enumerate(shapes))
    compare(lambda T, x, y, z: T.cat([x, y, z], dim=dim), a, b, c)


def test_cat_default_dim_and_tuple():
    a, b = randn(2, 3, seed=1), randn(1, 3, seed=2)
    compare(lambda T, x, y: T.cat([x, y]), a, b)
    compare(lambda T, x, y: T.cat((x, y), 0), a, b)


def test_cat_same_tensor_twice_and_gradcheck():
    a = randn(2, 3, seed=3)
    compare(lambda T, x: T.cat([x, x * 2, x], dim=1), a)
    gradcheck(lambda T, x, y: T.cat([x, y, x], dim=0), a, randn(1, 3, seed=4))


def test_cat_with_non_grad_tensor():
    a = randn(2, 3, seed=5)
    const = randn(2, 2, seed=6)
    compare(lambda T, x: T.cat([x, T.tensor(const, dtype=x.dtype)], dim=1), a)


@pytest.mark.parametrize("dim", [0, 1, 2, -1, -2])
def test_stack(dim):
    a, b, c = (randn(2, 3, seed=20 + i) for i in range(3))
    compare(lambda T, x, y, z: T.stack([x, y, z], dim=dim), a, b, c)


def test_stack_default_dim_gradcheck():
    a, b = randn(3, seed=1), randn(3, seed=2)
    compare(lambda T, x, y: T.stack([x, y]), a, b)
    gradcheck(lambda T, x, y: T.stack([x, y, x], dim=1), a, b)


def test_stack_scalars():
    a, b = randn(seed=1), randn(seed=2)
    compare(lambda T, x, y: T.stack([x, y]), a, b)


def test_shape_ops_keep_dtype():
    for dt in ("float32", "float64"):
        x = mg.tensor(randn(2, 3).astype(dt), requires_grad=True)
        outs = [x.reshape(3, 2), x.T, x.permute(1, 0), x.unsqueeze(0), x[0], x[:, [0, 0]],
                mg.cat([x, x]), mg.stack([x, x]), x.flatten()]
        for o in outs:
            assert o.detach().numpy().dtype == np.dtype(dt)
        sum(o.sum() for o in outs).backward()
        assert x.grad.numpy().dtype == np.dtype(dt)


def test_int_tensor_indexing_and_shape_ops():
    m = mg.tensor([[1, 2, 3], [4, 5, 6]])
    t = torch.tensor([[1, 2, 3], [4, 5, 6]])
    for f in (lambda x: x[1], lambda x: x[:, [2, 0]], lambda x: x.T, lambda x: x.reshape(3, 2)):
        np.testing.assert_array_equal(f(m).numpy(), f(t).numpy())
        assert f(m).dtype == mg.int64


@pytest.mark.parametrize("fn", ["cat", "stack"])
@pytest.mark.parametrize("other", ["float32", "float64", "int64"])
def test_cat_stack_mixed_dtypes_promote_like_torch(fn, other):
    res = {}
    for T in (mg, torch):
        a = T.tensor([1, 2, 3])
        b = T.tensor(np.array([1.5, 2.5, 3.5]).astype(other))
        res[T.__name__] = getattr(T, fn)([a, b])
    assert np_dtype_name(res["minigrad"]) == np_dtype_name(res["torch"]), (
        np_dtype_name(res["minigrad"]), np_dtype_name(res["torch"]))
    np.testing.assert_allclose(res["minigrad"].numpy(), res["torch"].numpy())


def test_cat_float32_float64_grads_keep_input_dtypes():
    a32 = randn(2, 3, seed=1).astype(np.float32)
    b64 = randn(1, 3, seed=2)
    ma, mb = mg.tensor(a32, requires_grad=True), mg.tensor(b64, requires_grad=True)
    ta, tb = torch.tensor(a32, requires_grad=True), torch.tensor(b64, requires_grad=True)
    mo, to = mg.cat([ma, mb]), torch.cat([ta, tb])
    assert mo.dtype == mg.float64 and to.dtype == torch.float64
    mo.sum().backward()
    to.sum().backward()
    assert ma.grad.numpy().dtype == np.float32 and mb.grad.numpy().dtype == np.float64


# ------------------------------------------------------------------ more shape ops
SHAPE_FUNCTIONS = {
    "expand": lambda T, x: x[:, :1].expand(3, 4),
    "expand_new_dims": lambda T, x: x[:1].expand(2, 3, 4),
    "expand_minus_one": lambda T, x: x[None].expand(2, -1, -1),
    "expand_as": lambda T, x: x[:1].expand_as(x),
    "repeat": lambda T, x: x.repeat(2, 1, 3),
    "flip": lambda T, x: x.flip(0, 1),
    "torch.flip": lambda T, x: T.flip(x, [1]),
    "roll": lambda T, x: x.roll(1, 0),
    "roll_dims": lambda T, x: T.roll(x, (1, -2), (0, 1)),
    "tril": lambda T, x: x.tril(),
    "triu": lambda T, x: T.triu(x, 1),
    "tril_negative": lambda T, x: x.tril(-1),
    "contiguous": lambda T, x: x.T.contiguous() * 2,
    "narrow": lambda T, x: x.narrow(1, 1, 2),
    "split": lambda T, x: T.cat(x.split(2, dim=1)[::-1], 1),
    "split_sizes": lambda T, x: T.cat(x.split([1, 3], 1)[::-1], 1),
    "chunk": lambda T, x: T.cat(x.chunk(3, 1)[::-1], 1),
    "unbind": lambda T, x: T.stack(x.unbind(1)[::-1]),
    "unflatten": lambda T, x: x.reshape(12).unflatten(0, (2, -1)),
    "movedim": lambda T, x: x[None].movedim(0, 2),
    "swapaxes": lambda T, x: x.swapaxes(0, 1),
    "mT": lambda T, x: x.mT,
    "t": lambda T, x: x.t(),
    "view_as": lambda T, x: x.reshape(12).view_as(x),
    "index_select": lambda T, x: x.index_select(1, T.tensor([3, 0, 3])),
    "torch.index_select": lambda T, x: T.index_select(x, 0, T.tensor([2, 2])),
    "masked_fill": lambda T, x: x.masked_fill(x > 0, -1.5),
    "masked_fill_0d": lambda T, x: x.masked_fill(x < 0, T.tensor(2.0)),
    "scatter": lambda T, x: x.scatter(1, T.tensor([[0, 1], [2, 3], [1, 0]]), x[:, 2:] * 3),
    "scatter_value": lambda T, x: x.scatter(0, T.tensor([[0, 2, 1, 0]]), 7.0),
    "scatter_add": lambda T, x: x.scatter_add(1, T.tensor([[0, 0], [3, 3], [1, 2]]), x[:, :2]),
}


@pytest.mark.parametrize("name", list(SHAPE_FUNCTIONS))
def test_more_shape_ops_match_torch(name):
    compare(SHAPE_FUNCTIONS[name], randn(3, 4, seed=41))


def test_masked_fill_with_a_value_that_requires_grad_matches_torch():
    compare(lambda T, x, v: x.masked_fill(x > 0, v), randn(3, 4, seed=42), np.array(0.5))


def test_expanded_memory_cannot_be_written_in_either():
    assert_same_outcome(lambda T: T.zeros(3, 1).expand(3, 4).add_(1))


def test_contiguous_returns_the_tensor_itself_when_it_is():
    x = mg.ones(2, 3)
    assert x.contiguous() is x and x.is_contiguous() and not x.T.is_contiguous()
    assert x.T.stride() == (1, 3) == torch.ones(2, 3).T.stride()


def test_split_chunk_and_unbind_return_views_as_torch():
    def program(T):
        x = T.zeros(4, 6)
        a, b = x.split(3, dim=1)
        a.add_(1)
        c = x.chunk(2)[1]
        c.mul_(3)
        x.unbind(0)[0][5] = 9.0
        return [x, len(x.chunk(4, 1)), [t.shape for t in x.chunk(5, 1)]]

    assert_same_outcome(program)


@pytest.mark.parametrize(
    "program",
    [
        lambda T: T.ones(2, 3).split([1, 1], 1),
        lambda T: T.ones(2, 3).scatter_add(0, T.tensor([[0, 1, 0]]), T.ones(1, 3, dtype=T.float64)),
        lambda T: T.ones(2, 3).chunk(0),
        lambda T: T.ones(2, 3).expand(3),
        lambda T: T.ones(2, 3).repeat(2),
        lambda T: T.ones(2, 3, 4).t(),
        lambda T: T.ones(3).masked_fill(T.tensor([1, 0, 1]), 0.0),
        lambda T: T.ones(3).index_select(0, T.tensor([[0]])),
    ],
    ids=[
        "split_sizes",
        "scatter_dtypes",
        "chunk0",
        "expand_fewer",
        "repeat_fewer",
        "t_3d",
        "fill_int_mask",
        "index_2d",
    ],
)
def test_shape_op_errors_match_torch(program):
    assert_same_outcome(program)


def test_nonzero_and_where_with_one_argument_match_torch():
    x = np.array([[0.0, 1.5, 0.0], [2.0, 0.0, -1.0]])
    assert_same_outcome(lambda T: [T.tensor(x).nonzero(), T.where(T.tensor(x) != 0),
                                   T.tensor(x).nonzero(as_tuple=True)])


@pytest.mark.parametrize("name", ["repeat", "roll", "scatter_add", "index_select", "tril"])
def test_more_shape_ops_gradcheck(name):
    gradcheck(SHAPE_FUNCTIONS[name], randn(3, 4, seed=43))


def test_in_place_scatter_and_masked_fill_match_torch():
    def program(T):
        x = T.tensor(randn(3, 4, seed=44), requires_grad=True)
        y = x * 1
        y.masked_fill_(y > 0.5, 0.0)
        y.scatter_(1, T.tensor([[0], [1], [2]]), 5.0)
        y.scatter_add_(0, T.tensor([[1, 1, 1, 1]]), T.ones(1, 4, dtype=T.float64))
        (y * y).sum().backward()
        return [y, x.grad]

    assert_same_outcome(program)


# ------------------------------------------------ more of PyTorch's shape functions

MORE_SHAPE_FNS = {
    "repeat_interleave": (lambda T, x: x.repeat_interleave(2, dim=1), [randn(3, 4)]),
    "repeat_interleave_flat": (lambda T, x: T.repeat_interleave(x, 3), [randn(2, 2)]),
    "repeat_interleave_tensor": (lambda T, x: x.repeat_interleave(T.tensor([1, 0, 2]), dim=0),
                                 [randn(3, 2)]),
    "tile": (lambda T, x: x.tile((2, 1, 2)), [randn(3, 4)]),
    "tile_short": (lambda T, x: T.tile(x, (2,)), [randn(3, 4)]),
    "masked_select": (lambda T, x: x.masked_select(x > 0), [randn(3, 4)]),
    "masked_select_broadcast": (lambda T, x: T.masked_select(
        x, T.tensor([True, False, True, True])), [randn(3, 4)]),
    "take": (lambda T, x: T.take(x, T.tensor([[0, 11], [5, 5]])), [randn(3, 4)]),
    "index_add": (lambda T, x, s: x.index_add(1, T.tensor([0, 3, 0]), s, alpha=2),
                  [randn(3, 4), randn(3, 3, seed=2)]),
    "index_add_": (lambda T, x, s: (x * 1).index_add_(0, T.tensor([2, 2]), s),
                   [randn(3, 4), randn(2, 4, seed=3)]),
    "index_fill": (lambda T, x: x.index_fill(1, T.tensor([0, 2]), -1.0), [randn(3, 4)]),
    "tril_": (lambda T, x: (x * 1).tril_(), [randn(3, 3)]),
    "triu_": (lambda T, x: (x * 1).triu_(1), [randn(3, 4)]),
    "moveaxis": (lambda T, x: x.moveaxis(0, -1), [randn(2, 3, 4)]),
    "hstack": (lambda T, a, b: T.hstack([a, b]), [randn(3, 4), randn(3, 2, seed=2)]),
    "hstack_1d": (lambda T, a, b: T.hstack([a, b]), [randn(3), randn(2, seed=2)]),
    "vstack": (lambda T, a, b: T.vstack([a, b]), [randn(4), randn(2, 4, seed=2)]),
    "row_stack": (lambda T, a, b: T.row_stack((a, b)), [randn(4), randn(4, seed=2)]),
    "dstack": (lambda T, a, b: T.dstack([a, b]), [randn(3, 4), randn(3, 4, seed=2)]),
    "column_stack": (lambda T, a, b: T.column_stack([a, b]), [randn(3), randn(3, 2, seed=2)]),
    "concat": (lambda T, a, b: T.concat([a, b], dim=1), [randn(3, 4), randn(3, 2, seed=2)]),
    "concatenate": (lambda T, a, b: T.concatenate([a, b], axis=1),
                    [randn(3, 4), randn(3, 2, seed=2)]),
    "meshgrid_ij": (lambda T, a, b: T.stack(T.meshgrid(a, b, indexing="ij")),
                    [randn(3), randn(4, seed=2)]),
    "meshgrid_xy": (lambda T, a, b, c: T.stack(T.meshgrid([a, b, c], indexing="xy")),
                    [randn(3), randn(4, seed=2), randn(2, seed=3)]),
    "cartesian_prod": (lambda T, a, b: T.cartesian_prod(a, b), [randn(3), randn(4, seed=2)]),
    "broadcast_to": (lambda T, a: T.broadcast_to(a, (2, 3, 4)), [randn(3, 1)]),
    "broadcast_tensors": (lambda T, a, b: T.stack(T.broadcast_tensors(a, b)),
                          [randn(3, 1), randn(1, 4, seed=2)]),
    "fliplr_flipud": (lambda T, a: T.fliplr(T.flipud(a)), [randn(3, 4)]),
    "atleast_2d": (lambda T, a: T.atleast_2d(a), [randn(3)]),
    "mv": (lambda T, a, b: T.mv(a, b), [randn(3, 4), randn(4, seed=2)]),
    "addmm": (lambda T, a, b, c: T.addmm(a, b, c, beta=0.5, alpha=2),
              [randn(3, 2), randn(3, 4, seed=2), randn(4, 2, seed=3)]),
}


@pytest.mark.parametrize("name", sorted(MORE_SHAPE_FNS))
def test_more_shape_functions_forward_and_backward(name):
    fn, inputs = MORE_SHAPE_FNS[name]
    compare(fn, *inputs)


@pytest.mark.parametrize("expression", [
    "T.broadcast_shapes((3, 1), (1, 2))",
    "T.meshgrid(T.tensor([1, 2]), T.tensor([3, 4, 5]), indexing='xy')",
    "T.tensor([1, 2]).repeat_interleave(T.tensor([2, 3]))",
    "T.atleast_1d(T.tensor(3))",
    "T.ones(3).new_empty(2).shape",
    "T.mv(T.ones(2, 3), T.ones(3, 1))",
])
def test_more_shape_functions_values(expression):
    assert_same_outcome(lambda T: eval(expression, {"T": T}))
