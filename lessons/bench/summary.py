"""Compact Markdown tables of a whole run, for docs/benchmarks.md:
``python -m lessons.bench.summary bench-results/RUN/results.json``.

The run's own ``report.md`` has one full table per suite, config and thread count;
this condenses them into one table per suite, the thread counts side by side.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict

from lessons.bench.report import format_duration, format_value
from lessons.bench.targets import format_targets


def _rows(result: dict) -> dict:
    return {r["framework"]: r for r in result["results"]}


def _threads(results: list[dict]) -> list[int]:
    return sorted({r["run"]["threads"] for r in results})


def steps_table(results: list[dict]) -> str:
    """Training suites: per config, per framework: median at each thread count, ratio
    to PyTorch eager (first thread count), first call, test accuracy."""
    threads = _threads(results)
    out = []
    for description in dict.fromkeys(r["description"] for r in results):
        group = {r["run"]["threads"]: r for r in results if r["description"] == description}
        first = group[threads[0]]
        out += [f"**{description}** ({first['run']['rounds']} rounds × "
                f"{first['run']['steps']} steps)", "",
                "| framework | " + " | ".join(f"{t} thread{'s' * (t > 1)}" for t in threads)
                + " | × PyTorch eager (1 thread) | first call | test accuracy |",
                "|---|" + "---:|" * (len(threads) + 3)]
        for key, r in _rows(first).items():
            if r.get("median_us") is None:
                why = r.get("skipped") or (r.get("error") or "").strip().splitlines()[-1:]
                out.append(f"| {r['label']} | {'skipped' if r.get('skipped') else 'failed'}: "
                           f"{why if isinstance(why, str) else ''.join(why)}"
                           + " |" * (len(threads) + 3))
                continue
            cells = []
            for t in threads:
                x = _rows(group[t]).get(key) if t in group else None
                cells.append(format_duration(x.get("median_us")) if x else "—")
            first_call = (r.get("first_call_ms_by_round") or [None])[0]
            accuracy = r.get("accuracy")
            out.append(f"| {r['label']} | " + " | ".join(cells)
                       + f" | {format_value(r.get('ratio_to_torch'), '.2f')} | "
                       f"{format_duration(None if first_call is None else first_call * 1e3)} | "
                       f"{'—' if accuracy is None else f'{100 * accuracy:.1f}%'} |")
        out.append("")
    return "\n".join(out)


def ops_table(results: list[dict]) -> str:
    """µs per op at the smallest size (overhead) and GB/s at the largest, 1 thread."""
    low = min(_threads(results))
    results = [r for r in results if r["run"]["threads"] == low]
    sides = sorted({r["config"]["n"] for r in results})
    small, large = sides[0], sides[-1]
    labels, cells = {}, defaultdict(dict)
    for result in results:
        c = result["config"]
        mode = "fwd+bwd" if c.get("backward") else "fwd"
        for key, r in _rows(result).items():
            labels[key] = r["label"]
            if r.get("median_us") is None:
                continue
            if c["n"] == small:
                cells[key][(c["op"], mode, "us")] = format_value(r["median_us"], ".3g")
            if c["n"] == large:
                cells[key][(c["op"], mode, "gbs")] = format_value(r["metrics"]["GB/s"], ".3g")
    ops = list(dict.fromkeys(r["config"]["op"] for r in results))
    out = []
    for what, title in (("us", f"µs per op at {small * small} element(s), forward / forward + "
                                f"backward"),
                        ("gbs", f"effective GB/s at {large * large:,} elements, forward / "
                                f"forward + backward")):
        out += [f"**{title}** ({low} thread)", "", "| framework | " + " | ".join(ops) + " |",
                "|---|" + "---:|" * len(ops)]
        for key, label in labels.items():
            row = [f"{cells[key].get((op, 'fwd', what), '—')} / "
                   f"{cells[key].get((op, 'fwd+bwd', what), '—')}" for op in ops]
            out.append(f"| {label} | " + " | ".join(row) + " |")
        out.append("")
    return "\n".join(out)


def matmul_table(results: list[dict]) -> str:
    out = []
    for t in _threads(results):
        group = sorted((r for r in results if r["run"]["threads"] == t),
                       key=lambda r: r["config"]["n"])
        sizes = [r["config"]["n"] for r in group]
        peak = group[-1].get("peak_gflops")
        out += [f"**GFLOP/s, {t} thread{'s' * (t > 1)}** (measured peak: "
                f"{format_value(peak, '.1f')} GFLOP/s)", "",
                "| framework | " + " | ".join(f"N={n}" for n in sizes) + " | of peak at "
                f"N={sizes[-1]} |", "|---|" + "---:|" * (len(sizes) + 1)]
        for key, r in _rows(group[0]).items():
            cells = []
            for result in group:
                x = _rows(result)[key]
                cells.append(format_value((x.get("metrics") or {}).get("GFLOP/s"), ".1f"))
            last = (_rows(group[-1])[key].get("metrics") or {}).get("of peak")
            out.append(f"| {r['label']} | " + " | ".join(cells)
                       + f" | {format_value(None if last is None else 100 * last, '.0f')}% |")
        out.append("")
    return "\n".join(out)


def memory_table(results: list[dict]) -> str:
    threads = _threads(results)
    result = next(r for r in results if r["run"]["threads"] == threads[0])
    out = [f"**{result['description']}** ({threads[0]} thread, median of "
           f"{result['run']['rounds']} fresh processes)", "",
           "| framework | import +MB | training run peak +MB | s per epoch | test accuracy |",
           "|---|---:|---:|---:|---:|"]
    for r in result["results"]:
        if r.get("median_us") is None:
            out.append(f"| {r['label']} | skipped or failed | | | |")
            continue
        out.append(f"| {r['label']} | {format_value(r.get('import_mb'), '.0f')} | "
                   f"{format_value(r.get('run_peak_mb'), '.0f')} | {r['median_us'] / 1e6:.3f} | "
                   f"{100 * r['accuracy']:.1f}% |")
    return "\n".join(out) + "\n"


def summarize(record: dict) -> str:
    by_suite = defaultdict(list)
    for result in record["results"]:
        by_suite[result["suite"]].append(result)
    env = record["environment"]
    loads = [x for r in record["results"] for x in (r["environment"].get("load_average") or [])
             if x is not None]
    versions = ", ".join(f"{k} {v}" for k, v in env["versions"].items())
    libraries = "; ".join(f"{k}: {v}" for k, v in env.get("libraries", {}).items())
    load = f"{min(loads):.2f} to {max(loads):.2f}" if loads else "unknown"
    parts = [
        f"Measured {record['results'][0]['environment']['timestamp'][:10]} on {env['cpu']} "
        f"({env['cpu_count']} logical cores), {env['platform']}; {versions}. BLAS and "
        f"kernels: {libraries}. Whole run: {record['duration_s'] / 60:.0f} min; 1-minute "
        f"load average during the run: {load}.",
        "",
    ]
    for suite, render in (("mlp", steps_table), ("cnn", steps_table), ("ops", ops_table),
                          ("matmul", matmul_table), ("memory", memory_table)):
        if by_suite.get(suite):
            parts += [f"#### {suite}", "", render(by_suite[suite])]
    for name, reason in record.get("skipped", {}).items():
        parts.append(f"{name}: skipped: {reason}\n")
    if record.get("targets"):
        parts.append(format_targets(record["targets"]))
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1 or argv[0] in ("-h", "--help"):
        print("usage: python -m lessons.bench.summary bench-results/RUN/results.json\n"
              + __doc__.split("\n\n")[1], file=sys.stderr)
        return 0 if argv in (["-h"], ["--help"]) else 2
    with open(argv[0], encoding="utf-8") as f:
        print(summarize(json.load(f)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
