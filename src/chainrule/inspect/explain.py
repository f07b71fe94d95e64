"""explain: the backward pass, step by step, as the chain rule.

For each variable v of the graph, in the order the engine completes dJ/dv (newest node first),
explain prints the formula that computes dJ/dv from the gradients of the ops that consumed v,
the shapes involved, the gradient's norm, and where contributions were summed (v fed several
ops) or a broadcast was undone (a bias added to every row of the batch).

The numbers come from the engine's own backward pass over the graph's saved arrays (see
gradients.py), so explain must run before backward() frees them, or after
``backward(retain_graph=True)``. It never writes ``.grad``. The textbook's network (d2l 4.7)
is read in the textbook's names; see textbook.py.

explain returns an ``ExplainReport``: the steps (a list of ``Step``) with the text they print as,
and, computed at the same time as text, what a notebook shows (stepthrough.py): the graph beside
the list of steps, Previous/Next, each step's upstream gradient and, at a fan-out, the
contributions and their sum; and the forward pass's ops (``forward_steps``).
"""
import io
import sys
from dataclasses import dataclass, field

from ..display import run_dot
from .formulas import contribution, factor, fill, for_reduction, objective
from .gradients import engine_gradients
from .graph import GraphView, format_shape, grad_norm, to_dot
from .layout import fallback_svg
from .timescope import at_step, has_time_steps, outside_steps, step_label, time_step_of
from .timesteps import UNSPLIT, split_by_time_step, time_step_gradients

@dataclass
class Step:
    """One step of the backward pass: the moment dJ/d(name) is complete."""
    index: int
    op: str                     # the op that produced the variable ("leaf" for parameters)
    name: str                   # the variable whose gradient this step computes
    definition: str             # how the forward pass computed the variable
    formula: str                # the chain rule for its gradient
    shapes: str                 # the same formula in shapes, with the batch's real size
    grad_shape: tuple
    grad_norm: float
    fan_in_summed: bool         # the variable fed several ops; their contributions were added
    broadcast_reduced: bool     # a gradient arrived in a broadcast shape and was summed back
    scope: str = None           # the module that made the variable (node.scope)
    notes: list = field(default_factory=list)
    node_ids: tuple = ()        # seq of every graph node this step covers; the first is its own
    module: str = None          # the scope with its module's class, "1 (ReLU)", when known
    time_steps: list = field(default_factory=list)  # (step, shape, norm) of each time step's
    #                             contribution, when the variable is used at several time steps

    def __str__(self):
        return _step_text(self)

    def _repr_html_(self):
        from .stepthrough import step_html
        return step_html(self)


@dataclass
class ForwardStep:
    """One op of the forward pass, in the order it ran."""
    index: int
    op: str                     # the op's name, as its primitive declares it
    name: str                   # the variable it made
    definition: str             # v3 = op(v2), in explain's names
    shapes: str                 # (6x16) = op((6x16))
    node_ids: tuple = ()        # the seq of its node
    module: str = None          # the module that ran it, "1 (ReLU)", when known

    def _repr_html_(self):
        from .stepthrough import step_html
        return step_html(self)


class ExplainReport(list):
    """What ``explain`` returns: its steps (a list of ``Step``, as before) that print as
    explain's text and show in a notebook as HTML with the step-through (Previous/Next through
    the backward pass beside the graph; a forward mode walks the forward pass).

    ``header`` is the text above the steps and ``forward`` the forward pass's ops
    (``ForwardStep``). It holds text only, not the graph's arrays, so it can be shown after
    ``backward()`` has freed them.
    """

    def __init__(self, steps=(), header="", forward=(), data=None, dot=None, fallback_svg=None,
                 summary=""):
        super().__init__(steps)
        self.header = header
        self.forward = list(forward)
        self.data = data if data is not None else {}
        self.summary = summary
        self.dot = dot
        self.time_steps = None  # ||dJ/dh_t|| per time step (TimeStepGradients), for an RNN
        self._fallback_svg = fallback_svg
        self._svg = None

    @property
    def text(self):
        """The text ``explain`` prints (and ``chainrule explain`` shows)."""
        buffer = io.StringIO()
        print_steps(self, self.header, buffer)
        return buffer.getvalue()[:-1]

    def __str__(self):
        return self.text

    __repr__ = __str__

    def _repr_pretty_(self, printer, cycle):
        printer.text(self.text)

    @property
    def svg(self):
        """The graph's drawing for the step-through (dot's, or a simple one of our own), or
        None for steps without a graph (explain_manual)."""
        if self._svg is None and self.dot is not None:
            svg = run_dot(self.dot, "svg")
            self._svg = svg.decode() if svg is not None else self._fallback_svg
        return self._svg if self.dot is not None else None

    def _repr_html_(self):
        from .stepthrough import report_html
        return report_html(self)


