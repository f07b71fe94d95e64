"""Running (cumulative) ops along one axis, and products.

A running op's output j depends on inputs 0..j, so its VJP sums the upstream gradient over
j >= i: a reversed running sum."""
from ..backend import xp
from ..errors import DtypeError
from .elementwise import abs, exp, log, where
from .primitive import primitive
from .reduce import _normalize_axes, _restore_axes, sum
from .shape import broadcast_to, expand_dims, getitem, reshape, transpose


def _flip(x, axis):
    index = [slice(None)] * x.ndim
    index[axis] = slice(None, None, -1)
    return getitem(x, index=tuple(index))


def _reverse_cumsum(x, axis):
    return _flip(cumsum(_flip(x, axis), axis=axis), axis)


def _accumulator(op, x):
    """The dtype a running op accumulates in: an integer input's own (the callers make int64
    unless a dtype was asked for; NumPy would widen int8 to int64, PyTorch wraps in int8);
    float32 for float16 and float64 for float32, as PyTorch's on the CPU (in float16 a running
    sum stalls once its spacing exceeds the terms: 8,192 numbers in [0, 1) summed to 2048; in
    float32 a million of them drift by 11 where PyTorch's is correctly rounded). PyTorch has no
    running sum or product of bools."""
    if x.dtype.kind == "b":
        raise DtypeError(f"{op}: not implemented for bool (as in PyTorch); pass dtype=cr.int64")
    if x.dtype in (xp.float16, xp.float32):
        return xp.float64 if x.dtype == xp.float32 else xp.float32
    return x.dtype if x.dtype.kind in "iu" else None


def _running(ufunc, op, x, axis):
    out = ufunc.accumulate(x, axis=axis, dtype=_accumulator(op, x))
    if ufunc is not xp.multiply and out.dtype.kind == "f":
        # PyTorch's running sums start from +0, so a leading -0 becomes 0 (NumPy copies it):
        # cumsum([-0.]) is [0.] there, and so is logcumsumexp's.
        out += 0.0
    return out.astype(x.dtype, copy=False)


@primitive
def cumsum(x, *, axis):
    return _running(xp.add, "cumsum", x, axis)


@cumsum.vjp(formula="running sum of {grad} from the end")
def _(grad, axis):
    return _reverse_cumsum(grad, axis)


@primitive
def cumprod(x, *, axis):
    return _running(xp.multiply, "cumprod", x, axis)


@cumprod.vjp(formula="sum over j >= i of {grad}_j * {out}_j / {x}_i (PyTorch's rule at zeros)")
def _(grad, x, out, axis):
    value = _array(x)
    if value.size <= 1 or value.shape[axis] == 1:
        return grad
    weighted = grad * out
    zero = value == 0
    if not zero.any():
        return _reverse_cumsum(weighted, axis) / x
    if hasattr(x, "_data"):  # create_graph: a formula differentiable at the zeros too
        return _cumprod_vjp_through_zeros(grad, x, axis)
    # With zeros, out_j / x_i is 0/0. PyTorch's rule, followed exactly (inf and NaN included):
    # before a slice's first zero, the sum above over the j before that zero; at the first
    # zero z, the sum over z <= j < (the next zero) of grad_j * (product of x_k, k <= j,
    # k != z); after it, 0.
    zeros_so_far = xp.cumsum(zero, axis=axis)
    before = zeros_so_far == 0
    first = (zeros_so_far == 1) & zero
    after_first = (zeros_so_far == 1) & ~zero
    at_before = _reverse_cumsum(where(before, weighted, 0), axis) / where(before, x, 1)
    product_before = prod(where(before, x, 1), axis=axis, keepdims=True)
    running = cumprod(where(after_first, x, 1), axis=axis)
    at_first = sum(running * where(zeros_so_far == 1, grad, 0), axis=axis,
                   keepdims=True) * product_before
    return where(before, at_before, where(first, at_first, 0))


def _cumprod_vjp_through_zeros(grad, x, axis):
    # d out_j / d x_i = prod_{k <= j, k != i} x_k: the running product of x with its i-th
    # entry set to 1, for every i (n^2 work along axis), as PyTorch does under create_graph.
    n = x.shape[axis]
    moved = _move_last(x, axis)  # (..., n)
    eye = xp.eye(n, dtype=bool)  # row i: which entry is replaced by 1
    replaced = where(eye, 1, expand_dims(moved, -2))  # (..., n_i, n_k)
    partial = cumprod(replaced, axis=-1)  # (..., i, j): prod over k <= j, k != i
    upper = xp.triu(xp.ones((n, n), dtype=bool))  # j >= i
    g = expand_dims(_move_last(grad, axis), -2)
    total = sum(where(upper, partial * g, 0), axis=-1)  # (..., i)
    return _move_back(total, axis, len(x.shape))


def _array(value):
    return value._data if hasattr(value, "_data") else value


def _move_last(x, axis):
    ndim = len(x.shape)
    axis %= max(ndim, 1)
    order = tuple(a for a in range(ndim) if a != axis) + (axis,)
    return transpose(x, axes=order)


def _move_back(x, axis, ndim):
    axis %= max(ndim, 1)
    order = list(range(ndim - 1))
    order.insert(axis, ndim - 1)
    return transpose(x, axes=tuple(order))


@primitive
def logcumsumexp(x, *, axis):
    """log of the running sum of exp(x), computed without overflow."""
    if x.shape[axis] == 0:
        return x.copy()
    return _running(xp.logaddexp, "logcumsumexp", x, axis)


