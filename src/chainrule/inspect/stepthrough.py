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

import numpy

from .graph import box_id, box_label, constant_id, format_shape, grad_norm, op_id

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
                          f"{part.consumer.op.input_name(part.position)})",
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
            "norm": f"{step.grad_norm:.6g}", "notes": list(step.notes),
            "module": (step.module or step.scope) if step.scope else None}


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
    """The step-through's markup with its data and script (the CSS is ``CSS``): the controls,
    the graph across the top, the list of steps and the detail below. ``layout`` "page" fills
    the window and the arrow keys work anywhere on it; "embed" (a notebook cell) has a fixed
    height and takes the arrow keys and the wheel once it has the focus (a click in it), so a
    notebook keeps them otherwise. ``svg`` None: no graph pane. Element ids start with
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
        f'<script>{JS}("{prefix}");</script></div>')


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


CSS = """
.cr-stepper { font-family: Helvetica, Arial, sans-serif; font-size: 13px; color: #222;
  background: #fff; display: grid; box-sizing: border-box; outline: none; text-align: left; }
.cr-stepper * { box-sizing: border-box; }
.cr-stepper [hidden] { display: none !important; }
.cr-stepper { grid-template-columns: minmax(0, 2fr) minmax(0, 3fr);
  grid-template-areas: "bar bar" "graph graph" "steps panel"; }
.cr-stepper.cr-page { height: 100vh; grid-template-rows: auto minmax(0, 1fr) minmax(0, 1fr); }
.cr-stepper.cr-embed { border: 1px solid #ccc; margin: 6px 0;
  grid-template-rows: auto 380px 340px; }
.cr-stepper.cr-embed:focus-within, .cr-stepper.cr-embed:focus { border-color: #6d9eeb; }
.cr-stepper.cr-nograph.cr-embed { grid-template-rows: auto 360px;
  grid-template-areas: "bar bar" "steps panel"; }
.cr-stepper .cr-bar { grid-area: bar; padding: 6px 10px; background: #f3f3f3;
  border-bottom: 1px solid #ddd; }
.cr-stepper .cr-summary { margin-bottom: 4px; }
.cr-stepper .cr-controls { display: flex; flex-wrap: wrap; gap: 6px; align-items: center; }
.cr-stepper button { font: inherit; padding: 2px 9px; border: 1px solid #aaa; border-radius: 4px;
  background: #fff; color: #222; cursor: pointer; }
.cr-stepper button:disabled { color: #aaa; cursor: default; }
.cr-stepper button[aria-pressed="true"] { background: #d9e6fb; border-color: #6d9eeb; }
.cr-stepper .cr-pos { min-width: 8em; text-align: center; font-weight: bold; }
.cr-stepper .cr-sep { width: 10px; }
.cr-stepper .cr-hint { color: #777; font-size: 12px; }
.cr-stepper .cr-graph { grid-area: graph; overflow: hidden; background: #fff; min-height: 0; }
.cr-stepper .cr-graph { border-bottom: 1px solid #ddd; }
.cr-stepper .cr-graph svg { display: block; width: 100%; height: 100%; cursor: grab;
  touch-action: none; user-select: none; }
.cr-stepper .cr-graph svg.cr-dragging { cursor: grabbing; }
.cr-stepper .cr-panel { grid-area: panel; overflow: auto; padding: 10px 14px;
  background: #fafafa; min-height: 0; }
.cr-stepper .cr-panel { border-left: 1px solid #ddd; }
.cr-stepper .cr-panel code { display: block; background: #fff; border: 1px solid #ddd;
  padding: 5px 6px; margin: 4px 0; white-space: pre-wrap; font-size: 12px; color: #222; }
.cr-stepper .cr-panel pre.cr-array { background: #fff; border: 1px solid #e3e3e3; margin: 2px 0 8px;
  padding: 4px 6px; font-size: 11px; line-height: 1.3; overflow: auto; max-height: 14em;
  color: #222; }
.cr-stepper h2 { font-size: 16px; margin: 2px 0 6px; }
.cr-stepper h3 { margin: 12px 0 4px; font-size: 13px; color: #444; }
.cr-stepper p { margin: 3px 0; }
.cr-stepper .cr-kicker { color: #a61c00; font-size: 12px; text-transform: uppercase;
  letter-spacing: 0.03em; }
.cr-stepper .cr-muted { color: #777; }
.cr-stepper .cr-sum { border-left: 3px solid #e69138; padding-left: 8px; }
.cr-stepper .cr-steps { grid-area: steps; overflow: auto; margin: 0; padding: 6px 8px 6px 36px;
  position: relative; min-height: 0; }
.cr-stepper .cr-steps li { cursor: pointer; padding: 3px 4px; margin: 0 0 2px;
  border-radius: 3px; }
.cr-stepper .cr-steps li:hover { background: #f1f1f1; }
.cr-stepper .cr-steps li.cr-on { background: #fde3df; box-shadow: inset 3px 0 0 #cc0000; }
.cr-stepper .cr-steps code { display: block; font-size: 11.5px; white-space: pre-wrap;
  color: #222; background: none; padding: 0; }
.cr-stepper .cr-li-title { font-weight: bold; }
.cr-stepper .cr-norm { display: block; font-size: 11.5px; color: #555; }
.cr-stepper g.node { cursor: pointer; }
.cr-stepper g.node.selected > polygon, .cr-stepper g.node.selected > ellipse,
.cr-stepper g.node.selected > path, .cr-stepper g.node.selected > rect,
.cr-stepper g.node.selected > circle { stroke: #d00; stroke-width: 3px; }
.cr-stepper g.node.cr-current > polygon, .cr-stepper g.node.cr-current > ellipse,
.cr-stepper g.node.cr-current > path, .cr-stepper g.node.cr-current > rect,
.cr-stepper g.node.cr-current > circle { stroke: #cc0000; stroke-width: 4px; fill: #f8c9c2; }
.cr-stepper g.node.cr-covered > polygon, .cr-stepper g.node.cr-covered > ellipse,
.cr-stepper g.node.cr-covered > path, .cr-stepper g.node.cr-covered > rect,
.cr-stepper g.node.cr-covered > circle { stroke: #e69138; stroke-width: 3px; fill: #fce5cd; }
.cr-stepper g.node.cr-source > polygon, .cr-stepper g.node.cr-source > ellipse,
.cr-stepper g.node.cr-source > path, .cr-stepper g.node.cr-source > rect,
.cr-stepper g.node.cr-source > circle { stroke: #3c78d8; stroke-width: 3px; fill: #dbe7fb; }
"""

JS = r"""
(function (prefix) {
  const script = document.currentScript;
  const root = (script && script.closest && script.closest('.cr-stepper')) ||
               document.getElementById(prefix + 'root');
  if (!root || root.getAttribute('data-ready')) return;
  root.setAttribute('data-ready', '1');
  const DATA = JSON.parse(root.querySelector('script.cr-data').textContent);
  const page = root.classList.contains('cr-page');
  const q = sel => root.querySelector(sel);
  const panel = q('.cr-panel'), pos = q('.cr-pos'), prev = q('.cr-prev'), next = q('.cr-next');
  const svg = q('.cr-graph svg');
  const modes = ['backward', 'forward'].filter(m => DATA[m] && DATA[m].length);
  let mode = 'backward', at = 0;
  function esc(text) {
    return String(text).replace(/[&<>"]/g, c => ({'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;'}[c]));
  }
  function graphNode(id) {
    return svg && id ? svg.querySelector('[id="' + prefix + id + '"]') : null;
  }
  function unmark() {
    root.querySelectorAll('.cr-current, .cr-covered, .cr-source, .selected, li.cr-on').forEach(e =>
      e.classList.remove('cr-current', 'cr-covered', 'cr-source', 'selected', 'cr-on'));
  }
  function mark(id, cls) {
    const e = graphNode(id);
    if (e) e.classList.add(cls);
    return e;
  }
  function array(a, role, missing) {
    if (!a) return `<p class="cr-muted">${esc(missing)}</p>`;
    return (a.stats ? `<p class="cr-muted">summarised: ${esc(a.stats)}</p>` : '') +
           `<pre class="cr-array" data-role="${role}">${esc(a.text)}</pre>`;
  }
  function kicker(s, n) {
    return `<p class="cr-kicker">${mode} step ${s.index} of ${n}` +
           (s.module ? ` &middot; module ${esc(s.module)}` : '') + '</p>' +
           `<h2 class="cr-title">${esc(s.definition)}</h2>`;
  }
  function backwardHtml(s, n) {
    let h = kicker(s, n) + '<h3>chain rule</h3>' +
      `<code class="cr-formula">${esc(s.formula)}</code>` +
      `<code class="cr-shapes">shapes: ${esc(s.shapes)}</code>`;
    if (s.upstream) {
      if (!s.upstream.length) {
        h += '<h3>upstream gradient</h3><p class="cr-muted">none: the backward pass starts ' +
             `here, with ${esc(s.gradient)} = 1</p>`;
      } else {
        h += `<h3>upstream gradient${s.upstream.length > 1 ? 's' : ''}</h3>`;
        s.upstream.forEach(u => {
          h += `<p class="cr-from"><b>${esc(u.label)}</b> ${esc(u.shape)}</p>` +
               array(u.value, 'upstream', 'not kept');
        });
      }
    }
    if (s.contributions && s.contributions.length) {
      const k = s.contributions.length;
      h += `<h3>fan-out: ${esc(s.name)} went into ${s.consumers} op${s.consumers > 1 ? 's' : ''} ` +
           `(${k} inputs), so its gradient is the sum of ${k} contributions</h3>` +
           '<div class="cr-sum">';
      s.contributions.forEach((c, i) => {
        h += `<p class="cr-part">${i ? '+ ' : ''}<b>${esc(c.label)}</b> ${esc(c.shape)}, ` +
             `norm ${esc(c.norm)}</p>` +
             array(c.value, 'contribution', 'not kept');
      });
      h += `<p>= <b>${esc(s.gradient)}</b>, the sum (below)</p></div>`;
    }
    h += '<h3>gradient</h3>' +
      `<p class="cr-grad"><b>${esc(s.gradient)}</b> ${esc(s.grad_shape)}, ` +
      `norm |${esc(s.gradient)}| = ${esc(s.norm)}</p>` + array(s.grad, 'gradient', 'not recorded');
    if (s.notes.length) {
      h += '<h3>notes</h3>';
      s.notes.forEach(note => { h += `<p class="cr-muted">${esc(note)}</p>`; });
    }
    return h;
  }
  function forwardHtml(s, n) {
    return kicker(s, n) + '<h3>the op</h3>' +
      `<code class="cr-formula">${esc(s.definition)}</code>` +
      `<code class="cr-shapes">shapes: ${esc(s.shapes)}</code>` +
      `<h3>value of ${esc(s.name)}</h3>` + array(s.value, 'value',
        'not kept by the graph: no VJP needs it, so it was freed after the forward pass');
  }
  function intro(n) {
    const what = mode === 'backward' ? 'the backward pass, in the order the engine runs it'
                                     : 'the forward pass, in the order it ran';
    return `<p class="cr-muted">${n} steps: ${what}. Press Next (or the &rarr; key) for the ` +
           `first.${svg ? ' Or click a node of the graph.' : ''}</p>`;
  }
  function go(i) {
    const steps = DATA[mode] || [];
    at = Math.max(0, Math.min(steps.length, i));
    unmark();
    prev.disabled = at <= 1;
    next.disabled = at >= steps.length;
    if (at === 0) {
      pos.textContent = `${steps.length} steps`;
      panel.innerHTML = intro(steps.length);
      return;
    }
    const s = steps[at - 1];
    pos.textContent = `step ${at} of ${steps.length}`;
    (s.sources || []).forEach(id => mark(id, 'cr-source'));
    (s.covered || []).forEach(id => mark(id, 'cr-covered'));
    const main = mark(s.node, 'cr-current');
    panel.innerHTML = mode === 'backward' ? backwardHtml(s, steps.length)
                                          : forwardHtml(s, steps.length);
    panel.scrollTop = 0;
    const list = q(`ol.cr-steps[data-mode="${mode}"]`);
    const item = list && list.children[at - 1];
    if (item) {
      item.classList.add('cr-on');
      const top = item.offsetTop, bottom = top + item.offsetHeight;
      if (top < list.scrollTop || bottom > list.scrollTop + list.clientHeight) {
        list.scrollTop = top - list.clientHeight / 3;
      }
    }
    if (main) reveal(main);
  }
  function setMode(m) {
    mode = m;
    root.querySelectorAll('button.cr-mode').forEach(b =>
      b.setAttribute('aria-pressed', b.dataset.mode === m ? 'true' : 'false'));
    root.querySelectorAll('ol.cr-steps').forEach(l => { l.hidden = l.dataset.mode !== m; });
    go(0);
  }
  function step(delta) { go(delta > 0 ? at + 1 : Math.max(at ? 1 : 0, at - 1)); }
  prev.addEventListener('click', () => step(-1));
  next.addEventListener('click', () => step(1));
  root.querySelectorAll('button.cr-mode').forEach(b =>
    b.addEventListener('click', () => setMode(b.dataset.mode)));
  root.querySelectorAll('ol.cr-steps').forEach(list =>
    Array.from(list.children).forEach((li, i) => li.addEventListener('click', () => {
      if (list.dataset.mode !== mode) setMode(list.dataset.mode);
      go(i + 1);
    })));
  (page ? document : root).addEventListener('keydown', ev => {
    if (ev.altKey || ev.ctrlKey || ev.metaKey) return;
    if (ev.key === 'ArrowRight' || ev.key === 'ArrowLeft') {
      step(ev.key === 'ArrowRight' ? 1 : -1);
      ev.preventDefault();
      ev.stopPropagation();
    }
  });

  // Clicking a node: its value, gradient, chain-rule step and the bytes it keeps for backward.
  function show(id) {
    const d = (DATA.nodes || {})[id];
    if (!d) return;
    unmark();
    mark(id, 'selected');
    let h = `<h2>${esc(d.label)}</h2><p class="cr-muted">${esc(d.kind)}: ${esc(d.op)}, ` +
            `${esc(d.shape)} ${esc(d.dtype)}, module ${esc(d.scope)}</p>`;
    h += '<h3>value</h3>';
    h += d.value && d.value.min !== undefined
      ? `<p>min ${esc(d.value.min)}, max ${esc(d.value.max)}, mean ${esc(d.value.mean)} (${d.value.size} entries)</p>`
      : '<p class="cr-muted">not kept by the graph: no VJP needed it, so it was freed after the forward pass</p>';
    h += '<h3>gradient</h3>';
    h += d.grad ? `<p>shape ${esc(d.grad.shape)}, norm |g| = ${esc(d.grad.norm)}</p>`
                : '<p class="cr-muted">none: this input needs no gradient</p>';
    h += '<h3>chain rule</h3>';
    if (d.step) {
      h += `<p>step ${d.step.index} of ${d.step.of} of the backward pass: ${esc(d.step.definition)}</p>`;
      h += `<code class="formula">${esc(d.step.formula)}</code><code>${esc(d.step.shapes)}</code>`;
      d.step.notes.forEach(n => { h += `<p class="cr-muted">${esc(n)}</p>`; });
    } else {
      h += '<p class="cr-muted">no step: no gradient flows to it</p>';
    }
    h += '<h3>memory kept for backward</h3>';
    if (d.kind === 'variable' && d.op === 'leaf') {
      h += '<p class="bytes">a parameter: 0 extra bytes (the model holds it in prediction too)</p>';
    } else if (d.kind === 'constant') {
      h += '<p class="bytes">an input: 0 extra bytes (the caller holds it either way)</p>';
    } else if (d.saved) {
      h += `<p class="bytes">this op saved ${d.saved.bytes.toLocaleString('en-US')} bytes extra:</p><ul>`;
      d.saved.items.forEach(i => { h += `<li>${esc(i)}</li>`; });
      h += '</ul>';
    } else {
      h += '<p class="bytes">this op saved 0 bytes for backward</p>';
    }
    if (d.held_by.length) {
      h += `<p>this value is kept by: ${d.held_by.map(esc).join('; ')}</p>`;
    }
    panel.innerHTML = h;
  }

  // The graph fits the pane: its viewBox is the camera; the wheel zooms, a drag pans.
  let reveal = () => {};
  if (svg) {
    const b = svg.viewBox.baseVal;
    const home = [b.x, b.y, b.width, b.height];
    let view = home.slice(), drag = null, moved = false;
    const apply = () => svg.setAttribute('viewBox', view.join(' '));
    const toGraph = (x, y) => {
      const p = svg.createSVGPoint();
      p.x = x; p.y = y;
      return p.matrixTransform(svg.getScreenCTM().inverse());
    };
    const zoom = (factor, cx, cy) => {
      const w = Math.min(home[2] * 2, Math.max(home[2] / 50, view[2] * factor));
      const f = w / view[2];
      view = [cx - (cx - view[0]) * f, cy - (cy - view[1]) * f, view[2] * f, view[3] * f];
      apply();
    };
    const centre = () => [view[0] + view[2] / 2, view[1] + view[3] / 2];
    svg.addEventListener('wheel', ev => {
      if (!page && !root.contains(document.activeElement)) return;  // let the notebook scroll
      ev.preventDefault();
      const p = toGraph(ev.clientX, ev.clientY);
      zoom(Math.exp(ev.deltaY * 0.0015), p.x, p.y);
    }, {passive: false});
    svg.addEventListener('pointerdown', ev => {
      if (ev.button !== 0) return;
      drag = {x: ev.clientX, y: ev.clientY, view: view.slice(), scale: svg.getScreenCTM().a,
              id: ev.pointerId};
      moved = false;
    });
    svg.addEventListener('pointermove', ev => {
      if (!drag) return;
      const dx = ev.clientX - drag.x, dy = ev.clientY - drag.y;
      if (!moved && Math.hypot(dx, dy) < 4) return;
      if (!moved) {
        moved = true;
        svg.setPointerCapture(drag.id);
        svg.classList.add('cr-dragging');
      }
      view = [drag.view[0] - dx / drag.scale, drag.view[1] - dy / drag.scale, view[2], view[3]];
      apply();
    });
    const stop = () => { drag = null; svg.classList.remove('cr-dragging'); };
    svg.addEventListener('pointerup', stop);
    svg.addEventListener('pointercancel', stop);
    svg.addEventListener('click', ev => {
      if (moved) { moved = false; ev.stopPropagation(); ev.preventDefault(); }
    }, true);
    q('.cr-zoom-in').addEventListener('click', () => zoom(1 / 1.3, ...centre()));
    q('.cr-zoom-out').addEventListener('click', () => zoom(1.3, ...centre()));
    q('.cr-fit').addEventListener('click', () => { view = home.slice(); apply(); });
    reveal = e => {  // pan so that a highlighted node is in sight
      const r = e.getBoundingClientRect(), pane = svg.getBoundingClientRect();
      if (r.left >= pane.left && r.right <= pane.right && r.top >= pane.top &&
          r.bottom <= pane.bottom) return;
      const p = toGraph((r.left + r.right) / 2, (r.top + r.bottom) / 2);
      view = [p.x - view[2] / 2, p.y - view[3] / 2, view[2], view[3]];
      apply();
    };
    svg.querySelectorAll('g.node').forEach(g => {
      g.addEventListener('click', () => show(g.id.slice(prefix.length)));
    });
  }
  go(0);
})
"""


def report_html(report, prefix=None):
    """explain's report as notebook HTML: its header, then the step-through."""
    prefix = new_prefix() if prefix is None else prefix
    header = "".join(f"<p>{html.escape(line)}</p>" for line in report.header.splitlines())
    svg = report.svg
    return (f'<div class="cr-report" style="font-family: Helvetica, Arial, sans-serif; '
            f'font-size: 13px"><style>{CSS}</style>{header}'
            f'{widget(report.data, svg, prefix, "embed", report.summary)}</div>')


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