def explain(loss, params=None, file=None):
    """Explain the backward pass of ``loss`` step by step and return the report, an
    ``ExplainReport``: the steps (a list of ``Step``) that print as the text below and show in a
    notebook as HTML with a step-through beside the graph. ``backward_steps`` returns the same
    without printing.

    The text goes to ``file`` when given; otherwise to sys.stdout, except at an interactive
    prompt or in a notebook (IPython, Jupyter, the Python prompt), where the returned report
    shows itself when it is the cell's value, so it is not shown twice. ``print(report)``
    prints the text anywhere.

    ``params`` (a Module or a dict name -> tensor) names the parameters. Call it before
    ``loss.backward()``, or after ``backward(retain_graph=True)``: it runs the engine's backward
    pass on the arrays the graph saved, which backward() frees; on a freed graph it raises
    GradientError.
    """
    report = backward_steps(loss, params)
    if file is not None or not _shows_results():
        print(report.text, file=sys.stdout if file is None else file)
    return report


def _shows_results():
    """Whether the interpreter shows a call's value itself: IPython or Jupyter, or the Python
    prompt (``sys.ps1`` exists only there)."""
    ipython = sys.modules.get("IPython")
    if ipython is not None:
        try:
            if ipython.get_ipython() is not None:
                return True
        except Exception:  # noqa: BLE001 - an IPython without a shell, or a stub
            pass
    return hasattr(sys, "ps1")


def backward_steps(loss, params=None):
    """The steps explain prints, without printing them: an ``ExplainReport``."""
    view = loss if isinstance(loss, GraphView) else GraphView(loss, params)
    grads, contributions = engine_gradients(view)
    steps = build_steps(view, grads, contributions)
    return report_for(view, grads, contributions, steps)


def report_for(view, grads, contributions, steps):
    """The ``ExplainReport`` of ``steps``, with what its notebook HTML shows, as text."""
    from . import stepthrough
    from .memory import ledger
    forward = forward_steps(view)
    ledger_report = ledger(view)
    numbers = stepthrough.Numbers()
    backward = stepthrough.backward_data(view, grads, contributions, steps, numbers)
    data = {"nodes": stepthrough.node_data(view, grads, steps, ledger_report, numbers),
            "backward": backward, "forward": stepthrough.forward_data(view, forward)}
    summary = (f"{len(view.nodes)} nodes, {len(steps)} backward steps, {len(forward)} forward "
               f"ops; training keeps {ledger_report.training_bytes:,} B for backward, "
               f"prediction {ledger_report.inference_bytes:,} B.")
    report = ExplainReport(steps, _header(view, steps), forward, data,
                           str(to_dot(view, show_grad=False)), fallback_svg(view), summary)
    if has_time_steps(view):
        report.time_steps = time_step_gradients(view, grads=grads)
    return report


def forward_steps(loss, params=None):
    """The ops of the forward pass in the order it ran them (the engine numbers each node as it
    is made), as ``ForwardStep`` records in explain's names."""
    view = loss if isinstance(loss, GraphView) else GraphView(loss, params)
    steps = []
    for node in view.nodes:  # in the order they were made
        if node.op is None:
            continue
        inputs = [format_shape(parent.shape if parent is not None else
                               view.inputs[(node, position)].shape)
                  for position, parent in enumerate(node.parents)]
        steps.append(ForwardStep(
            index=len(steps) + 1, op=node.op.name, name=view.name(node),
            definition=_definition(view, node),
            shapes=f"{format_shape(node.shape)} = {node.op.name}({', '.join(inputs)})",
            node_ids=(node.seq,), module=view.module_label(node.scope) if node.scope else None))
    return steps


