"""NumPy meets tensors through its protocols: ``np.tanh(t)`` runs chainrule's ``tanh`` and
``np.sum(t, axis=0)`` its ``sum``, so NumPy-style code on tensors keeps its graph.

``Tensor.__array_ufunc__`` and ``__array_function__`` land here. Each NumPy function with a
chainrule counterpart has one small adapter below that takes NumPy's arguments and calls
chainrule; NumPy keywords that chainrule cannot honour are accepted only at their defaults. A
NumPy function without a counterpart raises TypeError naming it: a tensor never silently turns
into an array inside a graph.
"""
import functools

from .backend import ndarray, xp


def array_ufunc(ufunc, method, inputs, kwargs):
    # Kept lean: VJPs run with create_graph=True meet ndarray * Tensor here.
    out = kwargs.get("out", ())
    if _any_foreign(inputs) or _any_foreign(out):
        return NotImplemented  # another library's array: let it (or NumPy) answer
    if out:  # NumPy drops out=None, so an out here is a real target
        return _into_array(ufunc, method, inputs, kwargs)
    if method == "reduce":
        return _reduce(ufunc, *inputs, **kwargs)
    if method != "__call__":
        raise TypeError(f"numpy.{ufunc.__name__}.{method} is not supported on chainrule tensors; "
                        f"of the ufunc methods only calls and np.add/maximum/minimum.reduce are. "
                        f"{_instead(f'{ufunc.__name__}.{method}')}")
    if ufunc in _VALUES_TO_TENSOR:
        return _read_values(ufunc, inputs, kwargs)
    op = _ufunc_op(ufunc)
    if op is None:
        raise TypeError(f"numpy.{ufunc.__name__} has no chainrule counterpart yet. "
                        f"{_instead(ufunc.__name__)}")
    if not kwargs:
        return op(*inputs)
    dtype = kwargs.get("dtype")
    others = {k: v for k, v in kwargs.items() if k != "dtype"}
    _require_defaults(f"numpy.{ufunc.__name__}", **others)
    result = op(*inputs)
    return result if dtype is None else result.astype(dtype)


def array_function(func, types, args, kwargs):
    if not _all_known(types):
        return NotImplemented  # another library's array: let it (or NumPy) answer
    adapter = _FUNCTIONS.get(func)
    if adapter is not None:
        return adapter(*args, **kwargs)
    if func in _VALUES_TO_TENSOR or func in _VALUES_PLAIN:
        return _read_values(func, args, kwargs)
    raise TypeError(f"{func.__module__}.{func.__name__} is not supported on chainrule tensors. "
                    f"{_instead(func.__name__)}")


@functools.cache
def _ops():
    # Imported on first use, not at the top: tensor.py imports this module before the ops exist.
    from . import ops
    return ops


@functools.cache
def _tensor_type():
    from .tensor import Tensor
    return Tensor


def _any_foreign(values):
    """Whether a ufunc operand is another library's array. Tensors, NumPy arrays and scalars
    are ours to handle, and so are Python numbers and lists (they have no __array_ufunc__)."""
    tensor = _tensor_type()
    for value in values:
        ours = isinstance(value, (tensor, ndarray, xp.generic))
        if not ours and hasattr(value, "__array_ufunc__"):
            return True
    return False


def _all_known(types):
    tensor = _tensor_type()
    for kind in types:
        if not issubclass(kind, (tensor, ndarray)):
            return False
    return True


def _values(x):
    return x.data if isinstance(x, _tensor_type()) else x


# -- Refusals ----------------------------------------------------------------------------------

_LEAVE_THE_GRAPH = ("To compute values outside the graph on purpose, call it on "
                    "t.detach().numpy().")

# What to use instead, where chainrule has a way to say the same thing.
_ALTERNATIVES = {
    "log1p": "cr.log(1 + x)", "expm1": "cr.exp(x) - 1", "reciprocal": "1 / x",
    "float_power": "x ** y (after .astype('float64'))", "exp2": "2 ** x",
    "log2": "cr.log(x) / math.log(2)", "log10": "cr.log(x) / math.log(10)",
    "fabs": "np.abs(x)", "fmax": "np.maximum(a, b)", "fmin": "np.minimum(a, b)",
    "logaddexp": "cr.logsumexp(cr.stack([a, b]), axis=0)", "average": "np.mean, or "
    "(w * x).sum() / w.sum() with weights", "outer": "a[:, None] * b[None, :]",
    "tensordot": "reshape the operands and use np.matmul", "inner": "np.matmul(a, b.T)",
    "moveaxis": "np.transpose(x, axes)", "add.at": "cr.add_at",
}


