"""Recording what the engine does during one eager call of a step function.

Nothing here runs unless a step is being captured: the recorder installs itself by swapping a
few methods and module attributes for the duration of one call (``Recorder.installed``) and puts
the originals back afterwards, so the eager hot path pays nothing for compile's existence.

What it sees, all from the engine's own seams:
- each primitive's forward on arrays (its inputs after promotion, keyword options, output),
  and the residuals a node computes for its VJPs;
- backward: each VJP call with the names and arrays it read, each gradient fitted to its
  input's shape (un-broadcast, cast), each sum of fan-out contributions, in the engine's order;
- ``.grad``: set to None, assigned by backward, accumulated into;
- the optimizer's ``step``: which parameters it updated with which group's options;
- the modules called (their training flags become guards), and ``Tensor(array)`` conversions
  of the step's inputs.
Reading a traced tensor's value in Python (``.item()``, ``bool(t)``, ``np.asarray(t)``) raises
``CaptureError`` naming the user's line, as do random draws and in-place changes it cannot
replay.
"""
import functools
import operator
import os
import sys
import traceback
import types

from .. import engine
from ..backend import ndarray, xp
from ..engine import mode
from ..errors import ChainruleError
from ..ops.fused import check_labels
from ..ops.primitive import REGISTRY, RESIDUAL, Plan, Primitive
from ..tensor import Tensor

tensor_module = sys.modules[Tensor.__module__]  # chainrule.tensor (cr.tensor is the function)

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class CaptureError(ChainruleError, RuntimeError):
    """``cr.compile`` met something it cannot turn into a plan that gives eager's numbers:
    Python reading a tensor's value, random draws, in-place changes it cannot replay.

    >>> issubclass(CaptureError, cr.ChainruleError)
    True
    """


_MODELS_DIR = os.path.join(_PACKAGE_DIR, "models") + os.sep


def user_line():
    """The innermost frame outside chainrule, as 'file:line: code'; chainrule's own models
    (chainrule/models/) count as outside: their forward is the line to name."""
    for frame in reversed(traceback.extract_stack()[:-1]):
        path = os.path.abspath(frame.filename)
        if not path.startswith(_PACKAGE_DIR + os.sep) or path.startswith(_MODELS_DIR):
            return f"{frame.filename}:{frame.lineno}: {(frame.line or '').strip()}"
    return "(inside chainrule)"


class Value:
    """One array of the plan: an input, a leaf read live from its tensor, a constant, or the
    result of an instruction. ``shape``/``dtype`` are what capture saw."""

    __slots__ = ("index", "kind", "shape", "dtype", "source", "name", "hint", "scope",
                 "producer", "layout", "lazy", "derived", "line", "__weakref__")

    def __init__(self, index, kind, shape, dtype, source=None, hint=None, scope=None):
        self.index = index
        self.kind = kind  # "input", "leaf", "const", "op"
        self.shape = shape
        self.dtype = dtype
        self.source = source  # input: its path in the arguments; leaf: the tensor; const: array
        self.name = None
        self.hint = hint
        self.scope = scope
        self.producer = None
        self.layout = None  # "C", "F" or "A" (neither), as capture saw the array
        self.lazy = False  # an engine.SliceGradient, not an array
        self.derived = False  # indices the plan finds from the data (sort's order)
        self.line = None  # a constant: the step's line that was running when it was made

    def __repr__(self):
        return f"<Value {self.index} {self.kind} {self.name or self.hint} {self.shape}>"


class Instr:
    """One step of the plan. ``kind``: forward, residual, vjp, fit, accum, asarray, convert,
    grad_none, grad_set, grad_add, update. ``args``/``kwargs`` hold Values where arrays flow and
    plain Python objects elsewhere."""

    __slots__ = ("kind", "fn", "args", "kwargs", "out", "op", "scope", "extra")

    def __init__(self, kind, fn=None, args=(), kwargs=None, out=None, op=None, scope=None,
                 **extra):
        self.kind = kind
        self.fn = fn
        self.args = list(args)
        self.kwargs = kwargs or {}
        self.out = out
        self.op = op
        self.scope = scope
        self.extra = extra

    def values(self):
        """The Values this instruction reads."""
        found = []
        _collect(self.args, found)
        _collect(self.kwargs, found)
        for key in ("tensor_value",):
            if isinstance(self.extra.get(key), Value):
                found.append(self.extra[key])
        return found

    def __repr__(self):
        return f"<Instr {self.kind} {getattr(self.op, 'name', '')} -> {self.out}>"


def _collect(obj, found):
    if isinstance(obj, Value):
        found.append(obj)
    elif isinstance(obj, (tuple, list)):
        for item in obj:
            _collect(item, found)
    elif isinstance(obj, dict):
        for item in obj.values():
            _collect(item, found)


class Recording:
    """What one capture produced: the instructions in order, the values, the inputs' paths,
    the output tree, and what the guards need."""

    def __init__(self):
        self.instrs = []
        self.values = []
        self.inputs = []  # Values of kind input, in argument order
        self.leaves = {}  # id(tensor) -> Value
        self.output = None
        self.modules = []  # modules called (training flags)
        self.module_states = {}  # id(module) -> guards.module_state when first called
        self.entry_grads = {}  # id(tensor) -> (tensor, grad was None, shape, dtype)
        self.optimizers = []  # (optimizer, group index, group options that shape the plan)
        self.node_values = {}  # Node -> Value of its output
        self.leaf_nodes = {}  # Node -> Value (leaf tensors' nodes)
        self.root_nodes = []  # Tensors backward started from
        self.final_grads = {}  # Node -> Value of its summed gradient
        self.output = None  # the step's result with Values in place of arrays
        self.output_values = []


