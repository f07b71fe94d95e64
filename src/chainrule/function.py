"""``cr.autograd.Function``: an op written as a forward and a backward on tensors, as PyTorch's
``torch.autograd.Function``.

``apply`` runs ``forward`` without recording a graph and records one node for the whole call;
backward calls the user's ``backward`` with the output's gradient, as the engine calls a
primitive's VJPs. A Function with several outputs that carry gradients records one node per
output, each handing its gradient to the call's node packed into one flat array (each output's
slot, zeros where an output got no gradient, as PyTorch's materialized gradients), so the engine
sums and frees them as any other gradient.
"""
import inspect

from .backend import xp
from .engine import Node, mode, no_grad
from .errors import GradientError
from .ops import concatenate
from .tensor import Tensor


class FunctionCtx:
    """What ``forward`` hands to ``backward``: the tensors saved with ``save_for_backward`` (as
    ``saved_tensors``), ``needs_input_grad`` (one bool per input of ``forward``) and any
    attribute ``forward`` sets on it.

    >>> ctx = cr.autograd.FunctionCtx((True, False))
    >>> ctx.needs_input_grad
    (True, False)
    """

    def __init__(self, needs_input_grad):
        self.needs_input_grad = needs_input_grad
        self.to_save = ()
        self.non_differentiable = ()
        self._saved_tensors = None

    def save_for_backward(self, *tensors):
        """Keep tensors (or None) for ``backward``, which reads them as ``ctx.saved_tensors``.
        Changing one in place before backward makes backward refuse, as for any op.

        >>> ctx = cr.autograd.FunctionCtx((True,))
        >>> ctx.save_for_backward(cr.tensor([1.]), None)
        >>> len(ctx.to_save)
        2
        """
        for i, t in enumerate(tensors):
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(f"save_for_backward can only save tensors (or None), but "
                                f"argument {i} is a {type(t).__name__}; keep other values as "
                                f"attributes of ctx (ctx.k = k)")
        self.to_save = tensors

    @property
    def saved_tensors(self):
        """The tensors given to ``save_for_backward``, inside ``backward``."""
        if self._saved_tensors is None:
            raise GradientError("ctx.saved_tensors can only be read inside backward(); in "
                                "forward(), use the tensors themselves")
        return self._saved_tensors

    def mark_non_differentiable(self, *outputs):
        """Declare outputs of ``forward`` that carry no gradient (indices, masks): they come
        back with ``requires_grad=False``.

        >>> ctx = cr.autograd.FunctionCtx((True,))
        >>> ctx.mark_non_differentiable(cr.tensor([1.]))
        >>> len(ctx.non_differentiable)
        1
        """
        self.non_differentiable = outputs


class Function:
    """A differentiable op written as two static methods on tensors, used through ``apply``
    (as ``torch.autograd.Function``). ``forward(ctx, *args)`` runs without recording a graph;
    ``backward(ctx, *grads)`` gets one gradient per output of forward and returns one per input
    (None for an input that needs none). The engine sums a returned gradient over broadcast axes
    and casts it to its input's dtype, and refuses one whose shape cannot be reduced.

    >>> class Cube(cr.autograd.Function):
    ...     @staticmethod
    ...     def forward(ctx, x):
    ...         ctx.save_for_backward(x)
    ...         return x ** 3
    ...     @staticmethod
    ...     def backward(ctx, grad):
    ...         x, = ctx.saved_tensors
    ...         return grad * 3 * x ** 2
    ...
    >>> x = cr.tensor([1., 2.], requires_grad=True)
    >>> Cube.apply(x).sum().backward()
    >>> x.grad
    tensor([ 3., 12.], dtype=float32)
    """

    @staticmethod
    def forward(ctx, *args, **kwargs):
        """The op on tensors (no graph is recorded here); saves what backward needs on ctx."""
        raise NotImplementedError("a Function subclass must define forward(ctx, *args) as a "
                                  "@staticmethod")

    @staticmethod
    def backward(ctx, *grad_outputs):
        """One gradient per input of forward (None where an input needs none)."""
        raise NotImplementedError("a Function subclass must define backward(ctx, *grads) as a "
                                  "@staticmethod to be differentiated")

    @classmethod
    def apply(cls, *args, **kwargs):
        """Run ``forward`` and, when an input requires grad, record the call for backward.

        >>> class Double(cr.autograd.Function):
        ...     @staticmethod
        ...     def forward(ctx, x):
        ...         return x * 2
        ...     @staticmethod
        ...     def backward(ctx, grad):
        ...         return grad * 2
        ...
        >>> Double.apply(cr.tensor([1.], requires_grad=True))
        tensor([2.], dtype=float32, op=Double)
        """
        args = _positional(cls, args, kwargs)
        needs = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        ctx = FunctionCtx(needs)
        with no_grad():
            outputs = cls.forward(ctx, *args)
        if not (mode.enabled and any(needs)):
            return outputs
        return _record(cls, ctx, args, outputs)


