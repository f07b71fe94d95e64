"""More of PyTorch's matrix functions and in-place random fills under their names and
signatures, declared public as those of functions.py are (chainrule/public.py): the top-level
names of the matrix functions in linalg.py, and ``vdot`` and ``ger``."""
from . import linalg
from .errors import DtypeError, ShapeError
from .functions import dot, outer
from .public import public
from .tensor import as_input as _t


@public(method=True)
def matrix_power(input, n):
    """``linalg.matrix_power``: a square matrix (or each in a batch) to the integer power
    ``n``; ``n < 0`` through the inverse.

    >>> cr.tensor([[2., 0.], [0., 3.]]).matrix_power(2)
    tensor([[4., 0.],
            [0., 9.]], dtype=float32)
    """
    return linalg.matrix_power(input, n)


@public(method=True)
def pinverse(input, rcond=1e-15):
    """``linalg.pinv`` with PyTorch's older spelling: singular values at most ``rcond``
    times the largest count as zero.

    >>> cr.pinverse(cr.tensor([[1., 0.], [0., 1e-20]]))
    tensor([[1., 0.],
            [0., 0.]], dtype=float32)
    """
    return linalg.pinv(input, rtol=rcond)


@public(method=True)
def cholesky(input, upper=False):
    """PyTorch's deprecated ``torch.cholesky``: ``linalg.cholesky(input, upper=upper)``.

    >>> cr.tensor([[4., 2.], [2., 2.]]).cholesky(upper=True)
    tensor([[2., 1.],
            [0., 1.]], dtype=float32)
    """
    return linalg.cholesky(input, upper=upper)


@public(method=True)
def vdot(input, other):
    """The dot product of two 1-D tensors of one dtype (for real tensors, ``dot``).

    >>> cr.vdot(cr.tensor([1., 2.]), cr.tensor([3., 4.]))
    tensor(11., dtype=float32)
    """
    input, other = _t(input), _t(other)
    if input.ndim != 1 or other.ndim != 1:
        raise ShapeError(f"vdot: needs two 1-D tensors, got shapes {tuple(input.shape)} and "
                         f"{tuple(other.shape)}")
    if input.dtype != other.dtype:
        raise DtypeError(f"vdot: expected both vectors to have the same dtype, but found "
                         f"{input.dtype} and {other.dtype} (as in PyTorch)")
    return dot(input, other)


@public(method=True)
def ger(input, vec2):
    """``outer``, under its older name: out[i, j] = input[i] * vec2[j].

    >>> cr.ger(cr.tensor([1., 2.]), cr.tensor([3., 4.]))
    tensor([[3., 4.],
            [6., 8.]], dtype=float32)
    """
    input, vec2 = _t(input), _t(vec2)
    if input.ndim != 1 or vec2.ndim != 1:
        raise ShapeError(f"ger: expected two 1-D tensors, got shapes {tuple(input.shape)} and "
                         f"{tuple(vec2.shape)} (as in PyTorch)")
    return outer(input, vec2)