class Recorder:
    def __init__(self, flat_args):
        self.rec = Recording()
        self.by_id = {}  # id(array) -> Value
        self.keep = []  # every object whose id is a key, so that no id is reused meanwhile
        self.depth = 0  # inside a primitive's forward: nested calls are part of it
        self.in_vjp = 0
        self.allow_inplace = 0
        self.in_accumulate = 0
        self.in_zero_grad = 0
        self.contrib = {}  # Node -> [Values of gradient contributions so far]
        self.grad_touched = set()  # id(tensor) whose .grad this call has set
        self.last_forward = None
        self.snapshots = []  # (tensor, its array, a copy) of each leaf when first read
        self.input_copies = []  # each array argument as the call began
        self.in_scheduler = 0
        # id(optimizer) -> (optimizer, its groups' options when last seen): a change made in
        # Python between two sightings (not by a scheduler, whose step the plan repeats) is
        # refused, since a replay would not make it.
        self.group_options = {}
        self.reshaped = set()  # (id(optimizer), group) whose plan-shaping options a scheduler
        #                        changed during this call
        self._register_inputs(flat_args)

    # -- values ---------------------------------------------------------------------------
    def new_value(self, kind, shape, dtype, source=None, hint=None, scope=None):
        v = Value(len(self.rec.values), kind, shape, dtype, source, hint, scope)
        self.rec.values.append(v)
        return v

    def bind(self, obj, value):
        self.by_id[id(obj)] = value
        self.keep.append(obj)
        if value.layout is None and isinstance(obj, ndarray):
            value.layout = "C" if obj.flags.c_contiguous else "F" if obj.flags.f_contiguous \
                else "A"

    def value_of(self, obj):
        return self.by_id.get(id(obj))

    def _register_inputs(self, flat_args):
        for path, arg in flat_args:
            if isinstance(arg, Tensor):
                array = arg._data
            elif isinstance(arg, ndarray):
                array = arg
            else:
                continue
            v = self.new_value("input", array.shape, array.dtype,
                               source=(path, isinstance(arg, Tensor)))
            v.hint = f"arg{len(self.rec.inputs)}"
            self.rec.inputs.append(v)
            self.bind(array, v)
            if isinstance(arg, Tensor):
                self.bind(arg, v)
            # An argument written by NumPy inside the step (`x *= 0.5` on an array) would be
            # read by a replay as the caller passed it: compared after the call, as leaves are.
            copy = array.copy()
            self.snapshots.append((arg if isinstance(arg, Tensor) else None, array, copy))
            self.input_copies.append(copy)

    def leaf(self, t):
        """The Value of a tensor read live at replay (a parameter, a buffer)."""
        v = self.value_of(t._data)
        if v is None:
            v = self.new_value("leaf", t._data.shape, t._data.dtype, source=t)
            self.rec.leaves[id(t)] = v
            self.bind(t._data, v)
            self.bind(t, v)
            self.snapshots.append((t, t._data, t._data.copy()))
        return v

    def see_options(self, opt, where, refresh=True):
        """Compare ``opt``'s parameter groups with when this call last saw them; a change made
        by Python in between (``group['lr'] = ...`` inside the step) is refused."""
        now = _options_of(opt)
        seen = self.group_options.get(id(opt))
        if seen is not None:
            changed = _options_changed(seen[1], now)
            if changed is not None:
                raise CaptureError(
                    f"compile: the step changed the optimizer's {changed} in Python "
                    f"(not through an lr scheduler's step()), {where}; a replay would not make "
                    f"that change again, and would use the value of the traced call. Change it "
                    f"outside the compiled step, or with a scheduler")
        if refresh:
            self.group_options[id(opt)] = (opt, now)

    def check_unrecorded_changes(self):
        """Refuse a step that changed a tensor it read without chainrule seeing it (NumPy
        writing into ``t._data``): the plan would not repeat the change."""
        for opt, _ in list(self.group_options.values()):
            self.see_options(opt, "after its optimizer.step()")
        updated = {id(i.extra["tensor"]) for i in self.rec.instrs if i.kind == "update"}
        for t, array, before in self.snapshots:
            if t is not None and (id(t) in updated or t._data is not array):
                continue
            if not xp.array_equal(array, before, equal_nan=array.dtype.kind in "fc"):
                what = "an argument" if self.value_of(array) is not None and \
                    self.value_of(array).kind == "input" else "a tensor"
                raise CaptureError(
                    f"compile: {what} of shape {array.shape} that the step reads was changed "
                    f"in place without chainrule seeing it (NumPy writing into its array); a "
                    f"plan would not repeat the change. Change it with tensor ops, or run "
                    f"eagerly")

    def ref(self, obj, op=None):
        """``obj`` with every array replaced by its Value (constants registered as such)."""
        if isinstance(obj, ndarray):
            v = self.value_of(obj)
            if v is None and obj.base is not None:
                live = self.live_view(obj, emit=False)
                if live is not None and (live.derived or obj.dtype == xp.bool_):
                    # A slice of an order the plan finds, a mask broadcast by masked_select:
                    # made in the plan from each call's values.
                    return self.live_view(obj)
            if v is None:
                self.refuse_view_of_data(obj, op)
                v = self.new_value("const", obj.shape, obj.dtype, source=obj)
                v.line = user_line()
                self.bind(obj, v)
            return v
        if isinstance(obj, Tensor):
            return self.leaf(obj)
        if type(obj) in (tuple, list):
            return type(obj)(self.ref(item, op) for item in obj)
        if type(obj) is dict:
            return {key: self.ref(item, op) for key, item in obj.items()}
        return obj

    def is_live(self, obj):
        """Whether ``obj`` is a tensor whose values may differ from call to call: the step's
        data, a parameter, or a value computed from them."""
        if not isinstance(obj, Tensor):
            return False
        v = self.value_of(obj._data)
        return obj.requires_grad or (v is not None and v.kind != "const") or \
            self.live_view(obj._data, emit=False) is not None

    def live_view(self, array, emit=True):
        """The Value of ``array`` if it is one the plan computes or reads live; for a NumPy
        view of such a value (sort's reshape of its input, topk's first k of the order), a
        copy the plan makes from that value as the traced call viewed it. None otherwise."""
        if not isinstance(array, ndarray):
            return None
        v = self.value_of(array)
        if v is not None:
            return None if v.kind == "const" else v
        base = array.base
        while isinstance(base, ndarray):
            v = self.value_of(base)
            if v is not None:
                break
            base = base.base
        else:
            return None
        offset, rest = divmod(array.__array_interface__["data"][0] -
                              base.__array_interface__["data"][0], array.itemsize)
        if v.kind == "const" or rest or base.dtype != array.dtype or \
                not base.flags.c_contiguous:
            return None
        if not emit:
            return v
        if not offset and array.shape == base.shape and array.strides == base.strides:
            self.bind(array, v)  # the whole of it, as it is (sort's reshape to its own shape)
            return v
        out = self.new_value("op", array.shape, array.dtype, hint=v.hint or "view")
        out.derived = getattr(v, "derived", False)
        self.emit(Instr("call", view_of, [v, offset, array.shape, array.strides], out=out,
                        comment="as the traced call viewed it, from this call's values"), array)
        return out

    def refuse_view_of_data(self, array, op):
        """A boolean mask that is a NumPy view of one the step computed (broadcast inside
        masked_select) would be a constant of the plan, holding the traced call's mask: two
        traced calls whose different data gave the same mask made a plan that kept it for
        every later call. Refused, naming the op. (Integer indices viewed from the labels are
        checked by comparing the traced calls' constants, the labels being arguments.)"""
        if array.dtype != xp.bool_:
            return
        base = array.base
        while isinstance(base, ndarray):
            v = self.value_of(base)
            if v is not None and v.kind == "op":
                name = getattr(op, "name", "an op")
                raise CaptureError(
                    f"compile: {name} was given a NumPy view of a mask the step computed "
                    f"from its data (shape {array.shape}); a plan would keep the traced "
                    f"call's mask for every call. Run this step eagerly, or use "
                    f"chainrule's ops on the tensor instead (x[mask] rather than "
                    f"masked_select)")
            base = base.base

    def emit(self, instr, result=None):
        self.rec.instrs.append(instr)
        if instr.out is not None:
            instr.out.producer = instr
            if result is not None:
                self.bind(result, instr.out)
        return instr.out

    def out_value(self, result, hint, scope=None, shape=None, dtype=None):
        if shape is None:
            shape, dtype = xp.shape(result), getattr(result, "dtype", None)
        return self.new_value("op", tuple(shape), dtype, hint=hint, scope=scope)

    # -- forward --------------------------------------------------------------------------
    def register_leaves(self, args, kwargs):
        for a in args:
            if isinstance(a, Tensor) and self.value_of(a._data) is None:
                self.leaf(a)
        for a in kwargs.values():
            if isinstance(a, Tensor) and self.value_of(a._data) is None:
                self.leaf(a)

    def forward_done(self, op, original, arrays, kwargs, out):
        scope = mode.scope
        instr = Instr("forward", original, [self.ref(a, op) for a in arrays],
                      {k: self.ref(v, op) for k, v in kwargs.items()},
                      self.out_value(out, op.name, scope), op=op, scope=scope)
        self.last_forward = instr
        self.emit(instr, out)
        counted = _data_sized(op, instr)
        if counted is not None:
            # Its output's size depends on the values (a boolean mask's count): the plan's
            # later lines and buffers are sized for the traced calls' count.
            self.rec.instrs.append(Instr(
                "check", same_size, [instr.out, xp.shape(out), counted],
                comment=f"{op.name}: {counted} sizes its output, as in the traced calls"))

    def call_done(self, op, t):
        if not isinstance(t, Tensor):
            return
        forward = self.last_forward
        v = self.value_of(t._data)
        if v is None and forward is not None and forward.op is op:
            v = self.emit(Instr("asarray", xp.asarray, [forward.out],
                                out=self.out_value(t._data, op.name, forward.scope), op=op,
                                scope=forward.scope), t._data)
        if v is None:
            return
        node = t.node
        if node is None or node.op is not op:
            return
        self.rec.node_values[node] = v
        arrays = forward.args if forward is not None and forward.op is op else None
        for name, what, _ in node.plan.computed:
            if what != RESIDUAL or arrays is None:
                continue
            fn, reads = op.residuals[name]
            args = [v if n == "out" else
                    forward.kwargs.get(n, op.defaults.get(n)) if n in op.keywords else
                    arrays[op.inputs.index(n)] for n in reads]
            result = node.saved[name]
            whole = self.emit(Instr("residual", fn, args,
                                    out=self.out_value(result, name, forward.scope), op=op,
                                    scope=forward.scope, name=name), result)
            if type(result) in (tuple, list):  # several arrays (a mean and 1 / std, say)
                for k, item in enumerate(result):
                    if isinstance(item, ndarray):
                        self.emit(Instr("call", operator.getitem, [whole, k],
                                        out=self.out_value(item, f"{name}_{k}", forward.scope),
                                        op=op, scope=forward.scope,
                                        comment=f"{op.name}: saved for backward"), item)

    # -- backward -------------------------------------------------------------------------
    def contribute(self, node, value):
        self.contrib.setdefault(node, []).append(value)

    def resolve_sum(self, node, array):
        """The Value of the gradient summed at ``node`` (adding its contributions in the
        engine's order), bound to the array the engine holds."""
        parts = self.contrib.pop(node, None)
        if not parts:
            raise CaptureError(f"compile: lost track of the gradient reaching {node.name}")
        total = parts[0]
        if total.lazy:  # the first path to a node: the engine makes a slice's gradient dense
            total = self.emit(Instr("accum", _dense, [total], out=self.new_value(
                "op", node.shape, node.dtype, hint=total.hint, scope=node.scope),
                scope=node.scope, node=node))
        for part in parts[1:]:
            total = self.emit(Instr("accum", None, [total, part],
                                    out=self.new_value("op", node.shape, node.dtype,
                                                       hint=f"{total.hint}", scope=node.scope),
                                    scope=node.scope, node=node))
        self.bind(array, total)
        self.rec.final_grads[node] = total
        return total


