"""Pooling and resizing, NCHW.

Max pooling keeps, per output, which position of its window won (the "pooling argmax", a small
integer array, instead of the input) and its VJP sends each gradient to that position only, so at a tie exactly one
input gets it (the first in the window, as in PyTorch). Average pooling is a convolution with
a constant kernel, adaptive pooling and bilinear resizing are products with fixed averaging or
interpolation matrices, and nearest resizing is indexing: each differentiates through the
primitives it is made of.
"""
import math

from ..backend import xp
from ..errors import ShapeError
from .conv import _padded, _windows, conv2d_forward, offsets, output_size, pair
from .primitive import primitive
from .resample import _averaging


def _pool_args(op, x, kernel_size, stride, padding, dilation=1, layout="(N, C, H, W)",
               tuples=pair):
    """Kernel, stride, padding and dilation as tuples (``tuples`` makes them: ``pair``, or
    ``triple`` in 3-D), checked against ``x`` as PyTorch checks them."""
    dims = layout.count(",") + 1
    if x.ndim != dims:
        raise ShapeError(f"{op}: input must be {dims}-D {layout}, got shape {x.shape}")
    kernel = tuples(kernel_size, "kernel_size", op)
    stride = kernel if stride is None or stride == [] else tuples(stride, "stride", op)
    padding = tuples(padding, "padding", op)
    dilation = tuples(dilation, "dilation", op)
    if any(2 * p > k for p, k in zip(padding, kernel)):
        raise ValueError(f"{op}: padding {padding} must be at most half the kernel {kernel} "
                         f"(as in PyTorch)")
    size = [output_size(n, k, s, p, d) for n, k, s, p, d in
            zip(x.shape[2:], kernel, stride, padding, dilation)]
    if min(size) < 1:
        raise ShapeError(f"{op}: the {'x'.join(map(str, kernel))} window does not fit the input "
                         f"{'x'.join(map(str, x.shape[2:]))} with padding {padding}")
    return kernel, stride, padding, dilation


def _sizes(x_shape, kernel, stride, padding, dilation):
    return tuple(output_size(n, k, s, p, d) for n, k, s, p, d in
                 zip(x_shape[2:], kernel, stride, padding, dilation))


def _stacked(x, kernel, stride, padding, dilation, size, fill):
    """Every window position's block of ``x`` padded with ``fill``, stacked and contiguous:
    (KH*KW, N, C, OH, OW). Each step below then runs over long contiguous rows; the strided
    blocks themselves have rows only OW long, and NumPy pays per row."""
    padded = _padded(x, padding, fill)
    out = xp.empty((kernel[0] * kernel[1],) + x.shape[:2] + tuple(size), dtype=x.dtype)
    for k, (_, _, block) in enumerate(offsets(*kernel, stride, dilation, *size)):
        out[k] = padded[block]
    return out


def _keep(mask, values):
    """``values`` where ``mask``, else 0, bit for bit (``values * mask`` would turn an inf or
    nan outside the mask into nan). A bitwise AND with an all-ones or all-zeros word: on a
    random mask ``np.where`` branches per element and is several times slower."""
    bits = values.view(f"u{values.itemsize}")
    return (bits & -mask.astype(bits.dtype)).view(values.dtype)


@primitive
def max_pool2d_forward(x, *, kernel, stride, padding, dilation):
    size = _sizes(x.shape, kernel, stride, padding, dilation)
    return _stacked(x, kernel, stride, padding, dilation, size, -xp.inf).max(axis=0)


@max_pool2d_forward.residual
def winner(x, out, kernel, stride, padding, dilation):
    # The pooling argmax, kept instead of the input: 2 bytes per output rather than 4 per input
    # element, so the ReLU output before a pool can be freed.
    return _winners(_stacked(x, kernel, stride, padding, dilation, out.shape[2:], -xp.inf), out)


@max_pool2d_forward.vjp("x", formula="{grad} sent to the position of each window's maximum")
def _(grad, winner, x_shape, kernel, stride, padding, dilation):
    return max_pool2d_scatter(grad, winner, x_shape=x_shape, kernel=kernel, stride=stride,
                              padding=padding, dilation=dilation)


def _winners(stacked, best):
    """Which window position (0 .. KH*KW-1) holds each maximum: the first, at a tie (a NaN
    counts as the maximum, as in PyTorch)."""
    winner = xp.zeros(best.shape, dtype=xp.int16)
    nan = xp.isnan(best)
    any_nan = bool(nan.any())
    # From the last position to the first, so that at a tie the first one wins. (Arithmetic
    # rather than argmax(axis=0), which NumPy runs one short window at a time.)
    for k in range(len(stacked) - 1, -1, -1):
        hit = stacked[k] == best
        if any_nan:
            hit |= nan & xp.isnan(stacked[k])
        winner += (k - winner) * hit
    return winner


