"""The Playground's pictures: loss curves, decision boundaries and confusion matrices
as SVG strings, and the PNG encoder behind the boundaries' background images."""

from __future__ import annotations

import base64
import math
import struct
import zlib

import numpy as np

from ..charts import format_number, svg
from .config import FRAMEWORK_COLORS, LABELS
from .data import GRID, Data

CLASS_COLORS = ((0xf5, 0x93, 0x22), (0x08, 0x77, 0xbd))  # class 0 orange, class 1 blue


# ------------------------------------------------------------------------- pictures


def png(rgb: np.ndarray) -> bytes:
    """An RGB image, (height, width, 3) uint8, as PNG file bytes (no imaging library)."""
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    height, width, _ = rgb.shape
    rows = b"".join(b"\x00" + row.tobytes() for row in rgb)  # filter type 0 on each row

    def chunk(tag, data):
        return (struct.pack(">I", len(data)) + tag + data
                + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8 bits, RGB
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows))
            + chunk(b"IEND", b""))


def boundary_colors(p1: np.ndarray, strength: float = 0.55) -> np.ndarray:
    """Background colour per point from p(class 1): orange at 0, white at 0.5, blue at 1.
    ``strength``: how much of each class colour the ends take (0.55: pale, under the
    data's dots; 1: the class colours themselves)."""
    t = np.clip(2.0 * np.asarray(p1, dtype=np.float64) - 1.0, -1.0, 1.0)[..., None]
    white = np.array([255.0, 255.0, 255.0])
    light = [white + strength * (np.array(c, dtype=np.float64) - white) for c in CLASS_COLORS]
    rgb = np.where(t < 0, white + (-t) * (light[0] - white), white + t * (light[1] - white))
    return np.round(rgb).astype(np.uint8)


def _downsample(values: list[float], most: int = 240) -> list[tuple[float, float]]:
    """(step, loss) pairs, bucket means once there are more than ``most`` steps."""
    n = len(values)
    if n <= most:
        return [(i + 1, v) for i, v in enumerate(values)]
    edges = np.linspace(0, n, most + 1).astype(int)
    array = np.asarray(values, dtype=np.float64)
    return [((a + b + 1) / 2, float(array[a:b].mean())) for a, b in zip(edges[:-1], edges[1:])]


def loss_chart(curves: dict[str, list[float]], own: str, steps: int,
               width: int = 360, height: int = 150) -> str:
    """The loss per step of framework ``own`` in its colour, the others in grey behind.
    ``steps`` fixes the x axis, so a curve grows to the right as training goes on."""
    left, right, top, bottom = 40, 10, 10, 24
    plot_w, plot_h = width - left - right, height - top - bottom
    finite = {k: [v for v in c if math.isfinite(v)] for k, c in curves.items()}
    first = [c[0] for c in finite.values() if c]
    ceiling = max([v for c in finite.values() for v in c], default=1.0)
    if first:
        ceiling = min(ceiling, 2.0 * max(first))  # a diverging run does not squash the rest
    top_value = _nice_ceiling(ceiling)
    x_max = max(steps, max([len(c) for c in curves.values()], default=1), 2)

    def xy(step, value):
        value = min(max(value, 0.0), top_value)
        return (left + (step - 1) / (x_max - 1) * plot_w,
                top + (1 - value / top_value) * plot_h)

    body = [f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="#fafafa" '
            f'stroke="#ddd"/>']
    for frac in (0.0, 0.5, 1.0):
        y = top + (1 - frac) * plot_h
        body.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" '
                    f'stroke="#e6e6e6"/><text x="{left - 5}" y="{y + 4:.1f}" text-anchor="end" '
                    f'fill="#777">{format_number(frac * top_value)}</text>')
    body.append(f'<text x="{left}" y="{height - 6}" fill="#777">step 1</text>'
                f'<text x="{left + plot_w}" y="{height - 6}" text-anchor="end" fill="#777">'
                f'{x_max}</text><text x="{left + plot_w / 2}" y="{height - 6}" '
                f'text-anchor="middle" fill="#777">loss per step</text>')
    for name in [k for k in curves if k != own] + [own]:
        values = [v if math.isfinite(v) else top_value for v in curves[name]]
        if not values:
            continue
        points = " ".join(f"{x:.1f},{y:.1f}" for x, y in (xy(s, v) for s, v in _downsample(values)))
        if len(values) == 1:
            points += " " + points  # a polyline needs two points to show
        if name == own:
            body.append(f'<polyline class="fl-pg-curve" data-framework="{name}" '
                        f'data-steps="{len(values)}" points="{points}" fill="none" '
                        f'stroke="{FRAMEWORK_COLORS[name]}" stroke-width="2"/>')
        else:
            body.append(f'<polyline class="fl-pg-ghost" data-framework="{name}" '
                        f'points="{points}" fill="none" stroke="#c8c8c8" stroke-width="1.5"/>')
    return svg(width, height, body, f"loss per step, {LABELS[own]}", cls="fl-pg-loss")


