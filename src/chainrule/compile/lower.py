"""Lowering: ops written as the NumPy calls they make, into buffers the plan owns.

Each lowered line computes exactly what the op's forward or VJP computes, with the same NumPy
function on the same operands in the same order, so the numbers are the eager step's bit for
bit; what changes is where the result goes. Large results go into a buffer allocated once per
plan (``out=``), a value whose buffer no later line reads is overwritten in place by the next
elementwise op, and a few ops become the expression they are (``W.T``, ``g * b``). Small
arrays keep the expression form: for them NumPy's keyword parsing costs more than allocating.

An op without a lowering here runs its own forward or VJP function, as captured.
"""
import ast
import builtins
import copy
import inspect
import math
import textwrap

from ..backend import xp
from .capture import Value

# Below this many elements an expression (which allocates) beats a call with out=.
SMALL = 4096

_FLOAT = "f"


def _array(v):
    return isinstance(v, Value) and v.dtype is not None and isinstance(v.dtype, xp.dtype)


def _float(v):
    return _array(v) and v.dtype.kind == _FLOAT


def _size(v):
    return math.prod(v.shape)


def _scalar(obj):
    return type(obj) in (int, float) and (type(obj) is int or math.isfinite(obj))


class Lowering:
    def __init__(self, program):
        self.program = program
        self.buffers = {}  # Value -> name of the buffer it lives in
        self.views = {}  # Value -> the Value whose memory it views
        self.outputs = {v for v in program.rec.output_values if isinstance(v, Value)}
        self.scratch = {}
        self.bitmasks = {}  # relu mask Value -> its uint32 buffer
        self.softmax = {}  # logits Value -> (name of exp(o - max o), name of row indices)
        self.arrays = set()  # Values a lowered line made an ndarray (not a NumPy scalar)
        self.grads = {}  # id(tensor) -> the Value its .grad holds now (set by this plan)
        self.index = {}
        self.last = {}
        instrs = program.instrs
        self.consumers = {}
        for i, instr in enumerate(instrs):
            self.index[id(instr)] = i
            for v in instr.values():
                self.last[v] = i
                self.consumers.setdefault(v, []).append(instr)
        # Values a step leaves in some tensor's .grad: they outlive the plan, so no later
        # line may overwrite their buffer in place (`p.grad * p.grad` after backward did).
        self.escaped = {instr.args[0] for instr in instrs
                        if instr.kind == "grad_set" and isinstance(instr.args[0], Value)}
        self.folded = set()  # ids of instructions another line already computed
        # forward results whose only reader is the engine's np.asarray: folded into one line
        self.wraps = {}
        for instr in instrs:
            if instr.kind == "asarray" and instr.fn is xp.asarray:
                source = instr.args[0]
                if isinstance(source, Value) and len(self.consumers.get(source, ())) == 1 and \
                        source not in self.outputs and source.producer is not None and \
                        source.producer.kind == "forward":
                    self.wraps[source] = instr
        self.transposes = {}  # Value -> the Value it is the transpose (view) of
        self.position = 0
        self._inline_cache = {}

    def release(self):
        """Keep only the buffers' and scratch arrays' names (step.buffer_bytes reads them)."""
        self.buffers = {None: name for name in set(self.buffers.values())}
        self.views = self.transposes = self.consumers = self.last = self.index = {}
        self.outputs = set()
        self.softmax = self.bitmasks = self.grads = self.wraps = {}

    # -- buffers --------------------------------------------------------------------------
    def live_after(self, v, i):
        """Whether ``v``'s memory is read after instruction ``i`` (by itself or a view)."""
        if v in self.outputs or self.last.get(v, -1) > i:
            return True
        return any(base is v and self.live_after(view, i) for view, base in self.views.items())

    def buffer_for(self, v):
        """The name of a buffer for ``v`` (allocated once per plan), or None when ``v`` leaves
        the step (a returned value gets fresh memory every call)."""
        if v in self.outputs or not _array(v):
            return None
        if v not in self.buffers:
            name = self.program.unique(f"_buf_{v.name}")
            self.program.namespace[name] = xp.empty(v.shape, v.dtype)
            self.buffers[v] = name
        return self.buffers[v]

    def reuse(self, v, candidates, i):
        """A dead operand's buffer for ``v`` (same shape and dtype), to write in place."""
        kept = {self.buffers[e] for e in self.escaped if e in self.buffers}
        for c in candidates:
            if isinstance(c, Value) and c in self.buffers and c.shape == v.shape and \
                    c.dtype == v.dtype and not self.live_after(c, i) and c not in self.views \
                    and self.buffers[c] not in kept:
                self.buffers[v] = self.buffers[c]
                return self.buffers[c]
        return None

    def target(self, v, operands, i):
        """Where an elementwise result goes: '' (a new array) for small or returned values,
        else a dead operand's buffer or the value's own."""
        if _size(v) < SMALL or v in self.outputs:
            return None
        return self.reuse(v, operands, i) or self.buffer_for(v)

    # -- rendering ------------------------------------------------------------------------
    def render(self, instr):
        i = self.index.get(id(instr))
        if i is None:
            return None
        if id(instr) in self.folded:
            return [(None, None, tuple(instr.values()), None)]
        method = getattr(self, f"_{instr.kind}", None)
        if method is None:
            return None
        try:
            lines = method(instr, i)
        except _NoLowering:
            return None
        return self.fold_scalar(instr, lines)

    def fold_scalar(self, instr, lines):
        """A 0-d result that the engine wraps with np.asarray (NumPy hands back a scalar):
        the wrapping written on the line that computes it, under the wrapped value's name."""
        wrap = self.wraps.get(instr.out) if instr.out is not None else None
        if lines is None or wrap is None:
            return lines
        for k, (text, comment, reads, out) in enumerate(lines):
            head = f"{instr.out.name} = "
            if out is instr.out and text and text.startswith(head):
                self.folded.add(id(wrap))
                text = f"{wrap.out.name} = np.asarray({text[len(head):]})"
                lines[k] = (text, comment, reads, wrap.out)
                return lines
        return lines

    def line(self, text, comment, instr, out):
        return (text, comment, tuple(instr.values()), out)

    def dels(self, *names):
        """``del`` lines for the lowering's own temporaries, when the del pass is on."""
        return [(f"del {', '.join(names)}", "", (), None)] if "del" in self.program.passes \
            else []

    def alias(self, instr, source):
        """No line: ``instr``'s result is ``source`` itself, under its name."""
        instr.out.name = source.name
        if source in self.views:
            self.views[instr.out] = self.views[source]
        if source in self.buffers:
            self.buffers[instr.out] = self.buffers[source]
        if source in self.transposes:
            self.transposes[instr.out] = self.transposes[source]
        return [(None, None, tuple(instr.values()), instr.out)]

    def untransposed(self, v):
        """``v.T`` as an expression, folding a transpose of a transpose."""
        base = self.transposes.get(v)
        return base.name if base is not None else f"{v.name}.T"

    def n(self, obj):
        return self.program.render_value(obj)

    def _where(self, instr):
        return where(instr)

    def _forward(self, instr, i):
        op, args, out = instr.op.name, instr.args, instr.out
        where = f"{op}{self._where(instr)}"
        if op == "softmax_cross_entropy":
            return self._cross_entropy(instr, i)
        if instr.kwargs and op not in ("transpose",):
            return self._inline(instr, i)
        if op == "transpose" and instr.kwargs.get("axes") is None and _array(args[0]) and \
                len(args[0].shape) == 2:
            self.views[out] = args[0]
            self.transposes[out] = args[0]
            return [self.line(f"{out.name} = {args[0].name}.T", where, instr, out)]
        if op == "matmul" and all(_float(a) and len(a.shape) == 2 for a in args) and \
                args[0].dtype == args[1].dtype:
            buf = self.buffer_for(out)
            call = f"np.matmul({args[0].name}, {args[1].name}"
            text = f"{out.name} = {call}, out={buf})" if buf else f"{out.name} = {call})"
            return [self.line(text, where, instr, out)]
        ufunc = {"add": "add", "sub": "subtract", "mul": "multiply"}.get(op)
        if ufunc and _float(out) and all(_same_float(a, out) for a in args):
            return self._elementwise(instr, i, ufunc, args, where)
        if op == "relu" and _float(args[0]):
            return self._elementwise(instr, i, "maximum", [0, args[0]], where)
        if op == "tanh" and _float(args[0]):
            return self._elementwise(instr, i, "tanh", args, where)
        if op == "exp" and _float(args[0]):
            return self._elementwise(instr, i, "exp", args, where)
        return self._inline(instr, i)

    def _cross_entropy(self, instr, i):
        """softmax_cross_entropy's forward written out (the same expressions, in the same
        order). Its exponentials and their row sums stay for the VJP, which would compute
        them again."""
        o, labels = instr.args
        out = instr.out
        if instr.kwargs.get("reduction", "mean") != "mean" or not _float(o) or \
                len(o.shape) != 2 or not _array(labels) or o.shape[0] == 0:
            return None
        program = self.program
        from ..ops.fused import check_labels
        program.namespace.setdefault("_check_labels", check_labels)
        rows = program.unique("rows")
        program.namespace[rows] = xp.arange(o.shape[0])
        shifted, e = program.unique(f"{o.name}_shifted"), program.unique(f"exp_{o.name}")
        total = program.unique(f"sum_exp_{o.name}")
        self.softmax[o] = (e, rows, total)
        where = "softmax cross-entropy" + self._where(instr)
        classes = o.shape[1]
        return [(f"if {labels.name}.min() < 0 or {labels.name}.max() >= {classes}:",
                 "labels are class indices in range", (), None),
                (f"    _check_labels('cross_entropy', {labels.name}, {o.shape!r})",
                 "(raises, naming the label)", (), None),
                (f"{shifted} = {o.name} - {o.name}.max(axis=1, keepdims=True)",
                 "shifted: exp cannot overflow", (), None),
                (f"{e} = np.exp({shifted})", "", (), None),
                (f"{total} = {e}.sum(axis=1, keepdims=True)", "kept: the VJP divides by it",
                 (), None),
                (f"{out.name} = (np.log({total}[:, 0]) - "
                 f"{shifted}[{rows}, {labels.name}]).mean()", where, tuple(instr.values()), out),
                *self.dels(shifted)]

    def _elementwise(self, instr, i, ufunc, operands, comment):
        out = instr.out
        buf = self.target(out, [a for a in operands if isinstance(a, Value)], i)
        parts = ", ".join(self.n(a) for a in operands)
        if buf is None:
            symbol = {"add": "+", "subtract": "-", "multiply": "*"}.get(ufunc)
            if symbol and len(operands) == 2:
                text = f"{out.name} = {self.n(operands[0])} {symbol} {self.n(operands[1])}"
            else:
                text = f"{out.name} = np.{ufunc}({parts})"
        else:
            text = f"{out.name} = np.{ufunc}({parts}, out={buf})"
        return [self.line(text, comment, instr, out)]

    def _residual(self, instr, i):
        if instr.op.name == "relu" and instr.extra.get("name") == "mask" and \
                _array(instr.args[0]) and _size(instr.out) >= SMALL:
            # ReLU's mask kept as 32-bit words, all ones where h > 0 (or NaN) and zero elsewhere:
            # backward's where(mask, grad, 0) is then one bitwise AND, exact to the bit
            # (+0 where the mask is off, grad's own bits elsewhere), without where's branches.
            out, h = instr.out, instr.args[0]
            bits = _Twin(out, xp.dtype(xp.uint32), out.shape)
            buf = self.buffer_for(bits)
            self.bitmasks[out] = buf
            where = f"relu: saved for backward{self._where(instr)}"
            return [self.line(f"{out.name} = np.less_equal({h.name}, 0, out={buf})", where,
                              instr, out),
                    (f"np.subtract({out.name}, 1, out={out.name})",
                     "all ones where h > 0, else 0", (), None)]
        return self._inline(instr, i)

    def _vjp(self, instr, i):
        op, out = instr.op.name, instr.out
        position = instr.extra["position"]
        grad, saved = instr.args[0], instr.args[1:]
        names = instr.extra["names"]
        comment = self.program.formula(instr) + self._where(instr)
        if not isinstance(grad, Value) or not _array(grad):
            return self._inline(instr, i)
        if op == "softmax_cross_entropy" and saved[0] in self.softmax and \
                instr.extra["names"] == ("logits", "labels", "reduction") and saved[2] == "mean":
            e, rows, total = self.softmax.pop(saved[0])
            n = saved[0].shape[0]
            # The VJP recomputes exp(o - max o) and its row sums: the same values as the
            # forward's, which are still here.
            return [(f"{e} /= {total}", "softmax(o)", (), None),
                    (f"{e}[{rows}, {saved[1].name}] -= 1", "softmax(o) - onehot(y)", (), None),
                    self.line(f"{out.name} = np.multiply({e}, {grad.name} / {n}, out={e})",
                              comment, instr, out),
                    *self.dels(e, total)]
        if op in ("add", "sub") and position == 0 or op == "add":
            return self.alias(instr, grad)
        if op == "transpose" and saved == [None] and names == ("axes",) and len(grad.shape) == 2:
            base = self.transposes.get(grad)
            if base is not None:
                return self.alias(instr, base)
            self.views[out] = grad
            self.transposes[out] = grad
            return [self.line(f"{out.name} = {grad.name}.T", comment, instr, out)]
        if op == "matmul" and len(grad.shape) == 2:
            if position == 0 and names == ("b", "a_shape") and len(saved[1]) == 2 and \
                    _float(saved[0]) and len(saved[0].shape) == 2:
                buf = self.buffer_for(out)
                text = f"{out.name} = np.matmul({grad.name}, {self.untransposed(saved[0])}"
                return [self.line(f"{text}, out={buf})" if buf else f"{text})", comment, instr,
                                  out)]
            if position == 1 and names == ("a", "b") and all(
                    _float(s) and len(s.shape) == 2 for s in saved):
                a, b = saved
                transposed = b.layout == "F"
                users = self.consumers.get(out, [])
                if transposed and len(users) == 1 and users[0].kind == "vjp" and \
                        users[0].op.name == "transpose" and users[0].args[1:] == [None] and \
                        out not in self.outputs:
                    # (g^T a)^T transposed back by W^T's VJP: W's gradient is g^T a itself.
                    final = users[0].out
                    self.folded.add(id(users[0]))
                    buf = self.buffer_for(final)
                    text = f"{final.name} = np.matmul({grad.name}.T, {a.name}"
                    text = f"{text}, out={buf})" if buf else f"{text})"
                    return [(text, f"{grad.name}^T . {a.name}: matmul's VJP, transposed back "
                             f"for {final.name}{self._where(instr)}", tuple(instr.values()),
                             final)]
                if transposed:
                    base = _Twin(out)
                    buf = self.buffer_for(base)
                    self.views[out] = base
                    self.buffers.setdefault(base, buf)
                    text = f"{out.name} = np.matmul({grad.name}.T, {a.name}, out={buf}).T" \
                        if buf else f"{out.name} = ({grad.name}.T @ {a.name}).T"
                else:
                    buf = self.buffer_for(out)
                    text = f"{out.name} = np.matmul({a.name}.T, {grad.name}, out={buf})" \
                        if buf else f"{out.name} = {a.name}.T @ {grad.name}"
                return [self.line(text, comment, instr, out)]
        if op == "relu" and names == ("mask",) and _float(grad) and saved[0] in self.bitmasks \
                and grad.dtype.itemsize == 4:
            mask = saved[0]
            buf = self.target(out, [grad], i)
            return [self.line(f"{out.name} = np.bitwise_and({grad.name}.view(np.uint32), "
                              f"{mask.name}, out={buf}.view(np.uint32)).view(np.{grad.dtype})",
                              comment, instr, out)]
        if op == "mul" and len(saved) == 1 and _same_float(saved[0], grad) or \
                op == "mul" and len(saved) == 1 and _scalar(saved[0]):
            return self._elementwise(instr, i, "multiply", [grad, saved[0]], comment)
        return self._inline(instr, i)

    def _fit(self, instr, i):
        raw, shape, dtype = instr.args
        out = instr.out
        if raw.lazy or out.lazy or not (
                _float(raw) and raw.dtype == dtype and len(raw.shape) > len(shape) and
                tuple(raw.shape[len(raw.shape) - len(shape):]) == tuple(shape)):
            return None
        lead = len(raw.shape) - len(shape)
        axis = 0 if lead == 1 else tuple(range(lead))
        buf = self.buffer_for(out) if _size(out) >= 1 and len(shape) else None
        comment = f"{raw.name} summed over the rows it was broadcast to"
        if buf is None:
            return [self.line(f"{out.name} = {raw.name}.sum(axis={axis})", comment, instr, out)]
        # np.add.reduce is what np.sum calls, without its Python wrapper.
        return [self.line(f"{out.name} = np.add.reduce({raw.name}, axis={axis}, out={buf})",
                          comment, instr, out)]

    def _accum(self, instr, i):
        if len(instr.args) == 2 and instr.args[1].lazy and not instr.args[0].lazy:
            return self._accum_slice(instr, i)
        if len(instr.args) != 2 or any(v.lazy for v in instr.args):
            return None
        a, b = instr.args
        out = instr.out
        if not (_float(a) and _float(b) and a.shape == b.shape == out.shape and
                a.dtype == b.dtype == out.dtype and len(out.shape)):
            return None
        return self._elementwise(instr, i, "add", [a, b], "gradients of a fan-out add up")

    def _accum_slice(self, instr, i):
        """A slice's gradient added at its index into the sum so far: in place when that sum
        is an array an earlier sum of this plan made and nothing reads afterwards (the engine
        copies it first, as something else might hold it; here nothing does). The same
        additions, so the same bits."""
        a, b = instr.args
        producer = a.producer
        if producer is None or producer.kind != "accum" or a in self.outputs or \
                a in self.views or self.live_after(a, i) or not _array(a) or a in self.escaped:
            return None
        self.program.namespace.setdefault("_add_into", _add_into)
        out = instr.out
        if a in self.buffers:
            self.buffers[out] = self.buffers[a]
        return [self.line(f"{out.name} = _add_into({a.name}, {b.name})",
                          "a slice's gradient added at its index, in place", instr, out)]

    def _asarray(self, instr, i):
        source = instr.args[0]
        if source in self.arrays:  # already an ndarray: np.asarray would return it
            return self.alias(instr, source)
        if instr.fn.__name__ == "_copy" and isinstance(source, Value) and \
                self.owned(source) and not self.live_after(source, i):
            # The engine copies a gradient that something else might still hold; in the plan
            # nothing does, so the buffer itself becomes .grad.
            return self.alias(instr, source)
        return None

    def _update(self, instr, i):
        """SGD's update (plain or heavy-ball momentum) as in-place NumPy calls: the same
        products and sums as SGD.update, into the parameter, its momentum buffer and one
        scratch array, with the learning rate read from the group at every replay."""
        from ..optim.adam import Adam, AdamW
        from ..optim.sgd import SGD
        opt, index = instr.extra["optimizer"], instr.extra["group"]
        group = opt.param_groups[index]
        leaf = instr.extra["tensor_value"]
        if group.get("maximize"):
            return None  # the generic step (Optimizer.update_parameter) negates the gradient
        if type(opt) in (Adam, AdamW) and _float(leaf) and leaf.kind == "leaf":
            return self._adam(instr, opt, index, group, leaf)
        if type(opt) is not SGD or group["weight_decay"] != 0 or group["nesterov"] or \
                not _float(leaf) or leaf.kind != "leaf":
            return None
        program = self.program
        o = program.obj(opt, "_opt")
        t = program.obj(instr.extra["tensor"], f"_{leaf.name}")
        key = (leaf.shape, leaf.dtype)
        if key not in self.scratch:
            name = program.unique(f"_scratch{len(self.scratch)}")
            program.namespace[name] = xp.empty(leaf.shape, leaf.dtype)
            self.scratch[key] = name
        tmp = self.scratch[key]
        w = leaf.name
        comment = f"SGD step on {w}, in place"
        grad = self.grads.get(id(instr.extra["tensor"]))
        g = grad.name if grad is not None else f"{t}.grad._data"
        lines = [(f"lr = {o}.param_groups[{index}]['lr']", "read live: a scheduler may change it",
                  (), None)]
        if group["momentum"] != 0:
            program.extra_guards.append(f"'momentum_buffer' in {o}._state.get({t}, ())")
            momentum, damping = group["momentum"], 1 - group["dampening"]
            lines += [(f"buffer = {o}._state[{t}]['momentum_buffer']", "momentum buffer", (), None),
                      (f"np.multiply(buffer, {momentum!r}, out=buffer)", "b = momentum b", (),
                       None),
                      (f"np.multiply({g}, {damping!r}, out={tmp})", "", (), None),
                      (f"np.add(buffer, {tmp}, out=buffer)", "    + (1 - dampening) g", (), None),
                      ]
            step = "buffer"
        else:
            step = g
        # SGD.update's `w -= lr * g`: with a Python number lr the product stays in w's dtype
        # and goes into the scratch array; another lr (an np.float64 from a schedule array)
        # makes a float64 product, so that plan runs eager's own expression, for its bits. A
        # guard retraces when the kind of lr changes.
        number = type(group["lr"]) in (float, int)
        program.extra_guards.append(f"(type({o}.param_groups[{index}]['lr']) in (float, int)) "
                                    f"is {number}")
        if number:
            lines += [(f"np.multiply({step}, lr, out={tmp})", "", (), None),
                      (f"np.subtract({w}, {tmp}, out={w})", comment, (), None)]
        else:
            lines.append((f"{w} -= lr * {step}", f"{comment}, as SGD.update computes it",
                          (), None))
        lines.append((f"{t}._bump_version()", "", (grad,) if grad is not None else (), None))
        return lines

    def _adam(self, instr, opt, index, group, leaf):
        """Adam's (and AdamW's) update as in-place NumPy calls, the same operations as
        Adam.update in its order, once the moments exist (the first step makes them); the
        learning rate, betas and eps are read from the group at every replay."""
        from ..optim.adam import AdamW
        decoupled = type(opt) is AdamW
        if group["amsgrad"] or (group["weight_decay"] != 0 and not decoupled):
            return None
        program = self.program
        o = program.obj(opt, "_opt")
        t = program.obj(instr.extra["tensor"], f"_{leaf.name}")
        tmp = self.scratch_for(leaf)
        grad = self.grads.get(id(instr.extra["tensor"]))
        g = grad.name if grad is not None else f"{t}.grad._data"
        w = leaf.name
        program.extra_guards.append(f"'exp_avg' in {o}._state.get({t}, ())")
        program.namespace.setdefault("math", math)
        lines = [(f"group = {o}.param_groups[{index}]", "read live: lr, betas, eps", (), None),
                 ("lr, (beta1, beta2) = group['lr'], group['betas']", "", (), None),
                 (f"state = {o}._state[{t}]", f"{type(opt).__name__} state of {w}", (), None),
                 ("state['step'] += 1", "", (), None),
                 ("step = float(state['step'])", "", (), None)]
        if group["weight_decay"] != 0:
            lines.append((f"np.multiply({w}, 1 - lr * group['weight_decay'], out={w})",
                          "decoupled weight decay", (), None))
        lines += [("m, v = state['exp_avg'], state['exp_avg_sq']", "", (), None),
                  ("np.multiply(m, beta1, out=m)", "m = beta1 m + (1 - beta1) g", (), None),
                  (f"np.multiply({g}, 1 - beta1, out={tmp})", "", (), None),
                  (f"np.add(m, {tmp}, out=m)", "", (), None),
                  ("np.multiply(v, beta2, out=v)", "v = beta2 v + (1 - beta2) g^2", (), None),
                  (f"np.multiply({g}, 1 - beta2, out={tmp})", "", (), None),
                  (f"np.multiply({tmp}, {g}, out={tmp})", "", (), None),
                  (f"np.add(v, {tmp}, out=v)", "", (), None),
                  (f"np.sqrt(v, out={tmp})", "sqrt(v) / sqrt(1 - beta2^t) + eps", (), None),
                  (f"np.divide({tmp}, math.sqrt(1 - beta2 ** step), out={tmp})", "", (), None),
                  (f"np.add({tmp}, group['eps'], out={tmp})", "", (), None),
                  (f"np.divide(m, {tmp}, out={tmp})", "", (), None),
                  (f"np.multiply({tmp}, lr / (1 - beta1 ** step), out={tmp})", "", (), None),
                  (f"np.subtract({w}, {tmp}, out={w})", f"Adam step on {w}, in place", (),
                   None),
                  (f"{t}._bump_version()", "", (grad,) if grad is not None else (), None)]
        return lines

    def scratch_for(self, leaf):
        key = (leaf.shape, leaf.dtype)
        if key not in self.scratch:
            name = self.program.unique(f"_scratch{len(self.scratch)}")
            self.program.namespace[name] = xp.empty(leaf.shape, leaf.dtype)
            self.scratch[key] = name
        return self.scratch[key]

    def _grad_set(self, instr, i):
        self.grads[id(instr.extra["tensor"])] = instr.args[0]
        return None

    def _grad_none(self, instr, i):
        self.grads.pop(id(instr.extra["tensor"]), None)
        return None

    def _grad_add(self, instr, i):
        self.grads.pop(id(instr.extra["tensor"]), None)
        return None

    def owned(self, v):
        base = v
        while base in self.views:
            base = self.views[base]
        return base in self.buffers

    def _inline(self, instr, i):
        """A single-expression forward or VJP written out as its expression."""
        if instr.kind not in ("forward", "vjp"):
            return None
        fn = instr.fn
        expression = self._expression(fn)
        if expression is None:
            return None
        tree, params, globals_used = expression
        args = list(instr.args)
        if instr.kind == "forward":
            kwargs = dict(instr.kwargs)
            if len(args) + len(kwargs) != len(params) or list(kwargs) != params[len(args):]:
                return None
            args += list(kwargs.values())
        if len(args) != len(params):
            return None
        for name, obj in globals_used.items():
            bound = self.program.namespace.get(name)
            if bound is not None and bound is not obj:
                return None
            if name in self.program._used:
                return None
        for name, obj in globals_used.items():
            self.program.namespace[name] = obj
        mapping = {p: self.n(a) for p, a in zip(params, args)}
        text = _Substitute(mapping).visit(copy.deepcopy(tree))
        expr = ast.unparse(text)
        out = instr.out
        if instr.kind == "forward":
            comment = f"{instr.op.name}{self._where(instr)}"
        elif instr.kind == "vjp":
            comment = self.program.formula(instr) + self._where(instr)
        else:
            comment = f"{instr.op.name}: saved for backward{self._where(instr)}"
        return [self.line(f"{out.name} = {expr}", comment, instr, out)]

    def _expression(self, fn):
        key = id(fn)
        if key in self._inline_cache:
            return self._inline_cache[key]
        found = None
        try:
            source = textwrap.dedent(inspect.getsource(fn))
            module = ast.parse(source)
            func = module.body[0]
            if isinstance(func, ast.FunctionDef):
                body = [s for s in func.body if not (isinstance(s, ast.Expr) and
                                                      isinstance(s.value, ast.Constant))]
                a = func.args
                plain = not (a.vararg or a.kwarg or a.posonlyargs or a.kw_defaults and any(
                    d is not None for d in a.kw_defaults) or a.defaults)
                if plain and len(body) == 1 and isinstance(body[0], ast.Return) and \
                        body[0].value is not None:
                    params = [p.arg for p in a.args] + [p.arg for p in a.kwonlyargs]
                    names = {n.id for n in ast.walk(body[0].value) if isinstance(n, ast.Name)}
                    free = names - set(params)
                    globals_used = {}
                    ok = True
                    for name in free:
                        if name == "xp":
                            continue
                        if name in fn.__globals__:
                            globals_used[name] = fn.__globals__[name]
                        elif not hasattr(builtins, name):
                            ok = False
                    if ok and not any(isinstance(n, (ast.Lambda, ast.NamedExpr, ast.Yield,
                                                     ast.Await)) for n in ast.walk(body[0])):
                        tree = _Rename({"xp": "np"}).visit(body[0].value)
                        found = (tree, params, globals_used)
        except (OSError, TypeError, SyntaxError, IndexError):
            found = None
        self._inline_cache[key] = found
        return found


