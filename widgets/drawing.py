"""Draw a computation graph (plain data, see `graph_sources`) as SVG markup.

Inputs are on the left and the result on the right, unless that would make the picture
wider than `MAX_WIDTH` px (where a notebook would shrink its labels below 11 px): such a
graph runs top to bottom instead. Op nodes are white pills labelled with the op; tensor
nodes are boxes labelled with their name or role, shape and dtype, coloured by role. The
node a stepper stands on carries the class `fl-current`; tensors that have received a
gradient show it.

Everything drawn on the page's own background (title, legend labels, edges, the note)
carries the class `fl-ink`, so the live widget's stylesheet can give it the theme's text
colour. A picture that travels without that stylesheet (the static copy in a saved
notebook) is put `on_card` instead: on a white background, readable on any page.
"""
import base64
import hashlib
from html import escape

from .layout import layered_layout

# The fills are those of JupyterLab's --jp-warn-color2, --jp-brand-color3 and
# --jp-success-color2, which are the same light colours in its light and dark themes, so
# dark labels read on them in both; graphview.css maps each role to its variable.
# Intermediates (the many) and ops stay neutral: the page's background and text colour.
ROLE_COLOURS = {
    "parameter": "#ffb74d",     # a leaf that needs a gradient (weights)
    "input": "#bbdefb",         # a leaf without a gradient (data)
    "intermediate": "#ffffff",
    "output": "#81c784",
}
OP_FILL, INK, CURRENT, GRAD = "#ffffff", "#2b2d42", "#e63946", "#7b2cbf"
MARGIN, CHAR, NOTE_CHAR = 24, 7.2, 6.4
MAX_WIDTH = 900      # fits a notebook's output area at a 1400 px window, labels unshrunk


def _size(node):
    if node["kind"] == "op":
        return max(64, CHAR * len(_op_text(node)) + 22), 28
    return max(84, CHAR * max(len(_tensor_title(node)), len(_tensor_detail(node))) + 18), 40


def _op_text(node):
    return node.get("label") if node.get("op") == "layer" else node.get("op", "?")


def _shape_text(node):
    return "×".join(str(d) for d in node.get("shape", [])) or "scalar"


def _tensor_title(node):
    """A name if it has one; else its role, except intermediates (there are many)."""
    if node.get("label"):
        return node["label"]
    return _shape_text(node) if node.get("role") == "intermediate" else node.get("role", "tensor")


def _tensor_detail(node):
    if not node.get("label") and node.get("role") == "intermediate":
        return node.get("dtype", "")
    return f"{_shape_text(node)} {node.get('dtype', '')}".strip()


def _fmt(x):
    return f"{x:.4g}"


def _tooltip(node):
    lines = []
    if node["kind"] == "op":
        lines.append(node.get("label", ""))
        if node.get("detail"):
            lines.append(node["detail"])
        for s in node.get("saved", []):
            lines.append(
                f"saved {s['name']}: " + ("freed" if s.get("freed") else str(s.get("shape")))
            )
        if node.get("freed"):
            lines.append("saved values freed by backward()")
    else:
        lines.append(f"{node.get('label') or node.get('role')}: {_shape_text(node)} "
                     f"{node.get('dtype', '')}")
        for key in ("value", "grad"):
            s = node.get(key)
            if s and s.get("numel"):
                lines.append(f"{key}: min {_fmt(s['min'])}, max {_fmt(s['max'])}, "
                             f"mean {_fmt(s['mean'])}")
    return "\n".join(lines)


def _notes(node, values):
    """What is written under a tensor's box: its mean (if asked) and its gradient's size."""
    notes = []
    if node["kind"] != "tensor":
        return notes
    if values and (node.get("value") or {}).get("numel"):
        notes.append(f"mean {_fmt(node['value']['mean'])}")
    if (node.get("grad") or {}).get("numel"):
        g = node["grad"]
        notes.append(f"∇ max|g| {_fmt(max(abs(g['min']), abs(g['max'])))}")
    return notes


def graph_key(graph):
    """A short fingerprint of the graph's structure (so a view can keep its zoom when
    only colours or highlights change)."""
    ids = ",".join(n["id"] for n in graph["nodes"]) + "|" + ",".join(
        e["source"] + ">" + e["target"] for e in graph["edges"])
    return hashlib.sha1(ids.encode()).hexdigest()[:12]