def _fit(g, shape, dtype):
    """engine._fit for first-order backward: un-broadcast, cast, and make it an ndarray (a
    slice's gradient stays lazy when it is shaped as its input)."""
    if type(g) is engine.SliceGradient:
        if g.shape != shape:
            g = g.dense()
        elif g.dtype != dtype:
            return engine.SliceGradient(g.values.astype(dtype), g.index, g.shape)
        else:
            return g
    if type(g) is not ndarray:
        g = xp.asarray(g)
    if g.shape != shape:
        g = engine.sum_to_shape(g, shape)
        if type(g) is not ndarray:
            g = xp.asarray(g)
    if g.dtype != dtype:
        g = g.astype(dtype)
    return g


def _accum(a, b):
    """The engine's sum of two contributions (PendingGradients.add): a slice's gradient is
    added into a copy of the sum at its index."""
    if type(b) is engine.SliceGradient:
        return b.add_into(xp.array(a))
    total = a + b
    return xp.asarray(total) if isinstance(total, xp.generic) else total


def _dense(g):
    return g.dense() if type(g) is engine.SliceGradient else g


class Installed:
    """The swaps that make one call record itself; a context manager."""

    def __init__(self, recorder, fn=None):
        self.r = recorder
        self.saved = []
        fn = getattr(fn, "__wrapped__", fn)
        self.cells = list(getattr(fn, "__closure__", None) or ())  # the step's free variables

    def swap(self, owner, name, value):
        self.saved.append((owner, name, owner.__dict__[name] if isinstance(owner, type)
                           else getattr(owner, name)))
        setattr(owner, name, value)

    def swap_everywhere(self, name, original, value):
        """Swap a function in every loaded module that holds it under ``name`` (chainrule's
        own and the user's ``from chainrule.nn.utils import clip_grad_norm_``)."""
        for module in list(sys.modules.values()):
            try:
                held = vars(module).get(name)
            except TypeError:  # not a module with a __dict__
                continue
            if held is original:
                self.swap(module, name, value)
        for cell in self.cells:  # `from ... import clip_grad_norm_` inside the caller
            try:
                held = cell.cell_contents
            except ValueError:  # an empty cell
                continue
            if held is original:
                self.saved.append((cell, "cell_contents", held))
                cell.cell_contents = value

    active = False  # one capture at a time: a nested one would swap the swapped methods

    def __enter__(self):
        r = self.r
        if Installed.active:
            raise CaptureError("compile: a compiled step called while another is being traced; "
                               "trace them one after the other")
        Installed.active = True
        try:
            self._install(r)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc):
        for owner, name, value in reversed(self.saved):
            setattr(owner, name, value)
        self.saved.clear()
        Installed.active = False

    def _install(self, r):
        from ..nn import module as module_module
        from ..nn.module import Module
        from ..optim import optimizer as optimizer_module
        from ..optim.optimizer import Optimizer
        from .. import creation, random as random_module

        original_call = Primitive.__dict__["__call__"]

        def call(op, *args, **kwargs):
            if r.depth or r.in_vjp:
                return original_call(op, *args, **kwargs)
            r.register_leaves(args, kwargs)
            t = original_call(op, *args, **kwargs)
            r.call_done(op, t)
            return t
        self.swap(Primitive, "__call__", call)

        for op in set(REGISTRY.values()):
            self.swap(op, "forward", _forward_wrapper(r, op, op.forward))

        def input_gradients(plan, node, grad, retain_graph, create_graph):
            if node.extras is not None and "hooks" in node.extras:
                raise CaptureError(f"compile: a gradient hook on {node.name}'s output cannot be "
                                   f"replayed; remove it or run eagerly")
            gv = r.resolve_sum(node, grad)
            saved = node.saved
            grads = []
            for position, vjp, names, free in plan.steps:
                args = [position if name == "position" else saved[name] for name in names]
                r.in_vjp += 1
                try:
                    raw = vjp(grad, *args)
                finally:
                    r.in_vjp -= 1
                parent = node.parents[position]
                lazy = type(raw) is engine.SliceGradient
                out = r.new_value("op", raw.shape if lazy else xp.shape(raw),
                                  getattr(raw, "dtype", None), scope=node.scope)
                out.lazy = lazy
                r.emit(Instr("vjp", vjp, [gv, *[r.ref(a) for a in args]], out=out, op=node.op,
                             scope=node.scope, position=position, names=names,
                             parent=parent, node=node), raw)
                grads.append((position, raw))
                if free and not retain_graph:
                    for name in free:
                        del saved[name]
            return grads
        self.swap(Plan, "input_gradients", input_gradients)

        original_backward = tensor_module.backward_pass

        def backward_pass(roots, root_grads, retain_graph, create_graph, capture=None,
                          observe=None):
            if create_graph:
                raise CaptureError(f"compile: create_graph=True (higher-order gradients) is "
                                   f"not supported in a compiled step (at {user_line()})")
            if capture is not None or observe is not None:
                raise CaptureError(f"compile: cr.grad() inside a compiled step is not "
                                   f"supported yet; use backward() (at {user_line()})")
            # No observer: the engine takes the path an eager backward() takes (contributions
            # to a leaf with a .grad go straight into it); _fit and PendingGradients.add,
            # swapped below, say what it did.
            kept = original_backward(roots, root_grads, retain_graph, create_graph)
            for node, gradient in kept.items():
                if node.extras is not None and "hooks" in node.extras:
                    raise CaptureError("compile: a gradient hook on a leaf cannot be replayed; "
                                       "remove it or run eagerly")
                v = r.resolve_sum(node, gradient.value)
                tensor = node.tensor_ref()
                if tensor is not None:
                    r.rec.leaf_nodes[node] = v
            return kept
        self.swap(tensor_module, "backward_pass", backward_pass)

        original_fit = engine._fit

        def fit(g, parent, node, position, create_graph):
            out = original_fit(g, parent, node, position, create_graph)
            if out is not g:
                v = r.value_of(g)
                fitted = r.new_value("op", parent.shape, parent.dtype, hint=v.hint,
                                     scope=node.scope)
                fitted.lazy = type(out) is engine.SliceGradient
                r.emit(Instr("fit", _fit, [v, parent.shape, parent.dtype], out=fitted,
                             scope=node.scope, parent=parent), out)
            return out
        self.swap(engine, "_fit", fit)

        original_add = engine.PendingGradients.__dict__["add"]

        def add(pending, node, grad, made):
            r.contribute(node, r.ref(grad) if isinstance(grad, ndarray) else r.value_of(grad))
            return original_add(pending, node, grad, made)
        self.swap(engine.PendingGradients, "add", add)

        original_accumulate = Tensor.__dict__["_accumulate_grad"]
        slot = Tensor.__dict__["grad"]

        def accumulate(t, gradient, create_graph):
            v = r.value_of(gradient.value)
            leaf = r.leaf(t)
            before = r.read_grad(t, slot)
            r.in_accumulate += 1
            r.allow_inplace += 1
            try:
                original_accumulate(t, gradient, create_graph)
            finally:
                r.in_accumulate -= 1
                r.allow_inplace -= 1
            now = slot.__get__(t)
            if before is None:
                copied = now._data is not gradient.value
                out = v
                if copied:
                    out = r.emit(Instr("asarray", _copy, [v], out=r.new_value(
                        "op", now._data.shape, now._data.dtype, hint=v.hint)), now._data)
                else:
                    r.bind(now._data, v)
                r.emit(Instr("grad_set", None, [out], tensor=t, tensor_value=leaf))
                r.bind(now, out)
            else:
                out = r.new_value("op", now._data.shape, now._data.dtype, hint=v.hint)
                r.emit(Instr("grad_add", None, [v], out=out, tensor=t, tensor_value=leaf),
                       now._data)
            r.grad_touched.add(id(t))
        self.swap(Tensor, "_accumulate_grad", accumulate)

        data_property = Tensor.__dict__["data"]

        def set_data(t, value):
            # A tensor made inside the step may take another array (later ops read whichever
            # array it holds, and the plan follows them); one that outlives the step (a
            # parameter, an argument, a tensor of the closure) would keep its old array when
            # the plan is replayed.
            v = r.value_of(t._data)
            if v is None or v.kind != "op":
                raise CaptureError(f"compile: assigning .data of a tensor the step did not make "
                                   f"(a parameter, an argument) inside a compiled step cannot "
                                   f"be replayed: a replay would leave its array as it is (at "
                                   f"{user_line()}). Assign it outside the compiled step, or run "
                                   f"eagerly")
            data_property.__set__(t, value)
        self.swap(Tensor, "data", property(data_property.fget, set_data,
                                           doc=data_property.__doc__))

        def get_grad(t):
            return r.read_grad(t, slot)

        def set_grad(t, value):
            if not r.in_accumulate and not r.in_zero_grad and value is None and \
                    r.value_of(t) is None and getattr(t, "requires_grad", False) and \
                    (t.node is None or t.node.op is None):
                # `p.grad = None` by hand before p is read: note what .grad held when the call
                # began (the guard's), and make p a leaf, so that the plan repeats it.
                r.read_grad(t, slot)
                r.leaf(t)
            if r.in_zero_grad or (not r.in_accumulate and r.value_of(t) is not None):
                if value is None:
                    r.rec.instrs.append(Instr("grad_none", None, [], tensor=t,
                                              tensor_value=r.leaf(t)))
                    r.grad_touched.add(id(t))
                elif isinstance(value, Tensor) and r.value_of(value._data) is not None:
                    r.rec.instrs.append(Instr("grad_set", None, [r.value_of(value._data)],
                                              tensor=t, tensor_value=r.leaf(t)))
                    r.grad_touched.add(id(t))
                else:
                    raise CaptureError(f"compile: assigning .grad a value made outside the "
                                       f"step cannot be replayed (at {user_line()})")
            slot.__set__(t, value)
        self.swap(Tensor, "grad", property(get_grad, set_grad))


        def zero_grads(parameters, set_to_none=True):
            if not set_to_none:
                for p in parameters:
                    if get_grad(p) is not None:
                        raise CaptureError(f"compile: zero_grad(set_to_none=False) is not "
                                           f"supported yet; use zero_grad() (at {user_line()})")
            r.in_zero_grad += 1
            try:
                for p in parameters:
                    r.leaf(p)
                    set_grad(p, None)
            finally:
                r.in_zero_grad -= 1
        self.swap(module_module, "zero_grads", zero_grads)
        self.swap(optimizer_module, "zero_grads", zero_grads)

        def step(opt, closure=None):
            if closure is not None:
                raise CaptureError(f"compile: optimizer.step(closure) is not supported "
                                   f"(at {user_line()})")
            r.see_options(opt, "before optimizer.step()")
            for index, group in enumerate(opt.param_groups):  # refused before any update
                if (id(opt), index) in r.reshaped:
                    changed = ", ".join(sorted(_group_shape(group)))
                    raise CaptureError(
                        f"compile: an lr scheduler's step() inside the compiled step changed "
                        f"parameter group {index}'s options that decide the update's NumPy "
                        f"calls (one of {changed}: a cycled momentum) before "
                        f"optimizer.step() (at {user_line()}); a plan checks them when the call "
                        f"begins. Call the scheduler after optimizer.step(), or outside the "
                        f"compiled step")
            for index, group in enumerate(opt.param_groups):
                for p in group["params"]:
                    if get_grad(p) is None:
                        continue
                    leaf = r.leaf(p)
                    r.rec.instrs.append(Instr("update", None, [], tensor=p, tensor_value=leaf,
                                              optimizer=opt, group=index))
                    r.allow_inplace += 1
                    try:
                        opt.update_parameter(p._data, slot.__get__(p)._data,
                                             opt._state.setdefault(p, {}), group)
                        p._bump_version()
                    finally:
                        r.allow_inplace -= 1
                if (opt, index) not in [(o, i) for o, i, _ in r.rec.optimizers]:
                    r.rec.optimizers.append((opt, index, _group_shape(group)))
        if Optimizer.__dict__.get("step") is not None:
            self.swap(Optimizer, "step", step)

        original_zero_grad = Optimizer.__dict__["zero_grad"]

        def zero_grad(opt, *args, **kwargs):
            r.see_options(opt, "before optimizer.zero_grad()")
            return original_zero_grad(opt, *args, **kwargs)
        self.swap(Optimizer, "zero_grad", zero_grad)

        from ..optim.schedulers import LRScheduler

        def scheduler_step(original):
            # A scheduler's step() is Python on the optimizer's groups: the plan calls it
            # again at the same place, so that the lr it sets reaches the next calls.
            def step(sched, *args, **kwargs):
                if r.in_scheduler:  # SequentialLR, ChainedScheduler: their parts' steps
                    return original(sched, *args, **kwargs)
                if args or kwargs:
                    raise CaptureError(
                        f"compile: {type(sched).__name__}.step() with arguments inside a "
                        f"compiled step (at {user_line()}): a replay would pass the traced "
                        f"call's values again. Call it outside the compiled step")
                opts = _scheduler_optimizers(sched)
                shapes = []
                for opt in opts:
                    r.see_options(opt, "before the scheduler's step()")
                    shapes.append([_group_shape(g) for g in opt.param_groups])
                r.in_scheduler += 1
                try:
                    result = original(sched)
                finally:
                    r.in_scheduler -= 1
                for opt, before in zip(opts, shapes):
                    r.group_options[id(opt)] = (opt, _options_of(opt))
                    for index, group in enumerate(opt.param_groups):
                        if index < len(before) and _group_shape(group) != before[index]:
                            r.reshaped.add((id(opt), index))
                r.rec.instrs.append(Instr("effect", types.MethodType(original, sched), [],
                                          comment=f"{type(sched).__name__}.step(): sets the "
                                          f"lr for the next call"))
                return result
            return step
        classes, todo = [], [LRScheduler]
        while todo:
            cls = todo.pop()
            classes.append(cls)
            todo.extend(cls.__subclasses__())
        for cls in dict.fromkeys(classes):
            if "step" in cls.__dict__:
                self.swap(cls, "step", scheduler_step(cls.__dict__["step"]))

        from ..nn.utils import clip_grad as clip_module

        def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False,
                            foreach=None):
            # The norm is computed in the plan from the gradients of this step, never frozen.
            tensors = [p for p in clip_module._as_list(parameters, "clip_grad_norm_")
                       if get_grad(p) is not None]
            if not tensors:
                return Tensor._wrap(0.0)
            grads = [slot.__get__(p) for p in tensors]
            values = []
            for p, g in zip(tensors, grads):
                v = r.value_of(g._data)
                if v is None:  # a gradient the step did not make: read live at replay
                    v = r.ref(g._data)
                values.append(v)
            options = (float(max_norm), float(norm_type), bool(error_if_nonfinite))
            r.allow_inplace += 1
            try:
                total = clip_grads([g._data for g in grads], *options)
                for g in grads:
                    g._bump_version()
            finally:
                r.allow_inplace -= 1
            out = Tensor._wrap(total)
            r.emit(Instr("clip", clip_grads, [values, *options],
                         out=r.new_value("op", out._data.shape, out._data.dtype,
                                         hint="total_norm"),
                         tensors=tensors), out._data)
            r.bind(out, r.value_of(out._data))
            return out
        self.swap_everywhere("clip_grad_norm_", clip_module.clip_grad_norm_, clip_grad_norm_)

        from .. import functions
        original_one_hot = functions.one_hot

        def one_hot(tensor, num_classes=-1):
            result = original_one_hot(tensor, num_classes)
            labels = tensor._data if isinstance(tensor, Tensor) else tensor
            v = r.value_of(labels) if isinstance(labels, ndarray) else None
            if v is None or v.kind == "const":
                return result  # a constant: the second call's comparison checks it
            if num_classes == -1:
                raise CaptureError(f"compile: one_hot without num_classes reads the largest "
                                   f"class index in Python, which a plan would freeze; give "
                                   f"num_classes (at {user_line()})")
            out = r.emit(Instr("call", one_hot_of, [v, int(num_classes)],
                               out=r.new_value("op", result._data.shape, result._data.dtype,
                                               hint="one_hot"), comment="one_hot"),
                         result._data)
            r.bind(result, out)
            return result
        self.swap_everywhere("one_hot", original_one_hot, one_hot)

        original_extreme = tensor_module._extreme
        original_arg_extreme = tensor_module._arg_extreme

        def extreme(x, reduce, name, dim, keepdim, axis, keepdims):
            # x.max(dim) picks its indices with NumPy; they are made in the plan from x.
            v = r.value_of(x._data)
            plain = isinstance(dim, Tensor) or v is None or v.kind == "const" or not x.ndim
            if not plain:
                resolved, keep = tensor_module._dims(dim, keepdim, axis, keepdims)
                plain = resolved is None or isinstance(resolved, (bool, tuple, list))
            if plain:
                return original_extreme(x, reduce, name, dim, keepdim, axis, keepdims)
            dim = tensor_module.axis_of(name, resolved, x.ndim)
            pick = xp.argmax if name == "max" else xp.argmin
            indices = picked(x._data, pick, dim, True)
            r.emit(Instr("call", picked, [v, pick, dim, True], out=r.new_value(
                "op", indices.shape, indices.dtype, hint=f"{name}_index"),
                comment=f"{name}(dim={dim}): the indices"), indices)
            values = tensor_module.take_along_axis(x, indices, dim)
            if not keep:
                values = tensor_module.squeeze(values, dim)
                flat = xp.squeeze(indices, dim)
                r.emit(Instr("call", xp.squeeze, [r.value_of(indices), dim], out=r.new_value(
                    "op", flat.shape, flat.dtype, hint=f"{name}_indices"),
                    comment="the indices, squeezed"), flat)
                indices = flat
            result = Tensor._make(indices, None)
            r.bind(result, r.value_of(indices))
            return tensor_module.MinMax(values, result)

        def arg_extreme(x, pick, dim, keepdim, axis, keepdims):
            v = r.value_of(x._data)
            result = original_arg_extreme(x, pick, dim, keepdim, axis, keepdims)
            if v is None or v.kind == "const":
                return result
            resolved, keep = tensor_module._dims(dim, keepdim, axis, keepdims)
            if resolved is not None:
                resolved = tensor_module.axis_of(pick.__name__, resolved, x.ndim)
                if not x.ndim:
                    return result  # a zero, whatever the value
            r.emit(Instr("call", picked, [v, pick, resolved, keep], out=r.new_value(
                "op", result._data.shape, result._data.dtype, hint=pick.__name__),
                comment=pick.__name__), result._data)
            r.bind(result, r.value_of(result._data))
            return result
        self.swap(tensor_module, "_extreme", extreme)
        self.swap(tensor_module, "_arg_extreme", arg_extreme)

        from ..nn import losses_functional

        def targets_checked(original):
            # Eager reads cross_entropy's targets with NumPy to see whether any is
            # ignore_index, and takes the fused path when none is: the plan checks at every
            # replay that the choice is the same, and refuses a call where it is not rather
            # than freeze it.
            def loss(input, target, *args, **kwargs):
                ignore_index = kwargs.get("ignore_index", args[1] if len(args) > 1 else -100)
                array = target._data if isinstance(target, Tensor) else None
                v = r.value_of(array) if isinstance(array, ndarray) else None
                if v is not None and v.kind != "const" and array.dtype.kind in "iub" and \
                        isinstance(ignore_index, int):
                    r.rec.instrs.append(Instr(
                        "check", same_ignored,
                        [v, ignore_index, bool((array == ignore_index).any()), "cross_entropy"],
                        comment="cross_entropy: a target equals ignore_index in this call if "
                                "one did when traced"))
                return original(input, target, *args, **kwargs)
            return loss
        original_cross_entropy = losses_functional.cross_entropy
        self.swap_everywhere("cross_entropy", original_cross_entropy,
                             targets_checked(original_cross_entropy))

        original_labels = losses_functional._labels

        def labels(op, target, input_shape, ignore_index=None):
            # The class-index losses check their labels with NumPy before they pick with them
            # (a -1 would silently pick the last class): the plan checks them at every replay.
            result = original_labels(op, target, input_shape, ignore_index)
            v = r.value_of(result)
            if v is not None and v.kind != "const":
                r.rec.instrs.append(Instr(
                    "check", check_labels, [op, v, tuple(input_shape), ignore_index],
                    comment=f"{op}: the labels are classes (or ignore_index), as eager checks"))
            return result
        self.swap(losses_functional, "_labels", labels)

        from ..ops import index as index_module
        original_along = index_module._along

        def along(op, shape, dim, index):
            # gather (and the class-index losses through it) address the input with NumPy: the
            # grid of the other axes depends on the shapes alone, the index along dim is the
            # data, which the plan makes from this call's index, checked as eager checks it.
            grid = original_along(op, shape, dim, index)
            v = r.value_of(index)
            if v is None or v.kind == "const" or not grid:
                return grid
            axis = index_module.axis_of(op, dim, len(shape))
            r.emit(Instr("call", index_along, [op, tuple(shape), dim, v], out=r.new_value(
                "op", grid[axis].shape, grid[axis].dtype, hint=f"{op}_index"),
                comment=f"{op}: the index along dim {axis}, checked as eager checks it"),
                grid[axis])
            return grid
        self.swap(index_module, "_along", along)

        def live_index(module, name):
            # A helper that makes an op's index from the data with NumPy, checking it as
            # eager does, runs as a line of the plan on each call's index.
            original = getattr(module, name)

            def helper(index, *rest):
                result = original(index, *rest)
                v = r.value_of(index)
                if v is not None and v.kind != "const" and isinstance(result, ndarray):
                    r.emit(Instr("call", original, [v, *rest], out=r.new_value(
                        "op", result.shape, result.dtype, hint=name.strip("_")),
                        comment=f"{module.__name__.rsplit('.', 1)[-1]}.{name}: the index, "
                                f"checked as eager checks it"), result)
                return result
            self.swap(module, name, helper)
        from .. import more_indexing
        live_index(index_module, "_selected")
        live_index(more_indexing, "_taken")

        from ..nn import embedding as embedding_module
        original_embedding = embedding_module.embedding

        def embedding(input, weight, *args, **kwargs):
            # Eager checks the indices' range with NumPy before it looks them up; the plan
            # reads them live, where a -1 would silently pick the last row: it checks them at
            # every replay, as eager does.
            array = input._data if isinstance(input, Tensor) else None
            v = r.value_of(array) if isinstance(array, ndarray) else None
            shape = tuple(getattr(weight, "shape", ()))
            rows = shape[0] if len(shape) == 2 else None
            if v is not None and v.kind != "const" and array.dtype.kind in "iu" and \
                    rows is not None:
                r.rec.instrs.append(Instr(
                    "check", indices_in_range, [v, rows],
                    comment="embedding: the indices are rows of the table, as eager checks"))
            return original_embedding(input, weight, *args, **kwargs)
        self.swap_everywhere("embedding", original_embedding, embedding)

        from .guards import module_state
        original_module_call = Module.__dict__["__call__"]

        def module_call(module, *args, **kwargs):
            if all(m is not module for m in r.rec.modules):
                r.rec.modules.append(module)
                r.rec.module_states[id(module)] = module_state(module)
            return original_module_call(module, *args, **kwargs)
        self.swap(Module, "__call__", module_call)

        original_as_array = tensor_module.as_array

        def as_array(data, dtype=None, copy=True):
            result = original_as_array(data, dtype, copy)
            source = data._data if isinstance(data, Tensor) else data
            v = r.value_of(source) if isinstance(source, ndarray) else None
            if v is not None and result is not source:
                r.emit(Instr("convert", original_as_array, [v, dtype, copy],
                             out=r.new_value("op", result.shape, result.dtype, hint=v.hint)),
                       result)
            return result
        self.swap(tensor_module, "as_array", as_array)

        original_inplace = engine.record_inplace_change

        def record_inplace_change(array):
            # Any tensor changed in place inside the step (a BatchNorm's running statistics, a
            # buffer, x[0] = 1): the plan would not repeat the change, so it is refused.
            if not r.allow_inplace:
                raise CaptureError(f"compile: a tensor of shape {xp.shape(array)} is changed in "
                                   f"place inside the step (a BatchNorm layer's running "
                                   f"statistics in training, a buffer, t[...] = v), which a "
                                   f"plan cannot repeat yet; compute it out of place, call "
                                   f"model.eval(), or run eagerly (at {user_line()})")
            return original_inplace(array)
        self.swap(engine, "record_inplace_change", record_inplace_change)

        def replay_draws(original, read, describe):
            # A function that draws from a generator (cr.rand and the like, a dropout's mask,
            # rrelu's slopes): the plan draws anew at each call, from the same generator and
            # in the same order as eager code. read(*args, result): the call's arguments as
            # the plan reads them (None: not replayable here); describe(*args): the line's
            # value name and comment.
            def draw(*args):
                result = original(*args)
                if r.depth or r.in_vjp:  # inside a primitive, whose replay draws it again
                    return result
                arguments = read(*args, result)
                if arguments is None:
                    return result
                hint, comment = describe(*args)
                r.emit(Instr("call", original, arguments, out=r.new_value(
                    "op", result.shape, result.dtype, hint=hint), comment=comment), result)
                return result
            self.swap_everywhere(original.__name__, original, draw)

        replay_draws(creation.drawn,
                     lambda g, method, args, size, dtype, result:
                         [g, method, tuple(args), tuple(size), result.dtype],
                     lambda g, method, *_: (method, f"{method}: new random numbers at each call"))
        replay_draws(random_module.dropout_mask,
                     lambda g, shape, p, dtype, result: [g, tuple(shape), p, dtype],
                     lambda g, shape, p, dtype: ("keep", f"dropout (p={p}): a new mask at each "
                                                         f"call"))
        # rrelu's slopes where this call's input is <= 0.
        replay_draws(random_module.rrelu_slopes,
                     lambda g, x, lower, upper, result:
                         None if r.value_of(x) is None else [g, r.value_of(x), lower, upper],
                     lambda g, x, lower, upper: (
                         "slopes", f"rrelu: new slopes from U({lower}, {upper}) at each call"))

        for name, what in (("item", ".item()"), ("__bool__", "bool(tensor) (an `if` on a tensor)"),
                           ("__float__", "float(tensor)"), ("__int__", "int(tensor)"),
                           ("__index__", "using a tensor as an index"),
                           ("tolist", ".tolist()"), ("numpy", ".numpy()"),
                           ("__array__", "np.asarray(tensor)")):
            self.swap(Tensor, name, _value_trap(r, Tensor.__dict__[name], what))
        self._install_data_choices(r)

    def _install_data_choices(self, r):
        """Functions that choose indices from a tensor's values with NumPy: sort, argsort and
        topk find their order in the plan, from the data of each call; the others are refused
        on a tensor of the step's data, since a plan would keep the traced call's choice
        (two traced calls with the same order made a plan that kept it for every call)."""
        from .. import more_indexing, stats
        sort_ops = sys.modules["chainrule.ops.sort"]  # the package's `sort` is the function

        original_order = sort_ops._order

        def order(values, axis, descending):
            result = original_order(values, axis, descending)
            v = r.live_view(values)
            if v is not None:
                out = r.emit(Instr("call", original_order, [v, axis, descending],
                                   out=r.new_value("op", result.shape, result.dtype,
                                                   hint="order"),
                                   comment="the sorting order, found in each call's data"),
                             result)
                out.derived = True
            return result
        self.swap(sort_ops, "_order", order)
        original_top_k = sort_ops._top_k

        def top_k(values, order, axis, k, largest, sorted):
            result = original_top_k(values, order, axis, k, largest, sorted)
            v, o = r.live_view(values), r.live_view(order)
            if v is not None and o is not None:
                out = r.emit(Instr("call", original_top_k, [v, o, axis, k, largest, sorted],
                                   out=r.new_value("op", result.shape, result.dtype,
                                                   hint="picked"),
                                   comment="topk's picks, found in each call's data (among "
                                           "equal values, PyTorch's)"), result)
                out.derived = True
            return result
        self.swap(sort_ops, "_top_k", top_k)
        original_int_tensor = sort_ops._int_tensor

        def int_tensor(array):
            # The indices sort and argsort return: a copy of the order, the same values.
            result = original_int_tensor(array)
            v = r.live_view(array) if isinstance(array, ndarray) else None
            if v is not None and v.derived and result._data.shape == xp.shape(array):
                r.bind(result._data, v)
            return result
        self.swap(sort_ops, "_int_tensor", int_tensor)

        def refusing(fn, name, read=lambda args, kwargs: (*args, *kwargs.values())):
            @functools.wraps(fn)
            def choose(*args, **kwargs):
                if any(r.is_live(a) for a in read(args, kwargs)):
                    raise CaptureError(
                        f"compile: {name} chooses its result from a tensor's values with NumPy "
                        f"(at {user_line()}); a plan would keep the traced call's choice for "
                        f"every call. Run this step eagerly, or compute it outside the "
                        f"compiled step and pass it in")
                return fn(*args, **kwargs)
            return choose
        wraps = {}
        for module, names in ((stats, ("median", "unique", "histc", "histogram")),
                              (more_indexing, ("nanmedian", "kthvalue", "mode", "quantile",
                                               "nanquantile", "bincount",
                                               "unique_consecutive")),
                              (sort_ops, ("cummax", "cummin"))):
            for name in names:
                wraps[getattr(module, name)] = lambda fn, name=name: refusing(fn, name)
        # repeat_interleave's counts, when they are a tensor of the step's data (its input may
        # be: the index it makes depends on the counts alone).
        wraps[sys.modules["chainrule.ops.layout"].repeat_interleave] = lambda fn: refusing(
            fn, "repeat_interleave with a tensor of repeats",
            lambda args, kwargs: (kwargs.get("repeats", args[1] if len(args) > 1 else None),))
        self.swap_callers(wraps)

    def swap_callers(self, wraps):
        """For each function in ``wraps``, swap it for ``wraps[function](it)`` wherever it is
        held: chainrule's modules and Tensor's methods (a public wrapper of it, whose
        ``__wrapped__`` it is, likewise) and the user's ``from chainrule... import name``."""
        def wrap_of(value):
            try:
                return wraps.get(value) or wraps.get(getattr(value, "__wrapped__", None))
            except TypeError:  # unhashable
                return None
        names = {fn.__name__ for fn in wraps}
        for module in list(sys.modules.values()):
            try:
                namespace = vars(module)
            except TypeError:
                continue
            ours = getattr(module, "__name__", "").startswith("chainrule")
            for name in (list(namespace) if ours else [n for n in names if n in namespace]):
                wrap = wrap_of(namespace[name])
                if wrap is not None:
                    self.swap(module, name, wrap(namespace[name]))
        for name, value in list(vars(Tensor).items()):
            wrap = wrap_of(value)
            if wrap is not None:
                self.swap(Tensor, name, wrap(value))


