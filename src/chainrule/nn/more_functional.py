"""PReLU, GLU, pixel shuffling, RMS and instance normalisation and the pairwise distance, as
functions with ``torch.nn.functional``'s names and signatures, composed of existing ops."""
import math

from ..autograd import no_grad
from ..backend import xp
from ..errors import DimError, DtypeError, ShapeError
from ..ops import sigmoid, where
from ..ops import norm as ops_norm
from ..ops.normalization import (_float_input, _half_with_float_parameters, _in_float32,
                                  _with_half_statistics, normalize)
from ..ops.shape import axis_of
from ..tensor import Tensor


def _as_tensor(x):
    return x if isinstance(x, Tensor) else Tensor._wrap(x)


def prelu(input, weight):
    """max(0, x) + weight * min(0, x), PyTorch's F.prelu: ``weight`` holds one slope, or one
    per channel (dimension 1).

    >>> cr.nn.functional.prelu(cr.tensor([[-2., 3.]]), cr.tensor([0.25]))
    tensor([[-0.5,  3. ]], dtype=float32)
    """
    input, weight = _as_tensor(input), _as_tensor(weight)
    _float_input("prelu", input)
    if weight.dtype != input.dtype:
        raise DtypeError(f"prelu: the input of shape {tuple(input.shape)} is {input.dtype} but "
                         f"the weight is {weight.dtype}; PyTorch's prelu does not promote")
    if weight.ndim > 1:
        raise ShapeError(f"prelu: weight must be 1-D or 0-D, got shape {tuple(weight.shape)}")
    count = weight.numel()
    if count != 1:
        channels = input.shape[1] if input.ndim >= 2 else 1
        if channels != count:
            raise ShapeError(f"prelu: weight has {count} slopes but the input of shape "
                             f"{tuple(input.shape)} has {channels} channels (dimension 1; "
                             f"an input of fewer dimensions has one)")
        weight = weight.reshape((count,) + (1,) * (input.ndim - 2))
    elif weight.ndim:
        weight = weight.reshape(())
    # At exactly 0 the slope applies, as in PyTorch (so the weight's gradient there is 0).
    return where(input.detach()._data > 0, input, weight * input)


def glu(input, dim=-1):
    """The gated linear unit, PyTorch's F.glu: ``a * sigmoid(b)`` where ``a`` and ``b`` are
    the two halves of ``input`` along ``dim``.

    >>> cr.nn.functional.glu(cr.tensor([1., 2., 0., 100.]))
    tensor([0.5, 2. ], dtype=float32)
    """
    input = _as_tensor(input)
    _float_input("glu", input)
    if input.ndim == 0:
        raise DimError("glu: does not support 0-d inputs, which cannot be halved")
    axis = axis_of("glu", dim, input.ndim)
    if input.shape[axis] % 2:
        raise ShapeError(f"glu: dimension {dim} of the input of shape {tuple(input.shape)} has "
                         f"odd size {input.shape[axis]}; halving it needs an even size")
    a, b = input.chunk(2, dim=axis)
    return a * sigmoid(b)


def _check_factor(op, name, factor):
    if isinstance(factor, bool) or not isinstance(factor, (int, xp.integer)) or factor < 1:
        raise ValueError(f"{op}: {name} must be a positive int, got {factor!r}")


