"""Convolution, NCHW, as three bilinear primitives that are each other's VJPs.

For a convolution out = conv(x, w), the trilinear form <g, conv(x, w)> has three partial
adjoints, and each is a primitive here:

    conv2d_forward(x, w)      -> out       (x: N,C,H,W; w: O,C/groups,KH,KW)
    conv2d_input_grad(g, w)   -> like x    dx = g convolved with the flipped kernel
    conv2d_weight_grad(x, g)  -> like w    dW = sum over positions of g (x) patch

so the gradient of each is made of the other two, to every order. All three run as one matrix
product over an im2col matrix, assembled from the KH*KW strided blocks of the padded input (a
Python loop over kernel offsets, never over positions or channels); the input gradient adds
the blocks back the same way. Inside, arrays are laid out batch last, (C, H, W, N), so that a
block's rows are OW*N elements long instead of OW: NumPy's cost is per row, and LeNet's rows
are 10 elements wide.
"""
import builtins

from ..backend import xp
from ..errors import ArgumentError, DtypeError, ShapeError
from .primitive import primitive


def pair(value, name, op):
    """(a, b) from an int or a pair, checked."""
    if isinstance(value, (int, xp.integer)) and not isinstance(value, bool):
        return int(value), int(value)
    try:
        a, b = value
    except (TypeError, ValueError):
        raise TypeError(f"{op}: {name} must be an int or a pair of ints, got {value!r}") from None
    return int(a), int(b)


def single(value, name, op):
    """(a,) from an int or a 1-sequence, checked."""
    if isinstance(value, (int, xp.integer)) and not isinstance(value, bool):
        return (int(value),)
    try:
        (a,) = value
    except (TypeError, ValueError):
        raise TypeError(f"{op}: {name} must be an int or a 1-tuple of ints, "
                        f"got {value!r}") from None
    return (int(a),)


def output_size(size, kernel, stride, padding, dilation):
    """Rounded down, as PyTorch's."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def _windows(x, kh, kw, stride, padding, dilation, fill=0.0):
    """The (N, C, OH, OW, KH, KW) view of ``x`` padded with ``fill``: every patch."""
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    if ph or pw:
        x = xp.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=fill)
    n, c, h, w = x.shape
    oh = (h - dh * (kh - 1) - 1) // sh + 1
    ow = (w - dw * (kw - 1) - 1) // sw + 1
    s = x.strides
    return xp.lib.stride_tricks.as_strided(
        x, (n, c, oh, ow, kh, kw), (s[0], s[1], s[2] * sh, s[3] * sw, s[2] * dh, s[3] * dw),
        writeable=False)


def offsets(kh, kw, stride, dilation, oh, ow):
    """For each kernel position (i, j): the strided slices of the padded input that it meets,
    one per output position. Looping over these KH*KW offsets (never over positions or
    channels) copies or adds whole strided blocks at NumPy's speed."""
    (sh, sw), (dh, dw) = stride, dilation
    for i in range(kh):
        for j in range(kw):
            yield i, j, (slice(None), slice(None),
                         slice(i * dh, i * dh + sh * (oh - 1) + 1, sh),
                         slice(j * dw, j * dw + sw * (ow - 1) + 1, sw))


def _padded(x, padding, fill=0.0):
    ph, pw = padding
    if ph or pw:
        return xp.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=fill)
    return x


def _batch_last(block):
    """An NCHW block of ``offsets`` for the (C, H, W, N) layout."""
    return block[0], block[2], block[3], slice(None)


