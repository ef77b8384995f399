"""minigrad.graph (minigrad/export.py): plain, JSON-serializable graph description.
Checked loosely: node/edge structure, number of op nodes, shapes and dtypes."""

import json

import numpy as np
import pytest

import minigrad as mg
from mgtest import randn
from minigrad.export import edge, op_node, summarize, tensor_node


def _is_op(node):
    for key in ("kind", "type"):
        if key in node:
            return node[key] == "op"
    return "shape" not in node


def _is_tensor(node):
    return not _is_op(node)


def _edge_ends(edge):
    if isinstance(edge, dict):
        for a, b in (("source", "target"), ("from", "to"), ("src", "dst"), ("u", "v")):
            if a in edge and b in edge:
                return edge[a], edge[b]
        raise AssertionError(f"edge without recognizable endpoints: {edge!r}")
    assert isinstance(edge, (list, tuple)) and len(edge) == 2, f"edge {edge!r}"
    return edge[0], edge[1]


def _op_names(node):
    return {v.lower() for v in node.values() if isinstance(v, str)}


def _check_structure(g):
    assert isinstance(g, dict)
    assert "nodes" in g and "edges" in g
    assert isinstance(g["nodes"], list) and isinstance(g["edges"], list)
    text = json.dumps(g)  # must not raise
    assert json.loads(text) == json.loads(json.dumps(json.loads(text)))
    ids = [n["id"] for n in g["nodes"]]
    assert len(ids) == len(set(ids)), "node ids must be unique"
    for e in g["edges"]:
        a, b = _edge_ends(e)
        assert a in ids and b in ids, f"edge {e!r} has an endpoint that is not a node id"
    for n in g["nodes"]:
        if _is_tensor(n):
            assert isinstance(n["shape"], list)
            assert isinstance(n["dtype"], str) or isinstance(n["dtype"], (dict,))
    return g


def _mlp_graph():
    x = mg.tensor(randn(2, 4, seed=1).astype(np.float32))
    w = mg.tensor(randn(4, 3, seed=2).astype(np.float32), requires_grad=True)
    b = mg.tensor(randn(3, seed=3).astype(np.float32), requires_grad=True)
    h = x @ w          # op 1
    z = h + b          # op 2
    r = z.relu()       # op 3
    y = r.sum()        # op 4
    return (x, w, b, h, z, r, y), y


def test_graph_structure_and_json():
    _, y = _mlp_graph()
    _check_structure(mg.graph(y))


def test_graph_op_count_and_names():
    _, y = _mlp_graph()
    g = mg.graph(y)
    ops = [n for n in g["nodes"] if _is_op(n)]
    assert len(ops) == 4
    names = set().union(*(_op_names(n) for n in ops))
    for expected in ("matmul", "add", "relu", "sum"):
        assert any(expected in nm for nm in names), f"no op node named like {expected!r}: {names}"


def test_graph_tensor_shapes_and_dtypes_match():
    tensors, y = _mlp_graph()
    g = mg.graph(y)
    real_shapes = sorted(list(t.shape) for t in tensors)
    node_shapes = sorted(n["shape"] for n in g["nodes"] if _is_tensor(n))
    assert node_shapes == real_shapes
    for n in g["nodes"]:
        if _is_tensor(n):
            assert "float32" in json.dumps(n["dtype"])


def test_graph_every_op_has_edges():
    _, y = _mlp_graph()
    g = mg.graph(y)
    ends = [x for e in g["edges"] for x in _edge_ends(e)]
    for n in g["nodes"]:
        if _is_op(n):
            assert n["id"] in ends, f"op node {n!r} has no edges"


def test_graph_of_leaf_has_no_ops():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    g = _check_structure(mg.graph(x))
    assert [n for n in g["nodes"] if _is_op(n)] == []
    assert [n["shape"] for n in g["nodes"] if _is_tensor(n)] == [[2]]


def test_graph_reused_tensor_counted_once():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    a = x * x          # 1
    b = a + x          # 2
    c = (a * b).sum()  # 3, 4
    g = _check_structure(mg.graph(c))
    assert len([n for n in g["nodes"] if _is_op(n)]) == 4
    assert len([n for n in g["nodes"] if _is_tensor(n)]) == 5  # x, a, b, a*b, c


