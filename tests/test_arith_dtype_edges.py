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


# -- division and remainders by zero: integers raise, floats give inf and nan -------------

_BY_ZERO = {
    "floordiv": lambda m, x: x // 0,
    "mod": lambda m, x: x % 0,
    "fmod": lambda m, x: m.fmod(x, 0),
    "remainder": lambda m, x: m.remainder(x, 0),
    "div_trunc": lambda m, x: m.div(x, 0, rounding_mode="trunc"),
    "div_floor": lambda m, x: m.div(x, 0, rounding_mode="floor"),
}


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
@pytest.mark.parametrize("name", sorted(_BY_ZERO))
def test_float_tensor_by_python_int_zero_is_a_float_division(name, dtype):
    # The Python int 0 beside a float tensor used to be taken for an integer divisor.
    t, c = _both([-1.5, 0.0, 2.0], dtype)
    _same(_BY_ZERO[name](cr, c), _BY_ZERO[name](torch, t))


@pytest.mark.parametrize("name", sorted(_BY_ZERO))
def test_integer_tensor_by_zero_raises_as_pytorch(name):
    t, c = _both([-3, 4], "int64")
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        _BY_ZERO[name](torch, t)
    with pytest.raises(ZeroDivisionError, match="division by zero"):
        _BY_ZERO[name](cr, c)


@pytest.mark.parametrize("mode", ["trunc", "floor"])
def test_rounded_division_of_bools_refused_as_pytorch(mode):
    t, c = _both([True, False], "bool")
    with pytest.raises(NotImplementedError):
        torch.div(t, torch.tensor(True), rounding_mode=mode)
    with pytest.raises(cr.DtypeError, match="bool"):
        cr.div(c, cr.tensor(True), rounding_mode=mode)


# -- float-only functions --------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["bool", "uint8", "int32", "int64"])
def test_logaddexp_of_integers_refused_as_pytorch(dtype):
    t, c = _both([1, 0], dtype)
    with pytest.raises(NotImplementedError):
        torch.logaddexp(t, t)
    with pytest.raises(cr.DtypeError, match=f"logaddexp.*{dtype}"):
        cr.logaddexp(c, c)


@pytest.mark.parametrize("op", ["logaddexp", "logaddexp2"])
def test_logaddexp_of_an_integer_and_a_float_promotes(op):
    t, c = _both([1, 3], "int64")
    to, co = _both([0.5, -2.0], "float64")
    _same(getattr(cr, op)(c, co), getattr(torch, op)(t, to))
    _same(getattr(cr, op)(co, c), getattr(torch, op)(to, t))
    # A Python int beside a float tensor is a float operand (logaddexp2 refused it).
    _same(getattr(cr, op)(co, 3), getattr(torch, op)(to, torch.tensor(3)))


# -- comparisons -----------------------------------------------------------------------

@pytest.mark.parametrize("pair", [("int64", "float32"), ("float32", "float64"),
                                  ("bool", "uint8"), ("int32", "int64")])
def test_isclose_of_two_dtypes_refused_as_pytorch(pair):
    t, c = _both([1, 0], pair[0])
    to, co = _both([1, 0], pair[1])
    with pytest.raises(RuntimeError, match="did not match"):
        torch.isclose(t, to)
    with pytest.raises(cr.DtypeError, match="did not match"):
        cr.isclose(c, co)
    with pytest.raises(cr.DtypeError, match="did not match"):
        cr.allclose(c, co)


def test_isclose_refuses_a_negative_tolerance():
    t, c = _both([1.0], "float32")
    for kwargs in ({"rtol": -1e-3}, {"atol": -1e-3}):
        with pytest.raises(RuntimeError):
            torch.isclose(t, t, **kwargs)
        with pytest.raises(cr.ArgumentError, match="isclose"):
            cr.isclose(c, c, **kwargs)


# -- ldexp: the common dtype made floating point ----------------------------------------

@pytest.mark.parametrize("exponent", ["bool", "int8", "int64", "float16", "float32", "float64"])
@pytest.mark.parametrize("dtype", ["bool", "uint8", "int64", "float16", "float32", "float64"])
def test_ldexp_dtype_and_values_are_pytorchs(dtype, exponent):
    # ldexp(int64, float16) is float16 and ldexp(float64, float16) multiplies by a float16
    # power of 2, as PyTorch; chainrule gave float32, and refused nothing for a bool exponent.
    t, c = _both([1, 0, 1, 1], dtype)
    to, co = _both([3, -1, 0, 2] if exponent != "bool" else [1, 0, 1, 1], exponent)
    if exponent.startswith("float"):
        to, co = _both([3.0, -1.5, 0.3, 2.0], exponent)
    try:
        expected = torch.ldexp(t, to)
    except NotImplementedError:
        with pytest.raises(cr.DtypeError, match="ldexp"):
            cr.ldexp(c, co)
        return
    _same(cr.ldexp(c, co), expected)
