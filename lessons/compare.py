"""`%%compare`: one cell, three frameworks, side by side.

    %load_ext lessons

    %%compare --graph
    # pytorch
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum()
    # tensorflow
    x = tf.Variable([1.0, 2.0])
    tf.reduce_sum(x * x)
    # minigrad
    x = minigrad.tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum()

Each section runs like a small cell (statements, then an optional last expression whose
value is shown) in its own copy of the notebook's namespace, so all three can use the
same names. What each printed and its value appear in three columns under the cell (and
as plain text where HTML cannot be shown); the code is not repeated there. Afterwards the
sections' namespaces are in the notebook variable `compared`, under the names their
headers wrote (in lower case), e.g. `compared["minigrad"]["x"]` or `compared["pytorch"]`.

No time is shown unless asked for, because the one run a cell makes is a cold one: the
first call of a framework pays for imports, tracing and caches, and says nothing about
its speed (lesson 08). `--time=warm` runs each section again `--repeat` times (5 by
default) after the run whose output is shown, and gives the median of those reruns; the
reruns repeat the section's side effects on objects from outside the cell (a model's
weights, say), so use it on sections that only compute. `--time=cold` shows the one run's
wall time, captioned as what it is.

A section header names its framework by key or label, in any case: `# pytorch`,
`# PyTorch` and `# torch` are all the PyTorch section (see `lessons.frameworks`).

`--graph` also draws the graph behind each section's value; a TensorFlow section names
what to trace with `graph = (tf_function, *example_inputs)`. The drawing is GraphView's,
from the `widgets` package, which this package does not import: `import widgets` (or
`%load_ext widgets`, which also does what `%load_ext lessons` does) installs it through
`set_graph_renderer`, and a `--graph` cell without it says so.
"""
from __future__ import annotations

import ast
import contextlib
import io
import itertools
import linecache
import re
import statistics
import time
from dataclasses import dataclass, field
from html import escape
from typing import Callable

from lessons.frameworks import FRAMEWORKS, LABELS, lookup

# the names a section header may use: each framework's key, label and aliases
_NAMES = sorted({n.lower() for f in FRAMEWORKS for n in (f.key, f.label, *f.aliases)},
                key=len, reverse=True)
_HEADER = re.compile(rf"^[ \t]*#[ \t]*({'|'.join(map(re.escape, _NAMES))})[ \t]*$",
                     re.IGNORECASE | re.MULTILINE)
_HEADERS_TEXT = ", ".join(f"'# {f.label.lower()}'" for f in FRAMEWORKS[:-1]) + \
    f" or '# {FRAMEWORKS[-1].label.lower()}'"


_counter = itertools.count(1)

TIMINGS = ("none", "warm", "cold")
COLD_CAPTION = "one cold run: includes imports and first-call work, see lesson 08"


class CompareError(ValueError):
    """A %%compare cell that is not written as sections."""


@dataclass
class Section:
    name: str                      # the framework's key: "torch", "tensorflow" or "minigrad"
    code: str
    header: str = ""               # the name its header line wrote, lower case: "pytorch"
    stdout: str = ""
    value: object = None
    has_value: bool = False
    error: str | None = None
    seconds: float = 0.0          # wall time of the run whose output is shown (cold)
    reruns: list = field(default_factory=list)      # wall times of --time=warm's reruns
    namespace: dict = field(default_factory=dict, repr=False)

    def __post_init__(self):
        self.header = self.header or self.name

    @property
    def title(self):
        return LABELS[self.name]

    def time_label(self, timing: str) -> str:
        """'' (no time), 'warm: 1.2 ms, median of 5 reruns' or 'one cold run: 3749.3 ms'."""
        if timing == "warm" and self.reruns:
            return (f"warm: {format_seconds(statistics.median(self.reruns))}, "
                    f"median of {len(self.reruns)} reruns")
        if timing == "cold":
            return f"one cold run: {format_seconds(self.seconds)}"
        return ""

    def output_text(self):
        parts = [self.stdout.rstrip("\n")] if self.stdout else []
        if self.has_value:
            parts.append(repr(self.value))
        if self.error:
            parts.append(self.error)
        return "\n".join(parts)


