"""One self-contained HTML page for a graph: walk the backward pass step by step (or the forward
pass), or click a variable or an op to see its value, its gradient, its chain-rule step and the
bytes it keeps for backward.

The graph is inline SVG from Graphviz's ``dot`` when it is installed, otherwise a simple layered
layout drawn here; it fits its pane (the wheel zooms, a drag pans). The data, CSS and JavaScript
are inline too (stepthrough.py), so the page needs no network.
"""
import html
from pathlib import Path

from ..serialize.atomic import atomic_write
from .explain import build_steps, report_for
from .gradients import engine_gradients
from .graph import GraphView
from .page import PAGE, page_svg
from .stepthrough import asset, time_steps_html, widget


def to_html(loss, path, params=None, compiled=None):
    """Write the page for ``loss``'s graph to ``path`` and return the path. Like explain, it
    needs the graph's saved arrays: call it before backward() or after
    ``backward(retain_graph=True)``. ``compiled``: a ``cr.compile``'d step of the same model,
    whose program is shown beside the graph, each line linked to its step."""
    if compiled is not None:
        from .compiled_code import compiled_page
        return compiled_page(compiled, loss, path, params)
    view = loss if isinstance(loss, GraphView) else GraphView(loss, params)
    grads, contributions = engine_gradients(view)
    report = report_for(view, grads, contributions, build_steps(view, grads, contributions))
    svg = page_svg(report, view)
    summary = (f"{report.summary} Step through with Next/Previous or the arrow keys, or click "
               f"a box (a variable) or a circle (an op).")
    page = PAGE.format(title=html.escape(f"chainrule: the graph of {view.name(view.root)}"),
                       css=asset("stepthrough.css"),
                       body=widget(report.data, svg, "", "page", summary)
                       + time_steps_html(report))
    path = Path(path)
    atomic_write(path, [page.encode("utf-8")], what="page")
    return path
