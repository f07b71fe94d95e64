"""The shrinkage activations, PyTorch's hardshrink and softshrink: zero inside the band
[-lambd, lambd], the identity (hardshrink) or a shift toward zero by lambd (softshrink) outside
it. Composites of where and clip; the band is tested on the detached input, so its edges and
NaN get PyTorch's subgradients (0 at exactly +-lambd, NaN passing its gradient)."""
from ..backend import xp
from ..errors import DtypeError
from ..public import public
from .composite import stop_gradient
from .elementwise import clip, greater_equal, less_equal, logical_and, where


def _floating(op, input):
    if xp.dtype(input.dtype).kind != "f":
        raise DtypeError(f"{op}: not implemented for {input.dtype} input of shape "
                         f"{tuple(input.shape)} (as in PyTorch); convert it with .float()")
    return input


def _band(input, lambd):
    value = stop_gradient(input)
    return value, logical_and(greater_equal(value, -lambd), less_equal(value, lambd))


@public(method=True, functional=True)
def hardshrink(input, lambd=0.5):
    """x where |x| > lambd, else 0 (0 at exactly +-lambd, as PyTorch; a negative ``lambd``
    leaves every value as it is).

    >>> cr.nn.functional.hardshrink(cr.tensor([-1., -0.5, 0.2, 0.7]))
    tensor([-1. ,  0. ,  0. ,  0.7], dtype=float32)
    """
    _, inside = _band(_floating("hardshrink", input), lambd)
    return where(inside, 0, input)


def softshrink(input, lambd=0.5):
    """x - lambd where x > lambd, x + lambd where x < -lambd, else 0. ``lambd`` must be
    non-negative.

    >>> cr.nn.functional.softshrink(cr.tensor([-1., 0.2, 1.75]))
    tensor([-0.5 ,  0.  ,  1.25], dtype=float32)
    """
    _floating("softshrink", input)
    if not 0 <= lambd <= xp.finfo(input.dtype).max:
        raise ValueError(f"softshrink: lambda must be in [0, {xp.finfo(input.dtype).max:g}] "
                         f"for {input.dtype} input of shape {tuple(input.shape)}, got {lambd} "
                         f"(as in PyTorch)")
    value, inside = _band(input, lambd)
    # Outside the band clip gives the constant +-lambd; NaN stays NaN and passes its gradient.
    return where(inside, 0, input - clip(value, low=-lambd, high=lambd))


__all__ = ["hardshrink", "softshrink"]
