"""More linear algebra under PyTorch's names: linalg.matrix_power / matrix_power, linalg.pinv /
pinverse, linalg.eigh / eigvalsh, linalg.svd / svdvals, linalg.qr, the spectral and nuclear
matrix norms, vdot, ger and the deprecated Tensor.cholesky, through
tests/torch_cases.py's checks (values, dtypes, gradients against PyTorch on float64 and
float32; central differences to first and second order), with batches, fan-out, views, empty
and rank-deficient matrices, repeated eigenvalues and PyTorch's refusals."""
import numpy as np
import pytest

import chainrule as cr

from linalg_more_cases import CASES, PYTORCH_ONLY, REFUSALS, _sym

torch = pytest.importorskip("torch")
import test_torch_ops as checks  # noqa: E402  (imports torch)


SMOOTH = [c for c in CASES if c not in REFUSALS + PYTORCH_ONLY]

test_matches_pytorch, test_gradient_matches_central_differences, \
    test_second_derivative_matches_central_differences = checks.table_tests(
        CASES, SMOOTH, runs=[c for c in CASES if c not in REFUSALS])


# -- what the table cannot say ----------------------------------------------------------------

def _pair(array):
    return cr.tensor(array, requires_grad=True), torch.tensor(array, requires_grad=True)


def test_repeated_eigenvalues_give_pytorchs_answer():
    a, t = _pair(np.diag([2.0, 2.0, 5.0]))
    # only the eigenvalues used: finite, V diag(g) V^T
    cr.linalg.eigvalsh(a).sum().backward()
    torch.linalg.eigvalsh(t).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), t.grad.numpy(), atol=1e-12)
    np.testing.assert_allclose(a.grad.numpy(), np.eye(3), atol=1e-12)
    # the eigenvectors used: the gradient is not defined, and both say so with non-finite values
    a, t = _pair(np.diag([2.0, 2.0, 5.0]))
    cr.linalg.eigh(a).eigenvectors[:, 0].sum().backward()
    torch.linalg.eigh(t).eigenvectors[:, 0].sum().backward()
    assert not np.isfinite(a.grad.numpy()).all() and not np.isfinite(t.grad.numpy()).all()


def test_pinv_is_the_moore_penrose_inverse_and_cuts_small_singular_values():
    rng = np.random.default_rng(0)
    A = rng.normal(size=(2, 5, 3)) @ rng.normal(size=(2, 3, 4))  # rank 3 of 4
    P = cr.linalg.pinv(cr.tensor(A)).numpy()
    for x, y in ((A @ P @ A, A), (P @ A @ P, P)):
        np.testing.assert_allclose(x, y, atol=1e-10)
    np.testing.assert_allclose(P, torch.linalg.pinv(torch.tensor(A)).numpy(), atol=1e-10)
    D = np.diag([1.0, 1e-3, 1e-9])
    for kwargs in ({}, {"atol": 1e-2}, {"rtol": 1e-4}, {"atol": 1e-2, "rtol": 1e-6}):
        np.testing.assert_allclose(cr.linalg.pinv(cr.tensor(D), **kwargs).numpy(),
                                   torch.linalg.pinv(torch.tensor(D), **kwargs).numpy())
    np.testing.assert_allclose(cr.pinverse(cr.tensor(D), rcond=1e-5).numpy(), np.diag([1, 1e3, 0]))


def test_pinv_gradient_matches_pytorch_at_a_rank_deficient_matrix_to_second_order():
    x = np.random.default_rng(1).uniform(-1, 1, (4, 1)) @ np.ones((1, 3))
    a, t = _pair(x)
    (g,) = cr.autograd.grad((cr.linalg.pinv(a) ** 2).sum(), a, create_graph=True)
    (h,) = torch.autograd.grad((torch.linalg.pinv(t) ** 2).sum(), t, create_graph=True)
    np.testing.assert_allclose(g.detach().numpy(), h.detach().numpy(), rtol=1e-9)
    (g * g).sum().backward()
    (h * h).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), t.grad.numpy(), rtol=1e-8)


def test_matrix_power_one_is_a_copy_and_zero_has_a_zero_gradient():
    a = cr.tensor(np.eye(2) * 3, requires_grad=True)
    one = cr.linalg.matrix_power(a, 1)
    assert one is not a and not np.shares_memory(one.detach().numpy(), a.detach().numpy())
    cr.linalg.matrix_power(a, 0).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), np.zeros((2, 2)))


def test_gradchecks_on_batches():
    rng = np.random.default_rng(2)
    a = cr.tensor(rng.uniform(-1, 1, (2, 3, 3)), requires_grad=True)
    assert cr.gradcheck(lambda x: cr.linalg.matrix_power(x, -2), (a,))
    assert cr.gradgradcheck(lambda x: cr.linalg.pinv(x[:, :, :2]), (a,))
    assert cr.gradgradcheck(lambda x: cr.linalg.eigh(_sym(x)).eigenvectors ** 2, (a,))


@pytest.mark.parametrize("call", [lambda M, a: M.linalg.qr(a, mode="r").R,
                                  lambda M, a: M.linalg.qr(a, mode="complete").Q])
def test_qr_refuses_a_gradient_without_a_unique_q_as_pytorch(call):
    x = np.random.default_rng(3).uniform(-1, 1, (4, 3))
    a, t = _pair(x)
    np.testing.assert_allclose(call(cr, a).detach().numpy(), call(torch, t).detach().numpy(),
                               atol=1e-12)
    assert cr.linalg.qr(a, mode="r").Q.shape == tuple(torch.linalg.qr(t, mode="r").Q.shape)
    with pytest.raises(RuntimeError):
        call(torch, t).sum().backward()
    with pytest.raises(cr.errors.GradientError, match="linalg.qr"):
        call(cr, a).sum().backward()


def test_repeated_singular_values_give_pytorchs_answer():
    a, t = _pair(np.diag([3.0, 3.0, 1.0])[:, :2] @ np.eye(2))
    cr.linalg.svdvals(a).sum().backward()
    torch.linalg.svdvals(t).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), t.grad.numpy(), atol=1e-12)
    a, t = _pair(np.diag([3.0, 3.0]))
    cr.linalg.svd(a).U[:, 0].sum().backward()
    torch.linalg.svd(t).U[:, 0].sum().backward()
    assert not np.isfinite(a.grad.numpy()).all() and not np.isfinite(t.grad.numpy()).all()


def test_svd_and_qr_gradchecks_on_batches():
    rng = np.random.default_rng(5)
    for shape in ((2, 4, 3), (2, 3, 4)):
        a = cr.tensor(rng.uniform(-1, 1, shape), requires_grad=True)
        assert cr.gradgradcheck(lambda x: cr.linalg.svd(x, False).U ** 2, (a,))
        assert cr.gradgradcheck(lambda x: cr.linalg.svd(x, False).Vh ** 2, (a,))
        assert cr.gradgradcheck(lambda x: cr.linalg.qr(x).Q, (a,))
        assert cr.gradgradcheck(lambda x: cr.linalg.qr(x).R, (a,))
