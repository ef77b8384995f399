"""How long a set-up will take, before it starts: per-step costs measured on a 2-core
machine (``STEP_COST``), and how long the frameworks take to import."""

from __future__ import annotations

import sys

import numpy as np

from lessons.models import get_weights, mlp

from .config import FRAMEWORKS, Config
from .run import FrameworkRun, importing

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
    """Whether this process has imported the framework already (a module still being
    imported in the background is not loaded yet)."""
    return framework == "minigrad" or (sys.modules.get(
        "tensorflow" if framework == "tensorflow" else "torch") is not None
        and not importing(framework))


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
