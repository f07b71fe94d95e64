"""The random side of F.dropout1d / dropout3d / alpha_dropout / feature_alpha_dropout and their
modules (the deterministic side, against PyTorch, is in tests/test_small_layers.py). Random
streams differ from PyTorch's (another generator), so the draws are checked against their
definitions and against PyTorch's statistics: what is dropped (whole channels or elements),
how often, the values kept and dropped, and the gradient (the scale applied)."""
import math
import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

F = cr.nn.functional
ALPHA = 1.7580993408473766  # SELU's scale * alpha


def _kept_fraction(mask, p, trials):
    """The fraction kept, and a bound 5 standard deviations wide around 1 - p."""
    return mask.mean(), 5 * math.sqrt(p * (1 - p) / trials)


@pytest.mark.parametrize("op, shape, channel_axes", [
    ("dropout1d", (40, 50, 6), (0, 1)), ("dropout1d", (2000, 5), (0,)),
    ("dropout3d", (20, 100, 2, 2, 2), (0, 1)), ("dropout3d", (2000, 2, 2, 2), (0,))])
def test_channel_dropout_zeroes_whole_channels_at_rate_p(op, shape, channel_axes):
    p = 0.3
    x = cr.ones(*shape, dtype=cr.float64, requires_grad=True)
    out = getattr(F, op)(x, p)
    out.sum().backward()
    values = out.detach().numpy()
    # Each channel is all zeros or all 1 / (1 - p); the gradient is that same scale.
    per_channel = values.reshape(values.shape[:len(channel_axes)] + (-1,))
    assert np.all(per_channel == per_channel[..., :1])
    assert set(np.unique(values)) <= {0.0, 1 / (1 - p)}
    np.testing.assert_array_equal(x.grad.numpy(), values)
    kept, bound = _kept_fraction(per_channel[..., 0] > 0, p, per_channel[..., 0].size)
    assert abs(kept - (1 - p)) < bound


def test_channel_dropout_matches_pytorchs_statistics():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).normal(size=(64, 32, 10))
    ours = F.dropout1d(cr.tensor(x), 0.4).numpy()
    theirs = torch.nn.functional.dropout1d(torch.tensor(x), 0.4).numpy()
    for out in (ours, theirs):  # the same rule: x / (1 - p) or 0, channel by channel
        zero = np.all(out == 0, axis=2)
        np.testing.assert_allclose(out[~zero], (x / 0.6)[~zero], rtol=1e-12)
        assert abs(zero.mean() - 0.4) < 5 * math.sqrt(0.24 / zero.size)


def test_dropout3d_warns_as_pytorch_and_drops_along_the_first_dimension():
    torch = pytest.importorskip("torch")
    x = np.ones((500, 3, 2))
    with pytest.warns(UserWarning, match="dropout3d: Received a 3-D input to dropout3d"):
        torch.nn.functional.dropout3d(torch.tensor(x), 0.5)
    with pytest.warns(UserWarning, match="dropout3d: Received a 3-D input to dropout3d"):
        out = F.dropout3d(cr.tensor(x), 0.5).numpy()
    assert np.all(out.reshape(500, -1) == out.reshape(500, -1)[:, :1])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        F.dropout3d(cr.ones(2, 3, 2, 2), 0.5)  # 4-D: unbatched, no warning
        F.dropout3d(cr.ones(2, 3, 2, 2, 2), 0.5, training=False)


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_alpha_dropout_values_rate_and_gradient(p):
    torch = pytest.importorskip("torch")
    x = cr.zeros(200, 100, dtype=cr.float64, requires_grad=True)
    out = F.alpha_dropout(x, p, True)
    out.sum().backward()
    a = 1 / math.sqrt((ALPHA ** 2 * p + 1) * (1 - p))
    kept_value, dropped_value = ALPHA * a * p, -ALPHA * a * (1 - p)
    values = out.detach().numpy()
    # The two values PyTorch's alpha dropout gives a zero input.
    theirs = np.unique(torch.nn.functional.alpha_dropout(torch.zeros(1000, dtype=torch.float64),
                                                         p, True).numpy())
    np.testing.assert_allclose(np.unique(values), theirs, rtol=1e-12)
    np.testing.assert_allclose(sorted({kept_value, dropped_value}), theirs, rtol=1e-12)
    kept = values == values.max()
    grad = x.grad.numpy()
    np.testing.assert_allclose(grad[kept], a, rtol=1e-12)
    assert np.all(grad[~kept] == 0)
    rate, bound = _kept_fraction(kept, p, kept.size)
    assert abs(rate - (1 - p)) < bound


def test_alpha_dropout_keeps_zero_mean_and_unit_variance_as_pytorchs():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(1).normal(size=(400, 500))
    for out in (F.alpha_dropout(cr.tensor(x), 0.2, True).numpy(),
                torch.nn.functional.alpha_dropout(torch.tensor(x), 0.2, True).numpy(),
                F.feature_alpha_dropout(cr.tensor(x.reshape(400, 500, 1)), 0.2, True).numpy()):
        assert abs(out.mean()) < 0.02 and abs(out.std() - 1) < 0.02


