"""minigrad's GPU kernels, checked on every machine.

Each kernel has a NumPy reference (what the CPU runs, itself checked against PyTorch by
the op and optimizer tests). Here the CUDA body of every kernel is compiled as C and run
on the CPU (`emulate`) and compared with its reference, so a wrong formula in a kernel
fails on a machine without a GPU. On a GPU the real kernels are compared too.
"""
import numpy as np
import pytest

import minigrad as mg
import minigrad.ops.elementwise
import minigrad.ops.nn
import minigrad.optim
from minigrad.kernels import ElementwiseKernel, EmulationError, kernels_of
from minigrad.ops.linalg import matmul_tiled

KERNELS = {**kernels_of(minigrad.ops.elementwise), **kernels_of(minigrad.ops.nn),
           **kernels_of(minigrad.optim)}
GPU = mg.cuda.is_available()
needs_gpu = pytest.mark.skipif(not GPU, reason="needs CuPy and an NVIDIA GPU")


def _ce_fwd(rng, dt):
    logits = rng.standard_normal((6, 5)).astype(dt) * 4
    return logits, rng.integers(0, 5, 6), 5


def _ce_bwd(rng, dt, per_row):
    logits, target, n = _ce_fwd(rng, dt)
    _, row_max, total = minigrad.ops.nn.cross_entropy_fwd(logits, target, n)
    scale = rng.standard_normal(6).astype(dt) if per_row else np.asarray(0.25, dt)
    return logits, row_max, total, target, n, scale, int(per_row)


def _state(rng, dt, *names):
    """Arrays an update kernel reads and writes in place (parameter, moments)."""
    return tuple(rng.random(7).astype(dt) + (0.1 if n == "v" else -0.5) for n in names)


# For every kernel: example inputs (and, for in-place kernels, outputs), per dtype.
EXAMPLES = {
    "tanh_bwd": [lambda r, dt: (r.standard_normal(9).astype(dt),
                                np.tanh(r.standard_normal(9)).astype(dt))],
    "sigmoid_fwd": [lambda r, dt: (np.concatenate([r.standard_normal(8) * 5,
                                                   [-800, 800, 0]]).astype(dt),)],
    "sigmoid_bwd": [lambda r, dt: (r.standard_normal(9).astype(dt), r.random(9).astype(dt))],
    "relu_fwd": [lambda r, dt: (np.concatenate([r.standard_normal(8), [0, -0.0]]).astype(dt),)],
    "relu_bwd": [lambda r, dt: (r.standard_normal(9).astype(dt),
                                np.maximum(r.standard_normal(9), 0).astype(dt))],
    "cross_entropy_fwd": [_ce_fwd],
    "cross_entropy_bwd": [lambda r, dt: _ce_bwd(r, dt, False), lambda r, dt: _ce_bwd(r, dt, True)],
    "sgd_update": [lambda r, dt, decay=decay: (r.standard_normal(7).astype(dt), 0.1, decay,
                                  *_state(r, dt, "p")) for decay in (0.0, 0.01)],
    "sgd_momentum_update": [
        lambda r, dt, first=first: (r.standard_normal(7).astype(dt), 0.1, 0.9, 0.01, first,
                                    *_state(r, dt, "p", "velocity"))
        for first in (True, False)],
    "adam_update": [lambda r, dt, decay=decay: (r.standard_normal(7).astype(dt), 0.01, 0.9,
                                                0.999, 1e-8, decay, 0.3,
                                                *_state(r, dt, "p", "m", "v"))
                    for decay in (0.0, 0.01)],
    "sgd_momentum_full_update": [
        lambda r, dt, first=first, nesterov=nesterov, damp=damp: (
            r.standard_normal(7).astype(dt), 0.1, 0.9, damp, 0.01, nesterov, first,
            *_state(r, dt, "p", "velocity"))
        for first in (True, False) for nesterov, damp in ((True, 0.0), (False, 0.3))],
    "adam_amsgrad_update": [
        lambda r, dt, decay=decay: (r.standard_normal(7).astype(dt), 0.01, 0.9, 0.999, 1e-8,
                                    decay, 0.3, *_state(r, dt, "p", "m", "v", "v"))
        for decay in (0.0, 0.01)],
    "adagrad_update": [lambda r, dt, decay=decay: (r.standard_normal(7).astype(dt), 0.01, 1e-10,
                                                   decay, *_state(r, dt, "p", "v"))
                       for decay in (0.0, 0.01)],
}
CASES = [(name, k) for name, examples in EXAMPLES.items() for k in range(len(examples))]
TOL = {np.float32: dict(rtol=2e-6, atol=1e-6), np.float64: dict(rtol=1e-13, atol=1e-14)}


def _example(name, k, dtype, seed=0):
    return EXAMPLES[name][k](np.random.default_rng(seed), dtype)


def _run(fn, args):
    """Call a kernel's reference or emulation on copies; in-place outputs come back too."""
    args = tuple(a.copy() if isinstance(a, np.ndarray) else a for a in args)
    out = fn(*args)
    outs = out if isinstance(out, tuple) else (out,)
    return [np.asarray(o) for o in outs]


