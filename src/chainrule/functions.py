"""The functions with PyTorch's names and signatures: ``cr.sum(x, 1)`` is ``x.sum(1)``,
``cr.gather(x, 1, index)`` is ``torch.gather(x, 1, index)``.

Each takes a tensor (or anything ``tensor()`` accepts) first and means what PyTorch's function
of that name means (docs/semantics.md). Each is declared public once, with ``@public`` beside
it or in the lists at the end (chainrule/public.py): its ``cr.`` names, Tensor method, ``F.``
name and NumPy dispatch follow from that declaration, so a method and its function cannot
disagree.
"""
import builtins

from . import ops
from .ops import activations
from .backend import xp
from .errors import ArgumentError, DtypeError, ShapeError
from .public import public
from .tensor import Tensor, _reduced, times_alpha, uint8_as_mask
from .tensor import as_input as _t


def _dim(dim, axis):
    if axis is not None:
        if dim is not None:
            raise TypeError("give dim= or axis=, not both")
        return axis
    return tuple(dim) if isinstance(dim, list) else dim


# -- reductions (the Tensor methods hold the PyTorch/NumPy argument handling) -----------------

@public(method=True)
def sum(input, dim=None, keepdim=False, *, dtype=None, axis=None, keepdims=None):
    """The sum over ``dim`` (an int, a tuple, or None for every element); integer and bool
    sums are int64.

    >>> cr.sum(cr.tensor([[1., 2.], [3., 4.]]), 0)
    tensor([4., 6.], dtype=float32)
    """
    return _t(input).sum(dim, keepdim, axis=axis, keepdims=keepdims, dtype=dtype)


@public(method=True)
def mean(input, dim=None, keepdim=False, *, dtype=None, axis=None, keepdims=None):
    """The mean over ``dim``; needs a floating-point tensor (or ``dtype=``), as in PyTorch.

    >>> cr.mean(cr.tensor([[1., 2.], [3., 4.]]), dim=1)
    tensor([1.5, 3.5], dtype=float32)
    """
    return _t(input).mean(dim, keepdim, axis=axis, keepdims=keepdims, dtype=dtype)


