"""Primitives: a forward function on arrays with one VJP per input declared beside it.

    @primitive(promotion="promote")
    def mul(a, b):
        return a * b

    @mul.vjp("a", formula="{grad} * {b}")
    def _(grad, b):
        return grad * b

A VJP's parameters after ``grad`` name what it needs from the forward pass: ``out``, an input
(``a``), a keyword parameter of the forward (``axis``), an input's shape or dtype (``a_shape``,
``a_dtype``), ``position`` (which input of a variadic op) or a *residual*: a value computed at
forward time and declared with ``@op.residual`` (ReLU keeps a boolean mask rather than its
output). A node saves exactly the names that the VJPs of the inputs requiring grad declare, and
backward drops each saved value as soon as no remaining VJP of that node needs it. ``formula`` is
the chain-rule step in words, which ``explain`` prints.

A VJP may return the upstream gradient itself or a view of it: the engine never writes into a
gradient it did not allocate (see engine.py), so nothing needs declaring about the result.

Called on plain arrays (no Tensor among the arguments) a primitive returns a plain array, so the
same VJP formula runs without a graph on arrays and, with ``create_graph=True``, on Tensors.
"""
import inspect
import os
import types
import traceback

from ..engine import (Node, check_not_stale, mode, record_view, viewed_by,
                      written_in_graph_since)
from ..backend import ndarray, xp
from ..dtypes import default_float, kind, result_type
from ..errors import (ArgumentError, ChainruleError, DimError, DtypeError, GradientError,
                      ShapeError)

REGISTRY = {}

# What a node can save for its VJPs, by the kind of name a VJP asks for.
OUT, INPUT, KEYWORD, SHAPE, DTYPE, RESIDUAL, POSITION = (
    "out", "input", "keyword", "shape", "dtype", "residual", "position")

# How a primitive's inputs get a common dtype before the forward runs (see dtypes.py):
# "promote": PyTorch's promotion; "float": the same, then integers and bools become the
# default float (float32 unless set_default_dtype changed it);
# "same": the inputs must already agree (matmul, as in PyTorch); None: inputs as they come.
PROMOTIONS = ("promote", "float", "same", None)


class Plan:
    """How a node is recorded and differentiated for one set of inputs needing grad: ``saves``,
    what to keep at forward time ((name, what, where) triples), and ``steps``, the backward
    steps (input position, VJP, the names it reads, the names no later step reads and that can
    be freed after it)."""

    __slots__ = ("saves", "kept", "computed", "steps", "variadic")

    def __init__(self, saves, steps, variadic):
        self.saves = saves
        # The output and inputs are kept as they are ((name, input position or None for the
        # output)); the rest is computed at forward time.
        self.kept = tuple((name, where if what == INPUT else None)
                          for name, what, where in saves if what in (OUT, INPUT))
        self.computed = tuple(save for save in saves if save[1] not in (OUT, INPUT))
        self.steps = steps
        self.variadic = variadic

    def input_gradients(self, node, grad, retain_graph, create_graph):
        """The engine's view of one node's VJPs: (input position, that input's gradient as its
        VJP returned it) pairs, letting each saved value go once no later VJP reads it."""
        saved = node.saved
        plain = not (create_graph or self.variadic)
        grads = []
        for position, vjp, names, free in self.steps:
            if not names:  # add, sub, ...: the VJP needs nothing saved
                grads.append((position, vjp(grad)))
            elif plain:  # the saved arrays as they are: _vjp_arguments' first case, inline
                grads.append((position, vjp(grad, *map(saved.__getitem__, names))))
            else:
                grads.append((position, vjp(grad, *_vjp_arguments(node, names, position,
                                                                   create_graph))))
            if free and not retain_graph:
                for name in free:
                    del saved[name]
        return grads


