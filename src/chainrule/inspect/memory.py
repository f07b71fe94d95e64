"""The memory ledger: what the graph keeps alive for backward, in bytes.

Training needs more memory than prediction because backward needs values from the forward pass:
each node keeps exactly the arrays its VJPs named (the input of each product, one output or mask
per activation, the logits of the loss). The ledger lists them node by node and counts each
buffer once, by the memory it lives in (following ``.base``): an activation's output and the
next product's input are one array; ``W.T`` is a view of the parameter W.

What is counted, and why:
- intermediate results (arrays some node produced): counted; prediction would have freed them.
- parameters, and views of them: listed at 0 extra bytes; the model holds them either way.
- inputs (the batch and its labels): listed at 0 extra bytes; the caller holds them either way.
  Without ``inputs=``, every array that no node produced and that needs no gradient is taken to
  be an input. A constant that the forward pass makes itself (a dropout mask) is then listed as an
  input too; pass ``inputs=[x, y]`` to have such constants counted.

Parameters are recognised through their leaf nodes, which hold them weakly: if the model is gone,
the graph alone keeps the weights alive, and they are counted.

Prediction (a ``no_grad`` forward) keeps only its live output, the logits; the report compares
that with what training keeps. ``memory_report(model, x, y)`` also measures both with tracemalloc.
"""
import gc
import json
import tracemalloc
from dataclasses import asdict, dataclass, field

from .. import display
from ..autograd import no_grad
from ..backend import ndarray, xp
from ..tensor import Tensor
from .gradients import FREED_MESSAGE
from .graph import GraphView, format_shape
from .textbook import loss_scores

INTERMEDIATE, PARAMETER, INPUT, CONSTANT = "intermediate", "parameter", "input", "constant"
# An array a checkpointed node gave back after the forward pass, to be recomputed in backward
# (chainrule.utils.checkpoint): listed with its size, 0 bytes kept.
RECOMPUTED = "recomputed"
COUNTED = (INTERMEDIATE, CONSTANT)


@dataclass
class SavedArray:
    name: str              # the key in node.saved ("out", "a", "logits", ...)
    what: str              # the variable it holds ("h", "x", "W2^T")
    kind: str              # intermediate, parameter, input or constant
    shape: tuple
    dtype: str
    buffer_bytes: int      # the size of the memory it lives in
    extra_bytes: int       # what it adds to training's memory here (0 if shared or not counted)
    shared_with: str = None


@dataclass
class LedgerRow:
    seq: int
    variable: str
    op: str
    module: str            # the scope of the node, with its module's class when known
    saved: list = field(default_factory=list)

    @property
    def extra_bytes(self):
        return sum(item.extra_bytes for item in self.saved)


@dataclass
class MemoryReport:
    """What the graph keeps for backward; ``str(report)`` is a readable table."""
    objective: str
    rows: list
    saved_bytes: int           # distinct buffers kept only for backward
    output_name: str
    output_bytes: int          # the loss itself, alive in training
    prediction_name: str
    inference_bytes: int       # what a no_grad forward keeps: its output alone
    parameter_bytes: int       # referenced, 0 extra
    input_bytes: int           # referenced, 0 extra
    by_module: dict
    measured: dict = None      # tracemalloc figures, from memory_report(model, x, y)
    recomputed_bytes: int = 0  # given back after the forward pass, recomputed in backward

    @property
    def training_bytes(self):
        return self.saved_bytes + self.output_bytes

    @property
    def extra_bytes(self):
        """Training minus prediction: what backward costs in memory."""
        return self.training_bytes - self.inference_bytes

    @property
    def ratio(self):
        return self.training_bytes / self.inference_bytes if self.inference_bytes else float("inf")

    def to_dict(self):
        data = asdict(self)
        data.update(training_bytes=self.training_bytes, extra_bytes=self.extra_bytes,
                    ratio=self.ratio)
        return data

    def to_json(self):
        return json.dumps(self.to_dict(), indent=2, default=str)

    def __str__(self):
        return _format(self)

    def __repr__(self):
        return (f"<MemoryReport of {self.objective}: training keeps {self.training_bytes:,} B, "
                f"prediction {self.inference_bytes:,} B ({self.ratio:.1f}x); print it for the "
                f"ledger>")

    def _repr_html_(self):
        return memory_html(self)


def memory_report(target, *args, params=None, inputs=None, weight_decay=0.0,
                  loss="cross-entropy"):
    """The memory ledger of a graph: ``memory_report(loss, params=None, inputs=None)``.

    Or ``memory_report(model, x, y, weight_decay=0.0, loss="cross-entropy")``: builds the
    textbook's objective (the loss, "cross-entropy" or "hinge", plus the L2 term when
    ``weight_decay`` > 0), measures with tracemalloc what
    the training forward keeps and what a ``no_grad`` forward keeps, and returns the ledger with
    those measurements in ``report.measured``.
    """
    if isinstance(target, Tensor):
        if len(args) > 1:
            raise TypeError("memory_report(loss, params=None): too many positional arguments")
        return ledger(target, args[0] if args else params, inputs)
    if len(args) != 2:
        raise TypeError("memory_report takes a loss tensor, or a model, a batch x and labels y: "
                        "memory_report(model, x, y)")
    return _measure(target, *args, weight_decay=weight_decay, loss=loss)