def _copy(a):
    return a.copy()


def picked(x, pick, axis, keepdims):
    """The int64 indices np.argmax or np.argmin picks (kept dims as x.max(dim) and
    x.argmax(dim, keepdim) make them)."""
    if axis is None:
        return xp.asarray(pick(x), dtype=xp.int64)
    return xp.asarray(pick(x, axis=axis, keepdims=keepdims), dtype=xp.int64)


def view_of(base, offset, shape, strides):
    """A copy of the view of ``base`` that starts ``offset`` elements in, with ``shape`` and
    byte ``strides``: the traced call's NumPy view, taken of this call's values."""
    flat = xp.ascontiguousarray(base).reshape(-1)
    return xp.lib.stride_tricks.as_strided(flat[offset:], shape, strides).copy()


def _data_sized(op, instr):
    """What makes ``op``'s output size depend on the data, as text, or None: a boolean
    mask computed by the step (x[mask]), or the nonzero elements it counts."""
    if op.name == "getitem":
        index = instr.kwargs.get("index")
        parts = index if isinstance(index, tuple) else (index,)
        if any(isinstance(p, Value) and p.kind != "const" and p.dtype == xp.bool_
               for p in parts):
            return "a boolean mask computed from the data"
    if op.name in ("_nonzero", "nonzero", "argwhere"):
        return "the count of nonzero elements"
    return None


