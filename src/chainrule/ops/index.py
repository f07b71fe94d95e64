"""Reading and writing at index tensors, with PyTorch's signatures: gather, scatter and its
reductions, index_select, masked_fill, masked_select, nonzero, diagonals and triangles.

All are composites of getitem, add_at and index_put (shape.py), so their gradients are the
gradients of reading (a gradient goes back to each element read, adding up over repeats) and of
writing (the overwritten elements get none)."""
from ..backend import xp
from ..dtypes import fill_number
from ..errors import ArgumentError, DtypeError, ScatterIndexError, ShapeError
from .composite import stop_gradient
from .elementwise import astype, exp, log, neg, where
from .primitive import primitive
from .scan import prod
from .shape import (ComposedView, add_at, as_view, axis_of, broadcast_to, concatenate, getitem, index_put, reshape,
                    transpose)


def _array(index, op, name="index"):
    value = index._data if hasattr(index, "_data") else xp.asarray(index)
    if value.dtype.kind not in "iu":
        raise DtypeError(f"{op}: {name} must be an integer tensor, got {value.dtype}")
    return value.astype(xp.int64, copy=False)


def _along(op, shape, dim, index):
    """The getitem index that reads ``index`` along ``dim`` and every other axis in order
    (torch.gather's addressing). Checks PyTorch's rules: as many dimensions as the input, no
    larger than the input off ``dim``, values in [0, size)."""
    ndim = len(shape)
    axis = axis_of(op, dim, ndim)
    if index.ndim != ndim and not (ndim <= 1 and index.ndim <= 1):
        raise ShapeError(f"{op}: index has {index.ndim} dimensions but the tensor has {ndim} "
                         f"(shapes {index.shape} and {shape})")
    shape = shape or (1,)
    index = index.reshape(index.shape or (1,))
    for a, (n, m) in enumerate(zip(index.shape, shape)):
        if a != axis and n > m:
            raise ShapeError(f"{op}: index of shape {index.shape} is larger than the tensor of "
                             f"shape {shape} in dimension {a}")
    if index.size and (index.min() < 0 or index.max() >= shape[axis]):
        bad = index[(index < 0) | (index >= shape[axis])].flat[0]
        raise ScatterIndexError(f"{op}: index {bad} is out of bounds for dimension {axis} with "
                                f"size {shape[axis]}")
    grid = list(xp.ogrid[tuple(slice(n) for n in index.shape)]) if index.ndim else []
    grid[axis] = index
    return tuple(grid)


def _flat(x):
    return reshape(x, shape=(1,)) if not x.shape else x


def _same_shape_as(result, x):
    return reshape(result, shape=()) if not x.shape else result


def gather(input, dim, index):
    """``out[i][j] = input[index[i][j]][j]`` for dim 0 (and likewise for other dims): the
    elements of ``input`` at ``index`` along ``dim``. ``index`` has as many dimensions as
    ``input``.

    >>> x = cr.tensor([[1., 2.], [3., 4.]])
    >>> cr.gather(x, 1, cr.tensor([[1, 0], [0, 0]]))
    tensor([[2., 1.],
            [3., 3.]], dtype=float32)
    """
    index = _array(index, "gather")
    out = getitem(_flat(input), index=_along("gather", input.shape, dim, index))
    return reshape(out, shape=index.shape)


def take_along_dim(input, indices, dim=None):
    """The elements at ``indices`` along ``dim``, which broadcast against ``input`` (of the
    flattened input at the flattened indices without ``dim``).

    >>> x = cr.tensor([[10., 30., 20.]])
    >>> cr.take_along_dim(x, x.argsort(1), 1)
    tensor([[10., 20., 30.]], dtype=float32)
    """
    indices = _array(indices, "take_along_dim")
    if dim is None:
        return gather(reshape(input, shape=(-1,)), 0, indices.reshape(-1))
    axis = axis_of("take_along_dim", dim, input.ndim)
    shape = list(xp.broadcast_shapes(tuple(n for a, n in enumerate(input.shape) if a != axis),
                                     tuple(n for a, n in enumerate(indices.shape) if a != axis)))
    grid_shape = shape[:axis] + [indices.shape[axis]] + shape[axis:]
    full = shape[:axis] + [input.shape[axis]] + shape[axis:]
    indices = xp.broadcast_to(indices, grid_shape)
    return gather(broadcast_to(input, shape=tuple(full)), axis, indices)


