"""Matrix decompositions: inv, det, log|det|, solve, cholesky, pinv, eigh, svd and qr, each
NumPy's LAPACK call forward with the textbook VJP beside it. Every VJP is written in products,
transposes and these same primitives, so it runs on arrays and, with ``create_graph=True``, on
tensors. A decomposition with several results (eigh, svd, qr) returns them packed in one array,
which linalg.py splits: a primitive has one output.

A matrix that LAPACK cannot factor (singular for inv and solve, not positive-definite for
cholesky) raises LinAlgError, as PyTorch raises torch.linalg.LinAlgError: a number computed
from a failed factorization would be silently wrong."""
from ..backend import xp
from ..errors import ChainruleError, DtypeError, GradientError, ShapeError
from .elementwise import where
from .primitive import primitive
from .shape import concatenate


class LinAlgError(ChainruleError, RuntimeError):
    """A matrix that a factorization cannot take: singular for inv and solve, not
    positive-definite for cholesky (PyTorch: torch.linalg.LinAlgError, a RuntimeError).

    >>> issubclass(cr.linalg.LinAlgError, RuntimeError)
    True
    """


def _matrix(op, A):
    """Refuse what LAPACK would refuse, in PyTorch's terms and this op's name."""
    if A.dtype not in (xp.float32, xp.float64):
        raise DtypeError(f"linalg.{op}: expected a float32 or float64 tensor, got {A.dtype} "
                         f"(as in PyTorch); convert with .float() or .double()")
    if A.ndim < 2:
        raise ShapeError(f"linalg.{op}: A must be a matrix or a batch of them, got shape "
                         f"{A.shape}")


def _square(op, A):
    _matrix(op, A)
    if A.shape[-1] != A.shape[-2]:
        raise ShapeError(f"linalg.{op}: A must be a square matrix or a batch of them, got "
                         f"shape {A.shape}")


def _lapack(op, call, A, problem):
    """``call(A)``, a LAPACK failure said in this op's name. A matrix holding NaN gives NaN,
    as in PyTorch, rather than LAPACK's complaint that it is singular."""
    nan = xp.isnan(A).any(axis=(-2, -1))
    if nan.any():
        clean = xp.where(nan[..., None, None], xp.eye(A.shape[-1], dtype=A.dtype), A)
        out = _lapack(op, call, clean, problem)
        return xp.where(nan[..., None, None], xp.nan, out).astype(out.dtype)
    try:
        with xp.errstate(all="ignore"):
            return call(A)
    except xp.linalg.LinAlgError:
        raise LinAlgError(f"linalg.{op}: A of shape {A.shape} {problem}") from None


def _t(A):
    return A.swapaxes(-1, -2)


@primitive(name="inv")
def inv(A):
    _square("inv", A)
    return _lapack("inv", xp.linalg.inv, A,
                   "is singular (or holds a singular matrix): it has no inverse")


@inv.vjp(formula="-{out}^T . {grad} . {out}^T")
def _(grad, out):
    return -(_t(out) @ grad @ _t(out))


@primitive(name="det")
def det(A):
    _square("det", A)
    return xp.linalg.det(A)


@det.vjp(formula="{grad} {out} {A}^-T")
def _(grad, A, out):
    return grad[..., None, None] * _cofactors(A, out)


def _cofactors(A, det_A):
    """det(A) A^-T, the matrix of cofactors, which exists for a singular A as well: through
    the SVD A = U S V^T it is det(U) det(V) U diag(prod_{j != i} s_j) V^T."""
    if isinstance(A, xp.ndarray):
        try:
            return det_A[..., None, None] * _t(inv(A))
        except LinAlgError:
            U, s, Vh = xp.linalg.svd(A)
            others = xp.where(xp.eye(s.shape[-1], dtype=bool), 1, s[..., None, :]).prod(-1)
            signs = xp.linalg.det(U) * xp.linalg.det(Vh)
            return signs[..., None, None] * (U * others[..., None, :]) @ Vh
    return det_A[..., None, None] * _t(inv(A))  # a second derivative: A must be invertible


@primitive(name="slogdet_sign", differentiable=False)
def slogdet_sign(A):
    _square("slogdet", A)
    return xp.linalg.slogdet(A)[0].astype(A.dtype)


@primitive(name="slogdet")
def logabsdet(A):
    _square("slogdet", A)
    return xp.linalg.slogdet(A)[1]


@logabsdet.vjp(formula="{grad} {A}^-T")
def _(grad, A):
    if isinstance(A, xp.ndarray):
        try:
            return grad[..., None, None] * _t(inv(A))
        except LinAlgError:  # log|det| is -inf: the gradient is infinite, as in PyTorch
            with xp.errstate(all="ignore"):
                det_A = xp.linalg.det(A)
                return grad[..., None, None] * _cofactors(A, det_A) / det_A[..., None, None]
    return grad[..., None, None] * _t(inv(A))


