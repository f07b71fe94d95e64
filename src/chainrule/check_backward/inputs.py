"""The inputs as a tree of arrays: which leaves get gradients, what they are called, and
rebuilding the tree around moved values."""
import inspect

from ..backend import ndarray, xp
from ..tensor import Tensor


def _is_leaf(value):
    return isinstance(value, ndarray) and value.dtype.kind == "f"


def _as_float64(tree):
    if isinstance(tree, Tensor):
        tree = tree._data
    if _is_leaf(tree):
        return tree.astype(xp.float64)  # a copy, so the caller's arrays are never touched
    if isinstance(tree, dict):
        return {key: _as_float64(value) for key, value in tree.items()}
    if isinstance(tree, (list, tuple)):
        return type(tree)(_as_float64(value) for value in tree)
    return tree


def _leaves(tree, path=()):
    """(paths, arrays) of the floating-point arrays in tree, depth first."""
    if _is_leaf(tree):
        return [path], [tree]
    items = ()
    if isinstance(tree, dict):
        items = tree.items()
    elif isinstance(tree, (list, tuple)):
        items = enumerate(tree)
    paths, arrays = [], []
    for key, value in items:
        more_paths, more_arrays = _leaves(value, path + (key,))
        paths += more_paths
        arrays += more_arrays
    return paths, arrays


def _rebuild(tree, replacements):
    """tree with its floating-point arrays replaced, in order, by ``replacements``."""
    remaining = iter(replacements)

    def rebuild(node):
        if _is_leaf(node):
            return next(remaining)
        if isinstance(node, dict):
            return {key: rebuild(value) for key, value in node.items()}
        if isinstance(node, (list, tuple)):
            return type(node)(rebuild(value) for value in node)
        return node

    return rebuild(tree)


def _flatten(grads):
    if isinstance(grads, dict):
        grads = list(grads.values())
    if isinstance(grads, (list, tuple)):
        return [leaf for g in grads for leaf in _flatten(g)]
    return [grads]


def _gradient_names(forward, paths, names):
    if names is not None:
        names = list(names)
        if len(names) != len(paths):
            raise ValueError(f"check_backward: {len(names)} names for {len(paths)} gradients")
        return names
    try:
        parameters = list(inspect.signature(forward).parameters.values())
    except (TypeError, ValueError):
        parameters = []
    positional = [p.name for p in parameters
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    result = []
    for position, *rest in paths:
        base = positional[position] if position < len(positional) else f"input{position}"
        result.append("d" + base + "".join(f"[{key!r}]" for key in rest))
    return result


def _title(forward, backward):
    name = getattr(forward, "__name__", type(forward).__name__)
    if backward is None:
        return f"{name} (loss and gradients in one call)"
    return f"{name} / {getattr(backward, '__name__', type(backward).__name__)}"
