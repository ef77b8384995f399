"""minigrad's targets: those of the design's "Performance goals" table, as time ratios
measured side by side in one run. Each target names the result it reads (suite and
config), the framework minigrad is compared with, and the bound.
"""

from __future__ import annotations

from lessons.bench.report import format_value
from lessons.frameworks import LABELS

DIGITS_MLP = {"suite": "mlp", "inputs": 64, "hidden": 128, "depth": 1, "batch": 64}
DEEP_MLP = {"suite": "mlp", "inputs": 784, "hidden": 512, "depth": 2, "batch": 1024}
CNN = {"suite": "cnn"}

# (workload, where, reference framework, bound): minigrad's time / the reference's
# time must be at most the bound ("faster" is a bound of 1 that must be beaten)
TARGETS = [
    ("MLP step 64-128-10, batch 64, digits", DIGITS_MLP, "torch", 1.0),
    ("MLP step 64-128-10, batch 64, digits", DIGITS_MLP, "numpy", 1.5),
    ("MLP step 784-512-512-10, batch 1024", DEEP_MLP, "torch", 1.2),
    ("small CNN step (conv 3×3, pool, linear)", CNN, "torch", 2.0),
    ("MLP step 64-128-10, batch 64, digits", DIGITS_MLP, "tf-eager", 1.0),
    ("MLP step 784-512-512-10, batch 1024", DEEP_MLP, "tf-eager", 1.0),
    ("small CNN step (conv 3×3, pool, linear)", CNN, "tf-eager", 1.0),
]
REFERENCE_LABELS = {"torch": f"{LABELS['torch']} eager", "numpy": "hand-written NumPy",
                    "tf-eager": f"{LABELS['tensorflow']} eager (GradientTape)"}


def _matches(result: dict, where: dict) -> bool:
    config = result["config"]
    return result["suite"] == where["suite"] and all(
        config.get(k) == v for k, v in where.items() if k != "suite")


def _median(result: dict, key: str):
    row = next((r for r in result["results"] if r["framework"] == key), None)
    return None if row is None else row.get("median_us")


def targets(results: list[dict]) -> list[dict]:
    """One row per target and thread count found in ``results``: the measured ratio
    of minigrad (and of minigrad.compile, where it ran) to the reference."""
    rows = []
    for workload, where, reference, bound in TARGETS:
        for result in results:
            if not _matches(result, where):
                continue
            ref = _median(result, reference)
            eager, compiled = _median(result, "minigrad"), _median(result, "minigrad-compile")
            ratio = eager / ref if eager and ref else None
            strict = reference == "tf-eager"
            rows.append({
                "workload": workload,
                "reference": reference,
                "target": ("faster than " if strict else f"≤ {bound:g}× ")
                + REFERENCE_LABELS[reference],
                "threads": result["run"]["threads"],
                "ratio": ratio,
                "ratio_compiled": compiled / ref if compiled and ref else None,
                "met": None if ratio is None else (ratio < bound if strict else ratio <= bound),
                "load_average": result["environment"].get("load_average"),
            })
    return rows


def format_targets(rows: list[dict]) -> str:
    """The rows of ``targets`` as a Markdown table; empty if there are none."""
    if not rows:
        return ""
    lines = ["### minigrad's targets (DESIGN.md), time ratios measured side by side", "",
             "| workload | target | threads | minigrad × | met | minigrad.compile × |",
             "|---|---|---:|---:|---|---:|"]
    for row in rows:
        met = {True: "yes", False: "**no**", None: "not measured"}[row["met"]]
        lines.append(f"| {row['workload']} | {row['target']} | {row['threads']} "
                     f"| {format_value(row['ratio'], '.2f')} | {met} "
                     f"| {format_value(row['ratio_compiled'], '.2f')} |")
    return "\n".join(lines)
