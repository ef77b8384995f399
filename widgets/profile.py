"""OpProfile: where the time of one training step goes, op by op, forward and backward.

    step()                                   # forward + backward (+ optimizer)
    OpProfile(step)                          # minigrad, through minigrad.autograd.observe
    OpProfile.torch(torch_step)              # PyTorch, through torch.profiler

For minigrad, ``observe`` reports every op as it runs, forward and backward, with the
time its own code took. The profile runs ``step_fn`` ``warmup`` times untimed, then
``repeat`` times while observing, and adds the time up per (op, phase). Whatever the
step spends outside the ops (the Python of the model and the loop, the optimizer,
adding gradients into ``.grad``, the observer itself) is the row "other": the step's
wall time minus the ops' time.

For PyTorch, ``torch.profiler`` records every ATen op and autograd node; a row is an
event name with its *self* CPU time (the time not spent in the ops it calls), as
``prof.key_averages()`` counts it, split by phase: under
``autograd::engine::evaluate_function`` is backward, under ``Optimizer.*`` the
optimizer, the rest forward. The profiler's own overhead lands in "other", which is
therefore larger than the same step's glue without the profiler.

Both run in this process, with its thread settings; for timings to compare frameworks
use ``TimingBoard``, which isolates each framework in its own process.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections import defaultdict

from lessons.frameworks import LABELS
from widgets import charts

PHASE_COLORS = {"forward": "#4d77cf", "backward": "#ee8a2c", "optimizer": "#1b9e77",
                "outside ops": "#9e9e9e"}
FRAMEWORKS = ("minigrad", "torch")


def _profile_minigrad(step_fn, repeat: int, warmup: int):
    """Per-(op, phase) times in µs, and the wall time of each observed step in µs."""
    from minigrad.autograd import observe

    for _ in range(warmup):
        step_fn()
    records = []

    def record(event):  # keep only plain values: holding events would keep tensors alive
        records.append((event.op, event.phase, event.seconds))

    walls = []
    clock = time.perf_counter
    gc.collect()
    with observe(record):
        for _ in range(repeat):
            started = clock()
            step_fn()
            walls.append((clock() - started) * 1e6)
    samples = defaultdict(list)
    for op, phase, seconds in records:
        samples[(op, phase)].append(seconds * 1e6)
    return samples, walls


def torch_phase(event) -> str:
    """"backward", "optimizer" or "forward", from the profiler event's ancestors."""
    while event is not None:
        if event.name.startswith("autograd::engine::evaluate_function"):
            return "backward"
        if event.name.startswith("Optimizer."):
            return "optimizer"
        event = event.cpu_parent
    return "forward"


def _profile_torch(step_fn, repeat: int, warmup: int):
    from torch.profiler import ProfilerActivity, profile

    for _ in range(warmup):
        step_fn()
    walls = []
    clock = time.perf_counter
    gc.collect()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(repeat):
            started = clock()
            step_fn()
            walls.append((clock() - started) * 1e6)
    samples = defaultdict(list)
    for event in prof.events():
        samples[(event.name, torch_phase(event))].append(float(event.self_cpu_time_total))
    return samples, walls


def aggregate(samples: dict, walls_us: list[float], repeat: int) -> list[dict]:
    """Rows sorted by total time, then "other" (wall time outside the ops).

    ``samples`` maps (op, phase) to the µs of each call. Shares are of the total wall
    time (or of the ops' time, if the ops add up to more, as nested ops would).
    """
    rows = [{"op": op, "phase": phase, "calls": len(times), "total_us": sum(times),
             "median_us": statistics.median(times), "per_step_us": sum(times) / repeat}
            for (op, phase), times in samples.items()]
    rows.sort(key=lambda r: (-r["total_us"], r["op"], r["phase"]))
    ops_us = sum(r["total_us"] for r in rows)
    wall_us = sum(walls_us)
    other_us = max(wall_us - ops_us, 0.0)
    rows.append({"op": "other", "phase": "outside ops", "calls": None, "total_us": other_us,
                 "median_us": None, "per_step_us": other_us / repeat})
    whole = max(wall_us, ops_us)
    for r in rows:
        r["share"] = r["total_us"] / whole if whole > 0 else 0.0
    return rows


