"""The partial inverse of max pooling: ``max_unpool1d/2d/3d`` write each pooled value back at
the flat position its index names (``max_pool*d(..., return_indices=True)``), zeros elsewhere.
A composite of ``index_put``, so the gradient reads the upstream gradient at the indices."""
import math

from ..backend import xp
from ..errors import ArgumentError, ShapeError
from .pool import LAYOUTS, TUPLES, _batched, _unbatched


def _output_size(op, input, kernel, stride, padding, output_size):
    """PyTorch's _unpool_output_size: (in - 1) * stride + kernel - 2 * padding, or the given
    size, which must lie strictly within one stride of it."""
    spatial = len(kernel)
    default = [(n - 1) * s + k - 2 * p for n, k, s, p in
               zip(input.shape[-spatial:], kernel, stride, padding)]
    if output_size is None:
        return tuple(default)
    size = [int(n) for n in output_size]
    if len(size) == spatial + 2:
        size = size[2:]
    if len(size) != spatial:
        raise ValueError(f"{op}: output_size should be a sequence of {spatial} or "
                         f"{spatial + 2} elements, got {list(output_size)}")
    for d, (n, s) in enumerate(zip(size, stride)):
        if not default[d] - s < n < default[d] + s:
            raise ValueError(f"{op}: invalid output_size {list(output_size)} (dimension {d} "
                             f"must be between {default[d] - s} and {default[d] + s}, "
                             f"exclusive)")
    return tuple(size)


def _max_unpool(op, spatial, input, indices, kernel_size, stride, padding, output_size):
    from ..tensor import Tensor
    from .shape import index_put, reshape
    tuples = TUPLES[spatial]
    kernel = tuples(kernel_size, "kernel_size", op)
    stride = kernel if stride is None else tuples(stride, "stride", op)
    padding = tuples(padding, "padding", op)
    size = _output_size(op, input, kernel, stride, padding, output_size)
    x, added = _batched(op, input, spatial)
    where = indices._data if isinstance(indices, Tensor) else xp.asarray(indices)
    if where.dtype != xp.int64:
        raise ArgumentError(f"{op}: indices must be int64 (as max_pool{spatial}d returns "
                            f"them), got {where.dtype}")
    if where.shape != tuple(input.shape):
        raise ShapeError(f"{op}: indices of shape {where.shape} do not match the input "
                         f"{tuple(input.shape)} {LAYOUTS[spatial]}")
    if min(size, default=1) < 0:
        raise ShapeError(f"{op}: the output size {size} is negative")
    n, c = x.shape[:2]
    plane = math.prod(size)
    flat = where.reshape(n, c, math.prod(x.shape[2:]))
    if flat.size and (flat.min() < 0 or flat.max() >= plane):
        bad = flat[(flat < 0) | (flat >= plane)][0]
        raise ArgumentError(f"{op}: found an invalid max index {bad}: the output planes have "
                            f"{'x'.join(map(str, size))} = {plane} elements")
    zeros = xp.zeros((n, c, plane), dtype=x.dtype)
    at = (xp.arange(n)[:, None, None], xp.arange(c)[None, :, None], flat)
    out = index_put(zeros, reshape(x, shape=(n, c, flat.shape[2])), index=at)
    return _unbatched(reshape(out, shape=(n, c) + size), added)


def max_unpool1d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """``input`` (N, C, L) written at ``indices`` into zeros of length (L - 1) * stride +
    kernel - 2 * padding (or ``output_size``): what ``max_pool1d`` removed, as zeros.

    >>> values, indices = cr.nn.functional.max_pool1d(cr.tensor([[[1., 3., 2., 5.]]]), 2,
    ...                                                return_indices=True)
    >>> cr.nn.functional.max_unpool1d(values, indices, 2)
    tensor([[[0., 3., 0., 5.]]], dtype=float32)
    """
    return _max_unpool("max_unpool1d", 1, input, indices, kernel_size, stride, padding,
                       output_size)


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """``input`` (N, C, H, W) written at ``indices`` (flat positions h * W + w, from
    ``max_pool2d(..., return_indices=True)``) into zeros of size (H - 1) * stride + kernel -
    2 * padding per dimension, or ``output_size`` (needed when the pooled size was odd).

    >>> x = cr.arange(16.).reshape(1, 1, 4, 4)
    >>> values, indices = cr.nn.functional.max_pool2d(x, 2, return_indices=True)
    >>> cr.nn.functional.max_unpool2d(values, indices, 2)[0, 0]
    tensor([[ 0.,  0.,  0.,  0.],
            [ 0.,  5.,  0.,  7.],
            [ 0.,  0.,  0.,  0.],
            [ 0., 13.,  0., 15.]], dtype=float32)
    """
    return _max_unpool("max_unpool2d", 2, input, indices, kernel_size, stride, padding,
                       output_size)


def max_unpool3d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """``input`` (N, C, D, H, W) written at ``indices`` (flat positions d * H * W + h * W + w)
    into zeros, as ``max_unpool2d`` in three dimensions.

    >>> x = cr.arange(8.).reshape(1, 1, 2, 2, 2)
    >>> values, indices = cr.nn.functional.max_pool3d(x, 2, return_indices=True)
    >>> cr.nn.functional.max_unpool3d(values, indices, 2).flatten()
    tensor([0., 0., 0., 0., 0., 0., 0., 7.], dtype=float32)
    """
    return _max_unpool("max_unpool3d", 3, input, indices, kernel_size, stride, padding,
                       output_size)


__all__ = ["max_unpool1d", "max_unpool2d", "max_unpool3d"]