def same_size(out, seen, counted):
    """Raise unless ``out`` has the traced calls' shape (a count that depends on the data)."""
    if xp.shape(out) != seen:
        raise CaptureError(
            f"compile: {counted} gave shape {xp.shape(out)} in this call and {seen} in the "
            f"traced calls; the plan's later lines and buffers are made for {seen}, so it "
            f"cannot give eager's numbers. Run this step eagerly, or keep the count the same "
            f"in every call (a fixed number of selected elements)")


def same_ignored(target, ignore_index, seen, name):
    """Raise unless some target equals ``ignore_index`` exactly when one did in the traced
    calls (``seen``): eager takes the fused softmax cross-entropy only when none does."""
    ignored = bool((target == ignore_index).any())
    if ignored != seen:
        raise CaptureError(
            f"compile: {name}'s targets {'include' if ignored else 'do not include'} "
            f"ignore_index ({ignore_index}) in this call, and {'did not' if ignored else 'did'} "
            f"in the traced calls; eager computes the two cases differently (the fused "
            f"softmax cross-entropy when no target is ignored), so a plan made for one would "
            f"not give the other's numbers. Run this step eagerly, or make every call ignore "
            f"some target or none")


def index_along(op, shape, dim, index):
    """gather's index along ``dim`` for this call's ``index`` (ops.index._along, which checks
    it)."""
    from ..ops.index import _along, axis_of
    return _along(op, shape, dim, index)[axis_of(op, dim, len(shape))]


