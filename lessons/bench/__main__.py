"""Command line: ``python -m lessons.bench [SUITE ...|all] [--quick] [--threads 1,2] ...``.

Each suite runs its plan (``registry.plan``): one or more tables, every framework in
fresh processes, rounds interleaved, at every thread count of ``--threads``. While it
runs, a progress bar (or, when stderr is not a terminal, one line per cell) goes to
stderr; each table goes to stdout as Markdown as soon as it is done; at the end come
minigrad's targets, and the run is saved in its own folder under ``--out``:
``results.json`` (every figure, with versions, CPU and BLAS), ``report.md`` (the
tables) and the plots (PNG).

``--set KEY=VALUE`` changes a setting of the suite and replaces its plan by one
table per config; ``--set batch=16,64,256`` runs a grid.
"""

from __future__ import annotations

import argparse
import itertools
import json
import shutil
import sys
import time
from pathlib import Path

from lessons.bench import report, targets
from lessons.bench.registry import (
    BUILTIN_SUITES,
    Section,
    StandaloneSuite,
    get_suite,
    plan,
    skip_reason,
    suite_names,
)
from lessons.bench.report import format_markdown
from lessons.bench.runner import run_grid, run_lengths


def _thread_counts(text: str) -> list[int]:
    try:
        counts = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        counts = []
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError(f"expected N or N,M,... with N >= 1, got {text!r}")
    return counts


def _value(text: str):
    """``16`` -> 16, ``0.1`` -> 0.1, ``true`` or ``True`` -> True, anything else stays a
    string."""
    if text in ("True", "False"):
        return text == "True"
    try:
        return json.loads(text)
    except ValueError:
        return text


def _setting(text: str) -> tuple[str, list]:
    key, sep, values = text.partition("=")
    if not sep or not key.strip() or not values.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE or KEY=V1,V2,..., got {text!r}")
    return key.strip(), [_value(v.strip()) for v in values.split(",") if v.strip()]


def grid(settings: list[tuple[str, list]]) -> list[dict]:
    """Every combination of the settings' values, the last key varying fastest."""
    if not settings:
        return [{}]
    keys = [key for key, _ in settings]
    return [dict(zip(keys, combo)) for combo in itertools.product(*(v for _, v in settings))]


