"""minigrad: a small autograd engine with PyTorch's API, written to be read.

    import minigrad as torch   # code that uses only supported operations runs unchanged

Layers, from the bottom up: `dtypes` and `backend` (where data lives), `autograd`
(Function, backward), `ops/` (one Function per operation), `tensor` (the Tensor class),
then `nn` and `optim`. `minigrad.graph(t)` exports the graph behind `t` as plain data;
`minigrad.compile(fn)` turns an eager function into a replayed static graph.
"""
import functools

from . import autograd  # first: tensor.py and the ops build on it
from . import cuda, nn, optim
from .autograd import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .backend import device
from .creation import (Generator, arange, from_numpy, full, manual_seed, ones, ones_like,
                       rand, randint, randn, randperm, tensor, zeros, zeros_like)
from .dtypes import bool_ as bool  # noqa: A001  (PyTorch names it torch.bool)
from .dtypes import dtype, float32, float64, int64
from .errors import ShapeError
from .export import graph
from .compile import compile, CompileError, TracerWarning  # noqa: A004  (minigrad.compile, as torch.compile)
from .ops import elementwise as _E, nn as _N, shape as _S
from .tensor import Tensor, _promote, _result_dtype

float = float32     # noqa: A001  torch.float is float32
double = float64
long = int64

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


def where(condition, input, other):
    """Elements of `input` where `condition` holds, else of `other` (broadcasting)."""
    if not isinstance(condition, Tensor):
        condition = tensor(condition)
    if isinstance(input, Tensor) or isinstance(other, Tensor):
        input, other = _promote(input, other)
    else:  # two Python numbers: float32 if either is a float, as in PyTorch
        input, other = _same_dtype([input, other])
    return _E.Where.apply(condition, input, other)


def maximum(input, other):
    return _E.Maximum.apply(*_promote(input, other))


def matmul(input, other):
    return input @ other


def exp(x):
    return x.exp()


def log(x):
    return x.log()


def sqrt(x):
    return x.sqrt()


def abs(x):  # noqa: A001
    return x.abs()


def tanh(x):
    return x.tanh()


def sigmoid(x):
    return x.sigmoid()


def relu(x):
    return x.relu()


def clamp(x, min=None, max=None):  # noqa: A002
    return x.clamp(min, max)


def sum(x, dim=None, keepdim=False):  # noqa: A001
    return x.sum(dim, keepdim)


def mean(x, dim=None, keepdim=False):
    return x.mean(dim, keepdim)


def amax(x, dim=(), keepdim=False):
    return x.amax(dim, keepdim)


def argmax(x, dim=None, keepdim=False):
    return x.argmax(dim, keepdim)


def reshape(x, shape):
    return x.reshape(shape)


def flatten(x, start_dim=0, end_dim=-1):
    return x.flatten(start_dim, end_dim)


def transpose(x, dim0, dim1):
    return x.transpose(dim0, dim1)


def permute(x, dims):
    return x.permute(dims)


def unsqueeze(x, dim):
    return x.unsqueeze(dim)


def squeeze(x, dim=None):
    return x.squeeze(dim)


def softmax(x, dim):
    return _N.Softmax.apply(x, dim=dim)


def log_softmax(x, dim):
    return _N.LogSoftmax.apply(x, dim=dim)


def is_tensor(obj):
    return isinstance(obj, Tensor)