class Primitive:
    """An op with its forward on arrays and one VJP per input (see the module docstring and
    docs/custom-ops.md); made with ``@primitive``. It records itself in ``REGISTRY``.

    >>> mul = cr.REGISTRY["mul"]
    >>> mul.inputs, mul.formulas["a"]
    (('a', 'b'), '{grad} * {b}')
    """

    def __init__(self, forward, name=None, differentiable=True, promotion=None, unpromoted=(),
                 bools=None, exact_ints=()):
        if promotion not in PROMOTIONS:
            raise ValueError(f"promotion must be one of {PROMOTIONS}, got {promotion!r}")
        if bools not in (None, "operand", "result"):
            raise ValueError(f"bools must be None, 'operand' or 'result', got {bools!r}")
        self.bools = bools  # where PyTorch refuses bools: any operand, or a bool common dtype
        # For a view op (getitem, reshape, transpose): how the view's new values, after an
        # in-place change inside the graph, become the viewed tensor's: (before, new, **kwargs).
        self.write_back = None
        self.forward = forward
        self.name = name or forward.__name__
        self.__name__ = self.name
        self.__doc__ = forward.__doc__
        self.__signature__ = inspect.signature(forward)
        self.differentiable = differentiable
        self.promotion = promotion
        self.unpromoted = unpromoted  # inputs that keep their dtype (where's condition)
        self.exact_ints = exact_ints  # inputs whose Python int must fit, not wrap (pow's b)
        params = inspect.signature(forward).parameters.values()
        self.variadic = any(p.kind is p.VAR_POSITIONAL for p in params)
        self.inputs = tuple(p.name for p in params
                            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL))
        self.keywords = tuple(p.name for p in params if p.kind is p.KEYWORD_ONLY)
        self.defaults = {p.name: p.default for p in params
                         if p.kind is p.KEYWORD_ONLY and p.default is not p.empty}
        self.vjps = {}  # input position -> (function, names it needs)
        self.formulas = {}  # input name -> the chain-rule step as text, for explain
        self.residuals = {}  # name -> (function, names of inputs / out it reads)
        self._plans = {}
        REGISTRY[self.name] = self

    # What inspect reads beyond the formulas (set with ``declare``): whether the op is a loss,
    # its name in words, and which inputs are labels (constants that name the targets).
    is_loss = False
    title = None
    labels = ()

    def declare(self, *, loss=False, title=None, labels=()):
        """Say what ``inspect`` needs to read this op without knowing its name: ``loss=True``
        for a loss (explain starts there; the memory ledger's prediction is its first input),
        ``title`` its name in words, ``labels`` the inputs that hold the targets (named y).

        >>> cr.REGISTRY["softmax_cross_entropy"].labels
        ('labels',)
        """
        unknown = [name for name in labels if name not in self.inputs]
        if unknown:
            raise ValueError(f"{self.name} has no inputs named {unknown}")
        self.is_loss = loss
        self.title = title or self.name
        self.labels = tuple(labels)
        return self

    def __repr__(self):
        return f"<primitive {self.name}>"

    def __get__(self, instance, owner=None):
        # As a Tensor method (Tensor.sin = sin), bind the tensor as the first input.
        return self if instance is None else types.MethodType(self, instance)

    # -- declaring VJPs ---------------------------------------------------------------------
    def vjp(self, target=None, formula=None):
        """Declare the VJP of one input: ``@p.vjp("b", formula=...)``, or plain ``@p.vjp`` for
        input 0. ``formula`` writes the step for people: ``{grad}`` is the upstream gradient,
        ``{out}`` the output, ``{a}``... the inputs; a trailing ``^T`` transposes."""
        if callable(target):
            return self._declare(self.inputs[0], target, formula)
        return lambda fn: self._declare(target or self.inputs[0], fn, formula)

    def residual(self, fn):
        """Declare a value to compute at forward time for the VJPs (named by the function,
        reading inputs, keyword options and ``out`` by name). Declare residuals before the
        VJPs that use them."""
        names = tuple(inspect.signature(fn).parameters)
        unknown = [n for n in names if n != "out" and n not in self.inputs + self.keywords]
        if unknown:
            raise ValueError(f"residual {fn.__name__} of {self.name} reads unknown names {unknown}")
        self.residuals[fn.__name__] = (fn, names)
        return fn

    def _declare(self, input_name, fn, formula):
        if input_name not in self.inputs:
            raise ValueError(f"{self.name} has no input named {input_name!r}")
        names = tuple(inspect.signature(fn).parameters)[1:]
        kinds = self._name_kinds()
        unknown = [n for n in names if n not in kinds]
        if unknown:
            raise ValueError(f"VJP of {self.name} asks for unknown names {unknown}; "
                             f"it may ask for {sorted(kinds)}")
        self.vjps[self.inputs.index(input_name)] = (fn, names)
        self.formulas[input_name] = formula
        self._plans.clear()
        return fn

    def _name_kinds(self):
        """Every name a VJP may ask for -> (what it is, where to find it)."""
        kinds = {"out": (OUT, None), "position": (POSITION, None)}
        for i, name in enumerate(self.inputs):
            kinds[name] = (INPUT, i)
            kinds[f"{name}_shape"] = (SHAPE, None if self.variadic else i)
            kinds[f"{name}_dtype"] = (DTYPE, i)
        for name in self.keywords:
            kinds[name] = (KEYWORD, self.defaults.get(name))
        for name in self.residuals:
            kinds[name] = (RESIDUAL, None)
        return kinds

    def vjp_for(self, position):
        """``(function, names)`` of the VJP of input ``position``."""
        found = self.vjps.get(0 if self.variadic else position)
        if found is None:
            raise GradientError(f"{self.name} is not differentiable with respect to its input "
                                f"'{self.input_name(position)}'")
        return found

    def input_name(self, position):
        return self.inputs[0] if self.variadic else self.inputs[position]

    def formula_for(self, position):
        return self.formulas.get(self.input_name(position))

    # -- calling ----------------------------------------------------------------------------
    def __call__(self, *args, **kwargs):
        # The hot path of every forward pass (bench/run.py's per-op row).
        arrays, parents, needs, dtype, mixed = _unwrap(self.name, args)
        # Tensors of one float dtype with Python numbers need no promotion (the common case);
        # otherwise promote once and unwrap the promoted inputs again.
        if self.promotion is not None and dtype is not None and (mixed or dtype.kind != "f"):
            args = _promote(self, args)
            arrays, parents, needs, dtype, mixed = _unwrap(self.name, args)
        try:
            out = self.forward(*arrays, **kwargs)
        except ChainruleError:
            raise
        except (ValueError, IndexError) as error:
            raise self._input_error(arrays, kwargs, error) from error
        if dtype is None:  # arrays in, an array out: how VJP formulas run without a graph
            return out
        if type(out) is not ndarray:
            out = xp.asarray(out)
        t = _new(Tensor)
        t._data = out
        t.grad = None
        if self.write_back is not None and out.base is not None and type(args[0]) is Tensor:
            record_view(t, args[0], self, kwargs)
        # Integer and bool results carry no gradient, whatever made them (as in PyTorch).
        if not needs or not mode.enabled or not self.differentiable or out.dtype.kind != "f":
            t.node, t.requires_grad = None, False
            return t
        plan = self._plans.get(needs)
        if plan is None:
            plan = self._plans[needs] = self._make_plan(needs, len(args))
        saved = {}
        for name, where in plan.kept:  # the output (where None) and inputs, as they are
            saved[name] = out if where is None else arrays[where]
        if plan.computed:
            for name, what, where in plan.computed:
                saved[name] = self._save(what, where, name, arrays, kwargs, out)
        t.node = Node(self, tuple(parents), saved, plan, kwargs, out.shape, out.dtype)
        t.requires_grad = True
        if mode.anomaly:
            t.node.set_extra("trace", _user_stack())
        return t

    def _save(self, what, where, name, arrays, kwargs, out):
        """One of the rarer values a VJP may ask for, computed from the forward pass."""
        if what == KEYWORD:
            return kwargs.get(name, where)
        if what == SHAPE:
            return _shape_of(arrays, where)
        if what == DTYPE:
            return _dtype_of(arrays[where])
        fn, reads = self.residuals[name]  # RESIDUAL: computed now from the inputs and output
        return fn(*[out if n == "out" else
                    kwargs.get(n, self.defaults.get(n)) if n in self.keywords else
                    arrays[self.inputs.index(n)] for n in reads])

    def _make_plan(self, needs, count):
        # Later inputs first: matmul then computes the weight's gradient (which reads the
        # layer's input) before the input's, so the layer's input can be freed in between.
        positions = [p for p in reversed(range(count)) if needs >> p & 1]
        for p in positions:
            self.vjp_for(p)  # raises if an input needing grad has no VJP
        kinds = self._name_kinds()
        wanted = []
        for p in positions:
            wanted.extend(n for n in self.vjp_for(p)[1] if n not in wanted and n != "position")
        saves = tuple((name, *kinds[name]) for name in wanted)
        steps = []
        for k, position in enumerate(positions):
            fn, names = self.vjp_for(position)
            later = {n for p in positions[k + 1:] for n in self.vjp_for(p)[1]}
            # After the last step the engine drops the whole saved dict anyway.
            last = k == len(positions) - 1
            free = () if last else tuple(n for n in names if n not in later and n in wanted)
            steps.append((position, fn, names, free))
        return Plan(saves, tuple(steps), self.variadic)

    def _input_error(self, arrays, kwargs, error):
        """NumPy's complaint about the inputs, said in this op's name, with their shapes."""
        message = str(error)
        if not message.startswith(self.name):
            message = f"{self.name}: {message}"
        if isinstance(error, IndexError) and not isinstance(error, xp.exceptions.AxisError):
            return IndexError(f"{message} (input shape {_shapes(arrays)})")
        if isinstance(error, xp.exceptions.AxisError) or any(
                word in message for word in ("broadcast", "shape", "dimension")):
            detail = f" with {', '.join(f'{k}={v!r}' for k, v in kwargs.items())}" if kwargs else ""
            # PyTorch raises IndexError for a dim out of range, RuntimeError for the rest.
            kind = DimError if isinstance(error, xp.exceptions.AxisError) else ShapeError
            return kind(f"{message} (input shapes {_shapes(arrays)}{detail})")
        return ArgumentError(f"{message} (input shapes {_shapes(arrays)})")


