"""Widgets that make a framework's inside visible while it runs.

- `GraphView`: the computation graph behind a result, from minigrad, PyTorch or
  TensorFlow, live while minigrad runs, or three side by side.
- `Stepper`: a debugger that replays a forward and backward pass one op at a time,
  with breakpoints and break-on-NaN.
- `TimingBoard`: times a workload across frameworks and sizes with the benchmark
  harness of `python -m lessons.bench`, its chart filling in live.
- `OpProfile`: where one training step spends its time, op by op, forward and
  backward (minigrad through its observe hook, PyTorch through torch.profiler).

They build on `minigrad.graph()` and `minigrad.autograd.observe()`.

Importing the package also lets `%%compare --graph` (from `lessons`) draw its graphs
(`widgets.compare`); `%load_ext widgets` registers `%%compare` as `%load_ext lessons`
does, with the graphs.
"""
from . import compare  # noqa: F401  (installs the %%compare --graph renderer)
from .graphview import GraphView
from .profile import OpProfile
from .stepper import Stepper
from .timing import TimingBoard

__all__ = ["GraphView", "Stepper", "TimingBoard", "OpProfile"]


def load_ipython_extension(ipython):
    """`%load_ext widgets`: what `%load_ext lessons` does; `%%compare --graph` draws too."""
    import lessons

    lessons.load_ipython_extension(ipython)
