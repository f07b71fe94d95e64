"""softmax and log_softmax against PyTorch in float16, bit for bit, and to second order at edge
values in every float dtype. PyTorch's float16 kernels compute in float32 and round once; their
backward reads the output as rounded to float16 (grad - exp(out) sum(grad) for log_softmax,
out (grad - sum(grad out)) for softmax). Through a composite's chain rule, on the unrounded
float32 values, a quarter of the gradients were off, by up to thousands of ulps where the two
terms cancel."""
import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

SHAPES = [((64, 10), -1), ((16, 300), -1), ((7,), 0), ((3, 5, 40), -1), ((3, 5, 40), 1),
          ((64, 10), 0), ((16, 300), 0), ((4, 5, 6), 1)]


def _run(M, name, x, g, dim):
    t = M.tensor(x, requires_grad=True)
    out = getattr(M, name)(t, dim)
    out.backward(M.tensor(g))
    return out.detach().numpy(), t.grad.numpy()


def _data(shape, seed):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(shape) * 3).astype(np.float16)
    return x, rng.standard_normal(shape).astype(np.float16)


def _pytorch_backward(name, grad, out, dim):
    """PyTorch's float16 backward kernel applied to the given output."""
    backward = {"softmax": torch.ops.aten._softmax_backward_data,
                "log_softmax": torch.ops.aten._log_softmax_backward_data}[name]
    return backward(torch.tensor(grad), torch.tensor(out), dim, torch.float16).numpy()


@pytest.mark.parametrize("shape, dim", SHAPES)
@pytest.mark.parametrize("name", ["log_softmax", "softmax"])
def test_float16_softmax_gradient_bit_for_bit_as_pytorch(name, shape, dim):
    x, g = _data(shape, 0)
    value, grad = _run(cr, name, x, g, dim)
    want_value, want_grad = _run(torch, name, x, g, dim)
    assert value.dtype == grad.dtype == np.float16
    # Given the same output, PyTorch's backward gives the same gradient, but for float32 exp's
    # last bit (NumPy's and PyTorch's differ) showing through in a rare element.
    _assert_rarely_an_ulp_off(grad, _pytorch_backward(name, g, value, dim))
    # The values: log_softmax's bit for bit (along the last dim PyTorch's float16 kernel also
    # keeps the sum of exps, and its log, in float16; a fifth of the values were an ulp off
    # without). softmax's may be an ulp off: along other dims PyTorch rounds exp to float16
    # before dividing in the columns that its vectorised loop leaves over, how many depending
    # on the CPU's vector width, and chainrule keeps the float32 quotient.
    step = np.spacing(np.abs(want_value)).astype(np.float64)
    assert np.all(np.abs(value.astype(np.float64) - want_value) <= step)
    if name == "log_softmax":
        np.testing.assert_array_equal(value, want_value)
    # Then the gradients themselves, where the values agree.
    agree = np.broadcast_to(np.all(value == want_value, axis=dim, keepdims=True), value.shape)
    _assert_rarely_an_ulp_off(grad[agree], want_grad[agree])


@pytest.mark.parametrize("shape, dim", [((64, 5), 0), ((4, 6, 5), 1), ((300, 3), 0),
                                        ((5, 2, 3), 0)])
def test_float16_softmax_along_another_dim_rounds_each_exp_first(shape, dim):
    """Along a dim other than the last, PyTorch's float16 kernel stores exp(x - max) in the
    float16 output before dividing it by the float32 sum: bit for bit where the dims after
    ``dim`` hold fewer elements than a vector (7 or fewer), where a quarter of the values were
    an ulp off before (beyond, PyTorch's vectorised loop differs by the CPU's width)."""
    x, _ = _data(shape, 1)
    ours = cr.softmax(cr.tensor(x), dim).numpy()
    np.testing.assert_array_equal(ours, torch.softmax(torch.tensor(x), dim).numpy())


def _assert_rarely_an_ulp_off(got, want):
    off = got != want
    step = np.spacing(np.abs(want)).astype(np.float64)
    assert np.all(np.abs(got.astype(np.float64) - want)[off] <= step[off])
    assert off.sum() <= 0.005 * off.size, f"{off.sum()} of {off.size} gradients differ"


INF, NAN = np.inf, np.nan
ROWS = np.array([[0.5, -1.0, 2.0, 0.0], [-INF, 1.0, 2.0, -INF], [INF, 1.0, 0.0, 0.0],
                 [NAN, 1.0, 2.0, 3.0], [-INF, -INF, -INF, -INF], [1e4, -1e4, 0.0, 1.0],
                 [1e-30, 0.0, -0.0, 5.0]])


@pytest.mark.parametrize("dtype, tolerance", [("float64", 1e-12), ("float32", 1e-5),
                                              ("float16", 1e-3)])
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("dim", [-1, 0])
def test_softmax_to_second_order_at_edges_as_pytorch(name, dim, dtype, tolerance):
    from test_activation_slopes import _derivatives
    values = ROWS if dtype != "float16" else np.clip(ROWS, -6e4, 6e4)
    ours = _derivatives(cr, lambda M, x: getattr(M, name)(x, dim), values, dtype)
    theirs = _derivatives(torch, lambda M, x: getattr(M, name)(x, dim), values, dtype)
    for what, a, b in zip(("value", "first", "second"), ours, theirs):
        assert a.dtype == b.dtype, what
        # float16's second derivative a few ulps off: PyTorch's double backward rounds each
        # of its steps to float16, chainrule's rounds once.
        loose = dtype == "float16" and what == "second"
        np.testing.assert_allclose(a, b, rtol=tolerance, equal_nan=True,
                                   atol=1e-3 * np.nanmax(np.abs(b)) if loose else 0,
                                   err_msg=f"{name} {dtype} {what}")
