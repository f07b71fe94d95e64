"""F.linear against PyTorch's: values and every gradient for 1-D to 3-D inputs, a 1-D weight, no
bias, a fan-out input, a transposed (view) input, mixed dtypes refused as matmul refuses them,
edge values; float64 central differences and second order; nn.Linear goes through it."""
import numpy as np
import pytest

import chainrule as cr
from chainrule.nn import functional as F

torch = pytest.importorskip("torch")

CASES = [  # input shape, weight shape, with bias
    ((5, 3), (4, 3), True), ((3,), (4, 3), True), ((2, 5, 3), (4, 3), True),
    ((5, 3), (3,), False), ((5, 3), (4, 3), False), ((0, 3), (4, 3), True), ((5, 3), (0, 3), True),
]


def run(M, make, x, w, b, fan_out):
    xt, wt = make(x).requires_grad_(True), make(w).requires_grad_(True)
    bt = make(b).requires_grad_(True) if b is not None else None
    if fan_out:  # the input feeds two layers and the sum
        out = M.nn.functional.linear(xt, wt, bt) * 2 + M.nn.functional.linear(xt, wt, bt).sum()
    else:
        out = M.nn.functional.linear(xt, wt, bt)
    (out * make(np.linspace(-1, 1, out.numel()).reshape(tuple(out.shape)))).sum().backward()
    return [out] + [t.grad for t in (xt, wt, bt) if t is not None]


@pytest.mark.parametrize("fan_out", [False, True])
@pytest.mark.parametrize("x_shape, w_shape, with_bias", CASES)
def test_linear_matches_pytorch(x_shape, w_shape, with_bias, fan_out):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(x_shape)
    w = rng.standard_normal(w_shape)
    b = rng.standard_normal(w_shape[:1]) if with_bias and len(w_shape) == 2 else None
    ours = run(cr, cr.tensor, x, w, b, fan_out)
    theirs = run(torch, torch.from_numpy, x, w, b, fan_out)
    for a, e in zip(ours, theirs):
        assert tuple(a.shape) == tuple(e.shape)
        np.testing.assert_allclose(a.detach().numpy(), e.detach().numpy(), rtol=1e-12, atol=1e-12)


def test_edge_values_and_a_view_input_match_pytorch():
    x = np.array([[0.0, -0.0, np.inf], [np.nan, -2.0, 1e-300], [3.0, -1.0, 0.5]])
    w = np.array([[1.0, 0.0, -1.0], [0.5, np.inf, 2.0]])
    b = np.array([0.0, -np.inf])
    results = []
    for M, make in ((cr, cr.tensor), (torch, torch.from_numpy)):
        xt, wt = make(x).requires_grad_(True), make(w).requires_grad_(True)
        out = M.nn.functional.linear(xt.t(), wt, make(b))  # a transposed view as input
        out.sum().backward()
        results.append([out.detach().numpy(), xt.grad.numpy(), wt.grad.numpy()])
    for a, e in zip(*results):
        np.testing.assert_array_equal(a, e)


def test_gradients_by_central_differences_first_and_second_order():
    rng = np.random.default_rng(1)
    args = (cr.tensor(rng.standard_normal((4, 3)), requires_grad=True),
            cr.tensor(rng.standard_normal((2, 3)), requires_grad=True),
            cr.tensor(rng.standard_normal(2), requires_grad=True))
    assert cr.gradcheck(F.linear, args)
    assert cr.gradgradcheck(F.linear, args)


def test_nn_linear_is_f_linear_and_errors_name_the_shapes():
    layer = cr.nn.Linear(3, 2)
    x = cr.randn(4, 3)
    np.testing.assert_array_equal(layer(x).detach().numpy(),
                                  F.linear(x, layer.weight, layer.bias).detach().numpy())
    with pytest.raises(cr.errors.ShapeError, match=r"linear: input of shape \(4, 3\) and weight "
                                                   r"of shape \(2, 5\)"):
        F.linear(x, cr.ones(2, 5))
    with pytest.raises(cr.errors.ShapeError, match="weight of shape"):
        F.linear(x, cr.ones(2, 3, 3))
    with pytest.raises(TypeError, match="same dtype"):
        F.linear(x, cr.ones(2, 3, dtype=cr.float64))
    with pytest.raises(RuntimeError):
        torch.nn.functional.linear(torch.ones(4, 3), torch.ones(2, 3, dtype=torch.float64))
