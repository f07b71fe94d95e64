"""More of PyTorch's reductions, selections and rearrangements under their names and
signatures, declared public as those of functions.py are (chainrule/public.py). Each is a
composite of sort, take_along_axis, where and friends, so its gradient is theirs; the indices
are found on the arrays, as sort's are."""
from collections import namedtuple

from . import functions, ops
from .backend import xp
from .errors import ArgumentError, DimError, DtypeError
from .ops.selection import kth_smallest, lower_median_ignoring_nan
from .ops.shape import axis_of
from .public import public
from .tensor import MinMax, Tensor, tensor

AMinMax = namedtuple("AMinMax", "min max")


def _t(x):
    return x if isinstance(x, Tensor) else tensor(x)


def _needs_float(name, x):
    if x.dtype.kind != "f":
        raise DtypeError(f"{name}: expected a floating point tensor, got {x.dtype} (as in "
                         f"PyTorch); convert with .float() first")


def _int64(array):
    return Tensor._wrap(xp.asarray(array).astype(xp.int64))


def _lanes(name, x, dim):
    """``x`` with ``dim`` (every element when None) moved last, and that axis's number."""
    if dim is None:
        return x.reshape(-1), None
    axis = axis_of(name, dim, x.ndim)
    lanes = x.reshape(1) if not x.ndim else x
    return ops.movedim(lanes, axis, -1), axis


@public(method=True)
def nanmean(input, dim=None, keepdim=False, *, dtype=None):
    """The mean over ``dim`` of the elements that are not NaN (NaN where all are).

    >>> cr.nanmean(cr.tensor([[1., float("nan")], [2., 4.]]), 1)
    tensor([1., 3.], dtype=float32)
    """
    x = _t(input)
    if dtype is not None:
        x = x.to(dtype)
    _needs_float("nanmean", x)
    count = ops.logical_not(ops.isnan(x)).sum(dim, keepdim=keepdim).to(x.dtype)
    mean = x.nansum(dim, keepdim) / count
    empty = count._data == 0
    if not empty.any():
        return mean
    # A lane with nothing to average is NaN, and so is its gradient, as PyTorch's.
    poison = Tensor._wrap(xp.where(empty, xp.nan, 0).astype(x.dtype))
    return ops.where(empty, x.sum(dim, keepdim=keepdim) * poison, mean)


def _kth_index(name, x, axis, position):
    """Per lane of ``x`` along ``axis``: the index of the element at ``position`` (an array
    broadcasting against the lanes) in its stable ascending order, NaNs last."""
    order = xp.argsort(x, axis=axis, kind="stable")
    shape = order.shape[:axis] + (1,) + order.shape[axis + 1:]
    return xp.take_along_axis(order, xp.broadcast_to(position, shape), axis=axis)


