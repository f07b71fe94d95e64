"""``cr.linalg``: the norms of ``torch.linalg`` (norm, vector_norm, matrix_norm), with its
signatures and meanings; the spectral (ord=2, -2) and nuclear norms through the singular values.

Beside them inv, det, slogdet, solve, cholesky, pinv, eigh, svd and qr (the primitives of
ops/decompositions.py: NumPy's LAPACK forward, the textbook VJPs), their composites
(eigvalsh, svdvals, matrix_power) and cross; a matrix that cannot be factored raises
``cr.linalg.LinAlgError``, as PyTorch raises torch.linalg.LinAlgError. ``cr.det``,
``cr.logdet``, ``cr.slogdet`` and ``cr.inverse`` are declared here too."""
from typing import NamedTuple

from . import ops
from .backend import xp
from .errors import ArgumentError, DtypeError, ShapeError
from .ops import decompositions
from .ops.decompositions import LinAlgError
from .products import linalg_cross
from .public import public
from .tensor import Tensor, tensor

__all__ = ["norm", "vector_norm", "matrix_norm", "inv", "det", "slogdet", "solve", "cholesky",
           "cross", "matrix_power", "pinv", "eigh", "eigvalsh", "svd", "svdvals", "qr", "LinAlgError"]

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
    axis = _dims(dim)
    return ops.norm(x, ord, axis=None if axis == () else axis, keepdims=keepdim)  # (): every dim,
    # as PyTorch's, where NumPy's axis=() reduces none


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
    if ord in (2, -2, "nuc"):
        values = svdvals(A.movedim((rows, columns), (-2, -1)))
        out = values.sum(-1) if ord == "nuc" else (ops.max if ord == 2 else ops.min)(
            values, axis=-1)
        if keepdim:
            for d in sorted((rows, columns)):
                out = out.unsqueeze(d)
        return out
    raise ArgumentError(f"linalg.matrix_norm: ord={ord!r} is not supported; 'fro', 'nuc', 2, "
                        f"-2, 1, -1, inf and -inf are")


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


def _matrices(x):
    return x if isinstance(x, Tensor) else tensor(x)


def inv(A):
    """The inverse of a square matrix or of each in a batch; a singular matrix raises
    LinAlgError. The gradient is ``-A^-T grad A^-T``.

    >>> cr.linalg.inv(cr.tensor([[2., 0.], [0., 4.]]))
    tensor([[0.5 , 0.  ],
            [0.  , 0.25]], dtype=float32)
    """
    return decompositions.inv(_matrices(A))


def det(A):
    """The determinant of a square matrix or of each in a batch. The gradient is
    ``grad * det(A) * A^-T``, the matrix of cofactors, which is also right where A is
    singular.

    >>> cr.linalg.det(cr.tensor([[1., 2.], [3., 4.]]))
    tensor(-2., dtype=float32)
    """
    return decompositions.det(_matrices(A))


class Slogdet(NamedTuple):
    """``slogdet``'s result: the sign of the determinant (-1, 0 or 1; no gradient) and the
    log of its absolute value."""
    sign: Tensor
    logabsdet: Tensor


def slogdet(A):
    """The sign and the log of the absolute value of the determinant, which stays finite
    where the determinant itself would overflow; ``(0, -inf)`` for a singular matrix.

    >>> cr.linalg.slogdet(cr.tensor([[1., 2.], [3., 4.]]))
    Slogdet(sign=tensor(-1., dtype=float32), logabsdet=tensor(0.6931472, dtype=float32))
    """
    A = _matrices(A)
    logabsdet = decompositions.logabsdet(A)
    # Through where, the sign is in the graph with a zero gradient, as PyTorch's.
    return Slogdet(ops.where(True, decompositions.slogdet_sign(A), logabsdet), logabsdet)


def logdet(input):
    """The log of the determinant: nan where it is negative (with a zero gradient there, as
    in PyTorch), -inf where it is zero.

    >>> cr.logdet(cr.tensor([[2., 0.], [0., 3.]]))
    tensor(1.7917595, dtype=float32)
    """
    sign, logabsdet = slogdet(input)
    return ops.where(sign < 0, xp.nan, logabsdet)


