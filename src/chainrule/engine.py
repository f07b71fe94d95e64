"""The engine: graph nodes, the backward pass, grad(), grad mode and anomaly mode.

Forward propagation records one Node per primitive call. Backward propagation visits the nodes in
reverse topological order, calls each input's VJP with the summed upstream gradient, fits the
result to the input's shape, and accumulates it into the parent, so a value that fans out gets the
sum over all its paths.
"""
import functools
from heapq import heappop, heappush
import itertools
import sys
import weakref

from .backend import xp, ndarray
from .errors import AnomalyError, GradientError, ShapeError

# Node creation order doubles as the in-place modification clock: a saved tensor whose last
# in-place change is newer than the node that saved it was modified after being saved.
_clock = itertools.count(1)


class _GradMode:
    __slots__ = ("enabled", "inference", "anomaly", "scope", "last_inplace", "last_backward",
                 "last_graph_write")

    def __init__(self):
        self.enabled = True
        self.inference = False  # inside inference_mode() (grad_mode.py)
        self.anomaly = False
        self.scope = None
        self.last_inplace = 0  # clock value of the newest in-place change to any tensor
        self.last_backward = 0  # clock value when the latest backward pass started
        self.last_graph_write = 0  # clock value of the newest in-place write inside the graph


mode = _GradMode()


class Node:
    """One recorded operation (or, with ``op`` None, a leaf tensor's gradient accumulator).

    ``parents`` holds one Node (or None, for inputs that need no gradient) per input. ``saved``
    holds exactly what the input VJPs declared, by name, and ``plan`` the backward steps (see
    ops/primitive.py); both are dropped after backward. ``seq`` numbers nodes as they are made.
    ``tensor_ref`` points back at the tensor whose ``.grad`` receives this node's gradient:
    every leaf's, and a non-leaf's after ``retain_grad()``.
    """

    __slots__ = ("op", "parents", "saved", "plan", "kwargs", "shape", "dtype", "seq", "scope",
                 "tensor_ref", "extras", "__weakref__")

    def __init__(self, op, parents, saved, plan, kwargs, shape, dtype):
        self.op = op
        self.parents = parents
        self.saved = saved
        self.plan = plan
        self.kwargs = kwargs
        self.shape = shape
        self.dtype = dtype
        self.seq = next(_clock)
        self.scope = mode.scope
        self.tensor_ref = None
        self.extras = None

    @classmethod
    def leaf(cls, tensor):
        node = cls(None, (), None, None, None, tensor._data.shape, tensor._data.dtype)
        node.tensor_ref = weakref.ref(tensor)
        return node

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


class no_grad:
    """Context manager and decorator: operations inside record no graph (prediction mode).

    >>> w = cr.tensor([1.], requires_grad=True)
    >>> with cr.no_grad():
    ...     y = w * 2
    ...
    >>> y.requires_grad
    False
    """

    _target = False

    def __new__(cls, orig_func=None):
        # PyTorch's ``@torch.no_grad`` without parentheses decorates ``orig_func`` directly.
        if orig_func is None:
            return super().__new__(cls)
        if not callable(orig_func):
            raise TypeError(f"{cls.__name__}() takes no arguments, or a function to decorate "
                            f"as @{cls.__name__}; got {type(orig_func).__name__}")
        return cls()(orig_func)

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
    """Context manager and decorator: record the graph again inside a ``no_grad`` block.

    >>> w = cr.tensor([1.], requires_grad=True)
    >>> with cr.no_grad():
    ...     with cr.enable_grad():
    ...         y = w * 2
    ...
    >>> y.requires_grad
    True
    """

    _target = True


def is_grad_enabled():
    """Whether operations record the graph now (False inside ``no_grad()``).

    >>> cr.is_grad_enabled()
    True
    >>> with cr.no_grad():
    ...     print(cr.is_grad_enabled())
    False
    """
    return mode.enabled


