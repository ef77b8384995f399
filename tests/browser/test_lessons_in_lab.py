"""The lessons in JupyterLab, as a learner opens them (``make lab``'s settings), in Chromium.

- Opened fresh, before anything runs (so untrusted), every cell whose stored output holds a
  widget shows a picture (an ``<img>`` that loaded), never the widget's text or an SVG's
  labels run together: that is what a sanitizer leaves of inline SVG.
- Run, in the dark theme: the live graphs draw their labels at least 11 px tall; the
  mouse wheel scrolls the notebook unless Ctrl is held (then it zooms the graph); what a
  graph draws on the page takes the theme's text colour; and axe-core finds no serious or
  critical contrast problem in the widgets' outputs.

The server runs on 127.0.0.1 over a copy of ``notebooks/`` (running a lesson saves it),
with its own Jupyter folders, and is ended by its PID.
"""
import json
import re
import shutil
from pathlib import Path

import pytest

from accessibility import contrast_problems
from lab_server import TOKEN, LearnerLab

ROOT = Path(__file__).resolve().parents[2]
WIDGET = "application/vnd.jupyter.widget-view+json"
LESSONS = sorted(p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
THEME_SETTINGS = "@jupyterlab/apputils-extension/themes.jupyterlab-settings"
# what the old static copies showed untrusted: a graph's labels, or a widget's repr
RUN_TOGETHER = re.compile(r"parameterinputintermediateoutput|VBox\(children|HBox\(children")


def widget_cells(name):
    """Indices of the code cells whose stored outputs hold a live widget."""
    cells = json.loads((ROOT / "notebooks" / name).read_text())["cells"]
    return [i for i, c in enumerate(cells) if c["cell_type"] == "code"
            and any(WIDGET in o.get("data", {}) for o in c.get("outputs", []))]


class Lab(LearnerLab):
    """The learner's JupyterLab over a copy of the lessons, whose theme a test can set."""

    def __init__(self, workdir):
        shutil.copytree(ROOT / "notebooks", workdir / "notebooks",
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
        self.settings = workdir / "jupyter" / "settings"
        self.theme("JupyterLab Light")
        super().__init__(workdir / "notebooks", workdir / "jupyter")

    def theme(self, name):
        path = self.settings / THEME_SETTINGS
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"theme": name}))

    def open(self, context, name):
        page = context.new_page()
        page.goto(f"{self.url}/lab/tree/{name}?reset&token={TOKEN}", timeout=90_000)
        page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=60_000)
        page.wait_for_timeout(3000)           # outputs, MathJax, the kernel starting
        return page


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    server = Lab(tmp_path_factory.mktemp("lab"))
    yield server
    server.stop()


@pytest.fixture
def context(browser, lab):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.route(re.compile(r"^(?!https?://127\.0\.0\.1[:/]|data:|blob:)"), lambda r: r.abort())
    yield context
    context.close()


def cell_output(page, index):
    """The output area of cell `index`, scrolled into view (the notebook renders only the
    cells near the viewport)."""
    page.evaluate(
        """(i) => {
        const panel = document.querySelector('.jp-NotebookPanel .jp-WindowedPanel-outer');
        const cells = () => document.querySelector(
            `.jp-NotebookPanel [data-windowed-list-index="${i}"]`);
        for (let k = 0; k < 200 && !cells(); k++) panel.scrollTop += 400;
    }""",
        index,
    )
    cell = page.locator(f'.jp-NotebookPanel [data-windowed-list-index="{index}"]')
    cell.scroll_into_view_if_needed()
    return cell.locator(".jp-OutputArea")


@pytest.mark.parametrize("name", [n for n in LESSONS if widget_cells(n)])
def test_before_running_every_widget_output_shows_its_picture(lab, context, expect, name):
    page = lab.open(context, name)
    for index in widget_cells(name):
        output = cell_output(page, index)
        expect(output.locator("img").first).to_be_visible()
        loaded = output.locator("img").evaluate_all("imgs => imgs.map(i => i.naturalWidth)")
        assert loaded and all(width > 0 for width in loaded), f"{name} cell {index}: {loaded}"
        text = output.inner_text()
        assert not RUN_TOGETHER.search(text), f"{name} cell {index} shows text: {text[:200]}"
    page.close()


def test_run_in_the_dark_theme_graphs_are_readable_and_do_not_trap_the_wheel(lab, context, expect):
    lab.theme("JupyterLab Dark")
    page = lab.open(context, "01_tensors_and_autograd.ipynb")
    try:
        page.click(".lm-MenuBar-itemLabel:text-is('Run')")
        page.click(".lm-Menu-itemLabel:text-is('Run All Cells')")
        index = widget_cells("01_tensors_and_autograd.ipynb")[0]
        output = cell_output(page, index)
        graph = output.locator(".fl-graphview svg.fl-graph").first
        expect(graph).to_be_visible(timeout=180_000)
        expect(page.locator(".jp-InputPrompt", has_text="*")).to_have_count(0, timeout=180_000)
        graph.scroll_into_view_if_needed()

        # labels: the SVG's 12-unit text, at the scale the page draws it
        scale = graph.evaluate("s => s.getBoundingClientRect().width / s.viewBox.baseVal.width")
        assert 12 * scale >= 11, f"graph labels are {12 * scale:.1f} px tall"

        # the theme's colours: what is drawn on the page takes the theme's text colour
        ink, theme_ink = graph.evaluate("""s => [
            getComputedStyle(s.querySelector('text.fl-ink')).fill,
            getComputedStyle(document.body).getPropertyValue('--jp-ui-font-color1').trim()]""")
        assert page.evaluate("() => document.body.dataset.jpThemeLight") == "false"
        assert ink == page.evaluate("(c) => { const e = document.createElement('div'); "
                                    "e.style.color = c; document.body.append(e); "
                                    "const v = getComputedStyle(e).color; e.remove(); return v; }",
                                    theme_ink)

        # the wheel: plain scrolls the notebook, Ctrl zooms the graph
        box = graph.bounding_box()
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        scroller = ".jp-NotebookPanel .jp-WindowedPanel-outer"
        before = (
            graph.get_attribute("viewBox"),
            page.eval_on_selector(scroller, "e => e.scrollTop"),
        )
        page.mouse.wheel(0, 300)
        page.wait_for_timeout(500)
        after = (
            graph.get_attribute("viewBox"),
            page.eval_on_selector(scroller, "e => e.scrollTop"),
        )
        assert after[0] == before[0] and after[1] != before[1], (before, after)
        graph.scroll_into_view_if_needed()
        box = graph.bounding_box()
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.keyboard.down("Control")
        page.mouse.wheel(0, -300)
        page.keyboard.up("Control")
        page.wait_for_timeout(300)
        assert graph.get_attribute("viewBox") != after[0]
        assert "Ctrl" in output.locator(".fl-hint").first.inner_text()

        # contrast of everything the widgets show, in the dark theme
        assert contrast_problems(page, ".jp-OutputArea-output .fl-graphview") == []
    finally:
        page.close()
        lab.theme("JupyterLab Light")
