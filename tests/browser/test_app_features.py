"""The Playground's tabs, presets and accessibility, under Voila in Chromium, served as
``make app`` serves it (test_app.py's ``app_url``: its options and environment).

- the Code tab's three programs, each downloadable as the very text the tab shows;
- the app used with a keyboard alone: every control reached with Tab has a label and a
  visible focus ring, Enter on Train trains, the arrow keys switch tabs;
- axe-core's WCAG 2 A and AA rules in the light theme, fresh and trained, on each tab
  (test_app.py checks the dark theme's contrast);
- the Neurons tab's pictures, one per unit of the first hidden layer;
- a preset: its settings reach the widgets and the address, and its note shows;
- how long the page takes to be ready and the first step to show (``pytest -s``).
"""

import os
import re
import time
from pathlib import Path

import pytest

# test_app's fixtures (app_url: the app served as make app serves it;
# close_pages_as_a_visitor_does: each test's pages closed as a visitor closes a tab,
# which shuts their kernels down) and helpers
from test_app import (  # noqa: F401
    STDERR_OUTPUT,
    TRAINING_TIMEOUT_MS,
    app_url,
    close_pages_as_a_visitor_does,
    curve,
    open_app,
)

from accessibility import AXE, HOW
from widgets.playground.config import PRESETS

