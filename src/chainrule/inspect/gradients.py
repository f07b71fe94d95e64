"""dJ/dv for every variable of a retained graph, and each op's contribution to it, from the
engine itself.

``explain`` and the HTML page need the gradient of every node, intermediates included, and the
separate contributions when a value feeds several ops. They run the engine's own backward pass
(``autograd.backward_pass``) over the retained graph, capturing every node's gradient and
observing each contribution, so the numbers shown are the numbers backward computes. Nothing is
freed and no ``.grad`` is written; the engine does run the tensors' hooks, as backward would.
"""
from dataclasses import dataclass

from ..autograd import backward_pass
from ..backend import xp
from ..errors import GradientError

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


def engine_gradients(view):
    """``(grads, contributions)``: dJ/dv per node, and per node the list of Contributions in
    the order the engine added them."""
    check_retained(view)
    root = view.root
    if root.shape != () and int(xp.prod(root.shape)) != 1:
        raise GradientError(f"explain needs a scalar output (a loss), got shape {root.shape}")
    contributions = {node: [] for node in view.nodes}

    def observe(consumer, position, raw, delivered):
        # A copy: the engine may later add another contribution into the array it delivered.
        contributions[consumer.parents[position]].append(Contribution(
            consumer, position, tuple(xp.shape(raw)), xp.array(delivered, copy=True)))

    kept = backward_pass([root], [xp.ones(root.shape, dtype=root.dtype)], retain_graph=True,
                         create_graph=False, capture=set(view.nodes), observe=observe)
    return {node: gradient.value for node, gradient in kept.items()}, contributions
