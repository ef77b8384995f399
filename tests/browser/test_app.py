"""The Playground app (``notebooks/app.ipynb``) under Voila in Chromium, served the way
``make app`` serves it: preheated kernels, sources stripped.

The DOM contract (classes the app sets on its widgets): the settings are
``.fl-pg-<name> select`` (whose values are the labels shown) / ``.fl-pg-<name> input``; the buttons ``button.fl-pg-train``,
``.fl-pg-stop``, ``.fl-pg-reset``; ``.fl-pg-state`` is the status line; each framework's
panel draws its loss as ``polyline.fl-pg-curve[data-framework=...]`` whose
``data-steps`` counts the steps drawn; messages are ``.fl-pg-message``.

``FL_PLAYGROUND_SCREENSHOT=docs/playground.png`` makes the three-framework test train
longer (300 steps) and save a picture of the trained app there (the one in the README).
"""

import os
import re
import time
from pathlib import Path

import pytest
from conftest import contrast_problems

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "notebooks" / "app.ipynb"
# The Makefile's `app` target serves the app with the same options.
PREHEAT = ("--preheat_kernel=True", "--pool_size=1")
SCREENSHOT = os.environ.get("FL_PLAYGROUND_SCREENSHOT")
STDERR_OUTPUT = '[data-mime-type="application/vnd.jupyter.stderr"]'
TRAINING_TIMEOUT_MS = 60_000  # the first run with all three imports PyTorch and TensorFlow


@pytest.fixture(scope="module")
def app_url(voila):
    return voila(APP, *PREHEAT)


def open_app(page, expect, url, query=""):
    """Load the app, fail on anything it wrote to stderr, and print the first paint: the
    seconds from navigation to a visible Train button (shown with ``pytest -s``)."""
    start = time.perf_counter()
    page.goto(url + (f"?{query}" if query else ""))
    train = page.locator("button.fl-pg-train")
    errors = page.locator(STDERR_OUTPUT)
    expect(train.or_(errors.first)).to_be_visible()
    seconds = time.perf_counter() - start
    if errors.count():
        pytest.fail("app.ipynb wrote to stderr under Voila:\n" + "\n".join(errors.all_inner_texts()),
                    pytrace=False)
    print(f"first paint (navigation to a visible Train button) of {page.url}: {seconds:.1f} s")


def curve(page, framework):
    return page.locator(f'polyline.fl-pg-curve[data-framework="{framework}"]')


def steps_drawn(page, framework):
    value = curve(page, framework).get_attribute("data-steps")
    return int(value) if value else 0


def test_app_loads_with_widgets_only(page, expect, app_url):
    open_app(page, expect, app_url)
    for selector in (".fl-pg-dataset select", ".fl-pg-framework select", ".fl-pg-width input",
                     ".fl-pg-lr input", ".fl-pg-batch input", "button.fl-pg-reset"):
        expect(page.locator(selector)).to_be_visible()
    # Voila strips the sources: no code cell, no editor, no line of the notebook's code.
    for selector in (".jp-InputArea-editor", ".jp-CodeMirrorEditor", ".cm-editor"):
        expect(page.locator(selector)).to_have_count(0)
    assert "query_string()" not in page.content()
    expect(page.locator(".fl-pg-state")).to_have_text("ready: press Train")


def test_training_on_spirals_with_minigrad_fills_the_loss_chart(page, expect, app_url):
    open_app(page, expect, app_url, "dataset=spirals&framework=minigrad&steps=40")
    expect(curve(page, "minigrad")).to_have_count(0)  # no loss before training
    page.locator("button.fl-pg-train").click()
    expect(page.locator(".fl-pg-state")).to_have_text("done: 40 steps", timeout=TRAINING_TIMEOUT_MS)
    expect(curve(page, "minigrad")).to_have_attribute("data-steps", "40")
    points = curve(page, "minigrad").get_attribute("points").split()
    assert len(points) == 40, "one point per step"
    expect(page.locator("image.fl-pg-boundary")).to_have_count(1)
    expect(page.locator(STDERR_OUTPUT)).to_have_count(0)  # nothing leaked from training


def test_stop_and_reset_answer_while_training(page, expect, app_url):
    open_app(page, expect, app_url, "framework=minigrad&steps=100000")
    page.locator("button.fl-pg-train").click()
    expect(curve(page, "minigrad")).to_have_count(1, timeout=TRAINING_TIMEOUT_MS)
    first = steps_drawn(page, "minigrad")
    expect(curve(page, "minigrad")).not_to_have_attribute("data-steps", str(first))
    assert steps_drawn(page, "minigrad") > first, "the loss chart gains points as it trains"
    page.locator("button.fl-pg-stop").click()
    expect(page.locator(".fl-pg-state")).to_contain_text("stopped at step")
    page.locator("button.fl-pg-train").click()  # goes on from there
    expect(page.locator(".fl-pg-state")).to_contain_text("training")
    page.locator("button.fl-pg-reset").click()  # while it trains
    expect(page.locator(".fl-pg-state")).to_have_text("ready: press Train")
    expect(curve(page, "minigrad")).to_have_count(0)
    expect(page.locator("button.fl-pg-train")).to_be_enabled()


