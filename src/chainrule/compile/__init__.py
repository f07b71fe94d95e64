"""``cr.compile``: a training step traced once and replayed as a plain NumPy program.

    step = cr.compile(train_step)     # train_step runs forward, backward() and optimizer.step()
    loss = step(x, y)                 # the first two calls run eagerly and record the engine
    loss = step(x, y)                 # later calls replay the plan: NumPy calls, no graph
    print(step.code)                  # the plan as a Python program, one line per operation
    print(step.guards)                # when the plan holds; another call retraces

The recording comes from the engine itself (capture.py): each primitive's forward, each VJP the
backward pass runs with the arrays it read, each sum of gradients, the writes to ``.grad`` and
the optimizer's updates. The second call is recorded again and compared with the first, so that
an array made from the data outside chainrule's ops (which a plan would freeze) is refused
rather than replayed. See docs/compile.md.
"""
import functools
import inspect as _inspect
import sys
import types
import warnings

from ..backend import ndarray, xp
from ..tensor import Tensor
from .capture import CaptureError, Installed, Instr, Recorder, same_size
from .guards import GuardBuilder, flatten, free_variables, same_bits
from .program import HEADER, Program

__all__ = ["compile", "CompiledStep", "CaptureError"]

PASSES = ("dce", "del", "lower")


def compile(fn=None, *, max_plans=8, check=True, passes=PASSES):
    """Trace ``fn`` (a function of tensors and arrays that runs a forward pass, and usually
    ``backward()`` and an optimizer step) and return a callable that replays it.

    ``max_plans``: how many plans (one per set of guards) to keep before warning and running
    eagerly. ``check``: record the second call too and refuse a plan whose constants differ
    between the two (values computed from the data outside chainrule's ops). ``passes``: the
    program passes to run ("dce", "del", "lower").

    >>> w = cr.tensor([1., 2.], requires_grad=True)
    >>> opt = cr.optim.SGD([w], lr=0.1)
    >>> def train(x):
    ...     opt.zero_grad()
    ...     loss = (w * x).sum()
    ...     loss.backward()
    ...     opt.step()
    ...     return loss
    >>> step = cr.compile(train)
    >>> [round(float(step(cr.tensor([1., 1.]))), 4) for _ in range(4)]
    [3.0, 2.8, 2.6, 2.4]
    """
    if fn is None:
        return functools.partial(compile, max_plans=max_plans, check=check, passes=passes)
    return CompiledStep(fn, max_plans=max_plans, check=check, passes=passes)


class Plan:
    """One traced program with its guard."""

    def __init__(self, program, guard_source, recording):
        self.program = program
        self.guard_source = guard_source
        namespace = dict(program.namespace)
        exec(compile_source(guard_source, "<chainrule guard>"), namespace)
        exec(compile_source(program.source, "<chainrule plan>"), namespace)
        self.guard = namespace["guard"]
        self.run = namespace["step"]
        self.namespace = namespace
        self.build = _builder(recording.output)
        self.calls = 0
        self.provisional = None  # (what the check compares, {argument: copy} not yet checked)
        self.watch = ()  # (tensor, array, version) of leaves read without a gradient
        self.derived = []  # _SameAsTraced checks of values computed from the data
        self.generators = ()  # the generators its draws use (restored when a check stops it)
        program.release()  # the graph and arrays of the traced call are not needed any more
        self.recording = None


    def describe_miss(self, check, args, kwargs):
        """The failed check, with what the call had instead: 'x.shape == (64, 784), got
        (32, 784)'."""
        if check.startswith("_same_state(") and check.endswith(")"):
            # A number, or the object at a key, of a config the step reads: name the key.
            from .guards import changed_state
            where, seen = check[len("_same_state("):-1].rsplit(", ", 1)
            try:
                value = eval(where, dict(self.namespace), {"_args": args,  # noqa: S307
                                                           "_kwargs": kwargs})
            except Exception:  # noqa: BLE001  (a description; the miss stands anyway)
                return check
            return f"{check}: {changed_state(value, self.namespace[seen])} changed"
        for operator in (" == ", " is "):
            if operator in check and " and " not in check:
                left = check.split(operator)[0]
                try:
                    actual = eval(left, dict(self.namespace), {"_args": args,  # noqa: S307
                                                                "_kwargs": kwargs})
                except Exception:  # noqa: BLE001  (a description; the miss stands anyway)
                    break
                return f"{check}, got {actual!r}"
        return check


