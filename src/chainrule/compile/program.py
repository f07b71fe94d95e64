"""From a recording to a program: dead-code elimination, names, and the Python source.

The source is the plan: ``step.code`` shows exactly the text that is compiled and replayed. Each
line is one operation with a comment naming the op and the module it came from; a value is
deleted after its last use, so the replay holds no more memory than the eager step.
"""
import builtins
import re

from ..backend import ndarray, xp
from .capture import Value, _accum, _fit
from . import lower
from .lower import where as _where
from .guards import _literal

HEADER = "import numpy as np"


class Program:
    """The instructions that matter, their value names, and the source of the replay."""

    def __init__(self, recording, arg_names, param_names, textbook_names, passes):
        self.rec = recording
        self.passes = passes
        self.instrs = dce(recording.instrs, recording.output_values) if "dce" in passes else \
            list(recording.instrs)
        self.namespace = {"np": xp, "_fit": _fit, "_accum": _accum}
        self.const_names = {}
        self._names = {}
        self._used = set()
        self.extra_guards = []
        self.name_values(arg_names, param_names, textbook_names)
        self.lowering = lower.Lowering(self) if "lower" in passes else None
        self.source = self.emit()

    # -- names ----------------------------------------------------------------------------
    def unique(self, base):
        base = identifier(base)
        name, k = base, 2
        while name in self._used or name in self.namespace or name in RESERVED or \
                hasattr(builtins, name):
            name = f"{base}_{k}"
            k += 1
        self._used.add(name)
        return name

    def name_values(self, arg_names, param_names, textbook):
        rec = self.rec
        for v in rec.inputs:
            v.name = self.unique(arg_names.get(v.source, v.hint))
        for v in rec.leaves.values():
            t = v.source
            v.name = self.unique(textbook.get(id(t)) or param_names.get(id(t)) or "leaf")
        node_names = {}
        for node, v in rec.node_values.items():
            if v.kind == "op" and v.name is None:
                label = textbook.get(node)
                parent = node.parents[0] if len(node.parents) == 1 else None
                if label is None and node.op.name == "transpose" and parent is not None:
                    tensor = parent.tensor_ref() if parent.tensor_ref is not None else None
                    base = textbook.get(id(tensor)) or textbook.get(parent)
                    label = f"{base}T" if base else None
                if label is None:
                    scope = f"{_scope_label(v.scope)}_" if v.scope else ""
                    label = f"{scope}{node.op.name}"
                v.name = self.unique(label)
            node_names.setdefault(node, v.name)
        for node, v in rec.leaf_nodes.items():
            tensor = node.tensor_ref()
            leaf = rec.leaves.get(id(tensor)) if tensor is not None else None
            if leaf is not None:
                node_names[node] = leaf.name
        self.node_names = node_names
        finals = rec.final_grads
        for node, v in finals.items():
            if v.name is None and v.kind in ("op", "const") and node in node_names:
                v.name = self.unique(f"d{node_names[node]}")
                if v.kind == "const":
                    self.namespace[v.name] = v.source
        for instr in self.instrs:
            v = instr.out
            if v is None or v.name is not None:
                continue
            if instr.kind == "vjp":
                parent = instr.extra["parent"]
                base = f"d{node_names.get(parent, 'v')}"
                v.name = self.unique(f"{base}_{instr.op.name}" if finals.get(parent) is not v
                                     else base)
            elif instr.kind in ("fit", "accum", "grad_add", "asarray", "convert"):
                source = instr.args[0]
                base = source.name if isinstance(source, Value) and source.name else "v"
                v.name = self.unique(base)
            else:
                v.name = self.unique(v.hint if isinstance(v.hint, str) else "v")
        for v in rec.values:
            if v.kind == "const" and v.name is None:
                v.name = self.unique(f"_const{v.index}")
                self.namespace[v.name] = v.source

    # -- source ---------------------------------------------------------------------------
    def emit(self):
        rec = self.rec
        body = []
        for v in rec.inputs:
            body.append((f"{v.name} = {_input_expr(v.source)}",
                         f"the step's argument {_path_text(v.source)}", (), None))
        for v in rec.leaves.values():
            tensor_name = self.obj(v.source, f"_{v.name}")
            body.append((f"{v.name} = {tensor_name}._data", "read live (updated in place)",
                         (), None))
        origins = [None] * len(body)  # the instruction each line came from
        for instr in self.instrs:
            group = self.render(instr)
            # A lowering of several lines reads its operands up to its last line.
            reads = tuple(v for line in group for v in line[2])
            outs = [line[3] for line in group if line[3] is not None]
            for k, (text, comment, _, _) in enumerate(group):
                last_line = k == len(group) - 1
                body.append((text, comment, reads if last_line else (),
                             (outs[0] if outs else None) if last_line else None))
                origins.append(instr)
        outputs = [f"{v.name}.copy()" if self.lowering is not None and isinstance(v, Value)
                   and self.lowering.owned(v) else self.render_value(v)
                   for v in rec.output_values]
        returned = f"return ({', '.join(outputs)}{',' if len(outputs) == 1 else ''})"
        # Liveness by name: a value the lowering made an alias of another shares its name.
        assigned = {out.name for *_, out in body if out is not None and out.kind == "op"}
        assigned -= set(self.namespace)
        last = {}
        for i, (_, _, reads, _) in enumerate(body):
            for v in reads:
                last[v.name] = i
        keep = {v.name for v in rec.output_values if isinstance(v, Value)}
        lines = ["def step(_args, _kwargs):"]
        links = [None]
        width = min(max((len(text) for text, *_ in body if text), default=0), 56)
        for i, (text, comment, reads, out) in enumerate(body):
            if text is not None:
                lines.append(f"    {text:<{width}}  # {comment}" if comment else f"    {text}")
                links.append(self.link(origins[i]))
            dead = [name for name in dict.fromkeys(v.name for v in reads)
                    if last.get(name) == i and name not in keep and name in assigned]
            if out is not None and out.name in assigned and out.name not in last and \
                    out.name not in keep and out.name not in dead:
                dead.append(out.name)
            if dead and "del" in self.passes:
                lines.append(f"    del {', '.join(dead)}")
                links.append(None)
        lines.append(f"    {returned}")
        links.append(None)
        # What inspect's code view needs once the recording is dropped: for each line of the
        # source, the graph node it computes or whose gradient it computes; and the forward
        # nodes in order with their ops, to find the same nodes in another graph of the step.
        self.line_links = links
        self.forward_ops = [(node.seq, node.op.name, _parents(node))
                            for node in rec.node_values]
        return "\n".join(lines) + "\n"

    def link(self, instr):
        """("forward" or "backward", ("op", seq) or ("leaf", tensor)) for a line from
        ``instr``, or None."""
        if instr is None:
            return None
        kind = instr.kind
        if kind == "forward" and instr.out is not None:
            if getattr(self, "_node_of", None) is None:
                self._node_of = {v: n for n, v in self.rec.node_values.items()}
                for other in self.instrs:  # a forward whose result the engine wrapped
                    if other.kind == "asarray" and other.out in self._node_of and \
                            isinstance(other.args[0], Value):
                        self._node_of.setdefault(other.args[0], self._node_of[other.out])
            node = self._node_of.get(instr.out)
            return None if node is None else ("forward", ("op", node.seq))
        node = instr.extra.get("parent") if kind in ("vjp", "fit") else \
            instr.extra.get("node") if kind == "accum" else None
        if node is not None:
            if node.op is None:
                tensor = node.tensor_ref() if node.tensor_ref is not None else None
                return None if tensor is None else ("backward", ("leaf", tensor))
            return ("backward", ("op", node.seq))
        if kind in ("grad_set", "grad_add"):
            return ("backward", ("leaf", instr.extra["tensor"]))
        return None

    def release(self):
        """Drop what only the making of the source needed (the traced call's nodes, values
        and arrays); the source, its namespace and the buffers' names stay."""
        self.rec = self.instrs = self.node_names = self._node_of = None
        if self.lowering is not None:
            self.lowering.release()

    def prelude(self):
        """Lines that make the arrays the program uses (buffers, constants) and name the
        other objects it reads, so that ``step.code`` is a complete NumPy program."""
        import re as _re
        used = set(_re.findall(r"\b_?\w+\b", self.source))
        arrays, others = [], []
        for name, obj in self.namespace.items():
            if name not in used or name == "np":
                continue
            if isinstance(obj, ndarray):
                arrays.append(f"{name} = {_array_expr(name, obj)}")
            else:
                others.append(f"# {name}: {_describe(obj)}")
        return arrays, others

    def obj(self, obj, hint):
        """A name in the namespace for a Python object the program uses."""
        for name, value in self.namespace.items():
            if value is obj:
                return name
        name = self.unique(hint)
        self.namespace[name] = obj
        return name

    def render_value(self, obj):
        if isinstance(obj, Value):
            return obj.name
        if isinstance(obj, tuple):
            inner = ", ".join(self.render_value(item) for item in obj)
            return f"({inner}{',' if len(obj) == 1 else ''})"
        if isinstance(obj, list):
            return f"[{', '.join(self.render_value(item) for item in obj)}]"
        if isinstance(obj, dict):
            items = ", ".join(f"{key!r}: {self.render_value(item)}" for key, item in obj.items())
            return "{" + items + "}"
        literal = _literal(obj)
        if literal is not None:
            return literal
        return self.obj(obj, "_k")

    def call(self, fn, hint, args, kwargs=None):
        parts = [self.render_value(a) for a in args]
        parts += [f"{key}={self.render_value(value)}" for key, value in (kwargs or {}).items()]
        return f"{self.obj(fn, hint)}({', '.join(parts)})"

    def render(self, instr):
        """[(text, comment, values read, value written)] for one instruction."""
        if self.lowering is not None:
            lowered = self.lowering.render(instr)
            if lowered is not None:
                return lowered
        reads = tuple(instr.values())
        out = instr.out
        where = _where(instr)
        kind = instr.kind
        if kind == "forward":
            hint = "_" + instr.op.name
            text = f"{out.name} = {self.call(instr.fn, hint, instr.args, instr.kwargs)}"
            return [(text, f"{instr.op.name}{where}", reads, out)]
        if kind == "residual":
            hint = f"_{instr.op.name}_{instr.extra['name']}"
            text = f"{out.name} = {self.call(instr.fn, hint, instr.args)}"
            return [(text, f"{instr.op.name}: saved for backward{where}", reads, out)]
        if kind == "vjp":
            hint = f"_{instr.op.name}_vjp{instr.extra['position']}"
            text = f"{out.name} = {self.call(instr.fn, hint, instr.args)}"
            return [(text, self.formula(instr) + where, reads, out)]
        if kind == "fit":
            return [(f"{out.name} = _fit({self.render_value(instr.args[0])}, "
                     f"{instr.args[1]!r}, np.{instr.args[2]})",
                     "summed to the input's shape", reads, out)]
        if kind == "accum":
            if len(instr.args) == 1:
                self.namespace.setdefault("_dense", instr.fn)
                return [(f"{out.name} = _dense({instr.args[0].name})",
                         "a slice's gradient, made dense", reads, out)]
            a, b = instr.args
            return [(f"{out.name} = _accum({a.name}, {b.name})", "gradients of a fan-out add up",
                     reads, out)]
        if kind in ("asarray", "convert", "call"):
            hint = "_" + getattr(instr.fn, "__name__", "f")
            text = f"{out.name} = {self.call(instr.fn, hint, instr.args)}"
            return [(text, instr.extra.get("comment", kind), reads, out)]
        if kind == "check":
            return [(self.call(instr.fn, "_" + instr.fn.__name__, instr.args),
                     instr.extra.get("comment", "check"), reads, None)]
        if kind == "effect":
            fn = instr.fn
            hint = f"_{type(getattr(fn, '__self__', fn)).__name__.lower()}_{fn.__name__}"
            return [(self.call(fn, hint, instr.args), instr.extra.get("comment", ""), reads,
                     None)]
        if kind == "clip":
            text = f"{out.name} = np.asarray({self.call(instr.fn, '_clip_grads', instr.args)})"
            return [(text, "clip_grad_norm_: the gradients scaled in place, their total norm "
                     "computed here", reads, out)]
        tensor = self.tensor_expr(instr)
        if kind == "grad_none":
            return [(f"{tensor}.grad = None", "zero_grad", (), None)]
        if kind == "grad_set":
            self.namespace.setdefault("_T", _tensor_make)
            value = instr.args[0]
            array = value.name
            if instr.extra["tensor_value"].kind == "input" and self.lowering is not None and \
                    self.lowering.owned(value):
                # An argument's gradient leaves with it (saliencies collected call by call):
                # a copy, not the buffer the next replay writes.
                array = f"{array}.copy()"
            return [(f"{tensor}.grad = _T({array}, None)", f".grad of {tensor[1:]}", reads,
                     None)]
        if kind == "grad_add":
            return [(f"np.add({tensor}.grad._data, {instr.args[0].name}, "
                     f"out={tensor}.grad._data)", ".grad accumulates", reads, None),
                    (f"{out.name} = {tensor}.grad._data", "", (), out)]
        if kind == "update":
            opt = self.obj(instr.extra["optimizer"], "_opt")
            group = instr.extra["group"]
            # maximize is part of the plan's guarded group shape: PyTorch negates the gradient.
            sign = "-" if instr.extra["optimizer"].param_groups[group].get("maximize") else ""
            return [(f"{opt}.update({tensor}._data, {sign}{tensor}.grad._data, "
                     f"{opt}._state.setdefault({tensor}, {{}}), {opt}.param_groups[{group}])",
                     f"{type(instr.extra['optimizer']).__name__} step, in place", reads, None),
                    (f"{tensor}._bump_version()", "", (), None)]
        raise AssertionError(kind)

    def tensor_expr(self, instr):
        """The tensor whose .grad an instruction touches: an argument of the step by its place
        (each call passes its own), any other by the object capture saw (read live)."""
        value = instr.extra["tensor_value"]
        if value.kind == "input":
            path, _ = value.source
            return _input_expr((path, False))
        return self.obj(instr.extra["tensor"], f"_{value.name}")

    def formula(self, instr):
        """The VJP's declared formula with the plan's names filled in."""
        op = instr.op
        position = instr.extra["position"]
        text = op.formula_for(position)
        grad = instr.args[0]
        subs = {"grad": grad.name if isinstance(grad, Value) else "grad"}
        node = None
        for n, v in self.rec.node_values.items():
            if v is instr.extra.get("out_value"):
                node = n
        names = instr.extra["names"]
        node = instr.extra.get("node")
        if node is not None:
            subs["out"] = self.node_names.get(node, "out")
            for name, parent in zip(op.inputs, node.parents):
                if parent is not None and parent in self.node_names:
                    subs[name] = self.node_names[parent]
        transposes = {}
        for name, arg in zip(names, instr.args[1:]):
            if isinstance(arg, Value):
                subs[name] = arg.name
                base = self.lowering.transposes.get(arg) if self.lowering is not None else None
                if base is not None:
                    transposes[name] = base.name
        if text is None:
            return f"d {op.name}/{op.input_name(position)}"
        try:
            for name, base in transposes.items():
                text = text.replace(f"{{{name}}}^T", base)
            filled = re.sub(r"\{(\w+)\}", lambda m: subs.get(m.group(1), m.group(1)), text)
        except Exception:  # noqa: BLE001  (a formula is text for people; never fail on it)
            filled = text
        _ = node
        return f"{filled}: {op.name}"