def test_all_three_frameworks_draw_three_curves(page, expect, app_url):
    steps = 300 if SCREENSHOT else 20
    open_app(page, expect, app_url, f"dataset=spirals&steps={steps}")
    page.locator(".fl-pg-framework select").select_option(label="All three")
    expect(page.locator(".fl-pg-panel")).to_have_count(3)
    page.locator("button.fl-pg-train").click()
    expect(page.locator(".fl-pg-state")).to_have_text(f"done: {steps} steps",
                                                      timeout=TRAINING_TIMEOUT_MS)
    for framework in ("minigrad", "torch", "tensorflow"):
        expect(curve(page, framework)).to_have_attribute("data-steps", str(steps))
    expect(page.locator("polyline.fl-pg-curve")).to_have_count(3)
    expect(page.locator(".fl-pg-time")).to_have_count(3)
    expect(page.locator(".fl-pg-time").first).to_contain_text("ms per step")
    expect(page.locator(".fl-pg-message")).to_have_count(0)
    expect(page.locator(STDERR_OUTPUT)).to_have_count(0)
    if SCREENSHOT:
        page.set_viewport_size({"width": 1280, "height": 1160})
        page.screenshot(path=SCREENSHOT)


def test_an_invalid_width_shows_a_message_and_the_app_recovers(page, expect, app_url):
    open_app(page, expect, app_url)
    width = page.locator(".fl-pg-width input")
    width.fill("0")
    width.press("Enter")
    message = page.locator(".fl-pg-message")
    expect(message).to_contain_text("width must be between 1 and 256, not 0")
    expect(page.locator("button.fl-pg-train")).to_be_disabled()
    width.fill("8")
    width.press("Enter")
    expect(message).to_have_count(0)
    expect(page.locator("button.fl-pg-train")).to_be_enabled()


def test_the_page_url_holds_the_configuration(page, expect, app_url):
    query = "dataset=moons&framework=torch&width=5&activation=tanh&lr=0.1"
    open_app(page, expect, app_url, query)
    expect(page.locator(".fl-pg-dataset select")).to_have_value("Moons")
    expect(page.locator(".fl-pg-framework select")).to_have_value("PyTorch")
    expect(page.locator(".fl-pg-activation select")).to_have_value("tanh")
    expect(page.locator(".fl-pg-width input")).to_have_value("5")
    expect(page.locator(".fl-pg-lr input")).to_have_value("0.1")
    # The address now names every setting, and follows a change.
    expect(page).to_have_url(re.compile(r"[?&]depth=2(&|$)"))
    depth = page.locator(".fl-pg-depth input")
    depth.fill("3")
    depth.press("Enter")
    expect(page).to_have_url(re.compile(r"[?&]depth=3(&|$)"))
    shared = page.url
    assert "dataset=moons" in shared and "width=5" in shared
    # A second visitor opening that link gets the same set-up.
    other = page.context.new_page()
    open_app(other, expect, shared)
    expect(other.locator(".fl-pg-depth input")).to_have_value("3")
    expect(other.locator(".fl-pg-dataset select")).to_have_value("Moons")
    expect(other.locator(".fl-pg-lr input")).to_have_value("0.1")
    expect(other.locator(".fl-pg-link")).to_have_attribute("href", shared)


def test_the_dark_theme_keeps_every_text_readable(page, expect, app_url, tmp_path):
    """Voila's ?theme=dark: the app's own colours follow JupyterLab's theme variables;
    after training, axe-core finds no serious contrast problem anywhere in the app."""
    open_app(page, expect, app_url, "theme=dark&dataset=moons&framework=minigrad&steps=30")
    assert page.evaluate("() => document.body.dataset.jpThemeLight") == "false"
    expect(page.locator(".fl-pg-message")).to_have_count(0)      # theme is not a setting
    page.locator("button.fl-pg-train").click()
    expect(page.locator(".fl-pg-state")).to_have_text("done: 30 steps", timeout=TRAINING_TIMEOUT_MS)
    page.set_viewport_size({"width": 1400, "height": 1000})
    page.screenshot(path=str(tmp_path / "playground-dark.png"), full_page=True)
    assert contrast_problems(page, ".fl-playground") == []
