"""`minigrad.accelerator`, as `torch.accelerator`: which accelerator this machine has.

minigrad knows one kind, an NVIDIA GPU through CuPy ("cuda"); these answer for it.
"""
from . import cuda
from .backend import device


def is_available():
    """True when a GPU minigrad can use is present (see minigrad.cuda.is_available)."""
    return cuda.is_available()


def current_accelerator(check_available=False):
    """`device(type='cuda')` when minigrad has a GPU, else None (PyTorch's CPU answer)."""
    return device("cuda") if cuda.is_available() else None


def device_count():
    return cuda.device_count()
