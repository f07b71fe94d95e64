"""PyTorch's products and differences under their names and signatures: ``cr.mv``,
``cr.addmm`` and its kin (beta/alpha), ``cr.addcmul``/``addcdiv`` (value=), ``cr.trace``,
``cr.kron``, ``cr.inner``, ``cr.tensordot``, ``cr.diff`` and ``cr.cross``. Each is a composite
of matmul, mul, add, getitem and friends, declared public as functions.py's ops are
(chainrule/public.py), so its gradient, to any order, is theirs."""
import math
import warnings

from . import ops
from .backend import xp
from .dtypes import fill_number, result_type
from .errors import ArgumentError, DtypeError, ShapeError
from .ops.shape import axis_of
from .public import DECLARATIONS, _in_place, public
from .tensor import Tensor
from .tensor import as_input as _t


def _same_dtype(op, *xs):
    if len({x.dtype for x in xs}) > 1:
        raise DtypeError(f"{op}: expected the tensors to have the same dtype, got "
                         f"{', '.join(str(x.dtype) for x in xs)} (as in PyTorch); convert with "
                         f".to(dtype), e.g. .float()")


def _need(op, ok, message, *xs):
    if not ok:
        shapes = ", ".join(str(tuple(x.shape)) for x in xs)
        raise ShapeError(f"{op}: {message} (shapes {shapes})")


def _integer_scalars(op, dtype, **numbers):
    """The scales as ints for integer tensors, whose result stays integer as in PyTorch.
    PyTorch truncates a fractional one (alpha=0.5 scales by 0), a silently different number:
    refused instead."""
    if dtype.kind not in "iub":
        return numbers.values()
    for name, number in numbers.items():
        if isinstance(number, float) and not number.is_integer():
            raise ArgumentError(f"{op}: for integer tensors, {name} must be an integer, got "
                                f"{number!r}; convert the tensors with .float() first")
        if dtype.kind in "iu":  # and it must fit the dtype: int8 and 300 refused, as PyTorch
            fill_number(op, number, dtype)  # (it wrapped: addcmul(..., value=300) added 44x)
    return [int(number) for number in numbers.values()]


def _scaled_sum(op, input, product, beta, alpha):
    """beta * input + alpha * product, with input broadcast to the product's shape. As in
    PyTorch, beta=0 ignores input's values (nan and inf included), which get a zero gradient."""
    beta, alpha = _integer_scalars(op, product.dtype, beta=beta, alpha=alpha)
    try:
        fits = xp.broadcast_shapes(tuple(input.shape), tuple(product.shape)) == product.shape
    except ValueError:
        fits = False
    _need(op, fits, f"input does not broadcast to the product's shape {tuple(product.shape)}",
          input)
    if alpha != 1:
        product = product * alpha
    if beta == 0:
        return ops.where(True, product, input)
    return (input if beta == 1 else input * beta) + product


@public(method=True, inplace=True)
def addmm(input, mat1, mat2, *, beta=1, alpha=1):
    """``beta * input + alpha * (mat1 @ mat2)`` for matrices ``mat1`` (n, m) and ``mat2``
    (m, p), with ``input`` broadcast to (n, p).

    >>> cr.addmm(cr.ones(2), cr.eye(2), cr.tensor([[1., 2.], [3., 4.]]), beta=0.5)
    tensor([[1.5, 2.5],
            [3.5, 4.5]], dtype=float32)
    """
    input, mat1, mat2 = _t(input), _t(mat1), _t(mat2)
    _need("addmm", mat1.ndim == 2 and mat2.ndim == 2, "mat1 and mat2 must be matrices", mat1, mat2)
    _need("addmm", mat1.shape[1] == mat2.shape[0], "mat1 and mat2 cannot be multiplied", mat1,
          mat2)
    _same_dtype("addmm", input, mat1, mat2)
    return _scaled_sum("addmm", input, mat1 @ mat2, beta, alpha)


@public(method=True)
def mv(input, vec):
    """The product of the matrix ``input`` (n, m) and the vector ``vec`` (m,).

    >>> cr.mv(cr.tensor([[1., 2.], [3., 4.]]), cr.tensor([1., -1.]))
    tensor([-1., -1.], dtype=float32)
    """
    input, vec = _t(input), _t(vec)
    _need("mv", input.ndim == 2 and vec.ndim == 1, "expected a matrix and a vector", input, vec)
    _need("mv", input.shape[1] == vec.shape[0], "sizes do not match", input, vec)
    _same_dtype("mv", input, vec)
    return input @ vec


