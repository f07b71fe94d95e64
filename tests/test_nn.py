"""chainrule.nn: parameter discovery and names, state dicts, modes, layers (forward, gradients,
errors), initialisers, scopes, and an MLP against PyTorch."""
import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.autograd import no_grad
from chainrule.nn import init
from chainrule.random import default_generator, manual_seed


# ---------------------------------------------------------------- parameters and their names

class Block(nn.Module):
    def __init__(self):
        self.fc1 = nn.Linear(4, 3)
        self.act = nn.ReLU()
        self.fc2 = nn.Linear(3, 2, bias=False)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class Collections(nn.Module):
    def __init__(self):
        self.scale = nn.Parameter(np.ones(2, np.float32))
        self.layers = [nn.Linear(2, 2), nn.Tanh(), nn.Linear(2, 2)]
        self.heads = {"left": nn.Linear(2, 1), "right": nn.Linear(2, 1)}
        self.pair = (nn.Parameter(np.zeros(3)), "not a parameter", 7)
        self.inner = nn.Sequential(nn.Linear(2, 2), Block())
        self.plain = cr.tensor(np.ones(3), requires_grad=True)  # not a Parameter: not listed


def test_parameters_are_found_in_attributes_lists_dicts_and_nested_sequential():
    names = [name for name, _ in Collections().named_parameters()]
    # As in PyTorch, a module's own parameters come before its submodules' parameters.
    assert names == [
        "scale", "pair.0",
        "layers.0.weight", "layers.0.bias", "layers.2.weight", "layers.2.bias",
        "heads.left.weight", "heads.left.bias", "heads.right.weight", "heads.right.bias",
        "inner.0.weight", "inner.0.bias",
        "inner.1.fc1.weight", "inner.1.fc1.bias", "inner.1.fc2.weight",
    ]


def test_sequential_keys_match_pytorch():
    model = nn.Sequential(nn.Flatten(), nn.Linear(6, 5), nn.ReLU(), nn.Dropout(0.2),
                          nn.Linear(5, 3))
    assert list(model.state_dict()) == ["1.weight", "1.bias", "4.weight", "4.bias"]
    assert len(model) == 5
    assert isinstance(model[1], nn.Linear) and model[-1] is model[4]
    assert list(model[3:].state_dict()) == ["4.weight", "4.bias"]  # slices keep the names


def test_sequential_keys_match_torch_state_dict():
    torch = pytest.importorskip("torch")
    ours = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Sequential(nn.Linear(4, 4), nn.Tanh()),
                         nn.Linear(4, 2))
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(),
                                 torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.Tanh()),
                                 torch.nn.Linear(4, 2))
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [tuple(v.shape) for v in ours.state_dict().values()] == \
        [tuple(v.shape) for v in theirs.state_dict().values()]


def test_shared_parameter_and_module_are_listed_once():
    shared = nn.Linear(2, 2)
    model = nn.Sequential(shared, nn.ReLU(), shared)
    assert [name for name, _ in model.named_parameters()] == ["0.weight", "0.bias"]
    assert len(list(model.parameters())) == 2
    assert len(list(model.modules())) == 3  # the Sequential, the Linear and the ReLU


def test_modules_children_and_named_modules():
    model = Collections()
    children = [name for name, _ in model.named_children()]
    assert children == ["layers.0", "layers.1", "layers.2", "heads.left", "heads.right", "inner"]
    paths = [path for path, _ in model.named_modules()]
    assert paths[0] == "" and "inner.1.fc2" in paths and "inner.1.act" in paths
    assert len(list(model.children())) == 6
    assert all(isinstance(m, nn.Module) for m in model.modules())


def test_parameter_defaults():
    assert nn.Parameter([1.0, 2.0]).dtype == np.float32
    with pytest.raises(cr.errors.DtypeError):  # integers cannot require grad, as in PyTorch
        nn.Parameter(np.arange(3))
    assert nn.Parameter([1, 2]).dtype == np.float32  # Python numbers: torch.Tensor's default
    data = np.zeros(3)
    p = nn.Parameter(data)
    assert p.dtype == np.float64 and p.detach().numpy() is data  # float arrays are used as they are
    assert p.requires_grad and p.is_leaf and isinstance(p, cr.Tensor)
    assert repr(p).startswith("Parameter containing:")
    read_only = np.broadcast_to(np.ones(2), (3, 2))
    assert nn.Parameter(read_only).detach().numpy().flags.writeable  # optimizers update it in place