def compile_source(source, name):
    import builtins
    return builtins.compile(source, name, "exec")


class CompiledStep:
    """What ``cr.compile(fn)`` returns: call it as ``fn``. ``code`` and ``guards`` show the
    newest plan; ``plans`` holds them all; ``explain_misses()`` says why calls retraced."""

    def __init__(self, fn, max_plans=8, check=True, passes=PASSES):
        self.fn = fn
        self.max_plans = max_plans
        self.check = check
        self.passes = tuple(passes)
        self.plans = []
        self.misses = []  # (call number, [guard text that failed, per plan])
        self.calls = 0
        # guard source -> (recording, recorder) of a traced call awaiting its check: one per
        # guard, so that calls alternating between two kinds (a recurrent model's first batch
        # of an epoch, without a carried state, and the others) each get their plan.
        self._pending = {}
        self._verified = None  # the recording of the latest _verify call
        self._warned = False
        functools.update_wrapper(self, fn)

    def __call__(self, *args, **kwargs):
        self.calls += 1
        failed = []
        for plan in self.plans:
            miss = plan.guard(args, kwargs)
            if miss is None:
                if plan.provisional is not None and (_changed(plan.watch) or (
                        plan.provisional[1] and
                        not _same_inputs(plan.provisional[1], args, kwargs))):
                    return self._verify(plan, args, kwargs)
                if plan.derived:
                    return self._run_checked(plan, args, kwargs)
                plan.calls += 1
                return plan.build(plan.run(args, kwargs))
            failed.append(plan.describe_miss(miss, args, kwargs))
        if self.plans:
            self.misses.append((self.calls, failed))
            del self.misses[:-100]  # the latest hundred: a long run past the limit stays small
        if len(self.plans) >= self.max_plans:
            if not self._warned:
                warnings.warn(f"compile: {len(self.plans)} plans already kept for "
                              f"{getattr(self.fn, '__name__', 'the step')}; running this call "
                              f"eagerly (step.explain_misses() says which guards failed)",
                              RuntimeWarning, stacklevel=2)
                self._warned = True
            return self.fn(*args, **kwargs)
        return self._trace(args, kwargs)

    def _capture(self, args, kwargs, seen_locals):
        leaves, _ = flatten(args, kwargs)
        recorder = Recorder([(path, obj) for path, obj in leaves])
        with Installed(recorder, self.fn), _locals_at_return(self.fn, seen_locals):
            result = self.fn(*args, **kwargs)
        recorder.check_unrecorded_changes()
        rec = recorder.rec
        rec.output = _output_tree(recorder, result)
        outs = []
        _collect_outputs(rec.output, outs)
        rec.output_values = outs
        return result, recorder, rec

    def _run_checked(self, plan, args, kwargs):
        """Replay a plan with check lines on values it computes from the data (argmax's
        indices, a comparison's mask) that were the same in both traced calls: chainrule's
        NumPy code may have built a constant from them (nll_loss's or gather's indices). When
        one differs, the replay stops before any update and this call runs traced, its
        constants compared with the plan's, as for an argument that first changes."""
        states = _random_states(plan.generators)
        try:
            out = plan.run(args, kwargs)
        except _Diverged as diverged:
            _restore_random_states(states)  # the draws the stopped replay made
            result = self._verify(plan, args, kwargs)
            # The constants did not change with it, nor with the others that differ in this
            # call: their checks are done.
            diverged.check.verified = True
            rec, recorder = self._verified
            arrays, instrs = _arrays_of(recorder), rec.instrs
            for check in plan.derived:
                if check.position < len(instrs):
                    array = arrays.get(instrs[check.position].out)
                    if isinstance(array, ndarray) and not (
                            array.shape == check.seen.shape and same_bits(array, check.seen)):
                        check.verified = True
            self._verified = None
            return result
        plan.calls += 1
        return plan.build(out)

    def _verify(self, plan, args, kwargs):
        """A plan made from two calls with the same data meets other data: this call runs
        traced, and its constants are compared with the plan's (an array computed from the
        data, such as the labels' indices inside gather or nll_loss, looked constant while the
        data stayed the same)."""
        result, recorder, rec = self._capture(args, kwargs, {})
        self._verified = (rec, recorder)
        fingerprint, same = plan.provisional
        try:
            checked = _compare_constants(fingerprint, rec)
        except _NumbersDiffer as differ:
            raise CaptureError(str(differ)) from None
        if checked:
            # Checked for the arguments that now differ; those still the same wait for theirs.
            same = {i: copy for i, copy in same.items()
                    if i < len(recorder.input_copies) and
                    _same_data([copy], [recorder.input_copies[i]])}
            plan.provisional = (fingerprint, same)
            plan.watch = _watch(rec, free_variables(self.fn))
        else:
            self.plans.remove(plan)  # another program for other data: traced again later
        return result

    def _trace(self, args, kwargs):
        free = free_variables(self.fn)  # what the step's names refer to as the call begins
        seen_locals = {}
        result, recorder, rec = self._capture(args, kwargs, seen_locals)
        names = _variable_names(self.fn, seen_locals)
        names.update(_textbook_names(rec, result))
        program = Program(rec, _arg_names(self.fn, args, kwargs), _param_names(rec), names,
                          self.passes)
        guard_source = GuardBuilder(program).build(rec, args, kwargs, free)
        if self.check:
            pending = self._pending.pop(guard_source, None)
            if pending is not None and not _same_module_states(pending[0], rec):
                pending = None  # a module changed between the calls (an eps, a hook): start over
            if pending is None:
                if len(self._pending) >= self.max_plans:  # the oldest goes
                    del self._pending[next(iter(self._pending))]
                self._pending[guard_source] = (rec, recorder, None)
                return result
            try:
                agreed = _compare_constants(pending[0], rec)
            except _NumbersDiffer as differ:
                if pending[2] is not None:  # a third call, and the number changed again
                    raise CaptureError(str(differ)) from None
                # It may have been the first call's own (a warm-up): the next call decides.
                self._pending[guard_source] = (rec, recorder, differ)
                return result
            if not agreed:
                # The two calls made different programs under the same guard (a branch on
                # something no guard reads): neither is a plan; this one waits for the next.
                self._pending[guard_source] = (rec, recorder, None)
                return result
        derived = _derived_checks(pending[0], pending[1], rec, recorder) if self.check else []
        if derived:
            # Check lines go in after the values they compare: the program is made again,
            # its names (which the first one gave the values) chosen anew.
            for value in rec.values:
                value.name = None
            program = Program(rec, _arg_names(self.fn, args, kwargs), _param_names(rec), names,
                              self.passes)
            guard_source = GuardBuilder(program).build(rec, args, kwargs, free)
        plan = Plan(program, guard_source, rec)
        plan.derived = derived
        plan.generators = _generators(rec) if derived else ()
        if self.check:
            # An argument had the same values in both calls (a warm-up on one batch; labels
            # sorted by class), so comparing them could not tell a constant from an array
            # computed from it: the first call where it differs checks the plan. So does the
            # first call after a tensor the plan reads without a gradient (a closure's index
            # tensor, a buffer) is changed in place: gather's indices come from its values.
            same = _same_arguments(pending[1].input_copies, recorder.input_copies)
            plan.provisional = (_Slim(rec), same)
            plan.watch = _watch(rec, free)
        self.plans.append(plan)
        return result

    # -- reading the plan -----------------------------------------------------------------
    def _newest(self):
        if not self.plans:
            raise RuntimeError("compile: no plan yet; call the step (twice, with check=True) "
                               "first")
        return self.plans[-1]

    @property
    def code(self):
        """The newest plan as a Python program: one line per operation, ``del`` at last use."""
        program = self._newest().program
        arrays, others = program.prelude()
        parts = [HEADER, ""]
        if others:
            parts += ["# The objects the program reads besides NumPy:", *others, ""]
        if arrays:
            parts += [*arrays, ""]
        return "\n".join(parts) + "\n" + program.source

    @property
    def guards(self):
        """The newest plan's guard function: it returns None when the plan holds."""
        return self._newest().guard_source

    @property
    def namespace(self):
        """The objects ``code`` refers to by name (parameters, op functions, constants)."""
        return dict(self._newest().program.namespace)

    def buffer_bytes(self):
        """Bytes of the arrays the newest plan owns (its out= buffers and scratch arrays),
        allocated once and reused by every replay."""
        program = self._newest().program
        lowering = program.lowering
        if lowering is None:
            return 0
        names = set(lowering.buffers.values()) | set(lowering.scratch.values())
        return sum(program.namespace[name].nbytes for name in names)

    def explain_misses(self):
        """Which guard failed, for each call that found no plan and retraced."""
        if not self.misses:
            return "no misses: every call after tracing found its plan"
        lines = []
        for call, failed in self.misses:
            reasons = "; ".join(f"plan {i} needs {text}" for i, text in enumerate(failed))
            lines.append(f"call {call} traced again: {reasons}")
        return "\n".join(lines)

    def explain(self, loss, params=None):
        """The step-through of ``loss``'s graph (a graph of the same step built eagerly, before
        its backward) with the newest plan's program beside it, each line linked to its
        forward or backward step; shows in a notebook (``inspect.to_html(loss, path,
        compiled=step)`` writes it as a page)."""
        from ..inspect.compiled_code import CompiledView
        self._newest()
        return CompiledView(self, loss, params)

    def _repr_html_(self):
        """In a notebook: the newest plan's program, or a line saying none is made yet."""
        import html
        if not self.plans:
            return f"<pre>{html.escape(repr(self))}</pre>"
        return (f"<details open><summary>{html.escape(repr(self))}</summary>"
                f"<pre>{html.escape(self.code)}</pre></details>")

    def __repr__(self):
        return (f"<compiled {getattr(self.fn, '__name__', 'step')}: {len(self.plans)} plan(s), "
                f"{self.calls} call(s)>")