@primitive(name="solve", promotion="same")
def solve(A, B):
    """X with A X = B, for a batch of square A and a batch of matrices B (batch dims
    broadcast)."""
    _square("solve", A)
    if B.ndim < 2 or B.shape[-2] != A.shape[-1]:
        raise ShapeError(f"linalg.solve: A of shape {A.shape} and B of shape {B.shape} do not "
                         f"fit: B needs {A.shape[-1]} rows")
    return _lapack("solve", lambda A: xp.linalg.solve(A, B), A,
                   "is singular (or holds a singular matrix): the system has no unique solution")


@solve.vjp("B", formula="solve({A}^T, {grad})")
def _(grad, A):
    return solve(_t(A), grad)


@solve.vjp("A", formula="-solve({A}^T, {grad}) . {out}^T")
def _(grad, A, out):
    return -(solve(_t(A), grad) @ _t(out))


@primitive(name="cholesky")
def cholesky(A):
    """The lower-triangular L with L L^T = A, reading A's lower triangle."""
    _square("cholesky", A)
    problem = ("is not positive-definite (or holds such a matrix): the factorization could not "
               "be completed")
    if xp.isnan(A).any():  # PyTorch refuses NaN here; LAPACK would return NaN
        raise LinAlgError(f"linalg.cholesky: A of shape {A.shape} holds NaN: it {problem[3:]}")
    return _lapack("cholesky", xp.linalg.cholesky, A, problem)


@cholesky.vjp(formula="{out}^-T Phi({out}^T . {grad}) {out}^-1, Phi: the lower triangle, "
                      "symmetrized")
def _(grad, out):
    # Murray (2016): with P the lower triangle of L^T grad, the gradient is
    # L^-T (P + P^T - diag P) / 2 L^-1, symmetric as A is.
    n = out.shape[-1]
    P = (_t(out) @ grad) * xp.tri(n, dtype=out.dtype)
    P = (P + _t(P * xp.tri(n, k=-1, dtype=out.dtype))) * 0.5
    left = solve(_t(out), P)
    return _t(solve(_t(out), _t(left)))


def _inverse_rank(A, atol, rtol):
    """PyTorch's cut-off for pinv: singular values at most max(atol, rtol * largest) count as
    zero; rtol defaults to eps * max(m, n), or to 0 where a positive atol is given."""
    if rtol is None:
        rtol = 0.0 if atol is not None and atol > 0 else \
            xp.finfo(A.dtype).eps * max(A.shape[-2:])
    return 0.0 if atol is None else atol, rtol


@primitive(name="pinv")
def pinv(A, *, atol=None, rtol=None, hermitian=False):
    """The Moore-Penrose pseudo-inverse through NumPy's SVD (eigh where ``hermitian``)."""
    _matrix("pinv", A)
    if hermitian:
        _square("pinv", A)
    m, n = A.shape[-2:]
    if m == 0 or n == 0:
        return xp.zeros(A.shape[:-2] + (n, m), A.dtype)
    atol, rtol = _inverse_rank(A, atol, rtol)

    def pseudo_inverse(a):
        if hermitian:
            w, V = xp.linalg.eigh(a)
            tol = xp.maximum(atol, rtol * xp.abs(w).max(-1, keepdims=True))
            winv = xp.where(xp.abs(w) > tol, 1 / w, 0).astype(a.dtype)
            return (V * winv[..., None, :]) @ _t(V)
        U, S, Vh = xp.linalg.svd(a, full_matrices=False)
        Sinv = xp.where(S > xp.maximum(atol, rtol * S[..., :1]), 1 / S, 0).astype(a.dtype)
        return (_t(Vh) * Sinv[..., None, :]) @ _t(U)
    if hermitian or m == n:
        return _lapack("pinv", pseudo_inverse, A, "could not be decomposed (no convergence)")
    nan = xp.isnan(A).any(axis=(-2, -1), keepdims=True)  # _lapack's NaN rule, for non-square A
    clean = xp.where(nan, 0, A)
    out = _lapack("pinv", pseudo_inverse, clean, "could not be decomposed (no convergence)")
    return xp.where(nan, xp.nan, out).astype(A.dtype)


@pinv.vjp(formula="-{out}^T {grad} {out}^T + (I - {A} {out}) {grad}^T {out} {out}^T + "
                  "{out}^T {out} {grad}^T (I - {out} {A})")
def _(grad, A, out):
    # Golub & Pereyra (1973), PyTorch's pinv_backward: exact while the rank stays the same.
    P, gT = out, _t(grad)
    if A.shape[-2] <= A.shape[-1]:
        K = gT @ P
        KPt = K @ _t(P)
        return -_t(P @ K) + KPt - (A @ P) @ KPt + (_t(P) @ P) @ (gT - K @ A)
    K = P @ gT
    PtK = _t(P) @ K
    return -_t(K @ P) + (gT - A @ K) @ P @ _t(P) + PtK - PtK @ P @ A


