"""The figures of a result row, from the workers' reports: medians, spread, ratios.

The per-step times of all rounds are pooled, so the median, min and max of a row cover
every timed step of every fresh process; the ratios compare medians measured in the
same run.
"""

from __future__ import annotations

import statistics

# the frameworks every row is compared with, and the key of that ratio in the row
REFERENCE_FRAMEWORKS = {"torch": "ratio_to_torch", "numpy": "ratio_to_numpy"}


def median_or_none(values: list):
    """The median of ``values``; None if there are none or one is missing."""
    return statistics.median(values) if values and None not in values else None


def median_us(report: dict) -> float:
    """The median step of one worker's report, in microseconds."""
    return statistics.median(report["step_ns"]) / 1e3


def summarize(key: str, label: str, reports: list[dict], error: str | None,
              skipped: str | None = None) -> dict:
    """One row of a result: framework ``key`` over the ``reports`` of its rounds."""
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
        round_medians_us=[median_us(rep) for rep in reports],
        samples=len(samples_us),
        # every timed step, per round, for histograms and plots
        step_us_by_round=[[round(ns / 1e3, 2) for ns in rep["step_ns"]] for rep in reports],
        # the first call of each round, timed apart: tracing/compiling lands here
        first_call_ms_by_round=[rep.get("first_call_ms") for rep in reports],
        build_ms=median_or_none([rep.get("build_ms") for rep in reports]),
        final_loss=statistics.median(losses),
        final_loss_spread=max(losses) - min(losses),
        last_step_loss=reports[-1]["last_step_loss"],
        accuracy=median_or_none([rep.get("accuracy") for rep in reports]),
        thread_pools=reports[-1].get("thread_pools", {}),
        # peak memory one step allocates (where tracemalloc sees the framework's
        # arrays, else None) and the worker process's peak resident memory
        memory_mb=median_or_none([rep.get("memory_mb") for rep in reports]),
        peak_rss_mb=max(peaks) if None not in peaks else None,
        # resident memory the framework's import added, and the peak the run (build,
        # warm-up and timed steps) added on top of that post-import baseline
        import_mb=median_or_none([rep.get("import_mb") for rep in reports]),
        run_peak_mb=median_or_none([rep.get("run_peak_mb") for rep in reports]),
    )
    return result


def add_ratios(rows: list[dict]) -> None:
    """Give every row its time as a multiple of each reference framework's time."""
    medians = {r["framework"]: r.get("median_us") for r in rows}
    for r in rows:
        for ref, name in REFERENCE_FRAMEWORKS.items():
            ok = r.get("median_us") is not None and medians.get(ref)
            r[name] = r["median_us"] / medians[ref] if ok else None
