"""float16 activations against PyTorch: PyTorch computes a float16 activation in float32 and
rounds once, so chainrule does too. Step by step in float16 (silu's sigmoid rounded, then the
product rounded) a fifth of the values were an ulp off. Values and gradients must agree but
for rare one-ulp differences (or a few steps among subnormal numbers: the float32 formulas themselves differ in their last bits, and
PyTorch's vectorised erf is its own)."""
import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

X = np.r_[np.linspace(-6, 6, 2001), [0.0, -0.0, 1e-7, 60000.0, -60000.0]].astype(np.float16)
G = np.random.default_rng(0).standard_normal(X.shape).astype(np.float16)
NAMES = ["silu", "gelu", "mish", "selu", "hardswish", "hardsigmoid", "elu", "celu", "softplus",
         "logsigmoid", "leaky_relu", "softsign", "tanhshrink", "hardtanh", "relu6"]
RARE = {"gelu": 0.2, "logsigmoid": 0.15}  # the share of elements an ulp off, at most
# gelu's float32 erf is within 4.2e-7 of the truth (PyTorch's within 6e-8, but its float16
# kernel has its own): in the far negative tail, x * Phi(x) differs by up to 1.2e-6.
NEAR_ZERO = {"gelu": 2.0 ** -19}


def _run(M, name):
    x = M.tensor(X, requires_grad=True)
    out = getattr(M.nn.functional, name)(x)
    out.backward(M.tensor(G))
    return out.detach().numpy(), x.grad.numpy()


@pytest.mark.parametrize("name", NAMES)
def test_float16_activation_rounds_once_as_pytorch(name):
    with np.errstate(all="ignore"):
        ours = _run(cr, name)
    theirs = _run(torch, name)
    for a, b in zip(ours, theirs):
        assert a.dtype == b.dtype == np.float16
        off = a != b
        ulp = np.spacing(np.maximum(np.abs(a), np.abs(b)).astype(np.float16)).astype(np.float64)
        tiny = NEAR_ZERO.get(name, 2.0 ** -21)  # 2 ** -21: 8 of float16's subnormal steps
        assert np.all(np.abs(a.astype(np.float64) - b.astype(np.float64))[off] <=
                      np.maximum(ulp, tiny)[off])
        assert off.mean() <= RARE.get(name, 0.005), f"{off.sum()} elements an ulp off"


@pytest.mark.parametrize("name, options", [("elu", {}), ("elu", {"alpha": 0.5}), ("selu", {}),
                                           ("celu", {}), ("celu", {"alpha": 2.0})])
def test_elu_family_at_zero_to_second_order_as_pytorch(name, options):
    # At exactly 0 PyTorch's first derivative takes the exponential branch (alpha) and its
    # second derivative tests x < 0 (0): chainrule's was alpha too.
    def run(M):
        x = M.tensor([0.0, -0.0, -1.0, 1.0, -3.0, np.nan], dtype=M.float64, requires_grad=True)
        y = getattr(M.nn.functional, name)(x, **options)
        (first,) = M.autograd.grad(y.sum(), (x,), create_graph=True)
        (second,) = M.autograd.grad(first.sum(), (x,))
        return [y.detach().numpy(), first.detach().numpy(), second.numpy()]

    for ours, theirs in zip(run(cr), run(torch)):
        np.testing.assert_allclose(ours, theirs, rtol=1e-13, atol=0)
        np.testing.assert_array_equal(np.signbit(ours), np.signbit(theirs))
