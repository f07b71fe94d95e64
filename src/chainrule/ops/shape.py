"""Shape primitives: they move values around without changing them, so each VJP moves the
gradient back."""
import functools
import itertools

from ..backend import xp
from ..dtypes import promote_types
from ..engine import SliceGradient, record_view
from ..errors import ArgumentError, DimError, ShapeError
from .elementwise import astype
from .primitive import primitive


@primitive
def reshape(x, *, shape):
    # Array methods rather than xp.reshape / xp.transpose: NumPy's module-level wrappers cost
    # about 1.5 us a call, a large share of a small op (W.T went from 2.2 to 0.7 us).
    if type(shape) is tuple and shape and min(shape) < -1:
        raise ShapeError(f"reshape: invalid size {min(shape)} in {shape} (only -1 is inferred)")
    return x.reshape(shape)


@reshape.vjp("x", formula="{grad} reshaped to {x}'s shape")
def _(grad, x_shape):
    return grad.reshape(x_shape)


@primitive
def transpose(x, *, axes=None):
    return x.T if axes is None else x.transpose(axes)


@transpose.vjp("x", formula="{grad}^T")
def _(grad, axes):
    if axes is None:
        return grad.transpose()
    return grad.transpose(tuple(xp.argsort([a % len(axes) for a in axes])))


@primitive
def broadcast_to(x, *, shape):
    return xp.broadcast_to(x, shape)


@broadcast_to.vjp("x", formula="{grad} summed over the broadcast axes")
def _(grad):
    return grad  # the engine sums the broadcast axes away


def _is_basic(index):
    """Basic indexing (ints, slices, None, ...) never selects an element twice."""
    parts = index if isinstance(index, tuple) else (index,)
    return all(p is None or p is Ellipsis or isinstance(p, (int, slice, xp.integer)) or
               (isinstance(p, xp.ndarray) and p.dtype == bool) for p in parts)


@primitive
def getitem(x, *, index):
    """``x[index]``: basic slices give views, index arrays and masks copies; the gradient goes back to each element read (adding over repeats).

    >>> cr.getitem(cr.tensor([10., 20., 30.]), index=slice(1, None))
    tensor([20., 30.], dtype=float32)
    """
    out = x[index]
    if not isinstance(out, xp.ndarray):
        # x[0] of a vector is a NumPy scalar, a copy; with a trailing ... it is a 0-d view,
        # so that writing into it writes into x, as PyTorch's x[0] does.
        out = x[(*index, Ellipsis) if isinstance(index, tuple) else (index, Ellipsis)]
    elif not out.flags.c_contiguous and x.flags.c_contiguous and \
            not xp.may_share_memory(out, x):
        # An index array after a slice (x[:, idx]) makes NumPy lay the copy out with the
        # indexed dimension first in memory; PyTorch's copy of a C-ordered tensor is C-ordered.
        out = xp.ascontiguousarray(out)
    return out


@getitem.vjp(formula="{grad} scattered into zeros shaped like {x}")
def _(grad, x_shape, index):
    if type(grad) is xp.ndarray and _is_basic(index):  # no graph to record: the engine adds
        return SliceGradient(grad, index, x_shape)  # the slice into its sum in place
    return add_at(grad, index=index, shape=x_shape)


@primitive
def add_at(values, *, index, shape):
    """A zero array of ``shape`` with ``values`` added at ``index``; repeated indices add up.

    >>> cr.add_at(cr.tensor([1., 2., 3.]), index=np.array([0, 2, 0]), shape=(3,))
    tensor([4., 0., 2.], dtype=float32)
    """
    out = xp.zeros(shape, dtype=xp.result_type(values))
    if _is_basic(index):
        out[index] = values
    else:
        _add_at(out, index, values)
    return out


