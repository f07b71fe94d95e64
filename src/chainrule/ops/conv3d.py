"""3-D convolution and pooling, NCDHW, as composites of the 2-D primitives.

A 3-D window is KD 2-D windows stacked in depth. For each depth offset kd (a loop over kernel
offsets, never over positions), the input planes that offset meets are a strided slice in
depth; folding their depth into the batch, (N, C, OD, H, W) -> (N*OD, C, H, W), turns them
into one 2-D convolution (or pooling) with the kernel's kd-th slice. The KD results are then
summed (convolution, average pooling) or maxed (max pooling). Every gradient, to every order,
comes from the 2-D primitives and the reshapes they are made of.
"""
from ..backend import xp
from ..errors import ShapeError
from .conv import conv2d, conv2d_forward, output_size
from .layout import pad
from .pool import _pool_args, max_pool2d


def triple(value, name, op):
    """(a, b, c) from an int or a triple, checked."""
    if isinstance(value, (int, xp.integer)) and not isinstance(value, bool):
        return (int(value),) * 3
    try:
        a, b, c = value
    except (TypeError, ValueError):
        raise TypeError(f"{op}: {name} must be an int or a triple of ints, got {value!r}") from None
    return int(a), int(b), int(c)


def _planes(x, k, kd, stride, dilation, depth):
    """The (N*OD, C, H, W) planes that depth offset ``k`` of the kernel meets."""
    n, c, _, h, w = x.shape
    start = k * dilation
    planes = x[:, :, start:start + stride * (depth - 1) + 1:stride]
    return planes.transpose(1, 2).reshape(n * depth, c, h, w)


def _unfold_depth(out, n, depth):
    """(N*OD, C, OH, OW) -> (N, C, OD, OH, OW)."""
    return out.reshape(n, depth, *out.shape[1:]).transpose(1, 2)


def _depth_padded(x, padding, fill=0.0):
    return pad(x, (0, 0, 0, 0, padding, padding), value=fill) if padding else x


