"""Plots (PNG, matplotlib's Agg backend) of a run's results, one file per suite.

``save_plots(results, folder)`` draws whatever suites the results hold:

- ``mlp.png``, ``cnn.png``: median time per step for every framework, one panel per
  config, bars per thread count, whiskers from the fastest to the slowest step, and
  each bar labelled with its ratio to PyTorch eager and the test accuracy reached;
- ``first_call.png``: the first call (tracing, compiling) against a steady step;
- ``ops.png``: µs per op and GB/s against the number of elements, forward and
  forward + backward;
- ``matmul.png``: GFLOP/s against N, with the measured machine peak;
- ``memory.png``: the import's and the training run's resident memory, and the time
  per epoch.
"""

from __future__ import annotations

import textwrap
from collections import defaultdict
from pathlib import Path

from lessons.bench.report import format_duration
from lessons.frameworks import COLORS, LABELS


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _color(key: str, i: int) -> str:
    """The colour of framework or variant ``key`` (``lessons.frameworks``); anything
    else takes one of matplotlib's."""
    return COLORS.get(key, f"C{i % 10}")


def _title(text: str, width: int = 80) -> str:
    return "\n".join(textwrap.wrap(text, width))


def _ok(r: dict) -> bool:
    return r.get("median_us") is not None


def _footer(fig, results: list[dict]) -> None:
    env = results[0]["environment"]
    versions = ", ".join(f"{k} {v}" for k, v in env["versions"].items())
    fig.text(0.01, 0.005, f"{env['cpu']} ({env['cpu_count']} cores), {env['timestamp'][:10]}; "
             f"{versions}", fontsize=6, color="#555")


def _by_threads(results: list[dict]) -> dict[int, list[dict]]:
    out = defaultdict(list)
    for result in results:
        out[result["run"]["threads"]].append(result)
    return dict(sorted(out.items()))


