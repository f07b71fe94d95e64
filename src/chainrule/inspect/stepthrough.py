"""The step-through: the backward pass (or the forward pass) one step at a time, beside the graph.

``inspect.to_html`` writes it as a page and ``explain``'s report shows it in a notebook. Every
number and formula is computed here, in Python, when the report is made, and embedded as JSON
(text only: no array outlives the call); the inline JavaScript only shows it. It lists the steps
in the engine's order; Previous/Next and the arrow keys walk them; each step highlights its node
in the graph (and, lighter, the nodes it covers and the ones its gradient came from) and shows
its formula with shapes, the upstream gradient (a small array in full, a large one summarised)
and, where the variable fed several ops, each op's contribution and their sum. A forward mode
walks the ops in the order the forward pass made them.

The graph fits its pane: its SVG is scaled through the viewBox, the wheel zooms around the
pointer and a drag pans. Everything is inline (no network), and every element id carries a
per-render prefix, so a notebook can show the same report twice without a clash.
"""
import html
import json
import os
import re
from importlib import resources

import numpy

from .graph import box_label, format_shape, grad_norm
from .layout import box_id, constant_id, op_id
from .timescope import at_step

SMALL_ARRAY = 64  # entries shown in full; a larger array is summarised (its corners and stats)


# -- the data -------------------------------------------------------------------------------------

class Numbers:
    """Each array's norm and text, computed once per report: the same gradient shows in several
    places (a step's result, the next step's upstream gradient, the node's panel)."""

    def __init__(self):
        self._norms, self._texts, self._arrays = {}, {}, []

    def known(self, array, norm):
        self._remember(array)
        self._norms[id(array)] = norm

    def norm(self, array):
        if id(array) not in self._norms:
            self.known(array, grad_norm(array))
        return self._norms[id(array)]

    def text(self, array):
        if array is None:
            return None
        if id(array) not in self._texts:
            self._remember(array)
            self._texts[id(array)] = array_text(array, self.norm)
        return self._texts[id(array)]

    def _remember(self, array):
        self._arrays.append(array)  # alive while cached, so that its id stays its own


def array_text(array, norm=grad_norm):
    """``{"text", "full"[, "stats"]}`` for an array: all of it when small, else its corners and
    its count, min, max, mean and norm. None for None (a value the graph did not keep)."""
    if array is None:
        return None
    original, array = array, numpy.asarray(array)
    if array.dtype.kind not in "iufb" or array.size == 0:
        return {"text": f"{array.size:,} entries of {array.dtype}", "full": False}
    if array.size == 1:
        return {"text": f"{float(array.ravel()[0]):.6g}", "full": True}
    if array.dtype.kind == "f":
        array = array + 0.0  # -0.0 (a ReLU's masked gradient, say) shown as 0
    options = {"precision": 4, "max_line_width": 100, "floatmode": "maxprec_equal"}
    if array.size <= SMALL_ARRAY:
        return {"text": numpy.array2string(array, threshold=array.size + 1, **options),
                "full": True}
    with numpy.errstate(all="ignore"):  # inf - inf in the mean of a diverged gradient
        stats = (f"{array.size:,} entries, {format_shape(array.shape)}: "
                 f"min {float(array.min()):.4g}, max {float(array.max()):.4g}, "
                 f"mean {float(array.mean(dtype=numpy.float64)):.4g}, "
                 f"norm {norm(original):.4g}")
    corners = numpy.array2string(array, threshold=0, edgeitems=2 if array.ndim <= 2 else 1,
                                 **options)
    return {"text": corners, "full": False, "stats": stats}


def backward_data(view, grads, contributions, steps, numbers=None):
    """One entry per backward step: what the page shows for it."""
    numbers = numbers or Numbers()
    obj = view.name(view.root)
    by_seq = {node.seq: node for node in view.nodes}
    entries = []
    for step in steps:
        node = by_seq[step.node_ids[0]]
        numbers.known(grads[node], step.grad_norm)
        covered = set(step.node_ids)
        sources = _sources(view, node, covered)
        parts = contributions[node]
        entry = _step_entry(step)
        entry.update(
            node=box_id(node),
            covered=[i for seq in step.node_ids[1:] for i in _ids(by_seq[seq])],
            sources=[box_id(source) for source in sources],
            upstream=[{"label": _d(obj, view.name(source)), "shape": format_shape(source.shape),
                       "value": numbers.text(grads[source])} for source in sources],
            contributions=[] if len(parts) < 2 else [
                {"label": f"from {part.consumer.op.name} {view.name(part.consumer)} (its input "
                          f"{part.consumer.op.input_name(part.position)})"
                          + at_step(part.consumer, " at "),
                 "shape": format_shape(numpy.shape(part.value)),
                 "norm": f"{numbers.norm(part.value):.6g}", "value": numbers.text(part.value)}
                for part in parts],
            consumers=len({id(part.consumer) for part in parts}),
            grad=numbers.text(grads[node]))
        entries.append(entry)
    return entries


