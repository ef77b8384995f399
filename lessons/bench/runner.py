"""Running a suite: fresh worker processes, interleaved rounds, plain-dict results.

How a run works:

1. A *suite* (say ``mlp``) names a few *frameworks*, each with a builder that sets up
   the same problem (data, initial weights, learning rate) in that framework and
   returns a ``step()`` function and an ``export()`` of the final weights. A suite's
   *config* holds its settings (batch, hidden size, ...); a *grid* is a list of
   configs, e.g. batch 16, 64 and 256.
2. The runner runs ``rounds`` rounds. In every round it starts one fresh Python
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
4. The runner pools the per-step times of all rounds (``lessons.bench.stats``) and
   reports the median, min and max, the ratios to PyTorch eager and to NumPy, and the
   loss (and, where the suite has a test set, the accuracy) the training reached, so
   a time is never shown without what it bought.

A framework that cannot run on this machine (``minigrad.compile`` missing, a
``torch.compile`` without a working compiler) raises ``Unavailable`` in its builder;
its row then says *skipped* with the reason instead of failing the run.

Nothing here imports NumPy, PyTorch or TensorFlow: the parent process only starts
workers and does arithmetic on their numbers, so it cannot disturb them.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import queue
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from lessons.bench import stats
from lessons.bench.registry import Suite, get_suite, resolve
from lessons.bench.report import cpu_model, load_average

RESULT_MARKER = "BENCH-RESULT "
THREAD_ENV_VARS = (
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "TF_NUM_INTRAOP_THREADS",
    "TF_NUM_INTEROP_THREADS",
)

ProgressCallback = Callable[[dict], None]


# --- one worker ------------------------------------------------------------------


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


# --- a grid ----------------------------------------------------------------------


def run_lengths(suite: Suite, quick: bool = False, rounds: int | None = None,
                steps: int | None = None, warmup: int | None = None, threads: int = 1,
                base: dict | None = None) -> dict:
    """The rounds, steps, warm-up (and budget) a run of ``suite`` uses: its full or
    quick lengths, then ``base``, then the arguments given; ValueError if out of range."""
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


Cell = tuple[int, str]  # (config index, framework key)


@dataclass
class _Grid:
    """What one call of ``run_grid`` runs, and what its workers have reported so far."""

    suite: Suite
    keys: list[str]
    overrides: list[dict]
    configs: list[dict]
    lengths: dict
    threads: int
    reports: dict[Cell, list[dict]] = field(default_factory=dict)
    errors: dict[Cell, str] = field(default_factory=dict)
    unavailable: dict[Cell, str] = field(default_factory=dict)
    done: int = 0
    stopped: bool = False

    @property
    def cells(self) -> list[Cell]:
        return [(ci, key) for ci in range(len(self.configs)) for key in self.keys]

    def label(self, key: str) -> str:
        return self.suite.all_frameworks[key].label

    def summary(self, cell: Cell) -> dict:
        """The cell's row so far."""
        key = cell[1]
        return stats.summarize(key, self.label(key), self.reports[cell],
                               self.errors.get(cell), self.unavailable.get(cell))


def _grid(suite: Suite, configs: list[dict] | None, frameworks: list[str] | None,
          lengths: dict, threads: int) -> _Grid:
    """Step 1: check the frameworks and configs asked for against the suite."""
    known = suite.all_frameworks
    keys = list(frameworks) if frameworks else list(suite.frameworks)
    unknown = [k for k in keys if k not in known]
    if unknown:
        raise KeyError(f"suite {suite.name!r} has no framework {unknown}; "
                       f"known: {list(known)}")
    overrides = [dict(c) for c in (configs if configs is not None else [{}])]
    if not overrides:
        raise ValueError("configs is empty: give at least one config (or None)")
    grid = _Grid(suite, keys, overrides, [suite.configure(c) for c in overrides], lengths,
                 threads)
    grid.reports = {cell: [] for cell in grid.cells}
    return grid


def _worker_spec(grid: _Grid, key: str, todo: list[int], env: dict) -> dict:
    """What a worker needs to run framework ``key`` at the configs ``todo``."""
    fw = grid.suite.all_frameworks[key]
    return {
        "suite": grid.suite.name,
        "framework": key,
        # the worker resolves these paths itself, so a suite registered at run time
        # (say in a notebook) works as long as its module imports
        "problem": grid.suite.problem,
        "evaluate": grid.suite.evaluate,
        "accuracy": grid.suite.accuracy,
        "build": fw.build,
        "imports": list(fw.imports),
        "traced_memory": fw.traced_memory,
        "configs": [grid.configs[ci] for ci in todo],
        "steps": grid.lengths["steps"],
        "warmup": grid.lengths["warmup"],
        "budget_s": grid.lengths.get("budget_s"),
        "threads": grid.threads,
        "env": env,
    }


