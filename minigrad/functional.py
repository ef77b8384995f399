"""Functions of the `minigrad` namespace, as in `torch` and `torch.functional`: the ones
that mirror a Tensor method (`minigrad.exp(x)` is `x.exp()`, listed in METHODS), and
joining, broadcasting helpers, einsum, meshgrid and searchsorted. Constructors are in
`creation`; `where`, `cat`, `stack`, `maximum`, `minimum` and `lerp`, which Tensor methods
use too, are in `tensor`.
"""
import numpy as np

from .creation import tensor
from .ops import linalg
from .tensor import Size, Tensor, cat, stack


def matmul(input, other):
    return input @ other


# torch.exp(x) is x.exp(), and so on: the functions that mirror a Tensor method are that
# method, so that one definition serves both spellings.
METHODS = [name for name in (
        "exp log sqrt abs tanh sigmoid relu clamp clip sum mean amax amin argmax argmin "
        "prod var std norm logsumexp cumsum cumprod max min sort argsort topk all any "
        "reshape flatten transpose swapaxes swapdims permute movedim unsqueeze squeeze t "
        "expand_as flip roll tril triu narrow unbind split chunk "
        "unflatten index_select gather scatter scatter_add masked_fill nonzero "
        "sin cos log1p expm1 log2 rsqrt reciprocal erf floor ceil round trunc sign neg "
        "negative square clamp_min clamp_max logical_and logical_or logical_xor "
        "logical_not isnan isinf isfinite eq ne lt le gt ge greater greater_equal less "
        "less_equal not_equal equal floor_divide remainder mm bmm dot outer "
        "numel clone detach isclose allclose diag trace var_mean std_mean "
        "add sub subtract mul multiply div divide true_divide fmod pow absolute tan asin acos "
        "atan sinh cosh asinh acosh atanh arcsin arccos arctan arcsinh arccosh arctanh atan2 "
        "arctan2 log10 exp2 frac sgn hypot logaddexp logit xlogy nan_to_num addcmul addcdiv "
        "fmax fmin isposinf isneginf isreal nansum nanmean count_nonzero aminmax diff median "
        "kthvalue msort unique unique_consecutive bincount histc argwhere isin moveaxis "
        "repeat_interleave tile masked_select take index_add index_fill is_floating_point "
        "square_ floor_ ceil_").split() if hasattr(Tensor, name)]
globals().update({name: getattr(Tensor, name) for name in METHODS})


def einsum(equation, *operands):
    """einsum("ij,jk->ik", a, b), with the operands also accepted as one list."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = operands[0]
    return linalg.Einsum.apply(*operands, equation=equation)


def softmax(input, dim, dtype=None):
    return input.softmax(dim, dtype)


def log_softmax(input, dim, dtype=None):
    return input.log_softmax(dim, dtype)


def is_tensor(obj):
    return isinstance(obj, Tensor)


def concat(tensors, dim=0):
    return cat(tensors, dim)


def concatenate(tensors, axis=0):
    return cat(tensors, axis)


def hstack(tensors):
    """Join along dim 1, or dim 0 for 1-D tensors."""
    return cat(tensors, 0 if tensors[0].ndim == 1 else 1)


def vstack(tensors):
    return cat([t.reshape(1, -1) if t.ndim < 2 else t for t in tensors], 0)


row_stack = vstack


def dstack(tensors):
    return cat([t.reshape(1, -1, 1) if t.ndim < 2 else t.unsqueeze(-1) if t.ndim == 2 else t
                for t in tensors], 2)


def column_stack(tensors):
    return hstack([t.reshape(-1, 1) if t.ndim < 2 else t for t in tensors])


def fliplr(input):
    return input.flip(1)


def flipud(input):
    return input.flip(0)


def atleast_1d(input):
    return input.reshape(1) if input.ndim == 0 else input


def atleast_2d(input):
    return input.reshape(1, -1) if input.ndim < 2 else input


def broadcast_shapes(*shapes):
    return Size(np.broadcast_shapes(*shapes))


def broadcast_to(input, size):
    return input.expand(*size)


def broadcast_tensors(*tensors):
    shape = broadcast_shapes(*[t.shape for t in tensors])
    return tuple(t.expand(*shape) for t in tensors)


def meshgrid(*tensors, indexing="ij"):
    """Coordinate grids: out[k][i0, i1, ...] = tensors[k][ik] (indexing="ij"); "xy"
    swaps the first two dimensions, as NumPy's meshgrid does."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f"meshgrid: indexing must be 'ij' or 'xy', not {indexing!r}")
    shape = [t.numel() for t in tensors]
    grids = []
    for k, t in enumerate(tensors):
        view = [1] * len(tensors)
        view[k] = -1
        grid = t.reshape(view).expand(*shape)
        grids.append(grid.transpose(0, 1) if indexing == "xy" and len(tensors) >= 2 else grid)
    return tuple(grids)


def cartesian_prod(*tensors):
    grids = meshgrid(*tensors, indexing="ij")
    return grids[0] if len(grids) == 1 else stack([g.reshape(-1) for g in grids], dim=1)


def mv(input, vec):
    if input.ndim != 2 or vec.ndim != 1:
        raise RuntimeError(f"mv: expected a matrix and a vector, got {input.ndim}-D and "
                           f"{vec.ndim}-D tensors")
    return input @ vec


def addmm(input, mat1, mat2, *, beta=1, alpha=1):
    """beta * input + alpha * (mat1 @ mat2)."""
    product = mat1.mm(mat2)
    return (input if beta == 1 else beta * input) + (product if alpha == 1 else alpha * product)


def searchsorted(sorted_sequence, input, *, right=False, side=None):
    """Where each value of `input` would go in the sorted 1-D `sorted_sequence`."""
    if sorted_sequence.ndim != 1:
        raise NotImplementedError("searchsorted: minigrad supports only a 1-D sorted_sequence")
    side = side or ("right" if right else "left")
    values = input.data if isinstance(input, Tensor) else input
    found = np.searchsorted(sorted_sequence.data, values, side=side)
    return tensor(found) if isinstance(input, Tensor) else tensor(int(found))


def bucketize(input, boundaries, *, right=False):
    return searchsorted(boundaries, input, right=right)


__all__ = METHODS + [
    "matmul", "einsum", "softmax", "log_softmax", "is_tensor", "concat", "concatenate", "hstack",
    "vstack", "dstack", "column_stack", "fliplr", "flipud", "atleast_1d", "atleast_2d",
    "broadcast_shapes", "broadcast_to", "broadcast_tensors", "meshgrid", "cartesian_prod", "mv",
    "addmm", "searchsorted", "bucketize", "row_stack",
]