# ---------------------------------------------------------------- state dicts

def test_state_dict_round_trip_and_aliases():
    manual_seed(1)
    source = Block()
    manual_seed(2)
    target = Block()
    state = source.state_dict()
    state["fc1.bias"][...] = 5  # shares the parameter's memory, as in PyTorch
    assert np.all(source.fc1.bias.detach().numpy() == 5)
    result = target.load_state_dict(source.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    for (name, a), (_, b) in zip(source.named_parameters(), target.named_parameters()):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy(), err_msg=name)
    assert target.fc1.weight.detach().numpy().dtype == np.float32


def test_load_state_dict_reports_every_problem_and_changes_nothing():
    manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
    before = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    state = {k: np.full_like(v, 7.0) for k, v in before.items()}
    del state["2.bias"]
    state["3.weight"] = np.zeros((1, 1))
    state["0.weight"] = np.zeros((256, 783))
    state["0.bias"] = np.array(["a"] * 256)
    with pytest.raises(nn.StateDictError) as caught:
        model.load_state_dict(state)
    message = str(caught.value)
    assert "missing keys ['2.bias']" in message
    assert "unexpected keys ['3.weight']" in message
    assert "0.weight expected (256, 784) got (256, 783)" in message
    assert "0.bias" in message and "<U1" in message
    assert isinstance(caught.value, ValueError)
    for k, v in model.state_dict().items():  # the valid 2.weight was not copied either
        np.testing.assert_array_equal(v, before[k], err_msg=k)


def test_load_state_dict_not_strict_allows_missing_and_unexpected():
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    state = {"0.weight": np.ones((3, 2)), "9.weight": np.ones(1)}
    result = model.load_state_dict(state, strict=False)
    assert result.missing_keys == ["0.bias", "2.weight", "2.bias"]
    assert result.unexpected_keys == ["9.weight"]
    np.testing.assert_array_equal(model[0].weight.detach().numpy(), np.ones((3, 2)))
    with pytest.raises(nn.StateDictError, match=r"0.weight expected \(3, 2\) got \(2, 3\)"):
        model.load_state_dict({"0.weight": np.ones((2, 3))}, strict=False)
    with pytest.raises(TypeError):
        model.load_state_dict([("0.weight", np.ones((3, 2)))])


class Square(nn.Module):
    def __init__(self):
        self.w = nn.Parameter(np.ones(3))

    def forward(self, x):
        return x * self.w * self.w  # mul saves w itself for backward


def test_load_state_dict_makes_a_stale_graph_refuse_backward():
    model = Square()
    out = model(np.ones(3)).sum()
    model.load_state_dict({"w": np.full(3, 2.0)})
    with pytest.raises(cr.GradientError, match="modified in place"):
        out.backward()


def test_load_state_dict_makes_a_stale_linear_graph_refuse_backward():
    model = nn.Linear(2, 2)
    x = cr.tensor(np.ones((1, 2), np.float32), requires_grad=True)
    out = model(x).sum()
    model.load_state_dict({k: v + 1 for k, v in model.state_dict().items()})
    with pytest.raises(cr.GradientError, match="modified in place"):
        out.backward()


# ---------------------------------------------------------------- modes, zero_grad, repr

def test_train_eval_reach_every_module():
    model = Collections()
    assert model.training and all(m.training for m in model.modules())
    assert model.eval() is model
    assert not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())


