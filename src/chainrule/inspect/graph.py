"""The computational graph as a learner sees it: every variable a box, every operator a circle,
edges in the forward direction (input -> op -> output), written as Graphviz DOT.

``GraphView`` walks the nodes reachable from a tensor without changing them and gives each a
name: the parameter's name when ``params`` knows it, the textbook's names (x, z, h, o, L, s, J,
W1, W2, b1, b2) when the graph is the one-hidden-layer network of d2l 4.7, and ``v3`` otherwise.
``explain``, the memory ledger and the HTML page all use the same view, so a name means the same
thing everywhere.
"""
import sys
from pathlib import Path

from ..display import DotSource, RenderedPath, run_dot
from ..errors import GradientError
from ..serialize.atomic import atomic_write
from ..tensor import Tensor
from .layout import box_id, constant_id, edges, fallback_drawing, op_id
from .textbook import recognize, upstream_nodes
from .timescope import has_time_steps, step_label, time_step_of


class Constant:
    """An input that needs no gradient (the batch, the labels, a scalar): the engine records no
    node for it, so it is known only from the op that used it."""

    def __init__(self, number, name, shape, dtype, value):
        self.number = number
        self.name = name
        self.shape = shape
        self.dtype = dtype
        self.value = value


class GraphView:
    """The nodes reachable from ``tensor``, their consumers and their names. Read-only."""

    def __init__(self, tensor, params=None):
        if not isinstance(tensor, Tensor):
            raise TypeError(f"expected a Tensor, got {type(tensor).__name__}")
        if tensor.node is None:
            raise GradientError(
                "this tensor has no graph: it needs no gradient (nothing it was computed from has "
                "requires_grad=True, or it was computed under no_grad())")
        self.tensor = tensor
        self.root = tensor.node
        self.nodes = _reachable(self.root)
        self.consumers = {node: [] for node in self.nodes}
        for node in self.nodes:
            for position, parent in enumerate(node.parents):
                if parent is not None:
                    self.consumers[parent].append((node, position))
        self.param_names = _param_names(self.nodes, params)
        self.textbook = recognize(self)
        self.names = self._name_nodes()
        self._batch_named = self.textbook is not None  # the textbook names its batch x itself
        self.constants, self.inputs = self._find_constants()
        self._values = None

    def engine_order(self):
        """The nodes in the order backward() visits them: newest first."""
        return sorted(self.nodes, key=lambda node: -node.seq)

    def name(self, node):
        return self.names[node]

    def module_label(self, scope):
        """'1 (ReLU)' for the scope of a module's nodes (which knows its module's class), else
        the scope itself; '-' for none."""
        if scope is None:
            return "-"
        module_type = getattr(scope, "module_type", None)
        return f"{scope} ({module_type.__name__})" if module_type is not None else str(scope)

    def input_name(self, node, position):
        """The name of an op's input: its node's name, or the constant's."""
        parent = node.parents[position]
        if parent is not None:
            return self.names[parent]
        return self.inputs[(node, position)].name

    def value(self, node):
        """The node's output array if the graph still holds it, else None (freed after the
        forward pass because no VJP needed it)."""
        if node is self.root:
            return self.tensor._data
        if node.op is None:
            tensor = node.tensor_ref()
            return None if tensor is None else tensor._data
        if self._values is None:
            self._values = {}
            for other in self.nodes:
                for key, value in (other.saved or {}).items():
                    if key == "out":
                        self._values[other] = value
                    elif key in other.op.inputs and not other.op.variadic:
                        parent = other.parents[other.op.inputs.index(key)]
                        if parent is not None:  # an input its consumer saved (h, by h W2^T)
                            self._values[parent] = value
        return self._values.get(node)

    def grad_tensor(self, node):
        """The ``.grad`` a user-visible tensor holds for this node, if any."""
        if node.op is None:
            tensor = node.tensor_ref()
        else:
            ref = node.extra("retain")
            tensor = None if ref is None else ref()
            if tensor is None and node is self.root:
                tensor = self.tensor
        return None if tensor is None else tensor.grad

    def _name_nodes(self):
        names = {}
        if self.textbook is not None:
            names.update(self.textbook.names())
        if self.root not in names:
            names[self.root] = "J"
        counter = 0
        leaves = 0
        for node in self.nodes:
            if node.op is None:
                leaves += 1
                if node not in names:
                    names[node] = self.param_names.get(node) or f"t{leaves}"
            else:
                counter += 1
                names.setdefault(node, f"v{counter}")
        return names

    def _find_constants(self):
        constants, inputs = {}, {}
        for node in self.nodes:
            for position, parent in enumerate(node.parents):
                if parent is not None:
                    continue
                value = _saved_input(node, position)
                key = id(value) if value is not None else (node.seq, position)
                if key not in constants:
                    name = self._constant_name(node, position, value, len(constants) + 1)
                    constants[key] = Constant(len(constants) + 1, name,
                                              *_shape_dtype(node, position, value), value)
                inputs[(node, position)] = constants[key]
        return list(constants.values()), inputs

    def _constant_name(self, node, position, value, number):
        if self.textbook is not None:
            special = self.textbook.constant_name(node, position)
            if special is not None:
                return special
        if node.op.input_name(position) in node.op.labels:
            return "y"
        if not self._batch_named and len(_shape_dtype(node, position, value)[0] or ()) >= 2:
            self._batch_named = True  # the first matrix the forward pass reads is the batch
            return "x"
        if value is not None and not hasattr(value, "shape"):
            return repr(value)
        if value is not None and getattr(value, "shape", None) == ():
            return repr(value.item() if hasattr(value, "item") else value)
        return f"c{number}"


