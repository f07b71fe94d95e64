"""PyTorch's Module API: buffers, dtype conversion, freezing, apply, the containers, and the
names they give, checked against torch.nn where it is installed."""
import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim


class WithStats(nn.Module):
    def __init__(self):
        self.fc = nn.Linear(3, 2)
        self.register_buffer("running_mean", np.zeros(2, dtype=np.float32))
        self.register_buffer("scratch", np.ones(2, dtype=np.float32), persistent=False)

    def forward(self, x):
        return self.fc(x) - self.running_mean


def test_buffers_are_saved_but_not_learned():
    model = nn.Sequential(WithStats(), nn.ReLU())
    assert [n for n, _ in model.named_parameters()] == ["0.fc.weight", "0.fc.bias"]
    assert [n for n, _ in model.named_buffers()] == ["0.running_mean", "0.scratch"]
    # PyTorch's order: a module's own parameters and buffers, then its children's.
    assert list(model.state_dict()) == ["0.running_mean", "0.fc.weight", "0.fc.bias"]
    state = model.state_dict()
    state["0.running_mean"] = np.array([1.0, 2.0], dtype=np.float32)
    model.load_state_dict(state)
    np.testing.assert_array_equal(model[0].running_mean.detach().numpy(), [1.0, 2.0])
    with pytest.raises(nn.StateDictError, match="running_mean.*expected \\(2,\\) got \\(3,\\)"):
        model.load_state_dict({**state, "0.running_mean": np.zeros(3)})
    np.testing.assert_array_equal(model[0].running_mean.detach().numpy(), [1.0, 2.0])  # untouched


def test_an_optimizer_never_sees_a_buffer():
    model = WithStats()
    opt = optim.SGD(model.parameters(), lr=0.1)
    assert all(p is not model.running_mean for p in opt.parameters())


def test_to_double_converts_parameters_and_buffers_and_keeps_identity():
    model = WithStats()
    weight = model.fc.weight
    assert model.double() is model
    assert model.fc.weight is weight and weight.dtype == np.float64
    assert model.running_mean.dtype == np.float64
    assert model(cr.ones(1, 3, dtype="float64")).dtype == np.float64
    model.float()
    assert weight.dtype == np.float32
    assert model.to("cpu") is model
    with pytest.raises(TypeError, match="floating point"):
        model.to(cr.int64)


def test_requires_grad_freezes_and_optimizers_skip_frozen_parameters():
    model = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 1))
    model[0].requires_grad_(False)
    before = model[0].weight.detach().numpy().copy()
    with pytest.warns(UserWarning, match="frozen"):
        opt = optim.SGD(model.parameters(), lr=0.1)
    model(cr.ones(3, 2)).sum().backward()
    assert model[0].weight.grad is None
    opt.step()
    np.testing.assert_array_equal(model[0].weight.detach().numpy(), before)


def test_apply_visits_children_before_their_parent_in_torchs_order():
    torch = pytest.importorskip("torch")

    def build(lib):
        class Net(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.first = lib.nn.Linear(2, 3)
                self.inner = lib.nn.Sequential(lib.nn.Linear(3, 3), lib.nn.ReLU(),
                                               lib.nn.Sequential(lib.nn.Tanh()))
                self.last = lib.nn.Linear(3, 1)
        return Net()

    def names(lib):
        model = build(lib)
        visited = []
        assert model.apply(lambda m: visited.append(type(m).__name__)) is model
        return visited

    assert names(cr) == names(torch)
    assert names(cr)[-1] == "Net" and names(cr)[0] == "Linear"


@pytest.mark.parametrize("owner", ["module", "optimizer"])
def test_zero_grad_set_to_none_as_torch(owner):
    torch = pytest.importorskip("torch")
    for lib in (cr, torch):
        layer = lib.nn.Linear(2, 1)
        opt = lib.optim.SGD(layer.parameters(), lr=0.1)
        zero = layer.zero_grad if owner == "module" else opt.zero_grad
        layer(lib.ones(3, 2)).sum().backward()
        zero()
        assert layer.weight.grad is None  # the default, as torch's
        layer(lib.ones(3, 2)).sum().backward()
        grad = layer.weight.grad
        zero(set_to_none=False)
        assert layer.weight.grad is grad  # zeroed in place
        np.testing.assert_array_equal(grad.numpy(), np.zeros((1, 2)))


def test_zero_grad_false_cuts_a_gradient_from_its_graph():
    w = nn.Parameter(np.array([1.0, 2.0]))
    (w ** 3).sum().backward(create_graph=True)
    assert w.grad.requires_grad
    nn.Linear(1, 1).zero_grad()  # another module: w untouched
    assert w.grad.requires_grad
    optim.SGD([w], lr=0.1).zero_grad(set_to_none=False)
    assert not w.grad.requires_grad
    np.testing.assert_array_equal(w.grad.numpy(), [0.0, 0.0])


def test_module_list_and_dict_register_their_modules():
    class Net(nn.Module):
        def __init__(self):
            self.blocks = nn.ModuleList([nn.Linear(2, 2) for _ in range(2)])
            self.heads = nn.ModuleDict({"a": nn.Linear(2, 1), "b": nn.Identity()})

        def forward(self, x):
            for block in self.blocks:
                x = block(x)
            return self.heads["a"](x)

    net = Net()
    names = [n for n, _ in net.named_parameters()]
    assert names == ["blocks.0.weight", "blocks.0.bias", "blocks.1.weight", "blocks.1.bias",
                     "heads.a.weight", "heads.a.bias"]
    net.blocks.append(nn.Linear(2, 2))
    assert len(net.blocks) == 3 and "blocks.2.weight" in net.state_dict()
    assert "b" in net.heads and list(net.heads.keys()) == ["a", "b"]
    assert net(cr.ones(4, 2)).shape == (4, 1)
    with pytest.raises(TypeError, match="not a Module"):
        net.heads["c"] = 3


def test_names_and_state_dicts_match_pytorch():
    torch = pytest.importorskip("torch")
    tnn = torch.nn
    ours = nn.Sequential(nn.Linear(3, 4), nn.GELU(), nn.ModuleList([nn.Linear(4, 4)]),
                         nn.Identity())
    theirs = tnn.Sequential(tnn.Linear(3, 4), tnn.GELU(), tnn.ModuleList([tnn.Linear(4, 4)]),
                            tnn.Identity())
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]
    for (name, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert p.shape == tuple(q.shape), name
