"""Every layer's default initialisation draws from PyTorch's distributions: for each layer, 200
fresh layers in each library, and the bounds, means and standard deviations of their weights
and biases compared. A wrong bound (He's sqrt(6 / fan_in) instead of 1 / sqrt(fan_in), fan_in
from the wrong axis of a transposed convolution, a zero bias) fails these tests."""
import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.nn import init

torch = pytest.importorskip("torch")

DRAWS = 200

# (name, constructor arguments): the same in both libraries.
RANDOM_LAYERS = [
    ("Linear", (3, 1)),  # the example: +-0.577 for weight and bias
    ("Linear", (20, 7)),
    ("Linear", (5, 40, False)),
    ("Conv1d", (3, 4, 5)),
    ("Conv2d", (4, 6, 3)),
    ("Conv2d", (4, 6, (3, 2), 1, 0, 1, 2)),  # groups=2: fan_in = 2 * 3 * 2
    ("Conv3d", (2, 3, 2)),
    ("ConvTranspose2d", (6, 4, 3)),  # weight (in, out, k, k): fan_in = 4 * 9
    ("ConvTranspose2d", (6, 4, 2, 1, 0, 0, 2)),  # groups=2: fan_in = 2 * 4
]
for optional in (("ConvTranspose1d", (6, 4, 3)), ("ConvTranspose3d", (4, 2, 2))):
    if hasattr(nn, optional[0]):
        RANDOM_LAYERS.append(optional)


def draws(make, names):
    """The values of each named parameter over DRAWS fresh layers, in one array per name."""
    layers = [make() for _ in range(DRAWS)]
    return {name: np.concatenate([_values(getattr(layer, name)) for layer in layers])
            for name in names}


def _values(p):
    return (p.detach().numpy() if hasattr(p, "detach") else p.numpy()).ravel().astype(np.float64)


@pytest.mark.parametrize("name, args", RANDOM_LAYERS, ids=[f"{n}{a}" for n, a in RANDOM_LAYERS])
def test_random_default_init_matches_torchs_distribution(name, args):
    torch.manual_seed(0)
    cr.manual_seed(0)
    probe = getattr(torch.nn, name)(*args)
    names = [n for n, _ in probe.named_parameters()]
    ours = draws(lambda: getattr(nn, name)(*args), names)
    theirs = draws(lambda: getattr(torch.nn, name)(*args), names)
    fan_in = probe.weight.shape[1] * math.prod(probe.weight.shape[2:])
    bound = 1 / math.sqrt(fan_in)  # PyTorch's documented default, for weight and bias
    for n in names:
        a, b = ours[n], theirs[n]
        assert a.size == b.size > 0
        # Inside the bound, and reaching it (the max of thousands of uniform draws is near it).
        assert np.abs(a).max() <= bound * (1 + 1e-6)
        assert np.abs(b).max() <= bound * (1 + 1e-6)
        assert a.max() > bound * 0.9 and a.min() < -bound * 0.9, (n, a.min(), a.max(), bound)
        # Uniform on [-bound, bound]: mean 0, std bound / sqrt(3), as torch's draws.
        se = bound / math.sqrt(3 * a.size)
        assert abs(a.mean()) < 5 * se and abs(b.mean()) < 5 * se
        # The sample std of n uniform draws has relative standard error sqrt(0.2 / n): allow
        # four of them (He's bound would be off by a factor sqrt(6)).
        tolerance = 4 * math.sqrt(0.2 / a.size)
        np.testing.assert_allclose(a.std(), b.std(), rtol=tolerance * math.sqrt(2))
        np.testing.assert_allclose(a.std(), bound / math.sqrt(3), rtol=tolerance)


NORM_LAYERS = [
    ("BatchNorm1d", (5,)),
    ("BatchNorm2d", (3,)),
    ("LayerNorm", ((2, 3),)),
    ("GroupNorm", (2, 4)),
]


@pytest.mark.parametrize("name, args", NORM_LAYERS, ids=[n for n, _ in NORM_LAYERS])
def test_normalisation_layers_start_as_torchs(name, args):
    ours, theirs = getattr(nn, name)(*args), getattr(torch.nn, name)(*args)
    expected = theirs.state_dict()
    state = ours.state_dict()
    assert list(state) == list(expected)
    for key, value in expected.items():
        mine = state[key]
        mine = mine.numpy() if hasattr(mine, "numpy") else np.asarray(mine)
        np.testing.assert_array_equal(mine, value.numpy())


