"""Activation functions with PyTorch's names and options, spelled with primitives: the one home
of the activations that are not primitives themselves (relu, sigmoid, tanh and the primitives
leaky_relu and softplus wrap live in elementwise.py beside their VJPs); ``cr.`` and ``F.`` name
the same function.

Each follows PyTorch at its kinks: where PyTorch's backward uses a strict comparison (hardtanh,
relu6, hardsigmoid pass no gradient exactly at their bounds), so do these."""
import math
import numbers
import warnings

from ..backend import xp
from ..dtypes import fill_number
from ..errors import DtypeError
from .composite import float32_for_half, softmax, stop_gradient
from .elementwise import (abs, clip, equal, exp, greater, greater_equal,
                          leaky_relu as _leaky_relu,
                          less, less_equal, logical_and, logical_not, logical_or, sigmoid,
                          softplus as _softplus, tanh, where)
from .math import expm1
from .special import ndtr

_SQRT_HALF = math.sqrt(0.5)
_SQRT_TWO_OVER_PI = math.sqrt(2.0 / math.pi)
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def _floating(op, input):
    """PyTorch has no integer kernel for these activations and refuses integer or bool input,
    where the formulas here would quietly promote it to float."""
    if xp.dtype(input.dtype).kind not in "fc":
        raise DtypeError(f"{op}: not implemented for {input.dtype} input of shape "
                         f"{tuple(input.shape)} (as in PyTorch); convert it with .float()")
    return input


def _integer_bounds(op, input, low, high):
    """hardtanh's bounds for an integer input: PyTorch clamps in the input's dtype, the bounds
    truncated toward zero, and refuses bool (and negative bounds for unsigned input)."""
    kind = xp.dtype(input.dtype).kind
    if kind == "b":
        raise DtypeError(f"{op}: bool input of shape {tuple(input.shape)} is not supported "
                         f"(as in PyTorch)")
    if kind == "u" and (low < 0 or high < 0):
        raise DtypeError(f"{op}: cannot clamp an unsigned {input.dtype} input of shape "
                         f"{tuple(input.shape)} to negative limits ({low}, {high}) (as in PyTorch)")
    return int(low), int(high)


@float32_for_half
def leaky_relu(x, negative_slope=0.01):
    """x where x > 0, ``negative_slope * x`` elsewhere, as PyTorch's (the slope may be passed
    by position here).

    >>> cr.leaky_relu(cr.tensor([-2., 3.]), 0.1)
    tensor([-0.2,  3. ], dtype=float32)
    """
    return _leaky_relu(_floating("leaky_relu", x), negative_slope=negative_slope)


@float32_for_half
def gelu(input, approximate="none"):
    """x * Phi(x), Phi the standard normal CDF: 0.5 x (1 + erf(x / sqrt 2)); with
    ``approximate="tanh"``, 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).

    >>> cr.nn.functional.gelu(cr.tensor([-1., 0., 1.]))
    tensor([-0.158655...,  0.        ,  0.8413447 ], dtype=float32)
    """
    _floating("gelu", input)
    if approximate == "none":
        return input * ndtr(input)
    if approximate == "tanh":
        inner = (input + input * input * input * 0.044715) * _SQRT_TWO_OVER_PI
        return input * (tanh(inner) + 1) * 0.5
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


@float32_for_half
def silu(input):
    """x * sigmoid(x) (also called swish).

    >>> cr.nn.functional.silu(cr.tensor([0., 1.]))
    tensor([0.       , 0.7310586], dtype=float32)
    """
    return _floating("silu", input) * sigmoid(input)


def _negative_part(input, alpha, input_scale=1.0, slope_scale=None):
    """alpha * (exp(input_scale x) - 1) for x <= 0, PyTorch's elu with its names; the exp sees
    only x <= 0, so it cannot overflow into an inf that would turn the unused branch's zero
    gradient into NaN. At x = 0 the line alpha slope_scale x, of the same value and slope:
    PyTorch's second derivative tests x < 0 there, so it is 0 (its first derivative takes this
    branch). ``slope_scale`` is the input_scale of the backward where PyTorch's differs."""
    safe = where(_not_negative(input), 0, input)
    slope_scale = input_scale if slope_scale is None else slope_scale
    # The value from expm1, the slope from exp, as PyTorch's backward: expm1's own slope,
    # out + 1, is -1 + 1 = 0 below x = -17 in float32 (-37 in float64), where exp(x) is not.
    rise = exp(safe * slope_scale if slope_scale != 1.0 else safe)
    curve = stop_gradient(expm1(safe * input_scale if input_scale != 1.0 else safe))
    curve = curve + (rise - stop_gradient(rise))
    return where(equal(stop_gradient(input), 0), input * (alpha * slope_scale), curve * alpha)


