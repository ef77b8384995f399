"""Playground: train one small network in PyTorch, TensorFlow and minigrad side by side,
without reading any code. It is the web app of ``notebooks/app.ipynb`` (``make app``).

    from widgets.playground import Playground, query_string
    app = Playground(query_string())   # the settings in the page's URL, under Voila
    app.container                      # show it; or app.train(wait=True) in a script

A person picks a dataset (two spirals, moons, circles, the 8x8 digits), a model
(hidden layers, width, activation), a framework or all three, the optimizer, learning
rate, batch size and number of steps, and presses Train. Each framework gets a panel:
its loss curve, its time per step, and its decision boundary (2-D sets) or confusion
matrix (digits). Below them, GraphView draws the model's computation graph. The Code
tab shows the set-up as three complete programs, in PyTorch, TensorFlow/Keras and
minigrad, each with a download link (``widgets.programs``): run on their own, they
print the losses the panels draw.

All frameworks start from the same weights (drawn by minigrad, copied with
``lessons.models.set_weights``) and train on the same batches in the same order
(``lessons.training.batch_order``), so their curves should lie on one another; where
they do not, the frameworks really differ. Each panel draws the other frameworks'
curves in grey behind its own, so the comparison is on screen.

- Training runs in a background thread: Stop, Reset and the other widgets answer while
  it runs, and the charts are redrawn a few times a second, not at every step. The
  batches are drawn as training reaches them (``Batches``), so memory does not grow
  with the number of steps.
- PyTorch and TensorFlow are imported when a run first needs them, inside that thread,
  so the app shows up in the time it takes to import minigrad and ipywidgets; while
  they load, the status says so and the progress bar is striped.
- Next to Train the app says how long the set-up will take (``estimate_seconds``), from
  per-step costs measured on a 2-core machine (``STEP_COST``), corrected by the step
  times this kernel has measured itself.
- The settings live in the page's query string (``?dataset=moons&width=8``), as in
  TensorFlow Playground, so a link opens the same set-up. ``Config`` reads and writes
  it; ``PageLink`` (a small anywidget) rewrites the browser's address as settings
  change. Voila hands the query string to the kernel; ``query_string()`` fetches it.
- Nothing raises into the page: a bad setting, a loss that becomes NaN or a framework
  that cannot be imported turns into a message, shown once (a framework's own trouble
  in its panel), and the app stays usable.
"""

from __future__ import annotations

import base64
import dataclasses
import math
import os
import pathlib
import struct
import sys
import threading
import time
import urllib.parse
import zlib
from dataclasses import dataclass

import anywidget
import ipywidgets as w
import numpy as np
import traitlets

from lessons.data import circles, load_digits, moons, two_spirals
from lessons.models import ACTIVATIONS, get_weights, mlp, predict, set_weights
from lessons.training import OPTIMIZERS, batch_order, keras_optimizer, torch_like_optimizer

from .charts import COLORS, escape, format_number
from .graphview import GraphView
from .programs import FILENAMES as PROGRAM_FILES
from .programs import LABELS as PROGRAM_LABELS
from .programs import download_uri, program

_HERE = pathlib.Path(__file__).parent

DATASETS = {"spirals": "Two spirals", "moons": "Moons", "circles": "Circles",
            "digits": "8×8 digits"}
FRAMEWORKS = ("minigrad", "torch", "tensorflow")
FRAMEWORK_CHOICES = {"minigrad": "minigrad", "torch": "PyTorch", "tensorflow": "TensorFlow",
                     "all": "All three"}
LABELS = {"minigrad": "minigrad", "torch": "PyTorch", "tensorflow": "TensorFlow"}
FRAMEWORK_COLORS = {"minigrad": COLORS["minigrad"], "torch": COLORS["torch"],
                    "tensorflow": COLORS["tf-eager"]}
CLASS_COLORS = ((0xf5, 0x93, 0x22), (0x08, 0x77, 0xbd))  # class 0 orange, class 1 blue

POINTS, TEST_FRACTION = 400, 0.2        # the generated 2-D sets: 320 train, 80 test
NOISE = {"spirals": 0.04, "moons": 0.1, "circles": 0.06}
GRID = 50                               # the decision boundary is drawn from GRID x GRID points
REFRESH_SECONDS = 0.3                   # the charts are redrawn at most this often
DIVERGED = 100                          # a loss this many times the first one has diverged
TIMED_AFTER = 3                         # steps left out of the time per step (warm-up, tracing)


