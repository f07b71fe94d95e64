"""Primitives: a forward function on arrays with one VJP per input declared beside it.

    @primitive
    def mul(a, b):
        return a * b

    @mul.vjp("a")
    def _(grad, b):
        return grad * b

A VJP's parameters after ``grad`` name what it needs from the forward pass: ``out``, an input
(``a``), a keyword parameter of the forward (``axis``), an input's shape or dtype (``a_shape``,
``a_dtype``) or a *residual*: a value computed from the inputs and output at forward time and
declared with ``@op.residual`` (ReLU keeps a boolean mask rather than its output). A node saves
exactly the names that the VJPs of the inputs requiring grad declare, nothing more, and backward
drops each saved value as soon as no remaining VJP of that node needs it.

Called on plain arrays (no Tensor among the arguments) a primitive returns a plain array, so the
same VJP formula runs without a graph on arrays and, with ``create_graph=True``, on Tensors.
"""
import inspect
import os
import traceback
from collections import namedtuple

from ..autograd import Node, _clock, leaf_node, mode
from ..backend import ndarray, xp
from ..errors import ChainruleError, GradientError, ShapeError

REGISTRY = {}

# How one node is recorded and differentiated, for one combination of inputs needing grad:
# what to keep at forward time is split for speed into `saves_out` (keep the output?),
# `saves_inputs` ((name, position) pairs) and `saves_rest` ((name, kind, where), rarer kinds);
# `steps` lists, in the order backward runs them, (input position, VJP, names it needs, names no
# later step needs: free them).
Plan = namedtuple("Plan", "saves_out saves_inputs saves_rest steps")