@public(method=True, inplace=True)
def addmv(input, mat, vec, *, beta=1, alpha=1):
    """``beta * input + alpha * (mat @ vec)`` for a matrix (n, m) and a vector (m,), with
    ``input`` broadcast to (n,).

    >>> cr.addmv(cr.tensor([1., 1.]), cr.eye(2), cr.tensor([2., 3.]), alpha=2)
    tensor([5., 7.], dtype=float32)
    """
    input, mat, vec = _t(input), _t(mat), _t(vec)
    _same_dtype("addmv", input, mat, vec)
    return _scaled_sum("addmv", input, mv(mat, vec), beta, alpha)


def _batches(op, batch1, batch2):
    _need(op, batch1.ndim == 3 and batch2.ndim == 3, "batch1 and batch2 must be 3-D", batch1,
          batch2)
    _need(op, batch1.shape[0] == batch2.shape[0] and batch1.shape[2] == batch2.shape[1],
          "batch1 and batch2 cannot be multiplied", batch1, batch2)
    return batch1 @ batch2


@public(method=True, inplace=True)
def baddbmm(input, batch1, batch2, *, beta=1, alpha=1):
    """``beta * input + alpha * (batch1 @ batch2)`` for batches of matrices (b, n, m) and
    (b, m, p), with ``input`` broadcast to (b, n, p).

    >>> cr.baddbmm(cr.zeros(1), cr.ones(2, 1, 3), cr.ones(2, 3, 1)).shape
    cr.Size([2, 1, 1])
    """
    input, batch1, batch2 = _t(input), _t(batch1), _t(batch2)
    _same_dtype("baddbmm", input, batch1, batch2)
    return _scaled_sum("baddbmm", input, _batches("baddbmm", batch1, batch2), beta, alpha)


@public(method=True, inplace=True)
def addbmm(input, batch1, batch2, *, beta=1, alpha=1):
    """``beta * input + alpha * sum_i batch1[i] @ batch2[i]`` for batches of matrices
    (b, n, m) and (b, m, p), with ``input`` broadcast to (n, p).

    >>> cr.addbmm(cr.zeros(1, 1), cr.ones(2, 1, 3), cr.ones(2, 3, 1))
    tensor([[6.]], dtype=float32)
    """
    input, batch1, batch2 = _t(input), _t(batch1), _t(batch2)
    _same_dtype("addbmm", input, batch1, batch2)
    return _scaled_sum("addbmm", input, _batches("addbmm", batch1, batch2).sum(0), beta, alpha)


@public(method=True, inplace=True)
def addcmul(input, tensor1, tensor2, *, value=1):
    """``input + value * tensor1 * tensor2``, all three broadcast together.

    >>> cr.addcmul(cr.tensor([1., 1.]), cr.tensor([2., 3.]), cr.tensor([4., 5.]), value=0.5)
    tensor([5. , 8.5], dtype=float32)
    """
    input, tensor1, tensor2 = _t(input), _t(tensor1), _t(tensor2)
    if xp.bool_ in (input.dtype, tensor1.dtype, tensor2.dtype) and \
            xp.result_type(input.dtype, tensor1.dtype, tensor2.dtype) == xp.bool_:
        raise DtypeError("addcmul: not implemented for bool tensors (as in PyTorch); convert "
                         "them with .int() or .float() first")
    (value,) = _integer_scalars("addcmul", xp.result_type(input.dtype, tensor1.dtype,
                                                          tensor2.dtype), value=value)
    # PyTorch's order, (value * tensor1) * tensor2, and for float16 in float32 rounded once.
    return _in_single_for_half(
        lambda i, a, b: i + (a if value == 1 else a * value) * b, input, tensor1, tensor2)


def _in_single_for_half(formula, *tensors):
    """``formula`` of the tensors, computed in float32 and rounded once to float16 where the
    result is float16, as PyTorch's CPU kernels for addcmul and addcdiv compute (rounding each
    step to float16 gave a different last bit in a quarter of the elements)."""
    if result_type([t._data for t in tensors]) != xp.float16:
        return formula(*tensors)
    wide = [t if t.dtype == xp.float32 else t.astype(xp.float32) for t in tensors]
    return formula(*wide).astype(xp.float16)


@public(method=True, inplace=True)
def addcdiv(input, tensor1, tensor2, *, value=1):
    """``input + value * tensor1 / tensor2``, all three broadcast together; refused for two
    integer tensors, as in PyTorch.

    >>> cr.addcdiv(cr.tensor([1., 1.]), cr.tensor([2., 3.]), cr.tensor([4., 6.]), value=2)
    tensor([2., 2.], dtype=float32)
    """
    input, tensor1, tensor2 = _t(input), _t(tensor1), _t(tensor2)
    if tensor1.dtype.kind in "iub" and tensor2.dtype.kind in "iub":
        raise DtypeError(f"addcdiv: integer division of a {tensor1.dtype} tensor by a "
                         f"{tensor2.dtype} tensor is not supported (as in PyTorch); convert "
                         f"one with .float()")
    # PyTorch's order, (value * tensor1) / tensor2 (the quotient times value rounds
    # differently), and for float16 in float32 rounded once.
    return _in_single_for_half(
        lambda i, a, b: i + (a if value == 1 else a * value) / b, input, tensor1, tensor2)


