"""Guards: the conditions under which a plan gives the eager step's numbers, as Python.

A plan holds for the argument structure, shapes, dtypes and requires_grad flags it saw, for the
same grad mode and default dtype, the same training flags of the modules it called and the same
state of each (its plain options such as eps, which parameter, buffer and child each attribute
holds, its hooks), the same parameters (read live from the very tensor objects it saw) with their
shapes and no gradient hooks, whether each gradient it read was None, the optimizer options that
decide which NumPy calls an update makes and the parameters of each group, and what the step's
closure variables and the globals it loads held when the traced call began, with the plain
values inside the dicts, lists and objects of the user's that they hold (``plain_state``), the
same for a bound method's object and for the user's functions the step names. ``step.guards``
shows the guard function; a failing check returns its own text, which ``explain_misses``
reports.
"""
import functools
import math
import operator
import sys
import types

from ..backend import ndarray, xp
from ..engine import mode
from ..tensor import Tensor


def flatten(args, kwargs):
    """(path, leaf) pairs of the arguments, descending into tuples, lists and dicts, and the
    containers met on the way ((path, type, length or keys))."""
    leaves, containers = [], []

    def walk(obj, path):
        if type(obj) in (tuple, list):
            containers.append((path, type(obj), len(obj)))
            for i, item in enumerate(obj):
                walk(item, path + (i,))
        elif type(obj) is dict:
            containers.append((path, dict, tuple(obj)))
            for key, item in obj.items():
                walk(item, path + (key,))
        else:
            leaves.append((path, obj))
    for i, a in enumerate(args):
        walk(a, ("args", i))
    for key, a in kwargs.items():
        walk(a, ("kwargs", key))
    return leaves, containers


def free_variables(fn, depth=1):
    """[(kind, holder, name, value)]: the step function's closure cells and the globals its
    code names (kind "cell" or "global"), and the object of a bound method ("self"), as they
    are now; and those of the user's own functions it names (a helper that reads a
    config), ``depth`` levels down."""
    found = []
    if isinstance(fn, functools.partial):  # its arguments, then its function's names
        found = [("attr", fn, "args", fn.args), ("attr", fn, "keywords", fn.keywords)]
        fn = fn.func
    if not isinstance(fn, (types.FunctionType, types.MethodType)) and \
            isinstance(getattr(fn, "__call__", None), types.MethodType):
        fn = fn.__call__  # an object of the user's with __call__: a bound method's names
    owner = getattr(fn, "__self__", None)
    fn = getattr(fn, "__func__", fn)
    fn = getattr(fn, "__wrapped__", fn)
    code = getattr(fn, "__code__", None)
    if code is None:
        return found
    if owner is not None and hasattr(owner, "__dict__") and not isinstance(owner, type):
        # Which tensor, model and optimizer it holds; its plain values through plain_state.
        from ..nn.module import Module
        from ..optim.optimizer import Optimizer
        from ..tensor import Tensor
        for name, value in vars(owner).items():
            if isinstance(value, (Tensor, ndarray, Module, Optimizer)):
                found.append(("self", owner, name, value))
        if plain_state(owner) is not None:
            found.append(("self state", owner, "self", owner))
    for name, cell in zip(code.co_freevars, getattr(fn, "__closure__", None) or ()):
        try:
            found.append(("cell", cell, name, cell.cell_contents))
        except ValueError:  # an empty cell (a name assigned later)
            pass
    namespace = getattr(fn, "__globals__", {})
    for name in _global_loads(code):
        if name in namespace:
            found.append(("global", namespace, name, namespace[name]))
    if depth > 0:
        for _, _, _, value in list(found):
            if _users_function(value) and value is not fn:
                found += [entry for entry in free_variables(value, depth - 1)
                          if entry[0] != "self state"]
    unique = {}
    for entry in found:
        unique.setdefault((id(entry[1]), entry[2], entry[0]), entry)
    return list(unique.values())


