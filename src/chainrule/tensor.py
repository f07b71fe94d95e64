"""Tensor: an array, the node that made it, and its gradient."""
import warnings

from . import autograd
from .autograd import backward_pass, mode
from .backend import ndarray, xp
from .errors import GradientError

_new = object.__new__
_FLOATS = (xp.float16, xp.float32, xp.float64)


def _as_array(data, dtype=None):
    if isinstance(data, Tensor):
        data = data.data
    if dtype is not None:
        return xp.asarray(data, dtype=dtype)
    if isinstance(data, ndarray):
        return data
    array = xp.asarray(data)
    if array.dtype == xp.float64 and not isinstance(data, xp.generic):
        array = array.astype(xp.float32)  # Python floats become float32, as in PyTorch
    return array


class Tensor:
    """An n-dimensional array that records the operations applied to it.

    ``data`` is the NumPy array; ``node`` is the graph node that produced it (None for a leaf
    that needs no gradient); ``grad`` receives the gradient after ``backward()``.
    """

    __slots__ = ("data", "node", "requires_grad", "grad", "__weakref__")
    __array_priority__ = 1000  # ndarray + Tensor defers to Tensor.__radd__

    def __init__(self, data, dtype=None, requires_grad=False):
        self.data = _as_array(data, dtype)
        self.node = None
        self.grad = None
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    @staticmethod
    def _make(data, node):
        t = _new(Tensor)
        t.data = data
        t.node = node
        t.requires_grad = node is not None
        t.grad = None
        return t

    # -- properties -----------------------------------------------------------------------
    shape = property(lambda self: self.data.shape)
    dtype = property(lambda self: self.data.dtype)
    ndim = property(lambda self: self.data.ndim)
    size = property(lambda self: self.data.size)
    T = property(lambda self: transpose(self))
    is_leaf = property(lambda self: self.node is None or self.node.op is None)

    @property
    def op(self):
        """Name of the operation that produced this tensor, or None for a leaf."""
        return None if self.is_leaf else self.node.op.name

    def requires_grad_(self, flag=True):
        if flag and self.data.dtype.type not in _FLOATS:
            raise GradientError(
                f"only floating-point tensors can require gradients, this one is {self.data.dtype}; "
                f"create it with dtype='float32' (or call .astype('float32')) first")
        if not self.is_leaf:
            raise GradientError("requires_grad can only be changed on leaf tensors; "
                                "use .detach() to make a new leaf")
        self.requires_grad = bool(flag)
        return self

    def numpy(self):
        return self.data

    def item(self):
        return self.data.item()

    def tolist(self):
        return self.data.tolist()

    def detach(self):
        """A new leaf sharing this tensor's data, cut off from the graph."""
        return Tensor._make(self.data, None)

    def clone(self):
        return astype(self, dtype=self.dtype, copy=True)

    def __array__(self, dtype=None, copy=None):
        if dtype is not None and dtype != self.data.dtype:
            return self.data.astype(dtype)
        return self.data.copy() if copy else self.data

    def __len__(self):
        return len(self.data)

    def __iter__(self):
        return (self[i] for i in range(len(self.data)))

    def __bool__(self):
        return bool(self.data)

    def __float__(self):
        return float(self.data)

    def __int__(self):
        return int(self.data)

    def __repr__(self):
        body = xp.array2string(self.data, separator=", ", prefix="tensor(", threshold=60)
        extra = f", op={self.node.op.name}" if not self.is_leaf else (
            ", requires_grad=True" if self.requires_grad else "")
        return f"tensor({body}, dtype={self.data.dtype}{extra})"

    __hash__ = object.__hash__

    # -- autograd -------------------------------------------------------------------------
    def backward(self, grad=None, retain_graph=False, create_graph=False):
        """Backward propagation from this tensor: fill ``.grad`` of every leaf it depends on."""
        if not self.requires_grad:
            raise GradientError(
                "backward() called on a tensor that does not require grad: none of the tensors it "
                "was computed from has requires_grad=True (or it was computed under no_grad())")
        grad = _seed_gradient(self, grad, create_graph)
        backward_pass([_root_node(self)], [grad], retain_graph or create_graph, create_graph)

    def register_hook(self, hook):
        """Call ``hook(grad)`` when this tensor's gradient is computed; a returned tensor
        replaces the gradient. Returns a handle whose ``remove()`` unregisters the hook."""
        if not self.requires_grad:
            raise GradientError("cannot register a hook on a tensor that does not require grad")
        node = _root_node(self)
        hooks = node.extra("hooks")
        if hooks is None:
            hooks = []
            node.set_extra("hooks", hooks)
        hooks.append(hook)
        return _HookHandle(hooks, hook)

    def retain_grad(self):
        """Keep this non-leaf tensor's gradient in ``.grad`` after backward."""
        if not self.requires_grad:
            raise GradientError("cannot retain_grad on a tensor that does not require grad")
        if not self.is_leaf:
            import weakref
            self.node.set_extra("retain", weakref.ref(self))
        return self

    def zero_grad_(self):
        self.grad = None

    # -- in-place updates (only outside the graph) ------------------------------------------
    def _bump_version(self):
        """Record that this tensor's memory was changed in place (see autograd's version
        tracking): a graph that saved any view of it will refuse to backward."""
        autograd.record_inplace_change(self.data)

    @property
    def _version(self):
        return autograd.buffer_version(self.data)

    def _inplace(self, ufunc, other, name):
        if mode.enabled and (self.requires_grad or getattr(other, "requires_grad", False)):
            # Inside the graph, t += x means t = t + x: a new tensor, so nothing saved for
            # backward is overwritten (in-place changes are for no_grad blocks).
            _warn_if_accumulating_history(self)
            return _OUT_OF_PLACE[name](self, other)
        other = other.data if isinstance(other, Tensor) else other
        ufunc(self.data, other, out=self.data, casting="same_kind")
        self._bump_version()
        return self

    def __iadd__(self, other):
        return self._inplace(xp.add, other, "+=")

    def __isub__(self, other):
        return self._inplace(xp.subtract, other, "-=")

    def __imul__(self, other):
        return self._inplace(xp.multiply, other, "*=")

    def __itruediv__(self, other):
        return self._inplace(xp.divide, other, "/=")

    def __setitem__(self, index, value):
        if self.requires_grad and mode.enabled:
            raise GradientError("item assignment on a tensor that requires grad would corrupt the "
                                "graph; build the tensor with where() or concatenate() instead")
        self.data[_unwrap_index(index)] = value.data if isinstance(value, Tensor) else value
        self._bump_version()

    def copy_(self, other):
        with autograd.no_grad():
            self.data[...] = other.data if isinstance(other, Tensor) else other
        self._bump_version()
        return self

    def zero_(self):
        return self.copy_(0)

    # -- operators --------------------------------------------------------------------------
    def __add__(self, other):
        if self.node is not None and self.node.seq < mode.last_backward:
            _warn_if_accumulating_history(self)
        return add(self, other)

    def __radd__(self, other): return add(other, self)
    def __sub__(self, other): return sub(self, other)
    def __rsub__(self, other): return sub(other, self)
    def __mul__(self, other): return mul(self, other)
    def __rmul__(self, other): return mul(other, self)
    def __truediv__(self, other): return div(self, other)
    def __rtruediv__(self, other): return div(other, self)
    def __pow__(self, other): return pow(self, other)
    def __rpow__(self, other): return pow(other, self)
    def __matmul__(self, other): return matmul(self, other)
    def __rmatmul__(self, other): return matmul(other, self)
    def __neg__(self): return neg(self)
    def __pos__(self): return self
    def __abs__(self): return abs(self)
    def __getitem__(self, index): return getitem(self, index=_unwrap_index(index))
    def __eq__(self, other): return equal(self, other)
    def __ne__(self, other): return not_equal(self, other)
    def __lt__(self, other): return less(self, other)
    def __le__(self, other): return less_equal(self, other)
    def __gt__(self, other): return greater(self, other)
    def __ge__(self, other): return greater_equal(self, other)
    def __and__(self, other): return logical_and(self, other)
    def __or__(self, other): return logical_or(self, other)
    def __invert__(self): return logical_not(self)

    # -- methods (the same names as NumPy's, so VJP formulas run on both) --------------------
    def exp(self): return exp(self)
    def log(self): return log(self)
    def sqrt(self): return sqrt(self)
    def abs(self): return abs(self)
    def tanh(self): return tanh(self)
    def relu(self): return relu(self)
    def sigmoid(self): return sigmoid(self)
    def softmax(self, axis=-1): return softmax(self, axis=axis)
    def log_softmax(self, axis=-1): return log_softmax(self, axis=axis)
    def logsumexp(self, axis=None, keepdims=False): return logsumexp(self, axis, keepdims)
    def clip(self, low=None, high=None): return clip(self, low=low, high=high)
    def sum(self, axis=None, keepdims=False): return sum(self, axis=axis, keepdims=keepdims)
    def mean(self, axis=None, keepdims=False): return mean(self, axis=axis, keepdims=keepdims)
    def max(self, axis=None, keepdims=False): return max(self, axis=axis, keepdims=keepdims)
    def min(self, axis=None, keepdims=False): return min(self, axis=axis, keepdims=keepdims)
    def var(self, axis=None, ddof=0, keepdims=False): return var(self, axis, ddof, keepdims)
    def std(self, axis=None, ddof=0, keepdims=False): return std(self, axis, ddof, keepdims)
    def argmax(self, axis=None): return Tensor._make(xp.asarray(self.data.argmax(axis)), None)
    def argmin(self, axis=None): return Tensor._make(xp.asarray(self.data.argmin(axis)), None)
    def astype(self, dtype, copy=False): return astype(self, dtype=xp.dtype(dtype), copy=copy)
    def transpose(self, *axes): return transpose(self, axes=_axes_arg(axes))
    def permute(self, *axes): return transpose(self, axes=_axes_arg(axes))
    def swapaxes(self, axis1, axis2): return swapaxes(self, axis1, axis2)
    def broadcast_to(self, shape): return broadcast_to(self, shape=shape)
    def expand_dims(self, axis): return expand_dims(self, axis)
    def squeeze(self, axis=None): return squeeze(self, axis)
    def flatten(self): return reshape(self, shape=(-1,))

    def reshape(self, *shape):
        return reshape(self, shape=shape[0] if len(shape) == 1 and not isinstance(shape[0], int) else shape)


