"""One self-contained HTML page for a graph: click a variable or an op to see its value, its
gradient, its chain-rule step and the bytes it keeps for backward.

The graph is inline SVG from Graphviz's ``dot`` when it is installed, otherwise a simple layered
layout drawn here; the data, CSS and JavaScript are inline too, so the page needs no network.
"""
import html
import json
from pathlib import Path

from ..backend import xp
from .explain import build_steps
from .gradients import engine_gradients
from .graph import (GraphView, box_id, box_label, constant_id, edges, format_shape, grad_norm,
                    op_id, run_dot, to_dot)
from .memory import ledger


def to_html(loss, path, params=None):
    """Write the page for ``loss``'s graph to ``path`` and return the path. Like explain, it
    needs the graph's saved arrays: call it before backward() or after
    ``backward(retain_graph=True)``."""
    view = loss if isinstance(loss, GraphView) else GraphView(loss, params)
    grads, contributions = engine_gradients(view)
    steps = build_steps(view, grads, contributions)
    report = ledger(view)
    data = _node_data(view, grads, steps, report)
    svg = run_dot(to_dot(view, show_grad=False), "svg")
    svg = _strip_prolog(svg.decode()) if svg is not None else _fallback_svg(view)
    page = _PAGE.format(title=html.escape(f"chainrule: the graph of {view.name(view.root)}"),
                        summary=html.escape(_summary(view, steps, report)), svg=svg,
                        data=json.dumps(data).replace("</", "<\\/"), css=_CSS, js=_JS)
    path = Path(path)
    path.write_text(page, encoding="utf-8")
    return path


def _summary(view, steps, report):
    return (f"{len(view.nodes)} nodes, {len(steps)} backward steps; training keeps "
            f"{report.training_bytes:,} B for backward, prediction {report.inference_bytes:,} B. "
            f"Click a box (a variable) or a circle (an op).")


def _node_data(view, grads, steps, report):
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
            "scope": view.module_label(node.scope), "value": _summary_of(view.value(node)),
            "grad": {"shape": format_shape(node.shape), "norm": f"{grad_norm(grads[node]):.6g}"},
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
            "value": _summary_of(value), "grad": None, "step": None, "saved": None,
            "held_by": holders.get(constant.name, []), "kind": "constant"}
    return data


def _summary_of(array):
    if array is None:
        return None
    array = xp.asarray(array)
    if array.size == 0 or array.dtype.kind not in "iufb":
        return {"size": int(array.size)}
    return {"min": f"{array.min():.6g}", "max": f"{array.max():.6g}",
            "mean": f"{array.astype(xp.float64).mean():.6g}", "size": int(array.size)}


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


_CSS = """
body { font-family: Helvetica, Arial, sans-serif; margin: 0; display: flex; height: 100vh; }
#graph { flex: 3; overflow: auto; padding: 8px; border-right: 1px solid #ccc; }
#panel { flex: 2; overflow: auto; padding: 12px 16px; background: #fafafa; }
#panel code { display: block; background: #fff; border: 1px solid #ddd; padding: 6px;
              white-space: pre-wrap; margin: 4px 0; }
g.node { cursor: pointer; }
g.node.selected polygon, g.node.selected ellipse, g.node.selected path,
g.node.selected rect, g.node.selected circle { stroke: #d00; stroke-width: 3px; }
h2 { margin: 4px 0; } h3 { margin: 14px 0 4px; font-size: 14px; color: #444; }
.muted { color: #777; }
"""

_JS = """
const DATA = JSON.parse(document.getElementById('node-data').textContent);
function esc(text) {
  return String(text).replace(/[&<>"]/g, c => ({'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;'}[c]));
}
function show(id) {
  const d = DATA[id];
  if (!d) return;
  document.querySelectorAll('g.node.selected').forEach(g => g.classList.remove('selected'));
  document.getElementById(id).classList.add('selected');
  let h = `<h2>${esc(d.label)}</h2><p class="muted">${esc(d.kind)}: ${esc(d.op)}, ` +
          `${esc(d.shape)} ${esc(d.dtype)}, module ${esc(d.scope)}</p>`;
  h += '<h3>value</h3>';
  h += d.value && d.value.min !== undefined
    ? `<p>min ${esc(d.value.min)}, max ${esc(d.value.max)}, mean ${esc(d.value.mean)} (${d.value.size} entries)</p>`
    : '<p class="muted">not kept by the graph: no VJP needed it, so it was freed after the forward pass</p>';
  h += '<h3>gradient</h3>';
  h += d.grad ? `<p>shape ${esc(d.grad.shape)}, norm |g| = ${esc(d.grad.norm)}</p>`
              : '<p class="muted">none: this input needs no gradient</p>';
  h += '<h3>chain rule</h3>';
  if (d.step) {
    h += `<p>step ${d.step.index} of ${d.step.of} of the backward pass: ${esc(d.step.definition)}</p>`;
    h += `<code class="formula">${esc(d.step.formula)}</code><code>${esc(d.step.shapes)}</code>`;
    d.step.notes.forEach(n => { h += `<p class="muted">${esc(n)}</p>`; });
  } else {
    h += '<p class="muted">no step: no gradient flows to it</p>';
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
  document.getElementById('panel').innerHTML = h;
}
document.querySelectorAll('#graph g.node').forEach(g => {
  g.addEventListener('click', () => show(g.id));
});
"""

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>{css}</style>
</head>
<body>
<div id="graph">
<p>{summary}</p>
{svg}
</div>
<div id="panel"><p class="muted">Click a node of the graph.</p></div>
<script type="application/json" id="node-data">{data}</script>
<script>{js}</script>
</body>
</html>
"""
