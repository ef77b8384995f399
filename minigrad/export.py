"""Computation graphs and arrays as plain data, in the one schema every graph view reads.

`minigrad.graph(output)` describes the graph behind a minigrad tensor in it; a compiled
trace (`Trace.graph()`), the live view and the PyTorch and TensorFlow sources of
`widgets` describe theirs in the same schema, built with the constructors below, so a
widget (or a person) can draw or inspect any of them without knowing whose it is.
Everything is JSON-ready: dicts and lists of strings, numbers, booleans and None.

A graph is {"nodes": [...], "edges": [...]}; a producer may add "framework" (the
framework's key, e.g. "torch") and "note" (a sentence shown under the picture).

Tensor nodes, `tensor_node(...)`:
    id, kind ("tensor"), label (a name, or ""), shape (a list), dtype (a name, e.g.
    "float32"), role (one of ROLES), requires_grad, is_leaf; and where the producer
    records them: value and grad (`summarize` dicts, or None when there is none), group.
Op nodes, `op_node(...)`:
    id, kind ("op"), op (the short name, e.g. "matmul"), label (e.g. "MatMulBackward"),
    seq (creation order: ops ran in increasing seq), saved_shapes (the shapes kept for
    backward), freed (True once backward() released what the op saved, so a second
    backward through it would fail); and where the producer records them: group,
    saved (PyTorch's saved tensors by name: {"name", "shape"} or {"name", "freed"}),
    collapsed and detail (a layer folded into one node: its ops, and a sentence).
Edges, `edge(source, target)`: node ids, from producer to consumer, in the direction of
    the forward pass.

None stands for what a framework does not record: TensorFlow has no requires_grad
(GradientTape decides what it watches), and op nodes from PyTorch and TensorFlow have no
seq, saved_shapes or freed (PyTorch reports what each op saved per tensor, in saved; a
traced TensorFlow graph has saved nothing yet). `group` names the layer a node belongs
to (a Keras name scope, or a module whose parameters an op uses).

Array summaries, `summarize(array)`:
    shape, dtype, numel; min, max and mean of all the values (NaN if one is NaN; left
    out for an empty array); for floating-point arrays nan and inf, the counts of NaNs
    and infinities, and where some values are finite and some not, finite: the min, max
    and mean of the finite ones; data, all the values as nested lists, up to
    FULL_VALUES_UP_TO elements; above that a histogram of the finite values in
    HISTOGRAM_BINS bins.
"""
import numpy as np

from .autograd import made_by
from .tensor import Tensor

ROLES = ("input", "parameter", "intermediate", "output")
TENSOR_EXTRAS = frozenset({"value", "grad", "group"})
OP_EXTRAS = frozenset({"group", "saved", "collapsed", "detail"})

# Arrays with at most this many elements are summarized with all their values; larger
# ones with a histogram instead.
FULL_VALUES_UP_TO = 24
HISTOGRAM_BINS = 12


def tensor_node(id, *, label, shape, dtype, role, requires_grad, is_leaf, **recorded):
    """A tensor node of the schema. `recorded` holds what the producer records beyond
    the keys every tensor node has: value, grad (summaries or None) and group."""
    if role not in ROLES:
        raise ValueError(f"a tensor node's role is one of {', '.join(ROLES)}, not {role!r}")
    _check_extras("tensor", recorded, TENSOR_EXTRAS)
    return {"id": id, "kind": "tensor", "label": label, "shape": list(shape), "dtype": dtype,
            "role": role, "requires_grad": requires_grad, "is_leaf": is_leaf, **recorded}


def op_node(id, *, op, label, seq, saved_shapes, freed, **recorded):
    """An op node of the schema. `recorded` holds what the producer records beyond the
    keys every op node has: group, saved, collapsed and detail."""
    _check_extras("op", recorded, OP_EXTRAS)
    return {"id": id, "kind": "op", "op": op, "label": label, "seq": seq,
            "saved_shapes": saved_shapes, "freed": freed, **recorded}


def edge(source, target):
    """An edge of the schema, from the node that makes a value to the one that uses it."""
    return {"source": source, "target": target}


