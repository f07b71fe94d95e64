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
several) are folded into h. The loss is the op that declares itself one (``op.declare(loss=True)``),
and s is what J adds to it. Nothing here knows an op by its name: an activation is whatever
single primitive its module ran (its derivative is that primitive's declared formula), and an
addition is an op whose declared VJPs pass the gradient through to both inputs.
"""
from dataclasses import dataclass, field

from ..nn.layers import Linear as LinearModule
from ..nn.module import ModuleScope

PASS_THROUGH = "{grad}"  # the declared formula of a VJP that hands the gradient on unchanged


@dataclass
class Linear:
    out: object          # the node of x W^T + b (or of x W^T when there is no bias)
    product: object       # the product x W^T
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
    activation: object   # the primitive that made h, or None when its module ran several ops
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
        return self.hidden.product, self.hidden.input_position

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
                names[layer.product] = "h W2^T" if bias == "b2" else "x W1^T"
        for node in self.penalty_nodes:  # oldest first, so parents are named before children
            if node is not self.s:
                name = _penalty_name(node, names)
                if name is not None:
                    names[node] = name
        return names

    @property
    def scores(self):
        """Which input of the loss node holds the scores o."""
        return loss_scores(self.L)

    @property
    def activation_name(self):
        """The activation's op name, or phi when its module ran several ops."""
        return "phi" if self.activation is None else self.activation.name

    def constant_name(self, node, position):
        if (node, position) == self.x_key:
            return "x"
        return None


def _penalty_name(node, names):
    """The L2 term's inner nodes named by their op and their inputs: sum(mul(W1, W1))."""
    parents = [names.get(p) for p in node.parents]
    if None in parents:
        return None
    return f"{node.op.name}({', '.join(parents)})"


def recognize(view):
    """A Textbook describing ``view``'s graph, or None if it is some other network."""
    found = _loss_and_penalty(view.root)
    if found is None:
        return None
    J, L, s = found
    scores = loss_scores(L)
    if scores is None or L.parents[scores] is None or any(
            p is not None for i, p in enumerate(L.parents) if i != scores):
        return None
    modules = _nodes_by_module(view)
    output = _linear(L.parents[scores], modules)
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
    activation = h.op if activation_nodes == [h] and len(h.parents) == 1 else None
    book = Textbook(J, s, L, output, hidden, h, activation, activation_nodes)
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
    if not _adds_two(root):
        return None
    first, second = root.parents
    if _is_loss(first) and not _is_loss(second):
        return root, first, second
    if _is_loss(second) and not _is_loss(first):
        return root, second, first
    return None


def _is_loss(node):
    return node.op is not None and node.op.is_loss


def _adds_two(node):
    """Whether ``node`` is a sum of two op nodes: both its VJPs pass the gradient through."""
    return (node.op is not None and len(node.parents) == 2 and None not in node.parents
            and all(node.op.formula_for(i) == PASS_THROUGH for i in range(2)))


def loss_scores(node):
    """The position of a loss node's scores: its one input that is not declared a label."""
    op = node.op
    if op is None or op.variadic:
        return None
    scores = [i for i, name in enumerate(op.inputs) if name not in op.labels]
    return scores[0] if len(scores) == 1 else None


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
    product = None if transpose is None else _single(_consumers(transpose, nodes))
    if product is None or transpose.parents != (weight,) or len(product.parents) != 2:
        return None
    expected = [transpose, product] if bias is None else [transpose, product, out]
    if nodes != expected or (bias is not None and set(out.parents) != {product, bias}):
        return None
    position = 1 - product.parents.index(transpose)
    source = product.parents[position]
    if source is not None and source.op is None:  # a leaf, such as a batch requiring grad
        return None
    return Linear(out, product, transpose, weight, bias, source, position)


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
    return {n for n in (layer.out, layer.product, layer.transpose, layer.weight, layer.bias)
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


def _seq(node):
    return node.seq
