"""Python's own types as dtypes mean what they mean in PyTorch: ``float`` is float64 whatever the
default float dtype (``torch.zeros(2, dtype=float)``), ``int`` is int64 and ``bool`` is bool,
while the name ``'float'`` is float32 (``torch.float``). A Python ``float`` once gave the
default float, float32, silently."""
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

CASES = [
    ("zeros", lambda m, t: m.zeros(2, dtype=t)),
    ("ones", lambda m, t: m.ones(2, 3, dtype=t)),
    ("full", lambda m, t: m.full((2,), 3, dtype=t)),
    ("arange", lambda m, t: m.arange(3, dtype=t)),
    ("tensor of ints", lambda m, t: m.tensor([1, 2], dtype=t)),
    ("tensor of floats", lambda m, t: m.tensor([0.5, 1.0], dtype=t)),
    ("eye", lambda m, t: m.eye(2, dtype=t)),
    ("zeros_like", lambda m, t: m.zeros_like(m.ones(2), dtype=t)),
    ("to", lambda m, t: m.tensor([0.1, 2.0]).to(t)),
    ("to(dtype=)", lambda m, t: m.tensor([1, 0]).to(dtype=t)),
    ("sum(dtype=)", lambda m, t: m.tensor([1, 2]).sum(dtype=t)),
]
TYPES = [float, int, bool]


@pytest.mark.parametrize("default", ["float32", "float16", "float64"])
@pytest.mark.parametrize("python_type", TYPES, ids=lambda t: t.__name__)
@pytest.mark.parametrize("name, make", CASES, ids=[c[0] for c in CASES])
def test_python_types_as_dtypes(name, make, python_type, default):
    before = cr.get_default_dtype(), torch.get_default_dtype()
    try:
        cr.set_default_dtype(getattr(cr, default))
        torch.set_default_dtype(getattr(torch, default))
        try:
            expected = make(torch, python_type)
        except (RuntimeError, TypeError):  # PyTorch refuses some
            with pytest.raises(Exception):
                make(cr, python_type)
            return
        got = make(cr, python_type)
    finally:
        cr.set_default_dtype(before[0])
        torch.set_default_dtype(before[1])
    assert str(got.dtype) == str(expected.dtype).replace("torch.", "")
    assert got.tolist() == expected.tolist()


@pytest.mark.parametrize("python_type, expected", [(float, "float64")])
def test_layers_take_python_float_as_float64(python_type, expected):
    assert str(cr.nn.Linear(2, 3, dtype=python_type).weight.dtype) == expected
    assert str(torch.nn.Linear(2, 3, dtype=python_type).weight.dtype) == "torch." + expected


def test_the_name_float_is_float32():
    assert cr.as_dtype("float") == cr.float32 and torch.float == torch.float32
    assert cr.as_dtype(float) == cr.float64


INTEGER_SUMS = [([1, 2], None), ([100, 100], 0), ([120, 100, 7], None), ([[100, 100], [3, 4]], 1),
                ([0, 0], None), ([], None)]


@pytest.mark.parametrize("op", ["sum", "prod", "cumsum", "cumprod"])
@pytest.mark.parametrize("source", ["int64", "int8", "uint8", "bool"])
@pytest.mark.parametrize("dtype", [None, "int8", "uint8", "int16", "int32", "int64", "bool"])
@pytest.mark.parametrize("data, dim", INTEGER_SUMS)
def test_integer_reductions_in_the_dtype_asked_for(data, dim, dtype, source, op):
    # sum(dtype=int8) sums in int8 as PyTorch does (wrapping); the sums, products and running
    # sums once came back int64 (NumPy's accumulator) with the unwrapped value, a different
    # number.
    if op.startswith("cum") and dim is None:
        dim = 0
    if op.startswith("cum") and not data:
        return

    def run(m):
        x = m.tensor(data, dtype=getattr(m, source))
        kwargs = {} if dtype is None else {"dtype": getattr(m, dtype)}
        return getattr(x, op)(**kwargs) if dim is None else getattr(x, op)(dim, **kwargs)
    try:
        expected = run(torch)
    except (RuntimeError, NotImplementedError):  # PyTorch has no running sum of bools
        with pytest.raises(cr.errors.DtypeError, match="bool"):
            run(cr)
        return
    got = run(cr)
    assert str(got.dtype) == str(expected.dtype).replace("torch.", "")
    assert got.tolist() == expected.tolist()
