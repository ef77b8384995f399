"""GraphView as a widget: what it shows, live mode, side by side, bad input."""
import xml.etree.ElementTree as ET

import numpy as np
import torch

import minigrad as mg
from widgets import GraphView

SVG = "{http://www.w3.org/2000/svg}"


def _drawn(view):
    root = ET.fromstring(view.svg)
    classes = [el.get("class", "") for el in root.iter(SVG + "g")]
    return sum("fl-op" in c for c in classes), sum("fl-tensor" in c for c in classes)


def test_a_minigrad_loss_is_drawn_with_its_ops_and_tensors():
    x = mg.randn(4, 3)
    w = mg.randn(3, 2, requires_grad=True)
    loss = (x @ w).relu().sum()
    view = GraphView(loss)
    assert view.counts == _drawn(view) == (3, 5)          # x, w, and three results
    assert view.message == "" and repr(view) == "GraphView(minigrad graph: 3 ops, 5 tensors)"
    bundle = view._repr_mimebundle_()
    data = bundle[0] if isinstance(bundle, tuple) else bundle
    assert data["text/html"] == view.svg and data["text/plain"] == repr(view)
    assert "application/vnd.jupyter.widget-view+json" in data


def test_bad_input_becomes_a_message_in_the_widget():
    for source in (42, mg.ones(3), torch.ones(2)):
        view = GraphView(source)
        assert view.message and view.svg == "" and view.counts == (0, 0)


def test_live_mode_builds_the_same_graph_and_shows_gradients_arriving():
    mg.manual_seed(1)
    model = mg.nn.Sequential(mg.nn.Linear(3, 4), mg.nn.Tanh(), mg.nn.Linear(4, 2))
    X, y = mg.randn(5, 3), mg.tensor([0, 1, 1, 0, 1])
    with GraphView.live() as view:
        loss = mg.nn.functional.cross_entropy(model(X), y)
        loss.backward()
    reference = mg.graph(loss)
    ref_ops = sorted(n["op"] for n in reference["nodes"] if n["kind"] == "op")
    live_ops = sorted(n["op"] for n in view.graph["nodes"] if n["kind"] == "op")
    assert live_ops == ref_ops == ["cross_entropy", "linear", "linear", "tanh"]
    assert view.counts[1] == sum(n["kind"] == "tensor" for n in reference["nodes"])
    params = [n for n in view.graph["nodes"] if n.get("role") == "parameter"]
    assert len(params) == 4
    grads = sorted(n["grad"]["max"] for n in params)
    expected = sorted(float(p.grad.numpy().max()) for p in model.parameters())
    np.testing.assert_allclose(grads, expected, rtol=1e-6)
    assert [n for n in view.graph["nodes"] if n.get("role") == "output"]


def test_live_mode_with_nothing_recorded_says_so():
    with GraphView.live() as view:
        mg.ones(3) * 2
    assert "no minigrad operation" in view.message


def test_side_by_side_shows_one_titled_view_per_framework():
    xm = mg.tensor([1.0, 2.0], requires_grad=True)
    xt = torch.tensor([1.0, 2.0], requires_grad=True)
    box = GraphView.side_by_side(pytorch=(xt * xt).sum(), minigrad=(xm * xm).sum())
    assert [v.title for v in box.views] == ["pytorch", "minigrad"]
    assert [v.graph["framework"] for v in box.views] == ["pytorch", "minigrad"]
    assert all(v.counts[0] == 2 for v in box.views)        # mul and sum in both
    bundle = box._repr_mimebundle_()
    html = (bundle[0] if isinstance(bundle, tuple) else bundle)["text/html"]
    assert all(v.svg in html for v in box.views)
