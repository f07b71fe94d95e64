"""cr.set_default_dtype / cr.get_default_dtype against PyTorch's: under each default (float64,
float16, and float32 as a control) every factory, every integer-to-float promotion, every
layer's parameters and buffers, nn.init and an optimizer's step count get PyTorch's dtype, while
Python floats stay weak (a float32 tensor times 2.5 is float32); a small MLP made under a float64
default passes the central-difference gradient check. The `default` fixture sets both libraries'
defaults and restores them afterwards, also when a test fails."""
import threading

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

DEFAULTS = ("float64", "float16", "float32")


@pytest.fixture(autouse=True)
def starts_from_float32():
    # Every test here starts from PyTorch's float32, so the `default` fixture of the test
    # before it (failed or not) restored both settings.
    assert cr.get_default_dtype() == cr.float32 and torch.get_default_dtype() == torch.float32


@pytest.fixture
def default():
    """``default("float64")`` sets both libraries' default dtype; the old ones come back at the
    end of the test, whatever happened in it."""
    before = cr.get_default_dtype(), torch.get_default_dtype()

    def use(name):
        cr.set_default_dtype(getattr(cr, name))
        torch.set_default_dtype(getattr(torch, name))

    try:
        yield use
    finally:
        cr.set_default_dtype(before[0])
        torch.set_default_dtype(before[1])


def dtype_name(dtype):
    return str(dtype).replace("torch.", "")


def as_numpy(value):
    return value.detach().numpy() if hasattr(value, "detach") else value.numpy()


# -- factories ---------------------------------------------------------------------------------
# (name, call on the library m, whether the values are deterministic and compared too)

FACTORIES = [
    ("tensor of floats", lambda m: m.tensor([1.5, -2.25]), True),
    ("tensor of a float", lambda m: m.tensor(0.1), True),
    ("tensor of ints and floats", lambda m: m.tensor([1, 2.5]), True),
    ("tensor of an empty list", lambda m: m.tensor([]), True),
    ("tensor of ints", lambda m: m.tensor([1, 2]), True),
    ("tensor of bools", lambda m: m.tensor([True, False]), True),
    ("tensor of a float32 array", lambda m: m.tensor(np.array([1.5], np.float32)), True),
    ("tensor of an np.float64", lambda m: m.tensor(np.float64(2.5)), True),
    ("as_tensor of floats", lambda m: m.as_tensor([0.5, 1.5]), True),
    ("zeros", lambda m: m.zeros(2, 3), True),
    ("ones", lambda m: m.ones(2), True),
    ("empty", lambda m: m.empty(2, 2), False),
    ("full of a float", lambda m: m.full((2,), 1.5), True),
    ("full of an int", lambda m: m.full((2,), 3), True),
    ("full of a bool", lambda m: m.full((2,), True), True),
    ("arange of ints", lambda m: m.arange(4), True),
    ("arange of a float start", lambda m: m.arange(0.0, 3), True),
    ("arange of a float step", lambda m: m.arange(0, 2, 0.5), True),
    ("linspace of ints", lambda m: m.linspace(0, 1, 5), True),
    ("linspace of floats", lambda m: m.linspace(-1.0, 1.0, 3), True),
    ("eye", lambda m: m.eye(2, 3), True),
    ("rand", lambda m: m.rand(3), False),
    ("randn", lambda m: m.randn(2, 2), False),
    ("normal", lambda m: m.normal(0.0, 1.0, (3,)), False),
    ("randint", lambda m: m.randint(0, 5, (3,)), False),
    ("randperm", lambda m: m.randperm(4), False),
    ("zeros_like of a float32", lambda m: m.zeros_like(m.ones(2, dtype=m.float32)), True),
    ("ones_like of an int", lambda m: m.ones_like(m.tensor([1, 2])), True),
    ("full_like of an int with a float", lambda m: m.full_like(m.tensor([1, 2]), 2.5), True),
    ("rand_like of a float32", lambda m: m.rand_like(m.ones(2, dtype=m.float32)), False),
    ("randn_like of a float16", lambda m: m.randn_like(m.ones(2, dtype=m.float16)), False),
    ("empty_like", lambda m: m.empty_like(m.ones(2, dtype=m.float32)), False),
    ("causal mask", lambda m: m.nn.Transformer.generate_square_subsequent_mask(3), True),
]