def _nice_ceiling(value: float) -> float:
    if not value > 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    return next(m * power for m in (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10) if m * power >= value)


def boundary_chart(data: Data, p1: np.ndarray | None, size: int = 360) -> str:
    """The decision boundary: p(class 1) on the grid as a background image, the
    training points as dots and the test points as rings."""
    x0, x1, y0, y1 = data.extent
    body = []
    if p1 is not None:
        image = boundary_colors(np.asarray(p1).reshape(GRID, GRID))
        uri = "data:image/png;base64," + base64.b64encode(png(image)).decode()
        body.append(f'<image class="fl-pg-boundary" href="{uri}" x="0" y="0" width="{size}" '
                    f'height="{size}" preserveAspectRatio="none"/>')
    else:
        body.append(f'<rect width="{size}" height="{size}" fill="#f6f6f6"/>')

    def px(points):
        return ((points[:, 0] - x0) / (x1 - x0) * size, (y1 - points[:, 1]) / (y1 - y0) * size)

    for X, y, test in ((data.X, data.y, False), (data.X_test, data.y_test, True)):
        xs, ys = px(X)
        for x, yy, label in zip(xs, ys, y):
            color = "#%02x%02x%02x" % CLASS_COLORS[int(label)]
            if test:
                body.append(f'<circle cx="{x:.1f}" cy="{yy:.1f}" r="3.2" fill="white" '
                            f'stroke="{color}" stroke-width="1.8"/>')
            else:
                body.append(f'<circle cx="{x:.1f}" cy="{yy:.1f}" r="3" fill="{color}" '
                            f'stroke="white" stroke-width="0.8"/>')
    body.append(f'<rect width="{size}" height="{size}" fill="none" stroke="#ccc"/>')
    return svg(size, size, body, "decision boundary: orange is class 0, blue class 1; "
                "dots train, rings test", cls="fl-pg-map")


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, classes: int) -> np.ndarray:
    """counts[i, j]: how many examples of class i were predicted as class j."""
    counts = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(counts, (np.asarray(y_true), np.asarray(y_pred)), 1)
    return counts


