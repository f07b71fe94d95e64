"""Pooling over 1, 2 or 3 spatial dimensions: (N, C, L), (N, C, H, W), (N, C, D, H, W).

Max pooling keeps, per output, which position of its window won (the "pooling argmax", a small
integer array, instead of the input) and its VJP sends each gradient to that position only, so
at a tie exactly one input gets it: the first in the window, as in PyTorch (a NaN wins its
window, the last NaN if there are several; padding never wins, so a window of -inf inputs
sends its gradient to its first input). The same winners give ``return_indices``, and
``max_unpool`` puts values back at them. Average pooling is a convolution with a constant
kernel divided by PyTorch's window sizes, and adaptive pooling a product with fixed averaging
matrices: each differentiates through the primitives it is made of.

``ceil_mode`` rounds the output size up, as PyTorch does: a last, partial window is added when
it starts inside the input or its left padding; its missing part counts as padding.
"""
import itertools
import math

from ..backend import xp
from ..errors import ArgumentError, DtypeError, ShapeError
from .conv import conv1d, conv2d_forward, pair, single
from .conv3d import conv3d, triple
from .primitive import primitive
from .resample import _window, resample

LAYOUTS = {1: "(N, C, L)", 2: "(N, C, H, W)", 3: "(N, C, D, H, W)"}


TUPLES = {1: single, 2: pair, 3: triple}


def pool_output_size(size, kernel, stride, padding, dilation, ceil_mode):
    """PyTorch's pooling_output_shape: rounded down, or up with ``ceil_mode`` unless the last
    window would start beyond the input and its left padding."""
    span = size + 2 * padding - dilation * (kernel - 1) - 1
    out = (span + (stride - 1 if ceil_mode else 0)) // stride + 1
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1
    return out


def _pool_args(op, x, spatial, kernel_size, stride, padding, dilation, ceil_mode,
               dilated_padding):
    """Kernel, stride, padding and dilation as tuples and the output size, checked as PyTorch
    checks them (``dilated_padding``: max pooling without indices allows padding up to half
    the dilated kernel; with indices, and average pooling, half the kernel)."""
    tuples = TUPLES[spatial]
    kernel = tuples(kernel_size, "kernel_size", op)
    given = stride is not None and stride != [] and stride != ()
    stride = tuples(stride, "stride", op) if given else kernel
    padding = tuples(padding, "padding", op)
    dilation = tuples(dilation, "dilation", op)
    if min(kernel) < 1 or min(stride) < 1 or min(dilation) < 1 or min(padding) < 0:
        raise ArgumentError(f"{op}: kernel_size, stride and dilation must be positive and "
                            f"padding >= 0, got {kernel}, {stride}, {dilation}, {padding}")
    reach = [(k - 1) * d + 1 if dilated_padding else k for k, d in zip(kernel, dilation)]
    if any(2 * p > r for p, r in zip(padding, reach)):
        raise ArgumentError(f"{op}: padding {padding} must be at most half the "
                            f"{'effective ' if dilated_padding else ''}kernel size {tuple(reach)} "
                            f"(as in PyTorch)")
    size = tuple(pool_output_size(n, k, s, p, d, ceil_mode) for n, k, s, p, d in
                 zip(x.shape[2:], kernel, stride, padding, dilation))
    if min(size) < 1:
        raise ShapeError(f"{op}: the {'x'.join(map(str, kernel))} window does not fit the input "
                         f"{'x'.join(map(str, x.shape[2:]))} with padding {padding}: output size "
                         f"{'x'.join(map(str, size))}")
    return kernel, stride, padding, dilation, size


def _batched(op, input, spatial):
    """``input`` with a batch dimension (PyTorch also pools unbatched (C, ...) inputs), and
    whether one was added."""
    from .shape import reshape
    if input.ndim == spatial + 1:
        return reshape(input, shape=(1,) + tuple(input.shape)), True
    if input.ndim != spatial + 2:
        raise ShapeError(f"{op}: input must be {spatial + 2}-D {LAYOUTS[spatial]} or "
                         f"{spatial + 1}-D without the batch, got shape {input.shape}")
    if 0 in input.shape[1:]:
        raise ShapeError(f"{op}: only the batch dimension may be empty, got shape {input.shape}")
    return input, False


def _unbatched(value, added):
    from .shape import reshape
    return reshape(value, shape=tuple(value.shape[1:])) if added else value


# -- the windows --------------------------------------------------------------------------