def test_zero_grad_sets_grads_to_none():
    model = Block()
    model(np.ones((2, 4), np.float32)).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_repr_shows_structure_and_sizes():
    model = nn.Sequential(nn.Linear(784, 256), nn.LeakyReLU(0.2), nn.Dropout(0.1),
                          nn.Linear(256, 10, bias=False))
    assert repr(model) == (
        "Sequential(\n"
        "  (0): Linear(in_features=784, out_features=256, bias=True)\n"
        "  (1): LeakyReLU(negative_slope=0.2)\n"
        "  (2): Dropout(p=0.1, inplace=False)\n"
        "  (3): Linear(in_features=256, out_features=10, bias=False)\n"
        ")")
    assert repr(nn.Flatten()) == "Flatten(start_dim=1, end_dim=-1)"
    assert "(fc1): Linear(in_features=4, out_features=3, bias=True)" in repr(Block())


def test_module_call_copies_arrays_like_tensor():
    seen = []

    class Spy(nn.Module):
        def forward(self, x):
            seen.append(x)
            return x

    array = np.ones((2, 3), np.float32)
    Spy()(array)
    assert isinstance(seen[0], cr.Tensor) and not np.shares_memory(seen[0].detach().numpy(), array)
    array[0, 0] = 5.0  # changing the caller's array later cannot change what was computed
    assert seen[0].detach().numpy()[0, 0] == 1.0


def test_forward_must_be_defined():
    with pytest.raises(NotImplementedError, match="Empty"):
        type("Empty", (nn.Module,), {})()(np.ones(1))


# ---------------------------------------------------------------- scopes

def graph_scopes(out):
    """node.scope of every non-leaf node reachable from ``out``."""
    scopes, stack, seen = [], [out.node], set()
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        if node.op is not None:
            scopes.append(node.scope)
        stack.extend(node.parents)
    return set(scopes)


class Encoder(nn.Module):
    def __init__(self):
        self.fc1 = nn.Linear(4, 3)
        self.act = nn.ReLU()

    def forward(self, x):
        return self.act(self.fc1(x))


class Net(nn.Module):
    def __init__(self):
        self.encoder = Encoder()
        self.heads = [nn.Linear(3, 2)]

    def forward(self, x):
        return self.heads[0](self.encoder(x)) * 2  # this mul belongs to the root: no scope


def test_nodes_record_the_module_path_as_scope():
    out = Net()(np.ones((2, 4), np.float32))
    assert out.node.scope is None
    assert graph_scopes(out) == {None, "encoder.fc1", "encoder.act", "heads.0"}


def test_sequential_scopes_are_the_state_dict_prefixes():
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Sequential(nn.Linear(3, 3), nn.Tanh()))
    out = model(np.ones((2, 4), np.float32))
    assert out.node.scope == "2.1"
    assert graph_scopes(out) == {"0", "1", "2.0", "2.1"}


def test_scope_of_a_module_appended_to_a_list_after_assignment():
    net = Net()
    net.heads.append(nn.Linear(3, 2))
    list(net.named_modules())  # walking names it, as the optimizer's parameters() call does
    out = net.heads[1](np.ones((1, 3), np.float32))
    assert out.node.scope == "heads.1"


# ---------------------------------------------------------------- layers

def test_linear_forward_is_x_times_weight_transposed_plus_bias():
    layer = nn.Linear(3, 2, dtype="float64")
    x = np.random.default_rng(0).normal(size=(5, 3))
    expected = np.array([[sum(x[i, k] * layer.weight.detach().numpy()[j, k] for k in range(3)) +
                          layer.bias.detach().numpy()[j] for j in range(2)] for i in range(5)])
    np.testing.assert_allclose(layer(x).detach().numpy(), expected, rtol=1e-12)
    assert layer.weight.shape == (2, 3) and layer.bias.shape == (2,)
    assert layer.weight.dtype == np.float64
    assert nn.Linear(3, 2).weight.dtype == np.float32


def test_linear_shape_error_names_layer_and_shapes():
    with pytest.raises(cr.ShapeError) as caught:
        nn.Linear(784, 256)(np.zeros((64, 783), np.float32))
    assert str(caught.value) == ("Linear(784, 256): input has 783 features, expected 784; "
                                 "input shape (64, 783)")


@pytest.mark.parametrize("args", [(-1, 3), (3, -1), (2.5, 3), (True, 2)])
def test_linear_rejects_bad_sizes(args):
    with pytest.raises(ValueError, match="Linear"):
        nn.Linear(*args)


