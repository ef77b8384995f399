"""The graphs GraphView draws, from each framework, for known small models."""
from collections import Counter

import pytest
import torch

import minigrad as mg
from lessons.frameworks import KEYS
from widgets import GraphView
from widgets.graph_sources import GraphSourceError, collapse_groups, graph_of, short_op_name


def ops_of(graph):
    return Counter(n["op"] for n in graph["nodes"] if n["kind"] == "op")


def tensors_of(graph):
    return [n for n in graph["nodes"] if n["kind"] == "tensor"]


def test_minigrad_graph_has_every_op_and_tensor_with_real_shapes():
    mg.manual_seed(0)
    x = mg.randn(4, 3)
    w = mg.randn(3, 2, requires_grad=True)
    b = mg.zeros(2, requires_grad=True)
    h = x @ w + b
    loss = (h.tanh() ** 2).mean()
    g = graph_of(loss, names={"x": x, "w": w, "b": b})
    assert ops_of(g) == Counter({"matmul": 1, "add": 1, "tanh": 1, "pow": 1, "mean": 1})
    assert len(tensors_of(g)) == 8 and len(g["edges"]) == 12
    shapes = {n["label"]: n["shape"] for n in tensors_of(g) if n["label"]}
    assert shapes == {"x": [4, 3], "w": [3, 2], "b": [2]}
    roles = Counter(n["role"] for n in tensors_of(g))
    assert roles == Counter({"intermediate": 4, "parameter": 2, "input": 1, "output": 1})


def _torch_mlp():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    loss = torch.nn.functional.cross_entropy(
        model(torch.randn(5, 3)), torch.tensor([0, 1, 0, 1, 1])
    )
    return model, loss


def test_torch_graph_is_backward_functions_ending_in_the_parameters():
    model, loss = _torch_mlp()
    g = graph_of(loss, model=model)
    assert ops_of(g) == Counter({"addmm": 2, "t": 2, "relu": 1, "logsoftmax": 1, "nllloss": 1})
    leaves = {n["label"]: n["shape"] for n in tensors_of(g) if n["role"] == "parameter"}
    assert leaves == {name: list(p.shape) for name, p in model.named_parameters()}
    addmm = next(n for n in g["nodes"] if n.get("op") == "addmm")
    assert {s["name"] for s in addmm["saved"]} >= {"mat1", "mat2"}


def test_torch_graph_collapses_into_one_node_per_layer_with_weights():
    model, loss = _torch_mlp()
    g = graph_of(loss, model=model, collapse=True)
    layers = {n["label"]: sorted(n["collapsed"]) for n in g["nodes"] if n.get("op") == "layer"}
    assert layers == {"0": ["addmm", "t"], "2": ["addmm", "t"]}
    assert ops_of(g)["relu"] == 1


def test_short_op_names_drop_the_backward_suffix():
    assert short_op_name("AddmmBackward0") == "addmm"
    assert short_op_name("NllLossBackward0") == "nllloss"


@pytest.fixture(scope="module")
def keras_fn():
    tf = pytest.importorskip("tensorflow")
    import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="relu"),
                              keras.layers.Dense(2)])
    fn = tf.function(lambda x: tf.reduce_mean(model(x) ** 2))
    return fn, tf.zeros((5, 3))


def test_tensorflow_graph_is_the_traced_low_level_ops(keras_fn):
    fn, x = keras_fn
    g = graph_of(fn, x)
    ops = ops_of(g)
    assert ops["MatMul"] == 2 and ops["BiasAdd"] == 2 and ops["Relu"] == 1
    assert ops["ReadVariableOp"] == 4 and ops["Pow"] == 1 and ops["Mean"] == 1
    variables = sorted(n["label"] for n in tensors_of(g) if n["role"] == "parameter")
    assert len(variables) == 4 and all(("kernel" in v) or ("bias" in v) for v in variables)
    inputs = [n for n in tensors_of(g) if n["role"] == "input"]
    assert [n["shape"] for n in inputs] == [[5, 3]]


def test_tensorflow_graph_collapses_keras_layers(keras_fn):
    fn, x = keras_fn
    g = graph_of(fn, x, collapse=True)
    layers = [n for n in g["nodes"] if n.get("op") == "layer"]
    assert len(layers) == 2
    assert all("MatMul" in n["collapsed"] and "BiasAdd" in n["collapsed"] for n in layers)
    assert ops_of(g)["Pow"] == 1


def test_collapse_keeps_edges_between_groups_only():
    graph = {"nodes": [{"id": "a", "kind": "tensor", "role": "input"},
                       {"id": "p", "kind": "op", "op": "mul", "group": "L"},
                       {"id": "q", "kind": "op", "op": "add", "group": "L"},
                       {"id": "r", "kind": "op", "op": "relu"}],
             "edges": [{"source": "a", "target": "p"}, {"source": "p", "target": "q"},
                       {"source": "q", "target": "r"}]}
    out = collapse_groups(graph)
    assert [n["id"] for n in out["nodes"]] == ["a", "group:L", "r"]
    assert [(e["source"], e["target"]) for e in out["edges"]] == [
        ("a", "group:L"),
        ("group:L", "r"),
    ]