@primitive
def max_pool2d_scatter(grad, winner, *, x_shape, kernel, stride, padding, dilation):
    """Each gradient added at its window's winning position, in an array of ``x_shape``."""
    n, c, h, w = x_shape
    ph, pw = padding
    padded = xp.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=grad.dtype)
    # Windows that do not overlap (LeNet's 2x2, stride 2) meet each input at most once, so each
    # block can be written rather than added (no read of what is there: 40% faster).
    disjoint = dilation == (1, 1) and all(s >= k for s, k in zip(stride, kernel))
    for k, (_, _, block) in enumerate(offsets(*kernel, stride, dilation, *grad.shape[2:])):
        if disjoint:
            padded[block] = _keep(winner == k, grad)
        else:
            padded[block] += _keep(winner == k, grad)
    return padded[:, :, ph:ph + h, pw:pw + w]


@max_pool2d_scatter.vjp("grad", formula="{grad} read at each window's winning position")
def _(g, winner, kernel, stride, padding, dilation):
    return max_pool2d_gather(g, winner, kernel=kernel, stride=stride, padding=padding,
                             dilation=dilation)


@primitive
def max_pool2d_gather(x, winner, *, kernel, stride, padding, dilation):
    """Each window's element at its winning position."""
    stacked = _stacked(x, kernel, stride, padding, dilation, winner.shape[2:], 0.0)
    out = xp.zeros(winner.shape, dtype=x.dtype)
    for k in range(len(stacked)):
        out += _keep(winner == k, stacked[k])
    return out


@max_pool2d_gather.vjp("x", formula="{grad} sent to each window's winning position")
def _(grad, winner, x_shape, kernel, stride, padding, dilation):
    return max_pool2d_scatter(grad, winner, x_shape=x_shape, kernel=kernel, stride=stride,
                              padding=padding, dilation=dilation)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """The maximum of each ``kernel_size`` window, ``stride`` apart (the kernel size by
    default), over ``input`` padded with -inf. The gradient goes to each window's maximum; at
    a tie, to the first (as in PyTorch).

    >>> x = cr.arange(16.).reshape(1, 1, 4, 4)
    >>> cr.nn.functional.max_pool2d(x, 2)
    tensor([[[[ 5.,  7.],
              [13., 15.]]]], dtype=float32)
    """
    if ceil_mode or return_indices:
        raise ValueError("max_pool2d: ceil_mode and return_indices are not supported")
    kernel, stride, padding, dilation = _pool_args("max_pool2d", input, kernel_size, stride,
                                                   padding, dilation)
    if input.dtype.kind != "f":
        raise TypeError(f"max_pool2d: needs a floating-point tensor, got {input.dtype}")
    return max_pool2d_forward(input, kernel=kernel, stride=stride, padding=padding,
                              dilation=dilation)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    """The mean of each ``kernel_size`` window, ``stride`` apart; with padding, the zeros count
    unless ``count_include_pad=False``. A convolution with a constant kernel, channel by
    channel.

    >>> x = cr.arange(16.).reshape(1, 1, 4, 4)
    >>> cr.nn.functional.avg_pool2d(x, 2)
    tensor([[[[ 2.5,  4.5],
              [10.5, 12.5]]]], dtype=float32)
    """
    if ceil_mode:
        raise ValueError("avg_pool2d: ceil_mode is not supported")
    kernel, stride, padding, _ = _pool_args("avg_pool2d", input, kernel_size, stride, padding)
    if input.dtype.kind != "f":
        raise TypeError(f"avg_pool2d: needs a floating-point tensor, got {input.dtype}")
    channels = input.shape[1]
    ones = xp.ones((channels, 1) + kernel, dtype=input.dtype)
    total = conv2d_forward(input, ones, stride=stride, padding=padding, dilation=(1, 1),
                           groups=channels)
    if divisor_override:
        return total / divisor_override
    if count_include_pad or padding == (0, 0):
        return total / (kernel[0] * kernel[1])
    inside = _windows(xp.ones((1, 1) + input.shape[2:], dtype=input.dtype), *kernel, stride,
                      padding, (1, 1)).sum(axis=(4, 5))
    return total / inside


def adaptive_avg_pool2d(input, output_size):
    """Average pooling to a fixed output size: window i covers rows floor(i*H/oh) to
    ceil((i+1)*H/oh), as in PyTorch.

    >>> cr.nn.functional.adaptive_avg_pool2d(cr.ones(2, 3, 7, 5), (2, 1)).shape
    cr.Size([2, 3, 2, 1])
    """
    from .linalg import matmul
    if input.ndim != 4:
        raise ShapeError(f"adaptive_avg_pool2d: input must be 4-D, got shape {input.shape}")
    oh, ow = pair(output_size, "output_size", "adaptive_avg_pool2d") if output_size is not None \
        else input.shape[2:]
    rows = _averaging(input.shape[2], oh).astype(input.dtype)
    cols = _averaging(input.shape[3], ow).T.astype(input.dtype)
    return matmul(matmul(rows, input), cols)