def _check_src(op, input, src, index):
    if getattr(src, "dtype", None) is not None and src.dtype != input.dtype:
        raise DtypeError(f"{op}: src is {src.dtype} but the tensor is {input.dtype}; they must "
                         f"match (as in PyTorch)")
    # src is read at index's positions: PyTorch refuses an index larger than src in any dim
    # (a 0-d tensor counting as one element), where slicing src would silently read less.
    shape, reach = tuple(src.shape) or (1,), index.shape or (1,)
    if len(shape) != len(reach) or any(n > m for n, m in zip(reach, shape)):
        raise ShapeError(f"{op}: index of shape {index.shape} does not fit in src of shape "
                         f"{tuple(src.shape)} (it may be no larger in any dim, as in PyTorch)")


def scatter(input, dim, index, src=None, *, value=None, reduce=None):
    """A copy of ``input`` with ``src`` (or the number ``value``) written at ``index`` along
    ``dim``: ``out[index[i][j]][j] = src[i][j]`` for dim 0. Where an index repeats, the result
    is one of the written values (PyTorch leaves it unspecified too).

    >>> cr.scatter(cr.zeros(2, 3), 1, cr.tensor([[2], [0]]), cr.tensor([[5.], [6.]]))
    tensor([[0., 0., 5.],
            [6., 0., 0.]], dtype=float32)
    """
    if reduce is not None:
        return scatter_reduce(input, dim, index, src, {"add": "sum", "multiply": "prod"}
                              .get(reduce, reduce))
    index = _array(index, "scatter")
    where_ = _along("scatter", input.shape, dim, index)
    if src is not None and hasattr(src, "shape"):
        _check_src("scatter", input, src, index)
    if src is None:
        src = value
    if src is None:
        raise TypeError("scatter: give src (a tensor) or value (a number)")
    if not hasattr(src, "shape"):  # a number must fit the dtype (float16 and 70000: refused)
        src = fill_number("scatter", src, input.dtype)[()]
    if hasattr(src, "shape") and src.shape:
        src = getitem(src, index=tuple(slice(0, n) for n in index.shape))
    elif hasattr(src, "shape"):
        src = astype(src, dtype=input.dtype) if src.dtype != input.dtype else src
    return _same_shape_as(index_put(_flat(input), src, index=where_), input)


def scatter_add(input, dim, index, src):
    """A copy of ``input`` with ``src`` added at ``index`` along ``dim``; repeated indices add
    up.

    >>> cr.scatter_add(cr.zeros(3), 0, cr.tensor([0, 2, 0]), cr.tensor([1., 2., 3.]))
    tensor([4., 0., 2.], dtype=float32)
    """
    return scatter_reduce(input, dim, index, src, "sum")


REDUCES = ("sum", "prod", "mean", "amax", "amin")


