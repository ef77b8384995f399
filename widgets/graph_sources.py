"""Computation graphs from minigrad, PyTorch and TensorFlow, as one kind of plain data.

Every source becomes {"nodes": [...], "edges": [...], "framework": ..., "note": ...} in
the schema of `minigrad.export` (tensor nodes, op nodes and edges in the direction of
the forward pass), "framework" being its key in `lessons.frameworks` ("minigrad",
"torch" or "tensorflow"). What each framework keeps differs, and the graphs show it:

- minigrad keeps every tensor and op of the forward pass (its tape).
- PyTorch keeps backward functions (`grad_fn`), the leaves they end in, and the tensors
  each one saved for backward, but not the intermediate results themselves.
- TensorFlow's `tf.function` traces a whole static graph of low-level ops before running
  anything; Keras layers become name scopes, which `collapse` folds back into layers.
"""
import re

import minigrad
from minigrad.compile import Trace as _Trace
from minigrad.export import edge, op_node, summarize, tensor_node


class GraphSourceError(ValueError):
    """Raised for something GraphView cannot draw, with a message saying why."""


def graph_of(source, *example_inputs, names=None, model=None, collapse=False):
    """The graph behind `source`: a minigrad or PyTorch tensor, a `minigrad.compile`
    trace, a graph already in plain data (`minigrad.graph()`'s format), or a
    `tf.function` (or plain Python function, traced with `tf.function`) with example
    inputs."""
    if names is None and model is not None:
        names = dict(model.named_parameters())
    if isinstance(source, minigrad.Tensor):
        graph = from_minigrad(source, names)
    elif _is_torch_tensor(source):
        graph = from_torch(source, names)
    elif isinstance(source, _Trace):
        graph = {**source.graph(), "note": (
            f"minigrad.compile, trace {source.number}: the static graph replayed on every "
            "call, without the ops that reach no output")}
    elif isinstance(source, dict) and {"nodes", "edges"} <= source.keys():
        graph = dict(source)
    elif callable(source) and example_inputs:
        graph = from_tensorflow(source, *example_inputs)
    elif callable(source):
        raise GraphSourceError("a function needs example inputs to be traced: "
                               "GraphView(fn, x) traces fn(x) with tf.function")
    else:
        raise GraphSourceError(
            f"GraphView cannot draw a {type(source).__name__}: give it a minigrad tensor, "
            "a PyTorch tensor with a grad_fn, or a tf.function with example inputs")
    if collapse:
        graph = collapse_groups(graph)
    if not any(n["kind"] == "op" for n in graph["nodes"]):
        graph["note"] = (graph.get("note") or "") + " No operations were recorded."
    return graph


# ---------------------------------------------------------------- minigrad


def from_minigrad(tensor, names=None):
    if tensor.grad_fn is None:
        raise GraphSourceError(
            "this minigrad tensor has no graph: it is a leaf, or it was computed from "
            "tensors that do not require grad (or inside no_grad()). Create an input "
            "with requires_grad=True and compute from it.")
    graph = minigrad.graph(tensor, names=names)
    _group_by_parameters(graph, names)
    graph["framework"] = "minigrad"
    graph["note"] = "minigrad's tape: every tensor and operation of the forward pass."
    return graph


# ---------------------------------------------------------------- PyTorch


def _is_torch_tensor(obj):
    return type(obj).__module__.startswith("torch") and hasattr(obj, "grad_fn")


def short_op_name(backward_name):
    """'AddmmBackward0' -> 'addmm', 'torch::autograd::AccumulateGrad' -> 'accumulategrad'."""
    name = backward_name.split("::")[-1]
    return re.sub(r"Backward\d*$", "", name).lower()


def from_torch(tensor, names=None):
    if tensor.grad_fn is None:
        raise GraphSourceError(
            "this PyTorch tensor has no grad_fn, so there is no graph: it is a leaf, or "
            "nothing it came from has requires_grad=True (or it ran under torch.no_grad()).")
    labels = {id(t): name for name, t in (names or {}).items()}
    nodes, edges, seen = [], [], {}
    out_id = "t0"
    nodes.append(_torch_tensor_node(out_id, tensor, "output", ""))

    def visit(fn):
        if id(fn) in seen:
            return seen[id(fn)]
        if hasattr(fn, "variable"):                     # AccumulateGrad: a leaf tensor
            var = fn.variable
            nid = f"t{len(nodes)}"
            nodes.append(_torch_tensor_node(nid, var, "parameter", labels.get(id(var), "")))
            seen[id(fn)] = nid
            return nid
        nid = f"op{len(nodes)}"
        seen[id(fn)] = nid
        # what the op saved is recorded per tensor, in `saved`
        nodes.append(op_node(nid, op=short_op_name(fn.name()), label=fn.name(), seq=None,
                             saved_shapes=None, freed=None, saved=_saved_tensors(fn)))
        for child, _ in fn.next_functions:
            if child is not None:
                edges.append(edge(visit(child), nid))
        return nid

    edges.append(edge(visit(tensor.grad_fn), out_id))
    graph = {"nodes": nodes, "edges": edges}
    _group_by_parameters(graph, names)
    return {**graph, "framework": "torch",
            "note": "PyTorch's autograd graph: backward functions and the leaves they "
                    "end in; intermediate results are not kept, only what each op saved."}


def _torch_tensor_node(nid, t, role, label):
    grad = t.grad if t.is_leaf else None
    return tensor_node(nid, label=label, shape=t.shape, dtype=str(t.dtype).replace("torch.", ""),
                       role=role, requires_grad=bool(t.requires_grad), is_leaf=bool(t.is_leaf),
                       value=summarize(t.detach().cpu().numpy()),
                       grad=None if grad is None else summarize(grad.detach().cpu().numpy()))


