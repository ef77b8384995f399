"""The Playground's settings: what a person can choose, read from and written to the
page's query string (``?dataset=moons&width=8``), as in TensorFlow Playground."""

from __future__ import annotations

import dataclasses
import math
import os
import urllib.parse
from dataclasses import dataclass

from lessons.models import ACTIVATIONS
from lessons.training import OPTIMIZERS

from ..charts import COLORS

DATASETS = {"spirals": "Two spirals", "moons": "Moons", "circles": "Circles",
            "digits": "8×8 digits"}
FRAMEWORKS = ("minigrad", "torch", "tensorflow")
FRAMEWORK_CHOICES = {"minigrad": "minigrad", "torch": "PyTorch", "tensorflow": "TensorFlow",
                     "all": "All three"}
LABELS = {"minigrad": "minigrad", "torch": "PyTorch", "tensorflow": "TensorFlow"}
FRAMEWORK_COLORS = {"minigrad": COLORS["minigrad"], "torch": COLORS["torch"],
                    "tensorflow": COLORS["tf-eager"]}


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


def under_voila() -> bool:
    return os.environ.get("SERVER_SOFTWARE", "").startswith("voila")
