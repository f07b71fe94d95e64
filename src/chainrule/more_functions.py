"""More of PyTorch's functions under their names and signatures, declared public as those of
functions.py are (chainrule/public.py): ``cr.nansum``, ``cr.index_add``, ``cr.bernoulli`` and
their Tensor methods, with ``Tensor.bernoulli_`` set on Tensor here beside its generator use
(as random.py sets ``uniform_``)."""
import operator

from . import ops
from .backend import xp
from .engine import mode
from .errors import ArgumentError, DtypeError, ShapeError
from .ops.index import index_add as _index_add
from .ops.shape import axis_of
from .public import public
from .random import resolve
from .tensor import Tensor
from .tensor import as_input as _t


@public(method=True)
def nansum(input, dim=None, keepdim=False, *, dtype=None):
    """The sum over ``dim`` with NaNs counted as zero; a NaN's gradient is 0, as in PyTorch.
    Integer and bool sums are int64, as ``sum``.

    >>> cr.nansum(cr.tensor([[1., float('nan')], [3., 4.]]), dim=1)
    tensor([1., 7.], dtype=float32)
    """
    x = _t(input)
    # NaNs become 0 before any cast: cast to an integer dtype, a NaN would be a number.
    if x.dtype.kind in "fc":
        x = ops.where(ops.isnan(x), xp.zeros((), dtype=x.dtype), x)
    if isinstance(dim, (tuple, list)) and not dim:
        dim = None  # PyTorch: an empty dim list sums over every dimension
    if dim is not None:  # checked here, so that an error names nansum
        axes = [axis_of("nansum", d, x.ndim) for d in
                (dim if isinstance(dim, (tuple, list)) else (dim,))]
        if len(set(axes)) < len(axes):
            raise ArgumentError(f"nansum: dim {dim} names a dimension twice (shape "
                                f"{tuple(x.shape)})")
        if x.ndim == 0:
            dim = None  # a 0-d tensor's one dimension (0 or -1) is all of it
    if dtype is None:
        return x.sum(dim, keepdim)
    cast = x.astype(dtype)
    out = cast.sum(dim, keepdim)
    # sum widens integer and bool sums; PyTorch's result has the dtype asked for.
    return out if out.dtype == cast.dtype else out.astype(cast.dtype)


@public(method=True)
def index_add(input, dim, index, source, *, alpha=1):
    """A copy of ``input`` with ``alpha * source`` added at the 1-D ``index`` along ``dim``:
    for dim 0, ``out[index[i]] += alpha * source[i]``; repeated indices add up. Differentiable
    in ``input`` and ``source``.

    >>> cr.index_add(cr.zeros(3, 2), 0, cr.tensor([0, 2, 0]), cr.ones(3, 2))
    tensor([[2., 2.],
            [0., 0.],
            [1., 1.]], dtype=float32)
    """
    return _index_add(_t(input), dim, index, _t(source), alpha=alpha)


def _index_add_(self, dim, index, source, *, alpha=1):
    """In place: ``alpha * source`` added at ``index`` along ``dim`` (``index_add``).

    >>> cr.zeros(3).index_add_(0, cr.tensor([0, 0]), cr.tensor([1., 2.]))
    tensor([3., 0., 0.], dtype=float32)
    """
    return self._inplace(lambda t, s: _index_add(t, dim, index, _t(s), alpha=alpha), source,
                         "index_add_")


def _check_probabilities(values, op):
    if values.size and not ((values >= 0) & (values <= 1)).all():
        bad = values[~((values >= 0) & (values <= 1))].flat[0]
        raise ArgumentError(f"{op}: probabilities must be in [0, 1], got {bad} (shape "
                            f"{values.shape})")


def _floating(x, op):
    if x.dtype.kind != "f":
        raise DtypeError(f"{op}: needs a floating-point tensor, got {x.dtype} (as in PyTorch)")


@public(method=True)
def bernoulli(input, p=None, *, generator=None):
    """Zeros and ones drawn independently, one per element: 1 with probability ``input``'s
    element (or with the number ``p`` for every element, when given), in ``input``'s dtype.
    ``generator`` (a cr.Generator) makes the draw reproducible. Carries no gradient: as in
    PyTorch, an input of probabilities that requires grad gets a zero gradient; with ``p``
    given, the input only lends its shape and dtype (any dtype) and the draw is a constant.

    >>> g = cr.Generator().manual_seed(0)
    >>> cr.bernoulli(cr.tensor([0., 1., 1.]), generator=g)
    tensor([0., 1., 1.], dtype=float32)
    """
    x = _t(input)
    if p is not None:
        if isinstance(p, Tensor) or not isinstance(p, (int, float, xp.number)) or \
                isinstance(p, bool):
            raise TypeError(f"bernoulli: p must be a number, got {type(p).__name__}; for "
                            f"probabilities per element pass them as the input")
        # With p given, the input only lends its shape and dtype: any dtype, as in PyTorch.
        # The draw is a constant (PyTorch's result requires grad, and its backward raises).
        _check_probabilities(xp.asarray(float(p)), "bernoulli")
        draw = xp.asarray(resolve(generator).random(x._data.shape) < p).astype(x.dtype)
        return Tensor._make(draw, None)
    _floating(x, "bernoulli")
    _check_probabilities(x._data, "bernoulli")
    draw = xp.asarray(resolve(generator).random(x._data.shape) < x._data).astype(x.dtype)
    if x.requires_grad and mode.enabled:
        # PyTorch's result requires grad and hands its input a zero gradient.
        return ops.where(True, draw, x)
    return Tensor._make(draw, None)


def _bernoulli_(self, p=0.5, *, generator=None):
    """In place: each element replaced by 1 with probability ``p`` (a number, or a tensor
    that broadcasts to this one's shape), else 0.

    >>> cr.zeros(4).bernoulli_(1.0)
    tensor([1., 1., 1., 1.], dtype=float32)
    """
    if isinstance(p, Tensor):
        _floating(p, "bernoulli_")
        probabilities = p._data
        try:
            probabilities = xp.broadcast_to(probabilities, self._data.shape)
        except ValueError:
            raise ShapeError(f"bernoulli_: p of shape {tuple(p.shape)} does not broadcast to "
                             f"the tensor's shape {tuple(self.shape)}") from None
    else:
        probabilities = xp.asarray(float(operator.index(p) if isinstance(p, bool) else p))
    _check_probabilities(xp.asarray(probabilities), "bernoulli_")
    draw = xp.asarray(resolve(generator).random(self._data.shape) < probabilities)
    draw = draw.astype(self.dtype)
    # In a graph the draw is recorded as an op that hands the old values, and a tensor p, a
    # zero gradient (PyTorch's); a leaf that requires grad refuses, as for every in-place op.
    if isinstance(p, Tensor) and self.dtype.kind == "f":
        return self._inplace(lambda t, q: ops.where(True, draw, ops.where(True, t, q)), p,
                             "bernoulli_")
    return self._inplace(lambda t, _: ops.where(True, draw, t), None, "bernoulli_")


_index_add_.__name__, _bernoulli_.__name__ = "index_add_", "bernoulli_"
_index_add_.__qualname__, _bernoulli_.__qualname__ = "Tensor.index_add_", "Tensor.bernoulli_"
Tensor.index_add_, Tensor.bernoulli_ = _index_add_, _bernoulli_