@public(method=True)
def nanmedian(input, dim=None, keepdim=False):
    """The lower median of the elements that are not NaN, as ``torch.nanmedian``: of every
    element without ``dim`` (the gradient is shared among the elements equal to it), else
    ``(values, indices)`` along ``dim``; NaN where a lane is all NaN.

    >>> cr.nanmedian(cr.tensor([3., float("nan"), 1., 2.]))
    tensor(2., dtype=float32)
    >>> cr.tensor([[1., 4., float("nan")], [5., 0., 3.]]).nanmedian(1)
    MinMax(values=tensor([1., 3.], dtype=float32), indices=tensor([0, 2], dtype=int64))
    """
    x = _t(input)
    if x.dtype.kind != "f":
        return x.median() if dim is None else x.median(dim, keepdim)
    if dim is None:
        if not x.numel():
            return ops.sum(x) * float("nan")
        flat = x._data.reshape(-1)
        count = int((~xp.isnan(flat)).sum())
        value = flat[_kth_index("nanmedian", flat, 0, max(count - 1, 0) // 2)[0]]
        hits = (xp.isnan(flat) if xp.isnan(value) else flat == value).reshape(x.shape)
        return ops.sum(ops.where(hits, x, 0)) / int(hits.sum())
    axis = axis_of("nanmedian", dim, x.ndim)
    lanes = x if x.ndim else x.reshape(1)
    if not lanes.shape[axis]:
        raise DimError(f"nanmedian: dim {dim} of the tensor of shape {x.shape} is empty, so "
                       f"it has no median")
    picked = lower_median_ignoring_nan(xp.moveaxis(lanes._data, axis, -1))
    return _selected(x, lanes, xp.expand_dims(picked, axis), axis, keepdim)


def _selected(x, lanes, indices, axis, keepdim):
    """``(values, indices)``: the lanes' elements at ``indices`` (one per lane, along
    ``axis``), the gradient going to each."""
    values = ops.take_along_axis(lanes, indices, axis)
    if not keepdim:
        values, indices = ops.squeeze(values, axis), xp.squeeze(indices, axis)
    if not x.ndim:
        values, indices = values.reshape(()), indices.reshape(())
    return MinMax(values, _int64(indices))


@public(method=True)
def kthvalue(input, k, dim=-1, keepdim=False):
    """``(values, indices)``: the ``k``-th smallest element (from 1) along ``dim``, NaN
    counting as the largest; of equal elements, the one PyTorch picks.

    >>> cr.kthvalue(cr.tensor([3., 1., 2.]), 2)
    MinMax(values=tensor(2., dtype=float32), indices=tensor(2, dtype=int64))
    """
    x = _t(input)
    axis = axis_of("kthvalue", dim, x.ndim)
    lanes = x if x.ndim else x.reshape(1)
    if not 1 <= k <= lanes.shape[axis]:
        raise IndexError(f"kthvalue: k={k} is out of range for dimension {dim} of size "
                         f"{lanes.shape[axis]}")
    picked = kth_smallest(xp.moveaxis(lanes._data, axis, -1), k - 1)
    indices = xp.expand_dims(picked, axis)
    return _selected(x, lanes, indices, axis, keepdim)


@public(method=True)
def mode(input, dim=-1, keepdim=False):
    """``(values, indices)``: the most frequent value along ``dim`` (of equally frequent
    ones, the smallest) and the index of its last occurrence; the gradient goes there.

    >>> cr.mode(cr.tensor([2, 1, 2, 1, 3]))
    MinMax(values=tensor(1, dtype=int64), indices=tensor(3, dtype=int64))
    """
    x = _t(input)
    axis = axis_of("mode", dim, x.ndim)
    lanes = x if x.ndim else x.reshape(1)
    data = xp.moveaxis(lanes._data, axis, -1)
    if not data.shape[-1]:
        raise IndexError(f"mode: dim {dim} of the tensor of shape {x.shape} is empty")
    order = xp.argsort(data, axis=-1, kind="stable")
    ordered = xp.take_along_axis(data, order, axis=-1)
    n = data.shape[-1]
    starts = xp.ones(ordered.shape, dtype=bool)
    starts[..., 1:] = ordered[..., 1:] != ordered[..., :-1]
    run = xp.cumsum(starts, axis=-1)  # each element's run number, from 1
    begin = xp.maximum.accumulate(xp.where(starts, xp.arange(n), 0), axis=-1)
    length = xp.arange(n) - begin + 1  # at a run's last element, the run's length
    ends = xp.ones(ordered.shape, dtype=bool)
    ends[..., :-1] = starts[..., 1:]
    length = xp.where(ends, length, 0)
    best = xp.argmax(length, axis=-1)[..., None]  # the first longest run: the smallest value
    within = (run == xp.take_along_axis(run, best, axis=-1))
    last = xp.max(xp.where(within, order, -1), axis=-1, keepdims=True)
    return _selected(x, lanes, xp.moveaxis(last, -1, axis), axis, keepdim)


@public(method=True)
def aminmax(input, *, dim=None, keepdim=False):
    """``(min, max)`` over ``dim`` (every element without it); each gradient is shared among
    the elements equal to its extreme, as amin's and amax's.

    >>> cr.aminmax(cr.tensor([[1., 5.], [-2., 3.]]), dim=1)
    AMinMax(min=tensor([ 1., -2.], dtype=float32), max=tensor([5., 3.], dtype=float32))
    """
    x = _t(input)
    if dim is None and not x.numel():
        raise ArgumentError("aminmax: cannot compute on an empty tensor without dim (as in "
                            "PyTorch)")
    if dim is None:
        low, high = functions.amin(x), functions.amax(x)
        if keepdim:
            low, high = low.reshape((1,) * x.ndim), high.reshape((1,) * x.ndim)
        return AMinMax(low, high)
    return AMinMax(functions.amin(x, dim, keepdim), functions.amax(x, dim, keepdim))


_INTERPOLATIONS = ("linear", "lower", "higher", "midpoint", "nearest")


def _quantile(name, input, q, dim, keepdim, interpolation, skip_nan):
    x = _t(input)
    _needs_float(name, x)
    if interpolation not in _INTERPOLATIONS:
        raise ArgumentError(f"{name}: interpolation must be one of {_INTERPOLATIONS}, got "
                            f"{interpolation!r}")
    if not x.numel():
        raise ArgumentError(f"{name}: the input tensor must be non-empty (as in PyTorch)")
    scalar = not isinstance(q, Tensor)
    if not scalar:
        if q.ndim > 1 or q.dtype != x.dtype:
            raise ArgumentError(f"{name}: q must be a number or a 0-d or 1-D tensor of the "
                                f"input's dtype {x.dtype}, got {q.dtype} of shape {q.shape}")
        scalar = not q.ndim
    qs = xp.asarray(q._data if isinstance(q, Tensor) else q, dtype=x.dtype).reshape(-1)
    if not ((qs >= 0) & (qs <= 1)).all():
        raise ArgumentError(f"{name}: q must be in the range [0, 1], got {q}")
    lanes, axis = _lanes(name, x, dim)
    ordered = ops.sort(lanes, -1).values
    n = ordered.shape[-1]
    nans = xp.isnan(lanes._data).sum(axis=-1, keepdims=True)
    last = n - nans - 1 if skip_nan else xp.full(nans.shape, n - 1)
    # The rank is found in the input's precision, as PyTorch's (the nearest rank of q=0.5 of
    # two elements is 0, rounded half to even); a lane with a NaN reads its last element, NaN, and a lane all NaN its
    # first.
    rank = qs * xp.maximum(last, 0).astype(x.dtype)
    if not skip_nan:
        rank = xp.where(nans > 0, xp.asarray(n - 1, dtype=x.dtype), rank)
    if interpolation == "lower":
        rank = xp.floor(rank)
    elif interpolation == "higher":
        rank = xp.ceil(rank)
    elif interpolation == "nearest":
        rank = xp.round(rank)
    below = xp.floor(rank).astype(xp.int64)
    above = xp.minimum(xp.ceil(rank).astype(xp.int64), max(n - 1, 0))
    weight = 0.5 if interpolation == "midpoint" else rank - below
    weight = xp.broadcast_to(xp.asarray(weight, dtype=x.dtype), rank.shape)
    low = ops.take_along_axis(ordered, below, -1)
    high = ops.take_along_axis(ordered, above, -1)
    # PyTorch's lerp: from the nearer end, so that weight 1 gives high exactly.
    result = ops.where(weight < 0.5, low + (high - low) * weight,
                       high - (high - low) * (1 - weight))
    result = ops.movedim(result, -1, 0)  # the quantiles' dimension first
    if axis is None and keepdim:
        result = result.reshape((-1,) + (1,) * x.ndim)
    elif keepdim and x.ndim:
        result = result.unsqueeze(axis + 1)
    return result[0] if scalar else result


@public(method=True)
def quantile(input, q, dim=None, keepdim=False, *, interpolation="linear"):
    """The ``q``-th quantiles (a number or a 1-D tensor in [0, 1], whose dimension comes
    first) over ``dim`` (every element without it), ``interpolation`` between the two
    nearest ranks being "linear", "lower", "higher", "midpoint" or "nearest". A NaN makes
    its lane's quantiles NaN.

    >>> cr.quantile(cr.tensor([1., 2., 4., 8.]), cr.tensor([0.25, 0.5]))
    tensor([1.75, 3.  ], dtype=float32)
    """
    return _quantile("quantile", input, q, dim, keepdim, interpolation, False)


@public(method=True)
def nanquantile(input, q, dim=None, keepdim=False, *, interpolation="linear"):
    """``quantile`` of the elements that are not NaN (NaN where a lane is all NaN).

    >>> cr.nanquantile(cr.tensor([1., float("nan"), 3.]), 0.5)
    tensor(2., dtype=float32)
    """
    return _quantile("nanquantile", input, q, dim, keepdim, interpolation, True)


@public(method=True)
def bincount(input, weights=None, minlength=0):
    """How many times each value 0, 1, ... occurs in the 1-D non-negative integer ``input``
    (at least ``minlength`` counts): int64 counts, or with ``weights`` their sums (float64
    for integer weights, as in PyTorch). Carries no gradient.

    >>> cr.bincount(cr.tensor([0, 2, 2, 3]), minlength=5)
    tensor([1, 0, 2, 1, 0], dtype=int64)
    """
    x = _t(input)
    if x.ndim != 1 or x.dtype.kind not in "iub" or x.dtype == xp.bool_:
        raise ArgumentError(f"bincount: expected a 1-D integer tensor, got {x.dtype} of "
                            f"shape {tuple(x.shape)}")
    if minlength < 0:
        raise ArgumentError(f"bincount: minlength must be non-negative, got {minlength}")
    if x.numel() and int(x._data.min()) < 0:
        raise ArgumentError("bincount: the input must hold non-negative integers")
    if weights is None:
        return _int64(xp.bincount(x._data, minlength=minlength))
    w = _t(weights)
    if w.shape != x.shape:
        raise ArgumentError(f"bincount: weights must have the input's shape {tuple(x.shape)}, "
                            f"got {tuple(w.shape)}")
    dtype = w.dtype if w.dtype.kind == "f" else xp.float64
    return Tensor._wrap(xp.bincount(x._data, w._data.astype(xp.float64), minlength)
                        .astype(dtype))


@public(method=True)
def unique_consecutive(input, return_inverse=False, return_counts=False, dim=None):
    """The values with each run of equal consecutive ones kept once (of the flattened input,
    or of the slices along ``dim``), optionally with each element's run number and each run's
    length. Carries no gradient.

    >>> cr.unique_consecutive(cr.tensor([1, 1, 2, 2, 3, 1]), return_counts=True)
    (tensor([1, 2, 3, 1], dtype=int64), tensor([2, 2, 1, 1], dtype=int64))
    """
    x = _t(input)._data
    if dim is None:
        lanes, axis = x.reshape(-1, 1), 0
    else:
        axis = axis_of("unique_consecutive", dim, x.ndim)
        lanes = xp.moveaxis(x, axis, 0).reshape(x.shape[axis], -1)
    starts = xp.ones(len(lanes), dtype=bool)
    starts[1:] = (lanes[1:] != lanes[:-1]).any(axis=1)
    first = xp.flatnonzero(starts)
    values = x.reshape(-1)[first] if dim is None else xp.take(x, first, axis=axis)
    answer = [Tensor._wrap(values)]
    if return_inverse:
        inverse = xp.cumsum(starts) - 1
        answer.append(_int64(inverse.reshape(x.shape) if dim is None else inverse))
    if return_counts:
        answer.append(_int64(xp.diff(xp.append(first, len(lanes)))))
    return answer[0] if len(answer) == 1 else tuple(answer)


@public(method=True)
def argwhere(input):
    """The indices of the non-zero elements, one row each (``nonzero``'s (n, ndim) int64).

    >>> cr.argwhere(cr.tensor([[0., 1.], [2., 0.]]))
    tensor([[0, 1],
            [1, 0]], dtype=int64)
    """
    x = _t(input)
    if not x.ndim:  # one row of no indices if the element is non-zero, as PyTorch's
        return _int64(xp.zeros((int(x._data != 0), 0)))
    return ops.nonzero(x)