FRAMEWORK_IMPORTS = {"minigrad": "import minigrad", "torch": "import torch",
                     "tensorflow": "import tensorflow"}
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def axe_problems(page, rules=None):
    """axe-core's serious and critical violations on the whole page, of the WCAG 2 A/AA
    rules (or of ``rules``, a list of rule ids), each as 'rule: the elements it names'."""
    if not AXE.is_file():
        if os.environ.get("CI", "").strip().lower() == "true":
            pytest.fail(f"CI=true, so the accessibility checks must run, but axe-core is "
                        f"missing: {HOW}", pytrace=False)
        pytest.skip(f"the accessibility checks need axe-core: {HOW}")
    if not page.evaluate("() => typeof axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    only = {"type": "rule", "values": rules} if rules else {"type": "tag", "values": WCAG}
    return page.evaluate("""async (only) => {
        const r = await axe.run(document, {runOnly: only});
        return r.violations.filter(v => ['serious', 'critical'].includes(v.impact))
                .map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', '));
    }""", only)


def show_tab(page, expect, title):
    tab = page.get_by_role("tab", name=title)
    tab.click()
    expect(tab).to_have_attribute("aria-selected", "true")


def test_the_code_tab_downloads_the_three_programs_it_shows(page, expect, app_url):  # noqa: F811
    open_app(page, expect, app_url, "dataset=moons&framework=all&width=8&steps=50")
    show_tab(page, expect, "Code")
    programs = page.locator(".fl-pg-program")
    expect(programs).to_have_count(3)
    seen = []
    for i in range(3):
        program = programs.nth(i)
        framework = program.get_attribute("data-framework")
        link = program.locator("a.fl-pg-download")
        expect(link).to_be_visible()
        name = link.get_attribute("download")
        assert link.get_attribute("href").startswith("data:text/x-python;base64,")
        with page.expect_download() as info:
            link.click()
        download = info.value
        assert download.failure() is None
        assert download.suggested_filename == name and name.endswith(".py")
        text = Path(download.path()).read_text(encoding="utf-8")
        shown = program.locator("pre.fl-pg-source").inner_text()
        assert text.rstrip("\n") == shown.rstrip("\n"), f"{name} is not what the tab shows"
        compile(text, name, "exec")  # a Python program
        assert FRAMEWORK_IMPORTS[framework] in text, f"{name} does not import its framework"
        assert "width=8" in text and "steps=50" in text  # this set-up, not the defaults
        seen.append(framework)
    assert sorted(seen) == ["minigrad", "tensorflow", "torch"]


FOCUSED = """() => {
    const e = document.activeElement;
    if (!e || e === document.body) return null;
    const s = getComputedStyle(e);
    const label = e.labels && e.labels.length ? e.labels[0].textContent
                : e.getAttribute('aria-label') || e.textContent.trim() || e.title;
    return {tag: e.tagName, cls: String(e.className), name: (label || '').trim(),
            outline: s.outlineStyle, width: parseFloat(s.outlineWidth),
            disabled: !!e.disabled,
            train: e.classList.contains('fl-pg-train'), tab: e.getAttribute('role') === 'tab'};
}"""


def test_a_keyboard_alone_reaches_every_control_and_trains(page, expect, app_url):  # noqa: F811
    open_app(page, expect, app_url, "dataset=moons&framework=minigrad&steps=30")
    expect(page.locator("button.fl-pg-train")).to_be_enabled()
    # From the top of the page, Tab goes round every control once.
    reached = []
    for _ in range(40):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED)
        if focused is None:
            continue
        if reached and focused == reached[0]:
            break
        reached.append(focused)
    names = [f["name"] for f in reached]
    assert any(f["train"] for f in reached), f"Tab never reached Train: {names}"
    assert any(f["tab"] for f in reached), f"Tab never reached the tabs: {names}"
    for f in reached:
        assert f["name"], f"a {f['tag']} ({f['cls']}) has no label"
        assert f["outline"] != "none" and f["width"] >= 2, \
            f"{f['tag']} {f['name']!r} shows no focus ring: outline {f['outline']} {f['width']}px"
    # every setting of the three rows and the three buttons that can be pressed
    for label in ("Data", "Framework", "Hidden layers", "Width", "Activation", "Optimizer",
                  "Learning rate", "Batch", "Steps", "Preset", "Noise", "Test %", "L2",
                  "Dropout", "Train", "Reset"):
        assert label in names, f"Tab never reached {label}: {names}"
    assert axe_problems(page, ["label", "select-name", "button-name", "link-name"]) == []
    # Tab on to Train, and Enter trains.
    for _ in range(40):
        if page.evaluate(FOCUSED) and page.evaluate(FOCUSED)["train"]:
            break
        page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(curve(page, "minigrad")).to_have_count(1, timeout=TRAINING_TIMEOUT_MS)
    expect(page.locator(".fl-pg-state")).to_have_text("done: 30 steps",
                                                      timeout=TRAINING_TIMEOUT_MS)
    expect(curve(page, "minigrad")).to_have_attribute("data-steps", "30")
    # The tabs: Tab to the current one, then the arrow keys and Enter switch them.
    for _ in range(40):
        focused = page.evaluate(FOCUSED)
        if focused and focused["tab"]:
            break
        page.keyboard.press("Tab")
    assert page.evaluate(FOCUSED)["name"] == "Train"
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Enter")
    expect(page.get_by_role("tab", name="Neurons")).to_have_attribute("aria-selected", "true")
    expect(page.locator(".fl-pg-units img").first).to_be_visible()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Space")
    expect(page.get_by_role("tab", name="Graph")).to_have_attribute("aria-selected", "true")
    expect(page.locator(".fl-pg-graph-title")).to_be_visible()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Enter")
    expect(page.get_by_role("tab", name="Code")).to_have_attribute("aria-selected", "true")
    # The first program's download link, then its box: the box scrolls, so it takes the
    # focus, and the keys scroll it.
    page.keyboard.press("Tab")
    focused = page.evaluate(FOCUSED)
    assert focused["cls"] == "fl-pg-download" and focused["width"] >= 2, focused
    page.keyboard.press("Tab")
    focused = page.evaluate(FOCUSED)
    assert focused["tag"] == "PRE" and focused["width"] >= 2, focused
    source = page.locator("pre.fl-pg-source").first
    before = source.evaluate("e => e.scrollTop")
    page.keyboard.press("PageDown")
    expect(source).not_to_have_js_property("scrollTop", before)


def test_axe_finds_no_serious_problem_in_the_light_theme(page, expect, app_url):  # noqa: F811
    open_app(page, expect, app_url, "dataset=moons&framework=all&steps=20")
    assert page.evaluate("() => document.body.dataset.jpThemeLight") != "false"
    found = {"fresh": axe_problems(page)}
    page.locator("button.fl-pg-train").click()
    expect(page.locator(".fl-pg-state")).to_have_text("done: 20 steps",
                                                      timeout=TRAINING_TIMEOUT_MS)
    found["trained"] = axe_problems(page)
    show_tab(page, expect, "Neurons")
    expect(page.locator(".fl-pg-units img").first).to_be_visible()
    found["Neurons tab"] = axe_problems(page)
    show_tab(page, expect, "Code")
    expect(page.locator("pre.fl-pg-source")).to_have_count(3)
    found["Code tab"] = axe_problems(page)
    page.locator(".fl-pg-preset select").select_option(label=PRESETS["overfit"].title)
    expect(page.locator(".fl-pg-note")).to_be_visible()
    found["a preset's note"] = axe_problems(page)
    assert {k: v for k, v in found.items() if v} == {}