def test_linear_with_no_inputs_is_allowed_as_in_torch():
    torch = pytest.importorskip("torch")
    with pytest.warns(UserWarning, match="zero-element"):
        layer = nn.Linear(0, 3)
    with pytest.warns(UserWarning, match="zero-element"):
        theirs = torch.nn.Linear(0, 3)
    out = layer(cr.zeros(2, 0))
    np.testing.assert_array_equal(out.detach().numpy(), theirs(torch.zeros(2, 0)).detach().numpy())
    np.testing.assert_array_equal(layer.bias.detach().numpy(), np.zeros(3))  # bound 0 when fan_in 0


def check_layer_gradients(layer, x_shape, seed=0, low=None):
    """gradcheck the layer's output with respect to its input and every parameter."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=x_shape)
    if low is not None:  # keep piecewise-linear layers away from their kink at 0
        x = np.where(np.abs(x) < low, low * np.sign(x + 1e-300), x)
    names = [name for name, _ in layer.named_parameters()]
    params = [p.detach().numpy().astype(np.float64) for _, p in layer.named_parameters()]

    def fn(x, *ps):
        for name, p in zip(names, ps):
            setattr(layer, name, p)  # these layers keep their parameters in attributes
        return layer(x)

    assert cr.gradcheck(fn, [x, *params])


@pytest.mark.parametrize("make,x_shape,low", [
    (lambda: nn.Linear(4, 3, dtype="float64"), (5, 4), None),
    (lambda: nn.Linear(4, 3, bias=False, dtype="float64"), (2, 6, 4), None),
    (lambda: nn.ReLU(), (4, 5), 0.05),
    (lambda: nn.Sigmoid(), (4, 5), None),
    (lambda: nn.Tanh(), (4, 5), None),
    (lambda: nn.LeakyReLU(0.1), (4, 5), 0.05),
    (lambda: nn.Flatten(), (3, 2, 4), None),
    (lambda: nn.Flatten(start_dim=2), (3, 2, 4, 2), None),
    (lambda: nn.Dropout(0.0), (3, 4), None),
], ids=["linear", "linear-nobias-3d", "relu", "sigmoid", "tanh", "leaky", "flatten",
        "flatten-2", "dropout-p0"])
def test_layer_gradients(make, x_shape, low):
    check_layer_gradients(make(), x_shape, low=low)


def test_dropout_gradient_with_fixed_mask():
    layer = nn.Dropout(0.4, generator=np.random.default_rng(3))
    x = np.random.default_rng(0).normal(size=(4, 6))

    def fn(x):
        layer.generator = np.random.default_rng(3)  # the same mask on every evaluation
        return layer(x)

    assert cr.gradcheck(fn, [x])


def test_sequential_mlp_gradients():
    model = nn.Sequential(nn.Linear(4, 5, dtype="float64"), nn.Tanh(),
                          nn.Linear(5, 3, dtype="float64"))
    names = [name for name, _ in model.named_parameters()]

    def fn(x, *params):
        for name, p in zip(names, params):
            index, attribute = name.split(".")
            setattr(model[int(index)], attribute, p)
        return model(x)

    x = np.random.default_rng(1).normal(size=(3, 4))
    assert cr.gradcheck(fn, [x, *[p.detach().numpy() for p in model.parameters()]])


def test_activation_values():
    x = np.array([-2.0, -0.5, 0.0, 0.5, 3.0])
    np.testing.assert_allclose(nn.ReLU()(x).detach().numpy(), [0, 0, 0, 0.5, 3])
    np.testing.assert_allclose(nn.LeakyReLU(0.1)(x).detach().numpy(), [-0.2, -0.05, 0, 0.5, 3])
    np.testing.assert_allclose(nn.Sigmoid()(x).detach().numpy(), 1 / (1 + np.exp(-x)), rtol=1e-12)
    np.testing.assert_allclose(nn.Tanh()(x).detach().numpy(), np.tanh(x), rtol=1e-12)
    assert nn.Flatten()(np.zeros((2, 3, 4))).shape == (2, 12)


# ---------------------------------------------------------------- dropout

def test_dropout_is_the_identity_in_eval_mode():
    layer = nn.Dropout(0.5).eval()
    x = np.random.default_rng(0).normal(size=(10, 10))
    np.testing.assert_array_equal(layer(x).detach().numpy(), x)


def test_dropout_keeps_the_mean_and_drops_about_p():
    manual_seed(0)
    x = np.ones(200_000, np.float32)
    out = nn.Dropout(0.3)(x).detach().numpy()
    assert out.dtype == np.float32
    assert abs((out == 0).mean() - 0.3) < 0.005
    assert abs(out.mean() - 1.0) < 0.01
    np.testing.assert_allclose(np.unique(out), [0.0, 1 / 0.7], rtol=1e-6)


def test_dropout_same_seed_same_mask():
    x = np.ones((50, 50))
    manual_seed(123)
    first = nn.Dropout(0.5)(x).detach().numpy()
    manual_seed(123)
    second = nn.Dropout(0.5)(x).detach().numpy()
    third = nn.Dropout(0.5)(x).detach().numpy()
    np.testing.assert_array_equal(first, second)
    assert not np.array_equal(second, third)
    a = nn.Dropout(0.5, generator=np.random.default_rng(9))(x).detach().numpy()
    b = nn.Dropout(0.5, generator=np.random.default_rng(9))(x).detach().numpy()
    np.testing.assert_array_equal(a, b)


def test_dropout_extremes_and_bad_p():
    x = np.ones((3, 3))
    np.testing.assert_array_equal(nn.Dropout(1.0)(x).detach().numpy(), np.zeros((3, 3)))
    np.testing.assert_array_equal(nn.Dropout(0.0)(x).detach().numpy(), x)
    for p in (-0.1, 1.5, "0.5", None):
        with pytest.raises(ValueError, match="dropout probability"):
            nn.Dropout(p)


def test_dropout_mask_follows_the_module_mode_inside_a_model():
    model = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.9))
    x = np.ones((64, 4), np.float32)
    model.eval()
    np.testing.assert_array_equal(model(x).detach().numpy(), model(x).detach().numpy())
    model.train()
    assert not np.array_equal(model(x).detach().numpy(), model(x).detach().numpy())


# ---------------------------------------------------------------- initialisers

SHAPE = (300, 400)  # fan_out 300, fan_in 400: 120,000 draws, std known to well under 1%
FAN_IN, FAN_OUT = 400, 300


@pytest.mark.parametrize("fill,std", [
    (lambda t: init.normal_(t, 0.0, 0.3), 0.3),
    (lambda t: init.uniform_(t, -0.5, 0.5), 1 / math.sqrt(12)),
    (init.xavier_uniform_, math.sqrt(2 / (FAN_IN + FAN_OUT))),
    (init.xavier_normal_, math.sqrt(2 / (FAN_IN + FAN_OUT))),
    (lambda t: init.xavier_uniform_(t, gain=2.0), 2 * math.sqrt(2 / (FAN_IN + FAN_OUT))),
    (init.kaiming_uniform_, math.sqrt(2 / FAN_IN)),
    (init.kaiming_normal_, math.sqrt(2 / FAN_IN)),
    (lambda t: init.kaiming_normal_(t, mode="fan_out"), math.sqrt(2 / FAN_OUT)),
    (lambda t: init.kaiming_uniform_(t, a=math.sqrt(5)), 1 / math.sqrt(3 * FAN_IN)),
    (lambda t: init.kaiming_normal_(t, nonlinearity="relu"), math.sqrt(2 / FAN_IN)),
    (lambda t: init.kaiming_normal_(t, nonlinearity="tanh"), 5 / 3 / math.sqrt(FAN_IN)),
    (init.d2l_normal_, 0.01),
    (init.get("d2l"), 0.01),
], ids=["normal", "uniform", "xavier_u", "xavier_n", "xavier_gain", "kaiming_u", "kaiming_n",
        "kaiming_fan_out", "kaiming_torch_default", "kaiming_relu", "kaiming_tanh", "d2l",
        "get-d2l"])
def test_init_standard_deviation(fill, std):
    manual_seed(0)
    w = nn.Parameter(np.empty(SHAPE, np.float32))
    assert fill(w) is w
    assert abs(w.detach().numpy().std() - std) < 0.01 * std
    assert abs(w.detach().numpy().mean()) < 0.02 * std + 1e-9


def test_uniform_inits_respect_their_bound():
    manual_seed(0)
    w = init.kaiming_uniform_(nn.Parameter(np.empty(SHAPE)))
    bound = math.sqrt(6 / FAN_IN)  # He: sqrt(3) * sqrt(2 / fan_in)
    assert w.detach().numpy().max() <= bound and w.detach().numpy().min() >= -bound
    assert w.detach().numpy().max() > 0.99 * bound


def test_init_matches_torch_fans_for_conv_shaped_weights():
    # (out, in, kh, kw): fan_in = in * kh * kw, as torch.nn.init computes it
    assert init.fans((8, 3, 5, 5)) == (75, 200)
    with pytest.raises(ValueError, match="at least 2 axes"):
        init.xavier_uniform_(nn.Parameter(np.zeros(5)))


def test_linear_init_by_name_and_seed():
    manual_seed(5)
    a = nn.Linear(50, 40, init="d2l")
    manual_seed(5)
    b = nn.Linear(50, 40, init="d2l")
    np.testing.assert_array_equal(a.weight.detach().numpy(), b.weight.detach().numpy())
    assert abs(a.weight.detach().numpy().std() - 0.01) < 0.001
    np.testing.assert_array_equal(a.bias.detach().numpy(), np.zeros(40))
    c = nn.Linear(50, 40, init="xavier_normal_", generator=np.random.default_rng(1))
    d = nn.Linear(50, 40, init="xavier_normal", generator=np.random.default_rng(1))
    np.testing.assert_array_equal(c.weight.detach().numpy(), d.weight.detach().numpy())
    e = nn.Linear(3, 2, init=init.zeros_)
    np.testing.assert_array_equal(e.weight.detach().numpy(), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="unknown init 'glorot'"):
        nn.Linear(3, 2, init="glorot")


def test_default_generator_and_manual_seed():
    g = manual_seed(7)
    assert default_generator() is g
    first = default_generator().random()
    manual_seed(7)
    assert default_generator().random() == first
    with pytest.raises(ValueError, match="-1"):
        manual_seed(-1)
    with pytest.raises(TypeError):
        manual_seed(1.5)
    with pytest.raises(TypeError, match="Generator"):
        nn.Linear(2, 2, generator=3)


# ---------------------------------------------------------------- against PyTorch

def test_mlp_matches_torch_forward_and_gradients():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    theirs = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.Tanh(), torch.nn.Linear(8, 8),
                                 torch.nn.LeakyReLU(0.05), torch.nn.Linear(8, 3)).double()
    ours = nn.Sequential(nn.Linear(6, 8, dtype="float64"), nn.Tanh(),
                         nn.Linear(8, 8, dtype="float64"), nn.LeakyReLU(0.05),
                         nn.Linear(8, 3, dtype="float64"))
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})

    rng = np.random.default_rng(0)
    x = rng.normal(size=(7, 6))
    y = rng.integers(0, 3, size=7)
    out_theirs = theirs(torch.from_numpy(x))
    torch.nn.functional.cross_entropy(out_theirs, torch.from_numpy(y)).backward()
    out_ours = ours(x)
    nn.functional.cross_entropy(out_ours, y).backward()

    np.testing.assert_allclose(out_ours.detach().numpy(), out_theirs.detach().numpy(), rtol=1e-12,
                               atol=1e-14)
    grads = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.detach().numpy(), grads[name].grad.numpy(), rtol=1e-10,
                                   atol=1e-14, err_msg=name)


def test_no_grad_forward_records_nothing():
    model = nn.Sequential(nn.Linear(3, 3), nn.ReLU())
    with no_grad():
        out = model(np.ones((2, 3), np.float32))
    assert not out.requires_grad and out.node is None
