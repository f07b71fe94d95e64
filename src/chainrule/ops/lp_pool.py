"""Power-average pooling, PyTorch's F.lp_pool1d/2d: (sum over each window of x^p)^(1/p).

Written as PyTorch writes it, so that values and gradients agree at its corners too: the
window sums are ``avg_pool(x^p) * kernel size``, passed through ``sign(s) * relu(|s|)``
before the root. That product is s itself, but its derivative at s = 0 is 0 (relu's), which
turns the root's infinite slope at an all-zero window into a zero gradient; a negative sum
(an odd or fractional p) gives NaN, as PyTorch's does. p = +-inf is max pooling of |x|
(of -|x| for -inf).
"""
import math
import numbers

from ..errors import ArgumentError, DtypeError
from .conv import pair
from .elementwise import relu, sign
from .pool import avg_pool1d, avg_pool2d, max_pool1d, max_pool2d


def _lp_pool(op, spatial, input, norm_type, kernel_size, stride, ceil_mode):
    from ..tensor import as_input
    x = as_input(input)
    if isinstance(norm_type, bool) or not isinstance(norm_type, numbers.Real):
        raise TypeError(f"{op}: norm_type must be a number, got {norm_type!r}")
    if norm_type == 0:
        raise ArgumentError(f"{op}: norm_type must not be 0 (the root 1/p is undefined)")
    if spatial == 1 and (isinstance(kernel_size, bool)
                         or not isinstance(kernel_size, numbers.Integral)):
        raise TypeError(f"{op}: kernel_size must be an int, got {kernel_size!r} (as in "
                        f"PyTorch)")
    if x.dtype.kind != "f":
        raise DtypeError(f"{op}: needs a floating-point input, got {x.dtype} (PyTorch's "
                         f"integer average pooling rounds each window's mean down; chainrule "
                         f"does not copy that)")
    max_pool, avg_pool = (max_pool1d, avg_pool1d) if spatial == 1 else (max_pool2d, avg_pool2d)
    if math.isinf(norm_type):
        if norm_type > 0:
            return max_pool(x.abs(), kernel_size, stride, 0, 1, ceil_mode)
        return -max_pool(-x.abs(), kernel_size, stride, 0, 1, ceil_mode)
    sums = avg_pool(x ** norm_type, kernel_size, stride, 0, ceil_mode)
    size = kernel_size if spatial == 1 else math.prod(pair(kernel_size, "kernel_size", op))
    return (sign(sums) * relu(sums.abs()) * size) ** (1.0 / norm_type)


def lp_pool1d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """Power-average pooling of ``input`` (N, C, L) or (C, L): each ``kernel_size`` window's
    (sum of x^p)^(1/p), p being ``norm_type``, windows ``stride`` apart (the kernel size by
    default). A window whose sum is 0 gets a zero gradient; p = inf is max pooling of |x|.
    As in PyTorch, a negative window sum (odd or fractional p) gives NaN.

    >>> cr.nn.functional.lp_pool1d(cr.tensor([[[3., 4., 1., 0.]]]), 2, 2)
    tensor([[[5., 1.]]], dtype=float32)
    """
    return _lp_pool("lp_pool1d", 1, input, norm_type, kernel_size, stride, ceil_mode)


def lp_pool2d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """Power-average pooling of ``input`` (N, C, H, W) or (C, H, W): each window's
    (sum of x^p)^(1/p), as ``lp_pool1d`` over two dimensions; ``kernel_size`` and ``stride``
    are ints or pairs.

    >>> x = cr.tensor([[[[3., 0.], [0., 4.]]]])
    >>> cr.nn.functional.lp_pool2d(x, 2, 2)
    tensor([[[[5.]]]], dtype=float32)
    """
    return _lp_pool("lp_pool2d", 2, input, norm_type, kernel_size, stride, ceil_mode)


__all__ = ["lp_pool1d", "lp_pool2d"]
