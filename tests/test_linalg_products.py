"""Products and linear algebra under PyTorch's names: mv, addmm and its kin, addcmul/addcdiv,
trace, kron, inner, tensordot, diff, cross, and cr.linalg's inv, det, slogdet, solve, cholesky
and cross, run through the checks of tests/torch_cases.py's table (test_torch_ops.py): values,
dtypes, every leaf's gradient against PyTorch on float64 and float32, and float64 central
differences to first and second order. Batches, broadcasting, fan-out, transposed views, empty
tensors and edge values are among the cases; a case PyTorch refuses must be refused here too."""
import warnings

import numpy as np
import pytest

import chainrule as cr
from torch_cases import N_EDGES, Case, E, F, K

NAN, INF = float("nan"), float("inf")
SINGULAR = np.array([[1.0, 2.0], [2.0, 4.0]])
NOT_POSITIVE = np.array([[1.0, 2.0], [2.0, 1.0]])


def _spd(M, x):
    """A symmetric positive-definite matrix (or batch) made from x, for cholesky."""
    n = x.shape[-1]
    return x @ x.mT + 2 * M.eye(n, dtype=x.dtype)


def _in_place(M, name, x, *args, **kwargs):
    """``x.<name>_`` on a copy of x; x fans out to the copy and to the product after."""
    y = x * 1
    getattr(y, f"{name}_")(*args, **kwargs)
    return y * x


def _in_place_on_views(M, x, a, b):
    """The in-place forms on a transposed view, a row and a block of copies of x."""
    z = (x * 1).t()
    z.addcmul_(a.t(), b.t(), value=-2).addcdiv_(a.t(), 3 + b.t())
    row = (x * 1)[1]
    row.addmv_(b, a[0], beta=0.5)
    block = (x * 1)[:2, :2]
    block.addmm_(a[:2], b[:, :2], alpha=2)
    return z, row, block


def _cross(M, a, b):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # both warn that dim was not given
        return M.cross(a, b)


