"""PReLU, GLU, PixelShuffle, PixelUnshuffle, RMSNorm and InstanceNorm1d/2d/3d with PyTorch's
constructors, parameter names, shapes and initialisation, so state dicts move across."""
import warnings

from ..backend import xp
from ..dtypes import float_dtype
from ..errors import ShapeError
from . import functional as F
from . import init
from .conv_layers import _NormBase
from .module import Module, Parameter


class PReLU(Module):
    """max(0, x) + a min(0, x) with a learnt slope ``a``: one shared, or one per channel
    (``num_parameters``), all starting at ``init`` (PyTorch's nn.PReLU).

    >>> layer = cr.nn.PReLU()
    >>> layer(cr.tensor([-2., 3.])).detach(), list(layer.state_dict())
    (tensor([-0.5,  3. ], dtype=float32), ['weight'])
    """

    def __init__(self, num_parameters=1, init=0.25, dtype=None):
        self.num_parameters, self.init = num_parameters, init
        dtype = float_dtype(dtype, "PReLU")
        self.weight = Parameter(xp.full(num_parameters, init, dtype=dtype))

    def reset_parameters(self):
        """Every slope back to ``init``.

        >>> layer = cr.nn.PReLU(2, init=0.1)
        >>> layer.reset_parameters()
        >>> layer.weight
        Parameter containing:
        tensor([0.1, 0.1], dtype=float32, requires_grad=True)
        """
        init.constant_(self.weight, self.init)

    def forward(self, input):
        return F.prelu(input, self.weight)

    def extra_repr(self):
        return f"num_parameters={self.num_parameters}"


class GLU(Module):
    """The gated linear unit ``a * sigmoid(b)`` of the two halves of the input along ``dim``.

    >>> cr.nn.GLU()(cr.tensor([[1., 2., 0., 100.]]))
    tensor([[0.5, 2. ]], dtype=float32)
    """

    def __init__(self, dim=-1):
        self.dim = dim

    def forward(self, input):
        return F.glu(input, self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class PixelShuffle(Module):
    """(*, C r^2, H, W) to (*, C, H r, W r), r = ``upscale_factor``.

    >>> cr.nn.PixelShuffle(2)(cr.zeros(1, 8, 3, 3)).shape
    cr.Size([1, 2, 6, 6])
    """

    def __init__(self, upscale_factor):
        self.upscale_factor = upscale_factor

    def forward(self, input):
        return F.pixel_shuffle(input, self.upscale_factor)

    def extra_repr(self):
        return f"upscale_factor={self.upscale_factor}"


class PixelUnshuffle(Module):
    """(*, C, H r, W r) to (*, C r^2, H, W), r = ``downscale_factor``: PixelShuffle undone.

    >>> cr.nn.PixelUnshuffle(2)(cr.zeros(1, 2, 6, 6)).shape
    cr.Size([1, 8, 3, 3])
    """

    def __init__(self, downscale_factor):
        self.downscale_factor = downscale_factor

    def forward(self, input):
        return F.pixel_unshuffle(input, self.downscale_factor)

    def extra_repr(self):
        return f"downscale_factor={self.downscale_factor}"


class RMSNorm(Module):
    """x / sqrt(mean(x^2) + eps) over the last dimensions, times a learnt scale (ones at the
    start); ``eps=None`` is the machine epsilon of the input's dtype, as PyTorch's nn.RMSNorm.

    >>> norm = cr.nn.RMSNorm(2)
    >>> norm(cr.tensor([[3., 4.]])).shape, list(norm.state_dict())
    (cr.Size([1, 2]), ['weight'])
    """

    def __init__(self, normalized_shape, eps=None, elementwise_affine=True, dtype=None):
        shape = ((normalized_shape,) if isinstance(normalized_shape, int)
                 else tuple(normalized_shape))
        self.normalized_shape, self.eps = shape, eps
        self.elementwise_affine = elementwise_affine
        dtype = float_dtype(dtype, "RMSNorm")
        self.weight = Parameter(xp.ones(shape, dtype=dtype)) if elementwise_affine else None

    def reset_parameters(self):
        """The scale back to ones.

        >>> cr.nn.RMSNorm(2).weight
        Parameter containing:
        tensor([1., 1.], dtype=float32, requires_grad=True)
        """
        if self.weight is not None:
            init.ones_(self.weight)

    def forward(self, input):
        return F.rms_norm(input, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")


class _InstanceNorm(_NormBase):
    dims = 1

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=False,
                 track_running_stats=False, dtype=None, *, bias=True):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, dtype, bias)

    def forward(self, input):
        name, unbatched = type(self).__name__, self.dims + 1
        if input.ndim not in (unbatched, unbatched + 1):
            raise ShapeError(f"{name}: expected a {unbatched}-D (unbatched) or "
                             f"{unbatched + 1}-D input, got shape {tuple(input.shape)}")
        channels = input.shape[input.ndim - unbatched]
        if channels != self.num_features:
            message = (f"{name}({self.num_features}): the input of shape "
                       f"{tuple(input.shape)} has {channels} channels")
            if self.affine or self.track_running_stats:
                raise ShapeError(message)
            # PyTorch only warns: without affine or running statistics num_features is unused.
            warnings.warn(message + "; num_features is unused without affine", stacklevel=2)
        x = input.unsqueeze(0) if input.ndim == unbatched else input
        out = F.instance_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                              self.training or not self.track_running_stats,
                              self.momentum if self.momentum is not None else 0.0, self.eps)
        return out.squeeze(0) if input.ndim == unbatched else out

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, bias={self.bias is not None}, "
                f"track_running_stats={self.track_running_stats}")


class InstanceNorm1d(_InstanceNorm):
    """Normalisation of each channel of each example over its positions: (N, C, L) or (C, L).

    >>> cr.nn.InstanceNorm1d(2)(cr.tensor([[1., 3.], [0., 10.]]))
    tensor([[-0.999995 ,  0.999995 ],
            [-0.9999998,  0.9999998]], dtype=float32)
    """
    dims = 1


class InstanceNorm2d(_InstanceNorm):
    """Instance normalisation of (N, C, H, W) or (C, H, W) inputs.

    >>> norm = cr.nn.InstanceNorm2d(3, affine=True, track_running_stats=True)
    >>> list(norm.state_dict())
    ['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked']
    """
    dims = 2


class InstanceNorm3d(_InstanceNorm):
    """Instance normalisation of (N, C, D, H, W) or (C, D, H, W) inputs.

    >>> cr.nn.InstanceNorm3d(2)(cr.randn(1, 2, 2, 2, 2)).shape
    cr.Size([1, 2, 2, 2, 2])
    """
    dims = 3


__all__ = ["PReLU", "GLU", "PixelShuffle", "PixelUnshuffle", "RMSNorm", "InstanceNorm1d",
           "InstanceNorm2d", "InstanceNorm3d"]
