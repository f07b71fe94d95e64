"""Recognising the network of d2l 4.7 in a graph, so it can be read in the textbook's names.

The network is ``Linear -> activation -> Linear`` (an ``nn.Sequential`` or ``models.mlp`` with
one hidden layer), a softmax cross-entropy loss L, and optionally an L2 penalty s added to it:

    z = x W1^T + b1    h = phi(z)    o = h W2^T + b2    L = l(o, y)    s = lam/2 (...)   J = L + s

In the graph, ``x @ W.T + b`` is three nodes (transpose, matmul, add) and a composite activation
such as sigmoid is several; those nodes are folded into the textbook variable they compute.
"""
from dataclasses import dataclass, field

LOSS_OP = "softmax_cross_entropy"


@dataclass
class Linear:
    out: object          # the node of x W^T + b (or of x W^T when there is no bias)
    matmul: object
    transpose: object
    weight: object       # leaf nodes
    bias: object
    input: object        # the node feeding the layer, or None for a constant (the batch)


@dataclass
class Textbook:
    J: object
    s: object
    L: object
    output: Linear       # o = h W2^T + b2
    hidden: Linear       # z = x W1^T + b1
    h: object
    activation: str
    activation_nodes: list = field(default_factory=list)  # h and any nodes between z and h
    penalty_nodes: list = field(default_factory=list)     # the op nodes computing s
    penalised: list = field(default_factory=list)         # the leaves s depends on

    @property
    def o(self):
        return self.output.out

    @property
    def z(self):
        return self.hidden.out

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
        if node is self.hidden.matmul and position == 0:
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
    root = view.root
    if root.op is None:
        return None
    J = s = None
    if root.op.name == LOSS_OP:
        L = root
    elif root.op.name == "add" and None not in root.parents:
        first, second = root.parents
        if _is(first, LOSS_OP) and not _is(second, LOSS_OP):
            L, s = first, second
        elif _is(second, LOSS_OP) and not _is(first, LOSS_OP):
            L, s = second, first
        else:
            return None
        J = root
    else:
        return None
    if L.parents[0] is None or L.parents[1] is not None:
        return None
    output = _linear(L.parents[0])
    if output is None or output.input is None:
        return None
    h = output.input
    hidden, activation_nodes = _find_hidden(h)
    if hidden is None:
        return None
    book = Textbook(J, s, L, output, hidden, h, _activation_kind(activation_nodes),
                    activation_nodes)
    main = {L, h, *activation_nodes, *_layer_nodes(output), *_layer_nodes(hidden)}
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


def _is(node, op_name):
    return node is not None and node.op is not None and node.op.name == op_name


def _linear(node):
    """Match ``x @ W.T (+ b)`` ending at ``node``."""
    bias = None
    matmul = node
    if _is(node, "add"):
        left, right = node.parents
        if not _is(left, "matmul") or right is None or right.op is not None:
            return None
        matmul, bias = left, right
    if not _is(matmul, "matmul"):
        return None
    source, transposed = matmul.parents
    if not _is(transposed, "transpose") or (transposed.kwargs or {}).get("axes") is not None:
        return None
    weight = transposed.parents[0]
    if weight is None or weight.op is not None or len(weight.shape) != 2:
        return None
    if bias is not None and bias.shape != (weight.shape[0],):
        return None
    return Linear(node, matmul, transposed, weight, bias, source)


def _layer_nodes(layer):
    return {n for n in (layer.out, layer.matmul, layer.transpose, layer.weight, layer.bias)
            if n is not None}


def _find_hidden(h):
    """The first layer (fed by a constant batch) below ``h``, and the activation's nodes."""
    candidates = [n for n in upstream_nodes(h) if n is not h and n.op is not None]
    for z in sorted(candidates, key=lambda n: -n.seq):
        layer = _linear(z)
        if layer is None or layer.input is not None:
            continue
        below = upstream_nodes(z)
        activation = [n for n in upstream_nodes(h) if n not in below]
        inputs = {p for n in activation for p in n.parents if p is not None}
        if inputs <= set(activation) | {z} and all(n.op is not None for n in activation):
            return layer, sorted(activation, key=_seq)
        return None, []
    return None, []


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


def _activation_kind(nodes):
    ops = {n.op.name for n in nodes}
    if ops == {"relu"}:
        return "relu"
    if ops == {"tanh"}:
        return "tanh"
    if "exp" in ops:
        return "sigmoid"
    if "where" in ops:
        return "leaky_relu"
    return "phi"


def _seq(node):
    return node.seq


def objective(model, x, y, lam=0.0):
    """The textbook's J for ``model`` on a batch: L = cross_entropy(model(x), y), plus
    s = lam/2 (sum of ||W||^2 over the weight matrices) when lam > 0, as in d2l 4.7."""
    from ..nn import functional
    loss = functional.cross_entropy(model(x), y)
    if lam > 0:
        weights = [p for _, p in model.named_parameters() if p.ndim >= 2]
        loss = loss + functional.l2_penalty(weights, lam)
    return loss
