"""The benchmark harness: suites, fresh worker processes, statistics, reports.

How a run works:

1. A *suite* (say ``mlp``) names a few *frameworks*, each with a builder that sets up
   the same problem (data, initial weights, learning rate) in that framework and
   returns a ``step()`` function and an ``export()`` of the final weights. A suite's
   *config* holds its settings (batch, hidden size, ...); a *grid* is a list of
   configs, e.g. batch 16, 64 and 256.
2. The harness runs ``rounds`` rounds. In every round it starts one fresh Python
   process per framework, round-robin (round 1: every framework, round 2: every
   framework, ...), so slow drift of the machine (turbo, other load) spreads over
   all frameworks instead of landing on one. A worker runs every config of the grid
   in turn, so a grid costs one framework import per round, not one per config.
3. Each worker process (``lessons.bench.worker``) fixes the thread count before
   importing anything heavy, and for every config builds the problem, runs
   ``warmup`` untimed steps, then times ``steps`` steps one by one and reports the
   per-step times, the final loss and the memory it took, one line per config as
   soon as that config is done (so a live chart can fill in).
   The first call of a step is timed on its own (it holds the tracing of
   ``tf.function``, ``torch.compile`` and ``minigrad.compile``) and is not part of
   the steady-state figures. The worker also reads its resident memory after the
   framework's import and its peak during the run, so a suite can report the memory
   a run adds on top of the import.
4. The harness pools the per-step times of all rounds and reports the median, min
   and max, the ratios to PyTorch eager and to NumPy, and the loss (and, where the
   suite has a test set, the accuracy) the training reached, so a time is never
   shown without what it bought.

A framework that cannot run on this machine (``minigrad.compile`` missing, a
``torch.compile`` without a working compiler) raises ``Unavailable`` in its builder;
its row then says *skipped* with the reason instead of failing the run.

Nothing here imports NumPy, PyTorch or TensorFlow: the parent process only starts
workers and does arithmetic on their numbers, so it cannot disturb them.
"""

from __future__ import annotations

import datetime as _dt
import importlib
import importlib.util
import json
import os
import platform
import queue
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

# the suites' builders and lesson 08 import these from the harness too
from lessons.frameworks import tensorflow_with_threads, torch_with_threads  # noqa: F401

RESULT_MARKER = "BENCH-RESULT "
THREAD_ENV_VARS = (
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "TF_NUM_INTRAOP_THREADS",
    "TF_NUM_INTEROP_THREADS",
)
REFERENCE_FRAMEWORKS = {"torch": "ratio_to_torch", "numpy": "ratio_to_numpy"}
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


# Suites register lazily by module path so that listing them imports nothing heavy.
_SUITE_MODULES: dict[str, str] = {
    name: f"lessons.bench.{name}" for name in ("ops", "matmul", "mlp", "cnn", "memory", "gpu")
}
_SUITES: dict[str, Suite] = {}


def register_suite(suite: Suite) -> Suite:
    """Add (or replace) a suite in the registry; returns it, so it can decorate."""
    _SUITES[suite.name] = suite
    return suite


def suite_names() -> list[str]:
    return sorted(set(_SUITE_MODULES) | set(_SUITES))


def _suite_module(name: str):
    """The module that registers suite ``name``; None if it is not in this checkout."""
    path = _SUITE_MODULES.get(name)
    if path is None or importlib.util.find_spec(path) is None:
        return None
    return importlib.import_module(path)  # registers its suite on import


def get_suite(name: str) -> Suite:
    if name not in _SUITES and name in _SUITE_MODULES:
        if _suite_module(name) is None:
            raise KeyError(f"benchmark suite {name!r} is not in this checkout: "
                           f"{_SUITE_MODULES[name]} is missing")
    try:
        return _SUITES[name]
    except KeyError:
        raise KeyError(f"unknown benchmark suite {name!r}; known: {suite_names()}") from None


@dataclass(frozen=True)
class Section:
    """One table of a benchmark run: a suite at some configs, with some frameworks
    (None: the suite's defaults) and run lengths (None: the suite's full or quick)."""

    suite: str
    configs: list[dict]
    frameworks: list[str] | None = None
    lengths: dict | None = None
    title: str = ""