def test_the_neurons_tab_draws_one_picture_per_unit(page, expect, app_url):  # noqa: F811
    open_app(page, expect, app_url, "dataset=moons&width=6")
    show_tab(page, expect, "Neurons")
    images = page.locator(".fl-pg-units img")
    expect(images).to_have_count(6)
    for i in range(6):
        image = images.nth(i)
        expect(image).to_be_visible()
        expect(image).to_have_attribute("alt", f"unit {i + 1}")
        box = image.bounding_box()
        assert box["width"] > 0 and box["height"] > 0
        page.wait_for_function("e => e.complete && e.naturalWidth > 0", arg=image.element_handle())
    expect(page.locator(".fl-pg-neurons-tab")).to_contain_text("6 units")


def test_a_preset_sets_its_settings_and_shows_its_note(page, expect, app_url):  # noqa: F811
    open_app(page, expect, app_url)
    expect(page.locator(".fl-pg-note")).to_have_count(0)
    preset = PRESETS["l2"]
    page.locator(".fl-pg-preset select").select_option(label=preset.title)
    expect(page).to_have_url(re.compile(r"[?&]l2=0\.01(&|$)"))
    for name, value in (("dataset", "moons"), ("noise", "0.35"), ("test", "90"),
                        ("depth", "3"), ("width", "64")):
        expect(page).to_have_url(re.compile(rf"[?&]{name}={re.escape(value)}(&|$)"))
    expect(page.locator(".fl-pg-l2 input")).to_have_value("0.01")
    expect(page.locator(".fl-pg-width input")).to_have_value("64")
    expect(page.locator(".fl-pg-dataset select")).to_have_value("Moons")
    expect(page.locator(".fl-pg-note")).to_have_text(preset.note)
    expect(page.locator("button.fl-pg-train")).to_be_enabled()
    # A setting changed by hand: no longer the preset, and its note goes.
    width = page.locator(".fl-pg-width input")
    width.fill("32")
    width.press("Enter")
    expect(page).to_have_url(re.compile(r"[?&]width=32(&|$)"))
    expect(page.locator(".fl-pg-note")).to_have_count(0)
    expect(page.locator(".fl-pg-preset select")).to_have_value("choose one…")


def test_how_long_the_page_and_the_first_step_take(page, expect, app_url):  # noqa: F811
    """Prints (pytest -s) the seconds from navigation to an enabled Train button, and
    from pressing Train with all three frameworks to the first step shown (PyTorch and
    TensorFlow load then, in this page's fresh kernel), with the load average."""
    start = time.perf_counter()
    page.goto(app_url + "?framework=all&dataset=spirals&steps=200")
    expect(page.locator("button.fl-pg-train").or_(page.locator(STDERR_OUTPUT).first)) \
        .to_be_visible()
    expect(page.locator(STDERR_OUTPUT)).to_have_count(0)
    expect(page.locator("button.fl-pg-train")).to_be_enabled()
    ready = time.perf_counter() - start
    load_ready = os.getloadavg()
    page.locator("button.fl-pg-train").click()
    clicked = time.perf_counter()
    page.wait_for_function(
        "() => Number(document.querySelector('.fl-pg-state')?.dataset.step || 0) >= 1",
        timeout=TRAINING_TIMEOUT_MS, polling=50)
    first_step = time.perf_counter() - clicked
    load_step = os.getloadavg()
    state = page.locator(".fl-pg-state").inner_text()
    print(f"\nnavigation to an enabled Train button: {ready:.1f} s "
          f"(load average {load_ready[0]:.2f} {load_ready[1]:.2f} {load_ready[2]:.2f}); "
          f"Train (all three frameworks) to the first step shown: {first_step:.1f} s, "
          f"status {state!r} (load average {load_step[0]:.2f} {load_step[1]:.2f} "
          f"{load_step[2]:.2f}); {os.cpu_count()} CPUs")
    assert re.match(r"(training: step \d+|done: 200 steps)", state)
    page.locator("button.fl-pg-stop").click()
    expect(page.locator(".fl-pg-state")).to_contain_text(re.compile("stopped at step|done"))
