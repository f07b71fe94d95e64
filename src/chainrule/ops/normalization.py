"""Normalisation layers. Batch, layer and group norm share one primitive, ``normalize``:
xhat = (x - mean) / sqrt(var + eps) over some axes, whose VJP is the textbook's three terms
(through x directly, through the mean, through the variance) in one line. The affine part and
the running statistics are ordinary ops around it, except in LayerNorm with a scale, whose
normalisation and affine part are one primitive (``layer_norm_affine``, the transformer's
most frequent node after the matrix products)."""
import math

from ..engine import is_grad_enabled, no_grad
from ..argtypes import check_between
from ..backend import xp
from ..dtypes import default_float
from ..random import dropout_mask
from ..tensor import Tensor
from ..errors import DtypeError, ShapeError

from .composite import var
from .elementwise import sqrt
from .primitive import primitive
from .reduce import mean
from .shape import reshape


@primitive
def normalize(x, *, axes, eps):
    """(x - mean) / sqrt(var + eps) over ``axes`` (the biased variance)."""
    centred = x - x.mean(axis=axes, keepdims=True)
    return centred / xp.sqrt((centred * centred).mean(axis=axes, keepdims=True) + eps)


@normalize.vjp(formula="({grad} - mean({grad}) - xhat mean({grad} xhat)) / std, "
                       "xhat = {out}: through x, the mean and the variance")
def _normalize_vjp(grad, x, axes, eps):
    # xhat and std recomputed from x with ops, so that this VJP is itself differentiable.
    centred = x - mean(x, axis=axes, keepdims=True)
    inv_std = 1 / sqrt(var(x, axis=axes, keepdims=True, correction=0) + eps)
    xhat = centred * inv_std
    return inv_std * (grad - mean(grad, axis=axes, keepdims=True)
                      - xhat * mean(grad * xhat, axis=axes, keepdims=True))


@primitive
def layer_norm_affine(x, weight, bias, *, axes, eps):
    """LayerNorm with its scale and shift, one node: xhat * weight + bias, xhat = (x - mean)
    / sqrt(var + eps) over the trailing ``axes`` (``bias`` may be None). The normalisation
    and the affine part as ops would be three nodes, and their backward three passes of the
    engine over arrays of the input's size.

    >>> from chainrule.ops.normalization import layer_norm_affine
    >>> layer_norm_affine(cr.tensor([[1., 3.]]), cr.tensor([2., 1.]), None, axes=(1,), eps=0.)
    tensor([[-2.,  1.]], dtype=float32)
    """
    out = normalize.forward(x, axes=axes, eps=eps)
    out *= weight
    if bias is not None:
        out += bias
    return out


@layer_norm_affine.residual
def _layer_stats(x, axes, eps):
    """The mean and 1 / std over ``axes``, for the VJPs to rebuild xhat with two passes."""
    mean_ = x.mean(axis=axes, keepdims=True)
    centred = x - mean_
    return mean_, 1 / xp.sqrt((centred * centred).mean(axis=axes, keepdims=True) + eps)


def _layer_xhat(x, stats):
    xhat = x - stats[0]
    xhat *= stats[1]
    return xhat


def _leading(x, axes):
    return tuple(range(x.ndim - len(axes)))


def _sum_leading(g, leading):
    # Tensor.sum(()) sums every axis, as PyTorch's; with no leading axes there is nothing to sum.
    return g.sum(leading) if leading else g


@layer_norm_affine.vjp("x", formula="(g - mean(g) - xhat mean(g xhat)) / std, g = {grad} * "
                                    "{weight}, xhat = (x - mean) / std: through x, the mean "
                                    "and the variance")
def _(grad, x, weight, axes, eps, _layer_stats):
    if type(grad) is not xp.ndarray:  # create_graph: the same formula with ops, from x
        return _normalize_vjp(grad * weight, x, axes, eps)
    g = grad * weight
    xhat = _layer_xhat(x, _layer_stats)
    out = g - g.mean(axis=axes, keepdims=True)
    g *= xhat
    xhat *= g.mean(axis=axes, keepdims=True)
    out -= xhat
    out *= _layer_stats[1]
    return out


@layer_norm_affine.vjp("weight", formula="{grad} * xhat summed over the leading axes")
def _(grad, x, axes, eps, _layer_stats):
    if type(grad) is not xp.ndarray:
        centred = x - mean(x, axis=axes, keepdims=True)
        xhat = centred / sqrt(var(x, axis=axes, keepdims=True, correction=0) + eps)
        return _sum_leading(grad * xhat, _leading(x, axes))
    xhat = _layer_xhat(x, _layer_stats)
    xhat *= grad
    return xhat.sum(axis=_leading(x, axes))