@pytest.mark.parametrize("name", DEFAULTS)
@pytest.mark.parametrize("label, make, exact", FACTORIES, ids=[f[0] for f in FACTORIES])
def test_a_factory_gives_pytorchs_dtype_under_the_default(default, name, label, make, exact):
    default(name)
    ours, theirs = make(cr), make(torch)
    assert dtype_name(ours.dtype) == dtype_name(theirs.dtype), label
    assert tuple(ours.shape) == tuple(theirs.shape), label
    if exact:
        np.testing.assert_array_equal(as_numpy(ours), as_numpy(theirs), err_msg=label)


# -- promotion ---------------------------------------------------------------------------------

PROMOTIONS = [
    ("int * float", lambda m, i: i * 0.5),
    ("float * int", lambda m, i: 0.5 * i),
    ("int + float", lambda m, i: i + 1.5),
    ("float - int", lambda m, i: 1.5 - i),
    ("int / int scalar", lambda m, i: i / 2),
    ("int / int tensor", lambda m, i: i / (i + 1)),
    ("true_divide", lambda m, i: m.true_divide(i, 3)),
    ("int ** float", lambda m, i: i ** 0.5),
    ("float ** int", lambda m, i: 2.0 ** i),
    ("bool * float", lambda m, i: (i > 1) * 0.5),
    ("int + 0-d float tensor", lambda m, i: i + m.tensor(0.5)),
    ("int clamped at a float", lambda m, i: i.clamp(min=0.5)),
    ("where(int, float)", lambda m, i: m.where(i > 1, i, 0.5)),
    ("int + np.float64", lambda m, i: i + np.float64(0.25)),
    ("float32 * float stays", lambda m, i: i.to(m.float32) * 2.5),
    ("float16 * float stays", lambda m, i: i.to(m.float16) * 2.5),
    ("float32 + 0-d float64 stays", lambda m, i: i.to(m.float32) + m.tensor(0.5, dtype=m.float64)),
    ("float32 + float64 promotes", lambda m, i: i.to(m.float32) + i.to(m.float64)),
    ("float16 + int", lambda m, i: i.to(m.float16) + i),
    ("int * int stays", lambda m, i: i * 3),
    ("sqrt of int", lambda m, i: m.sqrt(i)),
    ("exp of int", lambda m, i: i.exp()),
    ("log1p of int", lambda m, i: m.log1p(i)),
    ("sin of int", lambda m, i: m.sin(i)),
    ("sigmoid of int", lambda m, i: m.sigmoid(i)),
    ("tanh of int", lambda m, i: m.tanh(i)),
    ("erf of int", lambda m, i: m.erf(i)),
    ("atan2 of ints", lambda m, i: m.atan2(i, i + 1)),
    ("reciprocal of int", lambda m, i: m.reciprocal(i + 1)),
    ("rsqrt of int", lambda m, i: m.rsqrt(i + 1)),
    ("logsumexp of int", lambda m, i: m.logsumexp(i, 0)),
    ("mean of float(int)", lambda m, i: i.float().mean()),
    ("mean of int with dtype", lambda m, i: i.mean(dtype=m.float64)),
    ("sum of int", lambda m, i: i.sum()),
    ("where of two floats", lambda m, i: m.where(i > 1, 1.0, 0.0)),
    ("pow(float, int)", lambda m, i: m.pow(2.0, i)),
    ("bool + float", lambda m, i: m.ones(4, dtype=m.bool) + 0.5),
    ("new_full of an int", lambda m, i: i.new_full((2,), 1.5)),
]


@pytest.mark.parametrize("name", DEFAULTS)
@pytest.mark.parametrize("label, call", PROMOTIONS, ids=[p[0] for p in PROMOTIONS])
def test_promotion_follows_the_default_as_pytorchs(default, name, label, call):
    default(name)
    ours, theirs = call(cr, cr.arange(4)), call(torch, torch.arange(4))
    assert dtype_name(ours.dtype) == dtype_name(theirs.dtype), label
    tolerance = 2e-3 if ours.dtype == np.float16 else 1e-6
    np.testing.assert_allclose(as_numpy(ours).astype(np.float64),
                               as_numpy(theirs).astype(np.float64), rtol=tolerance,
                               atol=tolerance, err_msg=label)


