"""Weights in and out: safetensors files (chainrule.serialize) and PyTorch modules
(chainrule.interop), checked against PyTorch itself when it is installed. An MLP and a LeNet
trained a few steps in one framework give the same outputs in the other."""
import doctest
import sys

import numpy as np
import pytest

import chainrule as cr
from chainrule import models, nn
from chainrule.errors import CheckpointError
from chainrule.serialize import load_safetensors, save_safetensors
from interop_cases import (MORE_LAYERS, attention, every_layer, lines_and_upsampling,
                           more_options, recurrent, unfolding, volumes, with_indices, SMALL_LAYERS,
                           POOL_LAYERS)

pytest.importorskip("safetensors", reason='pip install -e ".[interop]"')

TOLERANCE = 1e-6


# -- the networks, written out in each framework ---------------------------------------------------

def torch_mlp(torch):
    return torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10))


def chainrule_mlp():
    return models.mlp(64, [32], 10)


def torch_lenet(torch):
    t = torch.nn
    return t.Sequential(
        t.Unflatten(1, (1, 28, 28)),
        t.Conv2d(1, 6, kernel_size=5, padding=2), t.ReLU(), t.MaxPool2d(2, 2),
        t.Conv2d(6, 16, kernel_size=5), t.ReLU(), t.MaxPool2d(2, 2),
        t.Flatten(),
        t.Linear(16 * 5 * 5, 120), t.ReLU(), t.Linear(120, 84), t.ReLU(), t.Linear(84, 10))


NETWORKS = {"mlp": (torch_mlp, chainrule_mlp, 64), "lenet": (torch_lenet, models.lenet, 784)}


def batch(features, size=16, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((size, features), dtype=np.float32), rng.integers(0, 10, size)


def train_torch(torch, model, features, steps=3):
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for step in range(steps):
        x, y = batch(features, seed=step)
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(torch.from_numpy(x)), torch.from_numpy(y)).backward()
        optimizer.step()
    return model


def train_chainrule(model, features, steps=3):
    optimizer = cr.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for step in range(steps):
        x, y = batch(features, seed=step)
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
    return model


def torch_outputs(torch, model, x):
    with torch.no_grad():
        return model.eval()(torch.from_numpy(x)).numpy()


def chainrule_outputs(model, x):
    with cr.no_grad():
        return model.eval()(x).numpy()


def assert_close(ours, theirs):
    assert ours.shape == theirs.shape
    difference = np.abs(ours - theirs).max()
    assert difference <= TOLERANCE, f"outputs differ by {difference:.3g}"


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


# -- safetensors ------------------------------------------------------------------------------------

@pytest.mark.parametrize("network", NETWORKS)
def test_trained_in_torch_saved_by_safetensors_torch_loads_into_chainrule(torch, tmp_path,
                                                                          network):
    from safetensors.torch import save_file
    make_torch, make_ours, features = NETWORKS[network]
    torch.manual_seed(0)
    theirs = train_torch(torch, make_torch(torch), features)
    path = tmp_path / "theirs.safetensors"
    save_file(theirs.state_dict(), str(path))
    ours = make_ours()
    ours.load_state_dict(load_safetensors(path))
    x, _ = batch(features, size=5, seed=99)
    assert_close(chainrule_outputs(ours, x), torch_outputs(torch, theirs, x))


@pytest.mark.parametrize("network", NETWORKS)
def test_trained_in_chainrule_saved_here_loads_into_torch(torch, tmp_path, network):
    from safetensors.torch import load_file
    make_torch, make_ours, features = NETWORKS[network]
    cr.manual_seed(0)
    ours = train_chainrule(make_ours(), features)
    path = tmp_path / "ours.safetensors"
    save_safetensors(ours, path, metadata={"framework": "chainrule"})
    theirs = make_torch(torch)
    theirs.load_state_dict(load_file(str(path)))  # strict: every key and shape as PyTorch's
    x, _ = batch(features, size=5, seed=99)
    assert_close(chainrule_outputs(ours, x), torch_outputs(torch, theirs, x))