# ------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class Config:
    """Everything the app lets a person choose; the page URL holds all of it."""

    dataset: str = "spirals"
    framework: str = "minigrad"
    depth: int = 2               # hidden layers
    width: int = 16              # units per hidden layer
    activation: str = "relu"
    optimizer: str = "adam"
    lr: float = 0.03
    batch: int = 32
    steps: int = 500
    seed: int = 0

    CHOICES = {"dataset": tuple(DATASETS), "framework": tuple(FRAMEWORK_CHOICES),
               "activation": ACTIVATIONS, "optimizer": OPTIMIZERS}
    # The largest legal set-up (the digits, 6 hidden layers of 128, batches of 512, 5000
    # steps, all three frameworks) is the slowest; the limits keep it to a few minutes
    # on a 2-core machine (estimate_seconds says how long before it starts).
    RANGES = {"depth": (0, 6), "width": (1, 128), "batch": (1, 512), "steps": (1, 5000),
              "seed": (0, 2**31 - 1)}
    LR_RANGE = (1e-6, 100.0)

    @property
    def frameworks(self) -> tuple[str, ...]:
        return FRAMEWORKS if self.framework == "all" else (self.framework,)

    def problems(self) -> list[str]:
        """What is wrong with these settings, one sentence each; empty when they can train."""
        found = []
        for name, choices in self.CHOICES.items():
            if getattr(self, name) not in choices:
                found.append(f"{name} must be one of {', '.join(choices)}, "
                             f"not {getattr(self, name)!r}")
        for name, (low, high) in self.RANGES.items():
            value = getattr(self, name)
            if not low <= value <= high:
                found.append(f"{name} must be between {low} and {high}, not {value}: "
                             f"{_HINTS[name]}")
        low, high = self.LR_RANGE
        if not (math.isfinite(self.lr) and low <= self.lr <= high):
            found.append(f"the learning rate must be between {low:g} and {high:g}, not "
                         f"{self.lr:g}: try 0.03 with Adam, 0.3 with SGD")
        return found

    def to_query(self) -> str:
        """``dataset=spirals&framework=minigrad&...``: every field, in a fixed order."""
        return urllib.parse.urlencode({f.name: _format_value(getattr(self, f.name))
                                       for f in dataclasses.fields(self)})

    @classmethod
    def from_query(cls, query: str | None) -> tuple["Config", list[str]]:
        """Settings from a query string (a leading ``?`` is fine), and messages for what
        could not be read. An unknown key, a value that is not a number or not one of the
        choices is left out (the default stands); a number out of range is kept, and
        ``problems`` names it, as it would if it were typed into the page."""
        values, messages = {}, []
        fields = {f.name: f.type for f in dataclasses.fields(cls)}
        for key, value in urllib.parse.parse_qsl((query or "").lstrip("?"),
                                                 keep_blank_values=True):
            if key in VOILA_KEYS:
                continue
            if key not in fields:
                messages.append(f"the link has an unknown setting {key!r}, ignored "
                                f"(known: {', '.join(fields)})")
                continue
            kind = fields[key]
            if key in cls.CHOICES and value not in cls.CHOICES[key]:
                messages.append(f"the link sets {key} to {value!r}, which is not one of "
                                f"{', '.join(cls.CHOICES[key])}; using {getattr(cls, key)}")
                continue
            try:
                values[key] = (int(value) if kind == "int" else
                               float(value) if kind == "float" else value)
            except ValueError:
                messages.append(f"the link sets {key} to {value!r}, which is not a number; "
                                f"using {getattr(cls, key)}")
        return cls(**values), messages


_HINTS = {"depth": "0 hidden layers is a linear model",
          "width": "a layer needs at least one unit",
          "batch": "the number of examples per step",
          "steps": "how long to train",
          "seed": "any whole number"}


# What Voila itself reads from the page's address (?theme=dark), not app settings.
VOILA_KEYS = ("theme", "template")


