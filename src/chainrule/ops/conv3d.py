"""3-D convolution, NCDHW, as a composite of the 2-D primitives.

A 3-D window is KD 2-D windows stacked in depth. For each depth offset kd (a loop over kernel
offsets, never over positions), the input planes that offset meets are a strided slice in
depth; folding their depth into the batch, (N, C, OD, H, W) -> (N*OD, C, H, W), turns them
into one 2-D convolution with the kernel's kd-th slice, and the KD results are summed. Every
gradient, to every order, comes from the 2-D primitives and the reshapes they are made of.
(3-D pooling is in pool.py, whose primitives take any number of spatial dimensions.)
"""
from ..backend import xp
from ..errors import ArgumentError, ShapeError
from .conv import (batch_of_one, check_bias, conv2d, conv_transpose2d, output_size, same_dtypes,
                   same_padding)
from .layout import pad


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
        raise ShapeError(f"{op}: input must be 4-D (C, D, H, W) or 5-D (N, C, D, H, W), got "
                         f"shape {x.shape}")
    if five_d_weight is not None and five_d_weight.ndim != 5:
        raise ShapeError(f"{op}: weight must be 5-D (O, C/groups, KD, KH, KW), got shape "
                         f"{five_d_weight.shape}")


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """3-D convolution (cross-correlation, as in PyTorch) of ``input`` (N, C, D, H, W) with
    ``weight`` (O, C/groups, KD, KH, KW), plus ``bias`` (O,). Output sizes round down.

    >>> cr.nn.functional.conv3d(cr.ones(1, 2, 4, 5, 5), cr.ones(3, 2, 2, 3, 3), padding=1).shape
    cr.Size([1, 3, 5, 5, 5])
    """
    one = batch_of_one(input, weight, 3, lambda x: conv3d(x, weight, bias, stride, padding,
                                                          dilation, groups))
    if one is not None:
        return one
    _check("conv3d", input, weight)
    same_dtypes("conv3d", input, weight, bias)
    check_bias("conv3d", bias, weight.shape[0])
    stride, dilation = triple(stride, "stride", "conv3d"), triple(dilation, "dilation", "conv3d")
    if padding == "valid":
        padding = 0
    if padding == "same":
        if stride != (1, 1, 1):
            raise ArgumentError("conv3d: padding='same' needs stride 1 (as in PyTorch)")
        input, padding = same_padding(input, weight, dilation)
    padding = triple(padding, "padding", "conv3d")
    if min(stride) < 1 or min(dilation) < 1 or min(padding) < 0:
        raise ArgumentError(f"conv3d: stride and dilation must be >= 1 and padding >= 0, got "
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
    out = _unfold_depth(total, n, depth).contiguous()  # C order, as PyTorch's result
    return out if bias is None else out + bias.reshape(-1, 1, 1, 1)


def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """The transposed 3-D convolution of ``input`` (N, C_in, D, H, W) with ``weight`` (C_in,
    C_out/groups, KD, KH, KW): the gradient of conv3d with respect to its input, as a layer.
    Output size per dimension (n - 1) * stride - 2 * padding + dilation * (k - 1) +
    output_padding + 1.

    Each depth offset kd of the kernel is one transposed 2-D convolution of every input plane
    (depth folded into the batch); its planes land ``stride`` apart from depth kd * dilation,
    and the offsets' results are summed.

    >>> cr.nn.functional.conv_transpose3d(cr.ones(1, 2, 2, 3, 3), cr.ones(2, 1, 2, 2, 2),
    ...                                   stride=2).shape
    cr.Size([1, 1, 4, 6, 6])
    """
    from .shape import getitem, index_put
    one = batch_of_one(input, weight, 3, lambda x: conv_transpose3d(
        x, weight, bias, stride, padding, output_padding, groups, dilation))
    if one is not None:
        return one
    _check("conv_transpose3d", input, weight)
    same_dtypes("conv_transpose3d", input, weight, bias)
    op = "conv_transpose3d"
    stride, padding = triple(stride, "stride", op), triple(padding, "padding", op)
    dilation, extra = triple(dilation, "dilation", op), triple(output_padding, "output_padding", op)
    if min(stride) < 1 or min(dilation) < 1 or min(padding) < 0 or min(extra) < 0:
        raise ArgumentError(f"{op}: stride and dilation must be >= 1, padding and output_padding "
                         f">= 0, got {stride}, {dilation}, {padding}, {extra}")
    if not isinstance(groups, (int, xp.integer)) or groups < 1:
        raise ArgumentError(f"{op}: groups must be a positive int, got {groups!r}")
    check_bias(op, bias, weight.shape[1] * groups)
    if any(e >= max(s, d) for e, s, d in zip(extra, stride, dilation)):
        raise ArgumentError(f"{op}: output_padding {extra} must be smaller than the stride or "
                            f"the dilation")
    n, c_in, d = input.shape[:3]
    if weight.shape[0] != c_in or c_in % groups:
        raise ShapeError(f"{op}: input has {c_in} channels, weight {tuple(weight.shape)} "
                         f"expects {weight.shape[0]} (groups = {groups})")
    kd = weight.shape[2]
    size = [(m - 1) * st - 2 * p + dl * (k - 1) + e + 1 for m, st, p, dl, k, e in
            zip(input.shape[2:], stride, padding, dilation, weight.shape[2:], extra)]
    if min(size) < 1:
        raise ShapeError(f"{op}: the output would be {'x'.join(map(str, size))} for input "
                         f"{'x'.join(map(str, input.shape[2:]))}, kernel "
                         f"{'x'.join(map(str, weight.shape[2:]))}, stride {stride}, padding "
                         f"{padding}")
    planes = input.transpose(1, 2).reshape(n * d, c_in, *input.shape[3:])
    full = max((d - 1) * stride[0] + dilation[0] * (kd - 1) + 1, padding[0] + size[0])
    total = None
    for k in range(kd):
        part = conv_transpose2d(planes, weight[:, :, k], None, stride[1:], padding[1:], extra[1:],
                                groups, dilation[1:])
        part = part.reshape(n, d, *part.shape[1:]).transpose(1, 2)  # (N, C_out, D, H', W')
        start = k * dilation[0]
        placed = index_put(xp.zeros(part.shape[:2] + (full,) + part.shape[3:], dtype=part.dtype),
                           part, index=(slice(None), slice(None),
                                        slice(start, start + stride[0] * (d - 1) + 1, stride[0])))
        total = placed if total is None else total + placed
    out = getitem(total, index=(slice(None), slice(None), slice(padding[0], padding[0] + size[0])))
    out = out.contiguous()
    return out if bias is None else out + bias.reshape(-1, 1, 1, 1)


__all__ = ["conv3d", "conv_transpose3d"]
