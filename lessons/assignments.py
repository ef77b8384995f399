"""Checks that the test cells of the classroom assignments call (notebooks/assignments).

    from lessons.assignments import time_limit, assert_close, compare_with_torch, gradcheck

    with time_limit(10):                       # a loop that never ends fails this test only
        compare_with_torch(Softplus.apply, torch.nn.functional.softplus, x)
        gradcheck(Softplus.apply, x)

Every check raises an ``AssertionError`` whose message says what differs and by how much,
because nbgrader gives a test cell its points exactly when it runs without an error, and
shows the student the message when it does not. Student code is graded by comparing it
with a reference (PyTorch, TensorFlow, NumPy, central differences), never with numbers
written into the notebook.

``time_limit`` exists because nbgrader's own limit (``ExecutePreprocessor.timeout``, per
cell) must leave room for importing TensorFlow in the first cell, and its message
("No reply from kernel before timeout") names neither the test nor the cause. Inside a
test, the limit can be tight and the failure can say what ran too long.

``run_kernel`` runs the CUDA body of a minigrad ``ElementwiseKernel`` for real: on the GPU
when there is one, otherwise compiled as C for the CPU (``ElementwiseKernel.emulate``),
so a kernel is graded on any machine with a C compiler.

PyTorch, minigrad and CuPy are imported only by the checks that need them.
"""

from __future__ import annotations

import contextlib
import signal
import threading

import numpy as np

from .debugging import numerical_gradient, relative_error

__all__ = ["TimeLimitExceeded", "time_limit", "to_numpy", "assert_close",
           "compare_with_torch", "gradcheck", "run_kernel"]


class TimeLimitExceeded(AssertionError):
    """A test ran longer than its time limit (an AssertionError, so the test fails)."""


@contextlib.contextmanager
def time_limit(seconds, what="this test"):
    """Fail with ``TimeLimitExceeded`` if the block runs longer than ``seconds``.

    Uses a real-time interval timer (``SIGALRM``), which interrupts Python code, such as
    a ``while`` loop that never ends, between two bytecodes; a single long call into
    compiled code (one huge NumPy operation) is interrupted only when it returns.
    Jupyter kernels run cells in the main thread, where signals are delivered. Where
    ``SIGALRM`` does not exist (Windows) or off the main thread, the block runs without
    a limit and nbgrader's per-cell timeout remains the only one.
    """
    if not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum, frame):
        raise TimeLimitExceeded(
            f"{what} did not finish within {seconds:g} s. Look for a loop that never ends "
            "(a `while` whose condition stays true) or for work far larger than needed.")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def to_numpy(x):
    """A NumPy array from a NumPy array, a Python number or a PyTorch, TensorFlow or
    minigrad tensor (detached, on the CPU)."""
    if hasattr(x, "detach"):          # PyTorch, minigrad
        x = x.detach()
        if hasattr(x, "cpu"):
            x = x.cpu()
        return np.asarray(x.numpy())
    if hasattr(x, "numpy"):           # TensorFlow eager tensors and variables
        return np.asarray(x.numpy())
    if hasattr(x, "get"):             # CuPy
        return x.get()
    return np.asarray(x)


def assert_close(actual, expected, what, *, rtol=1e-5, atol=1e-6, dtype=None):
    """Fail unless ``actual`` and ``expected`` have the same shape and are equal within
    ``atol + rtol * |expected|`` element by element, NaN counting as equal to NaN only.
    With ``dtype``, ``actual`` must also have that dtype. The message names ``what``,
    the worst element and how far off it is."""
    a, e = to_numpy(actual), to_numpy(expected)
    if dtype is not None and a.dtype != np.dtype(dtype):
        raise AssertionError(f"{what}: dtype {a.dtype}, expected {np.dtype(dtype)}")
    if a.shape != e.shape:
        raise AssertionError(f"{what}: shape {a.shape}, expected {e.shape}")
    a, e = a.astype(np.float64), e.astype(np.float64)
    bad_nan = np.isnan(a) != np.isnan(e)
    if bad_nan.any():
        i = np.unravel_index(np.argmax(bad_nan), a.shape)
        raise AssertionError(f"{what}: element {tuple(int(k) for k in i)} is {a[i]}, "
                             f"expected {e[i]} ({int(bad_nan.sum())} of {a.size} elements "
                             "differ in being NaN)")
    with np.errstate(invalid="ignore"):
        err = np.where(np.isnan(e), 0.0, np.abs(a - e))
        err = np.where(np.isinf(e) & (a == e), 0.0, err)  # equal infinities are equal
    excess = err - (atol + rtol * np.abs(np.nan_to_num(e)))
    if a.size and (excess > 0).any():
        i = np.unravel_index(np.argmax(excess), a.shape)
        raise AssertionError(
            f"{what}: {int((excess > 0).sum())} of {a.size} elements differ; the worst is "
            f"element {tuple(int(k) for k in i)}: {a[i]:.8g}, expected {e[i]:.8g} "
            f"(off by {err[i]:.3g}; allowed {atol:g} + {rtol:g} * |expected|)")