def scatter_reduce(input, dim, index, src, reduce, *, include_self=True):
    """``input`` with the elements of ``src`` at ``index`` along ``dim`` combined into it by
    ``reduce`` ("sum", "prod", "mean", "amax" or "amin"); with ``include_self=False`` the
    input's own value at a written position is left out. The gradient of amax/amin is shared
    equally among the elements equal to the result, as in PyTorch.

    >>> cr.scatter_reduce(cr.zeros(2), 0, cr.tensor([0, 0, 1]), cr.tensor([1., 5., 2.]), 'amax', include_self=False)
    tensor([5., 2.], dtype=float32)
    """
    if reduce not in REDUCES:
        raise ArgumentError(f"scatter_reduce: reduce must be one of {REDUCES}, got {reduce!r}")
    index = _array(index, "scatter_reduce")
    _check_src("scatter_reduce", input, src, index)
    at = _along("scatter_reduce", input.shape, dim, index)
    x = _flat(input)
    src = getitem(_flat(src), index=tuple(slice(0, n) for n in index.shape or (1,)))
    shape = x.shape
    written = xp.zeros(shape, dtype=bool)
    written[at] = True
    kept = ~written if not include_self else xp.ones(shape, dtype=bool)
    if reduce in ("sum", "mean"):
        total = where(kept, x, 0) + add_at(src, index=at, shape=shape)
        if reduce == "sum":
            out = total
        else:
            count = kept.astype(xp.int64) + xp.zeros(shape, xp.int64)
            xp.add.at(count, at, 1)
            count = xp.maximum(count, 1)
            out = total / count if x.dtype.kind == "f" else total // count
    else:
        out = _scatter_extreme_or_prod(x, src, at, kept, reduce)
    out = out if out.dtype == x.dtype else astype(out, dtype=x.dtype)
    return _same_shape_as(out, input)


def _scatter_extreme_or_prod(x, src, at, kept, reduce):
    if reduce != "prod":
        return scatter_extreme(x, src, at=at, kept=kept, reduce=reduce)
    xv = x._data if hasattr(x, "_data") else xp.asarray(x)
    sv = src._data if hasattr(src, "_data") else xp.asarray(src)
    value = _folded(xv, sv, at, kept, xp.multiply, 1)
    if not (getattr(x, "requires_grad", False) or getattr(src, "requires_grad", False)):
        return where(True, value, x)  # (the logs below make a zero's product NaN)
    if (xv[kept] == 0).any() or (sv == 0).any():
        # d out / d x_i = out / x_i for each factor; zeros would make that 0/0.
        return _product_of_factors(x, src, at, kept, xv.dtype)
    # value * exp(S), S = sum of log(x_i / x_i) over the factors: S is 0, so the value is
    # exact, and every derivative of exp(S) is that of the product (d/dx_i = 1 / x_i).
    # (An x_i left out is 1 inside the log too: log(0 / 1) would make its gradient NaN.)
    own = where(kept, x, 1)
    logs = where(kept, log(own / stop_gradient(own)), 0)
    logs = logs + add_at(log(src / stop_gradient(src)), index=at, shape=value.shape)
    return value * exp(logs)


def _folded(xv, sv, at, kept, ufunc, identity):
    """``xv`` with ``sv``'s elements folded in at ``at`` by ``ufunc`` (its own value first
    where ``kept``, else the ``identity``); a position nothing was written to keeps its own."""
    value = xp.where(kept, xv, xp.asarray(identity).astype(xv.dtype))
    ufunc.at(value, at, sv)
    touched = kept.copy()
    touched[at] = True
    return xp.where(touched, value, xv)


@primitive(promotion=None)
def scatter_extreme(x, src, *, at, kept, reduce):
    """``x`` with ``src``'s elements at ``at`` folded in by max (``reduce="amax"``) or min
    ("amin"), ``x``'s own value left out where ``kept`` is False: scatter_reduce's amax/amin.
    A NaN among them makes the result NaN, as in PyTorch."""
    identity = -xp.inf if reduce == "amax" else xp.inf
    if x.dtype.kind != "f":
        info = xp.iinfo(x.dtype) if x.dtype.kind in "iu" else None
        identity = (info.min if reduce == "amax" else info.max) if info else identity
    value = _folded(x, src, at, kept, xp.maximum if reduce == "amax" else xp.minimum, identity)
    return _first_zero_sign(value, x, src, at, kept) if x.dtype.kind == "f" else value