def _reachable(root):
    return sorted(upstream_nodes(root), key=lambda node: node.seq)


def named_parameters(params):
    """``params`` as (name, tensor) pairs: a dict, a Module, or pairs already."""
    if params is None:
        return []
    if hasattr(params, "named_parameters"):
        return list(params.named_parameters())
    pairs = list(params.items()) if isinstance(params, dict) else list(params)
    for pair in pairs:
        if not (isinstance(pair, tuple) and len(pair) == 2 and isinstance(pair[1], Tensor)):
            raise TypeError("params must be a Module, a dict name -> tensor or (name, tensor) "
                            f"pairs; got an entry {type(pair).__name__}")
    return pairs


def _param_names(nodes, params):
    by_id = {id(tensor): name for name, tensor in named_parameters(params)}
    names = {}
    for node in nodes:
        if node.op is None:
            tensor = node.tensor_ref()
            if tensor is not None and id(tensor) in by_id:
                names[node] = by_id[id(tensor)]
    return names


def _saved_input(node, position):
    """The value an op received at ``position``, when its node saved it (before backward)."""
    if not node.saved or node.op.variadic:
        return None
    return node.saved.get(node.op.inputs[position])


def _shape_dtype(node, position, value):
    if value is not None and hasattr(value, "shape"):
        return tuple(value.shape), value.dtype
    if value is not None:
        return (), type(value).__name__
    if node.saved and not node.op.variadic:
        shape = node.saved.get(f"{node.op.inputs[position]}_shape")
        if shape is not None:
            return tuple(shape), None
    return None, None


# -- formatting shared by explain, memory and html ------------------------------------------------

def format_shape(shape):
    """(256, 10) -> '(256x10)'; () -> 'scalar'; unknown -> '(?)'."""
    if shape is None:
        return "(?)"
    if len(shape) == 0:
        return "scalar"
    return "(" + "x".join(str(n) for n in shape) + ")"


def grad_norm(array):
    import numpy
    return float(numpy.linalg.norm(numpy.asarray(array, dtype=numpy.float64).ravel()))


# -- DOT ------------------------------------------------------------------------------------------

def to_dot(tensor, params=None, show_grad=True, group_by=None):
    """The graph that produced ``tensor`` as Graphviz DOT text.

    Variables are boxes (name, shape, dtype and, with ``show_grad`` after backward, the
    gradient's shape and L2 norm where a tensor holds one), operators are circles, and inputs
    that need no gradient are dashed notes. ``group_by="module"`` puts each module's nodes
    (``node.scope``) in a cluster; ``"time_step"`` puts each time step's nodes of an unrolled
    recurrence in one (the steps the recurrent layers declare), which is what None does when the
    graph declares time steps; ``"none"`` draws no clusters. Works after backward too: only the
    saved arrays are freed.
    The text is a ``DotSource``, a str that a notebook shows as the drawing.
    """
    view = tensor if isinstance(tensor, GraphView) else GraphView(tensor, params)
    if group_by not in (None, "module", "time_step", "none"):
        raise ValueError(f"group_by must be None, 'module', 'time_step' or 'none', got "
                         f"{group_by!r}")
    if group_by is None and has_time_steps(view):
        group_by = "time_step"
    lines = ["digraph chainrule {", "  rankdir=LR;",
             '  node [fontname="Helvetica", fontsize=10];', '  edge [color="#555555"];']
    groups = {}
    for node in view.nodes:
        scope = (node.scope if group_by == "module" else
                 time_step_of(node) if group_by == "time_step" else None)
        groups.setdefault(scope, []).extend(_node_statements(view, node, show_grad))
    for number, (scope, statements) in enumerate(groups.items()):
        if scope is None:
            lines.extend("  " + s for s in statements)
            continue
        lines.append(f"  subgraph cluster_{number} {{")
        label = _escape(f"time step {step_label(scope)}" if group_by == "time_step" else
                        "module " + view.module_label(scope))
        lines.append(f'    label="{label}"; style=rounded; color="#8888cc";')
        lines.extend("    " + s for s in statements)
        lines.append("  }")
    for constant in view.constants:
        shape = "" if constant.shape is None else "\n" + format_shape(constant.shape)
        label = f"{constant.name}{shape}\nno grad"
        lines.append(f'  {constant_id(constant)} [id="{constant_id(constant)}", shape=note, '
                     f'style=dashed, label="{_escape(label)}"];')
    for source, target, dashed in edges(view):
        lines.append(f"  {source} -> {target}{' [style=dashed]' if dashed else ''};")
    lines.append("}")
    return DotSource("\n".join(lines) + "\n", fallback_drawing(view))


