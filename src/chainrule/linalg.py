"""``cr.linalg``: the norms of ``torch.linalg`` (norm, vector_norm, matrix_norm), with its
signatures and meanings. The spectral (ord=2, -2) and nuclear norms need an SVD, which
chainrule does not have: they raise, naming the ord."""
from . import ops
from .errors import ArgumentError, DtypeError
from .tensor import Tensor, tensor

__all__ = ["norm", "vector_norm", "matrix_norm"]

_INF = float("inf")


def _floating(name, x, dtype):
    x = x if isinstance(x, Tensor) else tensor(x)
    if dtype is not None:
        x = x.astype(dtype)
    if x.dtype.kind != "f":
        raise DtypeError(f"linalg.{name}: needs a floating-point tensor, got {x.dtype} (as in "
                         f"PyTorch); give dtype= or convert with .float()")
    return x


def _dims(dim):
    return tuple(dim) if isinstance(dim, (list, tuple)) else dim


def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None):
    """The vector ``ord``-norm over ``dim`` (every element by default): 2, 1, inf, -inf, 0
    (the count of nonzeros) or any number; the gradient at a zero vector is 0, as PyTorch's.

    >>> cr.linalg.vector_norm(cr.tensor([[3., 4.], [0., 1.]]), dim=1)
    tensor([5., 1.], dtype=float32)
    """
    x = _floating("vector_norm", x, dtype)
    if isinstance(ord, str):
        raise ArgumentError(f"linalg.vector_norm: ord must be a number, got {ord!r}")
    return ops.norm(x, ord, axis=_dims(dim), keepdims=keepdim)


def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None):
    """The matrix norm of each matrix over the two dims ``dim``: "fro" (the default), 1 / -1
    (the largest / smallest column sum of absolute values), inf / -inf (the same over rows).

    >>> cr.linalg.matrix_norm(cr.tensor([[1., -2.], [3., 4.]]), ord=1)
    tensor(6., dtype=float32)
    """
    A = _floating("matrix_norm", A, dtype)
    dims = _dims(dim)
    if not isinstance(dims, tuple) or len(dims) != 2:
        raise ArgumentError(f"linalg.matrix_norm: dim must be a pair of dims, got {dim!r}")
    rows, columns = (ops.shape.axis_of("linalg.matrix_norm", d, A.ndim) for d in dims)
    if rows == columns or A.ndim < 2:
        raise ArgumentError(f"linalg.matrix_norm: needs two different dims of a tensor with at "
                            f"least 2, got dim={dim!r} for shape {A.shape}")
    if ord == "fro":
        return ops.norm(A, 2, axis=(rows, columns), keepdims=keepdim)
    if ord in (1, -1, _INF, -_INF):
        summed, across = (rows, columns) if ord in (1, -1) else (columns, rows)
        sums = ops.abs(A).sum(summed, keepdim=True)
        pick = ops.max if ord > 0 else ops.min
        out = pick(sums, axis=across, keepdims=True)
        return out if keepdim else ops.squeeze(out, tuple(sorted((rows, columns))))
    raise ArgumentError(f"linalg.matrix_norm: ord={ord!r} is not supported: the spectral (2, "
                        f"-2) and nuclear ('nuc') norms need an SVD, which chainrule does not "
                        f"have; 'fro', 1, -1, inf and -inf are supported")


def norm(A, ord=None, dim=None, keepdim=False, *, dtype=None):
    """``torch.linalg.norm``: a vector norm when ``dim`` is one dim (or the tensor is 1-D), a
    matrix norm when it is two (or the tensor is 2-D); with neither ``ord`` nor ``dim``, the
    2-norm of every element.

    >>> cr.linalg.norm(cr.tensor([[3., 4.]]))
    tensor(5., dtype=float32)
    """
    A = _floating("norm", A, dtype)
    dims = _dims(dim)
    if ord is None and dims is None:
        return vector_norm(A, 2, None, keepdim)
    if dims is None:
        if A.ndim not in (1, 2):
            raise ArgumentError(f"linalg.norm: with ord={ord!r} and no dim the input must be "
                                f"1-D or 2-D, got shape {A.shape}")
        dims = tuple(range(A.ndim))
    if isinstance(dims, int) or len(dims) == 1:
        return vector_norm(A, 2 if ord is None else ord, dims, keepdim)
    if len(dims) == 2:
        return matrix_norm(A, "fro" if ord is None else ord, dims, keepdim)
    raise ArgumentError(f"linalg.norm: dim must be one or two dims, got {dim!r}")
