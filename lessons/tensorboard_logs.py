"""Read TensorBoard logs back into plain Python, without starting TensorBoard.

    runs = find_runs(log_dir)                  # ["keras/train", "pytorch", "tensorflow", ...]
    run = read_run(log_dir / "pytorch")
    run.scalars["loss/train"]                  # [(step, value), ...]
    run.histograms["weights/0.weight"]         # [(step, buckets), ...]; buckets: (k, 3) array
    run.graphs                                 # GraphDefs: what the Graphs dashboard draws
    histogram_stats(buckets)                   # {"count", "min", "max", "mean"}

A *run* is one folder of ``events.out.tfevents.*`` files, as TensorBoard counts them.
This uses TensorBoard's own reader (``plugin_event_accumulator``), the one its dashboards
use, so it sees the logs as TensorBoard does, whoever wrote them:

- PyTorch's ``SummaryWriter`` writes scalars and histograms as TensorFlow 1-style
  summaries (``simple_value``, ``HistogramProto``) and ``add_graph`` a ``GraphDef``
  event; ``tf.summary`` (TensorFlow 2) writes every summary as a tensor with a plugin
  name, and ``trace_export`` the traced graphs inside a ``RunMetadata``. The reader
  converts the old forms to the new, so both come back the same way here.
- A histogram comes back as TensorBoard keeps it: an array of buckets, one row
  ``(left edge, right edge, count)`` each.
- The Keras ``TensorBoard`` callback (``write_graph=True``) writes the model's
  configuration as JSON (the dashboard's "conceptual graph"), kept in ``keras_model``.

Only TensorBoard (and NumPy) are imported; neither PyTorch nor TensorFlow is needed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["Run", "find_runs", "read_run", "histogram_stats"]

_EVENTS = "events.out.tfevents.*"


@dataclass
class Run:
    """What one run's event files hold, by dashboard."""

    scalars: dict = field(default_factory=dict)      # tag -> [(step, float)]
    histograms: dict = field(default_factory=dict)   # tag -> [(step, (k, 3) array)]
    graphs: list = field(default_factory=list)       # GraphDef protos
    keras_model: dict | None = None                  # the Keras callback's model config
    plugins: dict = field(default_factory=dict)      # tag -> TensorBoard plugin name


def find_runs(log_dir) -> list[str]:
    """The runs under ``log_dir``: every folder holding event files, as a path relative
    to ``log_dir`` ("." for ``log_dir`` itself), sorted. TensorBoard lists the same."""
    root = Path(log_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"no log folder at {root}")
    folders = {path.parent for path in root.rglob(_EVENTS)}
    return sorted(folder.relative_to(root).as_posix() for folder in folders)


def read_run(run_dir) -> Run:
    """Read every event file of one run (not its subfolders) into a ``Run``."""
    from tensorboard.backend.event_processing import plugin_event_accumulator
    from tensorboard.compat.proto import config_pb2
    from tensorboard.util import tensor_util

    run_dir = Path(run_dir)
    if not any(run_dir.glob(_EVENTS)):
        raise FileNotFoundError(f"no event files in {run_dir} (find_runs lists the runs "
                                "under a log folder)")
    keep_all = {"tensors": 0, "scalars": 0, "histograms": 0, "graph": 0}
    accumulator = plugin_event_accumulator.EventAccumulator(str(run_dir), size_guidance=keep_all)
    accumulator.Reload()

    run = Run()
    tags = accumulator.Tags()
    for tag in tags["tensors"]:
        plugin = accumulator.SummaryMetadata(tag).plugin_data.plugin_name
        run.plugins[tag] = plugin
        events = accumulator.Tensors(tag)
        values = [(e.step, tensor_util.make_ndarray(e.tensor_proto)) for e in events]
        if plugin == "scalars":
            run.scalars[tag] = [(step, float(value)) for step, value in values]
        elif plugin == "histograms":
            run.histograms[tag] = [(step, np.asarray(value, dtype=np.float64))
                                   for step, value in values]
        elif plugin == "graph_run_metadata_graph":   # tf.summary.trace_export
            for _, blob in values:
                metadata = config_pb2.RunMetadata.FromString(_only_bytes(blob))
                run.graphs.extend(f.pre_optimization_graph for f in metadata.function_graphs)
        elif plugin == "graph_keras_model":
            run.keras_model = json.loads(_only_bytes(values[-1][1]))
    if tags["graph"]:                                 # a GraphDef event (PyTorch add_graph)
        run.graphs.insert(0, accumulator.Graph())
    return run


def _only_bytes(array):
    """The single string a blob summary holds (stored as a 0-d or 1-element array)."""
    items = np.asarray(array, dtype=object).reshape(-1)
    if items.size != 1:
        raise ValueError(f"expected one serialized blob, got {items.size}")
    return items[0]


def histogram_stats(buckets) -> dict:
    """Count, range and (approximate) mean of a histogram given as TensorBoard's buckets,
    rows of ``(left, right, count)``. The mean takes each bucket's values at its centre,
    so it is exact only to within half a bucket's width."""
    buckets = np.asarray(buckets, dtype=np.float64)
    if buckets.ndim != 2 or buckets.shape[1] != 3:
        raise ValueError(f"buckets must be rows of (left, right, count), got shape {buckets.shape}")
    counts = buckets[:, 2]
    total = counts.sum()
    if total == 0:
        return {"count": 0, "min": float("nan"), "max": float("nan"), "mean": float("nan")}
    filled = buckets[counts > 0]
    centres = (buckets[:, 0] + buckets[:, 1]) / 2
    return {"count": int(round(total)), "min": float(filled[:, 0].min()),
            "max": float(filled[:, 1].max()), "mean": float((centres * counts).sum() / total)}
