"""NumPy scalars as operands of tensor arithmetic, against PyTorch, bit for bit: PyTorch reads
a NumPy scalar as a number (np.bool_ as a float: int tensor * np.True_ is float32), and a
float16 product or quotient with a number is computed in float32 and rounded once. Before,
np.bool_ counted as a bool, and a NumPy float beside float16 was rounded to float16 first,
so a third of float16 products and quotients were an ulp off."""
import itertools

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

SCALARS = [np.float64(0.1), np.float32(0.1), np.float16(2.5), np.int64(3), np.int8(3),
           np.uint8(3), np.bool_(True), np.bool_(False), 0.1, 3, True]
DTYPES = ["float32", "float64", "float16", "int64", "int32", "uint8", "bool"]
OPS = ["__mul__", "__rmul__", "__add__", "__radd__", "__sub__", "__rsub__", "__truediv__",
       "__rtruediv__", "__lt__", "__eq__"]


def _values(dtype):
    if dtype == "bool":
        return np.arange(201) % 2 == 0
    if dtype == "uint8":
        return np.arange(201).astype(dtype)
    return np.linspace(-100, 100, 201).astype(dtype)


def _run(M, dtype, op, scalar):
    try:
        with np.errstate(all="ignore"):
            return getattr(M.tensor(_values(dtype)), op)(scalar)
    except Exception as error:  # compared by kind: both refuse, or neither
        return error


@pytest.mark.parametrize("scalar, dtype", list(itertools.product(SCALARS, DTYPES)),
                         ids=lambda v: f"{type(v).__name__}({v})" if not isinstance(v, str)
                         else v)
def test_numpy_scalar_operand_as_pytorch(scalar, dtype):
    for op in OPS:
        ours, theirs = _run(cr, dtype, op, scalar), _run(torch, dtype, op, scalar)
        if isinstance(theirs, Exception):
            assert isinstance(ours, Exception), f"{op}: PyTorch refuses, chainrule gave {ours}"
            continue
        assert not isinstance(ours, Exception), f"{op}: {ours}"
        assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch."), op
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy(), err_msg=op)
