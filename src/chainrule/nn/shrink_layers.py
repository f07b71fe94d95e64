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


class Softmax2d(Module):
    """Softmax over the channels (dimension -3) of (N, C, H, W) or (C, H, W) input: at each
    position the channels sum to 1.

    >>> cr.nn.Softmax2d()(cr.zeros(1, 2, 1, 1)).flatten()
    tensor([0.5, 0.5], dtype=float32)
    """

    def forward(self, input):
        if input.ndim not in (3, 4):
            raise ValueError(f"Softmax2d: expected input to be 3D or 4D, got {input.ndim}D "
                             f"instead (shape {tuple(input.shape)})")
        return F.softmax(input, -3)


class RReLU(Module):
    """x where x > 0, else a x: in training a is drawn per element from U(``lower``,
    ``upper``), in evaluation it is (lower + upper) / 2.

    >>> cr.nn.RReLU(0.1, 0.3).eval()(cr.tensor([-1., 2.]))
    tensor([-0.2,  2. ], dtype=float32)
    """

    def __init__(self, lower=1.0 / 8, upper=1.0 / 3, inplace=False, generator=None):
        self.lower, self.upper, self.inplace, self.generator = lower, upper, inplace, generator

    def forward(self, input):
        return F.rrelu(input, self.lower, self.upper, self.training, self.inplace,
                       generator=self.generator)

    def extra_repr(self):
        text = f"lower={self.lower}, upper={self.upper}"
        return f"{text}, inplace=True" if self.inplace else text


__all__ = ["Hardshrink", "Softshrink", "Softmax2d", "RReLU"]
