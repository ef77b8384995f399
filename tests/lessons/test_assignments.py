"""lessons.assignments: the checks the assignments' test cells call must pass right code
and fail wrong code, with a message that says what is wrong."""

import tempfile
import time

import numpy as np
import pytest
import torch

import minigrad
from lessons.assignments import (
    TimeLimitExceeded,
    assert_close,
    compare_with_torch,
    gradcheck,
    run_kernel,
    time_limit,
    to_numpy,
)
from minigrad.autograd import Op
from minigrad.kernels import ElementwiseKernel, EmulationError


class Square(Op):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        return 2 * x * grad


class SquareForgetsGrad(Square):
    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        return 2 * x  # ignores the upstream gradient: right only when it is all ones


class SquareWrongDerivative(Square):
    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        return x * grad


def square(t):
    return t * t


x = np.random.default_rng(0).standard_normal((3, 4))


# ------------------------------------------------------------------ time_limit


def test_time_limit_stops_an_endless_loop_with_a_message_naming_the_test():
    started = time.perf_counter()
    with pytest.raises(TimeLimitExceeded, match=r"part B did not finish within 0.2 s"):
        with time_limit(0.2, "part B"):
            while True:
                pass
    assert time.perf_counter() - started < 5
    assert issubclass(TimeLimitExceeded, AssertionError)  # so nbgrader counts a failed test


def test_time_limit_lets_quick_code_finish_and_leaves_no_alarm_behind():
    with time_limit(0.3):
        total = sum(range(1000))
    assert total == 499500
    time.sleep(0.5)  # an alarm left running would raise here


def test_time_limit_passes_other_errors_through():
    with pytest.raises(ZeroDivisionError):
        with time_limit(5):
            1 / 0


# ------------------------------------------------------------------ assert_close, to_numpy


def test_assert_close_names_the_worst_element():
    expected = np.array([1.0, 2.0, 3.0])
    assert_close(expected + 1e-9, expected, "values")
    with pytest.raises(
        AssertionError, match=r"values: 1 of 3 elements differ; the worst is element \(1,\)"
    ):
        assert_close(np.array([1.0, 2.5, 3.0]), expected, "values")


def test_assert_close_checks_shape_dtype_and_nan():
    with pytest.raises(AssertionError, match="shape"):
        assert_close(np.zeros(3), np.zeros((3, 1)), "out")
    with pytest.raises(AssertionError, match="dtype float64, expected float32"):
        assert_close(np.zeros(3), np.zeros(3, np.float32), "out", dtype=np.float32)
    with pytest.raises(AssertionError, match="NaN"):
        assert_close(np.array([np.nan, 1.0]), np.array([0.0, 1.0]), "out")
    assert_close(np.array([np.nan, np.inf]), np.array([np.nan, np.inf]), "out")


def test_to_numpy_reads_every_framework():
    for value in (torch.ones(2, requires_grad=True), minigrad.ones(2), np.ones(2), [1.0, 1.0]):
        np.testing.assert_array_equal(to_numpy(value), [1.0, 1.0])


# ------------------------------------------------------------------ compare_with_torch, gradcheck


def test_a_right_op_passes_both_checks():
    compare_with_torch(Square.apply, square, x)
    compare_with_torch(Square.apply, square, x.astype(np.float32))
    gradcheck(Square.apply, x)


def test_a_backward_that_ignores_the_upstream_gradient_is_caught():
    with pytest.raises(AssertionError, match="gradient of input 0"):
        compare_with_torch(SquareForgetsGrad.apply, square, x)
    with pytest.raises(AssertionError, match="central differences"):
        gradcheck(SquareForgetsGrad.apply, x)


def test_a_wrong_derivative_is_caught():
    with pytest.raises(AssertionError, match="gradient of input 0"):
        compare_with_torch(SquareWrongDerivative.apply, square, x)
    with pytest.raises(AssertionError, match="central differences"):
        gradcheck(SquareWrongDerivative.apply, x)


def test_a_wrong_forward_and_a_wrong_dtype_are_caught():
    with pytest.raises(AssertionError, match="forward"):
        compare_with_torch(Square.apply, lambda t: t * t + 1e-3, x, backward=False)
    with pytest.raises(AssertionError, match="dtype float64, expected float32"):
        compare_with_torch(lambda t: Square.apply(t.double()), square, x.astype(np.float32),
                           backward=False)


def test_an_output_outside_the_graph_is_reported():
    detached = lambda t: minigrad.tensor(t.detach().numpy() ** 2)  # noqa: E731
    with pytest.raises(AssertionError, match="does not require grad"):
        compare_with_torch(detached, square, x)


