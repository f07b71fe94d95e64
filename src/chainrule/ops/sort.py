"""Sorting and running extremes. The order is found on the array; the values are then read at
those indices with take_along_axis, so the gradient goes to exactly the elements returned."""
from collections import namedtuple

from ..backend import xp
from ..errors import ShapeError
from .scan import running_extreme
from .selection import std_top_k, tied
from .shape import axis_of, reshape, take_along_axis

ValuesIndices = namedtuple("ValuesIndices", "values indices")


def _as_1d(input):
    return reshape(input, shape=(1,)) if not input.shape else input


def _back(result, input):
    return reshape(result, shape=()) if not input.shape else result


def _order(values, axis, descending):
    """A stable argsort; descending puts NaN first (it counts as the largest, as in PyTorch)
    and keeps equal elements in their original order."""
    if not descending:
        return xp.argsort(values, axis=axis, kind="stable")
    if values.dtype.kind == "f":
        return xp.lexsort((-values, ~xp.isnan(values)), axis=axis)
    return xp.argsort(~values, axis=axis, kind="stable")  # ~ reverses the order of ints/bools


_stable_order = _order  # cr.compile swaps _order while it captures a step


def _data(input):
    return input._data if hasattr(input, "_data") else xp.asarray(input)


def sort(input, dim=-1, descending=False, stable=False):
    """``(values, indices)`` of ``input`` sorted along ``dim``. Equal elements keep their
    order (a stable sort, whatever ``stable`` says).

    >>> cr.sort(cr.tensor([3., 1., 2.]))
    ValuesIndices(values=tensor([1., 2., 3.], dtype=float32), indices=tensor([1, 2, 0], dtype=int64))
    >>> cr.sort(cr.tensor([3., 1., 2.]), descending=True).indices
    tensor([0, 2, 1], dtype=int64)
    """
    axis = axis_of("sort", dim, input.ndim)
    indices = _order(_data(input).reshape(input.shape or (1,)), axis, descending)
    values = take_along_axis(_as_1d(input), indices, axis)
    return ValuesIndices(_back(values, input), _int_tensor(indices.reshape(input.shape)))


def argsort(input, dim=-1, descending=False, stable=False):
    """The indices that sort ``input`` along ``dim`` (``sort(...).indices``).

    >>> cr.argsort(cr.tensor([3., 1., 2.]))
    tensor([1, 2, 0], dtype=int64)
    """
    axis = axis_of("argsort", dim, input.ndim)
    indices = _order(_data(input).reshape(input.shape or (1,)), axis, descending)
    return _int_tensor(indices.reshape(input.shape))


def topk(input, k, dim=-1, largest=True, sorted=True):
    """``(values, indices)`` of the ``k`` largest (or smallest) elements along ``dim``, in
    order.

    >>> cr.topk(cr.tensor([1., 5., 3., 4.]), 2)
    ValuesIndices(values=tensor([5., 4.], dtype=float32), indices=tensor([1, 3], dtype=int64))
    """
    axis = axis_of("topk", dim, input.ndim)
    size = input.shape[axis] if input.shape else 1
    if not 0 <= k <= size:
        raise ShapeError(f"topk: k={k} is out of range for dimension {axis} of size {size}")
    data = _data(input).reshape(input.shape or (1,))
    indices = _top_k(data, _order(data, axis, largest), axis, k, largest, sorted)
    values = take_along_axis(_as_1d(input), indices, axis)
    if not input.shape and k == 1:  # a 0-d input gives 0-d results, as in PyTorch
        return ValuesIndices(reshape(values, shape=()), _int_tensor(indices.reshape(())))
    return ValuesIndices(values, _int_tensor(indices))


def _top_k(values, order, axis, k, largest, sorted):
    """The first k of ``order``, except in lanes where equal values are among the k + 1
    first: there PyTorch's pick among them is its std::nth_element's (or partial_sort's),
    followed in selection.std_top_k, so that the indices and the gradient go where its do.
    (Unsorted without ties, the k come in order, where PyTorch's nth_element may leave them
    in another: the same elements, each with its index.)"""
    span = [slice(None)] * order.ndim
    span[axis] = slice(0, k)
    first_k = order[tuple(span)]  # cr.compile replays this function with each call's data
    lanes = xp.moveaxis(values, axis, -1)
    ordered = xp.moveaxis(order, axis, -1)
    if not k:
        return first_k
    followed = tied(xp.take_along_axis(lanes, ordered[..., :k + 1], axis=-1))
    if not followed.any():
        return first_k
    picked = ordered[..., :k].copy()
    for lane in map(tuple, xp.argwhere(followed)):
        picked[lane] = std_top_k(lanes[lane].tolist(), k, largest, sorted)
    return xp.moveaxis(picked, -1, axis)


def _running(op, input, dim, largest):
    axis = axis_of(op, dim, input.ndim)
    x = _as_1d(input)
    indices = running_extreme(_data(x), axis, largest)
    values = take_along_axis(x, indices, axis)
    return ValuesIndices(_back(values, input), _int_tensor(indices.reshape(input.shape)))


def cummax(input, dim):
    """``(values, indices)``: the running maximum along ``dim`` and where it was found (the
    latest position at ties, as in PyTorch)."""
    return _running("cummax", input, dim, True)


def cummin(input, dim):
    """``(values, indices)``: the running minimum along ``dim`` and where it was found."""
    return _running("cummin", input, dim, False)


def _int_tensor(array):
    from ..tensor import Tensor
    return Tensor._make(xp.array(array, dtype=xp.int64, order="C"), None)


def msort(input):
    """``input`` sorted along its first dimension.

    >>> cr.msort(cr.tensor([[3., 1.], [2., 4.]]))
    tensor([[2., 1.],
            [3., 4.]], dtype=float32)
    """
    return sort(input, 0).values


__all__ = ["ValuesIndices", "sort", "argsort", "topk", "cummax", "cummin", "msort"]
