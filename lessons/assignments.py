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
           "compare_with_torch", "gradcheck", "run_kernel", "check_in_subprocess",
           "cell_hash", "definitions_only"]


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
    if (
        not hasattr(signal, "setitimer")
        or threading.current_thread() is not threading.main_thread()
    ):
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
        shape = np.shape(
            op(*[minigrad.tensor(x) if v else x for x, v in zip(arrays, variable)]).numpy()
        )
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


# ------------------------------------------------------------------ grading in a fresh process
#
# A test cell runs in the student's kernel, after the student's code: whatever that code
# rebinds (`compare_with_torch = lambda *a, **k: None`) or patches (`torch.allclose`,
# this module's functions) would decide the verdict of an ordinary test. So a test cell
# sends its checks, as the text it holds, to a new Python process together with the given
# cells (recognised by their hashes) and the student's definitions, and fails exactly
# when the checks fail there.

GRADING_MODULES = ("builtins", "math", "numpy", "torch", "minigrad", "lessons", "tensorflow",
                   "keras")


def cell_hash(source):
    """A short hash of a cell's text (surrounding blank space ignored), by which a test cell
    names the given cells its checks need."""
    import hashlib

    return hashlib.sha256(source.strip().encode()).hexdigest()[:16]


def definitions_only(source):
    """The top-level imports, ``def``s, ``class``es and assignments to plain names of
    ``source``: a student's definitions without the statements around them."""
    import ast

    keep = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)

    def plain(target):
        return isinstance(target, ast.Name) or (
            isinstance(target, (ast.Tuple, ast.List)) and all(plain(t) for t in target.elts))

    tree = ast.parse(source)
    tree.body = [node for node in tree.body if isinstance(node, keep)
                 or (isinstance(node, ast.Assign) and all(plain(t) for t in node.targets))
                 or (isinstance(node, ast.AnnAssign) and plain(node.target))]
    return ast.unparse(tree)


def _defined_names(source):
    import ast

    try:
        tree = ast.parse(definitions_only(source))
    except SyntaxError:
        return set()
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
    return names


def _check_stdlib(*functions):
    """Fail if a standard-library function this module relies on was replaced by code
    written elsewhere (in a notebook cell)."""
    import sysconfig

    stdlib = sysconfig.get_paths()["stdlib"]
    for fn in functions:
        code = getattr(fn, "__code__", None)
        if code is not None and not code.co_filename.startswith(stdlib):
            raise AssertionError(f"grading cannot run: {fn.__qualname__} was replaced")


def check_in_subprocess(what, tests, *, limit, given=(), answers=(), values=()):
    """Run the checks ``tests`` (Python source) in a new Python process, and fail as they
    fail there (same exception name, same message).

    That process runs, in order: the notebook's given cells whose ``cell_hash`` is in
    ``given`` (their text is taken from the kernel's input history and must hash as
    named), the definitions (``definitions_only``) of the latest cells that define the
    names in ``answers``, then binds ``values`` (names whose values the kernel holds:
    numbers, strings). Then every name the given cells defined is bound again as they left
    it, and ``tests`` runs under ``time_limit(limit, what)``. Nothing the student's code did
    in the kernel reaches it; a change the student's definitions make to a function or class
    of NumPy, PyTorch, TensorFlow, Keras, minigrad or ``lessons`` fails the test.
    """
    import json
    import secrets
    import subprocess
    import sys
    import tempfile

    from IPython.core.getipython import get_ipython

    _check_stdlib(subprocess.run, subprocess.Popen.communicate, json.dumps, json.loads,
                  secrets.token_hex)
    shell = get_ipython()
    history = [] if shell is None else [
        text for text in shell.history_manager.input_hist_raw
        if text and "check_in_subprocess(" not in text]

    given_sources = []
    for wanted in given:
        found = [text for text in history if cell_hash(text) == wanted]
        if not found:
            raise AssertionError(f"{what}: run the notebook from the top (a given cell is "
                                 "missing or was changed)")
        given_sources.append(found[-1])

    answer_sources = []
    for name in answers:
        found = [text for text in history if name in _defined_names(text)]
        if not found:
            raise NameError(f"name '{name}' is not defined")
        if found[-1] not in answer_sources:
            answer_sources.append(found[-1])
    answer_sources.sort(key=history.index)

    known = {} if shell is None else shell.user_ns
    bound = {}
    for name in values:
        if name not in known:
            raise NameError(f"name '{name}' is not defined")
        value = known[name]
        if not isinstance(value, (bool, int, float, str, type(None))):
            raise AssertionError(f"{name} must be a number or a string, not {type(value).__name__}")
        bound[name] = value

    nonce = secrets.token_hex(16)
    job = dict(what=what, tests=tests, limit=limit, given=given_sources, given_hashes=list(given),
               answers=answer_sources, values=bound, nonce=nonce)
    command = [sys.executable, "-I", "-c", "from lessons.assignments import _grade; _grade()"]
    with tempfile.TemporaryDirectory() as folder:
        try:
            done = subprocess.run(command, input=json.dumps(job), capture_output=True, text=True,
                                  cwd=folder, timeout=limit + 60)
        except subprocess.TimeoutExpired:
            raise TimeLimitExceeded(f"{what} did not finish within {limit:g} s (the grading "
                                    "process was stopped)") from None
    result = None
    for line in reversed(done.stdout.splitlines()):
        try:
            result = json.loads(line)
            break
        except ValueError:
            continue
    if not isinstance(result, dict) or result.get("nonce") != nonce:
        raise AssertionError(f"{what}: the checks ended without a verdict (exit code "
                             f"{done.returncode}):\n{done.stderr[-2000:]}")
    if result.get("error"):
        raise _as_exception(result["error"], result["message"])


