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
sections' namespaces are in the notebook variable `compared`, e.g.
`compared["minigrad"]["x"]`.

No time is shown unless asked for, because the one run a cell makes is a cold one: the
first call of a framework pays for imports, tracing and caches, and says nothing about
its speed (lesson 08). `--time=warm` runs each section again `--repeat` times (5 by
default) after the run whose output is shown, and gives the median of those reruns; the
reruns repeat the section's side effects on objects from outside the cell (a model's
weights, say), so use it on sections that only compute. `--time=cold` shows the one run's
wall time, captioned as what it is.

`--graph` also draws the graph behind each section's value with GraphView; a TensorFlow
section names what to trace with `graph = (tf_function, *example_inputs)`.
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

FRAMEWORKS = {"pytorch": "PyTorch", "tensorflow": "TensorFlow", "minigrad": "minigrad"}
_HEADER = re.compile(r"^[ \t]*#[ \t]*(pytorch|tensorflow|minigrad)[ \t]*$", re.IGNORECASE | re.MULTILINE)


_counter = itertools.count(1)

TIMINGS = ("none", "warm", "cold")
COLD_CAPTION = "one cold run: includes imports and first-call work, see lesson 08"


class CompareError(ValueError):
    """A %%compare cell that is not written as sections."""


@dataclass
class Section:
    name: str                      # "pytorch", "tensorflow" or "minigrad"
    code: str
    stdout: str = ""
    value: object = None
    has_value: bool = False
    error: str | None = None
    seconds: float = 0.0          # wall time of the run whose output is shown (cold)
    reruns: list = field(default_factory=list)      # wall times of --time=warm's reruns
    namespace: dict = field(default_factory=dict, repr=False)

    @property
    def title(self):
        return FRAMEWORKS[self.name]

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
                           "'# pytorch', '# tensorflow' or '# minigrad'")
    if cell[:headers[0].start()].strip():
        raise CompareError("%%compare: code before the first section header; start the cell "
                           "with '# pytorch', '# tensorflow' or '# minigrad'")
    sections, seen = [], set()
    for i, match in enumerate(headers):
        name = match.group(1).lower()
        if name in seen:
            raise CompareError(f"%%compare: the section '# {name}' appears twice")
        seen.add(name)
        end = headers[i + 1].start() if i + 1 < len(headers) else len(cell)
        sections.append(Section(name, cell[match.end():end].strip("\n")))
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
    filename = f"<compare-{section.name}-{next(_counter)}>"
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


def run_compare(cell: str, user_ns: dict, graph: bool = False, timing: str = "none",
                repeat: int = 5) -> "Comparison":
    """Run each section of `cell` in a copy of `user_ns`; `timing` is one of TIMINGS."""
    if timing not in TIMINGS:
        raise CompareError(f"%%compare: --time must be one of {', '.join(TIMINGS)}, not {timing!r}")
    if repeat < 1:
        raise CompareError(f"%%compare: --repeat must be at least 1, not {repeat}")
    sections = split_sections(cell)
    for section in sections:
        run_section(section, user_ns, repeat if timing == "warm" else 0)
    user_ns["compared"] = {s.name: s.namespace for s in sections}
    return Comparison(sections, graph_sources(sections) if graph else None, timing)


def graph_sources(sections: list[Section]) -> dict:
    """What --graph draws for each section: its `graph` variable, else its value."""
    sources = {}
    for s in sections:
        chosen = s.namespace.get("graph", s.value if s.has_value else None)
        sources[s.title] = chosen
    return sources


class Comparison:
    """The result of a %%compare cell: three columns, and optionally their graphs."""

    def __init__(self, sections, sources=None, timing="none"):
        self.sections = sections
        self.timing = timing
        self.graphs = None
        if sources is not None:
            from widgets import GraphView

            views = []
            for title, source in sources.items():
                args = source if isinstance(source, tuple) else (source,)
                view = GraphView(title=title)
                if source is None:
                    view.message = f"{title}: nothing to draw (end the section with a tensor)"
                else:
                    view.show(*args)
                views.append(view)
            from widgets.graphview import SideBySide

            self.graphs = SideBySide(views)

    def __repr__(self):
        blocks = [f"({COLD_CAPTION})"] if self.timing == "cold" else []
        for s in self.sections:
            label = s.time_label(self.timing)
            blocks.append(f"── {s.title}{f' ({label})' if label else ''} ──")
            text = s.output_text()
            if text:
                blocks.append(text)
        if self.graphs is not None:
            blocks.append(repr(self.graphs))
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
        html = self.columns_html()
        if self.graphs is None:
            return {"text/plain": repr(self), "text/html": html}
        import ipywidgets

        from widgets.graphview import _with_static_copy

        live = ipywidgets.VBox([ipywidgets.HTML(html), self.graphs])
        return _with_static_copy(live._repr_mimebundle_(**kwargs), repr(self),
                                 html + self.graphs.static_html())


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
