"""The random side of F.rrelu (nn.RReLU in training) and F.gumbel_softmax, and the layers of
tests/test_small_layers.py as modules: nn.Bilinear's initialisation, printed form, state_dict
and weights moved from and to PyTorch; nn.ChannelShuffle, nn.LocalResponseNorm and nn.RReLU
printed and called as PyTorch's. Random draws come from another generator than PyTorch's, so
they are checked against their definitions and PyTorch's statistics."""
import math
import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

F = cr.nn.functional
torch = pytest.importorskip("torch")


# -- rrelu in training ------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [cr.float32, cr.float64])
def test_rrelu_draws_slopes_in_range_and_its_gradient_is_the_slope(dtype):
    lower, upper = 0.1, 0.4
    x = cr.tensor(np.random.default_rng(0).uniform(-3, 3, 20000), dtype=dtype,
                  requires_grad=True)
    out = F.rrelu(x, lower, upper, training=True)
    out.sum().backward()
    value, grad = x.detach().numpy(), x.grad.numpy()
    positive = value > 0
    np.testing.assert_array_equal(out.detach().numpy()[positive], value[positive])
    assert np.all(grad[positive] == 1)
    slopes = grad[~positive]
    assert slopes.min() >= np.float32(lower) and slopes.max() <= np.float32(upper)
    # The output is x times the slope drawn; the slopes are uniform: mean and spread.
    np.testing.assert_allclose(out.detach().numpy()[~positive], value[~positive] * slopes,
                               rtol=1e-6)
    n = slopes.size
    assert abs(slopes.mean() - (lower + upper) / 2) < 5 * (upper - lower) / math.sqrt(12 * n)
    assert abs(slopes.std() - (upper - lower) / math.sqrt(12)) < 0.01
    theirs = torch.rand(n, dtype=torch.float64) * -1 - 1  # PyTorch's, for the same statistics
    t = theirs.clone().requires_grad_()
    torch.nn.functional.rrelu(t, lower, upper, training=True).sum().backward()
    assert abs(t.grad.numpy().mean() - slopes.mean()) < 0.01


def test_rrelu_module_in_training_and_eval_as_pytorchs():
    layer, theirs = nn.RReLU(0.2, 0.3), torch.nn.RReLU(0.2, 0.3)
    assert repr(layer) == repr(theirs) and list(layer.state_dict()) == []
    assert repr(nn.RReLU(inplace=True)) == repr(torch.nn.RReLU(inplace=True))
    x = np.linspace(-3, 3, 13)
    np.testing.assert_array_equal(layer.eval()(cr.tensor(x)).numpy(),
                                  theirs.eval()(torch.tensor(x)).numpy())
    out = layer.train()(cr.tensor(x)).numpy()
    ratio = out[x < 0] / x[x < 0]
    assert np.all((ratio >= 0.2) & (ratio <= 0.3)) and len(np.unique(ratio)) > 1
    seeded = nn.RReLU(generator=cr.Generator().manual_seed(1))
    again = nn.RReLU(generator=cr.Generator().manual_seed(1))
    np.testing.assert_array_equal(seeded(cr.tensor(x)).numpy(), again(cr.tensor(x)).numpy())


def test_rrelu_errors_name_the_op():
    with pytest.raises(ValueError, match="rrelu: the lower bound should be less than or equal "
                                         "to the upper bound, got lower=0.5 and upper=0.2"):
        F.rrelu(cr.ones(2), 0.5, 0.2)
    with pytest.raises(cr.DtypeError, match=r"rrelu: not implemented for int64 input of "
                                            r"shape \(2,\)"):
        F.rrelu(cr.tensor([1, -2]))


# -- gumbel_softmax ---------------------------------------------------------------------------

LOGITS = np.log(np.array([0.1, 0.2, 0.3, 0.4]))


@pytest.mark.parametrize("tau", [0.5, 1.0, 3.0])
def test_gumbel_softmax_samples_the_categorical_distribution(tau):
    n = 20000
    logits = cr.tensor(np.tile(LOGITS, (n, 1)))
    soft = F.gumbel_softmax(logits, tau=tau).numpy()
    np.testing.assert_allclose(soft.sum(1), 1, rtol=1e-12)
    hard = F.gumbel_softmax(logits, tau=tau, hard=True).numpy()
    assert set(np.unique(hard)) == {0.0, 1.0} and np.all(hard.sum(1) == 1)
    # The argmax of (logits + g) / tau is a draw from softmax(logits), whatever tau is.
    frequency = hard.mean(0)
    bound = 5 * np.sqrt(np.exp(LOGITS) * (1 - np.exp(LOGITS)) / n)
    assert np.all(np.abs(frequency - np.exp(LOGITS)) < bound)
    assert np.all(np.abs(soft.argmax(1)[:, None] == np.arange(4)).mean(0) - frequency < 0.03)
    # PyTorch's soft samples have the same mean, within sampling error.
    theirs = torch.nn.functional.gumbel_softmax(torch.tensor(np.tile(LOGITS, (n, 1))), tau=tau)
    spread = np.sqrt(soft.var(0) / n + theirs.numpy().var(0) / n)
    assert np.all(np.abs(soft.mean(0) - theirs.numpy().mean(0)) < 5 * spread)


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_gumbel_softmax_hard_is_one_hot_with_the_soft_gradient(dim):
    x = np.random.default_rng(3).normal(size=(5, 6))
    weights = cr.tensor(np.random.default_rng(4).normal(size=(5, 6)))
    grads, samples = [], []
    for hard in (False, True):
        logits = cr.tensor(x, requires_grad=True)
        cr.manual_seed(7)  # the same Gumbel draws for both
        y = F.gumbel_softmax(logits, tau=0.7, hard=hard, dim=dim)
        (y * weights).sum().backward()
        grads.append(logits.grad.numpy())
        samples.append(y.detach().numpy())
    soft, hard = samples
    assert np.all(hard.sum(dim) == 1) and set(np.unique(hard)) == {0.0, 1.0}
    np.testing.assert_array_equal(hard.argmax(dim), soft.argmax(dim))
    np.testing.assert_array_equal(grads[0], grads[1])  # straight through


