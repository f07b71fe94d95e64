"""Convolutional-network layers with PyTorch's names, constructors, parameter names and
initialisation: weights and biases uniform in +-1/sqrt(fan_in) (PyTorch's default), batch-norm
statistics as buffers that follow ``train()`` / ``eval()``."""
from ..backend import xp
from ..dtypes import float_dtype
from ..errors import ShapeError
from ..ops import conv as conv_ops
from . import functional as F
from . import init
from .activations import in_place
from .layers import reset_affine
from .module import Module, Parameter


class _ConvNd(Module):
    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation, groups,
                 bias, dims, transposed, generator, dtype, padding_mode="zeros"):
        if padding_mode not in PADDING_MODES:
            raise ValueError(f"{type(self).__name__}: padding_mode must be one of "
                             f"{list(PADDING_MODES)}, got {padding_mode!r}")
        if transposed and padding_mode != "zeros":
            raise ValueError(f"{type(self).__name__}: only padding_mode='zeros' is supported "
                             f"(as in PyTorch), got {padding_mode!r}")
        if isinstance(padding, str) and padding not in ("same", "valid"):
            raise ValueError(f"{type(self).__name__}: invalid padding string {padding!r}, "
                             f"should be 'valid' or 'same' (as in PyTorch)")
        if padding == "same" and _tuple(stride, dims, "stride", self) != (1,) * dims:
            raise ValueError(f"{type(self).__name__}: padding='same' is not supported for "
                             f"strided convolutions (as in PyTorch), got stride={stride}")
        self.padding_mode = padding_mode
        for name, value in (("in_channels", in_channels), ("out_channels", out_channels),
                            ("groups", groups)):
            if isinstance(value, bool) or not isinstance(value, (int, xp.integer)) or value < 1:
                raise ValueError(f"{type(self).__name__}: {name} must be a positive int, got "
                                 f"{value!r}")
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"{type(self).__name__}: in_channels {in_channels} and "
                             f"out_channels {out_channels} must be divisible by groups {groups}")
        kernel = _tuple(kernel_size, dims, "kernel_size", self)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = kernel
        self.stride = _tuple(stride, dims, "stride", self)
        self.padding = padding if isinstance(padding, str) else _tuple(padding, dims, "padding", self)
        self.dilation = _tuple(dilation, dims, "dilation", self)
        self.groups = groups
        shape = ((in_channels, out_channels // groups) if transposed else
                 (out_channels, in_channels // groups)) + kernel
        dtype = float_dtype(dtype, type(self).__name__)
        self.weight = Parameter(xp.empty(shape, dtype=dtype))
        self.bias = Parameter(xp.empty(out_channels, dtype=dtype)) if bias else None
        self.reset_parameters(generator)

    def reset_parameters(self, generator=None):
        """Draw the weight and bias afresh from PyTorch's defaults: uniform in
        +-1/sqrt(fan_in), with fan_in = ``weight.shape[1]`` times the kernel size (for a
        transposed convolution that is out_channels / groups times the kernel size).

        >>> conv = cr.nn.Conv2d(2, 3, kernel_size=2)
        >>> conv.reset_parameters()
        >>> bool(conv.weight.abs().max() <= 1 / 8 ** 0.5)
        True
        """
        reset_affine(self.weight, self.bias, generator)

    def extra_repr(self):
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}")
        dims = len(self.kernel_size)
        if self.padding != (0,) * dims:
            text += f", padding={self.padding}"
        if self.dilation != (1,) * dims:
            text += f", dilation={self.dilation}"
        if getattr(self, "output_padding", (0,) * dims) != (0,) * dims:
            text += f", output_padding={self.output_padding}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        text += "" if self.bias is not None else ", bias=False"
        mode = getattr(self, "padding_mode", "zeros")
        return text + ("" if mode == "zeros" else f", padding_mode={mode}")

    def _padded(self, input):
        """The input and the padding left for the convolution: for a padding_mode other than
        "zeros", the input padded by F.pad in that mode (PyTorch's order: 'same' puts an odd
        total's extra element at the end) and no padding left."""
        if getattr(self, "padding_mode", "zeros") == "zeros" or self.padding == "valid":
            return input, self.padding
        dims = len(self.kernel_size)
        if input.ndim not in (dims + 1, dims + 2):
            raise ShapeError(f"{type(self).__name__}: expected a {dims + 1}-D (unbatched) or "
                             f"{dims + 2}-D input, got shape {tuple(input.shape)}")
        if self.padding == "same":
            if any(s != 1 for s in self.stride):
                raise ValueError(f"{type(self).__name__}: padding='same' needs stride 1 (as in "
                                 f"PyTorch), got stride={self.stride}")
            totals = [d * (k - 1) for d, k in zip(self.dilation, self.kernel_size)]
            pairs = [(t // 2, t - t // 2) for t in totals]
        else:
            pairs = [(p, p) for p in self.padding]
        amounts = tuple(n for pair in reversed(pairs) for n in pair)  # last dimension first
        return F.pad(input, amounts, mode=self.padding_mode), 0


PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _tuple(value, dims, name, owner):
    if isinstance(value, (int, xp.integer)) and not isinstance(value, bool):
        return (int(value),) * dims
    value = tuple(int(v) for v in value)
    if len(value) != dims:
        raise ValueError(f"{type(owner).__name__}: {name} needs {dims} values, got {value}")
    return value


class Conv2d(_ConvNd):
    """A 2-D convolution layer: weight (out_channels, in_channels/groups, kH, kW), bias
    (out_channels,), on (N, C, H, W) inputs.

    >>> conv = cr.nn.Conv2d(1, 6, kernel_size=5, padding=2)
    >>> conv(cr.ones(8, 1, 28, 28)).shape, conv.weight.shape
    (cr.Size([8, 6, 28, 28]), cr.Size([6, 1, 5, 5]))
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros", generator=None, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, 2, False, generator, dtype, padding_mode)

    def forward(self, input):
        input, padding = self._padded(input)
        return conv_ops.conv2d(input, self.weight, self.bias, self.stride, padding,
                               self.dilation, self.groups)


class Conv3d(_ConvNd):
    """A 3-D convolution layer: weight (out_channels, in_channels/groups, kD, kH, kW), bias
    (out_channels,), on (N, C, D, H, W) inputs.

    >>> conv = cr.nn.Conv3d(2, 4, kernel_size=3, padding=1)
    >>> conv(cr.ones(1, 2, 5, 6, 6)).shape, conv.weight.shape
    (cr.Size([1, 4, 5, 6, 6]), cr.Size([4, 2, 3, 3, 3]))
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros", generator=None, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, 3, False, generator, dtype, padding_mode)

    def forward(self, input):
        input, padding = self._padded(input)
        return F.conv3d(input, self.weight, self.bias, self.stride, padding,
                        self.dilation, self.groups)


class Conv1d(_ConvNd):
    """A 1-D convolution layer on (N, C, L) inputs.

    >>> cr.nn.Conv1d(2, 4, 3)(cr.ones(5, 2, 10)).shape
    cr.Size([5, 4, 8])
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros", generator=None, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, 1, False, generator, dtype, padding_mode)

    def forward(self, input):
        input, padding = self._padded(input)
        padding = padding if isinstance(padding, (str, int)) else padding[0]
        return conv_ops.conv1d(input, self.weight, self.bias, self.stride[0], padding,
                               self.dilation[0], self.groups)


class _ConvTransposeNd(_ConvNd):
    dims = 2

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, groups=1, bias=True, dilation=1, padding_mode="zeros",
                 generator=None, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, self.dims, True, generator, dtype, padding_mode)
        self.output_padding = _tuple(output_padding, self.dims, "output_padding", self)

    def forward(self, input, output_size=None):
        transposed = getattr(F, f"conv_transpose{self.dims}d")
        extra = self._output_padding(input, output_size)
        return transposed(input, self.weight, self.bias, self.stride, self.padding, extra,
                          self.groups, self.dilation)

    def _output_padding(self, input, output_size):
        """The output_padding that gives ``output_size`` (PyTorch's rule: it must lie within
        one stride above the smallest output), or the layer's own."""
        if output_size is None:
            return self.output_padding
        size = [int(n) for n in output_size]
        batched = input.ndim == self.dims + 2
        if len(size) == self.dims + (2 if batched else 1):
            size = size[len(size) - self.dims:]
        if len(size) != self.dims:
            raise ValueError(f"{type(self).__name__}: output_size must have {self.dims} or "
                             f"{self.dims + 2} elements, got {list(output_size)}")
        smallest = [(n - 1) * s - 2 * p + d * (k - 1) + 1 for n, s, p, d, k in
                    zip(input.shape[-self.dims:], self.stride, self.padding, self.dilation,
                        self.kernel_size)]
        for want, low, s in zip(size, smallest, self.stride):
            if not low <= want <= low + s - 1:
                raise ValueError(f"{type(self).__name__}: requested an output size of {size}, "
                                 f"but valid sizes range from {smallest} to "
                                 f"{[n + s - 1 for n, s in zip(smallest, self.stride)]} (for "
                                 f"an input of {tuple(input.shape[-self.dims:])})")
        return tuple(want - low for want, low in zip(size, smallest))


class ConvTranspose1d(_ConvTransposeNd):
    """A transposed 1-D convolution layer: weight (in_channels, out_channels/groups, k), on
    (N, C, L) inputs; ``forward(input, output_size=None)`` as PyTorch's.

    >>> cr.nn.ConvTranspose1d(4, 2, 3, stride=2)(cr.ones(1, 4, 5)).shape
    cr.Size([1, 2, 11])
    """
    dims = 1


class ConvTranspose2d(_ConvTransposeNd):
    """A transposed 2-D convolution layer: weight (in_channels, out_channels/groups, kH, kW).

    >>> cr.nn.ConvTranspose2d(4, 2, 2, stride=2)(cr.ones(1, 4, 3, 3)).shape
    cr.Size([1, 2, 6, 6])
    """
    dims = 2


class ConvTranspose3d(_ConvTransposeNd):
    """A transposed 3-D convolution layer: weight (in_channels, out_channels/groups, kD, kH,
    kW), on (N, C, D, H, W) inputs.

    >>> up = cr.nn.ConvTranspose3d(2, 1, 3, stride=2, padding=1)
    >>> up(cr.ones(1, 2, 2, 3, 3), output_size=(4, 6, 6)).shape
    cr.Size([1, 1, 4, 6, 6])
    """
    dims = 3


class AdaptiveAvgPool2d(Module):
    """Average pooling to a fixed output size.

    >>> cr.nn.AdaptiveAvgPool2d((1, 1))(cr.ones(2, 3, 7, 7)).shape
    cr.Size([2, 3, 1, 1])
    """

    def __init__(self, output_size):
        self.output_size = output_size

    def forward(self, input):
        return F.adaptive_avg_pool2d(input, self.output_size)

    def extra_repr(self):
        return f"output_size={self.output_size}"


def _ones_and_zeros(weight, bias):
    if weight is not None:
        init.ones_(weight)
    if bias is not None:
        init.zeros_(bias)


class _NormBase(Module):
    """The parameters and running statistics that batch and instance normalisation share, as
    PyTorch's _NormBase: a scale of ones and a shift of zeros when ``affine``, and the running
    mean, variance and batch count when ``track_running_stats``."""

    def __init__(self, num_features, eps, momentum, affine, track_running_stats, dtype,
                 bias=True):
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        dtype = float_dtype(dtype, type(self).__name__)
        self.weight = Parameter(xp.ones(num_features, dtype=dtype)) if affine else None
        self.bias = Parameter(xp.zeros(num_features, dtype=dtype)) if affine and bias else None
        if track_running_stats:
            self.register_buffer("running_mean", xp.zeros(num_features, dtype=dtype))
            self.register_buffer("running_var", xp.ones(num_features, dtype=dtype))
            self.register_buffer("num_batches_tracked", xp.array(0, dtype=xp.int64))
        else:
            self.running_mean = self.running_var = self.num_batches_tracked = None

    def reset_running_stats(self):
        """Running mean 0, running variance 1, no batches counted (PyTorch's start)."""
        if self.track_running_stats:
            self.running_mean.zero_()
            self.running_var.fill_(1)
            self.num_batches_tracked.zero_()

    def reset_parameters(self):
        """The running statistics reset, the scale back to ones and the shift to zeros.

        >>> bn = cr.nn.BatchNorm1d(2)
        >>> bn.reset_parameters()
        >>> bn.weight, bn.running_var
        (Parameter containing:
        tensor([1., 1.], dtype=float32, requires_grad=True), tensor([1., 1.], dtype=float32))
        """
        self.reset_running_stats()
        _ones_and_zeros(self.weight, self.bias)


class _BatchNorm(_NormBase):
    dims = ()

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True, dtype=None):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, dtype)

    def forward(self, input):
        if input.ndim not in self.dims:
            raise ValueError(f"{type(self).__name__}: expected {' or '.join(map(str, self.dims))}"
                             f"-D input, got shape {input.shape}")
        if input.shape[1] != self.num_features:
            raise ValueError(f"{type(self).__name__}({self.num_features}): input has "
                             f"{input.shape[1]} channels (shape {input.shape})")
        momentum = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats and self.num_batches_tracked is not None:
            self.num_batches_tracked.copy_(self.num_batches_tracked.numpy() + 1)
            if self.momentum is None:  # a cumulative average, as PyTorch
                momentum = 1.0 / int(self.num_batches_tracked.item())
        # PyTorch's rule, which reads the buffers rather than the flag: batch statistics in
        # training, and in evaluation when there are no running statistics (buffers None); the
        # running ones in evaluation whenever they exist, even with track_running_stats turned
        # off after construction, and updated only in training with it on.
        use_batch = self.training or (self.running_mean is None and self.running_var is None)
        running = ((self.running_mean, self.running_var)
                   if not self.training or self.track_running_stats else (None, None))
        return F.batch_norm(input, *running, self.weight, self.bias, use_batch, momentum,
                            self.eps)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, bias={self.bias is not None}, "
                f"track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of (N, C) or (N, C, L) inputs, per channel.

    >>> bn = cr.nn.BatchNorm1d(3)
    >>> bn(cr.randn(8, 3)).shape, list(bn.state_dict())
    (cr.Size([8, 3]), ['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked'])
    """
    dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of (N, C, H, W) inputs, per channel.

    >>> bn = cr.nn.BatchNorm2d(2)
    >>> _ = bn(cr.randn(4, 2, 3, 3))
    >>> int(bn.num_batches_tracked.item()), bn.eval().training
    (1, False)
    """
    dims = (4,)


class LayerNorm(Module):
    """Normalisation over the last dimensions of each example.

    >>> cr.nn.LayerNorm(4)(cr.randn(2, 4)).shape
    cr.Size([2, 4])
    """

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True,
                 dtype=None):
        shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        self.normalized_shape, self.eps = shape, eps
        dtype = float_dtype(dtype, "LayerNorm")
        self.weight = Parameter(xp.ones(shape, dtype=dtype)) if elementwise_affine else None
        self.bias = Parameter(xp.zeros(shape, dtype=dtype)) if elementwise_affine and bias else None

    def reset_parameters(self):
        """The scale back to ones and the shift to zeros (PyTorch's start).

        >>> cr.nn.LayerNorm(2).weight
        Parameter containing:
        tensor([1., 1.], dtype=float32, requires_grad=True)
        """
        _ones_and_zeros(self.weight, self.bias)

    def forward(self, input):
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.weight is not None}, bias={self.bias is not None}")