def _warn_if_accumulating_history(tensor):
    """Warn when a tensor whose graph was already used by backward() is added to, as in
    ``total += loss`` over training steps: every step's graph then stays alive."""
    node = tensor.node
    if node is None or node.op is None or node.seq >= mode.last_backward:
        return
    released = [p for p in (node, *node.parents) if p is not None and p.op is not None
                and p.saved is None]
    if released:
        warnings.warn(
            "adding to a tensor whose graph was already used by backward(): if this accumulates "
            "a loss across steps (total += loss), every step's graph stays alive; accumulate "
            "loss.item() instead (a Python float)", RuntimeWarning, stacklevel=3)


_OUT_OF_PLACE = {"+=": lambda a, b: add(a, b), "-=": lambda a, b: sub(a, b),
                 "*=": lambda a, b: mul(a, b), "/=": lambda a, b: div(a, b)}


autograd.Tensor = Tensor


class _HookHandle:
    def __init__(self, hooks, hook):
        self._hooks, self._hook = hooks, hook

    def remove(self):
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)


def _axes_arg(axes):
    if len(axes) == 1 and not isinstance(axes[0], int):
        return axes[0]
    return axes or None


def _unwrap_index(index):
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, tuple):
        return tuple(i.data if isinstance(i, Tensor) else i for i in index)
    if isinstance(index, list):
        return xp.asarray(index)
    return index


