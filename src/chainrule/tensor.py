"""Tensor: an array, the node that made it, and its gradient.

Methods with PyTorch's names have PyTorch's meaning (docs/semantics.md): ``transpose(0, 1)``
swaps two dimensions, ``var()`` is unbiased, ``x.max(1)`` returns values and indices. NumPy's
keyword spellings (``axis=``, ``keepdims=``, ``ddof=``) are accepted too.
"""
import numbers
import warnings
import weakref
from collections import namedtuple

from . import engine
from .engine import Node, backward_pass, mode
from .backend import ndarray, xp
from .device import CPU, check_device, is_device
from .dtypes import as_dtype, can_cast, default_float, fill_number, result_type
from .errors import ArgumentError, DimError, DtypeError, GradientError, ShapeError
from .size import Size

_new = object.__new__
_FLOATS = (xp.float16, xp.float32, xp.float64)

MinMax = namedtuple("MinMax", "values indices")


def as_array(data, dtype=None, copy=True):
    """An ndarray of numbers from ``data``: Python floats become the default float dtype
    (float32 unless ``set_default_dtype`` changed it, as in PyTorch), Python ints int64; arrays
    keep their dtype. Anything non-numeric is refused."""
    if isinstance(data, Tensor):
        data = data._data
    if dtype is not None:
        dtype = as_dtype(dtype)
    if isinstance(data, ndarray):
        if not data.dtype.isnative:
            if not copy:
                raise ValueError(f"from_numpy: the array's bytes are in {data.dtype.str!r} "
                                f"order, not this machine's, so a tensor cannot share them "
                                f"(PyTorch refuses them too); use cr.tensor(array), which "
                                f"copies them into this machine's order")
            data = data.astype(data.dtype.newbyteorder("="))
        array = data.astype(dtype if dtype is not None else data.dtype, copy=copy)
    else:
        if data is None or isinstance(data, (str, bytes, dict, set)):
            raise TypeError(f"tensor(): expected numbers, a (nested) list of numbers or an "
                            f"array, got {type(data).__name__} {data!r}")
        if isinstance(data, (list, tuple)):
            data = _tensors_as_numbers(data)
        try:
            array = xp.array(data, dtype=dtype)
        except OverflowError:
            if dtype is None or dtype.kind not in "iu":
                raise
            array = _wrapped_integers(data, dtype)
        if dtype is None and array.dtype in (xp.uint64, object):  # NumPy's way with big ints
            _refuse_ints_beyond_int64(data)
        if dtype is None and array.dtype.kind == "f" and isinstance(data, (list, tuple)) and \
                array.size:
            with xp.errstate(over="ignore"):  # a huge int in a float16 list: inf, as PyTorch
                array = array.astype(_list_dtype(data), copy=False)
        elif dtype is None and array.dtype == xp.float64 and (type(data) is float or
                                                              isinstance(data, (list, tuple))):
            array = array.astype(default_float())  # an array-like (a torch tensor) keeps its own
    if array.dtype.kind not in "biuf":
        raise TypeError(f"tensor(): expected numbers, got an array of {array.dtype} "
                        f"(from {type(data).__name__}); chainrule tensors hold bools, integers "
                        f"and floats")
    return array


def _wrapped_integers(data, dtype):
    """Numbers into an integer dtype that NumPy refuses, as PyTorch's tensor() reads them:
    each must fit the dtype, where an unsigned one takes an int down to -max (tensor([-1],
    dtype=uint8) is 255 there; NumPy raised its OverflowError); floats are truncated and must
    lie within the dtype's range."""
    items = xp.array(data, dtype=object)
    info = xp.iinfo(dtype)
    for item in items.reshape(-1):
        exact = isinstance(item, numbers.Integral)
        low = -int(info.max) if exact and dtype.kind == "u" else int(info.min)
        if not (isinstance(item, numbers.Real) and low <= item <= int(info.max)):
            raise DtypeError(f"tensor(): value {item!r} cannot be converted to {dtype} without "
                             f"overflow (as in PyTorch)")
    return xp.array([int(item) for item in items.reshape(-1)], dtype=xp.int64).astype(
        dtype).reshape(items.shape)


def _tensors_as_numbers(data):
    """``data`` (nested lists) with each tensor in it (chainrule's or another library's, not a
    NumPy array) made the number it holds, as PyTorch's tensor() reads them: [t1, t2] of
    one-element tensors is a vector, not a column; a tensor of several elements is refused."""
    kinds = set(map(type, data))
    if kinds <= _PYTHON_NUMBERS:  # the common case, at C speed
        return data
    out = []
    for item in data:
        if isinstance(item, (list, tuple)):
            item = _tensors_as_numbers(item)
        elif not isinstance(item, (ndarray, xp.generic)) and (
                isinstance(item, Tensor) or hasattr(item, "__array__")):
            values = item._data if isinstance(item, Tensor) else xp.asarray(item)
            if values.size != 1:
                raise ValueError(f"tensor(): a tensor of shape {tuple(values.shape)} inside a "
                                 f"list; only one-element tensors can be converted to Python "
                                 f"scalars there (as in PyTorch): use cr.stack to join tensors")
            item = values.reshape(())[()]  # a NumPy scalar: its dtype still counts
        out.append(item)
    return out


def _list_dtype(data):
    """PyTorch's dtype for a (nested) list of numbers that NumPy made floats: its widest float
    among NumPy scalars, arrays and tensors in it and the default float if it holds a Python
    float (with no float at all, an integer overflowed int64: refused, as PyTorch). Integers
    and bools do not widen it (NumPy's would: [np.float32(1), 2] is float64 there, float32 in
    PyTorch), and a NumPy float64 is kept, not narrowed to the default."""
    widest, lists = None, [data]
    while lists:
        items = lists.pop()
        kinds = set(map(type, items))  # the common case, Python numbers only, at C speed
        if float in kinds:
            widest = _wider(widest, xp.dtype(default_float()))
        if kinds <= _PYTHON_NUMBERS:
            continue
        for item in items:
            if isinstance(item, (list, tuple)):
                lists.append(item)
            elif isinstance(item, (Tensor, ndarray, xp.generic)):
                widest = _wider(widest, item.dtype if not isinstance(item, Tensor)
                                else item._data.dtype)
    if widest is None:  # NumPy made floats of integers alone: one was beyond int64
        _refuse_ints_beyond_int64(data)
    return widest


def take_node(tensor, node):
    """Make ``node`` the op that produced ``tensor`` (after an in-place change). A gradient
    kept by ``retain_grad()`` follows the tensor, as in PyTorch: ``.grad`` is then the
    gradient of its newest value, not of the one the change replaced."""
    old = tensor.node
    if old is not None and old.op is not None and old.tensor_ref is not None and \
            old.tensor_ref() is tensor:
        old.tensor_ref, node.tensor_ref = None, weakref.ref(tensor)
    tensor.node, tensor.requires_grad = node, True


def _refuse_ints_beyond_int64(data):
    """Raise naming the first Python int in ``data`` (a number or nested lists) outside int64,
    the dtype of Python ints: PyTorch refuses it ("Overflow when unpacking long long") where
    NumPy makes uint64, floats or objects."""
    values = [data]
    while values:
        value = values.pop()
        if isinstance(value, (list, tuple)):
            values.extend(value)
        elif type(value) is int and not -2 ** 63 <= value < 2 ** 63:
            raise ValueError(f"tensor(): the int {value} does not fit in int64, the dtype of "
                             f"Python ints (PyTorch refuses it too); pass dtype=cr.float64 to "
                             f"keep it as a float")


_PYTHON_NUMBERS = {float, int, bool}


def _wider(widest, dtype):
    if dtype.kind != "f" or (widest is not None and widest.itemsize >= dtype.itemsize):
        return widest
    return dtype