def box_label(view, node, show_grad=True):
    name = view.name(node)
    title = name
    module_name = view.param_names.get(node)
    if module_name and module_name != name:
        title = f"{name} ({module_name})"
    lines = [title, f"{format_shape(node.shape)} {node.dtype}"]
    grad = view.grad_tensor(node) if show_grad else None
    if grad is not None:
        lines.append(f"grad {format_shape(grad.shape)} |g|={grad_norm(grad._data):.4g}")
    return "\n".join(lines)


def _node_statements(view, node, show_grad):
    box = (f'{box_id(node)} [id="{box_id(node)}", shape=box, style="rounded,filled", '
           f'fillcolor="{_fill(view, node)}", label="{_escape(box_label(view, node, show_grad))}"];')
    if node.op is None:
        return [box]
    circle = (f'{op_id(node)} [id="{op_id(node)}", shape=circle, style=filled, '
              f'fillcolor="#fff2cc", label="{_escape(_op_label(node.op.name))}"];')
    return [circle, box]


def _op_label(name):
    # A long op name would blow the circle up; break it at underscores.
    return name.replace("_", "_\n") if len(name) > 9 else name


def _fill(view, node):
    if node.op is None:
        return "#d9ead3"  # a parameter (leaf that requires grad)
    if node is view.root:
        return "#f4cccc"
    return "#ffffff"


def _escape(text):
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


# -- rendering ------------------------------------------------------------------------------------

def render(tensor, path, params=None, **options):
    """Write the graph to ``path``: SVG or PNG by its suffix (with Graphviz's ``dot``), or DOT
    for ``.dot``. Without ``dot`` installed, writes ``path`` with the suffix ``.dot`` instead and
    prints the command that renders it. Returns the path written, as a ``RenderedPath`` (a Path
    that a notebook shows as the drawing)."""
    path = Path(path)
    kind = path.suffix.lower().lstrip(".")
    if kind not in ("svg", "png", "dot"):
        raise ValueError(f"render: the path must end in .svg, .png or .dot, got {path.name!r}")
    text = to_dot(tensor, params=params, **options)
    if kind == "dot":
        atomic_write(path, [text.encode()], what="graph")
        return RenderedPath(path)
    svg = run_dot(text, kind)
    if svg is None:
        dot_path = path.with_suffix(".dot")
        atomic_write(dot_path, [text.encode()], what="graph")
        print(f"Graphviz's dot is not installed; wrote {dot_path}. Render it with:\n"
              f"  dot -T{kind} {dot_path} -o {path}", file=sys.stderr)
        return RenderedPath(dot_path)
    atomic_write(path, [svg], what="drawing")
    return RenderedPath(path)


# -- in a notebook --------------------------------------------------------------------------------

class GraphDrawing:
    """The computational graph of a tensor, to look at: a notebook cell shows it as SVG.

    ``.dot`` is its Graphviz DOT text and ``.svg`` the drawing: ``dot``'s when Graphviz is
    installed, else a simple layered drawing. It holds text only, not the graph's arrays.

    >>> x = cr.tensor([1., 2.], requires_grad=True)
    >>> drawing = draw((x * x).sum())
    >>> drawing.nodes, drawing.dot.startswith("digraph")
    (3, True)
    """

    def __init__(self, dot, name, nodes):
        self.dot = dot
        self.name = name
        self.nodes = nodes
        self._svg = None

    @property
    def svg(self):
        if self._svg is None:
            self._svg = self.dot._repr_svg_()
        return self._svg

    def _repr_svg_(self):
        return self.svg

    def __repr__(self):
        return f"<graph of {self.name}: {self.nodes} nodes; .dot is its DOT text, .svg its drawing>"


def draw(tensor, params=None, show_grad=True, group_by=None):
    """The graph that produced ``tensor`` as a ``GraphDrawing``, which Jupyter shows as SVG;
    the options are ``to_dot``'s.

    >>> x = cr.tensor([1., 2.], requires_grad=True)
    >>> draw((x * 2).sum())
    <graph of J: 3 nodes; .dot is its DOT text, .svg its drawing>
    """
    view = tensor if isinstance(tensor, GraphView) else GraphView(tensor, params)
    return GraphDrawing(to_dot(view, show_grad=show_grad, group_by=group_by),
                        view.name(view.root), len(view.nodes))