def _root_node(tensor):
    if tensor.node is None:
        tensor.node = autograd.leaf_node(tensor)
    return tensor.node


def _seed_gradient(output, grad, create_graph):
    if grad is None:
        if output.data.size != 1:
            raise GradientError(
                f"backward() without a gradient needs a scalar output, but this tensor has shape "
                f"{output.shape}; reduce it first (e.g. loss.sum() or loss.mean()) or pass "
                f"grad= of shape {output.shape}")
        grad = xp.ones_like(output.data)
    else:
        grad = _as_array(grad).astype(output.dtype, copy=False)
        if grad.shape != output.shape:
            raise GradientError(f"backward(): grad has shape {grad.shape} but the output has "
                                f"shape {output.shape}")
    return Tensor._make(grad, None) if create_graph else grad


def tensor(data, dtype=None, requires_grad=False):
    """Make a tensor. Python floats become float32 and Python ints int64; NumPy arrays keep
    their dtype unless ``dtype`` is given."""
    return Tensor(data, dtype=dtype, requires_grad=requires_grad)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         allow_unused=False):
    """Gradients of ``outputs`` with respect to ``inputs``, returned instead of stored in
    ``.grad``. With ``create_graph=True`` they carry their own graph (for higher derivatives)."""
    single = isinstance(inputs, Tensor)
    inputs = [inputs] if single else list(inputs)
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    elif isinstance(grad_outputs, Tensor) or not isinstance(grad_outputs, (list, tuple)):
        grad_outputs = [grad_outputs]
    for t in outputs:
        if not t.requires_grad:
            raise GradientError("grad(): an output does not require grad, so nothing to "
                                "differentiate; did you compute it under no_grad()?")
    for t in inputs:
        if not t.requires_grad:
            raise GradientError(f"grad(): an input of shape {t.shape} does not require grad")
    retain = create_graph if retain_graph is None else retain_graph
    seeds = [_seed_gradient(o, g, create_graph) for o, g in zip(outputs, grad_outputs)]
    nodes = [_root_node(t) for t in inputs]
    captured = backward_pass([_root_node(o) for o in outputs], seeds, retain, create_graph,
                             capture=set(nodes))
    results = []
    for t, node in zip(inputs, nodes):
        g = captured.get(node)
        if g is None:
            if not allow_unused:
                raise GradientError(
                    f"grad(): an input of shape {t.shape} was not used to compute the outputs; "
                    f"pass allow_unused=True to get None for it")
            results.append(None)
        else:
            results.append(g if create_graph else Tensor._make(xp.array(g, dtype=t.dtype), None))
    return tuple(results)


# The methods above call these; importing them last lets the ops import Tensor first.
from .ops import (abs, add, astype, broadcast_to, clip, div, equal, exp, expand_dims,  # noqa: E402
                  getitem, greater, greater_equal, less, less_equal, log, log_softmax,
                  logical_and, logical_not, logical_or, logsumexp, matmul, max, mean, min, mul,
                  neg, not_equal, pow, relu, reshape, sigmoid, softmax, sqrt, squeeze, std, sub,
                  sum, swapaxes, tanh, transpose, var)
