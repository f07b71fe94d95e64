"""Numerical stability: finite values and gradients from 0 to 1e20, NaN propagation, and the
documented subgradient at every kink.

Each function is run at every point of SWEEP in float32 and float64 with overflow, division by
zero and invalid operations raising (underflow to 0 is allowed: exp(-1e20) is 0). Values and
gradients are compared with float64 formulas written here, evaluated on the same inputs rounded
to the tested dtype, so only the library's own error counts.
"""
import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.nn import functional as F

SWEEP = [0.0, 1e-3, -1e-3, 1.0, -1.0, 501.0, -501.0, 1001.2, -1001.2, 13437.7, -13437.7,
         4988429.2, -4988429.2, 1e20, -1e20]
DTYPES = [np.float32, np.float64]
TOLERANCE = {np.float32: dict(rtol=2e-6, atol=1e-6), np.float64: dict(rtol=1e-13, atol=1e-13)}
LABELS = np.array([0, 1, 3])  # one per row of rows(v)


def strict():
    return np.errstate(over="raise", divide="raise", invalid="raise", under="ignore")


def rows(v, dtype):
    """Three rows around v: mixed signs, all tied, and v among small numbers."""
    return np.array([[v, -v, 0.0, 1.0], [v, v, v, v], [0.0, 1.0, 2.0, v]], dtype=dtype)


def weights(shape):
    """Fixed upstream gradient, so backward checks a full vector-Jacobian product."""
    return np.random.default_rng(0).uniform(0.5, 1.5, shape)


def value_and_grad(fn, x, upstream):
    t = cr.tensor(x, requires_grad=True)
    with strict():
        out = fn(t)
        (out * cr.tensor(upstream.astype(x.dtype))).sum().backward()
    return out.detach().numpy(), t.grad.detach().numpy()


# -- float64 references, written from the definitions -------------------------------------------

def ref_logsumexp(x):
    top = x.max(axis=-1)
    return top + np.logaddexp.reduce(x - top[..., None], axis=-1)


def ref_log_softmax(x):
    # Subtracting the max first keeps x - logsumexp(x) exact for large equal entries.
    shifted = x - x.max(axis=-1, keepdims=True)
    return shifted - np.logaddexp.reduce(shifted, axis=-1)[..., None]


def ref_softmax(x):
    return np.exp(ref_log_softmax(x))


def ref_sigmoid(x):
    with np.errstate(all="ignore"):  # exp(-x) for x = -1e20 overflows in the branch not taken
        return np.where(x >= 0, 1 / (1 + np.exp(-x)), np.exp(x) / (1 + np.exp(x)))


def ref_cross_entropy(x, labels):
    picked = x[np.arange(len(labels)), labels]
    s = ref_softmax(x)
    s[np.arange(len(labels)), labels] -= 1
    return np.mean(ref_logsumexp(x) - picked), s / len(labels)


def ref_hinge(x, labels, margin=1.0):
    n = len(labels)
    margins = x - x[np.arange(n), labels][:, None] + margin
    active = (margins > 0) & (np.arange(x.shape[1]) != labels[:, None])  # inactive at the kink
    grad = active.astype(float)
    grad[np.arange(n), labels] = -active.sum(axis=1)
    return np.where(active, margins, 0).sum(axis=1).mean(), grad / n


ROW_FUNCTIONS = {
    # name: (chainrule function, reference value, reference VJP given upstream w)
    "softmax": (lambda t: cr.softmax(t, axis=-1), ref_softmax,
                lambda x, w: ref_softmax(x) * (w - (w * ref_softmax(x)).sum(-1, keepdims=True))),
    "log_softmax": (lambda t: cr.log_softmax(t, axis=-1), ref_log_softmax,
                    lambda x, w: w - ref_softmax(x) * w.sum(-1, keepdims=True)),
    "logsumexp": (lambda t: cr.logsumexp(t, axis=-1), ref_logsumexp,
                  lambda x, w: w[:, None] * ref_softmax(x)),
}
ELEMENTWISE = {
    "sigmoid": (cr.sigmoid, ref_sigmoid, lambda x: ref_sigmoid(x) * (1 - ref_sigmoid(x))),
    "tanh": (cr.tanh, np.tanh, lambda x: 1 - np.tanh(x) ** 2),
    "relu": (cr.relu, lambda x: np.maximum(x, 0), lambda x: (x > 0).astype(float)),
}
LOSSES = {"cross_entropy": (F.cross_entropy, ref_cross_entropy),
          "multiclass_hinge_loss": (F.multiclass_hinge_loss, ref_hinge)}