def forward_data(view, forward):
    """One entry per forward step (an op, in the order the forward pass ran it)."""
    by_seq = {node.seq: node for node in view.nodes}
    entries = []
    for step in forward:
        node = by_seq[step.node_ids[0]]
        inputs = [box_id(parent) if parent is not None else
                  constant_id(view.inputs[(node, position)])
                  for position, parent in enumerate(node.parents)]
        entries.append({
            "index": step.index, "title": f"{step.index}. {step.definition}",
            "definition": step.definition, "name": step.name, "shapes": step.shapes,
            "module": step.module, "node": op_id(node), "covered": [box_id(node)],
            "sources": list(dict.fromkeys(inputs)), "value": array_text(view.value(node)),
            "kept": view.value(node) is not None})
    return entries


def manual_data(steps, values):
    """Entries for steps without a graph (explain_manual): formula, shapes, norm, gradient."""
    entries = []
    for step, value in zip(steps, values):
        entry = _step_entry(step)
        entry.update(node=None, covered=[], sources=[], grad=array_text(value))
        entries.append(entry)
    return entries


def _step_entry(step):
    gradient = step.formula.split(" = ", 1)[0]
    return {"index": step.index, "title": f"{step.index}. {step.definition}",
            "definition": step.definition, "name": step.name, "formula": step.formula,
            "shapes": step.shapes, "gradient": gradient,
            "grad_shape": format_shape(step.grad_shape),
            "norm": f"{step.grad_norm:.6g}", "notes": list(step.notes) + _over_time(step),
            "module": (step.module or step.scope) if step.scope else None}


def _over_time(step):
    """The time steps' contributions to a weight shared by the steps, as one note."""
    if not step.time_steps:
        return []
    parts = ", ".join(f"{label} {shape} |.|={norm:.4g}" for label, shape, norm in step.time_steps)
    return [f"over time: the sum of {len(step.time_steps)} time steps' contributions: {parts}"]


def _sources(view, node, covered):
    """The nodes whose gradients flowed into ``node``'s step: its consumers, looking through the
    nodes the step itself covers (W2's transpose, say)."""
    found, queue, seen = [], [node], set()
    while queue:
        current = queue.pop(0)
        for consumer, _ in view.consumers[current]:
            if consumer in seen:
                continue
            seen.add(consumer)
            (queue if consumer.seq in covered else found).append(consumer)
    return found


def _ids(node):
    return [box_id(node)] + ([op_id(node)] if node.op is not None else [])


def _d(obj, name):
    """dJ/dh, dJ/dW2^T, dJ/d(h W2^T)."""
    return f"d{obj}/d{name}" if re.fullmatch(r"[\w.]+(\^T)?", name) else f"d{obj}/d({name})"