def _parents(node):
    """A node's inputs as (None | ("leaf", tensor) | ("op", seq)), to find it in another graph."""
    found = []
    for parent in node.parents:
        if parent is None:
            found.append(None)
        elif parent.op is None:
            tensor = parent.tensor_ref() if parent.tensor_ref is not None else None
            found.append(None if tensor is None else ("leaf", tensor))
        else:
            found.append(("op", parent.seq))
    return tuple(found)


def _array_expr(name, a):
    dtype = f"np.{a.dtype}"
    if name.startswith(("_buf", "_scratch")):
        return f"np.empty({a.shape!r}, {dtype})  # a buffer the plan owns, reused every step"
    if a.size and (a == 1).all():
        return f"np.ones({a.shape!r}, {dtype})"
    if a.size and not a.any():
        return f"np.zeros({a.shape!r}, {dtype})"
    if a.ndim == 1 and a.dtype.kind in "iu" and (a == xp.arange(a.size)).all():
        return f"np.arange({a.size})"
    if a.size <= 16:
        return f"np.array({a.tolist()!r}, {dtype})"
    return f"...  # a constant array of shape {a.shape} {a.dtype}, captured at trace time"


def _describe(obj):
    from ..tensor import Tensor
    if isinstance(obj, Tensor):
        return (f"a chainrule Tensor of shape {tuple(obj.shape)} (its array is read, its "
                f".grad set)")
    kind = type(obj).__name__
    if callable(obj):
        module = getattr(obj, "__module__", "") or ""
        return f"{getattr(obj, '__qualname__', kind)} ({module})"
    return f"a {kind} ({type(obj).__module__})"


