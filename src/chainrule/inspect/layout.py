"""Where each node of a graph drawing sits and what it is called: the element ids that the DOT
text, the step-through and our own drawing share (v<seq> for a variable, op<seq> for an op,
c<n> for a constant), the edges in the forward direction, and a simple layered drawing for
when Graphviz is not installed."""
import html
import shutil

from .timescope import step_label, time_step_of


def box_id(node):
    return f"v{node.seq}"


def op_id(node):
    return f"op{node.seq}"


def constant_id(constant):
    return f"c{constant.number}"


def edges(view):
    """(source id, target id, dashed) for each edge: input -> op -> output."""
    found = []
    for node in view.nodes:
        if node.op is None:
            continue
        for position, parent in enumerate(node.parents):
            if parent is None:
                found.append((constant_id(view.inputs[(node, position)]), op_id(node), True))
            else:
                found.append((box_id(parent), op_id(node), False))
        found.append((op_id(node), box_id(node), False))
    return found


def fallback_svg(view):
    """A layered drawing, input side on the left, for when Graphviz is not installed."""
    depth = {}
    items = []  # (id, kind, label, depth)
    current, floor, reached = None, 0, -1  # the step being laid out, its first level, its last
    for node in view.nodes:  # creation order, so every parent comes first
        parents = [depth[box_id(p)] for p in node.parents if p is not None]
        level = max(parents, default=-1) + 1
        scope = time_step_of(node)
        if scope is not None:
            # Each step to the right of the one before, W_hh^T included, so steps don't overlap.
            if scope is not current:
                current, floor = scope, reached + 1
            level = max(level, floor)
            reached = max(reached, level + 1)
        if node.op is not None:
            items.append((op_id(node), "op", node.op.name, level))
            level += 1
        depth[box_id(node)] = level
        items.append((box_id(node), "box", view.name(node), level))
    for constant in view.constants:
        items.append((constant_id(constant), "note", constant.name, 0))
    rows = {}
    position = {}
    for item_id, _, _, level in items:
        position[item_id] = (level, rows.get(level, 0))
        rows[level] = rows.get(level, 0) + 1

    def xy(item_id):
        level, row = position[item_id]
        return 70 + 150 * level, 40 + 70 * row

    parts = _time_step_bands(view, position, xy, 80 + 70 * max(rows.values()))
    for source, target, _ in edges(view):
        (x1, y1), (x2, y2) = xy(source), xy(target)
        parts.append(f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="#888"/>')
    for item_id, kind, label, _ in items:
        x, y = xy(item_id)
        shape = (f'<circle cx="{x}" cy="{y}" r="24" fill="#fff2cc" stroke="#333"/>'
                 if kind == "op" else
                 f'<rect x="{x - 60}" y="{y - 18}" width="120" height="36" rx="6" '
                 f'fill="{"#ffffff" if kind == "box" else "#eeeeee"}" stroke="#333"/>')
        parts.append(f'<g id="{item_id}" class="node"><title>{item_id}</title>{shape}'
                     f'<text x="{x}" y="{y + 4}" text-anchor="middle" font-size="11">'
                     f'{html.escape(label)}</text></g>')
    width = 140 + 150 * (max(p[0] for p in position.values()) + 1)
    height = 80 + 70 * max(rows.values())
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}">'
            + "".join(parts) + "</svg>")


def _time_step_bands(view, position, xy, height):
    """A labelled band behind each time step's ops and variables, for an unrolled recurrence
    (the clusters dot draws)."""
    levels = {}
    for node in view.nodes:
        scope = time_step_of(node)
        if scope is not None:
            for item_id in (op_id(node), box_id(node)):
                levels.setdefault(scope, []).append(position[item_id][0])
    bands = []
    for scope, found in levels.items():
        left, right = xy_of_level(xy, position, min(found)), xy_of_level(xy, position, max(found))
        bands.append(f'<rect x="{left - 68}" y="4" width="{right - left + 136}" '
                     f'height="{height - 8}" rx="8" fill="#eef0fb" stroke="#8888cc"/>'
                     f'<text x="{left - 62}" y="18" font-size="11" fill="#555">time step '
                     f'{html.escape(step_label(scope))}</text>')
    return bands


def xy_of_level(xy, position, level):
    item_id = next(item for item, (lvl, _) in position.items() if lvl == level)
    return xy(item_id)[0]


def fallback_drawing(view):
    """Our own layered drawing when ``dot`` is not installed, else None (dot draws it)."""
    if shutil.which("dot") is not None:
        return None
    return fallback_svg(view)