def test_gradcheck_handles_two_inputs_with_broadcasting_and_constants():
    class ScaledProduct(Op):
        @staticmethod
        def forward(ctx, a, b, scale):
            ctx.save_for_backward(a, b)
            ctx.scale = scale
            return scale * a * b

        @staticmethod
        def backward(ctx, grad):
            from minigrad.ops.util import unbroadcast
            a, b = ctx.saved_tensors
            return (unbroadcast(ctx.scale * grad * b, a.shape),
                    unbroadcast(ctx.scale * grad * a, b.shape), None)

    a, b = x[:, :1], x[0]
    gradcheck(ScaledProduct.apply, a, b, 3.0)
    compare_with_torch(ScaledProduct.apply, lambda a, b, s: s * a * b, a, b, 3.0)


# ------------------------------------------------------------------ run_kernel


def test_run_kernel_runs_the_cuda_body_not_the_reference():
    if minigrad.cuda.is_available():
        pytest.skip("on a GPU run_kernel launches CuPy's kernel; this test is about the CPU")
    wrong_reference = ElementwiseKernel("T x", "T y", "y = x * x + 1", "square_plus_one",
                                        reference=lambda x: x * x)
    v = np.arange(4, dtype=np.float32)
    try:
        out = run_kernel(wrong_reference, v)
    except EmulationError as error:
        pytest.skip(f"no C compiler: {error}")
    np.testing.assert_array_equal(out, v * v + 1)
    assert out.dtype == np.float32


# ------------------------------------------------------------------ grading in a fresh process


def test_definitions_only_keeps_defs_and_plain_assignments_and_drops_the_rest():
    from lessons.assignments import definitions_only

    kept = definitions_only("import numpy as np\nnp.allclose = None\nsetattr(np, 'x', 1)\n"
                            "def f():\n    return 1\nclass A:\n    pass\nk = f()\na.b = 2\n")
    assert [line for line in kept.splitlines() if line] == [
        "import numpy as np", "def f():", "    return 1", "class A:", "    pass", "k = f()"]


def grade_job(given, answers, tests, **values):
    """The verdict of the grading process for one job, as the kernel's side would read it."""
    import json
    import subprocess
    import sys

    from lessons.assignments import cell_hash

    job = dict(what="the test", tests=tests, limit=10, given=given,
               given_hashes=[cell_hash(t) for t in given], answers=answers, values=values,
               nonce="n0")
    with tempfile.TemporaryDirectory() as folder:    # where the process writes the cells
        done = subprocess.run([sys.executable, "-I", "-c",
                               "from lessons.assignments import _grade; _grade()"],
                              input=json.dumps(job), capture_output=True, text=True,
                              timeout=60, cwd=folder)
    result = json.loads(done.stdout.splitlines()[-1])
    assert result["nonce"] == "n0"
    return result["error"], result["message"]


SETUP = "import numpy as np\nfrom lessons.assignments import assert_close\n"
TESTS = "assert_close(double(np.arange(3.0)), np.arange(3.0) * 2, 'double')\n"


def test_the_grading_process_passes_right_code_and_fails_wrong_code():
    assert grade_job([SETUP], ["def double(x):\n    return 2 * x\n"], TESTS) == (None, None)
    error, message = grade_job([SETUP], ["def double(x):\n    return x\n"], TESTS)
    assert error == "AssertionError" and "double" in message


def test_the_grading_process_ignores_rebinding_and_refuses_patching():
    rebinding = "assert_close = lambda *a, **k: None\ndef double(x):\n    return x\n"
    assert grade_job([SETUP], [rebinding], TESTS)[0] == "AssertionError"
    patching = ("import lessons.assignments\n"
                "def double(x):\n    return x\n"
                "class Patch:\n    lessons.assignments.assert_close = lambda *a, **k: None\n")
    error, message = grade_job([SETUP], [patching], TESTS)
    assert error == "AssertionError" and "lessons.assignments.assert_close" in message


def test_the_grading_process_refuses_a_changed_given_cell():
    from lessons.assignments import cell_hash

    assert cell_hash(SETUP) == cell_hash("\n" + SETUP + "  \n")
    import json
    import subprocess
    import sys

    job = dict(what="t", tests="", limit=5, given=[SETUP + "x = 1\n"],
               given_hashes=[cell_hash(SETUP)], answers=[], values={}, nonce="n1")
    with tempfile.TemporaryDirectory() as folder:
        done = subprocess.run([sys.executable, "-I", "-c",
                               "from lessons.assignments import _grade; _grade()"],
                              input=json.dumps(job), capture_output=True, text=True,
                              timeout=60, cwd=folder)
    assert json.loads(done.stdout.splitlines()[-1])["message"] == "a given cell was changed"
