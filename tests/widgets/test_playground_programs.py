"""The programs of the Playground's Code tab: the pieces they copy reproduce the app's
data, initial weights and batches exactly, and each program, run in a fresh Python,
prints the losses and test accuracy the app's own training records for the same
settings."""

import ast
import base64
import html
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from lessons.data import load_digits
from widgets.playground import Batches, Config, Playground, load_data
from widgets.playground.programs import FILENAMES, batches, digits, initial_weights, program

STEPS = 7  # crosses an epoch boundary in the sets with batches of 64 and 128

# Each data set, each optimizer, each activation, no hidden layer and some.
CASES = {
    "spirals-adam-relu": "dataset=spirals&depth=2&width=16&optimizer=adam&lr=0.03&batch=32",
    "moons-sgd-linear": "dataset=moons&depth=0&optimizer=sgd&lr=0.5&batch=64&seed=2",
    "circles-adam-tanh": ("dataset=circles&depth=1&width=8&activation=tanh&optimizer=adam"
                          "&lr=0.05&batch=128&seed=3"),
    "digits-sgd-sigmoid": ("dataset=digits&depth=1&width=24&activation=sigmoid"
                           "&optimizer=sgd&lr=0.5&batch=100&seed=1"),
    # the regularizers and the data settings: L2, dropout (each framework's own masks,
    # from the seed), a noise level and a test share of the set's own
    "moons-adam-l2-dropout": ("dataset=moons&depth=2&width=12&optimizer=adam&lr=0.02"
                              "&batch=48&seed=4&l2=0.01&dropout=0.3&noise=0.25&test=35"),
    "digits-sgd-l2": ("dataset=digits&depth=1&width=16&optimizer=sgd&lr=0.3&batch=64"
                      "&seed=6&l2=0.003&test=55"),
}

# Runs each program given on the command line in this fresh interpreter, as
# `python program.py` would, printing a marker before each; then the project's
# packages the programs imported.
DRIVER = textwrap.dedent("""
    import runpy, sys
    for path in sys.argv[1:]:
        print("=== " + path, flush=True)
        runpy.run_path(path, run_name="__main__")
    print("=== imported " + " ".join(sorted(
        p for p in ("minigrad", "lessons", "widgets") if p in sys.modules)))
""")


def config(case, framework):
    return Config.from_query(f"{CASES[case]}&steps={STEPS}&framework={framework}")[0]


