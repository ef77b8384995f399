"""Widgets that make a framework's inside visible while it runs.

- `GraphView`: the computation graph behind a result, from minigrad, PyTorch or
  TensorFlow, live while minigrad runs, or three side by side.
- `Stepper`: a debugger that replays a forward and backward pass one op at a time,
  with breakpoints and break-on-NaN.

They build on `minigrad.graph()` and `minigrad.autograd.observe()`.
"""
from .graphview import GraphView
from .stepper import Stepper

__all__ = ["GraphView", "Stepper"]