def _promote(op, args):
    """Give the inputs of ``op`` their common dtype (dtypes.py), casting tensors with the
    ``astype`` primitive so that each input's gradient comes back in its own dtype."""
    if not any(isinstance(a, Tensor) for a in args):
        return args  # arrays only: NumPy's rules, as the VJP formulas expect
    operands = [a._data if isinstance(a, Tensor) else a for a in args]
    # A NumPy scalar is a number, as in PyTorch; in arithmetic np.bool_ is a float there
    # (t_int * np.True_ is float32), where a Python bool is a bool. (PyTorch's bitwise ops then
    # refuse it; here they read it as the bool it is.)
    operands = [(float(a) if isinstance(a, xp.bool_) and op.differentiable else a.item())
                if isinstance(a, xp.generic) else a for a in operands]
    skip = [op.inputs.index(name) for name in op.unpromoted]
    # A NumPy array counts as a dimensioned operand even when 0-d, as in PyTorch and NumPy
    # (uint8 tensor - np.array(5, int32) is int32 there); the 0-dim rule is for tensors only.
    ranked = [v.reshape(1) if type(a) is ndarray and not v.ndim else v
              for a, v in zip(args, operands)]
    target = result_type([a for i, a in enumerate(ranked) if i not in skip])
    if target is None:
        return args
    if op.bools and (target == xp.bool_ or op.bools == "operand" and any(
            isinstance(a, (bool, xp.bool_)) or getattr(a, "dtype", None) == xp.bool_
            for a in operands)):
        raise DtypeError(f"{op.name}: not implemented for bool tensors (as in PyTorch); for a "
                         f"mask, use ~mask or logical_not / logical_xor; for numbers, convert "
                         f"with .int() or .float() first")
    if op.promotion == "same":
        dtypes = {a.dtype for a in operands if isinstance(a, ndarray)}
        if len(dtypes) > 1:
            raise TypeError(f"{op.name}: expected both operands to have the same dtype, got "
                            f"{' and '.join(str(d) for d in dtypes)}; convert one with "
                            f".to(dtype), e.g. x.float() (as in PyTorch, {op.name} does not "
                            f"promote)")
        return args
    natural = target  # before true division's promotion: bool / 2**63 is refused too
    if op.promotion == "float" and kind(target) < 2:
        target = default_float()
    # Beside a float16 array a float stays a Python float (NumPy keeps float16 for it), as a
    # Python float's operand does: mul and div then compute in float32 (in_single), rounding
    # once as PyTorch does.
    half = target == xp.float16 and any(getattr(v, "dtype", None) == xp.float16
                                        for v in operands)
    promoted = []
    for i, (a, value) in enumerate(zip(args, operands)):
        if i in skip:
            pass
        elif half and i == 1 and op.name in _READ_AS_NUMBER and isinstance(a, Tensor) and \
                not value.ndim and value.dtype in _WIDER and not a.requires_grad:
            # A 0-d float32 or float64 tensor as the second operand of a float16 product or
            # quotient keeps its dtype: PyTorch's kernels read it as a number, in float32, not
            # rounded to float16 first, and the op computes so (elementwise._half_and_number):
            # x_half // torch.tensor(0.1) is -15 at x = -1.5 there, and was -16 here.
            if value.dtype != _WIDER[0]:
                a = astype(a, dtype=_WIDER[0])  # a float64 one read in float32 too
        elif isinstance(value, ndarray):
            if value.dtype != target:
                a = astype(a, dtype=target) if isinstance(a, Tensor) else value.astype(target)
        elif not isinstance(a, Tensor):
            if type(value) is int:
                _check_int_range(op.name, value, natural)
            # A number takes the result's dtype: NumPy would make np.float64 (or 0.5 alone)
            # float64, while it is weak in PyTorch's rules.
            a = value if half and type(value) is float else _weak_number(target, value)
            if op.inputs[i] in op.exact_ints and type(value) is int and a != value:
                raise DtypeError(f"{op.name}: the number {value} cannot be converted to "
                                 f"{target} without overflow (as in PyTorch)" + (
                                     "; integers to negative integer powers are not allowed"
                                     if value < 0 else ""))
        promoted.append(a)
    return promoted


