"""The elementwise functions of more_math.py (logit, xlogy, sinc, erfc, fmax, frexp, gcd, ...)
through the checks of tests/torch_cases.py's table (test_torch_ops.py): values, dtypes and every
leaf's gradient against PyTorch on float64 and float32, with broadcasting, fan-out, views,
in-place forms on views, edge values, empty tensors and integer inputs; float64 central
differences to first and second order away from kinks. A call PyTorch refuses must be refused
here too."""
import math

import numpy as np
import pytest

import chainrule as cr
from more_math_cases import CASES, INTEGER_FORMS, REFUSALS

torch = pytest.importorskip("torch")
import test_torch_ops as checks  # noqa: E402  (imports torch)


def test_every_case_but_the_refusals_runs_in_pytorch():
    refused = [c.id for c in CASES if c not in REFUSALS and not c.id.startswith(
        tuple(INTEGER_FORMS)) and checks._run(c, "float64") is None]
    assert not refused
    assert all(checks._run(c, "float64") is None for c in REFUSALS)


NOT_DIFFERENTIABLE = ("signbit", "heaviside", "nextafter", "gcd", "lcm")  # or not smooth
# Central differences mean nothing at inf or nan, nor for an op without a derivative.
SMOOTH = [c for c in CASES if not c.edges and c not in REFUSALS and c.name not in
          NOT_DIFFERENTIABLE and any(spec.kind == "float" for spec in c.inputs)]

test_matches_pytorch, test_gradient_matches_central_differences, \
    test_second_derivative_matches_central_differences = checks.table_tests(CASES, SMOOTH)


# -- what the table cannot say ----------------------------------------------------------------

def test_heaviside_refuses_backward_as_pytorch():
    for M in (cr, torch):
        a = M.tensor([1.0, 0.0, -2.0], dtype=M.float64, requires_grad=True)
        out = M.heaviside(a, M.tensor([0.5, 0.5, 0.5], dtype=M.float64))
        assert out.requires_grad
        with pytest.raises(Exception, match="not implemented"):
            out.sum().backward()


def test_erfc_is_accurate_where_it_is_tiny():
    x = np.concatenate([np.linspace(-6, 27, 3301), [0.46875, 0.4687500001, 4.0, 4.0000001]])
    ours = cr.erfc(cr.tensor(x)).numpy()
    theirs = torch.special.erfc(torch.tensor(x)).numpy()
    normal = theirs > np.finfo(np.float64).tiny
    np.testing.assert_allclose(ours[normal], theirs[normal], rtol=1e-13)
    np.testing.assert_allclose(ours[~normal], theirs[~normal], rtol=0, atol=1e-320)
    # float32: correctly rounded from float64, within an ulp of PyTorch's float32 kernel
    ours32 = cr.erfc(cr.tensor(x, dtype="float32")).numpy()
    theirs32 = torch.erfc(torch.tensor(x, dtype=torch.float32)).numpy()
    finite = theirs32 > np.finfo(np.float32).tiny
    np.testing.assert_allclose(ours32[finite], theirs32[finite], rtol=4e-6)


def test_xlogy_takes_zero_for_x_zero_except_at_nan():
    nan, inf = float("nan"), float("inf")
    out = cr.xlogy(cr.tensor([0.0, 0.0, 0.0, 0.0]), cr.tensor([0.0, inf, nan, -3.0]))
    assert out.numpy()[[0, 1, 3]].tolist() == [0.0, 0.0, 0.0] and math.isnan(out.numpy()[2])


def test_logaddexp2_refuses_integers_as_pytorch():
    for M in (cr, torch):
        with pytest.raises((NotImplementedError, cr.errors.DtypeError)):
            M.logaddexp2(M.tensor([1, 2]), M.tensor([3, 4]))


def test_ldexp_gradient_is_two_to_the_exponent():
    x = cr.tensor([1.5, -2.0, 3.0], dtype="float64", requires_grad=True)
    cr.ldexp(x, cr.tensor([-1, 0, 3])).sum().backward()
    assert x.grad.tolist() == [0.5, 1.0, 8.0]
    assert cr.gradgradcheck(lambda x: cr.ldexp(x * x, cr.tensor([-2, 1, 5])), [x])


def test_frexp_gradient_is_exact_where_two_to_the_exponent_leaves_float32():
    x = cr.tensor([1e-300, 3e300], dtype="float64", requires_grad=True)
    mantissa, exponent = cr.frexp(x)
    mantissa.sum().backward()
    assert x.grad.tolist() == [2.0 ** -e for e in exponent.tolist()]


def test_float_power_is_float64_for_every_input_dtype():
    for x in (cr.tensor([2, 3], dtype="int32"), cr.tensor([2.0, 3.0]), cr.tensor([True, False])):
        assert cr.float_power(x, 2).dtype == np.float64
        assert cr.float_power(2, x).dtype == np.float64


def test_frexp_round_trips_through_ldexp():
    x = cr.tensor(np.random.default_rng(0).normal(size=50) * 1e5)
    mantissa, exponent = cr.frexp(x)
    assert exponent.dtype == np.int32
    assert ((mantissa.abs() >= 0.5) & (mantissa.abs() < 1)).all()
    assert (cr.ldexp(mantissa, exponent).double() == x).all()