def indices_in_range(indices, rows):
    """Raise, as eager's embedding does, unless every index is a row of a table of ``rows``."""
    if indices.size and (indices.min() < 0 or indices.max() >= rows):
        raise IndexError(f"embedding: index out of range in self (indices from "
                         f"{indices.min()} to {indices.max()}, weight has {rows} rows)")


def one_hot_of(labels, num_classes):
    """cr.one_hot's rows (int64), with its range check at every replay."""
    from ..errors import ArgumentError
    if labels.dtype.kind not in "iu":
        raise ArgumentError(f"one_hot: needs an integer tensor of class indices, got "
                            f"{labels.dtype}")
    if labels.size and labels.min() < 0:
        raise ArgumentError(f"one_hot: class indices must be non-negative, got {labels.min()}")
    if labels.size and labels.max() >= num_classes:
        raise ArgumentError(f"one_hot: class index {labels.max()} is out of range for "
                            f"num_classes={num_classes}")
    return (xp.arange(num_classes) == labels[..., None]).astype(xp.int64)


def clip_grads(grads, max_norm, norm_type=2.0, error_if_nonfinite=False):
    """nn.utils.clip_grad_norm_ on the gradients' arrays: the eager function's own arithmetic
    (nn.utils.clip_grad.clip_arrays), so the same bits."""
    from ..nn.utils.clip_grad import clip_arrays
    return clip_arrays(grads, max_norm, norm_type, error_if_nonfinite)


