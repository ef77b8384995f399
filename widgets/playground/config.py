"""The Playground's settings: what a person can choose, read from and written to the
page's query string (``?dataset=moons&width=8``), as in TensorFlow Playground."""

from __future__ import annotations

import dataclasses
import math
import os
import urllib.parse
from dataclasses import dataclass
from typing import NamedTuple

from lessons.frameworks import COLORS, LABELS as FRAMEWORK_LABELS
from lessons.models import ACTIVATIONS
from lessons.training import OPTIMIZERS

from .data import NOISE

DATASETS = {"spirals": "Two spirals", "moons": "Moons", "circles": "Circles",
            "digits": "8×8 digits"}
FRAMEWORKS = ("minigrad", "torch", "tensorflow")       # the app's order: the engine first
LABELS = {key: FRAMEWORK_LABELS[key] for key in FRAMEWORKS}
FRAMEWORK_CHOICES = {**LABELS, "all": "All three"}
FRAMEWORK_COLORS = {key: COLORS[key] for key in FRAMEWORKS}


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
    noise: float | None = None   # of the 2-D sets; None: the data set's own (NOISE)
    test: int = 20               # percent of the examples held out for testing
    l2: float = 0.0              # weight of the L2 penalty on the weights (not biases)
    dropout: float = 0.0         # rate of the Dropout after each hidden layer

    CHOICES = {"dataset": tuple(DATASETS), "framework": tuple(FRAMEWORK_CHOICES),
               "activation": ACTIVATIONS, "optimizer": OPTIMIZERS}
    # The largest legal set-up (the digits, 6 hidden layers of 128, batches of 512, 5000
    # steps, all three frameworks) is the slowest; the limits keep it to a few minutes
    # on a 2-core machine (estimate_seconds says how long before it starts).
    RANGES = {"depth": (0, 6), "width": (1, 128), "batch": (1, 512), "steps": (1, 5000),
              "seed": (0, 2**31 - 1), "test": (10, 90), "noise": (0.0, 1.0),
              "l2": (0.0, 1.0), "dropout": (0.0, 0.9)}
    LR_RANGE = (1e-6, 100.0)

    def __post_init__(self):
        if self.noise is None:  # frozen: set the default through object
            object.__setattr__(self, "noise", NOISE.get(self.dataset, 0.0))

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
            if not (math.isfinite(value) and low <= value <= high):
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
                               float(value) if kind.startswith("float") else value)
            except ValueError:
                messages.append(f"the link sets {key} to {value!r}, which is not a number; "
                                f"using {getattr(cls, key)}")
        return cls(**values), messages


_HINTS = {"depth": "0 hidden layers is a linear model",
          "width": "a layer needs at least one unit",
          "batch": "the number of examples per step",
          "steps": "how long to train",
          "seed": "any whole number",
          "test": "the percentage of the examples held out to test on",
          "noise": "0 draws the shapes exactly",
          "l2": "0 is no penalty; try 0.001 to 0.01",
          "dropout": "0 is no dropout; try 0.1 to 0.5"}


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


def under_voila() -> bool:
    return os.environ.get("SERVER_SOFTWARE", "").startswith("voila")


# ------------------------------------------------------------------------- presets


class Preset(NamedTuple):
    title: str   # what the Preset menu shows
    query: str   # the settings, as in the page's address; the rest keep their defaults
    note: str    # one line on what to look for


OVERFIT = "dataset=moons&noise=0.35&test=90&depth=3&width=64&lr=0.01&steps=2000"
PRESETS = {
    "same": Preset("Three frameworks, one curve",
                   "framework=all&dataset=moons&optimizer=sgd&lr=0.3",
                   "SGD from the same weights on the same batches: the three loss curves "
                   "agree to a millionth, and so do the boundaries."),
    "adam": Preset("TensorFlow's Adam ε differs",
                   "framework=all",
                   "Adam on the spirals: minigrad and PyTorch agree to a millionth, but "
                   "TensorFlow's curve leaves theirs within a few steps: Keras adds ε to √v "
                   "before Adam's bias correction, PyTorch after it."),
    "rate": Preset("Too high a learning rate",
                   "dataset=moons&optimizer=sgd&lr=20",
                   "SGD at a rate of 20 overshoots: the loss grows more than a thousandfold "
                   "in three steps and training stops. A rate of 0.3 trains these moons."),
    "small": Preset("Too small a network for the spirals",
                    "depth=1&width=2&steps=2000",
                    "Two hidden units can bend the boundary only so far: after 2,000 steps "
                    "about two test points in three are right. Width 16 gets over 90%."),
    "linear": Preset("No hidden layer for the circles",
                     "dataset=circles&depth=0&steps=1000",
                     "Without a hidden layer the boundary is one straight line, and no line "
                     "parts a ring from its centre: about half the test points are right."),
    "overfit": Preset("Overfitting: few noisy points, a big network",
                      OVERFIT,
                      "40 noisy training points, 3 layers of 64 units: the training loss "
                      "falls to nearly 0 while the test loss ends above 1, as the boundary "
                      "bends round single points."),
    "l2": Preset("L2 against overfitting",
                 OVERFIT + "&l2=0.01",
                 "The same set-up with an L2 penalty of 0.01: a smoother boundary, and a test "
                 "loss less than a fifth of the one without."),
    "dropout": Preset("Dropout, in three frameworks",
                      "framework=all&" + OVERFIT + "&dropout=0.5",
                      "Half the hidden units are zeroed at each step: a smoother boundary and "
                      "a lower test loss than without. Each framework draws its own masks, "
                      "so the curves no longer agree."),
}
