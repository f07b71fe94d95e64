"""Rearranging composites with PyTorch's signatures: expand, repeat, flip, roll, split, chunk,
unfold, unflatten, repeat_interleave, meshgrid, pad, movedim, narrow.

Each is spelled with reshape, broadcast_to, transpose, getitem and concatenate, so its
gradient moves (and where an element is used twice, adds) the upstream gradient back."""
import builtins

from ..backend import xp
from ..errors import ArgumentError, ShapeError
from .shape import ComposedView, as_view, axis_of, broadcast_to, getitem, index_put, reshape, transpose
from .memory import contiguous


def _sizes(sizes):
    """``f(2, 3)`` or ``f((2, 3))``."""
    if len(sizes) == 1 and not isinstance(sizes[0], (int, xp.integer)):
        return tuple(sizes[0])
    return tuple(sizes)


def expand(input, *sizes):
    """A broadcast view of ``input`` with the given sizes; -1 keeps a dimension's size.

    >>> cr.tensor([[1.], [2.]]).expand(2, 3)
    tensor([[1., 1., 1.],
            [2., 2., 2.]], dtype=float32)
    """
    sizes = _sizes(sizes)
    if len(sizes) < input.ndim:
        raise ShapeError(f"expand: {len(sizes)} sizes for a tensor of {input.ndim} dimensions "
                         f"(shape {input.shape})")
    lead = len(sizes) - input.ndim
    shape = tuple(input.shape[i - lead] if n == -1 and i >= lead else n
                  for i, n in enumerate(sizes))
    if any(n < 0 for n in shape):
        raise ShapeError(f"expand: -1 is not allowed for the new leading dimensions {sizes}")
    return broadcast_to(input, shape=shape)


def repeat(input, *repeats):
    """``input`` tiled ``repeats[i]`` times along dimension i (leading dimensions are added
    when ``repeats`` is longer than the shape).

    >>> cr.tensor([1., 2.]).repeat(2, 2)
    tensor([[1., 2., 1., 2.],
            [1., 2., 1., 2.]], dtype=float32)
    """
    repeats = _sizes(repeats)
    if len(repeats) < input.ndim:
        raise ShapeError(f"repeat: {len(repeats)} repeats for a tensor of {input.ndim} "
                         f"dimensions; give at least one per dimension")
    shape = (1,) * (len(repeats) - input.ndim) + tuple(input.shape)
    # (r0, d0, r1, d1, ...) by broadcasting, then merged: row-major order makes it a tiling.
    spread = reshape(input, shape=tuple(x for n in shape for x in (1, n)))
    tiled = broadcast_to(spread, shape=tuple(x for r, n in zip(repeats, shape) for x in (r, n)))
    return reshape(tiled, shape=tuple(r * n for r, n in zip(repeats, shape)))


def tile(input, dims):
    """``repeat`` that also accepts fewer repeats than dimensions (ones are prepended).

    >>> cr.tile(cr.tensor([1., 2.]), (2,))
    tensor([1., 2., 1., 2.], dtype=float32)
    """
    dims = tuple(dims)
    return repeat(input, (1,) * builtins.max(0, input.ndim - len(dims)) + dims)


def flip(input, dims):
    """``input`` with the order of elements reversed along each of ``dims``.

    >>> cr.flip(cr.tensor([[1., 2.], [3., 4.]]), (0,))
    tensor([[3., 4.],
            [1., 2.]], dtype=float32)
    """
    dims = (dims,) if isinstance(dims, (int, xp.integer)) else tuple(dims)
    axes = [axis_of("flip", d, input.ndim) for d in dims]
    if len(set(axes)) < len(axes):
        raise ArgumentError(f"flip: dims {dims} name a dim more than once (shape {input.shape})")
    index = [slice(None)] * input.ndim
    for axis in axes:
        index[axis] = slice(None, None, -1)
    # A copy, as PyTorch's flip: the reversed view NumPy gives would have negative strides
    # and would write into the input.
    return contiguous(getitem(input, index=tuple(index)))


def fliplr(input):
    """Reverse the columns (dimension 1).

    >>> cr.fliplr(cr.tensor([[1., 2.], [3., 4.]]))
    tensor([[2., 1.],
            [4., 3.]], dtype=float32)
    """
    return flip(input, 1)