@primitive(name="eigh")
def eigh_packed(A, *, UPLO="L"):
    """The eigenvalues (ascending) of a symmetric A above its eigenvectors, in one array of
    shape (..., n + 1, n): a primitive has one output, and linalg.eigh splits it."""
    _square("eigh", A)
    if UPLO not in ("L", "U"):
        raise ValueError(f"linalg.eigh: UPLO must be 'L' or 'U', got {UPLO!r}")
    def packed(a):
        w, V = xp.linalg.eigh(a, UPLO=UPLO)
        return xp.concatenate([w[..., None, :], V], axis=-2)
    return _lapack("eigh", packed, A, "could not be decomposed (no convergence)")


@eigh_packed.vjp(formula="V (diag(g_w) + skew(V^T g_V) / (w_j - w_i)) V^T")
def _(grad, out):
    # PyTorch's linalg_eig_backward for a Hermitian A. Where w_i = w_j (a repeated
    # eigenvalue) the eigenvectors are not unique: a nonzero skew(V^T g_V) there gives inf or
    # nan, as PyTorch's; a zero one (eigenvectors unused) adds nothing.
    w, V = out[..., 0, :], out[..., 1:, :]
    gw, gV = grad[..., 0, :], grad[..., 1:, :]
    eye = xp.eye(w.shape[-1], dtype=w.dtype)
    VtgV = _t(V) @ gV
    skew = (VtgV - _t(VtgV)) * 0.5
    with xp.errstate(divide="ignore", invalid="ignore"):
        inner = _quotient(skew, w[..., None, :] - w[..., :, None] + eye) + eye * gw[..., None, :]
        return V @ inner @ _t(V)


def _svd_parts(A_shape, full_matrices):
    """The shapes of U, S and Vh for an A of ``A_shape``."""
    *batch, m, n = A_shape
    k = min(m, n)
    u, v = (m, n) if full_matrices else (k, k)
    return tuple(batch), m, n, k, u, v


def svd_unpack(packed, A_shape, full_matrices):
    """U, S and Vh from the flat array (or tensor) that the svd primitive returns."""
    batch, m, n, k, u, v = _svd_parts(A_shape, full_matrices)
    U = packed[..., :m * u].reshape(batch + (m, u))
    S = packed[..., m * u:m * u + k]
    Vh = packed[..., m * u + k:].reshape(batch + (v, n))
    return U, S, Vh


@primitive(name="svd")
def svd_packed(A, *, full_matrices=True):
    """U, S and Vh of NumPy's SVD, flattened into one array (a primitive has one output;
    linalg.svd splits it with svd_unpack)."""
    _matrix("svd", A)
    batch, m, n, k, u, v = _svd_parts(A.shape, full_matrices)
    if k == 0:
        U = xp.broadcast_to(xp.eye(m, u, dtype=A.dtype), batch + (m, u))
        Vh = xp.broadcast_to(xp.eye(v, n, dtype=A.dtype), batch + (v, n))
        S = xp.zeros(batch + (0,), A.dtype)
    else:
        nan = xp.isnan(A).any(axis=(-2, -1), keepdims=True)
        with xp.errstate(all="ignore"):
            try:
                U, S, Vh = xp.linalg.svd(xp.where(nan, 0, A), full_matrices=full_matrices)
            except xp.linalg.LinAlgError:
                raise LinAlgError(f"linalg.svd: A of shape {A.shape} could not be decomposed "
                                  f"(no convergence)") from None
        U, S, Vh = (xp.where(nan if x.ndim == A.ndim else nan[..., 0], xp.nan, x)
                    for x in (U, S, Vh))
    flat = [U.reshape(batch + (-1,)), S, Vh.reshape(batch + (-1,))]
    return xp.concatenate(flat, axis=-1).astype(A.dtype)


@svd_packed.vjp(formula="U [(skew(U^T g_U) S + S skew(V^T g_V)) / (s_j^2 - s_i^2) + diag(g_S)] V^T,"
                        " plus the terms of the columns outside U (m > n) or V (m < n)")
