"""erf's own vectorised kernels against math.erf: float64 to 1e-15 relative over the real
line (Cody's rational approximations), float32 within 8 ulps (a minimax rational), the signs
of zero, infinities, NaN, subnormals, layouts; GELU against PyTorch."""
import math

import numpy as np
import pytest

import chainrule as cr
from chainrule.ops.math import _erf


def grid():
    return np.concatenate([
        np.linspace(-8, 8, 200001), np.geomspace(1e-300, 30, 100000),
        -np.geomspace(1e-300, 30, 100000), np.nextafter(0.46875, [0, 1]),
        np.nextafter(4.0, [0, 8]), np.nextafter(6.0, [0, 8]), [5e-324, -5e-324, 1e300]])


def reference(x):
    return np.array([math.erf(float(v)) for v in x.ravel()]).reshape(x.shape)


def test_float64_to_1e_15_relative():
    x = grid()
    ours, exact = _erf(x), reference(x)
    nonzero = exact != 0
    relative = np.abs(ours[nonzero] - exact[nonzero]) / np.abs(exact[nonzero])
    assert relative.max() < 1e-15
    assert (ours[~nonzero] == 0).all() and ours.dtype == np.float64


def test_float32_within_8_ulps():
    x = np.clip(grid(), -1e30, 1e30).astype(np.float32)
    ours, exact = _erf(x), reference(x).astype(np.float32)
    assert ours.dtype == np.float32
    ulps = np.abs(ours.astype(np.float64) - exact) / np.spacing(np.abs(exact))
    assert ulps.max() <= 8


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.float16])
def test_special_values(dtype):
    x = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 40.0, -40.0], dtype=dtype)
    out = _erf(x)
    assert out.dtype == dtype
    assert out[0] == 0 and not np.signbit(out[0]) and out[1] == 0 and np.signbit(out[1])
    assert list(out[2:4]) == [1, -1] and np.isnan(out[4]) and list(out[5:]) == [1, -1]


def test_shapes_and_layouts():
    x = np.linspace(-3, 3, 24).reshape(4, 6)
    big = np.linspace(-5, 5, 90000).reshape(300, 300)  # more than one block of the kernel
    for array in (x, x.T, x[:, ::2], np.float64(0.3), np.zeros((0, 3)), big.T, big[::2, 1:]):
        array = np.asarray(array)
        np.testing.assert_allclose(_erf(array), reference(array), rtol=1e-15, atol=1e-300)
        assert _erf(array).shape == array.shape
        single = array.astype(np.float32)
        np.testing.assert_allclose(_erf(single), reference(single), rtol=1e-6, atol=0)
        assert _erf(single).shape == array.shape and _erf(single).dtype == np.float32


def test_the_op_and_its_gradient():
    x = cr.tensor([-2.5, -0.3, 0.0, 0.2, 1.0, 5.0], dtype="float64", requires_grad=True)
    assert cr.gradcheck(cr.erf, [x]) and cr.gradgradcheck(cr.erf, [x])
    np.testing.assert_allclose(cr.erf(x).detach().numpy(), reference(x.detach().numpy()),
                               rtol=1e-15)
    assert cr.erf(cr.tensor([1, 2])).dtype == np.float32  # integers become float32


def test_exact_gelu_as_torch():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).standard_normal(1000) * 4
    for dtype, tol in ((np.float64, 1e-14), (np.float32, 1e-6)):
        ours = cr.nn.functional.gelu(cr.tensor(x.astype(dtype))).numpy()
        theirs = torch.nn.functional.gelu(torch.tensor(x.astype(dtype))).numpy()
        np.testing.assert_allclose(ours, theirs, rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_gelu_is_infinite_at_infinity(dtype):
    """gelu(+inf) = +inf * Phi(+inf) = +inf, as PyTorch's float64 and one-element float32
    paths give (its vectorised float32 kernel gives nan), and gelu(-inf) is nan in both (-inf
    times 0). The gradient at +inf is Phi + x phi = 1 + inf * 0: PyTorch's float64 answer."""
    torch = pytest.importorskip("torch")
    x = cr.tensor(np.array([np.inf, -np.inf], dtype=dtype), requires_grad=True)
    out = cr.nn.functional.gelu(x)
    assert out.detach().numpy()[0] == np.inf and np.isnan(out.detach().numpy()[1])
    theirs = torch.tensor([np.inf, -np.inf], dtype=torch.float64, requires_grad=True)
    expected = torch.nn.functional.gelu(theirs)
    np.testing.assert_array_equal(out.detach().numpy(), expected.detach().numpy())
    out.sum().backward()
    expected.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), theirs.grad.numpy())