def test_batch_norm_buffers_cross_with_pytorch_names_and_dtypes(torch, tmp_path):
    from safetensors.torch import save_file
    torch.manual_seed(0)
    theirs = torch.nn.Sequential(torch.nn.Conv2d(2, 3, 3, bias=False), torch.nn.BatchNorm2d(3))
    for _ in range(3):  # running statistics and num_batches_tracked move
        theirs(torch.randn(4, 2, 6, 6))
    save_file(theirs.state_dict(), str(tmp_path / "bn.safetensors"))
    state = load_safetensors(tmp_path / "bn.safetensors")
    assert state["1.num_batches_tracked"].dtype == np.int64
    assert state["1.num_batches_tracked"].shape == ()
    ours = nn.Sequential(nn.Conv2d(2, 3, 3, bias=False), nn.BatchNorm2d(3))
    ours.load_state_dict(state)
    assert int(ours[1].num_batches_tracked.item()) == 3
    x = np.random.default_rng(0).standard_normal((2, 2, 6, 6)).astype(np.float32)
    assert_close(chainrule_outputs(ours, x), torch_outputs(torch, theirs, x))


def test_attention_layers_cross_with_pytorch_through_safetensors(torch, tmp_path):
    """Each layer of interop_cases.attention (recurrent ones: tests/test_rnn.py), saved by
    PyTorch, loads into the same chainrule layer key for key, and back into PyTorch strictly."""
    from safetensors.torch import load_file, save_file
    torch.manual_seed(0)
    sources, targets = attention(torch.nn), attention(torch.nn)  # drawn apart
    cr.manual_seed(1)
    for theirs, ours, fresh in zip(sources, attention(nn), targets):
        name = type(theirs).__name__
        save_file(theirs.state_dict(), str(tmp_path / "theirs.safetensors"))
        ours.load_state_dict(load_safetensors(tmp_path / "theirs.safetensors"))
        expected = theirs.state_dict()
        assert sorted(ours.state_dict()) == sorted(expected), name
        for key, value in expected.items():
            assert np.array_equal(ours.state_dict()[key].numpy(), value.numpy()), (name, key)
        save_safetensors(ours, tmp_path / "ours.safetensors")
        fresh.load_state_dict(load_file(str(tmp_path / "ours.safetensors")))  # strict
        for key, value in fresh.state_dict().items():
            assert torch.equal(value, expected[key]), (name, key)


@pytest.mark.parametrize("kind", ["lstm", "gpt"])
def test_the_language_models_round_trip_through_safetensors(tmp_path, kind):
    from chainrule.models import gpt, rnn_lm

    def make(seed):
        cr.manual_seed(seed)
        if kind == "gpt":
            return gpt.GPT(gpt.GPTConfig(block_size=8, vocab_size=11, n_layer=2, n_head=2,
                                         n_embd=8))
        return rnn_lm.rnn_lm("lstm", 11, hidden_size=6, num_layers=2, embedding_dim=5)
    saved, loaded = make(0), make(1)
    save_safetensors(saved, tmp_path / "lm.safetensors")
    loaded.load_state_dict(load_safetensors(tmp_path / "lm.safetensors"))
    idx = cr.tensor(np.random.default_rng(0).integers(0, 11, (2, 6)))
    with cr.no_grad():
        assert np.array_equal(saved(idx)[0].numpy(), loaded(idx)[0].numpy())
    if kind == "gpt":  # the head and the token embedding are still one parameter
        assert loaded.lm_head.weight is loaded.transformer.wte.weight


def test_round_trip_keeps_names_shapes_dtypes_and_metadata(tmp_path):
    cr.manual_seed(0)
    model = models.cnn(image_size=8)
    path = tmp_path / "cnn.safetensors"
    assert save_safetensors(model, path, metadata={"epoch": "3"}) == str(path)
    state, metadata = load_safetensors(path, with_metadata=True)
    assert metadata == {"epoch": "3"}
    expected = model.state_dict()
    assert sorted(state) == sorted(expected)
    for name, array in expected.items():
        assert state[name].dtype == array.dtype and np.array_equal(state[name], array), name
        assert state[name].flags.writeable