class GroupNorm(Module):
    """Normalisation over groups of channels of each example.

    >>> cr.nn.GroupNorm(2, 4)(cr.randn(3, 4, 5)).shape
    cr.Size([3, 4, 5])
    """

    def __init__(self, num_groups, num_channels, eps=1e-5, affine=True, dtype=None):
        if num_channels % num_groups:
            raise ValueError(f"GroupNorm: {num_channels} channels do not split into "
                             f"{num_groups} groups")
        self.num_groups, self.num_channels, self.eps = num_groups, num_channels, eps
        dtype = float_dtype(dtype, "GroupNorm")
        self.weight = Parameter(xp.ones(num_channels, dtype=dtype)) if affine else None
        self.bias = Parameter(xp.zeros(num_channels, dtype=dtype)) if affine else None
        self.affine = affine

    def reset_parameters(self):
        """The scale back to ones and the shift to zeros (PyTorch's start).

        >>> cr.nn.GroupNorm(1, 2).bias
        Parameter containing:
        tensor([0., 0.], dtype=float32, requires_grad=True)
        """
        _ones_and_zeros(self.weight, self.bias)

    def forward(self, input):
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, "
                f"affine={self.affine}, bias={self.bias is not None}")


class Dropout2d(Module):
    """Zero whole channels with probability ``p`` in training.

    >>> cr.nn.Dropout2d(0.5).eval()(cr.ones(1, 2, 3, 3)).shape
    cr.Size([1, 2, 3, 3])
    """

    def __init__(self, p=0.5, inplace=False, generator=None):
        if not 0 <= p <= 1:
            raise ValueError(f"Dropout2d: p must be in [0, 1], got {p}")
        self.p, self.inplace, self.generator = p, inplace, generator

    def forward(self, input):
        if self.inplace and self.training and self.p > 0:
            if not input.numel():
                return input
            return in_place(self, F.dropout2d, input, self.p, True, False, self.generator)
        return F.dropout2d(input, self.p, self.training, generator=self.generator)

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"


__all__ = ["Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d",
           "AdaptiveAvgPool2d", "BatchNorm1d", "BatchNorm2d", "LayerNorm", "GroupNorm",
           "Dropout2d"]