def _add_into(total, part):
    """``part`` (a slice's gradient) added into ``total`` at its index, in place."""
    return part.add_into(total)


def where(instr):
    """', 3 (Linear)': where an instruction came from, for its comment."""
    scope = instr.scope
    if scope is None:
        return ""
    module = getattr(scope, "module_type", None)
    return f", {scope}" + (f" ({module.__name__})" if module is not None else "")


class _NoLowering(Exception):
    pass


class _Twin(Value):
    """The buffer behind a value: a transposed view of it, or its bits in another dtype."""

    def __init__(self, value, dtype=None, shape=None):
        super().__init__(-1, "op", shape or tuple(reversed(value.shape)), dtype or value.dtype,
                         hint=value.hint)
        self.name = f"{value.name}_T" if dtype is None else f"{value.name}_bits"



class _Substitute(ast.NodeTransformer):
    def __init__(self, mapping):
        self.mapping = mapping

    def visit_Name(self, node):
        if node.id in self.mapping:
            return ast.copy_location(ast.parse(self.mapping[node.id], mode="eval").body, node)
        return node


class _Rename(ast.NodeTransformer):
    def __init__(self, mapping):
        self.mapping = mapping

    def visit_Name(self, node):
        if node.id in self.mapping:
            return ast.copy_location(ast.Name(self.mapping[node.id], node.ctx), node)
        return node


def _same_float(a, out):
    if _scalar(a):
        return True
    return _float(a) and a.dtype == out.dtype