def _positional(cls, args, kwargs):
    """The arguments of ``forward`` as positions, as PyTorch binds them (keywords take their
    parameter's place; defaults after the last one given stay out): ``backward`` returns one
    gradient per position."""
    bound = inspect.signature(cls.forward).bind(None, *args, **kwargs)
    if bound.kwargs:
        raise TypeError(f"{cls.__name__}.apply: the arguments {sorted(bound.kwargs)} have no "
                        f"position among forward's inputs (keyword-only, or given by name after "
                        f"a parameter left to its default); pass them by position, as PyTorch "
                        f"requires")
    return bound.args[1:]


class _FunctionOp:
    """What the engine and the tools read of a node's op, for a Function's call."""

    variadic = False
    differentiable = True
    is_loss = False
    labels = ()
    residuals = {}
    defaults = {}

    def __init__(self, name, count):
        self.name = name
        self.title = name
        self.inputs = tuple(f"input {i}" for i in range(count))

    def input_name(self, position):
        return self.inputs[position]

    def formula_for(self, position):
        return None

    def __repr__(self):
        return f"<autograd.Function {self.name}>"


def _record(cls, ctx, args, outputs):
    single = isinstance(outputs, Tensor)
    if not single and not isinstance(outputs, (tuple, list)):
        raise TypeError(f"{cls.__name__}.forward must return a tensor or a tuple of tensors, "
                        f"got {type(outputs).__name__}")
    results = [outputs] if single else list(outputs)
    carrying = [i for i, r in enumerate(results) if _carries_gradient(r, ctx)]
    for i in carrying:
        # A new tensor sharing the memory where forward returned an input (or one tensor
        # twice): giving it this node must not change a tensor the caller holds.
        if any(results[i] is a for a in args) or any(results[i] is r for r in results[:i]):
            results[i] = Tensor._make(results[i]._data, None)
    parents = tuple(_parent_node(a) if needs else None
                    for a, needs in zip(args, ctx.needs_input_grad))
    saved, slots = _saved(ctx, args, results)
    plan = _FunctionPlan(cls, ctx, slots, results, carrying)
    op = _FunctionOp(cls.__name__, len(args))
    if len(carrying) == 1:
        out = results[carrying[0]]._data
        _attach(results[carrying[0]], Node(op, parents, saved, plan, None, out.shape, out.dtype))
    elif carrying:
        call = Node(op, parents, saved, plan, None, (plan.packed_size,), plan.packed_dtype)
        for k, i in enumerate(carrying):
            _attach(results[i], _output_node(call, plan, k))
    return results[0] if single else type(outputs)(results)


def _carries_gradient(result, ctx):
    return (isinstance(result, Tensor) and result.dtype.kind == "f"
            and not any(result is t for t in ctx.non_differentiable))


def _parent_node(tensor):
    if tensor.node is None:
        tensor.node = Node.leaf(tensor)
    return tensor.node


def _attach(tensor, node):
    tensor.node = node
    tensor.requires_grad = True
    tensor.grad = None


def _saved(ctx, args, results):
    """The saved tensors' arrays, by name, for the node (so that in-place changes are caught and
    backward frees them), and for each how to rebuild the tensor: ("input", position),
    ("output", index) or ("other", the tensor's node)."""
    saved = {}
    slots = []
    for i, t in enumerate(ctx.to_save):
        if t is None:
            slots.append(None)
            continue
        name = f"saved_tensors[{i}]"
        saved[name] = t._data
        position = next((p for p, a in enumerate(args) if a is t), None)
        index = next((k for k, r in enumerate(results) if r is t), None)
        if position is not None:
            slots.append((name, "input", position))
        elif index is not None:
            slots.append((name, "output", index))
        else:
            slots.append((name, "other", _parent_node(t) if t.requires_grad else None))
    ctx.to_save = ()  # the node's saved dict holds them now, and backward frees them
    return saved, tuple(slots)