_WIDER = (xp.dtype(xp.float32), xp.dtype(xp.float64))
_READ_AS_NUMBER = ("mul", "div", "rounded_div", "floor_divide")


def _check_int_range(op_name, value, target):
    """PyTorch reads a Python int as an int64 (or, from 2**63 up, a uint64): below -2**63 or
    from 2**64 up it refuses every op; from 2**63 up an integer or bool result would wrap (or
    refuse to promote), which is refused here too. Before, float16 + (-2**63 - 1) was -inf,
    a bool tensor / 2**63 a float, and int64 + 2**63 NumPy's "too large to convert to C long"."""
    low, high = -2 ** 63, 2 ** 64 if xp.dtype(target).kind in "fc" else 2 ** 63
    if not low <= value < high:
        raise DtypeError(f"{op_name}: the number {value} is out of range for {target} "
                         f"(PyTorch reads a Python int as an int64; it refuses this one or "
                         f"wraps it); use a float or a float tensor")


def _weak_number(dtype, value):
    """A Python number in an op's dtype. An int that does not fit wraps around, as in PyTorch
    (a uint8 tensor + 300 adds 44; int32 | 4294967295 is int32 | -1); NumPy would refuse."""
    if dtype.kind in "iu" and type(value) is int:
        return xp.array(value, dtype=xp.int64).astype(dtype)[()]
    return dtype.type(value)