def _run_rounds(grid: _Grid, progress: ProgressCallback | None,
                should_stop: Callable[[], bool] | None, timeout: float) -> None:
    """Step 2: every round, one fresh worker per framework, each running every config
    that has not failed yet; the reports land in ``grid``, and ``progress`` hears of
    every cell."""
    total = grid.lengths["rounds"] * len(grid.cells)

    def emit(round_index: int, cell: Cell, **outcome) -> None:
        grid.done += 1
        if progress is None:
            return
        ci, key = cell
        progress({"done": grid.done, "total": total, "round": round_index + 1,
                  "framework": key, "label": grid.label(key), "config_index": ci,
                  "config": grid.configs[ci], "overrides": grid.overrides[ci], **outcome,
                  "summary": grid.summary(cell)})

    # torch.compile caches what it compiled on disk: one empty cache per grid, so the
    # first call of round 1 compiles from scratch and later rounds show a warm cache
    with tempfile.TemporaryDirectory(prefix="bench-inductor-") as cache:
        env = {"TORCHINDUCTOR_CACHE_DIR": os.environ.get("TORCHINDUCTOR_CACHE_DIR", cache)}
        for round_index in range(grid.lengths["rounds"]):
            for key in grid.keys:
                if should_stop is not None and should_stop():
                    grid.stopped = True
                    break
                done_with = grid.errors.keys() | grid.unavailable.keys()
                todo = [ci for ci in range(len(grid.configs)) if (ci, key) not in done_with]
                for ci in range(len(grid.configs)):
                    if (ci, key) in done_with:  # a cell that failed once is not retried
                        emit(round_index, (ci, key), skipped=grid.errors.get((ci, key))
                             or grid.unavailable[(ci, key)])
                if not todo:
                    continue

                def on_report(index: int, report: dict, key=key, todo=todo,
                              round_index=round_index) -> None:
                    cell = (todo[index], key)
                    if "unavailable" in report:
                        grid.unavailable[cell] = report["unavailable"]
                        emit(round_index, cell, unavailable=report["unavailable"])
                    elif "error" in report:
                        grid.errors[cell] = report["error"]
                        emit(round_index, cell, error=report["error"])
                    else:
                        grid.reports[cell].append(report)
                        emit(round_index, cell, versions=report.get("versions", {}),
                             median_us=stats.median_us(report))

                done = stream_worker(_worker_spec(grid, key, todo, env), timeout=timeout,
                                     on_report=on_report, should_stop=should_stop)
                if any(r.get("stopped") for r in done):
                    grid.stopped = True
                    break
            if grid.stopped:
                break


def _environment(grid: _Grid, load_before: float | None) -> dict:
    """Step 3: the versions, libraries and machine the workers ran on."""
    versions = {"python": platform.python_version()}
    libraries: dict[str, str] = {}
    for rep in (r for cell in grid.cells for r in grid.reports[cell]):
        versions.update(rep.get("versions", {}))
        libraries.update(rep.get("libraries", {}))
    return {
        "timestamp": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "versions": versions,
        # the BLAS and kernel libraries each framework calls (numpy.show_config,
        # torch.__config__.show(), TensorFlow's oneDNN switch)
        "libraries": libraries,
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "threads": grid.threads,
        "platform": platform.platform(),
        # 1-minute load average before and after: other work on the machine
        # (a test run, a browser) shows up here and in the max column
        "load_average": [load_before, load_average()],
    }


def _results(grid: _Grid, environment: dict, quick: bool) -> list[dict]:
    """Step 4: one result per config, a row per framework with its ratios and metrics."""
    metrics = resolve(grid.suite.metrics) if grid.suite.metrics else None
    out = []
    for ci, config in enumerate(grid.configs):
        rows = []
        for key in grid.keys:
            row = grid.summary((ci, key))
            if row["error"] is None and grid.stopped and not grid.reports[(ci, key)] \
                    and row["skipped"] is None:
                row["error"] = "stopped before it ran"
            if metrics is not None and row.get("median_us") is not None:
                row["metrics"] = metrics(config, row["median_us"])
            rows.append(row)
        stats.add_ratios(rows)
        out.append({
            "suite": grid.suite.name,
            "description": grid.suite.describe(config),
            "config": config,
            "run": {**grid.lengths, "threads": grid.threads, "quick": quick},
            "check_label": grid.suite.check_label,
            "check_note": grid.suite.check_note,
            "report_rss": grid.suite.report_rss,
            "stopped": grid.stopped,
            "environment": environment,
            "results": rows,
        })
    return out


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
    if not isinstance(suite, Suite):
        raise TypeError(f"suite {suite.name!r} measures in its own way: run it with "
                        f"its own run(quick)")
    lengths = run_lengths(suite, quick, rounds, steps, warmup, threads, lengths)
    grid = _grid(suite, configs, frameworks, lengths, threads)
    load_before = load_average()
    _run_rounds(grid, progress, should_stop, timeout)
    results = _results(grid, _environment(grid, load_before), quick)
    if suite.across_configs is not None:
        suite.across_configs(results)
    return results


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