def _blocks(kernel, stride, dilation, size):
    """For each window position (in C order over the kernel): the strided slices of the padded
    input that it meets, one element per output position. Looping over these (never over
    positions or channels) copies or adds whole strided blocks at NumPy's speed."""
    for offset in itertools.product(*(range(k) for k in kernel)):
        yield (slice(None), slice(None)) + tuple(
            slice(i * d, i * d + s * (o - 1) + 1, s)
            for i, d, s, o in zip(offset, dilation, stride, size))


def _padded(x, padding, size, kernel, stride, dilation, fill):
    """``x`` padded with ``fill``: ``padding`` before each spatial dimension, and after it
    enough for ``size`` windows (the padding, or what ceil_mode's last window reaches)."""
    widths = [(0, 0), (0, 0)]
    for n, p, o, k, s, d in zip(x.shape[2:], padding, size, kernel, stride, dilation):
        widths.append((p, max(p, (o - 1) * s + d * (k - 1) + 1 - n - p)))
    if any(before or after for before, after in widths):
        return xp.pad(x, widths, constant_values=fill)
    return x


def _lowest(dtype):
    return -xp.inf if dtype.kind == "f" else xp.iinfo(dtype).min


def _stacked(x, kernel, stride, padding, dilation, size, fill):
    """Every window position's block of ``x`` padded with ``fill``, stacked and contiguous:
    (K, N, C, *size). Each step then runs over long contiguous rows; the strided blocks
    themselves have rows only as long as the output's, and NumPy pays per row."""
    padded = _padded(x, padding, size, kernel, stride, dilation, fill)
    out = xp.empty((math.prod(kernel),) + x.shape[:2] + tuple(size), dtype=x.dtype)
    for k, block in enumerate(_blocks(kernel, stride, dilation, size)):
        out[k] = padded[block]
    return out


def _inside(x_shape, kernel, stride, padding, dilation, size):
    """(K, 1, 1, *size): whether each window position falls inside the input, or None when
    every one does."""
    axes = []
    for n, k, s, p, d, o in zip(x_shape[2:], kernel, stride, padding, dilation, size):
        where = xp.arange(o)[None, :] * s - p + xp.arange(k)[:, None] * d  # (k, o)
        axes.append((where >= 0) & (where < n))
    if all(a.all() for a in axes):
        return None
    spatial = len(axes)
    mask = xp.ones((1,) * (2 * spatial), dtype=bool)
    for i, a in enumerate(axes):
        shape = [1] * (2 * spatial)
        shape[i], shape[spatial + i] = a.shape
        mask = mask & a.reshape(shape)
    return mask.reshape((math.prod(kernel), 1, 1) + tuple(size))


def _keep(mask, values):
    """``values`` where ``mask``, else 0, bit for bit (``values * mask`` would turn an inf or
    nan outside the mask into nan). A bitwise AND with an all-ones or all-zeros word: on a
    random mask ``np.where`` branches per element and is several times slower."""
    bits = values.view(f"u{values.itemsize}")
    return (bits & -mask.astype(bits.dtype)).view(values.dtype)


def _winners(stacked, best, inside):
    """Which window position (0 .. K-1) holds each maximum, as PyTorch picks it: the first
    inside the input at a tie; where the maximum is NaN, the last NaN."""
    winner = xp.zeros(best.shape, dtype=xp.int16)
    # From the last position to the first, so that at a tie the first one wins. (Arithmetic
    # rather than argmax(axis=0), which NumPy runs one short window at a time.)
    for k in range(len(stacked) - 1, -1, -1):
        hit = stacked[k] == best
        if inside is not None:
            hit &= inside[k]
        winner += (k - winner) * hit
    if best.dtype.kind == "f":
        nan = xp.isnan(best)
        if nan.any():
            for k in range(len(stacked)):
                winner += (k - winner) * (nan & xp.isnan(stacked[k]))
    return winner


# -- max pooling: three primitives that are each other's VJPs ------------------------------

@primitive
def max_pool_forward(x, *, kernel, stride, padding, dilation, ceil_mode=False):
    """The maximum of each window of x (N, C, *spatial), padded with the lowest value."""
    size = tuple(pool_output_size(n, k, s, p, d, ceil_mode) for n, k, s, p, d in
                 zip(x.shape[2:], kernel, stride, padding, dilation))
    return _stacked(x, kernel, stride, padding, dilation, size, _lowest(x.dtype)).max(axis=0)


