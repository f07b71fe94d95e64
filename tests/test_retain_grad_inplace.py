"""``retain_grad()`` followed by an in-place change, against PyTorch: the kept gradient follows
the tensor to its newest value (the gradient of what the change produced), whether the change
was made on the tensor itself, through a view of it or by item assignment. (After an in-place
shape op such as ``unsqueeze_`` PyTorch keeps the gradient of the value before it, and so does
chainrule: ``test_an_in_place_shape_op_keeps_the_gradient_of_the_value_before``.)"""
import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


def _direct(M, y):
    y.mul_(3)


def _through_a_view(M, y):
    y[0].mul_(3)


def _through_a_transpose(M, y):
    y.t()[1:].sigmoid_()


def _setitem(M, y):
    y[1:, ::2] = y[:1, ::2] * 5


def _twice(M, y):
    y.add_(1)
    y[:, 1].exp_()


CHANGES = [_direct, _through_a_view, _through_a_transpose, _setitem, _twice]


def _run(M, change):
    x = M.tensor(np.linspace(-1.0, 1.0, 12).reshape(3, 4), dtype=M.float64,
                 requires_grad=True)
    y = x * 2
    y.retain_grad()
    change(M, y)
    (y ** 2 * M.arange(1.0, y.numel() + 1, dtype=M.float64).reshape(y.shape)).sum().backward()
    return x.grad, y.grad


@pytest.mark.parametrize("change", CHANGES, ids=lambda f: f.__name__.strip("_"))
def test_a_kept_gradient_follows_the_tensor_through_an_in_place_change(change):
    ours, theirs = _run(cr, change), _run(torch, change)
    for a, b in zip(ours, theirs):
        assert b is not None and a is not None
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-12, atol=0)


def test_an_in_place_shape_op_keeps_the_gradient_of_the_value_before():
    def run(M):
        x = M.tensor([[1.0, -2.0], [0.5, 3.0]], dtype=M.float64, requires_grad=True)
        y = x * 2
        y.retain_grad()
        y.unsqueeze_(0)
        (y ** 3).sum().backward()
        return x.grad.numpy(), y.grad.numpy()

    for a, b in zip(run(cr), run(torch)):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=1e-12)
