"""Activation checkpointing, as PyTorch's non-reentrant ``torch.utils.checkpoint``: trade
computation for memory by keeping a segment's inputs rather than its activations.

``checkpoint(fn, *args)`` runs ``fn`` once, recording its graph as usual, then takes back the
arrays that the segment's nodes saved for backward (its activations) and keeps only what came
from outside the segment: its inputs and the parameters, which are alive anyway. The first time
backward asks one of those nodes for a saved array, the whole segment is run again from the kept
inputs, with the random state it first saw (so dropout draws the same mask), and every node of
the segment gets back what it saved; backward then goes on through the original graph. The
gradients are the plain graph's own, to the bit, and reach everything the graph reaches
(parameters, inputs, tensors the function closed over), with ``backward()`` or ``cr.grad()``,
``create_graph=True``, hooks and nested checkpoints.

    from chainrule.utils.checkpoint import checkpoint, checkpoint_sequential
    h = checkpoint(block, x)                    # block's activations are recomputed in backward
    out = checkpoint_sequential(model, 4, x)    # a Sequential in 4 segments, the last one plain

Refused, as in PyTorch: a segment input changed in place between forward and backward, and a
recomputation that records other ops than the forward pass did. Refused where PyTorch would
differentiate another computation: a recomputation whose outputs differ from the forward pass's,
even only in where the values are (a permutation drawn from a generator of its own), naming the
function that modified its own input in place where that is the cause.
"""
import functools
import weakref

from ..backend import ndarray, xp
from ..engine import _clock, buffer_version, enable_grad, mode
from ..errors import GradientError
from ..random import get_rng_state, set_rng_state
from ..tensor import Tensor


def checkpoint(function, *args, use_reentrant=False, preserve_rng_state=True,
               determinism_check="default", context_fn=None, debug=False, **kwargs):
    """``function(*args, **kwargs)``, keeping only the inputs for backward: the activations it
    saved are recomputed, once, when backward first needs them (PyTorch's
    ``torch.utils.checkpoint.checkpoint`` with ``use_reentrant=False``).

    ``preserve_rng_state``: replay the default generator's state, so random ops (dropout)
    recompute the same values. ``determinism_check="default"`` checks that the recomputation
    records the same ops with the same shapes and dtypes; ``"none"`` checks only their number.

    >>> from chainrule.utils.checkpoint import checkpoint
    >>> f = lambda t: (t * t).tanh()
    >>> x = cr.tensor([1., 2.], requires_grad=True)
    >>> checkpoint(f, x).sum().backward()
    >>> bool((x.grad == cr.grad(f(x).sum(), x)[0]).all())
    True
    """
    _check_options(use_reentrant, determinism_check, context_fn, debug)
    rng_state = get_rng_state() if preserve_rng_state else None
    inputs = [a for a in (*args, *kwargs.values()) if isinstance(a, Tensor)]
    boundary = {id(a.node) for a in inputs if a.node is not None}
    before = _versions(args, kwargs)
    start = next_seq()
    outputs = function(*args, **kwargs)
    if not mode.enabled:
        return outputs
    nodes = region(outputs, start, boundary)
    if nodes:
        segment = _Segment(function, args, kwargs, rng_state, determinism_check, nodes, boundary)
        segment.changed_inside = [(i, a) for (i, a, old), (_, _, new)
                                  in zip(before, segment.versions) if old != new]
        segment.note_results(outputs)
        segment.take_back(nodes, start)
    return outputs


def checkpoint_sequential(functions, segments, input, use_reentrant=False, **kwargs):
    """Run ``functions`` (a Sequential or a list of modules) on ``input`` in ``segments``
    pieces of ``len(functions) // segments`` each, all checkpointed but the last (whose
    activations backward needs first), as PyTorch's ``checkpoint_sequential``; ``kwargs``:
    ``preserve_rng_state``, ``determinism_check``.

    >>> from chainrule.utils.checkpoint import checkpoint_sequential
    >>> model = cr.nn.Sequential(cr.nn.Linear(3, 3), cr.nn.Tanh(), cr.nn.Linear(3, 1))
    >>> x = cr.ones(2, 3)
    >>> bool((checkpoint_sequential(model, 2, x) == model(x)).all())
    True
    """
    functions = list(functions.children()) if hasattr(functions, "children") else list(functions)
    if isinstance(segments, bool) or not isinstance(segments, int) or segments < 1:
        raise ValueError(f"checkpoint_sequential: segments must be a positive int, got "
                         f"{segments!r}")
    if segments > len(functions):
        raise ValueError(f"checkpoint_sequential: {segments} segments for {len(functions)} "
                         f"functions; give at most one segment per function")
    size = len(functions) // segments
    end = 0
    for begin in range(0, size * (segments - 1), size):
        end = begin + size
        input = checkpoint(_run(functions[begin:end]), input, use_reentrant=use_reentrant,
                           **kwargs)
    return _run(functions[end:])(input)