def _instead(name):
    alternative = _ALTERNATIVES.get(name)
    use = f"Use {alternative} instead, which keeps the graph. " if alternative else ""
    return use + _LEAVE_THE_GRAPH


def _into_array(ufunc, method, inputs, kwargs):
    """``array -= lr * t.grad`` (NumPy calls np.subtract(..., out=(array,))): outside the graph
    the update is plain arithmetic into the array, recorded as an in-place change so that a
    graph which saved that memory refuses to backward. A target tensor, or an input that
    requires grad, is refused."""
    from .autograd import is_grad_enabled, record_inplace_change
    from .tensor import Tensor
    out = kwargs["out"]
    name = f"numpy.{ufunc.__name__}"
    if method != "__call__" or not all(type(o) is ndarray for o in out) or (
            is_grad_enabled() and any(getattr(a, "requires_grad", False) for a in inputs)):
        raise TypeError(_out_refusal(name))
    arrays = [a._data if isinstance(a, Tensor) else a for a in inputs]
    result = ufunc(*arrays, **kwargs)
    for target in out:
        record_inplace_change(target)
    return result


def _out_refusal(name):
    return (f"{name}(..., out=...) cannot write into an existing array or tensor when a chainrule "
            f"tensor is involved: the graph cannot follow the write. Use the returned tensor; to "
            f"change a tensor in place, use t += ... or t.copy_(...) under cr.no_grad(); to write "
            f"into a NumPy array, use t.detach().numpy()")


# NumPy keywords that chainrule does not implement, at the defaults that make them no-ops.
_DEFAULTS = {"initial": None, "where": True, "casting": "same_kind", "order": "K", "subok": True,
             "signature": None, "axes": None, "axis": None, "keepdims": False, "mean": None}


def _require_defaults(name, **keywords):
    for keyword, value in keywords.items():
        if keyword == "out":
            if value is not None:
                raise TypeError(_out_refusal(name))
            continue
        default = _DEFAULTS.get(keyword, ...)
        if not (value is default or (isinstance(default, str) and value == default)):
            raise TypeError(f"{name}: the keyword {keyword}={value!r} is not supported on "
                            f"chainrule tensors (only its default is). {_LEAVE_THE_GRAPH}")


# -- Ufuncs ------------------------------------------------------------------------------------

# NumPy ufunc -> the chainrule op of the same meaning, looked up by name when called (an op
# that chainrule does not have yet reads as "no counterpart").
_UFUNC_OPS = {
    xp.add: "add", xp.subtract: "sub", xp.multiply: "mul", xp.true_divide: "div",
    xp.negative: "neg", xp.power: "pow", xp.exp: "exp", xp.log: "log", xp.sqrt: "sqrt",
    xp.absolute: "abs", xp.tanh: "tanh", xp.maximum: "maximum", xp.minimum: "minimum",
    xp.matmul: "matmul", xp.sign: "sign", xp.equal: "equal", xp.not_equal: "not_equal",
    xp.less: "less", xp.less_equal: "less_equal", xp.greater: "greater",
    xp.greater_equal: "greater_equal", xp.logical_and: "logical_and",
    xp.logical_or: "logical_or", xp.logical_not: "logical_not", xp.logical_xor: "logical_xor",
    xp.bitwise_and: "bitwise_and", xp.bitwise_or: "bitwise_or", xp.bitwise_xor: "bitwise_xor",
    xp.invert: "bitwise_not",
}


def _square(x):
    return _ops().mul(x, x)


def _positive(x):
    return x  # as Tensor.__pos__


_UFUNC_ADAPTERS = {xp.square: _square, xp.positive: _positive}


@functools.cache
def _ufunc_op(ufunc):
    name = _UFUNC_OPS.get(ufunc)
    if name is None:
        return _UFUNC_ADAPTERS.get(ufunc)
    return getattr(_ops(), name, None)