def _not_negative(input):
    # "not x <= 0" rather than "x > 0": NaN takes the linear branch and passes its gradient,
    # as PyTorch's elu backward does.
    return logical_not(less_equal(stop_gradient(input), 0))


@float32_for_half
def elu(input, alpha=1.0):
    """x for x > 0, alpha (exp(x) - 1) otherwise.

    >>> cr.nn.functional.elu(cr.tensor([-1., 2.]))
    tensor([-0.63212055,  2.        ], dtype=float32)
    """
    _floating("elu", input)
    return where(_not_negative(input), input, _negative_part(input, alpha))


@float32_for_half
def selu(input):
    """scale * elu(x, alpha) with the self-normalising constants (alpha 1.6733, scale 1.0507).

    >>> cr.nn.functional.selu(cr.tensor([1.]))
    tensor([1.050701], dtype=float32)
    """
    # One coefficient, alpha * scale, on the exponential branch, as PyTorch's kernel (scaling
    # elu's result would round twice).
    return where(_not_negative(_floating("selu", input)), input * SELU_SCALE,
                 _negative_part(input, SELU_ALPHA * SELU_SCALE))


@float32_for_half
def celu(input, alpha=1.0):
    """x for x > 0, alpha (exp(x / alpha) - 1) otherwise.

    >>> cr.nn.functional.celu(cr.tensor([-1., 2.]), alpha=2.0)
    tensor([-0.78693867,  2.        ], dtype=float32)
    """
    if alpha == 0:
        raise ValueError("celu: alpha must not be 0")
    _floating("celu", input)
    # PyTorch's backward multiplies x by 1 / alpha with alpha rounded to float32 first (its
    # forward does not round it), a difference of 1e-7 |x / alpha| in float64's slope.
    return where(_not_negative(input), input,
                 _negative_part(input, alpha, 1.0 / alpha, 1.0 / float(xp.float32(alpha))))


@float32_for_half
def softplus(input, beta=1.0, threshold=20.0):
    """log(1 + exp(beta x)) / beta, and x itself where beta x > threshold, with PyTorch's
    defaults; ``cr.softplus`` and ``F.softplus`` are this one function.

    >>> cr.softplus(cr.tensor([0., 30.]))
    tensor([ 0.6931472, 30.       ], dtype=float32)
    >>> cr.softplus is cr.nn.functional.softplus
    True
    """
    return _softplus(_floating("softplus", input), beta=beta, threshold=threshold)


@float32_for_half
def log_sigmoid(input):
    """log(sigmoid(x)) = -softplus(-x), without overflow.

    >>> cr.nn.functional.logsigmoid(cr.tensor([0.]))
    tensor([-0.6931472], dtype=float32)
    """
    # Each sign its own form, as PyTorch's: x - log(1 + e^x) below 0, -log(1 + e^-x) from 0
    # on. Below 0 the second derivative then comes from the small sigmoid(x), as PyTorch's;
    # from sigmoid(-x), near 1, it was 0 below x = -17 in float32 (-37 in float64).
    # (One softplus of -|x|, whose |x| has slope -1 at 0, as PyTorch's; -(a - b) keeps the -0
    # of -softplus(-x) where that underflows.)
    negative = less(stop_gradient(_floating("log_sigmoid", input)), 0)
    return -(_softplus(where(negative, input, -input)) - where(negative, input, 0))


logsigmoid = log_sigmoid


def hardtanh(input, min_val=-1.0, max_val=1.0):
    """x clipped to [min_val, max_val]; the gradient is 1 strictly inside, 0 elsewhere.

    >>> cr.nn.functional.hardtanh(cr.tensor([-2., 0.5, 2.]))
    tensor([-1. ,  0.5,  1. ], dtype=float32)
    """
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val cannot be greater than max_val, got {min_val} and "
                         f"{max_val} (as in PyTorch)")
    if xp.dtype(input.dtype).kind not in "fc":
        low, high = _integer_bounds("hardtanh", input, min_val, max_val)
        return clip(input, low=low, high=high)
    # "not outside" rather than "inside": NaN passes its gradient, as in PyTorch.
    value = stop_gradient(input)
    outside = logical_or(less_equal(value, min_val), greater_equal(value, max_val))
    return where(logical_not(outside), input, clip(value, low=min_val, high=max_val))


