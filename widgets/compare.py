"""What a `%%compare --graph` cell shows: its three columns, and a GraphView per section.

`lessons.compare` runs the sections and knows nothing of widgets; importing this module
(which `import widgets` does) installs `ComparisonView` as its graph renderer, so

    import widgets

    %%compare --graph
    # pytorch
    ...

shows the columns with the graphs below them. `%load_ext widgets` does what
`%load_ext lessons` does and imports this module too.
"""
import ipywidgets

from lessons.compare import Comparison, set_graph_renderer

from .drawing import with_static_copy
from .graphview import GraphView, SideBySide


def draw_graphs(graph_sources: dict) -> SideBySide:
    """One GraphView per {title: source}: a tensor, or a tuple (tf.function, example
    inputs...). A source of None gets a message saying there was nothing to draw."""
    views = []
    for title, source in graph_sources.items():
        view = GraphView(title=title)
        if source is None:
            view.message = f"{title}: nothing to draw (end the section with a tensor)"
        else:
            view.show(*(source if isinstance(source, tuple) else (source,)))
        views.append(view)
    return SideBySide(views)


class ComparisonView:
    """A `Comparison` with its graphs: the columns above, the GraphViews below, and a
    static copy of both for viewers without a kernel."""

    def __init__(self, comparison: Comparison):
        self.comparison = comparison
        self.graphs = draw_graphs(comparison.graph_sources or {})

    @property
    def sections(self):
        return self.comparison.sections

    def __repr__(self):
        return "\n".join(text for text in (repr(self.comparison), repr(self.graphs)) if text)

    def _repr_mimebundle_(self, **kwargs):
        html = self.comparison.columns_html()
        live = ipywidgets.VBox([ipywidgets.HTML(html), self.graphs])
        return with_static_copy(live._repr_mimebundle_(**kwargs), repr(self),
                                html + self.graphs.static_html())


set_graph_renderer(ComparisonView)
