"""Making tensors: from data, filled with a constant, or random (seeded by manual_seed)."""
import numpy as np

from . import backend
from . import dtypes as _dt
from .tensor import Tensor, as_array

class Generator:
    """A source of random numbers, as `torch.Generator`: give one to `rand`, `randn`,
    `randint`, `randperm`, `random_split` or a `DataLoader` to draw from it instead of
    the global one. Its numbers are NumPy's, so they differ from PyTorch's even for the
    same seed."""

    def __init__(self, device="cpu"):
        self.rng = np.random.default_rng()
        self._seed = None

    def manual_seed(self, seed):
        self.rng = np.random.default_rng(seed)
        self._seed = int(seed)
        return self

    def initial_seed(self):
        return self._seed

    def __repr__(self):
        return f"<minigrad.Generator, seed {self._seed}>"


_default = Generator()


def manual_seed(seed):
    """Seed minigrad's random numbers (rand, randn, dropout, layer initialisation)."""
    return _default.manual_seed(seed)


def generator(chosen=None):
    """The NumPy generator to draw from: that of `chosen` (a Generator), or the global one."""
    return (chosen or _default).rng


_numbers = generator      # for functions whose `generator` argument hides the name


def randperm(n, generator=None, dtype=None, requires_grad=False, device=None):
    """A random permutation of 0 .. n-1."""
    return _finish(_numbers(generator).permutation(n).astype(
        np.int64 if dtype is None else _dt.to_numpy_dtype(dtype)), requires_grad, device)


def _finish(data, requires_grad, device):
    if device is not None:
        data = backend.move(data, device)
    return Tensor(data, requires_grad=requires_grad)


def _size(size):
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        return tuple(size[0])
    return tuple(size)


def _float_dtype(dtype):
    return _dt.default_float.np if dtype is None else _dt.to_numpy_dtype(dtype)


def tensor(data, dtype=None, requires_grad=False, device=None):
    """A new tensor holding a copy of `data` (numbers, nested lists, arrays, tensors).

    Python floats become float32 and ints int64; a NumPy array keeps its dtype.
    """
    array = as_array(data, dtype)
    if not isinstance(data, (list, tuple, int, float, bool)):
        array = array.copy()   # arrays and tensors may share memory with what they came from
    return _finish(array, requires_grad, device)


def from_numpy(array):
    """A tensor sharing memory with a NumPy array (no copy)."""
    return Tensor(array)


def zeros(*size, dtype=None, requires_grad=False, device=None):
    return _finish(np.zeros(_size(size), _float_dtype(dtype)), requires_grad, device)


def ones(*size, dtype=None, requires_grad=False, device=None):
    return _finish(np.ones(_size(size), _float_dtype(dtype)), requires_grad, device)


def full(size, fill_value, dtype=None, requires_grad=False, device=None):
    if dtype is None:
        dtype = as_array(fill_value).dtype
    return _finish(np.full(_size((size,)), fill_value, _dt.to_numpy_dtype(dtype)),
                   requires_grad, device)


def zeros_like(t, dtype=None, requires_grad=False, device=None):
    return zeros(t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad,
                 device=device or t.device)


def ones_like(t, dtype=None, requires_grad=False, device=None):
    return ones(t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad,
                device=device or t.device)


def arange(start, end=None, step=1, dtype=None, requires_grad=False, device=None):
    if end is None:
        start, end = 0, start
    if dtype is None:
        is_int = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
        dtype = np.int64 if is_int else _dt.default_float.np
    return _finish(np.arange(start, end, step, dtype=_dt.to_numpy_dtype(dtype)),
                   requires_grad, device)


def rand(*size, generator=None, dtype=None, requires_grad=False, device=None):
    """Uniform random numbers in [0, 1)."""
    data = _numbers(generator).random(_size(size), dtype=np.float64).astype(_float_dtype(dtype))
    return _finish(data, requires_grad, device)


def randn(*size, generator=None, dtype=None, requires_grad=False, device=None):
    """Standard normal random numbers."""
    data = _numbers(generator).standard_normal(_size(size)).astype(_float_dtype(dtype))
    return _finish(data, requires_grad, device)


def randint(low, high=None, size=(), generator=None, dtype=None, device=None):
    if high is None:
        low, high = 0, low
    return _finish(_numbers(generator).integers(low, high, size=_size((size,)), dtype=np.int64),
                   False, device)