def build_steps(view, grads, contributions):
    """The steps of ``view``'s backward pass, from ``engine_gradients(view)``."""
    if view.textbook is not None:
        return _textbook_steps(view, view.textbook, grads, contributions)
    return _generic_steps(view, grads, contributions)


def print_steps(steps, header, file):
    print(header, file=file)
    for step in steps:
        print("\n" + _step_text(step), file=file)


def _step_text(step):
    """A step as explain prints it: its definition, formula, shapes, norm and notes."""
    scope = f"   [module {step.module or step.scope}]" if step.scope else ""
    lines = [f"{step.index:>2}. {step.definition}{scope}", f"    {step.formula}",
             f"    shapes: {step.shapes}", f"    |{_gradient_name(step)}| = {step.grad_norm:.6g}"]
    lines += [f"    note: {note}" for note in step.notes]
    if step.time_steps:
        lines.append(f"    over time: {step.name} reaches the loss through each of "
                     f"{len(step.time_steps)} time steps (one path per step, the chain rule's "
                     f"many paths), so {_gradient_name(step)} sums their contributions:")
        lines += [f"      {label:>12}  {shape:>9}  |.| = {norm:.6g}"
                  for label, shape, norm in step.time_steps]
        lines.append(f"      {'sum':>12}  {format_shape(step.grad_shape):>9}  |.| = "
                     f"{step.grad_norm:.6g}")
    return "\n".join(lines)


def _path(scope):
    """A node's scope as a plain string (a module's ModuleScope is a str that also holds its
    class), so that a Step stays plain data."""
    return None if scope is None else str(scope)


def _gradient_name(step):
    return step.formula.split(" = ", 1)[0]


def _header(view, steps):
    lines = [f"Backward pass of {objective(view)}: {len(steps)} steps, in the order the engine "
             f"runs them (newest node first)."]
    book = view.textbook
    if book is not None:
        n, d = view.inputs[book.x_key].shape or ("N", "d")
        lines.append(
            f"The network of d2l 4.7 with a batch of N = {n} examples of d = {d} features, one "
            f"per ROW (PyTorch's layout): z = x W1^T + b1 is the textbook's z = W1 x for each "
            f"row, so each formula below is the textbook's, transposed.")
    else:
        lines.append("Variables are named v1, v2, ... in the order the forward pass made them; "
                     "parameters by their names.")
    steps = {time_step_of(node) for node in view.nodes} - {None}
    if steps:
        lines.append(f"The graph unrolls a recurrence over {len(steps)} time steps (each op is "
                     f"marked 'at t'); a weight shared by the steps gets one contribution per "
                     f"step, listed under 'over time' with their sum.")
    if any(_made_earlier(view, node) for node in view.nodes if node.op is None):
        lines.append("The parameters' leaf nodes were made by an earlier forward pass (a node is "
                     "numbered when first used), so the engine reaches them last; each "
                     "parameter's gradient was complete as soon as the ops using it had run.")
    return "\n".join(lines)


def _made_earlier(view, leaf):
    """Whether a leaf's node dates from an earlier forward pass: then ops made before its first
    use in this graph have larger numbers, and the engine visits them before the leaf."""
    if not view.consumers[leaf]:
        return False
    first_use = min(consumer.seq for consumer, _ in view.consumers[leaf])
    return any(node.op is not None and leaf.seq < node.seq < first_use for node in view.nodes)


# -- any graph ------------------------------------------------------------------------------------

