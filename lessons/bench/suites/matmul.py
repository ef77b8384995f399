"""The ``matmul`` suite: ``a @ b`` for ``n × n`` float32 matrices, N = 64 .. 2048.

The step and the contestants are those of the ``ops`` suite (forward only), so the
two suites time the same code; this one reports GFLOP/s (2·n³ per product) and, in
the report, the fraction of the *measured machine peak*: the best GFLOP/s that any
contestant reached at the largest N of the run, at the same thread count. A matrix
product is where every framework hands the work to a BLAS library, which each
environment records (``libraries``: NumPy's OpenBLAS, PyTorch's MKL and oneDNN,
TensorFlow's Eigen with oneDNN), so the table shows whose BLAS is faster rather
than whose Python is.
"""

from __future__ import annotations

from lessons.bench.registry import Framework, Section, Suite, register_suite
from lessons.bench.suites import ops

SIZES = (64, 128, 256, 512, 1024, 2048)


def make_problem(config: dict) -> ops.Problem:
    return ops.make_problem({"op": "matmul", "n": config["n"], "requires_grad": False,
                             "backward": False, "seed": config["seed"]})


def metrics(config: dict, median_us: float) -> dict:
    return {"GFLOP/s": 2 * config["n"] ** 3 / (median_us * 1e3)}


def add_peak_fraction(results: list[dict]) -> float | None:
    """Set ``metrics["of peak"]`` in every row of a run's results (one per N, same
    thread count): GFLOP/s over the best GFLOP/s at the largest N. Returns the peak."""
    if not results:
        return None
    largest = max(results, key=lambda result: result["config"]["n"])
    rates = [r["metrics"]["GFLOP/s"] for r in largest["results"] if r.get("metrics")]
    if not rates:
        return None
    peak = max(rates)
    for result in results:
        result["peak_gflops"] = peak
        for r in result["results"]:
            if r.get("metrics"):
                r["metrics"]["of peak"] = r["metrics"]["GFLOP/s"] / peak
    return peak


def plan(quick: bool) -> list[Section]:
    """N = 64 .. 2048 (to 1024 with --quick)."""
    sizes = [n for n in SIZES if n <= 1024] if quick else list(SIZES)
    return [Section("matmul", [{"n": n} for n in sizes])]


SUITE = register_suite(
    Suite(
        name="matmul",
        description="matmul of {n}x{n} float32 matrices, CPU",
        frameworks={
            "numpy": Framework("NumPy", f"{ops.__name__}:build_numpy"),
            "minigrad": Framework("minigrad", f"{ops.__name__}:build_minigrad",
                                  imports=("minigrad",)),
            "torch": Framework("PyTorch eager", f"{ops.__name__}:build_torch",
                               imports=("torch",)),
            "tf-eager": Framework("TensorFlow eager", f"{ops.__name__}:build_tf_eager",
                                  imports=("tensorflow",)),
        },
        problem=f"{__name__}:make_problem",
        evaluate=f"{ops.__name__}:evaluate",
        metrics=f"{__name__}:metrics",
        config={"n": 512, "seed": 0},
        full={"rounds": 3, "steps": 50, "warmup": 2, "budget_s": 1.5},
        quick={"rounds": 1, "steps": 5, "warmup": 1, "budget_s": 0.2},
        check_label="max error vs float64",
        check_note="max error vs float64: largest absolute difference from the product "
        "in float64 NumPy (it grows with n: float32 sums of n products).",
        plan=plan,
        across_configs=add_peak_fraction,
    )
)
