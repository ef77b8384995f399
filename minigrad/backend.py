"""Devices: where a tensor's data lives and which array library computes on it.

"cpu" runs on NumPy. "cuda" runs on CuPy when it is installed and a GPU is present.
The rest of the engine asks `array_module(data)` for the library and never imports
CuPy itself, so a machine without CuPy never pays for it.
"""
import numpy as np


class device:
    """A device name, compared like PyTorch's `torch.device` (also equal to its string)."""
    __slots__ = ("type",)

    def __init__(self, type):
        if isinstance(type, device):
            type = type.type
        name = str(type).split(":")[0]
        if name not in ("cpu", "cuda"):
            raise RuntimeError(f"unknown device {type!r}: minigrad supports 'cpu' and 'cuda'")
        self.type = name

    def __eq__(self, other):
        if isinstance(other, str):
            other = device(other)
        return isinstance(other, device) and other.type == self.type

    def __hash__(self):
        return hash(self.type)

    def __repr__(self):
        return f"device(type='{self.type}')"

    def __str__(self):
        return self.type


CPU = device("cpu")
_cupy = None


def cupy_or_none():
    """CuPy if it is installed and sees a GPU, else None (imported on first use only)."""
    global _cupy
    if _cupy is None:
        try:
            import cupy
            _cupy = cupy if cupy.cuda.runtime.getDeviceCount() > 0 else False
        except Exception:
            _cupy = False
    return _cupy or None


def array_module(data):
    """NumPy for CPU arrays, CuPy for GPU arrays."""
    if type(data) is np.ndarray:
        return np
    cp = cupy_or_none()
    if cp is not None and isinstance(data, cp.ndarray):
        return cp
    return np


def device_of(data):
    return CPU if type(data) is np.ndarray else device("cuda")


def move(data, target):
    """Copy `data` to device `target` (a no-op when it is already there)."""
    target = device(target)
    if target.type == "cpu":
        if type(data) is np.ndarray:
            return data
        return data.get()
    cp = cupy_or_none()
    if cp is None:
        raise RuntimeError(
            "device 'cuda' is not available: it needs CuPy and an NVIDIA GPU "
            "(pip install 'frameworks-lab[gpu]'). Check minigrad.cuda.is_available() "
            "first, or keep the tensor on device='cpu'.")
    return cp.asarray(data)
