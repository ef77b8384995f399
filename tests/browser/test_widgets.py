"""GraphView and Stepper in a real browser: ``notebooks/widgets.ipynb`` under Voila.

The DOM contract the widgets render (and these tests read):

- every GraphView draws one ``<svg class="fl-graph">``; an op node is
  ``<g class="fl-node fl-op" data-id="..." data-op="matmul">``, a tensor node
  ``<g class="fl-node fl-tensor" data-id="...">``;
- the Stepper shows ipywidgets Buttons "Back", "Next" and "Run to end" and its own
  GraphView, where the node it is at carries the extra class ``fl-current``.

The notebook's first code cell (id ``graphview``) displays ``GraphView(loss)`` for
``loss = ((x @ w + b).tanh() ** 2).mean()``; the second (id ``stepper``) displays
``Stepper(lambda: ((x @ w + b).tanh() ** 2).mean())``. A cell that raised under Voila
fails the test with the cell's traceback as the message.
"""

import re
from collections import Counter

import pytest

NOTEBOOK = "widgets.ipynb"

# What minigrad records for the loss above: one node per op, and the tensors x, w, b
# plus the result of each op.
EXPECTED_OPS = Counter({"matmul": 1, "add": 1, "tanh": 1, "pow": 1, "mean": 1})
EXPECTED_TENSORS = 8

STDERR_OUTPUT = '[data-mime-type="application/vnd.jupyter.stderr"]'
ERROR_TEXT = re.compile(r"Traceback|Error\b")


def cell(page, cell_id):
    return page.locator(f'[id="cell-id={cell_id}"]')


def rendered(expect, page, cell_id, what):
    """The cell, once `what` (a selector inside it) shows. Fails at once, with the
    traceback as the message, when a cell of the notebook raised instead (Voila stops
    at the first error, so later cells never render)."""
    scope = cell(page, cell_id)
    errors = page.locator(STDERR_OUTPUT).filter(has_text=ERROR_TEXT)
    target = scope.locator(what).first
    expect(target.or_(errors.first)).to_be_visible()
    if not target.is_visible():
        failing = errors.first.locator('xpath=ancestor::*[starts-with(@id, "cell-id=")][1]')
        failing_id = (failing.get_attribute("id") or "?").removeprefix("cell-id=")
        where = f"in cell {failing_id!r}"
        if failing_id != cell_id:
            where += f", so cell {cell_id!r} never ran"
        pytest.fail(f"{NOTEBOOK} raised under Voila {where}:\n"
                    + "\n".join(errors.all_inner_texts()), pytrace=False)
    return scope


def test_minigrad_records_the_graph_the_widgets_draw():
    """The expected counts are minigrad's, checked here without a browser."""
    import minigrad as mg

    mg.manual_seed(0)
    x = mg.randn(4, 3)
    w = mg.randn(3, 2, requires_grad=True)
    b = mg.zeros(2, requires_grad=True)
    nodes = mg.graph(((x @ w + b).tanh() ** 2).mean())["nodes"]
    assert Counter(n["op"] for n in nodes if n["kind"] == "op") == EXPECTED_OPS
    assert sum(n["kind"] == "tensor" for n in nodes) == EXPECTED_TENSORS


@pytest.fixture
def widgets_page(page, voila_url):
    page.goto(voila_url)
    return page


def test_graphview_draws_every_op_and_tensor(widgets_page, expect):
    scope = rendered(expect, widgets_page, "graphview", "svg.fl-graph")
    svg = scope.locator("svg.fl-graph")
    expect(svg).to_have_count(1)
    ops, tensors = svg.locator("g.fl-node.fl-op"), svg.locator("g.fl-node.fl-tensor")
    expect(ops).to_have_count(sum(EXPECTED_OPS.values()))
    expect(tensors).to_have_count(EXPECTED_TENSORS)
    assert Counter(op.get_attribute("data-op") for op in ops.all()) == EXPECTED_OPS
    ids = [node.get_attribute("data-id") for node in svg.locator("g.fl-node").all()]
    assert all(ids) and len(set(ids)) == len(ids), f"data-id missing or repeated: {ids}"


def test_stepper_next_moves_the_current_node(widgets_page, expect):
    scope = rendered(expect, widgets_page, "stepper", "svg.fl-graph")
    buttons = {name: scope.get_by_role("button", name=name, exact=True)
               for name in ("Back", "Next", "Run to end")}
    for button in buttons.values():
        expect(button).to_be_visible()
    current = scope.locator("svg.fl-graph g.fl-node.fl-current")
    expect(current).to_have_count(1)
    before = current.get_attribute("data-id")
    assert before, "the current node has no data-id"

    buttons["Next"].click()
    expect(current).not_to_have_attribute("data-id", before)
    expect(current).to_have_count(1)
