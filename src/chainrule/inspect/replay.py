"""Recomputing every gradient of a retained graph, read-only, to show the numbers.

``explain`` and the HTML page need dJ/dv for every variable v, including intermediates, and the
separate contributions when v feeds several ops. They get them by running the graph's own VJPs
(from the op registry, with the arrays the nodes saved) in the engine's order, without touching
``.grad``, running hooks or freeing anything. The engine's in-place accumulation is left out on
purpose: a gradient shown for one node must not change while another is being summed.
"""
from dataclasses import dataclass

from ..autograd import sum_to_shape
from ..backend import xp
from ..errors import GradientError
from ..tensor import Tensor

FREED_MESSAGE = (
    "the graph's saved arrays were freed by backward(), so its gradients cannot be recomputed. "
    "Call this before backward(), or run backward(retain_graph=True) first")


@dataclass
class Contribution:
    consumer: object     # the node whose VJP produced it
    position: int        # which input of the consumer
    raw_shape: tuple     # the VJP's result before the engine reduced broadcast axes
    value: object        # the array after reduction to the input's shape


def check_retained(view):
    for node in view.nodes:
        if node.op is not None and node.saved is None:
            raise GradientError(f"{node.op.name}: {FREED_MESSAGE}")


def replay(view):
    """``(grads, contributions)``: dJ/dv per node, and per node the list of Contributions."""
    check_retained(view)
    root = view.root
    if root.shape != () and int(xp.prod(root.shape)) != 1:
        raise GradientError(f"explain needs a scalar output (a loss), got shape {root.shape}")
    grads = {root: xp.ones(root.shape, dtype=root.dtype)}
    contributions = {node: [] for node in view.nodes}
    for node in view.engine_order():
        if node.op is None:
            continue
        grad = grads[node]
        for position, parent in enumerate(node.parents):
            if parent is None:
                continue
            vjp, names = node.op.vjp_for(position)
            args = [position if name == "position" else _array(node.saved[name])
                    for name in names]
            raw = xp.asarray(vjp(grad, *args))
            value = sum_to_shape(raw, parent.shape)
            contributions[parent].append(Contribution(node, position, raw.shape, value))
            grads[parent] = grads[parent] + value if parent in grads else value
    return grads, contributions


def _array(value):
    return value.data if isinstance(value, Tensor) else value