def _columns(x, kh, kw, stride, padding, dilation, groups, limit=None):
    """The im2col matrix per group, (G, C/G*KH*KW, OH*OW*N); ``limit`` keeps only the first
    (OH, OW) positions (those a shorter gradient covers). Batch last: each kernel offset's
    block then copies in runs of OW*N elements rather than OW (NumPy pays per run)."""
    (ph, pw), (n, c, h, w) = padding, x.shape
    padded = xp.zeros((c, h + 2 * ph, w + 2 * pw, n), dtype=x.dtype)
    padded[:, ph:ph + h, pw:pw + w] = x.transpose(1, 2, 3, 0)  # padded and batch last at once
    (sh, sw), (dh, dw) = stride, dilation
    oh = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    ow = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    if limit is not None:
        oh, ow = min(oh, limit[0]), min(ow, limit[1])
    cols = xp.empty((c, kh, kw, oh, ow, n), dtype=x.dtype)
    for i, j, block in offsets(kh, kw, stride, dilation, oh, ow):
        cols[:, i, j] = padded[_batch_last(block)]
    return cols.reshape(groups, c // groups * kh * kw, oh * ow * n), (n, oh, ow)


def _by_group(g, groups):
    """(N, O, OH, OW) -> (G, O/G, OH*OW*N), the positions in the order of ``_columns``."""
    n, o, oh, ow = g.shape
    return g.transpose(1, 2, 3, 0).reshape(groups, o // groups, oh * ow * n)


@primitive(promotion="same")
def conv2d_forward(x, weight, *, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1):
    """The cross-correlation of x (N, C, H, W) with weight (O, C/groups, KH, KW)."""
    o, _, kh, kw = weight.shape
    cols, (n, oh, ow) = _columns(x, kh, kw, stride, padding, dilation, groups)
    out = weight.reshape(groups, o // groups, -1) @ cols  # (G, O/G, OH*OW*N)
    return xp.ascontiguousarray(out.reshape(o, oh, ow, n).transpose(3, 0, 1, 2))


@conv2d_forward.vjp("x", formula="{grad} convolved with the flipped kernel {weight}")
def _(grad, weight, x_shape, stride, padding, dilation, groups):
    return conv2d_input_grad(grad, weight, x_shape=x_shape, stride=stride, padding=padding,
                             dilation=dilation, groups=groups)


@conv2d_forward.vjp("weight", formula="sum over positions of {grad} (x) patches of {x}")
def _(grad, x, weight_shape, stride, padding, dilation, groups):
    return conv2d_weight_grad(x, grad, weight_shape=weight_shape, stride=stride,
                              padding=padding, dilation=dilation, groups=groups)


@primitive(promotion="same")
def conv2d_input_grad(g, weight, *, x_shape, stride=(1, 1), padding=(0, 0), dilation=(1, 1),
                      groups=1):
    """The adjoint of the convolution in its input: g (N, O, OH, OW) spread back through the
    kernel into an array of ``x_shape`` (the transposed convolution)."""
    o, cg, kh, kw = weight.shape
    n, c, h, w = x_shape
    (ph, pw) = padding
    oh, ow = g.shape[2:]
    w_t = weight.reshape(groups, o // groups, -1).transpose(0, 2, 1)  # (G, Cg*K, O/G)
    cols = (w_t @ _by_group(g, groups)).reshape(c, kh, kw, oh, ow, n)
    # Accumulated in the layout of cols, (C, H, W, N), then transposed once.
    padded = xp.zeros((c, h + 2 * ph, w + 2 * pw, n), dtype=cols.dtype)
    for i, j, block in offsets(kh, kw, stride, dilation, oh, ow):
        padded[_batch_last(block)] += cols[:, i, j]
    return xp.ascontiguousarray(padded[:, ph:ph + h, pw:pw + w].transpose(3, 0, 1, 2))


@conv2d_input_grad.vjp("g", formula="{grad} convolved with {weight}")
def _(grad, weight, g_shape, stride, padding, dilation, groups):
    return _crop(conv2d_forward(grad, weight, stride=stride, padding=padding,
                                dilation=dilation, groups=groups), g_shape)


@conv2d_input_grad.vjp("weight", formula="sum over positions of {g} (x) patches of {grad}")
def _(grad, g, weight_shape, stride, padding, dilation, groups):
    return conv2d_weight_grad(grad, g, weight_shape=weight_shape, stride=stride,
                              padding=padding, dilation=dilation, groups=groups)


@primitive(promotion="same")
def conv2d_weight_grad(x, g, *, weight_shape, stride=(1, 1), padding=(0, 0), dilation=(1, 1),
                       groups=1):
    """The adjoint of the convolution in its weight: the sum over positions of g (N, O, OH, OW)
    times the patches of x, shaped like the weight."""
    o, cg, kh, kw = weight_shape
    # Only the positions the gradient covers: a shorter g (conv_transpose2d's output_padding)
    # does not reach the last rows.
    cols, _ = _columns(x, kh, kw, stride, padding, dilation, groups, limit=g.shape[2:])
    grad = _by_group(g, groups) @ cols.transpose(0, 2, 1)  # (G, O/G, Cg*KH*KW)
    return grad.reshape(weight_shape)


@conv2d_weight_grad.vjp("x", formula="{g} convolved with the flipped kernel {grad}")
def _(grad, g, x_shape, stride, padding, dilation, groups):
    return conv2d_input_grad(g, grad, x_shape=x_shape, stride=stride, padding=padding,
                             dilation=dilation, groups=groups)


@conv2d_weight_grad.vjp("g", formula="{x} convolved with {grad}")
def _(grad, x, g_shape, stride, padding, dilation, groups):
    return _crop(conv2d_forward(x, grad, stride=stride, padding=padding, dilation=dilation,
                                groups=groups), g_shape)


def _crop(out, shape):
    """The first positions of a convolution's output: a gradient that came from a transposed
    convolution with output_padding covers fewer."""
    if tuple(out.shape[2:]) == tuple(shape[2:]):
        return out
    from .shape import getitem
    return getitem(out, index=(slice(None), slice(None), slice(0, shape[2]), slice(0, shape[3])))


# -- the functions people call ------------------------------------------------------------------

def same_dtypes(op, input, weight, bias=None):
    """PyTorch's convolutions do not promote: input, weight and bias share one dtype."""
    dtypes = [t.dtype for t in (input, weight, bias) if t is not None]
    if any(d != dtypes[0] for d in dtypes):
        raise DtypeError(f"{op}: input, weight and bias must have the same dtype (as in "
                         f"PyTorch), got {', '.join(str(d) for d in dtypes)}")
    if dtypes[0] == xp.bool_:
        raise DtypeError(f"{op}: not implemented for bool input of shape "
                         f"{tuple(input.shape)} (as in PyTorch)")


def check_bias(op, bias, out_channels):
    """PyTorch wants a bias of shape (out_channels,); a (1,) or (O, 1) bias would broadcast."""
    if bias is not None and tuple(bias.shape) != (out_channels,):
        raise ShapeError(f"{op}: expected bias to be 1-dimensional with {out_channels} elements "
                         f"(the output channels), got bias of shape {tuple(bias.shape)}")


def batch_of_one(input, weight, dims, call):
    """PyTorch's unbatched form: an input (C, *spatial) with a weight of dims + 2 dimensions
    runs as a batch of one, ``call`` on (1, C, *spatial), and its result loses that batch
    dimension again. None for any other input, which the caller checks as batched."""
    from .shape import reshape
    if input.ndim != dims + 1 or weight.ndim != dims + 2:
        return None
    out = call(reshape(input, shape=(1,) + tuple(input.shape)))
    return reshape(out, shape=tuple(out.shape[1:]))


def _check(op, x, weight, groups):
    if weight.ndim != 4:
        raise ShapeError(f"{op}: weight must be 4-D, got shape {weight.shape}")
    if x.ndim != 4:
        raise ShapeError(f"{op}: input must be 3-D (C, H, W) or 4-D (N, C, H, W), got shape "
                         f"{x.shape}")
    if not isinstance(groups, (int, xp.integer)) or groups < 1:
        raise ArgumentError(f"{op}: groups must be a positive int, got {groups!r}")


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution (cross-correlation, as in PyTorch) of ``input`` (N, C, H, W) with
    ``weight`` (O, C/groups, KH, KW), plus ``bias`` (O,). Output sizes round down.

    >>> x = cr.ones(1, 1, 4, 4)
    >>> cr.nn.functional.conv2d(x, cr.ones(2, 1, 3, 3), padding=1).shape
    cr.Size([1, 2, 4, 4])
    >>> cr.nn.functional.conv2d(x, cr.ones(1, 1, 3, 3))[0, 0]
    tensor([[9., 9.],
            [9., 9.]], dtype=float32)
    """
    one = batch_of_one(input, weight, 2, lambda x: conv2d(x, weight, bias, stride, padding,
                                                          dilation, groups))
    if one is not None:
        return one
    _check("conv2d", input, weight, groups)
    same_dtypes("conv2d", input, weight, bias)
    check_bias("conv2d", bias, weight.shape[0])
    stride, dilation = pair(stride, "stride", "conv2d"), pair(dilation, "dilation", "conv2d")
    if padding == "valid":
        padding = 0
    if padding == "same":
        if stride != (1, 1):
            raise ArgumentError("conv2d: padding='same' needs stride 1 (as in PyTorch)")
        input, padding = same_padding(input, weight, dilation)
    padding = pair(padding, "padding", "conv2d")
    n, c, h, w = input.shape
    o, cg, kh, kw = weight.shape
    if c % groups or o % groups or cg * groups != c:
        raise ShapeError(f"conv2d: input has {c} channels, weight {tuple(weight.shape)} expects "
                         f"{cg * groups} (in_channels/groups = {cg}, groups = {groups})")
    oh = output_size(h, kh, stride[0], padding[0], dilation[0])
    ow = output_size(w, kw, stride[1], padding[1], dilation[1])
    if oh < 1 or ow < 1:
        raise ShapeError(f"conv2d: the kernel {kh}x{kw} (dilation {dilation}) does not fit the "
                         f"input {h}x{w} with padding {padding}")
    if min(stride) < 1 or min(dilation) < 1 or min(padding) < 0:
        raise ArgumentError(f"conv2d: stride and dilation must be >= 1 and padding >= 0, got "
                            f"{stride}, {dilation}, {padding}")
    out = conv2d_forward(input, weight, stride=stride, padding=padding, dilation=dilation,
                         groups=groups)
    return out if bias is None else out + _channel(bias)


def same_padding(input, weight, dilation):
    """PyTorch's padding='same': dilation * (kernel - 1) split in two, an odd total's extra
    row at the end (padded onto the input here); returns the input and the even padding."""
    from .layout import pad
    total = [d * (k - 1) for k, d in zip(weight.shape[2:], dilation)]
    extra = [t % 2 for t in total]
    if any(extra):
        input = pad(input, tuple(v for e in reversed(extra) for v in (0, e)))
    return input, tuple(t // 2 for t in total)


def _channel(bias):
    from .shape import reshape
    return reshape(bias, shape=(-1, 1, 1))


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D convolution of ``input`` (N, C, L) with ``weight`` (O, C/groups, K): ``conv2d`` on
    a height of 1.

    >>> cr.nn.functional.conv1d(cr.ones(1, 2, 5), cr.ones(3, 2, 2)).shape
    cr.Size([1, 3, 4])
    """
    from .shape import reshape
    one = batch_of_one(input, weight, 1, lambda x: conv1d(x, weight, bias, stride, padding,
                                                          dilation, groups))
    if one is not None:
        return one
    if input.ndim != 3 or weight.ndim != 3:
        raise ShapeError(f"conv1d: input must be (C, L) or (N, C, L) and weight (O, C/groups, "
                         f"K), got "
                         f"{input.shape} and {weight.shape}")
    same_dtypes("conv1d", input, weight, bias)
    check_bias("conv1d", bias, weight.shape[0])
    if not isinstance(padding, str):
        padding = (0,) + single(padding, "padding", "conv1d")
    out = conv2d(reshape(input, shape=input.shape[:2] + (1,) + input.shape[2:]),
                 reshape(weight, shape=weight.shape[:2] + (1,) + weight.shape[2:]), bias,
                 (1,) + single(stride, "stride", "conv1d"), padding,
                 (1,) + single(dilation, "dilation", "conv1d"), groups)
    return reshape(out, shape=out.shape[:2] + out.shape[3:])


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """The transposed convolution of ``input`` (N, C_in, H, W) with ``weight`` (C_in,
    C_out/groups, KH, KW): the gradient of conv2d with respect to its input, as a layer.
    Output size (H - 1) * stride - 2 * padding + dilation * (KH - 1) + output_padding + 1.

    >>> cr.nn.functional.conv_transpose2d(cr.ones(1, 1, 2, 2), cr.ones(1, 1, 3, 3), stride=2).shape
    cr.Size([1, 1, 5, 5])
    """
    one = batch_of_one(input, weight, 2, lambda x: conv_transpose2d(
        x, weight, bias, stride, padding, output_padding, groups, dilation))
    if one is not None:
        return one
    _check("conv_transpose2d", input, weight, groups)
    same_dtypes("conv_transpose2d", input, weight, bias)
    check_bias("conv_transpose2d", bias, weight.shape[1] * groups)
    stride = pair(stride, "stride", "conv_transpose2d")
    padding = pair(padding, "padding", "conv_transpose2d")
    dilation = pair(dilation, "dilation", "conv_transpose2d")
    extra = pair(output_padding, "output_padding", "conv_transpose2d")
    n, c_in, h, w = input.shape
    if weight.shape[0] != c_in or c_in % groups:
        raise ShapeError(f"conv_transpose2d: input has {c_in} channels, weight "
                         f"{tuple(weight.shape)} expects {weight.shape[0]} (groups = {groups})")
    if any(e >= builtins.max(s, d) for e, s, d in zip(extra, stride, dilation)):
        raise ArgumentError(f"conv_transpose2d: output_padding {extra} must be smaller than the "
                         f"stride or the dilation")
    _, cg, kh, kw = weight.shape
    size = [(n_ - 1) * s - 2 * p + d * (k - 1) + e + 1
            for n_, s, p, d, k, e in zip((h, w), stride, padding, dilation, (kh, kw), extra)]
    if min(size) < 1:
        raise ShapeError(f"conv_transpose2d: the output would be {size[0]}x{size[1]} for input "
                         f"{h}x{w}, kernel {kh}x{kw}, stride {stride}, padding {padding}")
    out = conv2d_input_grad(input, weight, x_shape=(n, cg * groups, *size), stride=stride,
                            padding=padding, dilation=dilation, groups=groups)
    return out if bias is None else out + _channel(bias)


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """The transposed 1-D convolution of ``input`` (N, C_in, L) with ``weight`` (C_in,
    C_out/groups, K): ``conv_transpose2d`` on a height of 1. Output length (L - 1) * stride -
    2 * padding + dilation * (K - 1) + output_padding + 1.

    >>> cr.nn.functional.conv_transpose1d(cr.ones(1, 2, 3), cr.ones(2, 1, 3), stride=2).shape
    cr.Size([1, 1, 7])
    """
    from .shape import reshape
    one = batch_of_one(input, weight, 1, lambda x: conv_transpose1d(
        x, weight, bias, stride, padding, output_padding, groups, dilation))
    if one is not None:
        return one
    if input.ndim != 3 or weight.ndim != 3:
        raise ShapeError(f"conv_transpose1d: input must be (C_in, L) or (N, C_in, L) and "
                         f"weight (C_in, C_out/groups, K), got {input.shape} and {weight.shape}")
    op = "conv_transpose1d"
    same_dtypes(op, input, weight, bias)
    out = conv_transpose2d(reshape(input, shape=input.shape[:2] + (1,) + input.shape[2:]),
                           reshape(weight, shape=weight.shape[:2] + (1,) + weight.shape[2:]),
                           bias, (1,) + single(stride, "stride", op),
                           (0,) + single(padding, "padding", op),
                           (0,) + single(output_padding, "output_padding", op), groups,
                           (1,) + single(dilation, "dilation", op))
    return reshape(out, shape=out.shape[:2] + out.shape[3:])