class detect_anomaly:
    """Within this block, the first NaN or infinity produced by backward raises AnomalyError
    naming the op and showing where that op was created in the forward pass.

    >>> x = cr.tensor([0.], requires_grad=True)
    >>> with cr.detect_anomaly():
    ...     x.sqrt().sum().backward()
    ...
    Traceback (most recent call last):
        ...
    chainrule.errors.AnomalyError: sqrt: backward produced a non-finite gradient for input 0 (shape (1,)). ...
    """

    def __enter__(self):
        self._previous = mode.anomaly
        mode.anomaly = True
        return self

    def __exit__(self, *exc):
        mode.anomaly = self._previous


def sum_to_shape(grad, shape, op="backward"):
    """Reduce a gradient computed in a broadcast shape back to the input's ``shape``."""
    gshape = grad.shape
    if gshape == shape:
        return grad
    lead = len(gshape) - len(shape)
    if lead > 0 and gshape[lead:] == shape:  # a bias added to every row: sum the rows away
        return grad.sum(axis=tuple(range(lead)))
    if lead < 0:
        raise ShapeError(f"{op}: its VJP returned a gradient of shape {gshape}, which "
                         f"cannot be reduced to its input's shape {shape}")
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and gshape[lead + i] != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    if lead:
        grad = grad.reshape(shape)
    if grad.shape != shape:
        raise ShapeError(f"{op}: its VJP returned a gradient of shape {gshape}, which "
                         f"cannot be reduced to its input's shape {shape}")
    return grad


# Tensors written in place inside the graph (t += x on a tensor that requires grad): another
# tensor sharing their memory, computed before, now holds values its graph did not compute.
_graph_writes = {}


def graph_write_begins():
    """The clock reading before an in-place change records its ops: every node it makes is
    newer, every tensor computed before it older (``mark_written_in_graph`` takes it)."""
    return next(_clock)


def mark_written_in_graph(began, tensor):
    """Note that ``tensor``'s memory was written in place by ops recorded since the clock read
    ``began``: the nodes they made (the tensor's, and those of the tensors it views) stay
    consistent, older views of that memory go stale. Nodes are never renumbered, so that
    their numbers stay in the graph's topological order."""
    base = _base_buffer(tensor._data)
    key = id(base)
    mode.last_graph_write = began
    _graph_writes[key] = (began,
                          weakref.ref(base, lambda _, key=key: _graph_writes.pop(key, None)))


# The tensor each view was made from, for an in-place change through the view inside the graph
# to give the viewed tensor its new node (PyTorch's CopySlices): id(view) -> (weakref to the
# view, weakref to the viewed tensor, the view op, its keyword arguments).
_views = {}


def record_view(view, viewed, op, kwargs):
    # The view holds the viewed tensor (as a PyTorch view holds its base), so that a change
    # through a view of a temporary view (y[1][1:]) still reaches y.
    key = id(view)
    _views[key] = (weakref.ref(view, lambda _, key=key: _views.pop(key, None)),
                   viewed, op, kwargs, next(_clock))


def views_of(viewed):
    """The (view, view op, keyword arguments) recorded as views of ``viewed``."""
    return [(entry[0](), entry[2], entry[3]) for entry in list(_views.values())
            if entry[1] is viewed and entry[0]() is not None]


def viewed_by(view):
    """(viewed tensor, view op, its keyword arguments, when the view was made) if ``view`` was
    made by a view op from a tensor whose memory it still shares, else None."""
    entry = _views.get(id(view))
    if entry is None or entry[0]() is not view:
        return None
    viewed = entry[1]
    if _base_buffer(viewed._data) is not _base_buffer(view._data):
        return None
    return entry[1:]


def written_in_graph_since(tensor, seq):
    """Whether ``tensor``'s memory was written in place inside the graph after clock ``seq``."""
    entry = _graph_writes.get(id(_base_buffer(tensor._data)))
    return entry is not None and entry[1]() is not None and entry[0] > seq