class Tensor:
    """An n-dimensional array that records the operations applied to it.

    ``data`` is the NumPy array; ``node`` is the graph node that produced it (None for a leaf
    that needs no gradient); ``grad`` receives the gradient after ``backward()``.

    >>> x = cr.tensor([[1., 2.]], requires_grad=True)
    >>> y = (x * 3).sum()
    >>> y.backward()
    >>> x.grad
    tensor([[3., 3.]], dtype=float32)
    """

    __slots__ = ("_data", "node", "requires_grad", "grad", "__weakref__")

    def __init__(self, *data, dtype=None, requires_grad=False):
        """PyTorch's legacy constructor, ``torch.Tensor``: ``Tensor([1, 2])`` or an array in
        the default float dtype (whatever the data's own), ``Tensor(2, 3)`` an uninitialised
        tensor of that size, ``Tensor(t)`` the tensor ``t`` itself (sharing its memory).
        ``cr.tensor(data)`` infers the dtype from the data instead.

        >>> cr.Tensor([1, 2]), cr.Tensor(2, 3).shape
        (tensor([1., 2.], dtype=float32), cr.Size([2, 3]))
        """
        if len(data) == 1 and isinstance(data[0], Tensor) and dtype is None:
            array = data[0]._data
        elif data and all(isinstance(n, (int, xp.integer)) and not isinstance(n, bool)
                          for n in data):
            array = xp.empty(tuple(int(n) for n in data), dtype=as_dtype(dtype or default_float()))
        elif len(data) > 1:
            raise TypeError(f"Tensor(): expected sizes (ints) or one sequence of numbers, got "
                            f"{len(data)} arguments; use cr.tensor(data) for data")
        else:
            array = as_array(data[0] if data else [], dtype or default_float())
        self._init(array, requires_grad)

    def _init(self, array, requires_grad):
        self._data = array
        self.node = None
        self.grad = None
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    @staticmethod
    def _wrap(data, dtype=None, requires_grad=False):
        """A leaf tensor holding a copy of ``data`` in its own dtype (``dtype`` if given): what
        ``cr.tensor`` makes, for the library's own arrays."""
        t = _new(Tensor)
        t._init(as_array(data, dtype), requires_grad)
        return t

    @staticmethod
    def _make(data, node):
        t = _new(Tensor)
        t._data = data
        t.node = node
        t.requires_grad = node is not None
        t.grad = None
        return t

    # -- properties -----------------------------------------------------------------------
    @property
    def data(self):
        """A detached tensor sharing this tensor's memory, as PyTorch's ``.data``: changing it
        (``w.data.normal_(0, 0.01)``, ``.zero_()``, ``.copy_()``, ``w.data[0] = 1``) changes
        this tensor, records no graph, and bumps the version counter. Assigning replaces the
        memory: an array or tensor of the same shape and dtype. ``.numpy()`` is the array.

        >>> w = cr.nn.Parameter(cr.zeros(2))
        >>> _ = w.data.fill_(3.0)
        >>> w
        Parameter containing:
        tensor([3., 3.], dtype=float32, requires_grad=True)
        """
        return Tensor._make(self._data, None)

    @data.setter
    def data(self, value):
        value = value._data if isinstance(value, Tensor) else value
        if isinstance(value, xp.generic):  # what arithmetic on a 0-d array gives
            value = xp.asarray(value)
        if not isinstance(value, ndarray):
            raise TypeError(f".data must be an ndarray, got {type(value).__name__}")
        if value.shape != self._data.shape or value.dtype != self._data.dtype:
            raise ShapeError(f".data: this tensor is {self._data.dtype} of shape "
                             f"{self._data.shape}, the new array {value.dtype} of shape "
                             f"{value.shape}; use .copy_() or make a new tensor")
        self._data = value

    shape = property(lambda self: Size.of_array(self._data))
    dtype = property(lambda self: self._data.dtype)
    ndim = property(lambda self: self._data.ndim)
    T = property(lambda self: transpose(self))
    device = property(lambda self: CPU, doc="Where the tensor lives: always the CPU.")
    is_cuda = property(lambda self: False, doc="Whether the tensor is on a GPU: never.")
    is_cpu = property(lambda self: True, doc="Whether the tensor is on the CPU: always.")

    def get_device(self):
        """The GPU index of this tensor, or -1 on the CPU (always, in chainrule), as PyTorch.

        >>> cr.zeros(1).get_device()
        -1
        """
        return -1

    @property
    def mT(self):
        """The last two dimensions swapped (a batch of matrices transposed), as PyTorch's
        ``mT``; shares memory.

        >>> cr.zeros(5, 2, 3).mT.shape
        cr.Size([5, 3, 2])
        """
        if self._data.ndim < 2:
            raise ShapeError(f"mT: needs a matrix or a batch of matrices, got a "
                             f"{self._data.ndim}-d tensor of shape {self.shape}; use .T or "
                             f"unsqueeze first")
        return swapaxes(self, -2, -1)

    @property
    def grad_fn(self):
        """The backward function that made this tensor (None for a leaf), as PyTorch's:
        ``grad_fn.name()`` is e.g. ``"MulBackward0"``, and ``next_functions`` leads to its
        inputs' functions.

        >>> x = cr.tensor([1., 2.], requires_grad=True)
        >>> print(x.grad_fn)
        None
        >>> (x * 2).grad_fn.name()
        'MulBackward0'
        """
        if self.is_leaf:
            return None
        return GradFn(self.node)
    is_leaf = property(lambda self: self.node is None or self.node.op is None)

    @property
    def op(self):
        """Name of the operation that produced this tensor, or None for a leaf."""
        return None if self.is_leaf else self.node.op.name

    def requires_grad_(self, flag=True):
        """Make this leaf tensor require gradients (or stop, with False); returns it.

        >>> w = cr.tensor([1., 2.]).requires_grad_()
        >>> w.requires_grad
        True
        """
        if flag and self._data.dtype.type not in _FLOATS:
            raise GradientError(
                f"only floating-point tensors can require gradients, this one is "
                f"{self._data.dtype}; create it with dtype=cr.float32 (or call .float() "
                f"first)")
        if not self.is_leaf:
            if flag:  # a result in a graph requires grad already: nothing changes, as in PyTorch
                return self
            raise GradientError("requires_grad can only be changed on leaf tensors; "
                                "use .detach() to make a new leaf")
        self.requires_grad = bool(flag)
        return self

    def numpy(self):
        """The array itself (shared, not copied). Refused on a tensor that requires grad, as in
        PyTorch: the array would leave the graph without a word.

        >>> cr.tensor([1., 2.]).numpy()
        array([1., 2.], dtype=float32)
        """
        if self.requires_grad:
            raise GradientError("numpy(): this tensor requires grad; call "
                                "t.detach().numpy() to take its values out of the graph")
        return self._data

    def item(self):
        """The value of a one-element tensor as a Python number.

        >>> cr.tensor([[2.5]]).item()
        2.5
        """
        if self._data.size != 1:
            raise ArgumentError(f"item(): only a tensor of one element converts to a Python "
                                f"number; this one has {self._data.size}")
        return self._data.item()

    def tolist(self):
        """The values as (nested) Python lists.

        >>> cr.tensor([[1, 2], [3, 4]]).tolist()
        [[1, 2], [3, 4]]
        """
        return self._data.tolist()

    def detach(self):
        """A new leaf sharing this tensor's data, cut off from the graph.

        >>> x = cr.tensor([1.], requires_grad=True)
        >>> (x * 2).detach().requires_grad
        False
        """
        return Tensor._make(self._data, None)

    def detach_(self):
        """Cut this tensor off from the graph, in place: it becomes a leaf that does not
        require grad (its memory is kept). Returns it.

        >>> x = cr.tensor([1.], requires_grad=True)
        >>> y = (x * 2).detach_()
        >>> y.requires_grad, y.grad_fn is None
        (False, True)
        """
        if not self.is_leaf and self.node.op.name in _VIEW_OPS and self._data.base is not None:
            raise GradientError(f"detach_(): this tensor is a view ({self.node.op.name}) of "
                                f"another that requires grad, and a view cannot be detached "
                                f"in place (as in PyTorch); use .detach() instead")
        self.node = None
        self.requires_grad = False
        return self

    def clone(self):
        """A copy with its own memory; the gradient flows back to this tensor.

        >>> x = cr.tensor([1., 2.])
        >>> y = x.clone()
        >>> y[0] = 9.0
        >>> x
        tensor([1., 2.], dtype=float32)
        """
        return astype(self, dtype=self.dtype, copy=True)

    def __array__(self, dtype=None, copy=None):
        if self.requires_grad:
            raise GradientError("np.asarray(t) / np.array(t): this tensor requires grad, and "
                                "an array would silently leave the graph; use "
                                "t.detach().numpy(), or the chainrule function of that name")
        if dtype is not None and dtype != self._data.dtype:
            return self._data.astype(dtype)
        return self._data.copy() if copy else self._data

    # __array_ufunc__ and __array_function__ (np.sin(t), np.max(t, axis=1)) are set by
    # numpy_protocol.py, and uniform_/normal_ by random.py, when the package imports them.

    def __len__(self):
        return len(self._data)

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(len(self._data)))

    def __contains__(self, element):
        if not isinstance(element, (Tensor, numbers.Number)):
            raise TypeError(f"'in' on a tensor takes a tensor or a number, got "
                            f"{type(element).__name__}")
        return bool((self == element).any())

    def __bool__(self):
        if self._data.size != 1:
            raise ArgumentError(f"bool(): the truth value of a tensor of shape {self.shape} is "
                                f"ambiguous; use .any() or .all()")
        return bool(self._data)

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        if self._data.size != 1 or self._data.dtype.kind not in "biu":
            raise TypeError("only integer tensors of a single element can be used as an index")
        return int(self._data.reshape(()))

    def __repr__(self):
        body = xp.array2string(self._data, separator=", ", prefix="tensor(", threshold=60)
        extra = f", op={self.node.op.name}" if not self.is_leaf else (
            ", requires_grad=True" if self.requires_grad else "")
        return f"tensor({body}, dtype={self._data.dtype}{extra})"

    def _repr_html_(self):
        from .display import tensor_html
        return tensor_html(self)

    __hash__ = object.__hash__

    # -- autograd -------------------------------------------------------------------------
    def backward(self, grad=None, retain_graph=False, create_graph=False, *, gradient=None):
        """Backward propagation from this tensor: fill ``.grad`` of every leaf it depends on.
        ``grad`` (PyTorch's ``gradient=``) is the upstream gradient for a non-scalar tensor.

        >>> w = cr.tensor([1., 2.], requires_grad=True)
        >>> (w * w).sum().backward()
        >>> w.grad
        tensor([2., 4.], dtype=float32)
        """
        if not self.requires_grad:
            raise GradientError(
                "backward() called on a tensor that does not require grad: none of the tensors it "
                "was computed from has requires_grad=True (or it was computed under no_grad())")
        if gradient is not None:
            if grad is not None:
                raise TypeError("backward(): give grad or gradient, not both")
            grad = gradient
        seed = _seed_gradient(self, grad, create_graph)
        kept = backward_pass([_root_node(self)], [seed], retain_graph or create_graph,
                             create_graph)
        for node, gradient in kept.items():
            tensor = node.tensor_ref()
            if tensor is not None:
                tensor._accumulate_grad(gradient, create_graph)

    def _accumulate_grad(self, gradient, create_graph):
        if create_graph:
            self.grad = gradient.value if self.grad is None else self.grad + gradient.value
        elif self.grad is None:
            # take() copies unless nothing else can see the array, so that changing .grad
            # later cannot change another tensor's gradient.
            value = gradient.take()
            if not value.flags.c_contiguous and self._data.flags.c_contiguous:
                # PyTorch lays a leaf's first gradient out as the leaf (the gradient of
                # x.t() would otherwise be transposed in memory).
                value = xp.ascontiguousarray(value)
            self.grad = Tensor._make(value, None)
        else:
            xp.add(self.grad._data, gradient.value, out=self.grad._data)

    def register_hook(self, hook):
        """Call ``hook(grad)`` when this tensor's gradient is computed; a returned tensor
        replaces the gradient. Returns a handle whose ``remove()`` unregisters the hook.

        >>> w = cr.tensor([1.], requires_grad=True)
        >>> handle = w.register_hook(lambda g: g * 10)
        >>> (w * 3).sum().backward()
        >>> w.grad
        tensor([30.], dtype=float32)
        """
        if not self.requires_grad:
            raise GradientError("cannot register a hook on a tensor that does not require grad")
        node = _root_node(self)
        hooks = node.extra("hooks")
        if hooks is None:
            hooks = []
            node.set_extra("hooks", hooks)
        hooks.append(_engine_hook(hook))
        return _HookHandle(hooks, hooks[-1])

    def retain_grad(self):
        """Keep this non-leaf tensor's gradient in ``.grad`` after backward.

        >>> w = cr.tensor([1., 2.], requires_grad=True)
        >>> h = (w * 2).retain_grad()
        >>> (h * h).sum().backward()
        >>> h.grad
        tensor([4., 8.], dtype=float32)
        """
        if not self.requires_grad:
            raise GradientError("cannot retain_grad on a tensor that does not require grad")
        if not self.is_leaf:
            self.node.tensor_ref = weakref.ref(self)
        return self

    def zero_grad_(self):
        """Forget this tensor's gradient (``grad`` becomes None).

        >>> w = cr.tensor([1.], requires_grad=True)
        >>> (w * 2).sum().backward()
        >>> w.zero_grad_()
        >>> print(w.grad)
        None
        """
        self.grad = None

    # -- in-place changes -------------------------------------------------------------------
    def _bump_version(self):
        """Record that this tensor's memory was changed in place (see autograd's version
        tracking): a graph that saved any view of it will refuse to backward."""
        engine.record_inplace_change(self._data)

    @property
    def _version(self):
        return engine.buffer_version(self._data)

    def _inplace(self, op, other, symbol):
        """``self <op>= other``, in this tensor's memory, as PyTorch does it: outside the
        graph a plain array update; inside it a recorded op whose result is written back."""
        in_graph = self._changes_in_graph(other)
        if in_graph and self.is_leaf and self.requires_grad:
            raise GradientError(
                f"a leaf tensor that requires grad is being used in an in-place operation "
                f"(t {symbol} ...); parameter updates belong in `with cr.no_grad():`, e.g. "
                f"`with cr.no_grad(): p -= lr * p.grad`")
        if in_graph and _viewed_leaf(self) is not None:
            raise GradientError(
                f"a view of a leaf tensor that requires grad is being used in an in-place "
                f"operation (t {symbol} ...), which PyTorch refuses too: it would change the "
                f"leaf inside the graph; change the leaf under `with cr.no_grad():`, or clone() "
                f"the view first")
        _warn_if_accumulating_history(self)
        if not in_graph:
            result = op(self.detach(), other.detach() if isinstance(other, Tensor) else other)
            return self._write(result._data, symbol)
        if not _refresh_view(self):  # a view made before its base changed reads it anew
            engine.check_not_stale(f"t {symbol} ...", self)
        # Compute from copies: the new nodes may save the values, which are overwritten next.
        began = engine.graph_write_begins()
        before = Tensor._make(self._data.copy(), self.node)
        viewed = _viewed_tensors(self)
        result = op(before, other)
        if result.node is None and self._data.dtype.kind in "fc":
            # A result with no gradient (x.lt_(y)): as in PyTorch, this tensor's new value
            # still hangs on the graph, with a zero gradient for its history and for other,
            # rather than keeping the old node as if the old value had stayed.
            result = where(True, result, before)
            if getattr(other, "requires_grad", False):
                result = where(True, result, other)
        if symbol != "copy_":  # copy_ converts to this tensor's dtype, as PyTorch's
            self._check_castable(result.dtype, symbol)  # before astype makes any dtype fit
        if result.dtype != self.dtype:
            result = astype(result, dtype=self.dtype)
        self._write(result._data, symbol)
        if result.node is None:  # an integer or bool result carries no gradient
            return self
        take_node(self, result.node)
        new = result
        for tensor, view_op, kwargs, old in viewed:  # the tensors it views take the change
            new = view_op.write_back(old, new, **kwargs)
            take_node(tensor, new.node)
        engine.mark_written_in_graph(began, self)
        return self

    def _changes_in_graph(self, other):
        return mode.enabled and (self.requires_grad or getattr(other, "requires_grad", False))

    def _check_castable(self, dtype, symbol):
        if not can_cast(dtype, self._data.dtype):
            raise DtypeError(f"t {symbol} ...: the result is {dtype}, which cannot be stored in "
                             f"this {self._data.dtype} tensor of shape {tuple(self.shape)} (as "
                             f"in PyTorch); convert with .to(dtype) (e.g. .float()) first")

    def _write(self, values, symbol):
        self._check_castable(values.dtype, symbol)
        if not self._data.flags.writeable:
            raise ArgumentError(f"t {symbol} ...: several elements of this tensor share one "
                                f"memory location (an expand()ed view, overlapping unfold() "
                                f"windows) or its memory is read-only, so an in-place write "
                                f"is refused (as in PyTorch); clone() it first")
        if values.shape != self._data.shape:
            raise ShapeError(f"t {symbol} ...: the result has shape {values.shape}, but an "
                             f"in-place change cannot change this tensor's shape "
                             f"{self._data.shape}")
        self._data[...] = values
        self._bump_version()
        return self

    def __iadd__(self, other): return self._inplace(add, other, "+=")
    def __isub__(self, other): return self._inplace(sub, other, "-=")
    def __imul__(self, other): return self._inplace(mul, other, "*=")
    def __itruediv__(self, other): return self._inplace(div, other, "/=")
    def __ipow__(self, other): return self._inplace(pow, other, "**=")

    def __setitem__(self, index, value):
        try:
            index = _unwrap_index(index)
        except _SplitAdvancedIndex as split:  # PyTorch's order: write through the first view
            first, second = split.steps
            self[first][second] = value
            return
        if type(value) in (int, float, bool):
            # PyTorch's fill_ rules: int8 and 300 refused, -1 into uint8 is 255 (NumPy refuses),
            # an int below -2**63 or from 2**63 up refused for every dtype (NumPy wrote -inf
            # into float16, True into bool); a float into float16 becomes inf as in PyTorch.
            if type(value) is int and not -2 ** 63 <= value < 2 ** 63:
                raise DtypeError(f"[...] =: value {value} cannot be converted to "
                                 f"{self._data.dtype} without overflow (as in PyTorch)")
            if self._data.dtype.kind in "iu":
                value = fill_number("[...] =", value, self._data.dtype)[()]
        if not self._changes_in_graph(value):  # outside the graph: a plain array write
            self._data[index] = without_leading_ones(value._data) if isinstance(
                value, Tensor) else value
            self._bump_version()
            return

        def put(t, v):
            return index_put(t, v, index=index)
        self._inplace(put, value, "[...] =")

    def copy_(self, other):
        """Copy ``other``'s values into this tensor's memory, broadcast and converted to its
        dtype. As in PyTorch, inside the graph (this tensor or ``other`` requiring grad) the
        copy is recorded: the gradient goes to ``other``, and none to the values replaced.

        >>> x = cr.zeros(2)
        >>> x.copy_(cr.tensor([3., 4.]))
        tensor([3., 4.], dtype=float32)
        """
        if self._changes_in_graph(other):
            return self._inplace(lambda t, v: where(True, v, t), other, "copy_")
        values = other._data if isinstance(other, Tensor) else xp.asarray(other)
        self._data[...] = values
        self._bump_version()
        return self

    def zero_(self):
        """Set every element to zero, in place.

        >>> cr.tensor([1., 2.]).zero_()
        tensor([0., 0.], dtype=float32)
        """
        return self.copy_(0)

    # -- operators --------------------------------------------------------------------------
    def __add__(self, other):
        if self.node is not None and self.node.seq < mode.last_backward:
            _warn_if_accumulating_history(self)
        return add(self, other)

    def __radd__(self, other):
        if self.node is not None and self.node.seq < mode.last_backward:
            _warn_if_accumulating_history(self)
        return add(other, self)
    def __sub__(self, other): return sub(self, other)
    def __rsub__(self, other): return sub(other, self)
    def __mul__(self, other): return mul(self, other)
    def __rmul__(self, other): return mul(other, self)
    def __truediv__(self, other): return div(self, other)
    def __rtruediv__(self, other):
        # PyTorch's number / t is t.reciprocal() * number, two roundings: an ulp from the
        # quotient in a quarter of the elements, so chainrule divides the same way.
        return mul(reciprocal(self), other)

    def __pow__(self, other): return pow(self, other)
    def __rpow__(self, other): return pow(other, self)
    def __matmul__(self, other): return matmul(self, other)
    def __rmatmul__(self, other): return matmul(other, self)
    def __neg__(self): return neg(self)
    def __pos__(self):
        if self._data.dtype.kind == "b":
            raise DtypeError(f"+t: the unary + is not supported on a bool tensor of shape "
                             f"{tuple(self.shape)} (as in PyTorch)")
        return self

    def __abs__(self): return abs(self)
    def __getitem__(self, index):
        try:
            return getitem(self, index=_unwrap_index(index))
        except _SplitAdvancedIndex as split:  # PyTorch's order of the result's axes
            first, second = split.steps
            return getitem(getitem(self, index=first), index=second)
    def __eq__(self, other):
        # t == None is Python's False, as in PyTorch (not a tensor of NaN comparisons).
        return False if other is None else equal(self, other)

    def __ne__(self, other):
        return True if other is None else not_equal(self, other)

    def __lt__(self, other): return less(self, other)
    def __le__(self, other): return less_equal(self, other)
    def __gt__(self, other): return greater(self, other)
    def __ge__(self, other): return greater_equal(self, other)
    def __and__(self, other): return bitwise_and(self, other)
    def __rand__(self, other): return bitwise_and(other, self)
    def __or__(self, other): return bitwise_or(self, other)
    def __ror__(self, other): return bitwise_or(other, self)
    def __xor__(self, other): return bitwise_xor(self, other)
    def __rxor__(self, other): return bitwise_xor(other, self)
    def __invert__(self): return bitwise_not(self)
    def __floordiv__(self, other): return floor_divide(self, other)
    def __rfloordiv__(self, other): return floor_divide(other, self)
    def __mod__(self, other): return remainder(self, other)
    def __rmod__(self, other): return remainder(other, self)
    def __lshift__(self, other): return bitwise_left_shift(self, other)
    def __rlshift__(self, other): return bitwise_left_shift(other, self)
    def __rshift__(self, other): return bitwise_right_shift(self, other)
    def __rrshift__(self, other): return bitwise_right_shift(other, self)
    def __ifloordiv__(self, other): return self._inplace(floor_divide, other, "//=")
    def __imod__(self, other): return self._inplace(remainder, other, "%=")
    def __iand__(self, other): return self._inplace(bitwise_and, other, "&=")
    def __ior__(self, other): return self._inplace(bitwise_or, other, "|=")
    def __ixor__(self, other): return self._inplace(bitwise_xor, other, "^=")
    def __ilshift__(self, other): return self._inplace(bitwise_left_shift, other, "<<=")
    def __irshift__(self, other): return self._inplace(bitwise_right_shift, other, ">>=")

    def bitwise_not_(self):
        """In place: ``~self`` (bitwise on integers, logical on bools).

        >>> cr.tensor([0, 5]).bitwise_not_()
        tensor([-1, -6], dtype=int64)
        """
        return self._inplace(lambda t, _: bitwise_not(t), None, "bitwise_not_")

    def bitwise_and_(self, other):
        """In place: ``self & other``.

        >>> cr.tensor([6, 3]).bitwise_and_(5)
        tensor([4, 1], dtype=int64)
        """
        return self._inplace(bitwise_and, other, "bitwise_and_")

    def bitwise_or_(self, other):
        """In place: ``self | other``.

        >>> cr.tensor([6, 3]).bitwise_or_(8)
        tensor([14, 11], dtype=int64)
        """
        return self._inplace(bitwise_or, other, "bitwise_or_")

    def bitwise_xor_(self, other):
        """In place: ``self ^ other``.

        >>> cr.tensor([6, 3]).bitwise_xor_(5)
        tensor([3, 6], dtype=int64)
        """
        return self._inplace(bitwise_xor, other, "bitwise_xor_")

    def bitwise_left_shift_(self, other):
        """In place: ``self << other``.

        >>> cr.tensor([1, 3]).bitwise_left_shift_(2)
        tensor([ 4, 12], dtype=int64)
        """
        return self._inplace(bitwise_left_shift, other, "bitwise_left_shift_")

    def bitwise_right_shift_(self, other):
        """In place: ``self >> other`` (arithmetic: the sign is kept).

        >>> cr.tensor([8, -8]).bitwise_right_shift_(2)
        tensor([ 2, -2], dtype=int64)
        """
        return self._inplace(bitwise_right_shift, other, "bitwise_right_shift_")

    def logical_and_(self, other):
        """In place: ``self and other``, elementwise, as 1 and 0 in this tensor's dtype.

        >>> cr.tensor([0., 2., 3.]).logical_and_(cr.tensor([1., 0., 5.]))
        tensor([0., 0., 1.], dtype=float32)
        """
        return self._logical_in_place(logical_and, other, "logical_and_")

    def logical_or_(self, other):
        """In place: ``self or other``, elementwise, as 1 and 0 in this tensor's dtype.

        >>> cr.tensor([0., 2., 0.]).logical_or_(cr.tensor([1., 0., 0.]))
        tensor([1., 1., 0.], dtype=float32)
        """
        return self._logical_in_place(logical_or, other, "logical_or_")

    def logical_xor_(self, other):
        """In place: ``self xor other``, elementwise, as 1 and 0 in this tensor's dtype.

        >>> cr.tensor([0., 2., 3.]).logical_xor_(cr.tensor([1., 0., 5.]))
        tensor([1., 1., 0.], dtype=float32)
        """
        return self._logical_in_place(logical_xor, other, "logical_xor_")

    def logical_not_(self):
        """In place: ``not self``, elementwise, as 1 and 0 in this tensor's dtype.

        >>> cr.tensor([0., 2.]).logical_not_()
        tensor([1., 0.], dtype=float32)
        """
        return self._logical_in_place(lambda t, _: logical_not(t), None, "logical_not_")

    def _logical_in_place(self, op, other, name):
        if self._changes_in_graph(other):
            # PyTorch leaves this change out of the graph: its backward then runs through the
            # old value's node, as if the old values had stayed. No gradient is right here.
            raise GradientError(
                f"t.{name}(...) on a tensor in a graph (requires_grad): PyTorch would give "
                f"gradients as if the old values had stayed, so chainrule refuses it; use "
                f"t.{name[:-1]}(...) (a new bool tensor, no gradient), or run it on "
                f"t.detach() or under `with cr.no_grad():`")
        return self._inplace(op, other, name)

    # -- methods: PyTorch's names and meanings, NumPy's keywords accepted -------------------
    def exp(self): return exp(self)
    def log(self): return log(self)
    def sqrt(self): return sqrt(self)
    def abs(self): return abs(self)
    def tanh(self): return tanh(self)
    def relu(self): return relu(self)
    def sigmoid(self): return sigmoid(self)
    def sign(self): return sign(self)

    def softmax(self, dim=-1, *, axis=None):
        return softmax(_floating("softmax", self), axis=_one_dim(dim, axis))

    def log_softmax(self, dim=-1, *, axis=None):
        return log_softmax(_floating("log_softmax", self), axis=_one_dim(dim, axis))

    def logsumexp(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        return logsumexp(self, *_reduced("logsumexp", self, dim, keepdim, axis, keepdims))

    def clip(self, min=None, max=None, *, low=None, high=None):
        low, high = min if low is None else low, max if high is None else high
        x = self
        bounds = [b for b in (low, high) if isinstance(b, (Tensor, ndarray))]
        if bounds:
            # Tensor bounds promote with x by PyTorch's rule, where a 0-d x yields to
            # dimensioned bounds (NumPy's maximum would not): clamp(int8 0-d, min=uint8
            # tensor) is uint8, x and bounds converted first (a 0-d uint8 x = 200 under int8
            # bounds is -56); it gave int16 and 200.
            arrays = [b._data if isinstance(b, Tensor) else b.reshape(b.shape or (1,))
                      for b in bounds]
            target = result_type([self._data] + arrays)
            if x.dtype != target:
                x = astype(x, dtype=target)
            low, high = (astype(b, dtype=target) if isinstance(b, Tensor) and
                         b.dtype != target else b for b in (low, high))
        return clip(x, low=low, high=high)

    clamp = clip

    def sum(self, dim=None, keepdim=False, *, axis=None, keepdims=None, dtype=None):
        x = self if dtype is None else self.astype(dtype)
        axis, keepdims = _reduced("sum", x, dim, keepdim, axis, keepdims)
        if x.dtype.kind in "bi" and dtype is None:
            x = x.astype(xp.int64)  # as PyTorch: integer sums do not overflow at 32 bits
        out = sum(x, axis=axis, keepdims=keepdims)
        if dtype is not None and out.dtype != x.dtype and x.dtype.kind in "biu":
            # A sum asked for in a narrower integer or bool: NumPy sums in int64; the cast
            # wraps as PyTorch's sum in that dtype does (modular), and bool is "any".
            out = out.astype(x.dtype)
        return out

    def mean(self, dim=None, keepdim=False, *, axis=None, keepdims=None, dtype=None):
        x = self if dtype is None else self.astype(dtype)
        if x.dtype.kind != "f":
            raise DtypeError(f"mean(): needs a floating-point tensor, got {x.dtype} (as in "
                             f"PyTorch); use t.float().mean() or mean(dtype=...)")
        axis, keepdims = _reduced("mean", x, dim, keepdim, axis, keepdims)
        return mean(x, axis=axis, keepdims=keepdims)

    def max(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        return _extreme(self, max, "max", dim, keepdim, axis, keepdims)

    def min(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        return _extreme(self, min, "min", dim, keepdim, axis, keepdims)

    def amax(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        axis, keep = _reduced("amax", self, dim, keepdim, axis, keepdims)
        if axis is None:  # every dim: PyTorch's amax, not max() (they differ at NaN's gradient)
            axis = tuple(range(self.ndim))
        return max(self, axis=axis, keepdims=keep)

    def amin(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        axis, keep = _reduced("amin", self, dim, keepdim, axis, keepdims)
        if axis is None:  # every dim: PyTorch's amin, not min() (they differ at NaN's gradient)
            axis = tuple(range(self.ndim))
        return min(self, axis=axis, keepdims=keep)

    def var(self, dim=None, unbiased=None, keepdim=False, *, correction=None, ddof=None,
            axis=None, keepdims=None):
        return var(_floating("var", self), *_reduced("var", self, dim, keepdim, axis, keepdims),
                   correction=_correction(dim, unbiased, correction, ddof))

    def std(self, dim=None, unbiased=None, keepdim=False, *, correction=None, ddof=None,
            axis=None, keepdims=None):
        return std(_floating("std", self), *_reduced("std", self, dim, keepdim, axis, keepdims),
                   correction=_correction(dim, unbiased, correction, ddof))

    def argmax(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        return _arg_extreme(self, xp.argmax, dim, keepdim, axis, keepdims)

    def argmin(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        return _arg_extreme(self, xp.argmin, dim, keepdim, axis, keepdims)

    def astype(self, dtype, copy=False):
        """This tensor converted to ``dtype`` (NumPy's name for ``to(dtype)``).

        >>> cr.tensor([1.7]).astype('int64')
        tensor([1], dtype=int64)
        """
        return astype(self, dtype=as_dtype(dtype), copy=copy)

    # PyTorch's conversions: differentiable into float dtypes, cutting the graph otherwise.
    def float(self):
        """This tensor as float32 (differentiable from float dtypes).

        >>> cr.tensor([1, 2]).float()
        tensor([1., 2.], dtype=float32)
        """
        return self.astype(xp.float32)
    def double(self):
        """This tensor as float64.

        >>> cr.tensor([1., 2.]).double().dtype
        dtype('float64')
        """
        return self.astype(xp.float64)
    def half(self):
        """This tensor as float16.

        >>> cr.tensor([1., 2.]).half().dtype
        dtype('float16')
        """
        return self.astype(xp.float16)
    def long(self):
        """This tensor as int64 (values truncated toward zero).

        >>> cr.tensor([1.9, -1.9]).long()
        tensor([ 1, -1], dtype=int64)
        """
        return self.astype(xp.int64)
    def int(self):
        """This tensor as int32.

        >>> cr.tensor([1.9]).int()
        tensor([1], dtype=int32)
        """
        return self.astype(xp.int32)
    def short(self):
        """This tensor as int16.

        >>> cr.tensor([1.9, -300.]).short()
        tensor([   1, -300], dtype=int16)
        """
        return self.astype(xp.int16)

    def char(self):
        """This tensor as int8 (PyTorch's name: a C char).

        >>> cr.tensor([1.9, -3.]).char()
        tensor([ 1, -3], dtype=int8)
        """
        return self.astype(xp.int8)

    def byte(self):
        """This tensor as uint8 (out-of-range values wrap around, as in PyTorch).

        >>> cr.tensor([3., 255.]).byte()
        tensor([  3, 255], dtype=uint8)
        """
        return self.astype(xp.uint8)

    def bool(self):
        """This tensor as bool (nonzero is True).

        >>> cr.tensor([0., 2.]).bool()
        tensor([False,  True], dtype=bool)
        """
        return self.astype(xp.bool_)

    def to(self, device=None, dtype=None, non_blocking=False, copy=False):
        """This tensor on ``device`` with ``dtype``, as PyTorch's ``to``: ``t.to(dtype)``,
        ``t.to("cpu")``, ``t.to(cr.device("cpu"), cr.float64)``, ``t.to(other)`` (other's
        dtype). The tensor itself when nothing changes, unless ``copy=True``. Only the CPU
        exists: another device raises a DeviceError.

        >>> cr.tensor([1, 2]).to(cr.float64)
        tensor([1., 2.], dtype=float64)
        >>> x = cr.tensor([1.])
        >>> x.to("cpu") is x, x.to("cpu", cr.float64).dtype
        (True, dtype('float64'))
        """
        if isinstance(device, Tensor):
            if dtype is not None:
                raise TypeError("to(other): give a tensor alone, or a device and a dtype")
            device, dtype = device.device, device.dtype
        elif device is not None and not is_device(device):
            if dtype is not None:
                raise TypeError(f"to({device!r}, {dtype!r}): the first argument is not a "
                                f"device; give to(device, dtype) or to(dtype)")
            device, dtype = None, device
        check_device(device, "to")
        if dtype is None or as_dtype(dtype) == self._data.dtype:
            return self.clone() if copy else self
        return self.astype(dtype, copy=copy)

    def dim(self):
        """The number of dimensions (``ndim``).

        >>> cr.zeros(2, 3).dim()
        2
        """
        return self._data.ndim

    def numel(self):
        """The number of elements.

        >>> cr.zeros(2, 3).numel()
        6
        """
        return self._data.size

    nelement = numel

    def size(self, dim=None):
        """The shape, or with ``dim`` the size of that dimension (``t.size(0)``), as in
        PyTorch. (NumPy's ``size``, the element count, is ``numel()``.)

        >>> x = cr.zeros(2, 3)
        >>> x.size()
        cr.Size([2, 3])
        >>> x.size(1)
        3
        """
        if dim is None:
            return Size.of_array(self._data)
        ndim = self._data.ndim or 1
        if not -ndim <= dim < ndim:
            raise IndexError(f"size: dim {dim} is out of range for a tensor of "
                             f"{self._data.ndim} dimensions")
        return self._data.shape[dim] if self._data.ndim else 1

    def type(self, dtype=None):
        """Without an argument the type's name (``"chainrule.FloatTensor"``); with a dtype,
        the tensor converted to it.

        >>> x = cr.tensor([1., 2.])
        >>> x.type()
        'chainrule.FloatTensor'
        >>> x.type(cr.int64)
        tensor([1, 2], dtype=int64)
        """
        if dtype is None:
            return f"chainrule.{_TYPE_NAMES.get(self._data.dtype.name, 'Tensor')}"
        if isinstance(dtype, str) and dtype.startswith(("torch.", "chainrule.")):
            names = {v: k for k, v in _TYPE_NAMES.items()}
            dtype = names.get(dtype.split(".", 1)[1], dtype)
        return self.astype(dtype)

    def type_as(self, other):
        """This tensor converted to ``other``'s dtype.

        >>> cr.tensor([1, 2]).type_as(cr.tensor([0.5]))
        tensor([1., 2.], dtype=float32)
        """
        return self.astype(other.dtype)
    def expand_as(self, other):
        """This tensor broadcast to ``other``'s shape.

        >>> cr.tensor([[1.], [2.]]).expand_as(cr.zeros(2, 3)).shape
        cr.Size([2, 3])
        """
        return self.expand(other.shape)
    def view_as(self, other):
        """This tensor reshaped to ``other``'s shape.

        >>> cr.arange(6).view_as(cr.zeros(2, 3)).shape
        cr.Size([2, 3])
        """
        return self.reshape(other.shape)
    def reshape_as(self, other):
        """This tensor reshaped to ``other``'s shape.

        >>> cr.arange(6).reshape_as(cr.zeros(3, 2)).shape
        cr.Size([3, 2])
        """
        return self.reshape(other.shape)
    def cpu(self):
        """This tensor itself: chainrule computes on the CPU.

        >>> x = cr.tensor([1.])
        >>> x.cpu() is x
        True
        """
        return self

    def cuda(self, device=None, non_blocking=False):
        """Refused with a DeviceError: chainrule has no GPU (``cr.cuda.is_available()`` is
        False), so code should choose its device with it.

        >>> cr.tensor([1.]).cuda()
        Traceback (most recent call last):
            ...
        chainrule.device.DeviceError: cuda(device='cuda'): chainrule computes with NumPy on the CPU only; use device='cpu' (or leave device out), and cr.cuda.is_available() to choose at run time
        """
        check_device("cuda" if device is None else device, "cuda")
        return self

    def contiguous(self):
        """This tensor if its memory is in C (row-major) order, else a C-ordered copy (the
        gradient flows back through it).

        >>> x = cr.zeros(3, 2).t()
        >>> x.is_contiguous(), x.contiguous().is_contiguous()
        (False, True)
        """
        if self._data.flags.c_contiguous:
            return self
        return contiguous(self)

    def stride(self, dim=None):
        """How many elements apart consecutive entries of each dimension lie in memory, as
        PyTorch's ``stride()``; with ``dim``, that dimension's stride.

        >>> x = cr.zeros(2, 3)
        >>> x.stride(), x.t().stride(), x.stride(1)
        ((3, 1), (1, 3), 1)
        """
        strides = [s // self._data.itemsize for s in self._data.strides]
        shape = self._data.shape
        for d in reversed(range(len(shape))):
            if shape[d] == 1 and strides[d] == 0:
                # NumPy gives a new axis (x[None]) stride 0; PyTorch gives a size-1 dimension
                # the stride it would have if it were contiguous with the next one. Both
                # address the same memory, as the dimension is never stepped along.
                strides[d] = strides[d + 1] * shape[d + 1] if d + 1 < len(shape) else 1
        strides = tuple(strides)
        if dim is None:
            return strides
        ndim = self._data.ndim
        if not -ndim <= dim < ndim:
            raise IndexError(f"stride: dim {dim} is out of range for a tensor of {ndim} "
                             f"dimensions")
        return strides[dim]

    def data_ptr(self):
        """The address of this tensor's first element: two tensors whose ``data_ptr()`` are
        equal start at the same memory.

        >>> x = cr.zeros(4)
        >>> x.view(2, 2).data_ptr() == x.data_ptr(), x[1:].data_ptr() == x.data_ptr()
        (True, False)
        """
        return self._data.__array_interface__["data"][0]

    def t(self):
        """The transpose of a matrix (a 0-d or 1-d tensor is returned as it is), as ``torch.t``.

        >>> cr.zeros(2, 3).t().shape
        cr.Size([3, 2])
        """
        if self._data.ndim > 2:
            raise ShapeError(f"t(): expects a tensor of at most 2 dimensions, got shape "
                             f"{self._data.shape}; use transpose(dim0, dim1)")
        return transpose(self) if self._data.ndim == 2 else self

    def clamp_min(self, min):
        """Each element at least ``min``.

        >>> cr.tensor([-1., 2.]).clamp_min(0)
        tensor([0., 2.], dtype=float32)
        """
        return self.clip(min, None)

    def clamp_max(self, max):
        """Each element at most ``max``.

        >>> cr.tensor([-1., 2.]).clamp_max(0)
        tensor([-1.,  0.], dtype=float32)
        """
        return self.clip(None, max)

    def is_contiguous(self):
        """Whether the memory is in C (row-major) order.

        >>> cr.zeros(2, 3).is_contiguous()
        True
        """
        return bool(self._data.flags.c_contiguous)
    def is_floating_point(self):
        """Whether the dtype is a float type.

        >>> cr.tensor([1]).is_floating_point()
        False
        """
        return self._data.dtype.kind == "f"
    def element_size(self):
        """Bytes per element.

        >>> cr.zeros(2).element_size()
        4
        """
        return self._data.itemsize

    def new_zeros(self, *size, dtype=None, device=None, requires_grad=False):
        """Zeros of the given size, with this tensor's dtype unless ``dtype``.

        >>> cr.tensor([1, 2]).new_zeros(3)
        tensor([0, 0, 0], dtype=int64)
        """
        check_device(device, "new_zeros")
        return Tensor._wrap(xp.zeros(_shape_arg(size), dtype=as_dtype(dtype or self.dtype)),
                      requires_grad=requires_grad)

    def new_ones(self, *size, dtype=None, device=None, requires_grad=False):
        """Ones of the given size, with this tensor's dtype unless ``dtype``.

        >>> cr.tensor([1.]).new_ones(2, 2).shape
        cr.Size([2, 2])
        """
        check_device(device, "new_ones")
        return Tensor._wrap(xp.ones(_shape_arg(size), dtype=as_dtype(dtype or self.dtype)),
                      requires_grad=requires_grad)

    def new_full(self, size, fill_value, dtype=None, device=None, requires_grad=False):
        """``fill_value`` everywhere, with this tensor's dtype unless ``dtype``.

        >>> cr.tensor([1.]).new_full((2,), 7)
        tensor([7., 7.], dtype=float32)
        """
        check_device(device, "new_full")
        dtype = as_dtype(dtype or self.dtype)  # a value must fit it, as in full()
        if not isinstance(fill_value, Tensor):
            fill_value = fill_number("new_full", fill_value, dtype)
        return Tensor._wrap(xp.full(tuple(size), fill_value, dtype=dtype),
                      requires_grad=requires_grad)

    def new_tensor(self, data, dtype=None, device=None, requires_grad=False):
        """A new tensor from ``data``, with this tensor's dtype unless ``dtype``.

        >>> cr.tensor([1.]).new_tensor([2, 3])
        tensor([2., 3.], dtype=float32)
        """
        check_device(device, "new_tensor")
        return Tensor._wrap(data, dtype=dtype or self.dtype, requires_grad=requires_grad)

    # In-place forms: outside a graph a plain update, inside one recorded (see _inplace).
    def add_(self, other, *, alpha=1):
        """In place: self += alpha * other.

        >>> x = cr.tensor([1., 2.])
        >>> x.add_(cr.tensor([1., 1.]), alpha=10)
        tensor([11., 12.], dtype=float32)
        """
        return self._inplace(add, times_alpha("add_", self, other, alpha), "add_")

    def sub_(self, other, *, alpha=1):
        """In place: self -= alpha * other.

        >>> cr.tensor([1., 2.]).sub_(1)
        tensor([0., 1.], dtype=float32)
        """
        return self._inplace(sub, times_alpha("sub_", self, other, alpha), "sub_")

    def mul_(self, other):
        """In place: self *= other.

        >>> cr.tensor([1., 2.]).mul_(3)
        tensor([3., 6.], dtype=float32)
        """
        return self._inplace(mul, other, "mul_")
    def div_(self, other):
        """In place: self /= other.

        >>> cr.tensor([1., 2.]).div_(2)
        tensor([0.5, 1. ], dtype=float32)
        """
        return self._inplace(div, other, "div_")

    subtract_, multiply_, divide_ = sub_, mul_, div_  # PyTorch's aliases

    def cumsum_(self, dim, *, dtype=None):
        """In place: the running sum along ``dim``.

        >>> cr.tensor([1., 2., 3.]).cumsum_(0)
        tensor([1., 3., 6.], dtype=float32)
        """
        return self._inplace(lambda t, _: t.cumsum(dim, dtype=dtype), None, "cumsum_")

    def cumprod_(self, dim, *, dtype=None):
        """In place: the running product along ``dim``.

        >>> cr.tensor([1., 2., 3.]).cumprod_(0)
        tensor([1., 2., 6.], dtype=float32)
        """
        return self._inplace(lambda t, _: t.cumprod(dim, dtype=dtype), None, "cumprod_")

    def lerp_(self, end, weight):
        """In place: self + weight * (end - self).

        >>> cr.tensor([0., 10.]).lerp_(cr.tensor([10., 20.]), 0.5)
        tensor([ 5., 15.], dtype=float32)
        """
        other = weight if getattr(weight, "requires_grad", False) else end
        return self._inplace(lambda t, _: t.lerp(end, weight), other, "lerp_")
    def pow_(self, other):
        """In place: self **= other.

        >>> cr.tensor([2., 3.]).pow_(2)
        tensor([4., 9.], dtype=float32)
        """
        return self._inplace(pow, other, "pow_")

    def clamp_(self, min=None, max=None):
        """In place: each element limited to [min, max].

        >>> cr.tensor([-1., 0.5, 2.]).clamp_(0, 1)
        tensor([0. , 0.5, 1. ], dtype=float32)
        """
        return self._inplace(lambda t, _: t.clip(min, max), None, "clamp_")

    clip_ = clamp_

    def fill_(self, value):
        """Every element set to ``value``.

        >>> cr.zeros(3).fill_(2.5)
        tensor([2.5, 2.5, 2.5], dtype=float32)
        """
        if not isinstance(value, Tensor):
            value = fill_number("fill_", value, self._data.dtype)  # 2.5 into an int tensor is 2
        # where, not t * 0 + v: an inf or nan already in t must not leak into the result.
        return self._inplace(lambda t, v: where(True, v, t), value, "fill_")

    def masked_fill_(self, mask, value):
        """In place: ``value`` where ``mask`` is True.

        >>> x = cr.tensor([1., -1.])
        >>> x.masked_fill_(x < 0, 0.0)
        tensor([1., 0.], dtype=float32)
        """
        return self._inplace(lambda t, v: t.masked_fill(mask, v), value, "masked_fill_")

    def scatter_add_(self, dim, index, src):
        """In place: ``src`` added at ``index`` along ``dim`` (``scatter_add``).

        >>> cr.zeros(3).scatter_add_(0, cr.tensor([0, 0, 2]), cr.tensor([1., 2., 3.]))
        tensor([3., 0., 3.], dtype=float32)
        """
        return self._inplace(lambda t, s: t.scatter_add(dim, index, s), src, "scatter_add_")

    def where(self, condition, other):
        """This tensor where ``condition`` holds, else ``other``: ``cr.where(condition, self,
        other)``, PyTorch's ``Tensor.where``.

        >>> cr.tensor([-1., 2.]).where(cr.tensor([False, True]), 0.0)
        tensor([0., 2.], dtype=float32)
        """
        return where(condition, self, other)

    def index_put_(self, indices, values, accumulate=False):
        """In place: ``values`` written (or with ``accumulate``, added) at
        ``self[indices]`` (``index_put``).

        >>> cr.zeros(3).index_put_((cr.tensor([1]),), cr.tensor(5.))
        tensor([0., 5., 0.], dtype=float32)
        """
        return self._inplace(lambda t, v: t.index_put(indices, v, accumulate), values,
                             "index_put_")
    def view(self, *shape):
        """The same memory seen in a new shape, as PyTorch's ``view``: writing into the view
        writes into this tensor. Where the strides allow no such view (e.g. ``t().view(-1)``)
        it raises, as PyTorch does; ``reshape`` copies in that case. ``view(dtype)``
        reinterprets the bits as another dtype (not differentiable).

        >>> x = cr.arange(6)
        >>> v = x.view(2, 3)
        >>> v[0, 0] = 100
        >>> x
        tensor([100,   1,   2,   3,   4,   5], dtype=int64)
        >>> cr.tensor([1.0]).view(cr.int32)
        tensor([1065353216], dtype=int32)
        """
        if len(shape) == 1 and not isinstance(shape[0], (int, tuple, list, Size)) \
                and not hasattr(shape[0], "__index__"):
            return _view_as_dtype(self, shape[0])
        return reshape(self, shape=_view_shape(self._data, _shape_arg(shape)))

    def transpose(self, *dims):
        """``transpose(dim0, dim1)`` swaps two dimensions (PyTorch). NumPy's forms, a full
        permutation ``transpose((2, 0, 1))`` or no argument (reverse), are accepted too.

        >>> cr.zeros(2, 3, 4).transpose(0, 2).shape
        cr.Size([4, 3, 2])
        """
        if len(dims) == 2 and all(isinstance(d, int) for d in dims):
            return swapaxes(self, *dims)
        return transpose(self, axes=_axes_arg(dims))

    def permute(self, *dims): return permute(self, _axes_arg(dims))
    def swapaxes(self, axis1, axis2): return swapaxes(self, axis1, axis2)
    def broadcast_to(self, shape): return broadcast_to(self, shape=tuple(shape))
    def expand_dims(self, axis):
        """A new size-1 dimension at ``axis`` (NumPy's name for ``unsqueeze``).

        >>> cr.zeros(3).expand_dims(0).shape
        cr.Size([1, 3])
        """
        return expand_dims(self, axis)
    def unsqueeze(self, dim): return expand_dims(self, dim)

    def squeeze(self, dim=None, *, axis=None):
        """Drop dimensions of size 1: all of them, or those of ``dim`` (an int or a tuple)
        that have size 1; a named dimension of another size is left alone, as in PyTorch.

        >>> cr.zeros(2, 1, 3).squeeze(1).shape
        cr.Size([2, 3])
        """
        return squeeze(self, _one_dim(dim, axis, default=None))

    def flatten(self, start_dim=0, end_dim=-1):
        return flatten(self, start_dim, end_dim)

    def reshape(self, *shape):
        return reshape(self, shape=shape[0] if len(shape) == 1 and not isinstance(shape[0], int) else shape)


# Ops whose result can be a view of their input's memory (see detach_).
_VIEW_OPS = frozenset({"getitem", "reshape", "transpose", "broadcast_to"})

_TYPE_NAMES = {"float32": "FloatTensor", "float64": "DoubleTensor", "float16": "HalfTensor",
               "int64": "LongTensor", "int32": "IntTensor", "int16": "ShortTensor",
               "int8": "CharTensor", "uint8": "ByteTensor", "bool": "BoolTensor"}


def _shape_arg(size):
    return tuple(size[0]) if len(size) == 1 and not isinstance(size[0], int) else tuple(size)


class ViewError(ShapeError, RuntimeError):
    """``view()`` was asked for a shape or dtype that no view of the tensor's memory can give
    (PyTorch raises RuntimeError there too); ``reshape`` copies instead.

    >>> cr.zeros(3, 2).t().view(-1)
    Traceback (most recent call last):
        ...
    chainrule.tensor.ViewError: view((-1,)): a tensor of shape (2, 3) with strides (1, 2) cannot be viewed with shape (6,) without copying (at least one dimension spans across two contiguous subspaces); use .reshape(...) to copy, or .contiguous().view(...)
    """


def _view_shape(array, shape):
    """``shape`` with -1 worked out, checked to be a view of ``array``'s memory."""
    sizes = [int(n) for n in shape]
    if sizes.count(-1) > 1:
        raise ViewError(f"view({tuple(shape)}): only one dimension can be inferred (-1)")
    if any(n < -1 for n in sizes):
        bad = next(n for n in sizes if n < -1)  # (min is the tensor op in this module)
        raise ViewError(f"view({tuple(shape)}): invalid size {bad}")
    known = 1
    for n in sizes:
        known *= n if n != -1 else 1
    if -1 in sizes:
        if known == 0 or array.size % known:
            raise ViewError(f"view({tuple(shape)}): shape {list(shape)} is invalid for a "
                            f"tensor of {array.size} elements (shape {array.shape})")
        sizes[sizes.index(-1)] = array.size // known
    elif known != array.size:
        raise ViewError(f"view({tuple(shape)}): shape {list(shape)} is invalid for a tensor "
                        f"of {array.size} elements (shape {array.shape})")
    sizes = tuple(sizes)
    try:
        xp.reshape(array, sizes, copy=False)
    except ValueError:
        strides = tuple(s // array.itemsize for s in array.strides)
        raise ViewError(
            f"view({tuple(shape)}): a tensor of shape {array.shape} with strides {strides} "
            f"cannot be viewed with shape {sizes} without copying (at least one dimension "
            f"spans across two contiguous subspaces); use .reshape(...) to copy, or "
            f".contiguous().view(...)") from None
    return sizes


def _view_as_dtype(tensor, dtype):
    """``tensor.view(dtype)``: the same bytes read as ``dtype``, as PyTorch (no gradient)."""
    dtype = as_dtype(dtype)
    array = tensor._data
    old, new = array.itemsize, dtype.itemsize
    if old != new:
        if array.ndim == 0:
            raise ViewError(f"view({dtype}): a 0-d {array.dtype} tensor cannot be viewed as "
                            f"{dtype}, whose elements have a different size")
        if old < new and array.shape[-1] % (new // old):
            raise ViewError(f"view({dtype}): the last dimension ({array.shape[-1]}) must be "
                            f"divisible by {new // old} to view {array.dtype} as {dtype} "
                            f"(different element sizes)")
        if array.shape[-1] != 1 and array.strides[-1] != old:
            raise ViewError(f"view({dtype}): the last dimension must have stride 1 to view "
                            f"{array.dtype} as {dtype} (different element sizes), but its "
                            f"stride is {array.strides[-1] // old}")
    if array.ndim and array.shape[-1] == 1 and old != new:
        array = array.reshape(array.shape)  # a fresh view whose size-1 stride NumPy accepts
    return Tensor._make(array.view(dtype), None)


class GradFn:
    """The backward function of a tensor that an op made (``t.grad_fn``), as PyTorch's:
    ``name()`` such as ``"MulBackward0"``, and ``next_functions``, one ``(function, 0)`` pair
    per input (None for an input that needs no gradient, an ``AccumulateGrad`` for a leaf).

    >>> x = cr.tensor([1., 2.], requires_grad=True)
    >>> f = (x.exp() * 2).grad_fn
    >>> f.name(), f.next_functions[0][0].name()
    ('MulBackward0', 'ExpBackward0')
    """

    __slots__ = ("node",)

    def __init__(self, node):
        self.node = node

    def name(self):
        """PyTorch-style name: the op's name in CamelCase, then ``Backward0``.

        >>> (cr.tensor([1.], requires_grad=True).sum()).grad_fn.name()
        'SumBackward0'
        """
        if self.node.op is None:
            return "AccumulateGrad"
        return "".join(part.capitalize() for part in self.node.op.name.split("_")) + \
            "Backward0"

    @property
    def next_functions(self):
        """``(function, 0)`` for each input of the op; None where no gradient flows."""
        return tuple((None if parent is None else GradFn(parent), 0)
                     for parent in self.node.parents)

    @property
    def variable(self):
        """For an ``AccumulateGrad``, the leaf tensor it fills; None otherwise."""
        ref = self.node.tensor_ref
        return ref() if self.node.op is None and ref is not None else None

    def __eq__(self, other):
        return isinstance(other, GradFn) and other.node is self.node

    def __hash__(self):
        return hash(id(self.node))

    def __repr__(self):
        return f"<{self.name()} object>"


def _dims(dim, keepdim, axis, keepdims):
    """``(axis, keepdims)`` from PyTorch's ``dim``/``keepdim`` or NumPy's ``axis``/``keepdims``."""
    if axis is not None:
        if dim is not None:
            raise TypeError("give dim= or axis=, not both")
        dim = axis
    if isinstance(dim, list):
        dim = tuple(dim)
    return dim, bool(keepdim if keepdims is None else keepdims)


def _reduced(name, x, dim, keepdim, axis, keepdims):
    """``_dims`` for the reductions that take a list of dims, with PyTorch's two readings that
    NumPy lacks: an empty list reduces every dim (NumPy's axis=() reduces none), and a 0-d
    tensor takes dim 0 or -1 as its one dim."""
    dim, keep = _dims(dim, keepdim, axis, keepdims)
    if dim == ():
        if name in ("var", "std") and engine.mode.enabled and x.requires_grad:
            raise GradientError(
                f"{name}(dim=()): PyTorch reduces every dim, but its gradient is not that "
                f"reduction's (-inf or N times too large); chainrule refuses it rather than "
                f"give another: pass dim=None to reduce every dim")
        return None, keep
    if x.ndim == 0 and dim is not None:
        dims = dim if isinstance(dim, tuple) else (dim,)
        for d in dims:
            axis_of(name, d, 1)  # refuses what PyTorch refuses, naming the op
        if len(dims) > 1:
            raise DimError(f"{name}: dim {dims[1]} appears multiple times in the list of dims")
        return None, keep
    return dim, keep


def _floating(name, x):
    if x.dtype.kind != "f":
        raise DtypeError(f"{name}(): needs a floating-point tensor, got {x.dtype} (as in "
                         f"PyTorch); use t.float().{name}(...)")
    return x


def _one_dim(dim, axis, default=-1):
    if axis is not None:
        return axis
    return dim if dim is not None else default


def _correction(dim, unbiased, correction, ddof):
    """The divisor's correction: N - 1 by default (PyTorch's unbiased estimate)."""
    if isinstance(dim, bool):  # x.var(False): PyTorch's old positional unbiased
        unbiased = dim
    given = [v for v in (unbiased, correction, ddof) if v is not None]
    if len(given) > 1:
        raise TypeError("var/std: give one of unbiased=, correction= or ddof=")
    if unbiased is not None:
        return 1 if unbiased else 0
    return correction if correction is not None else ddof if ddof is not None else 1


def _extreme(x, reduce, name, dim, keepdim, axis, keepdims):
    if isinstance(dim, Tensor):  # x.max(other): the elementwise maximum, as in PyTorch
        return (maximum if name == "max" else minimum)(x, dim)
    # axis=/keepdims= are PyTorch's own aliases of dim=/keepdim= (np.max has NumPy's meaning).
    dim, keep = _dims(dim, keepdim, axis, keepdims)
    if isinstance(dim, bool):
        raise TypeError(f"{name}(): dim must be an int, got {dim!r}")
    if dim is None:  # the value alone: ties share the gradient, as amax does
        return reduce(x, axis=None, keepdims=False)
    # PyTorch's x.max(dim): values and indices; the gradient goes to the index returned.
    if isinstance(dim, (tuple, list)):
        raise TypeError(f"{name}(dim): dim must be a single int (use amax for several)")
    dim = axis_of(name, dim, x.ndim)
    if not x.ndim:
        return MinMax(x * 1, Tensor._make(xp.zeros((), dtype=xp.int64), None))
    pick = xp.argmax if name == "max" else xp.argmin
    indices = xp.expand_dims(pick(x._data, axis=dim), dim)
    values = take_along_axis(x, indices, dim)
    if not keep:
        values = squeeze(values, dim)
        indices = xp.squeeze(indices, dim)
    return MinMax(values, Tensor._make(indices.astype(xp.int64), None))


def _arg_extreme(x, pick, dim, keepdim, axis, keepdims):
    axis, keep = _dims(dim, keepdim, axis, keepdims)
    if axis is not None:
        axis = axis_of(pick.__name__, axis, x.ndim)
        if not x.ndim:
            return Tensor._make(xp.zeros((), dtype=xp.int64), None)
    found = pick(x._data, axis=axis, keepdims=keep) if axis is not None else pick(x._data)
    if axis is None and keep:  # PyTorch keeps every dim, at size 1
        found = xp.reshape(found, (1,) * x.ndim)
    return Tensor._make(xp.asarray(found, dtype=xp.int64), None)


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
            "loss.item() instead (a Python float)", RuntimeWarning, stacklevel=4)


def _engine_hook(hook):
    """``hook`` as the engine calls it: with the gradient the engine holds (an array, or a tensor
    with create_graph) and returning the same kind, while the user's hook sees tensors."""
    def run(grad):
        graph = isinstance(grad, Tensor)
        result = hook(grad if graph else Tensor._make(grad, None))
        if result is None:
            return grad
        if not isinstance(result, Tensor):
            result = Tensor._make(xp.asarray(result), None)
        return result if graph else result._data
    return run


class _HookHandle:
    def __init__(self, hooks, hook):
        self._hooks, self._hook = hooks, hook

    def remove(self):
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)


def _axes_arg(axes):
    if len(axes) == 1 and not isinstance(axes[0], int):
        return tuple(axes[0])
    return axes or None


def _unwrap_index(index):
    if isinstance(index, Tensor):
        return uint8_as_mask(index._data)
    if isinstance(index, tuple):
        index = tuple(_basic_as_pytorch(uint8_as_mask(i._data)) if isinstance(i, Tensor) else
                      xp.asarray(i) if isinstance(i, list) else
                      _basic_as_pytorch(uint8_as_mask(i)) for i in index)
        _refuse_split_advanced_index(index)
        for part in index:
            _refuse_negative_step(part)
        return index
    if isinstance(index, list):
        return xp.asarray(index)
    _refuse_negative_step(index)
    return uint8_as_mask(index)


def uint8_as_mask(part):
    """PyTorch reads a uint8 index as a bool mask (deprecated, with a warning), not as integer
    positions as NumPy would: x[tensor([1, 0, 1], dtype=uint8)] is rows 0 and 2."""
    if isinstance(part, ndarray) and part.dtype == xp.uint8:
        warnings.warn("indexing with dtype uint8 is deprecated (as in PyTorch), and reads it as "
                      "a bool mask; use a bool tensor", UserWarning, stacklevel=4)
        return part.astype(bool)
    return part


def _refuse_negative_step(part):
    """A negative step would be a view with negative strides, which PyTorch has no notion of
    (it raises); flip() makes the reversed copy that PyTorch makes."""
    if isinstance(part, slice) and part.step is not None and part.step < 1:
        raise ValueError(f"index {part}: step must be greater than zero, as in PyTorch; use "
                         f".flip(dim) to reverse")


def _basic_as_pytorch(part):
    """PyTorch reads a 0-d integer tensor (or a NumPy integer) in an index tuple as an int;
    NumPy reads it as an index array, which can move the result's axes (x[tensor(1), :,
    tensor([0, 1])] is (4, 2) in PyTorch, (2, 4) in NumPy, for x of shape (3, 4, 5))."""
    if isinstance(part, (ndarray, xp.integer)) and part.ndim == 0 and part.dtype.kind in "iu":
        return int(part)
    return part


def _refuse_split_advanced_index(index):
    """NumPy and PyTorch order the result's axes differently when integers and index arrays
    (bool masks, True and False included) are separated by a slice (x[0, :, [0, 1]]): NumPy
    must not read it. The error carries PyTorch's reading in two steps, which __getitem__ and
    __setitem__ take instead."""
    arrays = [i for i, part in enumerate(index) if isinstance(part, bool) or isinstance(
        part, ndarray) and (part.dtype == bool or part.ndim > 0)]
    if not arrays:
        return
    advanced = [i for i, part in enumerate(index) if i in arrays or isinstance(part, int)
                and not isinstance(part, bool)]
    if advanced[-1] - advanced[0] + 1 != len(advanced) and any(
            i not in arrays for i in advanced):
        raise _SplitAdvancedIndex(
            f"index {index!r}: integers and index arrays separated by a slice order the "
            f"result's axes differently in NumPy and PyTorch; index in two steps instead, "
            f"e.g. x[0][:, [0, 1]]", _in_two_steps(index, arrays))


class _SplitAdvancedIndex(IndexError):
    def __init__(self, message, steps):
        super().__init__(message)
        self.steps = steps


def _in_two_steps(index, arrays):
    """PyTorch's reading of such an index, as two NumPy ones: the integers first (each
    removes its dim, as PyTorch's select), then the index arrays on what is left."""
    first, second = [], []
    for i, part in enumerate(index):
        if i in arrays:
            first += [slice(None)] * (part.ndim if getattr(part, "dtype", None) == bool else
                                      0 if isinstance(part, bool) else 1)
            second.append(part)
        elif isinstance(part, int):
            first.append(part)
        else:
            first.append(part)
            second.append(Ellipsis if part is Ellipsis else slice(None))
    return tuple(first), tuple(second)


def _viewed_tensors(view):
    """The tensors whose memory ``view`` changes, from the one it was made from outwards, each
    with its view op, the op's keyword arguments and a copy of its values before the change."""
    chain = []
    found = engine.viewed_by(view)
    while found is not None and len(chain) < 32:
        tensor, view_op, kwargs, _ = found
        if not _refresh_view(tensor):
            engine.check_not_stale(f"{view_op.name} (viewed by an in-place change)", tensor)
        chain.append((tensor, view_op, kwargs, Tensor._make(tensor._data.copy(), tensor.node)))
        found = engine.viewed_by(tensor)
    return chain


def _viewed_leaf(tensor):
    """The leaf that requires grad whose memory ``tensor`` views, if any, found up the graph
    through each node's first input (a view op takes the viewed tensor first)."""
    node, memory = tensor.node, engine._base_buffer(tensor._data)
    for _ in range(32):
        if node is None:
            return None
        if node.op is None:
            leaf = node.tensor_ref() if node.tensor_ref is not None else None
            if leaf is not None and leaf.requires_grad and \
                    engine._base_buffer(leaf._data) is memory:
                return leaf
            return None
        node = node.parents[0] if node.parents else None
    return None


def _root_node(tensor):
    if tensor.node is None:
        tensor.node = Node.leaf(tensor)
    return tensor.node


def _seed_gradient(output, grad, create_graph):
    if grad is None:
        if output._data.size != 1:
            raise GradientError(
                f"backward() without a gradient needs a scalar output, but this tensor has shape "
                f"{output.shape}; reduce it first (e.g. loss.sum() or loss.mean()) or pass "
                f"grad= of shape {output.shape}")
        grad = xp.ones_like(output._data)
    else:
        grad = as_array(grad).astype(output.dtype, copy=False)
        if grad.shape != output.shape:
            raise GradientError(f"backward(): grad has shape {grad.shape} but the output has "
                                f"shape {output.shape}")
    return Tensor._make(grad, None) if create_graph else grad


def tensor(data, dtype=None, device=None, requires_grad=False):
    """A new tensor holding a copy of ``data`` (as ``torch.tensor``). Python floats become
    the default float dtype (float32 unless ``set_default_dtype`` changed it) and Python ints
    int64; NumPy arrays keep their dtype unless ``dtype`` is given.

    >>> cr.tensor([1, 2])
    tensor([1, 2], dtype=int64)
    >>> cr.tensor([1.5, 2.0], dtype=cr.float64, requires_grad=True)
    tensor([1.5, 2. ], dtype=float64, requires_grad=True)
    """
    check_device(device, "tensor")
    return Tensor._wrap(data, dtype=dtype, requires_grad=requires_grad)


def as_input(x):
    """``x`` itself if it is a Tensor, else a new tensor of it: how the library's functions take
    an argument that may be a list, a number or an array.

    >>> from chainrule.tensor import as_input
    >>> t = cr.ones(2)
    >>> as_input(t) is t, as_input([1, 2])
    (True, tensor([1, 2], dtype=int64))
    """
    return x if isinstance(x, Tensor) else tensor(x)


def as_tensor(data, dtype=None, device=None):
    """A tensor that shares ``data``'s memory when it is an ndarray of the right dtype (as
    ``torch.as_tensor``): changing one changes the other. Otherwise a copy.

    >>> a = np.array([1., 2.])
    >>> t = cr.as_tensor(a)
    >>> a[0] = 9.0
    >>> t
    tensor([9., 2.], dtype=float64)
    """
    check_device(device, "as_tensor")
    if isinstance(data, Tensor):  # itself, or converted in the graph, as PyTorch's
        return data if dtype is None else data.to(dtype)
    other_order = isinstance(data, ndarray) and not data.dtype.isnative
    return Tensor._make(as_array(data, dtype, copy=other_order), None)


def from_numpy(array):
    """A tensor sharing ``array``'s memory (as ``torch.from_numpy``): changing one changes the
    other, including after the tensor was used in a forward pass (backward then raises).

    >>> a = np.zeros(2, dtype=np.float32)
    >>> t = cr.from_numpy(a)
    >>> t[1] = 5.0
    >>> a
    array([0., 5.], dtype=float32)
    """
    if not isinstance(array, ndarray):
        raise TypeError(f"from_numpy: expected an ndarray, got {type(array).__name__}")
    return Tensor._make(as_array(array, copy=False), None)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         allow_unused=False):
    """Gradients of ``outputs`` with respect to ``inputs``, returned instead of stored in
    ``.grad``. With ``create_graph=True`` they carry their own graph (for higher derivatives).

    >>> x = cr.tensor([1., 2.], requires_grad=True)
    >>> cr.grad((x ** 3).sum(), x)
    (tensor([ 3., 12.], dtype=float32),)
    """
    single = isinstance(inputs, Tensor)
    inputs = [inputs] if single else list(inputs)
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    elif isinstance(grad_outputs, Tensor) or not isinstance(grad_outputs, (list, tuple)):
        grad_outputs = [grad_outputs]
    for t in outputs:
        if not t.requires_grad:
            raise GradientError(
                "grad(): an output does not require grad, so nothing to differentiate: it was "
                "computed under no_grad(), from tensors that do not require grad, or it is a "
                "gradient that does not depend on the inputs (of a piecewise-linear function "
                "such as relu: its own gradient is zero; PyTorch answers zeros there for relu, "
                "hardtanh and leaky_relu, and raises for clamp and maximum)")
    for t in inputs:
        if not t.requires_grad:
            raise GradientError(f"grad(): an input of shape {t.shape} does not require grad")
    retain = create_graph if retain_graph is None else retain_graph
    seeds = [_seed_gradient(o, g, create_graph) for o, g in zip(outputs, grad_outputs)]
    nodes = [_root_node(t) for t in inputs]
    kept = backward_pass([_root_node(o) for o in outputs], seeds, retain, create_graph,
                         capture=set(nodes))
    results = []
    for t, node in zip(inputs, nodes):
        gradient = kept.get(node)
        if gradient is None:
            if not allow_unused:
                raise GradientError(
                    f"grad(): an input of shape {t.shape} was not used to compute the outputs; "
                    f"pass allow_unused=True to get None for it")
            results.append(None)
        elif create_graph:
            results.append(gradient.value)
        else:
            results.append(Tensor._make(gradient.take(), None))
    return tuple(results)


# The methods above call these; importing them last lets the ops import Tensor first.
from .ops import (abs, add, astype, bitwise_and, bitwise_not, bitwise_or,  # noqa: E402
                  bitwise_xor, broadcast_to, clip, div, equal, exp, expand_dims, flatten,
                  getitem, greater, greater_equal, index_put, less, less_equal, log,
                  log_softmax, logsumexp, matmul, max, maximum, mean, min, minimum, mul, neg,
                  not_equal, permute, pow, reciprocal, relu, reshape, sigmoid, sign, softmax, sqrt,
                  squeeze,
                  std,
                  sub, sum, swapaxes, take_along_axis, tanh, transpose, var, where,
                  bitwise_left_shift, bitwise_right_shift, floor_divide, remainder,
                  logical_and, logical_not, logical_or, logical_xor)
from .ops.memory import contiguous  # noqa: E402
from .ops.primitive import _refresh_view  # noqa: E402
from .ops.shape import axis_of, without_leading_ones  # noqa: E402


def times_alpha(name, input, other, alpha):
    """alpha * other as PyTorch computes it: in the dtype input and other promote to (2.5 +
    alpha * uint8 is float32 arithmetic, not a uint8 product that wraps), with alpha refused
    where that dtype cannot hold it (a float alpha for integers, a bool one for numbers, an int
    beyond the dtype's range)."""
    operands = [a._data if isinstance(a, Tensor) else a for a in (input, other)]
    target = result_type([xp.asarray(a) if isinstance(a, xp.generic) else a
                                 for a in operands])
    if isinstance(alpha, (bool, xp.bool_)) and target != xp.bool_:
        raise DtypeError(f"{name}: a bool alpha is only supported for bool results, here "
                         f"{target} (as in PyTorch)")
    if isinstance(alpha, numbers.Real) and not isinstance(alpha, numbers.Integral) and \
            target.kind in "iub":
        raise DtypeError(f"{name}: for integral input tensors ({target}), alpha must not be a "
                         f"floating point number, got {alpha!r} (as in PyTorch)")
    if name.startswith("sub") and (isinstance(other, (bool, xp.bool_)) or
                          getattr(other, "dtype", None) == xp.bool_):
        return other  # which sub refuses, as PyTorch
    if type(alpha) is int and not -2 ** 63 <= alpha < 2 ** 64:
        fill_number(name, alpha, target)  # refused for every dtype, as PyTorch
    if target == xp.bool_:
        if not isinstance(other, Tensor):
            return bool(other) and bool(alpha)
        return other if alpha else mul(other, False)
    if alpha == 1:
        return other
    fill_number(name, alpha, target)  # alpha must fit the dtype (int8 and 300: refused)
    if not isinstance(other, Tensor):
        return other * alpha  # two numbers: their product joins as one number would
    if other.dtype != target:
        other = astype(other, dtype=target)
    return mul(other, alpha)
