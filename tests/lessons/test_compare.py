"""The %%compare cell magic, run in a real IPython shell."""
import re

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell

from lessons import compare
from lessons.compare import COLD_CAPTION, CompareError, Comparison, format_seconds, split_sections
from lessons.frameworks import LABELS
from static_copies import pictures_in


@pytest.fixture(scope="module")
def shell():
    sh = InteractiveShell.instance()
    sh.run_line_magic("load_ext", "lessons")
    sh.run_cell("import numpy as np, torch, minigrad, tensorflow as tf")
    return sh


CELL = """# pytorch
x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
y = (x * x).sum()
y.backward()
print("grad", x.grad.tolist())
y
# tensorflow
x = tf.Variable([1.0, 2.0, 3.0])
with tf.GradientTape() as tape:
    y = tf.reduce_sum(x * x)
print("grad", tape.gradient(y, x).numpy().tolist())
# minigrad
x = minigrad.tensor([1.0, 2.0, 3.0], requires_grad=True)
y = (x * x).sum()
y.backward()
print("grad", x.grad.tolist())
y
"""


def test_each_section_runs_in_its_own_namespace_and_shows_its_output(shell):
    shell.user_ns["y"] = "untouched"
    result = shell.run_cell_magic("compare", "", CELL)
    assert [s.name for s in result.sections] == ["torch", "tensorflow", "minigrad"]
    assert [s.header for s in result.sections] == ["pytorch", "tensorflow", "minigrad"]
    assert [s.title for s in result.sections] == [LABELS[s.name] for s in result.sections]
    assert [s.stdout for s in result.sections] == ["grad [2.0, 4.0, 6.0]\n"] * 3
    assert [s.has_value for s in result.sections] == [True, False, True]
    assert result.sections[2].value.item() == 14.0
    assert all(s.error is None and s.seconds > 0 for s in result.sections)
    assert shell.user_ns["y"] == "untouched"                 # sections do not leak names
    compared = shell.user_ns["compared"]
    assert compared["pytorch"]["y"].item() == compared["minigrad"]["y"].item() == 14.0
    assert float(compared["tensorflow"]["y"]) == 14.0


def test_plain_text_and_html_show_all_three_columns(shell):
    result = shell.run_cell_magic("compare", "", CELL)
    text = repr(result)
    assert text.index("── PyTorch") < text.index("── TensorFlow") < text.index("── minigrad")
    assert text.count("grad [2.0, 4.0, 6.0]") == 3
    html = result._repr_mimebundle_()["text/html"]
    assert html.count("grad [2.0, 4.0, 6.0]") == 3
    assert "tf.GradientTape() as tape" not in html           # the code is in the cell already
    assert "#f6f8fa" not in html and "var(--jp-border-color2" in html      # theme colours
    escaped = shell.run_cell_magic("compare", "", "# minigrad\nprint('<b>', 1 < 2)\n")
    html = escaped._repr_mimebundle_()["text/html"]
    assert "&lt;b&gt; True" in html and "<b>" not in html


def test_a_failing_section_is_shown_and_the_others_still_run(shell):
    result = shell.run_cell_magic("compare", "", "# pytorch\n1 / 0\n# minigrad\n41 + 1\n")
    assert result.sections[0].error == "ZeroDivisionError: division by zero"
    assert result.sections[1].value == 42
    assert "ZeroDivisionError" in repr(result)


def test_graph_option_without_the_widgets_renderer_says_how_to_get_it(shell):
    installed = compare.graph_renderer()
    compare.set_graph_renderer(None)
    try:
        shell.user_ns["calls"] = []
        with pytest.raises(UsageError, match="import widgets"):
            shell.run_cell_magic("compare", "--graph", "# minigrad\ncalls.append(1)\n")
        assert shell.user_ns["calls"] == []                  # refused before running
    finally:
        compare.set_graph_renderer(installed)


def test_graph_option_hands_the_comparison_to_the_installed_renderer(shell):
    installed = compare.graph_renderer()
    seen = []
    compare.set_graph_renderer(lambda comparison: seen.append(comparison) or "drawn")
    try:
        result = shell.run_cell_magic("compare", "--graph",
                                      "# torch\nx = 1\n# minigrad\nx = 2\ngraph = 'g'\n3\n")
    finally:
        compare.set_graph_renderer(installed)
    assert result == "drawn" and len(seen) == 1 and isinstance(seen[0], Comparison)
    assert seen[0].graph_sources == {"PyTorch": None, "minigrad": "g"}
    assert shell.user_ns["compared"]["torch"]["x"] == 1      # keyed as the header says