def solve(A, B, *, left=True):
    """X with ``A X = B`` (``X A = B`` with ``left=False``) for a square A and B a matrix or a
    vector (B of shape A.shape[:-1] is a batch of vectors), batch dims broadcasting; a
    singular A raises LinAlgError. The gradients: ``B: solve(A^T, grad)``, ``A: -B' X^T``.

    >>> cr.linalg.solve(cr.tensor([[2., 0.], [0., 4.]]), cr.tensor([2., 2.]))
    tensor([1. , 0.5], dtype=float32)
    """
    A, B = _matrices(A), _matrices(B)
    vector = B.ndim == 1 or (B.ndim == A.ndim - 1 and tuple(B.shape) == tuple(A.shape[:-1]))
    if vector and not left:
        raise ShapeError(f"linalg.solve: with left=False, B must be a matrix (X A = B), got "
                         f"shape {tuple(B.shape)} for A of shape {tuple(A.shape)}")
    if vector:
        B = B.unsqueeze(-1)
    if left:
        X = decompositions.solve(A, B)
    else:
        X = decompositions.solve(A.mT, B.mT).mT
    return X.squeeze(-1) if vector else X


def cholesky(A, *, upper=False):
    """The lower-triangular L with ``L L^T = A`` for a symmetric positive-definite A (only
    its lower triangle is read); its transpose with ``upper=True``. A matrix that is not
    positive-definite raises LinAlgError.

    >>> cr.linalg.cholesky(cr.tensor([[4., 2.], [2., 2.]]))
    tensor([[2., 0.],
            [1., 1.]], dtype=float32)
    """
    L = decompositions.cholesky(_matrices(A))
    return L.mT if upper else L


def cross(input, other, *, dim=-1):
    """The cross product of 3-vectors along ``dim`` (the last by default), broadcasting.

    >>> cr.linalg.cross(cr.tensor([0., 1., 0.]), cr.tensor([0., 0., 1.]))
    tensor([1., 0., 0.], dtype=float32)
    """
    return linalg_cross(input, other, dim=dim)


public(det, method=True)
public(logdet, method=True)
public(slogdet, method=True)
public(inv, name="inverse", method=True)


def matrix_power(A, n):
    """A square matrix (or each in a batch) to the integer power ``n``, by repeated squaring:
    ``n = 0`` gives the identity (with a zero gradient), a negative ``n`` the power of
    ``inv(A)``. The gradient is that of the products.

    >>> cr.linalg.matrix_power(cr.tensor([[1., 1.], [0., 1.]]), 3)
    tensor([[1., 3.],
            [0., 1.]], dtype=float32)
    """
    A = _matrices(A)
    if isinstance(n, bool) or not isinstance(n, (int, xp.integer)):
        raise TypeError(f"matrix_power(): argument 'n' must be int, not {type(n).__name__}")
    if A.ndim < 2 or A.shape[-1] != A.shape[-2]:
        raise ShapeError(f"linalg.matrix_power: A must be a square matrix or a batch of them, "
                         f"got shape {tuple(A.shape)}")
    n = int(n)
    if n == 0:  # through where: the identity, in the graph with a zero gradient, as PyTorch's
        eye = xp.broadcast_to(xp.eye(A.shape[-1], dtype=A.dtype), A.shape)
        return ops.where(True, eye, A)
    if n < 0:
        A, n = inv(A), -n
    result, base = None, A
    while n:
        if n & 1:
            result = base if result is None else result @ base
        n >>= 1
        if n:
            base = base @ base
    return result.clone() if result is A else result


def pinv(A, *, atol=None, rtol=None, hermitian=False):
    """The Moore-Penrose pseudo-inverse of a matrix (or each in a batch), through the SVD
    (eigh with ``hermitian=True``, reading the lower triangle). Singular values at most
    ``max(atol, rtol * the largest)`` count as zero; ``rtol`` defaults to
    ``eps * max(m, n)``, or 0 where a positive ``atol`` is given, as PyTorch. The gradient
    is Golub and Pereyra's, exact where the rank does not change.

    >>> cr.linalg.pinv(cr.tensor([[2., 0.], [0., 0.]]))
    tensor([[0.5, 0. ],
            [0. , 0. ]], dtype=float32)
    """
    for name, tol in (("atol", atol), ("rtol", rtol)):
        if tol is not None and not isinstance(tol, (int, float, xp.number)):
            raise TypeError(f"linalg.pinv: {name} must be a number, got {type(tol).__name__}")
    return decompositions.pinv(_matrices(A), atol=atol, rtol=rtol, hermitian=hermitian)