class Primitive:
    def __init__(self, forward, name=None, vjp_returns="new", differentiable=True):
        self.forward = forward
        self.name = name or forward.__name__
        self.__name__ = self.name
        self.__doc__ = forward.__doc__
        # What the VJPs hand back, which decides whether the engine may add into it in place:
        # "new" arrays, a writable "view" of the upstream gradient (or the gradient itself), or
        # a read-only "broadcast" view.
        if vjp_returns not in ("new", "view", "broadcast"):
            raise ValueError(f"vjp_returns must be 'new', 'view' or 'broadcast', got {vjp_returns!r}")
        self.vjp_returns = vjp_returns
        self.returns_new = vjp_returns == "new"
        params = inspect.signature(forward).parameters.values()
        self.variadic = any(p.kind is p.VAR_POSITIONAL for p in params)
        self.inputs = tuple(p.name for p in params
                            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL))
        self.keywords = tuple(p.name for p in params if p.kind is p.KEYWORD_ONLY)
        self.defaults = {p.name: p.default for p in params
                         if p.kind is p.KEYWORD_ONLY and p.default is not p.empty}
        self.vjps = {}  # input position -> (function, names it needs)
        self.residuals = {}  # name -> (function, names of inputs / out it reads)
        self.differentiable = differentiable
        self._plans = {}
        REGISTRY[self.name] = self

    def __repr__(self):
        return f"<primitive {self.name}>"

    # -- declaring VJPs ---------------------------------------------------------------------
    def vjp(self, target):
        """Declare the VJP of one input: ``@p.vjp("b")``, or plain ``@p.vjp`` for input 0."""
        if callable(target):
            return self._declare(self.inputs[0], target)
        return lambda fn: self._declare(target, fn)

    def residual(self, fn):
        """Declare a value to compute at forward time for the VJPs (named by the function,
        reading inputs and ``out`` by name). Declare residuals before the VJPs that use them."""
        names = tuple(inspect.signature(fn).parameters)
        unknown = [n for n in names if n != "out" and n not in self.inputs]
        if unknown:
            raise ValueError(f"residual {fn.__name__} of {self.name} reads unknown names {unknown}")
        self.residuals[fn.__name__] = (fn, names)
        return fn

    def _declare(self, input_name, fn):
        if input_name not in self.inputs:
            raise ValueError(f"{self.name} has no input named {input_name!r}")
        names = tuple(inspect.signature(fn).parameters)[1:]
        known = {"out", "position", *self.inputs, *self.keywords, *self.residuals,
                 *(f"{n}_shape" for n in self.inputs), *(f"{n}_dtype" for n in self.inputs)}
        unknown = [n for n in names if n not in known]
        if unknown:
            raise ValueError(f"VJP of {self.name} asks for unknown names {unknown}; "
                             f"it may ask for {sorted(known)}")
        self.vjps[self.inputs.index(input_name)] = (fn, names)
        self._plans.clear()
        return fn

    def vjp_for(self, position):
        if self.variadic:
            return self.vjps[0]
        found = self.vjps.get(position)
        if found is None:
            raise GradientError(f"{self.name} is not differentiable with respect to its input "
                                f"'{self.inputs[position]}'")
        return found

    # -- calling ----------------------------------------------------------------------------
    def __call__(self, *args, **kwargs):
        # The hot path of every forward pass, kept flat on purpose: on small tensors each
        # function call and attribute lookup here is a measurable share of an op's time
        # (flattening Node creation and the parent tuple took the 500-op chain from 4.9 to
        # about 3.5 us per op).
        if self.variadic:
            return self._call_variadic(args[0], kwargs)
        if len(args) == 2:
            a, b = args
            a_is, b_is = isinstance(a, Tensor), isinstance(b, Tensor)
            if not (a_is or b_is):
                return self._forward(args, kwargs)
            try:
                out = self.forward(a.data if a_is else a, b.data if b_is else b, **kwargs)
            except ChainruleError:
                raise
            except (ValueError, IndexError) as error:
                raise self._shape_error((a.data if a_is else a, b.data if b_is else b),
                                        kwargs, error) from error
            needs = (a_is and a.requires_grad) | (b_is and b.requires_grad) << 1
            if needs:
                parents = ((a.node or _leaf(a)) if needs & 1 else None,
                           (b.node or _leaf(b)) if needs & 2 else None)
        elif len(args) == 1:
            a = args[0]
            if not isinstance(a, Tensor):
                return self._forward(args, kwargs)
            try:
                out = self.forward(a.data, **kwargs)
            except ChainruleError:
                raise
            except (ValueError, IndexError) as error:
                raise self._shape_error((a.data,), kwargs, error) from error
            needs = 1 if a.requires_grad else 0
            if needs:
                parents = (a.node or _leaf(a),)
        else:
            needs = 0
            tensors = False
            arrays = []
            for i, a in enumerate(args):
                if isinstance(a, Tensor):
                    tensors = True
                    arrays.append(a.data)
                    if a.requires_grad:
                        needs |= 1 << i
                else:
                    arrays.append(a)
            if not tensors:
                return self._forward(args, kwargs)
            out = self._forward(arrays, kwargs)
            if needs:
                parents = tuple((a.node or _leaf(a)) if needs >> i & 1 else None
                                for i, a in enumerate(args))
        if type(out) is not ndarray:
            out = xp.asarray(out)
        t = _new(Tensor)
        t.data = out
        t.grad = None
        if not needs or not mode.enabled or not self.differentiable:
            t.node = None
            t.requires_grad = False
            return t
        plan = self._plans.get(needs)
        if plan is None:
            plan = self._plans[needs] = self._make_plan(needs)
        saved = {"out": out} if plan.saves_out else {}
        for name, where in plan.saves_inputs:
            saved[name] = args[where]
        for name, kind, where in plan.saves_rest:
            if kind == 2:
                saved[name] = kwargs.get(name, where)
            elif kind == 3:
                saved[name] = xp.shape(args[where])
            elif kind == 4:
                saved[name] = _dtype_of(args[where])
            else:
                saved[name] = where(*[out if n == "out" else _array(args[self.inputs.index(n)])
                                      for n in self.residuals[name][1]])
        node = _new(Node)  # Node's fields, set here rather than in __init__ to save a call
        node.op = self
        node.parents = parents
        node.saved = saved
        node.plan = plan
        node.kwargs = kwargs
        node.shape = out.shape
        node.dtype = out.dtype
        node.seq = next(_clock)
        node.scope = mode.scope
        node.tensor_ref = None
        node.extras = None
        if mode.anomaly:
            node.extras = {"trace": _user_stack()}
        t.node = node
        t.requires_grad = True
        return t

    def _forward(self, arrays, kwargs):
        try:
            return self.forward(*arrays, **kwargs)
        except ChainruleError:
            raise
        except (ValueError, IndexError) as error:
            raise self._shape_error(arrays, kwargs, error) from error

    def _call_variadic(self, items, kwargs):
        items = list(items)
        if not items:
            raise ValueError(f"{self.name}: needs at least one tensor")
        arrays = [a.data if isinstance(a, Tensor) else xp.asarray(a) for a in items]
        out = self._forward(arrays, kwargs)
        if not any(isinstance(a, Tensor) for a in items):
            return out
        needs = [isinstance(a, Tensor) and a.requires_grad for a in items]
        if not any(needs) or not mode.enabled:
            return Tensor._make(out, None)
        parents = tuple((a.node or _leaf(a)) if n else None for a, n in zip(items, needs))
        _, names = self.vjps[0]
        saved = {f"{self.inputs[0]}_shape": tuple(a.shape for a in arrays), **self.defaults,
                 **kwargs}
        if "out" in names:
            saved["out"] = out
        return Tensor._make(out, Node(self, parents, saved, kwargs, out.shape, out.dtype))

    def _make_plan(self, needs):
        positions = [p for p in sorted(self.vjps, reverse=True) if needs >> p & 1]
        wanted = []
        for position in positions:
            wanted.extend(n for n in self.vjps[position][1] if n not in wanted)
        saves = []
        for name in wanted:
            if name == "out":
                saves.append((name, 0, None))
            elif name in self.inputs:
                saves.append((name, 1, self.inputs.index(name)))
            elif name in self.keywords:
                saves.append((name, 2, self.defaults.get(name)))
            elif name in self.residuals:
                saves.append((name, 5, self.residuals[name][0]))
            elif name.endswith("_shape"):
                saves.append((name, 3, self.inputs.index(name[: -len("_shape")])))
            elif name.endswith("_dtype"):
                saves.append((name, 4, self.inputs.index(name[: -len("_dtype")])))
        # Later inputs first: matmul then computes the weight's gradient (which reads the
        # layer's input) before the input's, so the layer's input can be freed in between.
        steps = []
        for k, position in enumerate(positions):
            fn, names = self.vjps[position]
            later = {n for p in positions[k + 1:] for n in self.vjps[p][1]}
            # After the last step the engine drops the whole saved dict anyway.
            last = k == len(positions) - 1
            free = () if last else tuple(n for n in names if n not in later and n in wanted)
            steps.append((position, fn, names, free))
        return Plan(any(kind == 0 for _, kind, _ in saves),
                    tuple((name, where) for name, kind, where in saves if kind == 1),
                    tuple(entry for entry in saves if entry[1] not in (0, 1)), tuple(steps))

    def _shape_error(self, arrays, kwargs, error):
        shapes = ", ".join(str(xp.shape(a)) for a in arrays)
        detail = f" with {', '.join(f'{k}={v!r}' for k, v in kwargs.items())}" if kwargs else ""
        return ShapeError(f"{self.name}: cannot apply to shapes {shapes}{detail}: {error}")


_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # src/chainrule


def _user_stack():
    """The forward pass's call stack without chainrule's own frames, so that the last line
    shown is the user's line that created the op."""
    frames = [f for f in traceback.extract_stack()[:-2]
              if not os.path.abspath(f.filename).startswith(_PACKAGE_DIR + os.sep)]
    return traceback.format_list(frames)


def _array(value):
    return value.data if isinstance(value, Tensor) else value


def _dtype_of(value):
    return value.dtype if hasattr(value, "dtype") else xp.asarray(value).dtype


def _leaf(tensor):
    node = tensor.node = leaf_node(tensor)
    return node


def primitive(forward=None, **options):
    """Make ``forward`` a primitive (see the module docstring); options: ``vjp_returns``
    ("new", "view" or "broadcast": what its VJPs return, see Primitive) and ``differentiable``."""
    if forward is None:
        return lambda fn: Primitive(fn, **options)
    return Primitive(forward, **options)


from ..tensor import Tensor, _new  # noqa: E402  (tensor.py imports the ops; the cycle is resolved here)
