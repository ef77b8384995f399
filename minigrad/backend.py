"""Devices: where a tensor's data lives and which array library computes on it.

"cpu" runs on NumPy. "cuda" runs on CuPy when it is installed and a GPU is present.
The rest of the engine asks `array_module(data)` for the library and never imports
CuPy itself, so a machine without CuPy never pays for it.
"""
import numpy as np


class device:
    """Where a tensor's memory is, as PyTorch's `torch.device`: `device("cpu")`,
    `device("cuda")`, `device("cuda:0")` or `device("cuda", 0)`. Like PyTorch's, it equals
    other devices only (`t.device == "cpu"` is False; compare `t.device.type == "cpu"`)."""
    __slots__ = ("type", "index")

    def __init__(self, type, index=None):
        if isinstance(type, device):
            type, index = type.type, type.index
        name, _, number = str(type).partition(":")
        if name not in ("cpu", "cuda"):
            raise RuntimeError(f"unknown device {type!r}: minigrad supports 'cpu' and 'cuda'")
        if number:
            if index is not None:
                raise RuntimeError(f"type (string) must not include an index because index "
                                   f"was passed explicitly: {type}")
            index = int(number)
        if index is not None and (not isinstance(index, int) or index < 0):
            raise RuntimeError(f"Device index must not be negative or a non-integer: {index!r}")
        self.type, self.index = name, index

    def __eq__(self, other):
        return isinstance(other, device) and (other.type, other.index) == (self.type, self.index)

    def __hash__(self):
        return hash((self.type, self.index))

    def __repr__(self):
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"


CPU = device("cpu")


def set_default_device(device_):
    """Only "cpu" (or None): minigrad makes new tensors on the CPU unless told `device=`."""
    if device_ is not None and device(device_).type != "cpu":
        raise NotImplementedError(
            f"set_default_device({str(device_)!r}): minigrad always makes new tensors on the "
            "CPU unless a function is given device=...; pass device='cuda' where you create "
            "tensors, or move them (and models) with .to('cuda')")


def get_default_device():
    return CPU
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
    """A CuPy array's device has its GPU's number, as PyTorch's `cuda:0`."""
    return CPU if type(data) is np.ndarray else device("cuda", data.device.id)


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
