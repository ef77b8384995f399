"""The frameworks the course compares: one key, label and colour for each, and their imports.

    from lessons.frameworks import KEYS, LABELS, COLORS, lookup
    KEYS                    # ("torch", "tensorflow", "minigrad"), the order lessons use
    LABELS["torch"]         # "PyTorch"
    COLORS["tf-function"]   # the colour of a benchmark variant
    lookup("PyTorch").key   # "torch": keys, labels and aliases, in any case

Everything else in the project names a framework by its key and takes labels and
colours from here. The benchmarks also run *variants*: a framework in one of its modes
("tf-eager", "tf-function"), or a baseline outside the three ("numpy", a hand-written
NumPy step); each variant has a colour of its own and names the framework it runs on.

PyTorch and TensorFlow are imported only when ``torch_with_threads`` or
``tensorflow_with_threads`` is called, so importing this module stays cheap.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Framework:
    key: str                        # the name in code: "torch", "tensorflow", "minigrad"
    label: str                      # the name people read: "PyTorch"
    color: str                      # its colour in every chart
    aliases: tuple[str, ...] = ()   # other names a person may write for it


@dataclass(frozen=True)
class Variant:
    key: str                        # "tf-eager"
    framework: str | None           # the framework's key; None for a baseline (NumPy)
    color: str


FRAMEWORKS = (
    Framework("torch", "PyTorch", "#ee4c2c", aliases=("pytorch",)),
    Framework("tensorflow", "TensorFlow", "#ff8f00"),
    Framework("minigrad", "minigrad", "#7b3294"),
)
VARIANTS = (
    Variant("tf-eager", "tensorflow", "#ff8f00"),     # GradientTape, the framework's colour
    Variant("tf-function", "tensorflow", "#c77800"),  # tf.function, a darker shade of it
    Variant("torch-compile", "torch", "#f5a596"),     # compiled modes: a lighter shade
    Variant("minigrad-compile", "minigrad", "#bd99c9"),
    Variant("numpy", None, "#4d77cf"),
)

KEYS = tuple(f.key for f in FRAMEWORKS)
LABELS = {f.key: f.label for f in FRAMEWORKS}
COLORS = {f.key: f.color for f in FRAMEWORKS} | {v.key: v.color for v in VARIANTS}


def lookup(name: str) -> Framework:
    """The framework called ``name``: its key, label or an alias, in any case, or the key
    of one of its variants ("tf-eager" is TensorFlow). Raises KeyError otherwise."""
    wanted = name.strip().lower()
    for f in FRAMEWORKS:
        if wanted in (f.key, f.label.lower(), *f.aliases):
            return f
    for v in VARIANTS:
        if wanted == v.key and v.framework is not None:
            return lookup(v.framework)
    raise KeyError(f"no framework called {name!r}; known: {', '.join(KEYS)}")


def torch_with_threads(threads: int):
    """PyTorch, limited to `threads` threads. Its inter-op pool can be sized only before
    its first parallel work; a process that asks again later keeps the first size."""
    import torch

    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(threads)
    except RuntimeError:
        pass
    return torch


def tensorflow_with_threads(threads: int):
    """TensorFlow, limited to `threads` threads. Its pools can be sized only before it
    starts; a process that asks again later keeps the first size."""
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError:
        pass
    return tf