@public(method=True)
def max(input, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """The largest element; with ``dim``, ``(values, indices)`` along it; with a tensor as
    the second argument, the elementwise maximum.

    >>> cr.max(cr.tensor([[1., 5.], [4., 2.]]), 1)
    MinMax(values=tensor([5., 4.], dtype=float32), indices=tensor([1, 0], dtype=int64))
    """
    return _t(input).max(dim, keepdim, axis=axis, keepdims=keepdims)


@public(method=True)
def min(input, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """The smallest element; with ``dim``, ``(values, indices)`` along it; with a tensor as
    the second argument, the elementwise minimum.

    >>> cr.min(cr.tensor([3., 1., 2.]))
    tensor(1., dtype=float32)
    """
    return _t(input).min(dim, keepdim, axis=axis, keepdims=keepdims)


@public(method=True)
def amax(input, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """The maximum over ``dim`` (several dims allowed); ties share the gradient.

    >>> cr.amax(cr.tensor([[1., 5.], [4., 2.]]), dim=0)
    tensor([4., 5.], dtype=float32)
    """
    return _t(input).amax(dim, keepdim, axis=axis, keepdims=keepdims)


@public(method=True)
def amin(input, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """The minimum over ``dim`` (several dims allowed); ties share the gradient.

    >>> cr.amin(cr.tensor([[1., 5.], [4., 2.]]), dim=0)
    tensor([1., 2.], dtype=float32)
    """
    return _t(input).amin(dim, keepdim, axis=axis, keepdims=keepdims)


@public(method=True)
def var(input, dim=None, unbiased=None, keepdim=False, *, correction=None, ddof=None,
        axis=None, keepdims=None):
    """The variance over ``dim``, dividing by N - correction (1 by default: unbiased).

    >>> cr.var(cr.tensor([1., 2., 3., 4.]))
    tensor(1.6666666, dtype=float32)
    """
    return _t(input).var(dim, unbiased, keepdim, correction=correction, ddof=ddof, axis=axis,
                         keepdims=keepdims)


@public(method=True)
def std(input, dim=None, unbiased=None, keepdim=False, *, correction=None, ddof=None,
        axis=None, keepdims=None):
    """The standard deviation over ``dim`` (unbiased by default).

    >>> cr.std(cr.tensor([1., 3.]))
    tensor(1.4142135, dtype=float32)
    """
    return _t(input).std(dim, unbiased, keepdim, correction=correction, ddof=ddof, axis=axis,
                         keepdims=keepdims)


@public
def var_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """``(var, mean)`` over ``dim``, as ``torch.var_mean``.

    >>> cr.var_mean(cr.tensor([1., 2., 3.]))
    (tensor(1., dtype=float32), tensor(2., dtype=float32))
    """
    x = _t(input)
    return (x.var(dim, unbiased, keepdim, correction=correction),
            x.mean(None if isinstance(dim, builtins.bool) else dim, keepdim))


@public
def std_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """``(std, mean)`` over ``dim``, as ``torch.std_mean``.

    >>> cr.std_mean(cr.tensor([1., 3.]))
    (tensor(1.4142135, dtype=float32), tensor(2., dtype=float32))
    """
    x = _t(input)
    return (x.std(dim, unbiased, keepdim, correction=correction),
            x.mean(None if isinstance(dim, builtins.bool) else dim, keepdim))


@public(method=True)
def argmax(input, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """The index of the largest element (of the flattened tensor without ``dim``).

    >>> cr.argmax(cr.tensor([[1., 5.], [4., 2.]]), dim=1)
    tensor([1, 0], dtype=int64)
    """
    return _t(input).argmax(dim, keepdim, axis=axis, keepdims=keepdims)


@public(method=True)
def argmin(input, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """The index of the smallest element (of the flattened tensor without ``dim``).

    >>> cr.argmin(cr.tensor([3., 1., 2.]))
    tensor(1, dtype=int64)
    """
    return _t(input).argmin(dim, keepdim, axis=axis, keepdims=keepdims)


@public(method=True)
def logsumexp(input, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """log(sum(exp(x))) over ``dim``, without overflow.

    >>> cr.logsumexp(cr.tensor([0., 0.]), 0)
    tensor(0.6931472, dtype=float32)
    """
    return _t(input).logsumexp(dim, keepdim, axis=axis, keepdims=keepdims)


@public(method=True)
def prod(input, dim=None, keepdim=False, *, dtype=None):
    """The product over ``dim`` (every element by default); integer products are int64.
    The gradient is exact where elements are zero.

    >>> cr.prod(cr.tensor([[1., 2.], [3., 4.]]), 1)
    tensor([ 2., 12.], dtype=float32)
    """
    if isinstance(dim, (tuple, list)) and not dim:
        raise TypeError("prod: dim=() is refused, as in PyTorch (whose prod takes one dim); "
                        "pass dim=None for the product of every element")
    x = _cast_for_reduction(_t(input), dtype)
    return ops.prod(x, axis=dim, keepdims=keepdim)


def _cast_for_reduction(x, dtype):
    if dtype is not None:
        return x.astype(dtype)
    if x.dtype.kind in "biu":
        return x.astype(xp.int64)  # as PyTorch: integer sums and products are int64
    return x


@public(method=True)
def any(input, dim=None, keepdim=False):
    """Whether any element (along ``dim``) is nonzero.

    >>> cr.any(cr.tensor([[0, 1], [0, 0]]), 1)
    tensor([ True, False], dtype=bool)
    """
    x, axis = _t(input), _dim(dim, None)
    if not x.ndim and axis not in (None, ()):  # dim 0 or -1 (or a list of it) of a 0-d tensor
        axis, _ = _reduced("any", x, dim, keepdim, None, None)
    return ops.any(x, axis=axis, keepdims=keepdim)


@public(method=True)
def all(input, dim=None, keepdim=False):
    """Whether every element (along ``dim``) is nonzero.

    >>> cr.all(cr.tensor([[1, 1], [0, 1]]), 1)
    tensor([ True, False], dtype=bool)
    """
    x, axis = _t(input), _dim(dim, None)
    if not x.ndim and axis not in (None, ()):  # dim 0 or -1 (or a list of it) of a 0-d tensor
        axis, _ = _reduced("all", x, dim, keepdim, None, None)
    return ops.all(x, axis=axis, keepdims=keepdim)


@public(method=True)
def count_nonzero(input, dim=None):
    """How many elements (along ``dim``) are nonzero, as int64.

    >>> cr.count_nonzero(cr.tensor([0., 2., 3.]))
    tensor(2, dtype=int64)
    """
    x = _t(input)
    axis, _ = _reduced("count_nonzero", x, dim, False, None, None)
    return ops.sum((x != 0).astype(xp.int64), axis=axis)


@public(method=True)
def norm(input, p="fro", dim=None, keepdim=False, dtype=None):
    """The vector p-norm over ``dim`` (every element by default): 2 or "fro", 1, inf, -inf,
    0 or any number; "nuc", the nuclear norm of the matrices in the two dims ``dim`` (the last
    two by default). The gradient at a zero vector is 0, as in PyTorch.

    >>> cr.norm(cr.tensor([3., 4.]))
    tensor(5., dtype=float32)
    """
    x = _t(input)
    if dtype is not None:
        x = x.astype(dtype)
    if x.dtype.kind != "f":
        raise TypeError(f"norm: needs a floating-point tensor, got {x.dtype} (as in PyTorch)")
    if p == "nuc":  # a matrix norm: the sum of the singular values over two dims
        from .linalg import matrix_norm
        return matrix_norm(x, "nuc", dim=(-2, -1) if dim is None else dim, keepdim=keepdim)
    axis, _ = _reduced("norm", x, dim, keepdim, None, None)
    return ops.norm(x, p, axis=axis, keepdims=keepdim)


# -- running ops -------------------------------------------------------------------------

def _scan(op, input, dim, dtype, primitive):
    x = _cast_for_reduction(_t(input), dtype) if op in ("cumsum", "cumprod") else _t(input)
    axis = ops.shape.axis_of(op, dim, x.ndim)
    if not x.shape:
        if op in ("logcumsumexp", "cumsum"):
            # PyTorch's 0-d logcumsumexp is x with slope 1, also at inf (where its one-element
            # 1-D one, exp(x - out), is NaN); its 0-d cumsum is x too, -0 kept (a running sum
            # along a dim starts from +0).
            return x * 1
        return ops.reshape(primitive(ops.reshape(x, shape=(1,)), axis=0), shape=())
    return primitive(x, axis=axis)


@public(method=True)
def cumsum(input, dim, *, dtype=None):
    """The running sum along ``dim``.

    >>> cr.cumsum(cr.tensor([1., 2., 3.]), 0)
    tensor([1., 3., 6.], dtype=float32)
    """
    return _scan("cumsum", input, dim, dtype, ops.cumsum)


@public(method=True)
def cumprod(input, dim, *, dtype=None):
    """The running product along ``dim``; its gradient is exact at zeros.

    >>> cr.cumprod(cr.tensor([1., 2., 3.]), 0)
    tensor([1., 2., 6.], dtype=float32)
    """
    return _scan("cumprod", input, dim, dtype, ops.cumprod)


@public(method=True)
def logcumsumexp(input, dim):
    """log of the running sum of exp along ``dim``, without overflow.

    >>> cr.logcumsumexp(cr.tensor([0., 0.]), 0)
    tensor([0.       , 0.6931472], dtype=float32)
    """
    x = _t(input)
    if x.dtype.kind != "f":
        raise TypeError(f"logcumsumexp: needs a floating-point tensor, got {x.dtype}")
    return _scan("logcumsumexp", x, dim, None, ops.logcumsumexp)


@public(method=True)
def cummax(input, dim):
    """``(values, indices)`` of the running maximum along ``dim``.

    >>> cr.cummax(cr.tensor([1., 3., 2.]), 0).values
    tensor([1., 3., 3.], dtype=float32)
    """
    return ops.cummax(_t(input), dim)


@public(method=True)
def cummin(input, dim):
    """``(values, indices)`` of the running minimum along ``dim``.

    >>> cr.cummin(cr.tensor([3., 1., 2.]), 0).indices
    tensor([0, 1, 1], dtype=int64)
    """
    return ops.cummin(_t(input), dim)


# -- elementwise with options -------------------------------------------------------------

@public(method=True)
def add(input, other, *, alpha=1):
    """input + alpha * other.

    >>> cr.add(cr.tensor([1., 2.]), 10, alpha=2)
    tensor([21., 22.], dtype=float32)
    """
    return ops.add(input, times_alpha("add", input, other, alpha))


@public(aliases=("subtract",), method=True)
def sub(input, other, *, alpha=1):
    """input - alpha * other.

    >>> cr.sub(cr.tensor([1., 2.]), 1)
    tensor([0., 1.], dtype=float32)
    """
    return ops.sub(input, times_alpha("sub", input, other, alpha))


@public(aliases=("multiply",), method=True)
def mul(input, other):
    """input * other, elementwise with broadcasting.

    >>> cr.mul(cr.tensor([1., 2.]), cr.tensor([3., 4.]))
    tensor([3., 8.], dtype=float32)
    """
    return ops.mul(input, other)


@public(aliases=("divide",), method=True)
def div(input, other, *, rounding_mode=None):
    """input / other; ``rounding_mode="trunc"`` rounds toward zero and "floor" down (integers
    then stay integers, and the gradient is zero, as in PyTorch).

    >>> cr.div(cr.tensor([7, -7]), 2, rounding_mode="trunc")
    tensor([ 3, -3], dtype=int64)
    """
    if rounding_mode is None:
        return ops.div(input, other)
    if rounding_mode not in ("trunc", "floor"):
        raise ValueError(f"div: rounding_mode must be None, 'trunc' or 'floor', got "
                         f"{rounding_mode!r}")
    return ops.rounded_div(_t(input), other, rounding_mode=rounding_mode)


@public(method=True, inplace=True)
def true_divide(input, other):
    """input / other (``div`` without rounding).

    >>> cr.true_divide(cr.tensor([1, 2]), 4)
    tensor([0.25, 0.5 ], dtype=float32)
    """
    return ops.div(input, other)


@public(method=True, numpy=("power",))
def pow(input, exponent):
    """input ** exponent.

    >>> cr.pow(cr.tensor([2., 3.]), 2)
    tensor([4., 9.], dtype=float32)
    """
    return ops.pow(input, exponent)


@public(method=True, inplace=True)
def round(input, *, decimals=0):
    """Round to ``decimals`` places, halves to even (as PyTorch does).

    >>> cr.round(cr.tensor([0.5, 1.5, 2.25]))
    tensor([0., 2., 2.], dtype=float32)
    """
    return ops.round(_t(input), decimals=decimals)


@public(method=True, inplace=True)
def nan_to_num(input, nan=0.0, posinf=None, neginf=None):
    """NaN, inf and -inf replaced by ``nan`` and (by default) the dtype's extreme values.

    >>> cr.nan_to_num(cr.tensor([float("nan"), 1.]))
    tensor([0., 1.], dtype=float32)
    """
    return ops.nan_to_num(_t(input), nan=nan, posinf=posinf, neginf=neginf)


@public(aliases=("clip",), method=True)
def clamp(input, min=None, max=None, *, low=None, high=None):
    """Each element limited to [min, max] (either may be None); the gradient passes where
    min <= x <= max.

    >>> cr.clamp(cr.tensor([-2., 0.5, 3.]), min=0, max=1)
    tensor([0. , 0.5, 1. ], dtype=float32)
    """
    return _t(input).clip(min, max, low=low, high=high)


@public(method=True)
def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    """Whether |input - other| <= atol + rtol * |other|, elementwise.

    >>> cr.isclose(cr.tensor([1., 2.]), cr.tensor([1., 2.1]))
    tensor([ True, False], dtype=bool)
    """
    return ops.isclose(_t(input), other, rtol=rtol, atol=atol, equal_nan=equal_nan)


@public(method=True)
def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    """Whether every element is close (``isclose``): a Python bool.

    >>> cr.allclose(cr.tensor([1., 2.]), cr.tensor([1., 2.]))
    True
    """
    return builtins.bool(isclose(input, other, rtol, atol, equal_nan)._data.all())


@public(method=True)
def equal(input, other):
    """Whether the two tensors have the same shape and elements: a Python bool.

    >>> cr.equal(cr.tensor([1, 2]), cr.tensor([1, 2]))
    True
    """
    a, b = _t(input), _t(other)
    return a.shape == b.shape and builtins.bool((a._data == b._data).all())


@public(method=True)
def lerp(input, end, weight):
    """input + weight * (end - input).

    >>> cr.lerp(cr.tensor([0., 10.]), cr.tensor([10., 20.]), 0.5)
    tensor([ 5., 15.], dtype=float32)
    """
    return ops.lerp(input, end, weight)


def _softmax_dim(name, x, dim, axis):
    """``dim`` (or ``axis``); without either, PyTorch's deprecated implicit choice for
    F.softmax and F.log_softmax: dim 0 for 0-, 1- and 3-D inputs, else dim 1 (the channels of
    a 4-D batch), never simply the last one."""
    dim = _dim(dim, axis)
    return dim if dim is not None else activations.implicit_dim(name, x.ndim, stacklevel=4)


@public(method=True, functional=True)
def softmax(input, dim=None, *, axis=None, dtype=None):
    """exp(x) / sum(exp(x)) along ``dim``, computed without overflow.

    >>> cr.softmax(cr.tensor([0., 0.]), 0)
    tensor([0.5, 0.5], dtype=float32)
    """
    x = _t(input) if dtype is None else _t(input).astype(dtype)
    return x.softmax(_softmax_dim("softmax", x, dim, axis))


@public(method=True, functional=True)
def log_softmax(input, dim=None, *, axis=None, dtype=None):
    """log(softmax(x)) along ``dim``, computed without overflow.

    >>> cr.log_softmax(cr.tensor([0., 0.]), 0)
    tensor([-0.6931472, -0.6931472], dtype=float32)
    """
    x = _t(input) if dtype is None else _t(input).astype(dtype)
    return x.log_softmax(_softmax_dim("log_softmax", x, dim, axis))


# -- shapes ----------------------------------------------------------------------------------

@public(aliases=("swapdims", "swapaxes"), method=True)
def transpose(input, dim0, dim1):
    """``input`` with dimensions ``dim0`` and ``dim1`` swapped.

    >>> cr.transpose(cr.zeros(2, 3, 4), 0, 2).shape
    cr.Size([4, 3, 2])
    """
    return _t(input).transpose(dim0, dim1)


@public(method=True)
def permute(input, dims):
    """``input`` with its dimensions in the order ``dims``.

    >>> cr.permute(cr.zeros(2, 3, 4), (2, 0, 1)).shape
    cr.Size([4, 2, 3])
    """
    return _t(input).permute(dims)


@public(method=True)
def squeeze(input, dim=None):
    """Size-1 dimensions removed (all, or those of ``dim`` that have size 1).

    >>> cr.squeeze(cr.zeros(2, 1, 3)).shape
    cr.Size([2, 3])
    """
    return _t(input).squeeze(dim)


@public(method=True)
def unsqueeze(input, dim):
    """A new dimension of size 1 at position ``dim``.

    >>> cr.unsqueeze(cr.zeros(2, 3), 1).shape
    cr.Size([2, 1, 3])
    """
    return _t(input).unsqueeze(dim)


@public(method=True)
def flatten(input, start_dim=0, end_dim=-1):
    """Dimensions ``start_dim`` to ``end_dim`` merged into one.

    >>> cr.flatten(cr.zeros(2, 3, 4), 1).shape
    cr.Size([2, 12])
    """
    return _t(input).flatten(start_dim, end_dim)


@public(method=True)
def reshape(input, shape):
    """The elements of ``input`` in a new shape (one size may be -1).

    >>> cr.reshape(cr.arange(6), (3, 2)).shape
    cr.Size([3, 2])
    """
    return _t(input).reshape(shape)


@public(method=True)
def broadcast_to(input, shape):
    """``input`` broadcast to ``shape`` (a view; the gradient sums over the copies).

    >>> cr.broadcast_to(cr.tensor([1., 2.]), (3, 2)).shape
    cr.Size([3, 2])
    """
    return _t(input).broadcast_to(shape)


@public(method=True)
def numel(input):
    """The number of elements.

    >>> cr.numel(cr.zeros(2, 3))
    6
    """
    return _t(input).numel()


@public(method=True, inplace=True)
def eq(input, other):
    """input == other, elementwise (a bool tensor).

    >>> cr.eq(cr.tensor([1, 2]), 2)
    tensor([False,  True], dtype=bool)
    """
    return ops.equal(input, other)


@public(aliases=("not_equal",), method=True, inplace=True)
def ne(input, other):
    """input != other, elementwise.

    >>> cr.ne(cr.tensor([1, 2]), 2)
    tensor([ True, False], dtype=bool)
    """
    return ops.not_equal(input, other)


@public(aliases=("less",), method=True, inplace=True)
def lt(input, other):
    """input < other, elementwise.

    >>> cr.lt(cr.tensor([1, 2]), 2)
    tensor([ True, False], dtype=bool)
    """
    return ops.less(input, other)


@public(aliases=("less_equal",), method=True, inplace=True)
def le(input, other):
    """input <= other, elementwise.

    >>> cr.le(cr.tensor([1, 3]), 2)
    tensor([ True, False], dtype=bool)
    """
    return ops.less_equal(input, other)


@public(aliases=("greater",), method=True, inplace=True)
def gt(input, other):
    """input > other, elementwise.

    >>> cr.gt(cr.tensor([1, 3]), 2)
    tensor([False,  True], dtype=bool)
    """
    return ops.greater(input, other)


@public(aliases=("greater_equal",), method=True, inplace=True)
def ge(input, other):
    """input >= other, elementwise.

    >>> cr.ge(cr.tensor([1, 2]), 2)
    tensor([False,  True], dtype=bool)
    """
    return ops.greater_equal(input, other)


@public(method=True)
def mm(input, mat2):
    """The matrix product of two 2-D tensors.

    >>> cr.mm(cr.ones(2, 3), cr.ones(3, 4)).shape
    cr.Size([2, 4])
    """
    if input.ndim != 2 or mat2.ndim != 2:
        raise ShapeError(f"mm: needs two 2-D tensors, got shapes {input.shape} and {mat2.shape}")
    return ops.matmul(input, mat2)


@public(method=True)
def bmm(input, mat2):
    """Matrix products of two batches of matrices, (b, n, m) and (b, m, p).

    >>> cr.bmm(cr.ones(5, 2, 3), cr.ones(5, 3, 4)).shape
    cr.Size([5, 2, 4])
    """
    if input.ndim != 3 or mat2.ndim != 3 or input.shape[0] != mat2.shape[0]:
        raise ShapeError(f"bmm: needs two 3-D tensors with the same batch size, got shapes "
                         f"{input.shape} and {mat2.shape}")
    return ops.matmul(input, mat2)


@public(method=True)
def dot(input, other):
    """The dot product of two 1-D tensors.

    >>> cr.dot(cr.tensor([1., 2.]), cr.tensor([3., 4.]))
    tensor(11., dtype=float32)
    """
    if input.ndim != 1 or other.ndim != 1:
        raise ShapeError(f"dot: needs two 1-D tensors, got shapes {input.shape} and "
                         f"{other.shape}")
    return ops.matmul(input, other)


@public(method=True)
def outer(input, vec2):
    """The outer product of two 1-D tensors: out[i, j] = input[i] * vec2[j].

    >>> cr.outer(cr.tensor([1., 2.]), cr.tensor([3., 4., 5.])).shape
    cr.Size([2, 3])
    """
    input, vec2 = _t(input), _t(vec2)
    for name, x in (("input", input), ("vec2", vec2)):
        if x.ndim != 1:  # a 2-D input was flattened silently; PyTorch refuses it
            raise ShapeError(f"outer: expected 1-D {name}, got shape {tuple(x.shape)} "
                             f"(flatten it first, or use np.outer, which flattens)")
    return ops.mul(ops.reshape(input, shape=(-1, 1)), vec2)


@public
def is_tensor(obj):
    """Whether ``obj`` is a chainrule Tensor.

    >>> cr.is_tensor(cr.zeros(1)), cr.is_tensor([1.0])
    (True, False)
    """
    return isinstance(obj, Tensor)


@public(method=True)
def clone(input):
    """A copy of ``input`` with its own memory; the gradient flows back to ``input``.

    >>> cr.clone(cr.tensor([1., 2.]))
    tensor([1., 2.], dtype=float32)
    """
    return _t(input).clone()


@public(method=True)
def t(input):
    """The transpose of a matrix (``input.t()``).

    >>> cr.t(cr.zeros(2, 3)).shape
    cr.Size([3, 2])
    """
    return _t(input).t()


@public(method=True, inplace=True)
def clamp_min(input, min):
    """Each element at least ``min``.

    >>> cr.clamp_min(cr.tensor([-1., 2.]), 0)
    tensor([0., 2.], dtype=float32)
    """
    return _t(input).clip(min, None)


@public(method=True, inplace=True)
def clamp_max(input, max):
    """Each element at most ``max``.

    >>> cr.clamp_max(cr.tensor([-1., 2.]), 0)
    tensor([-1.,  0.], dtype=float32)
    """
    return _t(input).clip(None, max)


# -- joining ---------------------------------------------------------------------------------

def _at_least(tensors, ndim, name):
    if not isinstance(tensors, (list, tuple)):
        raise TypeError(f"{name}: expected a list or tuple of tensors, got "
                        f"{type(tensors).__name__}")
    if not tensors:
        raise ArgumentError(f"{name}: needs at least one tensor")
    grown = []
    for x in map(_t, tensors):
        if x.ndim < ndim:
            # NumPy's atleast_2d/3d: a vector becomes a row, (1, n) then (1, n, 1).
            shape = {0: (1,) * ndim, 1: (1, x.numel(), 1)[:ndim] if ndim == 3 else (1, -1),
                     2: tuple(x.shape) + (1,)}[x.ndim]
            x = x.reshape(shape)
        grown.append(x)
    return grown


@public
def hstack(tensors):
    """The tensors joined column-wise: along dim 1, or dim 0 for vectors.

    >>> cr.hstack([cr.tensor([1., 2.]), cr.tensor([3.])])
    tensor([1., 2., 3.], dtype=float32)
    """
    joined = _at_least(tensors, 1, "hstack")
    return ops.concatenate(joined, 0 if joined[0].ndim == 1 else 1)


@public
def vstack(tensors):
    """The tensors joined row-wise (vectors become rows first).

    >>> cr.vstack([cr.tensor([1, 2]), cr.tensor([[3, 4]])])
    tensor([[1, 2],
            [3, 4]], dtype=int64)
    """
    return ops.concatenate(_at_least(tensors, 2, "vstack"), 0)


@public
def dstack(tensors):
    """The tensors joined along the third dimension (made 3-D first, as NumPy's dstack).

    >>> cr.dstack([cr.ones(2), cr.zeros(2)]).shape
    cr.Size([1, 2, 2])
    """
    return ops.concatenate(_at_least(tensors, 3, "dstack"), 2)


@public
def column_stack(tensors):
    """The tensors as columns side by side (vectors become columns).

    >>> cr.column_stack([cr.tensor([1, 2]), cr.tensor([3, 4])])
    tensor([[1, 3],
            [2, 4]], dtype=int64)
    """
    if not isinstance(tensors, (list, tuple)):
        raise TypeError(f"column_stack: expected a list or tuple of tensors, got "
                        f"{type(tensors).__name__}")
    if not tensors:
        raise ArgumentError("column_stack: needs at least one tensor")
    columns = [x.reshape(-1, 1) if x.ndim < 2 else x for x in map(_t, tensors)]
    return ops.concatenate(columns, 1)


@public(method=True)
def index_put(input, indices, values, accumulate=False):
    """A copy of ``input`` with ``values`` written at ``input[indices]`` (a tuple of index
    tensors, as ``torch.index_put``); with ``accumulate``, added there instead, repeated
    indices adding up. Differentiable in ``input`` and ``values``.

    >>> cr.index_put(cr.zeros(3), (cr.tensor([0, 0]),), cr.tensor(1.), accumulate=True)
    tensor([2., 0., 0.], dtype=float32)
    """
    x = _t(input)
    if not isinstance(indices, (tuple, list)):
        raise TypeError(f"index_put: indices must be a tuple of tensors, got "
                        f"{type(indices).__name__}")
    index = tuple(uint8_as_mask(i._data if isinstance(i, Tensor) else xp.asarray(i))
                  for i in indices)
    if isinstance(values, Tensor) and values.dtype != x.dtype:
        # PyTorch refuses rather than cast (1.7 written into an int tensor would become 1).
        raise DtypeError(f"index_put: values of dtype {values.dtype} cannot be put into a "
                         f"tensor of dtype {x.dtype} (PyTorch requires them to match); convert "
                         f"with values.to({x.dtype})")
    if not accumulate:
        return ops.index_put(x, values, index=index)
    added = ops.add_at(ops.broadcast_to(values, shape=x._data[index].shape), index=index,
                       shape=x.shape)
    touched = xp.zeros(x.shape, dtype=bool)
    touched[index] = True
    # Only the indexed elements change (x + 0 would turn a -0.0 elsewhere into 0.0).
    return ops.where(touched, ops.add(x, added), x)


@public(functional=True)
def one_hot(tensor, num_classes=-1):
    """Rows of ``num_classes`` zeros with a one at each class index, as int64 (PyTorch's
    ``F.one_hot``; -1 means the largest index + 1). Carries no gradient.

    >>> cr.one_hot(cr.tensor([2, 0]), 3)
    tensor([[0, 0, 1],
            [1, 0, 0]], dtype=int64)
    """
    labels = _t(tensor)._data
    if labels.dtype != xp.int64:  # PyTorch refuses every other integer dtype, int32 too
        raise DtypeError(f"one_hot: needs an int64 tensor of class indices (as in PyTorch), "
                         f"got {labels.dtype}; convert it with .long()")
    if not labels.size and num_classes <= 0:  # PyTorch's check: -1 or 0 classes of nothing
        raise ArgumentError(f"one_hot: cannot infer the number of classes from an empty "
                            f"tensor of shape {tuple(labels.shape)}; give num_classes > 0")
    if num_classes == -1:
        num_classes = int(labels.max()) + 1
    if labels.size and labels.min() < 0:
        raise ArgumentError(f"one_hot: class indices must be non-negative, got {labels.min()}")
    if labels.size and labels.max() >= num_classes:
        raise ArgumentError(f"one_hot: class index {labels.max()} is out of range for "
                            f"num_classes={num_classes}")
    return Tensor._wrap(xp.arange(num_classes) == labels[..., None], dtype=xp.int64)


@public
def where(condition, input=None, other=None):
    """``input`` where ``condition`` holds, else ``other`` (both broadcast); with only the
    condition, the indices of its True elements, one tensor per dimension (as
    ``nonzero(as_tuple=True)``).

    >>> x = cr.tensor([-1., 2.])
    >>> cr.where(x > 0, x, 0.0)
    tensor([0., 2.], dtype=float32)
    >>> cr.where(x > 0)
    (tensor([1], dtype=int64),)
    """
    if input is None and other is None:
        return ops.nonzero(_t(condition), as_tuple=True)
    if input is None or other is None:
        raise TypeError("where: give the condition alone, or the condition, input and other")
    return ops.where(condition, input, other)


# -- the ops of chainrule.ops that are public as they are, by family ------------------------

# Without an in-place form here: PyTorch has none, or tensor.py writes it out (x.bitwise_and_,
# x.logical_and_, which refuses a graph).
_NO_IN_PLACE = ("isnan", "isinf", "isfinite", "maximum", "minimum", "matmul", "logaddexp",
                "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_left_shift",
                "bitwise_right_shift", "logical_and", "logical_or", "logical_not",
                "logical_xor")

for _op in (ops.sin, ops.cos, ops.tan, ops.sinh, ops.cosh, ops.erf, ops.log1p, ops.expm1,
            ops.log2, ops.log10, ops.exp2, ops.reciprocal, ops.rsqrt, ops.square, ops.floor,
            ops.ceil, ops.frac, ops.isnan, ops.isinf, ops.isfinite, ops.exp, ops.log, ops.sqrt,
            ops.sign, ops.copysign, ops.fmod, ops.remainder,
            ops.floor_divide, ops.logaddexp, ops.maximum, ops.minimum, ops.matmul,
            ops.bitwise_and, ops.bitwise_or, ops.bitwise_xor, ops.bitwise_left_shift,
            ops.bitwise_right_shift, ops.logical_and, ops.logical_or, ops.logical_not,
            ops.logical_xor):
    public(_op, method=True, inplace=_op.__name__ not in _NO_IN_PLACE)
for _op, _alias in ((ops.asin, "arcsin"), (ops.acos, "arccos"), (ops.atan, "arctan"),
                    (ops.asinh, "arcsinh"), (ops.acosh, "arccosh"), (ops.atanh, "arctanh"),
                    (ops.atan2, "arctan2"), (ops.neg, "negative"), (ops.abs, "absolute"),
                    (ops.trunc, "fix")):
    public(_op, aliases=(_alias,), method=True, inplace=True)
public(ops.bitwise_not, method=True, numpy=("invert",))
for _op in (ops.relu, ops.sigmoid, ops.tanh):
    public(_op, method=True, functional=True, inplace=True)

# indexing and layout
for _op in (ops.gather, ops.scatter, ops.scatter_add, ops.scatter_reduce, ops.index_select,
            ops.masked_fill, ops.masked_select, ops.nonzero, ops.diagonal, ops.diag, ops.tril,
            ops.triu, ops.take_along_dim, ops.expand, ops.repeat, ops.tile, ops.flip, ops.fliplr,
            ops.flipud, ops.roll, ops.split, ops.tensor_split, ops.chunk, ops.unbind, ops.unfold,
            ops.unflatten, ops.narrow, ops.repeat_interleave):
    public(_op, method=True)
public(ops.movedim, aliases=("moveaxis",), method=True)
public(ops.meshgrid)
public(ops.einsum)
public(ops.concatenate, name="cat", aliases=("concat", "concatenate"))
public(ops.stack)
public(ops.expand_dims)
public(ops.getitem)
public(ops.add_at)
public(ops.astype)
for _op in (ops.sort, ops.argsort, ops.topk, ops.msort):
    public(_op, method=True)

# activations and the layer-level functions that chainrule also offers as cr.<name>
for _op in (ops.leaky_relu, ops.normalize, ops.pad):
    public(_op, functional=True)
# One definition for cr.softplus and F.softplus, with PyTorch's defaults (beta 1, threshold 20).
public(activations.softplus, functional=True)
public(ops.stop_gradient)
public(ops.softmax_cross_entropy)