def _relative_error(ours, theirs):
    return np.abs(ours - theirs) / np.maximum(np.abs(theirs), np.finfo(np.float64).tiny)


def test_lgamma_is_within_1e_13_of_pytorch_in_float64():
    x = np.concatenate([np.linspace(1e-6, 30, 30001), np.geomspace(30, 2e305, 500),
                        np.geomspace(1e-300, 1e-6, 50), 1 + np.geomspace(1e-15, 0.4, 200),
                        1 - np.geomspace(1e-15, 0.4, 200), 2 + np.geomspace(1e-15, 0.4, 200),
                        2 - np.geomspace(1e-15, 0.4, 200)])
    ours = cr.lgamma(cr.tensor(x)).numpy()
    theirs = torch.lgamma(torch.tensor(x)).numpy()
    assert _relative_error(ours, theirs).max() < 1e-13
    # Below 0, by reflection: as accurate where lgamma is not near one of its zeros there.
    x = -np.linspace(0.001, 40, 20001)
    x = x[np.abs(x - np.round(x)) > 1e-6]
    ours = cr.lgamma(cr.tensor(x)).numpy()
    theirs = torch.lgamma(torch.tensor(x)).numpy()
    away = np.abs(theirs) > 0.1
    assert _relative_error(ours[away], theirs[away]).max() < 1e-13


def _digamma_both(x):
    """digamma of ``x`` and its derivative, chainrule's then PyTorch's, as arrays."""
    results = []
    for M in (cr, torch):
        t = M.tensor(x, requires_grad=True)
        out = M.digamma(t)
        out.sum().backward()
        results += [out.detach().numpy(), t.grad.numpy()]
    return results


def test_digamma_and_its_derivative_are_pytorchs_in_float64():
    x = np.concatenate([np.linspace(-20, 30, 50001), np.geomspace(30, 1e300, 300)])
    x = x[np.abs(x - np.round(x)) > 1e-6]
    value, grad, theirs, their_grad = _digamma_both(x)
    away = np.abs(theirs) > 1e-3  # its zeros: the one near 1.46, and one between each -n, -n-1
    assert _relative_error(value[away], theirs[away]).max() < 1e-13
    assert _relative_error(grad, their_grad).max() < 1e-13


def test_digamma_and_its_derivative_are_pytorchs_in_float32():
    """float32 as PyTorch's kernel computes it: on the negative axis pi / tan(pi r) in float64,
    rounded once (chainrule's float32 version was 36 ulp off at -0.5 and differed in the last
    bits from PyTorch's in 6 of 10 negative draws); trigamma's pi squared in float32."""
    rng = np.random.default_rng(0)
    x = np.concatenate([[-0.5, -1.5, -2.25, -7.75], rng.uniform(-30, 30, 20000)])
    x = x[np.abs(x - np.round(x)) > 1e-3].astype(np.float32)
    value, grad, theirs, their_grad = _digamma_both(x)
    np.testing.assert_allclose(value[:4], theirs[:4], rtol=2e-7)
    # NumPy's float32 log and sin are not glibc's: the rest may differ in the last bit or two
    negative = x < 0
    assert (value[negative] == theirs[negative]).mean() > 0.9
    assert (grad[negative] == their_grad[negative]).mean() > 0.75
    # Elsewhere within a few ulp of the terms summed, which cancel near digamma's zeros: the
    # recurrence's log(x + n) for n up to 10, and pi / tan(pi x) on the negative axis
    terms = np.log(np.abs(x.astype(np.float64)) + 10) + np.where(
        negative, np.abs(np.pi / np.tan(np.pi * x.astype(np.float64))), 0.0)
    error = np.abs(value.astype(np.float64) - theirs)
    assert (error <= 4 * np.spacing(terms.astype(np.float32))).all()
    assert _relative_error(grad, their_grad).max() < 1e-6


def test_digamma_refuses_a_second_derivative_clearly():
    x = cr.tensor([1.5, 2.5], dtype="float64", requires_grad=True)
    (g,) = cr.autograd.grad(cr.digamma(x).sum(), x, create_graph=True)
    with pytest.raises(cr.errors.GradientError, match="polygamma"):
        g.sum().backward()
    # lgamma's second derivative is digamma's first: checked by central differences
    assert cr.gradgradcheck(cr.lgamma, [cr.tensor([0.3, 1.7, 4.0], dtype="float64",
                                                   requires_grad=True)])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_nextafter_gradient_is_pytorchs_also_where_input_equals_other(dtype):
    x = [0.3, 0.7, 0.7, -0.0, 2.0]
    y = [0.5, 0.7, 0.1, 0.0, 2.0]
    grads = []
    for M in (cr, torch):
        a = M.tensor(x, dtype=getattr(M, dtype), requires_grad=True)
        b = M.tensor(y, dtype=getattr(M, dtype), requires_grad=True)
        w = M.tensor([1.0, 2.0, 3.0, 4.0, 5.0], dtype=getattr(M, dtype))
        (M.nextafter(a, b) * w).sum().backward()
        grads.append([np.asarray(a.grad.detach() if M is torch else a.grad),
                      np.asarray(b.grad.detach() if M is torch else b.grad)])
    for ours, theirs in zip(*grads):
        np.testing.assert_array_equal(ours, theirs)
    assert grads[0][0][1] == 0 and grads[0][0][0] == 1  # equal: 0; apart: the upstream grad