def render_svg(graph, highlight=None, title=None, values=False):
    """SVG markup for `graph`; `highlight` is a node id to mark as current."""
    nodes, edges = graph["nodes"], graph["edges"]
    if not nodes:
        return ('<svg class="fl-graph" xmlns="http://www.w3.org/2000/svg" width="240" '
                f'height="40"><text class="fl-ink" x="8" y="24" fill="{INK}">'
                '(empty graph)</text></svg>')
    notes = {n["id"]: " · ".join(_notes(n, values)) for n in nodes}   # under each box
    sizes = {}
    for n in nodes:         # a box is at least as wide as the note written under it
        w, h = _size(n)
        sizes[n["id"]] = (max(w, NOTE_CHAR * len(notes[n["id"]]) + 8), h)
    widest = max(w for w, _ in sizes.values())
    top = MARGIN + (22 if title else 0) + 18          # room for the title and legend
    legend_w = sum(24 + CHAR * len(role) + 10 for role in ROLE_COLOURS)
    note_w = CHAR * len((graph.get("note") or "").strip())
    at_least = max(legend_w, note_w, CHAR * len(title or ""))

    positions, (width, height) = layered_layout(nodes, edges, column_gap=150)
    down = width + widest + 2 * MARGIN > MAX_WIDTH
    if down:
        rows = layered_layout(nodes, edges, row_gap=84,
                              widths={nid: w for nid, (w, _) in sizes.items()})
        down = rows[1][0] < width + widest
        if down:
            positions, (width, height) = rows
    if down:
        ox, oy = MARGIN, top + 34
        total_w = max(width, at_least) + 2 * MARGIN
        ox += (total_w - 2 * MARGIN - width) / 2
    else:
        ox, oy = MARGIN + widest / 2, top + 24
        total_w = max(width + widest, at_least) + 2 * MARGIN
    total_h = height + oy + 32 + MARGIN

    out = [
        f'<svg class="fl-graph" xmlns="http://www.w3.org/2000/svg" '
        f'viewBox="0 0 {total_w:.0f} {total_h:.0f}" width="{total_w:.0f}" '
        'style="max-width:100%;height:auto" '
        f'data-key="{graph_key(graph)}" data-direction="{"down" if down else "right"}" '
        f'data-framework="{escape(graph.get("framework", ""))}" '
        f'font-family="sans-serif" font-size="12">',
        '<defs><marker id="fl-arrow" viewBox="0 0 8 8" refX="8" refY="4" markerWidth="7" '
        f'markerHeight="7" orient="auto"><path class="fl-ink" d="M0,0 L8,4 L0,8 z" '
        f'fill="{INK}"/></marker></defs>',
        "<style>.fl-current>rect{stroke:" + CURRENT + ";stroke-width:3}"
        ".fl-node text{pointer-events:none}</style>",
    ]
    y = MARGIN
    if title:
        out.append(f'<text class="fl-ink" x="{MARGIN}" y="{y + 12}" font-size="14" '
                   f'font-weight="bold" fill="{INK}">{escape(title)}</text>')
        y += 22
    x = MARGIN
    for role, colour in ROLE_COLOURS.items():
        out.append(f'<rect class="fl-swatch fl-role-{role}" x="{x}" y="{y + 2}" width="12" '
                   f'height="12" rx="2" fill="{colour}" stroke="{INK}" stroke-width="0.5"/>'
                   f'<text class="fl-ink" x="{x + 16}" '
                   f'y="{y + 12}" fill="{INK}">{role}</text>')
        x += 24 + CHAR * len(role) + 10

    for e in edges:
        (x1, y1), (x2, y2) = positions[e["source"]], positions[e["target"]]
        x1, x2, y1, y2 = x1 + ox, x2 + ox, y1 + oy, y2 + oy
        if down:        # from the bottom of one box (below its note) to the top of the next
            below = 16 if notes[e["source"]] else 0
            y1, y2 = y1 + sizes[e["source"]][1] / 2 + below, y2 - sizes[e["target"]][1] / 2
            mid = (y1 + y2) / 2
            curve = f"M{x1:.1f},{y1:.1f} C{x1:.1f},{mid:.1f} {x2:.1f},{mid:.1f} {x2:.1f},{y2:.1f}"
        else:           # from the right side of one box to the left side of the next
            x1, x2 = x1 + sizes[e["source"]][0] / 2, x2 - sizes[e["target"]][0] / 2
            mid = (x1 + x2) / 2
            curve = f"M{x1:.1f},{y1:.1f} C{mid:.1f},{y1:.1f} {mid:.1f},{y2:.1f} {x2:.1f},{y2:.1f}"
        out.append(f'<path class="fl-edge fl-ink" d="{curve}" fill="none" stroke="{INK}" '
                   f'stroke-opacity="0.55" marker-end="url(#fl-arrow)"/>')

    for n in nodes:
        cx, cy = positions[n["id"]]
        cx, cy = cx + ox, cy + oy
        w, h = sizes[n["id"]]
        classes = ["fl-node", "fl-op" if n["kind"] == "op" else "fl-tensor"]
        if n["kind"] == "tensor":
            classes.append("fl-role-" + n.get("role", "intermediate"))
            if n.get("grad"):
                classes.append("fl-has-grad")
        if n["id"] == highlight:
            classes.append("fl-current")
        attrs = f'class="{" ".join(classes)}" data-id="{escape(n["id"])}"'
        if n["kind"] == "op":
            attrs += f' data-op="{escape(str(n.get("op", "")))}"'
        out.append(f'<g {attrs} transform="translate({cx - w / 2:.1f},{cy - h / 2:.1f})">')
        out.append(f"<title>{escape(_tooltip(n))}</title>")
        if n["kind"] == "op":
            out.append(f'<rect width="{w:.0f}" height="{h}" rx="{h / 2}" fill="{OP_FILL}" '
                       f'stroke="{INK}" stroke-width="1.2"/>')
            out.append(f'<text x="{w / 2:.1f}" y="{h / 2 + 4}" text-anchor="middle" '
                       f'font-weight="bold" fill="{INK}">{escape(str(_op_text(n)))}</text>')
        else:
            colour = ROLE_COLOURS.get(n.get("role"), ROLE_COLOURS["intermediate"])
            out.append(f'<rect width="{w:.0f}" height="{h}" rx="4" fill="{colour}" '
                       f'stroke="{GRAD if n.get("grad") else INK}" '
                       f'stroke-width="{2 if n.get("grad") else 1}"/>')
            out.append(f'<text x="{w / 2:.1f}" y="15" text-anchor="middle" fill="{INK}">'
                       f'{escape(_tensor_title(n))}</text>')
            out.append(f'<text x="{w / 2:.1f}" y="31" text-anchor="middle" fill="{INK}" '
                       f'fill-opacity="0.8">{escape(_tensor_detail(n))}</text>')
            if notes[n["id"]]:
                out.append(f'<text x="{w / 2:.1f}" y="{h + 12}" text-anchor="middle" '
                           f'fill="{GRAD}" font-size="11" class="fl-grad-note">'
                           f'{escape(notes[n["id"]])}</text>')
        out.append("</g>")
    if graph.get("note"):
        out.append(f'<text class="fl-ink" x="{MARGIN}" y="{total_h - 10:.0f}" fill="{INK}" '
                   f'fill-opacity="0.7">{escape(graph["note"].strip())}</text>')
    out.append("</svg>")
    return "".join(out)