def check_not_stale(op_name, tensor):
    """Raise if ``tensor``'s memory was written in the graph through another view after
    ``tensor`` was computed: its values then differ from what its graph describes."""
    node = tensor.node
    if node is None or node.op is None:
        return
    if written_in_graph_since(tensor, node.seq):
        raise GradientError(
            f"{op_name}: an input of shape {tensor.shape} (made by {node.op.name}) shares memory "
            f"with a tensor that was changed in place after it was computed (e.g. v = y[0]; "
            f"v += 1 changes y), so its values no longer match its graph; compute the change "
            f"out of place (y = y + ...) or clone() before changing a view")


# In-place changes are tracked per memory buffer, not per tensor, so that a change made through
# one view (w[:2], x.T, a reshape) is seen by every tensor that shares the memory:
# id(base array) -> (clock value of the latest change, number of changes, weakref to the base).
_buffer_changes = {}


def _base_buffer(array):
    while True:
        base = array.base
        if not isinstance(base, ndarray):  # NumPy's as_strided views hold theirs one step on
            base = getattr(base, "base", None)
            if not isinstance(base, ndarray):
                return array
        array = base


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
    for name, array in node.saved.items():
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


def _anomaly_check(node, index, grad):
    data = grad._data if hasattr(grad, "node") else grad
    if xp.all(xp.isfinite(data)):
        return
    where = "".join(node.extra("trace", ["(created before detect_anomaly was entered)\n"]))
    raise AnomalyError(
        f"{node.name}: backward produced a non-finite gradient for input {index} "
        f"(shape {xp.shape(data)}). The op was created here in the forward pass:\n{where}")


class Gradient:
    """A finished gradient handed back by the engine, and whether the engine allocated it."""

    __slots__ = ("value", "owned")

    def __init__(self, value, owned=False):
        self.value = value
        self.owned = owned

    def take(self):
        """The gradient as an array its receiver may keep and change: handed over when the
        engine allocated it or nothing else can see its memory, copied otherwise. CPython's
        reference counts tell, as in PyTorch, whose AccumulateGrad steals a gradient nobody
        else holds."""
        if self.owned or self._unshared():
            return self.value
        return self.value.copy()

    def _unshared(self):
        if type(self.value) is not ndarray or not self.value.flags.writeable:
            return False
        if sys.getrefcount(self.value) != _REFS_OF_ALONE:
            return False
        base = self.value.base
        # + 1: the local name `base` holds one more reference than _measure_refs saw.
        return base is None or (type(base) is ndarray and sys.getrefcount(base) == _REFS_OF_BASE + 1)


class SliceGradient:
    """The gradient of a basic slice's input: zero except at ``index``, where it is ``values``
    (getitem's VJP). The engine writes ``values`` into the input's pending sum in place, so
    that reading a sequence one step at a time (x[t] for each t) costs one zero array for the
    whole sequence, not one per step (which made backpropagation through time quadratic in
    the sequence length). Anything else that reads it gets the dense array (``__array__``)."""

    __slots__ = ("values", "index", "shape")

    def __init__(self, values, index, shape):
        self.values, self.index, self.shape = values, index, shape

    @property
    def dtype(self):
        return self.values.dtype

    def dense(self, dtype=None):
        out = xp.zeros(self.shape, dtype=dtype or self.values.dtype)
        out[self.index] = self.values
        return out

    def __array__(self, dtype=None, copy=None):
        return self.dense(dtype)

    def add_into(self, total):
        """``total`` (an array the engine owns) with ``values`` added at ``index``."""
        total[self.index] += self.values
        return total


def _fit_slice(g, parent, node, position):
    """A new SliceGradient (so that the engine counts it as made: PendingGradients.add then
    owns its dense sum), cast to the input's dtype; a dense array if shaped otherwise."""
    if g.shape != parent.shape:  # not shaped as this input: the dense path checks it
        return g.dense()
    values = g.values if g.dtype == parent.dtype else g.values.astype(parent.dtype)
    if mode.anomaly:
        _anomaly_check(node, position, values)
    return SliceGradient(values, g.index, g.shape)