def _first_zero_sign(value, x, src, at, kept):
    """A zero result with the sign of the first zero in PyTorch's order (the input's own
    element, then src's in order): its fold keeps the earlier of 0 and -0, NumPy's the later."""
    zero = (value == 0).reshape(-1)
    if not zero.any():
        return value
    targets = xp.ravel_multi_index(xp.broadcast_arrays(*at), value.shape).reshape(-1)
    flat_src, n = src.reshape(-1), src.size
    first = xp.where((kept & (x == 0)).reshape(-1), -1, n)
    zeros_in_src = xp.flatnonzero(flat_src == 0)
    xp.minimum.at(first, targets[zeros_in_src], zeros_in_src)
    negative = xp.signbit(x).reshape(-1)
    from_src = (first >= 0) & (first < n)
    negative[from_src] = xp.signbit(flat_src[first[from_src]])
    out = value.reshape(-1).copy()
    out[zero] = xp.where(negative[zero], -0.0, 0.0)
    return out.reshape(value.shape)


def _shares(grad, x, src, out, at):
    """``grad`` shared among the elements equal to the result at each position, as PyTorch's
    formula counts them: the input's own element too where include_self=False left it out,
    and none at a NaN result (whose share is then grad / 0)."""
    xv, sv, ov = (getattr(a, "_data", a) for a in (x, src, out))
    count = (xv == ov).astype(ov.dtype)
    xp.add.at(count, at, (sv == ov[at]).astype(ov.dtype))
    with xp.errstate(divide="ignore", invalid="ignore"):
        return grad / count


@scatter_extreme.vjp("x", formula="{grad} / (how many equal {out}) where {x} equals {out} and "
                                  "was kept, else 0")
def _(grad, x, src, out, at, kept):
    hit = (getattr(x, "_data", x) == getattr(out, "_data", out)).astype(out.dtype)
    with xp.errstate(invalid="ignore"):
        return where(kept, _shares(grad, x, src, out, at) * hit, 0)


@scatter_extreme.vjp("src", formula="{grad} / (how many equal {out}) read at the index, where "
                                    "{src} equals it, else 0")
def _(grad, x, src, out, at):
    ov = getattr(out, "_data", out)
    hit = (getattr(src, "_data", src) == ov[at]).astype(ov.dtype)
    with xp.errstate(invalid="ignore"):
        return getitem(_shares(grad, x, src, out, at), index=at) * hit


def _product_of_factors(x, src, at, kept, dtype):
    """scatter_reduce's products through prod's own gradient, exact at zeros (the product of
    the other factors, as PyTorch's): each position's factors (its own value where kept, then
    the src elements written there, in order) in one row of a table padded with 1s."""
    shape = tuple(x.shape)
    n = kept.size
    targets = xp.ravel_multi_index(xp.broadcast_arrays(*at), shape).reshape(-1)
    order = xp.argsort(targets, kind="stable")
    grouped = targets[order]
    counts = xp.bincount(targets, minlength=n)
    own = kept.reshape(-1).astype(xp.int64)
    rank = xp.arange(targets.size) - xp.repeat(xp.cumsum(counts) - counts, counts)
    ids = xp.full((n, int((own + counts).max())), n + targets.size)  # the padding 1
    ids[own.nonzero()[0], 0] = own.nonzero()[0]
    ids[grouped, rank + own[grouped]] = n + order
    factors = concatenate([reshape(x, shape=(n,)), reshape(src, shape=(targets.size,)),
                           xp.ones(1, dtype=dtype)])
    return reshape(prod(getitem(factors, index=ids), axis=1), shape=shape)