def test_gumbel_softmax_gradient_is_its_softmaxs():
    # With the draws fixed, gumbel_softmax is softmax((x + g) / tau): its gradient must be
    # PyTorch's softmax gradient at the same point.
    x = np.random.default_rng(5).normal(size=(3, 4))
    logits = cr.tensor(x, requires_grad=True)
    generator = cr.Generator().manual_seed(2)
    g = -np.log(np.random.default_rng(generator.initial_seed()).exponential(size=(3, 4)))
    y = F.gumbel_softmax(logits, tau=0.5, generator=np.random.default_rng(
        generator.initial_seed()))
    t = torch.tensor(x, requires_grad=True)
    expected = torch.softmax((t + torch.tensor(g)) / 0.5, -1)
    np.testing.assert_allclose(y.detach().numpy(), expected.detach().numpy(), rtol=1e-12)
    w = np.random.default_rng(6).normal(size=(3, 4))
    (y * cr.tensor(w)).sum().backward()
    (expected * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(logits.grad.numpy(), t.grad.numpy(), rtol=1e-10, atol=1e-14)
    fixed = lambda z: F.gumbel_softmax(z, 0.5, generator=np.random.default_rng(9))  # noqa: E731
    assert cr.gradcheck(fixed, [cr.tensor(x, requires_grad=True)])
    assert cr.gradgradcheck(fixed, [cr.tensor(x, requires_grad=True)])


def test_gumbel_softmax_warns_on_eps_and_keeps_the_dtype():
    with pytest.warns(UserWarning, match="`eps` parameter is deprecated"):
        F.gumbel_softmax(cr.zeros(2, 3), eps=1e-5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert F.gumbel_softmax(cr.zeros(2, 3)).dtype == cr.float32
    assert F.gumbel_softmax(cr.zeros(2, 3, dtype=cr.float64), hard=True).dtype == cr.float64
    with pytest.raises(cr.DimError, match="gumbel_softmax: dim 2"):
        F.gumbel_softmax(cr.zeros(2, 3), dim=2)
    with pytest.raises(cr.DtypeError, match="gumbel_softmax"):
        F.gumbel_softmax(cr.tensor([1, 2]))


# -- the modules ------------------------------------------------------------------------------

def test_bilinear_initialises_prints_and_saves_as_pytorchs():
    ours, theirs = nn.Bilinear(9, 4, 3), torch.nn.Bilinear(9, 4, 3)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["weight", "bias"]
    assert ours.weight.shape == tuple(theirs.weight.shape) and ours.weight.dtype == cr.float32
    assert list(nn.Bilinear(2, 2, 2, bias=False).state_dict()) == ["weight"]
    big = nn.Bilinear(16, 50, 40)
    for p in (big.weight, big.bias):
        values = p.detach().numpy()
        assert values.min() >= -0.25 and values.max() <= 0.25 and values.max() > 0.2
        assert abs(values.std() - 0.25 / math.sqrt(3)) < 0.02
    with pytest.raises(ValueError, match="Bilinear: in2_features must be a non-negative int"):
        nn.Bilinear(2, -1, 3)


@pytest.mark.parametrize("bias", [True, False])
def test_bilinear_takes_pytorchs_weights_and_matches_its_gradients(bias):
    theirs = torch.nn.Bilinear(3, 4, 5, bias=bias).double()
    ours = nn.Bilinear(3, 4, 5, bias=bias, dtype=cr.float64)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(6, 3)), rng.normal(size=(6, 4))
    c_a, c_b = cr.tensor(a, requires_grad=True), cr.tensor(b, requires_grad=True)
    t_a, t_b = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    out, expected = ours(c_a, c_b), theirs(t_a, t_b)
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), rtol=1e-12)
    w = rng.normal(size=(6, 5))
    (out * cr.tensor(w)).sum().backward()
    (expected * torch.tensor(w)).sum().backward()
    for mine, reference in ((c_a, t_a), (c_b, t_b), (ours.weight, theirs.weight)) + (
            ((ours.bias, theirs.bias),) if bias else ()):
        np.testing.assert_allclose(mine.grad.numpy(), reference.grad.numpy(), rtol=1e-10)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bilinear_moves_between_libraries_with_its_weights(dtype):
    theirs = torch.nn.Bilinear(3, 4, 2).to(torch.float64 if dtype == np.float64 else None)
    converted = cr.interop.from_torch(theirs)
    assert isinstance(converted, nn.Bilinear) and repr(converted) == repr(theirs)
    assert converted.weight.dtype == dtype
    back = cr.interop.to_torch(converted)
    assert repr(back) == repr(theirs)
    a, b = np.ones((2, 3), dtype), np.full((2, 4), 0.5, dtype)
    np.testing.assert_allclose(converted(cr.tensor(a), cr.tensor(b)).detach().numpy(),
                               theirs(torch.tensor(a), torch.tensor(b)).detach().numpy(),
                               rtol=1e-6)
    for name, value in back.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), theirs.state_dict()[name].numpy())


