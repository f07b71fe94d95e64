"""NumPy's functions on tensors, each with NumPy's signature and meaning, answered by chainrule's
ops so that the graph is kept (``np.cumsum(t)`` flattens first, ``np.max(t, axis=1)`` gives the
values alone, ``np.std`` divides by N). The protocol (numpy_protocol.py) looks them up by NumPy
name for the declared ops that share it; a ufunc needs no adapter. The argument checks that
the adapters and the protocol share (NumPy keywords at their defaults, ``out=`` refused) are
here too, so that the protocol imports this module and not the other way round.
"""
import functools

from .backend import xp
from .tensor import Tensor

# -- What the adapters and the protocol (numpy_protocol.py) share ------------------------------

@functools.cache
def _ops():
    # Looked up on first use rather than imported at the top: the package imports the ops and
    # the public functions after Tensor, and this module may be imported at any point after it.
    from . import ops
    return ops


@functools.cache
def _functions():
    from . import functions
    return functions


def _values(x):
    return x._data if isinstance(x, Tensor) else x


_LEAVE_THE_GRAPH = ("To compute values outside the graph on purpose, call it on "
                    "t.detach().numpy().")


def _out_refusal(name):
    return (f"{name}(..., out=...) cannot write into an existing array or tensor when a chainrule "
            f"tensor is involved: the graph cannot follow the write. Use the returned tensor; to "
            f"change a tensor in place, use t += ... or t.copy_(...) under cr.no_grad(); to write "
            f"into a NumPy array, use t.detach().numpy()")


# NumPy keywords that chainrule does not implement, at the defaults that make them no-ops.
_DEFAULTS = {"initial": None, "where": True, "casting": "same_kind", "order": "K", "subok": True,
             "signature": None, "axes": None, "axis": None, "keepdims": False, "mean": None,
             "sparse": False}


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


def _cast(x, dtype):
    return x if dtype is None else _ops().astype(x, dtype=xp.dtype(dtype))


# Functions that only read values carry no gradient, so NumPy's own function runs on the values
# and keeps NumPy's keywords. These answer with a tensor that needs no grad (as Tensor.argmax)...
_VALUES_TO_TENSOR = {xp.argmax, xp.argmin, xp.count_nonzero, xp.zeros_like, xp.ones_like,
                     xp.full_like, xp.isnan, xp.isinf, xp.isfinite}
# The others (all, any, isclose, ...) give NumPy's plain answer: a bool, or an array of them.


def _read_values(func, args, kwargs):
    if kwargs.get("out") is not None:
        raise TypeError(_out_refusal(f"numpy.{func.__name__}"))
    answer = func(*[_values(a) for a in args], **{k: _values(v) for k, v in kwargs.items()})
    return Tensor._wrap(answer) if func in _VALUES_TO_TENSOR else answer


# -- The adapters -------------------------------------------------------------------------------


def _positive(x):
    return x  # as Tensor.__pos__


def _sum(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=True):
    _require_defaults("numpy.sum", out=out, initial=initial, where=where)
    return _ops().sum(_cast(a, dtype), axis=axis, keepdims=keepdims)


def _nansum(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=True):
    _require_defaults("numpy.nansum", out=out, initial=initial, where=where)
    from .more_functions import nansum
    return nansum(a, axis, keepdims, dtype=dtype)


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
    # torch.linalg.norm has NumPy's meaning (ord, axis as dim), short of the SVD-based norms.
    reduced = xp.ndim(x) if axis is None else len(xp.atleast_1d(axis))
    if reduced == 2 and ord in (2, -2, "nuc"):
        raise TypeError(f"numpy.linalg.norm with ord={ord!r} over 2 axes (a spectral or nuclear "
                        f"norm) needs an SVD, which chainrule does not have. {_LEAVE_THE_GRAPH}")
    from . import linalg
    return linalg.norm(x, ord, None if axis is None else _axes(axis), keepdims)


def _axes(axis):
    return tuple(axis) if xp.ndim(axis) else int(axis)


def _copy(a, order="K", subok=False):
    return a.clone()


def _shape(a):
    return tuple(a.shape)


def _ndim(a):
    return a.ndim


def _size(a, axis=None):
    return a.numel() if axis is None else a.shape[axis]


def _flat_axis(a, axis):
    """NumPy's axis=None on a scan or sort means the flattened array."""
    return (_ops().reshape(a, shape=(-1,)), 0) if axis is None else (a, axis)


def _prod(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=True):
    _require_defaults("numpy.prod", out=out, initial=initial, where=where)
    return _functions().prod(a, axis, keepdims, dtype=dtype)


