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
import numbers
import warnings

from ..backend import xp
from ..random import resolve
from ..tensor import Tensor


def calculate_gain(nonlinearity, param=None):
    """The factor by which an activation shrinks the variance, as ``torch.nn.init.calculate_gain``.

    >>> cr.nn.init.calculate_gain("relu")
    1.4142135623730951
    """
    if nonlinearity in _UNIT_GAIN:
        return 1
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


_UNIT_GAIN = ("linear", "identity", "sigmoid", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
              "conv_transpose2d", "conv_transpose3d")


def fans(shape):
    """(fan_in, fan_out) of a weight of ``shape`` laid out as (out, in, *receptive_field).

    >>> cr.nn.init.fans((8, 3, 5, 5))
    (75, 200)
    """
    if len(shape) < 2:
        raise ValueError(f"fan in and fan out need a weight with at least 2 axes, got shape "
                         f"{tuple(shape)}")
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def normal_(tensor, mean=0.0, std=1.0, generator=None):
    """Fill ``tensor`` in place with draws from N(mean, std^2); returns it.

    >>> w = cr.nn.init.normal_(cr.empty(1000), std=0.0)
    >>> float(w.abs().max())
    0.0
    """
    if std < 0:
        raise _RangeError(f"normal_: std must be >= 0, got {std}")
    return _fill(tensor, resolve(generator).normal(mean, std, size=tuple(tensor.shape)))


def uniform_(tensor, a=0.0, b=1.0, generator=None):
    """Fill ``tensor`` in place with draws from U(a, b); returns it.

    >>> w = cr.nn.init.uniform_(cr.empty(1000), -0.5, 0.5)
    >>> bool(w.abs().max() <= 0.5)
    True
    """
    if a > b:
        raise _RangeError(f"uniform_: a = {a} must not exceed b = {b}")
    return _fill(tensor, resolve(generator).uniform(a, b, size=tuple(tensor.shape)))


def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0, generator=None):
    """Fill ``tensor`` in place with draws from N(mean, std^2) truncated to [a, b] (by
    rejection: each value is redrawn until it lands inside); returns it.

    >>> w = cr.nn.init.trunc_normal_(cr.empty(1000), std=1.0, a=-0.5, b=0.5)
    >>> bool(w.abs().max() <= 0.5)
    True
    """
    if std < 0 or a > b:
        raise _RangeError(f"trunc_normal_: needs std >= 0 and a <= b, got std={std}, a={a}, "
                          f"b={b}")
    rng = resolve(generator)
    values = rng.normal(mean, std, size=tuple(tensor.shape))
    outside = (values < a) | (values > b)
    while outside.any():
        values[outside] = rng.normal(mean, std, size=int(outside.sum()))
        outside = (values < a) | (values > b)
    return _fill(tensor, values)


def constant_(tensor, val):
    """Fill ``tensor`` in place with ``val``; returns it.

    >>> cr.nn.init.constant_(cr.empty(3), 0.5)
    tensor([0.5, 0.5, 0.5], dtype=float32)
    """
    if not isinstance(val, (numbers.Number, Tensor)):
        raise TypeError(f"constant_: val must be a number, got {type(val).__name__}")
    return _fill(tensor, val._data if isinstance(val, Tensor) else val)


def ones_(tensor):
    """Fill ``tensor`` in place with ones; returns it.

    >>> cr.nn.init.ones_(cr.empty(2))
    tensor([1., 1.], dtype=float32)
    """
    return _fill(tensor, 1)


def zeros_(tensor, generator=None):
    """Fill ``tensor`` in place with zeros; returns it. (``generator`` is accepted and unused,
    so that ``zeros_`` can be named wherever an initialiser is.)

    >>> cr.nn.init.zeros_(cr.ones(2))
    tensor([0., 0.], dtype=float32)
    """
    return _fill(tensor, 0)


def eye_(tensor):
    """Fill the 2-D ``tensor`` in place with the identity matrix (ones on the diagonal of a
    rectangle too); returns it.

    >>> cr.nn.init.eye_(cr.empty(2, 3))
    tensor([[1., 0., 0.],
            [0., 1., 0.]], dtype=float32)
    """
    if len(tensor.shape) != 2:
        raise ValueError(f"eye_: only 2-D tensors are supported, got shape {tuple(tensor.shape)}")
    values = xp.zeros(tuple(tensor.shape))
    xp.fill_diagonal(values, 1)
    return _fill(tensor, values)


def dirac_(tensor, groups=1):
    """Fill the 3-, 4- or 5-D convolution weight ``tensor`` in place with the Dirac delta, so
    that the convolution passes its input through (channel ``i`` of each of ``groups`` groups
    to output ``i`` of that group); returns it.

    >>> cr.nn.init.dirac_(cr.empty(2, 2, 3))[:, :, 1]
    tensor([[1., 0.],
            [0., 1.]], dtype=float32)
    """
    shape = tuple(tensor.shape)
    if len(shape) not in (3, 4, 5):
        raise ValueError(f"dirac_: only 3-, 4- or 5-D tensors are supported, got shape {shape}")
    if shape[0] % groups:
        raise ValueError(f"dirac_: dim 0 ({shape[0]}) must be divisible by groups ({groups})")
    out_per_group = shape[0] // groups
    values = xp.zeros(shape)
    centre = tuple(size // 2 for size in shape[2:])
    for group in range(groups):
        for channel in range(min(out_per_group, shape[1])):
            values[(group * out_per_group + channel, channel) + centre] = 1
    return _fill(tensor, values)


def xavier_uniform_(tensor, gain=1.0, generator=None):
    """Glorot's uniform initialisation: U(-b, b) with b = gain * sqrt(6 / (fan_in + fan_out)).

    >>> w = cr.nn.init.xavier_uniform_(cr.empty(30, 20))
    >>> bool(w.abs().max() <= (6 / 50) ** 0.5)
    True
    """
    fan_in, fan_out = fans(tensor.shape)
    bound = math.sqrt(3.0) * gain * math.sqrt(2.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound, generator=generator)


def xavier_normal_(tensor, gain=1.0, generator=None):
    """Glorot's normal initialisation: N(0, s^2) with s = gain * sqrt(2 / (fan_in + fan_out)).

    >>> cr.nn.init.xavier_normal_(cr.empty(30, 20)).shape
    cr.Size([30, 20])
    """
    fan_in, fan_out = fans(tensor.shape)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), generator=generator)


