"""``number / t`` against PyTorch, whose Tensor.__rtruediv__ is ``t.reciprocal() * number``:
two roundings, so a quarter of the quotients (and of their gradients) differ in the last bit
from one correctly rounded division, which chainrule used to do. Every float dtype, integers
and bools, signed zeros, inf and NaN, values and gradients bit for bit."""
import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

VALUES = np.r_[np.linspace(0.1, 100.0, 2001), [0.0, -0.0, np.inf, -np.inf, np.nan, -3.0]]


@pytest.mark.parametrize("number", [0.1, 3.3, 1 / 3, 7, 0, -2, True])
@pytest.mark.parametrize("dtype", ["float16", "float32", "float64", "int64", "bool"])
def test_number_over_tensor_is_pytorchs_bit_for_bit(dtype, number):
    x = VALUES.astype(dtype)
    with np.errstate(all="ignore"):
        ours = number / cr.tensor(x)
    theirs = number / torch.tensor(x)
    assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch.")
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    if dtype.startswith("float"):
        leaf, peer = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        with np.errstate(all="ignore"):
            (number / leaf).sum().backward()
        (number / peer).sum().backward()
        np.testing.assert_array_equal(leaf.grad.numpy(), peer.grad.numpy())


def test_number_over_a_view_on_a_fan_out_graph_as_pytorch():
    values = np.linspace(0.5, 3.0, 6).reshape(2, 3)
    grads = []
    for M in (cr, torch):
        x = M.tensor(values, dtype=M.float32, requires_grad=True)
        y = x * 1
        out = 0.3 / y.t() + y.t() * (7 / y.t())
        y.t()[0].mul_(2)  # an in-place change after use: refused by both at backward
        with pytest.raises(RuntimeError):
            out.sum().backward()
        y = x * 1
        out = 0.3 / y.t() + y.t() * (7 / y.t())
        out.sum().backward()
        grads.append((out.detach().numpy(), x.grad.numpy()))
    for a, b in zip(*grads):
        np.testing.assert_array_equal(a, b)
