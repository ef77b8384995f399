"""GraphView: draw the computation graph behind a result, from any of the three frameworks.

    GraphView(loss)                    # a minigrad or PyTorch tensor
    GraphView(tf_fn, x)                # a tf.function, traced with example inputs
    GraphView(loss, model=model, collapse=True)    # one node per layer
    with GraphView.live() as g:        # watch minigrad build the graph, op by op
        loss = model(X).relu().sum(); loss.backward()
    GraphView.side_by_side(pytorch=loss_t, tensorflow=(tf_fn, x), minigrad=loss_m)

The SVG is drawn in Python (`.svg`), so it can be tested, saved and exported; a static
copy, an image on a white card, travels with the widget for notebooks viewed without a
live kernel (untrusted, exported, on GitHub). The live view zooms with Ctrl (or ⌘) and
the wheel, or with the wheel after a click into the graph; it pans by dragging, and a
double-click resets it.
"""
import contextlib
import pathlib
import re
import time
from html import escape

import anywidget
import ipywidgets
import traitlets

import minigrad
from lessons.frameworks import LABELS
from minigrad.autograd import observe
from minigrad.export import edge, op_node, saved_shapes, summarize, tensor_node

from .drawing import on_card, render_svg, svg_image, with_static_copy
from .graph_sources import GraphSourceError, graph_of

_HERE = pathlib.Path(__file__).parent


class GraphView(anywidget.AnyWidget):
    _esm = _HERE / "graphview.js"
    _css = _HERE / "graphview.css"

    svg = traitlets.Unicode("").tag(sync=True)
    message = traitlets.Unicode("").tag(sync=True)

    def __init__(self, source=None, *example_inputs, names=None, model=None,
                 collapse=False, values=False, title=None):
        super().__init__()
        self.graph = None
        self.highlight = None
        self.values = values
        self.title = title
        if source is not None:
            self.show(source, *example_inputs, names=names, model=model, collapse=collapse)

    def show(self, source, *example_inputs, names=None, model=None, collapse=False):
        """Draw the graph behind `source` (see the module docstring for what it accepts).
        Anything that cannot be drawn becomes a message in the widget, not an exception."""
        try:
            graph = graph_of(source, *example_inputs, names=names, model=model,
                             collapse=collapse)
        except GraphSourceError as error:
            self.graph, self.message, self.svg = None, str(error), ""
            return self
        except Exception as error:          # a model that raises, a broken object
            self.graph, self.svg = None, ""
            self.message = f"could not build the graph: {type(error).__name__}: {error}"
            return self
        self.message = ""
        self.set_graph(graph)
        return self

    def set_graph(self, graph, highlight=None):
        self.graph, self.highlight = graph, highlight
        self.redraw()

    def set_highlight(self, node_id):
        self.highlight = node_id
        self.redraw()

    def redraw(self):
        if self.graph is not None:
            self.svg = render_svg(self.graph, highlight=self.highlight, title=self.title,
                                  values=self.values)

    # -- what people and tests can read

    @property
    def counts(self):
        """(number of op nodes, number of tensor nodes) drawn."""
        if self.graph is None:
            return 0, 0
        ops = sum(n["kind"] == "op" for n in self.graph["nodes"])
        return ops, len(self.graph["nodes"]) - ops

    def __repr__(self):
        if self.graph is None:
            return f"GraphView({self.message or 'empty'})"
        ops, tensors = self.counts
        framework = self.graph.get("framework")
        return (f"GraphView({LABELS.get(framework, framework or '?')} graph: {ops} ops, "
                f"{tensors} tensors)")

    def _repr_svg_(self):
        return self.svg or None

    def static_svg(self):
        """The picture on a white card, for places without the widget's stylesheet."""
        return on_card(self.svg) if self.svg else ""

    def static_html(self):
        """The picture as HTML, for viewers without a live kernel (exports, nbval, GitHub):
        an image, which untrusted notebooks show, where inline SVG would be removed."""
        if not self.svg:
            return f'<pre>{escape(self.message or "empty graph")}</pre>'
        return svg_image(self.static_svg(), alt=repr(self))

    def _repr_mimebundle_(self, **kwargs):
        return with_static_copy(super()._repr_mimebundle_(**kwargs), repr(self),
                                 self.static_html())

    # -- live mode

    @classmethod
    @contextlib.contextmanager
    def live(cls, delay=0.0, values=False, title="live: minigrad"):
        """Show a GraphView now and add each minigrad op to it as it runs; during
        backward(), gradients arrive in the picture node by node.

        delay: seconds to pause after each op, so a person can watch it happen."""
        from IPython.display import display

        view = cls(values=values, title=title)
        recorder = _LiveRecorder(view, delay)
        display(view)
        with observe(recorder):
            yield view
        recorder.finish()

    # -- side by side

    @classmethod
    def side_by_side(cls, **sources):
        """One GraphView per framework, next to each other. Each value is a tensor, or a
        tuple (function, example inputs...) for TensorFlow."""
        views = []
        for name, source in sources.items():
            args = source if isinstance(source, tuple) else (source,)
            views.append(cls(*args, title=name))
        return SideBySide(views)