def _generic_steps(view, grads, contributions):
    steps = []
    obj = objective(view)
    over_time = _time_step_parts(view)
    for node in view.engine_order():
        name = view.name(node)
        parts = contributions[node]
        if node is view.root:
            formula, shapes = f"d{obj}/d{obj} = 1", format_shape(node.shape)
        else:
            texts = [_reduced(view, part, *contribution(view, part.consumer, part.position))
                     for part in parts]
            formula = f"d{obj}/d{name} = " + " + ".join(t[0] for t in texts)
            shapes = f"{format_shape(node.shape)} = " + " + ".join(t[1] for t in texts)
        notes = _fan_in_notes(view, name, parts) + _broadcast_notes(view, name, node, parts)
        notes += _recomputed_notes(node)
        scope = node.scope if node.op is not None else outside_steps(node.scope)
        if node.op is None and node.tensor_ref() is not None:
            notes.append(f"the engine adds this into {name}.grad")
        steps.append(Step(
            index=len(steps) + 1, op=node.name, name=name,
            definition=_definition(view, node), formula=formula, shapes=shapes,
            grad_shape=tuple(node.shape), grad_norm=grad_norm(grads[node]),
            fan_in_summed=len(parts) > 1,
            broadcast_reduced=any(p.raw_shape != tuple(node.shape) for p in parts),
            scope=_path(scope), notes=notes, node_ids=(node.seq,),
            module=view.module_label(scope), time_steps=over_time.get(node, [])))
    return steps


def _recomputed_notes(node):
    """A node of a checkpointed segment (chainrule.utils.checkpoint) gave back what it saved
    after the forward pass; backward computed it again from the segment's inputs."""
    names = getattr(node.saved, "given_back", ()) if node.op is not None else ()
    if not names:
        return []
    return [f"checkpointed: what it saved ({', '.join(names)}) was given back after the "
            f"forward pass and recomputed from the segment's inputs when backward reached it"]


def _time_step_parts(view):
    """For each leaf used at several time steps of an unrolled recurrence (W_hh, W_xh): each
    step's contribution as (step, shape, norm), in time order (timesteps.py)."""
    if not has_time_steps(view):
        return {}
    found = {}
    for node, parts in split_by_time_step(view).items():
        if UNSPLIT in parts:
            continue  # too large to split: the step shows the engine's sum alone
        if sum(key is not None for key in parts) > 1:
            found[node] = [(step_label(key), format_shape(value.shape), grad_norm(value))
                           for key, value in parts.items()]
    return found


def _definition(view, node):
    name = view.name(node)
    if node.op is None:
        module_name = view.param_names.get(node)
        if module_name or not view.param_names:
            return f"{name}: a parameter" + (f" ({module_name})" if module_name else "")
        return f"{name}: a leaf tensor that requires grad (not a parameter of the model)"
    inputs = ", ".join(view.input_name(node, i) for i in range(len(node.parents)))
    options = ", ".join(f"{k}={v!r}" for k, v in (node.kwargs or {}).items())
    return f"{name} = {node.op.name}({inputs}{', ' + options if options else ''})"


def _reduced(view, part, formula, shapes):
    """Wrap a contribution the engine had to sum back to its input's shape."""
    target = part.value.shape
    if part.raw_shape == tuple(target):
        return formula, shapes
    lead = len(part.raw_shape) - len(target)
    if lead == 1 and tuple(part.raw_shape[1:]) == tuple(target):
        # A vector added to every row of a matrix, like a bias to every example of the batch.
        rows = "the batch" if len(part.raw_shape) == 2 else "axis 0"
        return (f"sum over {rows} of {formula}",
                f"sum over {part.raw_shape[0]} rows of {shapes}")
    return f"sum over broadcast axes of {formula}", f"sum to {format_shape(target)} of {shapes}"


def _fan_in_notes(view, name, parts):
    if len(parts) < 2:
        return []
    via = ", ".join(f"{view.name(p.consumer)} ({p.consumer.op.name}{at_step(p.consumer)}, "
                    f"|.|={grad_norm(p.value):.4g})" for p in parts)
    return [f"{name} fed {len(parts)} ops; the engine summed their contributions: {via}"]