def ledger(loss, params=None, inputs=None):
    view = loss if isinstance(loss, GraphView) else GraphView(loss, params)
    for node in view.nodes:
        if node.op is not None and node.saved is None:
            raise _freed(node)
    kinds = _classify(view, inputs)
    owner = {}    # buffer id -> the variable that first saved it
    buffers = {}  # buffer id -> (kind, bytes)
    rows = []
    for node in view.nodes:
        if node.op is None:
            continue
        row = LedgerRow(node.seq, view.name(node), node.op.name, view.module_label(node.scope))
        for name, value in _saved_arrays(node):
            base = _base(value)
            kind = kinds.get(id(base), CONSTANT if inputs is not None else INPUT)
            first = id(base) not in owner
            extra = int(base.nbytes) if first and kind in COUNTED else 0
            row.saved.append(SavedArray(
                name, _holder_name(view, node, name, value), kind, tuple(value.shape),
                str(value.dtype), int(base.nbytes), extra,
                None if first else owner[id(base)]))
            owner.setdefault(id(base), f"{row.variable} ({row.op})")
            buffers[id(base)] = (kind, int(base.nbytes))
        for name, (shape, dtype, nbytes) in getattr(node.saved, "recomputed", {}).items():
            row.saved.append(SavedArray(name, _holder_name(view, node, name, None), RECOMPUTED,
                                        tuple(shape), str(dtype), int(nbytes), 0))
        if row.saved:
            rows.append(row)
    return _report(view, rows, buffers)


def _report(view, rows, buffers):
    by_module = {}
    for row in rows:
        if row.extra_bytes:
            key = "(top level)" if row.module == "-" else row.module
            by_module[key] = by_module.get(key, 0) + row.extra_bytes
    output = view.tensor._data
    output_bytes = 0 if id(_base(output)) in buffers else int(output.nbytes)
    prediction = _prediction_node(view)
    return MemoryReport(
        objective=view.name(view.root), rows=rows,
        saved_bytes=sum(row.extra_bytes for row in rows),
        output_name=view.name(view.root), output_bytes=output_bytes,
        prediction_name=view.name(prediction),
        inference_bytes=int(xp.prod(prediction.shape)) * xp.dtype(prediction.dtype).itemsize,
        parameter_bytes=sum(b for k, b in buffers.values() if k == PARAMETER),
        input_bytes=sum(b for k, b in buffers.values() if k == INPUT),
        by_module=by_module,
        recomputed_bytes=sum(item.buffer_bytes for row in rows for item in row.saved
                             if item.kind == RECOMPUTED))


def _classify(view, inputs):
    """buffer id -> kind, for the buffers whose kind the graph tells."""
    kinds = {}
    for node in view.nodes:
        if node.op is None:
            continue
        for _, array, produced in _saved_arrays(node, with_origin=True):
            if produced:
                kinds[id(_base(array))] = INTERMEDIATE
    for item in _flatten(inputs):
        kinds[id(_base(item))] = INPUT
    for node in view.nodes:
        tensor = node.tensor_ref() if node.op is None else None
        if tensor is not None:
            kinds[id(_base(tensor._data))] = PARAMETER
    return kinds


def _saved_arrays(node, with_origin=False):
    """(name, array) for every array a node keeps: its saved values and array-valued options;
    ``with_origin`` adds whether a node of the graph produced the array."""
    seen = set()
    sources = list(node.saved.items()) + [(f"option {k}", v) for k, v in
                                          (node.kwargs or {}).items()]
    for name, value in sources:
        produced = name == "out" or name in node.op.residuals or _made_by_the_graph(node, name)
        for array in _flatten(value):
            if id(array) not in seen:
                seen.add(id(array))
                yield (name, array, produced) if with_origin else (name, array)


def _made_by_the_graph(node, name):
    """Whether input ``name`` of ``node`` was computed by another node of the graph."""
    op = node.op
    if op.variadic or name not in op.inputs:
        return False
    parent = node.parents[op.inputs.index(name)]
    return parent is not None and parent.op is not None


def _flatten(value):
    if value is None:
        return
    if isinstance(value, Tensor):
        yield value._data
    elif isinstance(value, ndarray):
        yield value
    elif isinstance(value, (tuple, list)):
        for item in value:
            yield from _flatten(item)


def _base(array):
    while isinstance(array.base, ndarray):
        array = array.base
    return array


def _holder_name(view, node, name, value):
    if name == "out":
        return view.name(node)
    if name in node.op.inputs and not node.op.variadic:
        return view.input_name(node, node.op.inputs.index(name))
    return name


def _prediction_node(view):
    """The output a prediction would keep: the loss's logits, else the graph's own output."""
    if view.textbook is not None:
        return view.textbook.o
    for node in view.engine_order():
        if node.op is not None and node.op.is_loss:
            scores = loss_scores(node)
            if scores is not None and node.parents[scores] is not None:
                return node.parents[scores]
    return view.root


