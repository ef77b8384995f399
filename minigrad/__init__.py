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
from . import accelerator, cuda, nn, optim, utils
from .autograd import (enable_grad, inference_mode, is_grad_enabled, is_inference_mode_enabled,
                       no_grad, set_grad_enabled)
from .backend import device, get_default_device, set_default_device
from .creation import (Generator, arange, as_tensor, empty, empty_like, eye, from_numpy, full,
                       full_like, linspace, manual_seed, normal, ones, ones_like, rand,
                       rand_like, randint, randint_like, randn, randn_like, randperm, tensor,
                       zeros, zeros_like)
from .dtypes import bool_ as bool  # noqa: A001  (PyTorch names it torch.bool)
from .dtypes import dtype, float32, float64, get_default_dtype, int32, int64, set_default_dtype
from .errors import ShapeError
from .export import graph
from .serialization import load, save
from .compile import compile, CompileError, TracerWarning  # noqa: A004  (minigrad.compile, as torch.compile)
from .ops import elementwise as _E, linalg as _L, nn as _N, shape as _S
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
        "numel clone detach isclose allclose diag trace var_mean std_mean").split():
    if hasattr(Tensor, _name):
        globals()[_name] = getattr(Tensor, _name)


def einsum(equation, *operands):
    """einsum("ij,jk->ik", a, b), with the operands also accepted as one list."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = operands[0]
    return _L.Einsum.apply(*operands, equation=equation)


def softmax(x, dim):
    return _N.Softmax.apply(x, dim=dim)


def log_softmax(x, dim):
    return _N.LogSoftmax.apply(x, dim=dim)


def is_tensor(obj):
    return isinstance(obj, Tensor)