def pixel_shuffle(input, upscale_factor):
    """(*, C r^2, H, W) to (*, C, H r, W r), PyTorch's F.pixel_shuffle (r = upscale_factor).

    >>> cr.nn.functional.pixel_shuffle(cr.arange(4.).reshape(1, 4, 1, 1), 2)
    tensor([[[[0., 1.],
              [2., 3.]]]], dtype=float32)
    """
    input = _as_tensor(input)
    _check_factor("pixel_shuffle", "upscale_factor", upscale_factor)
    r = int(upscale_factor)
    if input.ndim < 3:
        raise ShapeError(f"pixel_shuffle: expected an input of at least 3 dimensions, got "
                         f"shape {tuple(input.shape)}")
    *batch, channels, h, w = input.shape
    if channels % (r * r):
        raise ShapeError(f"pixel_shuffle: {channels} channels (input of shape "
                         f"{tuple(input.shape)}) do not divide by upscale_factor squared, "
                         f"{r * r}")
    n = len(batch)
    x = input.reshape((*batch, channels // (r * r), r, r, h, w))
    x = x.permute(*range(n), n, n + 3, n + 1, n + 4, n + 2)
    return x.reshape((*batch, channels // (r * r), h * r, w * r))


def pixel_unshuffle(input, downscale_factor):
    """(*, C, H r, W r) to (*, C r^2, H, W), the inverse of pixel_shuffle (PyTorch's
    F.pixel_unshuffle, r = downscale_factor).

    >>> cr.nn.functional.pixel_unshuffle(cr.arange(4.).reshape(1, 1, 2, 2), 2).flatten()
    tensor([0., 1., 2., 3.], dtype=float32)
    """
    input = _as_tensor(input)
    _check_factor("pixel_unshuffle", "downscale_factor", downscale_factor)
    r = int(downscale_factor)
    if input.ndim < 3:
        raise ShapeError(f"pixel_unshuffle: expected an input of at least 3 dimensions, got "
                         f"shape {tuple(input.shape)}")
    *batch, channels, h, w = input.shape
    if h % r or w % r:
        raise ShapeError(f"pixel_unshuffle: height {h} and width {w} (input of shape "
                         f"{tuple(input.shape)}) must both divide by downscale_factor {r}")
    n = len(batch)
    x = input.reshape((*batch, channels, h // r, r, w // r, r))
    x = x.permute(*range(n), n, n + 2, n + 4, n + 1, n + 3)
    return x.reshape((*batch, channels * r * r, h // r, w // r))


def rms_norm(input, normalized_shape, weight=None, eps=None):
    """x / sqrt(mean(x^2) + eps) over the last ``len(normalized_shape)`` dimensions, times
    ``weight``, PyTorch's F.rms_norm; ``eps=None`` is the machine epsilon of the input's dtype.

    >>> cr.nn.functional.rms_norm(cr.tensor([[3., 4.]]), (2,), eps=0.0)
    tensor([[0.84852815, 1.1313709 ]], dtype=float32)
    """
    input = _as_tensor(input)
    shape = ((normalized_shape,) if isinstance(normalized_shape, int)
             else tuple(normalized_shape))
    if not shape or tuple(input.shape[input.ndim - len(shape):]) != shape \
            or len(shape) > input.ndim:
        raise ShapeError(f"rms_norm: normalized_shape {shape} does not match the last "
                         f"dimensions of the input's shape {tuple(input.shape)}")
    if weight is not None and tuple(weight.shape) != shape:
        raise ShapeError(f"rms_norm: weight of shape {tuple(weight.shape)} should have the "
                         f"normalized_shape {shape}")
    if input.dtype == xp.float16:
        # PyTorch computes a float16 rms_norm in float32 (eps=None then being float32's
        # epsilon, not float16's, which would swamp small inputs) and rounds once.
        return rms_norm(input.to(xp.float32), shape, weight, eps).to(xp.float16)
    if eps is None:
        eps = float(xp.finfo(input.dtype).eps) if input.dtype.kind == "f" else 1e-7
    axes = tuple(range(input.ndim - len(shape), input.ndim))
    out = input * ((input * input).mean(axis=axes, keepdims=True) + eps).rsqrt()
    if weight is None:
        return out
    # PyTorch's result keeps the input's dtype whatever the weight's (its type_as(input)).
    out = out * weight
    return out if out.dtype == input.dtype else out.to(input.dtype)


def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None,
                  use_input_stats=True, momentum=0.1, eps=1e-5):
    """Normalise each channel of each example over its positions, PyTorch's
    F.instance_norm. With ``use_input_stats`` the running statistics, if given, are updated in
    place with the batch average of the per-instance mean and unbiased variance; without it
    they are used instead.

    >>> cr.nn.functional.instance_norm(cr.tensor([[[1., 3.], [0., 10.]]]))
    tensor([[[-0.999995 ,  0.999995 ],
             [-0.9999998,  0.9999998]]], dtype=float32)
    """
    input = _as_tensor(input)
    if input.ndim < 3:
        raise ShapeError(f"instance_norm: expected an (N, C, ...) input of at least 3 "
                         f"dimensions, got shape {tuple(input.shape)}")
    _float_input("instance_norm", input)
    channels = input.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != (channels,):
            raise ShapeError(f"instance_norm: {name} must have shape ({channels},), got "
                             f"{tuple(t.shape)}")
    if _half_with_float_parameters(input, weight, bias):
        return _instance_norm(input.to(xp.float32), running_mean, running_var,
                              _in_float32(weight), _in_float32(bias), use_input_stats, momentum,
                              eps, half_statistics=True).to(xp.float16)
    return _instance_norm(input, running_mean, running_var, weight, bias, use_input_stats,
                          momentum, eps)


def _instance_norm(input, running_mean, running_var, weight, bias, use_input_stats, momentum,
                   eps, half_statistics=False):
    channels = input.shape[1]
    for name, t in (("weight", weight), ("bias", bias)):
        # the running statistics may differ (PyTorch casts them), the affine part may not
        if t is not None and t.dtype != input.dtype:
            raise DtypeError(f"instance_norm: {name} has dtype {t.dtype} but the input of shape "
                             f"{tuple(input.shape)} has {input.dtype} (as in PyTorch, which "
                             f"refuses mixed dtypes here)")
    if (running_mean is None) != (running_var is None):
        raise ValueError(f"instance_norm: give both running_mean and running_var or neither "
                         f"(as PyTorch), got only "
                         f"{'running_mean' if running_var is None else 'running_var'}")
    axes = tuple(range(2, input.ndim))
    per_channel = (channels,) + (1,) * len(axes)
    if use_input_stats:
        count = math.prod(input.shape[2:])
        if count <= 1:
            raise ValueError(f"instance_norm: expected more than 1 spatial element when "
                             f"training, got input of shape {tuple(input.shape)}")
        out = normalize(input, axes=axes, eps=eps)
        if half_statistics:
            out = _with_half_statistics(out, input, axes, eps)
        if running_mean is not None:
            with no_grad():
                data = input.detach()._data
                batch_mean = data.mean(axis=axes).mean(axis=0)
                running_mean.copy_(running_mean._data * (1 - momentum) + batch_mean * momentum)
                batch_var = data.var(axis=axes, ddof=1).mean(axis=0)
                running_var.copy_(running_var._data * (1 - momentum) + batch_var * momentum)
    else:
        if running_mean is None:
            raise ValueError("instance_norm: use_input_stats=False needs running_mean and "
                             "running_var")
        shift = running_mean.detach().reshape(per_channel).to(input.dtype)
        scale = running_var.detach().reshape(per_channel).to(input.dtype)
        out = (input - shift) / (scale + eps).sqrt()
    if weight is not None:
        out = out * weight.reshape(per_channel)
    if bias is not None:
        out = out + bias.reshape(per_channel)
    return out


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    """The p-norm of ``x1 - x2 + eps`` along the last dimension, PyTorch's
    F.pairwise_distance (the two broadcast against each other first).

    >>> cr.nn.functional.pairwise_distance(cr.tensor([[3., 4.]]), cr.zeros(1, 2), eps=0.0)
    tensor([5.], dtype=float32)
    """
    x1, x2 = _as_tensor(x1), _as_tensor(x2)
    try:
        shape = xp.broadcast_shapes(tuple(x1.shape), tuple(x2.shape))
    except ValueError:
        raise ShapeError(f"pairwise_distance: x1 of shape {tuple(x1.shape)} and x2 of shape "
                         f"{tuple(x2.shape)} do not broadcast") from None
    diff = x1 - x2 + eps
    if not shape:  # a 0-d difference is a vector of one, as in PyTorch
        return ops_norm(diff.reshape((1,)), p, axis=0)
    return ops_norm(diff, p, axis=len(shape) - 1, keepdims=keepdim)


__all__ = ["prelu", "glu", "pixel_shuffle", "pixel_unshuffle", "rms_norm", "instance_norm",
           "pairwise_distance"]