@public(method=True)
def trace(input):
    """The sum of the main diagonal of a matrix (integer traces are int64).

    >>> cr.trace(cr.tensor([[1., 2.], [3., 4.]]))
    tensor(5., dtype=float32)
    """
    input = _t(input)
    _need("trace", input.ndim == 2, "expected a matrix", input)
    if input.dtype == xp.bool_:
        raise DtypeError("trace: not implemented for bool tensors (as in PyTorch); convert "
                         "with .int() first")
    return input.diagonal().sum()


@public(method=True)
def kron(input, other):
    """The Kronecker product: every element of ``input`` times the whole of ``other``, in
    blocks; the shorter shape is padded with leading ones.

    >>> cr.kron(cr.eye(2), cr.tensor([[1., 2.]]))
    tensor([[1., 2., 0., 0.],
            [0., 0., 1., 2.]], dtype=float32)
    """
    a, b = _t(input), _t(other)
    n = max(a.ndim, b.ndim)
    sa, sb = (1,) * (n - a.ndim) + tuple(a.shape), (1,) * (n - b.ndim) + tuple(b.shape)
    spread_a = a.reshape(tuple(s for d in sa for s in (d, 1)))
    spread_b = b.reshape(tuple(s for d in sb for s in (1, d)))
    return (spread_a * spread_b).reshape(tuple(x * y for x, y in zip(sa, sb)))


@public(method=True)
def inner(input, other):
    """The inner product over the last dimension of each (a product with a 0-d operand).

    >>> cr.inner(cr.tensor([[1., 2.], [3., 4.]]), cr.tensor([1., 1.]))
    tensor([3., 7.], dtype=float32)
    """
    a, b = _t(input), _t(other)
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    _same_dtype("inner", a, b)
    _need("inner", a.shape[-1] == b.shape[-1], "the last dimensions differ", a, b)
    return tensordot(a, b, ([-1], [-1]))


@public
def tensordot(a, b, dims=2):
    """The sum of products over ``dims``: an int n contracts the last n dimensions of ``a``
    with the first n of ``b``; a pair of lists names the dimensions of each.

    >>> cr.tensordot(cr.ones(2, 3, 4), cr.ones(4, 3), dims=([1, 2], [1, 0]))
    tensor([12., 12.], dtype=float32)
    """
    a, b = _t(a), _t(b)
    _same_dtype("tensordot", a, b)
    if isinstance(dims, Tensor):
        dims = dims.tolist()
    if isinstance(dims, (int, xp.integer)):
        if dims < 0 or dims > min(a.ndim, b.ndim):
            raise ArgumentError(f"tensordot: dims={dims} must be in [0, {min(a.ndim, b.ndim)}] "
                                f"for shapes {tuple(a.shape)} and {tuple(b.shape)}")
        da, db = list(range(a.ndim - dims, a.ndim)), list(range(dims))
    else:
        da, db = ([d] if isinstance(d, int) else list(d) for d in dims)
        da = [axis_of("tensordot", d, a.ndim) for d in da]
        db = [axis_of("tensordot", d, b.ndim) for d in db]
    _need("tensordot", len(da) == len(db) and all(a.shape[i] == b.shape[j]
                                                  for i, j in zip(da, db)),
          f"the contracted dims {da} and {db} do not match in size", a, b)
    free_a = [d for d in range(a.ndim) if d not in da]
    free_b = [d for d in range(b.ndim) if d not in db]
    size = math.prod(a.shape[d] for d in da)
    rows, columns = math.prod(a.shape[d] for d in free_a), math.prod(b.shape[d] for d in free_b)
    left = a.permute(*free_a, *da).reshape(rows, size)
    right = b.permute(*db, *free_b).reshape(size, columns)
    shape = tuple(a.shape[d] for d in free_a) + tuple(b.shape[d] for d in free_b)
    return (left @ right).reshape(shape)