def flipud(input):
    """Reverse the rows (dimension 0).

    >>> cr.flipud(cr.tensor([[1., 2.], [3., 4.]]))
    tensor([[3., 4.],
            [1., 2.]], dtype=float32)
    """
    return flip(input, 0)


def roll(input, shifts, dims=None):
    """Shift the elements along ``dims`` by ``shifts``, wrapping around; without ``dims`` the
    flattened tensor is rolled and the shape restored.

    >>> cr.roll(cr.tensor([1., 2., 3., 4.]), 1)
    tensor([4., 1., 2., 3.], dtype=float32)
    >>> cr.roll(cr.tensor([[1., 2.], [3., 4.]]), 1, 1)
    tensor([[2., 1.],
            [4., 3.]], dtype=float32)
    """
    if dims is None:
        if not isinstance(shifts, (int, xp.integer)):
            (shifts,) = shifts
        return reshape(roll(reshape(input, shape=(-1,)), shifts, 0), shape=input.shape)
    shifts = (shifts,) if isinstance(shifts, (int, xp.integer)) else tuple(shifts)
    dims = (dims,) if isinstance(dims, (int, xp.integer)) else tuple(dims)
    if len(shifts) != len(dims):
        raise ValueError(f"roll: {len(shifts)} shifts for {len(dims)} dims")
    out = input
    for shift, dim in zip(shifts, dims):
        axis = axis_of("roll", dim, input.ndim)
        n = input.shape[axis]
        if n:
            index = (slice(None),) * axis + ((xp.arange(n) - shift) % n,)
            out = getitem(out, index=index)
    return out


def split(tensor, split_size_or_sections, dim=0):
    """Pieces of ``tensor`` along ``dim``: each of ``split_size`` elements (the last may be
    smaller), or of the sizes in a list.

    >>> cr.split(cr.arange(5), 2)
    (tensor([0, 1], dtype=int64), tensor([2, 3], dtype=int64), tensor([4], dtype=int64))
    >>> cr.split(cr.arange(5), [1, 4])
    (tensor([0], dtype=int64), tensor([1, 2, 3, 4], dtype=int64))
    """
    axis = axis_of("split", dim, tensor.ndim)
    n = tensor.shape[axis]
    if isinstance(split_size_or_sections, (int, xp.integer)):
        size = int(split_size_or_sections)
        if size <= 0 and n:
            raise ArgumentError(f"split: split_size must be positive, got {size}")
        sizes = [builtins.min(size, n - start) for start in range(0, n, size)] if n else [0]
    else:
        sizes = [int(s) for s in split_size_or_sections]
        if builtins.sum(sizes) != n:
            raise ShapeError(f"split: sections {sizes} add up to {builtins.sum(sizes)}, but "
                             f"dimension {axis} has size {n}")
    pieces, start = [], 0
    for size in sizes:
        pieces.append(getitem(tensor, index=(slice(None),) * axis + (slice(start, start + size),)))
        start += size
    return tuple(pieces)


def tensor_split(input, sections, dim=0):
    """``sections`` pieces along ``dim`` whose sizes differ by at most one (the first ones
    larger); or, given a list (or 1-D tensor) of indices, the pieces between them, clipped
    as slices are.

    >>> cr.tensor_split(cr.arange(5), 2)
    (tensor([0, 1, 2], dtype=int64), tensor([3, 4], dtype=int64))
    >>> cr.tensor_split(cr.arange(5), [1, 3])
    (tensor([0], dtype=int64), tensor([1, 2], dtype=int64), tensor([3, 4], dtype=int64))
    """
    axis = axis_of("tensor_split", dim, input.ndim)
    n = input.shape[axis]
    if hasattr(sections, "_data"):
        sections = sections._data.tolist()
    if not isinstance(sections, (int, xp.integer)):
        bounds = [None, *(int(i) for i in sections), None]
        return tuple(getitem(input, index=(slice(None),) * axis + (slice(start, stop),))
                     for start, stop in zip(bounds, bounds[1:]))
    if sections <= 0:
        raise ArgumentError(f"tensor_split: sections must be positive, got {sections}")
    base, extra = divmod(n, sections)
    return split(input, [base + (i < extra) for i in range(sections)], dim)