def _format_value(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def query_string() -> str:
    """The query string of the page the app is shown in: Voila passes it to the kernel
    as ``QUERY_STRING``. A preheated kernel (``VOILA_PREHEAT``) starts running the
    notebook before anyone asks for the page, so there ``voila.utils.get_query_string``
    waits for the request. Outside Voila (JupyterLab, nbval, scripts) it is empty."""
    if os.environ.get("VOILA_PREHEAT", "False") != "False":
        from voila.utils import get_query_string  # 1.5 s to import: only where needed

        return get_query_string() or ""
    return os.environ.get("QUERY_STRING", "")


def _under_voila() -> bool:
    return os.environ.get("SERVER_SOFTWARE", "").startswith("voila")


# ------------------------------------------------------------------------- data


@dataclass
class Data:
    """One data set, split; ``grid`` holds the points of the decision boundary (2-D)."""

    X: np.ndarray
    y: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    classes: int
    extent: tuple[float, float, float, float] | None = None  # x0, x1, y0, y1
    grid: np.ndarray | None = None


def load_data(name: str, seed: int = 0) -> Data:
    """The data set ``name`` (a key of DATASETS), split for training and testing."""
    if name == "digits":
        X, y, X_test, y_test = load_digits(seed=seed)
        return Data(X, y, X_test, y_test, classes=10)
    make = {"spirals": two_spirals, "moons": moons, "circles": circles}[name]
    X, y = make(n=POINTS, noise=NOISE[name], seed=seed)  # already shuffled
    n_test = int(POINTS * TEST_FRACTION)
    lo, hi = X.min(axis=0), X.max(axis=0)
    center, half = (lo + hi) / 2, (hi - lo).max() / 2 * 1.15  # a square view, with a margin
    x0, x1, y0, y1 = center[0] - half, center[0] + half, center[1] - half, center[1] + half
    gx, gy = np.meshgrid(np.linspace(x0, x1, GRID), np.linspace(y1, y0, GRID))  # top row first
    grid = np.stack([gx.ravel(), gy.ravel()], axis=1).astype(np.float32)
    return Data(X[n_test:], y[n_test:], X[:n_test], y[:n_test], classes=2,
                extent=(x0, x1, y0, y1), grid=grid)


class Batches:
    """The mini-batches of ``lessons.training.batch_order(n, batch_size, epochs, seed)``,
    the same indices in the same order, drawn as training reaches them: ``batches[step]``
    is the index array of step ``step`` (from 0). Only the current epoch's order (n
    indices) is kept, so memory does not grow with the number of steps; asking for an
    earlier epoch than the current one draws the orders again from the seed."""

    def __init__(self, n: int, batch_size: int, seed: int = 0):
        self.n, self.batch_size, self.seed = n, batch_size, seed
        self.per_epoch = -(-n // batch_size)  # the last batch of an epoch holds the rest
        self._restart()

    def _restart(self) -> None:
        self._rng, self._epoch, self._order = np.random.default_rng(self.seed), -1, None

    def __getitem__(self, step: int) -> np.ndarray:
        epoch, i = divmod(step, self.per_epoch)
        if epoch < self._epoch:
            self._restart()
        while self._epoch < epoch:
            self._order = self._rng.permutation(self.n)
            self._epoch += 1
        return self._order[i * self.batch_size:(i + 1) * self.batch_size]


# ------------------------------------------------------------------------- time


# Milliseconds per training step of an MLP on one CPU thread, as a fixed cost, a cost
# per layer, and a cost per million multiply-adds of the batch through the weights
# (batch x the sum of fan_in x fan_out: the forward pass; the backward pass and the
# update grow with it). Fitted by ``measure_step_costs()`` to steps timed on the
# project's 2-core x86 machine (shared with other work; the fastest of five medians of
# eight steps per set-up, the frameworks taking turns), 2026-12-07: the model is within
# a factor of 1.5 of most set-ups. A kernel that has trained corrects these by the
# times it measured itself (``Playground._speed``).
STEP_COST = {"minigrad": (0.2124, 0.0804, 0.1109),
             "torch": (0.471, 0.1423, 0.127),
             "tensorflow": (0.776, 0.0966, 0.1108)}
# Seconds to import PyTorch, TensorFlow and Keras in a fresh kernel (the first Train
# that needs them), median of three cold imports on the same machine.
LOAD_SECONDS = {"torch": 2.9, "tensorflow": 7.4}
# The loop around the steps (batch indexing, redrawing the charts a few times a second)
# adds to the steps' own time: whole runs in the app took 0.9 to 1.8 times the modelled
# steps (four set-ups, from one framework on the spirals to all three on the largest
# model), 1.2 in the middle.
LOOP_OVERHEAD = 1.2


def multiply_adds(sizes: tuple[int, ...], batch: int) -> float:
    """Multiply-adds of one forward pass of a batch through an MLP's weights."""
    return batch * sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))


