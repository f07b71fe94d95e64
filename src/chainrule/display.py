"""How chainrule's objects look in a Jupyter notebook: small HTML tables and bars, and drawings
(DOT text and files that show as the picture they describe).

This is the one home of the notebook display code. IPython shows an object through its
``_repr_html_`` (or ``_repr_svg_``, ``_repr_png_``) method when it has one; the methods live on
the objects and build their markup here. Everything is
escaped, inline-styled and self-contained, so a saved notebook shows the same thing offline.
"""
import html
from pathlib import Path

from .backend import xp
from .errors import ChainruleError

SMALL_TENSOR = 64          # entries shown in full; larger tensors are summarised
BAR_WIDTH_PX = 120

_TABLE = ('<table style="border-collapse: collapse; font-size: 12px; margin: 4px 0">'
          '{head}{body}</table>')
_CELL = 'style="padding: 2px 8px; border-bottom: 1px solid #ddd; text-align: {align}"'


def escape(value):
    return html.escape(str(value), quote=True)


def table(header, rows, align=None):
    """An HTML table; ``rows`` hold cells that are already HTML (escape text first)."""
    align = align or ["left"] * len(header)
    head = "<tr>" + "".join(f"<th {_CELL.format(align=a)}>{escape(h)}</th>"
                            for h, a in zip(header, align)) + "</tr>"
    body = "".join("<tr>" + "".join(f"<td {_CELL.format(align=a)}>{cell}</td>"
                                    for cell, a in zip(row, align)) + "</tr>" for row in rows)
    return _TABLE.format(head=f"<thead>{head}</thead>", body=f"<tbody>{body}</tbody>")


def bar(fraction, color="#4a86e8"):
    """A horizontal bar, ``fraction`` (0..1) of the full width."""
    fraction = min(max(float(fraction), 0.0), 1.0)
    width = round(BAR_WIDTH_PX * fraction)
    return (f'<div style="width: {BAR_WIDTH_PX}px; background: #eee; height: 8px">'
            f'<div class="bar" style="width: {width}px; background: {color}; height: 8px">'
            f'</div></div>')


def verdict(passed, text):
    color = "#1e7b34" if passed else "#c00000"
    return f'<span style="color: {color}; font-weight: bold">{escape(text)}</span>'


def box(title, body):
    return (f'<div style="font-family: Helvetica, Arial, sans-serif; font-size: 13px">'
            f'<div style="font-weight: bold; margin-bottom: 2px">{title}</div>{body}</div>')


def shape_text(shape):
    return "scalar" if len(shape) == 0 else "(" + "x".join(str(n) for n in shape) + ")"


# -- tensors and modules --------------------------------------------------------------------------

def tensor_html(tensor):
    """One line of facts (shape, dtype, op or requires_grad) and the values: all of them for a
    small tensor, their count, min, max and mean for a large one."""
    data = tensor._data
    facts = [shape_text(data.shape), str(data.dtype)]
    if not tensor.is_leaf:
        facts.append(f"op={tensor.node.op.name}")
    elif tensor.requires_grad:
        facts.append("requires_grad")
    if tensor.grad is not None:
        facts.append("has .grad")
    title = f"tensor {escape(', '.join(facts))}"
    if data.size <= SMALL_TENSOR:
        text = xp.array2string(data, separator=", ", threshold=SMALL_TENSOR)
        return box(title, f'<pre style="margin: 2px 0">{escape(text)}</pre>')
    return box(title, _summary_table(data))


def _summary_table(data):
    if data.dtype.kind not in "iufb":
        return f"<p>{data.size:,} entries</p>"
    values = data.astype(xp.float64)
    finite = values[xp.isfinite(values)]
    cells = [f"{data.size:,}"]
    if finite.size:
        cells += [f"{finite.min():.6g}", f"{finite.max():.6g}", f"{finite.mean():.6g}"]
    else:
        cells += ["-", "-", "-"]
    cells.append(f"{values.size - finite.size:,}")
    return table(["entries", "min", "max", "mean", "not finite"], [cells],
                 ["right"] * 5)


def module_html(module):
    """The module tree as a table: each submodule's name, type and options, and the number of
    parameters it holds itself; the total below."""
    rows = []
    for name, child in module.named_modules():
        depth = 0 if name == "" else name.count(".") + 1
        own = _count(child) - sum(_count(grandchild) for _, grandchild in child.named_children())
        label = "&nbsp;" * 4 * depth + escape(name or "(top)")
        rows.append([label, escape(type(child).__name__), escape(child.extra_repr()),
                     f"{own:,}" if own else ""])
    total = _count(module)
    nbytes = sum(int(p._data.nbytes) for p in module.parameters())
    body = table(["name", "type", "options", "parameters"], rows,
                 ["left", "left", "left", "right"])
    title = (f"{escape(type(module).__name__)}: {total:,} parameters ({nbytes:,} bytes), "
             f"{'training' if module.training else 'eval'} mode")
    return box(title, body)


def _count(module):
    return sum(int(p._data.size) for p in module.parameters())


# -- drawings -------------------------------------------------------------------------------------

RENDER_TIMEOUT_S = 60


def run_dot(text, kind="svg"):
    """``dot -T<kind>`` on ``text``: the output bytes, or None when Graphviz's dot is not
    installed.

    >>> svg = run_dot("digraph { a -> b }")
    >>> svg is None or b"<svg" in svg
    True
    """
    import shutil
    import subprocess
    program = shutil.which("dot")
    if program is None:
        return None
    try:
        done = subprocess.run([program, f"-T{kind}"], input=text.encode(), capture_output=True,
                              timeout=RENDER_TIMEOUT_S)
    except subprocess.TimeoutExpired as error:
        raise ChainruleError(f"dot did not finish within {RENDER_TIMEOUT_S} s") from error
    if done.returncode != 0:
        raise ChainruleError(f"dot failed: {done.stderr.decode(errors='replace').strip()}")
    return done.stdout


def svg_from_dot(dot_text, fallback=None):
    """The SVG element dot draws for ``dot_text``, or ``fallback`` without dot."""
    svg = run_dot(dot_text, "svg")
    if svg is None:
        return fallback
    text = svg.decode("utf-8")
    return text[text.find("<svg"):] if "<svg" in text else text


class DotSource(str):
    """DOT text (a str) that a notebook shows as the drawing it describes; without Graphviz,
    as ``fallback_svg``.

    >>> source = DotSource("digraph { a -> b }", fallback_svg="<svg></svg>")
    >>> source.startswith("digraph"), "<svg" in source._repr_svg_()
    (True, True)
    """

    def __new__(cls, text, fallback_svg=None):
        source = super().__new__(cls, text)
        source._fallback_svg = fallback_svg
        return source

    def _repr_svg_(self):
        return svg_from_dot(str(self), self._fallback_svg)


class RenderedPath(type(Path())):
    """A path to a drawing (a Path) that a notebook shows as the drawing in it: SVG, PNG, or
    DOT drawn by Graphviz.

    >>> RenderedPath("graph.svg").suffix
    '.svg'
    """

    def _repr_svg_(self):
        suffix = self.suffix.lower()
        if suffix == ".svg":
            text = self.read_text(encoding="utf-8")
            return text[text.find("<svg"):] if "<svg" in text else text
        if suffix == ".dot":
            return svg_from_dot(self.read_text(encoding="utf-8"))
        return None

    def _repr_png_(self):
        return self.read_bytes() if self.suffix.lower() == ".png" else None