@pytest.mark.parametrize("name, args", [("ChannelShuffle", (3,)), ("LocalResponseNorm", (3,)),
                                        ("LocalResponseNorm", (2, 0.5, 0.6, 2.0))])
def test_parameterless_modules_print_and_run_as_pytorchs(name, args):
    ours, theirs = getattr(nn, name)(*args), getattr(torch.nn, name)(*args)
    assert repr(ours) == repr(theirs) and list(ours.state_dict()) == []
    x = np.random.default_rng(0).normal(size=(2, 6, 3))
    np.testing.assert_allclose(ours(cr.tensor(x)).numpy(), theirs(torch.tensor(x)).numpy(),
                               rtol=1e-12)
    converted = cr.interop.from_torch(theirs)
    assert type(converted) is type(ours) and repr(cr.interop.to_torch(converted)) == repr(theirs)


def test_layer_errors_name_the_op_and_shapes():
    with pytest.raises(cr.ShapeError, match=r"bilinear: the inputs' leading \(batch\) dimensions "
                                            r"must match, got input1 of shape \(2, 3\), input2 "
                                            r"of shape \(3, 4\) and weight of shape \(5, 3, 4\)"):
        F.bilinear(cr.ones(2, 3), cr.ones(3, 4), cr.ones(5, 3, 4))
    with pytest.raises(cr.ShapeError, match=r"channel_shuffle: the number of channels \(5\) must "
                                            r"be divisible by groups \(2\), input shape"):
        F.channel_shuffle(cr.ones(2, 5, 3), 2)
    with pytest.raises(cr.ShapeError, match=r"local_response_norm: expected an input of 3 or "
                                            r"more dimensions \(N, C, \*\), got shape \(2, 3\)"):
        F.local_response_norm(cr.ones(2, 3), 2)
    with pytest.raises(cr.ShapeError, match=r"pdist: only supports 2-D \(N, M\) input, got "
                                            r"shape \(2, 3, 4\)"):
        F.pdist(cr.ones(2, 3, 4))


@pytest.mark.parametrize("p", [2, 1, 0.5, 3, float("inf"), 0])
@pytest.mark.parametrize("x", [[[1.0, 2.0, 3.0], [1.0, 2.0, 3.0], [0.0, 2.0, -1.0]],
                               [[1.0, 2.0, 3.0], [2.0, 3.0, 3.5], [0.0, 5.0, 3.0]]])
def test_pdist_at_kinks_has_pytorchs_gradient(p, x):
    # Kinks, where no central difference applies: a zero distance (PyTorch's gradient there is
    # 0) and, for p = inf, tied largest differences (each takes the whole gradient).
    x = np.array(x)
    ours, theirs = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    w = np.array([0.3, -1.2, 0.7])
    (F.pdist(ours, p) * cr.tensor(w)).sum().backward()
    (torch.nn.functional.pdist(theirs, p) * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-12)


def test_rrelu_in_training_with_fixed_draws_passes_gradient_checks():
    def fixed(z):
        return F.rrelu(z, 0.1, 0.4, training=True, generator=np.random.default_rng(5))
    x = cr.tensor(np.random.default_rng(1).uniform(-2, 2, (4, 5)), requires_grad=True)
    assert cr.gradcheck(fixed, [x])
    assert cr.gradgradcheck(fixed, [x])


def test_argument_errors_name_the_op_and_the_input_shape():
    with pytest.raises(cr.ArgumentError, match=r"channel_shuffle: groups must be a positive "
                                               r"int, got 0 \(input shape \(2, 4, 3\)\)"):
        F.channel_shuffle(cr.ones(2, 4, 3), 0)
    with pytest.raises(cr.ArgumentError, match=r"local_response_norm: size must be a positive "
                                               r"int, got 0 \(input shape \(2, 4, 3\)\)"):
        F.local_response_norm(cr.ones(2, 4, 3), 0)
    with pytest.raises(cr.ArgumentError, match=r"pdist: only supports non-negative p, got -1 "
                                               r"\(input shape \(3, 4\)\)"):
        F.pdist(cr.ones(3, 4), -1)
    with pytest.raises(ValueError, match=r"rrelu: .*input shape \(3,\)"):
        F.rrelu(cr.ones(3), 0.5, 0.2)