def split_sections(cell: str) -> list[Section]:
    """Cut a cell into its `# pytorch` / `# tensorflow` / `# minigrad` sections."""
    headers = list(_HEADER.finditer(cell))
    if not headers:
        raise CompareError("a %%compare cell needs sections, each starting with a line "
                           f"{_HEADERS_TEXT}")
    if cell[:headers[0].start()].strip():
        raise CompareError("%%compare: code before the first section header; start the cell "
                           f"with {_HEADERS_TEXT}")
    sections, seen = [], set()
    for i, match in enumerate(headers):
        header = match.group(1).lower()
        key = lookup(header).key
        if key in seen:
            raise CompareError(f"%%compare: the {LABELS[key]} section ('# {header}') appears twice")
        seen.add(key)
        end = headers[i + 1].start() if i + 1 < len(headers) else len(cell)
        sections.append(Section(key, cell[match.end():end].strip("\n"), header))
    return sections


def format_seconds(seconds: float) -> str:
    """'812 µs' or '3.4 ms' (always these units, which nbval's sanitizing recognises)."""
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    return f"{seconds * 1e3:.1f} ms"


def _compiled(section: Section):
    """The section's statements and its last expression (or None), compiled."""
    # Like IPython does for cells: keep the source where `inspect` finds it, so that
    # tracebacks show the lines and tf.function's AutoGraph can read the functions.
    filename = f"<compare-{section.header}-{next(_counter)}>"
    linecache.cache[filename] = (len(section.code), None, section.code.splitlines(True), filename)
    tree = ast.parse(section.code, filename=filename)
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    expression = None if last is None else compile(ast.Expression(last.value), filename, "eval")
    return compile(tree, filename, "exec"), expression


def run_section(section: Section, namespace: dict, repeat: int = 0) -> Section:
    """Run one section like a cell: its statements, then its last expression's value;
    then, if it ran without error, `repeat` timed reruns in fresh copies of `namespace`
    (their output is discarded)."""
    section.namespace = dict(namespace)
    out = io.StringIO()
    started = time.perf_counter()
    try:
        statements, expression = _compiled(section)
        with contextlib.redirect_stdout(out):
            exec(statements, section.namespace)
            if expression is not None:
                section.value = eval(expression, section.namespace)
                section.has_value = section.value is not None
    except Exception as error:      # one framework failing must not hide the others
        section.error = f"{type(error).__name__}: {error}"
    section.seconds = time.perf_counter() - started
    section.stdout = out.getvalue()
    if section.error is None:
        for _ in range(repeat):
            scratch = dict(namespace)
            started = time.perf_counter()
            with contextlib.redirect_stdout(io.StringIO()):
                exec(statements, scratch)
                if expression is not None:
                    eval(expression, scratch)
            section.reruns.append(time.perf_counter() - started)
    return section


GraphRenderer = Callable[["Comparison"], object]
_graph_renderer: GraphRenderer | None = None


def set_graph_renderer(renderer: GraphRenderer | None) -> None:
    """Install what `%%compare --graph` shows: `renderer(comparison)` is called once per
    such cell, after its sections ran, with the `Comparison` (whose `graph_sources` say
    what to draw), and its result is the cell's value, so it must display itself (a
    `_repr_mimebundle_` with text/plain and text/html). `import widgets` installs
    `widgets.compare.ComparisonView`; None removes the renderer."""
    global _graph_renderer
    _graph_renderer = renderer


def graph_renderer() -> GraphRenderer | None:
    """The renderer `set_graph_renderer` installed, or None."""
    return _graph_renderer


