"""Framework-neutral lesson toolkit for Frameworks Lab.

Submodules are imported on demand, never here, so ``import lessons`` stays cheap and
does not pull in PyTorch or TensorFlow:

- ``lessons.data``: the digits data set and small generated 2-D data sets (NumPy only).
- ``lessons.bench``: the benchmark harness (``python -m lessons.bench mlp``).
- ``lessons.frameworks``: the three frameworks' keys, labels and colours, and their
  imports with a set number of threads; every other module names them through it.
- ``lessons.compare``: the ``%%compare`` cell magic.
- ``lessons.models``: the same MLP and small CNN in PyTorch, Keras and minigrad, with
  weights moved between them in PyTorch's names and layouts.
- ``lessons.debugging``: a central-difference gradient check.
- ``lessons.serving``: a model server in the standard library (JSON over HTTP on
  127.0.0.1), for any function from an array to an array.
- ``lessons.tensorboard_logs``: TensorBoard event files read back without a server.
- ``lessons.training``: the same training loop for PyTorch and minigrad, and Keras's
  ``fit`` and custom ``train_step`` set up to take exactly the same steps.
- ``lessons.assignments``: the checks the classroom assignments' tests call (against
  PyTorch, against central differences, with a time limit per test).

In a notebook, ``%load_ext lessons`` (before importing TensorFlow) registers
``%%compare`` and silences TensorFlow's start-up logging.
"""


def quiet_tensorflow():
    """Silence TensorFlow's C++ start-up log and keep oneDNN's reordered float32 sums
    off, so results are reproducible. Only takes effect before TensorFlow is imported."""
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")


def load_ipython_extension(ipython):
    """`%load_ext lessons`: quiet TensorFlow and register the %%compare cell magic."""
    from .compare import register

    quiet_tensorflow()
    register(ipython)