def _cumsum(a, axis=None, dtype=None, out=None):
    _require_defaults("numpy.cumsum", out=out)
    return _functions().cumsum(*_flat_axis(a, axis), dtype=dtype)


def _cumprod(a, axis=None, dtype=None, out=None):
    _require_defaults("numpy.cumprod", out=out)
    return _functions().cumprod(*_flat_axis(a, axis), dtype=dtype)


def _sort(a, axis=-1, kind=None, order=None, *, stable=None):
    _refuse_order("numpy.sort", order)
    return _ops().sort(*_flat_axis(a, axis)).values  # NumPy's sort: the values alone


def _argsort(a, axis=-1, kind=None, order=None, *, stable=None):
    _refuse_order("numpy.argsort", order)
    a, axis = _flat_axis(a, axis)
    return _ops().sort(a, axis, stable=True).indices


def _refuse_order(name, order):
    if order is not None:
        raise TypeError(f"{name}: order= sorts structured arrays, which tensors are not")


def _einsum(subscripts, *operands, out=None, dtype=None, order="K", casting="safe",
            optimize=False):
    _require_defaults("numpy.einsum", out=out, order=order)
    return _cast(_ops().einsum(subscripts, *operands), dtype)


def _tril(m, k=0):
    return _ops().tril(m, k)


def _triu(m, k=0):
    return _ops().triu(m, k)


def _diag(v, k=0):
    return _ops().diag(v, k)


def _diagonal(a, offset=0, axis1=0, axis2=1):
    return _ops().diagonal(a, offset, axis1, axis2)


def _flip(m, axis=None):
    dims = range(xp.ndim(m)) if axis is None else xp.atleast_1d(axis).tolist()
    return _ops().flip(m, tuple(dims))


def _fliplr(m):
    return _ops().fliplr(m)


def _flipud(m):
    return _ops().flipud(m)


def _roll(a, shift, axis=None):
    return _ops().roll(a, shift, axis)


def _tile(A, reps):
    return _ops().tile(A, tuple(xp.atleast_1d(reps).tolist()))


def _repeat(a, repeats, axis=None):
    return _ops().repeat_interleave(a, repeats, axis)


def _moveaxis(a, source, destination):
    return _ops().movedim(a, source, destination)


def _split(ary, indices_or_sections, axis=0):
    if xp.ndim(indices_or_sections) == 0 and xp.shape(ary)[axis] % indices_or_sections:
        raise ValueError("array split does not result in an equal division")
    return list(_ops().tensor_split(ary, indices_or_sections, axis))


def _round(a, decimals=0, out=None):
    _require_defaults("numpy.round", out=out)
    return _ops().round(a, decimals=decimals)


def _fix(x, out=None):
    _require_defaults("numpy.fix", out=out)
    return _ops().trunc(x)


def _nan_to_num(x, copy=True, nan=0.0, posinf=None, neginf=None):
    return _ops().nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf)


def _outer(a, b, out=None):
    _require_defaults("numpy.outer", out=out)
    ops = _ops()
    return _functions().outer(ops.reshape(a, shape=(-1,)), ops.reshape(b, shape=(-1,)))


def _vdot(a, b):
    # NumPy's vdot flattens both operands; for real ones it is then their dot product.
    ops = _ops()
    return _functions().dot(ops.reshape(a, shape=(-1,)), ops.reshape(b, shape=(-1,)))


@functools.cache
def _products():
    from . import products
    return products


def _trace(a, offset=0, axis1=0, axis2=1, dtype=None, out=None):
    _require_defaults("numpy.trace", out=out)
    return _ops().sum(_cast(_ops().diagonal(a, offset, axis1, axis2), dtype), axis=-1)


def _tensordot(a, b, axes=2):
    return _products().tensordot(a, b, axes)


def _diff(a, n=1, axis=-1, prepend=xp._NoValue, append=xp._NoValue):
    ends = []
    for end in (prepend, append):
        if end is not xp._NoValue and xp.ndim(end) == 0:  # NumPy spreads a number along axis
            shape = list(xp.shape(a))
            shape[axis] = 1
            end = (_ops().broadcast_to(end, shape=tuple(shape)) if isinstance(end, Tensor) else
                   xp.broadcast_to(end, shape))
        ends.append(None if end is xp._NoValue else end)
    return _products().diff(a, n, axis, *ends)


