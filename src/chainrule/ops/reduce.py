"""Reductions over ``axis`` (an int, a tuple of ints or None for all axes), with ``keepdims``."""
import builtins

from ..backend import xp
from ..errors import ShapeError
from .elementwise import where
from .primitive import primitive


def _normalize_axes(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    for a in axes:
        if not -ndim <= a < builtins.max(ndim, 1):
            raise ValueError(f"axis {a} is out of range for a tensor of {ndim} dimensions")
    return tuple(sorted(a % ndim for a in axes)) if ndim else ()


def _reduces_an_empty_axis(shape, axis):
    return builtins.any(shape[a] == 0 for a in _normalize_axes(axis, len(shape)))


def _restore_axes(grad, x_shape, axis, keepdims):
    """Give a reduced gradient back the size-1 axes it lost, so it broadcasts against x."""
    if keepdims or not x_shape:
        return grad
    kept = list(x_shape)
    for a in _normalize_axes(axis, len(x_shape)):
        kept[a] = 1
    return grad.reshape(tuple(kept))


@primitive
def sum(x, *, axis=None, keepdims=False):
    return x.sum(axis=axis, keepdims=keepdims)


@sum.vjp(formula="{grad} copied to every summed entry of {x}")
def _(grad, x_shape, axis, keepdims):
    return broadcast_to(_restore_axes(grad, x_shape, axis, keepdims), shape=x_shape)


@primitive
def mean(x, *, axis=None, keepdims=False):
    return x.mean(axis=axis, keepdims=keepdims)


@mean.vjp(formula="{grad} / n copied to every averaged entry of {x}")
def _(grad, x_shape, axis, keepdims):
    count = 1
    for a in _normalize_axes(axis, len(x_shape)):
        count *= x_shape[a]
    return broadcast_to(_restore_axes(grad, x_shape, axis, keepdims) / count, shape=x_shape)


def _extremum_vjp(grad, x, out, axis, keepdims):
    # Ties share the gradient equally (as PyTorch's amax/amin do), so the result does not
    # depend on which of several equal values the forward pass happened to pick.
    if axis is None and not keepdims:
        # x.max() of every element: PyTorch's max() shares the gradient among the maxima, or
        # among the NaNs when the result is NaN.
        value = _array(x)
        hits = xp.isnan(value) if xp.isnan(_array(out)) else value == _array(out)
        return where(hits, grad / int(hits.sum()), 0)
    # Over axes: PyTorch's amax/amin scale by the count of hits and multiply by the mask, so
    # a slice whose result is NaN (no element equals it) gets NaN everywhere, as in PyTorch.
    out = _restore_axes(out, x.shape, axis, keepdims)
    grad = _restore_axes(grad, x.shape, axis, keepdims)
    hits = x == out
    count = where(hits, 1.0, 0.0).astype(x.dtype).sum(axis=axis, keepdims=True)
    return grad / count * hits


def _array(value):
    return value._data if hasattr(value, "_data") else value


@primitive
def max(x, *, axis=None, keepdims=False):
    if x.size == 0 and _reduces_an_empty_axis(x.shape, axis):
        raise ShapeError(f"max: the tensor of shape {x.shape} is empty along the reduced "
                         f"axes, so it has no maximum")
    return x.max(axis=axis, keepdims=keepdims)


@max.vjp(formula="{grad} at the maxima of {x} (ties share; NaN is the maximum), 0 elsewhere")
def _(grad, x, out, axis, keepdims):
    return _extremum_vjp(grad, x, out, axis, keepdims)


@primitive
def min(x, *, axis=None, keepdims=False):
    if x.size == 0 and _reduces_an_empty_axis(x.shape, axis):
        raise ShapeError(f"min: the tensor of shape {x.shape} is empty along the reduced "
                         f"axes, so it has no minimum")
    return x.min(axis=axis, keepdims=keepdims)


@min.vjp(formula="{grad} at the minima of {x} (ties share; NaN is the minimum), 0 elsewhere")
def _(grad, x, out, axis, keepdims):
    return _extremum_vjp(grad, x, out, axis, keepdims)


from .shape import broadcast_to  # noqa: E402


@primitive(differentiable=False)
def any(x, *, axis=None, keepdims=False):
    """Whether any element (along ``axis``) is nonzero; a bool tensor without gradient."""
    return x.any(axis=axis, keepdims=keepdims)


@primitive(differentiable=False)
def all(x, *, axis=None, keepdims=False):
    """Whether every element (along ``axis``) is nonzero; a bool tensor without gradient."""
    return x.all(axis=axis, keepdims=keepdims)