def _broadcast_notes(view, name, node, parts):
    notes = []
    for part in parts:
        if part.raw_shape != tuple(node.shape):
            notes.append(
                f"{name} {format_shape(node.shape)} was broadcast to "
                f"{format_shape(part.raw_shape)} in {view.name(part.consumer)}, so its gradient "
                f"is summed over the broadcast axes (the engine's sum_to_shape)")
    return notes


# -- the textbook's network -----------------------------------------------------------------------

def _textbook_steps(view, book, grads, contributions):
    obj = "J" if book.J is not None else "L"
    n = book.z.shape[0]

    def d(name):
        return f"d{obj}/d{name}"

    shape = {name: format_shape(node.shape) for name, node in
             (("o", book.o), ("h", book.h), ("z", book.z), ("W1", book.hidden.weight),
              ("W2", book.output.weight))}
    x_shape = format_shape(view.inputs[book.x_key].shape)
    q, hidden = book.output.weight.shape
    rows = {"o": f"({q}x{n})", "z": f"({hidden}x{n})"}  # dJ/do^T and dJ/dz^T
    entries = []  # (primary node, covered nodes, name, definition, formula, shapes, notes)

    if book.J is not None:
        entries.append((book.J, [book.J], "J", "J = L + s", f"{d('J')} = 1", "scalar",
                        ["the objective: the gradient starts as 1"]))
        penalised = " + ".join(f"||{view.name(w)}||^2" for w in book.penalised)
        entries.append((book.s, book.penalty_nodes, "s", f"s = lambda/2 ({penalised})",
                        f"{d('s')} = 1", "scalar",
                        ["J = L + s, so dJ/ds = 1 (and dJ/dL = 1): an addition passes the "
                         "gradient through unchanged"]))
        entries.append((book.L, [book.L], "L", _loss_definition(book), f"{d('L')} = 1",
                        "scalar", []))
    else:
        entries.append((book.L, [book.L], "L", _loss_definition(book), f"{d('L')} = 1",
                        "scalar", ["the objective: the gradient starts as 1"]))

    entries.append(_output_entry(view, book, d, shape, n))
    entries += _layer_entries(view, book, book.output, "2", "o", "h", d, shape, rows, n,
                              contributions)
    derivative, why = _activation_derivative(view, book)
    entries.append((book.h, [book.h], "h", f"h = {book.activation_name}(z)",
                    f"{d('h')} = {d('o')} . W2", f"{shape['h']} = {shape['o']} . {shape['W2']}",
                    []))
    covered = _present(book.z, book.hidden.product) + [n for n in book.activation_nodes
                                                        if n is not book.h]
    entries.append((book.z, covered, "z",
                    "z = x W1^T" + (" + b1" if book.hidden.bias is not None else ""),
                    f"{d('z')} = {d('h')} * phi'(z), with phi'(z) = {derivative}",
                    f"{shape['z']} = {shape['h']} * {shape['z']}",
                    [f"elementwise: phi'(z) is {why}"]))
    entries += _layer_entries(view, book, book.hidden, "1", "z", "x", d, shape, rows, n,
                              contributions, x_shape=x_shape)

    steps = []
    for node, covered, name, definition, formula, shapes, notes in sorted(
            entries, key=lambda e: -e[0].seq):
        parts = contributions[node]
        reduced = any(p.raw_shape != tuple(node.shape) for p in parts)
        steps.append(Step(
            index=len(steps) + 1, op=node.name, name=name, definition=definition,
            formula=formula, shapes=shapes, grad_shape=tuple(node.shape),
            grad_norm=grad_norm(grads[node]), fan_in_summed=len(parts) > 1,
            broadcast_reduced=reduced, scope=_path(node.scope), notes=list(notes),
            node_ids=tuple(dict.fromkeys(n.seq for n in [node, *covered])),
            module=view.module_label(node.scope)))
    return steps


def _present(*nodes):
    return list(dict.fromkeys(n for n in nodes if n is not None))


def _reduction(node):
    return (node.kwargs or {}).get("reduction", node.op.defaults.get("reduction"))