def _as_exception(name, message):
    import builtins

    if name == "TimeLimitExceeded":
        return TimeLimitExceeded(message)
    cls = getattr(builtins, name, None)
    if isinstance(cls, type) and issubclass(cls, Exception):
        return cls(message)
    return type(name, (AssertionError,), {})(message)


def _watched():
    """{(module or class name, attribute): object} for the functions and classes of the
    modules the checks rely on, and the methods of their classes."""
    import sys
    import types
    import warnings

    watched = {}
    with warnings.catch_warnings():  # reading some attributes warns of deprecation
        warnings.simplefilter("ignore")
        _watch_modules(watched, sys, types)
    return watched


def _watch_modules(watched, sys, types):
    for name, module in list(sys.modules.items()):
        if not isinstance(module, types.ModuleType) or name.split(".")[0] not in GRADING_MODULES:
            continue
        for attr, value in list(vars(module).items()):
            if isinstance(value, (types.FunctionType, types.BuiltinFunctionType, type)):
                watched[name, attr] = value
            if isinstance(value, type) and getattr(value, "__module__", None) == name:
                for key, member in list(vars(value).items()):
                    if isinstance(
                        member, (types.FunctionType, staticmethod, classmethod, property)
                    ):
                        watched[f"{name}.{value.__qualname__}", key] = member


def _check_unchanged(before, when):
    after = _watched()
    changed = [f"{owner}.{attr}" for (owner, attr), value in before.items()
               if after.get((owner, attr), value) is not value]
    if changed:
        raise AssertionError(f"{when} replaced {', '.join(sorted(changed)[:5])}: graded code "
                             "must not change the libraries that check it")


def _grade():
    """The grading process (``python -I -c 'from lessons.assignments import _grade; _grade()'``):
    reads a job of ``check_in_subprocess`` from stdin, writes its verdict as the last line
    of stdout. Everything else the cells print goes to stderr."""
    import builtins
    import json
    import os
    import sys

    job = json.loads(sys.stdin.read())
    nonce = job.pop("nonce")
    verdict = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # print() of the cells goes to stderr, not into the verdict
    sys.stdout = sys.stderr
    error = message = None
    try:
        for text, wanted in zip(job["given"], job["given_hashes"]):
            if cell_hash(text) != wanted:
                raise AssertionError("a given cell was changed")
        namespace = {"__name__": "__main__", "__builtins__": builtins}
        cells = iter(range(1_000_000))

        def run(text, kind):
            # from a file, so that tracebacks and tf.function's AutoGraph find the source
            path = os.path.abspath(f"{kind}_{next(cells)}.py")
            with open(path, "w") as file:
                file.write(text)
            exec(compile(text, path, "exec"), namespace)

        for text in job["given"]:
            run(text, "given_cell")
        trusted = dict(namespace)
        before = _watched()
        for text in job["answers"]:
            run(definitions_only(text), "your_answer")
        namespace.update(job["values"])
        _check_unchanged(before, "your code")
        namespace.update(trusted)
        with time_limit(job["limit"], job["what"]):
            run(job["tests"], "test_cell")
        _check_unchanged(before, "your code, while it was tested,")
    except BaseException as exc:  # noqa: BLE001  (the verdict reports every failure)
        error, message = type(exc).__name__, str(exc)
    verdict.write("\n" + json.dumps({"nonce": nonce, "error": error, "message": message}) + "\n")
    verdict.flush()
    os._exit(0)
