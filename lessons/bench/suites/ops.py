"""The ``ops`` suite: one tensor operation, forward or forward + backward, at a chosen size.

A step is a single call: ``a + b``, ``a * b``, ``relu(a)``, ``a.sum()``, ``a @ b``,
``softmax(a, dim=1)``, ``layer_norm(a, (n,))`` (no weight and bias) or ``gelu(a)``
(PyTorch's tanh approximation, which NumPy can write without ``erf``) on ``n × n``
float32 matrices made once from a seeded NumPy generator, the result
thrown away. With ``backward=True`` the step also computes the gradients of the
inputs for a fixed upstream gradient (``out.backward(g)`` in PyTorch and minigrad,
``tape.gradient`` in TensorFlow, the derivative written out in NumPy), starting from
no gradient each time.

Small ``n`` shows what a framework costs per operation (dispatch, checks, making the
result tensor, recording the graph); large ``n`` shows the arithmetic itself, where
every framework ends up calling similar kernels. The table gives µs per op and the
effective bandwidth, the bytes an op must at least read and write (float32 inputs,
output and gradients, see ``traffic``) divided by its time, and for ``matmul`` the
GFLOP/s. With ``requires_grad=True`` (forward only) the inputs require gradients, so
PyTorch and minigrad also record the graph node they would need for backward.

The settings are ``op``, ``n``, ``backward``, ``requires_grad`` and ``seed``; a grid is
a list of them, e.g. ``run_grid("ops", [{"op": "matmul", "n": n} for n in (16, 128)])``.
The check column is the largest error of the framework's result (and, with backward,
of the gradient of ``a``) against the same operation in float64 NumPy, so every row
shows it computed the same thing.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

import numpy as np

from lessons.bench.registry import Framework, Section, Suite, register_suite
from lessons.frameworks import tensorflow_with_threads, torch_with_threads

OPS = ("add", "mul", "relu", "sum", "matmul", "softmax", "layer_norm", "gelu")
BINARY = ("add", "mul", "matmul")


@dataclass
class Problem:
    op: str
    a: np.ndarray  # float32 (n, n)
    b: np.ndarray  # float32 (n, n); unused by relu and sum
    grad: np.ndarray  # float32 upstream gradient, the shape of the result
    requires_grad: bool
    backward: bool


def make_problem(config: dict) -> Problem:
    op, n = config["op"], config["n"]
    if op not in OPS:
        raise ValueError(f"ops: unknown op {op!r}; known: {', '.join(OPS)}")
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"ops: n must be a positive integer, got {n!r}")
    rng = np.random.default_rng(config["seed"])
    a, b = (rng.standard_normal((n, n), dtype=np.float32) for _ in range(2))
    grad = np.float32(1.0) if op == "sum" else rng.standard_normal((n, n), dtype=np.float32)
    backward = bool(config.get("backward", False))  # suites made before it existed lack it
    return Problem(op, a, b, np.asarray(grad), bool(config["requires_grad"]) or backward, backward)


EPS = 1e-5                    # layer_norm's epsilon, PyTorch's default
GELU_C, GELU_K = float(np.sqrt(2 / np.pi)), 0.044715


def softmax_np(a):
    e = np.exp(a - a.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def softmax_grad_np(g, s):
    return s * (g - (g * s).sum(axis=1, keepdims=True))     # J^T g of softmax, row by row


def layer_norm_np(a):
    centred = a - a.mean(axis=1, keepdims=True)
    inv_std = 1 / np.sqrt((centred * centred).mean(axis=1, keepdims=True) + EPS)
    return centred * inv_std, inv_std


def layer_norm_grad_np(g, x_hat, inv_std):
    # dx = (g - mean(g) - x_hat * mean(g * x_hat)) / std, each row
    return inv_std * (g - g.mean(axis=1, keepdims=True)
                      - x_hat * (g * x_hat).mean(axis=1, keepdims=True))


def gelu_np(a):
    return 0.5 * a * (1 + np.tanh(GELU_C * (a + GELU_K * a * a * a)))


def gelu_grad_np(g, a):
    t = np.tanh(GELU_C * (a + GELU_K * a * a * a))
    return g * (0.5 * (1 + t) + 0.5 * a * (1 - t * t) * GELU_C * (1 + 3 * GELU_K * a * a))


def reference(op: str, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The operation in float64 NumPy."""
    a, b = a.astype(np.float64), b.astype(np.float64)
    return {"add": lambda: a + b, "mul": lambda: a * b, "relu": lambda: np.maximum(a, 0.0),
            "sum": lambda: a.sum(), "matmul": lambda: a @ b,
            "softmax": lambda: softmax_np(a), "layer_norm": lambda: layer_norm_np(a)[0],
            "gelu": lambda: gelu_np(a)}[op]()


