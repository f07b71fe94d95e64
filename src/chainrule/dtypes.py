"""Dtypes and type promotion, as in PyTorch.

Operands are ranked in three groups: tensors with at least one dimension, 0-d tensors, and
scalars (Python numbers and NumPy scalars). The result takes the dtype of the strongest group
present, and a weaker group only decides it when it brings a higher kind (bool < integer <
floating): a float32 tensor times 2.5 or times np.float64(2.5) stays float32, an int32 tensor
meeting 0.5 becomes float32 (the default float), and float64 appears only when a float64 tensor
takes part. NumPy's own rules differ (float32 * np.float64 -> float64), which is why chainrule
decides before NumPy computes.
"""
import numbers

from .backend import ndarray, xp

DEFAULT_FLOAT = xp.dtype(xp.float32)
DEFAULT_INT = xp.dtype(xp.int64)
BOOL = xp.dtype(bool)

# PyTorch's dtype names, accepted wherever a dtype is (cr.float32, cr.long, ...).
NAMES = {
    "float16": xp.float16, "half": xp.float16, "float32": xp.float32, "float": xp.float32,
    "float64": xp.float64, "double": xp.float64, "uint8": xp.uint8, "int8": xp.int8,
    "int16": xp.int16, "short": xp.int16, "int32": xp.int32, "int": xp.int32,
    "int64": xp.int64, "long": xp.int64, "bool": xp.bool_,
}


def as_dtype(dtype):
    """A NumPy dtype from a dtype, a NumPy type, a PyTorch-style name or Python's float/int/bool.

    >>> cr.as_dtype('long')
    dtype('int64')
    >>> cr.as_dtype(float)
    dtype('float32')
    """
    if dtype is float:
        return DEFAULT_FLOAT
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


def scalar_dtype(value):
    """The dtype a lone scalar gets: float32 for floats, int64 for ints, bool for bools."""
    if isinstance(value, (bool, xp.bool_)):
        return BOOL
    if isinstance(value, numbers.Integral):
        return DEFAULT_INT
    if isinstance(value, numbers.Real):
        return DEFAULT_FLOAT
    raise TypeError(f"expected a number, got {type(value).__name__} {value!r}")


def result_type(operands):
    """PyTorch's result dtype for ``operands``: arrays (or tensors' arrays) and scalars."""
    groups = ([], [], [])  # dimensioned, 0-d, scalars
    for value in operands:
        if isinstance(value, ndarray):
            groups[0 if value.ndim else 1].append(value.dtype)
        elif value is not None:
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
                DEFAULT_FLOAT if kind(strongest) == 2 else DEFAULT_INT)
    return result
