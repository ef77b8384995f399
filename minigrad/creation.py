"""Making tensors: from data, filled with a constant, or random (seeded by manual_seed)."""
import numpy as np

from . import backend, dtypes as _dt
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


def empty(*size, dtype=None, requires_grad=False, device=None):
    """A tensor whose values are whatever its memory held (here: zeros, to be repeatable)."""
    return zeros(*size, dtype=dtype, requires_grad=requires_grad, device=device)


def eye(n, m=None, dtype=None, requires_grad=False, device=None):
    return _finish(np.eye(n, n if m is None else m, dtype=_float_dtype(dtype)),
                   requires_grad, device)


def linspace(start, end, steps, dtype=None, requires_grad=False, device=None):
    """`steps` numbers from `start` to `end`, both included, evenly spaced."""
    if steps < 0:
        raise RuntimeError(f"linspace: number of steps must be non-negative, got {steps}")
    return _finish(np.linspace(start, end, steps, dtype=np.float64).astype(_float_dtype(dtype)),
                   requires_grad, device)


def normal(mean=0.0, std=1.0, size=None, generator=None, dtype=None, requires_grad=False,
           device=None):
    """Normal random numbers: `normal(mean, std, size)` with numbers, or `normal(means,
    stds)` with tensors (one draw per element, shapes broadcast)."""
    mean_t, std_t = isinstance(mean, Tensor), isinstance(std, Tensor)
    if not (mean_t or std_t):
        if size is None:
            raise TypeError("normal(mean, std) with numbers needs size=(...)")
        shape = _size((size,))
        data = mean + std * _numbers(generator).standard_normal(shape)
        return _finish(data.astype(_float_dtype(dtype)), requires_grad, device)
    m = mean.data if mean_t else mean
    s = std.data if std_t else std
    if np.any(np.asarray(s) < 0):
        raise RuntimeError("normal expects all elements of std >= 0.0")
    shape = np.broadcast_shapes(np.shape(m), np.shape(s))
    dtype = (mean if mean_t else std).data.dtype
    data = m + s * _numbers(generator).standard_normal(shape)
    return _finish(np.asarray(data, dtype), requires_grad, device)


def as_tensor(data, dtype=None, device=None):
    """A tensor sharing memory with `data` where it can (a NumPy array, or a tensor of the
    right dtype and device, which is returned as it is); otherwise a copy."""
    if isinstance(data, Tensor):
        return data.to(device, dtype=dtype) if (device or dtype) else data
    if isinstance(data, np.ndarray) and (dtype is None or _dt.to_numpy_dtype(dtype) == data.dtype) \
            and data.dtype == _dt.supported_numpy_dtype(data.dtype):
        return _finish(data, False, device)
    return tensor(data, dtype=dtype, device=device)


def full_like(t, fill_value, dtype=None, requires_grad=False, device=None):
    return full(t.shape, fill_value, dtype=dtype or t.dtype, requires_grad=requires_grad,
                device=device or t.device)


def empty_like(t, dtype=None, requires_grad=False, device=None):
    return zeros_like(t, dtype=dtype, requires_grad=requires_grad, device=device)


def rand_like(t, dtype=None, requires_grad=False, device=None):
    return rand(*t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad,
                device=device or t.device)


def randn_like(t, dtype=None, requires_grad=False, device=None):
    return randn(*t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad,
                 device=device or t.device)


def randint_like(t, low, high=None, dtype=None, device=None):
    return randint(low, high, t.shape, dtype=dtype or t.dtype, device=device or t.device)


def zeros_like(t, dtype=None, requires_grad=False, device=None):
    return zeros(t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad,
                 device=device or t.device)


def ones_like(t, dtype=None, requires_grad=False, device=None):
    return ones(t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad,
                device=device or t.device)


def arange(start, end=None, step=1, dtype=None, requires_grad=False, device=None):
    """start, start + step, ... up to `end` (not included); int64 if all three are
    integers, else the default float dtype."""
    if end is None:
        start, end = 0, start
    # a 0-d tensor bound counts as the number it holds (an int64 one as an int)
    start, end, step = (v.item() if hasattr(v, "item") and hasattr(v, "dtype") else v
                        for v in (start, end, step))
    if step == 0:
        raise RuntimeError("arange: step must be nonzero")
    if (end - start) * step < 0:
        raise RuntimeError(f"arange: upper bound and larger bound inconsistent with step sign "
                           f"(start={start}, end={end}, step={step})")
    if dtype is None:
        is_int = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
        dtype = np.int64 if is_int else _dt.default_float.np
    # PyTorch counts ceil((end - start) / step) elements, computed in double precision
    count = int(np.ceil((end - start) / step))
    values = np.arange(count, dtype=np.float64) * step + start
    return _finish(values.astype(_dt.to_numpy_dtype(dtype)), requires_grad, device)


def rand(*size, generator=None, dtype=None, requires_grad=False, device=None):
    """Uniform random numbers in [0, 1)."""
    data = _numbers(generator).random(_size(size), dtype=np.float64).astype(_float_dtype(dtype))
    return _finish(data, requires_grad, device)


def randn(*size, generator=None, dtype=None, requires_grad=False, device=None):
    """Standard normal random numbers."""
    data = _numbers(generator).standard_normal(_size(size)).astype(_float_dtype(dtype))
    return _finish(data, requires_grad, device)


def randint(low, high=None, size=(), generator=None, dtype=None, device=None):
    if isinstance(high, (tuple, list)):      # randint(high, size), as PyTorch allows
        low, high, size = 0, low, high
    if high is None:
        low, high = 0, low
    numbers = _numbers(generator).integers(low, high, size=_size((size,)), dtype=np.int64)
    return _finish(numbers.astype(np.int64 if dtype is None else _dt.to_numpy_dtype(dtype)),
                   False, device)