def _users_function(value):
    return isinstance(value, types.FunctionType) and not _library(value.__module__)


def _library(module):
    return (module or "").split(".")[0] in ("chainrule", "numpy", "builtins")


# How far into containers and objects plain_state looks, and the largest container whose items
# it compares (a bigger one, a dataset's list, counts by its length).
_STATE_DEPTH, _STATE_ITEMS, _ARRAY_ITEMS = 2, 64, 4096
_MANY = object()  # plain_state's mark of a container compared by its length alone


def plain_state(value, depth=_STATE_DEPTH):
    """What the step may read inside ``value`` beyond the object itself, which no other guard
    sees: the plain values (numbers, strings, None) of a dict, list or tuple, of the
    attributes of one of the user's own objects (its class's too) and of the user's own classes
    and modules (a config module), and which object every other item holds, ``depth`` levels
    down; None for an object with nothing of that kind. A plan bakes in the numbers it read
    (``cfg['scale']``, ``self.alpha``, ``config.lr``) and the branches they chose."""
    if type(value) is dict:
        items = tuple(value.items())
    elif type(value) in (list, tuple):
        if _plain(value):
            return None  # a tuple of plain values: compared as a literal already
        items = tuple(enumerate(value))
    elif isinstance(value, types.ModuleType):
        if not _users_module(value):
            return None
        items = _plain_members(vars(value))  # its functions and imports are not the state
    elif isinstance(value, type):
        if _library(value.__module__):
            return None
        items = _class_members(value)
    elif _users_object(value):
        items = tuple(vars(value).items()) + _class_members(type(value))
    else:
        return None
    if len(items) > _STATE_ITEMS and not isinstance(value, (types.ModuleType, type)):
        return (_MANY, len(items))
    return tuple((key, type(item), item) if _plain(item) else
                 (key, ndarray, item.copy()) if _small_array(item) else
                 (key, None, item, plain_state(item, depth - 1) if depth > 1 else None)
                 for key, item in items)


def _plain_members(namespace):
    """The values of a module's or class's namespace that are state: plain values, small
    arrays, dicts, lists and tuples (a CONFIG dict); not its functions, classes or imports."""
    return tuple((key, item) for key, item in namespace.items()
                 if not key.startswith("__") and (
                     _plain(item) or _small_array(item) or type(item) in (dict, list, tuple)))


def _class_members(cls):
    """The plain class attributes of the user's classes in ``cls``'s MRO (``Settings.scale``,
    read through an instance too), keyed by the class."""
    return tuple(((klass.__qualname__, key), item) for klass in cls.__mro__
                 if not _library(klass.__module__)
                 for key, item in _plain_members(vars(klass)))


def _users_module(module):
    """A module of the user's (a config.py beside the script), not the standard library's or an
    installed package's, whose plain values are compared."""
    name = module.__name__.split(".")[0]
    where = getattr(module, "__file__", None) or ""
    return not (_library(name) or name in sys.stdlib_module_names or not where or
                "site-packages" in where or "dist-packages" in where)


def _small_array(value):
    """A NumPy array small enough to compare at every call (a mask, class weights): the
    step's ``cr.tensor(mask)`` copies it into the plan, so a change in place must retrace.
    A larger one (a dataset) is held by identity alone."""
    return type(value) is ndarray and value.size <= _ARRAY_ITEMS


def _zero_sign(value):
    """-1.0 or 1.0 for a float zero (NumPy's too), else None: -0.0 == 0.0 in Python, but
    ``x * -0.0`` and ``x * 0.0`` differ in their sign bits, and ``1 / x`` then in infinity's
    sign, so a plan traced with one must not serve the other."""
    if isinstance(value, (float, xp.floating)) and value == 0:
        return math.copysign(1.0, value)
    return None


def has_signed_zero(value):
    """Whether a plain value (a number, or a tuple of them) holds a float zero."""
    if type(value) is tuple:
        return any(has_signed_zero(item) for item in value)
    return _zero_sign(value) is not None