CASES = [
    # mv
    Case("mv", lambda M, a, v: (M.mv(a, v), a.mv(v), a.t().mv(a[:, 1]), M.mv(a[:0], v)),
         [F(3, 4), F(4)]),
    Case("mv", lambda M, a, v: M.mv(a, v), [E(5, 3), E(3)], zero_signs=False),
    Case("mv", lambda M, a, v: M.mv(a, v), [K([[1, 2], [3, 4]], "int64"), K([5, -6], "int64")]),
    # addmm and the in-place addmm_
    Case("addmm", lambda M, c, a, b: (M.addmm(c, a, b), M.addmm(c[0], a, b, beta=0.5, alpha=-2),
                                      c.addmm(a, b, alpha=0), M.addmm(c[:1, :1], a, b, beta=0),
                                      M.addmm(c, a, a.t()[:, :2]), M.addmm(c.sum(), a, b)),
         [F(3, 2), F(3, 4), F(4, 2)]),
    Case("addmm", lambda M, c, a, b: _in_place(M, "addmm", c, a, b, beta=2, alpha=0.5),
         [F(3, 2), F(3, 4), F(4, 2)]),
    Case("addmm", lambda M, c, a, b: (M.addmm(c[:0], a[:0], b), M.addmm(c, a[:, :0], b[:0])),
         [F(3, 2), F(3, 4), F(4, 2)]),
    Case("addmm", lambda M, n, a, b: M.addmm(n.to(a.dtype), a, b, beta=0),
         [K([[NAN, INF]]), F(3, 4), F(4, 2)]),
    Case("addmm", lambda M, c, a, b: (M.addmm(c, a, b, beta=2, alpha=-3),
                                      M.addmm(c, a, b, beta=0, alpha=2.0)),
         [K([1, 2], "int64"), K([[1, 2], [3, 4]], "int64"), K([[0, 1], [5, 2]], "int64")]),
    # addmv, baddbmm, addbmm
    Case("addmv", lambda M, c, a, v: (M.addmv(c, a, v), c.addmv(a.t()[:3, :3], v[:3], beta=0.5),
                                      M.addmv(c, a[:, :0], v[:0], alpha=3),
                                      _in_place(M, "addmv", c, a, v, alpha=-1)),
         [F(3), F(3, 4), F(4)]),
    Case("baddbmm", lambda M, c, a, b: (M.baddbmm(c, a, b), c.baddbmm(a, b, beta=-1, alpha=2),
                                        M.baddbmm(c[0, :1], a, b.transpose(1, 2).transpose(1, 2)),
                                        M.baddbmm(c, a, b, beta=0),
                                        _in_place(M, "baddbmm", c, a, b, alpha=0.5)),
         [F(2, 3, 2), F(2, 3, 4), F(2, 4, 2)]),
    Case("addbmm", lambda M, c, a, b: (M.addbmm(c, a, b), c.addbmm(a, a.mT[:, :, :2], alpha=2),
                                       M.addbmm(c[0], a, b, beta=0.25),
                                       _in_place(M, "addbmm", c, a, b, beta=0)),
         [F(3, 2), F(2, 3, 4), F(2, 4, 2)]),
    # addcmul and addcdiv: broadcasting, fan-out, mixed dtypes, edge values, in place
    Case("addcmul", lambda M, x, a, b: (M.addcmul(x, a, b), x.addcmul(x, b, value=-0.5),
                                        M.addcmul(x.t(), a.t(), x.t(), value=2),
                                        _in_place(M, "addcmul", x, a, b, value=3)),
         [F(3, 4), F(3, 1), F(4)]),
    Case("addcmul", lambda M, x, a, b: M.addcmul(x, a, b), [F(3), F(3, dtype="float32"), F(1)]),
    Case("addcmul", _in_place_on_views, [F(4, 4), F(4, 4), F(4, 4)]),
    Case("addcmul", lambda M, x, a, b: M.addcmul(x, a, b, value=0.5),
         [E(N_EDGES), E(N_EDGES), E(N_EDGES)], zero_signs=False),
    Case("addcmul", lambda M, x, a, b: (M.addcmul(x, a, b, value=2),
                                        x.addcmul(a, b, value=-1.0)),
         [K([1, 2], "int64"), K([3, -4], "int64"), K([5, 6], "int64")]),
    Case("addcdiv", lambda M, x, a, b: (M.addcdiv(x, a, b), x.addcdiv(a, x + 3, value=-0.5),
                                        M.addcdiv(x.t(), a.t(), b[:, None], value=2),
                                        _in_place(M, "addcdiv", x, a, b, value=0.25)),
         [F(3, 4), F(3, 1), F(4, low=0.5, high=2)]),
    Case("addcdiv", lambda M, x, a, b: M.addcdiv(x, a, b, value=0.5),
         [E(N_EDGES), E(N_EDGES), E(N_EDGES)], zero_signs=False),
    Case("addcdiv", lambda M, x, a, b: M.addcdiv(x, a, b),
         [F(3), K([1, 2, 3], "int64"), F(3, low=0.5, high=2)]),
    # trace, kron, inner, tensordot
    Case("trace", lambda M, x: (M.trace(x), x.t().trace(), M.trace(x[:0]),
                                M.trace(x[:2, :2] * x[:2, :2])),
         [F(3, 4)]),
    Case("trace", lambda M, x: M.trace(x), [K([[1, 2], [3, 4]], "int32")]),
    Case("trace", lambda M, x: M.trace(x), [E(5, 3)], zero_signs=False),
    Case("kron", lambda M, a, b: (M.kron(a, b), a.kron(a), M.kron(a.t()[:1], b[0]),
                                  M.kron(b, a[0, :0])),
         [F(2, 3), F(3, 2)]),
    Case("kron", lambda M, a, b: M.kron(a, b), [F(2, 1, 3), F(2, 2)]),
    Case("kron", lambda M, a, b: M.kron(a, b), [K([[1, 2]], "int64"), K([3, 4], "int64")]),
    Case("inner", lambda M, a, b: (M.inner(a, b), a.inner(a), M.inner(a[0], b[1]),
                                   M.inner(a, b[0, 0]), M.inner(a.t()[:, :0], b.t()[:, :0])),
         [F(2, 3), F(4, 3)]),
    Case("inner", lambda M, a, b: M.inner(a, b), [F(2, 2, 3), F(3)]),
    Case("tensordot", lambda M, a, b: (M.tensordot(a, b), M.tensordot(a, b.t(), 1),
                                       M.tensordot(a, b, dims=0),
                                       M.tensordot(a, b, dims=([1, -1], [0, 1])),
                                       M.tensordot(a, a, ([0, 1, 2], [0, 1, 2]))),
         [F(2, 3, 4), F(3, 4)]),
    Case("tensordot", lambda M, a, b: M.tensordot(a, b, ([1], [0])), [F(2, 0), F(0, 3)]),
    # diff
    Case("diff", lambda M, x: (M.diff(x), x.diff(n=2, dim=0), M.diff(x, 3, 1),
                               M.diff(x, dim=1, prepend=x[:, :1] * 2, append=x[:, :2]),
                               M.diff(x.t(), n=5), M.diff(x, n=0), M.diff(x[:, :0])),
         [F(3, 4)]),
    Case("diff", lambda M, x: (M.diff(x), M.diff(x > 0, dim=0), M.diff(x.int())), [E(5, 3)],
         zero_signs=False),
    Case("diff", lambda M, x: M.diff(x, append=M.tensor([True])), [K([True, False, False])]),
    # cross and linalg.cross
    Case("cross", lambda M, a, b: (M.linalg.cross(a, b), M.cross(a, b, dim=-1), a.cross(b, 1),
                                   M.linalg.cross(a[:1], b), M.linalg.cross(a, a),
                                   M.linalg.cross(a.t(), b.t(), dim=0), _cross(M, a, b)),
         [F(4, 3), F(4, 3)]),
    Case("cross", lambda M, a, b: M.linalg.cross(a, b, dim=1), [F(2, 3, 1), F(1, 3, 5)]),
    Case("cross", lambda M, a, b: M.linalg.cross(a, b),
         [K([1, 0, 2], "int64"), K([0, 3, 1], "int64")]),
    # inv, det, slogdet, logdet
    Case("inv", lambda M, a: (M.linalg.inv(a), a.inverse() @ a, M.linalg.inv(a.mT),
                              M.linalg.inv(a[0, :0, :0])), [F(2, 3, 3)]),
    Case("inv", lambda M, a: M.linalg.inv(a), [F(1, 1, low=0.5)]),
    Case("det", lambda M, a: (M.linalg.det(a), M.det(a[0]), a.mT.det(), M.det(a[:, :0, :0]),
                              M.det(a[0, :1, :1]) * M.det(a[1])), [F(2, 3, 3)]),
    Case("slogdet", lambda M, a: (M.linalg.slogdet(a), M.slogdet(a.mT), a[0].slogdet()),
         [F(3, 3, 3)]),
    Case("slogdet", lambda M, a: M.linalg.slogdet(a + a.mT), [F(2, 4, 4)]),
    Case("logdet", lambda M, a: M.logdet(a @ a.mT), [F(2, 3, 3)], covers=("slogdet",)),
    # solve: matrices, vectors, batches that broadcast, left=False, fan-out
    Case("solve", lambda M, a, b: (M.linalg.solve(a, b), M.linalg.solve(a, b[:, 0]),
                                   M.linalg.solve(a.mT, a), M.linalg.solve(a, b.mT[:, :3].mT),
                                   M.linalg.solve(a, b[:, :0])),
         [F(3, 3), F(3, 2)]),
    Case("solve", lambda M, a, b: (M.linalg.solve(a, b), M.linalg.solve(a[0], b),
                                   M.linalg.solve(a, b[..., 0]), M.linalg.solve(a, b[0, :, 0])),
         [F(2, 3, 3), F(2, 3, 2)]),
    Case("solve", lambda M, a, b: (M.linalg.solve(a, b, left=False),
                                   M.linalg.solve(a, b[0], left=False)), [F(2, 3, 3), F(2, 4, 3)]),
    # cholesky
    Case("cholesky", lambda M, x: (M.linalg.cholesky(_spd(M, x)),
                                   M.linalg.cholesky(_spd(M, x), upper=True)),
         [F(2, 3, 3)]),
    Case("cholesky", lambda M, x: M.linalg.cholesky(_spd(M, x)[:, :0, :0]), [F(2, 3, 3)]),
]
# Refusals, which PyTorch makes too (test_torch_ops._run checks that both refuse).
REFUSALS = [
    Case("mv", lambda M, a, v: M.mv(a, a), [F(3, 4), F(4)]),
    Case("mv", lambda M, a, v: M.mv(a, v), [F(3, 4), F(3)]),
    Case("mv", lambda M, a, v: M.mv(a, v), [F(3, 4), F(4, dtype="float32")]),
    Case("addmm", lambda M, c, a, b: M.addmm(c, a, b), [F(3, 3), F(3, 4), F(4, 2)]),
    Case("addmm", lambda M, c, a, b: M.addmm(c, a, b), [F(2), F(3, 4), F(3, 2)]),
    Case("addmm", lambda M, c, a, b: M.addmm(c, a, b), [F(2), F(1, 3, 4), F(4, 2)]),
    Case("addmm", lambda M, c, a, b: M.addmm(c, a, b), [F(2, dtype="float32"), F(3, 4), F(4, 2)]),
    Case("baddbmm", lambda M, c, a, b: M.baddbmm(c, a, b), [F(2), F(2, 3, 4), F(3, 4, 2)]),
    Case("addbmm", lambda M, c, a, b: M.addbmm(c, a, b), [F(2, 3, 2), F(2, 3, 4), F(2, 4, 2)]),
    Case("addmv", lambda M, c, a, v: M.addmv(c, a, v), [F(4), F(3, 4), F(4)]),
    Case("addcmul", lambda M, x, a, b: M.addcmul(x, a, b), [F(3), F(2), F(3)]),
    Case("addcdiv", lambda M, x, a, b: M.addcdiv(x, a, b),
         [F(2), K([1, 2], "int64"), K([3, 4], "int64")]),
    Case("trace", lambda M, x: M.trace(x), [F(2, 3, 3)]),
    Case("trace", lambda M, x: M.trace(x), [F(3)]),
    Case("trace", lambda M, x: M.trace(x), [K([[True, False], [True, True]])]),
    Case("inner", lambda M, a, b: M.inner(a, b), [F(2, 3), F(2)]),
    Case("inner", lambda M, a, b: M.inner(a, b), [F(2, 3), F(3, dtype="float32")]),
    Case("tensordot", lambda M, a, b: M.tensordot(a, b, ([0], [0])), [F(2, 3), F(3, 2)]),
    Case("tensordot", lambda M, a, b: M.tensordot(a, b, 3), [F(2, 3), F(2, 3)]),
    Case("diff", lambda M, x: M.diff(x[0, 0]), [F(2, 3)]),
    Case("diff", lambda M, x: M.diff(x, n=-1), [F(2, 3)]),
    Case("diff", lambda M, x: M.diff(x, prepend=x[0]), [F(2, 3)]),
    Case("diff", lambda M, x: M.diff(x, dim=2), [F(2, 3)]),
    Case("cross", lambda M, a, b: M.linalg.cross(a, b), [F(4, 2), F(4, 2)]),
    Case("cross", lambda M, a, b: M.linalg.cross(a, b), [F(4, 3), F(2, 3)]),
    Case("cross", lambda M, a, b: M.linalg.cross(a, b), [F(3), F(3, dtype="float32")]),
    Case("inv", lambda M, a: M.linalg.inv(a), [F(2, 3)]),
    Case("inv", lambda M, a: M.linalg.inv(a), [F(3)]),
    Case("inv", lambda M, a: M.linalg.inv(a), [K([[1, 2], [3, 4]], "int64")]),
    Case("inv", lambda M, a: M.linalg.inv(a), [K(SINGULAR)]),
    Case("inv", lambda M, a: M.linalg.inv(a * M.tensor(SINGULAR, dtype=a.dtype)), [F(3, 2, 2)]),
    Case("det", lambda M, a: M.linalg.det(a), [F(3, 2)]),
    Case("det", lambda M, a: M.det(a), [K([[1, 2], [3, 4]], "int64")]),
    Case("slogdet", lambda M, a: M.linalg.slogdet(a), [F(4)]),
    Case("solve", lambda M, a, b: M.linalg.solve(a, b), [K(SINGULAR), F(2, 2)]),
    Case("solve", lambda M, a, b: M.linalg.solve(a, b), [F(3, 3), F(2, 3)]),
    Case("solve", lambda M, a, b: M.linalg.solve(a, b), [F(3, 3), F(3, 2, dtype="float32")]),
    Case("solve", lambda M, a, b: M.linalg.solve(a, b), [F(2, 3, 3), F(3, 3, 2)]),
    Case("cholesky", lambda M, a: M.linalg.cholesky(a), [K(NOT_POSITIVE)]),
    Case("cholesky", lambda M, a: M.linalg.cholesky(a), [F(2, 3)]),
    Case("cholesky", lambda M, a: M.linalg.cholesky(-_spd(M, a)), [F(2, 3, 3)]),
]
# Compared with PyTorch only: a negative determinant's logdet is nan (central differences
# mean nothing there), and cholesky of a non-symmetric matrix reads its lower triangle while
# the gradient, PyTorch's, is the symmetric one.
PYTORCH_ONLY = [
    Case("logdet", lambda M, a: (M.logdet(a), a[1].logdet(), M.logdet(-a[0])), [F(3, 3, 3)],
         covers=("slogdet",)),
    Case("cholesky", lambda M, x: M.linalg.cholesky(_spd(M, x).tril()), [F(2, 3, 3)]),
]
CASES += REFUSALS + PYTORCH_ONLY
for _i, _case in enumerate(CASES):
    _case.id = f"{_case.name}-{_i}"

