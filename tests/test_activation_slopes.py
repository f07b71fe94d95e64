"""Activation slopes against PyTorch where a formula loses digits or meets a branch point: first
and second derivatives, in float64, float32 and float16, measured in units in the last place
(the exp and expm1 kernels of NumPy and PyTorch themselves differ in the last bit)."""
import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

TAIL = [-1e4, -100.0, -50.0, -37.5, -20.0, -17.3, -10.0, -3.0, -0.5, -1e-3, -1e-8]


def _derivatives(M, fn, values, dtype):
    """The output, the gradient of a random weighting of it and the gradient of a random
    weighting of that (through create_graph=True)."""
    x = M.tensor(np.asarray(values, dtype=dtype), requires_grad=True)
    rng = np.random.default_rng(0)
    out = fn(M, x)
    upstream = M.tensor(rng.standard_normal(x.shape).astype(dtype))
    (first,) = M.autograd.grad((out * upstream).sum(), (x,), create_graph=True)
    weights = M.tensor(rng.standard_normal(x.shape).astype(dtype))
    (second,) = M.autograd.grad((first * weights).sum(), (x,), allow_unused=True)
    arrays = [out, first, second]
    if M is torch:
        return [None if a is None else a.detach().numpy(force=True) for a in arrays]
    return [None if a is None else a.detach().numpy() for a in arrays]


def _assert_within_ulps(ours, theirs, ulps, what):
    assert ours.dtype == theirs.dtype, what
    same_nan = np.isnan(ours) == np.isnan(theirs)
    assert same_nan.all(), f"{what}: NaN at {np.flatnonzero(~same_nan)}"
    finite = ~np.isnan(theirs)
    a, b = ours[finite].astype(np.float64), theirs[finite].astype(np.float64)
    step = np.spacing(np.abs(theirs[finite])).astype(np.float64)
    off = np.abs(a - b) / step
    assert np.all(off <= ulps), f"{what}: {off.max()} ulps apart ({a[off.argmax()]} vs " \
                                f"{b[off.argmax()]})"


ELU_FAMILY = {
    "elu": lambda M, x: M.nn.functional.elu(x),
    "elu-alpha": lambda M, x: M.nn.functional.elu(x, alpha=2.5),
    "elu-small-alpha": lambda M, x: M.nn.functional.elu(x, 0.3),
    "selu": lambda M, x: M.nn.functional.selu(x),
    "celu": lambda M, x: M.nn.functional.celu(x),
    "celu-alpha": lambda M, x: M.nn.functional.celu(x, alpha=0.3),
    "elu-module": lambda M, x: M.nn.ELU(alpha=1.7)(x),
}


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", ELU_FAMILY)
def test_elu_family_slope_far_below_zero_as_pytorch(name, dtype):
    # The slope alpha exp(x) of the exponential branch was taken through expm1's (out + 1):
    # out rounds to -1 below x = -17 in float32 (-37 in float64), so the slope was 0 there,
    # and digits were lost above. PyTorch multiplies by exp(x) (celu's backward with alpha
    # rounded to float32, so float64's slope differed by 1e-7 |x / alpha| as well).
    fn = ELU_FAMILY[name]
    rng = np.random.default_rng(1)
    values = np.r_[TAIL, 0.0, -0.0, -rng.exponential(8.0, 64)]
    ours = _derivatives(cr, fn, values, dtype)
    theirs = _derivatives(torch, fn, values, dtype)
    for what, a, b in zip(("value", "first", "second"), ours, theirs):
        # Three ulps: NumPy's exp and PyTorch's differ by one in the last bit (of 40% of
        # float32 inputs), and the product with the upstream gradient may double that.
        _assert_within_ulps(a, b, 3, f"{name} {dtype} {what}")


@pytest.mark.parametrize("name", ["elu", "selu", "celu"])
def test_float16_elu_family_slope_far_below_zero_as_pytorch(name):
    fn = ELU_FAMILY[name]
    values = np.r_[TAIL[1:], -8.0, -12.0, -15.0]  # -1e4 is -inf in float16
    ours = _derivatives(cr, fn, values, "float16")
    theirs = _derivatives(torch, fn, values, "float16")
    for what, a, b in zip(("value", "first", "second"), ours, theirs):
        _assert_within_ulps(a, b, 1, f"{name} float16 {what}")


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_logsigmoid_below_zero_to_second_order_as_pytorch(dtype):
    # The second derivative sigmoid(x) (sigmoid(x) - 1) came from sigmoid(-x), which rounds
    # to 1 below x = -17 in float32 (-37 in float64): 0 there, and few digits above. PyTorch
    # takes it from the small sigmoid(x). (Above 0 PyTorch's own rounds to 0 from x = 17 in
    # float32, where chainrule's from sigmoid(-x) keeps its digits: not compared.)
    fn = lambda M, x: M.nn.functional.logsigmoid(x)  # noqa: E731
    rng = np.random.default_rng(2)
    values = np.r_[[v for v in TAIL if v > -700], -0.0, -rng.exponential(8.0, 64)]
    if dtype == "float32":
        values = values[values > -87]  # sigmoid(x) below: subnormal, flushed to 0 by PyTorch
    ours = _derivatives(cr, fn, values, dtype)
    theirs = _derivatives(torch, fn, values, dtype)
    for what, a, b in zip(("value", "first", "second"), ours, theirs):
        _assert_within_ulps(a, b, 3, f"logsigmoid {dtype} {what}")


@pytest.mark.parametrize("name, alpha", [("elu", 1.0), ("elu", 0.3), ("selu", None),
                                         ("celu", 0.5)])
@pytest.mark.parametrize("form", ["functional", "module"])
def test_in_place_forms_have_the_out_of_place_slope_in_the_far_tail(name, alpha, form):
    """A deliberate difference (docs/semantics.md): PyTorch's in-place backward reads the
    output, grad (out + alpha), which is 0 below x = -37 in float64; chainrule's in-place forms
    keep the slope alpha exp(x / alpha) of the out-of-place ones (PyTorch's too)."""
    x = np.array([-5.0, -20.0, -50.0, -100.0, 0.5])
    options = {} if alpha is None else {"alpha": alpha}

    def slope(inplace):
        t = cr.tensor(x, requires_grad=True)
        y = t * 1.0
        if not inplace:
            out = getattr(cr.nn.functional, name)(y, **options)
        elif form == "functional":
            out = getattr(cr.nn.functional, f"{name}_")(y, **options)
        else:
            module = {"elu": cr.nn.ELU, "selu": cr.nn.SELU, "celu": cr.nn.CELU}[name]
            out = module(**options, inplace=True)(y)
        out.sum().backward()
        return t.grad.numpy()

    np.testing.assert_array_equal(slope(True), slope(False))
    assert (slope(True)[:4] > 0).all()
