"""Shape primitives: they move values around without changing them, so each VJP moves the
gradient back."""
from ..backend import xp
from .primitive import primitive


@primitive(vjp_returns="view")
def reshape(x, *, shape):
    # Array methods rather than xp.reshape / xp.transpose: NumPy's module-level wrappers cost
    # about 1.5 us a call, a large share of a small op (W.T went from 2.2 to 0.7 us).
    return x.reshape(shape)


@reshape.vjp("x")
def _(grad, x_shape):
    return grad.reshape(x_shape)


@primitive(vjp_returns="view")
def transpose(x, *, axes=None):
    return x.T if axes is None else x.transpose(axes)


@transpose.vjp("x")
def _(grad, axes):
    if axes is None:
        return grad.transpose()
    return grad.transpose(tuple(xp.argsort([a % len(axes) for a in axes])))


@primitive(vjp_returns="view")
def broadcast_to(x, *, shape):
    return xp.broadcast_to(x, shape)


@broadcast_to.vjp("x")
def _(grad):
    return grad  # the engine sums the broadcast axes away


def _is_basic(index):
    """Basic indexing (ints, slices, None, ...) never selects an element twice."""
    parts = index if isinstance(index, tuple) else (index,)
    return all(p is None or p is Ellipsis or isinstance(p, (int, slice, xp.integer)) or
               (isinstance(p, xp.ndarray) and p.dtype == bool) for p in parts)


@primitive
def getitem(x, *, index):
    return x[index]


@getitem.vjp
def _(grad, x_shape, index):
    return scatter_add(grad, index=index, shape=x_shape)


@primitive
def scatter_add(values, *, index, shape):
    """A zero array of ``shape`` with ``values`` added at ``index``; repeated indices add up."""
    out = xp.zeros(shape, dtype=xp.result_type(values))
    if _is_basic(index):
        out[index] = values
    else:
        xp.add.at(out, index, values)
    return out


@scatter_add.vjp
def _(grad, index):
    return getitem(grad, index=index)


@primitive(vjp_returns="view")
def concatenate(*tensors, axis=0):
    return xp.concatenate(tensors, axis=axis)


@concatenate.vjp("tensors")
def _(grad, tensors_shape, axis, position):
    start = 0
    for shape in tensors_shape[:position]:
        start += shape[axis]
    span = [slice(None)] * len(tensors_shape[position])
    span[axis] = slice(start, start + tensors_shape[position][axis])
    return grad[tuple(span)]


@primitive(vjp_returns="view")
def stack(*tensors, axis=0):
    return xp.stack(tensors, axis=axis)


@stack.vjp("tensors")
def _(grad, axis, position):
    span = [slice(None)] * grad.ndim
    span[axis] = position
    return grad[tuple(span)]


# -- Composites: spelled with the primitives above. --

def swapaxes(x, axis1, axis2):
    axes = list(range(x.ndim))
    axes[axis1], axes[axis2] = axes[axis2], axes[axis1]
    return transpose(x, axes=tuple(axes))


def permute(x, axes):
    return transpose(x, axes=tuple(axes))


def expand_dims(x, axis):
    return reshape(x, shape=xp.expand_dims(xp.empty(x.shape, dtype=bool), axis).shape)


def squeeze(x, axis=None):
    return reshape(x, shape=xp.squeeze(xp.empty(x.shape, dtype=bool), axis).shape)


def flatten(x, start_axis=1):
    """Keep the first ``start_axis`` axes and flatten the rest (Flatten's default keeps the batch)."""
    return reshape(x, shape=tuple(x.shape[:start_axis]) + (-1,))