@public(method=True)
def diff(input, n=1, dim=-1, prepend=None, append=None):
    """The ``n``-th forward difference along ``dim``: ``x[i + 1] - x[i]`` (for bools,
    whether they differ), after ``prepend`` and ``append`` are joined on along ``dim``.

    >>> cr.diff(cr.tensor([1., 4., 9., 16.]))
    tensor([3., 5., 7.], dtype=float32)
    """
    x = _t(input)
    _need("diff", x.ndim > 0, "expects input to be at least one-dimensional", x)
    if n < 0:
        raise ArgumentError(f"diff: order must be non-negative, got n={n}")
    d = axis_of("diff", dim, x.ndim)
    if prepend is not None or append is not None:
        parts = [_t(p) for p in (prepend, x, append) if p is not None]
        _need("diff", all(p.ndim == x.ndim for p in parts),
              "prepend and append must have the input's number of dimensions", *parts)
        x = ops.concatenate(parts, d)
    for _ in range(n):
        size = x.shape[d]
        if size == 0:
            break
        later, earlier = x.narrow(d, 1, size - 1), x.narrow(d, 0, size - 1)
        x = later != earlier if x.dtype == xp.bool_ else later - earlier
    return x


def linalg_cross(input, other, *, dim=-1):
    """``cr.linalg.cross``: the cross product of 3-vectors along ``dim``, broadcasting."""
    a, b = _t(input), _t(other)
    _same_dtype("linalg.cross", a, b)
    _need("linalg.cross", a.ndim == b.ndim, "the inputs must have the same number of dimensions",
          a, b)
    try:
        shape = xp.broadcast_shapes(tuple(a.shape), tuple(b.shape))
    except ValueError:
        _need("linalg.cross", False, "the inputs do not broadcast together", a, b)
    d = axis_of("linalg.cross", dim, len(shape))
    padded = [(1,) * (len(shape) - x.ndim) + tuple(x.shape) for x in (a, b)]
    _need("linalg.cross", len(shape) > 0 and all(s[d] == 3 for s in padded),
          f"dimension {dim} of each input must have length 3", a, b)
    a, b = ops.broadcast_to(a, shape=shape), ops.broadcast_to(b, shape=shape)
    a0, a1, a2 = (a.narrow(d, i, 1) for i in range(3))
    b0, b1, b2 = (b.narrow(d, i, 1) for i in range(3))
    return ops.concatenate([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], d)


@public(method=True)
def cross(input, other, dim=None):
    """The cross product of 3-vectors along ``dim``; without ``dim``, along the first
    dimension of size 3, with PyTorch's warning (``cr.linalg.cross`` takes the last).

    >>> cr.cross(cr.tensor([1., 0., 0.]), cr.tensor([0., 1., 0.]), dim=0)
    tensor([0., 0., 1.], dtype=float32)
    """
    a, b = _t(input), _t(other)
    if dim is None:
        try:
            shape = xp.broadcast_shapes(tuple(a.shape), tuple(b.shape))
        except ValueError:
            shape = ()
        dim = next((i for i, size in enumerate(shape) if size == 3), -1)
        warnings.warn("cross: dim was not given: using the first dimension of size 3; pass "
                      "dim explicitly or use cr.linalg.cross", UserWarning, stacklevel=2)
    return linalg_cross(a, b, dim=dim)


def _in_place_with_example(name, example, output):
    """Tensor.<name>_, made as ``public(inplace=True)`` makes it, with an example that fits
    this op's arguments (the generic one passes the tensor alone)."""
    method = _in_place(DECLARATIONS[name].function, name)
    method.__doc__ = (f"In place: ``{name}``'s result written into this tensor, which is "
                      f"returned.\n\n    >>> x = {example[0]}\n    >>> x.{name}_({example[1]})\n"
                      f"    {output}\n    ")
    setattr(Tensor, f"{name}_", method)


for _name, _example, _output in [
        ("addmm", ("cr.ones(1, 2)", "cr.ones(1, 3), cr.ones(3, 2), beta=2"),
         "tensor([[5., 5.]], dtype=float32)"),
        ("addmv", ("cr.ones(2)", "cr.eye(2), cr.tensor([1., 2.]), alpha=-1"),
         "tensor([ 0., -1.], dtype=float32)"),
        ("baddbmm", ("cr.zeros(2, 1, 1)", "cr.ones(2, 1, 3), cr.ones(2, 3, 1)"),
         "tensor([[[3.]],\n    <BLANKLINE>\n            [[3.]]], dtype=float32)"),
        ("addbmm", ("cr.zeros(1, 1)", "cr.ones(2, 1, 3), cr.ones(2, 3, 1)"),
         "tensor([[6.]], dtype=float32)"),
        ("addcmul", ("cr.ones(2)", "cr.tensor([2., 3.]), cr.tensor([4., 5.]), value=-1"),
         "tensor([ -7., -14.], dtype=float32)"),
        ("addcdiv", ("cr.ones(2)", "cr.tensor([2., 3.]), cr.tensor([4., 6.])"),
         "tensor([1.5, 1.5], dtype=float32)")]:
    _in_place_with_example(_name, _example, _output)