def step_ms(framework: str, sizes: tuple[int, ...], batch: int) -> float:
    """Modelled milliseconds of one training step (see STEP_COST)."""
    fixed, per_layer, per_million = STEP_COST[framework]
    return fixed + per_layer * (len(sizes) - 1) + per_million * multiply_adds(sizes, batch) / 1e6


def estimate_seconds(frameworks, sizes: tuple[int, ...], batch: int, steps: int,
                     speed: dict | None = None) -> float:
    """Seconds that ``steps`` steps of ``frameworks`` (side by side, as the app trains
    them) take, loading left out. ``batch`` is the batch as trained (no larger than the
    training set); ``speed`` scales a framework's modelled time (measured / modelled,
    1 where unknown)."""
    ms = sum(step_ms(f, sizes, batch) * (speed or {}).get(f, 1.0) for f in frameworks)
    return steps * ms / 1e3 * LOOP_OVERHEAD


def measure_step_costs(frameworks=FRAMEWORKS, repeats: int = 5) -> dict:
    """Time training steps over the legal set-ups' range and fit STEP_COST to them:
    ``{framework: (fixed, per_layer, per_million)}``, plus ``"rows"``, what was timed
    (sizes, batch, ms per framework). Each set-up's time is the fastest of ``repeats``
    medians of eight steps (warm-up left out), so a machine busy with other work
    disturbs it less; the frameworks take turns step by step, as in the app (which
    makes small steps slower than timed one framework at a time). Takes about two
    minutes on two cores."""
    import minigrad

    rng = np.random.default_rng(0)
    shapes = [(0, 1)] + [(d, w) for d in (1, 3, 6) for w in (16, 64, 128)]
    rows = []
    set_ups = [(io, shape, b) for io in ((2, 2), (64, 10)) for shape in shapes
               for b in (32, 128, 512)]
    for (inputs, outputs), (depth, width), batch in set_ups:
        sizes = (inputs, *[width] * depth, outputs)
        minigrad.manual_seed(0)
        weights = get_weights(mlp("minigrad", sizes, "relu"))
        X = rng.standard_normal((batch, inputs)).astype(np.float32)
        y = rng.integers(0, outputs, batch)
        runs = [FrameworkRun(framework) for framework in frameworks]
        for run in runs:
            run.setup(Config(lr=1e-4), sizes, weights)
        medians = {run.framework: [] for run in runs}
        for repeat in range(repeats + 1):  # the first round is the warm-up
            for _ in range(8):
                for run in runs:  # interleaved, as the app trains them
                    run.step(X, y)
            if repeat:
                for run in runs:
                    medians[run.framework].append(float(np.median(run.seconds[-8:])) * 1e3)
        rows.append({"sizes": sizes, "batch": batch,
                     **{f: min(m) for f, m in medians.items()}})
    fitted = {"rows": rows}
    for framework in frameworks:
        A = np.array([[1.0, len(r["sizes"]) - 1, multiply_adds(r["sizes"], r["batch"]) / 1e6]
                      for r in rows])
        t = np.array([r[framework] for r in rows])
        # relative errors count alike: a small set-up off by half matters as a big one does
        coef = np.linalg.lstsq(A / t[:, None], np.ones(len(t)), rcond=None)[0]
        fitted[framework] = tuple(round(float(max(c, 0.0)), 4) for c in coef)
    return fitted


def loaded(framework: str) -> bool:
    """Whether this process has imported the framework already."""
    return framework == "minigrad" or sys.modules.get(
        "tensorflow" if framework == "tensorflow" else "torch") is not None


