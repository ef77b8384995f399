"""`minigrad.graph(output)`: the computation graph behind a tensor, as plain data.

The result is JSON-ready: lists of dicts holding strings, numbers and lists, so a widget
(or a person) can draw or inspect it without knowing minigrad's classes.
"""
import numpy as np

from .autograd import made_by
from .tensor import Tensor

# Tensors with at most this many elements are exported in full; larger ones as a summary.
FULL_VALUES_UP_TO = 64


def graph(output, names=None, values=True, grads=True):
    """Walk from `output` back to its leaves and describe every tensor and operation.

    names: optional {name: tensor} (e.g. dict(model.named_parameters())) to label tensors.
    Returns {"nodes": [...], "edges": [...]}: tensor nodes ("kind": "tensor") with id,
    label, shape, dtype, role ("input", "parameter", "intermediate", "output"), and
    optionally value/grad summaries; op nodes ("kind": "op") with id, op, label
    (grad_fn name), seq (creation order: ops ran in increasing seq), saved_shapes, and
    freed (True once backward() released what the op saved, so a second backward through
    it would fail). Edges go from producer to consumer, in the direction of the forward
    pass.
    """
    if not isinstance(output, Tensor):
        raise TypeError(f"minigrad.graph() takes a minigrad Tensor, not {type(output).__name__}")
    labels = {id(t): name for name, t in (names or {}).items()}
    nodes, edges, tensor_ids, op_ids = [], [], {}, {}

    def tensor_node(t, maker):
        """The node of tensor `t` as made by `maker` (its grad_fn then): a tensor
        changed in place since has a node for each of its versions in the graph."""
        key = (id(t), id(maker))
        if key in tensor_ids:
            return tensor_ids[key]
        tid = f"t{len(tensor_ids)}"
        tensor_ids[key] = tid
        current = maker is t.grad_fn
        if t is output and current:
            role = "output"
        elif maker is not None:
            role = "intermediate"
        else:
            role = "parameter" if t.requires_grad else "input"
        label = labels.get(id(t), "")
        if not current:
            label = (label + " " if label else "") + "(before an in-place change)"
        node = {"id": tid, "kind": "tensor", "label": label,
                "shape": list(t.shape), "dtype": t.dtype.name, "role": role,
                "requires_grad": bool(t.requires_grad), "is_leaf": maker is None}
        if values:     # an earlier version's values are gone: its memory was overwritten
            node["value"] = summarize(t.data) if current else None
        if grads:
            node["grad"] = None if t.grad is None or not current else summarize(t.grad.data)
        nodes.append(node)
        return tid

    stack = [(output, output.grad_fn)]
    tensor_node(output, output.grad_fn)
    while stack:
        t, fn = stack.pop()
        if fn is None:
            continue
        if id(fn) not in op_ids:
            op_ids[id(fn)] = oid = f"op{len(op_ids)}"
            nodes.append({"id": oid, "kind": "op", "op": fn.op, "label": fn.name(), "seq": fn.seq,
                          "saved_shapes": saved_shapes(fn), "freed": fn.saved_shapes is None})
            for x in fn.inputs:
                if isinstance(x, Tensor):
                    maker = made_by(x, fn)   # x's grad_fn when fn ran (an in-place op
                                             # may have given x a new one since)
                    seen = (id(x), id(maker)) in tensor_ids
                    edges.append({"source": tensor_node(x, maker), "target": oid})
                    if not seen:
                        stack.append((x, maker))
        edges.append({"source": op_ids[id(fn)], "target": tensor_ids[(id(t), id(fn))]})
    return {"nodes": nodes, "edges": edges}


def saved_shapes(fn):
    shapes = fn.saved_shapes
    return [] if shapes is None else [list(s) for s in shapes]


def summarize(array):
    """Values of a small array in full; a large one as shape statistics."""
    array = np.asarray(array.get() if hasattr(array, "get") else array)
    if array.size == 0:
        return {"numel": 0}
    as_float = array.astype(np.float64)
    summary = {"numel": int(array.size), "min": float(as_float.min()),
               "max": float(as_float.max()), "mean": float(as_float.mean())}
    if array.size <= FULL_VALUES_UP_TO:
        summary["data"] = array.tolist()
    return summary
