"""Activations that draw random numbers in training: the randomized leaky ReLU (PyTorch's
F.rrelu) and the Gumbel-softmax (F.gumbel_softmax). Both are composites: the draws are constant
arrays, so the gradients follow from the ops around them (rrelu's is the slope drawn, the
Gumbel-softmax's that of its softmax, also in the straight-through ``hard`` form)."""
import warnings

from ..backend import xp
from ..errors import DtypeError
from ..random import resolve, rrelu_slopes
from ..tensor import Tensor
from .activations import leaky_relu
from .composite import softmax, stop_gradient
from .shape import axis_of


def rrelu(input, lower=1.0 / 8, upper=1.0 / 3, training=False, inplace=False, generator=None):
    """x where x > 0, else a x. In training each element draws its slope a from
    U(``lower``, ``upper``); in evaluation a = (lower + upper) / 2, as PyTorch's (its leaky
    ReLU). ``inplace`` writes the result into ``input``.

    >>> cr.nn.functional.rrelu(cr.tensor([-1., 2.]), 0.1, 0.3)
    tensor([-0.2,  2. ], dtype=float32)
    """
    if lower > upper:
        raise ValueError(f"rrelu: the lower bound should be less than or equal to the upper "
                         f"bound, got lower={lower} and upper={upper} (input shape "
                         f"{tuple(input.shape)}; as in PyTorch)")
    if xp.dtype(input.dtype).kind != "f":
        raise DtypeError(f"rrelu: not implemented for {input.dtype} input of shape "
                         f"{tuple(input.shape)} (as in PyTorch); convert it with .float()")
    if inplace:
        return input._inplace(lambda t, _: rrelu(t, lower, upper, training,
                                                 generator=generator), None, "rrelu_")
    if not training:
        return leaky_relu(input, (lower + upper) / 2)
    return input * rrelu_slopes(generator, stop_gradient(input)._data, lower, upper)


def gumbel_softmax(logits, tau=1, hard=False, eps=1e-10, dim=-1, generator=None):
    """softmax((logits + g) / tau) along ``dim``, g drawn from the standard Gumbel
    distribution: a differentiable sample of the categorical distribution softmax(logits).
    With ``hard`` the sample is one-hot (the argmax), its gradient the soft sample's
    (straight-through). ``eps`` is PyTorch's deprecated parameter, without effect.

    >>> _ = cr.manual_seed(0)
    >>> y = cr.nn.functional.gumbel_softmax(cr.zeros(2, 3), hard=True)
    >>> y.sum(1)
    tensor([1., 1.], dtype=float32)
    """
    if eps != 1e-10:
        warnings.warn("`eps` parameter is deprecated and has no effect.", stacklevel=2)
    logits = logits if isinstance(logits, Tensor) else Tensor._wrap(logits)
    if xp.dtype(logits.dtype).kind != "f":
        raise DtypeError(f"gumbel_softmax: needs floating-point logits, got {logits.dtype} "
                         f"of shape {tuple(logits.shape)}")
    axis = axis_of("gumbel_softmax", dim, logits.ndim)
    gumbels = -xp.log(resolve(generator).exponential(size=tuple(logits.shape)))
    y_soft = softmax((logits + gumbels.astype(logits.dtype)) / tau, axis=axis)
    if not hard:
        return y_soft
    index = xp.argmax(y_soft._data, axis=axis) if logits.ndim else 0
    y_hard = xp.zeros(tuple(logits.shape), dtype=logits.dtype)
    if logits.ndim:
        xp.put_along_axis(y_hard, xp.expand_dims(index, axis), 1, axis=axis)
    else:
        y_hard[...] = 1
    # PyTorch's straight-through expression, rounded the same way.
    return y_hard - stop_gradient(y_soft) + y_soft


__all__ = ["rrelu", "gumbel_softmax"]