def index_select(input, dim, index):
    """The slices of ``input`` at the 1-D ``index`` along ``dim``; repeats allowed.

    >>> cr.index_select(cr.tensor([[1., 2.], [3., 4.]]), 0, cr.tensor([1, 1]))
    tensor([[3., 4.],
            [3., 4.]], dtype=float32)
    """
    index = _array(index, "index_select")
    if index.ndim > 1:
        raise ShapeError(f"index_select: index must be 1-D, got shape {index.shape}")
    axis = axis_of("index_select", dim, input.ndim)
    flat = _selected(index, input.shape[axis] if input.shape else 1, axis, tuple(input.shape))
    if not input.shape:
        return reshape(getitem(_flat(input), index=flat), shape=index.shape)
    return getitem(input, index=(slice(None),) * axis + (flat,))


def _selected(index, size, axis, shape):
    """index_select's index as a flat array, checked: every entry in [0, size), negatives
    refused as PyTorch refuses them (NumPy would count them from the end). cr.compile runs it
    as a line of the plan on each call's index."""
    if index.size and (index.min() < 0 or index.max() >= size):
        bad = index[(index < 0) | (index >= size)].flat[0]
        raise IndexError(f"index_select: index {bad} is out of range for dimension {axis} of "
                         f"size {size} (tensor of shape {shape})")
    return index.reshape(-1)


def masked_fill(input, mask, value):
    """A copy of ``input`` with ``value`` where the bool ``mask`` is True (the two broadcast
    together). ``value`` may be a number or a 0-d tensor (which then gets the gradient).

    >>> x = cr.tensor([1., -2., 3.])
    >>> cr.masked_fill(x, x < 0, 0.0)
    tensor([1., 0., 3.], dtype=float32)
    """
    mask = mask._data if hasattr(mask, "_data") else xp.asarray(mask)
    if mask.dtype != bool:
        raise DtypeError(f"masked_fill: mask must be a bool tensor, got {mask.dtype}")
    if hasattr(value, "shape") and value.shape:
        raise ShapeError(f"masked_fill: value must be a number or a 0-d tensor, got shape "
                         f"{value.shape}")
    try:
        shape = xp.broadcast_shapes(input.shape, mask.shape)
    except ValueError:
        raise ShapeError(f"masked_fill: mask of shape {mask.shape} does not broadcast with the "
                         f"tensor's shape {input.shape}") from None
    mask = xp.broadcast_to(mask, shape)
    if hasattr(value, "shape") and value.dtype != input.dtype:
        # A 0-d tensor's value must fit the dtype too, as a number's (PyTorch reads it as
        # one): int32 300 into int8 wrapped to 44, float64 1e10 into float16 became inf.
        number = xp.asarray(value._data if hasattr(value, "_data") else value).item()
        fill_number("masked_fill", number, input.dtype)
        value = astype(value, dtype=input.dtype)
    elif not hasattr(value, "shape"):
        value = fill_number("masked_fill", value, input.dtype)
    out = where(mask, value, input)
    return out if out.dtype == input.dtype else astype(out, dtype=input.dtype)


def masked_select(input, mask):
    """The 1-D tensor of ``input``'s elements where ``mask`` is True (both broadcast).

    >>> x = cr.tensor([1., -2., 3.])
    >>> cr.masked_select(x, x > 0)
    tensor([1., 3.], dtype=float32)
    """
    mask = mask._data if hasattr(mask, "_data") else xp.asarray(mask)
    if mask.dtype != bool:
        raise DtypeError(f"masked_select: mask must be a bool tensor, got {mask.dtype}")
    shape = xp.broadcast_shapes(input.shape, mask.shape)
    x = broadcast_to(input, shape=shape) if input.shape != shape else input
    if not shape:
        return reshape(x, shape=(1,))[xp.asarray(mask).reshape(1)]
    return getitem(x, index=xp.broadcast_to(mask, shape))


@primitive(differentiable=False)
def _nonzero(x):
    return xp.argwhere(x).astype(xp.int64)