def close(actual, expected, dtype, what):
    assert np.isfinite(actual).all(), f"{what} is not finite: {actual}"
    np.testing.assert_allclose(actual, expected, **TOLERANCE[dtype], err_msg=what)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("v", SWEEP)
@pytest.mark.parametrize("name", ROW_FUNCTIONS)
def test_row_functions_are_finite_and_exact(name, v, dtype):
    fn, ref_value, ref_vjp = ROW_FUNCTIONS[name]
    x = rows(v, dtype)
    exact = x.astype(np.float64)
    expected = ref_value(exact)
    upstream = weights(expected.shape)
    value, grad = value_and_grad(fn, x, upstream)
    assert value.dtype == dtype and grad.dtype == dtype
    close(value, expected, dtype, f"{name} value")
    close(grad, ref_vjp(exact, upstream), dtype, f"{name} gradient")


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("v", SWEEP)
@pytest.mark.parametrize("name", ELEMENTWISE)
def test_elementwise_functions_are_finite_and_exact(name, v, dtype):
    fn, ref_value, ref_derivative = ELEMENTWISE[name]
    x = np.array([v, -v, v / 2], dtype=dtype)
    exact = x.astype(np.float64)
    upstream = weights(x.shape)
    value, grad = value_and_grad(fn, x, upstream)
    close(value, ref_value(exact), dtype, f"{name} value")
    close(grad, upstream * ref_derivative(exact), dtype, f"{name} gradient")


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("v", SWEEP)
@pytest.mark.parametrize("name", LOSSES)
def test_losses_are_finite_and_exact(name, v, dtype):
    fn, ref = LOSSES[name]
    x = rows(v, dtype)
    expected_loss, expected_grad = ref(x.astype(np.float64), LABELS)
    t = cr.tensor(x, requires_grad=True)
    with strict():
        loss = fn(t, LABELS)
        loss.backward()
    assert np.isfinite(loss.item())
    # The loss is a mean of terms as large as 2e20: its absolute error scales with them.
    scale = 1 + np.abs(x.astype(np.float64)).max()
    np.testing.assert_allclose(loss.item(), expected_loss, rtol=TOLERANCE[dtype]["rtol"],
                               atol=TOLERANCE[dtype]["atol"] * scale)
    close(t.grad.detach().numpy(), expected_grad, dtype, f"{name} gradient")


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("name", [*ROW_FUNCTIONS, *LOSSES])
def test_the_whole_sweep_in_one_row(name, dtype):
    # Every magnitude side by side: the shift by the max must keep exp finite for all of them.
    x = np.array([SWEEP, SWEEP[::-1]], dtype=dtype)
    exact = x.astype(np.float64)
    t = cr.tensor(x, requires_grad=True)
    if name in LOSSES:
        fn, ref = LOSSES[name]
        labels = np.array([3, 0])
        with strict():
            loss = fn(t, labels)
            loss.backward()
        assert np.isfinite(loss.item())
        np.testing.assert_allclose(loss.item(), ref(exact, labels)[0],
                                   rtol=TOLERANCE[dtype]["rtol"])
        close(t.grad.detach().numpy(), ref(exact, labels)[1], dtype, f"{name} gradient")
        return
    fn, ref_value, ref_vjp = ROW_FUNCTIONS[name]
    upstream = weights(ref_value(exact).shape)
    value, grad = value_and_grad(fn, x, upstream)
    close(value, ref_value(exact), dtype, f"{name} value")
    close(grad, ref_vjp(exact, upstream), dtype, f"{name} gradient")