def _output_tree(recorder, result):
    """The result with each tensor or array replaced by its Value (others kept as they are)."""
    if isinstance(result, Tensor):
        v = recorder.value_of(result._data)
        if v is None:
            v = recorder.ref(result._data)
        return _Out(v, True)
    if isinstance(result, ndarray):
        return _Out(recorder.ref(result), False)
    if type(result) in (tuple, list):
        return type(result)(_output_tree(recorder, item) for item in result)
    if type(result) is dict:
        return {key: _output_tree(recorder, item) for key, item in result.items()}
    if isinstance(result, (int, float, str, bool, type(None))):
        return result
    raise CaptureError(f"compile: the step returned a {type(result).__name__}; return tensors, "
                       f"arrays, numbers or tuples, lists and dicts of them")


class _Out:
    __slots__ = ("value", "tensor")

    def __init__(self, value, tensor):
        self.value = value
        self.tensor = tensor


def _collect_outputs(tree, found):
    if isinstance(tree, _Out):
        found.append(tree.value)
    elif type(tree) in (tuple, list):
        for item in tree:
            _collect_outputs(item, found)
    elif type(tree) is dict:
        for item in tree.values():
            _collect_outputs(item, found)


def _builder(tree):
    """A function from the program's returned arrays to the step's result."""
    count = [0]

    def make(node):
        if isinstance(node, _Out):
            i = count[0]
            count[0] += 1
            if node.tensor:
                return lambda arrays: Tensor._make(arrays[i], None)
            return lambda arrays: arrays[i]
        if type(node) in (tuple, list):
            parts = [make(item) for item in node]
            kind = type(node)
            return lambda arrays: kind(part(arrays) for part in parts)
        if type(node) is dict:
            parts = {key: make(item) for key, item in node.items()}
            return lambda arrays: {key: part(arrays) for key, part in parts.items()}
        return lambda arrays: node
    if isinstance(tree, _Out) and tree.tensor:
        make_tensor = Tensor._make
        return lambda arrays: make_tensor(arrays[0], None)
    return make(tree)