class _FunctionPlan:
    """A Function call's backward step: the engine's ``input_gradients`` for its node."""

    def __init__(self, cls, ctx, slots, results, carrying):
        self.cls = cls
        self.ctx = ctx
        self.slots = slots
        self.carrying = carrying  # the positions among forward's results that carry gradients
        self.shapes = [results[i]._data.shape for i in carrying]
        self.dtypes = [results[i]._data.dtype for i in carrying]
        self.sizes = [results[i]._data.size for i in carrying]
        self.packed_size = sum(self.sizes)
        self.packed_dtype = xp.result_type(*self.dtypes) if len(carrying) > 1 else None
        # The other tensor results get zeros as their gradient (PyTorch's materialized
        # gradients); results that are not tensors get None.
        self.zeros_for = {i: (r._data.shape, r._data.dtype) for i, r in enumerate(results)
                          if isinstance(r, Tensor) and i not in carrying}
        self.count = len(results)

    def input_gradients(self, node, grad, retain_graph, create_graph):
        ctx = self.ctx
        ctx._saved_tensors = tuple(self._rebuild(node, slot, create_graph) for slot in self.slots)
        try:
            grads = self.cls.backward(ctx, *self._grad_outputs(grad, create_graph))
        finally:
            ctx._saved_tensors = None
        grads = grads if isinstance(grads, tuple) else (grads,)
        self._check_count(node, grads)
        for position, g in enumerate(grads[:len(node.parents)]):
            if g is not None and node.parents[position] is not None:
                yield position, self._unwrap(node, position, g, create_graph)

    def _grad_outputs(self, grad, create_graph):
        """One gradient per result of forward, as tensors: unpacked where several carry one."""
        parts = [grad]
        if len(self.carrying) > 1:
            starts = [sum(self.sizes[:k]) for k in range(len(self.sizes))]
            parts = [grad[start:start + size].reshape(shape).astype(dtype) for start, size, shape,
                     dtype in zip(starts, self.sizes, self.shapes, self.dtypes)]
        if not create_graph:
            parts = [Tensor._make(part, None) for part in parts]
        grads = dict(zip(self.carrying, parts))
        for i, (shape, dtype) in self.zeros_for.items():
            grads[i] = Tensor._make(xp.zeros(shape, dtype=dtype), None)
        return [grads.get(i) for i in range(self.count)]

    def _rebuild(self, node, slot, create_graph):
        if slot is None:
            return None
        name, kind, where = slot
        array = node.saved[name]
        if not create_graph:
            return Tensor._make(array, None)
        if kind == "input":
            return Tensor._make(array, node.parents[where])
        if kind == "output":
            output = node if len(self.shapes) == 1 else _output_node(node, self, where)
            return Tensor._make(array, output)
        return Tensor._make(array, where)

    def _check_count(self, node, grads):
        count = len(node.parents)
        if len(grads) < count or any(g is not None for g in grads[count:]):
            raise GradientError(
                f"{node.name}.backward returned {len(grads)} gradient(s) but forward took "
                f"{count} input(s): return one per input, None for an input that needs none")

    def _unwrap(self, node, position, g, create_graph):
        if not isinstance(g, Tensor):
            raise TypeError(f"{node.name}.backward returned a {type(g).__name__} as the "
                            f"gradient of input {position}; return a tensor (or None)")
        # Its shape is the engine's to check: it sums broadcast axes away or refuses.
        return g if create_graph else g._data


class _OutputPlan:
    """One output of a Function call with several: its gradient, placed in its slot of the
    call's packed gradient."""

    def __init__(self, plan, index):
        self.plan = plan
        self.index = index

    def input_gradients(self, node, grad, retain_graph, create_graph):
        plan = self.plan
        start = sum(plan.sizes[:self.index])
        before = xp.zeros(start, dtype=plan.packed_dtype)
        after = xp.zeros(plan.packed_size - start - plan.sizes[self.index], dtype=plan.packed_dtype)
        if not create_graph:
            yield 0, xp.concatenate([before, grad.reshape(-1).astype(plan.packed_dtype), after])
            return
        flat = grad.reshape(-1).astype(plan.packed_dtype)
        yield 0, concatenate([Tensor._make(before, None), flat, Tensor._make(after, None)])


def _output_node(call, plan, index):
    op = _FunctionOp(f"{call.name}[{index}]", 1)
    shape, dtype = plan.shapes[index], plan.dtypes[index]
    return Node(op, (call,), {}, _OutputPlan(plan, index), None, shape, dtype)
