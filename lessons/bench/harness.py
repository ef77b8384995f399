"""The benchmark harness: suites, fresh worker processes, statistics, reports.

How a run works:

1. A *suite* (say ``mlp``) names a few *frameworks*, each with a builder that sets up
   the same problem (data, initial weights, learning rate) in that framework and
   returns a ``step()`` function and an ``export()`` of the final weights.
2. The harness runs ``rounds`` rounds. In every round it starts one fresh Python
   process per framework, round-robin (round 1: every framework, round 2: every
   framework, ...), so slow drift of the machine (turbo, other load) spreads over
   all frameworks instead of landing on one.
3. Each worker process (``lessons.bench.worker``) fixes the thread count before
   importing anything heavy, runs ``warmup`` untimed steps, then times ``steps``
   steps one by one and reports the per-step times and the final loss.
4. The harness pools the per-step times of all rounds and reports the median, min
   and max, the ratios to PyTorch eager and to NumPy, and the loss the training
   reached, so a time is never shown without what it bought.

Nothing here imports NumPy, PyTorch or TensorFlow: the parent process only starts
workers and does arithmetic on their numbers, so it cannot disturb them.
"""

from __future__ import annotations

import datetime as _dt
import importlib
import json
import os
import platform
import statistics
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

RESULT_MARKER = "BENCH-RESULT "
THREAD_ENV_VARS = (
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "TF_NUM_INTRAOP_THREADS",
    "TF_NUM_INTEROP_THREADS",
)
REFERENCE_FRAMEWORKS = {"torch": "ratio_to_torch", "numpy": "ratio_to_numpy"}


@dataclass(frozen=True)
class Framework:
    """One contestant of a suite.

    ``build`` is ``"module:function"``, imported only inside the worker process;
    the function is called as ``function(problem, threads)`` and returns
    ``(step, export)``: ``step()`` runs one training step and returns the loss of
    that step (any scalar the framework produces), ``export()`` returns the current
    weights as a dict of NumPy arrays.
    """

    label: str
    build: str


@dataclass(frozen=True)
class Suite:
    """A benchmark: a problem, the frameworks that solve it, and how to run it.

    ``problem`` is ``"module:function"``; ``function(config)`` builds the framework-
    neutral problem (NumPy data and initial weights) in the worker.
    ``evaluate`` is ``"module:function"``; ``function(problem, weights)`` returns the
    loss reached by exported weights, computed the same way for every framework.
    ``config`` holds the suite's own settings (sizes, learning rate, seed);
    ``full`` and ``quick`` hold the run lengths (rounds, steps, warmup).
    """

    name: str
    description: str
    frameworks: dict[str, Framework]
    problem: str
    evaluate: str
    config: dict = field(default_factory=dict)
    full: dict = field(default_factory=lambda: {"rounds": 7, "steps": 100, "warmup": 20})
    quick: dict = field(default_factory=lambda: {"rounds": 2, "steps": 20, "warmup": 5})


# Suites register lazily by module path so that listing them imports nothing heavy.
_SUITE_MODULES: dict[str, str] = {"mlp": "lessons.bench.mlp"}
_SUITES: dict[str, Suite] = {}


def register_suite(suite: Suite) -> Suite:
    """Add (or replace) a suite in the registry; returns it, so it can decorate."""
    _SUITES[suite.name] = suite
    return suite


def suite_names() -> list[str]:
    return sorted(set(_SUITE_MODULES) | set(_SUITES))


def get_suite(name: str) -> Suite:
    if name not in _SUITES and name in _SUITE_MODULES:
        importlib.import_module(_SUITE_MODULES[name])  # registers itself on import
    try:
        return _SUITES[name]
    except KeyError:
        raise KeyError(f"unknown benchmark suite {name!r}; known: {suite_names()}") from None


def resolve(path: str):
    """Import ``"module:attribute"``."""
    module, _, attr = path.partition(":")
    return getattr(importlib.import_module(module), attr)


# --- running ---------------------------------------------------------------------


def thread_env(threads: int) -> dict[str, str]:
    """Environment variables that cap every BLAS/OpenMP pool at ``threads``."""
    return {name: str(threads) for name in THREAD_ENV_VARS}


def _worker_env(threads: int) -> dict[str, str]:
    env = dict(os.environ)
    env.update(thread_env(threads))
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    env["PYTHONHASHSEED"] = "0"
    # the worker must import this very copy of ``lessons``, installed or not
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    return env


def run_worker(spec: dict, timeout: float = 600.0) -> dict:
    """Run one framework for one round in a fresh process; returns its report.

    The report has ``step_ns`` (list of per-step times), ``final_loss``,
    ``last_step_loss`` and ``versions``, or ``error`` if the worker failed.
    """
    cmd = [sys.executable, "-m", "lessons.bench.worker", json.dumps(spec)]
    try:
        proc = subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=_worker_env(spec["threads"]),
        )
    except subprocess.TimeoutExpired:
        return {"error": f"worker timed out after {timeout:.0f} s"}
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(RESULT_MARKER):
            return json.loads(line[len(RESULT_MARKER) :])
    tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-15:])
    return {"error": f"worker exited with status {proc.returncode}:\n{tail}"}