_REDUCTIONS = {xp.add: "sum", xp.maximum: "max", xp.minimum: "min"}


def _reduce(ufunc, array, axis=0, dtype=None, keepdims=False, **rest):
    name = f"numpy.{ufunc.__name__}.reduce"
    if ufunc not in _REDUCTIONS:
        raise TypeError(f"{name} is not supported on chainrule tensors; only np.add.reduce "
                        f"(sum), np.maximum.reduce (max) and np.minimum.reduce (min) are. "
                        f"{_LEAVE_THE_GRAPH}")
    _require_defaults(name, **rest)
    reduce = getattr(_ops(), _REDUCTIONS[ufunc])
    return reduce(_cast(array, dtype), axis=axis, keepdims=keepdims)


def _cast(x, dtype):
    return x if dtype is None else _ops().astype(x, dtype=xp.dtype(dtype))


# -- Functions: one adapter each, with NumPy's signature ---------------------------------------

def _sum(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=True):
    _require_defaults("numpy.sum", out=out, initial=initial, where=where)
    return _ops().sum(_cast(a, dtype), axis=axis, keepdims=keepdims)


def _mean(a, axis=None, dtype=None, out=None, keepdims=False, *, where=True):
    _require_defaults("numpy.mean", out=out, where=where)
    return _ops().mean(_cast(a, dtype), axis=axis, keepdims=keepdims)


def _max(a, axis=None, out=None, keepdims=False, initial=None, where=True):
    _require_defaults("numpy.max", out=out, initial=initial, where=where)
    return _ops().max(a, axis=axis, keepdims=keepdims)


def _min(a, axis=None, out=None, keepdims=False, initial=None, where=True):
    _require_defaults("numpy.min", out=out, initial=initial, where=where)
    return _ops().min(a, axis=axis, keepdims=keepdims)


def _var(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=True, mean=None,
         correction=None):
    _require_defaults("numpy.var", out=out, where=where, mean=mean)
    ddof = _ddof("numpy.var", ddof, correction)
    return _ops().var(_cast(a, dtype), axis=axis, keepdims=keepdims, correction=ddof)


def _std(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=True, mean=None,
         correction=None):
    _require_defaults("numpy.std", out=out, where=where, mean=mean)
    ddof = _ddof("numpy.std", ddof, correction)
    return _ops().std(_cast(a, dtype), axis=axis, keepdims=keepdims, correction=ddof)


def _ddof(name, ddof, correction):
    # NumPy's function, NumPy's default: ddof=0, passed on explicitly as the correction because
    # chainrule's own var and std follow PyTorch (unbiased by default).
    if correction is None:
        return ddof
    if ddof != 0:
        raise ValueError(f"{name}: ddof and correction can't be provided simultaneously")
    return correction


def _dot(a, b, out=None):
    _require_defaults("numpy.dot", out=out)
    if xp.ndim(a) == 0 or xp.ndim(b) == 0:
        return _ops().mul(a, b)
    if xp.ndim(b) <= 2:
        return _ops().matmul(a, b)
    raise TypeError(f"numpy.dot of shapes {xp.shape(a)} and {xp.shape(b)} (an operand above 2-D "
                    f"on the right) has no chainrule counterpart; np.matmul broadcasts instead. "
                    f"{_LEAVE_THE_GRAPH}")


def _concatenate(arrays, axis=0, out=None, *, dtype=None, casting="same_kind"):
    _require_defaults("numpy.concatenate", out=out, casting=casting)
    if axis is None:
        arrays, axis = [_ops().reshape(a, shape=(-1,)) for a in arrays], 0
    return _cast(_ops().concatenate(list(arrays), axis=axis), dtype)


def _stack(arrays, axis=0, out=None, *, dtype=None, casting="same_kind"):
    _require_defaults("numpy.stack", out=out, casting=casting)
    return _cast(_ops().stack(list(arrays), axis=axis), dtype)


def _where(condition, x=None, y=None):
    if x is None or y is None:
        raise TypeError("numpy.where with only a condition returns indices, which have no "
                        "gradient; call np.nonzero(mask.numpy()), or select with t[mask]")
    return _ops().where(condition, x, y)