def same_plain(a, b):
    """Whether two plain values are the same for a plan: of one type, equal, NaN equal to NaN,
    and a float zero of the same sign (tuples item by item)."""
    if type(a) is not type(b):
        return False
    if type(a) is tuple:
        return len(a) == len(b) and all(map(same_plain, a, b))
    if a is b:
        return True
    try:
        if a != a:  # NaN
            return b != b
        return bool(a == b) and _zero_sign(a) == _zero_sign(b)
    except Exception:  # noqa: BLE001  (not comparable: not the same)
        return False


def same_array(value, seen):
    """Whether ``value`` is an array with ``seen``'s shape, dtype and values (bit for bit)."""
    return (type(value) is ndarray and value.shape == seen.shape and value.dtype == seen.dtype
            and same_bits(value, seen))


def same_bits(a, b):
    """Whether two arrays of one shape and dtype hold the same bits. Compared as unsigned
    words: a NaN equals itself and nothing pays for isnan, which made array_equal(equal_nan=
    True) 15x slower on a float batch (600 vs 40 us for 256 x 784); -0.0 and 0.0 differ (a
    caller then checks once more: the safe side)."""
    if a.dtype.kind not in "biufc":
        return xp.array_equal(a, b)
    word = next(w for w in (8, 4, 2, 1) if a.dtype.itemsize % w == 0)
    unsigned = xp.dtype(f"u{word}")
    return xp.array_equal(xp.ascontiguousarray(a).reshape(-1).view(unsigned),
                          xp.ascontiguousarray(b).reshape(-1).view(unsigned))


def _users_object(value):
    from ..nn.module import Module
    from ..optim.optimizer import Optimizer
    return (hasattr(value, "__dict__") and not isinstance(value, (
        type, types.ModuleType, types.FunctionType, types.MethodType, Module, Optimizer,
        Tensor, ndarray)) and not _library(type(value).__module__))


def changed_state(value, seen):
    """The first key whose value (or object) differs from what ``plain_state`` saw, as text,
    or None when nothing changed."""
    now = plain_state(value, _STATE_DEPTH)
    return _difference(now, seen, "")


def _difference(now, seen, where):
    if now is None or seen is None:
        return None if now is seen else where or "its contents"
    if len(now) != len(seen) or (now and now[0] is _MANY) != (seen and seen[0] is _MANY):
        return f"{where} length" if where else "its length"
    if now and now[0] is _MANY:
        return None if now[1] == seen[1] else f"{where} length" if where else "its length"
    for a, b in zip(now, seen):
        key = f"{where}[{a[0]!r}]"
        if a[0] != b[0] or a[1] is not b[1]:
            return key
        if a[1] is ndarray:
            if not same_array(a[2], b[2]):
                return key
        elif a[1] is not None:  # plain: the same type and value (a NaN is itself, -0.0 not 0.0)
            if not (a[2] is b[2] or same_plain(a[2], b[2])):
                return key
        elif a[2] is not b[2]:
            return key
        elif len(a) > 3:
            inner = _difference(a[3], b[3], key)
            if inner is not None:
                return inner
    return None


def same_state(value, seen):
    """Whether ``value`` holds what ``plain_state`` saw (the guard's check)."""
    return changed_state(value, seen) is None


def _global_loads(code):
    """The global names ``code`` (and the comprehensions and lambdas inside it) reads; not
    attribute names (a module-level counter called ``step`` beside ``opt.step()``)."""
    import dis
    names, todo = [], [code]
    while todo:
        current = todo.pop()
        for instruction in dis.get_instructions(current):
            if instruction.opname in ("LOAD_GLOBAL", "LOAD_NAME"):
                names.append(instruction.argval)
        todo.extend(const for const in current.co_consts if hasattr(const, "co_code"))
    return list(dict.fromkeys(names))


def hooked(t):
    """Whether a gradient hook is registered on tensor ``t`` (its leaf node holds it)."""
    node = t.node
    return node is not None and node.extras is not None and bool(node.extras.get("hooks"))