def step_bars(results: list[dict], path: Path, title: str) -> Path:
    """One panel per config: horizontal bars of the median µs/step per framework and
    thread count, min-max whiskers, ratio to PyTorch eager and accuracy as labels."""
    plt = _pyplot()
    configs = list(dict.fromkeys(r["description"] for r in results))
    threads = sorted({r["run"]["threads"] for r in results})
    fig, axes = plt.subplots(len(configs), 1, figsize=(9, 0.9 + 2.4 * len(configs)),
                             squeeze=False)
    for ax, description in zip(axes[:, 0], configs):
        rows = [r for r in results if r["description"] == description]
        keys = list(dict.fromkeys(x["framework"] for r in rows for x in r["results"]))
        height = 0.8 / len(threads)
        for ti, t in enumerate(threads):
            result = next((r for r in rows if r["run"]["threads"] == t), None)
            if result is None:
                continue
            by_key = {x["framework"]: x for x in result["results"]}
            for ki, key in enumerate(keys):
                x = by_key.get(key)
                y = ki + (ti - (len(threads) - 1) / 2) * height
                if x is None or not _ok(x):
                    why = "skipped" if x and x.get("skipped") else "failed"
                    ax.text(1, y, f" {why}", va="center", fontsize=6, color="#999",
                            transform=ax.get_yaxis_transform())
                    continue
                ax.barh(y, x["median_us"], height=height * 0.9, color=_color(key, ki),
                        hatch="//" if ti else None, edgecolor="white" if not ti else "#333",
                        xerr=[[x["median_us"] - x["min_us"]], [x["max_us"] - x["median_us"]]],
                        error_kw={"elinewidth": 0.6, "capsize": 1.5, "ecolor": "#444"})
                label = f" {format_duration(x['median_us'])}"
                if x.get("ratio_to_torch") is not None:
                    label += f"  {x['ratio_to_torch']:.2f}× {LABELS['torch']}"
                if x.get("accuracy") is not None:
                    label += f"  acc {100 * x['accuracy']:.1f}%"
                ax.text(x["median_us"] * 1.05, y, label, va="center", fontsize=6,
                        bbox={"facecolor": "white", "alpha": 0.75, "pad": 0.5,
                              "edgecolor": "none"})
        ax.set_yticks(range(len(keys)))
        ax.set_yticklabels([next(x["label"] for r in rows for x in r["results"]
                                 if x["framework"] == k) for k in keys], fontsize=7)
        ax.invert_yaxis()
        ax.set_xscale("log")
        ax.set_title(_title(description, 110), fontsize=8)
        ax.tick_params(axis="x", labelsize=7)
        ax.set_xlim(right=ax.get_xlim()[1] * 3)  # room for the labels
    axes[-1, 0].set_xlabel("µs per step (log scale; plain bars: 1 thread, hatched: "
                           + ", ".join(str(t) for t in threads[1:]) + " threads)"
                           if len(threads) > 1 else "µs per step (log scale)", fontsize=8)
    fig.suptitle(title, fontsize=10)
    _footer(fig, results)
    fig.tight_layout(rect=(0, 0.02, 1, 0.98))
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def first_call(results: list[dict], path: Path) -> Path | None:
    """The first call against the median steady step, per framework, at 1 thread,
    for the first config of each training suite."""
    plt = _pyplot()
    picked = []
    for suite in ("mlp", "cnn"):
        found = [r for r in results if r["suite"] == suite]
        if found:
            low = min(r["run"]["threads"] for r in found)
            picked.append(next(r for r in found if r["run"]["threads"] == low))
    if not picked:
        return None
    fig, axes = plt.subplots(1, len(picked), figsize=(5 * len(picked), 3.6), squeeze=False)
    for ax, result in zip(axes[0], picked):
        rows = [x for x in result["results"] if _ok(x) and x.get("first_call_ms_by_round")]
        labels = [x["label"] for x in rows]
        first = [x["first_call_ms_by_round"][0] for x in rows]
        steady = [x["median_us"] / 1e3 for x in rows]
        ys = range(len(rows))
        ax.barh([y - 0.2 for y in ys], first, height=0.4, color="#7f7f7f", label="first call")
        ax.barh([y + 0.2 for y in ys], steady, height=0.4,
                color=[_color(x["framework"], i) for i, x in enumerate(rows)],
                label="steady step (median)")
        for y, f in zip(ys, first):
            ax.text(f, y - 0.2, f" {format_duration(f * 1e3)}", va="center", fontsize=6)
        ax.set_yticks(list(ys))
        ax.set_yticklabels(labels, fontsize=7)
        ax.invert_yaxis()
        ax.set_xscale("log")
        ax.set_xlabel("ms (log scale)", fontsize=8)
        ax.set_title(_title(result["description"], 60), fontsize=7)
        ax.legend(fontsize=6, loc="lower right")
        ax.set_xlim(right=ax.get_xlim()[1] * 10)
    fig.suptitle("First call (tracing and compiling, empty caches) vs a steady step", fontsize=10)
    _footer(fig, picked)
    fig.tight_layout(rect=(0, 0.03, 1, 0.95))
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def ops_lines(results: list[dict], path: Path) -> Path:
    """µs per op (top rows) and GB/s (bottom rows) against elements, per op."""
    plt = _pyplot()
    ops = list(dict.fromkeys(r["config"]["op"] for r in results))
    modes = sorted({bool(r["config"]["backward"]) for r in results})
    panels = [(mode, what) for what in ("µs", "GB/s") for mode in modes]
    fig, axes = plt.subplots(len(panels), len(ops), figsize=(3 * len(ops), 2.6 * len(panels)),
                             squeeze=False)
    for (mode, what), row in zip(panels, axes):
        for ax, op in zip(row, ops):
            for t, group in _by_threads(results).items():
                series = defaultdict(list)
                for result in group:
                    if result["config"]["op"] != op or bool(result["config"]["backward"]) != mode:
                        continue
                    for x in result["results"]:
                        if _ok(x):
                            value = x["median_us"] if what == "µs" else x["metrics"]["GB/s"]
                            series[(x["framework"], x["label"])].append(
                                (result["config"]["n"] ** 2, value))
                for i, ((key, label), points) in enumerate(series.items()):
                    points.sort()
                    ax.plot(*zip(*points), marker="o", ms=3, color=_color(key, i),
                            linestyle="-" if t == min(_by_threads(results)) else "--",
                            label=f"{label}, {t} thr")
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_title(f"{op}, {'forward + backward' if mode else 'forward'}", fontsize=8)
            ax.tick_params(labelsize=6)
            ax.set_xlabel("elements per input", fontsize=7)
            ax.set_ylabel("µs per op" if what == "µs" else "effective GB/s", fontsize=7)
    axes[0, 0].legend(fontsize=5)
    fig.suptitle("Single operations: time per op and effective bandwidth", fontsize=10)
    _footer(fig, results)
    fig.tight_layout(rect=(0, 0.02, 1, 0.97))
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def matmul_lines(results: list[dict], path: Path) -> Path:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.2))
    groups = _by_threads(results)
    for t, group in groups.items():
        series = defaultdict(list)
        for result in group:
            for x in result["results"]:
                if _ok(x):
                    series[(x["framework"], x["label"])].append(
                        (result["config"]["n"], x["metrics"]["GFLOP/s"]))
        for i, ((key, label), points) in enumerate(series.items()):
            points.sort()
            ax.plot(*zip(*points), marker="o", ms=3, color=_color(key, i),
                    linestyle="-" if t == min(groups) else "--", label=f"{label}, {t} thread(s)")
        peak = group[0].get("peak_gflops")
        if peak:
            ax.axhline(peak, color="#999", linewidth=0.7, linestyle=":")
            ax.text(min(r["config"]["n"] for r in group), peak,
                    f"measured peak, {t} thread(s): {peak:.1f} GFLOP/s", fontsize=6,
                    va="bottom", color="#555")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("N (N×N float32 matrices)", fontsize=8)
    ax.set_ylabel("GFLOP/s", fontsize=8)
    ax.legend(fontsize=6)
    ax.set_title("Matrix product: GFLOP/s against size", fontsize=10)
    _footer(fig, results)
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def memory_bars(results: list[dict], path: Path) -> Path:
    plt = _pyplot()
    low = min(r["run"]["threads"] for r in results)
    result = next(r for r in results if r["run"]["threads"] == low)
    rows = [x for x in result["results"] if _ok(x)]
    fig, (ax, ax_time) = plt.subplots(1, 2, figsize=(10, 4.2),
                                      gridspec_kw={"width_ratios": [2, 1]})
    ys = range(len(rows))
    imports = [x.get("import_mb") or 0 for x in rows]
    runs = [x.get("run_peak_mb") or 0 for x in rows]
    ax.barh(ys, imports, color="#c7c7c7", label="import (RSS added)")
    ax.barh(ys, runs, left=imports, color=[_color(x["framework"], i) for i, x in enumerate(rows)],
            label="training run (peak RSS over the post-import baseline)")
    for y, a, b in zip(ys, imports, runs):
        ax.text(a + b, y, f" {a:.0f} + {b:.0f} MB", va="center", fontsize=7)
    ax.set_yticks(list(ys))
    ax.set_yticklabels([x["label"] for x in rows], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("resident memory, MB", fontsize=8)
    ax.set_xlim(right=ax.get_xlim()[1] * 1.25)
    ax.legend(fontsize=6, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2)
    ax_time.barh(ys, [x["median_us"] / 1e6 for x in rows],
                 color=[_color(x["framework"], i) for i, x in enumerate(rows)])
    for y, x in zip(ys, rows):
        acc = f", acc {100 * x['accuracy']:.1f}%" if x.get("accuracy") is not None else ""
        ax_time.text(x["median_us"] / 1e6, y, f" {x['median_us'] / 1e6:.2f} s{acc}",
                     va="center", fontsize=6)
    ax_time.set_yticks(list(ys))
    ax_time.set_yticklabels([])
    ax_time.invert_yaxis()
    ax_time.set_xlabel("s per epoch (median)", fontsize=8)
    ax_time.set_xlim(right=ax_time.get_xlim()[1] * 1.6)
    fig.suptitle(_title(result["description"] + f", {low} thread(s)", 120), fontsize=8)
    _footer(fig, [result])
    fig.tight_layout(rect=(0, 0.03, 1, 0.95))
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def save_plots(results: list[dict], folder: str | Path) -> list[Path]:
    """Every plot the results allow, as PNG files in ``folder``; returns their paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    by_suite = defaultdict(list)
    for result in results:
        by_suite[result["suite"]].append(result)
    paths = []
    if by_suite.get("mlp"):
        paths.append(step_bars(by_suite["mlp"], folder / "mlp.png", "MLP training step"))
    if by_suite.get("cnn"):
        paths.append(step_bars(by_suite["cnn"], folder / "cnn.png", "Small CNN training step"))
    if by_suite.get("mlp") or by_suite.get("cnn"):
        path = first_call(by_suite.get("mlp", []) + by_suite.get("cnn", []),
                          folder / "first_call.png")
        if path:
            paths.append(path)
    if by_suite.get("ops"):
        paths.append(ops_lines(by_suite["ops"], folder / "ops.png"))
    if by_suite.get("matmul"):
        paths.append(matmul_lines(by_suite["matmul"], folder / "matmul.png"))
    if by_suite.get("memory"):
        paths.append(memory_bars(by_suite["memory"], folder / "memory.png"))
    return paths