def _cross(a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    if axis is not None:
        axisa = axisb = axisc = axis
    if not axisa == axisb == axisc:
        raise TypeError(f"numpy.cross with axisa={axisa}, axisb={axisb}, axisc={axisc} is not "
                        f"supported on chainrule tensors (one axis for all three is). "
                        f"{_LEAVE_THE_GRAPH}")
    return _products().linalg_cross(a, b, dim=axisa)


def _meshgrid(*xi, copy=True, sparse=False, indexing="xy"):
    _require_defaults("numpy.meshgrid", sparse=sparse)
    return list(_ops().meshgrid(*xi, indexing=indexing))


_NUMPY_PAD_MODES = {"constant": "constant", "reflect": "reflect", "edge": "replicate",
                    "wrap": "circular"}


def _pad(array, pad_width, mode="constant", **kwargs):
    if mode not in _NUMPY_PAD_MODES or set(kwargs) - {"constant_values"}:
        raise TypeError(f"numpy.pad on chainrule tensors supports the modes "
                        f"{sorted(_NUMPY_PAD_MODES)} and constant_values; got mode={mode!r} "
                        f"with {sorted(kwargs)}. {_LEAVE_THE_GRAPH}")
    value = kwargs.get("constant_values", 0)
    if xp.ndim(value):
        raise TypeError("numpy.pad on chainrule tensors takes one constant_values number")
    widths = xp.broadcast_to(xp.asarray(pad_width, dtype=xp.int64), (xp.ndim(array), 2))
    # PyTorch's pad lists (before, after) from the last dimension backwards.
    torch_pad = [int(w) for pair in widths[::-1] for w in pair]
    if mode != "constant":
        return _ops().pad(array, torch_pad, _NUMPY_PAD_MODES[mode])
    return _ops().pad(array, torch_pad, "constant", value)


def _joiner(name):
    def join(tup, *, dtype=None, casting="same_kind"):
        _require_defaults(f"numpy.{name}", casting=casting)
        return _cast(getattr(_functions(), name)(list(tup)), dtype)
    join.__name__ = f"_{name}"
    return join


def _median(a, axis=None, out=None, overwrite_input=False, keepdims=False):
    """NumPy's median: the mean of the two middle values of an even count (PyTorch's is the
    lower one); NaN where a NaN is present."""
    _require_defaults("numpy.median", out=out, keepdims=keepdims)
    ops = _ops()
    a, axis = _flat_axis(a, axis)
    ordered = ops.sort(a, axis).values  # NaNs last
    n = xp.shape(a)[axis]
    middle = ops.index_select(ordered, axis, Tensor._wrap(xp.array([(n - 1) // 2, n // 2])))
    value = ops.mean(middle, axis=axis)
    return ops.where(ops.any(ops.isnan(a), axis=axis), float("nan"), value)


def _nonzero(a):
    return _ops().nonzero(a, as_tuple=True)


def _equal(x1, x2):
    return _ops().equal(x1, x2)  # elementwise, where cr.equal answers one bool as torch.equal


def _astype(x, dtype, /, *, copy=True, device=None):
    return _ops().astype(x, dtype=xp.dtype(dtype))


def _values_adapter(func):
    return functools.partial(_read_values_call, func)


def _read_values_call(func, *args, **kwargs):
    return _read_values(func, args, kwargs)


def _indexing():
    from . import more_indexing
    return more_indexing


def _nanmean(a, axis=None, dtype=None, out=None, keepdims=False, *, where=True):
    _require_defaults("numpy.nanmean", out=out, where=where)
    return _indexing().nanmean(_cast(a, dtype), None if axis is None else _axes(axis), keepdims)


def _quantiles(name, skip_nan):
    """NumPy's quantile or nanquantile: q any array-like, integers answered in float64, and
    the methods that PyTorch's interpolation names; a tuple of axes is refused."""
    def adapter(a, q, axis=None, out=None, overwrite_input=False, method="linear",
                keepdims=False, *, weights=None):
        _require_defaults(f"numpy.{name}", out=out)
        if weights is not None or xp.ndim(axis):
            raise TypeError(f"numpy.{name} on chainrule tensors takes one axis and no weights; "
                            f"{_LEAVE_THE_GRAPH}")
        a = a if a.dtype.kind == "f" else _cast(a, xp.float64)
        q = q if xp.ndim(q) == 0 else Tensor._wrap(xp.asarray(_values(q), dtype=a.dtype))
        function = _indexing().nanquantile if skip_nan else _indexing().quantile
        return function(a, q, axis, keepdims, interpolation=method)
    return adapter


def _nanmedian(a, axis=None, out=None, overwrite_input=False, keepdims=False):
    """NumPy's nanmedian: the mean of the two middle values of an even count (PyTorch's is
    the lower one)."""
    return _quantiles("nanmedian", True)(a, 0.5, axis, out, keepdims=keepdims)


def _take(a, indices, axis=None, out=None, mode="raise"):
    _require_defaults("numpy.take", out=out)
    if mode != "raise":
        raise TypeError(f"numpy.take on chainrule tensors: mode={mode!r} is not supported")
    index = Tensor._wrap(xp.asarray(_values(indices), dtype=xp.int64))
    if axis is None:
        return _indexing().take(a, index)
    picked = _ops().index_select(a, axis, index.reshape(-1))
    axis %= a.ndim
    return picked.reshape(a.shape[:axis] + tuple(index.shape) + a.shape[axis + 1:])


def _select(condlist, choicelist, default=0):
    """NumPy's select: the first choice whose condition holds, else ``default``."""
    answer = default
    for condition, choice in reversed(list(zip(condlist, choicelist))):
        answer = _ops().where(condition, choice, answer)
    return answer


def _splitter(name):
    return lambda ary, indices_or_sections: list(getattr(_indexing(), name)(
        ary, indices_or_sections))


# NumPy name -> the adapter that gives NumPy's meaning on tensors, for each declared op whose NumPy
# namesake is not a ufunc (a ufunc's arguments already mean what PyTorch's do).
ADAPTERS = {
    "sum": _sum, "nansum": _nansum, "mean": _mean, "max": _max, "amax": _max, "min": _min, "amin": _min,
    "var": _var, "std": _std, "prod": _prod, "cumsum": _cumsum, "cumprod": _cumprod,
    "dot": _dot, "concatenate": _concatenate, "concat": _concatenate, "stack": _stack,
    "vdot": _vdot,
    "where": _where, "clip": _clip, "reshape": _reshape, "transpose": _transpose,
    "swapaxes": _swapaxes, "expand_dims": _expand_dims, "squeeze": _squeeze,
    "broadcast_to": _broadcast_to, "sort": _sort, "argsort": _argsort, "einsum": _einsum,
    "tril": _tril, "triu": _triu, "diag": _diag, "diagonal": _diagonal, "flip": _flip,
    "fliplr": _fliplr, "flipud": _flipud, "roll": _roll, "tile": _tile, "repeat": _repeat,
    "moveaxis": _moveaxis, "split": _split, "round": _round, "fix": _fix,
    "nan_to_num": _nan_to_num, "outer": _outer, "meshgrid": _meshgrid, "pad": _pad,
    "astype": _astype, "equal": _equal, "nonzero": _nonzero, "median": _median,
    "hstack": _joiner("hstack"), "vstack": _joiner("vstack"), "dstack": _joiner("dstack"),
    "column_stack": _joiner("column_stack"), "unique": _values_adapter(xp.unique),
    "histogram": _values_adapter(xp.histogram),
    "argmax": _values_adapter(xp.argmax), "argmin": _values_adapter(xp.argmin),
    "count_nonzero": _values_adapter(xp.count_nonzero), "all": _values_adapter(xp.all),
    "any": _values_adapter(xp.any), "isclose": _values_adapter(xp.isclose),
    "allclose": _values_adapter(xp.allclose), "trace": _trace,
    "kron": lambda a, b: _products().kron(a, b), "inner": lambda a, b: _products().inner(a, b),
    "tensordot": _tensordot, "diff": _diff, "cross": _cross,
    "nanmean": _nanmean, "nanmedian": _nanmedian, "quantile": _quantiles("quantile", False),
    "nanquantile": _quantiles("nanquantile", True), "bincount": _values_adapter(xp.bincount),
    "argwhere": _values_adapter(xp.argwhere), "take": _take, "select": _select,
    "hsplit": _splitter("hsplit"), "vsplit": _splitter("vsplit"), "dsplit": _splitter("dsplit"),
    "rot90": lambda m, k=1, axes=(0, 1): _indexing().rot90(m, k, axes),
    "diagflat": lambda v, k=0: _indexing().diagflat(v, k), "isreal": _values_adapter(xp.isreal),
    "isposinf": _values_adapter(xp.isposinf), "isneginf": _values_adapter(xp.isneginf),
    "sinc": lambda x: _special_math().sinc(x),  # NumPy's sinc is PyTorch's, sin(pi x)/(pi x)
}


def _special_math():
    from .ops import special_math
    return special_math

# NumPy functions that chainrule answers though it declares no op of their name.
NUMPY_ONLY = {
    "ravel": _ravel, "copy": _copy, "shape": _shape, "ndim": _ndim, "size": _size,
    "linalg.norm": _norm, "positive": _positive, "array_equal": _values_adapter(xp.array_equal),
    "array_equiv": _values_adapter(xp.array_equiv), "zeros_like": _values_adapter(xp.zeros_like),
    "ones_like": _values_adapter(xp.ones_like), "full_like": _values_adapter(xp.full_like),
}
