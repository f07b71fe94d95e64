"""The engine: graph nodes, the backward pass, grad(), grad mode and anomaly mode.

Forward propagation records one Node per primitive call. Backward propagation visits the nodes in
reverse topological order, calls each input's VJP with the summed upstream gradient, fits the
result to the input's shape, and accumulates it into the parent, so a value that fans out gets the
sum over all its paths.
"""
import heapq
import itertools
import traceback
import weakref

from .backend import xp, ndarray
from .errors import AnomalyError, GradientError, ShapeError

# Set by tensor.py once the class exists (the two modules refer to each other); a function-level
# import here cost about 1 us per call on the hot path.
Tensor = None

# Node creation order doubles as the in-place modification clock: a saved tensor whose last
# in-place change is newer than the node that saved it was modified after being saved.
_clock = itertools.count(1)


class _GradMode:
    __slots__ = ("enabled", "anomaly", "scope", "last_inplace", "last_backward")

    def __init__(self):
        self.enabled = True
        self.anomaly = False
        self.scope = None
        self.last_inplace = 0  # clock value of the newest in-place change to any tensor
        self.last_backward = 0  # clock value when the latest backward pass started


mode = _GradMode()


class Node:
    """One recorded operation (or, with ``op`` None, a leaf tensor's gradient accumulator).

    ``parents`` holds one Node (or None, for inputs that need no gradient) per input. ``saved``
    holds exactly what the input VJPs declared, by name; it is dropped after backward.
    """

    __slots__ = ("op", "parents", "saved", "plan", "kwargs", "shape", "dtype", "seq", "scope",
                 "tensor_ref", "extras", "__weakref__")

    def __init__(self, op, parents, saved, kwargs, shape, dtype):
        self.op = op
        self.parents = parents
        self.saved = saved
        self.plan = None
        self.kwargs = kwargs
        self.shape = shape
        self.dtype = dtype
        self.seq = next(_clock)
        self.scope = mode.scope
        self.tensor_ref = None
        self.extras = None
        if mode.anomaly:
            self.extras = {"trace": traceback.format_stack()[:-2]}

    @property
    def name(self):
        return "leaf" if self.op is None else self.op.name

    def extra(self, key, default=None):
        return default if self.extras is None else self.extras.get(key, default)

    def set_extra(self, key, value):
        if self.extras is None:
            self.extras = {}
        self.extras[key] = value

    def __repr__(self):
        return f"<Node {self.name} {self.shape} {self.dtype}>"


def leaf_node(tensor):
    node = Node(None, (), None, None, tensor.data.shape, tensor.data.dtype)
    node.tensor_ref = weakref.ref(tensor)
    return node


class no_grad:
    """Context manager and decorator: operations inside record no graph (prediction mode)."""

    _target = False

    def __enter__(self):
        self._previous = mode.enabled
        mode.enabled = self._target

    def __exit__(self, *exc):
        mode.enabled = self._previous

    def __call__(self, fn):
        target = self._target

        def wrapper(*args, **kwargs):
            previous = mode.enabled
            mode.enabled = target
            try:
                return fn(*args, **kwargs)
            finally:
                mode.enabled = previous

        wrapper.__name__ = fn.__name__
        wrapper.__doc__ = fn.__doc__
        wrapper.__wrapped__ = fn
        return wrapper


class enable_grad(no_grad):
    """Context manager and decorator: record the graph again inside a ``no_grad`` block."""

    _target = True


def is_grad_enabled():
    return mode.enabled


class detect_anomaly:
    """Within this block, the first NaN or infinity produced by backward raises AnomalyError
    naming the op and showing where that op was created in the forward pass."""

    def __enter__(self):
        self._previous = mode.anomaly
        mode.anomaly = True
        return self

    def __exit__(self, *exc):
        mode.anomaly = self._previous


class scope:
    """Labels the nodes recorded inside the block (nn.Module uses it for its own name)."""

    def __init__(self, name):
        self.name = name

    def __enter__(self):
        self._previous = mode.scope
        mode.scope = self.name if self._previous is None else f"{self._previous}.{self.name}"

    def __exit__(self, *exc):
        mode.scope = self._previous


