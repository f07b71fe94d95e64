"""``cr.tensor`` of a list that mixes Python numbers with NumPy scalars, arrays and tensors
infers PyTorch's dtype, against PyTorch: the widest float among them (a Python float counting
as the default float) without integers widening it, a NumPy float64 kept. NumPy's own
inference differs ([np.float32(1), 2] is float64 there), and a list of np.float64 values used
to become float32, losing precision silently."""
import itertools

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

LEAVES = {
    "bool": True, "int": 7, "float": 2.5,
    "np.int8": np.int8(-3), "np.uint8": np.uint8(200), "np.int16": np.int16(300),
    "np.int32": np.int32(-70000), "np.int64": np.int64(2 ** 40),
    "np.float16": np.float16(0.1), "np.float32": np.float32(0.1), "np.float64": np.float64(0.1),
}


def as_torch(data):
    if isinstance(data, (list, tuple)):
        return type(data)(as_torch(item) for item in data)
    return torch.from_numpy(data.numpy().copy()) if isinstance(data, cr.Tensor) else data


def check(data):
    try:
        expected = torch.tensor(as_torch(data))
    except (TypeError, RuntimeError):
        pytest.skip("PyTorch refuses this list")
    ours = cr.tensor(data)
    assert str(ours.dtype) == str(expected.dtype).replace("torch.", ""), data
    np.testing.assert_array_equal(ours.numpy(), expected.numpy())


@pytest.mark.parametrize("a, b", list(itertools.product(LEAVES, repeat=2)))
def test_a_pair_of_numbers_gets_pytorchs_dtype_and_values(a, b):
    check([LEAVES[a], LEAVES[b]])


@pytest.mark.parametrize("a, b", [("np.float64", "float"), ("np.float16", "int"),
                                  ("np.float32", "np.int64"), ("np.float16", "float"),
                                  ("np.float64", "bool"), ("np.int16", "np.float16")])
def test_nested_lists_and_tuples_are_looked_into(a, b):
    check([[LEAVES[a], LEAVES[b]], [LEAVES[b], LEAVES[a]]])
    check(([LEAVES[a]], (LEAVES[b],)))
    check([[[LEAVES[b]]], [[LEAVES[a]]]])


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_tensors_and_arrays_inside_a_list_count_with_their_dtype(dtype):
    check([cr.tensor(1.5, dtype=dtype), 2])
    check([cr.tensor(1.5, dtype=dtype), 2.5])
    check([np.array([1.0, 2.0], dtype=dtype), np.array([3.0, 4.0], dtype=dtype)])
    check([np.array([1.0, 2.0], dtype=dtype), [3, 4]])


@pytest.mark.parametrize("a, b", [("float", "int"), ("np.float16", "float"),
                                  ("np.float32", "float"), ("np.float64", "int")])
def test_a_float64_default_dtype_takes_part_as_in_pytorch(a, b):
    before_cr, before_torch = cr.get_default_dtype(), torch.get_default_dtype()
    cr.set_default_dtype(cr.float64)
    torch.set_default_dtype(torch.float64)
    try:
        check([LEAVES[a], LEAVES[b]])
    finally:
        cr.set_default_dtype(before_cr)
        torch.set_default_dtype(before_torch)


def test_precision_is_kept_for_a_list_of_numpy_float64_values():
    values = [np.float64(0.1) * k for k in range(5)]  # e.g. per-batch means from NumPy
    np.testing.assert_array_equal(cr.tensor(values).numpy(), np.array(values))
    assert cr.tensor(values).dtype == cr.float64


def test_python_numbers_alone_keep_the_default_float():
    assert cr.tensor([1.5, 2]).dtype == cr.float32
    assert cr.tensor([[1, 2], [3, 4.0]]).dtype == cr.float32
    assert cr.tensor([]).dtype == cr.float32


@pytest.mark.parametrize("data", [[2 ** 63, 1], [[2 ** 63], [1]], [1, -2 ** 63 - 1], [2 ** 63],
                                  2 ** 63, [2 ** 64 + 5]])
def test_an_integer_beyond_int64_is_refused_as_in_pytorch(data):
    with pytest.raises((ValueError, RuntimeError)):
        torch.tensor(data)
    with pytest.raises((ValueError, TypeError)):
        cr.tensor(data)  # it became a rounded float32 (or a uint64) silently


def test_a_big_integer_beside_a_float_is_a_float_as_in_pytorch():
    check([2 ** 63, 1.5])