class Eigh(NamedTuple):
    """``eigh``'s result: the eigenvalues in ascending order and the eigenvectors, as the
    columns of a matrix."""
    eigenvalues: Tensor
    eigenvectors: Tensor


def eigh(A, UPLO="L"):
    """The eigenvalues (ascending) and orthonormal eigenvectors (columns) of a symmetric
    matrix, or of each in a batch, reading its lower (``UPLO="L"``) or upper triangle. Each
    eigenvector's sign is LAPACK's choice, as in PyTorch. The gradient is the symmetric
    eigen formula ``V (diag(g_w) + skew(V^T g_V) / (w_j - w_i)) V^T``; where an eigenvalue
    repeats and the loss uses the eigenvectors it is inf or nan, as PyTorch's.

    >>> cr.linalg.eigh(cr.tensor([[2., 1.], [1., 2.]])).eigenvalues
    tensor([1., 3.], dtype=float32)
    """
    packed = decompositions.eigh_packed(_matrices(A), UPLO=UPLO)
    return Eigh(packed[..., 0, :], packed[..., 1:, :])


def eigvalsh(A, UPLO="L"):
    """The eigenvalues, ascending, of a symmetric matrix (or each in a batch); ``eigh``'s
    first result. The gradient is ``V diag(grad) V^T``, finite also where they repeat.

    >>> cr.linalg.eigvalsh(cr.tensor([[2., 0.], [0., -1.]]))
    tensor([-1.,  2.], dtype=float32)
    """
    return eigh(A, UPLO).eigenvalues


class Svd(NamedTuple):
    """``svd``'s result: U, the singular values S (descending) and Vh, with A = U diag(S) Vh."""
    U: Tensor
    S: Tensor
    Vh: Tensor


def svd(A, full_matrices=True, *, driver=None):
    """The singular value decomposition ``A = U diag(S) Vh`` of a matrix (or each in a
    batch), through NumPy's LAPACK; with ``full_matrices=False`` U and Vh keep only
    ``min(m, n)`` columns and rows. The signs of the singular vectors are LAPACK's, as in
    PyTorch. The gradient is PyTorch's (with ``full_matrices=True``, through the first
    ``min(m, n)`` vectors); where singular values repeat and the loss uses the singular
    vectors it is inf or nan, as PyTorch's.

    >>> cr.linalg.svd(cr.tensor([[3., 0.], [0., -4.]])).S
    tensor([4., 3.], dtype=float32)
    """
    if driver is not None:
        raise ArgumentError(f"linalg.svd: driver={driver!r} chooses a CUDA solver, and chainrule "
                            f"computes on the CPU; leave it None")
    A = _matrices(A)
    packed = decompositions.svd_packed(A, full_matrices=full_matrices)
    return Svd(*decompositions.svd_unpack(packed, tuple(A.shape), full_matrices))


def svdvals(A, *, driver=None):
    """The singular values, descending, of a matrix (or each in a batch); the gradient is
    ``U diag(grad) Vh``, finite also where they repeat.

    >>> cr.linalg.svdvals(cr.tensor([[0., 2.], [1., 0.]]))
    tensor([2., 1.], dtype=float32)
    """
    return svd(A, full_matrices=False, driver=driver).S


class Qr(NamedTuple):
    """``qr``'s result: Q, with orthonormal columns, and the upper-triangular R, A = Q R."""
    Q: Tensor
    R: Tensor


def qr(A, mode="reduced"):
    """The QR decomposition ``A = Q R`` of a matrix (or each in a batch), LAPACK's
    Householder one (R's diagonal may be negative), as PyTorch's: ``mode="reduced"`` (Q of
    min(m, n) columns), ``"complete"`` (Q square) or ``"r"`` (R only; Q is empty). The
    gradient is PyTorch's; it needs Q, so mode "r" refuses it, and "complete" with more
    rows than columns too, as PyTorch's.

    >>> cr.linalg.qr(cr.tensor([[3., 1.], [4., 2.]])).R
    tensor([[-5. , -2.2],
            [ 0. ,  0.4]], dtype=float32)
    """
    A = _matrices(A)
    Q, R = decompositions.qr_unpack(decompositions.qr_packed(A, mode=mode), tuple(A.shape), mode)
    return Qr(Q.reshape(0) if mode == "r" else Q, R)