def chunk(input, chunks, dim=0):
    """Split into ``chunks`` pieces of ceil(n / chunks) elements along ``dim`` (PyTorch's rule:
    the last may be smaller, and there may be fewer pieces).

    >>> cr.chunk(cr.arange(5), 2)
    (tensor([0, 1, 2], dtype=int64), tensor([3, 4], dtype=int64))
    """
    if chunks <= 0:
        raise ArgumentError(f"chunk: chunks must be positive, got {chunks}")
    n = input.shape[axis_of("chunk", dim, input.ndim)]
    # An empty dim gives ``chunks`` empty pieces, as PyTorch's.
    return split(input, -(-n // chunks), dim) if n else split(input, [0] * chunks, dim)


def unbind(input, dim=0):
    """The slices of ``input`` along ``dim``, each without that dimension.

    >>> cr.unbind(cr.tensor([[1, 2], [3, 4]]))
    (tensor([1, 2], dtype=int64), tensor([3, 4], dtype=int64))
    """
    axis = axis_of("unbind", dim, input.ndim)
    return tuple(getitem(input, index=(slice(None),) * axis + (i,))
                 for i in range(input.shape[axis]))


def unfold(input, dimension, size, step):
    """Every window of ``size`` elements along ``dimension``, ``step`` apart, as a new last
    dimension (``Tensor.unfold``).

    >>> cr.arange(5.).unfold(0, 2, 1)
    tensor([[0., 1.],
            [1., 2.],
            [2., 3.],
            [3., 4.]], dtype=float32)
    """
    axis = axis_of("unfold", dimension, input.ndim)
    n = input.shape[axis] if input.shape else 1
    if size > n or size < 0 or step <= 0:
        raise ShapeError(f"unfold: windows of size {size} with step {step} do not fit "
                         f"dimension {axis} of size {n}")
    if not input.shape:
        return reshape(input, shape=(size,))
    starts = xp.arange(0, n - size + 1, step)
    windows = starts[:, None] + xp.arange(size)  # (count, size)
    taken = getitem(input, index=(slice(None),) * axis + (windows,))  # the window axes at axis
    order = tuple(a for a in range(taken.ndim) if a != axis + 1) + (axis + 1,)
    data = getattr(input, "_data", input)
    view = xp.lib.stride_tricks.sliding_window_view(
        data, size, axis=axis, writeable=step >= size and data.flags.writeable)
    back = tuple(int(i) for i in xp.argsort(order))

    def write_back(before, new):  # only windows that do not overlap can be written
        return index_put(before, transpose(new, axes=back),
                         index=(slice(None),) * axis + (windows,))
    return as_view(transpose(taken, axes=order), input,
                   view[(slice(None),) * axis + (slice(None, None, step),)],
                   ComposedView("unfold", lambda t: unfold(t, dimension, size, step),
                                write_back))


def unflatten(input, dim, sizes):
    """Dimension ``dim`` split into ``sizes`` (one of which may be -1).

    >>> cr.unflatten(cr.zeros(2, 6), 1, (2, 3)).shape
    cr.Size([2, 2, 3])
    """
    axis = axis_of("unflatten", dim, input.ndim)
    shape = tuple(input.shape)
    return reshape(input, shape=shape[:axis] + tuple(sizes) + shape[axis + 1:])


def movedim(input, source, destination):
    """Dimensions ``source`` moved to positions ``destination`` (ints or sequences).

    >>> cr.movedim(cr.zeros(2, 3, 4), 0, -1).shape
    cr.Size([3, 4, 2])
    """
    source = (source,) if isinstance(source, (int, xp.integer)) else tuple(source)
    destination = (destination,) if isinstance(destination, (int, xp.integer)) else tuple(destination)
    dims = list(range(input.ndim))
    src = [axis_of("movedim", s, input.ndim) for s in source]
    dst = [axis_of("movedim", d, input.ndim) for d in destination]
    rest = [d for d in dims if d not in src]
    order = [None] * input.ndim
    for s, d in zip(src, dst):
        order[d] = s
    fill = iter(rest)
    order = [o if o is not None else next(fill) for o in order]
    return transpose(input, axes=tuple(order))


def narrow(input, dim, start, length):
    """``length`` elements of ``input`` along ``dim`` from ``start``.

    >>> cr.narrow(cr.arange(6), 0, 2, 3)
    tensor([2, 3, 4], dtype=int64)
    """
    axis = axis_of("narrow", dim, input.ndim)
    size = input.shape[axis]
    if start < 0:
        start += size
    if not 0 <= start <= size or length < 0 or start + length > size:
        raise ArgumentError(f"narrow: start {start} and length {length} do not fit dim {dim} of "
                            f"size {size} (shape {input.shape})")
    return getitem(input, index=(slice(None),) * axis + (slice(start, start + length),))


def repeat_interleave(input, repeats=None, dim=None, *, output_size=None):
    """Each element (or slice along ``dim``) repeated ``repeats`` times in place: [a, b] with
    2 gives [a, a, b, b]. Without ``dim`` the input is flattened first. Given only a tensor
    of repeats, each index i of it repeated repeats[i] times. ``output_size``, if given, must
    be the result's length along ``dim``.

    >>> cr.repeat_interleave(cr.tensor([1, 2]), 2)
    tensor([1, 1, 2, 2], dtype=int64)
    >>> cr.repeat_interleave(cr.tensor([1, 2]), cr.tensor([1, 3]), dim=0)
    tensor([1, 2, 2, 2], dtype=int64)
    """
    if repeats is None:  # repeat_interleave(repeats): the indices, each repeated
        from ..tensor import Tensor
        counts = input._data if hasattr(input, "_data") else xp.asarray(input)
        if counts.ndim != 1:
            raise ShapeError(f"repeat_interleave: repeats alone must be 1-D, got shape "
                             f"{counts.shape}")
        input, repeats = Tensor._wrap(xp.arange(counts.size)), input
    if dim is None:
        input, dim = reshape(input, shape=(-1,)), 0
    axis = axis_of("repeat_interleave", dim, input.ndim)
    n = input.shape[axis] if input.shape else 1
    counts = repeats._data if hasattr(repeats, "_data") else xp.asarray(repeats)
    if counts.ndim and counts.shape != (n,) and counts.shape != (1,):
        raise ShapeError(f"repeat_interleave: repeats has shape {counts.shape}, expected ({n},)")
    if (counts < 0).any():
        raise ArgumentError(f"repeat_interleave: repeats must be non-negative, got {repeats}")
    index = xp.repeat(xp.arange(n), xp.broadcast_to(counts, (n,)))
    if output_size is not None and output_size != index.size:
        raise ArgumentError(f"repeat_interleave: output_size {output_size} is not the result's "
                            f"length {index.size} along dim {axis}")
    return getitem(input, index=(slice(None),) * axis + (index,))


def meshgrid(*tensors, indexing="ij"):
    """Coordinate grids from 1-D tensors: with "ij" (the default, as in PyTorch) output i
    varies along dimension i; "xy" swaps the first two dimensions.

    >>> rows, cols = cr.meshgrid(cr.tensor([1, 2]), cr.tensor([3, 4, 5]))
    >>> rows.shape, cols[0]
    (cr.Size([2, 3]), tensor([3, 4, 5], dtype=int64))
    """
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing not in ("ij", "xy"):
        raise ValueError(f"meshgrid: indexing must be 'ij' or 'xy', got {indexing!r}")
    sizes = [t.shape[0] if t.shape else 1 for t in tensors]
    if indexing == "xy" and len(tensors) >= 2:
        sizes[0], sizes[1] = sizes[1], sizes[0]
    grids = []
    for i, t in enumerate(tensors):
        position = {0: 1, 1: 0}.get(i, i) if indexing == "xy" and len(tensors) >= 2 else i
        shape = [1] * len(tensors)
        shape[position] = sizes[position]
        grids.append(broadcast_to(reshape(t, shape=tuple(shape)), shape=tuple(sizes)))
    return tuple(grids)


PAD_MODES = ("constant", "reflect", "replicate", "circular")


def pad(input, pad, mode="constant", value=None):
    """Pad the last dimensions: ``pad = (left, right)`` for the last, then (top, bottom) for
    the one before, and so on, as ``torch.nn.functional.pad``. Negative amounts crop.
    "constant" fills with ``value`` (0 by default); "reflect" mirrors without repeating the
    edge; "replicate" repeats the edge; "circular" wraps around.

    >>> x = cr.tensor([[1., 2., 3.]])
    >>> cr.nn.functional.pad(x, (1, 2))
    tensor([[0., 1., 2., 3., 0., 0.]], dtype=float32)
    >>> cr.nn.functional.pad(x, (2, 0), mode='reflect')
    tensor([[3., 2., 1., 2., 3.]], dtype=float32)
    >>> cr.nn.functional.pad(x, (1, 1), mode='replicate')
    tensor([[1., 1., 2., 3., 3.]], dtype=float32)
    """
    if mode not in PAD_MODES:
        raise ValueError(f"pad: mode must be one of {PAD_MODES}, got {mode!r}")
    pad = tuple(int(p) for p in pad)
    if len(pad) % 2 or len(pad) // 2 > input.ndim:
        raise ShapeError(f"pad: {len(pad)} amounts for a tensor of {input.ndim} dimensions; "
                         f"give two (before, after) per padded dimension, last dimension first")
    if mode != "constant" and value not in (None, 0):
        raise ValueError(f"pad: value applies only to mode='constant', not {mode!r}")
    if mode != "constant":
        _check_pad_kernel(mode, input, pad)
    out = input
    for k in range(len(pad) // 2):
        axis = input.ndim - 1 - k
        before, after = pad[2 * k], pad[2 * k + 1]
        n = out.shape[axis]
        if mode == "constant":
            out = _pad_constant(out, axis, before, after, 0 if value is None else value)
            continue
        if mode == "reflect" and (before >= n or after >= n):
            raise ShapeError(f"pad: reflect padding ({before}, {after}) must be smaller than "
                             f"the dimension's size {n} (dimension {axis})")
        if n == 0 and mode != "circular":
            raise ShapeError(f"pad: cannot {mode}-pad the empty dimension {axis}")
        positions = xp.arange(-before, n + after)
        if mode == "replicate":
            positions = xp.clip(positions, 0, n - 1)
        elif mode == "circular":
            positions = _circular(positions, n, before, after, axis)
        else:  # reflect: ... 2 1 | 0 1 2 ... n-1 | n-2 n-3 ...
            period = 2 * (n - 1) if n > 1 else 1
            positions = xp.abs(positions) % period
            positions = xp.where(positions >= n, period - positions, positions)
        out = getitem(out, index=(slice(None),) * axis + (positions,))
    return out.contiguous()  # C order, as PyTorch's result (view(-1) works on it)


def _check_pad_kernel(mode, input, pad):
    """PyTorch has a reflect/replicate/circular kernel for 1, 2 or 3 padded dimensions of a
    batched or unbatched input only (2 amounts for 2-D or 3-D input, 4 for 3-D or 4-D, 6 for
    4-D or 5-D), and none for bool in reflect and replicate; the general gather here would
    pad any rank, so the refusal is PyTorch's."""
    dims = len(pad) // 2
    if dims not in (1, 2, 3) or input.ndim not in (dims + 1, dims + 2):
        raise NotImplementedError(f"pad: {len(pad)} amounts in mode {mode!r} are not supported "
                                  f"for a {input.ndim}-D input of shape {tuple(input.shape)} "
                                  f"(as in PyTorch: 2 amounts for 2-D or 3-D input, 4 for 3-D "
                                  f"or 4-D, 6 for 4-D or 5-D)")
    if mode != "circular" and input.dtype == xp.bool_:
        raise NotImplementedError(f"pad: mode {mode!r} is not implemented for bool input of "
                                  f"shape {tuple(input.shape)} (as in PyTorch)")


def _circular(positions, n, before, after, axis):
    """Where each position of a circular pad reads. Negative amounts crop first and the
    cropped part is what wraps (PyTorch's order); an amount longer than the cropped part would
    wrap around more than once, which PyTorch refuses."""
    low, high = builtins.max(0, -before), n - builtins.max(0, -after)
    kept = high - low
    if kept < 0:
        raise ArgumentError(f"pad: circular padding ({before}, {after}) of dimension {axis} "
                            f"(size {n}) crops more than the whole dimension")
    if builtins.max(before, after) > kept:
        raise ArgumentError(f"pad: circular padding ({before}, {after}) of dimension {axis} "
                            f"wraps around more than once: the padded dimension has {kept} "
                            f"elements after cropping (size {n})")
    return (positions - low) % builtins.max(kept, 1) + low


def _pad_constant(x, axis, before, after, value):
    n = x.shape[axis]
    crop = slice(builtins.max(0, -before), n - builtins.max(0, -after))
    x = getitem(x, index=(slice(None),) * axis + (crop,)) if before < 0 or after < 0 else x
    before, after = builtins.max(0, before), builtins.max(0, after)
    if not before and not after:
        return x
    shape = list(x.shape)
    shape[axis] += before + after
    filled = xp.full(shape, value, dtype=x.dtype)
    return index_put(filled, x, index=(slice(None),) * axis + (slice(before, before + x.shape[axis]),))
