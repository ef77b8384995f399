"""The dtypes minigrad knows, named as PyTorch names them.

A dtype is a thin label over a NumPy dtype. Type promotion follows PyTorch, which
differs from NumPy in one place that matters: an integer tensor combined with a float
tensor or a Python float gives float32, not float64.
"""
import numpy as np


class dtype:
    __slots__ = ("name", "np", "is_floating_point")

    def __init__(self, name, np_dtype, is_floating_point):
        self.name = name
        self.np = np.dtype(np_dtype)
        self.is_floating_point = is_floating_point

    def __repr__(self):
        return f"minigrad.{self.name}"

    def __reduce__(self):
        return (from_numpy_dtype, (self.np,))


float32 = dtype("float32", np.float32, True)
float64 = dtype("float64", np.float64, True)
int32 = dtype("int32", np.int32, False)
int64 = dtype("int64", np.int64, False)
bool_ = dtype("bool", np.bool_, False)

_BY_NUMPY = {d.np: d for d in (float32, float64, int32, int64, bool_)}
# Other NumPy types are mapped onto the nearest supported one when data comes in.
_IMPORTED = {
    np.dtype(np.float16): float32,
    np.dtype(np.int8): int64, np.dtype(np.int16): int64,
    np.dtype(np.uint8): int64, np.dtype(np.uint16): int64, np.dtype(np.uint32): int64,
}

default_float = float32


def set_default_dtype(d):
    """The dtype of floating-point tensors made from Python floats (float32 or float64)."""
    global default_float
    if d not in (float32, float64):
        raise TypeError(f"only floating-point dtypes (float32, float64) can be the default, "
                        f"not {d}")
    default_float = d


def get_default_dtype():
    return default_float


def from_numpy_dtype(np_dtype):
    """The minigrad dtype of a NumPy dtype (exact match only)."""
    try:
        return _BY_NUMPY[np.dtype(np_dtype)]
    except KeyError:
        raise TypeError(f"minigrad has no dtype for NumPy's {np.dtype(np_dtype)}") from None


def supported_numpy_dtype(np_dtype):
    """The NumPy dtype minigrad stores for incoming data of type `np_dtype`."""
    np_dtype = np.dtype(np_dtype)
    if np_dtype in _BY_NUMPY:
        return np_dtype
    if np_dtype in _IMPORTED:
        return _IMPORTED[np_dtype].np
    raise TypeError(f"minigrad cannot hold data of NumPy dtype {np_dtype}; "
                    "use float32, float64, int32, int64 or bool")


def to_numpy_dtype(d):
    """The NumPy dtype for a minigrad dtype, a NumPy dtype or a name such as 'float32'."""
    if isinstance(d, dtype):
        return d.np
    return supported_numpy_dtype(d)