def _fit(g, parent, node, position, create_graph):
    """Bring a VJP's result to its input's shape (un-broadcasting, once, for every op) and
    dtype, and checks it in anomaly mode. Returns a new object exactly when it allocated one."""
    if type(g) is SliceGradient:
        g = _fit_slice(g, parent, node, position)
        if type(g) is SliceGradient:
            return g
    if not create_graph and type(g) is not ndarray:
        g = xp.asarray(g)  # a NumPy scalar, from arithmetic on 0-d arrays
    if g.shape != parent.shape:
        g = sum_to_shape(g, parent.shape, node.name)
        if not create_graph and type(g) is not ndarray:
            g = xp.asarray(g)  # summing down to 0-d gives a NumPy scalar
    if g.dtype != parent.dtype:
        g = g.astype(parent.dtype)
    if mode.anomaly:
        _anomaly_check(node, position, g)
    return g


def _check_saved(node):
    """Refuse to run a node whose saved arrays are gone or were changed in place since."""
    if node.saved is None:
        raise GradientError(
            f"{node.op.name}: trying to backward through the graph a second time; its saved "
            f"arrays were freed by the first backward(). Pass retain_graph=True to the first "
            f"call if you need to backward twice.")
    if mode.last_inplace > node.seq:
        _check_versions(node)


def _run_hooks(node, grad):
    """The gradient after the hooks registered on ``node``: each gets the previous one's
    result. Hooks see the engine's gradients (arrays, or tensors with ``create_graph``);
    ``Tensor.register_hook`` wraps a user's hook so that it sees tensors."""
    for hook in node.extras["hooks"]:
        grad = hook(grad)
    return grad


class PendingGradients:
    """The gradients that have reached nodes not yet visited, each summed over the paths so far,
    and the order of visiting: the newest node first.

    Borrow first, own only what you made: the first gradient to reach a node may be the upstream
    gradient itself or a view that someone else also holds (add's VJP hands the same array to
    both inputs), so it is never written into. Only an array the engine allocated (a sum, an
    un-broadcast, a cast) is owned, and later contributions are added into it in place.
    """

    __slots__ = ("sums", "owned", "heap")

    def __init__(self):
        self.sums = {}  # node -> its gradient summed so far
        self.owned = set()  # the nodes whose sum the engine allocated
        self.heap = []  # (-seq, node): the newest node first

    def add(self, node, grad, made):
        """Add ``grad`` into ``node``'s sum; ``made``: the engine allocated ``grad``."""
        sums = self.sums
        if node not in sums:  # the first path to reach node: borrow grad
            if made:
                if type(grad) is SliceGradient:  # (_fit hands a slice over as made)
                    grad = grad.dense()
                self.owned.add(node)
            sums[node] = grad
            heappush(self.heap, (-node.seq, node))
        elif node in self.owned and type(grad) is ndarray:  # fan-out, into our own sum
            xp.add(sums[node], grad, out=sums[node])
        elif type(grad) is SliceGradient:  # a slice's gradient, written into our own sum
            total = sums[node] if node in self.owned else xp.array(sums[node])
            sums[node] = grad.add_into(total)
            self.owned.add(node)
        else:  # fan-out: a new array for the sum, ours from now on
            total = sums[node] + grad
            sums[node] = xp.asarray(total) if isinstance(total, xp.generic) else total  # 0-d
            self.owned.add(node)

    def __iter__(self):
        """Visit the nodes newest first until none is left, each with its summed gradient and
        whether the engine owns that array; nodes added meanwhile are visited in their turn."""
        heap, sums, owned = self.heap, self.sums, self.owned
        while heap:
            node = heappop(heap)[1]
            yield node, sums.pop(node), node in owned


def _added_to_grad(leaf, grad):
    """Add a contribution to a leaf without hooks straight into its existing ``.grad``, as
    PyTorch's AccumulateGrad, if it has one: then the engine holds no parameter's gradient until
    the end of backward, which reaches the leaves last (a leaf keeps the number of its first
    use). With one contribution per leaf the sum is the same to the bit; a weight used several
    times adds its contributions one at a time. Returns whether it did."""
    tensor = leaf.tensor_ref()
    if leaf.extras is not None or tensor is None or tensor.grad is None or \
            type(grad) is not ndarray:
        return False
    tensor._accumulate_grad(Gradient(grad), False)
    return True