_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # src/chainrule


def _user_stack():
    """The forward pass's call stack without chainrule's own frames, so that the last line
    shown is the user's line that created the op."""
    frames = [f for f in traceback.extract_stack()[:-2]
              if not os.path.abspath(f.filename).startswith(_PACKAGE_DIR + os.sep)]
    return traceback.format_list(frames)


def _shapes(arrays):
    return ", ".join(str(xp.shape(a)) for a in arrays)


def _shape_of(arrays, where):
    # A variadic op's inputs are all "tensors": its VJP gets the tuple of their shapes.
    return xp.shape(arrays[where]) if where is not None else tuple(xp.shape(a) for a in arrays)


def _dtype_of(value):
    return value.dtype if hasattr(value, "dtype") else xp.asarray(value).dtype


def _unwrap(op_name, args):
    """What a primitive needs from its arguments: each one's array, its parent node (None where
    no gradient flows), a bit mask of the inputs requiring grad (bit i: input i), the tensors'
    dtype while they agree (None when no tensor is among them) and whether some input may change
    the result's dtype under promotion (a second dtype, or a number other than an int or
    float)."""
    arrays = []
    parents = []
    needs = 0
    dtype = None
    mixed = False
    bit = 1  # shifted first in the loop, so `continue` needs no shift: input i gets bit i + 1
    for a in args:
        bit <<= 1
        if not isinstance(a, Tensor):
            arrays.append(a)
            parents.append(None)
            # An int beyond what PyTorch reads (int64, or uint64 for a float tensor) goes to
            # _promote too, which refuses it as PyTorch (NumPy would round it to inf).
            mixed = mixed or type(a) is not float and (
                type(a) is not int or not -2 ** 63 <= a < 2 ** 64)
            continue
        data = a._data
        arrays.append(data)
        if dtype is None:
            dtype = data.dtype
        elif data.dtype is not dtype and data.dtype != dtype:  # `is`: a shortcut only
            mixed = True
        if not a.requires_grad and not (mode.last_graph_write and _refresh_view(a)):
            parents.append(None)
            continue
        needs |= bit
        node = a.node  # the node its gradient flows into: its own, or a new leaf's
        if node is None:
            node = a.node = Node.leaf(a)
        elif node.seq < mode.last_graph_write:
            if not _refresh_view(a):
                check_not_stale(op_name, a)
            node = a.node
        parents.append(node)
    return arrays, parents, needs >> 1, dtype, mixed


