"""The graphs GraphView draws, from each framework, for known small models."""
from collections import Counter

import pytest
import torch

import minigrad as mg
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
