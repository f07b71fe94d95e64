"""Elementwise arithmetic and type promotion against PyTorch: result dtypes, values at the
edges, in-place casting rules, and refusals where PyTorch refuses."""
import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


def _both(values, dtype, requires_grad=False):
    t = torch.tensor(values, dtype=getattr(torch, dtype), requires_grad=requires_grad)
    c = cr.tensor(values, dtype=dtype, requires_grad=requires_grad)
    return t, c


def _same(c, t):
    assert str(c.dtype) == str(t.dtype).replace("torch.", "")
    expected = t.detach().numpy()
    got = c.detach().numpy()
    assert got.shape == expected.shape
    if expected.dtype.kind == "f":
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=0, equal_nan=True)
        zeros = expected == 0
        assert np.array_equal(np.signbit(got[zeros]), np.signbit(expected[zeros]))
    else:
        assert np.array_equal(got, expected)


# -- in place: PyTorch's casting rule (no float into integers, no number into bool) --------

@pytest.mark.parametrize("target", ["uint8", "int8", "int32"])
@pytest.mark.parametrize("source", ["uint8", "int8", "int16", "int64"])
@pytest.mark.parametrize("op", ["__iadd__", "__isub__", "__imul__", "__iand__", "__ixor__",
                                "__ifloordiv__", "__imod__"])
def test_in_place_integer_into_any_integer_wraps_as_pytorch(op, source, target):
    # PyTorch stores an int64 (or int16) result in a uint8 tensor, wrapping; NumPy's
    # same_kind casting refused signed into unsigned.
    t, c = _both([0, 7, 200, 100], target) if target == "uint8" else _both([0, 7, -100, 100],
                                                                            target)
    to, co = _both([3, -2, 100, 5] if source != "uint8" else [3, 2, 100, 5], source)
    getattr(t, op)(to)
    getattr(c, op)(co)
    _same(c, t)


@pytest.mark.parametrize("requires_grad", [False, True])
def test_in_place_float_into_integer_refused_even_inside_a_graph(requires_grad):
    # Inside a graph (the other operand requires grad) the result used to be cast down with
    # astype before the check: int64 += float32 silently truncated 0.5 to 0.
    t, c = _both([1, 2], "int64")
    to, co = _both([0.5, 1.5], "float32", requires_grad=requires_grad)
    with pytest.raises(RuntimeError, match="can't be cast"):
        t += to
    with pytest.raises(cr.DtypeError, match=r"float32.*int64.*\(2,\)"):
        c += co
    assert c.tolist() == [1, 2]


def test_in_place_integer_into_bool_refused_inside_a_graph():
    t, c = _both([True, False], "bool")
    to, co = _both([0.5, 1.5], "float32", requires_grad=True)
    with pytest.raises(RuntimeError):
        t.add_(to)
    with pytest.raises(cr.DtypeError, match="bool"):
        c.add_(co)
