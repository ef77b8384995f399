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
minigrad, each with a download link (``widgets.playground.programs``): run on their own, they
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

The package, one module per job:

- ``config``: ``Config``, the settings, and the query string they live in.
- ``data``: the data sets and ``Batches``.
- ``estimate``: how long a set-up will take (``STEP_COST``, ``estimate_seconds``).
- ``run``: ``FrameworkRun``, one framework's model, training step and record.
- ``pictures``: loss curves, decision boundaries, confusion matrices (SVG, PNG).
- ``programs``: the set-up as a program of its own in each framework (the Code tab).
- ``app``: ``Playground``, the widgets, the training thread and the drawing.
"""

from .app import PageLink, Playground
from .config import (
    DATASETS,
    FRAMEWORK_CHOICES,
    FRAMEWORK_COLORS,
    FRAMEWORKS,
    LABELS,
    PRESETS,
    Config,
    Preset,
    query_string,
)
from .data import GRID, NOISE, POINTS, Batches, Data, held_out, load_data
from .estimate import (
    LOAD_SECONDS,
    STEP_COST,
    duration_text,
    estimate_seconds,
    measure_step_costs,
    multiply_adds,
    step_ms,
)
from .pictures import (
    boundary_chart,
    boundary_colors,
    confusion_chart,
    confusion_matrix,
    loss_chart,
    png,
)
from .run import FrameworkRun

__all__ = ["Playground", "PageLink", "Config", "Preset", "PRESETS", "query_string",
           "DATASETS", "FRAMEWORKS", "FRAMEWORK_CHOICES", "FRAMEWORK_COLORS", "LABELS", "Data",
           "load_data", "Batches", "GRID", "NOISE", "POINTS", "held_out", "FrameworkRun",
           "STEP_COST", "LOAD_SECONDS", "step_ms", "multiply_adds", "estimate_seconds",
           "measure_step_costs", "duration_text", "png", "boundary_colors", "loss_chart",
           "boundary_chart", "confusion_matrix", "confusion_chart"]
