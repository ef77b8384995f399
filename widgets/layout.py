"""A layered layout for computation graphs: inputs on the left, the loss on the right
(or, for a graph too long to read across the page, inputs at the top, the loss below).

The classic recipe (Sugiyama et al., 1981), kept small:
1. rank: a node's column is the length of the longest path reaching it, so every edge
   points to the right; sources then move right, next to their first consumer;
2. order: within a column, sort nodes by the mean row of their neighbours in the
   previous column, sweeping left-to-right then right-to-left a few times, which
   untangles most crossings;
3. place: columns at fixed spacing, rows centred; or, top to bottom, each layer a row
   of boxes side by side, centred.
"""
from collections import defaultdict

SWEEPS = 4


def layered_layout(nodes, edges, column_gap=170, row_gap=64, widths=None, gap=24):
    """Positions {node id: (x, y)} of node centres, and the drawing's (width, height).

    Left to right by default: layer c is the column at x = c * column_gap, and the
    width and height span the node centres. Given `widths` ({node id: box width}), top
    to bottom instead: layer r is the row at y = r * row_gap, its boxes `gap` apart, and
    the width spans the boxes' edges (the widest row), the height the rows' centres."""
    ids = [n["id"] for n in nodes]
    succ, pred = defaultdict(list), defaultdict(list)
    for e in edges:
        succ[e["source"]].append(e["target"])
        pred[e["target"]].append(e["source"])

    rank = _longest_path_ranks(ids, succ, pred)
    columns = defaultdict(list)
    for nid in ids:                       # keep the given order as the starting order
        columns[rank[nid]].append(nid)
    order = [columns[c] for c in range(max(columns) + 1)] if columns else []

    for sweep in range(SWEEPS):
        forward = sweep % 2 == 0
        sequence = range(1, len(order)) if forward else range(len(order) - 2, -1, -1)
        for c in sequence:
            neighbours = pred if forward else succ
            fixed = order[c - 1] if forward else order[c + 1]
            row = {nid: i for i, nid in enumerate(fixed)}
            now = {nid: i for i, nid in enumerate(order[c])}
            order[c] = sorted(order[c], key=lambda n: _barycentre(n, neighbours, row, now[n]))

    if widths is not None:
        return _rows(order, widths, row_gap, gap)
    tallest = max((len(col) for col in order), default=0)
    positions = {}
    for c, col in enumerate(order):
        top = (tallest - len(col)) * row_gap / 2
        for r, nid in enumerate(col):
            positions[nid] = (c * column_gap, top + r * row_gap)
    width = max(len(order) - 1, 0) * column_gap
    height = max(tallest - 1, 0) * row_gap
    return positions, (width, height)


def _rows(order, widths, row_gap, gap):
    spans = [sum(widths[nid] for nid in row) + gap * (len(row) - 1) for row in order]
    widest = max(spans, default=0)
    positions = {}
    for r, (row, span) in enumerate(zip(order, spans)):
        x = (widest - span) / 2
        for nid in row:
            positions[nid] = (x + widths[nid] / 2, r * row_gap)
            x += widths[nid] + gap
    return positions, (widest, max(len(order) - 1, 0) * row_gap)


def _longest_path_ranks(ids, succ, pred):
    """Kahn's topological order, ranking each node one past its furthest predecessor."""
    waiting = {nid: len(pred[nid]) for nid in ids}
    ready = [nid for nid in ids if waiting[nid] == 0]
    rank = {nid: 0 for nid in ids}
    while ready:
        nid = ready.pop()
        for nxt in succ[nid]:
            rank[nxt] = max(rank[nxt], rank[nid] + 1)
            waiting[nxt] -= 1
            if waiting[nxt] == 0:
                ready.append(nxt)
    if any(count > 0 for count in waiting.values()):
        raise ValueError("the graph has a cycle; a computation graph never does")
    # A source (an input or a weight) goes just before its first consumer, not in the
    # first column, so a bias used late does not send a long edge across the picture.
    for nid in ids:
        if not pred[nid] and succ[nid]:
            rank[nid] = min(rank[m] for m in succ[nid]) - 1
    return rank


def _barycentre(nid, neighbours, row, current):
    rows = [row[m] for m in neighbours[nid] if m in row]
    return sum(rows) / len(rows) if rows else current