def _options_of(opt):
    """Each parameter group's options (and its parameters, by identity), as this call sees
    them."""
    return [{key: (tuple(map(id, value)) if key == "params" else value)
             for key, value in group.items()} for group in opt.param_groups]


def _options_changed(before, after):
    """'param_groups[0]['lr']' for the first option that differs, or None."""
    if len(before) != len(after):
        return "number of param_groups"
    for index, (a, b) in enumerate(zip(before, after)):
        for key in dict.fromkeys([*a, *b]):
            x, y = a.get(key, _MISSING), b.get(key, _MISSING)
            if x is y:
                continue
            try:
                same = type(x) is type(y) and type(x) in (int, float, bool, str, tuple) and \
                    bool(x == y)
            except Exception:  # noqa: BLE001  (not comparable: counted as changed)
                same = False
            if not same:
                return f"param_groups[{index}][{key!r}]"
    return None


_MISSING = object()


def _scheduler_optimizers(sched):
    """The optimizers a scheduler sets (a ChainedScheduler's parts may name theirs)."""
    found = []
    parts = list(getattr(sched, "schedulers", None) or ()) + \
        list(getattr(sched, "_schedulers", None) or ())
    for s in [sched, *parts]:
        opt = getattr(s, "optimizer", None)
        if opt is not None and all(opt is not o for o in found):
            found.append(opt)
    return found


