"""``cr.tril_indices`` and ``cr.triu_indices``: the coordinates of a matrix's lower or upper
triangle, PyTorch's creation functions, declared public as functions.py's are."""
import numbers

from .backend import xp
from .device import check_device
from .dtypes import as_dtype
from .errors import ArgumentError, DtypeError
from .public import public
from .tensor import Tensor


def _triangle(name, row, col, offset, dtype, device, lower):
    check_device(device, name)
    for label, value in (("row", row), ("col", col), ("offset", offset)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise TypeError(f"{name}(): argument '{label}' must be int, not "
                            f"{type(value).__name__}")
    for label, value in (("row", row), ("col", col)):
        if value < 0:
            raise ArgumentError(f"{name}: {label} must be non-negative, got {value}")
    dtype = as_dtype("int64" if dtype is None else dtype)
    if dtype not in (xp.dtype("int32"), xp.dtype("int64")):
        raise DtypeError(f"{name}: not implemented for {dtype}; PyTorch's choices are int32 "
                         f"and int64")
    rows, cols = xp.indices((int(row), int(col)))
    # Row-major order, as PyTorch lists them: row by row, each row's columns ascending.
    keep = cols - rows <= offset if lower else cols - rows >= offset
    return Tensor._wrap(xp.stack([rows[keep], cols[keep]]).astype(dtype))


@public
def tril_indices(row, col, offset=0, *, dtype=None, device=None):
    """The (row, column) coordinates of the lower triangle of a ``row`` x ``col`` matrix, as a
    2 x N int64 tensor in row-major order: the positions with ``column - row <= offset``
    (``offset`` > 0 takes diagonals above the main one, < 0 leaves some out). Index a matrix
    with them: ``m[tuple(cr.tril_indices(3, 3))]``.

    >>> cr.tril_indices(3, 3)
    tensor([[0, 1, 1, 2, 2, 2],
            [0, 0, 1, 0, 1, 2]], dtype=int64)
    >>> cr.tril_indices(3, 4, -1).shape
    cr.Size([2, 3])
    """
    return _triangle("tril_indices", row, col, offset, dtype, device, lower=True)


@public
def triu_indices(row, col, offset=0, *, dtype=None, device=None):
    """The (row, column) coordinates of the upper triangle of a ``row`` x ``col`` matrix, as a
    2 x N int64 tensor in row-major order: the positions with ``column - row >= offset``.

    >>> cr.triu_indices(3, 3, 1)
    tensor([[0, 0, 1],
            [1, 2, 2]], dtype=int64)
    """
    return _triangle("triu_indices", row, col, offset, dtype, device, lower=False)