def node_data(view, grads, steps, report, numbers=None):
    """What clicking a node shows: its value, gradient, chain-rule step and saved bytes."""
    numbers = numbers or Numbers()
    step_of = {}
    for step in steps:
        for seq in step.node_ids:
            step_of.setdefault(seq, step)
    rows = {row.seq: row for row in report.rows}
    holders = {}
    for row in report.rows:
        for item in row.saved:
            holders.setdefault(item.what, []).append(f"{row.variable} ({row.op}) as '{item.name}'")
    data = {}
    for node in view.nodes:
        name = view.name(node)
        step = step_of.get(node.seq)
        row = rows.get(node.seq)
        entry = {
            "name": name, "label": box_label(view, node, show_grad=False).split("\n")[0],
            "op": node.name, "shape": format_shape(node.shape), "dtype": str(node.dtype),
            "scope": view.module_label(node.scope), "value": summary_of(view.value(node)),
            "grad": {"shape": format_shape(node.shape),
                     "norm": f"{numbers.norm(grads[node]):.6g}"},
            "step": None if step is None else {
                "index": step.index, "of": len(steps), "definition": step.definition,
                "formula": step.formula, "shapes": step.shapes, "notes": step.notes},
            "saved": None if row is None else {
                "bytes": row.extra_bytes,
                "items": [f"{i.name} = {i.what} {format_shape(i.shape)}: "
                          f"{i.extra_bytes:,} B extra ({i.kind}"
                          + (f", same buffer as {i.shared_with}" if i.shared_with else "") + ")"
                          for i in row.saved]},
            "held_by": holders.get(name, []),
        }
        data[box_id(node)] = dict(entry, kind="variable")
        if node.op is not None:
            data[op_id(node)] = dict(entry, kind="op")
    for constant in view.constants:
        value = constant.value if hasattr(constant.value, "shape") else None
        data[constant_id(constant)] = {
            "name": constant.name, "label": constant.name, "op": "constant (no gradient)",
            "shape": format_shape(constant.shape), "dtype": str(constant.dtype), "scope": "-",
            "value": summary_of(value), "grad": None, "step": None, "saved": None,
            "held_by": holders.get(constant.name, []), "kind": "constant"}
    return data


def summary_of(array):
    if array is None:
        return None
    array = numpy.asarray(array)
    if array.size == 0 or array.dtype.kind not in "iufb":
        return {"size": int(array.size)}
    return {"min": f"{array.min():.6g}", "max": f"{array.max():.6g}",
            "mean": f"{array.astype(numpy.float64).mean():.6g}", "size": int(array.size)}


# -- the markup -----------------------------------------------------------------------------------

def new_prefix():
    """A fresh prefix for one render's element ids."""
    return f"cr{os.urandom(5).hex()}-"


def fit_svg(svg, prefix=""):
    """The SVG scaled to fill its pane (its viewBox kept, width and height 100%), every id in it
    prefixed."""
    svg = svg[svg.find("<svg"):] if "<svg" in svg else svg
    end = svg.find(">")
    tag, body = svg[:end], svg[end:]
    if "viewBox" not in tag:
        size = [re.search(rf'\s{a}="([\d.]+)', tag) for a in ("width", "height")]
        if all(size):
            tag += f' viewBox="0 0 {size[0].group(1)} {size[1].group(1)}"'
    tag = re.sub(r'\s(width|height|preserveAspectRatio)="[^"]*"', "", tag)
    tag += ' width="100%" height="100%" preserveAspectRatio="xMidYMid meet"'
    if prefix:
        body = re.sub(r'(?<=\s)id="([^"]*)"', lambda m: f'id="{prefix}{m.group(1)}"', body)
    return tag + body


def widget(data, svg=None, prefix="", layout="embed", summary=""):
    """The step-through's markup with its data and script (its CSS is
    ``asset("stepthrough.css")``): the controls, the graph across the top, the list of steps
    and the detail below. ``layout`` "page" fills the window and the arrow keys work anywhere on
    it; "embed" (a notebook cell) has a fixed height and takes the arrow keys and the wheel once
    it has the focus (a click in it), so a notebook keeps them otherwise. ``svg`` None: no graph pane. Element ids start with
    ``prefix``."""
    esc = html.escape
    modes = [mode for mode in ("backward", "forward") if data.get(mode)]
    classes = f"cr-stepper cr-{layout}" + ("" if svg is not None else " cr-nograph")
    mode_buttons = "".join(
        f'<button type="button" class="cr-mode" data-mode="{mode}" '
        f'aria-pressed="{"true" if mode == "backward" else "false"}">{mode} pass</button>'
        for mode in modes) if len(modes) > 1 else ""
    zoom = ('<span class="cr-sep"></span><button type="button" class="cr-zoom-out" '
            'title="zoom out">&minus;</button><button type="button" class="cr-zoom-in" '
            'title="zoom in">+</button><button type="button" class="cr-fit" '
            'title="fit the graph to the pane">fit</button>') if svg is not None else ""
    hint = ("&larr; &rarr; keys step" + ("; wheel zooms, drag pans, click a node for its "
                                          "value, gradient and bytes" if svg is not None else "")
            + ("" if layout == "page" else " (click here first)"))
    lists = "".join(_step_list(mode, data[mode], hidden=mode != "backward") for mode in modes)
    graph = ("" if svg is None else
             f'<div class="cr-graph" id="{prefix}graph">{fit_svg(svg, prefix)}</div>')
    count = len(data.get("backward", []))
    return (
        f'<div class="{classes}" id="{prefix}root" tabindex="0" '
        f'data-lm-suppress-shortcuts="true" data-p-suppress-shortcuts="true">'
        f'<div class="cr-bar">'
        + (f'<div class="cr-summary">{esc(summary)}</div>' if summary else "")
        + f'<div class="cr-controls">{mode_buttons}'
        f'<button type="button" class="cr-prev" title="previous step (&larr;)">&#9664; '
        f'Previous</button><span class="cr-pos">{count} steps</span>'
        f'<button type="button" class="cr-next" title="next step (&rarr;)">Next &#9654;</button>'
        f'{zoom}<span class="cr-hint">{hint}</span></div></div>'
        f'{graph}'
        f'<div class="cr-panel" id="{prefix}panel">{_intro("backward", count, svg is not None)}'
        f'</div>{lists}'
        f'<script type="application/json" class="cr-data">{_json(data)}</script>'
        f'<script>{asset("stepthrough.js")}("{prefix}");</script></div>')


