"""The one primitive about memory layout: a C-ordered copy (``Tensor.contiguous()``)."""
from .primitive import primitive


@primitive
def contiguous(x):
    """A copy of ``x`` in C (row-major) order, as PyTorch's ``contiguous()`` makes when the
    memory is in another order; the gradient passes through unchanged.

    >>> cr.ops.memory.contiguous(cr.zeros(3, 2).t()).is_contiguous()
    True
    """
    return x.copy(order="C")


@contiguous.vjp(formula="{grad}")
def _(grad):
    return grad
