"""PyTorch's other dropouts: channel dropout of 1-d and 3-d feature maps (F.dropout1d,
F.dropout3d), and alpha dropout for self-normalising (SELU) networks, element by element
(F.alpha_dropout) or channel by channel (F.feature_alpha_dropout).

Each draws a keep mask (whole channels for the channel forms: PyTorch's "feature noise" of
shape (N, C, 1, ...)) and is then ``x * scale + shift`` with constant arrays, so the gradient is
the scale and needs no VJP of its own. Alpha dropout sets dropped elements to SELU's negative
saturation and rescales so that zero mean and unit variance are kept:
a = 1 / sqrt((alpha^2 p + 1)(1 - p)), kept: a x + alpha a p, dropped: -alpha a (1 - p)."""
import math
import warnings

from ..errors import ShapeError
from ..random import dropout_mask, resolve
from ..tensor import Tensor
from .normalization import _float_to_drop, _in_place

_SELU_SATURATION = 1.7580993408473766  # SELU's scale * alpha, PyTorch's constant


def _check_p(op, p):
    if not 0 <= p <= 1:
        raise ValueError(f"{op}: dropout probability has to be between 0 and 1, but got {p}")


def _drop(op, input, p, training, inplace, generator, feature, alpha, batched=True):
    """The common rule (PyTorch's _dropout_impl): the input itself when not training, p = 0
    or empty; zeros for p = 1; else the masked and scaled input. ``batched`` False: the
    channels are dimension 0 (an input PyTorch unsqueezes first)."""
    input = input if isinstance(input, Tensor) else Tensor._wrap(input)
    if not training or p == 0 or not input.numel():
        return input
    if feature and input.ndim + (not batched) < 2:
        raise ShapeError(f"{op}: feature dropout requires at least 2 dimensions in the input, "
                         f"got shape {tuple(input.shape)}")
    _float_to_drop(op, input, p)
    if inplace:
        return _in_place(input, lambda t: _drop(op, t, p, True, False, generator, feature,
                                                alpha, batched), op)
    if p == 1:
        return input * 0
    shape = tuple(input.shape)
    if feature:
        channels = shape[:1] if not batched else shape[:2]
        shape = channels + (1,) * (input.ndim - len(channels))
    if not alpha:
        return input * dropout_mask(generator, shape, p, input.dtype)
    keep = (resolve(generator).random(shape) >= p).astype(input.dtype)
    a = 1.0 / math.sqrt((_SELU_SATURATION ** 2 * p + 1) * (1 - p))
    shift = (keep - 1) * (_SELU_SATURATION * a) + _SELU_SATURATION * a * p
    return input * (keep * input.dtype.type(a)) + shift.astype(input.dtype)


def dropout1d(input, p=0.5, training=True, inplace=False, generator=None):
    """Zero whole channels of (N, C, L) or unbatched (C, L) input with probability ``p``,
    scaling the kept ones by 1 / (1 - p), in training; the input itself otherwise.

    >>> cr.nn.functional.dropout1d(cr.ones(2, 3, 4), 0.5, training=False).shape
    cr.Size([2, 3, 4])
    """
    _check_p("dropout1d", p)
    if input.ndim not in (2, 3):
        raise ShapeError(f"dropout1d: expected a 2-D (C, L) or 3-D (N, C, L) input, got shape "
                         f"{tuple(input.shape)}; dropout1d drops channels of inputs with one "
                         f"spatial dimension")
    return _drop("dropout1d", input, p, training, inplace, generator, feature=True,
                 alpha=False, batched=input.ndim == 3)


def dropout3d(input, p=0.5, training=True, inplace=False, generator=None):
    """Zero whole channels of (N, C, D, H, W) or unbatched (C, D, H, W) input with
    probability ``p``, scaling the kept ones by 1 / (1 - p), in training; the input itself
    otherwise. Other ranks warn, as PyTorch's, and drop along their first dimension.

    >>> cr.nn.functional.dropout3d(cr.ones(1, 2, 2, 2, 2), 0.5, training=False).sum()
    tensor(16., dtype=float32)
    """
    _check_p("dropout3d", p)
    if input.ndim not in (4, 5):
        warnings.warn(f"dropout3d: Received a {input.ndim}-D input to dropout3d, which is "
                      f"deprecated and will result in an error in a future release. To retain "
                      f"the behavior and silence this warning, please use dropout instead. Note "
                      f"that dropout3d exists to provide channel-wise dropout on inputs with 3 "
                      f"spatial dimensions, a channel dimension, and an optional batch "
                      f"dimension (i.e. 4D or 5D inputs).", UserWarning, stacklevel=2)
    return _drop("dropout3d", input, p, training, inplace, generator, feature=True,
                 alpha=False, batched=input.ndim == 5)


def alpha_dropout(input, p=0.5, training=False, inplace=False, generator=None):
    """Alpha dropout (for SELU networks): in training each element is dropped with
    probability ``p`` to SELU's negative saturation, then all are scaled and shifted so that
    a zero-mean unit-variance input keeps its mean and variance; the input itself otherwise.
    ``training`` is False by default, as in PyTorch.

    >>> cr.nn.functional.alpha_dropout(cr.ones(3), 0.2)
    tensor([1., 1., 1.], dtype=float32)
    """
    _check_p("alpha_dropout", p)
    return _drop("alpha_dropout", input, p, training, inplace, generator, feature=False,
                 alpha=True)


def feature_alpha_dropout(input, p=0.5, training=False, inplace=False, generator=None):
    """Alpha dropout of whole channels (dimension 1 of an input of at least 2 dimensions).
    ``training`` is False by default, as in PyTorch.

    >>> cr.nn.functional.feature_alpha_dropout(cr.ones(2, 3), 0.2)
    tensor([[1., 1., 1.],
            [1., 1., 1.]], dtype=float32)
    """
    _check_p("feature_alpha_dropout", p)
    return _drop("feature_alpha_dropout", input, p, training, inplace, generator, feature=True,
                 alpha=True)


__all__ = ["dropout1d", "dropout3d", "alpha_dropout", "feature_alpha_dropout"]