def duration_text(seconds: float) -> str:
    """'under a second', 'about 7 s', 'about 40 s', 'about 3 min', for a person."""
    if seconds < 1:
        return "under a second"
    if seconds < 10:
        return f"about {seconds:.0f} s"
    if seconds < 90:
        return f"about {5 * round(seconds / 5):.0f} s"
    minutes = seconds / 60
    return f"about {minutes:.0f} min" if minutes >= 10 else f"about {round(minutes * 2) / 2:g} min"


# ------------------------------------------------------------------------- one framework


class FrameworkRun:
    """One framework's copy of the model, its optimizer, and what training recorded."""

    def __init__(self, framework: str):
        self.framework = framework
        self.losses: list[float] = []
        self.seconds: list[float] = []      # wall time of each step
        self.error: str | None = None       # why this framework stopped, if it did
        self.diverged = False               # it stopped because its loss diverged
        self.stopped_at: int | None = None  # the step at which it stopped
        self.model = None

    def setup(self, config: Config, sizes: tuple[int, ...], weights: dict) -> None:
        """Build the model with ``weights`` and its training step (imports the framework).
        Each framework gets one thread: at this size more threads only wait on each
        other, and on a busy machine a waiting thread costs whole milliseconds a step."""
        from lessons.bench.harness import tensorflow_with_threads, torch_with_threads

        if self.framework == "torch":
            torch_with_threads(1)
        elif self.framework == "tensorflow":
            tensorflow_with_threads(1)
        else:
            _numpy_with_one_thread()
        self.model = mlp(self.framework, sizes, config.activation)
        set_weights(self.model, weights)
        make = _keras_step if self.framework == "tensorflow" else _torch_like_step
        self._step = make(self.model, self.framework, config.optimizer, config.lr)

    def step(self, X: np.ndarray, y: np.ndarray) -> float:
        """One training step on the batch (X, y); returns the loss before the update."""
        start = time.perf_counter()
        loss = self._step(X, y)
        self.seconds.append(time.perf_counter() - start)
        self.losses.append(loss)
        return loss

    def step_ms(self) -> float | None:
        """Median milliseconds per step over the last 50 steps, warm-up left out."""
        timed = self.seconds[TIMED_AFTER:][-50:]
        return float(np.median(timed)) * 1e3 if timed else None

    def predict(self, X: np.ndarray) -> np.ndarray:
        return predict(self.model, X)


