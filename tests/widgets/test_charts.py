"""The SVG chart builders: one mark per data point, positions that follow the data,
escaped text, well-formed XML."""

import math
import xml.etree.ElementTree as ET

import pytest

from widgets import charts

SVG = "{http://www.w3.org/2000/svg}"
NASTY = "<script>alert('x')</script> & \"quotes\""


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)  # raises on anything that is not well-formed XML
    assert root.tag == SVG + "svg"
    return root


def marks(root, cls):
    return [e for e in root.iter() if cls in e.get("class", "").split()]


def texts(root):
    return [e.text for e in root.iter(SVG + "text")] + [e.text for e in root.iter(SVG + "title")]


def _series(values_by_series, names=None):
    names = names or [f"s{i}" for i in range(len(values_by_series))]
    return [{"name": n, "points": [None if v is None else {"value": v, "low": v / 2, "high": v * 2}
                                   for v in vals]}
            for n, vals in zip(names, values_by_series)]


# --- point chart ------------------------------------------------------------------------


@pytest.mark.parametrize("log", [False, True])
def test_one_mark_per_point_and_one_whisker_per_spread(log):
    values = [[10.0, 200.0, None], [30.0, None, 4000.0], [5.0, 60.0, 700.0]]
    root = parse(charts.point_chart(["a", "b", "c"], _series(values), log=log))
    expected = sum(v is not None for row in values for v in row)
    assert len(marks(root, "mark")) == expected == 7
    assert len(marks(root, "whisker")) == expected
    placed = {(g.get("data-group"), g.get("data-series"))
              for g in root.iter(SVG + "g") if g.get("data-group")}
    assert placed == {(str(gi), str(si)) for si, row in enumerate(values)
                      for gi, v in enumerate(row) if v is not None}


def _mark_y(root):
    return {(g.get("data-group"), g.get("data-series")): float(g.find(SVG + "circle").get("cy"))
            for g in root.iter(SVG + "g") if g.find(SVG + "circle") is not None
            and g.get("data-group") is not None}


def test_log_scale_puts_equal_ratios_at_equal_distances():
    series = [{"name": "x", "points": [{"value": v} for v in (10.0, 100.0, 1000.0, 3000.0)]}]
    ys = _mark_y(parse(charts.point_chart(list("abcd"), series, log=True)))
    y10, y100, y1000, y3000 = (ys[(str(i), "0")] for i in range(4))
    assert y10 > y100 > y1000 > y3000  # larger values higher up (smaller y)
    assert y10 - y100 == pytest.approx(y100 - y1000, abs=0.15)
    assert (y1000 - y3000) / (y100 - y1000) == pytest.approx(math.log10(3), abs=0.01)


def test_linear_scale_is_proportional_from_zero():
    series = [{"name": "x", "points": [{"value": v} for v in (100.0, 200.0, 400.0)]}]
    root = parse(charts.point_chart(list("abc"), series, log=False))
    ys = _mark_y(root)
    y100, y200, y400 = (ys[(str(i), "0")] for i in range(3))
    assert (y100 - y200) * 2 == pytest.approx(y200 - y400, abs=0.15)
    # the 0 tick sits at the bottom axis, where a value of 0 would be drawn
    zero = next(e for e in root.iter(SVG + "text") if e.text == "0")
    assert y100 < float(zero.get("y"))


def test_failed_points_are_crosses_not_marks():
    series = [{"name": "ok", "points": [{"value": 1.0}, {"value": 2.0}]},
              {"name": "broken", "points": [{"error": "No module named 'jax'"}, None]}]
    root = parse(charts.point_chart(["a", "b"], series))
    assert len(marks(root, "mark")) == 2
    (failed,) = marks(root, "failed")
    assert "No module named 'jax'" in failed.find(SVG + "title").text


def test_empty_chart_says_so():
    root = parse(charts.point_chart(["a"], [{"name": "x", "points": [None]}], log=True))
    assert marks(root, "mark") == [] and len(marks(root, "empty")) == 1


def test_point_chart_text_is_escaped():
    series = [{"name": NASTY, "points": [{"value": 3.0, "tip": NASTY}]}]
    svg = charts.point_chart([NASTY], series, title=NASTY, y_label=NASTY, note=NASTY)
    assert "<script>" not in svg
    root = parse(svg)
    assert not [e for e in root.iter() if e.tag.endswith("script")]
    found = texts(root)
    assert NASTY in found  # the title and the tooltip come back exactly as given
    assert any(t and t.startswith("<script>") for t in found)  # shortened labels too


# --- bar chart --------------------------------------------------------------------------


def test_one_bar_per_item_with_lengths_proportional_to_values():
    items = [{"label": f"op{i}", "value": v} for i, v in enumerate([40.0, 10.0, 20.0, 0.0])]
    root = parse(charts.bar_chart(items, title="t", unit="µs"))
    bars = marks(root, "bar")
    assert len(bars) == len(items)
    widths = [float(b.get("width")) for b in bars]
    assert widths[1] * 4 == pytest.approx(widths[0], rel=0.01)
    assert widths[2] * 2 == pytest.approx(widths[0], rel=0.01)
    assert widths[3] < 1  # zero: a hairline, not a bar
    labels = [e.text for e in root.iter(SVG + "text") if e.get("class") == "label"]
    assert labels == ["op0", "op1", "op2", "op3"]


def test_bar_chart_escapes_and_keeps_long_labels_in_tooltips():
    long = NASTY + " " + "x" * 80
    root = parse(charts.bar_chart([{"label": long, "value": 1.0, "note": NASTY}], title=NASTY))
    (label,) = [e for e in root.iter(SVG + "text") if e.get("class") == "label"]
    assert label.text.endswith("…") and long.startswith(label.text[:-1])
    assert any(t and long in t for t in texts(root))


def test_empty_bar_chart_is_valid():
    root = parse(charts.bar_chart([], title="nothing"))
    assert marks(root, "bar") == [] and len(marks(root, "empty")) == 1


def test_characters_xml_forbids_are_dropped():
    svg = charts.point_chart(["a\x00b\x1b"], [{"name": "x\x07", "points": [{"value": 1.0}]}])
    parse(svg)
    assert charts.escape("a\x00<b>\ud800") == "a&lt;b&gt;"


@pytest.mark.parametrize("value, text", [(0, "0"), (0.5, "0.5"), (20, "20"), (1500, "1.5k"),
                                         (2e6, "2M"), (123.456, "123")])
def test_format_number(value, text):
    assert charts.format_number(value) == text