def sum_to_shape(grad, shape):
    """Reduce a gradient computed in a broadcast shape back to the input's ``shape``."""
    gshape = grad.shape
    if gshape == shape:
        return grad
    lead = len(gshape) - len(shape)
    if lead > 0 and gshape[lead:] == shape:  # a bias added to every row: sum the rows away
        return grad.sum(axis=tuple(range(lead)))
    if lead < 0:
        raise ShapeError(f"gradient of shape {gshape} cannot be reduced to shape {shape}")
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and gshape[lead + i] != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    if lead:
        grad = grad.reshape(shape)
    if grad.shape != shape:
        raise ShapeError(f"gradient of shape {gshape} cannot be reduced to shape {shape}")
    return grad


# In-place changes are tracked per memory buffer, not per tensor, so that a change made through
# one view (w[:2], x.T, a reshape) is seen by every tensor that shares the memory:
# id(base array) -> (clock value of the latest change, number of changes, weakref to the base).
_buffer_changes = {}


def _base_buffer(array):
    while isinstance(array.base, ndarray):
        array = array.base
    return array


def record_inplace_change(array):
    """Note that ``array``'s memory was just changed in place; returns the buffer's version."""
    base = _base_buffer(array)
    key = id(base)
    entry = _buffer_changes.get(key)
    stamp = next(_clock)
    mode.last_inplace = stamp
    if entry is not None and entry[2]() is base:  # the usual case: an optimizer step
        _buffer_changes[key] = (stamp, entry[1] + 1, entry[2])
        return entry[1] + 1
    _buffer_changes[key] = (stamp, 1,
                            weakref.ref(base, lambda _, key=key: _buffer_changes.pop(key, None)))
    return 1


def buffer_version(array):
    """How many in-place changes ``array``'s memory has seen (0 if none)."""
    base = _base_buffer(array)
    entry = _buffer_changes.get(id(base))
    return entry[1] if entry is not None and entry[2]() is base else 0


def _changed_after(array, seq):
    """The buffer's version if ``array``'s memory was changed in place after ``seq``, else None."""
    if not isinstance(array, ndarray):
        return None
    base = _base_buffer(array)
    entry = _buffer_changes.get(id(base))
    if entry is not None and entry[2]() is base and entry[0] > seq:
        return entry[1]
    return None


def _check_versions(node):
    """Raise if an array this node saved was modified in place after the node was made."""
    for name, value in node.saved.items():
        array = value.data if isinstance(value, Tensor) else value
        version = _changed_after(array, node.seq)
        if version is None:
            continue
        what = (f"its output of shape {node.shape}" if name == "out" else
                f"input '{name}' of shape {xp.shape(array)}" if name in node.op.inputs else
                f"the '{name}' it saved (shape {xp.shape(array)})")
        raise GradientError(
            f"{node.name}: {what} was modified in place after {node.name} saved it for backward "
            f"(its memory is now at version {version}, newer than when it was saved); compute "
            f"on a copy (t.clone()) or make the change after backward()")


def _vjp_arguments(node, names, create_graph, position):
    saved = node.saved
    args = []
    for name in names:
        if name == "position":  # which of a variadic op's inputs this VJP is for
            args.append(position)
            continue
        value = saved[name]
        if name == "out" and create_graph:
            value = Tensor._make(value, node)
        elif not create_graph and isinstance(value, Tensor):
            value = value.data
        args.append(value)
    return args


def _anomaly_check(node, index, grad):
    data = grad.data if hasattr(grad, "node") else grad
    if xp.all(xp.isfinite(data)):
        return
    where = "".join(node.extra("trace", ["(created before detect_anomaly was entered)\n"]))
    raise AnomalyError(
        f"{node.name}: backward produced a non-finite gradient for input {index} "
        f"(shape {xp.shape(data)}). The op was created here in the forward pass:\n{where}")


def _run_hooks(node, grad, create_graph):
    wrapped = grad if create_graph else Tensor._make(grad, None)
    for hook in node.extra("hooks", ()):
        result = hook(wrapped)
        if result is not None:
            wrapped = result if isinstance(result, Tensor) else Tensor._make(xp.asarray(result), None)
    ref = node.extra("retain")
    if ref is not None and ref() is not None:
        ref().grad = wrapped if create_graph else Tensor._make(wrapped.data.copy(), None)
    return wrapped if create_graph else wrapped.data


