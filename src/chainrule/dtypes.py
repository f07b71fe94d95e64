"""Dtypes and type promotion, as in PyTorch.

Operands are ranked in three groups: tensors with at least one dimension, 0-d tensors, and
scalars (Python numbers and NumPy scalars). The result takes the dtype of the strongest group
present, and a weaker group only decides it when it brings a higher kind (bool < integer <
floating): a float32 tensor times 2.5 or times np.float64(2.5) stays float32, an int32 tensor
meeting 0.5 becomes the default float (float32 unless ``set_default_dtype`` changed it), and
float64 appears only when a float64 tensor takes part or is the default. NumPy's own rules
differ (float32 * np.float64 -> float64), which is why chainrule decides before NumPy computes.
"""
import math
import numbers

from .backend import ndarray, xp
from .errors import DtypeError

DEFAULT_INT = xp.dtype(xp.int64)
BOOL = xp.dtype(bool)

# PyTorch's dtype names, accepted wherever a dtype is (cr.float32, cr.long, ...).
NAMES = {
    "float16": xp.float16, "half": xp.float16, "float32": xp.float32, "float": xp.float32,
    "float64": xp.float64, "double": xp.float64, "uint8": xp.uint8, "int8": xp.int8,
    "int16": xp.int16, "short": xp.int16, "int32": xp.int32, "int": xp.int32,
    "int64": xp.int64, "long": xp.int64, "bool": xp.bool_,
}


class _Default:
    # Process-global, as torch.set_default_dtype: a holder, so that every module reads the
    # current value through default_float() rather than a copy bound at import.
    float = xp.dtype(xp.float32)


def default_float():
    """The dtype that Python floats, float factories, integer-to-float promotion and new layers'
    parameters get: float32 unless ``set_default_dtype`` changed it."""
    return _Default.float


def step_dtype():
    """The dtype of a float count kept as a 0-d array (an optimizer's step), as PyTorch's:
    float64 when that is the default float, float32 otherwise."""
    return xp.dtype(xp.float64 if _Default.float == xp.float64 else xp.float32)


def get_default_dtype():
    """The default floating-point dtype, as ``torch.get_default_dtype``.

    >>> cr.get_default_dtype()
    dtype('float32')
    """
    return _Default.float


def set_default_dtype(d):
    """Make ``d`` (float16, float32 or float64) the default floating-point dtype, as
    ``torch.set_default_dtype``: for tensors made from Python floats, the float factories
    (``zeros``, ``ones``, ``rand``, ``arange(0.5)``, ...), integers promoted to floats
    (``int_tensor * 0.5``, ``/``, ``sin``) and the parameters of new layers. Existing tensors
    keep their dtype, and a float tensor times a Python float keeps the tensor's dtype. The
    setting is process-global, as PyTorch's.

    >>> cr.set_default_dtype(cr.float64)
    >>> cr.tensor([1.5]).dtype, (cr.arange(3) / 2).dtype
    (dtype('float64'), dtype('float64'))
    >>> cr.set_default_dtype(cr.float32)
    >>> cr.set_default_dtype(cr.int64)
    Traceback (most recent call last):
        ...
    TypeError: set_default_dtype: only floating-point types are supported ..., got int64
    """
    if d is None or isinstance(d, type) and d in (float, int, bool, complex):
        raise TypeError(f"set_default_dtype: invalid dtype object {d!r}: only floating-point "
                        f"types are supported as the default type (cr.float16, cr.float32 or "
                        f"cr.float64)")
    try:
        found = xp.dtype(NAMES.get(d, d) if isinstance(d, str) else d)
    except TypeError:
        raise TypeError(f"set_default_dtype: not a dtype: {d!r}; only floating-point types are "
                        f"supported as the default type (cr.float16, cr.float32 or "
                        f"cr.float64)") from None
    if found not in (xp.float16, xp.float32, xp.float64):
        raise TypeError(f"set_default_dtype: only floating-point types are supported as the "
                        f"default type (float16, float32 or float64), got {found}")
    _Default.float = found


def as_dtype(dtype):
    """A NumPy dtype from a dtype, a NumPy type, a PyTorch-style name or Python's float/int/bool.
    Python's ``float`` is float64 whatever the default, as in PyTorch (``torch.zeros(2,
    dtype=float)``); the name ``'float'`` is float32, as ``torch.float``.

    >>> cr.as_dtype('long')
    dtype('int64')
    >>> cr.as_dtype(float), cr.as_dtype('float')
    (dtype('float64'), dtype('float32'))
    """
    if dtype is float:
        return xp.dtype(xp.float64)
    if dtype is int:
        return DEFAULT_INT
    if isinstance(dtype, str) and dtype in NAMES:
        return xp.dtype(NAMES[dtype])
    try:
        found = xp.dtype(dtype)
    except TypeError:
        raise TypeError(f"not a dtype: {dtype!r}; use e.g. 'float32', cr.float64 or "
                        f"cr.int64") from None
    if found.kind not in "biuf":
        raise TypeError(f"chainrule tensors hold numbers (bool, integers, floats), not {found}")
    return found


