"""PyTorch names added for users with PyTorch's habits: nn.ParameterList and nn.ParameterDict,
the padding_mode of Conv1d/2d/3d, and the Bernoulli draws (cr.bernoulli, Tensor.bernoulli(_)),
checked against PyTorch where the two can agree (names, keys, values, gradients) and against
their definitions where they cannot (random draws come from another generator)."""
import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

torch = pytest.importorskip("torch")


# -- ParameterList / ParameterDict ------------------------------------------------------------

def _holder(lib):
    """A module with a parameter, a ParameterList and a ParameterDict, in ``lib``."""
    self = lib.nn.Module()
    self.scale = lib.nn.Parameter(lib.ones(2))
    self.weights = lib.nn.ParameterList([lib.nn.Parameter(lib.zeros(3)), lib.ones(2)])
    self.weights.append(lib.ones(4))
    self.weights.extend([lib.zeros(1)])
    self.named = lib.nn.ParameterDict({"b": lib.ones(2)})
    self.named["a"] = lib.zeros(5)
    return self


def test_parameter_containers_register_with_pytorchs_names_and_keys():
    ours, theirs = _holder(cr), _holder(torch)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [tuple(p.shape) for p in ours.parameters()] == \
        [tuple(p.shape) for p in theirs.parameters()]
    assert list(ours.weights.state_dict()) == ["0", "1", "2", "3"]
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in ours.weights)
    assert isinstance(ours.named["a"], nn.Parameter) and list(ours.named) == ["b", "a"]


def test_parameter_list_indexing_iteration_and_assignment():
    weights = nn.ParameterList([cr.zeros(2), cr.ones(3)])
    assert len(weights) == 2 and weights[-1].shape == (3,)
    assert [tuple(p.shape) for p in weights] == [(2,), (3,)]
    part = weights[:1]
    assert isinstance(part, nn.ParameterList) and part[0] is weights[0]
    weights[0] = cr.full((4,), 2.0)
    assert isinstance(weights[0], nn.Parameter) and weights[0].shape == (4,)
    assert [n for n, _ in weights.named_parameters()] == ["0", "1"]
    source = cr.ones(2)
    weights += [source]
    source._data[0] = 7.0  # a tensor put in becomes a Parameter sharing its memory
    assert float(weights[2][0]) == 7.0
    with pytest.raises(TypeError, match="iterable"):
        weights.extend(cr.ones(2))


def test_parameter_containers_train_load_and_convert():
    model = _holder(cr)
    optimizer = cr.optim.SGD(model.parameters(), lr=0.5)
    loss = sum((p * p).sum() for p in model.weights) + (model.named["b"] * 3).sum()
    loss.backward()
    optimizer.step()
    np.testing.assert_allclose(model.weights[1].detach().numpy(), [0.0, 0.0])  # 1 - 0.5 * 2
    np.testing.assert_allclose(model.named["b"].detach().numpy(), [-0.5, -0.5])
    fresh = _holder(cr)
    fresh.load_state_dict(model.state_dict())
    np.testing.assert_array_equal(fresh.named["b"].detach().numpy(), [-0.5, -0.5])
    fresh.double()
    assert fresh.weights[0].dtype == np.float64 and fresh.named["a"].dtype == np.float64


def test_parameter_dict_methods():
    table = nn.ParameterDict([("x", cr.ones(1)), ("y", cr.zeros(2))])
    assert "x" in table and table.x is table["x"] and len(table) == 2
    assert table.get("z") is None and table.setdefault("z", cr.ones(3)).shape == (3,)
    assert table.pop("x").shape == (1,) and list(table.keys()) == ["y", "z"]
    assert [k for k, _ in table.items()] == ["y", "z"]
    del table["y"]
    assert list(table) == ["z"] and table.copy()["z"] is table["z"]
    table.clear()
    assert len(table) == 0
    with pytest.raises(TypeError, match="keys must be strings"):
        table[1] = cr.ones(1)


def test_parameter_containers_print_their_entries():
    assert repr(nn.ParameterList([cr.zeros(2, 3)])) == (
        "ParameterList(\n  (0): Parameter containing: [float32 of size 2x3]\n)")
    assert repr(nn.ParameterDict({"w": cr.zeros(1, dtype=cr.float64)})) == (
        "ParameterDict(\n  (w): Parameter containing: [float64 of size 1]\n)")


