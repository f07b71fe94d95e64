"""Every op: forward against NumPy, gradients against float64 central differences, and second
derivatives (gradgradcheck). The table in op_cases.py drives all of them."""
import numpy as np
import pytest

import chainrule as cr
import chainrule.nn  # noqa: F401  (loads the conv, pool and norm primitives into REGISTRY)
from op_cases import COMPOSITES, OP_CASES

IDS = [f"{c.name}-{'x'.join(map(str, c.shapes))}" for c in OP_CASES]


@pytest.mark.parametrize("case", OP_CASES, ids=IDS)
def test_forward_matches_numpy(case):
    inputs = case.inputs(seed=1)
    out = case.fn(*inputs)
    expected = case.reference(*[t.detach().numpy() for t in inputs])
    assert out.shape == np.shape(expected)
    np.testing.assert_allclose(out.detach().numpy(), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", OP_CASES, ids=IDS)
def test_gradient_matches_central_differences(case):
    assert cr.gradcheck(case.fn, case.inputs(seed=0))


@pytest.mark.parametrize("case", [c for c in OP_CASES if c.twice], ids=lambda c: c.name)
def test_second_derivative_matches_central_differences(case):
    assert cr.gradgradcheck(case.fn, case.inputs(seed=2), atol=1e-4, rtol=1e-3)


def test_every_differentiable_primitive_has_a_case():
    from torch_cases import CASES  # the toolbox's cases: gradcheck here, PyTorch there
    from more_math_cases import CASES as MORE_MATH
    from linalg_more_cases import CASES as LINALG_MORE
    differentiable = {name for name, p in cr.REGISTRY.items()
                      if p.differentiable and p.forward.__module__.startswith("chainrule.")}
    covered = {case.name for case in OP_CASES} | {n for c in CASES for n in c.covers} | {
        n for c in MORE_MATH + LINALG_MORE for n in c.covers or (c.name,)}
    assert differentiable <= covered, differentiable - covered


def test_every_composite_of_the_spec_has_a_case():
    covered = {case.name for case in OP_CASES}
    assert COMPOSITES <= covered


def test_float32_stays_float32():
    x = cr.tensor(np.ones((2, 3), dtype=np.float32), requires_grad=True)
    y = ((x * 2.5 + 1) / 3.0 - 0.5).exp().sum()
    y.backward()
    assert y.dtype == np.float32 and x.grad.dtype == np.float32


@pytest.mark.parametrize("op", ["eq", "not_equal", "less", "less_equal", "greater",
                                "greater_equal"])
def test_comparisons_give_boolean_tensors_without_gradient(op):
    a = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    out = getattr(cr, op)(a, 2.0)
    expected = getattr(np, {"eq": "equal"}.get(op, op))(a.detach().numpy(), 2.0)
    np.testing.assert_array_equal(out.detach().numpy(), expected)
    assert out.dtype == bool and not out.requires_grad


def test_operator_and_function_spellings_agree():
    a = cr.tensor([0.5, 1.5])
    for method, function in [("exp", cr.exp), ("log", cr.log), ("tanh", cr.tanh),
                             ("sqrt", cr.sqrt), ("relu", cr.relu), ("sigmoid", cr.sigmoid)]:
        np.testing.assert_array_equal(getattr(a, method)().detach().numpy(), function(a).detach().numpy())
    np.testing.assert_array_equal((a > 1).detach().numpy(), cr.greater(a, 1).detach().numpy())


def test_cast_gradient_comes_back_in_the_input_dtype():
    x = cr.tensor(np.array([1.0, 2.0], dtype=np.float32), requires_grad=True)
    (x.astype("float64") * 3).sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad.detach().numpy(), [3.0, 3.0])