def _run(functions):
    def forward(x):
        for f in functions:
            x = f(x)
        return x
    return forward


def _check_options(use_reentrant, determinism_check, context_fn, debug):
    if use_reentrant:
        raise NotImplementedError(
            "checkpoint: only PyTorch's non-reentrant checkpoint (use_reentrant=False) is "
            "implemented, the variant PyTorch recommends; it also supports cr.grad(), inputs "
            "that need no gradient and nested checkpoints")
    if determinism_check not in ("default", "none"):
        raise ValueError(f"checkpoint: determinism_check must be 'default' or 'none', got "
                         f"{determinism_check!r}")
    if context_fn is not None or debug:
        raise NotImplementedError("checkpoint: context_fn and debug are not supported")


def next_seq():
    """A number above every node made so far and below every node made later."""
    return next(_clock)


def region(outputs, start, boundary=()):
    """The recorded nodes made after ``start`` that ``outputs`` were computed from, oldest
    first: the segment's graph, without the leaves and the nodes of ``boundary`` (its inputs)."""
    found = {}
    stack = [t.node for t in _tensors(outputs) if t.node is not None]
    while stack:
        node = stack.pop()
        if node is None or node.op is None or node.seq <= start or id(node) in boundary \
                or id(node) in found:
            continue
        found[id(node)] = node
        stack.extend(node.parents)
    return sorted(found.values(), key=lambda n: n.seq)