def kaiming_uniform_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """He's uniform initialisation: U(-b, b) with b = gain * sqrt(3 / fan), the gain that of
    ``nonlinearity`` with slope ``a``. ``a=math.sqrt(5)`` gives PyTorch's default for Linear
    and convolution weights, b = 1 / sqrt(fan_in).

    >>> w = cr.nn.init.kaiming_uniform_(cr.empty(30, 20), a=5 ** 0.5)
    >>> bool(w.abs().max() <= 1 / 20 ** 0.5)
    True
    """
    if _empty(tensor):
        return tensor
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor.shape, mode))
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound, generator=generator)


def kaiming_normal_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """He's normal initialisation: N(0, s^2) with s = gain / sqrt(fan).

    >>> cr.nn.init.kaiming_normal_(cr.empty(30, 20), mode="fan_out").shape
    cr.Size([30, 20])
    """
    if _empty(tensor):
        return tensor
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor.shape, mode))
    return normal_(tensor, 0.0, std, generator=generator)


def orthogonal_(tensor, gain=1, generator=None):
    """Fill ``tensor`` in place with a (semi-)orthogonal matrix times ``gain`` (Saxe et al.),
    as ``torch.nn.init.orthogonal_``: the Q of the QR factorisation of a standard normal
    matrix, each column's sign set by R's diagonal so that Q is uniformly (Haar) distributed.
    Axes after the first are flattened: a weight of shape (rows, *rest) gets orthonormal rows
    when rows <= prod(rest), else orthonormal columns. Returns it.

    >>> w = cr.nn.init.orthogonal_(cr.empty(2, 3, dtype=cr.float64), gain=2)
    >>> bool(cr.allclose(w @ w.T, 4 * cr.eye(2, dtype=cr.float64)))
    True
    """
    shape = tuple(tensor.shape)
    if len(shape) < 2:
        raise ValueError(f"orthogonal_: only tensors with 2 or more dimensions are supported, "
                         f"got shape {shape}")
    if math.prod(shape) == 0:
        return tensor
    rows = shape[0]
    cols = math.prod(shape) // rows
    flat = resolve(generator).normal(0.0, 1.0, size=(rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = xp.linalg.qr(flat)
    q *= xp.sign(xp.diag(r))  # without it Q's first entry would always have one sign
    if rows < cols:
        q = q.T
    return _fill(tensor, (q * gain).reshape(shape))


def sparse_(tensor, sparsity, std=0.01, generator=None):
    """Fill the 2-D ``tensor`` in place from N(0, std^2), then zero ceil(sparsity * rows)
    entries of each column, chosen at random (Martens' sparse initialisation), as
    ``torch.nn.init.sparse_``; returns it. Both draws come from ``generator`` (PyTorch
    takes the positions from its global generator whatever ``generator`` is).

    >>> w = cr.nn.init.sparse_(cr.empty(4, 3), sparsity=0.5)
    >>> (w == 0).sum(dim=0)
    tensor([2, 2, 2], dtype=int64)
    """
    shape = tuple(tensor.shape)
    if len(shape) != 2:
        raise ValueError(f"sparse_: only 2-D tensors are supported, got shape {shape}")
    if not 0 <= sparsity <= 1:
        raise ValueError(f"sparse_: sparsity must be in [0, 1], got {sparsity}")
    if std < 0:
        raise _RangeError(f"sparse_: std must be >= 0, got {std}")
    rows, cols = shape
    rng = resolve(generator)
    values = rng.normal(0.0, std, size=shape)
    zeros = math.ceil(sparsity * rows)
    for col in range(cols):
        values[rng.permutation(rows)[:zeros], col] = 0
    return _fill(tensor, values)


def d2l_normal_(tensor, generator=None):
    """N(0, 0.01^2): the small Gaussian that Dive into Deep Learning's from-scratch MLP uses."""
    return normal_(tensor, 0.0, 0.01, generator=generator)


_BY_NAME = {
    "normal": normal_,
    "uniform": uniform_,
    "zeros": zeros_,
    "trunc_normal": trunc_normal_,
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


def _empty(tensor):
    if math.prod(tensor.shape) == 0:
        warnings.warn("Initializing zero-element tensors is a no-op", UserWarning, stacklevel=3)
        return True
    return False


def _fill(tensor, values):
    # Into the tensor's own memory, as torch.nn.init does under no_grad: a parameter that
    # requires grad is filled too, and its version moves so an old graph refuses to backward.
    if isinstance(tensor, Tensor):
        tensor._data[...] = values
        tensor._bump_version()
    else:
        tensor[...] = values
    return tensor


class _RangeError(ValueError, RuntimeError):
    """An initialiser's range is empty; PyTorch raises RuntimeError, earlier chainrule
    ValueError, so both catch it."""


__all__ = ["calculate_gain", "fans", "normal_", "uniform_", "trunc_normal_", "constant_", "ones_",
           "zeros_", "eye_", "dirac_", "xavier_uniform_", "xavier_normal_", "kaiming_uniform_",
           "kaiming_normal_", "orthogonal_", "sparse_", "d2l_normal_", "get"]
