"""Small SVG charts built in Python: no JavaScript, nothing loaded from the network.

Each function returns one ``<svg>`` element as a string, ready for an
``ipywidgets.HTML``, ``IPython.display.SVG`` or a static HTML export. Every piece of
text goes through ``escape``, so a label such as ``"<b>"`` shows as typed.

- ``point_chart``: groups along x (say batch sizes), one point per series (say
  frameworks) in each, with whiskers for the spread; linear or log y.
- ``bar_chart``: horizontal bars with labels, for a sorted breakdown (time per op).

Marks carry ``class="mark"`` (points) or ``class="bar"`` (bars), so tests and
stylesheets can find them.
"""

from __future__ import annotations

import html
import math
import re

from lessons.frameworks import COLORS  # one colour per framework and variant, in every chart

FONT = "font-family:system-ui,-apple-system,'Segoe UI',sans-serif;font-size:12px"
AXIS, GRID, TEXT, MUTED = "#555", "#e4e4e4", "#222", "#777"
PALETTE = ("#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d")

# characters XML 1.0 does not allow, even escaped
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def escape(text) -> str:
    """``text`` safe inside SVG/HTML text and attribute values."""
    return html.escape(_NOT_XML.sub("", str(text)), quote=True)


def color_for(name: str, index: int = 0) -> str:
    """The framework's colour, or a palette colour picked by ``index``."""
    return COLORS.get(name, PALETTE[index % len(PALETTE)])


def format_number(value: float) -> str:
    """Short tick label: 0.5, 20, 1.5k, 2M."""
    if value == 0:
        return "0"
    for limit, suffix in ((1e6, "M"), (1e3, "k")):
        if abs(value) >= limit:
            return f"{value / limit:.3g}{suffix}"
    return f"{value:.3g}"


def shorten(text: str, limit: int) -> str:
    text = str(text)
    return text if len(text) <= limit else text[: max(limit - 1, 1)] + "…"


def _n(x: float) -> str:
    """A coordinate, rounded so the SVG stays small."""
    return f"{x:.1f}".rstrip("0").rstrip(".")


def svg(width: float, height: float, body: list[str], title: str, *,
        cls: str | None = None) -> str:
    """One ``<svg>`` element of ``width`` x ``height`` around the marks in ``body``, as
    an image named ``title`` (its ``aria-label`` and ``<title>``), with the charts' font;
    ``cls`` is its class attribute, for stylesheets and tests."""
    head = ('<svg xmlns="http://www.w3.org/2000/svg"'
            + (f' class="{escape(cls)}"' if cls else "")
            + f' width="{_n(width)}" height="{_n(height)}" '
            f'viewBox="0 0 {_n(width)} {_n(height)}" '
            f'role="img" aria-label="{escape(title)}" style="{FONT};max-width:100%">')
    return "\n".join([head, f"<title>{escape(title)}</title>", *body, "</svg>"])


def _text(x, y, text, *, anchor="start", color=TEXT, size=None, weight=None, cls=None,
          extra="") -> str:
    attrs = f'x="{_n(x)}" y="{_n(y)}" text-anchor="{anchor}" fill="{color}"'
    if size:
        attrs += f' font-size="{size}"'
    if weight:
        attrs += f' font-weight="{weight}"'
    if cls:
        attrs += f' class="{cls}"'
    return f"<text {attrs}{extra}>{escape(text)}</text>"


# --- scales ----------------------------------------------------------------------------


def _log_ticks(lo: float, hi: float) -> list[float]:
    first, last = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
    steps = (1, 2, 5) if last - first <= 3 else (1,)
    ticks = [m * 10.0**e for e in range(first, last + 1) for m in steps]
    return [t for t in ticks if lo * (1 - 1e-9) <= t <= hi * (1 + 1e-9)]


def _round_125(value: float, down: bool) -> float:
    """The nearest of ..., 1, 2, 5, 10, 20, ... below (or above) ``value``."""
    power = 10.0 ** math.floor(math.log10(value))
    steps = [m * power for m in (1, 2, 5, 10)]
    if down:
        return max(t for t in steps if t <= value * (1 + 1e-9))
    return min(t for t in steps if t >= value * (1 - 1e-9))


def _nice_step(span: float, count: int = 5) -> float:
    raw = span / count
    power = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if m * power >= raw:
            return m * power
    return 10 * power


