"""A 0-d NumPy array beside a tensor takes part in type promotion as a dimensioned operand, as
in PyTorch and NumPy, not as a weak Python number: ``uint8 tensor - np.array(5, int32)`` was
uint8 [254, 255] (wrapped silently) where PyTorch and NumPy give int32 [-2, -1]. Checked
against PyTorch, and a 0-d array against the same value as a 1-element array."""
import itertools
import operator

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

TENSORS = {"float32": [1.5, -2.0], "float16": [1.5, -2.0], "float64": [1.5, -2.0],
           "int8": [3, -4], "int32": [3, -4], "uint8": [3, 4], "bool": [True, False]}
ARRAYS = {"float64": 2.5, "float16": 2.5, "int16": 300, "int32": 5, "uint8": 200, "int64": 7}
OPS = {"add": operator.add, "sub": operator.sub, "mul": operator.mul}


@pytest.mark.parametrize("tensor, array, op", [
    ("uint8", "int32", "sub"), ("uint8", "int16", "add"), ("int8", "int16", "mul"),
    ("int8", "int64", "sub"), ("float32", "float64", "mul"), ("float16", "float64", "add"),
    ("int32", "float64", "mul"), ("bool", "int32", "add")])
def test_a_0d_array_promotes_as_in_pytorch(tensor, array, op):
    value = np.array(ARRAYS[array], dtype=array)
    expected = OPS[op](torch.tensor(TENSORS[tensor], dtype=getattr(torch, tensor)), value)
    ours = OPS[op](cr.tensor(TENSORS[tensor], dtype=tensor), value)
    assert str(ours.dtype) == str(expected.dtype).replace("torch.", "")
    np.testing.assert_array_equal(ours.numpy(), expected.numpy())


@pytest.mark.parametrize("tensor, array, op", [  # subtracting bools is refused, as in PyTorch
    case for case in itertools.product(TENSORS, ARRAYS, OPS) if case[::2] != ("bool", "sub")])
def test_a_0d_array_gives_what_a_one_element_array_gives(tensor, array, op):
    x = cr.tensor(TENSORS[tensor], dtype=tensor)
    zero_d = np.array(ARRAYS[array], dtype=array)
    ours, one = OPS[op](x, zero_d), OPS[op](x, zero_d.reshape(1))
    assert ours.dtype == one.dtype
    np.testing.assert_array_equal(ours.numpy(), one.numpy())
    assert OPS[op](zero_d, x).dtype == one.dtype  # and from the left, through NumPy


def test_numbers_and_numpy_scalars_stay_weak_and_0d_tensors_keep_the_0_dim_rule():
    u = cr.tensor([3, 4], dtype="uint8")
    tu = torch.tensor([3, 4], dtype=torch.uint8)
    for other, their in ((np.int32(5), np.int32(5)), (5, 5),
                         (cr.tensor(5, dtype="int32"), torch.tensor(5, dtype=torch.int32))):
        ours, expected = u - other, tu - their
        assert str(ours.dtype) == str(expected.dtype).replace("torch.", "")
        np.testing.assert_array_equal(ours.numpy(), expected.numpy())


def test_the_gradient_comes_back_in_the_tensors_dtype():
    x = cr.tensor([1.5, -2.0], requires_grad=True)
    tx = torch.tensor([1.5, -2.0], requires_grad=True)
    y = x * np.array(3.0)
    (y * y).sum().backward()
    ty = tx * torch.tensor([3.0], dtype=torch.float64)  # PyTorch refuses the array itself here
    (ty * ty).sum().backward()
    assert y.dtype == cr.float64 and ty.dtype == torch.float64
    assert x.grad.dtype == cr.float32 and tx.grad.dtype == torch.float32
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())
