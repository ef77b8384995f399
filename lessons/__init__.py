"""Framework-neutral lesson toolkit for Frameworks Lab.

Submodules are imported on demand, never here, so ``import lessons`` stays cheap and
does not pull in PyTorch or TensorFlow:

- ``lessons.data``: the digits data set and small generated 2-D data sets (NumPy only).
- ``lessons.bench``: the benchmark harness (``python -m lessons.bench mlp``).
"""