def _check_extras(kind, recorded, allowed):
    unknown = sorted(recorded.keys() - allowed)
    if unknown:
        raise TypeError(f"{kind} nodes have no key {', '.join(map(repr, unknown))}; "
                        f"the optional ones are {', '.join(sorted(allowed))}")


def graph(output, names=None, values=True, grads=True):
    """Walk from `output` back to its leaves and describe every tensor and operation.

    names: optional {name: tensor} (e.g. dict(model.named_parameters())) to label tensors.
    values, grads: whether tensor nodes carry summaries of their values and gradients.
    Returns {"nodes": [...], "edges": [...]} in the module's schema. A tensor changed in
    place since it was used has a node for each of its versions in the graph; an earlier
    version's value is None (its memory was overwritten).
    """
    if not isinstance(output, Tensor):
        raise TypeError(f"minigrad.graph() takes a minigrad Tensor, not {type(output).__name__}")
    labels = {id(t): name for name, t in (names or {}).items()}
    nodes, edges, tensor_ids, op_ids = [], [], {}, {}

    def add_tensor(t, maker):
        """The node of tensor `t` as made by `maker` (its grad_fn then)."""
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
        recorded = {}
        if values:
            recorded["value"] = summarize(t.data) if current else None
        if grads:
            recorded["grad"] = None if t.grad is None or not current else summarize(t.grad.data)
        nodes.append(tensor_node(tid, label=label, shape=t.shape, dtype=t.dtype.name, role=role,
                                 requires_grad=bool(t.requires_grad), is_leaf=maker is None,
                                 **recorded))
        return tid

    stack = [(output, output.grad_fn)]
    add_tensor(output, output.grad_fn)
    while stack:
        t, fn = stack.pop()
        if fn is None:
            continue
        if id(fn) not in op_ids:
            op_ids[id(fn)] = oid = f"op{len(op_ids)}"
            nodes.append(op_node(oid, op=fn.op, label=fn.name(), seq=fn.seq,
                                 saved_shapes=saved_shapes(fn), freed=fn.saved_shapes is None))
            for x in fn.inputs:
                if isinstance(x, Tensor):
                    maker = made_by(x, fn)   # x's grad_fn when fn ran (an in-place op
                                             # may have given x a new one since)
                    seen = (id(x), id(maker)) in tensor_ids
                    edges.append(edge(add_tensor(x, maker), oid))
                    if not seen:
                        stack.append((x, maker))
        edges.append(edge(op_ids[id(fn)], tensor_ids[(id(t), id(fn))]))
    return {"nodes": nodes, "edges": edges}


def saved_shapes(fn):
    """The shapes `fn` (a grad_fn) keeps for backward, as lists; [] once they are freed."""
    shapes = fn.saved_shapes
    return [] if shapes is None else [list(s) for s in shapes]


def summarize(array):
    """An array (NumPy, CuPy, or anything np.asarray takes) as a summary dict of the
    schema: all its values when it is small, a histogram when it is large."""
    a = np.asarray(array.get() if hasattr(array, "get") else array)
    summary = {"shape": list(a.shape), "dtype": str(a.dtype), "numel": int(a.size)}
    if a.size:
        with np.errstate(invalid="ignore"):        # inf - inf in the mean is NaN, as meant
            as_float = a.astype(np.float64)
            summary.update(min=float(as_float.min()), max=float(as_float.max()),
                           mean=float(as_float.mean()))
    if a.dtype.kind == "f":
        finite = a[np.isfinite(a)]
        summary.update(nan=int(np.isnan(a).sum()), inf=int(np.isinf(a).sum()))
        if 0 < finite.size < a.size:
            summary["finite"] = {"min": float(finite.min()), "max": float(finite.max()),
                                 "mean": float(finite.mean(dtype=np.float64))}
    else:                           # a mask's histogram counts its False and True
        finite = a.astype(np.int64) if a.dtype.kind == "b" else a
    if a.size <= FULL_VALUES_UP_TO:
        summary["data"] = a.tolist()
    elif finite.size:
        summary["histogram"] = np.histogram(finite, bins=HISTOGRAM_BINS)[0].tolist()
    return summary