torch = pytest.importorskip("torch")
import test_torch_ops as checks  # noqa: E402  (imports torch)


# Central differences mean nothing at inf or nan, nor where the call is refused.
SMOOTH = [c for c in CASES if not c.edges and c not in REFUSALS + PYTORCH_ONLY]

test_matches_pytorch, test_gradient_matches_central_differences, \
    test_second_derivative_matches_central_differences = checks.table_tests(
        CASES, SMOOTH, runs=[c for c in CASES if c not in REFUSALS])


# -- what the table cannot say ----------------------------------------------------------------

def _pair(array):
    return cr.tensor(array, requires_grad=True), torch.tensor(array, requires_grad=True)


def test_det_gradient_at_a_singular_matrix_is_the_matrix_of_cofactors():
    # PyTorch 2.x answers a zero gradient at a singular matrix, which is not det's derivative
    # (det is a polynomial): here the cofactors, checked by central differences and by hand.
    rank_two = np.arange(1.0, 10.0).reshape(3, 3)
    for A in (SINGULAR, rank_two, np.stack([SINGULAR, np.eye(2) * 3])):
        assert cr.gradcheck(cr.linalg.det, [cr.tensor(A, requires_grad=True)])
    a = cr.tensor(SINGULAR, requires_grad=True)
    cr.linalg.det(a).backward()
    (p, q), (r, s) = SINGULAR
    np.testing.assert_allclose(a.grad.numpy(), [[s, -r], [-q, p]], atol=1e-12)