def reference_grad_a(problem: Problem) -> np.ndarray:
    """d(<out, g>)/da in float64 NumPy."""
    a, b, g = (x.astype(np.float64) for x in (problem.a, problem.b, problem.grad))
    return {"add": lambda: g, "mul": lambda: g * b, "relu": lambda: g * (a > 0),
            "sum": lambda: np.broadcast_to(g, a.shape), "matmul": lambda: g @ b.T,
            "softmax": lambda: softmax_grad_np(g, softmax_np(a)),
            "layer_norm": lambda: layer_norm_grad_np(g, *layer_norm_np(a)),
            "gelu": lambda: gelu_grad_np(g, a)}[problem.op]()


def evaluate(problem: Problem, out: dict[str, np.ndarray]) -> float:
    """Largest absolute error of the framework's result (and gradient of ``a``, with
    backward) against float64 NumPy."""
    got = np.asarray(out["out"], dtype=np.float64)
    error = float(np.abs(got - reference(problem.op, problem.a, problem.b)).max())
    if problem.backward:
        grad = np.asarray(out["grad_a"], dtype=np.float64)
        error = max(error, float(np.abs(grad - reference_grad_a(problem)).max()))
    return error


# --- what an op must move and compute ------------------------------------------------

# float32 arrays of n*n numbers that an op reads and writes at the least: forward reads
# its inputs and writes its output; backward reads the upstream gradient (and what the
# derivative needs) and writes one gradient per input
FORWARD_ARRAYS = {"add": 3, "mul": 3, "relu": 2, "sum": 1, "matmul": 3, "softmax": 2,
                  "layer_norm": 2, "gelu": 2}
BACKWARD_ARRAYS = {"add": 3, "mul": 5, "relu": 3, "sum": 1, "matmul": 6, "softmax": 3,
                   "layer_norm": 3, "gelu": 3}


def traffic(config: dict) -> tuple[int, int]:
    """(bytes, floating-point operations) of one step of ``config``, at the least."""
    op, n = config["op"], config["n"]
    backward = config.get("backward", False)
    arrays = FORWARD_ARRAYS[op] + (BACKWARD_ARRAYS[op] if backward else 0)
    flops = 2 * n**3 * (3 if backward else 1) if op == "matmul" else 0
    return 4 * n * n * arrays, flops


def metrics(config: dict, median_us: float) -> dict:
    data, flops = traffic(config)
    out = {"elements": config["n"] ** 2, "GB/s": data / (median_us * 1e3)}
    if flops:
        out["GFLOP/s"] = flops / (median_us * 1e3)
    return out


# --- the contestants ---------------------------------------------------------------


def build_numpy(problem: Problem, threads: int):
    a, b, g = problem.a, problem.b, problem.grad
    forward = {"add": lambda: a + b, "mul": lambda: a * b, "relu": lambda: np.maximum(a, 0),
               "sum": lambda: a.sum(), "matmul": lambda: a @ b,
               "softmax": lambda: softmax_np(a), "layer_norm": lambda: layer_norm_np(a)[0],
               "gelu": lambda: gelu_np(a)}[problem.op]
    # backward gets what forward computed (the softmax, x_hat and 1/std), as a
    # hand-written step keeps them
    saved = {"softmax": softmax_np, "layer_norm": layer_norm_np}.get(problem.op)
    backward = {"add": lambda f: (g.copy(), g.copy()), "mul": lambda f: (g * b, g * a),
                "relu": lambda f: (g * (a > 0),), "sum": lambda f: (np.full_like(a, g),),
                "matmul": lambda f: (g @ b.T, a.T @ g),
                "softmax": lambda f: (softmax_grad_np(g, f),),
                "layer_norm": lambda f: (layer_norm_grad_np(g, *f),),
                "gelu": lambda f: (gelu_grad_np(g, a),)}[problem.op]
    if not problem.backward:
        return forward, lambda: {"out": forward()}

    def step():
        kept = saved(a) if saved else forward()
        backward(kept)
        return kept[0] if problem.op == "layer_norm" else kept

    def export():
        kept = saved(a) if saved else None
        return {"out": forward(), "grad_a": backward(kept)[0]}

    return step, export


