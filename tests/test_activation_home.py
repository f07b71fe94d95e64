"""One definition per activation: cr.<name> and F.<name> are the same function, with PyTorch's
defaults (softplus's threshold of 20 included), checked against PyTorch."""
import numpy as np
import pytest

import chainrule as cr
from chainrule.nn import functional as F

EDGES = [-np.inf, -30.0, -1.0, -0.0, 0.0, 1.0, 9.99, 10.0, 10.01, 19.99, 20.0, 20.01, 30.0,
         np.inf, np.nan]


def test_every_activation_in_both_namespaces_is_one_function():
    # F.unfold is im2col and cr.unfold is Tensor.unfold's sliding windows, different
    # functions in PyTorch too (torch.nn.functional.unfold and torch.Tensor.unfold).
    different_in_pytorch = {"unfold"}
    shared = [name for name in F.__all__ if hasattr(cr, name) and callable(getattr(cr, name))
              and name not in different_in_pytorch]
    assert "softplus" in shared and "relu" in shared
    assert [name for name in shared if getattr(cr, name) is not getattr(F, name)] == []


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("options", [{}, {"beta": 2.0}, {"beta": 2.0, "threshold": 5.0},
                                     {"beta": 0.5, "threshold": 10.0}])
def test_softplus_matches_pytorch_values_and_gradients_at_edges(dtype, options):
    torch = pytest.importorskip("torch")
    values = np.array(EDGES, dtype=dtype)
    ours = cr.tensor(values, requires_grad=True)
    out = cr.softplus(ours, **options)
    theirs = torch.tensor(values, requires_grad=True)
    expected = torch.nn.functional.softplus(theirs, **options)
    assert out.dtype == getattr(cr, dtype)
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), rtol=1e-6,
                               equal_nan=True)
    weights = np.linspace(-1.0, 2.0, len(EDGES)).astype(dtype)
    (out * cr.tensor(weights)).sum().backward()
    (expected * torch.tensor(weights)).sum().backward()
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-6,
                               equal_nan=True)


def test_softplus_positional_options_as_pytorch():
    torch = pytest.importorskip("torch")
    x = np.array([-2.0, 0.5, 3.0, 4.0])
    np.testing.assert_allclose(cr.softplus(cr.tensor(x), 2.0, 5.0).numpy(),
                               torch.nn.functional.softplus(torch.tensor(x), 2.0, 5.0).numpy())


def test_softplus_through_a_view_after_an_in_place_change_with_fan_out():
    torch = pytest.importorskip("torch")
    base = np.array([[-3.0, 0.0, 2.0], [21.0, -0.5, 19.0]])

    def run(lib, make):
        x = make(base.copy(), requires_grad=True)
        y = x * 1.0
        y[0, 1] = 5.0  # in place, before the view is read
        view = y[:, 1:]
        out = lib.softplus(view) * view + lib.softplus(view, beta=2.0).sum()
        out.sum().backward()
        return out.detach().numpy(), x.grad.numpy()

    ours = run(cr, cr.tensor)
    theirs = run(torch.nn.functional, torch.tensor)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_softplus_central_differences_and_second_order():
    x = cr.tensor([-2.0, -0.3, 0.4, 3.0, 12.0], dtype="float64", requires_grad=True)
    assert cr.gradcheck(lambda t: cr.softplus(t, beta=1.5), [x])
    assert cr.gradgradcheck(lambda t: cr.softplus(t, beta=1.5), [x])


def test_softplus_on_an_empty_tensor_and_mixed_with_float64():
    empty = cr.softplus(cr.zeros(0, 3))
    assert empty.shape == (0, 3) and empty.dtype == cr.float32
    mixed = cr.softplus(cr.tensor([1.0], dtype="float32")) + cr.tensor([1.0], dtype="float64")
    assert mixed.dtype == cr.float64