def test_slogdet_of_a_singular_matrix_is_zero_and_minus_infinity_as_in_pytorch():
    a, t = _pair(SINGULAR)
    ours, theirs = cr.linalg.slogdet(a), torch.linalg.slogdet(t)
    for mine, reference in zip(ours, theirs):
        np.testing.assert_array_equal(mine.detach().numpy(), reference.detach().numpy())
    ours.logabsdet.backward()
    assert np.isinf(a.grad.numpy()).all()  # infinite, as PyTorch's (its signs are LU's choice)


def test_a_matrix_holding_nan_gives_nan_in_inv_and_solve_and_is_refused_by_cholesky():
    A = np.stack([np.array([[NAN, 1.0], [1.0, 1.0]]), np.diag([2.0, 4.0])])
    B = np.ones((2, 2, 1))
    np.testing.assert_array_equal(cr.linalg.inv(cr.tensor(A)).numpy(),
                                  torch.linalg.inv(torch.tensor(A)).numpy())
    np.testing.assert_array_equal(cr.linalg.solve(cr.tensor(A), cr.tensor(B)).numpy(),
                                  torch.linalg.solve(torch.tensor(A), torch.tensor(B)).numpy())
    with pytest.raises(cr.linalg.LinAlgError, match=r"linalg\.cholesky.*\(2, 2, 2\).*NaN"):
        cr.linalg.cholesky(cr.tensor(A))


