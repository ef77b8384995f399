"""The ``ops`` suite: one tensor operation, forward only, at a chosen size.

A step is a single call: ``a + b``, ``a * b``, ``relu(a)`` or ``a @ b`` on ``n × n``
float32 matrices made once from a seeded NumPy generator, the result thrown away.
Small ``n`` shows what a framework costs per operation (dispatch, checks, making the
result tensor); large ``n`` shows the arithmetic itself, where every framework ends up
calling similar kernels. With ``requires_grad=True`` the inputs require gradients, so
PyTorch and minigrad also record the graph node they would need for backward.

The settings are ``op``, ``n``, ``requires_grad`` and ``seed``; a grid is a list of
them, e.g. ``run_grid("ops", [{"op": "matmul", "n": n} for n in (16, 128, 512)])``.
The check column is the largest error of the framework's result against the same
operation in float64 NumPy, so every row shows it computed the same thing.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

import numpy as np

from lessons.bench.harness import (Framework, Suite, register_suite, tensorflow_with_threads,
                                    torch_with_threads)

OPS = ("add", "mul", "relu", "matmul")


@dataclass
class Problem:
    op: str
    a: np.ndarray  # float32 (n, n)
    b: np.ndarray  # float32 (n, n); unused by relu
    requires_grad: bool


def make_problem(config: dict) -> Problem:
    op, n = config["op"], config["n"]
    if op not in OPS:
        raise ValueError(f"ops: unknown op {op!r}; known: {', '.join(OPS)}")
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"ops: n must be a positive integer, got {n!r}")
    rng = np.random.default_rng(config["seed"])
    a, b = (rng.standard_normal((n, n), dtype=np.float32) for _ in range(2))
    return Problem(op, a, b, bool(config["requires_grad"]))


def reference(op: str, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The operation in float64 NumPy."""
    a, b = a.astype(np.float64), b.astype(np.float64)
    return {"add": lambda: a + b, "mul": lambda: a * b,
            "relu": lambda: np.maximum(a, 0.0), "matmul": lambda: a @ b}[op]()


def evaluate(problem: Problem, out: dict[str, np.ndarray]) -> float:
    """Largest absolute error of the framework's result against float64 NumPy."""
    got = np.asarray(out["out"], dtype=np.float64)
    return float(np.abs(got - reference(problem.op, problem.a, problem.b)).max())


# --- the contestants ---------------------------------------------------------------


def build_numpy(problem: Problem, threads: int):
    a, b = problem.a, problem.b
    op = {"add": lambda: a + b, "mul": lambda: a * b,
          "relu": lambda: np.maximum(a, 0), "matmul": lambda: a @ b}[problem.op]
    return op, lambda: {"out": op()}


def _build_torch_like(torch, problem: Problem):
    """The same code for PyTorch and minigrad; ``torch`` may be ``minigrad``."""
    F = importlib.import_module(f"{torch.__name__}.nn.functional")
    a = torch.tensor(problem.a, requires_grad=problem.requires_grad)
    b = torch.tensor(problem.b, requires_grad=problem.requires_grad)
    op = {"add": lambda: a + b, "mul": lambda: a * b,
          "relu": lambda: F.relu(a), "matmul": lambda: a @ b}[problem.op]
    return op, lambda: {"out": op().detach().numpy()}


def build_torch(problem: Problem, threads: int):
    return _build_torch_like(torch_with_threads(threads), problem)


def build_minigrad(problem: Problem, threads: int):
    import minigrad  # NumPy's BLAS threads are capped by the environment

    return _build_torch_like(minigrad, problem)


def build_tf_eager(problem: Problem, threads: int):
    tf = tensorflow_with_threads(threads)
    # TensorFlow has no requires_grad: a tape records only inside GradientTape
    a, b = tf.constant(problem.a), tf.constant(problem.b)
    op = {"add": lambda: tf.add(a, b), "mul": lambda: tf.multiply(a, b),
          "relu": lambda: tf.nn.relu(a), "matmul": lambda: tf.linalg.matmul(a, b)}[problem.op]
    return op, lambda: {"out": op().numpy()}


SUITE = register_suite(
    Suite(
        name="ops",
        description="{op} of {n}x{n} float32 matrices, forward only "
        "(requires_grad={requires_grad}), CPU",
        frameworks={
            "minigrad": Framework("minigrad", f"{__name__}:build_minigrad", traced_memory=True),
            "torch": Framework("PyTorch eager", f"{__name__}:build_torch"),
            "tf-eager": Framework("TensorFlow eager", f"{__name__}:build_tf_eager"),
            "numpy": Framework("NumPy", f"{__name__}:build_numpy", traced_memory=True),
        },
        problem=f"{__name__}:make_problem",
        evaluate=f"{__name__}:evaluate",
        config={"op": "matmul", "n": 128, "requires_grad": False, "seed": 0},
        full={"rounds": 5, "steps": 200, "warmup": 20},
        quick={"rounds": 2, "steps": 50, "warmup": 10},
        check_label="max error vs float64",
        check_note="max error vs float64: largest absolute difference between the "
        "framework's result and the same operation in float64 NumPy.",
    )
)
