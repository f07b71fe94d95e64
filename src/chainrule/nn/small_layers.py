"""Smaller layers with PyTorch's names, constructors, attributes and printed form, each calling
the function of its name in ``nn.functional``: AdaptiveAvgPool1d."""
from . import functional as F
from .module import Module


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


__all__ = ["AdaptiveAvgPool1d"]
