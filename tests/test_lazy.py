"""Lazy modules against PyTorch's: they infer their sizes at the first call and become their
concrete class, with PyTorch's initialisation; before that, their parameters are listed but
refuse to give a shape, and an optimizer made then keeps working."""
import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

torch = pytest.importorskip("torch")

CASES = [
    ("LazyLinear", "Linear", (3,), {}, (4, 5)),
    ("LazyLinear", "Linear", (3,), {"bias": False}, (2, 6, 7)),
    ("LazyLinear", "Linear", (2,), {}, (5,)),  # unbatched
    ("LazyConv1d", "Conv1d", (4, 3), {}, (2, 5, 9)),
    ("LazyConv2d", "Conv2d", (6, 3), {"padding": 1, "groups": 2}, (2, 4, 6, 6)),
    ("LazyConv3d", "Conv3d", (2, 2), {"stride": 2}, (1, 3, 4, 4, 4)),
    ("LazyConv2d", "Conv2d", (3, 3), {"padding": 1, "padding_mode": "reflect"}, (2, 2, 5, 5)),
    ("LazyConv1d", "Conv1d", (2, 3), {"padding": 2, "padding_mode": "circular"}, (2, 3, 6)),
    ("LazyBatchNorm1d", "BatchNorm1d", (), {}, (8, 3)),
    ("LazyBatchNorm1d", "BatchNorm1d", (), {"affine": False}, (8, 3, 5)),
    ("LazyBatchNorm2d", "BatchNorm2d", (), {"momentum": 0.3}, (4, 2, 3, 3)),
]
IDS = [f"{c[0]}-{i}" for i, c in enumerate(CASES)]


def numpy(t):
    return t.detach().numpy()