@logcumsumexp.vjp(formula="sum over j >= i of {grad}_j * exp({x}_i - {out}_j)")
def _(grad, x, out, axis):
    # PyTorch's formula, so that overflow, absorption and inf land as in PyTorch: the sum is
    # split by the sign of grad and each part is a reversed running logsumexp of
    # log|grad_j| - out_j, shifted back by x_i: no term overflows.
    if not _array(grad).size or not _array(grad).ndim:
        return grad
    # The lowest finite number, not -inf, stands for log 0: -inf - out would be NaN in the
    # second derivative (PyTorch's choice too).
    magnitude = log(abs(grad))
    lowest = xp.array(xp.finfo(_array(out).dtype).min, dtype=_array(out).dtype)
    positive = where(grad > 0, magnitude, lowest)
    negative = where(grad < 0, magnitude, lowest)
    return (exp(_reverse_logcumsumexp(positive - out, axis) + x)
            - exp(_reverse_logcumsumexp(negative - out, axis) + x))


def _reverse_logcumsumexp(x, axis):
    return _flip(logcumsumexp(_flip(x, axis), axis=axis), axis)


@primitive
def prod(x, *, axis=None, keepdims=False):
    if x.dtype == xp.float16:
        return _half_prod(x, axis, keepdims)
    # In the input's integer or bool dtype (bool: "all"), as PyTorch's prod(dtype=...).
    return x.prod(axis=axis, keepdims=keepdims,
                  dtype=x.dtype if x.dtype.kind in "biu" else None)


def _half_prod(x, axis, keepdims):
    """A float16 product as PyTorch's CPU kernel: each partial product rounded to float16,
    in order (NumPy's reduction keeps a float32 accumulator, so [300, 300, 1/300] was 300
    here and is inf in PyTorch). A running product rounds each step; its last entry is the
    product. (Along a contiguous dim of 64 or more, PyTorch's vectorised loop multiplies in
    another order: the result can then differ in the last bits, not in overflowing.)"""
    axes = _normalize_axes(axis, x.ndim)
    kept = [a for a in range(x.ndim) if a not in axes]
    count = 1
    for a in axes:
        count *= x.shape[a]
    lanes = x.transpose(kept + list(axes)).reshape([x.shape[a] for a in kept] + [count])
    if count:
        out = xp.multiply.accumulate(lanes, axis=-1)[..., -1]
    else:
        out = xp.ones(lanes.shape[:-1], dtype=x.dtype)
    if keepdims:
        out = out.reshape([1 if a in axes else n for a, n in enumerate(x.shape)])
    return out


@prod.vjp(formula="{grad} * {out} / {x} (PyTorch's rule at zeros: the product of the others)")
def _(grad, x, out, axis, keepdims):
    # PyTorch's three cases, followed so that inf and NaN land where PyTorch's do: no zero,
    # out / x; zeros, the product of the others; two or more zeros in a product of every
    # element, 0 (the product of the others is then used only for second derivatives).
    shape = x.shape
    if not shape:
        return grad
    grad = _restore_axes(grad, shape, axis, keepdims)
    zeros = int((_array(x) == 0).sum())
    if not zeros:
        return grad * (_restore_axes(out, shape, axis, keepdims) / x)
    if axis is None and zeros > 1 and not hasattr(x, "_data"):
        return broadcast_to(where(False, grad, 0), shape=shape)
    return grad * _product_of_others(x, _normalize_axes(axis, len(shape)))


def _product_of_others(x, axes):
    """For each entry of x, the product of the other entries along ``axes``: (product
    before i) * (product after i), two running products and no division."""
    shape = x.shape
    kept = [a for a in range(len(shape)) if a not in axes]
    order = tuple(kept) + tuple(axes)
    moved = transpose(x, axes=order)
    lead = tuple(shape[a] for a in kept)
    count = 1
    for a in axes:
        count *= shape[a]
    if count == 0:
        return xp.ones(shape, dtype=_array(x).dtype)
    flat = reshape(moved, shape=lead + (count,))
    ones = xp.ones(lead + (1,), dtype=flat.dtype)
    before = cumprod(_cat(ones, getitem(flat, index=(..., slice(None, -1)))), axis=-1)
    after = _flip(cumprod(_flip(_cat(getitem(flat, index=(..., slice(1, None))), ones), -1),
                          axis=-1), -1)
    others = reshape(before * after, shape=tuple(moved.shape))
    return transpose(others, axes=tuple(xp.argsort(order)))


def _cat(a, b):
    from .shape import _concatenate
    return _concatenate(a, b, axis=-1)


def running_extreme(x, axis, largest):
    """Indices of the running max (or min) of the array ``x`` along ``axis``: at ties the
    latest index, as PyTorch's cummax/cummin; once a NaN is seen it is the running extreme."""
    if x.shape[axis] == 0:
        return xp.zeros(x.shape, dtype=xp.int64)
    best = (xp.fmax if largest else xp.fmin).accumulate(x, axis=axis)
    hit = x == best
    if x.dtype.kind == "f":
        nan = xp.isnan(x)
        hit = xp.where(xp.logical_or.accumulate(nan, axis=axis), nan, hit)
    positions = xp.arange(x.shape[axis]).reshape([-1 if a == axis % x.ndim else 1
                                                   for a in range(x.ndim)])
    return xp.maximum.accumulate(xp.where(hit, positions, 0), axis=axis).astype(xp.int64)