@pytest.mark.parametrize("name", DEFAULTS)
def test_mean_of_an_integer_tensor_is_refused_under_every_default(default, name):
    default(name)
    with pytest.raises(RuntimeError):
        torch.arange(4).mean()
    with pytest.raises(cr.DtypeError, match="mean"):
        cr.arange(4).mean()


def test_a_python_float_stays_weak_under_a_float64_default(default):
    default("float64")
    for dtype in (cr.float16, cr.float32):
        x = cr.ones(2, dtype=dtype)
        assert (x * 2.5).dtype == dtype and (x / 3).dtype == dtype and (1.5 - x).dtype == dtype


# -- layers ------------------------------------------------------------------------------------

LAYERS = [
    ("Linear", lambda n: n.Linear(3, 2)),
    ("Conv1d", lambda n: n.Conv1d(2, 3, 2)),
    ("Conv2d", lambda n: n.Conv2d(2, 4, 3, groups=2)),
    ("Conv3d", lambda n: n.Conv3d(1, 2, 2)),
    ("ConvTranspose1d", lambda n: n.ConvTranspose1d(2, 3, 2)),
    ("ConvTranspose2d", lambda n: n.ConvTranspose2d(2, 3, 2)),
    ("BatchNorm1d", lambda n: n.BatchNorm1d(3)),
    ("BatchNorm2d", lambda n: n.BatchNorm2d(3)),
    ("LayerNorm", lambda n: n.LayerNorm((2, 3))),
    ("GroupNorm", lambda n: n.GroupNorm(2, 4)),
    ("Embedding", lambda n: n.Embedding(5, 3, padding_idx=0)),
    ("RNN", lambda n: n.RNN(3, 4, num_layers=2)),
    ("LSTM", lambda n: n.LSTM(3, 4, bidirectional=True)),
    ("GRU", lambda n: n.GRU(3, 4)),
    ("RNNCell", lambda n: n.RNNCell(3, 4)),
    ("LSTMCell", lambda n: n.LSTMCell(3, 4)),
    ("GRUCell", lambda n: n.GRUCell(3, 4)),
    ("MultiheadAttention", lambda n: n.MultiheadAttention(4, 2)),
    ("MultiheadAttention kdim", lambda n: n.MultiheadAttention(4, 2, kdim=3, vdim=5,
                                                                add_bias_kv=True)),
    ("TransformerEncoderLayer", lambda n: n.TransformerEncoderLayer(4, 2, 8)),
    ("TransformerDecoderLayer", lambda n: n.TransformerDecoderLayer(4, 2, 8)),
    ("Transformer", lambda n: n.Transformer(4, 2, 1, 1, 8, batch_first=True)),
    ("LazyLinear", lambda n: n.LazyLinear(2)),
    ("LazyConv2d", lambda n: n.LazyConv2d(2, 2)),
    ("LazyBatchNorm1d", lambda n: n.LazyBatchNorm1d()),
]


def _dtypes(module):
    return sorted((name, dtype_name(t.dtype))
                  for name, t in [*module.named_parameters(), *module.named_buffers()])


@pytest.mark.parametrize("name", DEFAULTS)
@pytest.mark.parametrize("label, make", LAYERS, ids=[layer[0] for layer in LAYERS])
def test_a_layers_parameters_and_buffers_take_the_default_as_pytorchs(default, name, label,
                                                                      make):
    default(name)
    ours = _dtypes(make(cr.nn))
    assert ours == _dtypes(make(torch.nn)), label
    assert any(dtype == name for _, dtype in ours), label


FORWARDS = [
    ("LSTM", lambda m, n: n.LSTM(2, 3)(m.randn(4, 1, 2))[0]),
    ("Conv2d", lambda m, n: n.Conv2d(1, 2, 2)(m.randn(1, 1, 3, 3))),
    ("BatchNorm1d", lambda m, n: n.BatchNorm1d(3)(m.randn(4, 3))),
    ("Embedding", lambda m, n: n.Embedding(5, 2)(m.arange(4))),
    ("MultiheadAttention with a bool mask", lambda m, n: n.MultiheadAttention(4, 2)(
        *[m.randn(3, 1, 4)] * 3, attn_mask=m.ones(3, 3, dtype=m.bool).triu(1))[0]),
    ("TransformerEncoderLayer with the causal mask", lambda m, n: n.TransformerEncoderLayer(
        4, 2, 8, dropout=0.0)(m.randn(3, 1, 4),
                              src_mask=n.Transformer.generate_square_subsequent_mask(3))),
]


