"""One self-contained HTML page for a graph: walk the backward pass step by step (or the forward
pass), or click a variable or an op to see its value, its gradient, its chain-rule step and the
bytes it keeps for backward.

The graph is inline SVG from Graphviz's ``dot`` when it is installed, otherwise a simple layered
layout drawn here; it fits its pane (the wheel zooms, a drag pans). The data, CSS and JavaScript
are inline too (stepthrough.py), so the page needs no network.
"""
import html
from pathlib import Path

from .explain import build_steps, report_for
from .gradients import engine_gradients
from .graph import GraphView, box_id, constant_id, edges, op_id, run_dot
from .stepthrough import CSS, widget


def to_html(loss, path, params=None):
    """Write the page for ``loss``'s graph to ``path`` and return the path. Like explain, it
    needs the graph's saved arrays: call it before backward() or after
    ``backward(retain_graph=True)``."""
    view = loss if isinstance(loss, GraphView) else GraphView(loss, params)
    grads, contributions = engine_gradients(view)
    report = report_for(view, grads, contributions, build_steps(view, grads, contributions))
    svg = run_dot(report.dot, "svg")
    svg = _strip_prolog(svg.decode()) if svg is not None else _fallback_svg(view)
    summary = (f"{report.summary} Step through with Next/Previous or the arrow keys, or click "
               f"a box (a variable) or a circle (an op).")
    page = _PAGE.format(title=html.escape(f"chainrule: the graph of {view.name(view.root)}"),
                        css=CSS, body=widget(report.data, svg, "", "page", summary))
    path = Path(path)
    path.write_text(page, encoding="utf-8")
    return path


def _strip_prolog(svg):
    start = svg.find("<svg")
    return svg[start:] if start >= 0 else svg


def _fallback_svg(view):
    """A layered drawing, input side on the left, for when Graphviz is not installed."""
    depth = {}
    items = []  # (id, kind, label, depth)
    for node in view.nodes:  # creation order, so every parent comes first
        parents = [depth[box_id(p)] for p in node.parents if p is not None]
        level = max(parents, default=-1) + 1
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

    parts = []
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


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>body {{ margin: 0; }} {css}</style>
</head>
<body>
{body}
</body>
</html>
"""
