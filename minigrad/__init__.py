"""minigrad: a small autograd engine with PyTorch's API, written to be read.

    import minigrad as torch   # code that uses only supported operations runs unchanged

Layers, from the bottom up: `dtypes` and `backend` (where data lives), `autograd` (Op,
backward; `function` adds PyTorch's tensor-level Function, grad and gradcheck), `ops/`
(one Op per operation), `tensor` (the Tensor class), then `nn` and `optim`.
`minigrad.graph(t)` exports the graph behind `t` as plain data; `minigrad.compile(fn)`
turns an eager function into a replayed static graph.
"""
import functools

from . import autograd  # first: tensor.py and the ops build on it

# isort: split
from . import accelerator, cuda, nn, optim, utils
from .autograd import (
    enable_grad,
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
)
from .backend import device, get_default_device, set_default_device
from .compile import CompileError, TracerWarning, compile  # noqa: A004  (as torch.compile)
from .creation import (
    Generator,
    arange,
    as_tensor,
    empty,
    empty_like,
    eye,
    from_numpy,
    full,
    full_like,
    linspace,
    manual_seed,
    normal,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randint_like,
    randn,
    randn_like,
    randperm,
    tensor,
    zeros,
    zeros_like,
)
from .dtypes import (
    bool_ as bool,  # noqa: A001  (PyTorch names it torch.bool)
    dtype,
    float32,
    float64,
    get_default_dtype,
    int32,
    int64,
    set_default_dtype,
)
from .errors import ShapeError
from .export import graph
from .ops import elementwise as _E, linalg as _L, shape as _S
from .serialization import load, save
from .tensor import Size, Tensor, _promote, _result_dtype, lerp, maximum, minimum

float = float32     # noqa: A001  torch.float is float32
double = float64
long = int64
int = int32         # noqa: A001  torch.int is int32

__version__ = "0.1.0"


def _same_dtype(values):
    """Tensors of one dtype, promoted as PyTorch does (ints + floats give floats)."""
    ts = [v if isinstance(v, Tensor) else tensor(v) for v in values]
    dtypes = {t.data.dtype for t in ts}
    if len(dtypes) > 1:
        target = functools.reduce(lambda a, b: _result_dtype(a, b, False), dtypes)
        ts = [t if t.data.dtype == target else t.to(dtype=target) for t in ts]
    return ts


def cat(tensors, dim=0):
    """Join tensors along an existing dimension."""
    if not len(tensors):
        raise ValueError("cat(): expected a non-empty list of tensors")
    return _S.Cat.apply(*_same_dtype(tensors), dim=dim)


def stack(tensors, dim=0):
    """Join tensors along a new dimension."""
    if not len(tensors):
        raise RuntimeError("stack expects a non-empty list of tensors")
    return _S.Stack.apply(*_same_dtype(tensors), dim=dim)


def where(condition, input=None, other=None):
    """Elements of `input` where `condition` holds, else of `other` (broadcasting);
    where(condition) alone is condition.nonzero(as_tuple=True)."""
    if input is None and other is None:
        return condition.nonzero(as_tuple=True)
    if not isinstance(condition, Tensor):
        condition = tensor(condition)
    if condition.dtype is not bool:
        raise RuntimeError(f"where expected condition to be a boolean tensor, but got a "
                           f"tensor with dtype {condition.dtype.name}")
    if isinstance(input, Tensor) or isinstance(other, Tensor):
        input, other = _promote(input, other)
    else:  # two Python numbers: float32 if either is a float, as in PyTorch
        input, other = _same_dtype([input, other])
    return _E.Where.apply(condition, input, other)


def matmul(input, other):
    return input @ other


# torch.exp(x) is x.exp(), and so on: the functions that mirror a Tensor method are that
# method, so that one definition serves both spellings.
for _name in (
        "exp log sqrt abs tanh sigmoid relu clamp clip sum mean amax amin argmax argmin "
        "prod var std norm logsumexp cumsum cumprod max min sort argsort topk all any "
        "reshape flatten transpose swapaxes swapdims permute movedim unsqueeze squeeze t "
        "expand_as flip roll tril triu narrow unbind split chunk "
        "unflatten index_select gather scatter scatter_add masked_fill nonzero "
        "sin cos log1p expm1 log2 rsqrt reciprocal erf floor ceil round trunc sign neg "
        "negative square clamp_min clamp_max lerp logical_and logical_or logical_xor "
        "logical_not isnan isinf isfinite eq ne lt le gt ge greater greater_equal less "
        "less_equal not_equal equal floor_divide remainder mm bmm dot outer "
        "numel clone detach isclose allclose diag trace var_mean std_mean "
        "add sub subtract mul multiply div divide true_divide fmod pow absolute tan asin acos "
        "atan sinh cosh asinh acosh atanh arcsin arccos arctan arcsinh arccosh arctanh atan2 "
        "arctan2 log10 exp2 frac sgn hypot logaddexp logit xlogy nan_to_num addcmul addcdiv "
        "fmax fmin isposinf isneginf isreal nansum nanmean count_nonzero aminmax diff median "
        "kthvalue msort unique unique_consecutive bincount histc argwhere isin moveaxis "
        "repeat_interleave tile masked_select take index_add index_fill is_floating_point "
        "square_ floor_ ceil_").split():
    if hasattr(Tensor, _name):
        globals()[_name] = getattr(Tensor, _name)


def einsum(equation, *operands):
    """einsum("ij,jk->ik", a, b), with the operands also accepted as one list."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = operands[0]
    return _L.Einsum.apply(*operands, equation=equation)


def softmax(input, dim, dtype=None):  # noqa: F811  (PyTorch's keyword, not the class)
    return input.softmax(dim, dtype)


def log_softmax(input, dim, dtype=None):  # noqa: F811  (PyTorch's keyword)
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
    import numpy
    return Size(numpy.broadcast_shapes(*shapes))


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
    product = mm(mat1, mat2)  # noqa: F821  (defined by the loop over Tensor's methods)
    return (input if beta == 1 else beta * input) + (product if alpha == 1 else alpha * product)


def searchsorted(sorted_sequence, input, *, right=False, side=None):
    """Where each value of `input` would go in the sorted 1-D `sorted_sequence`."""
    import numpy
    if sorted_sequence.ndim != 1:
        raise NotImplementedError("searchsorted: minigrad supports only a 1-D sorted_sequence")
    side = side or ("right" if right else "left")
    values = input.data if isinstance(input, Tensor) else input
    found = numpy.searchsorted(sorted_sequence.data, values, side=side)
    return tensor(found) if isinstance(input, Tensor) else tensor(int(found))


def bucketize(input, boundaries, *, right=False):
    return searchsorted(boundaries, input, right=right)
