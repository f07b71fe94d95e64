"""Adaptive max pooling, PyTorch's F.adaptive_max_pool1d/2d: max pooling to a fixed output
size, window i along a dimension of n inputs covering floor(i*n/o) to ceil((i+1)*n/o).

The windows differ in length, so no strided view holds them. The winners (each window's
pooling argmax, PyTorch's ``return_indices``) are found on arrays, and the output is a
``gather`` of the input at them: gather's VJP sends each gradient to its window's winner, and
gather differentiates again to any order, so this op declares no VJP of its own.
"""
import math
import numbers

from ..backend import xp
from ..errors import ArgumentError, DtypeError, ShapeError
from .index import gather
from .pool import LAYOUTS
from .shape import reshape


def _sizes(op, output_size, spatial, shape):
    """``output_size`` as one int per spatial dimension (``None`` keeps the input's size)."""
    if output_size is None or isinstance(output_size, numbers.Integral):
        sizes = (output_size,) * spatial
    else:
        sizes = tuple(output_size)
    if len(sizes) != spatial:
        raise ArgumentError(f"{op}: output_size must have {spatial} element"
                            f"{'s' if spatial > 1 else ''}, got {output_size!r}")
    sizes = tuple(n if o is None else o for n, o in zip(shape, sizes))
    for o in sizes:
        if isinstance(o, bool) or not isinstance(o, numbers.Integral) or o < 0:
            raise ArgumentError(f"{op}: output_size must be non-negative ints, got "
                                f"{output_size!r}")
    return tuple(int(o) for o in sizes)


def _window_positions(n, o):
    """(o, K): the input positions of each of the o windows over n inputs, K the longest
    window; a shorter window repeats its last position, which changes neither its maximum nor
    which position wins (the repeat comes after the first)."""
    i = xp.arange(o)
    start, end = (i * n) // o, -(-(i + 1) * n // o)
    longest = int((end - start).max()) if o else 1
    return xp.minimum(start[:, None] + xp.arange(longest), end[:, None] - 1)


def _winners(x, sizes):
    """(N, C, *sizes) int64: each window's winner as a flat position in its (N, C) plane,
    as PyTorch picks it: the first maximum in row-major order, the last NaN where there is
    one."""
    spatial = len(sizes)
    positions = [_window_positions(n, o) for n, o in zip(x.shape[2:], sizes)]
    flat = 0  # (*sizes, *window lengths): the flat position of each candidate
    for axis, (n, where) in enumerate(zip(x.shape[2:], positions)):
        shape = [1] * (2 * spatial)
        shape[axis], shape[spatial + axis] = where.shape
        flat = flat * n + where.reshape(shape)
    flat = flat.reshape(sizes + (-1,)) if all(sizes) else xp.zeros(sizes + (1,), xp.int64)
    candidates = x.reshape(x.shape[:2] + (math.prod(x.shape[2:]),))[:, :, flat]  # (N, C, *sizes, K)
    best = candidates.max(axis=-1, keepdims=True) if candidates.size else candidates[..., :1]
    hit = candidates == best
    if x.dtype.kind == "f":
        nan = xp.isnan(candidates)
        last_nan = nan.shape[-1] - 1 - xp.argmax(nan[..., ::-1], axis=-1)
        first = xp.where(nan.any(axis=-1), last_nan, xp.argmax(hit, axis=-1))
    else:
        first = xp.argmax(hit, axis=-1)
    return xp.take_along_axis(xp.broadcast_to(flat, candidates.shape), first[..., None],
                              axis=-1)[..., 0].astype(xp.int64)


def _adaptive_max_pool(op, spatial, input, output_size, return_indices):
    from ..tensor import Tensor, as_input
    x = as_input(input)
    if x.ndim not in (spatial + 1, spatial + 2):
        raise ShapeError(f"{op}: input must be {spatial + 2}-D {LAYOUTS[spatial]} or "
                         f"{spatial + 1}-D without the batch, got shape {tuple(x.shape)}")
    added = x.ndim == spatial + 1
    if added:
        x = reshape(x, shape=(1,) + tuple(x.shape))
    if 0 in x.shape[1:]:
        raise ShapeError(f"{op}: only the batch dimension may be empty, got shape "
                         f"{tuple(input.shape)}")
    if x.dtype.kind != "f":
        raise DtypeError(f"{op}: not implemented for {x.dtype} input (as in PyTorch)")
    sizes = _sizes(op, output_size, spatial, x.shape[2:])
    winners = _winners(x._data, sizes)
    planes = (x.shape[0], x.shape[1], math.prod(x.shape[2:]))
    out = gather(reshape(x, shape=planes), 2, winners.reshape(planes[:2] + (math.prod(sizes),)))
    shape = (tuple(x.shape[1:2]) if added else tuple(x.shape[:2])) + sizes
    out = reshape(out, shape=shape)
    if not return_indices:
        return out
    return out, Tensor._wrap(winners.reshape(shape))


def adaptive_max_pool1d(input, output_size, return_indices=False):
    """Max pooling of ``input`` (N, C, L) or (C, L) to ``output_size`` outputs: output i is
    the maximum of inputs floor(i*L/o) to ceil((i+1)*L/o), as in PyTorch, and its gradient
    goes to that maximum (the first at a tie). ``return_indices`` also returns each maximum's
    position along L.

    >>> x = cr.tensor([[[1., 5., 2., 0., 3.]]])
    >>> cr.nn.functional.adaptive_max_pool1d(x, 2, return_indices=True)
    (tensor([[[5., 3.]]], dtype=float32), tensor([[[1, 4]]], dtype=int64))
    """
    return _adaptive_max_pool("adaptive_max_pool1d", 1, input, output_size, return_indices)


def adaptive_max_pool2d(input, output_size, return_indices=False):
    """Max pooling of ``input`` (N, C, H, W) or (C, H, W) to ``output_size`` (an int, or a
    pair in which ``None`` keeps that dimension's size): window (i, j) covers rows
    floor(i*H/oh) to ceil((i+1)*H/oh) and the columns likewise, as in PyTorch. The gradient
    goes to each window's maximum (the first in row-major order at a tie);
    ``return_indices`` also returns its flat position h * W + w in its plane.

    >>> x = cr.arange(9.).reshape(1, 1, 3, 3)
    >>> cr.nn.functional.adaptive_max_pool2d(x, 2)
    tensor([[[[4., 5.],
              [7., 8.]]]], dtype=float32)
    """
    return _adaptive_max_pool("adaptive_max_pool2d", 2, input, output_size, return_indices)


__all__ = ["adaptive_max_pool1d", "adaptive_max_pool2d"]
