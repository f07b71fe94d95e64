"""Composites: functions spelled with primitives, so they need no backward of their own.

They accept Tensors (recording the graph) and plain arrays (computing values only)."""
import functools

from ..backend import xp
from ..dtypes import default_float
from ..errors import DtypeError, ShapeError
from . import reduce
from .elementwise import sqrt, where
from .reduce import max, sum
from .shape import reshape


def stop_gradient(x):
    """The value of ``x`` as a constant: no gradient flows through it.

    >>> x = cr.tensor([2.], requires_grad=True)
    >>> cr.stop_gradient(x * 3).requires_grad
    False
    """
    return x.detach() if hasattr(x, "detach") else x


def logsumexp(x, axis=None, keepdims=False):
    return reduce.logsumexp(x, axis=axis, keepdims=keepdims)


def float32_for_half(function):
    """``function`` computed in float32 for a float16 input and rounded once at the end, as
    PyTorch's float16 kernels do (their "opmath"); rounded at each step, an ulp off."""
    @functools.wraps(function)
    def wrapped(x, *args, **kwargs):
        if getattr(x, "dtype", None) != xp.float16:
            return function(x, *args, **kwargs)
        return function(x.astype(xp.float32), *args, **kwargs).astype(xp.float16)
    return wrapped


def log_softmax(x, axis=-1):
    return reduce.log_softmax(x, axis=axis)


def softmax(x, axis=-1):
    return reduce.softmax(x, axis=axis)


def var(x, axis=None, keepdims=False, correction=1):
    """Variance over ``axis``, dividing by N - correction (1 by default: PyTorch's unbiased
    estimate). A divisor of 0 or less gives inf or nan, as in PyTorch, never a negative value."""
    return reduce.var(x, axis=axis, keepdims=keepdims, correction=correction)


def std(x, axis=None, keepdims=False, correction=1):
    return reduce.std(x, axis=axis, keepdims=keepdims, correction=correction)


def one_hot(labels, num_classes, dtype=None):
    """Rows of ``num_classes`` zeros with a one at each label, in ``dtype`` (the default float
    dtype unless given); carries no gradient.

    >>> cr.one_hot(np.array([2, 0]), 3)
    tensor([[0., 0., 1.],
            [1., 0., 0.]], dtype=float32)
    """
    from ..tensor import Tensor
    labels = _value(labels)
    if labels.dtype.kind not in "iu":
        raise TypeError(f"one_hot: labels must be integers, got {labels.dtype}")
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        bad = labels[(labels < 0) | (labels >= num_classes)].flat[0]
        raise ValueError(f"one_hot: label {bad} is out of range for {num_classes} classes "
                         f"[0, {num_classes})")
    return Tensor._wrap(xp.arange(num_classes) == labels[..., None],
                  dtype=default_float() if dtype is None else dtype)


def _value(x):
    return x._data if hasattr(x, "_data") else xp.asarray(x)


def norm(x, p="fro", axis=None, keepdims=False):
    """The vector p-norm over ``axis`` (all elements by default): p = 2 or "fro" the square
    root of the sum of squares, 1 the sum of absolute values, inf / -inf the largest /
    smallest absolute value, 0 the count of nonzeros, any other p (sum |x|^p)^(1/p). At a
    zero vector the gradient is 0, as in PyTorch."""
    from .elementwise import abs, astype, equal, not_equal, pow
    from .reduce import min
    order = 2 if p == "fro" else p
    if getattr(x, "requires_grad", False) and isinstance(order, (int, float)) and \
            order not in (0, 1, float("inf"), float("-inf")):
        # A primitive with PyTorch's backward, for PyTorch's second derivatives (see its VJP).
        return reduce.vector_norm(x, ord=order, axis=axis, keepdims=keepdims)
    if _value(x).dtype == xp.float16:
        # PyTorch accumulates float16 in float32: the squares of a norm of 408 overflow float16.
        return astype(norm(astype(x, dtype=xp.float32), p, axis, keepdims), dtype=xp.float16)
    if p in ("fro", 2, 2.0):
        # not_equal rather than greater: a NaN norm stays NaN (greater would make it 0).
        squares = sum(x * x, axis=axis, keepdims=keepdims)
        nonzero = not_equal(stop_gradient(squares), 0)
        return where(nonzero, sqrt(where(nonzero, squares, 1)), 0)
    if p in ("nuc",):
        raise ValueError("norm: the nuclear norm is a matrix norm: use cr.norm(x, 'nuc') or "
                         "cr.linalg.matrix_norm(x, 'nuc')")
    if p == float("inf"):
        return max(abs(x), axis=axis, keepdims=keepdims, nan_is_extreme=True)
    if p == float("-inf"):
        return min(abs(x), axis=axis, keepdims=keepdims, nan_is_extreme=True)
    if p == 0:
        # A count, yet differentiable (with gradient zero) as in PyTorch.
        nonzero = not_equal(stop_gradient(x), 0).astype(_value(x).dtype)
        return sum(where(False, x, nonzero), axis=axis, keepdims=keepdims)
    if p == 1:
        return sum(abs(x), axis=axis, keepdims=keepdims)
    if not isinstance(p, (int, float)):
        raise ValueError(f"norm: p must be a number, 'fro' or 'nuc', got {p!r}")
    # |x|^p with exact zeros kept out of pow, so that a zero entry gets gradient 0 for every
    # p (for p < 1, 0^(p-1) is inf, and inf * sign(0) would be NaN), as in PyTorch.
    # (x * 0 rather than 0 in the zero branch: a NaN norm still makes every gradient NaN.)
    if p < 0 and reduce._reduces_an_empty_axis(_value(x).shape, axis):
        raise ShapeError(f"norm: the {p} norm of a tensor of shape {_value(x).shape} that is "
                         f"empty along the reduced dims has no value (as in PyTorch)")
    # For p < 0 a zero entry's |0|^p is inf, and the norm of its slice 0, as in PyTorch.
    zero = equal(stop_gradient(x), 0)
    at_zero = x * 0 if p > 0 else x * 0 + xp.inf
    powers = sum(where(zero, at_zero, pow(abs(where(zero, 1, x)), p)), axis=axis,
                 keepdims=keepdims)
    nonzero = not_equal(stop_gradient(powers), 0)
    return where(nonzero, pow(where(nonzero, powers, 1), 1.0 / p), 0)


def normalize(x, p=2.0, dim=1, eps=1e-12):
    """``x`` divided by its p-norm along ``dim`` (at least ``eps``), as
    ``torch.nn.functional.normalize``.

    >>> cr.nn.functional.normalize(cr.tensor([[3., 4.]]))
    tensor([[0.6, 0.8]], dtype=float32)
    """
    from .elementwise import clip
    if _value(x).dtype.kind not in "fc":  # the division would hand back a float, PyTorch raises
        raise DtypeError(f"normalize: needs a floating-point tensor, got {_value(x).dtype} of "
                         f"shape {_value(x).shape} (as in PyTorch); convert it with .float()")
    return x / clip(norm(x, p, axis=dim, keepdims=True), low=eps)