def _assert_same(actual, expected, dtype):
    assert len(actual) == len(expected)
    for a, e in zip(actual, expected):
        assert a.dtype == e.dtype and a.shape == e.shape
        np.testing.assert_allclose(a, e, **TOL[dtype])


def test_every_kernel_has_examples():
    assert set(KERNELS) == set(EXAMPLES), "add examples for new kernels to EXAMPLES"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,k", CASES)
def test_cuda_body_matches_reference(name, k, dtype):
    kernel = KERNELS[name]
    args = _example(name, k, dtype)
    _assert_same(_run(kernel.emulate, args), _run(kernel.reference, args), dtype)


def test_a_wrong_body_is_caught():
    # the comparison above has teeth: tanh's derivative with a sign flipped differs
    right = KERNELS["tanh_bwd"]
    wrong = ElementwiseKernel(right.in_params, right.out_params, "dx = grad * (1 + y * y)",
                              "tanh_bwd_wrong", reference=right.reference)
    args = _example("tanh_bwd", 0, np.float64)
    assert not np.allclose(wrong.emulate(*args), right.reference(*args))


def test_relu_lets_nan_through_like_pytorch():
    import torch
    x = np.array([np.nan, -1.0, 2.0], np.float32)
    expected = torch.relu(torch.from_numpy(x)).numpy()
    np.testing.assert_array_equal(KERNELS["relu_fwd"].emulate(x), expected)
    np.testing.assert_array_equal(KERNELS["relu_fwd"](x), expected)


def test_emulate_broadcasts_inputs_like_numpy():
    add = ElementwiseKernel("T a, T b", "T c", "c = a + b", "add_test",
                            reference=lambda a, b: a + b)
    a, b = np.arange(3.0)[:, None], np.arange(4.0)[None, :]
    np.testing.assert_array_equal(add.emulate(a, b), a + b)


def test_emulate_reports_c_errors_with_the_kernels_name():
    bad = ElementwiseKernel("T x", "T y", "y = x +* ;", "broken_kernel", reference=None)
    with pytest.raises(EmulationError, match="broken_kernel does not compile as C"):
        bad.emulate(np.ones(3))


def test_emulate_checks_the_number_of_arguments():
    with pytest.raises(TypeError, match=r"tanh_bwd takes 2 inputs \(T grad, T y\)"):
        KERNELS["tanh_bwd"].emulate(np.ones(3))


def test_emulate_without_a_c_compiler_says_how_to_get_one(monkeypatch):
    import minigrad.kernels as kernels
    monkeypatch.delenv("CC", raising=False)
    monkeypatch.setattr(kernels.shutil, "which", lambda name: None)
    fresh = ElementwiseKernel("T x", "T y", "y = 2 * x + 1", "needs_compiler", reference=None)
    with pytest.raises(EmulationError, match="needs a C compiler"):
        fresh.emulate(np.ones(2))


def test_kernel_calls_on_numpy_run_the_reference():
    calls = []
    k = ElementwiseKernel("T x", "T y", "y = x", "spy", reference=lambda x: calls.append(x) or x)
    k(np.ones(2))
    assert len(calls) == 1


@pytest.mark.skipif(GPU, reason="checks the message shown on machines without a GPU")
def test_compiled_kernel_without_a_gpu_says_why():
    with pytest.raises(RuntimeError, match="needs CuPy and a GPU"):
        KERNELS["relu_fwd"].compiled()


def test_matmul_tiled_runs_numpy_on_the_cpu():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((5, 3)), rng.standard_normal((3, 4))
    np.testing.assert_allclose(matmul_tiled(a, b), a @ b)
    with pytest.raises(mg.ShapeError, match="matmul_tiled"):
        matmul_tiled(a, a)


# ---------------------------------------------------------------------------- on a GPU

@needs_gpu
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,k", CASES)
def test_gpu_kernel_matches_reference(name, k, dtype):
    import cupy
    kernel = KERNELS[name]
    args = _example(name, k, dtype)

    def on_gpu(*args):
        out = kernel(*(cupy.asarray(a) if isinstance(a, np.ndarray) else a for a in args))
        return tuple(cupy.asnumpy(o) for o in (out if isinstance(out, tuple) else (out,)))

    _assert_same(_run(on_gpu, args), _run(kernel.reference, args), dtype)


@needs_gpu
@pytest.mark.parametrize("shape", [(1, 1, 1), (17, 33, 9), (64, 64, 64), (130, 257, 70)])
def test_gpu_tiled_matmul_matches_cublas(shape):
    import cupy
    n, k, m = shape
    rng = np.random.default_rng(0)
    a = cupy.asarray(rng.standard_normal((n, k)), dtype=cupy.float32)
    b = cupy.asarray(rng.standard_normal((k, m)), dtype=cupy.float32)
    np.testing.assert_allclose(cupy.asnumpy(matmul_tiled(a, b)), cupy.asnumpy(a @ b),
                               rtol=1e-4, atol=1e-4)
