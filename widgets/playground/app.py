"""The Playground app: the widgets, the training thread and the drawing."""

from __future__ import annotations

import dataclasses
import math
import pathlib
import threading
import time

import anywidget
import ipywidgets as w
import numpy as np
import traitlets

from lessons.models import ACTIVATIONS, get_weights, mlp, predict

from ..charts import escape
from ..graphview import GraphView
from .config import (
    DATASETS,
    FRAMEWORK_CHOICES,
    FRAMEWORK_COLORS,
    FRAMEWORKS,
    LABELS,
    PRESETS,
    Config,
    under_voila,
)
from .data import NOISE, Batches, Data, load_data
from .estimate import LOAD_SECONDS, duration_text, estimate_seconds, loaded, step_ms
from .pictures import boundary_chart, confusion_chart, confusion_matrix, loss_chart, neuron_tiles
from .programs import FILENAMES as PROGRAM_FILES, LABELS as PROGRAM_LABELS, download_uri, program
from .run import TIMED_AFTER, FrameworkRun, import_in_background, importing, wait_for_import

_HERE = pathlib.Path(__file__).parent
NEURONS_TAB, GRAPH_TAB, CODE_TAB = 1, 2, 3  # the tabs' positions; Train is 0

REFRESH_SECONDS = 0.3                   # the charts are redrawn at most this often
DIVERGED = 100                          # a loss this many times the first one has diverged


# ------------------------------------------------------------------------- the URL


class PageLink(anywidget.AnyWidget):
    """Keeps the browser's address in step with the settings (``history.replaceState``)
    and shows a link to the current set-up. Only under Voila, where the page is the app:
    in JupyterLab it leaves the address alone."""

    _esm = _HERE / "playground.js"
    query = traitlets.Unicode("").tag(sync=True)
    rewrite_url = traitlets.Bool(False).tag(sync=True)


# ------------------------------------------------------------------------- the app


