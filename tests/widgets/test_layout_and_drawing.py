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
    assert len(
        [el for el in root.iter(SVG + "path") if "fl-edge" in el.get("class", "").split()]
    ) == len(g["edges"])


def test_gradients_show_on_the_tensors_that_have_them():
    model, loss = _mlp_loss()
    loss.backward()
    g = mg.graph(loss, names=dict(model.named_parameters()))
    root = ET.fromstring(render_svg(g))
    with_grad = {
        el.get("data-id") for el in root.iter(SVG + "g") if "fl-has-grad" in el.get("class", "")
    }
    expected = {n["id"] for n in g["nodes"] if n["kind"] == "tensor" and n.get("grad")}
    assert with_grad == expected and len(expected) == 4      # the four parameters


def _chain(n):
    """A graph n ops long: too wide to read left to right in a notebook."""
    x = mg.ones(3, requires_grad=True)
    y = x
    for _ in range(n):
        y = (y * 1.5).tanh()
    return mg.graph(y.sum(), names={"x": x})


def test_rows_layout_puts_each_layer_below_the_last_without_overlaps():
    g = _chain(6)
    widths = {n["id"]: 100 + 10 * i for i, n in enumerate(g["nodes"])}
    pos, (width, height) = layered_layout(g["nodes"], g["edges"], row_gap=80, widths=widths,
                                          gap=24)
    assert all(pos[e["target"]][1] - pos[e["source"]][1] >= 80 for e in g["edges"])
    boxes = sorted((y, x - widths[n] / 2, x + widths[n] / 2) for n, (x, y) in pos.items())
    for (y1, _, right), (y2, left, _) in zip(boxes, boxes[1:]):
        assert y1 != y2 or left - right >= 24                 # same row: 24 px apart
    assert min(x for _, x, _ in boxes) >= 0 and max(r for _, _, r in boxes) <= width
    assert height == 80 * (len({y for y, _, _ in boxes}) - 1)


def _font_sizes(root):
    return [float(el.get("font-size")) for el in root.iter() if el.get("font-size")]


def test_a_graph_too_wide_for_a_notebook_runs_top_to_bottom_at_full_size():
    from widgets.drawing import MAX_WIDTH
    short, long = render_svg(_chain(0)), render_svg(_chain(8), title="eight steps")
    assert ET.fromstring(short).get("data-direction") == "right"
    root = ET.fromstring(long)
    assert root.get("data-direction") == "down"
    assert float(root.get("width")) <= MAX_WIDTH
    assert min(_font_sizes(root)) >= 11                   # no label under 11 px at 1:1
    # every edge leaves a box downwards: its curve ends below where it starts
    for path in root.iter(SVG + "path"):
        if "fl-edge" in path.get("class", ""):
            numbers = [float(v) for v in path.get("d").replace("M", " ").replace("C", " ")
                       .replace(",", " ").split()]
            assert numbers[-1] > numbers[1]


def test_a_box_is_as_wide_as_the_note_under_it():
    model, loss = _mlp_loss()
    loss.backward()
    g = mg.graph(loss, names=dict(model.named_parameters()))
    root = ET.fromstring(render_svg(g, values=True))
    for group in root.iter(SVG + "g"):
        note = [t for t in group.iter(SVG + "text") if t.get("class") == "fl-grad-note"]
        if note:
            box = float(next(group.iter(SVG + "rect")).get("width"))
            assert box >= 6.4 * len(note[0].text), note[0].text


def test_a_version_lost_to_an_in_place_change_and_an_empty_gradient_are_drawn():
    w = mg.randn(3, requires_grad=True)
    a = w * 2
    first = a.sum()
    a.mul_(3)                      # the version `first` used is overwritten: no values
    g = mg.graph(first + a.sum())
    [old] = [n for n in g["nodes"] if "before an in-place change" in n["label"]]
    assert old["value"] is None
    root = ET.fromstring(render_svg(g, values=True))
    [box] = [el for el in root.iter(SVG + "g") if el.get("data-id") == old["id"]]
    assert "mean" not in "".join(box.itertext())
    empty = mg.zeros(0, requires_grad=True)
    loss = (empty * 2).sum()
    loss.backward()
    g = mg.graph(loss)
    assert [n["grad"]["numel"] for n in g["nodes"] if n.get("role") == "parameter"] == [0]
    ET.fromstring(render_svg(g, values=True))