def _(grad, out, A_shape, full_matrices):
    # PyTorch's svd_backward for real A: with full_matrices only the first k columns of U
    # and rows of Vh take part, as PyTorch's. Where singular values repeat (or one is zero and
    # m != n) the singular vectors are not unique: a gradient of theirs there gives inf or
    # nan, as PyTorch's; unused singular vectors (zero gradients) add nothing.
    batch, m, n, k, u, v = _svd_parts(A_shape, full_matrices)
    U, S, Vh = svd_unpack(out, A_shape, full_matrices)
    gU, gS, gVh = svd_unpack(grad, A_shape, full_matrices)
    U, gU, Vh, gVh = U[..., :, :k], gU[..., :, :k], Vh[..., :k, :], gVh[..., :k, :]
    eye = xp.eye(k, dtype=S.dtype)
    UtgU, VtgV = _t(U) @ gU, Vh @ _t(gVh)
    numerator = (UtgU - _t(UtgU)) * S[..., None, :] + S[..., :, None] * (VtgV - _t(VtgV))
    S2 = S * S
    with xp.errstate(divide="ignore", invalid="ignore"):
        inner = _quotient(numerator, S2[..., None, :] - S2[..., :, None] + eye)
        inner = inner + eye * gS[..., None, :]
        if m > n:
            gUSinv = _quotient(gU, S[..., None, :])
            return (U @ inner + gUSinv - U @ (_t(U) @ gUSinv)) @ Vh
        if m < n:
            SinvgVh = _quotient(gVh, S[..., :, None])
            return U @ (inner @ Vh + SinvgVh - (SinvgVh @ _t(Vh)) @ Vh)
        return U @ inner @ Vh


def _quotient(a, b):
    """a / b, and 0 where a is 0 (an unused part of the gradient stays out even where b is 0)."""
    return where(a == 0, 0.0, a / b)


def _qr_parts(A_shape, mode):
    """The shapes of Q and R for an A of ``A_shape``: Q (m, q), R (q, n); no Q for mode "r"."""
    *batch, m, n = A_shape
    q = m if mode == "complete" else min(m, n)
    return tuple(batch), m, n, (0 if mode == "r" else q), q


def qr_unpack(packed, A_shape, mode):
    """Q and R from the flat array (or tensor) that the qr primitive returns."""
    batch, m, n, q_columns, q = _qr_parts(A_shape, mode)
    Q = packed[..., :m * q_columns].reshape(batch + (m, q_columns))
    return Q, packed[..., m * q_columns:].reshape(batch + (q, n))


@primitive(name="qr")
def qr_packed(A, *, mode="reduced"):
    """Q and R of NumPy's QR (Householder, LAPACK's, as PyTorch's), flattened into one
    array (a primitive has one output; linalg.qr splits it with qr_unpack)."""
    _matrix("qr", A)
    if mode not in ("reduced", "complete", "r"):
        raise ValueError(f"linalg.qr: mode must be 'reduced', 'complete' or 'r', got {mode!r}")
    batch, m, n, q_columns, q = _qr_parts(A.shape, mode)
    if m == 0 or n == 0:
        Q = xp.broadcast_to(xp.eye(m, q_columns, dtype=A.dtype), batch + (m, q_columns))
        R = xp.zeros(batch + (q, n), A.dtype)
    else:
        Q, R = xp.linalg.qr(A, mode="complete" if mode == "complete" else "reduced")
        Q = Q[..., :q_columns]
    return xp.concatenate([Q.reshape(batch + (-1,)), R.reshape(batch + (-1,))],
                          axis=-1).astype(A.dtype)


@qr_packed.vjp(formula="(g_Q + Q copyltu(R g_R^T - g_Q^T Q)) R^-T (m >= n; for m < n on the "
                       "leading square block, plus Q g_R for the rest)")
def _(grad, out, A_shape, mode):
    # Liao et al. (2019), PyTorch's linalg_qr_backward. copyltu(M): M's lower triangle
    # mirrored onto its upper one.
    batch, m, n, q_columns, q = _qr_parts(A_shape, mode)
    if mode == "r" or (mode == "complete" and m > n):
        raise _gradient_error(
            "linalg.qr: the gradient needs Q, which mode='r' does not compute; use "
            "mode='reduced'" if mode == "r" else
            "linalg.qr: the QR decomposition is not differentiable when mode='complete' and "
            "A has more rows than columns (Q's last columns are not unique); use "
            "mode='reduced'")
    Q, R = qr_unpack(out, A_shape, mode)
    gQ, gR = qr_unpack(grad, A_shape, mode)
    if m >= n:
        return _qr_square_part(gQ, gR, Q, R)
    X_grad = _qr_square_part(gQ + (Q @ R[..., :, m:]) @ _t(gR[..., :, m:]), gR[..., :, :m], Q,
                             R[..., :, :m])
    return concatenate([X_grad, Q @ gR[..., :, m:]], -1)


def _qr_square_part(gQ, gR, Q, R):
    """The gradient of A = Q R with R square: (g_Q + Q copyltu(M)) R^-T."""
    n = R.shape[-1]
    M = R @ _t(gR) - _t(gQ) @ Q
    lower = xp.tri(n, dtype=R.dtype)
    M = M * lower + _t(M * xp.tri(n, k=-1, dtype=R.dtype))
    return _t(solve(R, _t(gQ + Q @ M)))


def _gradient_error(message):
    return GradientError(message)
