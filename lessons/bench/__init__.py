"""Benchmark harness: ``python -m lessons.bench mlp`` or, from Python::

    from lessons import bench
    result = bench.run_suite("mlp", quick=True, progress=print)
    print(bench.format_markdown(result))
    bench.save_json(result, "bench-results")

Suites live in a registry (``bench.suite_names()``); add one with
``bench.register_suite(Suite(...))``. See ``harness`` for the method and ``mlp`` for
the first suite. Importing this package imports neither NumPy nor any framework.
"""

from lessons.bench.harness import (
    Framework,
    Suite,
    format_markdown,
    get_suite,
    register_suite,
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
    "run_suite",
    "save_json",
    "suite_names",
]
