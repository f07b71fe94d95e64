"""The chain-rule formula of each primitive's VJP, written for people.

One template per input of each primitive, in the names of its inputs: ``{G}`` is the upstream
gradient dJ/d(output), ``{out}`` the op's output, ``{a}``, ``{x}``, ... its inputs. A trailing
``^T`` transposes, in the formula and in the shapes printed beside it. Primitives without a
template are shown as ``vjp_<op>``; ``test_explain`` checks every registered primitive has one.
"""
import re

from .graph import format_shape

TEMPLATES = {
    "add": {"a": "{G}", "b": "{G}"},
    "sub": {"a": "{G}", "b": "-{G}"},
    "mul": {"a": "{G} * {b}", "b": "{G} * {a}"},
    "div": {"a": "{G} / {b}", "b": "-{G} * {a} / {b}^2"},
    "neg": {"x": "-{G}"},
    "pow": {"a": "{G} * {b} * {a}^({b} - 1)", "b": "{G} * {out} * log({a})"},
    "exp": {"x": "{G} * {out}"},
    "log": {"x": "{G} / {x}"},
    "sqrt": {"x": "{G} / (2 {out})"},
    "abs": {"x": "{G} * sign({x})"},
    "tanh": {"x": "{G} * (1 - {out}^2)"},
    "relu": {"x": "{G} * 1[{out} > 0]"},
    "maximum": {"a": "{G} * 1[{a} >= {b}] (ties share 1/2)",
                "b": "{G} * 1[{b} >= {a}] (ties share 1/2)"},
    "minimum": {"a": "{G} * 1[{a} <= {b}] (ties share 1/2)",
                "b": "{G} * 1[{b} <= {a}] (ties share 1/2)"},
    "where": {"a": "where({condition}, {G}, 0)", "b": "where({condition}, 0, {G})"},
    "clip": {"x": "{G} * 1[low <= {x} <= high]"},
    "astype": {"x": "{G} cast back to {x}'s dtype"},
    "sum": {"x": "{G} copied to every summed entry of {x}"},
    "mean": {"x": "{G} / n copied to every averaged entry of {x}"},
    "max": {"x": "{G} at the maxima of {x}, 0 elsewhere"},
    "min": {"x": "{G} at the minima of {x}, 0 elsewhere"},
    "reshape": {"x": "{G} reshaped to {x}'s shape"},
    "transpose": {"x": "{G}^T"},
    "broadcast_to": {"x": "{G}"},
    "getitem": {"x": "{G} scattered into zeros shaped like {x}"},
    "scatter_add": {"values": "{G} read at the index"},
    "concatenate": {"tensors": "this input's slice of {G}"},
    "stack": {"tensors": "this input's slice of {G}"},
    "matmul": {"a": "{G} . {b}^T", "b": "{a}^T . {G}"},
    "softmax_cross_entropy": {"logits": "{G} * (softmax({logits}) - onehot({labels})) / N"},
}

_PLACEHOLDER = re.compile(r"\{(\w+)\}(\^T)?")


def contribution(view, consumer, position):
    """``(formula, shapes)`` of what ``consumer``'s VJP sends to its input ``position``."""
    op = consumer.op
    input_name = op.inputs[0] if op.variadic else op.inputs[position]
    template = TEMPLATES.get(op.name, {}).get(input_name)
    if template is None:
        template = f"vjp_{op.name}[{input_name}]({{G}})"
    if op.name == "softmax_cross_entropy":
        template = _cross_entropy_template(consumer)
    names = {"G": f"d{objective(view)}/d{view.name(consumer)}", "out": view.name(consumer),
             "N": "N"}
    shapes = {"G": consumer.shape, "out": consumer.shape}
    for index, name in enumerate(op.inputs if not op.variadic else ()):
        names[name] = view.input_name(consumer, index)
        parent = consumer.parents[index]
        shapes[name] = parent.shape if parent is not None else \
            view.inputs[(consumer, index)].shape
    if op.name == "softmax_cross_entropy" and consumer.parents[0] is not None:
        shapes["N"] = consumer.parents[0].shape[0]
    return _fill(template, names, _name_text), _fill(template, shapes, _shape_text)


def objective(view):
    return view.name(view.root)


def _cross_entropy_template(node):
    reduction = (node.kwargs or {}).get("reduction", "mean")
    core = "(softmax({logits}) - onehot({labels}))"
    if reduction == "sum":
        return "{G} * " + core
    if reduction == "none":
        return "{G}[:, None] * " + core
    return "{G} * " + core + " / {N}"


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
