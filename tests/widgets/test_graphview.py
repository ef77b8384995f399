"""GraphView as a widget: what it shows, live mode, side by side, bad input."""
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import torch

import minigrad as mg
import widgets
from static_copies import pictures_in
from widgets import GraphView
from widgets.graphview import SideBySide

SVG = "{http://www.w3.org/2000/svg}"


def _drawn(view_or_svg):
    root = ET.fromstring(getattr(view_or_svg, "svg", view_or_svg))
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
    assert data["text/plain"] == repr(view)
    assert "application/vnd.jupyter.widget-view+json" in data
    # the static copy is an image (inline SVG would be removed from untrusted notebooks),
    # on a white card, of the same graph
    assert "<svg" not in data["text/html"]
    [(alt, svg)] = pictures_in(data["text/html"])
    assert alt == repr(view) and svg == view.static_svg()
    assert _drawn(svg) == (3, 5)
    assert '<rect width="100%" height="100%" fill="#ffffff"/>' in svg
    assert 'fill="#ffffff"/>' not in view.svg.split("<defs>")[0]     # live: transparent


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
    # backward() ran inside the block: every op's saved values are gone, as in the export
    assert [n["freed"] for n in reference["nodes"] if n["kind"] == "op"] == [True] * 4
    for n in view.graph["nodes"]:
        if n["kind"] == "op":
            assert n["freed"] is True and n["saved_shapes"] == [], n


def test_live_mode_without_backward_shows_what_the_ops_saved():
    x = mg.randn(2, 3, requires_grad=True)
    with GraphView.live() as view:
        y = (x.tanh() * x).sum()
    live = {n["op"]: n for n in view.graph["nodes"] if n["kind"] == "op"}
    reference = {n["op"]: n for n in mg.graph(y)["nodes"] if n["kind"] == "op"}
    assert sorted(live) == sorted(reference) == ["mul", "sum", "tanh"]
    for op in live:
        assert live[op]["freed"] is reference[op]["freed"] is False
        assert live[op]["saved_shapes"] == reference[op]["saved_shapes"]
    assert live["tanh"]["saved_shapes"] == [[2, 3]]       # tanh keeps its output


def test_live_mode_with_nothing_recorded_says_so():
    with GraphView.live() as view:
        mg.ones(3) * 2
    assert "no minigrad operation" in view.message


def test_side_by_side_shows_one_titled_view_per_framework():
    xm = mg.tensor([1.0, 2.0], requires_grad=True)
    xt = torch.tensor([1.0, 2.0], requires_grad=True)
    box = GraphView.side_by_side(pytorch=(xt * xt).sum(), minigrad=(xm * xm).sum())
    assert [v.title for v in box.views] == ["pytorch", "minigrad"]
    assert [v.graph["framework"] for v in box.views] == ["torch", "minigrad"]
    assert repr(box) == ("SideBySide(GraphView(PyTorch graph: 2 ops, 2 tensors), "
                         "GraphView(minigrad graph: 2 ops, 3 tensors))")
    assert all(v.counts[0] == 2 for v in box.views)        # mul and sum in both
    bundle = box._repr_mimebundle_()
    html = (bundle[0] if isinstance(bundle, tuple) else bundle)["text/html"]
    assert [svg for _, svg in pictures_in(html)] == [v.static_svg() for v in box.views]


def test_side_by_side_stacks_the_graphs_when_they_would_not_fit_at_full_size():
    xm = mg.tensor([1.0, 2.0], requires_grad=True)
    wide = GraphView.side_by_side(a=(xm * xm).sum(), b=(xm * xm).sum())
    widths = [int(re.search(r'width="(\d+)"', v.svg)[1]) for v in wide.views]
    assert sum(widths) > 900                                 # two graphs of 2 ops each
    assert not wide.in_a_row and wide.layout.flex_flow == "column"
    assert "flex-direction:column" in wide.static_html()
    small = SideBySide([GraphView(), GraphView()])            # two empty views, 240 px each
    assert small.in_a_row and small.layout.flex_flow == "row"
    assert "flex-direction:row" in small.static_html()


def test_what_is_drawn_on_the_page_background_takes_the_theme_colour():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    view = GraphView((x * x).sum(), title="t")
    root = ET.fromstring(view.svg)
    inked = {el.text for el in root.iter(SVG + "text") if "fl-ink" in el.get("class", "")}
    assert {"t", "parameter", "input", "intermediate", "output"} <= inked   # title, legend
    edges = [el for el in root.iter(SVG + "path") if "fl-edge" in el.get("class", "")]
    assert edges and all("fl-ink" in el.get("class") for el in edges)
    node_labels = [el for g in root.iter(SVG + "g") if "fl-node" in g.get("class", "")
                   for el in g.iter(SVG + "text")]
    assert node_labels and not any("fl-ink" in el.get("class", "") for el in node_labels)
    css = (Path(widgets.__file__).parent / "graphview.css").read_text()
    assert ".fl-graphview .fl-ink { fill: var(--fl-ink); }" in css
    assert "--fl-ink: var(--jp-ui-font-color1" in css


def test_with_static_copy_sets_text_and_html_on_the_widget_bundle_in_place():
    from widgets.drawing import with_static_copy

    data = {"application/vnd.jupyter.widget-view+json": {"model_id": "m"}}
    assert with_static_copy(data, "text", "<b>html</b>") is data
    assert data == {"application/vnd.jupyter.widget-view+json": {"model_id": "m"},
                    "text/plain": "text", "text/html": "<b>html</b>"}
    bundle = ({"text/plain": "live"}, {"metadata": 1})                # (data, metadata)
    assert with_static_copy(bundle, "t", "h") is bundle
    assert bundle == ({"text/plain": "t", "text/html": "h"}, {"metadata": 1})


def test_importing_widgets_installs_the_compare_graph_renderer():
    from lessons import compare
    from lessons.compare import Comparison, Section
    from widgets.compare import ComparisonView, draw_graphs

    assert compare.graph_renderer() is ComparisonView
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    section = Section("minigrad", "(x * x).sum()", value=(x * x).sum(), has_value=True)
    view = ComparisonView(Comparison([section], {"minigrad": section.value, "PyTorch": None}))
    assert view.sections == [section]
    assert [v.title for v in view.graphs.views] == ["minigrad", "PyTorch"]
    assert view.graphs.views[0].counts == (2, 3)
    assert (
        view.graphs.views[1].message == "PyTorch: nothing to draw (end the section with a tensor)"
    )
    bundle = view._repr_mimebundle_()
    data = bundle[0] if isinstance(bundle, tuple) else bundle
    assert "application/vnd.jupyter.widget-view+json" in data
    assert data["text/html"] == view.comparison.columns_html() + view.graphs.static_html()
    assert data["text/plain"] == repr(view)
    assert repr(draw_graphs({})) == "SideBySide()"