@pytest.mark.parametrize("name, args", RANDOM_LAYERS + NORM_LAYERS,
                         ids=[f"{n}{a}" for n, a in RANDOM_LAYERS + NORM_LAYERS])
def test_parameters_are_c_contiguous_float32(name, args):
    layer = getattr(nn, name)(*args)
    for key, p in layer.named_parameters():
        assert p.is_contiguous(), key
        assert p.detach().numpy().flags["C_CONTIGUOUS"], key
        assert p.dtype == np.float32


def test_linear_weight_views_write_through_as_in_torch():
    # The numerical-gradient recipe: perturb flat[i] of a view of the weight.
    layer = nn.Linear(3, 2)
    flat = layer.weight.detach().view(-1)
    flat[0] = 123.0
    assert layer.weight.detach().numpy()[0, 0] == 123.0


@pytest.mark.parametrize("name, args", RANDOM_LAYERS, ids=[f"{n}{a}" for n, a in RANDOM_LAYERS])
def test_reset_parameters_redraws_within_the_bound(name, args):
    layer = getattr(nn, name)(*args)
    before = {n: _values(p).copy() for n, p in layer.named_parameters()}
    ids = {n: id(p) for n, p in layer.named_parameters()}
    assert layer.reset_parameters() is None
    fan_in = layer.weight.shape[1] * math.prod(layer.weight.shape[2:])
    for n, p in layer.named_parameters():
        assert id(p) == ids[n]  # in place, as torch: optimizers keep their parameters
        assert not np.array_equal(_values(p), before[n])
        assert np.abs(_values(p)).max() <= 1 / math.sqrt(fan_in) * (1 + 1e-6)


def test_norm_reset_parameters_restores_the_start():
    bn = nn.BatchNorm1d(3)
    with cr.no_grad():
        bn.weight.mul_(3)
        bn.bias.add_(1)
    bn(cr.randn(8, 3))
    bn.reset_parameters()
    fresh = nn.BatchNorm1d(3).state_dict()
    for key, value in bn.state_dict().items():
        np.testing.assert_array_equal(np.asarray(value.numpy()), np.asarray(fresh[key].numpy()))


def test_generator_makes_the_default_init_reproducible():
    a = nn.Linear(5, 4, generator=np.random.default_rng(7))
    b = nn.Linear(5, 4, generator=np.random.default_rng(7))
    c = nn.Conv2d(2, 3, 3, generator=np.random.default_rng(7))
    d = nn.Conv2d(2, 3, 3, generator=np.random.default_rng(7))
    for x, y in ((a, b), (c, d)):
        for (_, p), (_, q) in zip(x.named_parameters(), y.named_parameters()):
            np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())


def test_explicit_inits_keep_their_meaning():
    # init="kaiming_uniform" is He's (a = 0, the trainer's MLP default), with a zero bias.
    layer = nn.Linear(3, 200, init="kaiming_uniform")
    w = layer.weight.detach().numpy()
    assert np.abs(w).max() <= math.sqrt(6 / 3) and np.abs(w).max() > 0.9 * math.sqrt(6 / 3)
    np.testing.assert_array_equal(layer.bias.detach().numpy(), 0)
    d2l = nn.Linear(100, 100, init="d2l").weight.detach().numpy()
    assert 0.009 < d2l.std() < 0.011


def test_apply_initialises_layers_in_torchs_order():
    # A per-layer init through apply() draws from one stream: the visiting order decides which
    # layer gets which numbers. Record the order on equal models in both libraries.
    def build(lib):
        return lib.nn.Sequential(lib.nn.Linear(2, 3), lib.nn.Sequential(lib.nn.Linear(3, 4),
                                                                        lib.nn.ReLU()),
                                 lib.nn.Linear(4, 5))
    order, torch_order = [], []
    build(cr).apply(lambda m: order.append((type(m).__name__, getattr(m, "out_features", None))))
    build(torch).apply(lambda m: torch_order.append((type(m).__name__,
                                                     getattr(m, "out_features", None))))
    assert order == torch_order