@pytest.mark.parametrize("name", ("float64", "float16"))
@pytest.mark.parametrize("label, run", FORWARDS, ids=[f[0] for f in FORWARDS])
def test_a_layer_made_under_the_default_computes_in_it(default, name, label, run):
    default(name)
    assert dtype_name(run(cr, cr.nn).dtype) == dtype_name(run(torch, torch.nn).dtype) == name


@pytest.mark.parametrize("name", ("float64", "float16"))
def test_lazy_layers_materialize_in_the_default_of_their_construction(default, name):
    default(name)
    ours, theirs = cr.nn.LazyLinear(2), torch.nn.LazyLinear(2)
    default("float32")
    ours(cr.ones(1, 3, dtype=getattr(cr, name)))
    theirs(torch.ones(1, 3, dtype=getattr(torch, name)))
    assert _dtypes(ours) == _dtypes(theirs) == [("bias", name), ("weight", name)]


def test_an_explicit_layer_dtype_wins_over_the_default_and_a_non_float_is_refused(default):
    default("float64")
    assert cr.nn.Linear(2, 2, dtype=cr.float32).weight.dtype == np.float32
    assert cr.nn.LSTM(2, 2, dtype="float16").weight_ih_l0.dtype == np.float16
    for make in (lambda: cr.nn.Linear(2, 2, dtype=cr.int64),
                 lambda: cr.nn.Conv2d(1, 1, 1, dtype="int32"),
                 lambda: cr.nn.Embedding(3, 2, dtype=cr.bool)):
        with pytest.raises(ValueError, match="dtype must be a float type"):
            make()


def test_existing_tensors_and_layers_keep_their_dtype_when_the_default_changes(default):
    x, layer = cr.ones(2), cr.nn.Linear(2, 2)
    default("float64")
    assert x.dtype == np.float32 and layer.weight.dtype == np.float32
    assert layer(cr.ones(1, 2, dtype=cr.float32)).dtype == np.float32


# -- nn.init and optimizers --------------------------------------------------------------------

INITS = [
    ("uniform_", lambda n, t: n.init.uniform_(t, -1, 1)),
    ("normal_", lambda n, t: n.init.normal_(t, 0, 2)),
    ("trunc_normal_", lambda n, t: n.init.trunc_normal_(t)),
    ("constant_", lambda n, t: n.init.constant_(t, 0.3)),
    ("ones_", lambda n, t: n.init.ones_(t)),
    ("zeros_", lambda n, t: n.init.zeros_(t)),
    ("eye_", lambda n, t: n.init.eye_(t)),
    ("xavier_uniform_", lambda n, t: n.init.xavier_uniform_(t)),
    ("xavier_normal_", lambda n, t: n.init.xavier_normal_(t)),
    ("kaiming_uniform_", lambda n, t: n.init.kaiming_uniform_(t, a=5 ** 0.5)),
    ("kaiming_normal_", lambda n, t: n.init.kaiming_normal_(t, nonlinearity="relu")),
]


@pytest.mark.parametrize("name", ("float64", "float16"))
@pytest.mark.parametrize("label, fill", INITS, ids=[i[0] for i in INITS])
def test_an_init_fills_a_default_dtype_tensor_in_its_dtype(default, name, label, fill):
    default(name)
    ours, theirs = cr.empty(40, 30), torch.empty(40, 30)
    assert fill(cr.nn, ours) is ours and fill(torch.nn, theirs) is theirs
    assert dtype_name(ours.dtype) == dtype_name(theirs.dtype) == name, label
    # The same distribution: the spread of 1200 draws agrees within a loose margin.
    spread = [float(np.std(as_numpy(t).astype(np.float64))) for t in (ours, theirs)]
    assert spread[0] == pytest.approx(spread[1], rel=0.15, abs=1e-3), label


@pytest.mark.parametrize("name", DEFAULTS)
def test_adam_counts_steps_in_pytorchs_dtype(default, name):
    default(name)
    ours = cr.nn.Parameter(cr.ones(2, dtype=cr.float32))
    theirs = torch.nn.Parameter(torch.ones(2, dtype=torch.float32))
    ours.grad, theirs.grad = cr.ones(2, dtype=cr.float32), torch.ones(2, dtype=torch.float32)
    counts = []
    for optim, p in ((cr.optim, ours), (torch.optim, theirs)):
        for make in (optim.Adam, optim.RMSprop):
            step = make([p], lr=0.1)
            step.step()
            counts.append(dtype_name(step.state[p]["step"].dtype))
    assert counts[:2] == counts[2:]