def _add_at(out, index, values):
    """``np.add.at(out, index, values)``, adding in the same order (bit for bit). Rows picked
    by one integer array (an embedding's gradient) go to ``add.at`` as flat element positions,
    which NumPy runs on its fast one-dimensional path (about four times faster for GPT's
    (12, 64, 128) gradient into its (65, 128) table, tests/test_add_at_order.py's timing
    aside)."""
    rows = index[0] if type(index) is tuple and len(index) == 1 else index
    if type(rows) is xp.ndarray and rows.dtype.kind in "iu" and out.ndim > 1 and rows.size:
        count = out.shape[0]
        rows = rows.astype(xp.intp)
        rows[rows < 0] += count
        if rows.min() >= 0 and rows.max() < count:  # else add.at's own IndexError below
            size = out.size // count
            positions = rows.reshape(-1, 1) * size + xp.arange(size)
            values = xp.broadcast_to(values, rows.shape + out.shape[1:])
            xp.add.at(out.reshape(-1), positions.reshape(-1), values.reshape(-1))
            return
    xp.add.at(out, index, values)


@add_at.vjp(formula="{grad} read at the index")
def _(grad, index):
    return getitem(grad, index=index)


@primitive
def index_put(x, values, *, index):
    """A copy of ``x`` with ``values`` written at ``index`` (``t[index] = values``).

    >>> cr.index_put(cr.zeros(3), cr.tensor(5.), index=1)
    tensor([0., 5., 0.], dtype=float32)
    """
    out = x.copy()
    out[index] = without_leading_ones(values)
    return out


def without_leading_ones(values):
    """``values`` without their leading 1s, as PyTorch drops them before writing at an index
    (t[0, 0] = v of shape (1, 1)), where NumPy would refuse."""
    shape = getattr(values, "shape", ())
    leading_ones = len(shape) - len(tuple(itertools.dropwhile(lambda n: n == 1, shape)))
    return values.reshape(shape[leading_ones:]) if leading_ones else values


@index_put.vjp("x", formula="{grad} with zeros where the index wrote")
def _(grad, index):
    return index_put(grad, 0, index=index)


@index_put.vjp("values", formula="{grad} read at the index")
def _(grad, index, values_shape):
    read = getitem(grad, index=index)
    # values may carry leading 1s beyond the written region (t[0] = row of shape (1, 4)):
    # they get them back, so that the engine only has to sum broadcast axes.
    extra = len(values_shape) - len(read.shape)
    return reshape(read, shape=(1,) * extra + tuple(read.shape)) if extra > 0 else read


# How a view's new values (after an in-place change inside the graph) become the viewed
# tensor's: written into its old values at the index, or the whole of it unreshaped back.
getitem.write_back = lambda before, new, index: index_put(before, new, index=index)
reshape.write_back = lambda before, new, shape: reshape(new, shape=before.shape)
transpose.write_back = lambda before, new, axes=None: transpose(
    new, axes=None if axes is None else tuple(int(a) for a in xp.argsort(
        [a % len(axes) for a in axes])))


@primitive(name="concatenate")
def _concatenate(*tensors, axis=0):
    return xp.concatenate(tensors, axis=axis)


@_concatenate.vjp("tensors", formula="this input's slice of {grad}")
def _(grad, tensors_shape, axis, position):
    start = 0
    for shape in tensors_shape[:position]:
        start += shape[axis]
    span = [slice(None)] * len(tensors_shape[position])
    span[axis] = slice(start, start + tensors_shape[position][axis])
    return grad[tuple(span)]


@primitive(name="stack")
def _stack(*tensors, axis=0):
    return xp.stack(tensors, axis=axis)


@_stack.vjp("tensors", formula="this input's slice of {grad}")
def _(grad, axis, position):
    span = [slice(None)] * grad.ndim
    span[axis % grad.ndim] = position
    return grad[tuple(span)]


