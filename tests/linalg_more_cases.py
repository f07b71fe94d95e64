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
]
# Compared with PyTorch only: at a rank-deficient matrix pinv is not continuous, and eigh with
# UPLO reads one triangle while the gradient, PyTorch's, is the symmetric one.
PYTORCH_ONLY = [
    Case("pinv", lambda M, a, b: (M.linalg.pinv(a[:, :1] @ b[:1]),
                                  M.linalg.pinv(a[:, :1] @ b[:1], hermitian=False) * 2),
         [F(4, 2), F(2, 3)]),
    Case("pinv", lambda M, a: M.linalg.pinv(a), [K(SINGULAR)]),
    Case("eigh", lambda M, a: (_eigh(M, a, UPLO="U"), M.linalg.eigvalsh(a, UPLO="U"),
                               M.linalg.eigvalsh(a, "L")), [F(3, 3)]),
]
CASES += REFUSALS + PYTORCH_ONLY
for _i, _case in enumerate(CASES):
    _case.id = f"{_case.name}-{_i}"