# ---------------------------------------------------------------- nn.init against torch.nn.init
DETERMINISTIC = [
    ("constant_", (3, 4), (0.25,), {}),
    ("ones_", (2, 5), (), {}),
    ("zeros_", (4,), (), {}),
    ("eye_", (3, 5), (), {}),
    ("eye_", (4, 2), (), {}),
    ("dirac_", (4, 2, 3), (), {}),
    ("dirac_", (6, 2, 3, 3), (), {"groups": 2}),
    ("dirac_", (2, 4, 3, 2, 2), (), {}),
]


@pytest.mark.parametrize("name, shape, args, kwargs", DETERMINISTIC,
                         ids=[f"{d[0]}{d[1]}" for d in DETERMINISTIC])
def test_deterministic_inits_equal_torchs(name, shape, args, kwargs):
    ours = nn.Parameter(np.full(shape, 7.0, np.float32))
    version = ours._version
    theirs = torch.full(shape, 7.0)
    assert getattr(init, name)(ours, *args, **kwargs) is ours
    getattr(torch.nn.init, name)(theirs, *args, **kwargs)
    np.testing.assert_array_equal(ours.detach().numpy(), theirs.numpy())
    assert ours._version > version  # an old graph that saved it will refuse to backward


@pytest.mark.parametrize("name, shape, kwargs", [
    ("eye_", (3,), {}), ("eye_", (2, 2, 2), {}), ("dirac_", (3, 3), {}),
    ("dirac_", (3, 2, 2), {"groups": 2}), ("xavier_uniform_", (5,), {}),
    ("kaiming_normal_", (3, 3), {"mode": "fan_middle"}),
])
def test_init_refusals_match_torchs(name, shape, kwargs):
    with pytest.raises(ValueError):
        getattr(torch.nn.init, name)(torch.empty(shape), **kwargs)
    with pytest.raises(ValueError):
        getattr(init, name)(cr.empty(*shape), **kwargs)


def test_empty_ranges_raise_runtime_error_as_torch():
    for ours, theirs in ((lambda: init.uniform_(cr.empty(3), 1.0, 0.0),
                          lambda: torch.nn.init.uniform_(torch.empty(3), 1.0, 0.0)),
                         (lambda: init.normal_(cr.empty(3), 0.0, -1.0),
                          lambda: torch.nn.init.normal_(torch.empty(3), 0.0, -1.0))):
        with pytest.raises(RuntimeError):
            theirs()
        with pytest.raises(RuntimeError):
            ours()
    with pytest.raises(TypeError):
        init.constant_(cr.empty(2), "a")


def test_zero_element_tensors_are_left_alone_with_torchs_warning():
    with pytest.warns(UserWarning, match="zero-element"):
        init.kaiming_uniform_(cr.empty(0, 3))
    with pytest.warns(UserWarning, match="zero-element"):
        torch.nn.init.kaiming_uniform_(torch.empty(0, 3))


GAINS = [("linear", None), ("conv1d", None), ("conv_transpose2d", None), ("sigmoid", None),
         ("tanh", None), ("relu", None), ("leaky_relu", None), ("leaky_relu", 0.2),
         ("leaky_relu", 3), ("selu", None)]


@pytest.mark.parametrize("nonlinearity, param", GAINS)
def test_calculate_gain_is_torchs(nonlinearity, param):
    assert init.calculate_gain(nonlinearity, param) == torch.nn.init.calculate_gain(nonlinearity,
                                                                                   param)


RANDOM_INITS = [
    ("uniform_", {"a": -0.3, "b": 0.7}),
    ("normal_", {"mean": 1.0, "std": 0.2}),
    ("trunc_normal_", {"std": 1.0, "a": -0.5, "b": 1.5}),
    ("xavier_uniform_", {"gain": 2.0}),
    ("xavier_normal_", {}),
    ("kaiming_uniform_", {}),
    ("kaiming_uniform_", {"a": math.sqrt(5)}),
    ("kaiming_uniform_", {"mode": "fan_out", "nonlinearity": "relu"}),
    ("kaiming_normal_", {"a": 0.1, "mode": "fan_out"}),
    ("kaiming_normal_", {"nonlinearity": "tanh"}),
]