def run_compare(cell: str, user_ns: dict, graph: bool = False, timing: str = "none",
                repeat: int = 5):
    """Run each section of `cell` in a copy of `user_ns`; `timing` is one of TIMINGS.
    Returns the `Comparison`, or with `graph` what the graph renderer makes of it."""
    if timing not in TIMINGS:
        raise CompareError(f"%%compare: --time must be one of {', '.join(TIMINGS)}, not {timing!r}")
    if repeat < 1:
        raise CompareError(f"%%compare: --repeat must be at least 1, not {repeat}")
    renderer = _graph_renderer
    if graph and renderer is None:
        raise CompareError("%%compare --graph draws with the widgets package: run "
                           "`import widgets` first (or `%load_ext widgets` instead of "
                           "`%load_ext lessons`)")
    sections = split_sections(cell)
    for section in sections:
        run_section(section, user_ns, repeat if timing == "warm" else 0)
    user_ns["compared"] = {s.header: s.namespace for s in sections}
    comparison = Comparison(sections, graph_sources(sections) if graph else None, timing)
    return renderer(comparison) if graph else comparison


def graph_sources(sections: list[Section]) -> dict:
    """What --graph draws for each section: its `graph` variable, else its value."""
    sources = {}
    for s in sections:
        chosen = s.namespace.get("graph", s.value if s.has_value else None)
        sources[s.title] = chosen
    return sources


class Comparison:
    """The result of a %%compare cell: its sections, shown in three columns, and with
    --graph, what to draw for each (`graph_sources`, {title: source or None})."""

    def __init__(self, sections, graph_sources=None, timing="none"):
        self.sections = sections
        self.timing = timing
        self.graph_sources = graph_sources

    def __repr__(self):
        blocks = [f"({COLD_CAPTION})"] if self.timing == "cold" else []
        for s in self.sections:
            label = s.time_label(self.timing)
            blocks.append(f"── {s.title}{f' ({label})' if label else ''} ──")
            text = s.output_text()
            if text:
                blocks.append(text)
        return "\n".join(blocks)

    def columns_html(self):
        """Each section's output (and time, if asked for) in a column. The code is not
        repeated: it is in the cell above. Colours come from JupyterLab's theme, with
        fallbacks elsewhere."""
        muted = "color:var(--jp-content-font-color2, #595959)"
        cells = []
        for s in self.sections:
            output = escape(s.stdout.rstrip("\n"))
            if s.has_value:
                output += ("\n" if output else "") + escape(repr(s.value))
            error = (f'<pre style="color:var(--jp-error-color1, #9d0208);white-space:pre-wrap">'
                     f'{escape(s.error)}</pre>') if s.error else ""
            cells.append(
                '<div style="flex:1;min-width:0;border:1px solid var(--jp-border-color2, #ddd);'
                'border-radius:4px;padding:6px">'
                f'<div style="font-weight:bold">{escape(s.title)} '
                f'<span style="font-weight:normal;{muted}">{escape(s.time_label(self.timing))}'
                '</span></div>'
                f'<pre style="white-space:pre-wrap;margin:4px 0 0">{output}</pre>{error}</div>')
        caption = (f'<div style="{muted};font-size:0.9em;margin-bottom:4px">{COLD_CAPTION}</div>'
                   if self.timing == "cold" else "")
        return (f'<div class="fl-compare">{caption}<div style="display:flex;gap:8px">'
                f'{"".join(cells)}</div></div>')

    def _repr_mimebundle_(self, **kwargs):
        return {"text/plain": repr(self), "text/html": self.columns_html()}


def parse_options(line: str) -> dict:
    """`--graph --time=warm --repeat=7` -> keyword arguments of run_compare."""
    options = {}
    for option in line.split():
        name, _, value = option.partition("=")
        if name == "--graph" and not value:
            options["graph"] = True
        elif name == "--time" and value:
            options["timing"] = value
        elif name == "--repeat" and value.isdigit():
            options["repeat"] = int(value)
        else:
            raise CompareError(f"%%compare: unknown option {option} "
                               "(known: --graph, --time=none|warm|cold, --repeat=N)")
    return options


def register(ipython):
    """Register the %%compare cell magic with an IPython shell."""
    from IPython.core.error import UsageError

    def compare(line, cell):
        try:
            return run_compare(cell, ipython.user_ns, **parse_options(line))
        except CompareError as error:
            raise UsageError(str(error)) from None

    ipython.register_magic_function(compare, magic_kind="cell", magic_name="compare")
