"""Numbers written into integer tensors by fills and where, against PyTorch: a value that does
not fit the dtype is refused as PyTorch refuses it (full((2,), 1000, dtype=int8) once gave
[-24, -24], fill_, masked_fill and where wrapped the same way), while what PyTorch accepts keeps
its meaning (-1 into uint8 is 255, 2.7 into int64 is 2). where's condition must be bool."""
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

FILLS = {
    "full": lambda m, d, v: m.full((2,), v, dtype=getattr(m, d)),
    "full_like": lambda m, d, v: m.full_like(m.zeros(2, dtype=getattr(m, d)), v),
    "fill_": lambda m, d, v: m.zeros(2, dtype=getattr(m, d)).fill_(v),
    "masked_fill": lambda m, d, v: m.zeros(2, dtype=getattr(m, d)).masked_fill(
        m.tensor([True, False]), v),
    "masked_fill_": lambda m, d, v: m.zeros(2, dtype=getattr(m, d)).masked_fill_(
        m.tensor([True, False]), v),
}
VALUES = [1000, 300, 255, 128, 127, -1, -128, -129, -255, -256, 2 ** 31, 2.7, -2.7, -0.5, 255.9,
          256.0, float("nan"), float("inf"), 1e5, True]


@pytest.mark.parametrize("value", VALUES, ids=repr)
@pytest.mark.parametrize("dtype", ["int8", "uint8", "int16", "int32", "int64", "float16"])
@pytest.mark.parametrize("fill", list(FILLS))
def test_fills_as_pytorch(fill, dtype, value):
    try:
        expected = FILLS[fill](torch, dtype, value)
    except RuntimeError:
        with pytest.raises(cr.errors.DtypeError, match="without overflow"):
            FILLS[fill](cr, dtype, value)
        return
    got = FILLS[fill](cr, dtype, value)
    assert str(got.dtype) == str(expected.dtype).replace("torch.", "")
    assert repr(got.tolist()) == repr(expected.tolist())  # repr: NaN equals NaN


@pytest.mark.parametrize("value", [300, -129, 2 ** 40], ids=repr)
def test_where_refuses_a_number_that_does_not_fit(value):
    x = cr.tensor([1, 2], dtype=cr.int8)
    with pytest.raises(RuntimeError):
        torch.where(torch.tensor([True, False]), torch.tensor([1, 2], dtype=torch.int8), value)
    with pytest.raises(cr.errors.DtypeError, match="where"):
        cr.where(cr.tensor([True, False]), x, value)
    with pytest.raises(cr.errors.DtypeError, match="where"):
        cr.where(cr.tensor([True, False]), value, x)
    assert cr.where(cr.tensor([True, False]), x, 100).tolist() == [1, 100]


@pytest.mark.parametrize("condition", [[1.0, 0.0], [1, 0]])
def test_where_needs_a_bool_condition(condition):
    with pytest.raises(RuntimeError):
        torch.where(torch.tensor(condition), torch.tensor([1.0, 2.0]), 0.0)
    with pytest.raises(cr.errors.DtypeError, match="condition must be a bool"):
        cr.where(cr.tensor(condition), cr.tensor([1.0, 2.0]), 0.0)