class ComposedView:
    """A view op spelled with primitives (diagonal, unfold), as the engine knows view ops: its
    name; called on the viewed tensor, the view made anew (after that tensor changed); and
    ``write_back(before, new)``, the viewed tensor's values after the view's became ``new``."""

    def __init__(self, name, remake, write_back):
        self.name, self.remake, self.write_back = name, remake, write_back

    def __call__(self, viewed):
        return self.remake(viewed)


def as_view(result, input, view, view_op=None):
    """``result`` holding ``view``, an array of its values that shares ``input``'s memory: for
    the composites that PyTorch makes views (diagonal, unfold), whose graph is an indexing's,
    so that a change made in place through the result or the input shows in the other, and,
    with ``view_op`` (a ComposedView), a change inside the graph reaches ``input``'s graph. A
    ``view`` whose elements share memory is left read-only, which refuses in-place writes."""
    from ..tensor import Tensor
    if isinstance(result, Tensor) and isinstance(input, Tensor):
        result._data = view
        if view_op is not None and view.base is not None:
            record_view(result, input, view_op, {})
    return result


def axis_of(op, dim, ndim):
    """``dim`` as an axis in [0, ndim) (a 0-d tensor has one, as in PyTorch), checked: a
    TypeError for a non-int, an IndexError naming ``op`` when out of range."""
    if isinstance(dim, bool) or not isinstance(dim, (int, xp.integer)):
        raise TypeError(f"{op}: dim must be an int, got {dim!r}")
    if not -max(ndim, 1) <= dim < max(ndim, 1):
        raise DimError(f"{op}: dim {dim} is out of range for a tensor of {ndim} dimensions")
    return int(dim) % max(ndim, 1)


# -- Composites: spelled with the primitives above. --

def concatenate(tensors, dim=0, *, axis=None):
    """Join a sequence of tensors along an existing dimension (``torch.cat``).

    >>> cr.cat([cr.tensor([1., 2.]), cr.tensor([3.])])
    tensor([1., 2., 3.], dtype=float32)
    """
    return _join(_concatenate, "concatenate", tensors, dim, axis)


def stack(tensors, dim=0, *, axis=None):
    """Join a sequence of tensors of one shape along a new dimension (``torch.stack``).

    >>> cr.stack([cr.tensor([1., 2.]), cr.tensor([3., 4.])], dim=1)
    tensor([[1., 3.],
            [2., 4.]], dtype=float32)
    """
    return _join(_stack, "stack", tensors, dim, axis)


def _join(op, name, tensors, dim, axis):
    if not isinstance(tensors, (list, tuple)):
        raise TypeError(f"{name}: expected a list or tuple of tensors, got "
                        f"{type(tensors).__name__}; write {name}([a, b], dim), not "
                        f"{name}(a, b)")
    if not tensors:
        raise ArgumentError(f"{name}: needs at least one tensor")
    if axis is not None:
        dim = axis
    if not isinstance(dim, (int, xp.integer)) or isinstance(dim, bool):
        raise TypeError(f"{name}: dim must be an int, got {type(dim).__name__}; to join more "
                        f"tensors put them all in the list: {name}([a, b, c])")
    tensors = _common_dtype(tensors)
    shapes = [xp.shape(getattr(t, "_data", t)) for t in tensors]
    other = next((shape for shape in shapes if shape != (0,)), (0,))
    if op is _concatenate and len(other) != 1:
        # PyTorch's rule: a 1-D empty tensor (torch.tensor([]), where a list grown by cat
        # starts) joins whatever the others' shapes, as an empty block of theirs.
        axis = axis_of("concatenate", dim, len(other))
        empty = other[:axis] + (0,) + other[axis + 1:]
        tensors = [reshape(t, shape=empty) if shape == (0,) else t
                   for t, shape in zip(tensors, shapes)]
    return op(*tensors, axis=int(dim))