def _upstream(shape, dtype, seed):
    """A random upstream gradient: with all ones (`.sum().backward()`) a backward that
    mixes up elements or forgets to multiply by `grad` can still look right."""
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def compare_with_torch(op, torch_op, *inputs, what=None, rtol=1e-5, atol=1e-6, seed=0,
                       backward=True):
    """Run ``op`` on minigrad tensors and ``torch_op`` on PyTorch tensors made from the
    same NumPy ``inputs``, and compare the outputs (values, shape and dtype) and, with
    ``backward``, the gradients of every floating-point input for one random upstream
    gradient. Python numbers in ``inputs`` are passed through unchanged."""
    import torch

    import minigrad

    what = what or getattr(op, "__qualname__", "the operation")

    def leaves(lib):
        return [lib.tensor(x, requires_grad=backward and np.issubdtype(x.dtype, np.floating))
                if isinstance(x, np.ndarray) else x for x in inputs]

    mg_inputs, torch_inputs = leaves(minigrad), leaves(torch)
    out, expected = op(*mg_inputs), torch_op(*torch_inputs)
    expected_np = expected.detach().numpy()
    assert_close(out, expected_np, f"{what}, forward", rtol=rtol, atol=atol,
                 dtype=expected_np.dtype)
    if not backward:
        return
    if not getattr(out, "requires_grad", False):
        raise AssertionError(f"{what}: the output does not require grad although its inputs "
                             "do; build it with an Op's apply(), not from a plain array")
    g = _upstream(expected_np.shape, expected_np.dtype, seed)
    out.backward(minigrad.tensor(g))
    expected.backward(torch.tensor(g))
    for k, (x_mg, x_t) in enumerate(zip(mg_inputs, torch_inputs)):
        if isinstance(x_t, torch.Tensor) and x_t.requires_grad:
            if x_mg.grad is None:
                raise AssertionError(f"{what}: input {k} got no gradient (backward returned "
                                     "None for it)")
            assert_close(x_mg.grad, x_t.grad, f"{what}, gradient of input {k}", rtol=rtol,
                         atol=atol, dtype=x_t.grad.numpy().dtype)


def gradcheck(op, *inputs, what=None, tolerance=1e-6, seed=1):
    """Compare the gradients minigrad's backward gives for ``op`` with central
    differences, in float64 (see ``lessons.debugging``). The scalar differentiated is
    ``sum(op(*inputs) * g)`` for a fixed random ``g``, so every element of the output
    matters with its own weight. Inputs that are not float64 arrays stay constant."""
    import minigrad

    what = what or getattr(op, "__qualname__", "the operation")
    arrays = [np.array(x, dtype=np.float64) if isinstance(x, np.ndarray) else x for x in inputs]
    variable = [isinstance(x, np.ndarray) for x in arrays]
    with minigrad.no_grad():
        shape = np.shape(op(*[minigrad.tensor(x) if v else x for x, v in zip(arrays, variable)]).numpy())
    g = _upstream(shape, np.float64, seed)

    tensors = [minigrad.tensor(x, requires_grad=True) if v else x for x, v in zip(arrays, variable)]
    out = op(*tensors)
    if not getattr(out, "requires_grad", False):
        raise AssertionError(f"{what}: the output does not require grad although its inputs "
                             "do; build it with an Op's apply(), not from a plain array")
    out.backward(minigrad.tensor(g))
    for k, (x, v) in enumerate(zip(arrays, variable)):
        if not v:
            continue

        def f(value, k=k):
            args = [minigrad.tensor(value if j == k else a) if w else a
                    for j, (a, w) in enumerate(zip(arrays, variable))]
            with minigrad.no_grad():
                return float((op(*args).numpy() * g).sum())

        numeric = numerical_gradient(f, x.copy())
        analytic = tensors[k].grad
        if analytic is None:
            raise AssertionError(f"{what}: input {k} got no gradient (backward returned None)")
        error = relative_error(to_numpy(analytic), numeric)
        if not error < tolerance:
            raise AssertionError(f"{what}: the gradient of input {k} disagrees with central "
                                 f"differences (relative error {error:.2e}, allowed "
                                 f"{tolerance:.0e}); check the derivative in backward()")


def run_kernel(kernel, *arrays):
    """The outputs of ``kernel``'s CUDA body (not of its NumPy reference) for NumPy
    ``arrays``, as NumPy arrays. With a GPU (``minigrad.cuda.is_available()``) the
    inputs go to the GPU and CuPy compiles and launches the kernel; without one,
    ``kernel.emulate`` compiles the body as C with the system's C compiler. A body that
    does not compile raises with the compiler's message."""
    import minigrad
    from minigrad.backend import cupy_or_none

    if minigrad.cuda.is_available():
        cp = cupy_or_none()
        out = kernel(*[cp.asarray(a) if isinstance(a, np.ndarray) else a for a in arrays])
    else:
        out = kernel.emulate(*arrays)
    return tuple(to_numpy(o) for o in out) if isinstance(out, tuple) else to_numpy(out)