def _saved_tensors(fn):
    """Names and shapes of the tensors a PyTorch backward function saved."""
    saved = []
    for attr in dir(fn):
        if not attr.startswith("_saved_"):
            continue
        try:
            value = getattr(fn, attr)
        except RuntimeError:          # freed by an earlier backward()
            saved.append({"name": attr[len("_saved_"):], "freed": True})
            continue
        if hasattr(value, "shape") and hasattr(value, "dtype"):
            saved.append({"name": attr[len("_saved_"):], "shape": list(value.shape)})
    return saved


# ---------------------------------------------------------------- TensorFlow

# Ops that only move handles or keep the graph well-formed; they would clutter the view.
_TF_PLUMBING = {"NoOp", "Identity", "IdentityN", "StopGradient"}


def from_tensorflow(fn, *example_inputs):
    import tensorflow as tf

    if not hasattr(fn, "get_concrete_function"):
        fn = tf.function(fn)
    try:
        concrete = fn.get_concrete_function(*example_inputs)
    except Exception as error:  # a model that raises while tracing
        raise GraphSourceError(f"tracing the function with tf.function failed: "
                               f"{type(error).__name__}: {error}") from None
    # captured inputs are the variables; name them as Keras does (e.g. "dense/kernel")
    variable_names = {id(v.handle): getattr(v, "path", v.name) for v in concrete.variables}
    captured = {internal.op.name: variable_names.get(id(external), internal.op.name)
                for external, internal in concrete.graph.captures}
    ops = [op for op in concrete.graph.get_operations()]
    nodes, edges, kept = [], [], {}

    def producer(tensor):
        """The kept op (or input node) a tensor comes from, skipping plumbing ops."""
        op = tensor.op
        while op.name not in kept and op.type in _TF_PLUMBING and op.inputs:
            op = op.inputs[0].op
        return kept.get(op.name)

    for op in ops:
        if op.type in _TF_PLUMBING:
            continue
        # Keras names ops "<model>/<layer>/<op>..."; the layer's scope is the group
        parts = op.name.split("/")
        group = "/".join(parts[:2]) if len(parts) >= 3 else ""
        if op.type == "Placeholder":
            out = op.outputs[0]
            is_variable = op.name in captured
            shape = out.shape.as_list() if out.shape.rank is not None else []
            dtype = "resource" if out.dtype == tf.resource else out.dtype.name
            nodes.append(tensor_node(op.name, label=captured[op.name] if is_variable else op.name,
                                     shape=shape, dtype=dtype,
                                     role="parameter" if is_variable else "input",
                                     requires_grad=None, is_leaf=True, group=group))
        else:
            nodes.append(op_node(op.name, op=op.type, label=op.type, seq=None, saved_shapes=None,
                                 freed=None, group=group))
        kept[op.name] = op.name
        for inp in op.inputs:
            source = producer(inp)
            if source is not None:
                edges.append(edge(source, op.name))
    for i, out in enumerate(concrete.outputs):
        oid = f"output{i}"
        nodes.append(tensor_node(oid, label="", role="output",
                                 shape=out.shape.as_list() if out.shape.rank is not None else [],
                                 dtype=out.dtype.name, requires_grad=None, is_leaf=False))
        source = producer(out)
        if source is not None:
            edges.append(edge(source, oid))
    return {"nodes": nodes, "edges": _unique(edges), "framework": "tensorflow",
            "note": "TensorFlow's traced graph: tf.function ran the Python code once and "
                    "recorded every low-level op before anything was computed."}


# ---------------------------------------------------------------- collapsing


def _group_by_parameters(graph, names):
    """Put each op that uses a named parameter (e.g. "0.weight") in that layer's group
    ("0"), together with the parameter itself."""
    if not names:
        return
    by_id = {n["id"]: n for n in graph["nodes"]}
    for e in graph["edges"]:
        source, target = by_id[e["source"]], by_id[e["target"]]
        label = source.get("label") or ""
        if source["kind"] == "tensor" and target["kind"] == "op" and "." in label:
            group = label.rsplit(".", 1)[0]
            target.setdefault("group", group)
            source["group"] = group


def collapse_groups(graph):
    """Fold the nodes of each group (a Keras layer's name scope, or a module's ops and
    parameters) into one node, keeping the edges between groups."""
    members = {}
    for n in graph["nodes"]:
        if n.get("group"):
            members.setdefault(n["group"], []).append(n)
    if not members:
        return graph
    new_id = {}
    nodes = []
    for n in graph["nodes"]:
        group = n.get("group")
        if not group or n.get("role") == "output":
            new_id[n["id"]] = n["id"]
            nodes.append(n)
            continue
        gid = "group:" + group
        new_id[n["id"]] = gid
        if gid not in {m["id"] for m in nodes}:
            ops = [m["op"] for m in members[group] if m["kind"] == "op"]
            nodes.append(op_node(gid, op="layer", label=group.split("/")[-1], seq=None,
                                 saved_shapes=None, freed=None, collapsed=ops,
                                 detail=f"{len(members[group])} nodes: " + ", ".join(ops)))
    edges = [edge(new_id[e["source"]], new_id[e["target"]])
             for e in graph["edges"] if new_id[e["source"]] != new_id[e["target"]]]
    return {**graph, "nodes": nodes, "edges": _unique(edges)}


def _unique(edges):
    seen, out = set(), []
    for e in edges:
        key = (e["source"], e["target"])
        if key not in seen:
            seen.add(key)
            out.append(e)
    return out