class _Scale:
    """Maps data values to y pixels, top ``y0`` to bottom ``y1``."""

    def __init__(self, values: list[float], log: bool, y0: float, y1: float):
        self.log, self.y0, self.y1 = log, y0, y1
        if log:
            positive = [v for v in values if v > 0]
            lo, hi = (min(positive), max(positive)) if positive else (1.0, 10.0)
            self.lo, self.hi = _round_125(lo, down=True), _round_125(hi, down=False)
            if self.hi <= self.lo:
                self.hi = _round_125(self.lo * 1.01, down=False)
            self.ticks = _log_ticks(self.lo, self.hi)
        else:
            hi = max([v for v in values if v > 0], default=1.0)
            step = _nice_step(hi)
            self.lo, self.hi = 0.0, step * math.ceil(hi / step)
            self.ticks = [i * step for i in range(int(round(self.hi / step)) + 1)]

    def __call__(self, value: float) -> float:
        if self.log:
            value = min(max(value, self.lo), self.hi)
            lo, hi = math.log10(self.lo), math.log10(self.hi)
            frac = (math.log10(value) - lo) / (hi - lo)
        else:
            frac = (value - self.lo) / (self.hi - self.lo)
        return self.y1 - frac * (self.y1 - self.y0)


# --- grouped points with whiskers -------------------------------------------------------


def point_chart(groups: list[str], series: list[dict], *, title: str = "", y_label: str = "",
                log: bool = False, note: str = "", height: int = 300) -> str:
    """Points with whiskers, grouped: ``groups`` along x, one point per series in each.

    ``series`` is a list of ``{"name": str, "color": str (optional), "points": list}``
    where ``points`` holds one entry per group: ``None`` (nothing yet), a dict
    ``{"value", "low", "high", "tip"}`` (``low``/``high``/``tip`` optional), or
    ``{"error": str}`` for a cell that failed (drawn as a ×, not a point).
    """
    margin_left, margin_right, margin_top, margin_bottom = 64, 16, 34 if title else 14, 64
    per_series = 22
    label_chars = min(max([len(str(g)) for g in groups], default=1), 24)
    group_width = max(76, per_series * len(series) + 28, 6.8 * label_chars + 12)
    width = max(480, margin_left + margin_right + group_width * max(len(groups), 1),
                16 + 8.2 * len(title), margin_left + 6.2 * len(note) + 8)
    plot_top, plot_bottom = margin_top, height - margin_bottom
    values = [v for s in series for p in s["points"] if p and "value" in p
              for v in (p["value"], p.get("low", p["value"]), p.get("high", p["value"]))]
    scale = _Scale(values, log, plot_top, plot_bottom)
    body = []
    if title:
        body.append(_text(8, 20, title, weight="600", size=13))
    # grid and y axis
    for tick in scale.ticks:
        y = scale(tick)
        body.append(f'<line x1="{margin_left}" x2="{_n(width - margin_right)}" y1="{_n(y)}" '
                    f'y2="{_n(y)}" stroke="{GRID}" />')
        body.append(_text(margin_left - 6, y + 4, format_number(tick), anchor="end", color=MUTED))
    body.append(f'<line x1="{margin_left}" x2="{margin_left}" y1="{plot_top}" '
                f'y2="{plot_bottom}" stroke="{AXIS}" />')
    body.append(f'<line x1="{margin_left}" x2="{_n(width - margin_right)}" y1="{plot_bottom}" '
                f'y2="{plot_bottom}" stroke="{AXIS}" />')
    if y_label:
        mid = (plot_top + plot_bottom) / 2
        body.append(_text(14, mid, y_label, anchor="middle", color=MUTED,
                          extra=f' transform="rotate(-90 14 {_n(mid)})"'))
    if not values:
        body.append(_text((margin_left + width - margin_right) / 2, (plot_top + plot_bottom) / 2,
                          "no results yet", anchor="middle", color=MUTED, cls="empty"))
    # groups
    offset0 = (group_width - per_series * (len(series) - 1)) / 2
    for gi, group in enumerate(groups):
        gx = margin_left + gi * group_width
        if gi:
            body.append(f'<line x1="{_n(gx)}" x2="{_n(gx)}" y1="{plot_top}" y2="{plot_bottom}" '
                        f'stroke="{GRID}" stroke-dasharray="3 3" />')
        body.append(_text(gx + group_width / 2, plot_bottom + 16, shorten(group, label_chars),
                          anchor="middle", cls="group",
                          extra=f' data-group="{gi}"'))
        for si, s in enumerate(series):
            point = s["points"][gi] if gi < len(s["points"]) else None
            if not point:
                continue
            color = s.get("color") or color_for(s["name"], si)
            x = gx + offset0 + si * per_series
            where = f' data-group="{gi}" data-series="{si}"'
            if "value" not in point:  # failed cell
                tip = f"{s['name']} · {group}: failed: {point.get('error', '')}"
                body.append(f'<g class="failed"{where}><title>{escape(shorten(tip, 400))}</title>'
                            + _text(x, plot_bottom - 6, "×", anchor="middle", color=color,
                                    size=16, weight="700") + "</g>")
                continue
            low, high = point.get("low", point["value"]), point.get("high", point["value"])
            y, y_low, y_high = scale(point["value"]), scale(low), scale(high)
            tip = point.get("tip") or f"{s['name']} · {group}: {format_number(point['value'])}"
            parts = [f'<g{where}><title>{escape(tip)}</title>']
            if high > low:
                parts.append(
                    f'<line class="whisker" x1="{_n(x)}" x2="{_n(x)}" y1="{_n(y_low)}" '
                    f'y2="{_n(y_high)}" stroke="{color}" stroke-width="1.5" />'
                    f'<line x1="{_n(x - 4)}" x2="{_n(x + 4)}" y1="{_n(y_low)}" y2="{_n(y_low)}" '
                    f'stroke="{color}" />'
                    f'<line x1="{_n(x - 4)}" x2="{_n(x + 4)}" y1="{_n(y_high)}" y2="{_n(y_high)}" '
                    f'stroke="{color}" />')
            parts.append(f'<circle class="mark" cx="{_n(x)}" cy="{_n(y)}" r="4.5" '
                         f'fill="{color}" stroke="white" stroke-width="1" /></g>')
            body.append("".join(parts))
    # legend
    x, y = margin_left, plot_bottom + 38
    for si, s in enumerate(series):
        color = s.get("color") or color_for(s["name"], si)
        label = shorten(s["name"], 28)
        body.append(f'<g class="legend"><circle cx="{_n(x + 5)}" cy="{_n(y - 4)}" r="4.5" '
                    f'fill="{color}" />' + _text(x + 14, y, label) + "</g>")
        x += 30 + 7 * len(label)
        if x > width - 120 and si < len(series) - 1:
            x, y = margin_left, y + 16
    height_used = max(height, y + (20 if note else 8))
    if note:
        body.append(_text(margin_left, height_used - 6, note, color=MUTED, size=11, cls="note"))
    return svg(width, height_used, body, title or "chart")


