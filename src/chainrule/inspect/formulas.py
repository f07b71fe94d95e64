"""The chain-rule step of each VJP, written for people, from the formula each primitive declares
beside its VJP (``@mul.vjp("a", formula="{grad} * {b}")``).

In a formula ``{grad}`` is the upstream gradient dJ/d(output), ``{out}`` the op's output and
``{a}``, ``{x}``, ... its inputs; a trailing ``^T`` transposes, in the formula and in the shapes
printed beside it. A primitive declared without a formula (a user's own) is shown as
``vjp_<op>[input](...)``.
"""
import re

from .graph import format_shape

_PLACEHOLDER = re.compile(r"\{(\w+)\}(\^T)?")
_PER_EXAMPLE_MEAN = " / N"  # how a loss primitive's formula (for reduction="mean") ends


def contribution(view, consumer, position):
    """``(formula, shapes)`` of what ``consumer``'s VJP sends to its input ``position``."""
    op = consumer.op
    template = op.formula_for(position)
    if template is None:
        template = f"vjp_{op.name}[{op.input_name(position)}]({{grad}})"
    kwargs = consumer.kwargs or {}
    if "reduction" in kwargs:
        template = _for_reduction(template, kwargs["reduction"])
    names = {"grad": f"d{objective(view)}/d{view.name(consumer)}", "out": view.name(consumer),
             "N": "N"}
    shapes = {"grad": consumer.shape, "out": consumer.shape}
    for index, name in enumerate(op.inputs if not op.variadic else ()):
        names[name] = view.input_name(consumer, index)
        parent = consumer.parents[index]
        shapes[name] = parent.shape if parent is not None else \
            view.inputs[(consumer, index)].shape
    if "{N}" in template and shapes.get(op.inputs[0]):
        shapes["N"] = shapes[op.inputs[0]][0]  # the batch: the rows of the loss's first input
    return _fill(template, names, _name_text), _fill(template, shapes, _shape_text)


def objective(view):
    return view.name(view.root)


def _for_reduction(template, reduction):
    """A loss primitive declares its formula for reduction="mean", ending in "/ N"; "sum" has
    no 1/N, and with "none" each example's gradient scales its own row."""
    if not template.endswith(_PER_EXAMPLE_MEAN):
        return template
    per_example = template[:-len(_PER_EXAMPLE_MEAN)]
    if reduction == "sum":
        return per_example
    if reduction == "none":
        return per_example.replace("{grad}", "{grad}[:, None]", 1)
    return per_example + " / {N}"


def _fill(template, values, text):
    def replace(match):
        key, transposed = match.group(1), bool(match.group(2))
        if key not in values:
            return match.group(0)
        return text(values[key], transposed)
    return _PLACEHOLDER.sub(replace, template)


def _name_text(name, transposed):
    name = str(name)
    if not transposed:
        return name
    return f"({name})^T" if any(c in name for c in " /^") else f"{name}^T"


def _shape_text(shape, transposed):
    if isinstance(shape, int):
        return str(shape)
    if shape is not None and transposed and len(shape) >= 2:
        shape = (*shape[:-2], shape[-1], shape[-2])
    return format_shape(shape)