# -- Conv padding_mode --------------------------------------------------------------------------

MODES = ["zeros", "reflect", "replicate", "circular"]


def _conv_pair(dims, mode, padding, **options):
    ours_class, theirs_class = getattr(nn, f"Conv{dims}d"), getattr(torch.nn, f"Conv{dims}d")
    ours = ours_class(2, 3, 3, padding=padding, padding_mode=mode, dtype="float64", **options)
    theirs = theirs_class(2, 3, 3, padding=padding, padding_mode=mode, dtype=torch.float64,
                          **options)
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(ours.weight.detach().numpy()))
        theirs.bias.copy_(torch.tensor(ours.bias.detach().numpy()))
    return ours, theirs


@pytest.mark.parametrize("dims", [1, 2, 3])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("padding", [1, 2, "same", "valid"])
def test_conv_padding_mode_matches_pytorch(dims, mode, padding):
    ours, theirs = _conv_pair(dims, mode, padding)
    x = np.random.default_rng(dims).normal(size=(2, 2) + (5,) * dims)
    cx, tx = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, reference = ours(cx), theirs(tx)
    np.testing.assert_allclose(out.detach().numpy(), reference.detach().numpy(), rtol=1e-10,
                               atol=1e-12)
    weights = np.random.default_rng(0).uniform(-1, 1, tuple(reference.shape))
    (out * cr.tensor(weights)).sum().backward()
    (reference * torch.tensor(weights)).sum().backward()
    for mine, theirs_grad in ((cx.grad, tx.grad), (ours.weight.grad, theirs.weight.grad),
                              (ours.bias.grad, theirs.bias.grad)):
        np.testing.assert_allclose(mine.numpy(), theirs_grad.numpy(), rtol=1e-10, atol=1e-12)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["weight", "bias"]
    assert repr(ours) == repr(theirs)


@pytest.mark.parametrize("mode", ["reflect", "circular"])
def test_conv_padding_mode_options_and_second_order(mode):
    ours, theirs = _conv_pair(2, mode, (1, 2), stride=2, dilation=(1, 2))
    x = np.random.default_rng(5).normal(size=(1, 2, 6, 7))
    np.testing.assert_allclose(ours(cr.tensor(x)).detach().numpy(),
                               theirs(torch.tensor(x)).detach().numpy(), rtol=1e-10, atol=1e-12)
    small = nn.Conv2d(1, 1, 2, padding=1, padding_mode=mode, dtype="float64")
    assert cr.gradcheck(lambda t: small(t), [cr.tensor(np.random.rand(1, 1, 3, 3),
                                                       requires_grad=True)])
    assert cr.gradgradcheck(lambda t: small(t) ** 2, [cr.tensor(np.random.rand(1, 1, 3, 3),
                                                                requires_grad=True)])


def test_conv_padding_mode_refusals():
    with pytest.raises(ValueError, match="padding_mode must be one of"):
        nn.Conv2d(1, 1, 3, padding_mode="mirror")
    assert nn.ConvTranspose2d(1, 1, 3, padding_mode="zeros").padding_mode == "zeros"
    with pytest.raises(ValueError, match="ConvTranspose2d: only padding_mode='zeros'"):
        nn.ConvTranspose2d(1, 1, 3, padding_mode="reflect")
    with pytest.raises(ValueError, match="not supported for strided convolutions"):
        nn.Conv2d(1, 1, 3, stride=2, padding="same", padding_mode="reflect")(cr.ones(1, 1, 5, 5))
    with pytest.raises(cr.ShapeError, match=r"reflect padding \(3, 3\).*size 3"):
        nn.Conv1d(1, 1, 3, padding=3, padding_mode="reflect")(cr.ones(1, 1, 3))
    with pytest.raises(cr.ShapeError, match=r"Conv2d: expected a 3-D.*\(5, 5\)"):
        nn.Conv2d(1, 1, 3, padding=1, padding_mode="replicate")(cr.ones(5, 5))


# -- bernoulli ---------------------------------------------------------------------------------