# --- horizontal bars ------------------------------------------------------------------


def bar_chart(items: list[dict], *, title: str = "", unit: str = "", width: int = 680,
              bar_height: int = 18, label_chars: int = 44) -> str:
    """Horizontal bars, one per item, in the order given.

    ``items``: ``{"label": str, "value": float >= 0, "color": str (optional),
    "note": str (optional, printed after the value), "tip": str (optional)}``.
    Labels longer than ``label_chars`` are shortened (the tooltip has them whole).
    """
    top = 34 if title else 10
    gap = 6
    height = top + max(len(items), 1) * (bar_height + gap) + 10
    longest = max([len(shorten(i["label"], label_chars)) for i in items], default=8)
    x0 = round(16 + 6.8 * longest)
    width = max(width, x0 + 300, 16 + 8.2 * len(title))
    span = width - x0 - 150  # room on the right for the value and the note
    largest = max([max(float(i["value"]), 0.0) for i in items], default=0.0)
    body = []
    if title:
        body.append(_text(8, 20, title, weight="600", size=13))
    if not items:
        body.append(_text(x0, top + 14, "nothing to show", color=MUTED, cls="empty"))
    for k, item in enumerate(items):
        y = top + k * (bar_height + gap)
        value = max(float(item["value"]), 0.0)
        length = span * value / largest if largest > 0 else 0.0
        color = item.get("color") or PALETTE[k % len(PALETTE)]
        text = f"{format_number(value)}{(' ' + unit) if unit else ''}"
        if item.get("note"):
            text += f"  {item['note']}"
        tip = item.get("tip") or f"{item['label']}: {text}"
        body.append(
            f'<g data-index="{k}"><title>{escape(tip)}</title>'
            + _text(x0 - 8, y + bar_height * 0.72, shorten(item["label"], label_chars),
                    anchor="end", cls="label")
            + f'<rect class="bar" x="{x0}" y="{_n(y)}" width="{_n(max(length, 0.5))}" '
              f'height="{bar_height}" fill="{color}" rx="2" />'
            + _text(x0 + length + 6, y + bar_height * 0.72, text, color=MUTED)
            + "</g>")
    body.append(f'<line x1="{x0}" x2="{x0}" y1="{top - 4}" y2="{_n(height - 8)}" '
                f'stroke="{AXIS}" />')
    return svg(width, height, body, title or "bar chart")