_SKIPPED = ("_scope",)  # a cache of the module's scope, remade as needed


def _plain(value):
    if value is None or type(value) in (int, float, bool, str, complex):
        return True
    return type(value) is tuple and all(_plain(item) for item in value)


def module_state(module):
    """What a module's forward may read besides its parameters' values: its plain options
    (eps, negative_slope, p, track_running_stats), which objects its attributes hold (a
    parameter, a buffer, a child; the items of its lists and dicts), and its hooks."""
    from ..nn.hooks import ModuleHooks
    plain, same, containers, hooks = {}, {}, {}, {}
    for key, value in vars(module).items():
        if key in _SKIPPED:
            continue
        if _plain(value):
            plain[key] = value
        elif isinstance(value, ModuleHooks):
            hooks[key] = _hook_items(value)
        elif type(value) in (list, dict):
            containers[key] = (type(value), _items(value))
        else:
            same[key] = value
    zeros = tuple((key, value) for key, value in plain.items() if has_signed_zero(value))
    return (len(plain) + len(same) + len(containers) + len(hooks), tuple(plain),
            tuple((type(v), v) for v in plain.values()), tuple(same), tuple(same.values()),
            containers, hooks, zeros)


def _hook_items(hooks):
    return tuple(tuple(kind.items()) for kind in (hooks.forward_pre, hooks.forward,
                                                  hooks.backward, hooks.backward_pre))


def _items(container):
    return tuple(container.items()) if type(container) is dict else tuple(enumerate(container))


def same_module_state(module, seen):
    """Whether ``module`` is as ``module_state`` saw it (plain values equal, objects the
    same)."""
    count, plain_keys, plain, same_keys, same, containers, hooks, zeros = seen
    attributes = vars(module)
    get = attributes.get
    if len(attributes) - ("_scope" in attributes) != count:  # _SKIPPED, without a loop
        return False
    if plain_keys and tuple(zip(map(type, values := tuple(map(get, plain_keys))), values)) \
            != plain:
        return False
    for key, value in zeros:  # == took -0.0 for 0.0 (negative_slope=-0.0)
        if not same_plain(get(key), value):
            return False
    if same_keys and not all(map(operator.is_, map(get, same_keys), same)):
        return False
    for key, (kind, items) in containers.items():
        now = get(key)
        if type(now) is not kind:
            return False
        now_items = _items(now)
        if len(now_items) != len(items) or not all(
                a[0] == b[0] and a[1] is b[1] for a, b in zip(now_items, items)):
            return False
    for key, items in hooks.items():
        now = get(key)
        if now is None or _hook_items(now) != items:
            return False
    return True


def same_tensors(now, seen):
    """Whether the list ``now`` holds exactly the tensors ``seen`` (by identity, in order)."""
    return len(now) == len(seen) and all(a is b for a, b in zip(now, seen))


def expr_of(path):
    expr = "_args" if path[0] == "args" else "_kwargs"
    for step in path[1:]:
        expr += f"[{step!r}]"
    return expr