def on_card(svg, colour="#ffffff"):
    """`svg` with a filled rectangle behind everything it draws."""
    end = svg.index(">") + 1
    return f'{svg[:end]}<rect width="100%" height="100%" fill="{colour}"/>{svg[end:]}'


def svg_image(svg, alt):
    """An `<img>` holding `svg` as a data URI: unlike inline SVG, it survives the HTML
    sanitizers of untrusted notebooks, GitHub and nbviewer."""
    data = base64.b64encode(svg.encode()).decode()
    return (f'<img alt="{escape(alt, quote=True)}" style="max-width:100%;height:auto" '
            f'src="data:image/svg+xml;base64,{data}">')


def with_static_copy(bundle, text, html):
    """A widget's display data with a static copy added, for viewers without a kernel.

    `bundle` is what an ipywidget's `_repr_mimebundle_` returned (a dict, or a tuple of
    data and metadata); `text` becomes its text/plain and `html` its text/html, in place.
    A live frontend renders the widget and ignores both; anything else (an exported or
    untrusted notebook, nbval, GitHub) shows the HTML, so `html` should hold the picture
    as `svg_image` makes it. Returns `bundle`, for `return with_static_copy(...)`."""
    data = bundle[0] if isinstance(bundle, tuple) else bundle
    data["text/plain"], data["text/html"] = text, html
    return bundle
