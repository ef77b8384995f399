"""TimingBoard: time a workload across frameworks and sizes, with a chart that fills in.

    from widgets import TimingBoard
    board = TimingBoard("mlp", ["minigrad", "torch", "numpy"], sizes={"batch": [16, 64, 256]})
    board            # shows the board; press Run (or call board.run())

It runs the benchmark harness of ``python -m lessons.bench`` (``lessons.bench.run_grid``),
so a number on the board was measured exactly as the command line measures it: every
framework in fresh processes, after warm-up, with its thread pools capped, rounds
interleaved. The run happens in a background thread, so the notebook stays usable;
each (framework, size) cell appears on the chart as soon as its worker reports it.
``run(wait=True)`` blocks instead, for scripts and tests. ``results`` holds the
harness's plain-dict results, one per size.

Nothing the board is given makes it raise: an unknown workload or framework, sizes
the workload does not have, a framework that fails to import or a workload that
fails show up as messages on the board.
"""

from __future__ import annotations

import itertools
import os
import platform
import statistics
import threading

from lessons.bench.report import format_check
from widgets import charts
from widgets.drawing import on_card, svg_image

SPREADS = {"minmax": "min–max", "iqr": "interquartile range"}


def _configs(sizes) -> list[dict]:
    """``None`` -> [{}]; ``{"batch": [16, 64]}`` -> every combination; a list of
    dicts stays as it is."""
    if sizes is None:
        return [{}]
    if isinstance(sizes, dict):
        keys = list(sizes)
        values = [v if isinstance(v, (list, tuple)) else [v] for v in sizes.values()]
        return [dict(zip(keys, combo)) for combo in itertools.product(*values)]
    configs = list(sizes)
    if not all(isinstance(c, dict) for c in configs):
        raise TypeError("sizes must be a dict of lists, e.g. {'batch': [16, 64]}, "
                        "or a list of dicts, e.g. [{'batch': 16}, {'batch': 64}]")
    return [dict(c) for c in configs]


def _last_line(text: str) -> str:
    lines = str(text).strip().splitlines()
    return lines[-1] if lines else "unknown error"


def _quartiles(samples: list[float]) -> tuple[float, float]:
    if len(samples) < 2:
        return samples[0], samples[0]
    q1, _, q3 = statistics.quantiles(samples, n=4, method="inclusive")
    return q1, q3