@max_pool_forward.residual
def winner(x, out, kernel, stride, padding, dilation):
    # The pooling argmax, kept instead of the input: 2 bytes per output rather than 4 per input
    # element, so the ReLU output before a pool can be freed.
    return _find_winners(x, out.shape[2:], kernel, stride, padding, dilation)


def _find_winners(x, size, kernel, stride, padding, dilation):
    stacked = _stacked(x, kernel, stride, padding, dilation, size, _lowest(x.dtype))
    inside = _inside(x.shape, kernel, stride, padding, dilation, size)
    return _winners(stacked, stacked.max(axis=0), inside)


def _check_windows_meet_input(op, shape, kernel, stride, padding, dilation, size):
    """Refuse a window whose every position lies in the padding (possible with dilation):
    PyTorch gives it -inf and an index outside the input."""
    for n, k, s, p, d, o in zip(shape, kernel, stride, padding, dilation, size):
        where = xp.arange(o)[None, :] * s - p + xp.arange(k)[:, None] * d
        if not ((where >= 0) & (where < n)).any(axis=0).all():
            raise ShapeError(f"{op}: a {kernel} window (dilation {dilation}) lies entirely in "
                             f"the padding {padding} of the input {tuple(shape)}")


@max_pool_forward.vjp("x", formula="{grad} sent to the position of each window's maximum")
def _(grad, winner, x_shape, kernel, stride, padding, dilation):
    return max_pool_scatter(grad, winner, x_shape=x_shape, kernel=kernel, stride=stride,
                            padding=padding, dilation=dilation)


@primitive
def max_pool_scatter(grad, winner, *, x_shape, kernel, stride, padding, dilation):
    """Each gradient added at its window's winning position, in an array of ``x_shape``."""
    size = grad.shape[2:]
    widths = [max(p, (o - 1) * s + d * (k - 1) + 1 - n - p) for n, p, o, k, s, d in
              zip(x_shape[2:], padding, size, kernel, stride, dilation)]
    padded = xp.zeros(tuple(x_shape[:2]) + tuple(n + p + w for n, p, w in
                                                  zip(x_shape[2:], padding, widths)),
                      dtype=grad.dtype)
    # Windows that do not overlap (LeNet's 2x2, stride 2) meet each input at most once, so each
    # block can be written rather than added (no read of what is there: 40% faster).
    disjoint = all(d == 1 for d in dilation) and all(s >= k for s, k in zip(stride, kernel))
    for k, block in enumerate(_blocks(kernel, stride, dilation, size)):
        if disjoint:
            padded[block] = _keep(winner == k, grad)
        else:
            padded[block] += _keep(winner == k, grad)
    return padded[(slice(None), slice(None)) + tuple(slice(p, p + n) for p, n in
                                                     zip(padding, x_shape[2:]))]


@max_pool_scatter.vjp("grad", formula="{grad} read at each window's winning position")
def _(g, winner, kernel, stride, padding, dilation):
    return max_pool_gather(g, winner, kernel=kernel, stride=stride, padding=padding,
                           dilation=dilation)


@primitive
def max_pool_gather(x, winner, *, kernel, stride, padding, dilation):
    """Each window's element at its winning position."""
    stacked = _stacked(x, kernel, stride, padding, dilation, winner.shape[2:], 0.0)
    out = xp.zeros(winner.shape, dtype=x.dtype)
    for k in range(len(stacked)):
        out += _keep(winner == k, stacked[k])
    return out


@max_pool_gather.vjp("x", formula="{grad} sent to each window's winning position")
def _(grad, winner, x_shape, kernel, stride, padding, dilation):
    return max_pool_scatter(grad, winner, x_shape=x_shape, kernel=kernel, stride=stride,
                            padding=padding, dilation=dilation)


def _indices(winner, x_shape, kernel, stride, padding, dilation):
    """PyTorch's pooling indices: each winner's flat position in its (N, C) plane."""
    offsets = xp.unravel_index(winner.astype(xp.int64), kernel)
    position = 0
    for axis, (n, s, p, d) in enumerate(zip(x_shape[2:], stride, padding, dilation)):
        shape = [1] * winner.ndim
        shape[2 + axis] = winner.shape[2 + axis]
        where = xp.arange(winner.shape[2 + axis]).reshape(shape) * s - p + offsets[axis] * d
        position = position * n + where
    return position