def _freed(node):
    from ..errors import GradientError
    return GradientError(f"{node.op.name}: {FREED_MESSAGE}; a freed graph holds nothing")


# -- measuring a model ----------------------------------------------------------------------------

def _measure(model, x, y, weight_decay, loss):
    from ..nn.objective import objective
    x = x if isinstance(x, Tensor) else Tensor._wrap(x)
    labels = y._data if isinstance(y, Tensor) else xp.asarray(y)
    started = not tracemalloc.is_tracing()
    if started:
        tracemalloc.start()
    try:
        before = _settle()
        objective_value = objective(model, x, labels, weight_decay, loss=loss)
        training_retained, training_peak = _since(before)
        report = ledger(objective_value, model, inputs=(x, labels))
        del objective_value
        before = _settle()
        with no_grad():
            prediction = model(x)
        inference_retained, inference_peak = _since(before)
        del prediction
    finally:
        if started:
            tracemalloc.stop()
    report.measured = {
        "batch": int(x.shape[0]),
        "training_retained_bytes": training_retained,
        "training_peak_bytes": training_peak,
        "inference_retained_bytes": inference_retained,
        "inference_peak_bytes": inference_peak,
    }
    return report


def _settle():
    gc.collect()
    tracemalloc.reset_peak()
    return tracemalloc.get_traced_memory()[0]


def _since(before):
    current, peak = tracemalloc.get_traced_memory()
    return current - before, peak - before


# -- printing -------------------------------------------------------------------------------------

def _format(report):
    everything = report.parameter_bytes + report.input_bytes
    lines = [f"Memory the graph of {report.objective} keeps for backward, node by node "
             f"(each buffer counted once):", ""]
    header = f"  {'variable':<10} {'op':<22} {'module':<12} {'extra bytes':>12}  saved"
    lines += [header, "  " + "-" * (len(header) + 20)]
    for row in report.rows:
        saved = "; ".join(_item_text(item) for item in row.saved)
        lines.append(f"  {row.variable:<10} {row.op:<22} {row.module:<12} "
                     f"{row.extra_bytes:>12,}  {saved}")
    lines.append("")
    modules = ", ".join(f"{k}: {_size(v)}" for k, v in report.by_module.items()) or "none"
    lines += [
        f"per module: {modules}",
        f"parameters referenced: {_size(report.parameter_bytes)} (0 extra: the model holds them "
        f"in prediction too)",
        f"inputs referenced: {_size(report.input_bytes)} (0 extra: the caller holds the batch "
        f"either way)",
    ]
    if report.recomputed_bytes:
        lines.append(f"recomputed in backward: {_size(report.recomputed_bytes)} (0 extra: given "
                     f"back after the forward pass, computed again when backward needs it)")
    lines += [
        "",
        f"training keeps after the forward pass: {_size(report.training_bytes)} = saved for "
        f"backward {_size(report.saved_bytes)} + the output {report.output_name} "
        f"{_size(report.output_bytes)}",
        f"prediction (no_grad) keeps:            {_size(report.inference_bytes)} = the output "
        f"{report.prediction_name} alone",
        f"training - prediction:                 {_size(report.extra_bytes)} "
        f"(training keeps {report.ratio:.1f}x as much beyond the parameters and the batch)",
        # The ratio above leaves out what both hold; the whole footprint puts it in scale.
        f"with the parameters and the batch:     training {_size(everything + report.training_bytes)}"
        f", prediction {_size(everything + report.inference_bytes)} "
        f"({(everything + report.training_bytes) / max(everything + report.inference_bytes, 1):.2f}x)",
    ]
    if report.measured:
        m = report.measured
        ratio = m["training_retained_bytes"] / max(m["inference_retained_bytes"], 1)
        lines += [
            "",
            f"measured with tracemalloc for this batch of {m['batch']}:",
            f"  held after the forward pass: training {_size(m['training_retained_bytes'])}, "
            f"prediction {_size(m['inference_retained_bytes'])} ({ratio:.1f}x)",
            f"  peak during the forward pass: training {_size(m['training_peak_bytes'])}, "
            f"prediction {_size(m['inference_peak_bytes'])}",
        ]
    return "\n".join(lines)


def _item_text(item):
    text = f"{item.name}={item.what} {format_shape(item.shape)}"
    if item.kind != INTERMEDIATE:
        text += f" [{item.kind}]"
    if item.shared_with:
        text += f" [same buffer as {item.shared_with}]"
    return text


def _size(n):
    if abs(n) >= 1 << 20:
        return f"{n:,} B ({n / (1 << 20):.2f} MiB)"
    if abs(n) >= 1 << 10:
        return f"{n:,} B ({n / (1 << 10):.1f} KiB)"
    return f"{n:,} B"


# -- in a notebook --------------------------------------------------------------------------------

def memory_html(report):
    """The ledger as an HTML table, a bar per node scaled to the largest, and the totals."""
    largest = max((row.extra_bytes for row in report.rows), default=0) or 1
    rows = []
    for row in report.rows:
        saved = "<br>".join(display.escape(_item_text(item)) for item in row.saved)
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