class Playground:
    """The app. ``Playground(query)`` takes its settings from a URL query string;
    ``.container`` is the widget to show. ``train()``, ``stop()`` and ``reset()`` do
    what the buttons do; ``runs`` holds each framework's ``FrameworkRun``."""

    def __init__(self, query: str = "", *, refresh_seconds: float = REFRESH_SECONDS):
        self.config, self._link_messages = Config.from_query(query)
        self.refresh_seconds = refresh_seconds
        self.runs: dict[str, FrameworkRun] = {}
        self.step = 0
        self.messages: list[str] = []
        self.data: Data | None = None
        self.initial_weights: dict | None = None
        self._initial_p1 = None
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._generation = 0           # bumped by every reset: an older thread stops writing
        self._status = ""
        self._syncing = False
        self._batches: Batches | None = None
        self._speed: dict[str, float] = {}   # measured / modelled step time, per framework
        self._started: float | None = None   # when the current training began (monotonic)
        self._took: float | None = None      # seconds the last training took
        self._code_config: Config | None = None  # the settings the Code tab shows
        self._build_controls()
        self._build_results()
        self._build_code()
        self.train_view = w.VBox([self.panels])
        self.tabs = w.Tab([self.train_view, self.neurons, self.graph_box, self.code],
                          titles=("Train", "Neurons", "Graph", "Code"))
        self.tabs.add_class("fl-pg-tabs")
        self.tabs.observe(self._on_tab, names="selected_index")
        self.container = w.VBox([self.style, self.controls, self.status_bar,
                                 self.message, self.tabs],
                                layout=w.Layout(width="100%"))
        self.container.add_class("fl-playground")
        self._show_config(self.config)
        self._show_preset()
        self.reset()

    # --- widgets --------------------------------------------------------------------

    def _build_controls(self) -> None:
        def control(widget, cls, width="170px"):
            widget.style = {"description_width": "initial"}
            widget.layout = w.Layout(width=width)
            widget.add_class(cls)
            widget.observe(self._on_change, names="value")
            return widget

        self.dataset = control(w.Dropdown(options=[(v, k) for k, v in DATASETS.items()],
                                          description="Data"), "fl-pg-dataset", "190px")
        self.framework = control(w.Dropdown(options=[(v, k) for k, v in FRAMEWORK_CHOICES.items()],
                                            description="Framework"), "fl-pg-framework", "200px")
        self.depth = control(w.IntText(description="Hidden layers"), "fl-pg-depth", "150px")
        self.width = control(w.IntText(description="Width"), "fl-pg-width", "115px")
        self.activation = control(w.Dropdown(options=[(a, a) for a in ACTIVATIONS],
                                                     description="Activation"),
                                  "fl-pg-activation", "175px")
        self.optimizer = control(w.Dropdown(options=[("Adam", "adam"), ("SGD", "sgd")],
                                            description="Optimizer"), "fl-pg-optimizer", "165px")
        self.lr = control(w.FloatText(description="Learning rate", step=0.01), "fl-pg-lr", "175px")
        self.batch = control(w.IntText(description="Batch"), "fl-pg-batch", "115px")
        self.steps = control(w.IntText(description="Steps"), "fl-pg-steps", "135px")
        self.noise = control(w.FloatText(description="Noise", step=0.01,
                                         tooltip="standard deviation of the noise added to "
                                                 "each point of the 2-D data sets"),
                             "fl-pg-noise", "125px")
        self.test = control(w.IntText(description="Test %", tooltip="percentage of the "
                                      "examples held out to test on"), "fl-pg-test", "115px")
        self.l2 = control(w.FloatText(description="L2", step=0.001, tooltip="weight of the "
                                      "L2 penalty on the weights (0: none)"), "fl-pg-l2", "120px")
        self.dropout = control(w.FloatText(description="Dropout", step=0.05,
                                           tooltip="share of hidden units zeroed in each "
                                                   "training step (0: none)"),
                               "fl-pg-dropout", "135px")
        self.preset = w.Dropdown(options=[("choose one…", "")] +
                                 [(preset.title, key) for key, preset in PRESETS.items()],
                                 description="Preset", style={"description_width": "initial"},
                                 layout=w.Layout(width="390px"))
        self.preset.add_class("fl-pg-preset")
        self.preset.observe(self._on_preset, names="value")
        self.preset_note = w.HTML()
        self.preset_note.add_class("fl-pg-preset-note")
        self.train_button = w.Button(description="Train", icon="play", button_style="primary",
                                     tooltip="train every chosen framework, side by side")
        self.stop_button = w.Button(description="Stop", icon="pause",
                                    tooltip="stop after the current step (Train goes on)")
        self.reset_button = w.Button(description="Reset", icon="undo",
                                     tooltip="back to the initial weights and step 0")
        for button, cls, action in ((self.train_button, "fl-pg-train", self.train),
                                    (self.stop_button, "fl-pg-stop", self.stop),
                                    (self.reset_button, "fl-pg-reset", self.reset)):
            button.add_class(cls)
            button.layout = w.Layout(width="96px")
            button.on_click(lambda _b, act=action: act())
        self.link = PageLink(rewrite_url=under_voila())
        self.estimate = w.HTML()
        self.estimate.add_class("fl-pg-estimate")
        rows = [w.HBox([self.dataset, self.framework, self.train_button, self.stop_button,
                        self.reset_button, self.estimate, self.link]),
                w.HBox([self.depth, self.width, self.activation, self.optimizer, self.lr,
                        self.batch, self.steps]),
                w.HBox([self.preset, self.noise, self.test, self.l2, self.dropout])]
        for row in rows:
            row.add_class("fl-pg-row")
        self.controls = w.VBox([*rows, self.preset_note])
        self.controls.add_class("fl-pg-controls")

    def _build_results(self) -> None:
        self.style = w.HTML(f"<style>{(_HERE / 'playground.css').read_text()}</style>")
        self.progress = w.IntProgress(value=0, min=0, max=1, layout=w.Layout(width="240px"))
        self.status = w.HTML()
        self.status.add_class("fl-pg-status")
        self.status_bar = w.HBox([self.progress, self.status])
        self.status_bar.add_class("fl-pg-row")
        self.message = w.HTML()
        self.message.add_class("fl-pg-message-box")
        self.panel_widgets = {f: w.HTML(layout=w.Layout(flex="1 1 0", min_width="300px"))
                              for f in FRAMEWORKS}
        self.panels = w.HBox(layout=w.Layout(width="100%"))
        self.panels.add_class("fl-pg-panels")
        self.graph = GraphView()
        self.graph_title = w.HTML()
        self.graph_box = w.VBox([self.graph_title, self.graph])

    def _build_code(self) -> None:
        self.code = w.HTML(layout=w.Layout(width="100%"))
        self.code.add_class("fl-pg-code")
        self.neurons = w.HTML(layout=w.Layout(width="100%"))
        self.neurons.add_class("fl-pg-neurons-tab")

    def _on_tab(self, change) -> None:
        """Three programs side by side need more width than the panels: the page may
        grow as wide as the window while the Code tab shows."""
        if change["new"] == CODE_TAB:
            self.container.add_class("fl-pg-wide")
        else:
            self.container.remove_class("fl-pg-wide")
        self._update()

    def _show_config(self, config: Config) -> None:
        """Put ``config`` into the widgets without each change resetting the app."""
        self._syncing = True
        try:
            for name in ("dataset", "framework", "activation", "optimizer"):
                widget, value = getattr(self, name), getattr(config, name)
                if value in [v for _, v in widget.options]:
                    widget.value = value
            for name in ("depth", "width", "lr", "batch", "steps", "noise", "test", "l2",
                         "dropout"):
                getattr(self, name).value = getattr(config, name)
        finally:
            self._syncing = False

    def _config_from_widgets(self) -> Config:
        return dataclasses.replace(
            self.config, dataset=self.dataset.value, framework=self.framework.value,
            depth=self.depth.value, width=self.width.value, activation=self.activation.value,
            optimizer=self.optimizer.value, lr=float(self.lr.value), batch=self.batch.value,
            steps=self.steps.value, noise=float(self.noise.value), test=self.test.value,
            l2=float(self.l2.value), dropout=float(self.dropout.value))

    def _on_change(self, _change=None) -> None:
        if self._syncing:
            return
        old, new = self.config, self._config_from_widgets()
        if (new.dataset != old.dataset and new.noise == old.noise
                and old.noise == NOISE.get(old.dataset, 0.0)):
            # the data set's own noise goes with it, unless a person chose another
            new = dataclasses.replace(new, noise=NOISE.get(new.dataset, 0.0))
            self._show_config(new)
        if new == old:
            return
        self._link_messages = []
        self.config = new
        self._show_preset()
        if dataclasses.replace(old, steps=new.steps) != new:  # more than the steps changed
            self.reset()
        else:
            self._update()

    def _on_preset(self, change) -> None:
        if self._syncing or not change["new"]:
            return
        self.apply_preset(change["new"])

    def apply_preset(self, key: str) -> None:
        """Take the settings of ``PRESETS[key]`` (the others go back to their defaults)
        and show its one line of commentary."""
        config, _ = Config.from_query(PRESETS[key].query)
        self._show_config(config)
        self._on_change()

    def _show_preset(self) -> None:
        """The preset whose settings these are, and its note; none once a setting differs."""
        key = next((k for k, p in PRESETS.items()
                    if Config.from_query(p.query)[0] == self.config), "")
        self._syncing = True
        try:
            self.preset.value = key
        finally:
            self._syncing = False
        self.preset_note.value = (f'<div class="fl-pg-note">{escape(PRESETS[key].note)}</div>'
                                  if key else "")

    def set(self, **settings) -> None:
        """Change settings as the widgets would, e.g. ``app.set(width=8, lr=0.1)``."""
        self._show_config(dataclasses.replace(self.config, **settings))
        self._on_change()

    # --- training -----------------------------------------------------------------------

    @property
    def running(self) -> bool:
        thread = self._thread
        return thread is not None and thread.is_alive()

    def train(self, wait: bool = False) -> None:
        """Train from the current step up to ``steps``, in a background thread;
        ``wait=True`` returns when training ends."""
        with self._lock:
            if self.running:
                return
            if self.config.problems():
                self._update()
                return
            if self.step >= self.config.steps:
                self.messages = [f"already trained {self.step} steps: raise Steps to go on, "
                                 "or Reset to start again"]
                self._update()
                return
            self.messages = [m for m in self.messages if "already trained" not in m]
            self._stop.clear()
            self._thread = threading.Thread(target=self._train, args=(self._generation,),
                                            name="Playground", daemon=True)
            self._status = "starting"
            self._started, self._took = time.monotonic(), None
            self._thread.start()
        self._update()
        if wait:
            self.wait()

    def stop(self) -> None:
        """Stop after the step in progress; Train goes on from there."""
        self._stop.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until training ends (or ``timeout`` seconds pass); True if it ended."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return not self.running

    def reset(self) -> None:
        """Stop, then go back to step 0 with fresh initial weights for the settings."""
        self._stop.set()
        with self._lock:
            self._generation += 1
            self.runs, self.step, self.messages = {}, 0, []
            self._status = ""
            self._started = self._took = None
            self._prepare_model()
        self._update()
        if self.initial_weights is not None and import_in_background(
                self.config.frameworks, then=self._update):  # get ready for Train
            self._update()

    def _prepare_model(self) -> None:
        """Data, initial weights (drawn by minigrad, copied to the other frameworks when
        they train), the initial decision boundary and the graph, for ``self.config``."""
        import minigrad
        import minigrad.nn.functional as F

        self.data, self.initial_weights, self._initial_p1 = None, None, None
        self._batches = None
        config = self.config
        if config.problems():
            self.graph.svg = self.graph.message = self.graph_title.value = ""
            return
        try:
            self.data = load_data(config.dataset, config.seed, noise=config.noise,
                                  test=config.test)
        except Exception as exc:  # the digits need scikit-learn's data file
            self.messages.append(f"could not load the {DATASETS[config.dataset]} data: "
                                 f"{type(exc).__name__}: {exc}")
            return
        self._batches = Batches(len(self.data.X), config.batch, config.seed)
        minigrad.manual_seed(config.seed)
        model = mlp("minigrad", self.sizes, config.activation, dropout=config.dropout)
        self.initial_weights = get_weights(model)
        if self.data.grid is not None:
            self._initial_p1 = _p1(predict(model, self.data.grid))
        X, y = self.data.X[:config.batch], self.data.y[:config.batch]
        loss = F.cross_entropy(model(minigrad.tensor(X)), minigrad.tensor(y))
        self.graph.show(loss, model=model)
        self.graph_title.value = (
            '<div class="fl-pg-graph-title"><b>The model as a computation graph</b> '
            f"(minigrad's record of one step's forward pass on a batch of {len(X)})</div>")

    @property
    def sizes(self) -> tuple[int, ...]:
        """Layer widths: input, the hidden layers, output."""
        inputs, outputs = (64, 10) if self.config.dataset == "digits" else (2, 2)
        return (inputs, *[self.config.width] * self.config.depth, outputs)

    def _train(self, generation: int) -> None:
        config, data, batches = self.config, self.data, self._batches

        def current():
            return generation == self._generation

        try:
            for framework in config.frameworks:
                if framework in self.runs or self._stop.is_set() or not current():
                    continue
                with self._lock:
                    if current():
                        self._status = (f"loading {LABELS[framework]} (first time only, "
                                        f"{duration_text(LOAD_SECONDS[framework])})…"
                                        if not loaded(framework) else
                                        f"setting up {LABELS[framework]}…")
                self._update()
                run = self._start_run(framework, config)
                with self._lock:
                    if current():
                        self.runs[framework] = run
            with self._lock:
                if current():
                    self._status = "training"
            last_drawn = 0.0
            while not self._stop.is_set() and current() and self.step < config.steps:
                live = self._live_runs()
                if not live:
                    break
                idx = batches[self.step]
                X, y = data.X[idx], data.y[idx]
                for run in live:
                    self._train_step(run, X, y, self.step + 1)
                with self._lock:
                    if not current():
                        break
                    self.step += 1
                if time.monotonic() - last_drawn > self.refresh_seconds:
                    self._update()
                    last_drawn = time.monotonic()
                time.sleep(0)  # let the kernel's main thread handle widget messages
        except Exception as exc:  # a bug here must not take the app down
            with self._lock:
                if current():
                    self.messages.append(f"training stopped: {type(exc).__name__}: {exc}")
        finally:
            with self._lock:
                if current():
                    self._status = ("done" if self.step >= config.steps else
                                    "failed" if not self._live_runs() else
                                    "stopped" if self.step else "")
                    self._took = time.monotonic() - self._started
                    self._learn_speed()
            if self._thread is threading.current_thread():
                self._thread = None
            self._update()

    def _live_runs(self) -> list[FrameworkRun]:
        """The chosen frameworks' runs that can still train."""
        return [r for f, r in self.runs.items() if r.error is None and f in self.config.frameworks]

    def _learn_speed(self) -> None:
        """How much slower (or faster) than STEP_COST this kernel's steps are, per framework,
        from the step times it measured: the next estimates use it."""
        batch = min(self.config.batch, len(self.data.X))
        for framework, run in self.runs.items():
            ms = run.step_ms()
            if ms is not None and len(run.seconds) > 2 * TIMED_AFTER:
                self._speed[framework] = ms / step_ms(framework, self.sizes, batch)

    def _start_run(self, framework: str, config: Config) -> FrameworkRun:
        """A FrameworkRun, or one whose ``error`` says why the framework cannot train."""
        run = FrameworkRun(framework)
        try:
            wait_for_import(framework)
            run.setup(config, self.sizes, self.initial_weights)
        except Exception as exc:
            run.error = (f"{LABELS[framework]} could not be loaded ({type(exc).__name__}: "
                         f"{exc}), so it is left out; the other frameworks still train. "
                         "Install it with: pip install -e '.[frameworks]'")
        return run

    def _train_step(self, run: FrameworkRun, X, y, step: int) -> None:
        """One step of ``run``; a framework that fails or diverges stops, and its panel
        says why."""
        try:
            with np.errstate(all="ignore"):  # overflow is reported below, not printed
                loss = run.step(X, y)
        except Exception as exc:
            run.error = (f"{LABELS[run.framework]} failed at step {step}: "
                         f"{type(exc).__name__}: {exc}")
            run.stopped_at = step
            return
        first = run.losses[0]
        if math.isfinite(loss) and loss <= DIVERGED * first:
            return
        grew = (f"became {loss}" if not math.isfinite(loss) else
                f"grew from {first:.3g} to {loss:.3g}")
        run.error = (f"{LABELS[run.framework]}'s loss {grew} at step {step}: training "
                     f"diverged, because the learning rate {self.config.lr:g} is too large "
                     f"for this model. Lower it (try {self.config.lr / 10:g}); that starts "
                     "again from the initial weights.")
        run.diverged, run.stopped_at = True, step

    # --- drawing ---------------------------------------------------------------------------

    def _update(self) -> None:
        """Bring every widget in line with the settings and the training state."""
        with self._lock:
            config, running = self.config, self.running
            problems = config.problems()
            for control in (self.dataset, self.framework, self.depth, self.width,
                            self.activation, self.optimizer, self.lr, self.batch, self.steps,
                            self.test, self.l2, self.preset):
                control.disabled = running
            self.noise.disabled = running or config.dataset == "digits"
            self.dropout.disabled = running or (config.depth == 0 and not config.dropout)
            self.train_button.disabled = (running or bool(problems) or self.initial_weights is None
                                          or self._nothing_left_to_train())
            self.stop_button.disabled = not running
            self.link.query = config.to_query()
            loading = running and self._status != "training"
            self.progress.max = max(config.steps, 1)
            self.progress.value = self.progress.max if loading else min(self.step, config.steps)
            if loading:
                self.progress.add_class("fl-pg-loading")
            else:
                self.progress.remove_class("fl-pg-loading")
            self.progress.bar_style = "danger" if self._status == "failed" and not running else ""
            self.status.value = self._status_html(running)
            self.estimate.value = self._estimate_html(running, problems)
            lines = [*problems, *self._link_messages, *self.messages]
            self.message.value = "".join(f'<div class="fl-pg-message">{escape(m)}</div>'
                                         for m in dict.fromkeys(lines))
            chosen = [] if problems else list(config.frameworks)
            for framework in chosen:
                self.panel_widgets[framework].value = self._panel_html(framework)
            children = tuple(self.panel_widgets[f] for f in chosen)
            if self.panels.children != children:
                self.panels.children = children
            if self.tabs.selected_index == NEURONS_TAB:  # drawn only while it shows
                self.neurons.value = self._neurons_html(problems)
            if config != self._code_config:
                self.code.value = self._code_html(config, problems)
                self._code_config = config

    def _code_html(self, config: Config, problems: list[str]) -> str:
        """The Code tab: the set-up as a program in each framework, side by side."""
        if problems:
            return ('<div class="fl-pg-code-note">The programs appear here once the '
                    "settings above can train.</div>")
        parts = ['<div class="fl-pg-code-note">This set-up as a program of its own in each '
                 "framework: it makes the same data, starts from the same initial weights "
                 "and trains on the same batches as the app, so it prints the losses the "
                 "panels draw. Download one and run it with <code>python</code>.</div>",
                 '<div class="fl-pg-programs">']
        for framework in FRAMEWORKS:
            text, name = program(framework, config), PROGRAM_FILES[framework]
            parts.append(
                f'<div class="fl-pg-program" data-framework="{framework}">'
                f'<div class="fl-pg-program-head"><span class="fl-pg-dot" '
                f'style="background:{FRAMEWORK_COLORS[framework]}"></span>'
                f"<b>{PROGRAM_LABELS[framework]}</b>"
                f'<a class="fl-pg-download" download="{name}" href="{download_uri(text)}" '
                f'title="save the program as {name}">⤓ {name}</a></div>'
                f'<pre class="fl-pg-source" tabindex="0">{_highlight(text)}</pre></div>')
        parts.append("</div>")
        return "".join(parts)

    def _neurons_html(self, problems: list[str]) -> str:
        """The Neurons tab: the first hidden layer of one framework's model, unit by unit."""
        config, data = self.config, self.data
        if problems or data is None or self.initial_weights is None:
            return ('<div class="fl-pg-code-note">The units appear here once the settings '
                    "above can train.</div>")
        if config.depth == 0:
            return ('<div class="fl-pg-code-note">This model has no hidden layer: its '
                    "logits are a linear function of the input, and the decision boundary "
                    "is a straight line (Train tab).</div>")
        run = next((self.runs[f] for f in config.frameworks
                    if f in self.runs and self.runs[f].model is not None), None)
        try:
            weights = get_weights(run.model) if run is not None else self.initial_weights
        except Exception:  # a framework whose weights cannot be read (NaN is fine)
            run, weights = None, self.initial_weights
        whose = (f"{LABELS[run.framework]}'s model after {len(run.losses)} steps"
                 if run is not None else "the initial weights, before training")
        if data.grid is not None:
            how = ("each square is one unit's output over the input plane, the square the "
                   "decision boundary is drawn on"
                   + {"relu": ": white where the unit is 0 (off), bluer as it grows",
                      "tanh": ": orange at -1, white at 0, blue at +1",
                      "sigmoid": ": orange at 0, white at 0.5, blue at 1"}[config.activation]
                   + ". Each unit draws one straight line across the plane; the next layers "
                   "combine these lines into the curved boundary.")
        else:
            how = ("each square is one unit's 64 weights as an 8×8 image: blue pixels push "
                   "its output up, orange ones down. These are the strokes it looks for.")
        others = (" The other frameworks start from the same weights and see the same "
                  "batches, so theirs look the same unless their curves part."
                  if len(config.frameworks) > 1 else "")
        tiles = neuron_tiles(weights["0.weight"], weights["0.bias"], config.activation, data)
        cells = "".join(f'<figure class="fl-pg-unit"><img src="{uri}" alt="unit {i + 1}" '
                        f'width="64" height="64"><figcaption>{i + 1}</figcaption></figure>'
                        for i, uri in enumerate(tiles))
        return (f'<div class="fl-pg-code-note">The first hidden layer ({len(tiles)} units) '
                f"of {escape(whose)}: {escape(how)}{escape(others)}</div>"
                f'<div class="fl-pg-units">{cells}</div>')

    def _nothing_left_to_train(self) -> bool:
        """Every chosen framework has stopped for good (diverged, failed, not installed)."""
        return all(f in self.runs and self.runs[f].error for f in self.config.frameworks)

    def _status_html(self, running: bool) -> str:
        steps = self.config.steps
        stopped = [r for f, r in self.runs.items() if r.error and f in self.config.frameworks]
        if running and self._status != "training":
            text = self._status
        elif running:
            text = f"training: step {self.step} of {steps} (one CPU thread per framework)"
        elif self._status == "done":
            text = f"done: {self.step} steps"
            if stopped:
                text += (f"; {' and '.join(LABELS[r.framework] for r in stopped)} stopped "
                         "early (see the panel)")
        elif self._status == "failed" and any(r.diverged for r in stopped):
            text = (f"training stopped at step {self.step}: the loss diverged. Lower the "
                    f"learning rate (try {self.config.lr / 10:g}) and press Train")
        elif self._status == "failed":
            text = (f"training stopped at step {self.step}: "
                    f"{' and '.join(LABELS[r.framework] for r in stopped)} could not go on "
                    "(see the panel)")
        elif self._status == "stopped":
            text = f"stopped at step {self.step} of {steps}: Train goes on"
        else:
            text = "ready: press Train"
            loading = [LABELS[f] for f in self.config.frameworks if importing(f)]
            if loading:
                text += f" ({' and '.join(loading)} loading in the background)"
        return f'<span class="fl-pg-state" data-step="{self.step}">{escape(text)}</span>'

    def _estimate_html(self, running: bool, problems: list[str]) -> str:
        """How long the set-up will take (before), about how long is left (while it
        trains), how long it took (after)."""
        config = self.config
        if problems or self.data is None or (self._status == "failed" and not running):
            return ""
        if not running and self._took is not None and self.step >= config.steps:
            text, title = f"took {_elapsed_text(self._took)}", "the time training took"
        else:
            chosen = [f for f in config.frameworks
                      if not (f in self.runs and self.runs[f].error)]
            batch = min(config.batch, len(self.data.X))
            speed = dict(self._speed)
            for framework, run in self.runs.items():
                ms = run.step_ms()
                if ms is not None and run.error is None:  # this run's own recent steps
                    speed[framework] = ms / step_ms(framework, self.sizes, batch)
            estimate = estimate_seconds(chosen, self.sizes, batch, config.steps - self.step,
                                        speed)
            text = duration_text(estimate)
            if running and self._status == "training":
                text += " left"
            else:
                text += (f" for {len(chosen)} frameworks" if len(chosen) > 1 else "")
                text += " to go on" if self.step else ""
                to_load = [f for f in chosen if f not in self.runs and not loaded(f)]
                if to_load:
                    text += (f", plus {duration_text(sum(LOAD_SECONDS[f] for f in to_load))} "
                             f"to load {' and '.join(LABELS[f] for f in to_load)} the first time")
            title = ("estimated from per-step times measured on a 2-core machine, corrected "
                     "by the times measured here")
        return f'<span class="fl-pg-eta" title="{escape(title)}">{escape(text)}</span>'

    def _panel_html(self, framework: str) -> str:
        run = self.runs.get(framework)
        curves = {f: r.losses for f, r in self.runs.items()}
        curves.setdefault(framework, [])
        parts = [f'<div class="fl-pg-panel" data-framework="{framework}">',
                 f'<div class="fl-pg-title"><span class="fl-pg-dot" '
                 f'style="background:{FRAMEWORK_COLORS[framework]}"></span>{LABELS[framework]}'
                 + (" <small>(tf.function)</small>" if framework == "tensorflow" else "")
                 + "</div>"]
        stats = []
        if run is not None and run.losses:
            stats.append(f"loss <b>{run.losses[-1]:.4g}</b>")
        ms = run.step_ms() if run is not None else None
        stats.append(f'<span class="fl-pg-time">{_ms_text(ms)}</span>')
        p1, accuracy, test_loss, counts = self._evaluate(run)
        if accuracy is not None:
            stats.append(f"test accuracy <b>{accuracy:.0%}</b>")
        if test_loss is not None:
            stats.append(f'<span title="mean cross-entropy on the test examples">test loss '
                         f"<b>{test_loss:.3g}</b></span>")
        parts.append('<div class="fl-pg-stats">'
                     + " ".join(f'<span class="fl-pg-stat">{stat}</span>' for stat in stats)
                     + "</div>")
        if run is not None and run.error:
            parts.append(f'<div class="fl-pg-message">{escape(run.error)}</div>')
        parts.append(loss_chart(curves, framework, self.config.steps))
        if self.data is not None and self.data.grid is not None:
            parts.append(boundary_chart(self.data, p1))
        elif self.data is not None:
            parts.append(confusion_chart(counts, FRAMEWORK_COLORS[framework]))
        parts.append("</div>")
        return "".join(parts)

    def _evaluate(self, run: FrameworkRun | None):
        """(p(class 1) on the grid, test accuracy, test loss, confusion counts) for the
        panel; the test loss is the mean cross-entropy, without the L2 penalty."""
        data = self.data
        if data is None:
            return None, None, None, None
        if run is None or not run.losses or run.model is None:
            return self._initial_p1, None, None, None
        try:
            with np.errstate(all="ignore"):  # a diverged model overflows; its panel says so
                logits = run.predict(data.X_test)
                p1 = _p1(run.predict(data.grid)) if data.grid is not None else None
        except Exception:  # a model whose weights are NaN predicts nothing useful
            return None, None, None, None
        y_hat = logits.argmax(axis=1)
        accuracy = float((y_hat == data.y_test).mean())
        loss = cross_entropy(logits, data.y_test)
        counts = confusion_matrix(data.y_test, y_hat, data.classes) if data.grid is None else None
        return p1, accuracy, loss if math.isfinite(loss) else None, counts