def _loss_definition(book):
    reduction = _reduction(book.L)
    over = f", {reduction} over the batch" if reduction else ""
    return f"L = l(o, y): {book.L.op.title}{over}"


def _output_entry(view, book, d, shape, n):
    """dJ/do from the loss's declared formula, in the textbook's names o and y."""
    loss = book.L
    scores = book.scores
    template = loss.op.formula_for(scores) or f"vjp_{loss.op.name}({{grad}})"
    template = for_reduction(template, _reduction(loss))
    step = factor(template)
    names = {name: ("o" if i == scores else "y") for i, name in enumerate(loss.op.inputs)}
    shapes = {name: (book.o.shape if i == scores else view.inputs[(loss, i)].shape)
              for i, name in enumerate(loss.op.inputs)}
    upstream = "dJ/dL" if book.J is not None else None  # dL/dL = 1 is left out
    if step is None:  # a formula that is not "{grad} * something": shown whole
        formula = fill(template, {**names, "grad": upstream or "1", "N": "N"})
        shapes_text = fill(template, shapes={**shapes, "grad": (), "N": n})
    else:
        formula = (f"{upstream} * " if upstream else "") + fill(step, {**names, "N": "N"})
        shapes_text = fill(step, shapes={**shapes, "N": n})
    formula, shapes_text = f"{d('o')} = {formula}", f"{shape['o']} = {shapes_text}"
    saved = [names[name] for name in loss.op.vjp_for(scores)[1] if name in names]
    note = (f"the VJP {loss.op.name} declares beside its forward (a fused loss), reading the "
            f"saved {' and '.join(saved)}" if saved else
            f"the VJP {loss.op.name} declares beside its forward (a fused loss)")
    return (book.o, _present(book.o, book.output.product), "o",
            "o = h W2^T" + (" + b2" if book.output.bias is not None else ""),
            formula, shapes_text, [note])


def _activation_derivative(view, book):
    """phi'(z) as text, from the activation primitive's declared formula, and a sentence
    saying what it is computed from (what the primitive saved)."""
    op = book.activation
    derivative = None if op is None else factor(op.formula_for(0))
    if derivative is None:
        return "phi'(z)", "the activation's own backward steps, folded into this one"
    derivative = fill(derivative, {"out": "h", op.inputs[0]: "z"})
    saved = book.h.saved or {}
    for name in op.vjp_for(0)[1]:
        if name in op.residuals:
            value = saved.get(name)
            if getattr(value, "dtype", None) is not None and value.dtype.kind == "b":
                return derivative, (f"read from the boolean mask {op.name} saved in the forward "
                                    f"pass (1 byte per unit), so neither z nor h had to be kept "
                                    f"for this step")
            return derivative, f"read from the {name} {op.name} saved in the forward pass"
        if name == "out":
            return derivative, f"written with the output h = {op.name}(z), which {op.name} saved"
        if name == op.inputs[0]:
            return derivative, f"written with its input z, which {op.name} saved"
    return derivative, f"computed by {op.name}'s VJP from what it saved"


def _layer_entries(view, book, layer, number, out, below, d, shape, rows, n, contributions,
                   x_shape=None):
    """The steps for a layer's bias and weight: db = sum over the batch, dW = (dJ/dout)^T below
    (+ lambda W when s penalises it)."""
    entries = []
    for leaf, symbol in ((layer.bias, f"b{number}"), (layer.weight, f"W{number}")):
        if leaf is None:
            continue
        module_name = view.param_names.get(leaf)
        role = "bias" if symbol.startswith("b") else "weight"
        definition = f"{symbol}: the {role} of layer {number}" + (
            f" ({module_name})" if module_name else "")
        penalty = leaf in book.penalised
        extra = f" + lambda {symbol}" if penalty else ""
        extra_shape = f" + {format_shape(leaf.shape)}" if penalty else ""
        notes = []
        if role == "bias":
            formula = f"{d(symbol)} = sum over the batch of {d(out)}{extra}"
            shapes = f"{format_shape(leaf.shape)} = sum over {n} rows of {shape[out]}{extra_shape}"
            notes.append(f"{symbol} was added to each of the {n} rows (broadcast), so its "
                          f"gradient sums the rows")
            covered = [leaf]
        else:
            below_shape = x_shape if below == "x" else shape[below]
            formula = f"{d(symbol)} = ({d(out)})^T . {below}{extra}"
            shapes = f"{format_shape(leaf.shape)} = {rows[out]} . {below_shape}{extra_shape}"
            notes.append(f"the graph reaches {symbol} through a transpose node {symbol}^T: "
                         f"{d(symbol)} = ({d(symbol + '^T')})^T, where "
                         f"{d(symbol + '^T')} = {below}^T . {d(out)}")
            covered = [leaf, layer.transpose]
        if penalty:
            notes.append(_penalty_note(view, book, leaf, symbol, contributions))
        entries.append((leaf, covered, symbol, definition, formula, shapes, notes))
    return entries