def _measure_refs():
    # The reference counts of an array, and of a view's base, held by nothing but a Gradient.
    alone = Gradient(xp.zeros(2))
    view = Gradient(xp.zeros(2)[:1])
    return sys.getrefcount(alone.value), sys.getrefcount(view.value.base)


def _recording_only_for_create_graph(backward):
    """Run ``backward`` with graph recording on exactly when ``create_graph`` asks for it: the
    VJPs then record their own graph (for higher-order gradients), and never otherwise."""
    @functools.wraps(backward)
    def run(roots, root_grads, retain_graph, create_graph, capture=None, observe=None):
        previous, mode.enabled = mode.enabled, create_graph
        try:
            return backward(roots, root_grads, retain_graph, create_graph, capture, observe)
        finally:
            mode.enabled = previous
    return run


_at_backward_end = []


def queue_callback(callback):
    """Call ``callback(kept)`` once, when the backward pass now running has visited its last
    node, as PyTorch's ``queue_callback``; ``kept`` is what the pass returns, ``{node: Gradient}``
    (what goes into the leaves' ``.grad``), and the callback may replace entries.
    DistributedDataParallel waits there for the all-reduces its hooks started."""
    _at_backward_end.append(callback)


@_recording_only_for_create_graph
def backward_pass(roots, root_grads, retain_graph, create_graph, capture=None, observe=None):
    """Reverse-mode differentiation from ``roots``; returns ``{node: Gradient}`` for the nodes
    whose gradient someone keeps: the nodes in ``capture`` when given (``grad()``), otherwise
    every node with a ``tensor_ref`` (leaves, and tensors that called ``retain_grad()``).
    ``observe(node, position, raw, g)``, when given, sees each contribution a VJP makes: as the
    VJP returned it and as delivered (un-broadcast); ``explain`` shows them. It must not change
    either, and must copy ``g`` to keep it: the engine may later add into a sum it allocated.

    Nodes are numbered as they are created, so a node's inputs always have smaller numbers:
    popping the largest number first visits the graph in reverse topological order, and a node
    is reached only after every path into it has delivered its gradient."""
    pending = PendingGradients()
    for node, grad in zip(roots, root_grads):
        pending.add(node, grad, made=False)
    kept = {}
    mode.last_backward = next(_clock)
    anomaly = mode.anomaly
    early = capture is None and observe is None and not create_graph  # backward(): .grad now
    for node, grad, owned in pending:
        if node.extras is not None and "hooks" in node.extras:
            grad, owned = _run_hooks(node, grad), False
        if node.tensor_ref is not None if capture is None else node in capture:
            kept[node] = Gradient(grad, owned)  # a leaf's, retain_grad()'s, or grad()'s
        if node.op is None:  # a leaf: nothing before it
            continue
        if node.saved is None or mode.last_inplace > node.seq:
            _check_saved(node)
        for position, raw in node.plan.input_gradients(node, grad, retain_graph, create_graph):
            parent = node.parents[position]
            g = raw  # usually already the input's shape and dtype: a check, inline
            if type(g) is not ndarray or g.shape != parent.shape or g.dtype is not parent.dtype \
                    or anomaly:
                g = _fit(raw, parent, node, position, create_graph)  # un-broadcast, cast
            if observe is not None:
                observe(node, position, raw, g)
            if early and parent.op is None and _added_to_grad(parent, g):
                continue
            pending.add(parent, g, g is not raw)  # made: the engine allocated g
        if not retain_graph:
            node.saved = None  # free what forward saved
    while _at_backward_end:
        _at_backward_end.pop(0)(kept)
    return kept


_REFS_OF_ALONE, _REFS_OF_BASE = _measure_refs()
