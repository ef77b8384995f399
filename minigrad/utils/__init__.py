"""`minigrad.utils`: helpers around the engine, named as in `torch.utils`.

`minigrad.utils.data` feeds a training loop: datasets, samplers and the DataLoader that
batches samples into tensors.
"""
from . import data

__all__ = ["data"]