class Progress:
    """Progress of the whole run on stderr: a tqdm bar on a terminal, else one line
    per cell (framework × config × round), which logs keep readable."""

    def __init__(self, total: int, mode: str):
        self.total, self.done, self.bar = total, 0, None
        self.mode = mode
        if mode == "auto":
            self.mode = "bar" if sys.stderr.isatty() else "lines"
        if self.mode == "bar":
            try:
                from tqdm import tqdm
            except ImportError:  # tqdm comes with the frameworks extra; lines do too
                self.mode = "lines"
            else:
                self.bar = tqdm(total=total, unit="cell", file=sys.stderr, dynamic_ncols=True)

    def section(self, text: str) -> None:
        if self.bar is not None:
            self.bar.set_description(text)
        elif self.mode == "lines":
            print(f"== {text}", file=sys.stderr, flush=True)

    def __call__(self, event: dict) -> None:
        self.done += 1
        where = " ".join(f"{k}={v}" for k, v in event.get("overrides", {}).items())
        head = f"round {event['round']} {event['label']}{' ' + where if where else ''}"
        if "error" in event:
            outcome = f"FAILED ({event['error'].strip().splitlines()[-1]})"
        elif "unavailable" in event:
            outcome = f"skipped ({event['unavailable']})"
        elif "skipped" in event:
            outcome = "skipped (failed or unavailable before)"
        else:
            outcome = f"{event['median_us']:.1f} µs/step"
        if self.bar is not None:
            self.bar.set_postfix_str(f"{head}: {outcome}"[:60])
            self.bar.update(1)
        elif self.mode == "lines":
            width = len(str(self.total))
            print(f"[{self.done:>{width}}/{self.total}] {head}: {outcome}", file=sys.stderr,
                  flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _sections(names: list[str], args, configs: list[dict]) -> list[Section]:
    sections = []
    for name in names:
        planned = plan(name, args.quick)
        if args.settings:  # one table per config of the grid, every planned framework
            keys = list(dict.fromkeys(k for s in planned for k in (s.frameworks or [])))
            planned = [Section(name, configs, keys or None, planned[0].lengths)]
        if args.frameworks:
            suite = get_suite(name)
            unknown = [k for k in args.frameworks if k not in suite.all_frameworks]
            if unknown:
                raise KeyError(f"suite {name!r} has no framework {unknown}; "
                               f"known: {list(suite.all_frameworks)}")
            planned = [Section(s.suite, s.configs, list(args.frameworks), s.lengths, s.title)
                       for s in planned]
        sections += planned
    return sections


def _cells(section: Section, args, threads: int) -> int:
    suite = get_suite(section.suite)
    lengths = run_lengths(suite, args.quick, args.rounds, args.steps, args.warmup, threads,
                          section.lengths)
    keys = section.frameworks or list(suite.frameworks)
    return lengths["rounds"] * len(section.configs) * len(keys)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m lessons.bench",
        description="Benchmark minigrad, PyTorch (eager, torch.compile), TensorFlow (eager, "
        "tf.function) and NumPy: every framework in fresh processes, interleaved rounds, "
        "warm-up excluded, first call reported apart, threads fixed. Prints Markdown "
        "tables and saves JSON and plots.",
    )
    parser.add_argument("suites", nargs="*", metavar="SUITE",
                        help=f"suites to run: {', '.join(BUILTIN_SUITES)} or all (the default)")
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run: one round of a few steps, smaller plans, 1 thread")
    parser.add_argument("--threads", type=_thread_counts,
                        help="thread counts, e.g. 1 or 1,2 (default 1,2; 1 with --quick)")
    parser.add_argument("--rounds", type=int, help="rounds (fresh processes per framework)")
    parser.add_argument("--steps", type=int, help="timed steps per process")
    parser.add_argument("--warmup", type=int, help="untimed steps before timing")
    parser.add_argument("--frameworks", type=lambda t: [k for k in t.split(",") if k],
                        help="comma-separated subset, e.g. torch,numpy")
    parser.add_argument("--set", dest="settings", type=_setting, action="append", default=[],
                        metavar="KEY=VALUE[,VALUE...]",
                        help="change a setting of the suite (see --list); several values "
                        "make a grid, e.g. --set batch=16,64,256")
    parser.add_argument("--out", default="bench-results",
                        help="folder that receives one sub-folder per run (default "
                        "bench-results)")
    parser.add_argument("--no-save", action="store_true", help="write no files")
    parser.add_argument("--no-plots", action="store_true", help="draw no plots")
    parser.add_argument("--plots-to", metavar="DIR",
                        help="also copy the plots there (e.g. docs/bench)")
    parser.add_argument("--progress", choices=("auto", "bar", "lines", "none"), default="auto",
                        help="progress on stderr: a bar, one line per cell, or nothing "
                        "(default: a bar on a terminal, else lines)")
    parser.add_argument("--list", action="store_true", help="list suites and frameworks")
    args = parser.parse_args(argv)

    names = args.suites or ["all"]
    if "all" in names:
        names = [n for n in dict.fromkeys(n for name in names
                                          for n in (BUILTIN_SUITES if name == "all" else [name]))]
    unknown = [n for n in names if n not in suite_names()]
    if unknown:
        parser.error(f"unknown suite {unknown}; known: {', '.join(BUILTIN_SUITES)}, all")
    skipped = {}
    for name in names:
        reason = skip_reason(name)
        if reason:
            skipped[name] = reason
    names = [n for n in names if n not in skipped]
    # suites that measure in their own way (gpu) run after the others, each on its own
    others = {n: suite for n, suite in ((n, get_suite(n)) for n in names)
              if isinstance(suite, StandaloneSuite)}
    names = [n for n in names if n not in others]
    configs = grid(args.settings)
    threads_list = args.threads or ([1] if args.quick else [1, 2])
    try:
        for name in names:
            for config in configs:
                get_suite(name).configure(config)
        sections = _sections(names, args, configs)
        total = sum(_cells(s, args, t) for s in sections for t in threads_list)
    except (KeyError, ValueError) as exc:
        parser.error(exc.args[0])
    if args.list:
        for name in names:
            suite = get_suite(name)
            print(f"{suite.name}: {suite.describe()}")
            print(f"  settings: {', '.join(f'{k}={v}' for k, v in suite.config.items())}")
            for key, fw in suite.all_frameworks.items():
                extra = " (on request)" if key in suite.on_request else ""
                print(f"  {key:17s} {fw.label}{extra}")
        for name, suite in others.items():
            print(f"{name}: {suite.description} (measured in its own way)")
        for name, reason in skipped.items():
            print(f"{name}: skipped: {reason}")
        return 0
    for name, reason in skipped.items():
        print(f"{name}: skipped: {reason}", flush=True)

    started = time.monotonic()
    progress = Progress(total, args.progress)
    results, failed, tables, other_results = [], False, [], {}
    try:
        for section in sections:
            for threads in threads_list:
                title = f"{section.suite}{' ' + section.title if section.title else ''}, " \
                        f"{threads} thread(s)"
                progress.section(title)
                done = run_grid(section.suite, section.configs, frameworks=section.frameworks,
                                rounds=args.rounds, steps=args.steps, warmup=args.warmup,
                                threads=threads, quick=args.quick, progress=progress,
                                lengths=section.lengths)
                for result in done:
                    result["section"] = section.title
                    table = format_markdown(result)
                    tables.append(table)
                    print(table + "\n", flush=True)
                    failed |= any(r.get("error") for r in result["results"])
                results += done
        for name, suite in others.items():
            progress.section(name)
            other_results[name] = suite.run(args.quick)
            table = suite.format_markdown(other_results[name])
            tables.append(f"### {name}\n\n{table}")
            print(tables[-1] + "\n", flush=True)
    finally:
        progress.close()
    target_rows = targets.targets(results)
    target_table = targets.format_targets(target_rows)
    if target_table:
        print(target_table + "\n", flush=True)
    duration = time.monotonic() - started
    if results or other_results:
        print(f"run took {duration / 60:.1f} min", flush=True)
    if args.no_save or not (results or other_results):
        return 1 if failed else 0

    folder = report.run_folder(args.out, names + list(others), args.quick)
    record = {
        "command": ["python", "-m", "lessons.bench", *(argv if argv is not None else sys.argv[1:])],
        "quick": args.quick,
        "threads": threads_list,
        "duration_s": round(duration, 1),
        "environment": report.environment(results),
        "skipped": skipped,
        "targets": target_rows,
        "results": results,
        # suites that measure in their own way (gpu), each its own dict
        "other_suites": other_results,
    }
    path = report.save_run(folder, record)
    (folder / "report.md").write_text("\n\n".join(
        [*(f"{n}: skipped: {r}" for n, r in skipped.items()), *tables, target_table]) + "\n",
        encoding="utf-8")
    print(f"JSON: {path}", flush=True)
    if not args.no_plots:
        from lessons.bench.plots import save_plots

        for png in save_plots(results, folder):
            print(f"plot: {png}", flush=True)
            if args.plots_to:
                Path(args.plots_to).mkdir(parents=True, exist_ok=True)
                shutil.copy(png, args.plots_to)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