def _numpy_with_one_thread() -> None:
    """NumPy's BLAS (minigrad's matrix products) on one thread, as the other frameworks
    are: with two, a 2-core machine busy with anything else made minigrad's steps two to
    four times slower, not faster. threadpoolctl comes with scikit-learn."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return
    threadpool_limits(limits=1, user_api="blas")


def _torch_like_step(model, framework, optimizer, lr):
    """PyTorch's (and minigrad's) loop body, as ``lessons.training.train`` writes it."""
    torch, opt = torch_like_optimizer(model, framework, optimizer, lr)
    F = torch.nn.functional
    model.train()

    def step(X, y):
        loss = F.cross_entropy(model(torch.tensor(X)), torch.tensor(y))
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()

    return step


def _keras_step(model, framework, optimizer, lr):
    """TensorFlow's loop body: GradientTape inside a tf.function (traced on the first
    step, which is why that step is left out of the time per step)."""
    import tensorflow as tf

    opt = keras_optimizer(optimizer, lr)
    opt.build(model.trainable_variables)  # its variables exist before tf.function traces

    @tf.function(reduce_retracing=True)
    def train_step(X, y):
        with tf.GradientTape() as tape:
            logits = model(X, training=True)
            loss = tf.reduce_mean(
                tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
        grads = tape.gradient(loss, model.trainable_variables)
        opt.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    return lambda X, y: float(train_step(X, y))


# ------------------------------------------------------------------------- pictures


def png(rgb: np.ndarray) -> bytes:
    """An RGB image, (height, width, 3) uint8, as PNG file bytes (no imaging library)."""
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    height, width, _ = rgb.shape
    rows = b"".join(b"\x00" + row.tobytes() for row in rgb)  # filter type 0 on each row

    def chunk(tag, data):
        return (struct.pack(">I", len(data)) + tag + data
                + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8 bits, RGB
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows))
            + chunk(b"IEND", b""))


def boundary_colors(p1: np.ndarray) -> np.ndarray:
    """Background colour per point from p(class 1): orange at 0, white at 0.5, blue at 1."""
    t = np.clip(2.0 * np.asarray(p1, dtype=np.float64) - 1.0, -1.0, 1.0)[..., None]
    white = np.array([255.0, 255.0, 255.0])
    light = [white + 0.55 * (np.array(c, dtype=np.float64) - white) for c in CLASS_COLORS]
    rgb = np.where(t < 0, white + (-t) * (light[0] - white), white + t * (light[1] - white))
    return np.round(rgb).astype(np.uint8)


def _svg(width, height, body, label, cls) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="{cls}" width="{width}" '
            f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
            f'aria-label="{escape(label)}">' + "".join(body) + "</svg>")


def _downsample(values: list[float], most: int = 240) -> list[tuple[float, float]]:
    """(step, loss) pairs, bucket means once there are more than ``most`` steps."""
    n = len(values)
    if n <= most:
        return [(i + 1, v) for i, v in enumerate(values)]
    edges = np.linspace(0, n, most + 1).astype(int)
    array = np.asarray(values, dtype=np.float64)
    return [((a + b + 1) / 2, float(array[a:b].mean())) for a, b in zip(edges[:-1], edges[1:])]


def loss_chart(curves: dict[str, list[float]], own: str, steps: int,
               width: int = 360, height: int = 150) -> str:
    """The loss per step of framework ``own`` in its colour, the others in grey behind.
    ``steps`` fixes the x axis, so a curve grows to the right as training goes on."""
    left, right, top, bottom = 40, 10, 10, 24
    plot_w, plot_h = width - left - right, height - top - bottom
    finite = {k: [v for v in c if math.isfinite(v)] for k, c in curves.items()}
    first = [c[0] for c in finite.values() if c]
    ceiling = max([v for c in finite.values() for v in c], default=1.0)
    if first:
        ceiling = min(ceiling, 2.0 * max(first))  # a diverging run does not squash the rest
    top_value = _nice_ceiling(ceiling)
    x_max = max(steps, max([len(c) for c in curves.values()], default=1), 2)

    def xy(step, value):
        value = min(max(value, 0.0), top_value)
        return (left + (step - 1) / (x_max - 1) * plot_w,
                top + (1 - value / top_value) * plot_h)

    body = [f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="#fafafa" '
            f'stroke="#ddd"/>']
    for frac in (0.0, 0.5, 1.0):
        y = top + (1 - frac) * plot_h
        body.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" '
                    f'stroke="#e6e6e6"/><text x="{left - 5}" y="{y + 4:.1f}" text-anchor="end" '
                    f'fill="#777">{format_number(frac * top_value)}</text>')
    body.append(f'<text x="{left}" y="{height - 6}" fill="#777">step 1</text>'
                f'<text x="{left + plot_w}" y="{height - 6}" text-anchor="end" fill="#777">'
                f'{x_max}</text><text x="{left + plot_w / 2}" y="{height - 6}" '
                f'text-anchor="middle" fill="#777">loss per step</text>')
    for name in [k for k in curves if k != own] + [own]:
        values = [v if math.isfinite(v) else top_value for v in curves[name]]
        if not values:
            continue
        points = " ".join(f"{x:.1f},{y:.1f}" for x, y in (xy(s, v) for s, v in _downsample(values)))
        if len(values) == 1:
            points += " " + points  # a polyline needs two points to show
        if name == own:
            body.append(f'<polyline class="fl-pg-curve" data-framework="{name}" '
                        f'data-steps="{len(values)}" points="{points}" fill="none" '
                        f'stroke="{FRAMEWORK_COLORS[name]}" stroke-width="2"/>')
        else:
            body.append(f'<polyline class="fl-pg-ghost" data-framework="{name}" '
                        f'points="{points}" fill="none" stroke="#c8c8c8" stroke-width="1.5"/>')
    return _svg(width, height, body, f"loss per step, {LABELS[own]}", "fl-pg-loss")


def _nice_ceiling(value: float) -> float:
    if not value > 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    return next(m * power for m in (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10) if m * power >= value)


def boundary_chart(data: Data, p1: np.ndarray | None, size: int = 360) -> str:
    """The decision boundary: p(class 1) on the grid as a background image, the
    training points as dots and the test points as rings."""
    x0, x1, y0, y1 = data.extent
    body = []
    if p1 is not None:
        image = boundary_colors(np.asarray(p1).reshape(GRID, GRID))
        uri = "data:image/png;base64," + base64.b64encode(png(image)).decode()
        body.append(f'<image class="fl-pg-boundary" href="{uri}" x="0" y="0" width="{size}" '
                    f'height="{size}" preserveAspectRatio="none"/>')
    else:
        body.append(f'<rect width="{size}" height="{size}" fill="#f6f6f6"/>')

    def px(points):
        return ((points[:, 0] - x0) / (x1 - x0) * size, (y1 - points[:, 1]) / (y1 - y0) * size)

    for X, y, test in ((data.X, data.y, False), (data.X_test, data.y_test, True)):
        xs, ys = px(X)
        for x, yy, label in zip(xs, ys, y):
            color = "#%02x%02x%02x" % CLASS_COLORS[int(label)]
            if test:
                body.append(f'<circle cx="{x:.1f}" cy="{yy:.1f}" r="3.2" fill="white" '
                            f'stroke="{color}" stroke-width="1.8"/>')
            else:
                body.append(f'<circle cx="{x:.1f}" cy="{yy:.1f}" r="3" fill="{color}" '
                            f'stroke="white" stroke-width="0.8"/>')
    body.append(f'<rect width="{size}" height="{size}" fill="none" stroke="#ccc"/>')
    return _svg(size, size, body, "decision boundary: orange is class 0, blue class 1; "
                "dots train, rings test", "fl-pg-map")


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, classes: int) -> np.ndarray:
    """counts[i, j]: how many examples of class i were predicted as class j."""
    counts = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(counts, (np.asarray(y_true), np.asarray(y_pred)), 1)
    return counts


def confusion_chart(counts: np.ndarray | None, color: str, size: int = 360) -> str:
    """A confusion matrix: rows are the true digit, columns the predicted one; a cell's
    shade is its share of the row, so a perfect model shows a dark diagonal."""
    classes = 10 if counts is None else len(counts)
    left, top = 34, 14
    cell = (size - left - 6) / classes
    rgb = tuple(int(color[i:i + 2], 16) for i in (1, 3, 5))
    body = [f'<text x="{left + classes * cell / 2:.1f}" y="10" text-anchor="middle" '
            f'fill="#777">predicted</text>',
            f'<text x="10" y="{top + classes * cell / 2:.1f}" text-anchor="middle" fill="#777" '
            f'transform="rotate(-90 10 {top + classes * cell / 2:.1f})">true digit</text>']
    rows = counts.sum(axis=1) if counts is not None else None
    for i in range(classes):
        body.append(f'<text x="{left - 4}" y="{top + (i + 0.65) * cell:.1f}" text-anchor="end" '
                    f'fill="#777">{i}</text>')
        for j in range(classes):
            share = counts[i, j] / rows[i] if counts is not None and rows[i] else 0.0
            fill = "#%02x%02x%02x" % tuple(round(255 + share * (c - 255)) for c in rgb)
            x, y = left + j * cell, top + i * cell
            body.append(f'<rect class="fl-pg-cell" x="{x:.1f}" y="{y:.1f}" width="{cell:.1f}" '
                        f'height="{cell:.1f}" fill="{fill}" stroke="white"/>')
            if counts is not None and counts[i, j]:
                ink = "white" if share > 0.5 else "#333"
                body.append(f'<text x="{x + cell / 2:.1f}" y="{y + cell * 0.65:.1f}" '
                            f'text-anchor="middle" fill="{ink}">{counts[i, j]}</text>')
    for j in range(classes):
        body.append(f'<text x="{left + (j + 0.5) * cell:.1f}" y="{top + classes * cell + 12:.1f}" '
                    f'text-anchor="middle" fill="#777">{j}</text>')
    return _svg(size, size + 14, body, "confusion matrix on the test digits", "fl-pg-confusion")


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
        self.train_view = w.VBox([self.panels, self.graph_box])
        self.tabs = w.Tab([self.train_view, self.code], titles=("Train", "Code"))
        self.tabs.add_class("fl-pg-tabs")
        self.tabs.observe(self._on_tab, names="selected_index")
        self.container = w.VBox([self.style, self.controls, self.status_bar,
                                 self.message, self.tabs],
                                layout=w.Layout(width="100%"))
        self.container.add_class("fl-playground")
        self._show_config(self.config)
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
        self.link = PageLink(rewrite_url=_under_voila())
        self.estimate = w.HTML()
        self.estimate.add_class("fl-pg-estimate")
        rows = [w.HBox([self.dataset, self.framework, self.train_button, self.stop_button,
                        self.reset_button, self.estimate, self.link]),
                w.HBox([self.depth, self.width, self.activation, self.optimizer, self.lr,
                        self.batch, self.steps])]
        for row in rows:
            row.add_class("fl-pg-row")
        self.controls = w.VBox(rows)
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

    def _on_tab(self, change) -> None:
        """Three programs side by side need more width than the panels: the page may
        grow as wide as the window while the Code tab shows."""
        if change["new"] == 1:
            self.container.add_class("fl-pg-wide")
        else:
            self.container.remove_class("fl-pg-wide")

    def _show_config(self, config: Config) -> None:
        """Put ``config`` into the widgets without each change resetting the app."""
        self._syncing = True
        try:
            for name in ("dataset", "framework", "activation", "optimizer"):
                widget, value = getattr(self, name), getattr(config, name)
                if value in [v for _, v in widget.options]:
                    widget.value = value
            for name in ("depth", "width", "lr", "batch", "steps"):
                getattr(self, name).value = getattr(config, name)
        finally:
            self._syncing = False

    def _config_from_widgets(self) -> Config:
        return dataclasses.replace(
            self.config, dataset=self.dataset.value, framework=self.framework.value,
            depth=self.depth.value, width=self.width.value, activation=self.activation.value,
            optimizer=self.optimizer.value, lr=float(self.lr.value), batch=self.batch.value,
            steps=self.steps.value)

    def _on_change(self, _change=None) -> None:
        if self._syncing:
            return
        old, new = self.config, self._config_from_widgets()
        if new == old:
            return
        self._link_messages = []
        self.config = new
        if dataclasses.replace(old, steps=new.steps) != new:  # more than the steps changed
            self.reset()
        else:
            self._update()

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
            self.data = load_data(config.dataset, config.seed)
        except Exception as exc:  # the digits need scikit-learn's data file
            self.messages.append(f"could not load the {DATASETS[config.dataset]} data: "
                                 f"{type(exc).__name__}: {exc}")
            return
        self._batches = Batches(len(self.data.X), config.batch, config.seed)
        minigrad.manual_seed(config.seed)
        model = mlp("minigrad", self.sizes, config.activation)
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
            if framework == "tensorflow":
                from lessons import quiet_tensorflow

                quiet_tensorflow()
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
                            self.activation, self.optimizer, self.lr, self.batch, self.steps):
                control.disabled = running
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
                f'<pre class="fl-pg-source">{_highlight(text)}</pre></div>')
        parts.append("</div>")
        return "".join(parts)

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
        p1, accuracy, counts = self._evaluate(run)
        if accuracy is not None:
            stats.append(f"test accuracy <b>{accuracy:.0%}</b>")
        parts.append('<div class="fl-pg-stats">' + " · ".join(stats) + "</div>")
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
        """(p(class 1) on the grid, test accuracy, confusion counts) for the panel."""
        data = self.data
        if data is None:
            return None, None, None
        if run is None or not run.losses or run.model is None:
            return self._initial_p1, None, None
        try:
            with np.errstate(all="ignore"):  # a diverged model overflows; its panel says so
                y_hat = run.predict(data.X_test).argmax(axis=1)
                p1 = _p1(run.predict(data.grid)) if data.grid is not None else None
        except Exception:  # a model whose weights are NaN predicts nothing useful
            return None, None, None
        accuracy = float((y_hat == data.y_test).mean())
        counts = confusion_matrix(data.y_test, y_hat, data.classes) if data.grid is None else None
        return p1, accuracy, counts


def _highlight(source: str) -> str:
    """Python source as HTML, its tokens in spans of Pygments' short class names (``k``
    keyword, ``s2`` string, ``c1`` comment...), which playground.css colours."""
    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import PythonLexer

    return highlight(source, PythonLexer(), HtmlFormatter(nowrap=True))


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
