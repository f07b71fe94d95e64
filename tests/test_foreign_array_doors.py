"""Arrays that come from elsewhere, against PyTorch: another library's tensors handed to
``cr.tensor``/``cr.as_tensor`` (alone or inside lists) keep their own dtype, NumPy arrays in the
other byte order are copied into this machine's order or refused where memory would be shared,
one-element tensors inside a list are read as numbers (a list of them is a vector, not a
column), and ``x in t`` means what it means in PyTorch."""
import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

DTYPES = ["float64", "float32", "float16", "int32", "int64", "uint8", "bool"]


@pytest.mark.parametrize("make", ["tensor", "as_tensor"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_a_torch_tensor_keeps_its_dtype(make, dtype):
    source = torch.tensor([1.5, -2.0, 0.0]).to(getattr(torch, dtype))
    ours = getattr(cr, make)(source)
    theirs = getattr(torch, make)(source.clone())
    assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch.")
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


@pytest.mark.parametrize("dtype", ["float64", "float32", "float16", "int32"])
@pytest.mark.parametrize("other", [None, 1, 1.0])
def test_a_list_of_torch_scalars_takes_pytorchs_dtype(dtype, other):
    source = torch.tensor([1.25, 3.0]).to(getattr(torch, dtype))
    items = [source[0], source[1]] + ([] if other is None else [other])
    ours, theirs = cr.tensor(items), torch.tensor(items)
    assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch.")
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


@pytest.mark.parametrize("make", [cr.tensor, cr.as_tensor])
@pytest.mark.parametrize("dtype", [">f4", ">f8", ">i4", ">i8"])
def test_an_array_in_the_other_byte_order_is_copied_into_ours(make, dtype):
    source = np.array([1.5, -2.0, 7.0]).astype(dtype)
    t = make(source)
    native = np.dtype(dtype).newbyteorder("=")
    assert t.dtype == native and t.dtype.isnative
    np.testing.assert_array_equal(t.numpy(), source.astype(native))
    assert str((t + 1).dtype) == str(native)


def test_from_numpy_refuses_the_other_byte_order_as_pytorch():
    source = np.arange(3, dtype=">f4")
    with pytest.raises(ValueError):
        torch.from_numpy(source)
    with pytest.raises(ValueError, match="order"):
        cr.from_numpy(source)


@pytest.mark.parametrize("element", [2.0, 9.0, True, 0, float("nan"), -0.0, "tensor 2.",
                                     "tensor [[4.]]"])
def test_in(element):
    values = [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    if element == "tensor 2.":
        ours_element, torch_element = cr.tensor(2.0), torch.tensor(2.0)
    elif element == "tensor [[4.]]":
        ours_element, torch_element = cr.tensor([[4.0]]), torch.tensor([[4.0]])
    else:
        ours_element = torch_element = element
    assert (ours_element in cr.tensor(values)) == (torch_element in torch.tensor(values))


def test_in_refuses_what_is_not_a_number():
    with pytest.raises(RuntimeError):
        "a" in torch.tensor([1.0])
    with pytest.raises(TypeError, match="'in' on a tensor"):
        "a" in cr.tensor([1.0])


LISTS = {
    "one-element vectors": lambda M: [M.tensor([1.5]), M.tensor([-2.0])],
    "1x1 matrices": lambda M: [M.tensor([[1.0]]), M.tensor([[2.0]])],
    "nested": lambda M: [[M.tensor([1.0]), 2.0], [3, M.tensor(4.0)]],
    "float64 with a number": lambda M: [M.tensor([1.0], dtype=M.float64), 2.5],
    "float16 with an int": lambda M: [M.tensor([1.0], dtype=M.float16), 2],
    "int32": lambda M: [M.tensor([1], dtype=M.int32), M.tensor(2, dtype=M.int32)],
    "bools": lambda M: [M.tensor([True]), M.tensor(False)],
    "arrays stay sequences": lambda M: [np.array([1.0]), np.array([2.0])],
}


@pytest.mark.parametrize("name", LISTS)
def test_one_element_tensors_in_a_list_are_numbers(name):
    ours, theirs = cr.tensor(LISTS[name](cr)), torch.tensor(LISTS[name](torch))
    assert tuple(ours.shape) == tuple(theirs.shape)
    assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch.")
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


@pytest.mark.parametrize("make", [lambda M: [M.tensor([1.0, 2.0]), M.tensor([3.0, 4.0])],
                                  lambda M: [M.zeros(0)]])
def test_a_tensor_of_several_elements_in_a_list_is_refused(make):
    with pytest.raises(ValueError):
        torch.tensor(make(torch))
    with pytest.raises(ValueError, match="one-element tensors"):
        cr.tensor(make(cr))
