"""Making tensors the PyTorch way: ``cr.zeros(2, 3)``, ``cr.arange(5)``, ``cr.randn(4, 4)``.

Sizes are given as ints or as one tuple or list. Floating-point results take the default dtype
(float32 unless ``cr.set_default_dtype`` changed it) unless ``dtype=`` says otherwise; random
values come from the library's generator (``manual_seed`` governs them) unless ``generator=``
is given. ``requires_grad=True`` makes a leaf to learn.
"""
import math
import numbers

from .backend import xp
from .device import check_device
from .dtypes import as_dtype, default_float, fill_number, scalar_dtype
from .errors import ArgumentError, DtypeError
from .random import resolve
from .tensor import Tensor


def _size(size, name):
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    for n in size:
        if isinstance(n, bool) or not isinstance(n, numbers.Integral):
            raise TypeError(f"{name}: sizes must be ints, got {size!r}")
        if n < 0:
            raise ArgumentError(f"{name}: sizes must be non-negative, got {size!r}")
    return tuple(int(n) for n in size)


def _make(array, dtype, requires_grad):
    array = array.astype(default_float() if dtype is None else as_dtype(dtype), copy=False)
    return Tensor._make(array, None).requires_grad_(requires_grad) if requires_grad else \
        Tensor._make(array, None)


def zeros(*size, dtype=None, device=None, requires_grad=False):
    """A tensor of zeros of the given size (the default float dtype unless ``dtype``).

    >>> cr.zeros(2, 3).shape
    cr.Size([2, 3])
    """
    check_device(device, "zeros")
    return _make(xp.zeros(_size(size, "zeros")), dtype, requires_grad)


def ones(*size, dtype=None, device=None, requires_grad=False):
    """A tensor of ones of the given size.

    >>> cr.ones(2, dtype=cr.int64)
    tensor([1, 1], dtype=int64)
    """
    check_device(device, "ones")
    return _make(xp.ones(_size(size, "ones")), dtype, requires_grad)


def empty(*size, dtype=None, device=None, requires_grad=False):
    """Like ``zeros``: chainrule never hands out uninitialised memory.

    >>> cr.empty(2).shape
    cr.Size([2])
    """
    check_device(device, "empty")
    return _make(xp.zeros(_size(size, "empty")), dtype, requires_grad)


def full(size, fill_value, *, dtype=None, device=None, requires_grad=False):
    """A tensor of ``fill_value``; its dtype follows the value (the default float, int64 or bool).

    >>> cr.full((2,), 7.0)
    tensor([7., 7.], dtype=float32)
    """
    check_device(device, "full")
    size = _size((size,) if isinstance(size, numbers.Integral) else tuple(size), "full")
    dtype = scalar_dtype(fill_value) if dtype is None else as_dtype(dtype)
    if not isinstance(fill_value, Tensor):
        fill_value = fill_number("full", fill_value, dtype)
    return _make(xp.full(size, fill_value), dtype, requires_grad)


def arange(start, end=None, step=1, *, dtype=None, device=None, requires_grad=False):
    """``start, start + step, ...`` up to ``end`` (excluded); int64 when every bound is an int.

    >>> cr.arange(5)
    tensor([0, 1, 2, 3, 4], dtype=int64)
    >>> cr.arange(0, 1, 0.25)
    tensor([0.  , 0.25, 0.5 , 0.75], dtype=float32)
    """
    check_device(device, "arange")
    if end is None:
        start, end = 0, start
    if step == 0:
        raise ArgumentError("arange: step must not be 0")
    if (end - start) * step < 0:  # NumPy answers an empty range
        raise ArgumentError(f"arange: the bounds {start!r} and {end!r} are inconsistent with "
                            f"the step's sign ({step!r}), as PyTorch says")
    if dtype is None:
        ints = all(isinstance(v, numbers.Integral) for v in (start, end, step))
        dtype = xp.int64 if ints else default_float()
    _no_bool_ranges("arange", dtype)
    if as_dtype(dtype).kind in "iu":
        return _make(_integer_range(start, end, step, as_dtype(dtype)), dtype, requires_grad)
    return _make(xp.arange(start, end, step, dtype=xp.float64 if as_dtype(dtype).kind == "f"
                           else None), dtype, requires_grad)