@pytest.mark.parametrize("call, error, pattern", [
    (lambda: cr.linalg.inv(cr.tensor(SINGULAR)), cr.linalg.LinAlgError,
     r"linalg\.inv: A of shape \(2, 2\) is singular"),
    (lambda: cr.linalg.inv(cr.tensor(np.stack([np.eye(2), SINGULAR]))), cr.linalg.LinAlgError,
     r"linalg\.inv: A of shape \(2, 2, 2\).*singular"),
    (lambda: cr.linalg.solve(cr.tensor(SINGULAR), cr.ones(2, dtype=cr.float64)),
     cr.linalg.LinAlgError, r"linalg\.solve: A of shape \(2, 2\) is singular"),
    (lambda: cr.linalg.cholesky(cr.tensor(NOT_POSITIVE)), cr.linalg.LinAlgError,
     r"linalg\.cholesky: A of shape \(2, 2\) is not positive-definite"),
    (lambda: cr.linalg.inv(cr.ones(2, 3)), cr.ShapeError, r"linalg\.inv.*square.*\(2, 3\)"),
    (lambda: cr.linalg.det(cr.tensor([[1, 2], [3, 4]])), cr.DtypeError, r"linalg\.det.*int64"),
    (lambda: cr.linalg.solve(cr.eye(3), cr.ones(2, 2)), cr.ShapeError,
     r"linalg\.solve.*\(3, 3\).*\(2, 2\)"),
    (lambda: cr.linalg.solve(cr.eye(2), cr.ones(2), left=False), cr.ShapeError,
     r"linalg\.solve.*left=False"),
    (lambda: cr.mv(cr.ones(2, 3), cr.ones(2)), cr.ShapeError, r"mv.*\(2, 3\), \(2,\)"),
    (lambda: cr.addmm(cr.ones(3, 3), cr.ones(3, 4), cr.ones(4, 2)), cr.ShapeError,
     r"addmm: input does not broadcast.*\(3, 2\).*\(3, 3\)"),
    (lambda: cr.addmm(cr.ones(2), cr.ones(3, 4), cr.ones(3, 2)), cr.ShapeError,
     r"addmm: mat1 and mat2 cannot be multiplied.*\(3, 4\), \(3, 2\)"),
    (lambda: cr.baddbmm(cr.ones(2), cr.ones(3, 4), cr.ones(4, 2)), cr.ShapeError,
     r"baddbmm: batch1 and batch2 must be 3-D"),
    (lambda: cr.addcdiv(cr.ones(2), cr.tensor([1, 2]), cr.tensor([3, 4])), cr.DtypeError,
     r"addcdiv: integer division"),
    (lambda: cr.trace(cr.ones(2, 2, 2)), cr.ShapeError, r"trace: expected a matrix.*\(2, 2, 2\)"),
    (lambda: cr.inner(cr.ones(2, 3), cr.ones(2)), cr.ShapeError, r"inner.*\(2, 3\), \(2,\)"),
    (lambda: cr.tensordot(cr.ones(2, 3), cr.ones(3, 2), ([0], [0])), cr.ShapeError,
     r"tensordot.*\[0\] and \[0\].*\(2, 3\), \(3, 2\)"),
    (lambda: cr.diff(cr.tensor(1.0)), cr.ShapeError, r"diff: expects.*one-dimensional"),
    (lambda: cr.diff(cr.ones(3), n=-1), cr.ArgumentError, r"diff: order must be non-negative"),
    (lambda: cr.linalg.cross(cr.ones(4, 2), cr.ones(4, 2)), cr.ShapeError,
     r"linalg\.cross: dimension -1.*length 3.*\(4, 2\)"),
])
def test_errors_name_the_op_and_the_shapes(call, error, pattern):
    with pytest.raises(error, match=pattern):
        call()