def _refresh_view(view):
    """Give ``view`` a new node, made from the tensor it views, when that tensor's memory was
    written inside the graph after the view was made (through another view: y[0].mul_(2)
    changes y, and so y[1:] made before): PyTorch regenerates a view's history the same way.
    False, changing nothing, for a tensor that is no such view."""
    found = viewed_by(view)
    if found is None or not mode.enabled:
        return False
    viewed, view_op, kwargs, made = found
    node = view.node
    if not written_in_graph_since(viewed, made if node is None else node.seq):
        return False
    fresh = view_op(viewed, **kwargs)  # the same values: the view reads the same memory
    if fresh.node is None:
        return False
    view.node, view.requires_grad = fresh.node, True
    return True


def _vjp_arguments(node, names, position, create_graph):
    """What a VJP asked for, from what ``node`` saved. With ``create_graph`` the output and the
    inputs come back as tensors attached to the graph, so the VJP records its own."""
    saved = node.saved
    if not create_graph:
        return [position if name == "position" else saved[name] for name in names]
    op = node.op
    args = []
    for name in names:
        if name == "position":
            args.append(position)
        elif name == "out":
            args.append(Tensor._make(saved[name], node))
        elif name in op.inputs and not op.variadic and \
                node.parents[op.inputs.index(name)] is not None:
            args.append(Tensor._make(saved[name], node.parents[op.inputs.index(name)]))
        else:
            args.append(saved[name])
    return args


def primitive(forward=None, **options):
    """Make ``forward`` a primitive (see the module docstring). Options: ``differentiable``
    (False for ops that carry no gradient, such as comparisons), ``promotion`` (how the
    inputs get a common dtype: "promote", "float", "same" or None), ``unpromoted`` (names
    of inputs left out of the promotion), ``bools`` (where PyTorch refuses bools: "operand"
    for any bool input, as sub; "result" for a bool common dtype, as floor_divide) and
    ``exact_ints`` (names of inputs whose Python int must fit an integer result dtype, refused
    rather than wrapped, as pow's exponent in PyTorch).

    >>> @cr.primitive
    ... def cube(x):
    ...     return x ** 3
    ...
    >>> @cube.vjp(formula='{grad} * 3 {x}^2')
    ... def _(grad, x):
    ...     return grad * 3 * x ** 2
    ...
    >>> x = cr.tensor([2.], requires_grad=True)
    >>> cube(x).sum().backward()
    >>> x.grad
    tensor([12.], dtype=float32)
    >>> _ = cr.REGISTRY.pop('cube')
    """
    if forward is None:
        return lambda fn: Primitive(fn, **options)
    return Primitive(forward, **options)


from ..tensor import Tensor, _new  # noqa: E402  (tensor.py imports the ops; the cycle is resolved here)
from .elementwise import astype  # noqa: E402
