"""The cases of tests/test_linalg_more.py, in a module of their own so that the coverage tests
(tests/test_ops.py, tests/test_public_declarations.py) can read them without PyTorch."""
import warnings

import numpy as np

from torch_cases import Case, F, K

SINGULAR = np.array([[1.0, 2.0], [2.0, 4.0]])


def _sym(x):
    return x + x.mT


def _cholesky(M, x):
    spd = x @ x.mT + 3 * M.eye(3, dtype=x.dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyTorch's deprecation warning
        return M.cholesky(spd), spd.cholesky(upper=True), spd.cholesky(False)


def _eigh(M, x, **kwargs):
    # Eigenvectors up to their signs: V * V is what both libraries agree on.
    w, V = M.linalg.eigh(x, **kwargs)
    return w, V * V


def _svd(M, x, full_matrices=True):
    # Singular vectors up to their signs (and the first min(m, n) of them): squares agree.
    U, S, Vh = M.linalg.svd(x, full_matrices=full_matrices)
    k = S.shape[-1]
    return U[..., :k] ** 2, S, Vh[..., :k, :] ** 2, (U[..., :k] * S[..., None, :]) @ Vh[..., :k, :]


def _qr(M, x, mode="reduced"):
    Q, R = M.linalg.qr(x, mode=mode)
    return Q, R, Q @ R


CASES = [
    Case("matrix_power", lambda M, a: tuple(M.linalg.matrix_power(a, n)
                                            for n in (0, 1, 2, 3, 5, -1, -2)), [F(3, 3)],
         covers=("matmul", "inv")),
    Case("matrix_power", lambda M, a: (M.matrix_power(a, 3) * a, a.matrix_power(-3),
                                       a.mT.matrix_power(2), a[:, :0, :0].matrix_power(2)),
         [F(2, 3, 3, low=-1, high=1)], covers=("matmul", "inv")),
    Case("matrix_power", lambda M, a: (M.linalg.matrix_power(a, 3), M.matrix_power(a, 0)),
         [K([[1, 2], [3, 4]], "int64")], covers=("matmul",)),
    Case("pinv", lambda M, a: (M.linalg.pinv(a), M.linalg.pinv(a.mT), M.pinverse(a) * a.mT,
                               a.pinverse(), M.linalg.pinv(a[:0])), [F(4, 3)]),
    Case("pinv", lambda M, a: (M.linalg.pinv(a), M.linalg.pinv(a[0, :2, :2])), [F(2, 3, 5)]),
    Case("pinv", lambda M, a: (M.linalg.pinv(_sym(a), hermitian=True),
                               M.linalg.pinv(a, atol=1e-3), M.linalg.pinv(a, rtol=1e-6)),
         [F(3, 3)]),
    Case("eigh", lambda M, a: (_eigh(M, _sym(a)), M.linalg.eigvalsh(_sym(a)),
                               M.linalg.eigvalsh(a @ a.mT) * a.sum()),
         [F(2, 4, 4)], covers=("eigh", "getitem")),
    Case("eigh", lambda M, a: (_eigh(M, _sym(a)[:0]), M.linalg.eigvalsh(_sym(a[0, :1, :1]))),
         [F(2, 3, 3)], covers=("eigh", "getitem")),
    Case("vdot", lambda M, a, b: (M.vdot(a, b), a.vdot(a), M.vdot(a[:0], b[:0])), [F(4), F(4)],
         covers=("matmul",)),
    Case("ger", lambda M, a, b: (M.ger(a, b), a.ger(a[::2]) * a[0]), [F(4), F(3)],
         covers=("mul",)),
    Case("cholesky", _cholesky, [F(2, 3, 3)]),
]
CASES += [
    Case("svd", lambda M, a: (_svd(M, a), _svd(M, a, False), _svd(M, a.mT), M.linalg.svdvals(a)),
         [F(4, 3)], covers=("svd", "getitem")),
    Case("svd", lambda M, a: (_svd(M, a, False), M.linalg.svdvals(a) * a[0, 0, 0],
                              M.linalg.svdvals(a[:, :0])), [F(2, 3, 5)], covers=("svd", "getitem")),
    Case("qr", lambda M, a: (_qr(M, a), _qr(M, a.mT), _qr(M, a[:3, :3], "complete"),
                             _qr(M, a[:0])), [F(4, 3)],
         covers=("qr", "getitem")),
    Case("qr", lambda M, a: (_qr(M, a), _qr(M, a, "complete"), _qr(M, a) [1] * a[0, 0, 0]),
         [F(2, 3, 5)], covers=("qr", "getitem")),
    Case("matrix_norm", lambda M, a: tuple(M.linalg.matrix_norm(a, o, d, k) for o in (2, -2, "nuc")
                                           for d, k in (((-2, -1), False), ((2, 0), True))),
         [F(2, 3, 4)], covers=("svd",)),
    Case("matrix_norm", lambda M, a: (M.linalg.norm(a, 2), M.linalg.norm(a, "nuc")), [F(3, 2)],
         covers=("svd",)),
]
REFUSALS = [
    Case("matrix_power", lambda M, a: M.linalg.matrix_power(a, 2), [F(2, 3)]),
    Case("matrix_power", lambda M, a: M.linalg.matrix_power(a, 2), [F(3)]),
    Case("matrix_power", lambda M, a: M.linalg.matrix_power(a, 1.0), [F(3, 3)]),
    Case("matrix_power", lambda M, a: M.linalg.matrix_power(a, -1), [K([[1, 2], [3, 4]], "int64")]),
    Case("matrix_power", lambda M, a: M.linalg.matrix_power(a, -1), [K(SINGULAR)]),
    Case("pinv", lambda M, a: M.linalg.pinv(a), [F(3)]),
    Case("pinv", lambda M, a: M.linalg.pinv(a), [K([[1, 2], [3, 4]], "int64")]),
    Case("pinv", lambda M, a: M.linalg.pinv(a, hermitian=True), [F(2, 3)]),
    Case("eigh", lambda M, a: M.linalg.eigh(a), [F(2, 3)]),
    Case("eigh", lambda M, a: M.linalg.eigvalsh(a), [F(3)]),
    Case("eigh", lambda M, a: M.linalg.eigh(a, UPLO="X"), [F(3, 3)]),
    Case("vdot", lambda M, a, b: M.vdot(a, b), [F(4), F(4, dtype="float32")]),
    Case("vdot", lambda M, a, b: M.vdot(a, b), [F(2, 2), F(2, 2)]),
    Case("vdot", lambda M, a, b: M.vdot(a, b), [F(4), F(3)]),
    Case("ger", lambda M, a, b: M.ger(a, b), [F(2, 2), F(2)]),
    Case("svd", lambda M, a: M.linalg.svd(a), [F(3)]),
    Case("svd", lambda M, a: M.linalg.svd(a), [K([[1, 2], [3, 4]], "int64")]),
    Case("svd", lambda M, a: M.linalg.svd(a, driver="gesvd"), [F(3, 3)]),
    Case("svd", lambda M, a: M.linalg.svdvals(a), [F(3)]),
    Case("qr", lambda M, a: M.linalg.qr(a), [F(3)]),
    Case("qr", lambda M, a: M.linalg.qr(a, mode="full"), [F(3, 3)]),
    Case("qr", lambda M, a: M.linalg.qr(a), [K([[1, 2], [3, 4]], "int64")]),
]
# Compared with PyTorch only: at a rank-deficient matrix pinv is not continuous, and eigh with
# UPLO reads one triangle while the gradient, PyTorch's, is the symmetric one.
PYTORCH_ONLY = [
    Case("pinv", lambda M, a, b: (M.linalg.pinv(a[:, :1] @ b[:1]),
                                  M.linalg.pinv(a[:, :1] @ b[:1], hermitian=False) * 2),
         [F(4, 2), F(2, 3)]),
    Case("pinv", lambda M, a: M.linalg.pinv(a), [K(SINGULAR)]),
    Case("svd", lambda M, a, b: M.linalg.svdvals(a[:, :1] @ b[:1]), [F(4, 2), F(2, 3)]),
    Case("eigh", lambda M, a: (_eigh(M, a, UPLO="U"), M.linalg.eigvalsh(a, UPLO="U"),
                               M.linalg.eigvalsh(a, "L")), [F(3, 3)]),
]
CASES += REFUSALS + PYTORCH_ONLY
for _i, _case in enumerate(CASES):
    _case.id = f"{_case.name}-{_i}"