def test_linalg_errors_are_runtime_errors_as_pytorchs():
    assert issubclass(cr.linalg.LinAlgError, RuntimeError)
    assert issubclass(cr.linalg.LinAlgError, cr.ChainruleError)


@pytest.mark.parametrize("call", [
    lambda M, c, a: M.addmm(c, a, a, alpha=0.5), lambda M, c, a: M.addmm(c, a, a, beta=1.5),
    lambda M, c, a: M.addmv(c[0], a, c[0], alpha=0.5),
    lambda M, c, a: M.addcmul(c, a, a, value=0.5)])
def test_a_fractional_scale_of_integer_tensors_is_refused(call):
    # PyTorch truncates it (alpha=0.5 scales by 0): a silently different number.
    c, a = np.array([[1, 2]]), np.array([[1, 2], [3, 4]])
    with pytest.raises(cr.ArgumentError, match="must be an integer"):
        call(cr, cr.tensor(c), cr.tensor(a))
    call(torch, torch.tensor(c), torch.tensor(a))  # PyTorch answers
    ours = call(cr, cr.tensor(c).float(), cr.tensor(a).float())
    theirs = call(torch, torch.tensor(c).float(), torch.tensor(a).float())
    np.testing.assert_allclose(ours.numpy(), theirs.numpy())  # floats take it as given