@pytest.mark.parametrize("name, kwargs", RANDOM_INITS, ids=[f"{n}{k}" for n, k in RANDOM_INITS])
def test_random_inits_draw_from_torchs_distribution(name, kwargs):
    shape = (64, 16, 3, 3)  # fan_in 144, fan_out 576
    torch.manual_seed(0)
    cr.manual_seed(0)
    ours = getattr(init, name)(cr.empty(*shape), **kwargs).numpy().ravel().astype(np.float64)
    theirs = getattr(torch.nn.init, name)(torch.empty(shape), **kwargs).numpy().ravel()
    rtol = 4 * math.sqrt(1 / ours.size)
    np.testing.assert_allclose(ours.std(), theirs.std(), rtol=rtol)
    np.testing.assert_allclose(ours.mean(), theirs.mean(), atol=5 * theirs.std() / math.sqrt(
        ours.size))
    if "normal" not in name or name == "trunc_normal_":
        np.testing.assert_allclose([ours.min(), ours.max()], [theirs.min(), theirs.max()],
                                   rtol=0.02, atol=0.02 * theirs.std())


def test_init_signatures_are_torchs():
    import inspect
    for name in ("uniform_", "normal_", "trunc_normal_", "constant_", "ones_", "eye_", "dirac_",
                 "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_",
                 "orthogonal_", "sparse_", "calculate_gain"):
        ours = inspect.signature(getattr(init, name)).parameters
        theirs = inspect.signature(getattr(torch.nn.init, name)).parameters
        assert list(ours) == list(theirs), name
        assert [p.default for p in ours.values()] == [p.default for p in theirs.values()], name


# ---------------------------------------------------------------- the other layers with parameters
OTHER_LAYERS = [
    ("Embedding", (10, 6), {}),  # N(0, 1)
    ("Embedding", (10, 6), {"padding_idx": 2}),  # and a zero row
    ("RNN", (4, 5), {}),  # every parameter U(+-1/sqrt(hidden_size))
    ("LSTM", (3, 4), {"num_layers": 2}),
    ("GRU", (3, 4), {"bidirectional": True}),
    ("RNNCell", (4, 5), {}),
    ("LSTMCell", (3, 4), {}),
    ("GRUCell", (3, 4), {}),
    ("MultiheadAttention", (8, 2), {}),  # xavier in_proj, zero biases, Linear out_proj
]


@pytest.mark.parametrize("name, args, kwargs", OTHER_LAYERS,
                         ids=[f"{n}{a}{k}" for n, a, k in OTHER_LAYERS])
def test_other_layers_draw_from_torchs_distributions(name, args, kwargs):
    if not hasattr(nn, name):
        pytest.skip(f"chainrule has no nn.{name}")
    cr.manual_seed(0)
    torch.manual_seed(0)
    ours = [getattr(nn, name)(*args, **kwargs) for _ in range(100)]
    theirs = [getattr(torch.nn, name)(*args, **kwargs) for _ in range(100)]
    names = [n for n, _ in theirs[0].named_parameters()]
    assert [n for n, _ in ours[0].named_parameters()] == names
    for n in names:
        a = np.concatenate([_values(dict(m.named_parameters())[n]) for m in ours])
        b = np.concatenate([_values(dict(m.named_parameters())[n]) for m in theirs])
        assert a.shape == b.shape, n
        if b.std() == 0:  # a constant start (zero biases)
            np.testing.assert_array_equal(a, b)
            continue
        np.testing.assert_allclose(a.std(), b.std(), rtol=4 * math.sqrt(1 / a.size), err_msg=n)
        assert abs(a.mean() - b.mean()) < 6 * b.std() / math.sqrt(a.size), n
        # Where the mass lies: the 2nd and 98th percentiles (a uniform's bound, a normal's tails)
        np.testing.assert_allclose(np.percentile(a, [2, 98]), np.percentile(b, [2, 98]),
                                   rtol=0.08, err_msg=n)
        assert (np.abs(a).max() <= np.abs(b).max() * 1.02 or "Embedding" in name), n