def test_feature_alpha_dropout_drops_whole_channels():
    x = cr.tensor(np.random.default_rng(2).normal(size=(50, 40, 3)), requires_grad=True)
    out = F.feature_alpha_dropout(x, 0.5, True)
    out.sum().backward()
    grad = x.grad.numpy()
    assert np.all(grad == grad[:, :, :1])  # one scale per (sample, channel)
    a = 1 / math.sqrt((ALPHA ** 2 * 0.5 + 1) * 0.5)
    np.testing.assert_allclose(np.unique(grad), [0.0, a], rtol=1e-12)
    dropped = grad[:, :, 0] == 0
    np.testing.assert_allclose(out.detach().numpy()[dropped], -ALPHA * a * 0.5, rtol=1e-12)


@pytest.mark.parametrize("module, shape", [(nn.Dropout1d, (4, 3, 5)),
                                           (nn.Dropout3d, (2, 3, 2, 2, 2)),
                                           (nn.AlphaDropout, (4, 5)),
                                           (nn.FeatureAlphaDropout, (4, 3, 5))])
def test_modules_drop_in_training_and_are_the_identity_in_eval(module, shape):
    torch = pytest.importorskip("torch")
    layer = module(0.4)
    theirs = getattr(torch.nn, module.__name__)(0.4)
    assert repr(layer) == repr(theirs) and list(layer.state_dict()) == []
    assert repr(module(0.2, inplace=True)) == repr(getattr(torch.nn, module.__name__)(0.2, True))
    x = cr.randn(*shape)
    assert layer.eval()(x) is x
    cr.manual_seed(0)
    first = layer.train()(x).numpy()
    assert not np.array_equal(first, x.numpy())
    cr.manual_seed(0)
    np.testing.assert_array_equal(layer(x).numpy(), first)  # the library's generator
    seeded = module(0.4, generator=cr.Generator().manual_seed(3))
    again = module(0.4, generator=cr.Generator().manual_seed(3))
    np.testing.assert_array_equal(seeded(x).numpy(), again(x).numpy())


def test_channel_dropout_in_place_writes_into_the_input_as_pytorchs():
    torch = pytest.importorskip("torch")
    x = cr.ones(20, 3, 4)
    assert F.dropout1d(x, 0.5, True, True) is x
    assert set(np.unique(x.numpy())) <= {0.0, 2.0} and (x.numpy() == 0).any()
    layer = nn.Dropout3d(0.5, inplace=True)
    y = cr.ones(20, 3, 2, 2)
    assert layer(y) is y and (y.numpy() == 0).any()
    leaf = cr.ones(2, 3, 4, requires_grad=True)
    with pytest.raises(cr.GradientError, match="leaf"):
        F.dropout1d(leaf, 0.5, True, True)
    with pytest.raises(RuntimeError, match="leaf"):
        torch.nn.functional.dropout1d(torch.ones(2, 3, 4, requires_grad=True), 0.5, True, True)
    # Through the graph: the gradient is the mask's scale.
    w = cr.ones(20, 3, 4, requires_grad=True)
    h = w * 1
    F.dropout1d(h, 0.5, True, True).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), h.detach().numpy())


def test_dropout_errors_name_the_op_and_shape():
    with pytest.raises(cr.ShapeError, match=r"dropout1d: expected a 2-D \(C, L\) or 3-D "
                                            r"\(N, C, L\) input, got shape \(4,\)"):
        F.dropout1d(cr.ones(4))
    with pytest.raises(ValueError, match="dropout3d: dropout probability has to be between 0 "
                                         "and 1, but got 1.5"):
        F.dropout3d(cr.ones(1, 2, 2, 2, 2), 1.5)
    with pytest.raises(ValueError, match="AlphaDropout: dropout probability"):
        nn.AlphaDropout(-0.5)
    with pytest.raises(cr.ShapeError, match=r"feature_alpha_dropout: feature dropout requires "
                                            r"at least 2 dimensions in the input, got shape "
                                            r"\(4,\)"):
        F.feature_alpha_dropout(cr.ones(4), 0.5, True)
    with pytest.raises(cr.DtypeError, match="alpha_dropout"):
        F.alpha_dropout(cr.tensor([1, 2]), 0.5, True)


@pytest.mark.parametrize("op, shape", [("dropout1d", (3, 4, 2)), ("dropout3d", (2, 3, 2, 1, 2)),
                                       ("alpha_dropout", (4, 3)),
                                       ("feature_alpha_dropout", (3, 4, 2))])
def test_training_dropout_with_fixed_draws_passes_gradient_checks(op, shape):
    # With the generator re-seeded on every call the mask is fixed, so central differences
    # apply: the gradient is the scale, and the second derivative 0.
    def fixed(z):
        return getattr(F, op)(z, 0.4, True, generator=np.random.default_rng(3))
    x = cr.tensor(np.random.default_rng(0).normal(size=shape), requires_grad=True)
    assert (fixed(x).detach().numpy() != x.detach().numpy()).any()
    assert cr.gradcheck(fixed, [x])
    assert cr.gradgradcheck(fixed, [x])