def test_a_state_dict_of_tensors_and_arrays_saves(tmp_path):
    path = tmp_path / "mixed.safetensors"
    save_safetensors({"w": cr.ones(2, 3), "b": np.zeros(3, np.float64)}, path)
    state = load_safetensors(path)
    assert state["w"].dtype == np.float32 and state["b"].dtype == np.float64


def test_mismatches_are_listed_in_one_error_and_the_model_is_untouched(tmp_path):
    cr.manual_seed(0)
    source = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3), nn.Linear(3, 5))
    state = source.state_dict()
    state["0.weight"] = np.zeros((4, 3), np.float32)                 # transposed
    state["1.num_batches_tracked"] = np.array(2.5)                   # float for a counter
    del state["2.bias"]                                              # missing
    state["3.weight"] = np.zeros(2, np.float32)                      # unexpected
    save_safetensors(state, tmp_path / "bad.safetensors")
    cr.manual_seed(1)
    target = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3), nn.Linear(3, 5))
    before = {name: array.numpy().copy() for name, array in target.state_dict().items()}
    with pytest.raises(nn.StateDictError) as caught:
        target.load_state_dict(load_safetensors(tmp_path / "bad.safetensors"))
    message = str(caught.value)
    for fragment in ["missing keys ['2.bias']", "unexpected keys ['3.weight']",
                     "0.weight expected (3, 4) got (4, 3)",
                     "wrong dtypes: 1.num_batches_tracked expected int64 got float64"]:
        assert fragment in message
    for name, array in target.state_dict().items():
        assert np.array_equal(array, before[name]), f"{name} changed by a failed load"


def test_saving_is_atomic_and_refuses_what_safetensors_cannot_hold(tmp_path):
    path = tmp_path / "model.safetensors"
    save_safetensors(nn.Linear(2, 2), path)
    original = path.read_bytes()
    with pytest.raises(CheckpointError, match="metadata must be a dict of str -> str"):
        save_safetensors(nn.Linear(2, 2), path, metadata={"epoch": 3})
    with pytest.raises(CheckpointError, match="w is dtype object"):
        save_safetensors({"w": np.array([None])}, path)
    with pytest.raises(CheckpointError, match="expected a Module or a dict"):
        save_safetensors([1, 2], path)
    assert path.read_bytes() == original
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.safetensors"]  # no temp files
    with pytest.raises(CheckpointError, match="directory .* does not exist"):
        save_safetensors(nn.Linear(2, 2), tmp_path / "absent" / "m.safetensors")