def _accumulate_leaf(node, grad, owned, create_graph):
    tensor = node.tensor_ref()
    if tensor is None:
        return
    if create_graph:
        tensor.grad = grad if tensor.grad is None else tensor.grad + grad
        return
    if grad.dtype != node.dtype:
        grad, owned = grad.astype(node.dtype), True
    if tensor.grad is None:
        tensor.grad = Tensor._make(grad if owned else grad.copy(), None)
    else:
        xp.add(tensor.grad.data, grad, out=tensor.grad.data)


def _variadic_steps(node):
    fn, names = node.op.vjps[0]
    return [(i, fn, names, ()) for i, p in enumerate(node.parents) if p is not None]


def backward_pass(roots, root_grads, retain_graph, create_graph, capture=None):
    """Run reverse-mode differentiation from ``roots``.

    Gradients reaching leaf tensors are accumulated into ``.grad`` unless ``capture`` is given;
    then the gradients of the captured nodes are returned in a dict and ``.grad`` is untouched.
    """
    grads = {}
    owned = set()
    heap = []
    for node, grad in zip(roots, root_grads):
        if node in grads:
            grads[node] = grads[node] + grad
        else:
            grads[node] = grad
            heap.append((-node.seq, node))
    heapq.heapify(heap)
    captured = {}
    mode.last_backward = next(_clock)
    anomaly = mode.anomaly
    previous_mode = mode.enabled
    mode.enabled = create_graph
    heappop, heappush = heapq.heappop, heapq.heappush
    try:
        while heap:
            node = heappop(heap)[1]
            grad = grads.pop(node)
            grad_owned = node in owned
            if node.extras is not None and ("hooks" in node.extras or "retain" in node.extras):
                grad = _run_hooks(node, grad, create_graph)
                grad_owned = False
            if capture is not None and node in capture:
                captured[node] = grad
                grad_owned = False  # handed to the caller: nothing may add into it later
            op = node.op
            if op is None:
                if capture is None:
                    _accumulate_leaf(node, grad, grad_owned, create_graph)
                continue
            saved = node.saved
            if saved is None:
                raise GradientError(
                    f"{op.name}: trying to backward through the graph a second time; its saved "
                    f"arrays were freed by the first backward(). Pass retain_graph=True to the "
                    f"first call if you need to backward twice.")
            if mode.last_inplace > node.seq:
                _check_versions(node)
            parents = node.parents
            steps = node.plan.steps if node.plan is not None else _variadic_steps(node)
            for index, vjp, names, free in steps:
                parent = parents[index]
                if not names:
                    g = vjp(grad)
                elif create_graph or op.variadic:
                    g = vjp(grad, *_vjp_arguments(node, names, create_graph, index))
                else:
                    # Inlined _vjp_arguments for the common first-order case.
                    args = []
                    for name in names:
                        value = saved[name]
                        args.append(value.data if isinstance(value, Tensor) else value)
                    g = vjp(grad, *args)
                if free and not retain_graph:
                    for name in free:  # no later VJP of this node needs it: let it go now
                        del saved[name]
                if anomaly:
                    _anomaly_check(node, index, g)
                # The engine owns (and may add into in place) only arrays no one else can see:
                # fresh VJP results, or a view of a gradient this node owned and passes to
                # a single parent.
                fresh = op.returns_new or (grad_owned and op.vjp_returns == "view" and
                                           len(steps) == 1)
                if g.shape != parent.shape:
                    g = sum_to_shape(g, parent.shape)
                    fresh = True
                if parent in grads:
                    acc = grads[parent]
                    if parent in owned and not create_graph and type(acc) is ndarray:
                        xp.add(acc, g, out=acc, casting="unsafe")
                    else:
                        grads[parent] = acc + g
                        owned.add(parent)
                else:
                    grads[parent] = g
                    if fresh:
                        owned.add(parent)
                    heappush(heap, (-parent.seq, parent))
            if not retain_graph:
                node.saved = None
    finally:
        mode.enabled = previous_mode
    return captured