# -- NaN in, NaN out ----------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("name", ROW_FUNCTIONS)
def test_nan_in_a_row_gives_nan_in_that_row_only(name, dtype):
    x = np.array([[1.0, np.nan, 2.0, 0.0], [1.0, 5.0, 2.0, 0.0]], dtype=dtype)
    with np.errstate(invalid="ignore"):
        value = ROW_FUNCTIONS[name][0](cr.tensor(x)).detach().numpy()
    assert np.isnan(value[0]).all()
    assert np.isfinite(value[1]).all()


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("name", ELEMENTWISE)
def test_nan_in_gives_nan_out_elementwise(name, dtype):
    x = np.array([np.nan, 1.0, -1.0], dtype=dtype)
    with np.errstate(invalid="ignore"):
        value = ELEMENTWISE[name][0](cr.tensor(x)).detach().numpy()
    assert np.isnan(value[0])
    assert np.isfinite(value[1:]).all()


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("nan_at", [0, 2], ids=["wrong-class", "correct-class"])
@pytest.mark.parametrize("name", LOSSES)
def test_nan_in_gives_nan_loss(name, nan_at, dtype):
    x = np.array([[1.0, 0.5, 2.0], [1.0, 5.0, 2.0]], dtype=dtype)
    x[0, nan_at] = np.nan
    fn = LOSSES[name][0]
    with np.errstate(invalid="ignore"):
        per_example = fn(x, [2, 1], reduction="none").detach().numpy()
        mean = fn(x, [2, 1]).item()
    assert np.isnan(per_example[0]) and np.isfinite(per_example[1])
    assert np.isnan(mean)


# -- the subgradient at each kink, as documented ----------------------------------------------

def grad_at(fn, *points):
    tensors = [cr.tensor(np.array(p, dtype=np.float64), requires_grad=True) for p in points]
    fn(*tensors).sum().backward()
    return [t.grad.detach().numpy() for t in tensors]


def test_relu_at_zero_has_subgradient_zero():
    (g,) = grad_at(cr.relu, [0.0, -0.0, 1e-300, -1e-300])
    np.testing.assert_array_equal(g, [0.0, 0.0, 1.0, 0.0])


def test_leaky_relu_at_zero_takes_the_slope():
    (g,) = grad_at(lambda t: cr.leaky_relu(t, 0.1), [0.0, 1.0, -1.0])
    np.testing.assert_array_equal(g, [0.1, 1.0, 0.1])


def test_abs_at_zero_has_subgradient_zero():
    (g,) = grad_at(cr.abs, [0.0, -0.0, 2.0, -2.0])
    np.testing.assert_array_equal(g, [0.0, 0.0, 1.0, -1.0])


def test_maximum_and_minimum_share_ties_equally():
    for fn in (cr.maximum, cr.minimum):
        a, b = grad_at(fn, [1.0, 2.0, 3.0], [1.0, 5.0, 0.0])
        np.testing.assert_array_equal(a + b, [1.0, 1.0, 1.0])
        assert a[0] == b[0] == 0.5


def test_max_reduction_shares_ties_equally():
    (g,) = grad_at(lambda t: t.amax(axis=1), [[3.0, 3.0, 1.0], [0.0, 2.0, 2.0], [7.0, 7.0, 7.0]])
    np.testing.assert_array_equal(g, [[0.5, 0.5, 0], [0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]])


def test_clip_passes_the_gradient_at_both_bounds():
    (g,) = grad_at(lambda t: t.clip(-1.0, 1.0), [-1.0, 1.0, 0.0, -1.5, 1.5])
    np.testing.assert_array_equal(g, [1.0, 1.0, 1.0, 0.0, 0.0])


@pytest.mark.parametrize("loss", [F.multiclass_hinge_loss,
                                  lambda s, y: nn.MulticlassHingeLoss()(s, y)],
                         ids=["function", "module"])
def test_hinge_at_exactly_the_margin_is_inactive(loss):
    # s_1 - s_0 + margin = 0 - 1 + 1 = 0: the documented convention counts the term as
    # inactive, so the loss is 0 and no gradient flows, as in cs231n's svm_loss and PyTorch.
    scores = cr.tensor(np.array([[1.0, 0.0, -5.0]]), requires_grad=True)
    value = loss(scores, [0])
    value.backward()
    assert value.item() == 0.0
    np.testing.assert_array_equal(scores.grad.detach().numpy(), [[0.0, 0.0, 0.0]])
    # Just past the margin the term is active: +1 for the wrong class, -1 for the correct one.
    scores = cr.tensor(np.array([[1.0, 1e-9, -5.0]]), requires_grad=True)
    loss(scores, [0]).backward()
    np.testing.assert_array_equal(scores.grad.detach().numpy(), [[-1.0, 1.0, 0.0]])