# -- a gradient check through the default ------------------------------------------------------

def test_a_small_mlp_made_under_a_float64_default_passes_gradcheck_and_matches_pytorch(default):
    default("float64")
    cr.manual_seed(0)
    model = cr.nn.Sequential(cr.nn.Linear(3, 5), cr.nn.Tanh(), cr.nn.Linear(5, 2))
    x = cr.randn(4, 3, requires_grad=True)
    assert all(p.dtype == np.float64 for p in model.parameters()) and x.dtype == np.float64
    weights = list(model.parameters())

    def loss(x, *params):
        w1, b1, w2, b2 = params
        return ((cr.tanh(x @ w1.T + b1) @ w2.T + b2) ** 2).sum()

    assert cr.gradcheck(loss, (x, *weights))
    assert cr.gradgradcheck(loss, (x, *weights))
    # The module's own forward and backward against PyTorch's with the same weights.
    twin = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.Tanh(), torch.nn.Linear(5, 2))
    with torch.no_grad():
        for ours, theirs in zip(weights, twin.parameters()):
            theirs.copy_(torch.from_numpy(ours.detach().numpy()))
    tx = torch.from_numpy(x.detach().numpy()).requires_grad_()
    (model(x) ** 2).sum().backward()
    (twin(tx) ** 2).sum().backward()
    assert twin[0].weight.dtype == torch.float64
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12, atol=1e-14)
    for ours, theirs in zip(weights, twin.parameters()):
        np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-12,
                                   atol=1e-14)


# -- the setting itself ------------------------------------------------------------------------

@pytest.mark.parametrize("bad, theirs", [
    ("int64", "int64"), ("int32", "int32"), ("uint8", "uint8"), ("bool", "bool"),
])
def test_a_non_float_default_is_refused_naming_it_and_changes_nothing(default, bad, theirs):
    default("float64")
    with pytest.raises(TypeError):
        torch.set_default_dtype(getattr(torch, theirs))
    with pytest.raises(TypeError, match=f"only floating-point types .* got {bad}"):
        cr.set_default_dtype(getattr(cr, bad))
    assert cr.get_default_dtype() == cr.float64


@pytest.mark.parametrize("bad", [float, int, bool, None, "complex64", "not a dtype", 3])
def test_python_types_and_non_dtypes_are_refused_as_pytorch_refuses_them(default, bad):
    with pytest.raises(TypeError, match="set_default_dtype"):
        cr.set_default_dtype(bad)
    if bad is not None and not isinstance(bad, (str, int)):
        with pytest.raises(TypeError):
            torch.set_default_dtype(bad)
    assert cr.get_default_dtype() == cr.float32


def test_get_default_dtype_answers_as_pytorch_and_names_are_accepted(default):
    assert cr.get_default_dtype() == cr.float32 and torch.get_default_dtype() == torch.float32
    for name, spelled in (("float64", "double"), ("float16", "half"), ("float32", "float32")):
        cr.set_default_dtype(spelled)
        assert cr.get_default_dtype() == getattr(cr, name)
    cr.set_default_dtype(np.float64)
    assert cr.get_default_dtype() == cr.float64 and cr.tensor(0.5).dtype == np.float64


def test_the_default_is_process_global_as_pytorchs(default):
    thread = threading.Thread(target=lambda: default("float64"))
    thread.start()
    thread.join()
    assert cr.get_default_dtype() == cr.float64 and torch.get_default_dtype() == torch.float64


def test_the_datasets_examples_take_the_default_as_torchvisions_to_tensor(default):
    pytest.importorskip("sklearn")  # the digits file ships with scikit-learn
    x32 = cr.data.digits()[0].x
    default("float64")
    x64 = cr.data.digits()[0].x
    assert x32.dtype == np.float32 and x64.dtype == np.float64
    np.testing.assert_array_equal(x64, x32)  # pixels / 16 are exact in both
    batch, _ = next(iter(cr.data.DataLoader(cr.data.digits()[0], batch_size=4)))
    assert cr.nn.Linear(64, 10)(batch).dtype == np.float64
