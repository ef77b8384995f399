"""Benchmark harness: ``python -m lessons.bench [SUITE ...|all]`` or, from Python::

    from lessons import bench
    result = bench.run_suite("mlp", quick=True, progress=print)
    print(bench.format_markdown(result))
    bench.save_json(result, "bench-results")

    # a grid of sizes: one result per config, one worker per framework per round
    results = bench.run_grid("mlp", [{"batch": 16}, {"batch": 64}, {"batch": 256}])
    # the compiled modes run when named
    bench.run_suite("mlp", frameworks=["torch", "torch-compile", "minigrad-compile"])

Suites live in a registry (``bench.suite_names()``): ``ops`` (single operations,
forward and backward), ``matmul``, ``mlp``, ``cnn``, ``memory`` and ``gpu``, one module
each in ``lessons.bench.suites``; add one with ``bench.register_suite(Suite(...))``.
``bench.plan(name)`` gives the tables the command line runs for a suite.

The modules: ``registry`` (what a suite is, and finding one by name), ``runner`` (the
method: fresh worker processes, interleaved rounds), ``worker`` (the process that
times), ``stats`` (medians and ratios), ``report`` (Markdown tables and files),
``targets`` (minigrad's targets), ``plots`` (the PNGs) and ``summary`` (the docs'
tables). Importing this package imports neither NumPy nor any framework.
"""

from lessons.bench.registry import (
    Framework,
    Section,
    StandaloneSuite,
    Suite,
    Unavailable,
    get_suite,
    plan,
    register_suite,
    skip_reason,
    suite_names,
)
from lessons.bench.report import format_markdown, save_json
from lessons.bench.runner import run_grid, run_suite

__all__ = [
    "Framework",
    "Section",
    "StandaloneSuite",
    "Suite",
    "Unavailable",
    "format_markdown",
    "get_suite",
    "plan",
    "register_suite",
    "run_grid",
    "run_suite",
    "save_json",
    "skip_reason",
    "suite_names",
]