def _integer_range(start, end, step, dtype):
    """PyTorch's integer arange: start and step truncated to integers, the length from the
    integer bounds for int64 and from the numbers as given for the other integer dtypes, so
    arange(0, 5, 1.5, dtype=int64) is [0, 1, 2, 3, 4] and with uint8 [0, 1, 2, 3] (NumPy's
    float range cast afterwards gave [0, 1, 3, 4])."""
    first, stride = int(start), int(step)
    if stride == 0:
        raise ArgumentError(f"arange: step {step!r} is 0 as an integer, which {dtype} needs "
                            f"(PyTorch truncates it too)")
    last = int(end)
    if dtype == xp.int64:
        count = -(-(last - first) // stride)  # ceil
    else:
        count = math.ceil((end - start) / step)
    return (first + stride * xp.arange(count, dtype=xp.int64)).astype(dtype)


def linspace(start, end, steps, *, dtype=None, device=None, requires_grad=False):
    """``steps`` evenly spaced values from ``start`` to ``end``, both included.

    >>> cr.linspace(0, 1, 5)
    tensor([0.  , 0.25, 0.5 , 0.75, 1.  ], dtype=float32)
    """
    check_device(device, "linspace")
    if isinstance(steps, bool) or not isinstance(steps, numbers.Integral) or steps < 0:
        raise ValueError(f"linspace: steps must be a non-negative int, got {steps!r}")
    _no_bool_ranges("linspace", dtype)
    return _make(xp.linspace(start, end, steps), dtype, requires_grad)


def logspace(start, end, steps, base=10.0, *, dtype=None, device=None, requires_grad=False):
    """``steps`` values from ``base ** start`` to ``base ** end``, evenly spaced in the
    exponent, both ends included.

    >>> cr.logspace(0, 2, 3)
    tensor([  1.,  10., 100.], dtype=float32)
    """
    check_device(device, "logspace")
    if isinstance(steps, bool) or not isinstance(steps, numbers.Integral) or steps < 0:
        raise ValueError(f"logspace: steps must be a non-negative int, got {steps!r}")
    _no_bool_ranges("logspace", dtype)
    if dtype is not None and as_dtype(dtype).kind in "iu":
        start, end = int(start), int(end)  # as PyTorch's, whose integer logspace truncates them
    return _make(xp.power(float(base), xp.linspace(start, end, steps)), dtype, requires_grad)


def _no_bool_ranges(name, dtype):
    if dtype is not None and as_dtype(dtype) == xp.bool_:
        raise DtypeError(f"{name}: not implemented for bool (as in PyTorch): a range of bools "
                         f"has no meaning; make it in an integer dtype and compare")


def eye(n, m=None, *, dtype=None, device=None, requires_grad=False):
    """The identity matrix, ``n`` by ``m`` (square by default).

    >>> cr.eye(2)
    tensor([[1., 0.],
            [0., 1.]], dtype=float32)
    """
    check_device(device, "eye")
    return _make(xp.eye(*_size((n, n if m is None else m), "eye")), dtype, requires_grad)


def drawn(generator, method, args, size, dtype):
    """An array of ``size`` from ``generator``'s NumPy ``method`` (``random``,
    ``standard_normal``, ``normal``, ``integers``) with ``args`` before the size, in ``dtype``
    (the default float if None). Every random tensor made here is drawn through this function,
    so that cr.compile replays it as a new draw at each call, as eager code would draw it.

    >>> drawn(cr.Generator().manual_seed(0), "integers", (0, 10), (4,), "int64")
    array([8, 6, 5, 2])
    """
    values = getattr(resolve(generator), method)(*args, size)
    return values.astype(default_float() if dtype is None else as_dtype(dtype), copy=False)


def rand(*size, dtype=None, device=None, requires_grad=False, generator=None):
    """Uniform on [0, 1).

    >>> _ = cr.manual_seed(0)
    >>> cr.rand(2).shape
    cr.Size([2])
    """
    check_device(device, "rand")
    return _make(drawn(generator, "random", (), _size(size, "rand"), dtype), dtype,
                 requires_grad)


def randn(*size, dtype=None, device=None, requires_grad=False, generator=None):
    """Standard normal.

    >>> cr.randn(2, 3).dtype
    dtype('float32')
    """
    check_device(device, "randn")
    return _make(drawn(generator, "standard_normal", (), _size(size, "randn"), dtype), dtype,
                 requires_grad)


def normal(mean, std, size, *, dtype=None, device=None, requires_grad=False, generator=None):
    """Normal with the given ``mean`` and ``std`` (numbers), of shape ``size``.

    >>> cr.normal(0.0, 1.0, (3,)).shape
    cr.Size([3])
    """
    check_device(device, "normal")
    if std < 0:
        raise ValueError(f"normal: std must be >= 0, got {std}")
    values = drawn(generator, "normal", (mean, std), _size(tuple(size), "normal"), dtype)
    return _make(values, dtype, requires_grad)


def randint(low, high=None, size=None, *, dtype=None, device=None, requires_grad=False,
            generator=None):
    """Integers in [low, high), int64 by default; ``randint(high, size)`` starts at 0.
    ``requires_grad=True`` is refused, as integer tensors carry no gradient.

    >>> int(cr.randint(0, 10, (100,)).max()) < 10
    True
    """
    check_device(device, "randint")
    if size is None:
        low, high, size = 0, low, high
    if size is None:
        raise TypeError("randint: give the size, e.g. randint(10, (3,)) or randint(0, 10, (3,))")
    if high <= low:
        raise ArgumentError(f"randint: high ({high}) must be larger than low ({low})")
    dtype = xp.int64 if dtype is None else dtype
    values = drawn(generator, "integers", (low, high), _size(tuple(size), "randint"), dtype)
    return _make(values, dtype, requires_grad)


def _like(tensor, dtype):
    data = tensor._data if isinstance(tensor, Tensor) else xp.asarray(tensor)
    return data.shape, data.dtype if dtype is None else dtype


def _in_layout_of(input, made):
    """``made`` laid out in memory as ``input``, as PyTorch's ``*_like`` (preserve_format):
    a dense input's strides are kept (zeros_like(x.t()) is transposed too), anything else
    gets C order."""
    data = input._data if isinstance(input, Tensor) else xp.asarray(input)
    if data.flags.c_contiguous or not _dense(data):
        return made
    array = xp.empty_like(data, dtype=made._data.dtype)  # order "K": a dense input's strides
    array[...] = made._data
    made._data = array  # a fresh leaf, which nothing else has seen yet
    return made


def _dense(array):
    """Whether ``array``'s elements fill one block of memory, each once, in some order of its
    dimensions (PyTorch's non-overlapping and dense)."""
    dims = sorted((abs(s), n, s) for s, n in zip(array.strides, array.shape) if n != 1)
    expected = array.itemsize
    for step, size, signed in dims:
        if signed != step or step != expected:
            return False
        expected *= size
    return True


def zeros_like(input, *, dtype=None, device=None, requires_grad=False):
    """Zeros with the shape (and dtype, unless given) of ``input``.

    >>> cr.zeros_like(cr.tensor([1, 2]))
    tensor([0, 0], dtype=int64)
    """
    check_device(device, "zeros_like")
    shape, dtype = _like(input, dtype)
    return _in_layout_of(input, zeros(shape, dtype=dtype, requires_grad=requires_grad))


def ones_like(input, *, dtype=None, device=None, requires_grad=False):
    """Ones with the shape (and dtype, unless given) of ``input``.

    >>> cr.ones_like(cr.tensor([1.5, 2.5]))
    tensor([1., 1.], dtype=float32)
    """
    check_device(device, "ones_like")
    shape, dtype = _like(input, dtype)
    return _in_layout_of(input, ones(shape, dtype=dtype, requires_grad=requires_grad))


def empty_like(input, *, dtype=None, device=None, requires_grad=False):
    """An uninitialised-looking tensor (zeros, in fact) shaped like ``input``.

    >>> cr.empty_like(cr.ones(2, 2)).shape
    cr.Size([2, 2])
    """
    check_device(device, "empty_like")
    shape, dtype = _like(input, dtype)
    return _in_layout_of(input, empty(shape, dtype=dtype, requires_grad=requires_grad))


def full_like(input, fill_value, *, dtype=None, device=None, requires_grad=False):
    """``fill_value`` everywhere, shaped like ``input``.

    >>> cr.full_like(cr.ones(2), 3.5)
    tensor([3.5, 3.5], dtype=float32)
    """
    check_device(device, "full_like")
    shape, dtype = _like(input, dtype)
    made = full(shape, fill_value, dtype=dtype,
                requires_grad=requires_grad)
    return _in_layout_of(input, made)


def rand_like(input, *, dtype=None, device=None, requires_grad=False, generator=None):
    """Uniform values in [0, 1) shaped like ``input``.

    >>> cr.rand_like(cr.ones(2, 3)).shape
    cr.Size([2, 3])
    """
    check_device(device, "rand_like")
    shape, dtype = _like(input, dtype)
    made = rand(shape, dtype=dtype,
                requires_grad=requires_grad, generator=generator)
    return _in_layout_of(input, made)


def randn_like(input, *, dtype=None, device=None, requires_grad=False, generator=None):
    """Standard normal values shaped like ``input``.

    >>> cr.randn_like(cr.ones(4)).shape
    cr.Size([4])
    """
    check_device(device, "randn_like")
    shape, dtype = _like(input, dtype)
    made = randn(shape, dtype=dtype,
                 requires_grad=requires_grad, generator=generator)
    return _in_layout_of(input, made)


def randint_like(input, low, high=None, *, dtype=None, device=None, requires_grad=False,
                 generator=None):
    """Random integers in [low, high) shaped like ``input``.

    >>> cr.randint_like(cr.ones(3), 5).shape
    cr.Size([3])
    """
    check_device(device, "randint_like")
    shape, dtype = _like(input, dtype)
    if high is None:
        low, high = 0, low
    return _in_layout_of(input, randint(low, high, shape, dtype=dtype,
                                        requires_grad=requires_grad, generator=generator))


__all__ = ["zeros", "ones", "empty", "full", "arange", "linspace", "eye", "rand", "randn",
           "normal", "randint", "zeros_like", "ones_like", "empty_like", "full_like",
           "rand_like", "randn_like", "randint_like"]
