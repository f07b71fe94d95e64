"""ReLU's backward selects the upstream gradient (it does not multiply by a mask): PyTorch's
threshold_backward, bit for bit, with inf and NaN arriving where the input was negative, signed
zeros, NaN inputs, every float dtype, non-contiguous and broadcast upstream gradients."""
import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

SPECIAL = [np.nan, np.inf, -np.inf, -0.0, 0.0, 1e-45, -2.0, 3.0]


def bits(a):
    a = np.ascontiguousarray(a)
    return a.view(f"i{a.itemsize}")


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
@pytest.mark.parametrize("layout", ["plain", "transposed", "broadcast", "empty", "scalar"])
def test_relu_backward_is_torchs_bit_for_bit(dtype, layout):
    rng = np.random.default_rng(len(layout))
    shape = {"empty": (0, 3), "scalar": ()}.get(layout, (6, 8))
    x = np.asarray(rng.choice(SPECIAL, size=shape)).astype(dtype)
    upstream = np.asarray(rng.choice(SPECIAL, size=shape)).astype(dtype)

    def run(M, make):
        xt = make(x.copy()).requires_grad_(True)
        y = M.relu(xt)
        if layout == "transposed":  # the gradient reaches relu transposed in memory
            (y.t() * make(upstream.T.copy())).sum().backward()
        elif layout == "broadcast":  # sum's gradient: one value broadcast to every element
            (y.sum() * make(np.array(upstream[0, 0]))).backward()
        else:
            (y * make(upstream)).sum().backward()
        return xt.grad

    ours = run(cr, cr.tensor).numpy()
    theirs = run(torch, torch.from_numpy).numpy()
    assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
    assert np.array_equal(bits(ours), bits(theirs)), (ours, theirs)


def test_relu_second_order_goes_through_the_graph():
    x = cr.tensor([-1.0, 2.0, 0.0], dtype=cr.float64, requires_grad=True)
    (g,) = cr.grad((cr.relu(x) ** 2).sum(), x, create_graph=True)
    g.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 2.0, 0.0])
    assert cr.gradgradcheck(cr.relu, (cr.tensor([-1.5, 0.7, 2.0], dtype=cr.float64,
                                                 requires_grad=True),))