@layer_norm_affine.vjp("bias", formula="{grad} summed over the leading axes")
def _(grad, axes, x_shape):
    leading = tuple(range(len(x_shape) - len(axes)))
    if type(grad) is not xp.ndarray:
        return _sum_leading(grad, leading)
    return grad.sum(axis=leading)


def _same_dtype(op, input, **params):
    """PyTorch's CPU normalisations refuse parameters of another float dtype than the input
    (float64 statistics on a float32 batch), where the formulas here would promote the result."""
    for name, t in params.items():
        if t is not None and t.dtype != input.dtype:
            raise DtypeError(f"{op}: {name} has dtype {t.dtype} but the input of shape "
                             f"{tuple(input.shape)} has {input.dtype}; convert one of them "
                             f"(as in PyTorch, which refuses mixed dtypes here)")


def _float_input(op, input):
    """PyTorch's normalisations have no integer kernels; the formulas here would give float64."""
    if input.dtype.kind != "f":
        raise DtypeError(f"{op}: not implemented for {input.dtype} input of shape "
                         f"{tuple(input.shape)} (as in PyTorch); convert it with .float()")


def _half_with_float_parameters(input, *params):
    """Whether a float16 input runs in float32 and gives float16, as in PyTorch, whose kernels
    compute in float32 and round once: with parameters all float16 (their gradients float16),
    or all float32 (mixed precision; their gradients float32), or none."""
    present = [t for t in params if t is not None]
    return (input.dtype == xp.float16
            and (all(t.dtype == xp.float16 for t in present)
                 or all(t.dtype == xp.float32 for t in present)))


def _in_float32(t):
    return t if t is None or t.dtype != xp.float16 else t.to(xp.float32)


def _with_half_statistics(xhat, x, axes, eps):
    """The batch normalisation ``xhat`` of a float16 batch ``x`` (here in float32) with
    PyTorch's values: its kernel keeps the batch mean and 1 / std in float16 and normalises
    with those in float32. The gradient stays the float32 formula's: (xhat - xhat) + value is
    the value exactly and differentiates as xhat."""
    data = x.detach()._data
    mean = data.mean(axis=axes, keepdims=True)
    centred = data - mean
    inv_std = 1 / xp.sqrt((centred * centred).mean(axis=axes, keepdims=True) + eps)
    mean, inv_std = (a.astype(xp.float16).astype(xp.float32) for a in (mean, inv_std))
    return (xhat - xhat.detach()) + Tensor._wrap((data - mean) * inv_std)


def _normalize(x, axes, eps):
    return normalize(x, axes=tuple(axes), eps=eps)


def _per_channel(t, ndim):
    return reshape(t, shape=(-1,) + (1,) * (ndim - 2))


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    """Normalise each channel (dimension 1) over the batch and the positions. In training the
    batch statistics are used and the running ones updated in place, as in PyTorch: new =
    (1 - momentum) * old + momentum * batch value, with the unbiased batch variance; in
    evaluation the running statistics are used.

    >>> x = cr.tensor([[1., 10.], [3., 30.]])
    >>> mean, var = cr.zeros(2), cr.ones(2)
    >>> cr.nn.functional.batch_norm(x, mean, var, training=True)
    tensor([[-0.999995, -1.      ],
            [ 0.999995,  1.      ]], dtype=float32)
    >>> mean
    tensor([0.2, 2. ], dtype=float32)
    """
    if input.ndim < 2:
        raise ShapeError(f"batch_norm: input must have a batch and a channel dimension, got "
                         f"shape {input.shape}")
    if momentum is None:  # BatchNorm's cumulative average, which this function does not do
        raise TypeError(f"batch_norm: momentum must be a number, got None (as in PyTorch's "
                        f"F.batch_norm; the input has shape {tuple(input.shape)})")
    _float_input("batch_norm", input)
    channels = input.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != (channels,):
            raise ShapeError(f"batch_norm: {name} must have shape ({channels},), got "
                             f"{tuple(t.shape)}")
    if _half_with_float_parameters(input, running_mean, running_var, weight, bias):
        stats = [_in_float32(t) for t in (running_mean, running_var)]
        out = _batch_norm(input.to(xp.float32), *stats, _in_float32(weight), _in_float32(bias),
                          training, momentum, eps, half_statistics=True).to(xp.float16)
        with no_grad():  # float16 statistics updated in float32, rounded once
            for kept, used in zip((running_mean, running_var), stats):
                if used is not kept:
                    kept.copy_(used)
        return out
    return _batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)