def nonzero(input, *, as_tuple=False):
    """The indices of the nonzero elements: an (n, ndim) int64 tensor, or with
    ``as_tuple=True`` one 1-D tensor per dimension.

    >>> cr.nonzero(cr.tensor([[0, 1], [2, 0]]))
    tensor([[0, 1],
            [1, 0]], dtype=int64)
    """
    found = _nonzero(input)
    if as_tuple:
        if not input.shape:  # a 0-d input: one tensor of zeros, one per nonzero element
            from ..tensor import Tensor
            return (Tensor._wrap(xp.zeros(found.shape[0], dtype=xp.int64)),)
        return tuple(getitem(found, index=(slice(None), a)) for a in range(input.ndim))
    return found


def diagonal(input, offset=0, dim1=0, dim2=1):
    """The diagonal of the matrices in dimensions ``dim1`` and ``dim2``, as a new last
    dimension; ``offset`` > 0 above the main diagonal, < 0 below.

    >>> cr.diagonal(cr.tensor([[1., 2.], [3., 4.]]))
    tensor([1., 4.], dtype=float32)
    >>> cr.diagonal(cr.tensor([[1., 2.], [3., 4.]]), 1)
    tensor([2.], dtype=float32)
    """
    ndim = input.ndim
    if ndim < 2:
        raise ShapeError(f"diagonal: needs at least 2 dimensions, got shape {input.shape}")
    a, b = axis_of("diagonal", dim1, ndim), axis_of("diagonal", dim2, ndim)
    if a == b:
        raise ArgumentError(f"diagonal: dim1 and dim2 are both {a}")
    order = tuple(d for d in range(ndim) if d not in (a, b)) + (a, b)
    moved = transpose(input, axes=order)
    rows, cols = _diagonal_positions(input.shape[a], input.shape[b], offset)
    out = getitem(moved, index=(Ellipsis, rows, cols))
    data = getattr(input, "_data", input)
    view = xp.diagonal(data, offset, a, b)
    view.flags.writeable = data.flags.writeable  # NumPy's diagonal is read-only by default
    back = tuple(int(i) for i in xp.argsort(order))

    def write_back(before, new):
        put = index_put(transpose(before, axes=order), new, index=(Ellipsis, rows, cols))
        return transpose(put, axes=back)
    return as_view(out, input, view, ComposedView(
        "diagonal", lambda t: diagonal(t, offset, dim1, dim2), write_back))


def _diagonal_positions(n, m, offset):
    if offset >= 0:
        length = max(0, min(n, m - offset))
        return xp.arange(length), xp.arange(length) + offset
    length = max(0, min(n + offset, m))
    return xp.arange(length) - offset, xp.arange(length)


def diag(input, diagonal=0):
    """A 1-D input becomes a square matrix with it on diagonal number ``diagonal``; a 2-D
    input gives that diagonal as a 1-D tensor.

    >>> cr.diag(cr.tensor([1., 2.]))
    tensor([[1., 0.],
            [0., 2.]], dtype=float32)
    """
    if input.ndim == 1:
        n = input.shape[0] + abs(diagonal)
        rows, cols = _diagonal_positions(n, n, diagonal)
        return add_at(input, index=(rows, cols), shape=(n, n))
    if input.ndim == 2:
        return globals()["diagonal"](input, diagonal)
    raise ShapeError(f"diag: needs a 1-D or 2-D tensor, got shape {input.shape}")


def _triangle(op, input, keep):
    if input.ndim < 2:
        raise ShapeError(f"{op}: needs at least 2 dimensions, got shape {input.shape}")
    return where(keep, input, xp.zeros((), dtype=input.dtype))


def tril(input, diagonal=0):
    """The lower triangle of the last two dimensions (on and below diagonal number
    ``diagonal``); the rest is zero.

    >>> cr.tril(cr.ones(3, 3))
    tensor([[1., 0., 0.],
            [1., 1., 0.],
            [1., 1., 1.]], dtype=float32)
    """
    n, m = input.shape[-2:] if input.ndim >= 2 else (0, 0)
    return _triangle("tril", input, xp.tri(n, m, diagonal, dtype=bool))


