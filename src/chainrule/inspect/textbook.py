"""Recognising the network of d2l 4.7 in a graph, so it can be read in the textbook's names.

The network is ``Linear -> activation -> Linear`` (``models.mlp`` with one hidden layer, or any
model whose forward calls those three modules in turn), a softmax cross-entropy loss L, and
optionally an L2 penalty s added to it:

    z = x W1^T + b1    h = phi(z)    o = h W2^T + b2    L = l(o, y)    s = lam/2 (...)   J = L + s

The layers are read from what the model declares, not from op patterns: every node a module's
forward records carries the module's scope (``node.scope``, a ModuleScope with its path and
class), so "the nodes of module 0, a Linear" are those with that scope. Inside a Linear, the
node that uses the weight is W^T, the node that uses W^T is the product x W^T, and the layer's
newest node is its output; an activation module's nodes (a composite such as sigmoid makes
several) are folded into h. The loss is its primitive, and s is what J adds to it.
"""
from dataclasses import dataclass, field

from ..nn.layers import LeakyReLU, Linear as LinearModule, ReLU, Sigmoid, Tanh
from ..nn.module import ModuleScope

LOSS_OP = "softmax_cross_entropy"

# The activation modules whose derivative explain writes out; any other module is phi.
ACTIVATIONS = ((ReLU, "relu"), (Tanh, "tanh"), (Sigmoid, "sigmoid"), (LeakyReLU, "leaky_relu"))


@dataclass
class Linear:
    out: object          # the node of x W^T + b (or of x W^T when there is no bias)
    matmul: object       # the product x W^T
    transpose: object    # W^T, the weight as the product uses it
    weight: object       # leaf nodes
    bias: object
    input: object        # the node feeding the layer, or None for a constant (the batch)
    input_position: int  # which input of the product the layer's input is


@dataclass
class Textbook:
    J: object
    s: object
    L: object
    output: Linear       # o = h W2^T + b2
    hidden: Linear       # z = x W1^T + b1
    h: object
    activation: str
    activation_nodes: list = field(default_factory=list)  # the activation module's nodes
    penalty_nodes: list = field(default_factory=list)     # the op nodes computing s
    penalised: list = field(default_factory=list)         # the leaves s depends on

    @property
    def o(self):
        return self.output.out

    @property
    def z(self):
        return self.hidden.out

    @property
    def x_key(self):
        """Where the batch x enters the graph: (the product x W1^T, its input position), a key
        of ``GraphView.inputs``."""
        return self.hidden.matmul, self.hidden.input_position

    def names(self):
        names = {self.L: "L", self.o: "o", self.h: "h", self.z: "z",
                 self.output.weight: "W2", self.hidden.weight: "W1",
                 self.output.transpose: "W2^T", self.hidden.transpose: "W1^T"}
        if self.J is not None:
            names[self.J] = "J"
            names[self.s] = "s"
        for layer, bias in ((self.output, "b2"), (self.hidden, "b1")):
            if layer.bias is not None:
                names[layer.bias] = bias
                names[layer.matmul] = "h W2^T" if bias == "b2" else "x W1^T"
        for node in self.penalty_nodes:  # oldest first, so parents are named before children
            if node is not self.s:
                name = _penalty_name(node, names)
                if name is not None:
                    names[node] = name
        return names

    def constant_name(self, node, position):
        if (node, position) == self.x_key:
            return "x"
        if node is self.L and position == 1:
            return "y"
        return None


def _penalty_name(node, names):
    """W1*W1, ||W1||^2 and their sums, for the nodes of the L2 term as l2_penalty builds it."""
    parents = [names.get(p) for p in node.parents]
    if None in parents:
        return None
    if node.op.name == "mul" and parents[0] == parents[1]:
        return f"{parents[0]}*{parents[0]}"
    if node.op.name == "sum" and parents[0].count("*") == 1:
        return f"||{parents[0].split('*')[0]}||^2"
    if node.op.name == "add":
        return " + ".join(parents)
    return None


def recognize(view):
    """A Textbook describing ``view``'s graph, or None if it is some other network."""
    found = _loss_and_penalty(view.root)
    if found is None:
        return None
    J, L, s = found
    if L.parents[0] is None or L.parents[1] is not None:
        return None
    modules = _nodes_by_module(view)
    output = _linear(L.parents[0], modules)
    if output is None or output.input is None:
        return None
    h = output.input
    activation_nodes = _module_output(h, modules)
    if activation_nodes is None or _leaves(activation_nodes) or \
            issubclass(h.scope.module_type, LinearModule):
        return None
    z = _single(_outside_inputs(activation_nodes))
    hidden = None if z is None else _linear(z, modules)
    if hidden is None or hidden.input is not None:
        return None
    book = Textbook(J, s, L, output, hidden, h, _activation_kind(h.scope), activation_nodes)
    main = {L, *activation_nodes, *_layer_nodes(output), *_layer_nodes(hidden)}
    if s is not None:
        penalty = upstream_nodes(s)
        book.penalty_nodes = sorted((n for n in penalty if n.op is not None), key=_seq)
        book.penalised = sorted((n for n in penalty if n.op is None), key=_seq)
        weights = {output.weight, hidden.weight, output.bias, hidden.bias} - {None}
        if not book.penalised or not set(book.penalised) <= weights:
            return None
        main |= set(book.penalty_nodes) | {J}
    if main != set(view.nodes):
        return None
    return book