def _build_torch_like(torch, problem: Problem):
    """The same code for PyTorch and minigrad; ``torch`` may be ``minigrad``."""
    F = importlib.import_module(f"{torch.__name__}.nn.functional")
    a = torch.tensor(problem.a, requires_grad=problem.requires_grad)
    b = torch.tensor(problem.b, requires_grad=problem.requires_grad)
    g = torch.tensor(problem.grad)
    n = problem.a.shape[1]
    forward = {"add": lambda: a + b, "mul": lambda: a * b, "relu": lambda: F.relu(a),
               "sum": lambda: a.sum(), "matmul": lambda: a @ b,
               "softmax": lambda: F.softmax(a, dim=1),
               "layer_norm": lambda: F.layer_norm(a, (n,)),
               "gelu": lambda: F.gelu(a, approximate="tanh")}[problem.op]
    if not problem.backward:
        return forward, lambda: {"out": forward().detach().numpy()}

    def step():
        a.grad = b.grad = None  # every step starts from no gradient
        out = forward()
        out.backward(g)
        return out

    def export():
        out = step()
        return {"out": out.detach().numpy(), "grad_a": a.grad.numpy()}

    return step, export


def build_torch(problem: Problem, threads: int):
    return _build_torch_like(torch_with_threads(threads), problem)


def build_minigrad(problem: Problem, threads: int):
    import minigrad  # NumPy's BLAS threads are capped by the environment

    return _build_torch_like(minigrad, problem)


def build_tf_eager(problem: Problem, threads: int):
    tf = tensorflow_with_threads(threads)
    # TensorFlow has no requires_grad: a tape records only inside GradientTape
    a, b, g = tf.constant(problem.a), tf.constant(problem.b), tf.constant(problem.grad)
    def layer_norm():
        mean, variance = tf.nn.moments(a, axes=[1], keepdims=True)
        return (a - mean) * tf.math.rsqrt(variance + EPS)

    forward = {"add": lambda: tf.add(a, b), "mul": lambda: tf.multiply(a, b),
               "relu": lambda: tf.nn.relu(a), "sum": lambda: tf.reduce_sum(a),
               "matmul": lambda: tf.linalg.matmul(a, b),
               "softmax": lambda: tf.nn.softmax(a, axis=1), "layer_norm": layer_norm,
               "gelu": lambda: tf.nn.gelu(a, approximate=True)}[problem.op]
    if not problem.backward:
        return forward, lambda: {"out": forward().numpy()}
    sources = [a, b] if problem.op in BINARY else [a]

    def run():
        with tf.GradientTape() as tape:
            tape.watch(sources)
            out = forward()
        return out, tape.gradient(out, sources, output_gradients=g)

    def step():
        return run()[0]

    def export():
        out, grads = run()
        return {"out": out.numpy(), "grad_a": grads[0].numpy()}

    return step, export


# 1, about 1e3 and 1e6 elements per input: n x n with n = 1, 32, 1000
SIDES = (1, 32, 1000)


def plan(quick: bool) -> list[Section]:
    """Every op at 1, 1024 and 1e6 elements, forward and forward + backward: one worker
    per framework per round runs them all, so a framework is imported once a round."""
    configs = [{"op": op, "n": n, "backward": backward}
               for backward in (False, True) for op in OPS for n in SIDES]
    lengths = {"rounds": 1, "steps": 10, "warmup": 2, "budget_s": 0.05} if quick else \
        {"rounds": 3, "steps": 200, "warmup": 10, "budget_s": 0.3}
    return [Section("ops", configs, ["numpy", "minigrad", "torch", "tf-eager"], lengths)]


SUITE = register_suite(
    Suite(
        name="ops",
        description="{op} of {n}x{n} float32 matrices, backward={backward} "
        "(requires_grad={requires_grad}), CPU",
        frameworks={
            "minigrad": Framework("minigrad", f"{__name__}:build_minigrad", traced_memory=True,
                                  imports=("minigrad",)),
            "torch": Framework("PyTorch eager", f"{__name__}:build_torch", imports=("torch",)),
            "tf-eager": Framework("TensorFlow eager", f"{__name__}:build_tf_eager",
                                  imports=("tensorflow",)),
            "numpy": Framework("NumPy", f"{__name__}:build_numpy", traced_memory=True),
        },
        problem=f"{__name__}:make_problem",
        evaluate=f"{__name__}:evaluate",
        metrics=f"{__name__}:metrics",
        config={"op": "matmul", "n": 128, "requires_grad": False, "backward": False, "seed": 0},
        full={"rounds": 5, "steps": 200, "warmup": 20, "budget_s": 0.3},
        quick={"rounds": 2, "steps": 50, "warmup": 10, "budget_s": 0.1},
        check_label="max error vs float64",
        check_note="max error vs float64: largest absolute difference between the "
        "framework's result (and, with backward, the gradient of a) and the same "
        "operation in float64 NumPy.",
        plan=plan,
    )
)
