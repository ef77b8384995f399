"""TimingBoard: a tiny grid of the real harness, checked against the harness's own
results and against the same training run in this process. No test asserts a speed."""

import html
import re
import time
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from lessons import bench
from lessons.bench.suites import mlp
from static_copies import pictures_in
from widgets.drawing import on_card
from widgets.timing import TimingBoard

SVG = "{http://www.w3.org/2000/svg}"
FRAMEWORKS = ["minigrad", "numpy", "torch"]
BATCHES = [16, 64]
TINY = {"rounds": 1, "steps": 2, "warmup": 1}


@pytest.fixture(scope="module")
def board():
    """minigrad, NumPy and PyTorch at batch 16 and 64: one worker per framework."""
    b = TimingBoard("mlp", FRAMEWORKS, sizes={"batch": BATCHES}, **TINY)
    b.run(wait=True)
    return b


def _chart(b):
    return ET.fromstring(b.chart_svg())


def _marks(root):
    """(group, series) -> (cy, tooltip) of every point on the chart."""
    found = {}
    for g in root.iter(SVG + "g"):
        circle = g.find(SVG + "circle")
        if circle is not None and circle.get("class") == "mark":
            found[(int(g.get("data-group")), int(g.get("data-series")))] = (
                float(circle.get("cy")), g.find(SVG + "title").text)
    return found


def _broken_suite():
    return bench.register_suite(bench.Suite(
        name="test-board-broken",
        description="NumPy and a framework that cannot be imported",
        frameworks={
            "numpy": bench.Framework("NumPy", "lessons.bench.suites.ops:build_numpy"),
            "broken": bench.Framework("broken", "lessons.bench.no_such_module:build"),
        },
        problem="lessons.bench.suites.ops:make_problem",
        evaluate="lessons.bench.suites.ops:evaluate",
        config={"op": "add", "n": 8, "requires_grad": False, "seed": 0},
    ))


# --- the tiny grid ------------------------------------------------------------------


def test_every_cell_of_the_grid_has_a_result(board):
    assert board.messages == [] and not board.running
    assert [r["config"]["batch"] for r in board.results] == BATCHES
    for result in board.results:
        assert [r["framework"] for r in result["results"]] == FRAMEWORKS
        for r in result["results"]:
            assert r["error"] is None, r["error"]
            assert r["samples"] == TINY["steps"]
            assert 0 < r["min_us"] <= r["median_us"] <= r["max_us"]
    assert f"batch {BATCHES[0]}" in board.results[0]["description"]


def test_sizes_reached_the_workers(board):
    """The NumPy cell at batch 16 trained exactly as the same steps run here do."""
    for result in board.results:
        config = result["config"]
        problem = mlp.make_problem(config)
        step, export = mlp.build_numpy(problem, 1)
        for _ in range(TINY["warmup"] + TINY["steps"]):
            step()
        expected = mlp.evaluate(problem, export())
        losses = {r["framework"]: r["final_loss"] for r in result["results"]}
        assert losses["numpy"] == pytest.approx(expected, abs=1e-6)
        assert max(losses.values()) - min(losses.values()) < 1e-4  # same arithmetic
    first, second = (r["results"][0]["final_loss"] for r in board.results)
    assert abs(first - second) > 1e-3  # a different batch trains differently


def test_progress_reaches_the_total(board):
    total = TINY["rounds"] * len(BATCHES) * len(FRAMEWORKS)
    assert board.total == total
    assert board.progress.value == board.progress.max == total
    assert board.progress.description == f"{total}/{total}"
    assert board.button.description == "Run" and not board.button.disabled


def test_chart_has_one_mark_per_cell_where_the_results_put_it(board):
    marks = _marks(_chart(board))
    assert set(marks) == {(g, s) for g in range(len(BATCHES)) for s in range(len(FRAMEWORKS))}
    cells = [(g, s, board.results[g]["results"][s]["median_us"])
             for g in range(len(BATCHES)) for s in range(len(FRAMEWORKS))]
    for g, s, median in cells:
        assert f"median {median:.1f} µs" in marks[(g, s)][1]
    # higher on the chart (smaller y) exactly when slower
    by_time = [(g, s) for g, s, _ in sorted(cells, key=lambda c: c[2])]
    ys = [marks[cell][0] for cell in by_time]
    assert ys == sorted(ys, reverse=True)


def test_table_and_label_show_cells_threads_and_versions(board):
    rows = re.findall(r"<tr>(.*?)</tr>", board.table.value)
    assert len(rows) == 1 + len(BATCHES) * len(FRAMEWORKS)
    assert "final loss" in rows[0] and "peak RSS MB" in rows[0]
    label = board.label.value
    assert "1 thread(s) per framework" in label
    assert "torch 2." in label and "numpy" in label and "minigrad" in label
    # step memory is measured where tracemalloc sees the arrays, and only there
    by_key = {r["framework"]: r for r in board.results[1]["results"]}
    assert by_key["numpy"]["memory_mb"] > 0 and by_key["torch"]["memory_mb"] is None


