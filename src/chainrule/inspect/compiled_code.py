"""A compiled step's program beside the graph and the step-through.

``cr.compile`` turns a training step into a NumPy program (``step.code``). Here that program is
shown next to ``inspect``'s page for a graph of the same step: each forward line links to the
forward pass's step for the op it runs and each backward line to ``explain``'s step for the
gradient it computes (the step list's items get anchor ids, ``{prefix}backward-step-{k}``);
clicking a line shows that step in the step-through. The compiled plan no longer has a graph
(it is what replays without one), so the graph is one the caller builds eagerly on the same
model: its nodes are matched to the plan's by the order and names of their ops, and the
parameters by identity.

    loss = F.cross_entropy(model(x), y)            # a graph of the step, before backward()
    inspect.to_html(loss, "step.html", params=model, compiled=step)
    step.explain(loss, params=model)               # in a notebook: the same, inline
"""
import html
import re

from .stepthrough import asset, new_prefix, widget

CODE_CSS = """
.cr-with-code { display: flex; align-items: stretch; gap: 0; }
.cr-with-code > .cr-left { flex: 3 1 0; min-width: 0; }
.cr-code { flex: 2 1 0; min-width: 0; margin: 0; padding: 8px 10px; overflow: auto;
  font: 12px/1.45 Menlo, Consolas, monospace; background: #fafafa; border-left: 1px solid #ddd;
  white-space: pre; color: #222; }
.cr-code .cr-line { display: block; }
.cr-code a.cr-code-link { color: inherit; text-decoration: none; display: block; }
.cr-code a.cr-code-link:hover { background: #e8f0fe; }
.cr-code a.cr-code-link[data-mode="backward"] { border-left: 3px solid #e06666;
  margin-left: -6px; padding-left: 3px; }
.cr-code a.cr-code-link[data-mode="forward"] { border-left: 3px solid #6d9eeb;
  margin-left: -6px; padding-left: 3px; }
.cr-code .cr-line.cr-on { background: #fff2cc; }
.cr-code .cr-code-title { font-family: Helvetica, Arial, sans-serif; font-size: 13px;
  color: #555; margin-bottom: 6px; white-space: normal; }
"""

# Clicking a linked line clicks its item in the step list (the step-through shows that step);
# a step shown (from the list, the keys or a line) marks the lines that compute it.
CODE_JS = """(function (prefix) {
  const root = document.getElementById(prefix + 'root');
  const code = document.getElementById(prefix + 'code');
  if (!root || !code) return;
  code.addEventListener('click', ev => {
    const a = ev.target.closest('a.cr-code-link');
    if (!a) return;
    const li = document.getElementById(a.getAttribute('href').slice(1));
    if (!li) return;
    ev.preventDefault();
    li.click();
    li.scrollIntoView({block: 'nearest'});
  });
  function markLines() {
    code.querySelectorAll('.cr-line.cr-on').forEach(e => e.classList.remove('cr-on'));
    const on = root.querySelector('ol.cr-steps:not([hidden]) li.cr-on');
    if (!on) return;
    code.querySelectorAll('a.cr-code-link[href="#' + on.id + '"]').forEach(
      a => a.closest('.cr-line').classList.add('cr-on'));
  }
  new MutationObserver(markLines).observe(root, {subtree: true, attributes: true,
                                                 attributeFilter: ['class', 'hidden']});
})"""


def line_steps(program, view, report):
    """For each line of ``program.source``: (mode, step index) of the step-through's step it
    computes ("forward": the op's step; "backward": the gradient's step), or None."""
    seq_of = match_nodes(program.forward_ops, view)
    leaf_seq = {}
    for node in view.nodes:
        tensor = node.tensor_ref() if node.op is None and node.tensor_ref is not None else None
        if tensor is not None:
            leaf_seq[id(tensor)] = node.seq
    steps = {"backward": {}, "forward": {}}
    for mode, found in (("backward", list(report)), ("forward", report.forward)):
        for step in found:
            for seq in step.node_ids:
                steps[mode].setdefault(seq, step.index)
    out = []
    for link in program.line_links:
        if link is None:
            out.append(None)
            continue
        mode, (kind, key) = link
        seq = seq_of.get(key) if kind == "op" else leaf_seq.get(id(key))
        index = steps[mode].get(seq) if seq is not None else None
        out.append(None if index is None else (mode, index))
    return out


def match_nodes(traced, view):
    """{traced node's seq: the view's node seq} for the ops of the plan found in ``view``: in
    order, the first unmatched node with the same op whose inputs are the same parameters and
    the matched images of the same ops (so a graph of another network matches nothing that
    reads other weights)."""
    candidates = {}
    for node in sorted((n for n in view.nodes if n.op is not None), key=lambda n: n.seq):
        candidates.setdefault(node.op.name, []).append(node)
    used, seq_of = set(), {}

    def same(parent_key, parent):
        if parent_key is None or parent is None:
            return parent_key is None and parent is None
        kind, key = parent_key
        if kind == "leaf":
            tensor = parent.tensor_ref() if parent.op is None and \
                parent.tensor_ref is not None else None
            return tensor is key
        return seq_of.get(key) == parent.seq
    for seq, name, parents in traced:
        for node in candidates.get(name, ()):
            if node.seq in used or len(node.parents) != len(parents):
                continue
            if all(same(k, p) for k, p in zip(parents, node.parents)):
                used.add(node.seq)
                seq_of[seq] = node.seq
                break
    return seq_of