def _tensors(value):
    if isinstance(value, Tensor):
        yield value
    elif isinstance(value, (tuple, list)):
        for item in value:
            yield from _tensors(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _tensors(item)


class Recomputed(dict):
    """A checkpointed node's saved values: what came from outside its segment (the inputs, the
    parameters) is here; ``recomputed`` names the arrays that were taken back, with their
    shapes, dtypes and sizes (0 for a buffer already listed in the segment), and the first read
    of one runs the segment again. ``given_back`` keeps their names after the recomputation,
    for ``explain``."""

    __slots__ = ("segment", "index", "recomputed", "given_back", "__weakref__")

    def __missing__(self, key):
        if self.segment is None or key not in self.recomputed:
            raise KeyError(key)
        self.segment.recompute()
        return self[key]


class _Segment:
    """What recomputing one checkpointed call needs: the function, its inputs with their
    versions, the random state it saw, and the saved dicts of its nodes to fill (weakly: the
    graph owns them, and a freed graph frees the segment)."""

    def __init__(self, function, args, kwargs, rng_state, determinism_check, nodes, boundary):
        self.function = function
        self.args = args
        self.kwargs = kwargs
        self.rng_state = rng_state
        self.versions = _versions(args, kwargs)
        self.changed_inside = []  # the inputs that the function itself modified in place
        self.signature = [(n.op.name, n.shape, n.dtype) for n in nodes]
        self.strict = determinism_check == "default"
        self.boundary = boundary
        self.slots = []
        self.kept = []  # (op, name, array, version): what the nodes keep from outside

    def note_results(self, outputs):
        """A fingerprint of each output, to compare the recomputation with (keeping the
        outputs themselves would cost the memory checkpointing saves)."""
        tensors = list(_tensors(outputs))
        self.results = [_fingerprint(t._data) for t in tensors]
        self.shapes = [tuple(t.shape) for t in tensors]

    def take_back(self, nodes, start):
        """Replace each node's saved dict by a Recomputed keeping only what is not the
        segment's own: arrays the segment computed are dropped, to be recomputed."""
        outside = _outside_buffers((*self.args, *self.kwargs.values()), nodes)
        counted = set()  # buffers listed with their size already: an output and the next input
        for index, node in enumerate(nodes):
            kept, taken = {}, {}
            for name, value in node.saved.items():
                if type(value) is ndarray and not _from_outside(node, name, value, start, outside):
                    base = _base(value)
                    taken[name] = (value.shape, value.dtype,
                                   0 if id(base) in counted else base.nbytes)
                    counted.add(id(base))
                else:
                    kept[name] = value
                    if type(value) is ndarray:
                        self.kept.append((node.op.name, name, value, buffer_version(value)))
            if isinstance(node.saved, Recomputed):  # a nested checkpoint's node
                taken.update(node.saved.recomputed)
            slot = Recomputed(kept)
            slot.segment, slot.index, slot.recomputed = self, index, taken
            slot.given_back = tuple(taken)
            node.saved = slot
            self.slots.append(weakref.ref(slot))

    def recompute(self):
        self._check_inputs()
        nodes = self._run_again()
        for ref, node in zip(self.slots, nodes):
            slot, fresh = ref(), node.saved
            if slot is None:
                continue
            dict.update(slot, fresh)
            if isinstance(fresh, Recomputed) and fresh.segment is not None:
                # A checkpoint nested inside this one: its recomputation waits for its own turn.
                slot.segment, slot.index, slot.recomputed = fresh.segment, fresh.index, \
                    fresh.recomputed
                fresh.segment.slots[fresh.index] = ref
            else:
                slot.segment, slot.recomputed = None, {}
        self.slots = []

    def _run_again(self):
        current = get_rng_state() if self.rng_state is not None else None
        if current is not None:
            set_rng_state(self.rng_state)
        start = next_seq()
        try:
            with enable_grad():
                outputs = self.function(*self.args, **self.kwargs)
        finally:
            if current is not None:
                set_rng_state(current)
        nodes = region(outputs, start, self.boundary)
        self._check_same(nodes)
        self._check_values(list(_tensors(outputs)))
        return nodes

    def _check_inputs(self):
        for op, name, array, version in self.kept:
            now = buffer_version(array)
            if now != version:
                raise GradientError(
                    f"checkpoint: {op}'s '{name}' of shape {array.shape}, from outside the "
                    f"segment (a parameter or an input), was modified in place after the "
                    f"forward pass (its memory is at version {now}, was {version}), so backward "
                    f"cannot recompute the segment; make the change after backward()")
        for i, a, version in self.versions:
            now = buffer_version(a._data)
            if now != version:
                raise GradientError(
                    f"checkpoint: input {i} (shape {a.shape}) was modified in place after the "
                    f"checkpointed forward pass used it (its memory is at version {now}, was "
                    f"{version}), so backward cannot recompute the segment; clone() it before "
                    f"changing it, or change it after backward()")

    def _check_values(self, outputs):
        """Refuse a recomputation whose outputs differ from the forward pass's: its saved arrays
        would belong to another computation. A random op with a generator of its own is the
        usual cause: only the default one is replayed."""
        shapes = [tuple(t.shape) for t in outputs]
        if shapes != self.shapes:  # determinism_check="none" lets other shapes come this far
            self._check_modified_inside()
            raise GradientError(
                f"checkpoint: recomputing the segment in backward gave outputs of shapes "
                f"{shapes} where the forward pass gave {self.shapes}, so its gradients would be "
                f"another computation's. The checkpointed function must compute the same "
                f"values from the same inputs each time")
        for i, (first, again) in enumerate(zip(self.results, outputs)):
            fresh = _fingerprint(again._data)
            if _agrees(first[:2], fresh[:2]) and _agrees(first[2:], fresh[2:]):
                continue
            self._check_modified_inside()
            if _agrees(first[:2], fresh[:2]):
                what = "holds the same values in other places"
            else:
                what = f"sums to {fresh[0]:.7g}, was {first[0]:.7g}"
            raise GradientError(
                f"checkpoint: recomputing the segment in backward gave other values than the "
                f"forward pass (output {i} of shape {again.shape} {what}), so its gradients "
                f"would be another computation's. Random ops must draw from the default "
                f"generator, which checkpoint replays (preserve_rng_state=True); a generator= of "
                f"their own is not replayed")

    def _check_modified_inside(self):
        """A function that modifies its own input in place recomputes from the modified
        values: name that cause (PyTorch refuses it too) rather than its consequence."""
        for i, a in self.changed_inside:
            raise GradientError(
                f"checkpoint: the checkpointed function modified its input {i} (shape "
                f"{a.shape}) in place, so recomputing the segment in backward starts from the "
                f"modified values and gives another computation; clone() the input inside the "
                f"function before changing it")

    def _check_same(self, nodes):
        again = [(n.op.name, n.shape, n.dtype) for n in nodes]
        if len(again) == len(self.signature) and (not self.strict or again == self.signature):
            return
        self._check_modified_inside()
        k = next((i for i, (a, b) in enumerate(zip(self.signature, again)) if a != b),
                 min(len(again), len(self.signature)))
        first = self.signature[k] if k < len(self.signature) else "nothing"
        then = again[k] if k < len(again) else "nothing"
        raise GradientError(
            f"checkpoint: recomputing the segment in backward recorded {len(again)} ops where "
            f"the forward pass recorded {len(self.signature)}; the first difference is op "
            f"#{k}: {_op_text(first)} in the forward pass, {_op_text(then)} now. The "
            f"checkpointed function must compute the same ops from the same inputs each time "
            f"(random ops need preserve_rng_state=True)")


def _versions(args, kwargs):
    return [(i, a, buffer_version(a._data))
            for i, a in enumerate((*args, *kwargs.values())) if isinstance(a, Tensor)]


def _fingerprint(array):
    """The sum and the sum of magnitudes, in float64, plain and weighted by position: a change
    of mask or input moves the sum by about 1/sqrt(size) of the magnitudes, far beyond the
    round-off of an identical recomputation (none) or of another summation order (about 1e-7);
    the weighted sums also see the same values in other places (a permutation drawn again)."""
    if array.dtype.kind not in "fiub":
        return (0.0,) * 4
    flat = array.reshape(-1)
    if flat.dtype.kind != "f":
        flat = flat.astype(xp.float64)
    magnitudes = xp.abs(flat)
    return (float(xp.sum(flat, dtype=xp.float64)), float(xp.sum(magnitudes, dtype=xp.float64)),
            _weighted(flat), _weighted(magnitudes))


def _weighted(flat):
    """The sum of ``flat`` weighted by position, in rows of _CHUNK elements (one BLAS call for
    all full rows): weight i of a row times the weight of the row, all in [1, 2) and without a
    period (the golden ratio's multiples modulo 1), so that rows trading places count too."""
    # float16 would overflow past 65504: its sums are taken in float32.
    weights = _weights().astype(flat.dtype if flat.dtype.itemsize >= 4 else xp.float32)
    full = flat.size // _CHUNK
    rows = xp.arange(full + 1, dtype=xp.float64) * _GOLDEN % 1.0 + 1.0
    total = float(rows[:full] @ (flat[:full * _CHUNK].reshape(full, _CHUNK) @ weights)) \
        if full else 0.0
    tail = flat[full * _CHUNK:]
    return total + float(rows[full]) * float(tail @ weights[:tail.size])


_CHUNK = 1 << 13
_GOLDEN = 0.6180339887498949


@functools.lru_cache(maxsize=1)
def _weights():
    return xp.arange(_CHUNK, dtype=xp.float64) * _GOLDEN % 1.0 + 1.0


def _agrees(first, again):
    """Whether two (sum, magnitude) pairs agree within round-off (nan in both agrees)."""
    total, size = again
    return total == first[0] or abs(total - first[0]) <= 1e-6 * max(size, first[1]) or \
        total != total and first[0] != first[0]


def _base(array):
    while isinstance(array.base, ndarray):
        array = array.base
    return array


def _op_text(entry):
    return entry if isinstance(entry, str) else f"{entry[0]} {entry[1]} {entry[2]}"


def _outside_buffers(args, nodes):
    """The memory of the segment's tensor inputs and of the leaves it reads (parameters)."""
    tensors = [a for a in args if isinstance(a, Tensor)]
    for node in nodes:
        for parent in node.parents:
            if parent is not None and parent.op is None and parent.tensor_ref is not None:
                tensors.append(parent.tensor_ref())
    return {id(_base(t._data)) for t in tensors if t is not None}


def _from_outside(node, name, value, start, outside):
    """Whether a saved array came from outside the segment: memory of one of its inputs or
    parameters (W.T is a view of W), or the input of a node made before the segment (an
    earlier segment's output)."""
    if id(_base(value)) in outside:
        return True
    op = node.op
    if getattr(op, "variadic", True) or name not in op.inputs:
        return False
    parent = node.parents[op.inputs.index(name)]
    return parent is not None and (parent.op is None or parent.seq <= start)


__all__ = ["checkpoint", "checkpoint_sequential"]
