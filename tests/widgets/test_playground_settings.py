"""The Playground's data and regularization settings, its presets and its Neurons tab.

Expected values are worked out here with NumPy (or PyTorch) from the app's weights and
data, never taken from the app's own helpers."""

import html
import io
import re

import numpy as np
import pytest

from widgets.playground import GRID, PRESETS, Config, Playground, load_data

# ------------------------------------------------------------------------ the settings


def test_the_new_settings_survive_the_link():
    config = Config(dataset="circles", noise=0.17, test=35, l2=0.004, dropout=0.25, depth=2)
    assert Config.from_query(config.to_query()) == (config, [])
    assert "noise=0.17" in config.to_query() and "dropout=0.25" in config.to_query()


def test_each_data_set_keeps_its_own_noise_unless_told():
    assert [Config(dataset=d).noise for d in ("spirals", "moons", "circles")] == \
        [0.04, 0.1, 0.06]
    assert Config.from_query("dataset=moons&noise=0")[0].noise == 0.0
    app = Playground("dataset=moons")
    app.set(dataset="circles")  # the noise was moons' own: it becomes the circles'
    assert app.config.noise == 0.06 and app.noise.value == 0.06
    app.set(noise=0.3)
    app.set(dataset="spirals")  # a noise a person chose stays
    assert app.config.noise == 0.3
    app.set(dataset="digits")
    assert app.noise.disabled and not app.test.disabled


@pytest.mark.parametrize("settings, complaint", [
    ({"noise": -0.1}, "noise must be between 0.0 and 1.0"),
    ({"noise": float("nan")}, "noise must be between"),
    ({"test": 5}, "test must be between 10 and 90"),
    ({"test": 95}, "test must be between 10 and 90"),
    ({"l2": -1e-3}, "l2 must be between 0.0 and 1.0"),
    ({"dropout": 0.95}, "dropout must be between 0.0 and 0.9"),
])
def test_out_of_range_settings_are_named(settings, complaint):
    found = Config(**settings).problems()
    assert len(found) == 1 and complaint in found[0], found


@pytest.mark.parametrize("test", [10, 35, 90])
def test_the_test_share_splits_the_2d_sets(test):
    data = load_data("moons", seed=2, test=test)
    held_out = 400 * test // 100
    assert len(data.X_test) == held_out and len(data.X) == 400 - held_out
    # the same 400 points whatever the split: only where the cut falls moves
    whole = load_data("moons", seed=2, test=10)
    np.testing.assert_array_equal(np.concatenate([data.X_test, data.X]),
                                  np.concatenate([whole.X_test, whole.X]))


def test_the_test_share_splits_the_digits_by_class():
    data = load_data("digits", seed=0, test=50)
    assert abs(len(data.X_test) - 1797 / 2) <= 10
    counts = np.bincount(data.y_test, minlength=10) / np.bincount(
        np.concatenate([data.y, data.y_test]), minlength=10)
    assert np.all(np.abs(counts - 0.5) < 0.02)


def test_noise_is_the_spread_around_the_noiseless_shape():
    clean = load_data("circles", seed=3, noise=0.0)
    radii = np.hypot(*np.concatenate([clean.X, clean.X_test]).T)
    assert np.allclose(np.sort(np.unique(np.round(radii, 5))), [0.5, 1.0])
    noisy = load_data("circles", seed=3, noise=0.2)
    X, y = np.concatenate([noisy.X, noisy.X_test]), np.concatenate([noisy.y, noisy.y_test])
    off = np.hypot(*X.T) - np.where(y == 0, 1.0, 0.5)  # how far each point left its circle
    assert off.std() == pytest.approx(0.2, rel=0.15)


# ------------------------------------------------------------- L2 and dropout, in the app


def boundary(app, framework="minigrad"):
    run = app.runs[framework]
    logits = run.predict(app.data.grid).astype(np.float64)
    return 1 / (1 + np.exp(np.clip(logits[:, 0] - logits[:, 1], -60, 60)))


def test_l2_and_dropout_change_the_boundary_visibly():
    base = PRESETS["overfit"].query
    p1 = {}
    for name, extra in (("plain", ""), ("l2", "&l2=0.01"), ("dropout", "&dropout=0.5")):
        app = Playground(base + extra)
        app.train(wait=True)
        assert app.runs["minigrad"].error is None
        p1[name] = boundary(app)
    # "visibly": a tenth of the plane, or more, changes colour by a fifth of the scale
    for name in ("l2", "dropout"):
        changed = np.mean(np.abs(p1[name] - p1["plain"]) > 0.2)
        assert changed > 0.1, (name, changed)
    # L2 keeps the weights small, so the probabilities stay away from 0 and 1
    confident = {k: np.mean((v < 0.01) | (v > 0.99)) for k, v in p1.items()}
    assert confident["l2"] < confident["plain"] - 0.2, confident