def _step_list(mode, entries, hidden):
    items = []
    for entry in entries:
        if mode == "backward":
            body = (f'<code>{html.escape(entry["formula"])}</code>'
                    f'<code class="cr-muted">shapes: {html.escape(entry["shapes"])}</code>'
                    f'<span class="cr-norm">norm |{html.escape(entry["gradient"])}| = '
                    f'{html.escape(entry["norm"])}</span>')
        else:
            body = f'<code class="cr-muted">shapes: {html.escape(entry["shapes"])}</code>'
        items.append(f'<li data-index="{entry["index"]}"><span class="cr-li-title">'
                     f'{html.escape(entry["definition"])}</span>{body}</li>')
    return (f'<ol class="cr-steps" data-mode="{mode}"{" hidden" if hidden else ""}>'
            + "".join(items) + "</ol>")


def _intro(mode, count, graph):
    what = ("the backward pass, in the order the engine runs it" if mode == "backward" else
            "the forward pass, in the order it ran")
    click = " Or click a node of the graph." if graph else ""
    return (f'<p class="cr-muted">{count} steps: {what}. Press Next (or the &rarr; key) for the '
            f'first.{click}</p>')


def _json(data):
    return json.dumps(data).replace("</", "<\\/").replace("<!--", "<\\!--")


def asset(name):
    """The text of a file in inspect/assets/ (the step-through's stylesheet and script), read
    from the installed package: they ship in the wheel as package data."""
    if name not in _ASSETS:
        _ASSETS[name] = resources.files(__package__).joinpath("assets", name).read_text("utf-8")
    return _ASSETS[name]


_ASSETS = {}


def report_html(report, prefix=None):
    """explain's report as notebook HTML: its header, then the step-through."""
    prefix = new_prefix() if prefix is None else prefix
    header = "".join(f"<p>{html.escape(line)}</p>" for line in report.header.splitlines())
    svg = report.svg
    return (f'<div class="cr-report" style="font-family: Helvetica, Arial, sans-serif; '
            f'font-size: 13px"><style>{asset("stepthrough.css")}</style>{header}'
            f'{widget(report.data, svg, prefix, "embed", report.summary)}'
            f'{time_steps_html(report)}</div>')


def time_steps_html(report):
    """Below the step-through of an unrolled recurrence: ||dJ/dh_t|| per time step."""
    if getattr(report, "time_steps", None) is None:
        return ""
    from .timesteps import time_step_html
    return f'<div style="margin: 8px 12px">{time_step_html(report.time_steps)}</div>'



def step_html(step):
    """One step (a ``Step`` or a ``ForwardStep``) as a small HTML card."""
    esc = html.escape
    lines = [f"<b>{step.index}. {esc(step.definition)}</b>"]
    if getattr(step, "formula", None) is not None:
        gradient = step.formula.split(" = ", 1)[0]
        lines += [f"<code>{esc(step.formula)}</code>", f"<code>shapes: {esc(step.shapes)}</code>",
                  f"norm |{esc(gradient)}| = {step.grad_norm:.6g}"]
        lines += [f'<span style="color: #777">note: {esc(note)}</span>' for note in step.notes]
    else:
        lines.append(f"<code>shapes: {esc(step.shapes)}</code>")
    return ('<div style="font-family: Helvetica, Arial, sans-serif; font-size: 13px">'
            + "<br>".join(lines) + "</div>")
