"""The layered layout and the SVG drawing."""
import xml.etree.ElementTree as ET

import minigrad as mg
from widgets.drawing import render_svg
from widgets.layout import layered_layout

SVG = "{http://www.w3.org/2000/svg}"


def _mlp_loss():
    mg.manual_seed(0)
    model = mg.nn.Sequential(mg.nn.Linear(3, 4), mg.nn.ReLU(), mg.nn.Linear(4, 2))
    loss = mg.nn.functional.cross_entropy(model(mg.randn(5, 3)), mg.tensor([0, 1, 0, 1, 1]))
    return model, loss


def test_every_edge_points_right_and_no_two_nodes_share_a_place():
    _, loss = _mlp_loss()
    g = mg.graph(loss)
    pos, (width, height) = layered_layout(g["nodes"], g["edges"])
    assert all(pos[e["source"]][0] < pos[e["target"]][0] for e in g["edges"])
    assert len(set(pos.values())) == len(pos)
    assert width > 0 and height >= 0


def test_sources_sit_next_to_their_first_consumer():
    x = mg.ones(2, requires_grad=True)
    late = mg.ones(2, requires_grad=True)
    y = ((x * 2).exp() + late).sum()
    g = mg.graph(y, names={"late": late})
    pos, _ = layered_layout(g["nodes"], g["edges"])
    late_id = next(n["id"] for n in g["nodes"] if n.get("label") == "late")
    add_id = next(n["id"] for n in g["nodes"] if n.get("op") == "add")
    columns = sorted({x for x, _ in pos.values()})
    assert columns.index(pos[add_id][0]) - columns.index(pos[late_id][0]) == 1


def test_svg_is_valid_xml_with_one_group_per_node_and_the_highlight():
    model, loss = _mlp_loss()
    g = mg.graph(loss, names=dict(model.named_parameters()))
    op_ids = [n["id"] for n in g["nodes"] if n["kind"] == "op"]
    svg = render_svg(g, highlight=op_ids[0], title="a <title> & more")
    root = ET.fromstring(svg)
    groups = [el for el in root.iter(SVG + "g") if "fl-node" in el.get("class", "")]
    assert len(groups) == len(g["nodes"])
    assert sorted(el.get("data-op") for el in groups if "fl-op" in el.get("class")) == \
        sorted(n["op"] for n in g["nodes"] if n["kind"] == "op")
    current = [el.get("data-id") for el in groups if "fl-current" in el.get("class")]
    assert current == [op_ids[0]]
    assert "a <title> & more" in "".join(root.itertext())
    assert len([el for el in root.iter(SVG + "path") if "fl-edge" in el.get("class", "").split()]) == len(g["edges"])


def test_gradients_show_on_the_tensors_that_have_them():
    model, loss = _mlp_loss()
    loss.backward()
    g = mg.graph(loss, names=dict(model.named_parameters()))
    root = ET.fromstring(render_svg(g))
    with_grad = {el.get("data-id") for el in root.iter(SVG + "g") if "fl-has-grad" in el.get("class", "")}
    expected = {n["id"] for n in g["nodes"] if n["kind"] == "tensor" and n.get("grad")}
    assert with_grad == expected and len(expected) == 4      # the four parameters
