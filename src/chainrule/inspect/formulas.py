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


def fill(template, names=None, shapes=None):
    """``template`` with its ``{placeholders}`` replaced: by ``names`` (text) or, when
    ``shapes`` is given, by those shapes ("(16x10)"; a trailing ^T transposes)."""
    if shapes is not None:
        return _fill(template, shapes, _shape_text)
    return _fill(template, names, _name_text)


def for_reduction(template, reduction):
    """A loss's declared formula (for reduction="mean") as it reads for ``reduction``."""
    return _for_reduction(template, reduction)


def factor(template):
    """What a formula multiplies the upstream gradient by: "{grad} * (1 - {out}^2)" gives
    "1 - {out}^2"; None when the formula is not of that form."""
    prefix = "{grad} * "
    if not template or not template.startswith(prefix):
        return None
    rest = template[len(prefix):]
    if rest.startswith("(") and rest.endswith(")") and _balanced(rest[1:-1]):
        rest = rest[1:-1]
    return rest


def _balanced(text):
    depth = 0
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0


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