def code_html(step, links=None, prefix=""):
    """``step.code`` as a ``<pre>``: one element per line (id ``{prefix}code-{n}``, n from 1),
    the program's linked lines as anchors to ``#{prefix}{mode}-step-{index}``."""
    program = step._newest().program
    source = program.source
    full = step.code
    head = full[:len(full) - len(source)]
    links = links or [None] * len(source.splitlines())
    esc = html.escape
    rows = []
    number = 0
    for text in head.splitlines():
        number += 1
        rows.append(f'<span class="cr-line" id="{prefix}code-{number}">{esc(text) or " "}'
                    f'</span>')
    for text, link in zip(source.splitlines(), links):
        number += 1
        body = esc(text) or " "
        if link is not None:
            mode, index = link
            body = (f'<a class="cr-code-link" href="#{prefix}{mode}-step-{index}" '
                    f'data-mode="{mode}" data-index="{index}" title="{mode} step {index}">'
                    f'{body}</a>')
        rows.append(f'<span class="cr-line" id="{prefix}code-{number}">{body}</span>')
    return "".join(rows)


def with_step_ids(markup, prefix):
    """The step-through's markup with an anchor id on each step of its lists."""
    def in_list(match):
        mode = match.group(1)
        return re.sub(r'<li data-index="(\d+)">',
                      lambda m: f'<li data-index="{m.group(1)}" '
                                f'id="{prefix}{mode}-step-{m.group(1)}">', match.group(0))
    return re.sub(r'<ol class="cr-steps" data-mode="(\w+)".*?</ol>', in_list, markup,
                  flags=re.S)


def _parts(step, loss, params):
    from .explain import build_steps, report_for
    from .gradients import engine_gradients
    from .graph import GraphView
    view = loss if isinstance(loss, GraphView) else GraphView(loss, params)
    grads, contributions = engine_gradients(view)
    report = report_for(view, grads, contributions, build_steps(view, grads, contributions))
    links = line_steps(step._newest().program, view, report)
    return view, report, links


def _side_by_side(step, report, links, svg, prefix, layout, summary):
    linked = sum(link is not None for link in links)
    title = (f"the compiled step ({linked} lines linked to their steps: click one to show it; "
             f"red: backward, blue: forward)")
    height = "height: 100vh;" if layout == "page" else "max-height: 760px;"
    return (f'<style>{CODE_CSS}</style><div class="cr-with-code">'
            f'<div class="cr-left">'
            f'{with_step_ids(widget(report.data, svg, prefix, layout, summary), prefix)}</div>'
            f'<pre class="cr-code" id="{prefix}code" style="{height}">'
            f'<div class="cr-code-title">{html.escape(title)}</div>'
            f'{code_html(step, links, prefix)}</pre></div>'
            f'<script>{CODE_JS}("{prefix}");</script>')


def compiled_page(step, loss, path, params=None):
    """Write inspect's page for ``loss``'s graph with ``step``'s program beside it; returns the
    path (``inspect.to_html(loss, path, params, compiled=step)``)."""
    from pathlib import Path
    from ..serialize.atomic import atomic_write
    from .page import PAGE, page_svg
    from .stepthrough import time_steps_html
    view, report, links = _parts(step, loss, params)
    svg = page_svg(report, view)
    summary = (f"{report.summary} Step through with Next/Previous or the arrow keys, click a "
               f"node, or click a line of the compiled step.")
    page = PAGE.format(title=html.escape(f"chainrule: the compiled step and the graph of "
                                          f"{view.name(view.root)}"),
                        css=asset("stepthrough.css"),
                        body=_side_by_side(step, report, links, svg, "", "page", summary)
                        + time_steps_html(report))
    path = Path(path)
    atomic_write(path, [page.encode("utf-8")], what="page")
    return path


class CompiledView:
    """What ``step.explain(loss)`` returns: in a notebook, the step-through of ``loss``'s graph
    with the compiled program beside it; ``str()`` is the program."""

    def __init__(self, step, loss, params=None):
        self.step = step
        self.view, self.report, self.links = _parts(step, loss, params)

    def __str__(self):
        return self.step.code

    def _repr_html_(self):
        prefix = new_prefix()
        return (f'<div class="cr-report" style="font-family: Helvetica, Arial, sans-serif; '
                f'font-size: 13px"><style>{asset("stepthrough.css")}</style>'
                + _side_by_side(self.step, self.report, self.links, self.report.svg, prefix,
                                "embed", self.report.summary) + "</div>")