def _max_pool(op, spatial, input, kernel_size, stride, padding, dilation, ceil_mode,
              return_indices):
    from ..tensor import Tensor
    x, added = _batched(op, input, spatial)
    kernel, stride, padding, dilation, size = _pool_args(
        op, x, spatial, kernel_size, stride, padding, dilation, ceil_mode, not return_indices)
    _check_windows_meet_input(op, x.shape[2:], kernel, stride, padding, dilation, size)
    if x.dtype.kind not in "fiu" or spatial == 1 and x.dtype.kind != "f":
        raise DtypeError(f"{op}: not implemented for {x.dtype} input (as in PyTorch)")
    out = max_pool_forward(x, kernel=kernel, stride=stride, padding=padding, dilation=dilation,
                           ceil_mode=ceil_mode)
    if not return_indices:
        return _unbatched(out, added)
    winner = _find_winners(x._data, size, kernel, stride, padding, dilation)
    indices = Tensor._wrap(_indices(winner, x.shape, kernel, stride, padding, dilation))
    return _unbatched(out, added), _unbatched(indices, added)


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """The maximum of each ``kernel_size`` window of ``input`` (N, C, L), ``stride`` apart
    (the kernel size by default), padded with -inf; ``ceil_mode`` and ``return_indices`` as in
    ``max_pool2d``.

    >>> cr.nn.functional.max_pool1d(cr.tensor([[[1., 3., 2., 5., 4.]]]), 2, ceil_mode=True)
    tensor([[[3., 5., 4.]]], dtype=float32)
    """
    return _max_pool("max_pool1d", 1, input, kernel_size, stride, padding, dilation, ceil_mode,
                     return_indices)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """The maximum of each ``kernel_size`` window, ``stride`` apart (the kernel size by
    default), over ``input`` (N, C, H, W) padded with -inf. The gradient goes to each window's
    maximum; at a tie, to the first (as in PyTorch). ``ceil_mode`` rounds the output size up;
    ``return_indices`` also returns each maximum's flat position h * W + w in its plane (the
    indices ``max_unpool2d`` takes).

    >>> x = cr.arange(16.).reshape(1, 1, 4, 4)
    >>> cr.nn.functional.max_pool2d(x, 2)
    tensor([[[[ 5.,  7.],
              [13., 15.]]]], dtype=float32)
    >>> cr.nn.functional.max_pool2d(x, 3, stride=2, ceil_mode=True, return_indices=True)[1]
    tensor([[[[10, 11],
              [14, 15]]]], dtype=int64)
    """
    return _max_pool("max_pool2d", 2, input, kernel_size, stride, padding, dilation, ceil_mode,
                     return_indices)


def max_pool3d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """The maximum of each ``kernel_size`` window of ``input`` (N, C, D, H, W), ``stride``
    apart (the kernel size by default), padded with -inf. The gradient goes to each window's
    maximum; at a tie, to the first in (depth, row, column) order, as in PyTorch; indices are
    flat positions d * H * W + h * W + w.

    >>> x = cr.arange(8.).reshape(1, 1, 2, 2, 2)
    >>> cr.nn.functional.max_pool3d(x, 2).flatten()
    tensor([7.], dtype=float32)
    """
    return _max_pool("max_pool3d", 3, input, kernel_size, stride, padding, dilation, ceil_mode,
                     return_indices)


# -- average pooling ------------------------------------------------------------------------

def _divisors(shape, kernel, stride, padding, size, count_include_pad):
    """PyTorch's divisor of each window: its size clipped to the padded input, or with
    ``count_include_pad=False`` the number of its positions inside the input."""
    total = xp.ones((1,) * len(size))
    for axis, (n, k, s, p, o) in enumerate(zip(shape, kernel, stride, padding, size)):
        start = xp.arange(o) * s - p
        if count_include_pad:
            count = xp.minimum(start + k, n + p) - start
        else:
            count = xp.minimum(start + k, n) - xp.maximum(start, 0)
        axes = [1] * len(size)
        axes[axis] = o
        total = total * count.reshape(axes)
    return total