def test_bernoulli_is_reproducible_with_a_generator_and_keeps_the_dtype():
    p = cr.tensor(np.linspace(0, 1, 50))
    first = cr.bernoulli(p, generator=cr.Generator().manual_seed(3))
    again = p.bernoulli(generator=cr.Generator().manual_seed(3))
    np.testing.assert_array_equal(first.numpy(), again.numpy())
    assert first.dtype == np.float64 and set(np.unique(first.numpy())) <= {0.0, 1.0}
    assert first.numpy()[0] == 0.0 and first.numpy()[-1] == 1.0  # p = 0 and p = 1 are exact
    cr.manual_seed(7)
    a = cr.bernoulli(cr.full((5,), 0.5))
    cr.manual_seed(7)
    np.testing.assert_array_equal(a.numpy(), cr.bernoulli(cr.full((5,), 0.5)).numpy())
    assert cr.bernoulli(cr.empty(0)).shape == (0,)


def test_bernoulli_draws_have_the_given_frequencies():
    g = cr.Generator().manual_seed(0)
    probabilities = cr.tensor([0.1, 0.5, 0.9]).expand(20000, 3)
    means = cr.bernoulli(probabilities, generator=g).numpy().mean(axis=0)
    # 20,000 draws: 5 standard errors of the largest variance (p = 0.5) is 0.018
    np.testing.assert_allclose(means, [0.1, 0.5, 0.9], atol=0.018)
    scalar = cr.zeros(20000, dtype=cr.float64).bernoulli(0.25, generator=g).numpy().mean()
    assert abs(scalar - 0.25) < 0.016
    tensor_p = cr.zeros(20000, 2).bernoulli_(cr.tensor([0.2, 0.7]), generator=g).numpy()
    np.testing.assert_allclose(tensor_p.mean(axis=0), [0.2, 0.7], atol=0.017)


def test_bernoulli_gradient_is_zero_as_pytorchs():
    ours = cr.tensor([0.3, 0.8], requires_grad=True)
    theirs = torch.tensor([0.3, 0.8], requires_grad=True)
    drawn, reference = cr.bernoulli(ours), torch.bernoulli(theirs)
    assert drawn.requires_grad == reference.requires_grad
    (drawn * cr.tensor([2.0, 3.0])).sum().backward()
    (reference * torch.tensor([2.0, 3.0])).sum().backward()
    np.testing.assert_array_equal(ours.grad.numpy(), theirs.grad.numpy())
    assert not cr.bernoulli(ours.detach()).requires_grad


def test_bernoulli_in_place_follows_the_in_place_rules():
    x = cr.zeros(4)
    version = x._version
    assert x.bernoulli_(1.0) is x and x._version == version + 1
    np.testing.assert_array_equal(x.numpy(), np.ones(4))
    assert cr.zeros(3, dtype=cr.int64).bernoulli_(1.0).dtype == np.int64
    leaf = cr.ones(2, requires_grad=True)
    with pytest.raises(cr.GradientError, match="leaf tensor that requires grad"):
        leaf.bernoulli_(0.5)
    with cr.no_grad():
        leaf.bernoulli_(0.0)
    np.testing.assert_array_equal(leaf.detach().numpy(), [0.0, 0.0])
    # In a graph: the old values get a zero gradient, as in PyTorch.
    for lib in (cr, torch):
        w = lib.tensor([0.5, 2.0], requires_grad=True)
        y = w * 3
        y.bernoulli_(1.0)
        (y * w).sum().backward()
        np.testing.assert_array_equal(np.asarray(w.grad.detach()), [1.0, 1.0])


def test_bernoulli_refusals_name_the_op():
    with pytest.raises(cr.ArgumentError, match=r"bernoulli: probabilities must be in \[0, 1\]"):
        cr.bernoulli(cr.tensor([0.5, 1.5]))
    with pytest.raises(cr.ArgumentError, match="bernoulli: probabilities"):
        cr.bernoulli(cr.tensor([float("nan")]))
    with pytest.raises(cr.ArgumentError, match="bernoulli: probabilities"):
        cr.bernoulli(cr.zeros(2), 1.5)
    with pytest.raises(cr.DtypeError, match="bernoulli: needs a floating-point"):
        cr.bernoulli(cr.tensor([0, 1]))
    with pytest.raises(cr.ShapeError, match=r"bernoulli_: p of shape \(2,\).*\(2, 3\)"):
        cr.zeros(2, 3).bernoulli_(cr.tensor([0.0, 1.0]))