def test_cross_without_dim_warns_and_takes_the_first_dimension_of_size_3():
    a, b = np.random.default_rng(0).normal(size=(2, 3, 3, 2)), np.ones((2, 3, 3, 2))
    with pytest.warns(UserWarning, match="dim"):
        ours = cr.cross(cr.tensor(a), cr.tensor(b))
    np.testing.assert_allclose(ours.numpy(), np.cross(a, b, axis=1))


@pytest.mark.parametrize("fn", [
    lambda M, a: M.linalg.det(a), lambda M, a: M.linalg.inv(a),
    lambda M, a: M.linalg.slogdet(a).logabsdet,
    lambda M, a: M.linalg.cholesky(a @ a.mT + 3 * M.eye(3, dtype=a.dtype)),
    lambda M, a: M.linalg.solve(a, a.sin())])
def test_second_derivatives_of_decompositions_match_pytorchs(fn):
    x = np.random.default_rng(4).uniform(-1, 1, (3, 3))
    a, t = _pair(x)
    (g,) = cr.autograd.grad(fn(cr, a).sum(), a, create_graph=True)
    (h,) = torch.autograd.grad(fn(torch, t).sum(), t, create_graph=True)
    np.testing.assert_allclose(g.detach().numpy(), h.detach().numpy(), rtol=1e-9)
    (g * g).sum().backward()
    (h * h).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), t.grad.numpy(), rtol=1e-8)
