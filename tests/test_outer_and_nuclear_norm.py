"""outer refuses what is not 1-D, as PyTorch (it flattened a matrix silently), and
norm(x, 'nuc') is the nuclear norm, as PyTorch's (it was refused)."""
import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("shapes", [((2, 2), (3,)), ((), (3,)), ((2,), (2, 1))])
def test_outer_refuses_what_pytorch_refuses(shapes):
    a, b = (np.ones(s) for s in shapes)
    with pytest.raises(RuntimeError, match="outer"):
        torch.outer(torch.tensor(a), torch.tensor(b))
    with pytest.raises(cr.ShapeError, match=r"outer: expected 1-D"):
        cr.outer(cr.tensor(a), cr.tensor(b))


def test_outer_of_vectors_and_np_outer_still_flattens_as_numpy():
    a, b = np.array([1.0, -2.0]), np.array([3.0, 0.5, 4.0])
    np.testing.assert_array_equal(np.asarray(cr.outer(cr.tensor(a), cr.tensor(b))),
                                  torch.outer(torch.tensor(a), torch.tensor(b)).numpy())
    m = np.arange(4.0).reshape(2, 2)
    np.testing.assert_array_equal(np.asarray(np.outer(cr.tensor(m), cr.tensor(b))),
                                  np.outer(m, b))


@pytest.mark.parametrize("shape, dim", [((3, 4), None), ((2, 3, 3), (1, 2)), ((2, 3, 4), (0, 2)),
                                        ((4, 2), (-1, -2))])
@pytest.mark.parametrize("keepdim", [False, True])
def test_norm_nuc_is_pytorchs_value_and_gradient(shape, dim, keepdim):
    x = np.random.default_rng(0).standard_normal(shape)
    ours, theirs = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    a = cr.norm(ours, "nuc", dim=dim, keepdim=keepdim)
    b = torch.norm(theirs, "nuc", dim=dim, keepdim=keepdim)
    np.testing.assert_allclose(np.asarray(a.detach()), b.detach().numpy(), rtol=1e-12)
    a.sum().backward()
    b.sum().backward()
    np.testing.assert_allclose(np.asarray(ours.grad), theirs.grad.numpy(), rtol=1e-10,
                               atol=1e-12)