def test_graph_option_draws_each_framework(shell):
    import widgets  # noqa: F401  (installs widgets.compare.ComparisonView)

    cell = """# pytorch
x = torch.tensor([1.0, 2.0], requires_grad=True)
(x * x).sum()
# tensorflow
x = tf.Variable([1.0, 2.0])
@tf.function
def f(v):
    return tf.reduce_sum(v * v)
graph = (f, x)
f(x)
# minigrad
x = minigrad.tensor([1.0, 2.0], requires_grad=True)
(x * x).sum()
"""
    result = shell.run_cell_magic("compare", "--graph", cell)
    assert [s.name for s in result.sections] == ["torch", "tensorflow", "minigrad"]
    assert repr(result) == f"{result.comparison!r}\n{result.graphs!r}"
    views = result.graphs.views
    assert [v.title for v in views] == ["PyTorch", "TensorFlow", "minigrad"]
    assert [v.graph["framework"] for v in views] == ["torch", "tensorflow", "minigrad"]
    ops = [{n["op"] for n in v.graph["nodes"] if n["kind"] == "op"} for v in views]
    assert ops[0] == {"mul", "sum"} and ops[2] == {"mul", "sum"} and "Mul" in ops[1]
    bundle = result._repr_mimebundle_()
    data = bundle[0] if isinstance(bundle, tuple) else bundle
    assert [svg for _, svg in pictures_in(data["text/html"])] == [v.static_svg() for v in views]
    assert data["text/html"].startswith(result.comparison.columns_html())
    assert data["text/plain"] == repr(result)


def test_cells_without_sections_or_with_bad_options_are_usage_errors(shell):
    with pytest.raises(UsageError, match="needs sections"):
        shell.run_cell_magic("compare", "", "x = 1\n")
    with pytest.raises(UsageError, match="unknown option"):
        shell.run_cell_magic("compare", "--fast", "# pytorch\n1\n")
    with pytest.raises(UsageError, match="--time must be one of none, warm, cold"):
        shell.run_cell_magic("compare", "--time=hot", "# pytorch\n1\n")
    with pytest.raises(UsageError, match="unknown option --repeat=x"):
        shell.run_cell_magic("compare", "--time=warm --repeat=x", "# pytorch\n1\n")
    with pytest.raises(UsageError, match="--repeat must be at least 1"):
        shell.run_cell_magic("compare", "--time=warm --repeat=0", "# pytorch\n1\n")


TIME = re.compile(r"\d+(\.\d+)? (µs|ms)")


def test_no_time_is_shown_unless_asked_for(shell):
    result = shell.run_cell_magic("compare", "", CELL)
    html = result._repr_mimebundle_()["text/html"]
    for shown in (repr(result), html):
        assert not TIME.search(shown), shown
        assert "cold" not in shown and "warm" not in shown
    assert all(s.reruns == [] for s in result.sections)


def test_a_cold_time_is_captioned_as_one_cold_run(shell):
    result = shell.run_cell_magic("compare", "--time=cold", CELL)
    text, html = repr(result), result._repr_mimebundle_()["text/html"]
    assert text.startswith(f"({COLD_CAPTION})\n")
    assert COLD_CAPTION == "one cold run: includes imports and first-call work, see lesson 08"
    assert html.count(COLD_CAPTION) == 1
    for s in result.sections:
        label = f"one cold run: {format_seconds(s.seconds)}"
        assert f"── {s.title} ({label}) ──" in text and label in html


def test_warm_time_is_the_median_of_reruns_after_the_shown_run(shell):
    shell.user_ns["calls"] = []
    cell = ("# pytorch\ncalls.append('pytorch'); print('ran')\n"
            "# minigrad\ncalls.append('minigrad'); 1 / 0\n")
    result = shell.run_cell_magic("compare", "--time=warm --repeat=3", cell)
    torch_section, minigrad_section = result.sections
    # the shown run plus three reruns; a section that fails is not rerun
    assert shell.user_ns["calls"] == ["pytorch"] * 4 + ["minigrad"]
    assert torch_section.stdout == "ran\n"                      # reruns print nothing
    assert len(torch_section.reruns) == 3 and minigrad_section.reruns == []
    median = sorted(torch_section.reruns)[1]
    text = repr(result)
    assert f"── PyTorch (warm: {format_seconds(median)}, median of 3 reruns) ──" in text
    assert "── minigrad ──" in text and "ZeroDivisionError" in text
    assert "cold" not in text


def test_split_sections_rules():
    sections = split_sections("# PyTorch\na\n  # minigrad  \nb\n# TensorFlow\nc\n")
    assert [s.name for s in sections] == ["torch", "minigrad", "tensorflow"]
    assert [s.header for s in sections] == ["pytorch", "minigrad", "tensorflow"]
    assert [s.name for s in split_sections("# torch\na\n")] == ["torch"]
    with pytest.raises(CompareError, match="twice"):
        split_sections("# pytorch\na\n# pytorch\nb\n")
    with pytest.raises(CompareError, match="PyTorch section .'# torch'. appears twice"):
        split_sections("# pytorch\na\n# torch\nb\n")
    with pytest.raises(CompareError, match="'# pytorch', '# tensorflow' or '# minigrad'"):
        split_sections("# keras\na\n")
    with pytest.raises(CompareError, match="before the first"):
        split_sections("a = 1\n# pytorch\nb\n")


def test_times_are_written_in_units_the_notebook_sanitizer_recognises():
    assert format_seconds(0.000512) == "512 µs"
    assert format_seconds(0.0123) == "12.3 ms"
    assert format_seconds(2.5) == "2500.0 ms"