# The width a notebook cell gives its output at a 1400 px window, less some room: graphs
# whose natural widths add up to more are put one above the other, each at full size,
# rather than shrunk side by side until their labels cannot be read.
ROW_WIDTH = 900


class SideBySide(ipywidgets.Box):
    """GraphViews next to each other when they fit at their natural size, else one above
    the other; with a static copy of all of them for exports."""

    def __init__(self, views):
        self.views = views
        self.in_a_row = sum(_natural_width(v) for v in views) + 12 * len(views) <= ROW_WIDTH
        layout = ipywidgets.Layout(display="flex", overflow="auto", grid_gap="12px",
                                   flex_flow="row" if self.in_a_row else "column")
        super().__init__(views, layout=layout)

    def __repr__(self):
        return "SideBySide(" + ", ".join(repr(v) for v in self.views) + ")"

    def static_html(self):
        cells = "".join(f'<div style="min-width:0">{v.static_html()}</div>' for v in self.views)
        direction = "row" if self.in_a_row else "column"
        return f'<div style="display:flex;flex-direction:{direction};gap:12px">{cells}</div>'

    def _repr_mimebundle_(self, **kwargs):
        return with_static_copy(super()._repr_mimebundle_(**kwargs), repr(self),
                                 self.static_html())


def _natural_width(view):
    match = re.search(r'\bwidth="(\d+)"', view.svg or "")
    return int(match.group(1)) if match else 240


class _LiveRecorder:
    """Turns the engine's OpEvents into a growing graph, redrawn as it changes."""

    def __init__(self, view, delay):
        self.view, self.delay = view, delay
        self.nodes, self.edges = [], []
        self.tensor_ids = {}        # id(tensor) -> node id
        self.op_ids = {}            # id(grad_fn) -> node id
        self.grad_fns = {}          # node id -> grad_fn, to read what backward freed
        self.tensors = []           # keep the tensors alive so their ids stay unique
        self.last_output = None
        self.last_draw = 0.0

    def _tensor(self, t):
        if id(t) in self.tensor_ids:
            return self.tensor_ids[id(t)]
        nid = f"t{len(self.tensor_ids)}"
        self.tensor_ids[id(t)] = nid
        self.tensors.append(t)
        role = ("intermediate" if t.grad_fn is not None
                else "parameter" if t.requires_grad else "input")
        self.nodes.append(tensor_node(nid, label="", shape=t.shape, dtype=t.dtype.name, role=role,
                                      requires_grad=bool(t.requires_grad),
                                      is_leaf=t.grad_fn is None, value=summarize(t.data),
                                      grad=None))
        return nid

    def __call__(self, event):
        if event.node is None:
            return                    # nothing was recorded (no_grad, or no grad needed)
        if event.phase == "forward":
            node = event.node
            oid = f"op{len(self.op_ids)}"
            self.op_ids[id(node)] = oid
            self.grad_fns[oid] = node
            self.nodes.append(op_node(oid, op=event.op, label=node.name(), seq=node.seq,
                                      saved_shapes=saved_shapes(node),
                                      freed=node.saved_shapes is None))
            for x in event.inputs:
                if isinstance(x, minigrad.Tensor):
                    self.edges.append(edge(self._tensor(x), oid))
            self.edges.append(edge(oid, self._tensor(event.output)))
            self.last_output = event.output
            self._draw(highlight=oid)
        else:
            oid = self.op_ids.get(id(event.node))
            by_id = {n["id"]: n for n in self.nodes}
            # the gradient arriving at this op is the gradient of its output tensor
            for e in self.edges:
                if e["source"] == oid:
                    by_id[e["target"]]["grad"] = summarize(event.grad_output)
            for x, g in zip(event.inputs, event.grad_inputs):
                if isinstance(x, minigrad.Tensor) and g is not None and x.grad_fn is None \
                        and id(x) in self.tensor_ids:
                    by_id[self.tensor_ids[id(x)]]["grad"] = summarize(g)
            self._draw(highlight=oid)

    def _draw(self, highlight, force=False):
        now = time.perf_counter()
        if force or self.delay or now - self.last_draw > 0.05:
            self.view.set_graph({"nodes": self.nodes, "edges": self.edges,
                                 "framework": "minigrad"}, highlight=highlight)
            self.last_draw = now
        if self.delay:
            time.sleep(self.delay)

    def finish(self):
        if self.last_output is not None and id(self.last_output) in self.tensor_ids:
            last = self.tensor_ids[id(self.last_output)]
            for n in self.nodes:
                if n["id"] == last:
                    n["role"] = "output"
        for n in self.nodes:        # a backward() inside the block freed what ops saved
            if n["id"] in self.grad_fns:
                fn = self.grad_fns[n["id"]]
                n["saved_shapes"], n["freed"] = saved_shapes(fn), fn.saved_shapes is None
        if not self.nodes:
            self.view.message = ("no minigrad operation recorded a graph inside the block; "
                                 "do the inputs have requires_grad=True?")
        self._draw(highlight=None, force=True)