class GuardBuilder:
    def __init__(self, program):
        self.program = program
        self.checks = []

    def check(self, condition):
        self.checks.append(condition)

    def name(self, obj, hint):
        return self.program.obj(obj, hint)

    def free_variable_checks(self, free):
        """The step's closure variables and the globals it names hold what they held when
        the traced call began: a name rebound to another tensor, model or number retraces
        (the plan holds the old objects and the old numbers)."""
        for kind, holder, name, value in free:
            if kind == "cell":
                where = f"{self.name(holder, f'_cell_{name}')}.cell_contents"
            elif kind == "global":
                where = f"{self.name(holder, '_globals')}.get({name!r})"
            elif kind == "attr":  # a functools.partial's arguments
                where = f"{self.name(holder, '_partial')}.{name}"
                name = f"partial_{name}"  # not _args: the guard's own parameter
            elif kind == "self state":  # the bound method's object: its plain values
                self.state_check(self.name(holder, "_self"), holder, "_self")
                continue
            else:  # the object of a bound method: which tensor, model, optimizer it holds
                where = f"{self.name(holder, '_self')}.__dict__.get({name!r})"
                self.check(f"{where} is {self.name(value, f'_self_{name}')}")
                continue
            literal = _literal(value) if _plain(value) else None
            if value is None or type(value) is bool:
                self.check(f"{where} is {value!r}")
            elif literal is not None and not isinstance(value, xp.dtype):
                self.check(f"type({where}) is {type(value).__name__} and {where} == {literal}"
                           f"{self.zero_sign(where, value)}")
            else:
                self.check(f"{where} is {self.name(value, f'_{name}')}")
                self.state_check(where, value, f"_{name}")
                if _small_array(value):
                    same = self.name(same_array, "_same_array")
                    self.check(f"{same}({where}, {self.name(value.copy(), f'_{name}_values')})")

    def zero_sign(self, where, value):
        """The rest of a literal's check where the literal holds a float zero: ``== 0.0``
        holds for -0.0 too, and a plan traced with one gives the other's signs of zero."""
        if not has_signed_zero(value):
            return ""
        same = self.name(same_plain, "_same_plain")
        return f" and {same}({where}, {self.name(value, '_seen')})"

    def state_check(self, where, value, hint):
        """What ``value`` holds that the step may read (plain_state): a number changed in a
        config dict, a list or an object's attribute retraces."""
        seen = plain_state(value)
        if seen is not None:
            same = self.name(same_state, "_same_state")
            self.check(f"{same}({where}, {self.name(seen, f'{hint}_state')})")

    def build(self, recording, args, kwargs, free=()):
        leaves, containers = flatten(args, kwargs)
        self.check(f"len(_args) == {len(args)}")
        self.check(f"tuple(_kwargs) == {tuple(kwargs)!r}")
        for path, kind, size in containers:
            e = expr_of(path)
            self.check(f"type({e}) is {kind.__name__}")
            self.check(f"len({e}) == {size}" if kind is not dict else f"tuple({e}) == {size!r}")
        for path, obj in leaves:
            e = expr_of(path)
            if isinstance(obj, Tensor):
                self.check(f"type({e}) is {self.name(Tensor, 'Tensor')}")
                self.check(f"{e}._data.shape == {obj._data.shape!r}")
                self.check(f"{e}._data.dtype == np.{obj._data.dtype}")
                self.check(f"{e}.requires_grad is {obj.requires_grad}")
                if obj.requires_grad:
                    self.check(f"not {self.name(hooked, '_hooked')}({e})")
                entry = recording.entry_grads.get(id(obj))
                if entry is not None:
                    self.check(f"{e}.grad is None" if entry[1] else f"{e}.grad is not None")
            elif isinstance(obj, ndarray):
                self.check(f"type({e}) is np.ndarray")
                self.check(f"{e}.shape == {obj.shape!r}")
                self.check(f"{e}.dtype == np.{obj.dtype}")
            else:
                literal = _literal(obj)
                if obj is None:
                    self.check(f"{e} is None")
                elif literal is not None and not isinstance(obj, xp.dtype):
                    kind = f"np.{type(obj).__name__}" if isinstance(obj, xp.generic) else \
                        type(obj).__name__
                    self.check(f"type({e}) is {kind} and {e} == {literal}"
                               f"{self.zero_sign(e, obj)}")
                else:
                    self.check(f"{e} is {self.name(obj, '_arg')}")
        m = self.name(mode, "_mode")
        self.check(f"{m}.enabled is {mode.enabled}")
        # Tensors the step makes from Python numbers (and Adam's step count) take the default
        # dtype: the plan made them in the traced one.
        from ..dtypes import _Default
        self.check(f"{self.name(_Default, '_default_dtype')}.float == "
                   f"np.{xp.dtype(_Default.float)}")
        self.check(f"{m}.anomaly is False")
        if recording.modules:
            same = self.name(same_module_state, "_same_module_state")
        for module in recording.modules:
            m = self.name(module, f"_{type(module).__name__.lower()}")
            self.check(f"{m}.training is {module.training}")
            # Its options, parameters, children and hooks as when the step first called it
            # (a hook added later, a changed eps, a replaced parameter: traced again).
            seen = recording.module_states.get(id(module))
            if seen is not None:
                self.check(f"{same}({m}, {self.name(seen, f'{m}_state')})")
        for v in recording.leaves.values():
            t = self.name(v.source, f"_{v.name}")
            # The array capture saw (usually still the same object) passes at once; another
            # one must have its shape, dtype and layout (lowered products pick theirs from it).
            layout = f" and {t}._data.flags.c_contiguous" if v.layout == "C" else ""
            seen = self.name(v.source._data, f"_{v.name}_array")
            self.check(f"({t}._data is {seen} or {t}._data.shape == {v.shape!r} and "
                       f"{t}._data.dtype == np.{v.dtype}{layout})")
            self.check(f"{t}.requires_grad is {v.source.requires_grad}")
            if v.source.requires_grad:
                self.check(f"not {self.name(hooked, '_hooked')}({t})")
        by_tensor = {id(v.source): v for v in recording.leaves.values()}
        for key, (tensor, was_none, shape, dtype) in recording.entry_grads.items():
            if key not in by_tensor:
                continue
            t = self.name(tensor, f"_{by_tensor[key].name}")
            if was_none:
                self.check(f"{t}.grad is None")
            else:
                self.check(f"{t}.grad is not None")
                self.check(f"{t}.grad._data.shape == {shape!r}")
        for opt, index, options in recording.optimizers:
            o = self.name(opt, "_opt")
            self.check(f"len({o}.param_groups) == {len(opt.param_groups)}")
            # The parameters the update loops over: one taken out of the group (or put in)
            # by hand must not be updated (or skipped) by a plan made for the old list.
            same = self.name(same_tensors, "_same_tensors")
            held = self.name(tuple(opt.param_groups[index]["params"]), f"_group{index}_params")
            self.check(f"{same}({o}.param_groups[{index}]['params'], {held})")
            for key, value in options.items():
                literal = _literal(value)
                if literal is not None:
                    where = f"{o}.param_groups[{index}][{key!r}]"
                    self.check(f"{where} == {literal}{self.zero_sign(where, value)}")
        self.free_variable_checks(free)
        for condition in self.program.extra_guards:
            self.check(condition)
        checks = list(dict.fromkeys(self.checks))
        # One expression first (the call that hits pays for nothing else); on a miss, the
        # checks one by one, to say which failed.
        lines = ["def guard(_args, _kwargs):", "    if (" + "\n            and ".join(
            f"{c}" for c in checks) + "):", "        return None"]
        for condition in checks:
            lines.append(f"    if not ({condition}):")
            lines.append(f"        return {condition!r}")
        lines.append("    return None")
        return "\n".join(lines) + "\n"


def _literal(obj):
    """``obj`` as Python source the plan and its guards can embed, or None if it has none."""
    if obj is None or isinstance(obj, (bool, str)):
        return repr(obj)
    if type(obj) is int:
        return repr(obj)
    if type(obj) is float:
        return repr(obj) if math.isfinite(obj) else None
    if isinstance(obj, tuple) and all(_literal(item) is not None for item in obj):
        inner = ", ".join(_literal(item) for item in obj)
        return f"({inner}{',' if len(obj) == 1 else ''})"
    if isinstance(obj, xp.dtype):
        return f"np.{obj}" if hasattr(xp, str(obj)) else None
    if isinstance(obj, xp.generic) and obj.dtype.kind in "fiub" and (
            obj.dtype.kind != "f" or math.isfinite(obj)):
        return f"np.{obj.dtype}({obj.item()!r})"
    return None