def _clip(a, a_min=None, a_max=None, out=None, *, min=None, max=None, dtype=None, **kwargs):
    _require_defaults("numpy.clip", out=out, **kwargs)
    low = a_min if min is None else min
    high = a_max if max is None else max
    for bound in (low, high):
        if getattr(bound, "requires_grad", False):
            raise TypeError("numpy.clip with a bound that requires grad is not supported; "
                            "use np.minimum(np.maximum(x, low), high)")
    return _cast(_ops().clip(a, low=_values(low), high=_values(high)), dtype)


def _reshape(a, shape, order="C", *, copy=None):
    if order != "C" or copy is not None:
        raise TypeError("numpy.reshape on chainrule tensors supports only order='C', copy=None")
    return _ops().reshape(a, shape=shape)


def _ravel(a, order="C"):
    return _reshape(a, (-1,), order)


def _transpose(a, axes=None):
    axes = tuple(reversed(range(xp.ndim(a)))) if axes is None else tuple(axes)
    return _ops().permute(a, axes)


def _swapaxes(a, axis1, axis2):
    return _ops().swapaxes(a, axis1, axis2)


def _expand_dims(a, axis):
    return _ops().expand_dims(a, axis)


def _squeeze(a, axis=None):
    return _ops().squeeze(a, axis)


def _broadcast_to(array, shape, subok=False):
    return _ops().broadcast_to(array, shape=tuple(shape) if xp.ndim(shape) else (shape,))


def _norm(x, ord=None, axis=None, keepdims=False):
    reduced = xp.ndim(x) if axis is None else len(xp.atleast_1d(axis))
    if not (ord is None or (ord == "fro" and reduced == 2) or (ord == 2 and reduced == 1)):
        raise TypeError(f"numpy.linalg.norm with ord={ord!r} over {reduced} axes is not supported "
                        f"on chainrule tensors; only the Euclidean/Frobenius norm (ord=None) is. "
                        f"{_LEAVE_THE_GRAPH}")
    ops = _ops()
    squares = ops.sum(ops.mul(x, x), axis=axis, keepdims=keepdims)
    # At a zero vector sqrt's derivative is infinite; the inner where gives the subgradient 0
    # there instead of NaN, as PyTorch's norm does.
    nonzero = ops.greater(squares, 0)
    return ops.where(nonzero, ops.sqrt(ops.where(nonzero, squares, 1)), 0)


def _copy(a, order="K", subok=False):
    return a.clone()


def _shape(a):
    return a.shape


def _ndim(a):
    return a.ndim


def _size(a, axis=None):
    return a.numel() if axis is None else a.shape[axis]


# Functions that only read values carry no gradient, so NumPy's own function runs on the values
# and keeps NumPy's keywords. These answer with a tensor that needs no grad (as Tensor.argmax)...
_VALUES_TO_TENSOR = {xp.argmax, xp.argmin, xp.zeros_like, xp.ones_like, xp.full_like, xp.isnan,
                     xp.isinf, xp.isfinite}
# ...and these with NumPy's plain answer: a bool, or an array of them.
_VALUES_PLAIN = {xp.allclose, xp.isclose, xp.array_equal, xp.array_equiv, xp.all, xp.any}


def _read_values(func, args, kwargs):
    if kwargs.get("out") is not None:
        raise TypeError(_out_refusal(f"numpy.{func.__name__}"))
    answer = func(*[_values(a) for a in args], **{k: _values(v) for k, v in kwargs.items()})
    return _tensor_type()(answer) if func in _VALUES_TO_TENSOR else answer


_FUNCTIONS = {
    xp.sum: _sum, xp.mean: _mean, xp.max: _max, xp.amax: _max, xp.min: _min, xp.amin: _min,
    xp.var: _var, xp.std: _std, xp.dot: _dot, xp.concatenate: _concatenate, xp.stack: _stack,
    xp.where: _where, xp.clip: _clip, xp.reshape: _reshape, xp.ravel: _ravel,
    xp.transpose: _transpose, xp.swapaxes: _swapaxes, xp.expand_dims: _expand_dims,
    xp.squeeze: _squeeze, xp.broadcast_to: _broadcast_to, xp.linalg.norm: _norm, xp.copy: _copy,
    xp.shape: _shape, xp.ndim: _ndim, xp.size: _size,
}