def confusion_chart(counts: np.ndarray | None, color: str, size: int = 360) -> str:
    """A confusion matrix: rows are the true digit, columns the predicted one; a cell's
    shade is its share of the row, so a perfect model shows a dark diagonal."""
    classes = 10 if counts is None else len(counts)
    left, top = 34, 14
    cell = (size - left - 6) / classes
    rgb = tuple(int(color[i:i + 2], 16) for i in (1, 3, 5))
    body = [f'<text x="{left + classes * cell / 2:.1f}" y="10" text-anchor="middle" '
            f'fill="#777">predicted</text>',
            f'<text x="10" y="{top + classes * cell / 2:.1f}" text-anchor="middle" fill="#777" '
            f'transform="rotate(-90 10 {top + classes * cell / 2:.1f})">true digit</text>']
    rows = counts.sum(axis=1) if counts is not None else None
    for i in range(classes):
        body.append(f'<text x="{left - 4}" y="{top + (i + 0.65) * cell:.1f}" text-anchor="end" '
                    f'fill="#777">{i}</text>')
        for j in range(classes):
            share = counts[i, j] / rows[i] if counts is not None and rows[i] else 0.0
            fill = "#%02x%02x%02x" % tuple(round(255 + share * (c - 255)) for c in rgb)
            x, y = left + j * cell, top + i * cell
            body.append(f'<rect class="fl-pg-cell" x="{x:.1f}" y="{y:.1f}" width="{cell:.1f}" '
                        f'height="{cell:.1f}" fill="{fill}" stroke="white"/>')
            if counts is not None and counts[i, j]:
                ink = "white" if share > 0.5 else "#333"
                body.append(f'<text x="{x + cell / 2:.1f}" y="{y + cell * 0.65:.1f}" '
                            f'text-anchor="middle" fill="{ink}">{counts[i, j]}</text>')
    for j in range(classes):
        body.append(f'<text x="{left + (j + 0.5) * cell:.1f}" y="{top + classes * cell + 12:.1f}" '
                    f'text-anchor="middle" fill="#777">{j}</text>')
    return svg(size, size + 14, body, "confusion matrix on the test digits", cls="fl-pg-confusion")


def unit_outputs(weight: np.ndarray, bias: np.ndarray, activation: str,
                 points: np.ndarray) -> np.ndarray:
    """The first hidden layer's outputs at ``points`` (n, inputs): one column per unit.
    ``weight`` is (units, inputs), as in PyTorch."""
    z = np.asarray(points, dtype=np.float64) @ np.asarray(weight, dtype=np.float64).T + bias
    with np.errstate(all="ignore"):
        if activation == "relu":
            return np.maximum(z, 0.0)
        if activation == "tanh":
            return np.tanh(z)
        return 1.0 / (1.0 + np.exp(-np.clip(z, -60, 60)))


def unit_shades(outputs: np.ndarray, activation: str) -> np.ndarray:
    """Where each output sits on the boundary's colour scale (0 orange, 0.5 white, 1
    blue): tanh's -1..1 and sigmoid's 0..1 span the whole scale; ReLU's outputs run from
    white at 0 to blue at the largest output of any unit, so units compare at a glance."""
    if activation == "tanh":
        return (outputs + 1.0) / 2.0
    if activation == "sigmoid":
        return outputs
    top = float(np.nanmax(outputs)) if outputs.size else 0.0
    return 0.5 + 0.5 * outputs / (top if top > 0 else 1.0)


def neuron_tiles(weight: np.ndarray, bias: np.ndarray, activation: str, data: Data) -> list[str]:
    """One small picture per unit of the first hidden layer, as data: URIs of PNGs. For
    the 2-D sets, the unit's output over the input plane (the square the decision
    boundary is drawn on); for the digits, the unit's 64 weights as an 8x8 image, orange
    for negative, blue for positive: the pattern of pixels the unit responds to."""
    if data.grid is not None:
        shades = unit_shades(unit_outputs(weight, bias, activation, data.grid), activation)
        images = [shades[:, i].reshape(GRID, GRID) for i in range(shades.shape[1])]
    else:
        weight = np.asarray(weight, dtype=np.float64)
        top = float(np.abs(weight).max()) or 1.0
        side = math.isqrt(weight.shape[1])
        images = [0.5 + 0.5 * row.reshape(side, side) / top for row in weight]
    return ["data:image/png;base64,"
            + base64.b64encode(png(boundary_colors(np.nan_to_num(image, nan=0.5),
                                                   strength=1.0))).decode()
            for image in images]
