"""NumPy meets tensors through its protocols: ``np.tanh(t)`` runs chainrule's ``tanh`` and
``np.sum(t, axis=0)`` its ``sum``, so NumPy-style code on tensors keeps its graph.

``Tensor.__array_ufunc__`` and ``__array_function__`` land here. The dispatch table follows from
the declarations of the public ops (chainrule/public.py): NumPy's function or ufunc of an op's
name answers with that op; a ufunc's arguments mean what PyTorch's do, and each NumPy function
has one small adapter with NumPy's signature (numpy_functions.py). NumPy keywords that
chainrule cannot honour are accepted only at their defaults. A NumPy function without a
counterpart raises TypeError naming it: a tensor never silently turns into an array inside a
graph.
"""
import functools

from .backend import ndarray, xp
from .numpy_functions import (_LEAVE_THE_GRAPH, _VALUES_TO_TENSOR, ADAPTERS, NUMPY_ONLY, _cast,
                              _ops, _out_refusal, _read_values, _require_defaults)
from .tensor import Tensor


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
    adapter = _dispatch().get(func)
    if adapter is not None:
        return adapter(*args, **kwargs)
    raise TypeError(f"{func.__module__}.{func.__name__} is not supported on chainrule tensors. "
                    f"{_instead(func.__name__)}")


def _tensor_array_ufunc(self, ufunc, method, *inputs, **kwargs):
    return array_ufunc(ufunc, method, inputs, kwargs)


def _tensor_array_function(self, func, types, args, kwargs):
    return array_function(func, types, args, kwargs)


# Set on Tensor here rather than written in tensor.py, so that tensor.py does not import this
# module (which reaches the ops and functions, which import Tensor); the package imports it.
Tensor.__array_ufunc__ = _tensor_array_ufunc
Tensor.__array_function__ = _tensor_array_function


def _any_foreign(values):
    """Whether a ufunc operand is another library's array. Tensors, NumPy arrays and scalars
    are ours to handle, and so are Python numbers and lists (they have no __array_ufunc__)."""
    for value in values:
        ours = isinstance(value, (Tensor, ndarray, xp.generic))
        if not ours and hasattr(value, "__array_ufunc__"):
            return True
    return False


def _all_known(types):
    for kind in types:
        if not issubclass(kind, (Tensor, ndarray)):
            return False
    return True


# -- Refusals ----------------------------------------------------------------------------------


# What to use instead, where chainrule has a way to say the same thing.
_ALTERNATIVES = {
    "float_power": "x ** y (after .astype('float64'))", "fabs": "np.abs(x)",
    "fmax": "np.maximum(a, b)", "fmin": "np.minimum(a, b)",
    "average": "np.mean, or (w * x).sum() / w.sum() with weights",
    "tensordot": "reshape the operands and use np.matmul", "inner": "np.matmul(a, b.T)",
    "add.at": "cr.add_at", "add.accumulate": "np.cumsum",
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
    from .engine import is_grad_enabled, record_inplace_change
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


# -- Ufuncs ------------------------------------------------------------------------------------

@functools.cache
def _ufunc_op(ufunc):
    return _dispatch().get(ufunc)


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


@functools.cache
def _dispatch():
    """NumPy function or ufunc -> what answers it on tensors: each declared chainrule op answers
    NumPy's function of its name, aliases and declared NumPy names (chainrule/public.py). A
    ufunc's arguments mean what PyTorch's do; a NumPy function's need an adapter with NumPy's
    signature (numpy_functions.py), and one without an adapter is refused, naming the op."""
    from .public import DECLARATIONS
    table = {}
    for name, declaration in DECLARATIONS.items():
        extra = declaration.numpy if name == declaration.name else ()
        for numpy_name in (name,) + extra:
            target = _numpy_callable(numpy_name)
            if target is None or target in table:
                continue
            adapter = ADAPTERS.get(numpy_name)
            if adapter is None and not isinstance(target, xp.ufunc):
                adapter = functools.partial(_untranslated, numpy_name, name)
            table[target] = adapter or declaration.function
    for numpy_name, adapter in NUMPY_ONLY.items():
        table.setdefault(_numpy_callable(numpy_name), adapter)
    return table


def _numpy_callable(dotted):
    found = xp
    for part in dotted.split("."):
        found = getattr(found, part, None)
    return found if callable(found) and not isinstance(found, type) else None


def _untranslated(numpy_name, name, *args, **kwargs):
    raise TypeError(f"numpy.{numpy_name} on chainrule tensors: chainrule's {name} has PyTorch's "
                    f"arguments, and NumPy's are not translated for it yet; call cr.{name}. "
                    f"{_LEAVE_THE_GRAPH}")