def _highlight(source: str) -> str:
    """Python source as HTML, its tokens in spans of Pygments' short class names (``k``
    keyword, ``s2`` string, ``c1`` comment...), which playground.css colours."""
    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import PythonLexer

    return highlight(source, PythonLexer(), HtmlFormatter(nowrap=True))


def cross_entropy(logits: np.ndarray, y: np.ndarray) -> float:
    """The mean softmax cross-entropy of ``logits`` (rows) against the labels ``y``."""
    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=1, keepdims=True)
    with np.errstate(all="ignore"):
        return float(np.mean(np.log(np.exp(z).sum(axis=1)) - z[np.arange(len(z)), y]))


def _p1(logits: np.ndarray) -> np.ndarray:
    """p(class 1) from two logits per row (a softmax), NaN-safe."""
    logits = np.nan_to_num(np.asarray(logits, dtype=np.float64), nan=0.0, posinf=1e9, neginf=-1e9)
    return 1.0 / (1.0 + np.exp(np.clip(logits[:, 0] - logits[:, 1], -60, 60)))


def _ms_text(ms: float | None) -> str:
    if ms is None:
        return "time per step: …"
    return f"{ms:.2f} ms per step" if ms < 10 else f"{ms:.0f} ms per step"


def _elapsed_text(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.1f} min"