def _batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps,
                half_statistics=False):
    axes = (0,) + tuple(range(2, input.ndim))
    channels = input.shape[1]
    _same_dtype("batch_norm", input, running_mean=running_mean, running_var=running_var,
                weight=weight, bias=bias)
    if (running_mean is None) != (running_var is None):
        raise ValueError(f"batch_norm: give both running_mean and running_var or neither, "
                         f"got only {'running_mean' if running_var is None else 'running_var'}")
    for name, t in (("running_mean", running_mean), ("running_var", running_var)):
        if t is not None and t.requires_grad and is_grad_enabled():
            # PyTorch's batch_norm is not differentiable in its running statistics.
            raise RuntimeError(f"batch_norm: {name} of shape {tuple(t.shape)} requires grad, "
                               f"but batch_norm is not differentiable with respect to it "
                               f"(as in PyTorch); pass {name}.detach()")
    if eps < 0 or (training and eps == 0):
        bound = "positive during training" if training else "non-negative"
        raise ValueError(f"batch_norm: eps must be {bound}, got {eps} (as in PyTorch; the "
                         f"input has shape {tuple(input.shape)})")
    if training:
        count = input.numel() // channels
        if count <= 1:
            raise ValueError(f"batch_norm: expected more than 1 value per channel when "
                             f"training, got input of shape {input.shape}")
        out = _normalize(input, axes, eps)
        if half_statistics:
            out = _with_half_statistics(out, input, axes, eps)
        if running_mean is not None:
            with no_grad():
                data = input.detach()._data
                batch_mean = data.mean(axis=axes)
                batch_var = data.var(axis=axes) * (count / (count - 1))
                running_mean.copy_(running_mean._data * (1 - momentum) + batch_mean * momentum)
                running_var.copy_(running_var._data * (1 - momentum) + batch_var * momentum)
    else:
        if running_mean is None or running_var is None:
            raise ValueError("batch_norm: evaluation needs running_mean and running_var")
        shift = _per_channel(running_mean.detach(), input.ndim)
        scale = _per_channel(running_var.detach(), input.ndim)
        out = (input - shift) / sqrt(scale + eps)
    if weight is not None:
        out = out * _per_channel(weight, input.ndim)
    if bias is not None:
        out = out + _per_channel(bias, input.ndim)
    return out


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalise over the last ``len(normalized_shape)`` dimensions of each example.

    >>> cr.nn.functional.layer_norm(cr.tensor([[1., 3.]]), (2,))
    tensor([[-0.999995,  0.999995]], dtype=float32)
    """
    _float_input("layer_norm", input)
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if not shape:
        raise ShapeError(f"layer_norm: normalized_shape must have at least one dimension, got "
                         f"() for the input of shape {tuple(input.shape)} (as in PyTorch)")
    if len(shape) > input.ndim or tuple(input.shape[input.ndim - len(shape):]) != shape:
        raise ShapeError(f"layer_norm: normalized_shape {shape} does not match the last "
                         f"dimensions of the input's shape {input.shape}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != shape:
            raise ShapeError(f"layer_norm: expected {name} of the same shape as "
                             f"normalized_shape {shape}, got {name} of shape {tuple(t.shape)}")
    if _half_with_float_parameters(input, weight, bias):
        return layer_norm(input.to(xp.float32), shape, _in_float32(weight), _in_float32(bias),
                          eps).to(xp.float16)
    _same_dtype("layer_norm", input, weight=weight, bias=bias)
    axes = tuple(range(input.ndim - len(shape), input.ndim))
    if weight is not None and input.dtype.kind == "f" and weight.dtype == input.dtype and \
            (bias is None or bias.dtype == input.dtype):
        return layer_norm_affine(input, weight, bias, axes=axes, eps=eps)
    out = _normalize(input, axes, eps)
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """Normalise each example over groups of ``C / num_groups`` channels (and all positions).

    >>> cr.nn.functional.group_norm(cr.tensor([[1., 3., 5., 9.]]), 2)
    tensor([[-0.999995 ,  0.999995 , -0.9999988,  0.9999988]], dtype=float32)
    """
    if input.ndim < 2:
        raise ShapeError(f"group_norm: expected an input (N, C, ...) of at least 2 dimensions, "
                         f"got shape {tuple(input.shape)}")
    _float_input("group_norm", input)
    n, c = input.shape[:2]
    if num_groups <= 0:
        raise ValueError(f"group_norm: num_groups must be positive, got {num_groups} for the "
                         f"input of shape {tuple(input.shape)} (as in PyTorch)")
    if c % num_groups:
        raise ShapeError(f"group_norm: {c} channels do not split into {num_groups} groups")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != (c,):
            raise ShapeError(f"group_norm: expected {name} of shape ({c},), one per channel of "
                             f"the input of shape {tuple(input.shape)}, got {tuple(t.shape)}")
    if _half_with_float_parameters(input, weight, bias):
        return group_norm(input.to(xp.float32), num_groups, _in_float32(weight),
                          _in_float32(bias), eps).to(xp.float16)
    _same_dtype("group_norm", input, weight=weight, bias=bias)
    per_group = c // num_groups * math.prod(input.shape[2:])  # not -1: the batch may be empty
    grouped = reshape(input, shape=(n, num_groups, per_group))
    out = reshape(_normalize(grouped, (2,), eps), shape=tuple(input.shape))
    if weight is not None:
        out = out * _per_channel(weight, input.ndim)
    if bias is not None:
        out = out + _per_channel(bias, input.ndim)
    return out


def dropout(x, p=0.5, training=True, inplace=False, generator=None):
    """Inverted dropout: in training, zero each element with probability ``p`` and scale the
    survivors by 1/(1-p), so the expected output equals ``x`` and evaluation needs no
    rescaling; outside training, return ``x`` unchanged. ``inplace`` writes the result into
    ``x`` (PyTorch's fourth argument, so ``F.dropout(x, p, training, inplace)`` reads alike).

    >>> cr.nn.functional.dropout(cr.ones(4), p=0.5, training=False)
    tensor([1., 1., 1., 1.], dtype=float32)
    """
    check_probability(p)
    x = x if isinstance(x, Tensor) else Tensor._wrap(x)
    if not training or p == 0:
        return x
    _float_to_drop("dropout", x, p)
    if inplace:
        return _in_place(x, lambda t: dropout(t, p, True, generator=generator), "dropout")
    if p == 1:
        return x * 0
    dtype = x.dtype if x.dtype.kind == "f" else default_float()
    return x * dropout_mask(generator, tuple(x.shape), p, dtype)


def _in_place(x, function, op):
    """``function(x)`` written into ``x`` (recorded in the graph; refused on a leaf that
    requires grad, as PyTorch); an empty ``x`` is left alone, as PyTorch's."""
    if not x.numel():
        return x
    return x._inplace(lambda t, _: function(t), None, f"{op}(inplace=True)")


def _float_to_drop(op, x, p):
    """Scaling the survivors by 1 / (1 - p) needs a float; PyTorch refuses an integer input
    for 0 < p < 1 (p = 1 zeroes it in its own dtype)."""
    if p < 1 and x.dtype.kind not in "fc":
        raise DtypeError(f"{op}: p={p} in training needs a floating-point input, got "
                         f"{x.dtype} of shape {tuple(x.shape)} (as in PyTorch)")


def check_probability(p):
    check_between("dropout probability p", p, 0, 1)


def dropout2d(input, p=0.5, training=True, inplace=False, generator=None):
    """Zero whole channels with probability ``p`` (scaling the kept ones by 1 / (1 - p)) in
    training; the identity otherwise. ``inplace`` writes the result into ``input``.

    >>> cr.nn.functional.dropout2d(cr.ones(1, 2, 2, 2), 0.5, training=False).sum()
    tensor(8., dtype=float32)
    """
    if not 0 <= p <= 1:
        raise ValueError(f"dropout2d: p must be in [0, 1], got {p}")
    if not training or p == 0:
        return input
    _float_to_drop("dropout2d", input, p)
    if inplace:
        return _in_place(input, lambda t: dropout2d(t, p, True, generator=generator),
                         "dropout2d")
    if p == 1:
        return input * 0
    shape = tuple(input.shape[:2]) + (1,) * (input.ndim - 2)
    return input * dropout_mask(generator, shape, p, input.dtype)


__all__ = ["batch_norm", "layer_norm", "group_norm", "dropout", "dropout2d", "check_probability"]
