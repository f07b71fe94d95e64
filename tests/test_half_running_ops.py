"""Running sums, products and logsumexps of float16 tensors accumulate in float32 and round
each output to float16, as PyTorch's do. In float16 a running sum stalls once its spacing
exceeds the terms: 8,192 numbers drawn from [0, 1) once summed to 2048 instead of about 4048."""
import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

OPS = {
    "cumsum": lambda m, x: m.cumsum(x, 0),
    "cumprod": lambda m, x: m.cumprod(1 + x / 8192, 0),
    "logcumsumexp": lambda m, x: m.logcumsumexp(x, 0),
}


@pytest.mark.parametrize("size", [1, 7, 3000, 8192])
@pytest.mark.parametrize("name", list(OPS))
def test_float16_running_ops_as_pytorch(name, size):
    values = np.random.default_rng(size).random(size).astype(np.float16)
    expected = OPS[name](torch, torch.tensor(values)).numpy()
    got = OPS[name](cr, cr.tensor(values)).numpy()
    assert got.dtype == np.float16
    np.testing.assert_array_equal(got, expected)


def test_the_running_sum_does_not_stall():
    values = np.random.default_rng(0).random(8192).astype(np.float16)
    exact = values.astype(np.float64).sum()
    assert abs(float(cr.tensor(values).cumsum(0)[-1]) - exact) < 4  # float16's spacing: 2


@pytest.mark.parametrize("name", list(OPS))
def test_float16_running_ops_gradients_as_pytorch(name):
    values = np.random.default_rng(1).random((2, 600)).astype(np.float16).T
    upstream = np.random.default_rng(2).standard_normal(values.shape).astype(np.float16)
    grads = []
    for m in (torch, cr):
        x = m.tensor(values.copy(), requires_grad=True)
        (OPS[name](m, x) * m.tensor(upstream)).sum().backward()
        grads.append(np.asarray(x.grad.numpy(), dtype=np.float64))
    scale = np.abs(grads[0]).max()
    np.testing.assert_allclose(grads[1], grads[0], rtol=0, atol=2e-3 * scale)
