"""In-place shape changes (t_, transpose_, squeeze_, unsqueeze_) of a view, or of a tensor that
has views, followed by an in-place change inside the graph, against PyTorch. Before, the view
records kept the shapes from before, so the graph took the change at the wrong elements (the
memory was right, the gradients were not): a transposed square view wrote its values back
untransposed, without an error."""
import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


def _view_transposed_then_written(M, y):
    v = y[0:2, 0:2]
    v.t_()
    v[0, 1] = v[0, 1] * 10


def _base_transposed_then_view_written(M, y):
    v = y[0]
    y.t_()
    v.mul_(10)


def _view_transposed_then_its_view_written(M, y):
    v = y[1:]
    v.transpose_(0, 1)
    v[0].add_(v[2] * 3)


def _view_unsqueezed_then_written(M, y):
    v = y[:, 1]
    v.unsqueeze_(0)
    v.mul_(v.detach() + 1)


def _base_squeezed_with_views(M, y):
    z = y.unsqueeze(0)
    v = z[0, :, 2]
    z.squeeze_(0)
    v.mul_(3)
    z[2].mul_(-1)


def _base_transposed_then_changed_and_view_read(M, y):
    v = y[1]
    y.swapaxes_(0, 1)
    y.mul_(y.detach() + 2)
    y[0] = v * 4


def _twice(M, y):
    v = y[0:3, 1:3]
    v.t_()
    v.t_()
    v[2, 0] = 7.0
    y.transpose_(1, 0)
    v.mul_(2)


CHANGES = [_view_transposed_then_written, _base_transposed_then_view_written,
           _view_transposed_then_its_view_written, _view_unsqueezed_then_written,
           _base_squeezed_with_views, _base_transposed_then_changed_and_view_read, _twice]


def _run(M, change):
    x = M.tensor(np.linspace(-1.0, 1.5, 9).reshape(3, 3), dtype=M.float64, requires_grad=True)
    y = x * 1
    change(M, y)
    weights = M.arange(1.0, 10.0, dtype=M.float64).reshape(y.shape)
    (y * weights).sum().backward()
    return y.detach().numpy(), x.grad.numpy()


@pytest.mark.parametrize("change", CHANGES, ids=lambda f: f.__name__.strip("_"))
def test_the_graph_takes_the_change_at_the_elements_the_memory_did(change):
    for ours, theirs in zip(_run(cr, change), _run(torch, change)):
        assert ours.shape == theirs.shape
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-15)