def relu6(input):
    """min(max(0, x), 6).

    >>> cr.nn.functional.relu6(cr.tensor([-1., 3., 8.]))
    tensor([0., 3., 6.], dtype=float32)
    """
    return hardtanh(input, 0.0, 6.0)


@float32_for_half
def hardsigmoid(input):
    """relu6(x + 3) / 6: 0 below -3, 1 above 3, linear between.

    >>> cr.nn.functional.hardsigmoid(cr.tensor([-4., 0., 4.]))
    tensor([0. , 0.5, 1. ], dtype=float32)
    """
    # Strictly inside (-3, 3) only, as PyTorch's backward: NaN gets no gradient here.
    value = stop_gradient(_floating("hardsigmoid", input))
    inside = logical_and(greater(value, -3.0), less(value, 3.0))
    return where(inside, (input + 3) / 6, clip(value + 3, low=0.0, high=6.0) / 6)


@float32_for_half
def hardswish(input):
    """x * hardsigmoid(x).

    >>> cr.nn.functional.hardswish(cr.tensor([-4., 1., 4.]))
    tensor([-0.       ,  0.6666667,  4.       ], dtype=float32)
    """
    # PyTorch's x * min(max(x + 3, 0), 6) / 6 (which overflows where x * 6 does) with its
    # backward: 0 up to -3, x / 3 + 0.5 strictly between, 1 from 3 on (NaN included).
    value = stop_gradient(_floating("hardswish", input))
    below = less_equal(value, -3.0)
    above = logical_not(less(value, 3.0))
    outer = logical_or(below, above)
    safe = where(outer, 0, input)  # an inf outside (-3, 3) must not reach the product
    return where(below, input * 0, where(above, input * 6 / 6, safe * (safe + 3) / 6))


@float32_for_half
def mish(input):
    """x * tanh(softplus(x)).

    >>> cr.nn.functional.mish(cr.tensor([1.]))
    tensor([0.8650984], dtype=float32)
    """
    return _floating("mish", input) * tanh(_softplus(input))


def softsign(input):
    """x / (1 + |x|).

    >>> cr.nn.functional.softsign(cr.tensor([1., -3.]))
    tensor([ 0.5 , -0.75], dtype=float32)
    """
    return input / (abs(input) + 1)


def implicit_dim(name, ndim, stacklevel=3):
    """PyTorch's deprecated choice of dim when softmax, log_softmax or softmin is called
    without one: dim 0 for 0-, 1- and 3-D inputs, else dim 1 (the channels of a 4-D batch),
    never simply the last one; with PyTorch's warning."""
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call "
                  f"to include dim=X as an argument.", UserWarning, stacklevel=stacklevel)
    return 0 if ndim in (0, 1, 3) else 1


def softmin(input, dim=None, _stacklevel=3, dtype=None):
    """softmax(-x) along ``dim`` (without one, PyTorch's implicit choice: see implicit_dim);
    ``dtype`` casts the input first, as PyTorch's (``_stacklevel`` is its signature's, unused).

    >>> cr.nn.functional.softmin(cr.tensor([0., 0.]), 0)
    tensor([0.5, 0.5], dtype=float32)
    """
    if dtype is not None:
        input = input.astype(dtype)
    _floating("softmin", input)
    if dim is None:
        dim = implicit_dim("softmin", input.ndim)
    return softmax(-input, axis=dim)


def tanhshrink(input):
    """x - tanh(x).

    >>> cr.nn.functional.tanhshrink(cr.tensor([0.]))
    tensor([0.], dtype=float32)
    """
    return input - tanh(input)


def threshold(input, threshold, value):
    """``value`` where x <= threshold, else x (NaN stays NaN, as in PyTorch); an integer
    input keeps its dtype, ``value`` truncated into it.

    >>> cr.nn.functional.threshold(cr.tensor([0.5, 2.]), 1.0, -1.0)
    tensor([-1.,  2.], dtype=float32)
    """
    kind = xp.dtype(input.dtype).kind
    if kind == "b":
        raise DtypeError(f"threshold: bool input of shape {tuple(input.shape)} is not "
                         f"supported (as in PyTorch)")
    if isinstance(value, numbers.Real):  # it must fit the dtype (float16 and 70000: refused)
        value = fill_number("threshold", value, input.dtype)[()]
    return where(less_equal(stop_gradient(input), threshold), value, input)


__all__ = ["leaky_relu", "gelu", "silu", "elu", "selu", "celu", "softplus", "log_sigmoid", "logsigmoid",
           "hardtanh", "relu6", "hardsigmoid", "hardswish", "mish", "softsign", "softmin",
           "tanhshrink", "threshold"]