def triu(input, diagonal=0):
    """The upper triangle of the last two dimensions (on and above diagonal number
    ``diagonal``); the rest is zero.

    >>> cr.triu(cr.ones(2, 3), 1)
    tensor([[0., 1., 1.],
            [0., 0., 1.]], dtype=float32)
    """
    n, m = input.shape[-2:] if input.ndim >= 2 else (0, 0)
    return _triangle("triu", input, ~xp.tri(n, m, diagonal - 1, dtype=bool))


def index_add(input, dim, index, source, *, alpha=1):
    """A copy of ``input`` with ``alpha * source`` added at the 1-D ``index`` along ``dim``
    (PyTorch's index_add): ``source`` has ``input``'s shape except ``len(index)`` along ``dim``;
    repeated indices add up. Elements no index reaches are ``input``'s own (a -0.0 stays)."""
    raw = index._data if hasattr(index, "_data") else xp.asarray(index)
    if raw.dtype.kind in "iu" and raw.dtype not in (xp.int32, xp.int64):
        raise DtypeError(f"index_add: index must be int32 or int64 (as in PyTorch), got "
                         f"{raw.dtype}")
    idx = _array(index, "index_add")
    if idx.ndim > 1:
        raise ShapeError(f"index_add: index must be 1-D, got shape {idx.shape}")
    idx = idx.reshape(-1)
    if source.dtype != input.dtype:
        raise DtypeError(f"index_add: source is {source.dtype} but the tensor is {input.dtype}; "
                         f"they must match (as in PyTorch)")
    shape, source_shape = tuple(input.shape), tuple(source.shape)
    axis = axis_of("index_add", dim, len(shape))
    if len(source_shape) != len(shape) or any(
            a != b for d, (a, b) in enumerate(zip(shape, source_shape)) if d != axis):
        raise ShapeError(f"index_add: source of shape {source_shape} must have the shape of the "
                         f"tensor {shape} except along dim {axis}")
    if shape and source_shape[axis] != idx.size or not shape and idx.size != 1:
        raise ShapeError(f"index_add: {idx.size} indices for source of shape {source_shape} "
                         f"along dim {axis} (one index per slice of source)")
    size = shape[axis] if shape else 1
    if idx.size and (idx.min() < 0 or idx.max() >= size):
        bad = idx[(idx < 0) | (idx >= size)][0]
        raise ScatterIndexError(f"index_add: index {bad} is out of bounds for dimension {axis} "
                                f"with size {size}")
    if alpha != 1:
        # As PyTorch, alpha takes the tensor's dtype (an integer tensor truncates it, a bool
        # one makes it True or False).
        kind = input.dtype.kind
        source = source * (int(alpha) if kind in "iu" else bool(alpha) if kind == "b" else alpha)
    if not shape:
        return input + reshape(source, shape=())
    # PyTorch adds the slices one by one into self: ((self + s0) + s1) + ... So the terms go
    # into add_at self first, then the source in index order, and round as PyTorch's do.
    terms = concatenate([input, source], dim=axis)
    at = (slice(None),) * axis + (xp.concatenate([xp.arange(size), idx]),)
    out = add_at(terms, index=at, shape=shape)
    if input.dtype.kind == "f" and xp.signbit(input._data[input._data == 0]).any():
        # add_at starts from +0, so where self and every term added to it are -0 it gives +0
        # (PyTorch's -0). Negated, those terms sum to +0 from +0, which negates back to -0.
        other = xp.zeros(shape, dtype=bool)
        xp.logical_or.at(other, at, (terms._data != 0) | ~xp.signbit(terms._data))
        if not other.all():
            out = where(other, out, neg(add_at(neg(terms), index=at, shape=shape)))
    return out