def _group_shape(group):
    """The options of a parameter group that decide which NumPy calls an update makes (the
    learning rate and betas are read live at each replay)."""
    return {key: value for key, value in group.items()
            if key in ("momentum", "dampening", "nesterov", "weight_decay", "amsgrad",
                       "maximize", "centered")}


def _forward_wrapper(r, op, original):
    def forward(*arrays, **kwargs):
        if r.depth or r.in_vjp:
            return original(*arrays, **kwargs)
        r.depth += 1
        try:
            out = original(*arrays, **kwargs)
        finally:
            r.depth -= 1
        r.forward_done(op, original, arrays, kwargs, out)
        return out
    forward.__wrapped__ = original
    return forward


def _value_trap(r, original, what):
    def trap(t, *args, **kwargs):
        v = r.value_of(t._data)
        if v is not None and v.kind != "const" and not r.in_vjp and not r.depth:
            raise CaptureError(
                f"compile: {what} reads a tensor's value in Python while the step is being "
                f"traced, at {user_line()}. A plan cannot freeze that value or the branch it "
                f"chooses: return the tensor and read it outside the compiled function, or "
                f"compute with tensor ops (cr.where) instead of an `if`")
        return original(t, *args, **kwargs)
    trap.__name__ = getattr(original, "__name__", "trap")
    return trap


def read_grad(self, t, slot):
    value = slot.__get__(t)
    if id(t) not in self.grad_touched and id(t) not in self.rec.entry_grads:
        self.rec.entry_grads[id(t)] = (t, value is None,
                                       None if value is None else value._data.shape,
                                       None if value is None else value._data.dtype)
        self.keep.append(t)
    return value


Recorder.read_grad = read_grad
