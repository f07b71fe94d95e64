"""Which time step of an unrolled recurrence made a node, read from the scope the recurrent
layers declare (``nn.recurrent.TimeStep``): the graph, explain and timesteps.py share it."""
from ..nn.recurrent import TimeStep


def time_step_of(node):
    """The TimeStep scope a node was made in (looking through modules called inside the
    step), or None. A leaf belongs to no step: a weight shared by all steps is made into a leaf
    node wherever it is first used."""
    if node.op is None:
        return None
    scope = node.scope
    while scope is not None:
        if isinstance(scope, TimeStep):
            return scope
        scope = getattr(scope, "outer", None)
    return None


def has_time_steps(view):
    return any(time_step_of(node) is not None for node in view.nodes)


def step_label(scope):
    """'t3', 'l1.t3', 'l0_reverse.t3': the step, and its layer and direction when not the
    first; None (outside every step) reads 'outside'."""
    if scope is None:
        return "outside"
    return str(scope)[len(str(scope.outer)) + 1:] if scope.outer is not None else str(scope)


def at_step(node, prefix=", at "):
    """', at t3' for a node made in a time step of an unrolled recurrence, else ''."""
    scope = time_step_of(node)
    return "" if scope is None else f"{prefix}{step_label(scope)}"


def order(scope):
    return (-1, 0, 0) if scope is None else (scope.layer, scope.direction, scope.time_step)


def outside_steps(scope):
    """``scope`` without its time steps: a weight shared by the steps belongs to the layer, not
    to the step in which its leaf node happened to be made."""
    while isinstance(scope, TimeStep):
        scope = scope.outer
    return scope
