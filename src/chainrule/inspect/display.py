"""The graph and the memory ledger as a notebook shows them.

``draw(loss)`` is the drawing as an object: a notebook cell shows it as SVG, by Graphviz's
``dot`` when it is installed and by a simple layered drawing of our own otherwise. ``to_dot``
returns its text as a ``DotSource`` (a str that draws itself the same way) and ``render`` its
file as a ``RenderedPath`` (a Path that shows the file it names), so existing code that reads
them as text or paths is unchanged.
"""
from pathlib import Path

from .. import display


def _svg_from_dot(dot_text, fallback):
    from .graph import run_dot
    svg = run_dot(dot_text, "svg")
    if svg is None:
        return fallback
    text = svg.decode("utf-8")
    return text[text.find("<svg"):] if "<svg" in text else text


def _fallback_drawing(view):
    """Our own layered drawing, used when ``dot`` is not installed."""
    import shutil
    if shutil.which("dot") is not None:
        return None
    from .html import _fallback_svg
    return _fallback_svg(view)


class DotSource(str):
    """DOT text (a str) that a notebook shows as the drawing it describes."""

    def __new__(cls, text, fallback_svg=None):
        source = super().__new__(cls, text)
        source._fallback_svg = fallback_svg
        return source

    def _repr_svg_(self):
        return _svg_from_dot(str(self), self._fallback_svg)


class GraphDrawing:
    """The computational graph of a tensor, to look at: a notebook cell shows it as SVG.

    ``.dot`` is its Graphviz DOT text and ``.svg`` the drawing: ``dot``'s when Graphviz is
    installed, else a simple layered drawing. It holds text only, not the graph's arrays.
    """

    def __init__(self, dot, name, nodes):
        self.dot = dot
        self.name = name
        self.nodes = nodes
        self._svg = None

    @property
    def svg(self):
        if self._svg is None:
            self._svg = self.dot._repr_svg_()
        return self._svg

    def _repr_svg_(self):
        return self.svg

    def __repr__(self):
        return f"<graph of {self.name}: {self.nodes} nodes; .dot is its DOT text, .svg its drawing>"


def draw(tensor, params=None, show_grad=True, group_by=None):
    """The graph that produced ``tensor`` as a ``GraphDrawing``, which Jupyter shows as SVG;
    the options are ``to_dot``'s."""
    from .graph import GraphView, to_dot
    view = tensor if isinstance(tensor, GraphView) else GraphView(tensor, params)
    return GraphDrawing(to_dot(view, show_grad=show_grad, group_by=group_by),
                        view.name(view.root), len(view.nodes))


class RenderedPath(type(Path())):
    """The path ``render`` wrote (a Path) that a notebook shows as the drawing in it."""

    def _repr_svg_(self):
        suffix = self.suffix.lower()
        if suffix == ".svg":
            text = self.read_text(encoding="utf-8")
            return text[text.find("<svg"):] if "<svg" in text else text
        if suffix == ".dot":
            return _svg_from_dot(self.read_text(encoding="utf-8"), None)
        return None

    def _repr_png_(self):
        return self.read_bytes() if self.suffix.lower() == ".png" else None


# -- the memory ledger ----------------------------------------------------------------------------

def memory_html(report):
    """The ledger as an HTML table, a bar per node scaled to the largest, and the totals."""
    from .memory import _size
    largest = max((row.extra_bytes for row in report.rows), default=0) or 1
    rows = []
    for row in report.rows:
        saved = "<br>".join(display.escape(_saved_text(item)) for item in row.saved)
        rows.append([display.escape(row.variable), display.escape(row.op),
                     display.escape(row.module), f"{row.extra_bytes:,}",
                     display.bar(row.extra_bytes / largest), saved])
    ledger_table = display.table(
        ["variable", "op", "module", "extra bytes", "", "saved for backward"], rows,
        ["left", "left", "left", "right", "left", "left"])
    most = max(report.training_bytes, report.inference_bytes) or 1
    totals = display.table(["", "bytes", ""], [
        [f"training keeps (saved {display.escape(_size(report.saved_bytes))} + the output "
         f"{display.escape(report.output_name)})", display.escape(_size(report.training_bytes)),
         display.bar(report.training_bytes / most, "#e06666")],
        [f"prediction keeps (the output {display.escape(report.prediction_name)} alone)",
         display.escape(_size(report.inference_bytes)),
         display.bar(report.inference_bytes / most, "#6aa84f")],
        ["training - prediction", display.escape(_size(report.extra_bytes)),
         f"training keeps {report.ratio:.1f}x as much"],
        ["parameters referenced (0 extra)", display.escape(_size(report.parameter_bytes)), ""],
        ["inputs referenced (0 extra)", display.escape(_size(report.input_bytes)), ""],
    ], ["left", "right", "left"])
    modules = ", ".join(f"{display.escape(k)}: {display.escape(_size(v))}"
                        for k, v in report.by_module.items()) or "none"
    title = (f"Memory the graph of {display.escape(report.objective)} keeps for backward "
             f"(each buffer counted once)")
    body = ledger_table + f"<p>per module: {modules}</p>" + totals
    if report.measured:
        measured = report.measured
        body += display.table(["measured with tracemalloc", "training", "prediction"], [
            ["held after the forward pass", f"{measured['training_retained_bytes']:,}",
             f"{measured['inference_retained_bytes']:,}"],
            ["peak during the forward pass", f"{measured['training_peak_bytes']:,}",
             f"{measured['inference_peak_bytes']:,}"],
        ], ["left", "right", "right"])
    return display.box(title, body)


def _saved_text(item):
    from .memory import _item_text
    return _item_text(item)