def float_dtype(dtype, where):
    """The dtype of a new layer's parameters: ``dtype`` (a float type), or the default float if
    it is None, as PyTorch's ``factory_kwargs``."""
    found = _Default.float if dtype is None else as_dtype(dtype)
    if found.kind != "f":
        raise ValueError(f"{where}: dtype must be a float type, got {found}")
    return found


def kind(dtype):
    """0 for bool, 1 for integers, 2 for floating point."""
    return 2 if dtype.kind == "f" else 0 if dtype.kind == "b" else 1


def promote_types(a, b):
    """The common dtype of two tensors' dtypes: the higher kind wins outright (int64 with
    float16 is float16, unlike NumPy's float64); within a kind, the wider type."""
    if a == b:
        return a
    ka, kb = kind(a), kind(b)
    if ka != kb:
        return a if ka > kb else b
    return xp.promote_types(a, b)


def can_cast(source, target):
    """Whether an in-place op may store a ``source`` result in a ``target`` tensor, by
    PyTorch's rule: never a float into an integer or bool tensor, nor an integer into a bool
    one; any width within a kind, and signed into unsigned (a uint8 tensor += an int64 tensor
    wraps), where NumPy's same_kind casting refuses int64 into uint8."""
    return kind(source) <= kind(target)


def scalar_dtype(value):
    """The dtype a lone scalar gets: the default float for floats, int64 for ints, bool for
    bools."""
    if isinstance(value, (bool, xp.bool_)):
        return BOOL
    if isinstance(value, numbers.Integral):
        return DEFAULT_INT
    if isinstance(value, numbers.Real):
        return _Default.float
    raise TypeError(f"expected a number, got {type(value).__name__} {value!r}")


def result_type(operands):
    """PyTorch's result dtype for ``operands``: arrays (or tensors' arrays) and scalars."""
    groups = ([], [], [])  # dimensioned, 0-d, scalars
    for value in operands:
        if isinstance(value, ndarray):
            groups[0 if value.ndim else 1].append(value.dtype)
        else:  # None too is refused here: NumPy would make float32(None) a NaN
            groups[2].append(scalar_dtype(value))
    result = None
    for dtypes in groups:
        if not dtypes:
            continue
        strongest = dtypes[0]
        for d in dtypes[1:]:
            strongest = promote_types(strongest, d)
        if result is None:
            result = strongest
        elif kind(strongest) > kind(result):
            # A weaker group raises the kind only: a scalar brings the default dtype of its kind.
            result = strongest if dtypes is not groups[2] else (
                _Default.float if kind(strongest) == 2 else DEFAULT_INT)
    return result


def fill_number(op, value, dtype):
    """``value`` as a 0-d array of ``dtype`` for a fill (full, fill_, masked_fill): a number
    that overflows an integer dtype is refused as PyTorch refuses it, where NumPy would wrap
    it, or a float dtype would round it to inf. PyTorch's ranges: an int into an unsigned dtype
    may be as low as -max (-1 fills uint8 with 255); a float must lie within an integer dtype's
    range (and is truncated: 2.7 fills 2)."""
    dtype = xp.dtype(dtype)
    if isinstance(value, numbers.Integral) and not isinstance(value, (bool, xp.bool_)) and \
            not -2 ** 63 <= value < 2 ** 64:  # beyond what PyTorch reads (int64 or uint64)
        raise DtypeError(f"{op}: value {value} cannot be converted to {dtype} without "
                         f"overflow (as in PyTorch)")
    if dtype.kind in "iu" and isinstance(value, numbers.Real) and \
            not isinstance(value, (bool, xp.bool_)):
        info = xp.iinfo(dtype)
        whole = isinstance(value, numbers.Integral)
        low = -int(info.max) if whole and dtype.kind == "u" else int(info.min)
        if not low <= value <= int(info.max):  # False for NaN too
            raise DtypeError(f"{op}: value {value} cannot be converted to {dtype} without "
                             f"overflow (as in PyTorch)")
        if whole:
            return xp.array(int(value), dtype=xp.int64).astype(dtype)
    elif dtype.kind == "f" and isinstance(value, numbers.Real) and math.isfinite(value) and \
            abs(value) > float(xp.finfo(dtype).max):  # a finite number that would become inf
        raise DtypeError(f"{op}: value {value} cannot be converted to {dtype} without "
                         f"overflow (as in PyTorch)")
    return xp.asarray(value).astype(dtype)