def test_display_is_one_output_the_widget_with_a_static_copy_as_an_image(board, monkeypatch):
    import IPython.display

    shown = []

    def fake_display(obj, raw=False, display_id=None):
        shown.append((obj, raw))
        return None

    monkeypatch.setattr(IPython.display, "display", fake_display)
    board._ipython_display_()
    [(data, raw)] = shown                      # the live board and its copy, one output
    assert raw and "application/vnd.jupyter.widget-view+json" in data
    assert data["application/vnd.jupyter.widget-view+json"]["model_id"] == board.container.model_id
    assert "<svg" not in data["text/html"]     # inline SVG would not survive untrusted
    [(alt, svg)] = pictures_in(data["text/html"])
    assert alt == board.title and svg == on_card(board.chart_svg())
    assert board.table_html() in data["text/html"]
    assert board.container.children[2] is board.chart  # the live chart is in the box
    board._update()
    assert board.chart.value == on_card(board.chart_svg())   # on white in any theme
    assert "#777" not in board.table_html() and "var(--jp-ui-font-color2" in board.table_html()


# --- bad input ----------------------------------------------------------------------


def test_unknown_and_broken_frameworks_become_messages():
    b = TimingBoard(_broken_suite(), ["numpy", "broken", "jax"], sizes={"n": [4, 8]}, **TINY)
    assert any("'jax'" in m for m in b.messages)
    b.run(wait=True)
    assert any("broken" in m and "no_such_module" in m for m in b.messages)
    assert b.progress.value == b.progress.max == 4
    root = _chart(b)
    assert set(_marks(root)) == {(0, 0), (1, 0)}
    failed = [g for g in root.iter(SVG + "g") if g.get("class") == "failed"]
    assert len(failed) == 2
    for result in b.results:
        ok, broken = result["results"]
        assert ok["median_us"] > 0 and "no_such_module" in broken["error"]


def test_a_workload_that_raises_is_reported_per_cell():
    b = TimingBoard("ops", ["numpy"], sizes=[{"op": "add"}, {"op": "no-such-op"}], **TINY)
    b.run(wait=True)
    assert b.results[0]["results"][0]["median_us"] > 0
    assert "unknown op 'no-such-op'" in b.results[1]["results"][0]["error"]
    assert any("unknown op" in m for m in b.messages)
    assert len(_marks(_chart(b))) == 1


@pytest.mark.parametrize("kwargs, message", [
    ({"workload": "no-such-suite"}, "unknown benchmark suite"),
    ({"workload": 42}, "cannot use workload"),
    ({"frameworks": ["jax"]}, "no framework to run"),
    ({"sizes": {"bsize": [1, 2]}}, "no setting ['bsize']"),
    ({"sizes": [16, 64]}, "bad sizes"),
    ({"rounds": 0}, "rounds must be an integer >= 1"),
])
def test_bad_settings_are_messages_and_nothing_runs(kwargs, message):
    b = TimingBoard(**{"workload": "mlp", **kwargs})
    assert any(message in m for m in b.messages), b.messages
    assert not b.ready and b.button.disabled
    b.run(wait=True)  # does nothing, raises nothing
    assert b.results == [] and not b.running
    assert message in html.unescape(b.status.value)


# --- running in the background ------------------------------------------------------


def test_background_run_can_be_stopped_from_the_button():
    b = TimingBoard("ops", ["numpy"], sizes={"n": [4]}, rounds=100, steps=1, warmup=0)
    b.button.click()  # Run
    assert b.running and b.button.description == "Stop"
    deadline = time.monotonic() + 60
    while b.progress.value < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert b.progress.value >= 1  # the chart had something before the end
    b.run()  # a second run while one is going is refused with a message
    assert any("already running" in m for m in b.messages)
    b.button.click()  # Stop
    assert b.wait(timeout=60)
    assert b.results[0]["stopped"] and b.progress.value < b.total
    assert any("stopped" in m for m in b.messages)
    assert b.button.description == "Run"
    (r,) = b.results[0]["results"]
    assert r["samples"] == len(r["round_medians_us"]) >= 1


def test_iqr_whiskers_are_the_quartiles_of_the_steps():
    b = TimingBoard("ops", ["numpy"], sizes={"n": [4]}, rounds=1, steps=9, warmup=0,
                    spread="iqr", log=False)
    b.run(wait=True)
    (r,) = b.results[0]["results"]
    q1, q3 = np.percentile(r["step_us_by_round"][0], [25, 75])
    ((_, tip),) = _marks(_chart(b)).values()
    assert f"interquartile range {q1:.1f}–{q3:.1f} µs" in tip