def _arg_names(fn, args, kwargs):
    names = {}
    try:
        params = [p.name for p in _inspect.signature(fn).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        params = []
    leaves, _ = flatten(args, kwargs)
    for path, obj in leaves:
        if not isinstance(obj, (Tensor, ndarray)):
            continue
        is_tensor = isinstance(obj, Tensor)
        if path[0] == "args" and path[1] < len(params):
            base = params[path[1]]
        elif path[0] == "kwargs":
            base = str(path[1])
        else:
            base = f"arg{path[1]}"
        suffix = "".join(f"_{p}" for p in path[2:])
        names[(path, is_tensor)] = f"{base}{suffix}"
    return names


def _param_names(rec):
    """Parameter and buffer names from the modules the step called: '0.weight' -> l0_weight."""
    names = {}
    for module in rec.modules:
        try:
            named = list(module.named_parameters()) + list(module.named_buffers())
        except Exception:  # noqa: BLE001  (a module without names: fall back to leaf)
            continue
        for name, t in named:
            if id(t) not in names:
                names[id(t)] = "l" + name if name[:1].isdigit() else name
    return names


class _locals_at_return:
    """While tracing, note the step function's local variables when it returns (a profile
    hook, only for that call), so that the program can use the user's own names."""

    def __init__(self, fn, found):
        self.code = getattr(getattr(fn, "__wrapped__", fn), "__code__", None)
        self.found = found

    def __enter__(self):
        self.previous = sys.getprofile()
        code, found = self.code, self.found

        def hook(frame, event, arg):
            if event == "return" and frame.f_code is code:
                found.update(frame.f_locals)
        if code is not None:
            sys.setprofile(hook)
        return self

    def __exit__(self, *exc):
        sys.setprofile(self.previous)


def _variable_names(fn, local_values):
    """{Node or id(tensor): name} from the step's local variables and the tensors it names
    from its closure and globals (z, h, L, W1 in a hand-written network)."""
    from ..tensor import Tensor
    named = dict(local_values)
    fn = getattr(fn, "__wrapped__", fn)
    code = getattr(fn, "__code__", None)
    if code is not None:
        for name, cell in zip(code.co_freevars, getattr(fn, "__closure__", None) or ()):
            try:
                named.setdefault(name, cell.cell_contents)
            except ValueError:  # an empty cell
                pass
        for name in code.co_names:
            if name in getattr(fn, "__globals__", {}):
                named.setdefault(name, fn.__globals__[name])
    names = {}
    for name, value in named.items():
        if not isinstance(value, Tensor) or name.startswith("_"):
            continue
        if value.node is not None and value.node.op is not None:
            names.setdefault(value.node, name)
        else:
            names.setdefault(id(value), name)
    return names


def _textbook_names(rec, result):
    """The textbook's names (z, h, o, L, W1, ...) when inspect recognises the d2l MLP."""
    from ..inspect.graph import GraphView
    roots = [result] if isinstance(result, Tensor) and result.node is not None else []
    names = {}
    for root in roots:
        try:
            view = GraphView(root)
        except Exception:  # noqa: BLE001  (naming is a courtesy; never fail a trace on it)
            continue
        if view.textbook is None:
            continue
        for node, name in view.textbook.names().items():
            if node.op is None:
                tensor = node.tensor_ref() if node.tensor_ref is not None else None
                if tensor is not None:
                    names[id(tensor)] = name
            else:
                names[node] = name
    return names


class _Diverged(Exception):
    """A plan's check line met a value computed from the data that differs from the traced
    calls' (``check`` says which)."""

    def __init__(self, check):
        super().__init__(check.what)
        self.check = check


class _SameAsTraced:
    """A plan's check line: an integer or boolean value the step computes from its data
    (argmax's indices, a comparison's mask) held the same values in the two traced calls, so
    their comparison could not tell whether an array chainrule's own NumPy code built from it
    (nll_loss's or gather's indices from labels made by argmax) is a constant. When it first
    differs, the call is traced again and compared with the plan (``_run_checked``); where
    updates already ran before it, the replay refuses instead."""

    __name__ = "same_as_traced"

    def __init__(self, seen, what, hard, position):
        self.seen = seen
        self.what = what
        self.hard = hard
        self.position = position  # of the value's instruction in a recording without checks
        self.verified = False

    def __call__(self, array):
        if self.verified or (xp.shape(array) == self.seen.shape and
                             same_bits(xp.asarray(array), self.seen)):
            return
        if self.hard:
            raise CaptureError(
                f"compile: {self.what}, computed from the data, had the same values in the two "
                f"traced calls and other values in this one, after the step's updates; arrays "
                f"that chainrule's functions build from it with NumPy (indices from labels) "
                f"may be constants of the plan, which would freeze them. Give the first two "
                f"calls different data, or run this step eagerly")
        raise _Diverged(self)


# What a replay does that a check line stopping it cannot take back (a draw can: its
# generator's state is restored).
_EFFECTS = ("effect", "update", "clip", "grad_set", "grad_add")


def _arrays_of(recorder):
    """{Value: the array it was first bound to} for one recording."""
    objects = {id(obj): obj for obj in recorder.keep}
    found = {}
    for key, value in recorder.by_id.items():
        obj = objects.get(key)
        if type(obj) is ndarray and value not in found:
            found[value] = obj
    return found


def _derived_checks(first, first_recorder, second, second_recorder):
    """Insert a check line after each integer or boolean value the step computed from the data
    whose values the two traced calls shared; return the checks."""
    if len(first.instrs) != len(second.instrs):
        return []
    one, two = _arrays_of(first_recorder), _arrays_of(second_recorder)
    # What the plan's own lines read (a check line, such as nll_loss's ignore_index check,
    # reads the labels without using them)
    read = {id(v) for instr in second.instrs if instr.kind != "check" for v in instr.values()}
    checks, instrs, effects = [], [], False
    for position, (a, b) in enumerate(zip(first.instrs, second.instrs)):
        instrs.append(b)
        effects = effects or b.kind in _EFFECTS
        out = b.out
        if b.kind not in ("forward", "call") or out is None or a.out is None or out.lazy or \
                out.dtype is None or xp.dtype(out.dtype).kind not in "biu":
            continue
        if not any(v.kind != "const" for v in b.values()):
            continue  # made from constants alone: the same at every call
        x, y = one.get(a.out), two.get(out)
        if not (isinstance(x, ndarray) and isinstance(y, ndarray) and x.shape == y.shape and
                x.dtype == y.dtype and same_bits(x, y)):
            continue
        if id(out) in read and (effects or y.dtype == xp.bool_):
            # Read by the plan's own ops: a mask (x[mask], where), or a metric after the
            # updates; those read it live at every call.
            continue
        what = getattr(b.op, "name", None) or b.extra.get("comment") or \
            getattr(b.fn, "__name__", "a value")
        check = _SameAsTraced(y.copy(), f"{what}'s result of shape {y.shape}", effects,
                              position)
        checks.append(check)
        instrs.append(Instr("check", check, [out],
                            comment=f"{what}: as in the traced calls, else this call is "
                                    f"traced again"))
    if checks:
        second.instrs[:] = instrs
    return checks


def _generators(rec):
    """The generators the plan's draws use (None: the default one)."""
    from .. import creation, random as random_module
    found = []
    for instr in rec.instrs:
        if instr.kind == "call" and instr.fn in (creation.drawn, random_module.dropout_mask,
                                                 random_module.rrelu_slopes):
            generator = instr.args[0]
            if all(generator is not g for g in found):
                found.append(generator)
    return found


def _random_states(generators):
    from .. import random as random_module
    states = []
    for generator in generators:
        g = random_module.default_generator if generator is None else generator
        if hasattr(g, "get_state"):
            states.append((g, g.get_state()))
        else:  # a NumPy Generator
            states.append((g, g.bit_generator.state))
    return states


def _restore_random_states(states):
    for g, state in states:
        if hasattr(g, "set_state"):
            g.set_state(state)
        else:
            g.bit_generator.state = state


class _Slim:
    """What ``_compare_constants`` reads of a recording (its constants, leaves, and each
    instruction's kind, op and Python values), without the traced call's graph and arrays."""

    def __init__(self, rec):
        from .capture import Instr, Value
        self.values = [_SlimValue(v.kind, v.source) for v in rec.values if v.kind == "const"]
        self.leaves = {key: _SlimValue(v.kind, v.source) for key, v in rec.leaves.items()}

        def strip(obj):
            if isinstance(obj, Value):
                return _STRIPPED
            if type(obj) in (tuple, list):
                return type(obj)(strip(item) for item in obj)
            if type(obj) is dict:
                return {key: strip(item) for key, item in obj.items()}
            return obj
        self.instrs = [Instr(i.kind, i.fn, strip(i.args), strip(i.kwargs), op=i.op)
                       for i in rec.instrs if not isinstance(i.fn, _SameAsTraced)]


class _SlimValue:
    __slots__ = ("kind", "source")

    def __init__(self, kind, source):
        self.kind, self.source = kind, source


_STRIPPED = object()  # a Value's place in a slim instruction (neither a number nor compared)


def _same_data(first, second):
    """Whether two calls' array arguments (copies taken as they began) hold the same values."""
    return len(first) == len(second) and all(
        a.shape == b.shape and a.dtype == b.dtype and same_bits(a, b)
        for a, b in zip(first, second))


def _watch(rec, free=()):
    """(tensor, its array, the array's version) for each leaf the plan reads that does not
    require grad, and each such tensor the step names from its closure or globals (chainrule's
    functions may read it with NumPy, gather's index): a change in place (version) or a new
    array means other data."""
    from ..engine import buffer_version
    tensors = [v.source for v in rec.leaves.values()]
    tensors += [value for _, _, _, value in free if isinstance(value, Tensor)]
    return [(t, t._data, buffer_version(t._data))
            for t in {id(t): t for t in tensors}.values() if not t.requires_grad]


def _changed(watch):
    from ..engine import buffer_version
    for t, array, version in watch:
        if t._data is not array or buffer_version(array) != version:
            return True
    return False


def _same_arguments(first, second):
    """{position: copy} of the array arguments whose values two calls shared."""
    if len(first) != len(second):
        return {}
    return {i: b for i, (a, b) in enumerate(zip(first, second)) if _same_data([a], [b])}


def _same_inputs(copies, args, kwargs):
    """Whether this call's array arguments at the positions of ``copies`` hold their
    values."""
    leaves, _ = flatten(args, kwargs)
    arrays = [obj._data if isinstance(obj, Tensor) else obj for _, obj in leaves
              if isinstance(obj, (Tensor, ndarray))]
    return all(i < len(arrays) and _same_data([copy], [arrays[i]])
               for i, copy in copies.items())


def _same_module_states(first, second):
    """Whether the modules the two recordings called were in the same state (their guards'
    text names a state without showing it)."""
    from .guards import same_module_state
    if set(first.module_states) != set(second.module_states):
        return False
    for module in second.modules:
        if not same_module_state(module, first.module_states[id(module)]):
            return False
    return True


def _compare_constants(first, second):
    """Refuse a plan whose constant arrays differ between two calls: they were computed from
    the data outside chainrule's ops, and a replay would freeze them. False when the two
    recordings differ in their structure (then no plan is made from them)."""
    if not _compare_numbers(first, second):
        return False
    a = [(v.source, v) for v in first.values if v.kind == "const"]
    b = [(v.source, v) for v in second.values if v.kind == "const"]
    if len(a) != len(b) or len(first.leaves) != len(second.leaves):
        return False
    # A leaf tensor made during the step (a new object each call) is a constant too.
    for x, y in zip(list(first.leaves.values()), list(second.leaves.values())):
        if x.source is not y.source:
            a.append((x.source._data, x))
            b.append((y.source._data, y))
    for (x, _), (y, _) in zip(a, b):
        if xp.shape(x) != xp.shape(y) or x.dtype != y.dtype:
            return False
    for (x, _), (y, value) in zip(a, b):
        if not xp.array_equal(x, y, equal_nan=x.dtype.kind in "fc"):
            users = [i for i in second.instrs if any(v is value for v in i.values())]
            read = "" if not users else (
                f", read by {getattr(users[0].op, 'name', users[0].kind)}"
                f"{' in ' + str(users[0].scope) if users[0].scope else ''}")
            raise CaptureError(
                f"compile: an array of shape {y.shape} {y.dtype} computed with NumPy rather "
                f"than with chainrule's ops (made at {value.line or 'an unknown line'}{read}) "
                f"changed between two calls; a plan would freeze it. If that line makes it "
                f"from the data, compute it with tensor ops or pass it in as an argument; if "
                f"it calls a chainrule function that reads indices with NumPy (index_add, "
                f"embedding_bag), run this step eagerly")
    return True


def _numbers(obj, found):
    """The plain Python values (numbers, strings, slices, None) inside an instruction's
    arguments, in order; arrays and Values are compared elsewhere."""
    if type(obj) in (tuple, list):
        for item in obj:
            _numbers(item, found)
    elif type(obj) is dict:
        for key, item in obj.items():
            found.append(key)
            _numbers(item, found)
    elif obj is None or obj is Ellipsis or type(obj) in (int, float, bool, complex, str, slice) \
            or isinstance(obj, xp.generic):
        found.append(obj)


def _same_number(x, y):
    """Of one type and equal, NaN equal to NaN, -0.0 not 0.0 (guards.same_plain)."""
    from .guards import same_plain
    return same_plain(x, y)


def _compare_numbers(first, second):
    """Refuse a plan whose instructions read a Python number that differs between the two
    traced calls (``x * scale`` with ``scale`` a float the caller changes, ``x[i]`` with ``i`` a
    counter): the plan would freeze the second call's value."""
    if len(first.instrs) != len(second.instrs):
        return False
    for a, b in zip(first.instrs, second.instrs):
        if a.kind != b.kind or a.op is not b.op or a.fn is not b.fn and a.kind != "effect":
            return False
    for a, b in zip(first.instrs, second.instrs):
        x, y = [], []
        _numbers([a.args, a.kwargs], x)
        _numbers([b.args, b.kwargs], y)
        if len(x) != len(y):
            return False
        for u, w in zip(x, y):
            if not _same_number(u, w):
                if b.fn is same_size:  # a count the data decides: say so, not "a number"
                    raise _NumbersDiffer(
                        f"compile: {b.args[2]} gave shape {b.args[1]} in one traced call and "
                        f"{a.args[1]} in the other; a plan is made for one shape of it. Run "
                        f"this step eagerly, or keep the count the same in every call")
                what = getattr(b.op, "name", None) or getattr(b.fn, "__name__", b.kind)
                scope = f", {b.scope}" if b.scope else ""
                raise _NumbersDiffer(
                    f"compile: the step passed {what}{scope} the Python value {w!r}, where the "
                    f"call before passed {u!r}; a plan would freeze it. A number that changes "
                    f"between calls must be an argument of the step (a changed number "
                    f"retraces) or a tensor")
    return True


class _NumbersDiffer(Exception):
    """Two traced calls passed an instruction different Python numbers (the message says
    which)."""


class _CallableModule(types.ModuleType):
    """``cr.compile`` is this package, and calling it compiles: ``cr.compile(fn)``. (Importing
    the subpackage ``chainrule.compile`` would otherwise replace a function of that name.)"""

    def __call__(self, fn=None, **options):
        return compile(fn, **options)


sys.modules[__name__].__class__ = _CallableModule