class OpProfile:
    """Time per op, forward and backward, of ``step_fn`` (which runs one training step
    with ``framework``, "minigrad" or "torch"), over ``repeat`` steps after ``warmup``.

    ``rows`` holds plain dicts ``{"op", "phase", "calls", "total_us", "median_us",
    "per_step_us", "share"}``, sorted by time, with "other" last; ``step_us`` is the
    median wall time of a step. Shown in a notebook, the profile is a bar chart of the
    ``top`` rows and a table of all. A step that raises is reported in ``error`` and
    on the display, not raised.
    """

    def __init__(self, step_fn, repeat: int = 10, warmup: int = 2, *,
                 framework: str = "minigrad", top: int = 15, title: str | None = None):
        self.step_fn, self.repeat, self.warmup = step_fn, repeat, warmup
        self.framework, self.top, self._title = framework, top, title
        self.rows: list[dict] = []
        self.error: str | None = None
        self.step_us: float | None = None
        self.wall_us = self.ops_us = 0.0
        self._container = None
        self.run()

    @classmethod
    def torch(cls, step_fn, repeat: int = 10, warmup: int = 2, **kwargs) -> "OpProfile":
        """The profile of a PyTorch step, through ``torch.profiler``."""
        return cls(step_fn, repeat, warmup, framework="torch", **kwargs)

    def run(self) -> None:
        """Profile again (the display, if any, is redrawn)."""
        self.rows, self.error, self.step_us = [], None, None
        try:
            if self.framework not in FRAMEWORKS:
                raise ValueError(f"unknown framework {self.framework!r}; "
                                 f"choose from {', '.join(FRAMEWORKS)}")
            for name, value, least in (("repeat", self.repeat, 1), ("warmup", self.warmup, 0)):
                if not isinstance(value, int) or value < least:
                    raise ValueError(f"{name} must be an integer >= {least}, got {value!r}")
            runner = _profile_minigrad if self.framework == "minigrad" else _profile_torch
            samples, walls = runner(self.step_fn, self.repeat, self.warmup)
        except Exception as exc:  # a broken step: show it, do not kill the notebook
            self.error = f"{type(exc).__name__}: {exc}"
        else:
            self.rows = aggregate(samples, walls, self.repeat)
            self.wall_us = sum(walls)
            self.ops_us = sum(r["total_us"] for r in self.rows if r["op"] != "other")
            self.step_us = statistics.median(walls)
        if self._container is not None:
            self._container.children[0].value = self.html()

    # --- drawing ------------------------------------------------------------------------

    @property
    def title(self) -> str:
        if self._title:
            return self._title
        name = LABELS.get(self.framework, self.framework)
        if self.step_us is None:
            return f"{name}: time per op"
        return (f"{name}: time per op in one step (median step {self.step_us:.0f} µs, "
                f"{self.repeat} steps)")

    def chart_svg(self) -> str:
        """Bars of µs per step for the ``top`` largest rows, the rest folded into one."""
        ops = [r for r in self.rows if r["op"] != "other"]
        other = [r for r in self.rows if r["op"] == "other"]
        shown, rest = ops[: self.top], ops[self.top:]
        items = [{"label": f"{r['op']} · {r['phase']}", "value": r["per_step_us"],
                  "color": PHASE_COLORS.get(r["phase"], "#777"), "note": f"{r['share']:.0%}",
                  "tip": f"{r['op']} ({r['phase']}): {r['calls']} calls, "
                         f"{r['per_step_us']:.1f} µs per step, {r['share']:.1%} of the step"}
                 for r in shown]
        if rest:
            items.append({"label": f"{len(rest)} smaller rows",
                          "value": sum(r["per_step_us"] for r in rest), "color": "#c5c5c5",
                          "note": f"{sum(r['share'] for r in rest):.0%}"})
        for r in other:
            items.append({"label": "other (outside ops)", "value": r["per_step_us"],
                          "color": PHASE_COLORS["outside ops"], "note": f"{r['share']:.0%}"})
        return charts.bar_chart(items, title=self.title, unit="µs/step")

    def table_html(self) -> str:
        """All rows: op, phase, calls, total, median per call, per step, share."""
        head = ["op", "phase", "calls", "total µs", "median µs/call", "µs/step", "share"]
        style = "padding:2px 8px;border-bottom:1px solid #eee"
        out = ['<table style="border-collapse:collapse;font-size:12px"><tr>']
        out += [f'<th style="{style};text-align:left">{h}</th>' for h in head]
        out.append("</tr>")
        for r in self.rows:
            cells = [r["op"], r["phase"], "" if r["calls"] is None else r["calls"],
                     f"{r['total_us']:.1f}",
                     "" if r["median_us"] is None else f"{r['median_us']:.2f}",
                     f"{r['per_step_us']:.1f}", f"{r['share']:.1%}"]
            out.append("<tr>" + "".join(f'<td style="{style}">{charts.escape(c)}</td>'
                                        for c in cells) + "</tr>")
        out.append("</table>")
        return "".join(out)

    def html(self) -> str:
        if self.error:
            return (f'<div style="color:#b00020">{charts.escape(self.title)}: the step failed: '
                    f"{charts.escape(self.error)}</div>")
        note = ("other = the step's wall time outside the ops: Python glue, the optimizer, "
                "gradient accumulation" + (", the profiler's overhead" if self.framework == "torch"
                                           else ", the observer"))
        return (self.chart_svg() + f'<div style="font-size:11px;color:#777">{charts.escape(note)}'
                "</div>" + self.table_html())

    def _repr_html_(self) -> str:
        return self.html()

    @property
    def container(self):
        """The profile as an ipywidgets box, for apps that compose widgets."""
        if self._container is None:
            import ipywidgets as w

            self._container = w.VBox([w.HTML(self.html())])
        return self._container
