"""im2col and col2im with PyTorch's names (``F.unfold``, ``F.fold``): composites of getitem
and add_at, so unfold's gradient is fold (each patch element goes back to the pixel it was
read from, adding up where patches overlap) and fold's is unfold, to every order."""
from ..backend import xp
from ..errors import DtypeError, ShapeError
from .layout import pad
from .shape import add_at, getitem, reshape


def _pair(op, name, value):
    pair = (value, value) if isinstance(value, (int, xp.integer)) else tuple(value)
    if len(pair) != 2 or any(isinstance(v, bool) or not isinstance(v, (int, xp.integer))
                             for v in pair):
        raise ShapeError(f"{op}: {name} must be an int or a pair of ints, got {value!r}")
    return tuple(int(v) for v in pair)


def _geometry(op, kernel_size, dilation, padding, stride):
    kernel, dilation = _pair(op, "kernel_size", kernel_size), _pair(op, "dilation", dilation)
    padding, stride = _pair(op, "padding", padding), _pair(op, "stride", stride)
    for name, values, low in (("kernel_size", kernel, 1), ("dilation", dilation, 1),
                              ("padding", padding, 0), ("stride", stride, 1)):
        if min(values) < low:
            raise ShapeError(f"{op}: {name} must be {'non-negative' if low == 0 else 'positive'}"
                             f", got {values}")
    return kernel, dilation, padding, stride


def _blocks(op, size, kernel, dilation, padding, stride):
    """The number of sliding blocks along each spatial dimension, checked to be at least 1,
    and the (rows, cols) index arrays that read the blocks' elements out of the padded image:
    shaped (kh, 1, oh, 1) and (1, kw, 1, ow)."""
    counts = tuple((n + 2 * p - d * (k - 1) - 1) // s + 1
                   for n, k, d, p, s in zip(size, kernel, dilation, padding, stride))
    if min(counts) < 1:
        raise ShapeError(f"{op}: spatial size {tuple(size)} with kernel_size={kernel}, "
                         f"dilation={dilation}, padding={padding}, stride={stride} leaves "
                         f"{counts} sliding blocks; each count must be at least one")
    (kh, kw), (oh, ow) = kernel, counts
    rows = xp.arange(kh)[:, None] * dilation[0] + xp.arange(oh)[None, :] * stride[0]
    cols = xp.arange(kw)[:, None] * dilation[1] + xp.arange(ow)[None, :] * stride[1]
    return counts, (rows[:, None, :, None], cols[None, :, None, :])


def _check_input(op, x, dims):
    if x.ndim not in dims:
        raise ShapeError(f"{op}: expects a {dims[0]}-D (unbatched) or {dims[1]}-D (batched) "
                         f"input, got shape {tuple(x.shape)}")
    if x.dtype.kind not in "fb":
        raise DtypeError(f"{op}: needs a floating-point or bool tensor, got {x.dtype} (as in "
                         f"PyTorch)")
    if any(n == 0 for n in x.shape[x.ndim - dims[0]:]):
        raise ShapeError(f"{op}: only the batch dimension may be empty, got shape "
                         f"{tuple(x.shape)}")


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    """Sliding blocks of an (N, C, H, W) image (or (C, H, W)) as columns, PyTorch's F.unfold
    (im2col): (N, C * kh * kw, L), L the number of blocks; channel slowest, then the kernel's
    row and column. Zero padding, dilation and stride as for a convolution.

    >>> cr.nn.functional.unfold(cr.arange(9.).reshape(1, 1, 3, 3), 2)[0]
    tensor([[0., 1., 3., 4.],
            [1., 2., 4., 5.],
            [3., 4., 6., 7.],
            [4., 5., 7., 8.]], dtype=float32)
    """
    _check_input("unfold", input, (3, 4))
    kernel, dilation, padding, stride = _geometry("unfold", kernel_size, dilation, padding,
                                                  stride)
    (oh, ow), at = _blocks("unfold", input.shape[-2:], kernel, dilation, padding, stride)
    if any(padding):
        input = pad(input, (padding[1], padding[1], padding[0], padding[0]))
    lead = tuple(input.shape[:-2])
    patches = getitem(input, index=(slice(None),) * len(lead) + at)  # lead + (kh, kw, oh, ow)
    return reshape(patches, shape=lead[:-1] + (lead[-1] * kernel[0] * kernel[1], oh * ow))


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """The columns of ``unfold`` summed back into an image of ``output_size`` (PyTorch's
    F.fold, col2im): (N, C * kh * kw, L) -> (N, C, H, W), or unbatched (C * kh * kw, L) ->
    (C, H, W); elements of overlapping blocks add up.

    >>> cr.nn.functional.fold(cr.ones(1, 4, 4), (3, 3), 2)[0, 0]
    tensor([[1., 2., 1.],
            [2., 4., 2.],
            [1., 2., 1.]], dtype=float32)
    """
    _check_input("fold", input, (2, 3))
    size = _pair("fold", "output_size", output_size)
    kernel, dilation, padding, stride = _geometry("fold", kernel_size, dilation, padding, stride)
    (oh, ow), at = _blocks("fold", size, kernel, dilation, padding, stride)
    *batch, rows, length = input.shape
    per_channel = kernel[0] * kernel[1]
    if rows % per_channel:
        raise ShapeError(f"fold: input of shape {tuple(input.shape)}: its dimension "
                         f"{len(batch)} ({rows}) must be divisible by the kernel's "
                         f"{kernel[0]} * {kernel[1]} elements")
    if length != oh * ow:
        raise ShapeError(f"fold: input of shape {tuple(input.shape)} has {length} blocks, but "
                         f"output_size={size} with kernel_size={kernel}, dilation={dilation}, "
                         f"padding={padding}, stride={stride} has {oh} * {ow} = {oh * ow}")
    lead = tuple(batch) + (rows // per_channel,)
    blocks = reshape(input, shape=lead + kernel + (oh, ow))
    padded = tuple(n + 2 * p for n, p in zip(size, padding))
    out = add_at(blocks, index=(slice(None),) * len(lead) + at, shape=lead + padded)
    if any(padding):
        out = getitem(out, index=(..., slice(padding[0], padding[0] + size[0]),
                                  slice(padding[1], padding[1] + size[1])))
    return out
