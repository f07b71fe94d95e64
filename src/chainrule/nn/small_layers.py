"""Smaller layers with PyTorch's names, constructors, attributes and printed form, each calling
the function of its name in ``nn.functional``: AdaptiveAvgPool1d, Bilinear, ChannelShuffle and
LocalResponseNorm."""
import math

from ..backend import xp
from ..dtypes import float_dtype
from . import functional as F
from . import init as initializers
from .module import Module, Parameter


class AdaptiveAvgPool1d(Module):
    """Average pooling of (N, C, L) or (C, L) inputs to ``output_size`` windows, whatever L
    is (windows overlap where it does not divide L, as PyTorch's).

    >>> cr.nn.AdaptiveAvgPool1d(3)(cr.ones(2, 4, 10)).shape
    cr.Size([2, 4, 3])
    """

    def __init__(self, output_size):
        self.output_size = output_size

    def forward(self, input):
        return F.adaptive_avg_pool1d(input, self.output_size)

    def extra_repr(self):
        return f"output_size={self.output_size}"


class Bilinear(Module):
    """y = x1^T A x2 + b, one matrix A per output: ``weight`` (out_features, in1_features,
    in2_features) and ``bias`` (out_features,), both initialised as PyTorch's, uniform in
    +-1/sqrt(in1_features). Called with two inputs of the same leading dimensions.

    >>> layer = cr.nn.Bilinear(3, 4, 5)
    >>> layer(cr.ones(2, 3), cr.ones(2, 4)).shape
    cr.Size([2, 5])
    """

    def __init__(self, in1_features, in2_features, out_features, bias=True, generator=None,
                 dtype=None):
        sizes = (("in1_features", in1_features), ("in2_features", in2_features),
                 ("out_features", out_features))
        for name, value in sizes:
            if isinstance(value, bool) or not isinstance(value, (int, xp.integer)) or value < 0:
                raise ValueError(f"Bilinear: {name} must be a non-negative int, got {value!r}")
        dtype = float_dtype(dtype, "Bilinear")
        self.in1_features, self.in2_features = int(in1_features), int(in2_features)
        self.out_features = int(out_features)
        shape = (self.out_features, self.in1_features, self.in2_features)
        self.weight = Parameter(xp.empty(shape, dtype=dtype))
        self.bias = Parameter(xp.empty(self.out_features, dtype=dtype)) if bias else None
        self.reset_parameters(generator)

    def reset_parameters(self, generator=None):
        """Draw the weight and bias afresh, uniform in +-1/sqrt(in1_features) (PyTorch's).

        >>> layer = cr.nn.Bilinear(4, 2, 3)
        >>> layer.reset_parameters()
        >>> bool(layer.weight.abs().max() <= 0.5)
        True
        """
        bound = 1 / math.sqrt(self.in1_features) if self.in1_features else 0
        initializers.uniform_(self.weight, -bound, bound, generator=generator)
        if self.bias is not None:
            initializers.uniform_(self.bias, -bound, bound, generator=generator)

    def forward(self, input1, input2):
        return F.bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self):
        return (f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")


class ChannelShuffle(Module):
    """The channels of (N, C, *) input regrouped into ``groups`` interleaved groups
    (ShuffleNet's shuffle).

    >>> cr.nn.ChannelShuffle(2)(cr.arange(4.).reshape(1, 4, 1)).flatten()
    tensor([0., 2., 1., 3.], dtype=float32)
    """

    def __init__(self, groups):
        self.groups = groups

    def forward(self, input):
        return F.channel_shuffle(input, self.groups)

    def extra_repr(self):
        return f"groups={self.groups}"


class LocalResponseNorm(Module):
    """Each channel divided by (k + alpha * the mean square over ``size`` neighbouring
    channels)^beta (AlexNet's normalisation).

    >>> cr.nn.LocalResponseNorm(2)(cr.ones(1, 3, 2)).shape
    cr.Size([1, 3, 2])
    """

    def __init__(self, size, alpha=1e-4, beta=0.75, k=1.0):
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, input):
        return F.local_response_norm(input, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self):
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"


__all__ = ["AdaptiveAvgPool1d", "Bilinear", "ChannelShuffle", "LocalResponseNorm"]