ProgressCallback = Callable[[dict], None]


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
    timeout: float = 600.0,
) -> dict:
    """Benchmark one suite and return the result as a plain, JSON-ready dict.

    ``rounds``/``steps``/``warmup`` default to the suite's full (or, with
    ``quick=True``, quick) settings. ``config`` overrides the suite's own settings
    (e.g. ``{"batch": 32}``). ``progress``, if given, is called after every worker
    with ``{"done", "total", "round", "framework", "label", "median_us"|"error"}``.
    """
    if isinstance(suite, str):
        suite = get_suite(suite)
    lengths = dict(suite.quick if quick else suite.full)
    for key, value in (("rounds", rounds), ("steps", steps), ("warmup", warmup)):
        if value is not None:
            lengths[key] = value
    if lengths["rounds"] < 1 or lengths["steps"] < 1 or lengths["warmup"] < 0:
        raise ValueError(f"need rounds >= 1, steps >= 1, warmup >= 0; got {lengths}")
    if threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    keys = list(frameworks) if frameworks else list(suite.frameworks)
    unknown = [k for k in keys if k not in suite.frameworks]
    if unknown:
        raise KeyError(f"suite {suite.name!r} has no framework {unknown}; known: {list(suite.frameworks)}")
    suite_config = {**suite.config, **(config or {})}

    load_before = _load_average()
    reports: dict[str, list[dict]] = {k: [] for k in keys}
    errors: dict[str, str] = {}
    total, done = lengths["rounds"] * len(keys), 0
    for round_index in range(lengths["rounds"]):
        for key in keys:
            done += 1
            if key in errors:  # a framework that failed once is not retried
                continue
            spec = {
                "suite": suite.name,
                "framework": key,
                # the worker resolves these paths itself, so a suite registered at run
                # time (say in a notebook) works as long as its module is importable
                "problem": suite.problem,
                "evaluate": suite.evaluate,
                "build": suite.frameworks[key].build,
                "config": suite_config,
                "steps": lengths["steps"],
                "warmup": lengths["warmup"],
                "threads": threads,
            }
            report = run_worker(spec, timeout=timeout)
            event = {"done": done, "total": total, "round": round_index + 1,
                     "framework": key, "label": suite.frameworks[key].label}
            if "error" in report:
                errors[key] = report["error"]
                event["error"] = report["error"]
            else:
                reports[key].append(report)
                event["median_us"] = statistics.median(report["step_ns"]) / 1e3
            if progress is not None:
                progress(event)

    results = [_summarize(key, suite.frameworks[key].label, reports[key], errors.get(key))
               for key in keys]
    _add_ratios(results)
    versions = {"python": platform.python_version()}
    for rep in (r for key in keys for r in reports[key]):
        versions.update(rep.get("versions", {}))
    return {
        "suite": suite.name,
        "description": suite.description,
        "config": suite_config,
        "run": {**lengths, "threads": threads, "quick": quick},
        "environment": {
            "timestamp": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
            "versions": versions,
            "cpu": cpu_model(),
            "cpu_count": os.cpu_count(),
            "threads": threads,
            "platform": platform.platform(),
            # 1-minute load average before and after: other work on the machine
            # (a test run, a browser) shows up here and in the max column
            "load_average": [load_before, _load_average()],
        },
        "results": results,
    }


def _summarize(key: str, label: str, reports: list[dict], error: str | None) -> dict:
    result = {"framework": key, "label": label, "error": error}
    if not reports:
        return result
    samples_us = [ns / 1e3 for rep in reports for ns in rep["step_ns"]]
    losses = [rep["final_loss"] for rep in reports]
    result.update(
        median_us=statistics.median(samples_us),
        min_us=min(samples_us),
        max_us=max(samples_us),
        round_medians_us=[statistics.median(rep["step_ns"]) / 1e3 for rep in reports],
        samples=len(samples_us),
        # every timed step, per round, for histograms and plots
        step_us_by_round=[[round(ns / 1e3, 2) for ns in rep["step_ns"]] for rep in reports],
        final_loss=statistics.median(losses),
        final_loss_spread=max(losses) - min(losses),
        last_step_loss=reports[-1]["last_step_loss"],
        thread_pools=reports[-1].get("thread_pools", {}),
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


def _fmt_load(load) -> str:
    if not load or None in load:
        return "unknown"
    return f"{load[0]:.2f} / {load[1]:.2f}"


def format_markdown(result: dict) -> str:
    """The result as a Markdown table with a short header of what was measured."""
    env, run, cfg = result["environment"], result["run"], result["config"]
    versions = ", ".join(f"{k} {v}" for k, v in env["versions"].items())
    lines = [
        f"### {result['suite']}: {result['description']}",
        "",
        f"- {run['rounds']} rounds × {run['steps']} timed steps per framework "
        f"(after {run['warmup']} warm-up steps), {run['threads']} thread(s), "
        f"fresh process per framework per round",
        f"- config: {', '.join(f'{k}={v}' for k, v in cfg.items())}",
        f"- CPU: {env['cpu']} ({env['cpu_count']} logical cores), "
        f"load average before/after: {_fmt_load(env.get('load_average'))}",
        f"- {versions}",
        "",
        "| framework | median µs/step | min µs | max µs | × PyTorch eager | × NumPy | final loss |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in result["results"]:
        if r.get("median_us") is None:
            reason = (r.get("error") or "no result").strip().splitlines()[-1][:80]
            lines.append(f"| {r['label']} | failed: {reason} | | | | | |")
            continue
        lines.append(
            f"| {r['label']} | {r['median_us']:.1f} | {r['min_us']:.1f} | {r['max_us']:.1f} "
            f"| {_fmt(r['ratio_to_torch'], '.2f')} | {_fmt(r['ratio_to_numpy'], '.2f')} "
            f"| {r['final_loss']:.5f} |"
        )
    lines.append("")
    lines.append(
        "final loss: cross-entropy on the whole training set after warm-up + timed steps "
        "from the same initial weights, evaluated by one NumPy function for all frameworks."
    )
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
