"""In-place changes inside the graph through the views that chainrule spells with primitives
(``diagonal``, ``unfold`` with windows that do not overlap), against PyTorch: the viewed
tensor takes the change, in its values and its gradients, and a change of the viewed tensor
shows through the view. Before, the change reached the memory but not the graph, and the next
use of the viewed tensor was refused."""
import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


def _diagonal_zero(M, y):
    y.diagonal().zero_()


def _diagonal_offset_mul(M, y):
    y.diagonal(1)[:2].mul_(y.diagonal(-1) + 3)


def _diagonal_of_3d_dims(M, y):
    y.reshape(2, 3, 2).diagonal(0, 2, 0).sigmoid_()


def _diagonal_setitem(M, y):
    d = y.diagonal()
    d[1:] = d[:2] * 4


def _diagonal_twice(M, y):
    y.diagonal().add_(1)
    y.t().diagonal(-1).exp_()


def _unfold_apart(M, y):
    y.unfold(1, 2, 2).mul_(3)


def _unfold_with_gaps(M, y):
    y.unfold(1, 1, 3).tanh_()


def _unfold_of_a_row(M, y):
    y[1].unfold(0, 2, 2)[1].copy_(y[0, :2] * 2)


CHANGES = [_diagonal_zero, _diagonal_offset_mul, _diagonal_of_3d_dims, _diagonal_setitem,
           _diagonal_twice, _unfold_apart, _unfold_with_gaps, _unfold_of_a_row]


def _run(M, change):
    x = M.tensor(np.linspace(-1.5, 2.0, 12).reshape(3, 4), dtype=M.float64,
                 requires_grad=True)
    y = x * 1.5
    change(M, y)
    weights = M.arange(1.0, 13.0, dtype=M.float64).reshape(3, 4)
    (y * x * weights).sum().backward()
    return y.detach().numpy(), x.grad.numpy()


@pytest.mark.parametrize("change", CHANGES, ids=lambda f: f.__name__.strip("_"))
def test_a_change_through_the_view_reaches_the_viewed_tensor(change):
    for ours, theirs in zip(_run(cr, change), _run(torch, change)):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("view", ["diagonal", "unfold"])
def test_a_change_of_the_viewed_tensor_shows_through_the_view(view):
    def run(M):
        x = M.tensor(np.linspace(-1.0, 1.0, 16).reshape(4, 4), dtype=M.float64,
                     requires_grad=True)
        y = x * 2
        v = y.diagonal() if view == "diagonal" else y.unfold(0, 2, 2)
        y.mul_(x)
        (v ** 2).sum().backward()
        return v.detach().numpy(), x.grad.numpy()

    for ours, theirs in zip(run(cr), run(torch)):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)


def test_overlapping_windows_stay_refused():
    y = cr.tensor(np.ones((2, 4)), requires_grad=True) * 1
    with pytest.raises(cr.errors.ArgumentError, match="share one memory location"):
        y.unfold(1, 2, 1).mul_(2)
