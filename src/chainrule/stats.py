"""Order statistics and counts with PyTorch's names and meanings: median, unique, histc,
histogram. Each is declared public here, beside its definition (chainrule/public.py)."""
from collections import namedtuple

from . import ops
from .backend import xp
from .errors import ArgumentError, DimError, DtypeError
from .public import public
from .tensor import Tensor
from .tensor import as_input as _t

Histogram = namedtuple("Histogram", "hist bin_edges")


def _needs_float(name, x):
    if x.dtype.kind != "f":
        raise DtypeError(f"{name}: not implemented for {x.dtype} tensors (as in PyTorch); "
                         f"convert with .float() first")


def _lower_median_index(values, axis):
    """Per lane of ``values`` along ``axis``: the index of the lower median, or of the first
    NaN where the lane has one (the median of a lane with a NaN is NaN, as in PyTorch)."""
    order = xp.argsort(values, axis=axis, kind="stable")  # NaNs sort last
    n = values.shape[axis]
    nans = xp.isnan(values).sum(axis=axis, keepdims=True) if values.dtype.kind == "f" else 0
    position = xp.where(nans > 0, n - nans, (n - 1) // 2)
    return xp.take_along_axis(order, xp.broadcast_to(position, order.shape[:axis] + (1,) +
                                                     order.shape[axis + 1:]), axis=axis)


def _refuse_empty_integer_median(op, x):
    """The median of no integers: PyTorch answers NaN cast to the dtype (int64's lowest number,
    0 for int8, True for bool: C's undefined conversion), where this gave a float32 NaN."""
    if x.dtype.kind != "f":
        raise ArgumentError(f"{op}: the {x.dtype} tensor of shape {tuple(x.shape)} is empty, "
                            f"and integers have no NaN for its median (PyTorch returns NaN "
                            f"cast to {x.dtype}); convert it with .float() first")


@public(method=True)
def median(input, dim=None, keepdim=False):
    """The lower median (of the two middle values, the smaller), as ``torch.median``: of every
    element without ``dim`` (the gradient is shared among the elements equal to it), else
    ``(values, indices)`` along ``dim`` (the gradient goes to the index returned). A NaN makes
    the median NaN.

    >>> cr.median(cr.tensor([3., 1., 4., 2.]))
    tensor(2., dtype=float32)
    >>> cr.tensor([[1., 4., 2.], [5., 0., 3.]]).median(1)
    MinMax(values=tensor([2., 3.], dtype=float32), indices=tensor([2, 2], dtype=int64))
    """
    from .tensor import MinMax
    x = _t(input)
    if dim is None:
        if not x.numel():
            _refuse_empty_integer_median("median", x)
            return ops.sum(x) * float("nan")
        flat = x._data.reshape(-1)
        value = flat[_lower_median_index(flat, 0)[0]]
        if x.dtype.kind != "f":
            return Tensor._wrap(value)
        hits = (xp.isnan(flat) if xp.isnan(value) else flat == value).reshape(x.shape)
        return ops.sum(ops.where(hits, x, 0)) / int(hits.sum())
    axis = ops.shape.axis_of("median", dim, x.ndim)
    lanes = x if x.ndim else x.reshape(1)
    if not lanes.shape[axis]:
        raise DimError(f"median: dim {dim} of the tensor of shape {x.shape} is empty, so it "
                       f"has no median")
    indices = _lower_median_index(lanes._data, axis)
    values = ops.take_along_axis(lanes, indices, axis)
    if not keepdim:
        values, indices = ops.squeeze(values, axis), xp.squeeze(indices, axis)
    if not x.ndim:
        values, indices = values.reshape(()), indices.reshape(())
    return MinMax(values, Tensor._make(indices.astype(xp.int64), None))


@public(method=True)
def unique(input, sorted=True, return_inverse=False, return_counts=False, dim=None):
    """The distinct values, sorted (as PyTorch on the CPU, whatever ``sorted`` says), with
    optionally the index of each element's value in them and each value's count; with
    ``dim``, the distinct slices along it. Carries no gradient.

    >>> cr.unique(cr.tensor([3, 1, 3, 2]), return_counts=True)
    (tensor([1, 2, 3], dtype=int64), tensor([1, 1, 2], dtype=int64))
    """
    x = _t(input)._data
    if dim is not None:
        dim = ops.shape.axis_of("unique", dim, x.ndim)
        _slices_must_be_comparable("unique", x.shape, dim)
    # Each NaN is distinct from every other, as in PyTorch (NumPy merges them by default).
    values, inverse, counts = xp.unique(x, return_inverse=True, return_counts=True, axis=dim,
                                        equal_nan=False)
    if dim is None:
        inverse = inverse.reshape(x.shape)
    answer = [Tensor._wrap(values)]
    if return_inverse:
        answer.append(Tensor._wrap(inverse.astype(xp.int64)))
    if return_counts:
        answer.append(Tensor._wrap(counts.astype(xp.int64)))
    return answer[0] if len(answer) == 1 else tuple(answer)


def _slices_must_be_comparable(op, shape, dim):
    # PyTorch compares slices along dim only where dim is the one empty dim of an empty tensor.
    if 0 in shape and (shape.count(0) > 1 or (shape and shape[dim] != 0)):
        raise ArgumentError(f"{op}: slices along dim {dim} of a tensor of shape {shape} cannot "
                            f"be compared: another dim is empty (as PyTorch refuses)")


@public(method=True)
def histc(input, bins=100, min=0, max=0):
    """Counts of the elements in ``bins`` equal bins over [min, max] (the data's own range
    when both are 0), as floats of the input's dtype; elements outside are left out. Carries
    no gradient.

    >>> cr.histc(cr.tensor([1., 2., 1., 4.]), bins=3, min=1, max=4)
    tensor([2., 1., 1.], dtype=float32)
    """
    x = _t(input)
    _needs_float("histc", x)
    values = x._data
    low, high = float(min), float(max)
    if low == high and values.size:
        low, high = float(values.min()), float(values.max())
    if low == high:
        low, high = low - 1, high + 1
    if low > high:
        raise ArgumentError(f"histc: max ({max}) must be larger than min ({min})")
    counts, _ = xp.histogram(values, bins=bins, range=(low, high))
    return Tensor._wrap(counts.astype(values.dtype))


@public(method=True)
def histogram(input, bins=100, *, range=None, weight=None, density=False):
    """``(hist, bin_edges)``: counts in ``bins`` bins (a number of equal bins over ``range``,
    the data's range by default, or a 1-D tensor of edges); the last bin includes its right
    edge. Floats of the input's dtype; no gradient.

    >>> cr.histogram(cr.tensor([1., 2., 1.]), bins=2)
    Histogram(hist=tensor([2., 1.], dtype=float32), bin_edges=tensor([1. , 1.5, 2. ], dtype=float32))
    """
    x = _t(input)
    _needs_float("histogram", x)
    edges = bins._data if isinstance(bins, Tensor) else bins
    weights = None if weight is None else _t(weight)._data
    counts, edges = xp.histogram(x._data, bins=edges, range=range, weights=weights,
                                 density=density)
    return Histogram(Tensor._wrap(counts.astype(x.dtype)), Tensor._wrap(edges.astype(x.dtype)))