def _penalty_note(view, book, leaf, symbol, contributions):
    parts = contributions[leaf]
    penalty = set(book.penalty_nodes)
    from_s = [p.value for p in parts if p.consumer in penalty]
    from_data = [p.value for p in parts if p.consumer not in penalty]
    s_part = sum(from_s)
    data_part = sum(from_data)
    value = view.value(leaf)
    text = (f"{symbol} fed the loss path and s; the engine summed the contributions "
            f"(|data part| = {grad_norm(data_part):.4g}, |lambda {symbol}| = "
            f"{grad_norm(s_part):.4g})")
    if value is not None and float((value * value).sum()) > 0:
        lam = float((s_part * value).sum() / (value * value).sum())
        text += f"; lambda = {lam:.4g}"
    return text


# -- the hand-written network of chainrule.manual ------------------------------------------------

def explain_manual(model, x, y, file=None, quiet=False):
    """The same steps for a hand-written network such as ``chainrule.manual.TwoLayerMLP``,
    with the numbers its own forward() and backward() compute, printed to ``file`` (default:
    sys.stdout, except where the report shows itself, as for explain) unless ``quiet``. The
    steps are the ones the network declares (``model.backward_steps()``). TwoLayerMLP's layout
    is the textbook's: x is (d, N), one example per COLUMN, so the formulas are d2l's exactly.
    Returns the steps as an ``ExplainReport`` (without a graph: no step highlights a node)."""
    values = model.forward(x, y)
    grads = model.backward(values)
    n = values.x.shape[1]
    shapes = {"x": values.x.shape, "N": n}
    shapes.update((name, _as_column(value).shape) for name, value in values.items()
                  if hasattr(value, "shape") and value.ndim)
    shapes.update((name, value.shape) for name, value in model.params().items())
    steps, gradients = [], []
    for declared in model.backward_steps():
        value = declared.gradient
        if isinstance(value, str):
            value = grads.get(value)
        if value is None:
            continue
        value = value if hasattr(value, "shape") else float(value)
        gradients.append(value)
        steps.append(Step(
            index=len(steps) + 1, op="manual", name=declared.name,
            definition=declared.definition, formula=declared.formula,
            shapes=fill(declared.shapes, shapes=shapes),
            grad_shape=tuple(getattr(value, "shape", ())), grad_norm=grad_norm(value),
            fan_in_summed=declared.summed, broadcast_reduced=declared.broadcast,
            notes=list(declared.notes)))
    header = (f"Backward pass of J written out by hand (chainrule.manual."
              f"{type(model).__name__}): {len(steps)} steps in d2l's order.\nA batch of N = "
              f"{n} examples, one per COLUMN (the textbook's layout): z = W1 x.")
    from .stepthrough import manual_data
    report = ExplainReport(steps, header, data={"backward": manual_data(steps, gradients)},
                           summary=f"{len(steps)} backward steps, written out by hand")
    if not quiet and (file is not None or not _shows_results()):
        print(report.text, file=sys.stdout if file is None else file)
    return report


def _as_column(array):
    return array[:, None] if array.ndim == 1 else array