def run_programs(framework, tmp_path):
    """{case: (losses, test accuracy)} printed by the framework's programs, and the
    project packages they imported, from one fresh interpreter."""
    paths = []
    for case in CASES:
        path = tmp_path / f"{case}_{FILENAMES[framework]}"
        path.write_text(program(framework, config(case, framework)))
        paths.append(str(path))
    done = subprocess.run([sys.executable, "-c", DRIVER, *paths], capture_output=True,
                          text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    *sections, imported = done.stdout.split("=== ")[1:]
    printed = {}
    for case, section in zip(CASES, sections):
        losses = [float(v) for v in re.findall(r"^step +\d+  loss (\S+)$", section, re.M)]
        accuracy = float(re.search(r"^test accuracy (\S+)$", section, re.M).group(1))
        printed[case] = (losses, accuracy)
    return printed, imported.split()[1:]


def app_run(case, framework):
    """(losses, test accuracy) of the app's own training of the case."""
    app = Playground(config(case, framework).to_query())
    app.train(wait=True)
    run = app.runs[framework]
    assert run.error is None, run.error
    predicted = run.predict(app.data.X_test).argmax(axis=1)
    return run.losses, float((predicted == app.data.y_test).mean())


@pytest.mark.parametrize("framework", [
    "minigrad", "torch", pytest.param("tensorflow", marks=pytest.mark.slow)])
def test_each_program_prints_the_losses_the_app_records(framework, tmp_path):
    printed, imported = run_programs(framework, tmp_path)
    assert imported == (["minigrad"] if framework == "minigrad" else [])
    for case in CASES:
        losses, accuracy = app_run(case, framework)
        assert len(printed[case][0]) == STEPS, case
        np.testing.assert_allclose(printed[case][0], losses, rtol=0, atol=1e-5, err_msg=case)
        assert printed[case][1] == pytest.approx(accuracy, abs=1e-4), case


def test_a_program_runs_as_a_script(tmp_path):
    path = tmp_path / FILENAMES["minigrad"]
    path.write_text(program("minigrad", Config(steps=3)))
    done = subprocess.run([sys.executable, path.name], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert [line.split()[:2] for line in lines[:3]] == [["step", "1"], ["step", "2"],
                                                        ["step", "3"]]
    assert lines[3].startswith("test accuracy ") and len(lines) == 4


# --- the pieces the programs copy, against the app's own ----------------------------


@pytest.mark.parametrize("dataset, depth, width", [("spirals", 0, 1), ("moons", 1, 16),
                                                   ("digits", 2, 5), ("circles", 2, 128)])
@pytest.mark.parametrize("seed", [0, 11])
def test_initial_weights_are_the_apps_exactly(dataset, depth, width, seed):
    app = Playground(f"dataset={dataset}&depth={depth}&width={width}&seed={seed}")
    drawn = initial_weights(app.sizes, seed)
    assert len(drawn) == depth + 1
    for i, (weight, bias) in enumerate(drawn):
        for name, value in (("weight", weight), ("bias", bias)):
            expected = app.initial_weights[f"{2 * i}.{name}"]
            assert value.dtype == expected.dtype == np.float32
            np.testing.assert_array_equal(value, expected)


@pytest.mark.parametrize("name", ["spirals", "moons", "circles"])
@pytest.mark.parametrize("seed", [0, 5])
def test_the_2d_sets_are_the_apps(name, seed):
    text = program("minigrad", Config(dataset=name, seed=seed))
    made = {}
    exec(text[:text.index("\n\n\ndef initial_weights")], made)  # up to the data
    data = load_data(name, seed)
    for key in ("X", "y", "X_test", "y_test"):
        assert made[key].dtype == getattr(data, key).dtype
        np.testing.assert_array_equal(made[key], getattr(data, key))


def test_the_digits_are_the_apps():
    for seed in (0, 3):
        for mine, theirs in zip(digits(seed), load_digits(seed=seed)):
            assert mine.dtype == theirs.dtype
            np.testing.assert_array_equal(mine, theirs)


@pytest.mark.parametrize("n, batch, steps", [(320, 32, 45), (320, 512, 3), (1437, 100, 30),
                                             (10, 3, 9)])
def test_batches_are_the_apps(n, batch, steps):
    app_batches = Batches(n, batch, seed=4)
    mine = list(batches(n, batch, steps, seed=4))
    assert len(mine) == steps
    for step, idx in enumerate(mine):
        np.testing.assert_array_equal(idx, app_batches[step])


# --- the text ----------------------------------------------------------------------


@pytest.mark.parametrize("framework", list(FILENAMES))
def test_a_program_is_plain_python_that_names_its_set_up(framework):
    settings = Config(dataset="digits", depth=3, width=9, activation="tanh",
                      optimizer="sgd", lr=0.25, batch=50, steps=400, seed=8)
    text = program(framework, settings)
    tree = ast.parse(text)
    imported = {alias.name.split(".")[0] for node in ast.walk(tree)
                if isinstance(node, (ast.Import, ast.ImportFrom))
                for alias in (node.names if isinstance(node, ast.Import) else
                              [ast.alias(node.module)])}
    expected = {"math", "numpy", "sklearn",
                *{"torch": ["torch"], "minigrad": ["minigrad"],
                  "tensorflow": ["keras", "tensorflow"]}[framework]}
    assert imported == expected
    assert "SIZES = (64, 9, 9, 9, 10)" in text and "LEARNING_RATE = 0.25" in text
    assert "BATCH = 50" in text and "STEPS = 400" in text and "SEED = 8" in text
    assert "PRINT_EVERY = 20" in text
    address = "".join(line.strip() for line in text.splitlines()
                      if line.startswith(("    ?", "    &")))
    assert Config.from_query(address) == (settings, [])
    assert max(len(line) for line in text.splitlines()) <= 80


@pytest.mark.parametrize("query", ["dataset=moons&depth=2&optimizer=sgd",
                                   "dataset=digits&depth=6&width=128&steps=5000"])
def test_the_minigrad_program_is_the_pytorch_program_but_for_its_imports(query):
    settings = Config.from_query(query)[0]
    torch_lines = program("torch", settings).splitlines()
    minigrad_lines = program("minigrad", settings).splitlines()
    assert len(torch_lines) == len(minigrad_lines)  # side by side, they line up
    code = torch_lines.index('"""', 1) + 1  # the lines after the header
    changed = [(a, b) for a, b in zip(torch_lines[code:], minigrad_lines[code:]) if a != b]
    assert changed == [("import torch", "import minigrad as torch"),
                       ("import torch.nn.functional as F", "import minigrad.nn.functional as F"),
                       ("from torch import nn", "from minigrad import nn")]


def test_an_unknown_framework_is_refused():
    with pytest.raises(ValueError, match="framework must be one of"):
        program("jax", Config())


# --- the Code tab ------------------------------------------------------------------------


def downloads(app):
    """{file name: program text} of the Code tab's download links."""
    found = re.findall(r'download="([^"]+)" href="data:text/x-python;base64,([^"]+)"',
                       app.code.value)
    return {name: base64.b64decode(data).decode() for name, data in found}


def test_the_code_tab_shows_and_offers_each_frameworks_program():
    app = Playground("dataset=moons&width=8&steps=40")
    assert app.tabs.titles == ("Train", "Neurons", "Graph", "Code")
    assert app.tabs.children[3] is app.code
    offered = downloads(app)
    assert offered == {FILENAMES[f]: program(f, app.config) for f in FILENAMES}
    shown = [
        html.unescape(re.sub(r"<[^>]+>", "", pre))
        for pre in re.findall(
            r'<pre class="fl-pg-source" tabindex="0">(.*?)</pre>', app.code.value, re.S
        )
    ]
    assert shown == [program(f, app.config) for f in ("minigrad", "torch", "tensorflow")]


def test_the_code_follows_the_settings():
    app = Playground("steps=40")
    app.set(width=5, optimizer="sgd", lr=0.5)
    assert downloads(app)[FILENAMES["torch"]] == program("torch", app.config)
    assert "nn.Linear(2, 5)" in downloads(app)[FILENAMES["torch"]]
    app.set(steps=80)  # only the steps: training goes on, the programs change
    assert "STEPS = 80" in downloads(app)[FILENAMES["tensorflow"]]
    app.set(width=0)
    assert downloads(app) == {} and "once the settings above can train" in app.code.value
    app.set(width=3)
    assert "nn.Linear(2, 3)" in downloads(app)[FILENAMES["minigrad"]]


def test_the_code_tab_may_use_the_whole_width():
    app = Playground()
    assert "fl-pg-wide" not in app.container._dom_classes
    app.tabs.selected_index = 3
    assert "fl-pg-wide" in app.container._dom_classes
    app.tabs.selected_index = 1  # the Neurons tab keeps the panels' width
    assert "fl-pg-wide" not in app.container._dom_classes
    app.tabs.selected_index = 0
    assert "fl-pg-wide" not in app.container._dom_classes