def skip_reason(name: str) -> str | None:
    """Why suite ``name`` cannot run here (its module missing, or its module's
    ``skip_reason()`` says so, e.g. no GPU); None if it can."""
    if name in _SUITES:
        return None
    if name not in _SUITE_MODULES:
        return f"unknown benchmark suite {name!r}; known: {suite_names()}"
    module = _suite_module(name)
    if module is None:
        return f"{_SUITE_MODULES[name]} is not in this checkout"
    check = getattr(module, "skip_reason", None)
    return check() if check is not None else None


def plan(name: str, quick: bool = False) -> list[Section]:
    """The sections ``python -m lessons.bench NAME`` runs: the suite module's
    ``plan(quick)`` if it has one, else the suite's own config with its defaults."""
    suite = get_suite(name)
    module = _suite_module(name) if name in _SUITE_MODULES else None
    make = getattr(module, "plan", None)
    return make(quick) if make is not None else [Section(suite.name, [{}])]


def resolve(path: str):
    """Import ``"module:attribute"``."""
    module, _, attr = path.partition(":")
    return getattr(importlib.import_module(module), attr)


# --- running ---------------------------------------------------------------------


def thread_env(threads: int) -> dict[str, str]:
    """Environment variables that cap every BLAS/OpenMP pool at ``threads``."""
    return {name: str(threads) for name in THREAD_ENV_VARS}