def test_the_l2_penalty_is_in_the_loss_the_panel_shows():
    import torch

    app = Playground("dataset=moons&width=8&l2=0.05&steps=1&framework=torch")
    weights = {k: torch.tensor(v) for k, v in app.initial_weights.items()}
    app.train(wait=True)
    X = torch.tensor(app.data.X[app._batches[0]])
    y = torch.tensor(app.data.y[app._batches[0]])
    h = X
    for i in (0, 2):
        h = torch.relu(h @ weights[f"{i}.weight"].T + weights[f"{i}.bias"])
    logits = h @ weights["4.weight"].T + weights["4.bias"]
    expected = torch.nn.functional.cross_entropy(logits, y) + 0.05 * sum(
        (weights[f"{i}.weight"] ** 2).sum() for i in (0, 2, 4))
    assert app.runs["torch"].losses[0] == pytest.approx(float(expected), abs=1e-5)


def test_the_panel_shows_the_test_loss():
    import torch

    app = Playground("dataset=circles&width=6&steps=30")
    app.train(wait=True)
    logits = torch.tensor(app.runs["minigrad"].predict(app.data.X_test))
    expected = float(torch.nn.functional.cross_entropy(logits, torch.tensor(app.data.y_test)))
    shown = re.search(r"test loss <b>([^<]+)</b>", app.panel_widgets["minigrad"].value)
    assert float(shown.group(1)) == pytest.approx(expected, rel=2e-3)


# ------------------------------------------------------------------------- the presets


@pytest.mark.parametrize("key", list(PRESETS))
def test_each_preset_is_a_legal_set_up_with_a_note(key):
    preset = PRESETS[key]
    config, messages = Config.from_query(preset.query)
    assert messages == [] and config.problems() == []
    assert 40 < len(preset.note) < 240 and preset.title
    app = Playground()
    app.preset.value = key
    assert app.config == config
    assert html.unescape(app.preset_note.value).count(preset.note) == 1
    app.set(steps=config.steps + 1)  # any change: the set-up is no longer the preset's
    assert app.preset.value == "" and app.preset_note.value == ""


def test_a_link_to_a_presets_set_up_shows_its_note():
    app = Playground(PRESETS["small"].query)
    assert app.preset.value == "small" and PRESETS["small"].note in html.unescape(
        app.preset_note.value)


def trained(query):
    app = Playground(query)
    app.train(wait=True)
    return app


def test_the_learning_rate_preset_diverges_and_a_tenth_of_it_does_not():
    app = trained(PRESETS["rate"].query)
    run = app.runs["minigrad"]
    assert run.diverged and run.stopped_at <= 3
    assert max(run.losses) > 1000 * run.losses[0]  # "more than a thousandfold"
    good = trained(PRESETS["rate"].query.replace("lr=20", "lr=0.3"))
    assert good.runs["minigrad"].error is None and good.runs["minigrad"].losses[-1] < 0.05


def test_the_small_network_preset_stays_near_two_in_three():
    accuracy = accuracy_of(trained(PRESETS["small"].query))
    assert 0.55 < accuracy < 0.8
    assert accuracy_of(trained(PRESETS["small"].query.replace("width=2", "width=16"))) > 0.9


def test_the_linear_preset_is_about_a_coin_toss():
    assert 0.35 < accuracy_of(trained(PRESETS["linear"].query)) < 0.65


def test_overfitting_and_what_l2_does_to_it():
    over, l2 = trained(PRESETS["overfit"].query), trained(PRESETS["l2"].query)
    assert np.mean(over.runs["minigrad"].losses[-50:]) < 0.01  # "nearly 0"
    assert loss_of(over) > 1                                  # "above 1"
    assert loss_of(l2) < loss_of(over) / 5                  # "less than a fifth"


@pytest.mark.slow
def test_the_three_framework_presets_say_what_happens():
    same = trained(PRESETS["same"].query)
    curves = {f: np.array(r.losses) for f, r in same.runs.items()}
    for f in ("minigrad", "tensorflow"):
        assert np.abs(curves[f] - curves["torch"]).max() < 1e-6 * 5  # "to a millionth"
    adam = trained(PRESETS["adam"].query)
    curves = {f: np.array(r.losses) for f, r in adam.runs.items()}
    assert np.abs(curves["minigrad"] - curves["torch"]).max() < 1e-5
    apart = np.flatnonzero(np.abs(curves["tensorflow"] - curves["torch"]) > 1e-3)
    assert len(apart) and apart[0] < 20                          # "within a few steps"
    dropout = trained(PRESETS["dropout"].query)
    without = trained(PRESETS["overfit"].query + "&framework=all")
    for f in ("minigrad", "torch", "tensorflow"):
        assert loss_of(dropout, f) < loss_of(without, f), f  # "a lower test loss"
    curves = {f: np.array(r.losses) for f, r in dropout.runs.items()}
    assert np.abs(curves["minigrad"] - curves["torch"]).max() > 0.1  # "no longer agree"


def accuracy_of(app, framework="minigrad"):
    predicted = app.runs[framework].predict(app.data.X_test).argmax(axis=1)
    return float((predicted == app.data.y_test).mean())


def loss_of(app, framework="minigrad"):
    logits = app.runs[framework].predict(app.data.X_test).astype(np.float64)
    logits -= logits.max(axis=1, keepdims=True)
    log_p = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    return float(-log_p[np.arange(len(logits)), app.data.y_test].mean())