@pytest.mark.parametrize("lazy, concrete, args, kwargs, shape", CASES, ids=IDS)
def test_first_call_makes_the_concrete_module_torch_makes(lazy, concrete, args, kwargs, shape):
    ours, theirs = getattr(nn, lazy)(*args, **kwargs), getattr(torch.nn, lazy)(*args, **kwargs)
    assert isinstance(ours, getattr(nn, concrete))  # a subclass before, as in torch
    assert repr(ours).split("(")[0] == lazy
    x = np.random.default_rng(0).normal(size=shape).astype(np.float32)
    with torch.no_grad():
        theirs(torch.tensor(x))
    out = ours(cr.tensor(x))
    assert type(ours) is getattr(nn, concrete) and type(theirs) is getattr(torch.nn, concrete)
    if concrete == "Linear":
        assert repr(ours) == repr(theirs)
    ours_state, theirs_state = ours.state_dict(), theirs.state_dict()
    assert list(ours_state) == list(theirs_state)
    for key, value in theirs_state.items():
        assert tuple(ours_state[key].shape) == tuple(value.shape), key
    # With torch's parameters copied in, the same outputs.
    with torch.no_grad():
        for key, value in ours_state.items():
            if key != "num_batches_tracked" and "running" not in key:
                theirs_state[key].copy_(torch.tensor(value.numpy()))
        fresh = getattr(torch.nn, lazy)(*args, **kwargs)
        fresh(torch.tensor(x))
        fresh.load_state_dict(theirs_state, strict=False)
        if concrete.startswith("BatchNorm"):
            fresh = getattr(torch.nn, concrete)(shape[1], **kwargs)
        expected = fresh(torch.tensor(x))
    np.testing.assert_allclose(numpy(out), expected.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("lazy, concrete, args, kwargs, shape",
                         [c for c in CASES if c[1] != "BatchNorm1d" and c[1] != "BatchNorm2d"],
                         ids=[i for i, c in zip(IDS, CASES) if not c[1].startswith("Batch")])
def test_initialisation_after_the_first_call_is_torchs(lazy, concrete, args, kwargs, shape):
    values = {}
    for _ in range(100):
        layer = getattr(nn, lazy)(*args, **kwargs)
        layer(cr.zeros(*shape))
        for key, p in layer.named_parameters():
            values.setdefault(key, []).append(numpy(p).ravel())
    fan_in = layer.weight.shape[1] * math.prod(layer.weight.shape[2:])
    bound = 1 / math.sqrt(fan_in)
    for key, drawn in values.items():
        drawn = np.concatenate(drawn)
        assert np.abs(drawn).max() <= bound * (1 + 1e-6)
        assert drawn.max() > 0.9 * bound and drawn.min() < -0.9 * bound, key
        np.testing.assert_allclose(drawn.std(), bound / math.sqrt(3),
                                   rtol=4 * math.sqrt(0.2 / drawn.size))


def test_before_the_first_call_parameters_are_listed_but_have_no_shape():
    ours, theirs = nn.LazyLinear(3), torch.nn.LazyLinear(3)
    assert len(list(ours.parameters())) == len(list(theirs.parameters())) == 2
    assert repr(ours.weight) == repr(theirs.weight) == "<UninitializedParameter>"
    assert isinstance(ours.weight, nn.UninitializedParameter)
    assert ours.weight.dtype == np.float32
    with pytest.raises(RuntimeError, match="uninitialized"):
        theirs.weight.shape
    with pytest.raises(RuntimeError, match="first call"):
        ours.weight.shape
    with pytest.raises(nn.LazyModuleError, match="LazyLinear"):
        sum(p.numel() for p in ours.parameters())
    with pytest.raises(nn.LazyModuleError):
        ours.weight * 2
    with pytest.raises(nn.LazyModuleError):
        ours.weight.detach().numpy().sum()


def test_an_optimizer_made_before_the_first_call_trains_as_torchs():
    ours, theirs = nn.LazyLinear(2), torch.nn.LazyLinear(2)
    opt = cr.optim.SGD(ours.parameters(), lr=0.5, momentum=0.9)
    topt = torch.optim.SGD(theirs.parameters(), lr=0.5, momentum=0.9)
    x = np.random.default_rng(1).normal(size=(6, 4)).astype(np.float32)
    with torch.no_grad():
        theirs(torch.tensor(x))
    ours(cr.tensor(x))
    assert opt.param_groups[0]["params"][0] is ours.weight
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(numpy(ours.weight)))
        theirs.bias.copy_(torch.tensor(numpy(ours.bias)))
    for _ in range(3):
        opt.zero_grad()
        topt.zero_grad()
        (ours(cr.tensor(x)) ** 2).mean().backward()
        (theirs(torch.tensor(x)) ** 2).mean().backward()
        opt.step()
        topt.step()
    # float32 steps: entries near zero get an absolute tolerance.
    np.testing.assert_allclose(numpy(ours.weight), theirs.weight.detach().numpy(), rtol=1e-5,
                               atol=1e-6)


def test_lazy_layers_in_a_sequential():
    model = nn.Sequential(nn.LazyConv2d(4, 3), nn.ReLU(), nn.Flatten(), nn.LazyLinear(10))
    out = model(cr.zeros(2, 3, 6, 6))
    assert tuple(out.shape) == (2, 10)
    assert [type(m).__name__ for m in model] == ["Conv2d", "ReLU", "Flatten", "Linear"]
    assert model[3].in_features == 4 * 4 * 4
    assert not model[0]._hooks  # the inferring hook is gone


def test_lazy_module_to_a_dtype_before_the_first_call():
    layer = nn.LazyLinear(3).to("float64")
    assert layer.weight.dtype == np.float64
    layer(cr.zeros(2, 4, dtype="float64"))
    assert layer.weight.dtype == np.float64


def test_user_hooks_survive_the_change_of_class():
    layer = nn.LazyLinear(3)
    seen = []
    layer.register_forward_hook(lambda m, args, out: seen.append(tuple(out.shape)))
    layer(cr.zeros(2, 4))
    layer(cr.zeros(5, 4))
    assert seen == [(2, 3), (5, 3)]