def test_graph_float64_and_scalar_shape():
    x = mg.tensor(np.ones((3, 1)), requires_grad=True)
    y = (x.T @ x).exp().mean()
    g = _check_structure(mg.graph(y))
    shapes = sorted(n["shape"] for n in g["nodes"] if _is_tensor(n))
    assert shapes == sorted([[3, 1], [1, 3], [1, 1], [1, 1], []])
    assert all("float64" in json.dumps(n["dtype"]) for n in g["nodes"] if _is_tensor(n))
    assert len([n for n in g["nodes"] if _is_op(n)]) == 4


def test_graph_after_backward_is_still_serializable():
    _, y = _mlp_graph()
    y.backward()
    _check_structure(mg.graph(y))


def test_op_nodes_are_numbered_in_the_order_the_ops_ran():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = ((x * 2).exp() + x).sum()
    ops = [n for n in mg.graph(y)["nodes"] if n["kind"] == "op"]
    assert [n["op"] for n in sorted(ops, key=lambda n: n["seq"])] == ["mul", "exp", "add", "sum"]


def test_tensor_and_op_nodes_have_the_keys_of_their_kind_and_refuse_others():
    t = tensor_node("t0", label="w", shape=(3, 2), dtype="float32", role="parameter",
                    requires_grad=True, is_leaf=True, grad=None)
    assert t == {"id": "t0", "kind": "tensor", "label": "w", "shape": [3, 2],
                 "dtype": "float32", "role": "parameter", "requires_grad": True,
                 "is_leaf": True, "grad": None}
    op = op_node("op0", op="add", label="AddBackward", seq=4, saved_shapes=[], freed=False)
    assert set(op) == {"id", "kind", "op", "label", "seq", "saved_shapes", "freed"}
    assert edge("t0", "op0") == {"source": "t0", "target": "op0"}
    with pytest.raises(TypeError, match="no key 'weight'"):
        op_node("op0", op="add", label="", seq=1, saved_shapes=[], freed=False, weight=2)
    with pytest.raises(ValueError, match="'leaf'"):
        tensor_node("t0", label="", shape=(), dtype="float32", role="leaf",
                    requires_grad=False, is_leaf=True)


def test_a_small_array_is_summarized_with_all_its_values():
    a = randn(4, 6, seed=4).astype(np.float32)
    s = summarize(a)
    assert s["shape"] == [4, 6] and s["dtype"] == "float32" and s["numel"] == 24
    np.testing.assert_array_equal(s["data"], a)
    assert "histogram" not in s and "finite" not in s and s["nan"] == s["inf"] == 0
    np.testing.assert_allclose([s["min"], s["max"], s["mean"]],
                               [a.min(), a.max(), a.astype(np.float64).mean()])


def test_a_large_array_with_nan_and_inf_is_summarized_with_its_finite_values_apart():
    a = randn(5, 6, seed=5)
    a[0, 0], a[1, 1], a[2, 2] = np.nan, np.inf, -np.inf
    s = summarize(a)
    finite = a[np.isfinite(a)]
    assert "data" not in s and (s["nan"], s["inf"]) == (1, 2)
    assert np.isnan([s["min"], s["max"], s["mean"]]).all()      # as NumPy has it
    assert (s["finite"]["min"], s["finite"]["max"]) == (finite.min(), finite.max())
    np.testing.assert_allclose(s["finite"]["mean"], finite.mean())
    assert s["histogram"] == np.histogram(finite, bins=12)[0].tolist()
    a[0, 0] = 0.0
    s = summarize(a)
    assert (s["min"], s["max"], s["nan"]) == (-np.inf, np.inf, 0)


def test_summaries_of_masks_empty_and_non_finite_arrays():
    mask = summarize(np.arange(30) % 3 == 0)
    assert (mask["min"], mask["max"], mask["mean"]) == (0.0, 1.0, 1 / 3)
    assert "nan" not in mask and sum(mask["histogram"]) == 30
    assert summarize(np.zeros((0, 3))) == {"shape": [0, 3], "dtype": "float64", "numel": 0,
                                           "nan": 0, "inf": 0, "data": []}
    nan = summarize(np.full(3, np.nan, np.float32))
    assert np.isnan([nan["min"], nan["max"], nan["mean"]]).all()
    assert nan["nan"] == 3 and "finite" not in nan