# --------------------------------------------------------------------- the Neurons tab


def tiles(app):
    """The Neurons tab's pictures, decoded to RGB arrays."""
    import base64

    from matplotlib.image import imread

    found = re.findall(r'<img src="data:image/png;base64,([^"]+)" alt="unit (\d+)"',
                       app.neurons.value)
    assert [int(n) for _, n in found] == list(range(1, len(found) + 1))
    return [np.round(imread(io.BytesIO(base64.b64decode(d)), format="png")[..., :3] * 255)
            for d, _ in found]


def test_the_neurons_tab_draws_each_first_layer_unit_over_the_plane():
    app = Playground("dataset=moons&depth=2&width=5&steps=20")
    assert app.tabs.titles[1] == "Neurons" and app.tabs.children[1] is app.neurons
    assert app.neurons.value == ""  # drawn only when it shows
    app.tabs.selected_index = 1
    pictures = tiles(app)
    assert len(pictures) == 5 and pictures[0].shape == (GRID, GRID, 3)
    assert "initial weights" in app.neurons.value
    # unit k's ReLU output on the plane, by hand: white where it is 0, blue where it is
    # not (an output under 1% of the largest may round to white)
    weight, bias = app.initial_weights["0.weight"], app.initial_weights["0.bias"]
    z = app.data.grid.astype(np.float64) @ weight.T + bias
    for k, picture in enumerate(pictures):
        white = np.all(picture == 255, axis=2).ravel()
        assert white[z[:, k] <= 0].all()
        assert not white[z[:, k] > 0.01 * z.max()].any()
        assert (picture[..., 2] >= picture[..., 0]).all()  # no orange in a ReLU unit
    app.train(wait=True)
    assert "minigrad's model after 20 steps" in html.unescape(app.neurons.value)
    assert any(not np.array_equal(a, b) for a, b in zip(tiles(app), pictures))


def test_tanh_units_are_orange_below_zero_and_blue_above():
    app = Playground("dataset=circles&depth=1&width=3&activation=tanh")
    app.tabs.selected_index = 1
    weight, bias = app.initial_weights["0.weight"], app.initial_weights["0.bias"]
    for k, picture in enumerate(tiles(app)):
        z = app.data.grid.astype(np.float64) @ weight[k] + bias[k]
        red, blue = picture[..., 0].ravel(), picture[..., 2].ravel()
        strong = np.abs(np.tanh(z)) > 0.3
        assert np.all((red > blue)[strong] == (z < 0)[strong])


def test_the_digits_units_show_their_weights_as_8x8_images():
    app = Playground("dataset=digits&depth=1&width=4")
    app.tabs.selected_index = 1
    pictures = tiles(app)
    assert len(pictures) == 4 and pictures[0].shape == (8, 8, 3)
    weight = app.initial_weights["0.weight"]
    for k, picture in enumerate(pictures):
        bluer = picture[..., 2] > picture[..., 0]
        np.testing.assert_array_equal(bluer[np.abs(weight[k].reshape(8, 8)) > 1e-3],
                                      (weight[k].reshape(8, 8) > 0)[
                                          np.abs(weight[k].reshape(8, 8)) > 1e-3])


def test_a_linear_model_has_no_units_to_show():
    app = Playground("depth=0")
    app.tabs.selected_index = 1
    assert "no hidden layer" in app.neurons.value and "<img" not in app.neurons.value


# ------------------------------------------------------------ loading in the background


def test_the_chosen_frameworks_load_in_the_background_and_train_waits_for_them(monkeypatch):
    import threading
    import time

    import widgets.playground.run as run

    release, started = threading.Event(), []

    def slow_import(framework):
        started.append(framework)
        release.wait(30)

    monkeypatch.setattr(run, "_importing", {})
    monkeypatch.setattr(run, "import_framework", slow_import)
    app = Playground("framework=torch&width=4&steps=3")
    assert started == ["torch"]
    status = html.unescape(app.status.value)
    assert "ready: press Train (PyTorch loading in the background)" in status
    assert "to load PyTorch the first time" in html.unescape(app.estimate.value)
    app.train()
    time.sleep(0.3)
    assert app.running and app.step == 0  # the run waits for the import to finish
    assert "loading PyTorch" in html.unescape(app.status.value)
    release.set()
    assert app.wait(60) and app.step == 3 and app.runs["torch"].error is None
    assert "background" not in app.status.value
    release.clear()
    again = Playground("framework=all&width=4")  # PyTorch is done: only TensorFlow starts
    assert started == ["torch", "tensorflow"]
    assert "(TensorFlow loading in the background)" in html.unescape(again.status.value)
    release.set()


def test_an_app_whose_settings_cannot_train_loads_nothing(monkeypatch):
    import widgets.playground.run as run

    monkeypatch.setattr(run, "_importing", {})
    monkeypatch.setattr(run, "import_framework", lambda framework: None)
    Playground("framework=all&width=0")
    assert run._importing == {}
