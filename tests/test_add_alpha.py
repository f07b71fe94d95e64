"""add and sub with alpha as PyTorch computes them: alpha * other in the dtype the operands
promote to. chainrule multiplied other by alpha in other's own dtype first, so 2.5 + 2 * a
uint8 200 wrapped to 146.5 (PyTorch: 402.5), a float alpha on integers gave floats and an
int8 alpha of 300 wrapped, where PyTorch refuses both. And a bool matmul, which PyTorch refuses
and NumPy answers with a logical product."""
import itertools

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

VALUES = {"uint8": [1, 200, 3], "int8": [1, 100, -3], "int64": [1, 200, -3],
          "float16": [1.5, 200.25, -3.0], "float32": [1.5, 200.25, -3.0],
          "float64": [1.5, 200.25, -3.0], "bool": [True, False, True]}
OPERANDS = [*VALUES, 2.5, 3, True]
ALPHAS = [1, 2, 300, 0.5, 1.0, True, 0]


def _make(lib, operand):
    if not isinstance(operand, str):
        return operand
    return lib.tensor(VALUES[operand], dtype=getattr(lib, operand))


def _outcome(lib, name, a, b, alpha):
    try:
        result = getattr(lib, name)(_make(lib, a), _make(lib, b), alpha=alpha)
    except Exception:  # noqa: BLE001  (both refuse, whatever the class)
        return "refused"
    return str(result.dtype).replace("torch.", ""), np.asarray(result.tolist(), dtype=float)


@pytest.mark.parametrize("name", ["add", "sub"])
@pytest.mark.parametrize("alpha", ALPHAS, ids=repr)
def test_dtypes_values_and_refusals_are_pytorchs(name, alpha):
    for a, b in itertools.product(OPERANDS, OPERANDS):
        if not isinstance(a, str):
            continue  # the input is a tensor (PyTorch's add(number, tensor) is not add's form)
        expected, got = _outcome(torch, name, a, b, alpha), _outcome(cr, name, a, b, alpha)
        where = f"{name}({a}, {b}, alpha={alpha!r})"
        if expected == "refused" or got == "refused":
            assert got == expected, where
            continue
        assert got[0] == expected[0], where
        np.testing.assert_allclose(got[1], expected[1], rtol=1e-3 if "float16" in (a, b) else
                                   1e-6, err_msg=where)


def test_the_gradient_of_a_mixed_dtype_add_with_alpha():
    # alpha * other in float64 when input is float64: the gradient comes back in other's dtype.
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal(5), rng.standard_normal(5).astype(np.float32)
    upstream = rng.standard_normal(5)
    grads = []
    for lib in (cr, torch):
        a = lib.tensor(x, requires_grad=True)
        b = lib.tensor(y, requires_grad=True)
        out = lib.sub(a, b, alpha=3)
        (out * lib.tensor(upstream)).sum().backward()
        grads.append((out.detach().numpy(), a.grad.numpy(), b.grad.numpy(), b.grad.dtype))
    ours, theirs = grads
    for o, t in zip(ours[:3], theirs[:3]):
        np.testing.assert_allclose(o, t, rtol=1e-6)
    assert str(ours[3]) == str(theirs[3]).replace("torch.", "")


@pytest.mark.parametrize("name", ["add_", "sub_"])
@pytest.mark.parametrize("alpha", ALPHAS, ids=repr)
def test_in_place_forms(name, alpha):
    for a, b in itertools.product(["float32", "float64", "int64", "uint8", "int8"], OPERANDS):
        outcome = []
        for lib in (torch, cr):
            try:
                result = getattr(_make(lib, a), name)(_make(lib, b), alpha=alpha)
            except Exception:  # noqa: BLE001
                outcome.append("refused")
                continue
            outcome.append((str(result.dtype).replace("torch.", ""), result.tolist()))
        where = f"{a}.{name}({b}, alpha={alpha!r})"
        if "refused" in outcome:
            assert outcome[0] == outcome[1], where
        else:
            assert outcome[1][0] == outcome[0][0], where
            np.testing.assert_allclose(outcome[1][1], outcome[0][1], rtol=1e-6, err_msg=where)


def test_bool_matmul_is_refused_as_pytorch_refuses_it():
    # NumPy's bool product is a logical or of ands; PyTorch has no bool matmul.
    a = [[True, False], [True, True]]
    with pytest.raises(RuntimeError):
        torch.tensor(a) @ torch.tensor(a)
    with pytest.raises(cr.DtypeError, match="matmul: not implemented for bool"):
        cr.tensor(a) @ cr.tensor(a)
    with pytest.raises(cr.DtypeError, match="matmul: not implemented for bool"):
        cr.matmul(cr.tensor(a), cr.tensor(a))


@pytest.mark.parametrize("name", ["add", "sub"])
@pytest.mark.parametrize("alpha", [2, -0.5, 0])
def test_gradients_on_fan_out_views_and_edge_values(name, alpha):
    # The same tensor on both sides (fan-out), a transposed view as other, and 0, -0, a
    # negative, inf, nan; then an empty pair. Values and both gradients as PyTorch's.
    values = np.array([[0.0, -0.0, -1.5], [np.inf, np.nan, 2.0]])
    upstream = np.array([[1.0, -2.0, 0.5], [3.0, 1.0, -1.0]])
    results = []
    for lib in (cr, torch):
        x = lib.tensor(values, requires_grad=True)
        y = lib.tensor(values.T.copy(), requires_grad=True)
        fan_out = getattr(lib, name)(x, x, alpha=alpha)
        viewed = getattr(lib, name)(x, y.T, alpha=alpha)
        ((fan_out + viewed) * lib.tensor(upstream)).sum().backward()
        empty_x = lib.zeros(0, 3, dtype=lib.float64, requires_grad=True)
        empty = getattr(lib, name)(empty_x, empty_x, alpha=alpha)
        empty.sum().backward()
        results.append([t.detach().numpy() for t in (fan_out, viewed, x.grad, y.grad, empty,
                                                     empty_x.grad)])
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, equal_nan=True)