def _common_dtype(tensors):
    """The tensors cast to PyTorch's common dtype (int64 with float32 is float32, not NumPy's
    float64); astype sends each gradient back in its input's dtype."""
    dtypes = [xp.asarray(getattr(t, "_data", t)).dtype for t in tensors]
    target = functools.reduce(promote_types, dtypes)
    return [t if d == target else astype(t, dtype=target) for t, d in zip(tensors, dtypes)]


def take_along_axis(x, indices, axis):
    """``x``'s entries at ``indices`` along ``axis`` (NumPy's take_along_axis), differentiable:
    the gradient goes to exactly the entries taken."""
    index = list(xp.ogrid[tuple(slice(n) for n in indices.shape)])
    index[axis] = indices
    return getitem(x, index=tuple(index))


def swapaxes(x, axis1, axis2):
    axis1, axis2 = axis_of("transpose", axis1, x.ndim), axis_of("transpose", axis2, x.ndim)
    axes = list(range(x.ndim))
    axes[axis1], axes[axis2] = axes[axis2], axes[axis1]
    return transpose(x, axes=tuple(axes))


def permute(x, axes):
    ndim = xp.ndim(x)
    axes = tuple(axes)
    if len(axes) != ndim:
        raise ShapeError(f"permute: dims {axes} name {len(axes)} dims, but the tensor of shape "
                         f"{xp.shape(x)} has {ndim}")
    if len({axis_of("permute", a, ndim) for a in axes}) < ndim:
        raise ShapeError(f"permute: dims {axes} name a dim more than once (shape {xp.shape(x)})")
    return transpose(x, axes=axes)


def expand_dims(x, axis):
    """A new size-1 dimension at ``axis`` (NumPy's name for ``unsqueeze``).

    >>> cr.expand_dims(cr.zeros(2, 3), 0).shape
    cr.Size([1, 2, 3])
    """
    return reshape(x, shape=xp.expand_dims(xp.empty(x.shape, dtype=bool), axis).shape)


def squeeze(x, axis=None):
    """Drop size-1 dimensions: all of them, or those among ``axis`` (an int or a tuple) that
    have size 1; a named dimension of another size stays, as in PyTorch."""
    shape = x.shape
    if axis is None:
        axes = range(len(shape))
    else:
        axes = [a % max(len(shape), 1) for a in ((axis,) if isinstance(axis, int) else axis)]
        for a, given in zip(axes, (axis,) if isinstance(axis, int) else axis):
            if not -max(len(shape), 1) <= given < max(len(shape), 1):
                raise IndexError(f"squeeze: dimension {given} is out of range for a tensor of "
                                 f"{len(shape)} dimensions")
        if len(set(axes)) < len(axes):
            raise DimError(f"squeeze: dim {axis} names a dimension twice (shape {shape}), "
                           f"as PyTorch refuses")
    drop = {a for a in axes if len(shape) and shape[a] == 1}
    return reshape(x, shape=tuple(n for a, n in enumerate(shape) if a not in drop))


def flatten(x, start_dim=0, end_dim=-1):
    """Merge dimensions ``start_dim`` to ``end_dim`` into one (``torch.flatten``)."""
    shape = x.shape
    rank = max(len(shape), 1)  # a 0-d tensor takes dims -1 and 0, as PyTorch's
    for name, dim in (("start_dim", start_dim), ("end_dim", end_dim)):
        if not -rank <= dim < rank:
            # a modulo would wrap Flatten()'s start_dim=1 round on a 1-D input
            raise IndexError(f"flatten: {name} {dim} is out of range for a tensor of shape "
                             f"{tuple(shape)} (expected to be in range of [{-rank}, {rank - 1}])")
    if not shape:
        return reshape(x, shape=(1,))
    start, end = start_dim % len(shape), end_dim % len(shape)
    if start > end:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
    merged = 1
    for n in shape[start:end + 1]:
        merged *= n
    return reshape(x, shape=tuple(shape[:start]) + (merged,) + tuple(shape[end + 1:]))
