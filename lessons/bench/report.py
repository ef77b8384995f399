"""What a benchmark run reports: a result as a Markdown table, and the files it is
saved in (one JSON file per result, or a folder per run of ``python -m lessons.bench``).
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
from pathlib import Path

from lessons.bench.registry import LOSS_NOTE
from lessons.frameworks import LABELS


def load_average() -> float | None:
    """The 1-minute load average; None where the system does not tell."""
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):  # not available on Windows
        return None


def cpu_model() -> str:
    """The CPU's model name (from /proc/cpuinfo where there is one)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def format_value(value, spec: str) -> str:
    """``value`` formatted by ``spec``; a dash where it is missing."""
    return "—" if value is None else format(value, spec)


def format_duration(us) -> str:
    """A duration given in µs, to three significant digits in the unit that reads best:
    266 µs, 39.3 ms, 20.4 s (999.6 µs is 1 ms, not 1e+03 µs); a dash where it is missing."""
    if us is None:
        return "—"
    us = float(f"{us:.3g}")
    if us < 1e3:
        return f"{us:.3g} µs"
    return f"{us / 1e3:.3g} ms" if us < 1e6 else f"{us / 1e6:.3g} s"


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
    head = ["framework", "median µs/step", "min µs", "max µs", f"× {LABELS['torch']} eager",
            "× NumPy", "first call ms", check] + [name for name, _ in optional]
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
                 format_value(r["ratio_to_torch"], ".2f"), format_value(r["ratio_to_numpy"], ".2f"),
                 format_value(first[0], ".3g" if first[0] is None or first[0] < 100 else ".0f"),
                 format_check(r["final_loss"])]
        for name, key in optional:
            if key is None:
                value = (r.get("metrics") or {}).get(name)
                cells.append(str(value) if isinstance(value, int) else format_value(value, ".3g"))
            elif key == "accuracy":
                cells.append("—" if r.get(key) is None else f"{100 * r[key]:.1f}%")
            else:
                cells.append(format_value(r.get(key), ".3g"))
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
    """``SUITE-tTHREADS-STAMP.json``, the file name ``save_json`` picks in a folder."""
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


def environment(results: list[dict]) -> dict:
    """What every result of the run shares: versions, libraries, the machine."""
    versions, libraries = {}, {}
    for result in results:
        versions.update(result["environment"]["versions"])
        libraries.update(result["environment"].get("libraries", {}))
    return {"cpu": cpu_model(), "cpu_count": os.cpu_count(), "platform": platform.platform(),
            "versions": versions, "libraries": libraries}


def run_folder(out: str | os.PathLike, suites: list[str], quick: bool) -> Path:
    """A new folder for one run: ``OUT/20261121-101500-mlp-cnn[-quick]``."""
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    name = f"{stamp}-{'-'.join(suites)}{'-quick' if quick else ''}"
    path, n = Path(out) / name, 1
    while path.exists():
        n += 1
        path = Path(out) / f"{name}-{n}"
    path.mkdir(parents=True)
    return path


def save_run(folder: Path, record: dict) -> Path:
    """Write a whole run's ``record`` as ``results.json`` in ``folder``."""
    path = folder / "results.json"
    path.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return path