def _loss_and_penalty(root):
    """``(J, L, s)`` when the root is the loss L or J = L + s; J and s are None without s."""
    if _is_loss(root):
        return None, root, None
    if root.op is None or root.op.name != "add" or None in root.parents:
        return None
    first, second = root.parents
    if _is_loss(first) and not _is_loss(second):
        return root, first, second
    if _is_loss(second) and not _is_loss(first):
        return root, second, first
    return None


def _is_loss(node):
    return node.op is not None and node.op.name == LOSS_OP


def _nodes_by_module(view):
    """The op nodes each module call recorded, oldest first, by scope object: two modules with
    the same path (in two models) are not mixed up."""
    modules = {}
    for node in view.nodes:  # creation order
        if node.op is not None and isinstance(node.scope, ModuleScope):
            modules.setdefault(id(node.scope), []).append(node)
    return modules


def _module_output(node, modules):
    """The nodes of the module that made ``node``, if ``node`` is that module's output (its
    newest node); else None."""
    if node.op is None or not isinstance(node.scope, ModuleScope):
        return None
    nodes = modules[id(node.scope)]
    return nodes if nodes[-1] is node else None


def _linear(out, modules):
    """The roles of the nodes of the Linear module whose output is ``out``: the node using the
    weight is W^T, the node using W^T the product x W^T, and the bias is added last."""
    nodes = _module_output(out, modules)
    if nodes is None or not issubclass(out.scope.module_type, LinearModule):
        return None
    leaves = _leaves(nodes)
    weights = [leaf for leaf in leaves if len(leaf.shape) == 2]
    biases = [leaf for leaf in leaves if len(leaf.shape) == 1]
    if len(weights) != 1 or len(biases) > 1 or len(leaves) != len(weights) + len(biases):
        return None
    weight, bias = weights[0], (biases[0] if biases else None)
    transpose = _single(_consumers(weight, nodes))
    matmul = None if transpose is None else _single(_consumers(transpose, nodes))
    if matmul is None or transpose.parents != (weight,) or len(matmul.parents) != 2:
        return None
    expected = [transpose, matmul] if bias is None else [transpose, matmul, out]
    if nodes != expected or (bias is not None and set(out.parents) != {matmul, bias}):
        return None
    position = 1 - matmul.parents.index(transpose)
    source = matmul.parents[position]
    if source is not None and source.op is None:  # a leaf, such as a batch requiring grad
        return None
    return Linear(out, matmul, transpose, weight, bias, source, position)


def _leaves(nodes):
    return list(dict.fromkeys(p for n in nodes for p in n.parents
                              if p is not None and p.op is None))


def _consumers(node, nodes):
    return [n for n in nodes if node in n.parents]


def _outside_inputs(nodes):
    """The op nodes, not among ``nodes``, that ``nodes`` read."""
    inside = set(nodes)
    return list(dict.fromkeys(p for n in nodes for p in n.parents
                              if p is not None and p.op is not None and p not in inside))


def _single(items):
    return items[0] if len(items) == 1 else None


def _layer_nodes(layer):
    return {n for n in (layer.out, layer.matmul, layer.transpose, layer.weight, layer.bias)
            if n is not None}


def upstream_nodes(node):
    """``node`` and every node it was computed from (a set)."""
    seen = {node}
    stack = [node]
    while stack:
        for parent in stack.pop().parents:
            if parent is not None and parent not in seen:
                seen.add(parent)
                stack.append(parent)
    return seen


def _activation_kind(scope):
    for module_type, kind in ACTIVATIONS:
        if issubclass(scope.module_type, module_type):
            return kind
    return "phi"


def _seq(node):
    return node.seq


def objective(model, x, y, lam=0.0, loss="cross-entropy"):
    """The textbook's J for ``model`` on a batch: L = loss(model(x), y) (softmax cross-entropy,
    or "hinge", the multiclass SVM loss), plus s = lam/2 (sum of ||W||^2 over the weight
    matrices) when lam > 0, as in d2l 4.7."""
    from ..nn import functional
    losses = {"cross-entropy": functional.cross_entropy,
              "hinge": functional.multiclass_hinge_loss}
    if loss not in losses:
        raise ValueError(f"objective: loss must be one of {sorted(losses)}, got {loss!r}")
    value = losses[loss](model(x), y)
    if lam > 0:
        weights = [p for _, p in model.named_parameters() if p.ndim >= 2]
        value = value + functional.l2_penalty(weights, lam)
    return value
