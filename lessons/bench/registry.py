"""The benchmark suites: what a suite is, and the registry that finds one by name.

There are two kinds of suite. A ``Suite`` names a problem and the frameworks that solve
it; the runner (``lessons.bench.runner``) times its steps in fresh worker processes. A
``StandaloneSuite`` measures in its own way in this process (the ``gpu`` suite, with CUDA
events) and only says how to run it and how to show its result.

The built-in suites live in ``lessons.bench.suites``, one module each, and register
themselves when that module is imported; the registry imports a module only when its
suite is asked for, so that listing the suites imports nothing heavy.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass, field
from typing import Callable

# the built-in suites, in the order ``python -m lessons.bench all`` runs them
BUILTIN_SUITES = ("ops", "matmul", "mlp", "cnn", "memory", "gpu")
SUITES_PACKAGE = "lessons.bench.suites"
LOSS_NOTE = (
    "final loss: cross-entropy on the whole training set after warm-up + timed steps "
    "from the same initial weights, evaluated by one NumPy function for all frameworks."
)


class Unavailable(RuntimeError):
    """Raised by a builder when its framework cannot run here; the message is the
    reason shown in the report (the row is skipped, not failed)."""


@dataclass(frozen=True)
class Framework:
    """One contestant of a suite.

    ``build`` is ``"module:function"``, imported only inside the worker process;
    the function is called as ``function(problem, threads)`` and returns
    ``(step, export)``: ``step()`` runs one training step and returns the loss of
    that step (any scalar the framework produces; anything else is not reported),
    ``export()`` returns the current weights as a dict of NumPy arrays.
    ``traced_memory`` says that tracemalloc sees the framework's arrays (true of
    NumPy and of what is built on it), so the memory a step allocates can be
    measured; PyTorch and TensorFlow allocate where tracemalloc does not look.
    """

    label: str
    build: str
    traced_memory: bool = False
    imports: tuple[str, ...] = ()


@dataclass(frozen=True)
class Section:
    """One table of a benchmark run: a suite at some configs, with some frameworks
    (None: the suite's defaults) and run lengths (None: the suite's full or quick)."""

    suite: str
    configs: list[dict]
    frameworks: list[str] | None = None
    lengths: dict | None = None
    title: str = ""


@dataclass(frozen=True)
class Suite:
    """A benchmark: a problem, the frameworks that solve it, and how to run it.

    ``problem`` is ``"module:function"``; ``function(config)`` builds the framework-
    neutral problem (NumPy data and initial weights) in the worker.
    ``imports`` are the modules the worker imports before it reads its baseline
    resident memory, so that the memory a run adds is measured on top of them.
    ``evaluate`` is ``"module:function"``; ``function(problem, weights)`` returns the
    loss reached by exported weights (or another check value, named by
    ``check_label`` and explained by ``check_note``), computed the same way for
    every framework.
    ``config`` holds the suite's own settings (sizes, learning rate, seed); only
    these keys may be overridden. ``description`` may name them, as in
    ``"batch {batch}"``. ``full`` and ``quick`` hold the run lengths (rounds, steps,
    warmup, and optionally ``budget_s``: a config stops timing once its timed steps
    took that long, after at least three).
    ``on_request`` holds frameworks that run only when named (in ``frameworks=`` or
    in a plan), because they are slow to start (``torch.compile``) or optional.
    ``accuracy`` is ``"module:function"``; ``function(problem, weights)`` returns
    the test accuracy of exported weights.
    ``metrics`` is ``"module:function"``; ``function(config, median_us)`` returns a
    dict of derived figures for a row (GB/s, GFLOP/s, ...), shown as extra columns.
    ``report_rss`` adds the import's and the run's resident memory to the table.
    ``plan(quick)`` returns the sections ``python -m lessons.bench NAME`` runs
    (default: one table at the suite's own config with its default frameworks).
    ``across_configs(results)``, if given, adds figures that compare the configs of one
    grid (matmul's fraction of the machine's peak) to ``run_grid``'s results.
    """

    name: str
    description: str | Callable[[dict], str]
    frameworks: dict[str, Framework]
    problem: str
    evaluate: str
    config: dict = field(default_factory=dict)
    full: dict = field(default_factory=lambda: {"rounds": 7, "steps": 100, "warmup": 20})
    quick: dict = field(default_factory=lambda: {"rounds": 2, "steps": 20, "warmup": 5})
    check_label: str = "final loss"
    check_note: str = LOSS_NOTE
    on_request: dict[str, Framework] = field(default_factory=dict)
    accuracy: str | None = None
    metrics: str | None = None
    report_rss: bool = False
    plan: Callable[[bool], list[Section]] | None = None
    across_configs: Callable[[list[dict]], object] | None = None

    @property
    def all_frameworks(self) -> dict[str, Framework]:
        """The default frameworks, then those run only on request."""
        return {**self.frameworks, **self.on_request}

    def configure(self, overrides: dict | None = None) -> dict:
        """The suite's config with ``overrides`` applied; unknown keys raise KeyError."""
        overrides = dict(overrides or {})
        unknown = sorted(set(overrides) - set(self.config))
        if unknown:
            raise KeyError(f"suite {self.name!r} has no setting {unknown}; "
                           f"settings: {sorted(self.config)}")
        return {**self.config, **overrides}

    def describe(self, config: dict | None = None) -> str:
        """The description with the settings of ``config`` (default: the suite's).
        ``description`` is a format string, or a function of the config."""
        settings = {**self.config, **(config or {})}
        try:
            if callable(self.description):
                return self.description(settings)
            return self.description.format_map(settings)
        except (KeyError, ValueError, IndexError, AttributeError, TypeError):
            return self.description if isinstance(self.description, str) else self.name

    def sections(self, quick: bool = False) -> list[Section]:
        """The tables the command line runs for this suite."""
        return self.plan(quick) if self.plan is not None else [Section(self.name, [{}])]


@dataclass(frozen=True)
class StandaloneSuite:
    """A suite that measures in its own way, in this process, instead of timing steps
    in worker processes.

    ``run(quick)`` returns the result as a JSON-ready dict, ``format_markdown(result)``
    its table; ``skip_reason()``, if given, says why it cannot run here (None if it can).
    """

    name: str
    description: str
    run: Callable[[bool], dict]
    format_markdown: Callable[[dict], str]
    skip_reason: Callable[[], str | None] | None = None


_registered: dict[str, Suite | StandaloneSuite] = {}


def register_suite(suite: Suite | StandaloneSuite) -> Suite | StandaloneSuite:
    """Add (or replace) a suite in the registry; returns it."""
    _registered[suite.name] = suite
    return suite


def suite_names() -> list[str]:
    """The built-in suites and every registered one, sorted."""
    return sorted(set(BUILTIN_SUITES) | set(_registered))


def _module_path(name: str) -> str:
    return f"{SUITES_PACKAGE}.{name}"


def _load(name: str) -> bool:
    """Import the module of built-in suite ``name`` unless a suite of that name is
    registered already; False if the name is unknown or its module is missing."""
    if name in _registered:
        return True
    if name not in BUILTIN_SUITES or importlib.util.find_spec(_module_path(name)) is None:
        return False
    importlib.import_module(_module_path(name))  # registers its suite on import
    return True


def get_suite(name: str) -> Suite | StandaloneSuite:
    """The suite called ``name``; KeyError if there is none."""
    if not _load(name):
        if name in BUILTIN_SUITES:
            raise KeyError(f"benchmark suite {name!r} is not in this checkout: "
                           f"{_module_path(name)} is missing")
        raise KeyError(f"unknown benchmark suite {name!r}; known: {suite_names()}")
    return _registered[name]


def skip_reason(name: str) -> str | None:
    """Why suite ``name`` cannot run here (unknown, its module missing, or its own
    ``skip_reason()`` says so, e.g. no GPU); None if it can."""
    if not _load(name):
        if name in BUILTIN_SUITES:
            return f"{_module_path(name)} is not in this checkout"
        return f"unknown benchmark suite {name!r}; known: {suite_names()}"
    check = getattr(_registered[name], "skip_reason", None)
    return check() if check is not None else None


def plan(name: str, quick: bool = False) -> list[Section]:
    """The sections ``python -m lessons.bench NAME`` runs for a ``Suite``."""
    suite = get_suite(name)
    if not isinstance(suite, Suite):
        raise TypeError(f"suite {name!r} measures in its own way and has no plan")
    return suite.sections(quick)


def resolve(path: str):
    """Import ``"module:attribute"``."""
    module, _, attr = path.partition(":")
    return getattr(importlib.import_module(module), attr)
