"""The Playground without a browser: its settings and links, its training checked
against PyTorch's loop in lessons.training, its failures turned into messages, and
its pictures checked against independent decoders and counts."""

import html
import io
import re
import sys
import time
import tracemalloc
import urllib.parse
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import widgets.playground as playground
from lessons.models import mlp, set_weights
from lessons.training import batch_order, train
from widgets.playground import (
    FRAMEWORKS,
    GRID,
    Batches,
    Config,
    FrameworkRun,
    PageLink,
    Playground,
    boundary_colors,
    confusion_chart,
    confusion_matrix,
    duration_text,
    estimate_seconds,
    load_data,
    loss_chart,
    png,
    query_string,
)

SVG = "{http://www.w3.org/2000/svg}"


def until(condition, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the Playground")
        time.sleep(0.01)


def messages(app):
    return html.unescape(app.message.value)


def svgs(html):
    """The <svg> elements in a panel's HTML, parsed."""
    return [ET.fromstring(m) for m in re.findall(r"<svg.*?</svg>", html, flags=re.S)]


# --- settings and links ----------------------------------------------------------------


def test_a_config_survives_its_own_link():
    config = Config(dataset="digits", framework="all", depth=3, width=7, activation="tanh",
                    optimizer="sgd", lr=0.125, batch=10, steps=77, seed=5)
    assert Config.from_query(config.to_query()) == (config, [])
    assert Config.from_query("?" + config.to_query()) == (config, [])


def test_a_hand_written_link_sets_what_it_names():
    config, problems = Config.from_query("dataset=moons&framework=all&width=5&lr=0.1")
    assert problems == []
    assert config == Config(dataset="moons", framework="all", width=5, lr=0.1)
    assert config.frameworks == ("minigrad", "torch", "tensorflow")


def test_a_broken_link_keeps_the_defaults_and_says_why():
    config, problems = Config.from_query("width=abc&colour=red&lr=&dataset=mnist")
    assert config == Config()
    assert len(problems) == 4
    assert "width" in problems[0] and "'abc'" in problems[0]
    assert "'colour'" in problems[1]
    assert "lr" in problems[2]
    assert "'mnist', which is not one of spirals, moons, circles, digits" in problems[3]


def test_what_voila_reads_from_the_address_is_not_an_app_setting():
    assert Config.from_query("theme=dark&width=5&template=lab") == (Config(width=5), [])


@pytest.mark.parametrize("settings, complaint", [
    ({"width": 0}, "width must be between 1 and 128, not 0"),
    ({"width": 129}, "width must be between 1 and 128, not 129"),
    ({"depth": 7}, "depth must be between 0 and 6"),
    ({"batch": 0}, "batch must be between"),
    ({"batch": 513}, "batch must be between 1 and 512"),
    ({"steps": 5001}, "steps must be between 1 and 5000"),
    ({"lr": 0.0}, "learning rate must be between"),
    ({"lr": float("nan")}, "learning rate must be between"),
    ({"dataset": "mnist"}, "dataset must be one of spirals, moons, circles, digits"),
    ({"framework": "jax"}, "framework must be one of"),
])
def test_problems_name_the_bad_setting(settings, complaint):
    assert Config().problems() == []
    found = Config(**settings).problems()
    assert len(found) == 1 and complaint in found[0]


def test_query_string_comes_from_voila(monkeypatch):
    monkeypatch.delenv("VOILA_PREHEAT", raising=False)
    monkeypatch.setenv("QUERY_STRING", "width=9")
    assert query_string() == "width=9"
    monkeypatch.delenv("QUERY_STRING")
    assert query_string() == ""


def test_the_address_is_rewritten_only_under_voila(monkeypatch):
    monkeypatch.delenv("SERVER_SOFTWARE", raising=False)
    assert Playground().link.rewrite_url is False
    monkeypatch.setenv("SERVER_SOFTWARE", "voila/0.5.13")
    assert Playground().link.rewrite_url is True


def test_widgets_and_link_follow_each_other():
    app = Playground("dataset=circles&width=5&activation=sigmoid")
    assert (app.dataset.value, app.width.value, app.activation.value) == ("circles", 5, "sigmoid")
    app.depth.value = 3  # as a person typing in the page
    assert app.config.depth == 3
    assert isinstance(app.link, PageLink)
    linked = dict(urllib.parse.parse_qsl(app.link.query))
    assert linked["depth"] == "3" and linked["dataset"] == "circles" and linked["width"] == "5"
    assert app.sizes == (2, 5, 5, 5, 2)


def test_an_invalid_width_shows_a_message_and_blocks_training_until_fixed():
    app = Playground()
    app.width.value = 0
    assert "width must be between 1 and 128, not 0" in messages(app)
    assert app.train_button.disabled
    app.train()
    assert not app.running and app.runs == {}
    app.width.value = 4
    assert messages(app) == "" and not app.train_button.disabled


# --- training ------------------------------------------------------------------------------

# The largest legal model on the digits: thousands of steps take minutes, so a test can
# stop, go on and reset while it trains.
SLOW = "steps=5000&dataset=digits&depth=6&width=128&batch=512"


def torch_reference(app, steps):
    """The same run with PyTorch's explicit loop from lessons.training."""
    model = mlp("torch", app.sizes, app.config.activation)
    set_weights(model, app.initial_weights)
    per_epoch = -(-len(app.data.X) // app.config.batch)
    result = train(model, app.data.X, app.data.y, lr=app.config.lr, batch_size=app.config.batch,
                   num_epochs=-(-steps // per_epoch), optimizer=app.config.optimizer,
                   seed=app.config.seed)
    return result.losses[:steps]


def test_minigrad_trains_as_pytorch_does_from_the_same_weights():
    # 25 steps of 16 cross an epoch boundary of the 320 training points (20 batches).
    app = Playground("framework=minigrad&steps=25&batch=16&lr=0.05&optimizer=adam")
    app.train(wait=True)
    losses = app.runs["minigrad"].losses
    assert app.step == len(losses) == 25
    np.testing.assert_allclose(losses, torch_reference(app, 25), rtol=1e-4, atol=1e-6)
    assert "done: 25 steps" in app.status.value
    assert app.progress.value == app.progress.max == 25


def test_all_three_frameworks_take_the_same_steps():
    app = Playground("framework=all&steps=12&optimizer=sgd&lr=0.5&depth=1&width=8")
    app.train(wait=True)
    reference = torch_reference(app, 12)
    assert set(app.runs) == {"minigrad", "torch", "tensorflow"}
    for run in app.runs.values():
        assert run.error is None
        np.testing.assert_allclose(run.losses, reference, rtol=1e-4, atol=1e-6,
                                   err_msg=run.framework)
        assert run.step_ms() is not None and run.step_ms() > 0
    panels = [app.panel_widgets[f].value for f in ("minigrad", "torch", "tensorflow")]
    assert all('class="fl-pg-curve"' in p and "ms per step" in p for p in panels)
    assert [c.value for c in app.panels.children] == panels


def test_stop_reset_and_train_again_while_it_runs():
    app = Playground(f"framework=minigrad&{SLOW}", refresh_seconds=0.05)
    app.train()
    until(lambda: app.step > 5)
    app.stop()
    assert app.wait(timeout=10)
    stopped_at = app.step
    assert 5 < stopped_at < 5000 and "stopped at step" in app.status.value
    app.train()  # goes on where it stopped
    until(lambda: app.step > stopped_at + 5)
    app.reset()  # while training
    assert app.step == 0 and app.runs == {}
    assert app.wait(timeout=10)
    assert app.step == 0 and app.runs == {} and "ready" in app.status.value
    assert not app.train_button.disabled
    app.set(steps=5)
    app.train(wait=True)
    assert app.step == 5


def test_changing_the_model_resets_but_more_steps_go_on():
    app = Playground("framework=minigrad&steps=5")
    app.train(wait=True)
    app.set(steps=8)
    assert app.step == 5
    app.train(wait=True)
    assert app.step == 8 and len(app.runs["minigrad"].losses) == 8
    np.testing.assert_allclose(app.runs["minigrad"].losses, torch_reference(app, 8), rtol=1e-4)
    app.set(width=4)
    assert app.step == 0 and app.runs == {}


def everything_shown(app):
    """All the text the app shows: status, estimate, messages and panels."""
    return html.unescape(app.status.value + app.estimate.value + app.message.value
                         + "".join(c.value for c in app.panels.children))


def test_a_diverging_learning_rate_stops_with_one_message_and_the_app_recovers():
    app = Playground("framework=minigrad&optimizer=adam&lr=100&steps=50")
    app.train(wait=True)
    run = app.runs["minigrad"]
    assert run.error is not None and run.diverged and app.step == run.stopped_at < 50
    # Said once, in minigrad's panel, not again above the panels.
    assert everything_shown(app).count("learning rate 100 is too large") == 1
    assert "learning rate 100 is too large" in html.unescape(app.panel_widgets["minigrad"].value)
    assert messages(app) == ""
    # The status says training stopped and why, and Train agrees: there is nothing to go
    # on with until the learning rate changes.
    status = html.unescape(app.status.value)
    assert f"training stopped at step {app.step}: the loss diverged" in status
    assert "Lower the learning rate (try 10)" in status and "goes on" not in status
    assert app.train_button.disabled and app.progress.bar_style == "danger"
    app.train(wait=True)
    assert app.step == run.stopped_at  # Train did nothing
    app.lr.value = 0.03
    assert not app.train_button.disabled and "ready" in app.status.value
    app.train(wait=True)
    assert app.step == 50 and app.runs["minigrad"].error is None
    assert app.progress.bar_style == ""


def test_a_nan_loss_is_reported():
    app = Playground("framework=minigrad&steps=1")
    app.train(wait=True)
    app.runs["minigrad"]._step = lambda X, y: float("nan")  # what an overflowing step returns
    app.set(steps=3)
    app.train(wait=True)
    assert "minigrad's loss became nan at step 2" in html.unescape(
        app.panel_widgets["minigrad"].value)
    assert app.step == 2 and "training stopped at step 2: the loss diverged" in app.status.value


def test_a_framework_that_cannot_be_imported_is_left_out(monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorflow", None)  # makes `import tensorflow` fail
    monkeypatch.setitem(sys.modules, "keras", None)
    app = Playground("framework=all&steps=4")
    app.train(wait=True)
    assert app.runs["tensorflow"].error and not app.runs["tensorflow"].losses
    assert len(app.runs["minigrad"].losses) == len(app.runs["torch"].losses) == 4
    assert "could not be loaded" in app.panel_widgets["tensorflow"].value
    assert everything_shown(app).count("TensorFlow could not be loaded") == 1
    assert "done: 4 steps; TensorFlow stopped early" in html.unescape(app.status.value)
    app.set(steps=6)  # the others go on
    assert not app.train_button.disabled
    app.train(wait=True)
    assert len(app.runs["torch"].losses) == 6


# --- batches, time and loading ----------------------------------------------------------


@pytest.mark.parametrize("n, batch", [(320, 32), (320, 300), (1438, 512), (10, 3), (5, 8)])
def test_batches_are_lessons_batch_order_drawn_lazily(n, batch):
    epochs = 4
    expected = [idx for epoch in batch_order(n, batch, epochs, seed=7) for idx in epoch]
    batches = Batches(n, batch, seed=7)
    assert [batches[i].tolist() for i in range(len(expected))] == [e.tolist() for e in expected]
    # Out of order (Stop, Reset, a later step first) it still answers the same.
    for i in (len(expected) - 1, 0, 5 % len(expected), 2):
        assert batches[i].tolist() == expected[i].tolist()


def test_batches_take_memory_for_one_epoch_however_many_steps():
    """The whole order of 5000 (or 100000) steps used to be built up front; now a batch
    is drawn when it is needed and only the current epoch's order is kept."""
    n, batch = 1438, 512                      # the digits' training set, the largest batch
    bound = 8 * (n + batch) * 2 + 8192        # int64 indices: the epoch, a batch, slack

    def peak(first_step):
        batches = Batches(n, batch, seed=0)
        batches[first_step]                   # jump there first (draws and drops epochs)
        tracemalloc.start()
        try:
            for step in range(first_step, first_step + 100):
                batches[step]
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    near, far = peak(0), peak(100_000)
    assert near < bound and far < bound, (near, far, bound)
    # What building every epoch's order up front costs for 100000 steps, for scale:
    # 100000 batches of 512 indices, 400 MB, where the lazy source stays under 40 kB.
    assert 100_000 * batch * 8 > 10_000 * bound


def test_durations_read_as_a_person_would_say_them():
    assert [duration_text(s) for s in (0.4, 3.2, 41, 44, 95, 150, 1300)] == [
        "under a second", "about 3 s", "about 40 s", "about 45 s", "about 1.5 min",
        "about 2.5 min", "about 22 min"]


def test_the_slowest_legal_set_up_is_estimated_at_a_few_minutes():
    largest = Config(dataset="digits", framework="all", depth=6, width=128, batch=512,
                     steps=5000)
    assert largest.problems() == []
    sizes = (64, *[128] * 6, 10)
    seconds = estimate_seconds(largest.frameworks, sizes, 512, largest.steps)
    assert 60 < seconds < 300, seconds
    # more steps, more frameworks or a bigger batch never take less time
    assert estimate_seconds(["minigrad"], sizes, 512, 5000) < seconds
    assert estimate_seconds(FRAMEWORKS, sizes, 256, 5000) < seconds
    assert estimate_seconds(FRAMEWORKS, sizes, 512, 2500) == pytest.approx(seconds / 2)


def test_the_estimate_is_shown_next_to_train_and_names_what_loads(monkeypatch):
    monkeypatch.setattr(playground.app, "loaded", lambda framework: framework == "minigrad")
    app = Playground("framework=all&steps=500")
    row = app.controls.children[0].children  # Train, Stop, Reset, then the estimate
    assert row.index(app.estimate) == row.index(app.train_button) + 3
    text = html.unescape(app.estimate.value)
    assert re.search(r"(about \d+(\.\d)? (s|min)|under a second) for 3 frameworks, plus about "
                     r"\d+ s to load PyTorch and TensorFlow the first time", text), text
    app.set(framework="minigrad")
    assert "for 3 frameworks" not in app.estimate.value and "to load" not in app.estimate.value
    app.set(steps=20)
    app.train(wait=True)
    assert re.fullmatch(r"took \d+ s", html.unescape(re.sub("<[^>]+>", "", app.estimate.value)))


def test_loading_a_framework_says_so_with_a_striped_bar(monkeypatch):
    monkeypatch.setattr(playground.app, "loaded", lambda framework: framework == "minigrad")
    seen = []
    setup = FrameworkRun.setup

    def watched_setup(run, *args):
        seen.append((run.framework, html.unescape(app.status.value),
                     "fl-pg-loading" in app.progress._dom_classes,
                     app.progress.value == app.progress.max))
        setup(run, *args)

    monkeypatch.setattr(FrameworkRun, "setup", watched_setup)
    app = Playground("framework=torch&steps=3")
    app.train(wait=True)
    ((framework, status, striped, full),) = seen
    assert framework == "torch" and striped and full
    assert re.search(r"loading PyTorch \(first time only, about \d+ s\)…", status), status
    assert "fl-pg-loading" not in app.progress._dom_classes and "done: 3 steps" in app.status.value


# --- data and pictures ----------------------------------------------------------------------


def test_the_digits_get_a_confusion_matrix():
    app = Playground("dataset=digits&framework=minigrad&steps=5&depth=1&width=32")
    assert app.sizes == (64, 32, 10)
    app.train(wait=True)
    (matrix,) = [svg for svg in svgs(app.panel_widgets["minigrad"].value)
                 if svg.get("class") == "fl-pg-confusion"]
    assert len(matrix.findall(f"{SVG}rect")) == 100
    assert "test accuracy" in app.panel_widgets["minigrad"].value


def test_confusion_matrix_matches_scikit_learn():
    from sklearn.metrics import confusion_matrix as reference

    rng = np.random.default_rng(0)
    y_true, y_pred = rng.integers(0, 10, 300), rng.integers(0, 10, 300)
    np.testing.assert_array_equal(confusion_matrix(y_true, y_pred, 10),
                                  reference(y_true, y_pred, labels=range(10)))
    svg = confusion_chart(confusion_matrix(y_true, y_pred, 10), "#7b3294")
    cells = ET.fromstring(svg).findall(f"{SVG}rect")
    assert len(cells) == 100


def test_2d_data_are_split_and_gridded():
    data = load_data("moons", seed=1)
    assert data.X.shape == (320, 2) and data.X_test.shape == (80, 2) and data.classes == 2
    x0, x1, y0, y1 = data.extent
    assert data.grid.shape == (GRID * GRID, 2)
    assert data.grid[0].tolist() == pytest.approx([x0, y1])  # top left first, as images go
    inside = np.concatenate([data.X, data.X_test])
    assert (inside[:, 0] > x0).all() and (inside[:, 0] < x1).all()
    assert (inside[:, 1] > y0).all() and (inside[:, 1] < y1).all()


def test_png_reads_back_with_matplotlib():
    from matplotlib.image import imread

    rgb = np.random.default_rng(0).integers(0, 256, (5, 7, 3)).astype(np.uint8)
    decoded = imread(io.BytesIO(png(rgb)), format="png")
    np.testing.assert_array_equal(np.round(decoded * 255).astype(np.uint8), rgb)


def test_boundary_colors_by_hand():
    # p = 0: orange (245, 147, 34) mixed 55% into white; p = 0.5: white; p = 1: blue (8, 119, 189)
    colors = boundary_colors(np.array([0.0, 0.5, 1.0]))
    expected = [[255 - 0.55 * (255 - c) for c in (245, 147, 34)], [255, 255, 255],
                [255 - 0.55 * (255 - c) for c in (8, 119, 189)]]
    np.testing.assert_array_equal(colors, np.round(expected).astype(np.uint8))


def test_loss_chart_draws_one_point_per_step_and_the_others_in_grey():
    svg = loss_chart({"minigrad": [0.7, 0.5, 0.3], "torch": [0.7, 0.6]}, "minigrad", steps=10)
    root = ET.fromstring(svg)
    own = root.find(f"{SVG}polyline[@class='fl-pg-curve']")
    ghost = root.find(f"{SVG}polyline[@class='fl-pg-ghost']")
    assert own.get("data-framework") == "minigrad" and own.get("data-steps") == "3"
    assert ghost.get("data-framework") == "torch"
    points = [tuple(map(float, p.split(","))) for p in own.get("points").split()]
    # By hand: the plot spans x 40..350 for steps 1..10 and y 126..10 for losses 0..0.8
    # (0.7, the largest loss, rounded up to a tick); y grows downwards.
    expected = [(40 + (step - 1) / 9 * 310, 10 + (1 - loss / 0.8) * 116)
                for step, loss in ((1, 0.7), (2, 0.5), (3, 0.3))]
    np.testing.assert_allclose(points, expected, atol=0.06)


def test_long_curves_are_drawn_as_bucket_means():
    losses = list(np.linspace(1.0, 0.0, 4800))
    root = ET.fromstring(loss_chart({"torch": losses}, "torch", steps=4800))
    points = root.find(f"{SVG}polyline").get("points").split()
    assert len(points) == 240
    assert root.find(f"{SVG}polyline").get("data-steps") == "4800"
