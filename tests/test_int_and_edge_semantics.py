"""Integer, bool and float16 edges against PyTorch, from a differential hunt: Python ints
beyond int64's range, numbers that must fit an integer dtype (addcmul's value, addmm's
alpha and beta, new_full, scatter, threshold, x[i] = v), and reductions of empty and signed-zero
inputs. Each case was a silent difference before: a value where PyTorch refuses, or another
dtype or number than PyTorch's."""
import warnings

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


def outcome(make):
    """("error",) or (dtype name, shape, values as a repr, so NaN equals NaN and -0.0 shows)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = make()
    except Exception:
        return ("error",)
    if isinstance(result, tuple):
        return tuple(outcome(lambda r=r: r) for r in result)
    return str(result.dtype).replace("torch.", ""), tuple(result.shape), repr(result.tolist())


def assert_as_pytorch(expression):
    expected, got = outcome(lambda: expression(torch)), outcome(lambda: expression(cr))
    assert got == expected, f"chainrule {got}, PyTorch {expected}"


# Python ints that PyTorch refuses (below -2**63, from 2**64 up; from 2**63 up into integer or
# bool results, where it wraps or refuses to promote), beside the ones it reads as uint64.
BIG = [-2 ** 63 - 1, 2 ** 63, 2 ** 64]
BIG_INT_OPS = {
    "add": lambda m, x, v: x + v, "sub": lambda m, x, v: x - v, "mul": lambda m, x, v: x * v,
    "div": lambda m, x, v: x / v, "floordiv": lambda m, x, v: x // v,
    "remainder": lambda m, x, v: m.remainder(x, v), "eq": lambda m, x, v: x == v,
    "lt": lambda m, x, v: x < v, "rsub": lambda m, x, v: v - x,
    "where": lambda m, x, v: m.where(x > 1, x, v),
    "iadd": lambda m, x, v: x.__iadd__(v), "add_alpha": lambda m, x, v: x.add(x, alpha=v),
    "add_alpha_": lambda m, x, v: x.add_(x, alpha=v), "fill_": lambda m, x, v: x.fill_(v),
    "full": lambda m, x, v: m.full((2,), v, dtype=x.dtype),
    "masked_fill": lambda m, x, v: x.masked_fill(x > 1, v),
    "scatter": lambda m, x, v: x.scatter(0, m.tensor([0]), v),
    "new_full": lambda m, x, v: x.new_full((2,), v),
    "setitem": lambda m, x, v: (x.__setitem__(1, v), x)[1],
}


@pytest.mark.parametrize("value", BIG, ids=repr)
@pytest.mark.parametrize("dtype", ["bool", "uint8", "int64", "float16", "float32"])
@pytest.mark.parametrize("name", list(BIG_INT_OPS))
def test_python_ints_beyond_int64(name, dtype, value):
    def expression(m):
        return BIG_INT_OPS[name](m, m.tensor([1, 2, 3], dtype=getattr(m, dtype)), value)
    expected, got = outcome(lambda: expression(torch)), outcome(lambda: expression(cr))
    if got == ("error",) and expected != ("error",):
        # Refused here by name where PyTorch wraps an int from 2**63 up (int64 + 2**63) or
        # compares it exactly: never a silently different number.
        assert dtype not in ("float16", "float32") or name in ("setitem",), expected
        with pytest.raises(cr.errors.DtypeError, match="range|overflow"):
            expression(cr)
        return
    assert got == expected, f"chainrule {got}, PyTorch {expected}"


FITTING = {
    "addcmul": lambda m, x, v: m.addcmul(x, x, x, value=v),
    "addmm_alpha": lambda m, x, v: m.addmm(x.reshape(1, 1), x.reshape(1, 1), x.reshape(1, 1),
                                           alpha=v),
    "addmm_beta": lambda m, x, v: m.addmm(x.reshape(1, 1), x.reshape(1, 1), x.reshape(1, 1),
                                          beta=v),
    "new_full": lambda m, x, v: x.new_full((2,), v),
    "scatter": lambda m, x, v: x.scatter(0, m.tensor([0]), v),
    "threshold": lambda m, x, v: m.nn.functional.threshold(x, 0, v),
    "setitem": lambda m, x, v: (x.__setitem__(0, v), x)[1],
}


@pytest.mark.parametrize("value", [300, -129, -1, 2 ** 31, 70000.0, 2.7, True], ids=repr)
@pytest.mark.parametrize("dtype", ["int8", "uint8", "int16", "float16"])
@pytest.mark.parametrize("name", list(FITTING))
def test_numbers_must_fit_the_dtype_as_in_pytorch(name, dtype, value):
    # Before: int8 addcmul(value=300) and addmm(alpha=300) wrapped, new_full, scatter and
    # threshold wrote 70000 into float16 as inf and wrapped it into int8, x[0] = -1 on uint8
    # raised NumPy's OverflowError (PyTorch writes 255).
    if isinstance(value, float) and not value.is_integer() and dtype != "float16" and \
            name.startswith(("addcmul", "addmm")):
        return  # refused by name here, truncated by PyTorch: tests/test_add_alpha.py
    x = {"addmm_alpha": [3], "addmm_beta": [3]}.get(name, [1, 2, 3])

    def expression(m):
        return FITTING[name](m, m.tensor(x, dtype=getattr(m, dtype)), value)
    if name == "setitem" and dtype == "float16":
        return  # PyTorch's x[0] = 70000.0 writes inf, as NumPy does; its fill_ refuses
    assert_as_pytorch(expression)


def test_bool_addcmul_refused_as_pytorch():
    flags = [True, False]
    with pytest.raises(NotImplementedError):
        torch.addcmul(*(torch.tensor(flags),) * 3)
    with pytest.raises(cr.errors.DtypeError, match="addcmul: not implemented for bool"):
        cr.addcmul(*(cr.tensor(flags),) * 3, value=-1)  # was int64 [0, 0]
