"""``cr.Tensor(...)`` is PyTorch's legacy constructor ``torch.Tensor``: data in the default
float dtype whatever its own (``Tensor([1, 2])`` was int64, so ``x[0] = 0.7`` stored 0 and
``.mean()`` raised), bare ints as a size, a tensor as itself; ``cr.tensor`` infers the dtype.
And ``nn.Parameter`` refuses integer data that would require grad, as PyTorch does, instead of
a float32 copy that no longer shared the caller's memory."""
import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

CASES = {
    "list of ints": lambda m: m.Tensor([1, 2]),
    "nested list": lambda m: m.Tensor([[1, 2], [3, 4]]),
    "list of floats": lambda m: m.Tensor([0.5, 1.5]),
    "list of bools": lambda m: m.Tensor([True, False]),
    "int array": lambda m: m.Tensor(np.array([1, 2])),
    "float64 array": lambda m: m.Tensor(np.array([0.1, 0.2])),
    "uint8 array": lambda m: m.Tensor(np.array([[255, 1]], dtype=np.uint8)),
    "empty": lambda m: m.Tensor(),
    "an int tensor": lambda m: m.Tensor(m.tensor([1, 2])),
    "a float64 tensor": lambda m: m.Tensor(m.tensor([1.0], dtype=m.float64)),
}


@pytest.mark.parametrize("default", ["float32", "float64"])
@pytest.mark.parametrize("name", list(CASES))
def test_legacy_constructor_as_pytorch(name, default):
    before = cr.get_default_dtype(), torch.get_default_dtype()
    try:
        cr.set_default_dtype(getattr(cr, default))
        torch.set_default_dtype(getattr(torch, default))
        expected, got = CASES[name](torch), CASES[name](cr)
    finally:
        cr.set_default_dtype(before[0])
        torch.set_default_dtype(before[1])
    assert str(got.dtype) == str(expected.dtype).replace("torch.", "")
    assert got.tolist() == expected.tolist() and tuple(got.shape) == tuple(expected.shape)


@pytest.mark.parametrize("sizes", [(2, 3), (0,), (4,), (1, 2, 3)])
def test_sizes_make_an_uninitialised_tensor(sizes):
    t = cr.Tensor(*sizes)
    assert tuple(t.shape) == tuple(torch.Tensor(*sizes).shape) and t.dtype == cr.float32


def test_the_tutorial_idioms_now_work():
    x = cr.Tensor([1, 2])
    x[0] = 0.7
    assert x.tolist() == pytest.approx([0.7, 2.0]) and float(x.mean()) == pytest.approx(1.35)
    assert x.requires_grad_().requires_grad


def test_a_tensor_is_itself():
    t = cr.tensor([1.0, 2.0])
    alias = cr.Tensor(t)
    alias[0] = 5.0
    assert t.tolist() == [5.0, 2.0]


def test_mixed_arguments_are_refused():
    with pytest.raises(TypeError, match="cr.tensor"):
        cr.Tensor([1, 2], 3)


@pytest.mark.parametrize("data", [np.array([1, 2]), [True, False]], ids=["ints", "bools"])
def test_parameters_of_integers_are_refused_as_pytorch(data):
    with pytest.raises(RuntimeError):
        torch.nn.Parameter(torch.tensor(data))
    with pytest.raises(cr.errors.DtypeError, match="floating-point"):
        cr.nn.Parameter(cr.tensor(data))
    kept = cr.nn.Parameter(cr.tensor(data), requires_grad=False)
    assert kept.dtype == cr.tensor(data).dtype and not kept.requires_grad


def test_parameters_share_float_arrays():
    array = np.zeros(3, dtype=np.float64)
    p = cr.nn.Parameter(array)
    p.data[0] = 1.0
    assert array[0] == 1.0 and p.dtype == cr.float64


def test_a_model_of_lazy_layers_loads_before_its_first_call():
    # d2l's "file I/O": save an MLP's parameters, make a fresh one, load them, compare.
    def mlp(m):
        return m.nn.Sequential(m.nn.LazyLinear(4), m.nn.ReLU(), m.nn.LazyLinear(2))
    trained = mlp(cr)
    x = cr.randn(3, 5)
    expected = trained(x)
    fresh = mlp(cr)
    fresh.load_state_dict(trained.state_dict())
    assert np.array_equal(fresh(x).detach().numpy(), expected.detach().numpy())
    assert fresh[0].in_features == 5 and not isinstance(fresh[0], cr.nn.LazyModuleMixin)


def test_a_failed_load_leaves_the_lazy_layers_lazy():
    model = cr.nn.Sequential(cr.nn.LazyLinear(4), cr.nn.LazyLinear(2))
    state = cr.nn.Sequential(cr.nn.Linear(5, 4), cr.nn.Linear(4, 3)).state_dict()
    with pytest.raises(Exception):
        model.load_state_dict(state)
    assert model[0].has_uninitialized_params() and model[1].has_uninitialized_params()


def test_module_registration_names_as_pytorch():
    from collections import OrderedDict

    def build(m):
        class MySequential(m.nn.Module):  # d2l's builders' guide
            def __init__(self, *args):
                super().__init__()
                for idx, module in enumerate(args):
                    self.add_module(str(idx), module)

            def forward(self, x):
                for block in self.children():
                    x = block(x)
                return x
        net = MySequential(m.nn.Linear(3, 4), m.nn.ReLU(), m.nn.Linear(4, 2))
        net.register_parameter("scale", m.nn.Parameter(m.ones(1)))
        named = m.nn.Sequential(OrderedDict([("fc1", m.nn.Linear(2, 3)), ("act", m.nn.Tanh())]))
        named[0] = m.nn.Linear(2, 3, bias=False)
        named.extra = m.nn.Linear(3, 1)
        return net, named
    (net_t, named_t), (net_c, named_c) = build(torch), build(cr)
    assert list(net_c.state_dict()) == list(net_t.state_dict())
    assert list(named_c.state_dict()) == list(named_t.state_dict())
    assert isinstance(named_c.fc1, cr.nn.Linear) and named_c.fc1.bias is None
    assert named_c(cr.ones(5, 2)).shape == tuple(named_t(torch.ones(5, 2)).shape)
    assert net_c.get_submodule("2") is list(net_c.children())[2]
    with pytest.raises(AttributeError):
        net_c.get_submodule("9")
