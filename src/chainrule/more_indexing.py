"""More of PyTorch's reductions, selections and rearrangements under their names and
signatures, declared public as those of functions.py are (chainrule/public.py). Each is a
composite of sort, take_along_axis, where and friends, so its gradient is theirs; the indices
are found on the arrays, as sort's are."""
from collections import namedtuple

from . import engine, functions, ops
from .backend import xp
from .errors import ArgumentError, DimError, DtypeError, GradientError
from .ops.selection import kth_smallest, lower_median_ignoring_nan, std_sort_order
from .ops.shape import ComposedView, axis_of
from .products import _in_place_with_example
from .public import public
from .stats import _needs_float, _slices_must_be_comparable
from .tensor import MinMax, Tensor
from .tensor import as_input as _t

AMinMax = namedtuple("AMinMax", "min max")


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
        value = flat[xp.argsort(flat, kind="stable")[max(count - 1, 0) // 2]]  # NaNs last
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
    ones, the smallest) and PyTorch's index of it (its last occurrence, for up to 16
    elements); the gradient goes there. An input with NaN is refused (PyTorch's answer for it follows no rule).

    >>> cr.mode(cr.tensor([2, 1, 2, 1, 3]))
    MinMax(values=tensor(1, dtype=int64), indices=tensor(3, dtype=int64))
    """
    x = _t(input)
    axis = axis_of("mode", dim, x.ndim)
    lanes = x if x.ndim else x.reshape(1)
    data = xp.moveaxis(lanes._data, axis, -1)
    if not data.shape[-1]:
        raise IndexError(f"mode: dim {dim} of the tensor of shape {x.shape} is empty")
    if data.dtype.kind == "f" and xp.isnan(data).any():
        # PyTorch's answer then depends on how its sort happens to place NaNs (neither the
        # most frequent value nor its last index is assured): refused rather than guessed.
        raise ArgumentError("mode: the input has NaN, for which the mode is not defined; "
                            "replace the NaNs first (e.g. with nan_to_num)")
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
    if n > 16:
        # PyTorch returns the index that ends the run in its std::sort's order, which keeps
        # equal values in order only up to 16 elements: followed where the run has several.
        for lane in map(tuple, xp.argwhere(xp.take_along_axis(length, best, -1)[..., 0] > 1)):
            picked = std_sort_order(data[lane].tolist())
            last[lane] = picked[int(best[lane][0])]
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
    # two elements is 0, rounded half to even). A lane with a NaN reads its last element,
    # NaN; a lane all NaN (nanquantile) its first.
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
    if interpolation in ("lower", "higher", "nearest"):  # the element itself, as PyTorch's
        result = low  # (low + (high - low) * 0 is NaN at an infinite one)
    else:  # PyTorch's lerp: from the nearer end, so that weight 1 gives high exactly.
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
    (at least ``minlength`` counts): int64 counts, or with ``weights`` their sums (float32
    for float32 weights, else float64, as in PyTorch). Carries no gradient.

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
    if w.dtype == xp.float32:
        # PyTorch adds float32 weights in float32, in order (NumPy's bincount adds in float64,
        # a different rounding): ufunc.at is that loop.
        sums = xp.zeros(max(minlength, int(x._data.max()) + 1 if x.numel() else 0), xp.float32)
        xp.add.at(sums, x._data, w._data)
        return Tensor._wrap(sums)
    # Other weights (float16 and float64 included) are summed and returned in float64, as
    # PyTorch's (float16 weights once gave float16 sums).
    return Tensor._wrap(xp.bincount(x._data, w._data.astype(xp.float64), minlength))


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
        _slices_must_be_comparable("unique_consecutive", x.shape, axis)
        lanes = xp.moveaxis(x, axis, 0).reshape(x.shape[axis], -1 if x.size else 0)
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


def _index(name, index):
    index = index._data if isinstance(index, Tensor) else xp.asarray(index)
    if index.dtype != xp.int64:
        raise DtypeError(f"{name}: expected an int64 index tensor, got {index.dtype} (as in "
                         f"PyTorch); convert with .long()")
    return index


@public(method=True)
def take(input, index):
    """The elements of ``input``, read as if flattened, at ``index`` (int64, any shape, which
    is the result's shape); the gradient adds up over repeats.

    >>> cr.take(cr.tensor([[1., 2.], [3., 4.]]), cr.tensor([[3, 0]]))
    tensor([[4., 1.]], dtype=float32)
    """
    x, index = _t(input), _index("take", index)
    return ops.getitem(x.reshape(-1), index=_taken(index, x.numel()))


def _taken(index, n):
    """take's index into the n flattened elements, checked (in [-n, n), as PyTorch) and
    counted from the start. cr.compile runs it as a line of the plan on each call's index."""
    if index.size and (index.min() < -n or index.max() >= n):
        raise IndexError(f"take: index out of range for a tensor of {n} elements")
    return index % max(n, 1)


@public(method=True)
def select(input, dim, index):
    """The slice at ``index`` along ``dim``, without that dimension: a view, as
    ``x[:, index]`` for dim 1.

    >>> cr.tensor([[1., 2.], [3., 4.]]).select(1, -1)
    tensor([2., 4.], dtype=float32)
    """
    x = _t(input)
    if not x.ndim:
        raise IndexError("select: cannot select from a 0-d tensor")
    axis = axis_of("select", dim, x.ndim)
    if not -x.shape[axis] <= index < x.shape[axis]:
        raise IndexError(f"select: index {index} is out of range for dimension {dim} of size "
                         f"{x.shape[axis]}")
    return x[(slice(None),) * axis + (int(index),)]


@public(method=True)
def narrow_copy(input, dim, start, length):
    """``narrow``'s slice as a new tensor that shares no memory.

    >>> cr.narrow_copy(cr.arange(5), 0, 1, 3)
    tensor([1, 2, 3], dtype=int64)
    """
    return ops.narrow(_t(input), dim, start, length).clone()


@public(method=True)
def split_with_sizes(input, split_sizes, dim=0):
    """Views of the pieces along ``dim`` of the given sizes, which must add up to its size.

    >>> cr.split_with_sizes(cr.arange(5), [2, 3])
    (tensor([0, 1], dtype=int64), tensor([2, 3, 4], dtype=int64))
    """
    x = _t(input)
    sizes = [int(s) for s in split_sizes]
    if any(s < 0 for s in sizes):
        raise ArgumentError(f"split_with_sizes: sizes must be non-negative, got {sizes}")
    return ops.split(x, sizes, dim)


def _split_at(name, x, sections, axis):
    """torch.hsplit and kin: an int that must divide the size evenly, or indices to cut at
    (those past the end give empty pieces, as slices)."""
    n = x.shape[axis]
    if isinstance(sections, (int, xp.integer)):
        if sections <= 0 or n % sections:
            raise ArgumentError(f"{name}: dimension {axis} of size {n} cannot be split into "
                                f"{sections} equal pieces")
        return ops.split(x, n // sections, axis) if n else ops.split(x, [0] * sections, axis)
    cuts = [0, *(int(i) for i in sections), n]
    return tuple(x[(slice(None),) * axis + (slice(a, max(a, b) if b >= 0 else b),)]
                 for a, b in zip(cuts, cuts[1:]))


@public(method=True)
def hsplit(input, indices_or_sections):
    """Split along the columns: dimension 1 (0 for a vector), into an int of equal pieces or
    at the given indices.

    >>> cr.hsplit(cr.arange(4), [1])
    (tensor([0], dtype=int64), tensor([1, 2, 3], dtype=int64))
    """
    x = _t(input)
    if not x.ndim:
        raise ArgumentError("hsplit: expects a tensor of at least 1 dimension")
    return _split_at("hsplit", x, indices_or_sections, 1 if x.ndim > 1 else 0)


@public(method=True)
def vsplit(input, indices_or_sections):
    """Split along the rows (dimension 0) of a tensor of at least 2 dimensions.

    >>> [piece.shape for piece in cr.vsplit(cr.zeros(4, 2), 2)]
    [cr.Size([2, 2]), cr.Size([2, 2])]
    """
    x = _t(input)
    if x.ndim < 2:
        raise ArgumentError("vsplit: expects a tensor of at least 2 dimensions")
    return _split_at("vsplit", x, indices_or_sections, 0)


@public(method=True)
def dsplit(input, indices_or_sections):
    """Split along the depth (dimension 2) of a tensor of at least 3 dimensions.

    >>> [piece.shape for piece in cr.dsplit(cr.zeros(1, 2, 3), [1])]
    [cr.Size([1, 2, 1]), cr.Size([1, 2, 2])]
    """
    x = _t(input)
    if x.ndim < 3:
        raise ArgumentError("dsplit: expects a tensor of at least 3 dimensions")
    return _split_at("dsplit", x, indices_or_sections, 2)


@public(method=True)
def rot90(input, k=1, dims=(0, 1)):
    """Rotated by 90 degrees ``k`` times in the plane of ``dims``, from the first towards
    the second.

    >>> cr.rot90(cr.tensor([[1, 2], [3, 4]]))
    tensor([[2, 4],
            [1, 3]], dtype=int64)
    """
    x = _t(input)
    if len(dims) != 2 or x.ndim < 2:
        raise ArgumentError(f"rot90: expects two dims of a tensor of at least 2 dimensions, got "
                            f"dims={tuple(dims)} for shape {tuple(x.shape)}")
    a, b = (axis_of("rot90", d, x.ndim) for d in dims)
    if a == b:
        raise ArgumentError(f"rot90: the dims must differ, got {tuple(dims)}")
    k %= 4
    if k == 1:
        return ops.flip(x, (b,)).transpose(a, b)
    if k == 2:
        return ops.flip(x, (a, b))
    if k == 3:
        return ops.flip(x, (a,)).transpose(a, b)
    return x.clone()


@public(method=True)
def diag_embed(input, offset=0, dim1=-2, dim2=-1):
    """Each vector along the last dimension laid on the ``offset`` diagonal of a new square
    matrix in dimensions ``dim1`` and ``dim2`` of the result, zeros elsewhere.

    >>> cr.diag_embed(cr.tensor([1., 2.]), offset=1)
    tensor([[0., 1., 0.],
            [0., 0., 2.],
            [0., 0., 0.]], dtype=float32)
    """
    x = _t(input)
    first, second = axis_of("diag_embed", dim1, x.ndim + 1), axis_of("diag_embed", dim2,
                                                                        x.ndim + 1)
    if first == second:
        raise ArgumentError(f"diag_embed: dim1 and dim2 must differ, got {dim1} and {dim2}")
    lanes = x.reshape(1) if not x.ndim else x
    n = lanes.shape[-1]
    m = n + abs(offset)
    positions = xp.arange(n)
    rows, columns = positions + max(-offset, 0), positions + max(offset, 0)
    zeros = Tensor._wrap(xp.zeros(lanes.shape[:-1] + (m, m), dtype=x.dtype))
    out = ops.index_put(zeros, lanes, index=(Ellipsis, rows, columns))
    return ops.movedim(out, (-2, -1), (first, second))


@public(method=True)
def diagflat(input, offset=0):
    """A matrix with the flattened input on its ``offset`` diagonal.

    >>> cr.diagflat(cr.tensor([[1, 2]]))
    tensor([[1, 0],
            [0, 2]], dtype=int64)
    """
    return ops.diag(_t(input).reshape(-1), offset)


@public(method=True)
def is_same_size(input, other):
    """Whether the two tensors have the same shape.

    >>> cr.zeros(2, 3).is_same_size(cr.ones(2, 3))
    True
    """
    return tuple(_t(input).shape) == tuple(_t(other).shape)


@public(method=True)
def is_signed(input):
    """Whether the dtype holds negative numbers (not bool nor uint8).

    >>> cr.is_signed(cr.tensor([1], dtype=cr.uint8)), cr.is_signed(cr.tensor([1.]))
    (False, True)
    """
    return _t(input).dtype.kind in "fic"


@public(method=True)
def is_complex(input):
    """Whether the dtype is complex.

    >>> cr.is_complex(cr.tensor([1.]))
    False
    """
    return _t(input).dtype.kind == "c"


@public(method=True)
def isreal(input):
    """Elementwise, whether the value is real: True for every element of a real dtype.

    >>> cr.isreal(cr.tensor([1., float("nan")]))
    tensor([ True,  True], dtype=bool)
    """
    x = _t(input)._data
    return Tensor._wrap(x.imag == 0 if x.dtype.kind == "c" else xp.ones(x.shape, dtype=bool))


@public(method=True)
def isposinf(input):
    """Elementwise, whether the value is +inf.

    >>> cr.isposinf(cr.tensor([1., float("inf"), -float("inf")]))
    tensor([False,  True, False], dtype=bool)
    """
    return Tensor._wrap(xp.isposinf(_t(input)._data))


@public(method=True)
def isneginf(input):
    """Elementwise, whether the value is -inf.

    >>> cr.isneginf(cr.tensor([1., float("inf"), -float("inf")]))
    tensor([False, False,  True], dtype=bool)
    """
    return Tensor._wrap(xp.isneginf(_t(input)._data))


@public(method=True)
def is_nonzero(input):
    """Whether the single element of ``input`` is non-zero (refused for any other number of
    elements, as PyTorch).

    >>> cr.is_nonzero(cr.tensor([0.5]))
    True
    """
    x = _t(input)
    if x.numel() != 1:
        raise ArgumentError(f"is_nonzero: the truth value of a tensor with {x.numel()} "
                            f"elements is ambiguous")
    return bool(x._data.reshape(-1)[0])


def _along(name, x, dim, index, *, negative_counts_back=False):
    """The index (1-D int64) and the tuple that reads ``x`` at it along ``dim``. A negative
    index is refused, as PyTorch's index_copy does, unless ``negative_counts_back`` (index_fill
    counts it from the end)."""
    index = _index(name, index)
    if index.ndim > 1:
        raise ArgumentError(f"{name}: index must be 0-D or 1-D, got shape {index.shape}")
    axis = axis_of(name, dim, x.ndim) if x.ndim else 0
    size = x.shape[axis] if x.ndim else 1
    low = -size if negative_counts_back else 0
    if index.size and (index.min() < low or index.max() >= size):
        bad = index[(index < low) | (index >= size)].flat[0]
        raise IndexError(f"{name}: index {bad} is out of range for dimension {dim} of size "
                         f"{size} (tensor of shape {tuple(x.shape)})")
    return axis, (slice(None),) * axis + (index.reshape(-1) % max(size, 1),)


@public(method=True)
def index_copy(input, dim, index, source):
    """A copy of ``input`` with the slices of ``source`` written at ``index`` along ``dim``
    (``out[:, index[i]] = source[:, i]`` for dim 1); differentiable in both.

    >>> cr.index_copy(cr.zeros(2, 3), 1, cr.tensor([2, 0]), cr.tensor([[1., 2.], [3., 4.]]))
    tensor([[2., 0., 1.],
            [4., 0., 3.]], dtype=float32)
    """
    x, source = _t(input), _t(source)
    if source.dtype != x.dtype:
        raise DtypeError(f"index_copy: source is {source.dtype} but the tensor is {x.dtype}; "
                         f"they must match (as in PyTorch)")
    axis, where = _along("index_copy", x, dim, index)
    lanes = x.reshape(1) if not x.ndim else x
    expected = lanes.shape[:axis] + (len(where[-1]),) + lanes.shape[axis + 1:]
    # Dimensionalities must match unless one side is 0-d, as in PyTorch (a flat source of the
    # right size would otherwise be reshaped silently).
    if source.numel() != len(where[-1]) * (lanes.numel() // max(lanes.shape[axis], 1)) or (
            source.ndim and x.ndim and (source.ndim != x.ndim or tuple(source.shape) != expected)
            or source.ndim > 1 and not x.ndim):
        raise ArgumentError(f"index_copy: source of shape {tuple(source.shape)} does not fit "
                            f"{len(where[-1])} slices of the tensor of shape {tuple(x.shape)}")
    return ops.index_put(lanes, source.reshape(expected), index=where).reshape(x.shape)


@public(method=True)
def index_fill(input, dim, index, value):
    """A copy of ``input`` with ``value`` (a number or a 0-d tensor, which then gets the
    gradient) in the slices at ``index`` along ``dim``.

    >>> cr.index_fill(cr.zeros(2, 3), 1, cr.tensor([0, 2]), -1.0)
    tensor([[-1.,  0., -1.],
            [-1.,  0., -1.]], dtype=float32)
    """
    x = _t(input)
    _, where = _along("index_fill", x, dim, index, negative_counts_back=True)
    mask = xp.zeros(x.shape or (1,), dtype=bool)
    mask[where] = True
    return ops.masked_fill(x, mask.reshape(x.shape), value)


@public(method=True)
def masked_scatter(input, mask, source):
    """A copy of ``input`` (broadcast with ``mask``) with the elements of ``source``, in
    order, where ``mask`` is True; source gets the gradient of those it gave.

    >>> x = cr.zeros(4)
    >>> cr.masked_scatter(x, cr.tensor([True, False, True, False]), cr.tensor([1., 2., 3.]))
    tensor([1., 0., 2., 0.], dtype=float32)
    """
    x, source = _t(input), _t(source)
    mask = mask._data if isinstance(mask, Tensor) else xp.asarray(mask)
    if mask.dtype != bool:
        raise DtypeError(f"masked_scatter: mask must be a bool tensor, got {mask.dtype}")
    if source.dtype != x.dtype:
        raise DtypeError(f"masked_scatter: source is {source.dtype} but the tensor is "
                         f"{x.dtype}; they must match (as in PyTorch)")
    shape = xp.broadcast_shapes(tuple(x.shape), mask.shape)
    mask = xp.broadcast_to(mask, shape)
    count = int(mask.sum())
    if count > source.numel():
        raise ArgumentError(f"masked_scatter: the mask has {count} True elements but source "
                            f"only {source.numel()}")
    x = ops.broadcast_to(x, shape=shape) if tuple(x.shape) != shape else x
    if not count:  # nothing taken: source still gets its (zero) gradient, as PyTorch's
        return ops.where(mask, source.reshape(-1).sum().to(x.dtype), x)
    position = xp.maximum(xp.cumsum(mask.reshape(-1)) - 1, 0).reshape(shape)
    return ops.where(mask, ops.getitem(source.reshape(-1), index=position), x)


def _put(input, index, source, accumulate=False):
    x, source = _t(input), _t(source)
    index = _index("put_", index).reshape(-1)
    if source.numel() != index.size:
        raise ArgumentError(f"put_: source has {source.numel()} elements but index "
                            f"{index.size}; they must match")
    n = x.numel()
    if index.size and (index.min() < -n or index.max() >= n):
        raise IndexError(f"put_: index out of range for a tensor of {n} elements")
    flat = functions.index_put(x.reshape(-1), (index % max(n, 1),), source.reshape(-1),
                               accumulate)
    return flat.reshape(x.shape)


def _fill_diagonal(input, fill_value, wrap=False):
    x = _t(input)
    if x.ndim < 2 or (x.ndim > 2 and len(set(x.shape)) > 1):
        raise ArgumentError(f"fill_diagonal_: expects a matrix, or a tensor whose dimensions "
                            f"are all equal, got shape {tuple(x.shape)}")
    strides = xp.cumprod((1,) + tuple(x.shape[:0:-1]))[::-1]  # of C order
    step = int(strides.sum())
    count = min(x.shape) if not (wrap and x.ndim == 2 and x.shape[0] > x.shape[1] + 1) \
        else -(-x.numel() // step)
    mask = xp.zeros(x.numel(), dtype=bool)
    mask[xp.arange(count) * step] = True
    return ops.masked_fill(x, mask.reshape(x.shape), fill_value)


# -- Tensor methods that PyTorch has only as methods --------------------------------------------

def put_(self, index, source, accumulate=False):
    """In place: ``source``'s elements written (with ``accumulate``, added) at ``index`` of
    this tensor read as if flattened; returns it.

    >>> cr.zeros(2, 2).put_(cr.tensor([3, 0, 3]), cr.tensor([1., 2., 3.]), accumulate=True)
    tensor([[2., 0.],
            [0., 4.]], dtype=float32)
    """
    return self._inplace(lambda t, s: _put(t, index, s, accumulate), _t(source), "put_")


def fill_diagonal_(self, fill_value, wrap=False):
    """In place: ``fill_value`` on the main diagonal (of a matrix, or of a tensor whose
    dimensions are all equal); with ``wrap``, a tall matrix's diagonal starts again every
    N + 1 rows, as PyTorch's. Returns this tensor.

    >>> cr.zeros(2, 3).fill_diagonal_(7)
    tensor([[7., 0., 0.],
            [0., 7., 0.]], dtype=float32)
    """
    return self._inplace(lambda t, v: _fill_diagonal(t, v, wrap), fill_value,
                         "fill_diagonal_")


def sum_to_size(self, *size):
    """This tensor summed down to ``size``, a shape it broadcasts from (the reverse of
    ``expand``).

    >>> cr.ones(2, 3).sum_to_size(1, 3)
    tensor([[2., 2., 2.]], dtype=float32)
    """
    shape = tuple(size[0]) if len(size) == 1 and not isinstance(size[0], int) else size
    try:
        fits = xp.broadcast_shapes(shape, tuple(self.shape)) == tuple(self.shape)
    except ValueError:
        fits = False
    if not fits:
        raise ArgumentError(f"sum_to_size: size {shape} is not expandable to the tensor's "
                            f"shape {tuple(self.shape)}")
    lead = self.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(lead + i for i, n in enumerate(shape)
                                      if n == 1 and self.shape[lead + i] != 1)
    return (self.sum(axes, keepdim=True) if axes else self).reshape(shape)


def ndimension(self):
    """The number of dimensions (``dim()``).

    >>> cr.zeros(2, 3).ndimension()
    2
    """
    return self.ndim


def new_empty(self, *size, dtype=None, device=None, requires_grad=False):
    """A tensor of the given size with this tensor's dtype unless ``dtype``; its values are
    unspecified, as PyTorch's (here zeros).

    >>> cr.tensor([1, 2]).new_empty(2, 3).shape
    cr.Size([2, 3])
    """
    return self.new_zeros(*size, dtype=dtype, device=device, requires_grad=requires_grad)


def _reshaped_in_place(self, reshape, name, undo=None):
    """``self`` made ``reshape(self)``, a view of its memory in another shape, as PyTorch's
    squeeze_, unsqueeze_, t_ and transpose_ (``undo`` turns the new shape back into the old;
    by default a reshape); in a graph it records the op, and counts as a change."""
    if engine.mode.enabled and self.requires_grad and self.is_leaf:
        raise GradientError(f"a leaf tensor that requires grad is being used in an in-place "
                            f"operation (t.{name}()); do it on a copy, or under cr.no_grad()")
    result = reshape(self)
    if self.node is not None and result.node is None:
        raise GradientError(f"t.{name}() under no_grad on a tensor of a graph would leave the "
                            f"graph a shape behind; do it with grad mode on, or on a copy")
    old_shape = tuple(self.shape)
    self._data, self.node = result._data, result.node
    self._bump_version()  # as PyTorch's: a graph that saved this memory refuses to backward
    _views_follow(self, reshape, undo or (lambda t: t.reshape(old_shape)), name)
    return self


def _views_follow(tensor, redo, undo, name):
    """Keep the view records right after ``tensor`` was reshaped in place: a change through
    it reaches what it views through the old shape, and a change through a view of it reads
    the old shape out of the new (both wrote the wrong elements into the graph before)."""
    found = engine.viewed_by(tensor)
    if found is not None:
        viewed, op, kwargs, _ = found
        engine.record_view(tensor, viewed, _then(op, kwargs, redo, undo, name), {})
    for view, op, kwargs in engine.views_of(tensor):
        engine.record_view(view, tensor, _after(op, kwargs, redo, undo, name), {})


def _then(op, kwargs, redo, undo, name):
    """The view ``op`` followed by an in-place reshape ``redo``."""
    return ComposedView(f"{op.name}, {name}", lambda t: redo(op(t, **kwargs)),
                        lambda before, new: op.write_back(before, undo(new), **kwargs))


def _after(op, kwargs, redo, undo, name):
    """The view ``op`` of a tensor that was reshaped in place by ``redo`` after it was made."""
    return ComposedView(f"{name} undone, {op.name}", lambda t: op(undo(t), **kwargs),
                        lambda before, new: redo(op.write_back(undo(before), new, **kwargs)))


def squeeze_(self, dim=None):
    """In place: ``squeeze(dim)``, this tensor seeing its memory without those size-1
    dimensions; returns it.

    >>> x = cr.zeros(2, 1, 3)
    >>> x.squeeze_(1).shape
    cr.Size([2, 3])
    """
    return _reshaped_in_place(self, lambda t: t.squeeze(dim), "squeeze_")


def unsqueeze_(self, dim):
    """In place: ``unsqueeze(dim)``, a size-1 dimension inserted at ``dim``; returns this
    tensor.

    >>> x = cr.zeros(2, 3)
    >>> x.unsqueeze_(0).shape
    cr.Size([1, 2, 3])
    """
    return _reshaped_in_place(self, lambda t: t.unsqueeze(dim), "unsqueeze_")


def t_(self):
    """In place: ``t()``, this matrix seeing its memory transposed; returns it.

    >>> x = cr.tensor([[1, 2]])
    >>> x.t_()
    tensor([[1],
            [2]], dtype=int64)
    """
    return _reshaped_in_place(self, lambda t: t.t(), "t_", lambda t: t.t())


def transpose_(self, dim0, dim1):
    """In place: ``transpose(dim0, dim1)``, this tensor seeing its memory with the two
    dimensions swapped; returns it. ``swapaxes_`` and ``swapdims_`` are the same.

    >>> x = cr.zeros(2, 3, 4)
    >>> x.transpose_(0, 2).shape
    cr.Size([4, 3, 2])
    """
    return _reshaped_in_place(self, lambda t: t.transpose(dim0, dim1), "transpose_",
                              lambda t: t.transpose(dim0, dim1))


for _method in (put_, fill_diagonal_, sum_to_size, ndimension, new_empty, squeeze_,
                unsqueeze_, t_, transpose_):
    setattr(Tensor, _method.__name__, _method)
Tensor.swapaxes_ = Tensor.swapdims_ = transpose_

for _name, _example, _output in [
        ("index_copy", ("cr.zeros(3)", "0, cr.tensor([2]), cr.tensor([5.])"),
         "tensor([0., 0., 5.], dtype=float32)"),
        ("index_fill", ("cr.zeros(3)", "0, cr.tensor([0, 2]), 1.5"),
         "tensor([1.5, 0. , 1.5], dtype=float32)"),
        ("masked_scatter", ("cr.zeros(3)", "cr.tensor([False, True, True]), cr.ones(2)"),
         "tensor([0., 1., 1.], dtype=float32)"),
        ("scatter", ("cr.zeros(3)", "0, cr.tensor([1]), cr.tensor([4.])"),
         "tensor([0., 4., 0.], dtype=float32)"),
        ("tril", ("cr.ones(2, 2)", ""), "tensor([[1., 0.],\n            [1., 1.]], dtype=float32)"),
        ("triu", ("cr.ones(2, 2)", "1"),
         "tensor([[0., 1.],\n            [0., 0.]], dtype=float32)")]:
    _in_place_with_example(_name, _example, _output)
