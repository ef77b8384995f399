"""Command line: ``python -m lessons.bench [SUITE ...] [--quick] [--threads N] ...``.

``--set KEY=VALUE`` changes a setting of the suite; ``--set batch=16,64,256`` runs a
grid, one table (and one JSON file) per config.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys

from lessons.bench.harness import format_markdown, get_suite, run_grid, save_json, suite_names


def _thread_counts(text: str) -> list[int]:
    try:
        counts = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        counts = []
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError(f"expected N or N,M,... with N >= 1, got {text!r}")
    return counts


def _value(text: str):
    """``16`` -> 16, ``0.1`` -> 0.1, ``true`` -> True, anything else stays a string."""
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


def _progress(event: dict) -> None:
    width = len(str(event["total"]))
    where = " ".join(f"{k}={v}" for k, v in event.get("overrides", {}).items())
    head = (f"[{event['done']:>{width}}/{event['total']}] round {event['round']} "
            f"{event['label']}{' ' + where if where else ''}")
    if "error" in event:
        last = event["error"].strip().splitlines()[-1]
        print(f"{head}: FAILED ({last})", file=sys.stderr, flush=True)
    elif "skipped" in event:
        print(f"{head}: skipped (failed before)", file=sys.stderr, flush=True)
    else:
        print(f"{head}: {event['median_us']:.1f} µs/step", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m lessons.bench",
        description="Time one training step (or one op) per framework, each in fresh processes, "
        "in interleaved rounds. Prints a Markdown table and writes JSON.",
    )
    parser.add_argument("suites", nargs="*", metavar="SUITE",
                        help=f"suites to run (default: all). Known: {', '.join(suite_names())}")
    parser.add_argument("--quick", action="store_true",
                        help="fewer rounds and steps: a smoke run in well under a minute")
    parser.add_argument("--threads", type=_thread_counts, default=[1],
                        help="threads per framework, e.g. 1 or 1,2 (default 1)")
    parser.add_argument("--rounds", type=int, help="rounds (fresh processes per framework)")
    parser.add_argument("--steps", type=int, help="timed steps per process")
    parser.add_argument("--warmup", type=int, help="untimed steps before timing")
    parser.add_argument("--frameworks", help="comma-separated subset, e.g. torch,numpy")
    parser.add_argument("--set", dest="settings", type=_setting, action="append", default=[],
                        metavar="KEY=VALUE[,VALUE...]",
                        help="change a setting of the suite (see --list); several values "
                        "make a grid, e.g. --set batch=16,64,256")
    parser.add_argument("--out", default="bench-results",
                        help="directory for the JSON (timestamped name) or a .json path")
    parser.add_argument("--no-save", action="store_true", help="do not write JSON")
    parser.add_argument("--list", action="store_true", help="list suites and frameworks")
    args = parser.parse_args(argv)

    names = args.suites or suite_names()
    configs = grid(args.settings)
    try:
        suites = [get_suite(name) for name in names]
        for suite in suites:
            for config in configs:
                suite.configure(config)
    except KeyError as exc:
        parser.error(exc.args[0])
    if args.list:
        for suite in suites:
            print(f"{suite.name}: {suite.describe()}")
            print(f"  settings: {', '.join(f'{k}={v}' for k, v in suite.config.items())}")
            for key, fw in suite.frameworks.items():
                print(f"  {key:12s} {fw.label}")
        return 0
    if args.out.endswith(".json") and len(suites) * len(args.threads) * len(configs) > 1:
        parser.error("--out FILE.json takes one suite at one thread count and one config; "
                     "give a directory")

    frameworks = args.frameworks.split(",") if args.frameworks else None
    failed = False
    for suite in suites:
        for threads in args.threads:
            print(f"== {suite.name}, {threads} thread(s)", file=sys.stderr, flush=True)
            try:
                results = run_grid(suite, configs, frameworks=frameworks, rounds=args.rounds,
                                   steps=args.steps, warmup=args.warmup, threads=threads,
                                   quick=args.quick, progress=_progress)
            except (KeyError, ValueError) as exc:
                parser.error(exc.args[0])
            for result in results:
                print(format_markdown(result), flush=True)
                if not args.no_save:
                    path = save_json(result, args.out)
                    print(f"\nJSON: {path}", flush=True)
                failed |= any(r.get("error") for r in result["results"])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
