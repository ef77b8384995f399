"""Benchmark harness: ``python -m lessons.bench mlp`` or, from Python::

    from lessons import bench
    result = bench.run_suite("mlp", quick=True, progress=print)
    print(bench.format_markdown(result))
    bench.save_json(result, "bench-results")

    # a grid of sizes: one result per config, one worker per framework per round
    results = bench.run_grid("mlp", [{"batch": 16}, {"batch": 64}, {"batch": 256}])

Suites live in a registry (``bench.suite_names()``); add one with
``bench.register_suite(Suite(...))``. See ``harness`` for the method, ``mlp`` for a
training step and ``ops`` for single operations. Importing this package imports
neither NumPy nor any framework.
"""

from lessons.bench.harness import (
    Framework,
    Suite,
    format_markdown,
    get_suite,
    register_suite,
    run_grid,
    run_suite,
    save_json,
    suite_names,
)

__all__ = [
    "Framework",
    "Suite",
    "format_markdown",
    "get_suite",
    "register_suite",
    "run_grid",
    "run_suite",
    "save_json",
    "suite_names",
]
