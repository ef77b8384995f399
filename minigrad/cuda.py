"""`minigrad.cuda.is_available()`, as in `torch.cuda`."""
from .backend import cupy_or_none


def is_available():
    """True when CuPy is installed and sees at least one GPU."""
    return cupy_or_none() is not None


def device_count():
    cp = cupy_or_none()
    return 0 if cp is None else cp.cuda.runtime.getDeviceCount()
