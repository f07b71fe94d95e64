"""More pooling layers with PyTorch's names, constructors, attributes and printed form:
AdaptiveMaxPool1d/2d (``return_indices``) and LPPool1d/2d (power-average pooling)."""
from . import functional as F
from .module import Module


class _AdaptiveMaxPoolNd(Module):
    dims = 2

    def __init__(self, output_size, return_indices=False):
        self.output_size, self.return_indices = output_size, return_indices

    def forward(self, input):
        pool = getattr(F, f"adaptive_max_pool{self.dims}d")
        return pool(input, self.output_size, self.return_indices)

    def extra_repr(self):
        return f"output_size={self.output_size}"


class AdaptiveMaxPool1d(_AdaptiveMaxPoolNd):
    """Max pooling of (N, C, L) or (C, L) inputs to ``output_size`` outputs, whatever L is;
    with ``return_indices=True`` also where each maximum was.

    >>> cr.nn.AdaptiveMaxPool1d(3)(cr.ones(2, 4, 10)).shape
    cr.Size([2, 4, 3])
    """
    dims = 1


class AdaptiveMaxPool2d(_AdaptiveMaxPoolNd):
    """Max pooling of (N, C, H, W) or (C, H, W) inputs to ``output_size`` (an int or a pair;
    ``None`` keeps that dimension); with ``return_indices=True`` also where each maximum was.

    >>> cr.nn.AdaptiveMaxPool2d((2, None))(cr.ones(1, 3, 7, 5)).shape
    cr.Size([1, 3, 2, 5])
    """
    dims = 2


class _LPPoolNd(Module):
    dims = 2

    def __init__(self, norm_type, kernel_size, stride=None, ceil_mode=False):
        self.norm_type, self.kernel_size = norm_type, kernel_size
        self.stride, self.ceil_mode = stride, ceil_mode

    def forward(self, input):
        pool = getattr(F, f"lp_pool{self.dims}d")
        return pool(input, self.norm_type, self.kernel_size, self.stride, self.ceil_mode)

    def extra_repr(self):
        return (f"norm_type={self.norm_type}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, ceil_mode={self.ceil_mode}")


class LPPool1d(_LPPoolNd):
    """Power-average pooling of (N, C, L) or (C, L) inputs: each window's
    (sum of x^p)^(1/p), p = ``norm_type``.

    >>> cr.nn.LPPool1d(2, 3, stride=2)(cr.ones(1, 4, 9)).shape
    cr.Size([1, 4, 4])
    """
    dims = 1


class LPPool2d(_LPPoolNd):
    """Power-average pooling of (N, C, H, W) or (C, H, W) inputs: each window's
    (sum of x^p)^(1/p), p = ``norm_type``.

    >>> cr.nn.LPPool2d(2, 2)(cr.ones(1, 1, 4, 4))
    tensor([[[[2., 2.],
              [2., 2.]]]], dtype=float32)
    """
    dims = 2


__all__ = ["AdaptiveMaxPool1d", "AdaptiveMaxPool2d", "LPPool1d", "LPPool2d"]