def test_damaged_or_foreign_files_are_refused_naming_the_file(tmp_path):
    path = tmp_path / "model.safetensors"
    save_safetensors(nn.Linear(2, 2), path)
    raw = path.read_bytes()
    for name, data in {"cut": raw[:len(raw) // 2], "not-safetensors": b"CHAINRL\x01" + raw[8:],
                       "empty": b""}.items():
        damaged = tmp_path / f"{name}.safetensors"
        damaged.write_bytes(data)
        with pytest.raises(CheckpointError, match=str(damaged)):
            load_safetensors(damaged)
    with pytest.raises(CheckpointError, match="could not read safetensors file"):
        load_safetensors(tmp_path / "absent.safetensors")


def test_import_chainrule_does_not_import_the_extras():
    import subprocess
    code = ("import sys, chainrule, chainrule.serialize, chainrule.interop, chainrule.onnx; "
            "print(sorted(m for m in ('safetensors', 'torch', 'onnx', 'onnxruntime', "
            "'tensorboardX') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


# -- PyTorch modules in and out -----------------------------------------------------------------------

@pytest.mark.parametrize("network", NETWORKS)
def test_trained_in_torch_then_from_torch_gives_the_same_outputs(torch, network):
    make_torch, _, features = NETWORKS[network]
    torch.manual_seed(0)
    theirs = train_torch(torch, make_torch(torch), features)
    ours = cr.interop.from_torch(theirs)
    assert isinstance(ours, nn.Sequential) and not ours.training == theirs.training is False
    x, _ = batch(features, size=7, seed=5)
    assert_close(chainrule_outputs(ours, x), torch_outputs(torch, theirs, x))
    assert list(ours.state_dict()) == list(theirs.state_dict())


@pytest.mark.parametrize("network", NETWORKS)
def test_trained_in_chainrule_then_to_torch_gives_the_same_outputs(torch, network):
    _, make_ours, features = NETWORKS[network]
    cr.manual_seed(0)
    ours = train_chainrule(make_ours(), features)
    theirs = cr.interop.to_torch(ours)
    assert isinstance(theirs, torch.nn.Sequential)
    x, _ = batch(features, size=7, seed=5)
    assert_close(chainrule_outputs(ours, x), torch_outputs(torch, theirs, x))
    # and the copy is independent: training one leaves the other as it was
    train_torch(torch, theirs.train(), features, steps=1)
    assert not np.allclose(chainrule_outputs(ours, x), torch_outputs(torch, theirs, x))


def test_every_layer_both_ways_with_its_options(torch):
    torch.manual_seed(0)
    theirs = every_layer(torch.nn)
    theirs(torch.randn(8, 24))  # training mode: batch norm statistics move
    ours = cr.interop.from_torch(theirs.eval())
    x = np.random.default_rng(1).standard_normal((5, 24)).astype(np.float32)
    assert_close(chainrule_outputs(ours, x), torch_outputs(torch, theirs, x))
    assert repr(ours).count("\n") == repr(theirs).count("\n")  # same nesting, layer for layer
    back = cr.interop.to_torch(ours)
    assert_close(torch_outputs(torch, back, x), torch_outputs(torch, theirs, x))
    assert str(back) == str(theirs)  # every option as PyTorch prints it
    for name, value in theirs.state_dict().items():
        assert torch.equal(back.state_dict()[name], value), name


def test_more_options_both_ways(torch):
    torch.manual_seed(0)
    theirs = more_options(torch.nn)
    theirs(torch.randn(8, 48))
    ours = cr.interop.from_torch(theirs.eval())
    x = np.random.default_rng(2).standard_normal((6, 48)).astype(np.float32)
    assert_close(chainrule_outputs(ours, x), torch_outputs(torch, theirs, x))
    assert str(cr.interop.to_torch(ours)) == str(theirs)


def test_three_dimensional_layers_both_ways(torch):
    torch.manual_seed(0)
    theirs = volumes(torch.nn).eval()
    ours = cr.interop.from_torch(theirs)
    x = np.random.default_rng(3).standard_normal((3, 288)).astype(np.float32)
    assert_close(chainrule_outputs(ours, x), torch_outputs(torch, theirs, x))
    assert str(cr.interop.to_torch(ours)) == str(theirs)


def test_every_layer_converts_and_is_tested():
    from chainrule.interop.torch_modules import LAYERS
    containers = {"Module", "Sequential", "ModuleList", "ModuleDict", "ParameterList",
                  "ParameterDict"}
    layers = {name for name in nn.__all__ if isinstance(getattr(nn, name), type)
              and issubclass(getattr(nn, name), nn.Module) and name not in containers
              and not getattr(nn, name).__module__.endswith("losses")
            and not issubclass(getattr(nn, name), nn.LazyModuleMixin)}  # see the lazy test
    assert layers <= set(LAYERS)
    tested = {type(m).__name__ for build in (every_layer, more_options, volumes,
                                             lines_and_upsampling, unfolding)
              for m in build(nn).modules()}
    tested |= {type(m).__name__ for pair, _ in with_indices(nn) for m in pair}
    tested |= {type(m).__name__ for m in recurrent(nn)}
    tested |= {"CosineSimilarity"}  # two inputs: tests/test_more_layers_interop.py
    tested |= MORE_LAYERS  # tests/test_more_nn_layers.py
    tested |= SMALL_LAYERS  # tests/test_small_export.py
    tested |= POOL_LAYERS  # tests/test_new_pool_export.py
    tested |= {type(m).__name__ for layer in attention(nn) for m in layer.modules()}
    assert set(LAYERS) <= tested


def test_dtype_and_train_mode_follow_the_source(torch):
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.Dropout(0.5)).double()
    theirs[1].eval()
    ours = cr.interop.from_torch(theirs)
    assert ours[0].weight.dtype == np.float64
    assert ours.training and ours[0].training and not ours[1].training
    back = cr.interop.to_torch(ours)
    assert back[0].weight.dtype == torch.float64 and not back[1].training and back.training


@pytest.mark.parametrize("module, pattern", [
    ("CrossMapLRN2d", r"layer at '1' is a torch\.nn\.modules\.normalization\.CrossMapLRN2d, "
                      r"which has no equivalent"),
    ("sparse", r"Embedding at '1' has sparse=True; chainrule's Embedding supports only "
               r"sparse=False"),
    ("custom", r"layer at '1' is a test_interop\..*Custom, which has no equivalent"),
    ("subclass", r"layer at '1' is a test_interop\..*MyLinear, which has no equivalent"),
])
def test_unsupported_layers_are_named(torch, module, pattern):
    class Custom(torch.nn.Module):
        def forward(self, x):
            return x

    class MyLinear(torch.nn.Linear):  # its own class: it might have its own forward
        pass

    Custom.__module__ = MyLinear.__module__ = "test_interop"
    second = {"CrossMapLRN2d": lambda: torch.nn.CrossMapLRN2d(3),
              "sparse": lambda: torch.nn.Embedding(3, 2, sparse=True), "custom": Custom,
              "subclass": lambda: MyLinear(2, 2)}[module]
    with pytest.raises(cr.interop.ConversionError, match=pattern):
        cr.interop.from_torch(torch.nn.Sequential(torch.nn.ReLU(), second()))


def test_chainrule_layers_torch_lacks_are_named(torch):
    model = nn.Sequential(nn.Linear(2, 2), nn.ModuleList([nn.ReLU()]))
    with pytest.raises(cr.interop.ConversionError, match="layer at '1' is a chainrule.nn.module.ModuleList"):
        cr.interop.to_torch(model)
    with pytest.raises(cr.interop.ConversionError, match="expected a chainrule nn.Module, got int"):
        cr.interop.to_torch(3)


def test_the_docstring_examples_run(torch):
    import chainrule.interop.torch_modules as module
    result = doctest.testmod(module, extraglobs={"cr": cr, "np": np})
    assert result.attempted >= 4 and result.failed == 0


LAZY = [lambda nn: nn.LazyLinear(3), lambda nn: nn.LazyConv1d(2, 3), lambda nn: nn.LazyConv2d(2, 3),
        lambda nn: nn.LazyConv3d(2, 1), lambda nn: nn.LazyBatchNorm1d(),
        lambda nn: nn.LazyBatchNorm2d()]
LAZY_INPUTS = [(2, 4), (2, 3, 5), (2, 3, 5, 5), (2, 3, 2, 2, 2), (4, 3), (2, 3, 2, 2)]


@pytest.mark.parametrize("index", range(len(LAZY)))
def test_a_lazy_layer_converts_after_its_first_call_and_is_refused_before(torch, index):
    lazy = LAZY[index](nn)
    assert isinstance(lazy, nn.LazyModuleMixin)
    with pytest.raises(cr.interop.ConversionError, match="lazy layer that has not seen"):
        cr.interop.to_torch(nn.Sequential(lazy))
    with pytest.raises(cr.interop.ConversionError, match="lazy layer that has not seen"):
        cr.interop.from_torch(torch.nn.Sequential(LAZY[index](torch.nn)))
    x = np.random.default_rng(0).normal(size=LAZY_INPUTS[index]).astype(np.float32)
    lazy.eval()
    ours = lazy(cr.tensor(x))
    theirs = cr.interop.to_torch(lazy)
    assert type(theirs).__name__ == type(lazy).__name__ and "Lazy" not in type(theirs).__name__
    np.testing.assert_allclose(theirs(torch.from_numpy(x)).detach().numpy(),
                               ours.detach().numpy(), rtol=1e-5, atol=1e-6)