def _worker_env(threads: int, extra: dict | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.update(thread_env(threads))
    env.update(extra or {})
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    env["PYTHONHASHSEED"] = "0"
    # the worker must import this very copy of ``lessons``, installed or not
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    return env


def _pump(stream, lines: queue.Queue) -> None:
    """Hand the worker's stdout to the parent line by line; None marks the end."""
    for line in stream:
        lines.put(line)
    lines.put(None)


def stream_worker(
    spec: dict,
    timeout: float = 600.0,
    *,
    on_report: Callable[[int, dict], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> list[dict]:
    """Run one framework for one round, over every config of ``spec["configs"]``, in
    a fresh process; returns one report per config, in order.

    ``on_report(index, report)`` is called as each config's report arrives. A
    report has ``step_ns`` (list of per-step times), ``final_loss``,
    ``last_step_loss``, ``memory_mb``, ``peak_rss_mb`` and ``versions``, or
    ``error``. A worker that reports nothing for ``timeout`` seconds is killed, and
    so is one running when ``should_stop()`` turns true (its missing reports then
    say ``"stopped": True``).
    """
    count = len(spec["configs"])
    reports: list[dict | None] = [None] * count
    cmd = [sys.executable, "-m", "lessons.bench.worker", json.dumps(spec)]
    failure = None
    # stderr goes to a file, not a pipe: a chatty framework cannot fill a pipe nobody
    # reads and hang the worker
    with tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace") as stderr:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=stderr, text=True,
                                encoding="utf-8", errors="replace",
                                env=_worker_env(spec["threads"], spec.get("env")))
        lines: queue.Queue = queue.Queue()
        threading.Thread(target=_pump, args=(proc.stdout, lines), daemon=True).start()
        deadline = time.monotonic() + timeout
        try:
            while True:
                try:
                    line = lines.get(timeout=0.1)
                except queue.Empty:
                    if should_stop is not None and should_stop():
                        failure = "stopped"
                    elif time.monotonic() > deadline:
                        failure = f"worker timed out: no report for {timeout:.0f} s"
                    else:
                        continue
                    proc.kill()
                    break
                if line is None:
                    break
                if line.startswith(RESULT_MARKER):
                    report = json.loads(line[len(RESULT_MARKER):])
                    index = report.pop("index", 0)
                    reports[index] = report
                    deadline = time.monotonic() + timeout
                    if on_report is not None:
                        on_report(index, report)
        except BaseException:  # Ctrl-C, or a progress callback that failed: no orphan
            proc.kill()
            proc.wait()
            raise
        returncode = proc.wait()
        proc.stdout.close()
        stderr.seek(0)
        err_text = stderr.read()
    if failure is None and None in reports:
        tail = "\n".join(err_text.strip().splitlines()[-15:])
        failure = f"worker exited with status {returncode}:\n{tail}"
    for index, report in enumerate(reports):
        if report is None:
            reports[index] = ({"error": "stopped", "stopped": True} if failure == "stopped"
                              else {"error": failure})
            if on_report is not None and failure != "stopped":
                on_report(index, reports[index])
    return reports


def run_worker(spec: dict, timeout: float = 600.0) -> dict:
    """Run one framework for one round of one config (``spec["config"]``) in a fresh
    process; returns its report (see ``stream_worker``)."""
    spec = {k: v for k, v in spec.items() if k != "config"} | {"configs": [spec["config"]]}
    return stream_worker(spec, timeout)[0]


ProgressCallback = Callable[[dict], None]


def _lengths(suite: Suite, quick: bool, rounds, steps, warmup, threads,
             base: dict | None = None) -> dict:
    lengths = dict(suite.quick if quick else suite.full)
    lengths.update(base or {})
    for key, value in (("rounds", rounds), ("steps", steps), ("warmup", warmup)):
        if value is not None:
            lengths[key] = value
    if lengths["rounds"] < 1 or lengths["steps"] < 1 or lengths["warmup"] < 0:
        raise ValueError(f"need rounds >= 1, steps >= 1, warmup >= 0; got {lengths}")
    if threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    return lengths


def run_grid(
    suite: str | Suite = "mlp",
    configs: list[dict] | None = None,
    *,
    frameworks: list[str] | None = None,
    rounds: int | None = None,
    steps: int | None = None,
    warmup: int | None = None,
    threads: int = 1,
    quick: bool = False,
    progress: ProgressCallback | None = None,
    should_stop: Callable[[], bool] | None = None,
    timeout: float = 600.0,
    lengths: dict | None = None,
) -> list[dict]:
    """Benchmark one suite at several configs; returns one result per config (each
    what ``run_suite`` returns for that config).

    ``configs`` is a list of overrides of the suite's settings, e.g.
    ``[{"batch": 16}, {"batch": 64}]`` (default: one run at the suite's own).
    ``frameworks`` may name the suite's defaults and its ``on_request`` ones.
    ``lengths`` replaces the suite's full/quick run lengths (``rounds``, ``steps``,
    ``warmup``, ``budget_s``); the ``rounds``/``steps``/``warmup`` arguments win over it.
    Rounds are interleaved across frameworks; inside a round a framework's worker
    runs every config in turn. ``progress``, if given, is called once per cell
    (framework × config) per round with ``{"done", "total", "round", "framework",
    "label", "config_index", "config", "overrides", "summary"}`` plus
    ``"median_us"``, ``"error"``, ``"unavailable"`` or ``"skipped"`` (a cell that
    failed or was unavailable in an earlier round is not run again); ``summary`` is
    the cell's result so far, so a chart can fill in while the run goes on.
    ``should_stop()`` is asked while workers run; when it turns true the running
    worker is killed, no other starts, and every result says ``"stopped": True``.
    """
    if isinstance(suite, str):
        suite = get_suite(suite)
    lengths = _lengths(suite, quick, rounds, steps, warmup, threads, lengths)
    known = suite.all_frameworks
    keys = list(frameworks) if frameworks else list(suite.frameworks)
    unknown = [k for k in keys if k not in known]
    if unknown:
        raise KeyError(f"suite {suite.name!r} has no framework {unknown}; "
                       f"known: {list(known)}")
    overrides = [dict(c) for c in (configs if configs is not None else [{}])]
    if not overrides:
        raise ValueError("configs is empty: give at least one config (or None)")
    full_configs = [suite.configure(c) for c in overrides]

    load_before = _load_average()
    cells = [(ci, key) for ci in range(len(full_configs)) for key in keys]
    reports: dict[tuple[int, str], list[dict]] = {cell: [] for cell in cells}
    errors: dict[tuple[int, str], str] = {}
    unavailable: dict[tuple[int, str], str] = {}
    total = lengths["rounds"] * len(cells)
    state = {"done": 0, "stopped": False}

    def summary(ci: int, key: str) -> dict:
        return _summarize(key, known[key].label, reports[(ci, key)], errors.get((ci, key)),
                          unavailable.get((ci, key)))

    def emit(round_index: int, ci: int, key: str, **outcome) -> None:
        state["done"] += 1
        if progress is None:
            return
        progress({"done": state["done"], "total": total, "round": round_index + 1,
                  "framework": key, "label": known[key].label, "config_index": ci,
                  "config": full_configs[ci], "overrides": overrides[ci], **outcome,
                  "summary": summary(ci, key)})

    # torch.compile caches what it compiled on disk: one empty cache per grid, so the
    # first call of round 1 compiles from scratch and later rounds show a warm cache
    with tempfile.TemporaryDirectory(prefix="bench-inductor-") as cache:
        env = {"TORCHINDUCTOR_CACHE_DIR": os.environ.get("TORCHINDUCTOR_CACHE_DIR", cache)}
        for round_index in range(lengths["rounds"]):
            for key in keys:
                if should_stop is not None and should_stop():
                    state["stopped"] = True
                    break
                done_with = errors.keys() | unavailable.keys()
                todo = [ci for ci in range(len(full_configs)) if (ci, key) not in done_with]
                for ci in range(len(full_configs)):
                    if (ci, key) in done_with:  # a cell that failed once is not retried
                        emit(round_index, ci, key, skipped=errors.get((ci, key))
                             or unavailable[(ci, key)])
                if not todo:
                    continue
                fw = known[key]
                spec = {
                    "suite": suite.name,
                    "framework": key,
                    # the worker resolves these paths itself, so a suite registered at
                    # run time (say in a notebook) works as long as its module imports
                    "problem": suite.problem,
                    "evaluate": suite.evaluate,
                    "accuracy": suite.accuracy,
                    "build": fw.build,
                    "imports": list(fw.imports),
                    "traced_memory": fw.traced_memory,
                    "configs": [full_configs[ci] for ci in todo],
                    "steps": lengths["steps"],
                    "warmup": lengths["warmup"],
                    "budget_s": lengths.get("budget_s"),
                    "threads": threads,
                    "env": env,
                }

                def on_report(index: int, report: dict, key=key, todo=todo,
                              round_index=round_index) -> None:
                    ci = todo[index]
                    if "unavailable" in report:
                        unavailable[(ci, key)] = report["unavailable"]
                        emit(round_index, ci, key, unavailable=report["unavailable"])
                    elif "error" in report:
                        errors[(ci, key)] = report["error"]
                        emit(round_index, ci, key, error=report["error"])
                    else:
                        reports[(ci, key)].append(report)
                        emit(round_index, ci, key, versions=report.get("versions", {}),
                             median_us=statistics.median(report["step_ns"]) / 1e3)

                done = stream_worker(spec, timeout=timeout, on_report=on_report,
                                     should_stop=should_stop)
                if any(r.get("stopped") for r in done):
                    state["stopped"] = True
                    break
            if state["stopped"]:
                break

    versions = {"python": platform.python_version()}
    libraries: dict[str, str] = {}
    for rep in (r for cell in cells for r in reports[cell]):
        versions.update(rep.get("versions", {}))
        libraries.update(rep.get("libraries", {}))
    environment = {
        "timestamp": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "versions": versions,
        # the BLAS and kernel libraries each framework calls (numpy.show_config,
        # torch.__config__.show(), TensorFlow's oneDNN switch)
        "libraries": libraries,
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "threads": threads,
        "platform": platform.platform(),
        # 1-minute load average before and after: other work on the machine
        # (a test run, a browser) shows up here and in the max column
        "load_average": [load_before, _load_average()],
    }
    metrics = resolve(suite.metrics) if suite.metrics else None
    out = []
    for ci, config in enumerate(full_configs):
        results = []
        for key in keys:
            row = summary(ci, key)
            if row["error"] is None and state["stopped"] and not reports[(ci, key)] \
                    and row["skipped"] is None:
                row["error"] = "stopped before it ran"
            if metrics is not None and row.get("median_us") is not None:
                row["metrics"] = metrics(config, row["median_us"])
            results.append(row)
        _add_ratios(results)
        out.append({
            "suite": suite.name,
            "description": suite.describe(config),
            "config": config,
            "run": {**lengths, "threads": threads, "quick": quick},
            "check_label": suite.check_label,
            "check_note": suite.check_note,
            "report_rss": suite.report_rss,
            "stopped": state["stopped"],
            "environment": environment,
            "results": results,
        })
    return out


def run_suite(
    suite: str | Suite = "mlp",
    *,
    frameworks: list[str] | None = None,
    rounds: int | None = None,
    steps: int | None = None,
    warmup: int | None = None,
    threads: int = 1,
    quick: bool = False,
    config: dict | None = None,
    progress: ProgressCallback | None = None,
    should_stop: Callable[[], bool] | None = None,
    timeout: float = 600.0,
    lengths: dict | None = None,
) -> dict:
    """Benchmark one suite and return the result as a plain, JSON-ready dict.

    ``rounds``/``steps``/``warmup`` default to the suite's full (or, with
    ``quick=True``, quick) settings. ``config`` overrides the suite's own settings
    (e.g. ``{"batch": 32}``; unknown keys raise KeyError). ``progress``, if given, is
    called after every worker with ``{"done", "total", "round", "framework",
    "label", "median_us"|"error"|"unavailable"|"skipped", ...}`` (see ``run_grid``,
    which also runs several configs).
    """
    return run_grid(suite, [config or {}], frameworks=frameworks, rounds=rounds,
                    steps=steps, warmup=warmup, threads=threads, quick=quick,
                    progress=progress, should_stop=should_stop, timeout=timeout,
                    lengths=lengths)[0]


def _median_or_none(values: list):
    return statistics.median(values) if values and None not in values else None


def _summarize(key: str, label: str, reports: list[dict], error: str | None,
               skipped: str | None = None) -> dict:
    result = {"framework": key, "label": label, "error": error, "skipped": skipped}
    if not reports:
        return result
    samples_us = [ns / 1e3 for rep in reports for ns in rep["step_ns"]]
    losses = [rep["final_loss"] for rep in reports]
    peaks = [rep.get("peak_rss_mb") for rep in reports]
    result.update(
        median_us=statistics.median(samples_us),
        min_us=min(samples_us),
        max_us=max(samples_us),
        round_medians_us=[statistics.median(rep["step_ns"]) / 1e3 for rep in reports],
        samples=len(samples_us),
        # every timed step, per round, for histograms and plots
        step_us_by_round=[[round(ns / 1e3, 2) for ns in rep["step_ns"]] for rep in reports],
        # the first call of each round, timed apart: tracing/compiling lands here
        first_call_ms_by_round=[rep.get("first_call_ms") for rep in reports],
        build_ms=_median_or_none([rep.get("build_ms") for rep in reports]),
        final_loss=statistics.median(losses),
        final_loss_spread=max(losses) - min(losses),
        last_step_loss=reports[-1]["last_step_loss"],
        accuracy=_median_or_none([rep.get("accuracy") for rep in reports]),
        thread_pools=reports[-1].get("thread_pools", {}),
        # peak memory one step allocates (where tracemalloc sees the framework's
        # arrays, else None) and the worker process's peak resident memory
        memory_mb=_median_or_none([rep.get("memory_mb") for rep in reports]),
        peak_rss_mb=max(peaks) if None not in peaks else None,
        # resident memory the framework's import added, and the peak the run (build,
        # warm-up and timed steps) added on top of that post-import baseline
        import_mb=_median_or_none([rep.get("import_mb") for rep in reports]),
        run_peak_mb=_median_or_none([rep.get("run_peak_mb") for rep in reports]),
    )
    return result


def _add_ratios(results: list[dict]) -> None:
    medians = {r["framework"]: r.get("median_us") for r in results}
    for r in results:
        for ref, name in REFERENCE_FRAMEWORKS.items():
            ok = r.get("median_us") is not None and medians.get(ref)
            r[name] = r["median_us"] / medians[ref] if ok else None


# --- environment -----------------------------------------------------------------


def _load_average() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):  # not available on Windows
        return None


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


# --- reports ---------------------------------------------------------------------


def _fmt(value, spec: str) -> str:
    return "—" if value is None else format(value, spec)


def format_check(value) -> str:
    """A loss with five decimals (as in the README's table); a tiny error as 1.2e-07."""
    if value is None:
        return "—"
    return f"{value:.5f}" if value == 0 or 1e-3 <= abs(value) < 1e5 else f"{value:.3g}"


def _fmt_load(load) -> str:
    if not load or None in load:
        return "unknown"
    return f"{load[0]:.2f} / {load[1]:.2f}"


def format_markdown(result: dict) -> str:
    """The result as a Markdown table with a short header of what was measured.

    Columns that no row fills (accuracy, derived metrics, step memory) are left out;
    the first call is always shown, apart from the steady-state figures."""
    env, run, cfg = result["environment"], result["run"], result["config"]
    versions = ", ".join(f"{k} {v}" for k, v in env["versions"].items())
    check = result.get("check_label", "final loss")
    rows = result["results"]
    budget = f", at most {run['budget_s']:g} s of timed steps per config" \
        if run.get("budget_s") else ""
    lines = [
        f"### {result['suite']}: {result['description']}",
        "",
        f"- {run['rounds']} rounds × {run['steps']} timed steps per framework "
        f"(after {max(run['warmup'], 1)} untimed warm-up step(s), the first call among "
        f"them{budget}), "
        f"{run['threads']} thread(s), fresh process per framework per round",
        f"- config: {', '.join(f'{k}={v}' for k, v in cfg.items())}",
        f"- CPU: {env['cpu']} ({env['cpu_count']} logical cores), "
        f"load average before/after: {_fmt_load(env.get('load_average'))}",
        f"- {versions}",
    ]
    if result.get("stopped"):
        lines.append("- **stopped before the end**: rows may hold fewer rounds")
    metric_names = list(dict.fromkeys(k for r in rows for k in (r.get("metrics") or {})))
    optional = [(name, None) for name in metric_names]
    if any(r.get("accuracy") is not None for r in rows):
        optional.insert(0, ("test accuracy", "accuracy"))
    if any(r.get("memory_mb") is not None for r in rows):
        optional.append(("step memory MB", "memory_mb"))
    if result.get("report_rss"):
        optional += [("import +MB", "import_mb"), ("run peak +MB", "run_peak_mb")]
    head = ["framework", "median µs/step", "min µs", "max µs", "× PyTorch eager", "× NumPy",
            "first call ms", check] + [name for name, _ in optional]
    lines += ["", "| " + " | ".join(head) + " |",
              "|---|" + "---:|" * (len(head) - 1)]
    blanks = " |" * (len(head) - 1)
    for r in rows:
        if r.get("median_us") is None:
            if r.get("skipped"):
                reason = "skipped: " + r["skipped"].strip().splitlines()[-1][:100]
            else:
                reason = "failed: " + (r.get("error") or "no result").strip().splitlines()[-1][:80]
            lines.append(f"| {r['label']} | {reason}{blanks}")
            continue
        first = r.get("first_call_ms_by_round") or [None]
        cells = [r["label"], f"{r['median_us']:.1f}", f"{r['min_us']:.1f}", f"{r['max_us']:.1f}",
                 _fmt(r["ratio_to_torch"], ".2f"), _fmt(r["ratio_to_numpy"], ".2f"),
                 _fmt(first[0], ".3g" if first[0] is None or first[0] < 100 else ".0f"),
                 format_check(r["final_loss"])]
        for name, key in optional:
            if key is None:
                value = (r.get("metrics") or {}).get(name)
                cells.append(str(value) if isinstance(value, int) else _fmt(value, ".3g"))
            elif key == "accuracy":
                cells.append("—" if r.get(key) is None else f"{100 * r[key]:.1f}%")
            else:
                cells.append(_fmt(r.get(key), ".3g"))
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines.append(result.get("check_note", LOSS_NOTE))
    lines.append("first call: the step's first call in round 1, before warm-up, with empty "
                 "caches (tracing and compiling happen there); not part of the median.")
    if any(key == "memory_mb" for _, key in optional):
        lines.append("step memory: peak that one step allocates, as tracemalloc sees it "
                     "(NumPy arrays and Python objects; — where the framework allocates "
                     "outside it).")
    if result.get("report_rss"):
        lines.append("import +MB: resident memory the framework's import added; run peak "
                     "+MB: peak resident memory of the run over the post-import baseline.")
    return "\n".join(lines)


def default_filename(result: dict) -> str:
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return f"{result['suite']}-t{result['run']['threads']}-{stamp}.json"


def save_json(result: dict, out: str | os.PathLike = "bench-results") -> Path:
    """Write ``result`` as JSON. ``out`` is a ``.json`` file or a directory (a
    timestamped file name is chosen there). Returns the path written."""
    out = Path(out)
    path = out if out.suffix == ".json" else out / default_filename(result)
    stem, n = path.stem, 1
    while out.suffix != ".json" and path.exists():  # two runs within one second
        n += 1
        path = path.with_name(f"{stem}-{n}.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return path