@pytest.mark.parametrize("source,needle", [
    (42, "cannot draw a int"),
    (mg.ones(3), "no graph"),
    (torch.ones(3), "no grad_fn"),
    (lambda x: x, "needs example inputs"),
])
def test_things_that_cannot_be_drawn_say_why(source, needle):
    with pytest.raises(GraphSourceError, match=needle):
        graph_of(source)


def test_a_function_that_raises_while_tracing_says_so(keras_fn):
    tf = pytest.importorskip("tensorflow")

    def broken(x):
        return tf.matmul(x, tf.ones((7, 2)))        # (5, 3) @ (7, 2) cannot work

    with pytest.raises(GraphSourceError, match="tracing the function"):
        graph_of(broken, tf.zeros((5, 3)))


def test_a_compiled_trace_is_drawn_as_its_static_graph():
    model = mg.nn.Linear(3, 2)
    f = mg.compile(lambda x: model(x).relu().sum())
    f(mg.ones(4, 3))
    graph = graph_of(f.traces[0])
    assert graph["framework"] == "minigrad" and "trace 1" in graph["note"]
    assert [n["op"] for n in graph["nodes"] if n["kind"] == "op"] == ["linear", "relu", "sum"]


def test_a_graph_in_plain_data_is_drawn_as_it_is():
    x = mg.ones(2, requires_grad=True)
    data = mg.graph((x * 2).sum())
    graph = graph_of(data)
    assert graph["nodes"] == data["nodes"] and graph["edges"] == data["edges"]


# The schema of minigrad.export, written out: the keys every node of a kind has, and those
# a producer may add.
TENSOR_KEYS = {"id", "kind", "label", "shape", "dtype", "role", "requires_grad", "is_leaf"}
TENSOR_EXTRAS = {"value", "grad", "group"}
OP_KEYS = {"id", "kind", "op", "label", "seq", "saved_shapes", "freed"}
OP_EXTRAS = {"group", "saved", "collapsed", "detail"}


def schema_problems(graph):
    """Each node whose keys are not those of its kind in the schema, with what is wrong."""
    problems = []
    for n in graph["nodes"]:
        required, extras = (TENSOR_KEYS, TENSOR_EXTRAS) if n["kind"] == "tensor" \
            else (OP_KEYS, OP_EXTRAS)
        missing, unknown = required - n.keys(), n.keys() - required - extras
        if missing or unknown:
            problems.append((n["id"], sorted(missing), sorted(unknown)))
    problems += [e for e in graph["edges"] if set(e) != {"source", "target"}]
    return problems


def _producers(keras_fn):
    """Every way a graph is made, each as (name, graph)."""
    mg.manual_seed(0)
    model = mg.nn.Sequential(mg.nn.Linear(3, 4), mg.nn.Tanh(), mg.nn.Linear(4, 2))
    X = mg.randn(5, 3)
    loss = model(X).relu().sum()
    loss.backward()
    compiled = mg.compile(lambda x: model(x).relu().sum())
    compiled(X)
    with GraphView.live() as live:
        (model(X) ** 2).mean().backward()
    torch_model, torch_loss = _torch_mlp()
    torch_loss.backward()
    fn, x = keras_fn
    return [
        ("minigrad.graph", mg.graph(loss, names=dict(model.named_parameters()))),
        ("minigrad.graph without values", mg.graph(loss, values=False, grads=False)),
        ("Trace.graph", compiled.traces[0].graph()),
        ("live", live.graph),
        ("minigrad source, by layer", graph_of(loss, model=model, collapse=True)),
        ("torch", graph_of(torch_loss, model=torch_model)),
        ("torch, by layer", graph_of(torch_loss, model=torch_model, collapse=True)),
        ("tensorflow", graph_of(fn, x)),
        ("tensorflow, by layer", graph_of(fn, x, collapse=True)),
    ]


def test_every_producer_makes_nodes_with_the_keys_of_the_schema(keras_fn):
    produced = _producers(keras_fn)
    for name, graph in produced:
        kinds = {n["kind"] for n in graph["nodes"]}
        assert kinds == {"tensor", "op"}, name
        assert schema_problems(graph) == [], name
    assert schema_problems({"nodes": [{"id": "x", "kind": "op", "op": "add", "label": "",
                                       "seq": 1, "saved_shapes": [], "weight": 2}],
                            "edges": [{"source": "x", "target": "x", "to": "x"}]}) == [
        ("x", ["freed"], ["weight"]), {"source": "x", "target": "x", "to": "x"}]


def test_every_source_names_its_framework_by_its_key(keras_fn):
    mg_loss = (mg.ones(2, requires_grad=True) * 2).sum()
    _, torch_loss = _torch_mlp()
    fn, x = keras_fn
    frameworks = [graph_of(source, *args)["framework"]
                  for source, *args in [(mg_loss,), (torch_loss,), (fn, x)]]
    assert frameworks == ["minigrad", "torch", "tensorflow"]
    assert set(frameworks) <= set(KEYS)
