"""Reductions over ``axis`` (an int, a tuple of ints or None for all axes), with ``keepdims``."""
import builtins
import warnings

from ..backend import xp
from ..errors import ShapeError
from .elementwise import abs, exp, in_single, log, pow, sign, where
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
    # Bools and unsigned integers sum to int64, as in PyTorch (NumPy gives uint64).
    return x.sum(axis=axis, keepdims=keepdims, dtype=xp.int64 if x.dtype.kind in "bu" else None)


@sum.vjp(formula="{grad} copied to every summed entry of {x}")
def _(grad, x_shape, axis, keepdims):
    return broadcast_to(_restore_axes(grad, x_shape, axis, keepdims), shape=x_shape)


@primitive
def mean(x, *, axis=None, keepdims=False):
    if not x.size:  # NaN, silently, as PyTorch's (NumPy warns "Mean of empty slice")
        with warnings.catch_warnings(), xp.errstate(invalid="ignore", divide="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)
            return x.mean(axis=axis, keepdims=keepdims)
    return x.mean(axis=axis, keepdims=keepdims)


@mean.vjp(formula="{grad} / n copied to every averaged entry of {x}")
def _(grad, x_shape, axis, keepdims):
    count = 1
    for a in _normalize_axes(axis, len(x_shape)):
        count *= x_shape[a]
    return broadcast_to(_restore_axes(grad, x_shape, axis, keepdims) / count, shape=x_shape)


def _extremum_vjp(grad, x, out, axis, keepdims, nan_is_extreme):
    # Ties share the gradient equally (as PyTorch's amax/amin do), so the result does not
    # depend on which of several equal values the forward pass happened to pick.
    if nan_is_extreme or axis is None and not keepdims:
        # x.max() of every element (and a norm's max |x|): PyTorch shares the gradient among
        # the maxima, or among the NaNs where the result is NaN.
        out = _restore_axes(out, x.shape, axis, keepdims)
        grad = _restore_axes(grad, x.shape, axis, keepdims)
        value, result = _array(x), _array(out)
        hits = (value == result) | (xp.isnan(value) & xp.isnan(result))
        count = hits.sum(axis=axis, keepdims=True).astype(value.dtype)
        return where(hits, grad / count, 0)
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
def max(x, *, axis=None, keepdims=False, nan_is_extreme=False):
    if x.size == 0 and _reduces_an_empty_axis(x.shape, axis):
        raise ShapeError(f"max: the tensor of shape {x.shape} is empty along the reduced "
                         f"axes, so it has no maximum")
    return x.max(axis=axis, keepdims=keepdims)


@max.vjp(formula="{grad} at the maxima of {x} (ties share; NaN is the maximum), 0 elsewhere")
def _(grad, x, out, axis, keepdims, nan_is_extreme):
    return _extremum_vjp(grad, x, out, axis, keepdims, nan_is_extreme)


@primitive
def min(x, *, axis=None, keepdims=False, nan_is_extreme=False):
    if x.size == 0 and _reduces_an_empty_axis(x.shape, axis):
        raise ShapeError(f"min: the tensor of shape {x.shape} is empty along the reduced "
                         f"axes, so it has no minimum")
    return x.min(axis=axis, keepdims=keepdims)


@min.vjp(formula="{grad} at the minima of {x} (ties share; NaN is the minimum), 0 elsewhere")
def _(grad, x, out, axis, keepdims, nan_is_extreme):
    return _extremum_vjp(grad, x, out, axis, keepdims, nan_is_extreme)


@primitive
def var(x, *, axis=None, keepdims=False, correction=1):
    """The variance over ``axis``, dividing by N - correction; a divisor of 0 or less gives inf
    or nan, as in PyTorch (composite.var is the public spelling).

    >>> cr.ops.reduce.var(cr.tensor([1., 2., 3., 4.]))
    tensor(1.6666666, dtype=float32)
    """
    return _wide_variance("var", x, axis, keepdims, correction).astype(x.dtype, copy=False)


@var.vjp(formula="{grad} * 2 ({x} - mean({x})) / (N - correction)")
def _(grad, x, axis, keepdims, correction):
    return _variance_vjp(grad, x, axis, keepdims, correction)


@primitive
def std(x, *, axis=None, keepdims=False, correction=1):
    """The standard deviation over ``axis``: the square root of ``var``, taken before the
    result is rounded to x's dtype, so that it overflows only where the std itself does.

    >>> cr.ops.reduce.std(cr.tensor([1e20, -1e20]))
    tensor(1.4142135e+20, dtype=float32)
    """
    return xp.sqrt(_wide_variance("std", x, axis, keepdims, correction)).astype(x.dtype,
                                                                              copy=False)


@std.vjp(formula="{grad} / (2 {out}) * 2 ({x} - mean({x})) / (N - correction); 0 where {out} = 0")
def _(grad, x, out, axis, keepdims, correction):
    # sqrt's slope is infinite at 0: PyTorch takes the gradient of a zero std as 0.
    zero = out == 0
    grad = where(zero, 0, grad / where(zero, 1, out * 2))
    return _variance_vjp(grad, x, axis, keepdims, correction)


@primitive(promotion="float")
def logsumexp(x, *, axis=None, keepdims=False):
    """log(sum(exp(x))) over ``axis``, shifted by the max so exp cannot overflow (an infinite
    max is not shifted by, as in PyTorch); -inf over an empty axis. Integers become the default
    float dtype first.

    >>> cr.ops.reduce.logsumexp(cr.tensor([1000., 1000.]))
    tensor(1000.6931, dtype=float32)
    """
    if x.size:
        shift = x.max(axis=axis, keepdims=True)
        shift = xp.where(xp.isfinite(shift), shift, xp.zeros((), dtype=shift.dtype))
    else:
        shift = xp.zeros((), dtype=x.dtype)
    with xp.errstate(over="ignore", divide="ignore", invalid="ignore"):
        total = xp.log(xp.exp(x - shift).sum(axis=axis, keepdims=True)) + shift
    return total if keepdims else total.reshape(
        xp.sum(xp.empty(x.shape, dtype=bool), axis=axis).shape)


@logsumexp.vjp(formula="{grad} * exp({x} - {out})")
def _(grad, x, out, axis, keepdims):
    # A primitive: a composite's gradient at an infinite entry would be NaN for every entry
    # beside it (exp(x) / sum(exp(x)) is inf / inf); PyTorch's exp(x - out) is 0 there. The
    # exponent is formed from x minus its (finite) max and the shifted log-sum, not from out:
    # out = -1e20 + log 4 rounds to -1e20 in float32, and exp(x - out) would be 1, not 1/4.
    grad = _restore_axes(grad, x.shape, axis, keepdims)
    value = _array(x)
    if not value.size:
        return grad * exp(x - _restore_axes(out, x.shape, axis, keepdims))
    shift = value.max(axis=axis, keepdims=True)
    shift = xp.where(xp.isfinite(shift), shift, xp.zeros((), dtype=shift.dtype))
    shifted = x - shift
    with xp.errstate(over="ignore", divide="ignore", invalid="ignore"):
        return grad * exp(shifted - log(sum(exp(shifted), axis=axis, keepdims=True)))


@primitive
def log_softmax(x, *, axis=-1):
    """x - log(sum(exp(x))) along ``axis``, shifted by the max so exp cannot overflow;
    float16 computed in float32 and rounded once, as PyTorch's kernels (composite.log_softmax
    is the public spelling).

    >>> cr.ops.reduce.log_softmax(cr.tensor([0., 0.]))
    tensor([-0.6931472, -0.6931472], dtype=float32)
    """
    shifted, _, total = _shifted_exp_sum(x, axis)
    if x.dtype == xp.float16 and _is_last(axis, x.ndim):
        # PyTorch's float16 kernel along the last dim keeps the sum, and its log, in float16.
        total = total.astype(xp.float16).astype(xp.float32)
        with xp.errstate(divide="ignore"):
            return (shifted - xp.log(total).astype(xp.float16)).astype(xp.float16)
    with xp.errstate(divide="ignore", invalid="ignore"):
        return (shifted - xp.log(total)).astype(x.dtype, copy=False)


@log_softmax.vjp(formula="{grad} - exp({out}) * sum({grad})")
def _(grad, out, axis):
    # A primitive for PyTorch's formula, which reads the output as rounded: in float16 a
    # composite's chain rule, through the unrounded float32 values, was many ulps off where
    # the two terms cancel.
    def vjp(grad, out):
        return grad - exp(out) * sum(grad, axis=_axes(axis, out.ndim), keepdims=True)
    return in_single(vjp, grad, out) if out.dtype == xp.float16 else vjp(grad, out)


@primitive
def softmax(x, *, axis=-1):
    """exp(x) / sum(exp(x)) along ``axis``, shifted by the max so exp cannot overflow; float16
    computed in float32 and rounded once, as PyTorch's kernels (composite.softmax is the public
    spelling).

    >>> cr.ops.reduce.softmax(cr.tensor([0., 0.]))
    tensor([0.5, 0.5], dtype=float32)
    """
    _, exps, total = _shifted_exp_sum(x, axis)
    if x.dtype == xp.float16 and not _is_last(axis, x.ndim):
        # PyTorch's float16 kernel along another dim stores each exp in float16 (the output
        # buffer) before dividing by the float32 sum: a quarter of the results differed.
        exps = exps.astype(xp.float16).astype(xp.float32)
    with xp.errstate(invalid="ignore"):
        return (exps / total).astype(x.dtype, copy=False)


@softmax.vjp(formula="{out} * ({grad} - sum({grad} * {out}))")
def _(grad, out, axis):
    # PyTorch's formula on the output as rounded (see log_softmax's).
    def vjp(grad, out):
        return out * (grad - sum(grad * out, axis=_axes(axis, out.ndim), keepdims=True))
    return in_single(vjp, grad, out) if out.dtype == xp.float16 else vjp(grad, out)


def _shifted_exp_sum(x, axis):
    """x minus its max along ``axis`` (float16 widened to float32), its exp, and the sum of
    that; a 0-d x is its own axis, an empty one has nothing to shift."""
    wide = x.astype(xp.float32) if x.dtype == xp.float16 else x
    axis = _axes(axis, x.ndim)
    shift = wide.max(axis=axis, keepdims=True) if wide.size else 0
    with xp.errstate(invalid="ignore", over="ignore"):
        shifted = wide - shift
        exps = xp.exp(shifted)
        return shifted, exps, exps.sum(axis=axis, keepdims=True)


def _axes(axis, ndim):
    return None if ndim == 0 else axis


def _is_last(axis, ndim):
    return ndim == 0 or axis % ndim == ndim - 1


@primitive
def vector_norm(x, *, ord, axis=None, keepdims=False):
    """The ``ord``-norm over ``axis`` for an ``ord`` other than 0, 1 and +-inf, (sum |x|^ord)^(1
    / ord), with PyTorch's backward (composite.norm is the public spelling; the value is its
    composite's, computed on arrays).

    >>> cr.ops.reduce.vector_norm(cr.tensor([3., 4.]), ord=2)
    tensor(5., dtype=float32)
    """
    from .composite import norm
    with xp.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return norm(x, ord, axis, keepdims)


@vector_norm.vjp(formula="{grad} * sign({x}) |{x}|^(ord - 1) / {out}^(ord - 1); 0 where "
                         "{out} = 0 (and where {x} = 0 for ord < 1)")
def _(grad, x, out, ord, axis, keepdims):
    # PyTorch's norm_backward step for step, so that its second derivative (the derivative of
    # these steps) is PyTorch's too: NaN where a masked entry's own slope is infinite.
    grad = _restore_axes(grad, x.shape, axis, keepdims)
    norm = _restore_axes(out, x.shape, axis, keepdims)
    with xp.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if ord == 2:
            return grad * where(norm == 0, 0, x / norm)
        if ord < 1:
            scaled = sign(x) * where(x == 0, 0, pow(abs(x), ord - 1))
            return scaled * grad * _norm_to_1_minus(norm, x, ord, axis)
        scaled = sign(x) * pow(abs(x), ord - 1) if ord < 2 else x * pow(abs(x), ord - 2)
        return scaled * where(norm == 0, 0, grad / pow(norm, ord - 1))


def _norm_to_1_minus(norm, x, ord, axis):
    """norm^(1 - ord), and where the norm overflowed (sum |x|^ord)^((1 - ord) / ord), which
    may not: the true gradient is finite there (PyTorch's is inf; docs/semantics.md)."""
    overflowed = xp.isinf(_array(norm)) & (ord > 0)
    if not overflowed.any():
        return pow(norm, 1 - ord)
    powers = sum(where(x == 0, 0, pow(abs(x), ord)), axis=axis, keepdims=True)
    return where(overflowed, pow(powers, (1 - ord) / ord), pow(norm, 1 - ord))


def _wide_variance(op, x, axis, keepdims, correction):
    # float32 is accumulated in float64, as PyTorch's CPU reductions do: squares of values
    # above 1.8e19 would overflow float32 where the result itself does not.
    wide = x.astype(xp.float64) if x.dtype.kind == "f" and x.dtype.itemsize < 8 else x
    divisor = _count(x.shape, axis) - correction
    if divisor <= 0:  # PyTorch's warning, word for word (the result is inf or NaN)
        warnings.warn(f"{op}(): degrees of freedom is <= 0. Correction should be strictly less "
                      f"than the reduction factor (input numel divided by output numel).",
                      UserWarning, stacklevel=2)
    with warnings.catch_warnings(), xp.errstate(invalid="ignore", divide="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)  # NumPy's "Mean of empty slice"
        centred = wide - wide.mean(axis=axis, keepdims=True)
        squares = (centred * centred).sum(axis=axis, keepdims=keepdims)
        return squares / divisor if divisor > 0 else squares * xp.inf


def _variance_vjp(grad, x, axis, keepdims, correction):
    # A primitive with PyTorch's formula: spelled as a composite, the gradient would also flow
    # through the mean, where sum(x - mean) is exactly 0 in theory but NaN when x holds an inf.
    grad = _restore_axes(grad, x.shape, axis, keepdims)
    average = mean(x, axis=axis, keepdims=True)
    centred = x - average
    divisor = _count(x.shape, axis) - correction
    if divisor > 0:
        return grad * (2.0 / divisor) * centred
    if axis is None:
        # x == mean rather than x - mean == 0: an infinite x equal to an infinite mean gets
        # NaN in PyTorch, though inf - inf is NaN, not 0.
        return grad * where(x == average, xp.nan, xp.inf)
    # Over given dims PyTorch keeps 2 / (N - correction) even where it is inf (signed by
    # x - mean, NaN where that is 0) or negative (a finite slope, though the value is inf).
    return grad * (2.0 / divisor if divisor else xp.inf) * centred


def _count(shape, axis):
    count = 1
    for a in _normalize_axes(axis, len(shape)):
        count *= shape[a]
    return count


from .shape import broadcast_to  # noqa: E402


@primitive(differentiable=False)
def any(x, *, axis=None, keepdims=False):
    """Whether any element (along ``axis``) is nonzero; a bool tensor without gradient (uint8
    for a uint8 input, as PyTorch)."""
    return _as_input_if_uint8(x.any(axis=axis, keepdims=keepdims), x)


@primitive(differentiable=False)
def all(x, *, axis=None, keepdims=False):
    """Whether every element (along ``axis``) is nonzero; a bool tensor without gradient
    (uint8 for a uint8 input, as PyTorch)."""
    return _as_input_if_uint8(x.all(axis=axis, keepdims=keepdims), x)


def _as_input_if_uint8(result, x):
    return xp.asarray(result, dtype=xp.uint8) if x.dtype == xp.uint8 else result
