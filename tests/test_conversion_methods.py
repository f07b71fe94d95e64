"""Tensor.short(), .char() and .byte() against PyTorch: the dtype, the values truncated toward
zero, out-of-range values as PyTorch casts them, and no gradient through the integer result."""
import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

VALUES = [3.7, -3.7, 300.0, -300.0, 70000.0, -0.5, 255.9, 256.0, 0.0]


@pytest.mark.parametrize("name", ["short", "char", "byte", "int", "long", "half", "bool"])
@pytest.mark.parametrize("dtype", ["float32", "float64", "int64"])
def test_conversion_as_pytorch(name, dtype):
    values = np.array(VALUES).astype(dtype)
    with np.errstate(all="ignore"):
        ours = getattr(cr.tensor(values), name)()
    theirs = getattr(torch.tensor(values), name)()
    assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch.")
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


@pytest.mark.parametrize("name", ["short", "char", "byte"])
def test_an_integer_conversion_leaves_the_graph_as_pytorchs(name):
    x = cr.tensor([1.5, -2.5], requires_grad=True)
    assert not getattr(x, name)().requires_grad
    assert not getattr(torch.tensor([1.5, -2.5], requires_grad=True), name)().requires_grad