def _check(op, x, five_d_weight=None):
    if x.ndim != 5:
        raise ShapeError(f"{op}: input must be 5-D (N, C, D, H, W), got shape {x.shape}")
    if five_d_weight is not None and five_d_weight.ndim != 5:
        raise ShapeError(f"{op}: weight must be 5-D (O, C/groups, KD, KH, KW), got shape "
                         f"{five_d_weight.shape}")


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """3-D convolution (cross-correlation, as in PyTorch) of ``input`` (N, C, D, H, W) with
    ``weight`` (O, C/groups, KD, KH, KW), plus ``bias`` (O,). Output sizes round down.

    >>> cr.nn.functional.conv3d(cr.ones(1, 2, 4, 5, 5), cr.ones(3, 2, 2, 3, 3), padding=1).shape
    cr.Size([1, 3, 5, 5, 5])
    """
    _check("conv3d", input, weight)
    stride, dilation = triple(stride, "stride", "conv3d"), triple(dilation, "dilation", "conv3d")
    if padding == "valid":
        padding = 0
    if padding == "same":
        if stride != (1, 1, 1):
            raise ValueError("conv3d: padding='same' needs stride 1 (as in PyTorch)")
        total = [d * (k - 1) for k, d in zip(weight.shape[2:], dilation)]
        if any(t % 2 for t in total):
            raise ValueError("conv3d: padding='same' with an even kernel needs uneven padding; "
                             "pad with F.pad first")
        padding = tuple(t // 2 for t in total)
    padding = triple(padding, "padding", "conv3d")
    if min(stride) < 1 or min(dilation) < 1 or min(padding) < 0:
        raise ValueError(f"conv3d: stride and dilation must be >= 1 and padding >= 0, got "
                         f"{stride}, {dilation}, {padding}")
    n, c, d = input.shape[:3]
    kd = weight.shape[2]
    if c != weight.shape[1] * groups:
        raise ShapeError(f"conv3d: input has {c} channels, weight {tuple(weight.shape)} expects "
                         f"{weight.shape[1] * groups} (in_channels/groups = {weight.shape[1]}, "
                         f"groups = {groups})")
    depth = output_size(d, kd, stride[0], padding[0], dilation[0])
    if depth < 1:
        raise ShapeError(f"conv3d: the kernel depth {kd} (dilation {dilation[0]}) does not fit "
                         f"the input depth {d} with padding {padding[0]}")
    x = _depth_padded(input, padding[0])
    total = None
    for k in range(kd):
        part = conv2d(_planes(x, k, kd, stride[0], dilation[0], depth), weight[:, :, k], None,
                      stride[1:], padding[1:], dilation[1:], groups)
        total = part if total is None else total + part
    out = _unfold_depth(total, n, depth)
    return out if bias is None else out + bias.reshape(-1, 1, 1, 1)


def _pool3d_args(op, x, kernel_size, stride, padding, dilation=1):
    kernel, stride, padding, dilation = _pool_args(op, x, kernel_size, stride, padding, dilation,
                                                   "(N, C, D, H, W)", triple)
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: needs a floating-point tensor, got {x.dtype}")
    size = [output_size(n, k, s, p, d) for n, k, s, p, d in
            zip(x.shape[2:], kernel, stride, padding, dilation)]
    return kernel, stride, padding, dilation, size


def max_pool3d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """The maximum of each ``kernel_size`` window of ``input`` (N, C, D, H, W), ``stride``
    apart (the kernel size by default), padded with -inf. The gradient goes to each window's
    maximum; at a tie, to the first in (depth, row, column) order, as in PyTorch.

    >>> x = cr.arange(8.).reshape(1, 1, 2, 2, 2)
    >>> cr.nn.functional.max_pool3d(x, 2).flatten()
    tensor([7.], dtype=float32)
    """
    if ceil_mode or return_indices:
        raise ValueError("max_pool3d: ceil_mode and return_indices are not supported")
    kernel, stride, padding, dilation, size = _pool3d_args("max_pool3d", input, kernel_size,
                                                           stride, padding, dilation)
    from .shape import stack
    x = _depth_padded(input, padding[0], -xp.inf)
    parts = [max_pool2d(_planes(x, k, kernel[0], stride[0], dilation[0], size[0]), kernel[1:],
                        stride[1:], padding[1:], dilation[1:]) for k in range(kernel[0])]
    # max(dim) sends the gradient to the first maximum over depth; within a depth, max_pool2d
    # already chose the first: together, the first in (depth, row, column) order.
    best = stack(parts).max(dim=0).values if len(parts) > 1 else parts[0]
    return _unfold_depth(best, input.shape[0], size[0])


def avg_pool3d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    """The mean of each ``kernel_size`` window of ``input`` (N, C, D, H, W), ``stride``
    apart; with padding, the zeros count unless ``count_include_pad=False``.

    >>> cr.nn.functional.avg_pool3d(cr.arange(8.).reshape(1, 1, 2, 2, 2), 2).flatten()
    tensor([3.5], dtype=float32)
    """
    if ceil_mode:
        raise ValueError("avg_pool3d: ceil_mode is not supported")
    kernel, stride, padding, _, size = _pool3d_args("avg_pool3d", input, kernel_size, stride,
                                                    padding)
    channels = input.shape[1]
    ones = xp.ones((channels, 1) + kernel[1:], dtype=input.dtype)
    x = _depth_padded(input, padding[0])
    total = None
    for k in range(kernel[0]):
        part = conv2d_forward(_planes(x, k, kernel[0], stride[0], 1, size[0]), ones,
                              stride=stride[1:], padding=padding[1:], dilation=(1, 1),
                              groups=channels)
        total = part if total is None else total + part
    total = _unfold_depth(total, input.shape[0], size[0])
    if divisor_override:
        return total / divisor_override
    if count_include_pad or padding == (0, 0, 0):
        return total / (kernel[0] * kernel[1] * kernel[2])
    counts = [_inside(n, k, s, p, out) for n, k, s, p, out in
              zip(input.shape[2:], kernel, stride, padding, size)]
    inside = counts[0][:, None, None] * counts[1][None, :, None] * counts[2][None, None, :]
    return total / inside.astype(input.dtype)


def _inside(n, kernel, stride, padding, out):
    """How many of each window's positions along one axis fall inside the unpadded input."""
    starts = xp.arange(out) * stride - padding
    return xp.minimum(starts + kernel, n) - xp.maximum(starts, 0)


__all__ = ["conv3d", "max_pool3d", "avg_pool3d"]