@pytest.mark.parametrize("make, x, message", [
    (lambda: nn.LazyConv2d(4, 3), cr.zeros(3, 3), "expected a 3-D"),
    (lambda: nn.LazyConv2d(4, 3, groups=2), cr.zeros(1, 3, 5, 5), "divisible by groups"),
    (lambda: nn.LazyLinear(2), cr.tensor(1.0), "scalar"),
    (lambda: nn.LazyBatchNorm1d(), cr.zeros(3), "channel dimension"),
])
def test_bad_first_inputs_are_refused(make, x, message):
    layer = make()
    with pytest.raises(ValueError, match=message):
        layer(x)


@pytest.mark.parametrize("lazy, concrete, args, kwargs, shape", CASES, ids=IDS)
def test_a_state_dict_loaded_before_the_first_call_gives_the_shapes_as_torchs(
        lazy, concrete, args, kwargs, shape):
    size = shape[-1] if "Linear" in lazy else shape[1]  # the size the first input would give
    source = getattr(torch.nn, concrete)(size, *args, **kwargs)
    with torch.no_grad():
        for p in source.parameters():
            p.copy_(torch.randn(p.shape))
        for name, b in source.named_buffers():
            if b.is_floating_point():
                b.copy_(torch.rand(b.shape) + 0.5)
    state = source.state_dict()
    ours, theirs = getattr(nn, lazy)(*args, **kwargs), getattr(torch.nn, lazy)(*args, **kwargs)
    before = list(ours.parameters())
    ours.load_state_dict({k: cr.tensor(v.numpy()) for k, v in state.items()})
    theirs.load_state_dict(state)
    assert not ours.has_uninitialized_params() and list(ours.parameters()) == before
    x = np.random.default_rng(1).normal(size=shape).astype(np.float32)
    ours.eval(), theirs.eval()
    with torch.no_grad():
        expected = theirs(torch.tensor(x)).numpy()
    np.testing.assert_allclose(numpy(ours(cr.tensor(x))), expected, rtol=1e-5, atol=1e-6)
    assert type(ours) is getattr(nn, concrete) and type(theirs) is getattr(torch.nn, concrete)
    for name, value in theirs.state_dict().items():
        np.testing.assert_array_equal(numpy(ours.state_dict()[name]), value.numpy())
    size = {"Linear": "in_features", "Conv": "in_channels", "Norm": "num_features"}
    attribute = next(v for k, v in size.items() if k in lazy)
    assert getattr(ours, attribute) == getattr(source, attribute)


def test_a_failed_or_checked_load_leaves_the_module_lazy():
    layer = nn.LazyLinear(2)
    with pytest.raises(cr.errors.ChainruleError, match="weight"):
        layer.load_state_dict({"weight": cr.ones(3, 4), "bias": cr.zeros(2)})  # 3 != 2 outputs
    assert layer.has_uninitialized_params() and type(layer) is nn.LazyLinear
    layer.check_state_dict({"weight": cr.ones(2, 4), "bias": cr.zeros(2)})
    assert layer.has_uninitialized_params()
    with pytest.raises(nn.LazyModuleError, match=r"all of \['bias', 'weight'\] or none"):
        layer.load_state_dict({"weight": cr.ones(2, 4)}, strict=False)
    assert layer.has_uninitialized_params()
    assert layer(cr.ones(1, 5)).shape == (1, 2) and layer.in_features == 5  # still lazy: 5 fits


def test_after_a_load_the_first_call_only_checks_its_input():
    layer = nn.LazyLinear(2)
    layer.load_state_dict({"weight": cr.ones(2, 4), "bias": cr.zeros(2)})
    with pytest.raises(cr.errors.ChainruleError):
        layer(cr.ones(1, 5))
    np.testing.assert_array_equal(numpy(layer(cr.ones(1, 4))), [[4.0, 4.0]])