RESERVED = {"np", "step", "del", "return", "lambda", "in", "is", "not", "and", "or", "if",
            "else", "for", "def", "class", "import", "from", "as", "with", "try", "None",
            "True", "False", "_args", "_kwargs", "_fit", "_accum", "_T", "_dense", "_add_into",
            # the lowered optimizer updates' own locals
            "lr", "buffer", "group", "state", "m", "v", "beta1", "beta2", "math"}


from ..tensor import Tensor  # noqa: E402

_tensor_make = Tensor._make


def identifier(text):
    text = str(text)
    lead = "_" if text.startswith("_") else ""
    text = re.sub(r"\W+", "_", text.replace("^T", "T").replace(" ", "")).strip("_") or "v"
    return lead + (f"v{text}" if text[0].isdigit() else text)


def _scope_label(scope):
    return f"l{scope}" if str(scope)[:1].isdigit() else str(scope)


def _input_expr(source):
    path, is_tensor = source
    expr = "_args" if path[0] == "args" else "_kwargs"
    for step in path[1:]:
        expr += f"[{step!r}]"
    return expr + "._data" if is_tensor else expr


def _path_text(source):
    return "".join(f"[{p!r}]" for p in source[0][1:])


def dce(instrs, outputs):
    """Drop the instructions whose results nothing reads: only updates, .grad writes and the
    returned values are live to begin with. A ``.grad = None`` that the same tensor's next
    gradient overwrites before anything reads it (zero_grad before backward) goes too."""
    instrs = _drop_dead_grad_stores(instrs)
    live = set()
    for v in outputs:
        if isinstance(v, Value):
            live.add(v)
    kept = []
    for instr in reversed(instrs):
        effect = instr.kind in ("grad_none", "grad_set", "grad_add", "update", "clip", "check",
                                "effect")
        if effect or (instr.out is not None and instr.out in live):
            kept.append(instr)
            live.update(instr.values())
    kept.reverse()
    return kept


def _drop_dead_grad_stores(instrs):
    dead = set()
    pending = {}  # id(tensor) -> index of its latest `.grad = None` not yet read
    for i, instr in enumerate(instrs):
        tensor = instr.extra.get("tensor")
        if tensor is None:
            continue
        key = id(tensor)
        if instr.kind == "grad_set" and key in pending:
            dead.add(pending.pop(key))
        elif instr.kind == "grad_none":
            pending[key] = i
        else:  # update, grad_add: they read .grad
            pending.pop(key, None)
    return [instr for i, instr in enumerate(instrs) if i not in dead]

