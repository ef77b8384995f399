"""minigrad: a small autograd engine with PyTorch's API, written to be read.

    import minigrad as torch   # code that uses only supported operations runs unchanged

Layers, from the bottom up: `dtypes` and `backend` (where data lives), `autograd` (Op,
backward; `function` adds PyTorch's tensor-level Function, grad and gradcheck), `ops/`
(one Op per operation), `tensor` (the Tensor class), then `nn` and `optim`.
`minigrad.graph(t)` exports the graph behind `t` as plain data; `minigrad.compile(fn)`
turns an eager function into a replayed static graph.
"""
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
from .functional import *  # noqa: F403  (torch's functions: functional.__all__)
from .serialization import load, save
from .tensor import Size, Tensor, cat, lerp, maximum, minimum, stack, where

float = float32     # noqa: A001  torch.float is float32
double = float64
long = int64
int = int32         # noqa: A001  torch.int is int32

__version__ = "0.1.0"