class TimingBoard:
    """Time ``workload`` (a ``lessons.bench`` suite name, or a ``Suite``) for each
    framework in ``frameworks`` (default: all of the suite's) at each size in
    ``sizes`` (a dict of lists such as ``{"batch": [16, 64, 256]}``, or a list of
    config dicts; default: the suite's own settings).

    ``rounds``, ``steps`` and ``warmup`` are the harness's run lengths; ``threads``
    caps every thread pool. ``log`` draws the time axis on a log scale; ``spread``
    is ``"minmax"`` or ``"iqr"`` (the whiskers). A worker that reports nothing for
    ``timeout`` seconds is stopped.
    """

    def __init__(self, workload="mlp", frameworks=None, sizes=None, *, rounds: int = 1,
                 steps: int = 20, warmup: int = 5, threads: int = 1, log: bool = True,
                 spread: str = "minmax", timeout: float = 300.0, title: str | None = None):
        self.results: list[dict] = []
        self.running = False
        self.rounds, self.steps, self.warmup, self.threads = rounds, steps, warmup, threads
        self.log, self.timeout = bool(log), timeout
        self.suite, self.frameworks, self.configs = None, [], []
        self._setup_messages: list[str] = []
        self._messages: list[str] = []
        self._cells: dict[tuple[int, str], dict] = {}
        self._versions: dict[str, str] = {}
        self._done = 0
        self._stop = threading.Event()
        self._lock = threading.RLock()
        self._thread: threading.Thread | None = None
        self._snapshots: list = []
        self._bad_lengths = False
        self.spread = spread if spread in SPREADS else "minmax"
        if spread not in SPREADS:
            self._setup_messages.append(f"unknown spread {spread!r}, using 'minmax' "
                                        f"(choose from {', '.join(SPREADS)})")
        self._configure(workload, frameworks, sizes)
        self.title = title or self._default_title()
        self._build_widgets()
        self._update()

    # --- set-up ---------------------------------------------------------------------

    def _configure(self, workload, frameworks, sizes) -> None:
        from lessons import bench

        try:
            self.suite = bench.get_suite(workload) if isinstance(workload, str) else workload
            known = list(self.suite.frameworks)
        except Exception as exc:  # unknown name, or a suite module that fails to import
            self._setup_messages.append(f"cannot use workload {workload!r}: {_last_line(exc)}")
            self.suite = None
            return
        if isinstance(frameworks, str):
            frameworks = [frameworks]
        wanted = list(frameworks) if frameworks else known
        unknown = [f for f in wanted if f not in known]
        if unknown:
            self._setup_messages.append(
                f"{self.suite.name} has no framework {', '.join(map(repr, unknown))}; "
                f"known: {', '.join(known)}. Running the others.")
        self.frameworks = [f for f in dict.fromkeys(wanted) if f in known]
        if not self.frameworks:
            self._setup_messages.append("no framework to run")
        try:
            self.configs = _configs(sizes)
            for config in self.configs:
                self.suite.configure(config)
            if not self.configs:
                raise ValueError("sizes is empty")
        except Exception as exc:
            self._setup_messages.append(f"bad sizes: {_last_line(exc)}")
            self.configs = []
        for name, value, least in (("rounds", self.rounds, 1), ("steps", self.steps, 1),
                                   ("warmup", self.warmup, 0), ("threads", self.threads, 1)):
            if not isinstance(value, int) or isinstance(value, bool) or value < least:
                self._setup_messages.append(f"{name} must be an integer >= {least}, got {value!r}")
                self._bad_lengths = True

    @property
    def ready(self) -> bool:
        """Whether the settings allow a run (if not, the board says why)."""
        return bool(self.suite and self.frameworks and self.configs) and not self._bad_lengths

    @property
    def total(self) -> int:
        """Cells to run: rounds × sizes × frameworks."""
        return self.rounds * len(self.configs) * len(self.frameworks) if self.ready else 0

    def _varying(self) -> list[str]:
        return list(dict.fromkeys(k for c in self.configs for k in c))

    def size_labels(self) -> list[str]:
        """One x-axis label per size, naming the settings that change."""
        keys = self._varying()
        return [" ".join(f"{k}={c[k]}" for k in keys if k in c) or "default"
                for c in self.configs]

    def _default_title(self) -> str:
        if self.suite is None:
            return "TimingBoard"
        spans = {k: "/".join(dict.fromkeys(str(c[k]) for c in self.configs if k in c))
                 for k in self._varying()}
        return f"{self.suite.name}: {self.suite.describe(spans)}"

    # --- widgets ------------------------------------------------------------------------

    def _build_widgets(self) -> None:
        import ipywidgets as w

        self.button = w.Button(description="Run", icon="play", button_style="primary",
                               tooltip="run the benchmark (press again to stop)")
        self.button.on_click(self._on_click)
        self.progress = w.IntProgress(value=0, min=0, max=max(self.total, 1),
                                      description=f"0/{self.total}",
                                      layout=w.Layout(width="420px"))
        self.status = w.HTML()
        self.chart = w.HTML()
        self.table = w.HTML()
        self.label = w.HTML()
        self.container = w.VBox([w.HBox([self.button, self.progress]), self.status,
                                 self.chart, self.table, self.label])

    def _on_click(self, _button=None) -> None:
        if self.running:
            self.stop()
        else:
            self.run()

    # --- running ------------------------------------------------------------------------

    def run(self, wait: bool = False) -> None:
        """Start the run in a background thread; with ``wait=True``, return when it is
        done. Results go to ``results``; nothing is returned, so a cell ending in
        ``board.run()`` does not print them."""
        with self._lock:
            if self.running:
                self._messages.append("already running: press Stop first")
                self._update()
                return
            if not self.ready:
                self._update()
                return
            self.results, self._cells, self._messages, self._done = [], {}, [], 0
            self._stop.clear()
            self.running = True
            self._thread = threading.Thread(target=self._run, name="TimingBoard", daemon=True)
            self._update()
        self._thread.start()
        if wait:
            self.wait()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the run ends (or ``timeout`` seconds); True if it ended."""
        if self._thread is not None:
            self._thread.join(timeout)
        return not self.running

    def stop(self) -> None:
        """Stop the run: the running worker is killed, and no other starts."""
        self._stop.set()

    def _run(self) -> None:
        from lessons import bench

        try:
            results = bench.run_grid(
                self.suite, self.configs, frameworks=self.frameworks, rounds=self.rounds,
                steps=self.steps, warmup=self.warmup, threads=self.threads,
                progress=self._on_progress, should_stop=self._stop.is_set,
                timeout=self.timeout)
            with self._lock:
                self.results = results
                for ci, result in enumerate(results):
                    for r in result["results"]:
                        if r.get("median_us") is not None:
                            self._cells[(ci, r["framework"])] = r
                        elif r.get("error") and r["error"] != "stopped before it ran":
                            self._cells[(ci, r["framework"])] = {"error": r["error"]}
                if results and results[0]["stopped"]:
                    self._messages.append("stopped: the chart shows what finished before")
        except Exception as exc:  # the harness itself failed: say so, do not raise
            with self._lock:
                self._messages.append(f"the run failed: {type(exc).__name__}: {_last_line(exc)}")
        finally:
            with self._lock:
                self.running = False
                self._update()
            self._update_snapshots()

    def _on_progress(self, event: dict) -> None:
        with self._lock:
            self._done = event["done"]
            cell = (event["config_index"], event["framework"])
            self._versions.update(event.get("versions") or {})
            if "error" in event:
                self._cells[cell] = {"error": event["error"]}
                size = self.size_labels()[event["config_index"]]
                self._messages.append(f"{event['label']}, {size}: {_last_line(event['error'])}")
            elif "skipped" not in event:
                self._cells[cell] = event["summary"]
            self._update()

    # --- drawing ------------------------------------------------------------------------

    def _point(self, ci: int, key: str, size: str) -> dict | None:
        cell = self._cells.get((ci, key))
        if not cell:
            return None
        if cell.get("median_us") is None:
            return {"error": _last_line(cell.get("error", "no result"))}
        samples = [x for steps in cell.get("step_us_by_round", []) for x in steps]
        if self.spread == "iqr" and samples:
            low, high = _quartiles(samples)
        else:
            low, high = cell["min_us"], cell["max_us"]
        tip = (f"{cell['label']} · {size}: median {cell['median_us']:.1f} µs "
               f"({SPREADS[self.spread]} {low:.1f}–{high:.1f} µs, {cell['samples']} steps)")
        return {"value": cell["median_us"], "low": low, "high": high, "tip": tip}

    def chart_svg(self) -> str:
        """The chart as it stands: one point per finished cell, a × per failed one."""
        sizes = self.size_labels()
        series = []
        for key in self.frameworks:
            label = self.suite.frameworks[key].label
            series.append({"name": label, "color": charts.color_for(key, len(series)),
                           "points": [self._point(ci, key, sizes[ci]) for ci in range(len(sizes))]})
        note = (f"median of {self.rounds} round(s) × {self.steps} timed steps after "
                f"{self.warmup} warm-up; whiskers: {SPREADS[self.spread]}; "
                f"{self.threads} thread(s)")
        return charts.point_chart(sizes, series, title=self.title, log=self.log,
                                  y_label="µs per step" + (" (log scale)" if self.log else ""),
                                  note=note)

    def table_html(self) -> str:
        """Every finished cell: median, spread, the workload's check value, memory."""
        if not self._cells:
            return ""
        check = self.suite.check_label if self.suite else "check"
        head = ["size", "framework", "median µs", SPREADS[self.spread] + " µs", check,
                "step memory MB", "peak RSS MB"]
        rows = []
        sizes = self.size_labels()
        for ci, size in enumerate(sizes):
            for key in self.frameworks:
                cell = self._cells.get((ci, key))
                if not cell:
                    continue
                label = self.suite.frameworks[key].label
                if cell.get("median_us") is None:
                    rows.append([size, label, "failed: " + _last_line(cell.get("error", "")),
                                 "", "", "", ""])
                    continue
                point = self._point(ci, key, size)
                memory, peak = cell.get("memory_mb"), cell.get("peak_rss_mb")
                rows.append([size, label, f"{cell['median_us']:.1f}",
                             f"{point['low']:.1f}–{point['high']:.1f}",
                             format_check(cell["final_loss"]),
                             "—" if memory is None else f"{memory:.3g}",
                             "—" if peak is None else f"{peak:.0f}"])
        cell_style = "padding:2px 8px;border-bottom:1px solid var(--jp-border-color2, #eee)"
        out = ['<table style="border-collapse:collapse;font-size:12px">', "<tr>"]
        out += [f'<th style="{cell_style};text-align:left">{charts.escape(h)}</th>' for h in head]
        out.append("</tr>")
        for row in rows:
            out.append("<tr>" + "".join(f'<td style="{cell_style}">{charts.escape(v)}</td>'
                                        for v in row) + "</tr>")
        out.append("</table>")
        out.append(
            '<div style="font-size:11px;color:var(--jp-ui-font-color2, #666)">'
            "step memory: peak one step allocates as tracemalloc sees it (NumPy-based "
            "frameworks only); peak RSS: the worker process, framework included.</div>"
        )
        return "".join(out)

    def label_html(self) -> str:
        """Threads, run lengths, machine and versions."""
        versions = {"python": platform.python_version(), **self._versions}
        text = (f"{self.threads} thread(s) per framework (BLAS, OpenMP, PyTorch and "
                f"TensorFlow pools capped) · fresh process per framework per round · "
                f"CPU: {os.cpu_count()} logical cores · "
                + ", ".join(f"{k} {v}" for k, v in versions.items()))
        return ('<div style="font-size:11px;color:var(--jp-ui-font-color2, #555)">'
                f"{charts.escape(text)}</div>")

    def status_html(self) -> str:
        lines = [*self._setup_messages, *self._messages]
        if self.running:
            lines.append("running… the chart fills in as each cell finishes")
        error = "color:var(--jp-error-color1, #b00020);font-size:12px"
        note = "color:var(--jp-ui-font-color2, #555);font-size:12px"
        return "".join(f'<div style="{note if m.startswith("running") else error}">'
                       f"{charts.escape(m)}</div>" for m in lines)

    @property
    def messages(self) -> list[str]:
        """What the board tells the user: bad settings, failed cells, a stop."""
        return [*self._setup_messages, *self._messages]

    def _update(self) -> None:
        with self._lock:
            total = self.total
            self.progress.max = max(total, 1)
            self.progress.value = min(self._done, self.progress.max)
            self.progress.description = f"{self._done}/{total}"
            failed = any(c.get("median_us") is None for c in self._cells.values())
            self.progress.bar_style = ("info" if self.running else
                                       "danger" if failed else
                                       "success" if total and self._done == total else "")
            self.button.description = "Stop" if self.running else "Run"
            self.button.icon = "stop" if self.running else "play"
            self.button.button_style = "warning" if self.running else "primary"
            self.button.disabled = not self.ready
            self.status.value = self.status_html()
            self.chart.value = on_card(self.chart_svg()) if self.suite else ""   # drawn for white
            self.table.value = self.table_html()
            self.label.value = self.label_html()

    # --- display ------------------------------------------------------------------------

    def snapshot_html(self) -> str:
        """A static copy of the board (chart, table, messages), for saved notebooks and
        viewers without a kernel: the chart is an image on a white card, which untrusted
        notebooks show, where inline SVG would be removed."""
        if self.suite is None:
            return self.status_html()
        chart = svg_image(on_card(self.chart_svg()), alt=self.title)
        return ('<div class="timingboard-snapshot">' + self.status_html() + chart
                + self.table_html() + self.label_html() + "</div>")

    def _bundle(self) -> dict:
        """The live board, with the static copy that a frontend without the widget shows."""
        bundle = self.container._repr_mimebundle_()
        data = dict(bundle[0] if isinstance(bundle, tuple) else bundle)
        data["text/plain"] = f"TimingBoard({self.title})"
        data["text/html"] = self.snapshot_html()
        return data

    def _update_snapshots(self) -> None:
        for handle in self._snapshots:
            try:
                handle.update(self._bundle(), raw=True)
            except Exception:  # the front end went away; the live board still works
                pass

    def _ipython_display_(self) -> None:
        """One output: the live board where widgets run, else its static copy (updated
        in the saved notebook when a run ends)."""
        from IPython.display import display

        handle = display(self._bundle(), raw=True, display_id=True)
        if handle is not None:
            self._snapshots.append(handle)
