"""Weight initialisation, in place, with PyTorch's formulas and fan conventions.

For a weight of shape (out_features, in_features), fan_in = in_features and
fan_out = out_features (for more axes, both are multiplied by the product of the trailing
"receptive field" axes). Each function fills its tensor in place and returns it; draws come
from the library's generator (``chainrule.manual_seed``) unless ``generator=`` is given.

    name              distribution                      standard deviation
    normal            N(mean, std^2)                    std
    uniform           U(a, b)                           (b - a) / sqrt(12)
    xavier_uniform    U(-sqrt(3) s, sqrt(3) s)          s = gain * sqrt(2 / (fan_in + fan_out))
    xavier_normal     N(0, s^2)                         s = gain * sqrt(2 / (fan_in + fan_out))
    kaiming_uniform   U(-sqrt(3) s, sqrt(3) s)          s = gain / sqrt(fan)
    kaiming_normal    N(0, s^2)                         s = gain / sqrt(fan)
    d2l               N(0, 0.01^2)                      0.01, as in Dive into Deep Learning

``get(name)`` returns the function for a name, so ``Linear(..., init="d2l")`` works.
"""
import math

from ..random import resolve
from ..tensor import Tensor


def calculate_gain(nonlinearity, param=None):
    """The factor by which an activation shrinks the variance, as in torch.nn.init."""
    if nonlinearity in ("linear", "identity", "sigmoid", "conv1d", "conv2d", "conv3d"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        if isinstance(slope, bool) or not isinstance(slope, (int, float)):
            raise ValueError(f"calculate_gain: negative slope {slope!r} is not a number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}")


def fans(shape):
    """(fan_in, fan_out) of a weight of ``shape`` laid out as (out, in, *receptive_field)."""
    if len(shape) < 2:
        raise ValueError(f"fan in and fan out need a weight with at least 2 axes, got shape "
                         f"{tuple(shape)}")
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def normal_(tensor, mean=0.0, std=1.0, generator=None):
    if std < 0:
        raise ValueError(f"normal_: std must be >= 0, got {std}")
    return _fill(tensor, resolve(generator).normal(mean, std, size=tensor.shape))


def uniform_(tensor, a=0.0, b=1.0, generator=None):
    if a > b:
        raise ValueError(f"uniform_: a = {a} must not exceed b = {b}")
    return _fill(tensor, resolve(generator).uniform(a, b, size=tensor.shape))


def zeros_(tensor, generator=None):
    return _fill(tensor, 0)


def xavier_uniform_(tensor, gain=1.0, generator=None):
    fan_in, fan_out = fans(tensor.shape)
    bound = math.sqrt(3.0) * gain * math.sqrt(2.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound, generator=generator)


def xavier_normal_(tensor, gain=1.0, generator=None):
    fan_in, fan_out = fans(tensor.shape)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), generator=generator)


def kaiming_uniform_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor.shape, mode))
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound, generator=generator)


def kaiming_normal_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor.shape, mode))
    return normal_(tensor, 0.0, std, generator=generator)


def d2l_normal_(tensor, generator=None):
    """N(0, 0.01^2): the small Gaussian that Dive into Deep Learning's from-scratch MLP uses."""
    return normal_(tensor, 0.0, 0.01, generator=generator)


_BY_NAME = {
    "normal": normal_,
    "uniform": uniform_,
    "zeros": zeros_,
    "xavier_uniform": xavier_uniform_,
    "xavier_normal": xavier_normal_,
    "kaiming_uniform": kaiming_uniform_,
    "kaiming_normal": kaiming_normal_,
    "d2l": d2l_normal_,
    "d2l_normal": d2l_normal_,
}


def get(name):
    """The initialiser called ``name`` (with or without the trailing underscore); a callable
    is returned as it is."""
    if callable(name):
        return name
    if not isinstance(name, str) or name.rstrip("_") not in _BY_NAME:
        raise ValueError(f"unknown init {name!r}; choose one of {sorted(_BY_NAME)} or pass a "
                         f"function f(tensor, generator=None)")
    return _BY_NAME[name.rstrip("_")]


def _fan(shape, mode):
    fan_in, fan_out = fans(shape)
    if mode == "fan_in":
        return fan_in
    if mode == "fan_out":
        return fan_out
    raise ValueError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")


def _fill(tensor, values):
    if isinstance(tensor, Tensor):
        tensor.data[...] = values
        tensor._bump_version()
    else:
        tensor[...] = values
    return tensor


__all__ = ["calculate_gain", "fans", "normal_", "uniform_", "zeros_", "xavier_uniform_",
           "xavier_normal_", "kaiming_uniform_", "kaiming_normal_", "d2l_normal_", "get"]