def _avg_pool(op, spatial, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
              divisor_override):
    from .layout import pad
    x, added = _batched(op, input, spatial)
    kernel, stride, padding, _, size = _pool_args(op, x, spatial, kernel_size, stride, padding,
                                                  1, ceil_mode, False)
    if x.dtype.kind != "f":
        raise DtypeError(f"{op}: needs a floating-point tensor, got {x.dtype}")
    if spatial == 3 and any(n < k for n, k in zip(x.shape[2:], kernel)):
        raise ShapeError(f"{op}: the input {tuple(x.shape[2:])} is smaller than the kernel "
                         f"{kernel} (PyTorch's 3-D average pooling needs it at least as large, "
                         f"padding aside)")
    if divisor_override is not None and divisor_override == 0:
        raise ArgumentError(f"{op}: divisor must be not zero")
    # ceil_mode's last window may reach past the padding: zeros there, counted as PyTorch does.
    extra = [max(0, (o - 1) * s + k - n - 2 * p) for n, k, s, p, o in
             zip(x.shape[2:], kernel, stride, padding, size)]
    if any(extra):
        x = pad(x, tuple(v for e in reversed(extra) for v in (0, e)))
    channels = x.shape[1]
    ones = xp.ones((channels, 1) + kernel, dtype=x.dtype)
    if spatial == 1:
        total = conv1d(x, ones, None, stride[0], padding[0], 1, channels)
    elif spatial == 2:
        total = conv2d_forward(x, ones, stride=stride, padding=padding, dilation=(1, 1),
                               groups=channels)
    else:
        total = conv3d(x, ones, None, stride, padding, 1, channels)
    if divisor_override:
        return _unbatched(total / divisor_override, added)
    shape = input.shape[-spatial:]
    divisors = _divisors(shape, kernel, stride, padding, size, count_include_pad)
    if (divisors == math.prod(kernel)).all():
        return _unbatched(total / math.prod(kernel), added)
    return _unbatched(total / divisors.astype(x.dtype), added)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True):
    """The mean of each ``kernel_size`` window of ``input`` (N, C, L), ``stride`` apart; with
    padding, the zeros count unless ``count_include_pad=False``.

    >>> cr.nn.functional.avg_pool1d(cr.tensor([[[1., 3., 2., 5., 4.]]]), 2, ceil_mode=True)
    tensor([[[2. , 3.5, 4. ]]], dtype=float32)
    """
    return _avg_pool("avg_pool1d", 1, input, kernel_size, stride, padding, ceil_mode,
                     count_include_pad, None)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    """The mean of each ``kernel_size`` window, ``stride`` apart; with padding, the zeros count
    unless ``count_include_pad=False``. A convolution with a constant kernel, channel by
    channel. With ``ceil_mode`` a last partial window divides by its part inside the padded
    input (as PyTorch).

    >>> x = cr.arange(16.).reshape(1, 1, 4, 4)
    >>> cr.nn.functional.avg_pool2d(x, 2)
    tensor([[[[ 2.5,  4.5],
              [10.5, 12.5]]]], dtype=float32)
    """
    return _avg_pool("avg_pool2d", 2, input, kernel_size, stride, padding, ceil_mode,
                     count_include_pad, divisor_override)


def avg_pool3d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    """The mean of each ``kernel_size`` window of ``input`` (N, C, D, H, W), ``stride``
    apart; with padding, the zeros count unless ``count_include_pad=False``.

    >>> cr.nn.functional.avg_pool3d(cr.arange(8.).reshape(1, 1, 2, 2, 2), 2).flatten()
    tensor([3.5], dtype=float32)
    """
    return _avg_pool("avg_pool3d", 3, input, kernel_size, stride, padding, ceil_mode,
                     count_include_pad, divisor_override)


def adaptive_avg_pool2d(input, output_size):
    """Average pooling to a fixed output size: window i covers rows floor(i*H/oh) to
    ceil((i+1)*H/oh), as in PyTorch (``None`` keeps a dimension's size).

    >>> cr.nn.functional.adaptive_avg_pool2d(cr.ones(2, 3, 7, 5), (2, 1)).shape
    cr.Size([2, 3, 2, 1])
    """
    x, added = _batched("adaptive_avg_pool2d", input, 2)
    if x.dtype.kind != "f":
        raise DtypeError(f"adaptive_avg_pool2d: needs a floating-point tensor, got {x.dtype}")
    sizes = (output_size, output_size) if output_size is None or isinstance(
        output_size, (int, xp.integer)) else tuple(output_size)
    sizes = tuple(n if o is None else int(o) for n, o in zip(x.shape[2:], sizes))
    maps = [None if n == o else _window(n, o) for n, o in zip(x.shape[2:], sizes)]
    return _unbatched(resample(x, maps).contiguous(), added)


__all__ = ["max_pool1d", "max_pool2d", "max_pool3d", "avg_pool1d", "avg_pool2d", "avg_pool3d",
           "adaptive_avg_pool2d"]
