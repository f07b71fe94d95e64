"""ONNX export: models of every layer pass onnx.checker and give chainrule's outputs in
onnxruntime (within 1e-5) at three batch sizes; ``chainrule export`` on the command line."""
import doctest
import re
import subprocess
import sys

import numpy as np
import pytest

import chainrule as cr
from chainrule import models, nn
from chainrule.interop.onnx_export import ExportError
from interop_cases import (MORE_LAYERS, attention, every_layer, lines_and_upsampling,
                           more_options, recurrent, unfolding, volumes, with_indices, SMALL_LAYERS,
                           POOL_LAYERS)

onnx = pytest.importorskip("onnx", reason='pip install -e ".[interop]"')
onnxruntime = pytest.importorskip("onnxruntime", reason='pip install -e ".[interop]"')

TOLERANCE = 1e-5
BATCH_SIZES = (1, 7, 64)


def train_a_little(model, features, steps=3):
    """A few SGD steps on random data, so weights and batch-norm statistics are not the
    initial ones."""
    rng = np.random.default_rng(0)
    optimizer = cr.optim.SGD(model.parameters(), lr=0.05)
    for _ in range(steps):
        x = rng.standard_normal((16, features)).astype(np.float32)
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(x), rng.integers(0, model(x).shape[1], 16)).backward()
        optimizer.step()
    return model


def exported(model, features, path, **options):
    cr.onnx.export(model, np.zeros((2, features), np.float32), path, **options)
    proto = onnx.load(str(path))
    onnx.checker.check_model(proto, full_check=True)
    return proto, onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def assert_same_outputs(model, session, features, scale=1.0):
    rng = np.random.default_rng(1)
    model.eval()
    for size in BATCH_SIZES:
        x = (scale * rng.standard_normal((size, features))).astype(np.float32)
        with cr.no_grad():
            expected = model(x).numpy()
        (actual,) = session.run(None, {"input": x})
        assert actual.shape == expected.shape == (size,) + expected.shape[1:]
        difference = np.abs(actual - expected).max()
        assert difference <= TOLERANCE, f"batch {size}: onnxruntime differs by {difference:.3g}"


NETWORKS = {
    "mlp": (lambda: models.mlp(64, [32, 16], 10, "tanh"), 64),
    "lenet": (models.lenet, 784),
    "lenet-classic": (lambda: models.lenet(classic=True), 784),
    "cnn": (lambda: models.cnn(image_size=8), 64),
}


@pytest.mark.parametrize("network", NETWORKS)
def test_trained_models_match_onnxruntime_at_three_batch_sizes(tmp_path, network):
    make, features = NETWORKS[network]
    cr.manual_seed(0)
    model = train_a_little(make(), features)
    proto, session = exported(model, features, tmp_path / f"{network}.onnx")
    batch = proto.graph.input[0].type.tensor_type.shape.dim[0]
    assert batch.dim_param == "batch"  # dynamic, not the example's 2
    assert_same_outputs(model, session, features)


@pytest.mark.parametrize("opset", [17, 18, 21])
def test_every_layer_matches_onnxruntime(tmp_path, opset):
    cr.manual_seed(0)
    model = every_layer(nn)
    model(cr.randn(8, 24))  # training mode: batch norm statistics move
    proto, session = exported(model, 24, tmp_path / "every.onnx", opset=opset)
    assert proto.opset_import[0].version == opset
    assert_same_outputs(model, session, 24, scale=2.0)
    assert "Dropout" not in {node.op_type for node in proto.graph.node}


def test_more_options_match_onnxruntime(tmp_path):
    cr.manual_seed(0)
    model = more_options(nn)
    model(cr.randn(8, 48))
    _, session = exported(model, 48, tmp_path / "more.onnx")
    assert_same_outputs(model, session, 48, scale=3.0)


def test_three_dimensional_layers_match_onnxruntime(tmp_path):
    cr.manual_seed(0)
    model = volumes(nn)
    _, session = exported(model, 288, tmp_path / "volumes.onnx")
    assert_same_outputs(model, session, 288)


def test_float64_models_export_in_float64(tmp_path):
    cr.manual_seed(0)
    every = every_layer(nn).double()
    cr.onnx.export(every, np.zeros((1, 24)), tmp_path / "every64.onnx")
    proto = onnx.load(str(tmp_path / "every64.onnx"))
    onnx.checker.check_model(proto, full_check=True)
    assert proto.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.DOUBLE
    # onnxruntime's CPU kernels for convolutions are float32 only; an MLP runs in float64.
    mlp = models.mlp(8, [6], 3, "tanh").double()
    _, session = exported(mlp, 8, tmp_path / "mlp64.onnx")
    x = np.random.default_rng(0).standard_normal((5, 8))
    with cr.no_grad():
        expected = mlp(x).numpy()
    assert np.abs(session.run(None, {"input": x})[0] - expected).max() < 1e-12


def layer_classes():
    """Every layer chainrule.nn exports: its Modules less the containers and the losses."""
    containers = {"Module", "Sequential", "ModuleList", "ModuleDict", "ParameterList",
                  "ParameterDict"}
    return {name for name in nn.__all__ if isinstance(getattr(nn, name), type)
            and issubclass(getattr(nn, name), nn.Module) and name not in containers
            and not getattr(nn, name).__module__.endswith("losses")
            and not issubclass(getattr(nn, name), nn.LazyModuleMixin)}  # see the lazy test


def test_every_layer_has_an_onnx_form_and_a_test():
    from chainrule.interop.onnx_export import EMITTERS
    assert layer_classes() <= set(EMITTERS)
    tested = {type(m).__name__ for build in (every_layer, more_options, volumes,
                                             lines_and_upsampling, unfolding)
              for m in build(nn).modules()}
    tested |= {type(m).__name__ for pair, _ in with_indices(nn) for m in pair}
    tested |= {type(m).__name__ for m in recurrent(nn)}
    tested |= {type(m).__name__ for layer in attention(nn) for m in layer.modules()}
    tested |= {"CosineSimilarity"}  # refused by name: tests/test_more_layers_interop.py
    tested |= MORE_LAYERS  # tests/test_more_nn_layers.py
    tested |= SMALL_LAYERS  # tests/test_small_export.py
    tested |= POOL_LAYERS  # tests/test_new_pool_export.py
    assert layer_classes() <= tested


def test_export_runs_in_evaluation_mode_and_restores_the_mode(tmp_path):
    model = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.9), nn.BatchNorm1d(4))
    model[2].eval()
    cr.onnx.export(model, np.zeros((3, 4), np.float32), tmp_path / "m.onnx")
    assert model.training and model[0].training and model[1].training
    assert not model[2].training


def test_weights_are_named_by_layer(tmp_path):
    cr.manual_seed(0)
    proto, _ = exported(models.mlp(4, [3], 2), 4, tmp_path / "m.onnx")
    names = {tensor.name for tensor in proto.graph.initializer}
    assert {"0.weight", "0.bias", "2.weight", "2.bias"} <= names
    stored = onnx.numpy_helper.to_array(next(t for t in proto.graph.initializer
                                             if t.name == "0.weight"))
    assert stored.shape == (3, 4)


@pytest.mark.parametrize("model, features, fragment", [
    (nn.Sequential(nn.Linear(2, 2), nn.ModuleList([nn.ReLU()])), 2,
     "layer at '1' is a chainrule.nn.module.ModuleList, which has no ONNX form"),
    (nn.Sequential(nn.Flatten(0)), 2, "Flatten at '0' changes dimension 0, the batch dimension"),
    (nn.Sequential(nn.BatchNorm1d(2, track_running_stats=False)), 2,
     "BatchNorm1d at '0' keeps no running statistics"),
    (nn.Sequential(nn.Unflatten(1, (1, 5, 5)), nn.AdaptiveAvgPool2d((2, 2))), 25,
     "AdaptiveAvgPool2d at '1' pools (5, 5) to (2, 2), whose windows differ in size"),
])
def test_what_cannot_be_exported_is_named(tmp_path, model, features, fragment):
    path = tmp_path / "m.onnx"
    with pytest.raises(ExportError, match=re.escape(fragment)):
        cr.onnx.export(model, np.zeros((1, features), np.float32), path)
    assert not path.exists()


def test_bad_arguments_are_refused(tmp_path):
    with pytest.raises(ExportError, match="opset must be an int from 17 to"):
        cr.onnx.export(nn.Linear(2, 2), np.zeros((1, 2)), tmp_path / "m.onnx", opset=13)
    with pytest.raises(ExportError, match=r"example_input .* got shape \(\) of float64"):
        cr.onnx.export(nn.Linear(2, 2), np.zeros(()), tmp_path / "m.onnx")
    with pytest.raises(ExportError, match="expected a chainrule nn.Module, got int"):
        cr.onnx.export(3, np.zeros((1, 2)), tmp_path / "m.onnx")


def test_the_docstring_examples_run(tmp_path, monkeypatch):
    import chainrule.interop.onnx_export as module
    monkeypatch.chdir(tmp_path)
    result = doctest.testmod(module, extraglobs={"cr": cr, "np": np})
    assert result.attempted >= 4 and result.failed == 0


# -- the command line ---------------------------------------------------------------------------

def chainrule(*args, cwd):
    return subprocess.run([sys.executable, "-m", "chainrule", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=300)


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    pytest.importorskip("sklearn", reason="the digits dataset ships with scikit-learn")
    folder = tmp_path_factory.mktemp("export")
    result = chainrule("train", "--epochs", "1", "--hidden", "16", "--out", "run",
                       "--no-progress", cwd=folder)
    assert result.returncode == 0, result.stderr
    return folder


def test_cli_exports_a_checkpoint_and_checks_it(trained_run):
    result = chainrule("export", "--checkpoint", "run/checkpoint.crt", "--onnx", "out/m.onnx",
                       cwd=trained_run)
    assert result.returncode == 0, result.stderr
    assert "to out/m.onnx: opset 17" in result.stdout and "onnx.checker passed" in result.stdout
    assert "at batch sizes 1, 7 and 64" in result.stdout
    model, _ = models.load_model(trained_run / "run" / "checkpoint.crt")
    session = onnxruntime.InferenceSession(str(trained_run / "out" / "m.onnx"),
                                           providers=["CPUExecutionProvider"])
    assert_same_outputs(model, session, 64)


@pytest.mark.parametrize("args, code, message", [
    (["--checkpoint", "absent.crt", "--onnx", "m.onnx"], 1,
     "chainrule export: error: could not read checkpoint absent.crt"),
    (["--checkpoint", "run/checkpoint.crt", "--onnx", "run"], 2,
     "argument --onnx: run is a directory"),
    (["--checkpoint", "run/checkpoint.crt", "--onnx", "m.onnx", "--opset", "9"], 2,
     "argument --opset: must be from 17 to"),
    (["--onnx", "m.onnx"], 2, "the following arguments are required: --checkpoint"),
    (["--checkpoint", "run/history.json", "--onnx", "m.onnx"], 1,
     "is not a chainrule checkpoint"),
])
def test_cli_errors_are_one_line(trained_run, args, code, message):
    result = chainrule("export", *args, cwd=trained_run)
    assert result.returncode == code
    assert message in result.stderr and "Traceback" not in result.stderr
    assert not (trained_run / "m.onnx").exists()


def test_cli_without_onnx_says_what_to_install(trained_run):
    code = ("import sys; sys.modules['onnx'] = None; from chainrule.cli import main; "
            "sys.exit(main(['export', '--checkpoint', 'run/checkpoint.crt', '--onnx', 'x.onnx']))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=trained_run, timeout=300)
    assert result.returncode == 1
    assert result.stderr.strip() == ('chainrule export: error: ONNX export needs the onnx '
                                     'package: pip install -e ".[interop]"')
    assert not (trained_run / "x.onnx").exists()


def test_cli_help_has_examples(trained_run):
    result = chainrule("export", "--help", cwd=trained_run)
    assert result.returncode == 0
    assert "examples:" in result.stdout and "--checkpoint runs/digits/checkpoint.crt" in result.stdout


def test_lazy_layers_take_their_sizes_from_the_example_when_exported(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    model = nn.Sequential(nn.LazyLinear(5), nn.ReLU(), nn.LazyBatchNorm1d(), nn.LazyLinear(2))
    x = np.random.default_rng(0).normal(size=(3, 4)).astype(np.float32)
    cr.onnx.export(model, x, tmp_path / "lazy.onnx")
    assert type(model[0]) is nn.Linear and type(model[2]) is nn.BatchNorm1d
    assert model.training and bool(np.all(model[2].running_mean.numpy() == 0))  # eval-mode pass
    session = ort.InferenceSession(str(tmp_path / "lazy.onnx"))
    got = session.run(None, {session.get_inputs()[0].name: x})[0]
    model.eval()
    np.testing.assert_allclose(got, model(cr.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-6)


# -- sequences: recurrent layers, attention, the language models ---------------------------------

def session_of(path):
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    return onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def assert_close_to(actual, expected, what, tolerance=TOLERANCE):
    """Within 1e-5 of the largest value (relative), and not a trivial all-zero output."""
    expected = expected.detach().numpy() if isinstance(expected, cr.Tensor) else expected
    assert actual.shape == expected.shape, what
    scale = np.abs(expected).max()
    assert scale > 1e-3, f"{what}: a trivial output cannot tell a right graph from a wrong one"
    difference = np.abs(actual - expected).max() / scale
    assert difference <= tolerance, f"{what}: onnxruntime differs by {difference:.3g} (relative)"


def recurrent_layers():
    """The recurrent layers of interop_cases.recurrent (every option away from its default)
    and the defaults: tanh and relu RNNs, LSTM, GRU; layers, batch_first, bidirectional."""
    layers = [m for m in recurrent(nn) if type(m).__name__ in ("RNN", "LSTM", "GRU")]
    return layers + [nn.RNN(4, 5), nn.GRU(4, 3, num_layers=3, bidirectional=True),
                     nn.LSTM(4, 6, batch_first=True, bias=False)]


def sequence(layer, batch, steps, rng, batched=True):
    if not batched:
        shape = (steps, layer.input_size)
    else:
        shape = (batch, steps, layer.input_size) if layer.batch_first else \
            (steps, batch, layer.input_size)
    return rng.standard_normal(shape).astype(np.float32)


def states(layer, batch, rng, batched=True):
    directions = 2 if layer.bidirectional else 1
    shape = (layer.num_layers * directions,) + ((batch,) if batched else ()) \
        + (layer.hidden_size,)
    count = 2 if type(layer).__name__ == "LSTM" else 1
    return [rng.standard_normal(shape).astype(np.float32) for _ in range(count)]


def as_hx(layer, arrays):
    tensors = tuple(cr.tensor(a) for a in arrays)
    return tensors if type(layer).__name__ == "LSTM" else tensors[0]


def flat_outputs(result):
    output, finals = result
    return [output, *(finals if isinstance(finals, tuple) else (finals,))]


@pytest.mark.parametrize("index", range(len(recurrent_layers())))
@pytest.mark.parametrize("with_state", [False, True], ids=["zero-state", "state-input"])
def test_recurrent_layers_export_whole_with_dynamic_batch_and_sequence(tmp_path, index,
                                                                        with_state):
    cr.manual_seed(index)
    layer = recurrent_layers()[index]
    rng = np.random.default_rng(index)
    x = sequence(layer, 2, 5, rng)
    example = (x, as_hx(layer, states(layer, 2, rng))) if with_state else x
    path = cr.onnx.export(layer, example, tmp_path / "rnn.onnx")
    assert layer.training  # exported in evaluation mode (dropout between layers is off) ...
    proto = onnx.load(path)
    op = {"RNN": "RNN", "LSTM": "LSTM", "GRU": "GRU"}[type(layer).__name__]
    nodes = [n for n in proto.graph.node if n.op_type == op]
    assert len(nodes) == layer.num_layers  # one ONNX operator per layer
    if op == "GRU":
        assert all(a.i == 1 for n in nodes for a in n.attribute if a.name == "linear_before_reset")
    names = [i.name for i in proto.graph.input]
    lstm = op == "LSTM"
    assert names == (["input", "h_0", "c_0"][:3 if lstm else 2] if with_state else ["input"])
    assert [o.name for o in proto.graph.output] == ["output", "h_n", "c_n"][:3 if lstm else 2]
    session = session_of(path)
    layer.eval()  # ... which the comparison needs too
    for batch, steps in ((1, 1), (3, 5), (4, 11)):
        x = sequence(layer, batch, steps, rng)
        feeds = {"input": x}
        hx = None
        if with_state:
            initial = states(layer, batch, rng)
            feeds.update(zip(names[1:], initial))
            hx = as_hx(layer, initial)
        with cr.no_grad():
            expected = flat_outputs(layer(cr.tensor(x), hx))
        for actual, want, name in zip(session.run(None, feeds), expected, names):
            assert_close_to(actual, want, f"{type(layer).__name__} {name} at {batch}x{steps}")


def test_an_unbatched_sequence_exports_unbatched(tmp_path):
    cr.manual_seed(0)
    layer = nn.LSTM(4, 3, num_layers=2, bidirectional=True)
    rng = np.random.default_rng(0)
    example = (sequence(layer, 0, 4, rng, batched=False),
               as_hx(layer, states(layer, 0, rng, batched=False)))
    session = session_of(cr.onnx.export(layer, example, tmp_path / "lstm.onnx"))
    x = sequence(layer, 0, 7, rng, batched=False)
    initial = states(layer, 0, rng, batched=False)
    with cr.no_grad():
        expected = flat_outputs(layer(cr.tensor(x), as_hx(layer, initial)))
    actual = session.run(None, {"input": x, "h_0": initial[0], "c_0": initial[1]})
    for got, want in zip(actual, expected):
        assert_close_to(got, want, "unbatched LSTM")


def test_recurrent_layers_agree_with_pytorch_through_onnxruntime(tmp_path):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    for k, layer in enumerate(recurrent_layers()):
        cr.manual_seed(k)
        theirs = cr.interop.to_torch(layer).eval()
        path = cr.onnx.export(layer, sequence(layer, 2, 3, rng), tmp_path / f"{k}.onnx")
        x = sequence(layer, 3, 6, rng)
        with torch.no_grad():
            expected = flat_outputs(theirs(torch.from_numpy(x)))
        actual = session_of(path).run(None, {"input": x})
        for got, want in zip(actual, expected):
            assert_close_to(got, want.numpy(), f"{type(layer).__name__} against PyTorch")


def test_cells_in_a_sequential_start_from_zero_states(tmp_path):
    cr.manual_seed(0)
    cells = [m for m in recurrent(nn) if type(m).__name__ in ("RNNCell", "GRUCell")]
    model = nn.Sequential(nn.Linear(6, 4), cells[0], nn.Linear(3, 4), cells[1],
                          nn.Linear(3, 4), nn.RNNCell(4, 3, bias=False))
    _, session = exported(model, 6, tmp_path / "cells.onnx")
    assert_same_outputs(model, session, 6, scale=2.0)


@pytest.mark.parametrize("kind", ["rnn", "gru", "lstm"])
@pytest.mark.parametrize("embedding_dim", [None, 6], ids=["one-hot", "embedding"])
def test_rnn_language_models_match_onnxruntime(tmp_path, kind, embedding_dim):
    from chainrule.models import rnn_lm
    cr.manual_seed(0)
    model = rnn_lm.rnn_lm(kind, vocab_size=11, hidden_size=8, num_layers=2,
                          embedding_dim=embedding_dim)
    rng = np.random.default_rng(0)
    path = cr.onnx.export(model, rng.integers(0, 11, (2, 5)), tmp_path / "lm.onnx")
    session = session_of(path)
    for batch, steps in ((1, 1), (3, 9)):
        idx = rng.integers(0, 11, (batch, steps))
        with cr.no_grad():
            expected = flat_outputs(model(cr.tensor(idx)))
        actual = session.run(None, {"input": idx})
        assert actual[0].shape == (steps * batch, 11)  # d2l's time-major rows
        for got, want in zip(actual, expected):
            assert_close_to(got, want, f"{kind} language model at {batch}x{steps}")


@pytest.mark.parametrize("kind", ["rnn", "gru", "lstm"])
def test_an_rnn_language_model_with_a_state_input_carries_it_across_calls(tmp_path, kind):
    from chainrule.models import rnn_lm
    cr.manual_seed(1)
    layer = rnn_lm.KINDS[kind](11, 7, num_layers=2, bidirectional=kind == "gru")
    model = rnn_lm.RNNModel(layer, vocab_size=11)
    rng = np.random.default_rng(1)
    example = (rng.integers(0, 11, (2, 3)), model.begin_state(2))
    session = session_of(cr.onnx.export(model, example, tmp_path / "lm.onnx"))
    names = [i.name for i in session.get_inputs()]
    assert names == ["input", "h_0", "c_0"][:3 if kind == "lstm" else 2]
    # The text in two pieces, the state of the first fed to the second, is the text in one.
    text = rng.integers(0, 11, (3, 10))
    state = [s.numpy() for s in flat_outputs((None, model.begin_state(3)))[1:]]
    pieces = []
    for piece in (text[:, :4], text[:, 4:]):
        output, *state = session.run(None, {"input": piece, **dict(zip(names[1:], state))})
        pieces.append(output.reshape(piece.shape[1], 3, 11))
    with cr.no_grad():
        whole = model(cr.tensor(text))[0].numpy().reshape(10, 3, 11)
    if kind != "gru":  # a bidirectional layer reads each piece backwards from its own end
        assert_close_to(np.concatenate(pieces), whole, f"{kind} in two pieces")
    with cr.no_grad():
        expected = flat_outputs(model(cr.tensor(text[:, 4:]), as_hx(layer, state_before(
            model, text[:, :4]))))
    final = session.run(None, {"input": text[:, 4:], **dict(zip(names[1:], state_before(
        model, text[:, :4])))})
    for got, want in zip(final, expected):
        assert_close_to(got, want, f"{kind} from a carried state")


def state_before(model, text):
    with cr.no_grad():
        _, state = model(cr.tensor(text))
    return [s.numpy() for s in (state if isinstance(state, tuple) else (state,))]


GPT_CONFIGS = {"gpt": dict(block_size=16, vocab_size=13, n_layer=2, n_head=2, n_embd=8),
               "gpt-no-bias": dict(block_size=12, vocab_size=7, n_layer=3, n_head=4, n_embd=16,
                                   bias=False, dropout=0.1)}


@pytest.mark.parametrize("config", GPT_CONFIGS)
@pytest.mark.parametrize("opset", [17, 18, 21])
def test_gpt_matches_onnxruntime_at_every_sequence_length(tmp_path, config, opset):
    from chainrule.models import gpt
    cr.manual_seed(0)
    settings = GPT_CONFIGS[config]
    model = gpt.GPT(gpt.GPTConfig(**settings))
    for p in model.parameters():  # biases and norms away from their initial zeros and ones
        p.data.add_(0.05 * cr.randn(*p.shape))
    rng = np.random.default_rng(0)
    vocab, block = settings["vocab_size"], settings["block_size"]
    path = cr.onnx.export(model, rng.integers(0, vocab, (2, 5)), tmp_path / "gpt.onnx",
                          opset=opset)
    proto = onnx.load(path)
    assert proto.opset_import[0].version == opset
    tables = [t for t in proto.graph.initializer if tuple(t.dims) == (vocab, settings["n_embd"])]
    assert len(tables) == 1  # the tied token embedding and head are one table in the file
    session = session_of(path)
    model.eval()
    for batch, steps in ((1, 1), (3, 5), (2, block)):
        idx = rng.integers(0, vocab, (batch, steps))
        with cr.no_grad():
            expected, _ = model(cr.tensor(idx))
        (actual,) = session.run(None, {"input": idx})
        assert actual.shape == (batch, 1, vocab)
        assert_close_to(actual, expected, f"GPT at {batch}x{steps}")


def test_gpt_attention_is_causal_in_the_export(tmp_path):
    """Changing a later token changes no earlier position: seen through the last position's
    logits of every prefix, which the exported graph gives."""
    from chainrule.models import gpt
    cr.manual_seed(0)
    model = gpt.GPT(gpt.GPTConfig(block_size=8, vocab_size=9, n_layer=2, n_head=2, n_embd=8))
    session = session_of(cr.onnx.export(model, np.zeros((1, 4), np.int64), tmp_path / "g.onnx"))
    idx = np.random.default_rng(0).integers(0, 9, (2, 8))
    changed = idx.copy()
    changed[:, -1] = (changed[:, -1] + 1) % 9
    for t in range(1, 8):
        early = session.run(None, {"input": idx[:, :t]})[0]
        assert np.array_equal(early, session.run(None, {"input": changed[:, :t]})[0])
    assert not np.allclose(session.run(None, {"input": idx})[0],
                           session.run(None, {"input": changed})[0])


def encoder_models():
    """The encoder layers of interop_cases.attention, and the other options: batch_first with
    a GELU module, bias=False, unbatched input; with each its example's shape."""
    cases = attention(nn)
    return [(cases[1], (5, 3, 8)), (cases[3], (5, 3, 8)),
            (nn.TransformerEncoderLayer(8, 2, 16, batch_first=True, activation=nn.GELU("tanh")),
             (3, 5, 8)),
            (nn.Sequential(nn.Linear(6, 16), nn.Unflatten(1, (2, 8)),
                           nn.TransformerEncoderLayer(8, 4, 12, dropout=0.2, bias=False,
                                                      batch_first=True), nn.Flatten()), (4, 6)),
            (nn.TransformerEncoderLayer(8, 2, 16), (5, 8))]


@pytest.mark.parametrize("index", range(len(encoder_models())))
def test_transformer_encoder_layers_match_onnxruntime(tmp_path, index):
    cr.manual_seed(index)
    model, shape = encoder_models()[index]
    rng = np.random.default_rng(index)
    path = cr.onnx.export(model, rng.standard_normal(shape).astype(np.float32),
                          tmp_path / "encoder.onnx")
    session = session_of(path)
    model.eval()
    for first in (1, shape[0], shape[0] + 4):  # dimension 0 is dynamic
        x = (2 * rng.standard_normal((first,) + shape[1:])).astype(np.float32)
        with cr.no_grad():
            expected = model(cr.tensor(x))
        assert_close_to(session.run(None, {"input": x})[0], expected, f"{first}")
    torch = sys.modules.get("torch") or (pytest.importorskip("torch") if index < 3 else None)
    if torch is not None and index < 3:  # the same layer in PyTorch, through to_torch
        theirs = cr.interop.to_torch(model).eval()
        with torch.no_grad():
            expected = theirs(torch.from_numpy(x)).numpy()
        # PyTorch's float32 kernels (its tanh GELU among them) round differently from NumPy's.
        assert_close_to(session.run(None, {"input": x})[0], expected, "against PyTorch",
                        tolerance=1e-4)



def attention_layers():
    """MultiheadAttention alone: interop_cases.attention's (bias off, add_bias_kv,
    add_zero_attn, kdim and vdim, batch_first) and the defaults, time-major."""
    return [attention(nn)[0], nn.MultiheadAttention(8, 2),
            nn.MultiheadAttention(6, 3, kdim=4, vdim=5, add_zero_attn=True)]


def attention_arrays(mha, batch, target, source, rng, batched=True):
    def one(length, features):
        if not batched:
            return rng.standard_normal((length, features)).astype(np.float32)
        shape = (batch, length, features) if mha.batch_first else (length, batch, features)
        return rng.standard_normal(shape).astype(np.float32)
    return one(target, mha.embed_dim), one(source, mha.kdim), one(source, mha.vdim)


@pytest.mark.parametrize("index", range(len(attention_layers())))
@pytest.mark.parametrize("opset", [17, 18])
@pytest.mark.parametrize("batched", [True, False], ids=["batched", "unbatched"])
def test_multihead_attention_exports_whole(tmp_path, index, opset, batched):
    cr.manual_seed(index)
    mha = attention_layers()[index]
    rng = np.random.default_rng(index)
    example = attention_arrays(mha, 2, 3, 4, rng, batched)
    path = cr.onnx.export(mha, example, tmp_path / "mha.onnx", opset=opset)
    session = session_of(path)
    assert [i.name for i in session.get_inputs()] == ["query", "key", "value"]
    mha.eval()
    for batch, target, source in ((1, 1, 1), (3, 5, 7)):
        arrays = attention_arrays(mha, batch, target, source, rng, batched)
        with cr.no_grad():
            expected = mha(*(cr.tensor(a) for a in arrays))
        actual = session.run(None, dict(zip(["query", "key", "value"], arrays)))
        for got, want, name in zip(actual, expected, ("output", "weights")):
            assert_close_to(got, want, f"{name} at {batch}x{target}x{source}")
    torch = sys.modules.get("torch") or pytest.importorskip("torch")
    theirs = cr.interop.to_torch(mha).eval()
    with torch.no_grad():
        expected = theirs(*(torch.from_numpy(a) for a in arrays))
    for got, want in zip(actual, expected):
        assert_close_to(got, want.numpy(), "against PyTorch", tolerance=1e-4)


def refused_cases():
    from chainrule.models import gpt, rnn_lm
    custom = nn.TransformerEncoderLayer(8, 2, 16, activation=lambda x: x * 2)
    with_bias_kv = nn.TransformerEncoderLayer(8, 2, 16)
    with_bias_kv.self_attn = nn.MultiheadAttention(8, 2, add_bias_kv=True)
    config = gpt.GPTConfig(block_size=8, vocab_size=5, n_layer=1, n_head=1, n_embd=4)
    own = type("OwnGPT", (gpt.GPT,), {})(config)
    return [
        (nn.Sequential(nn.LSTM(4, 3), nn.Linear(3, 2)), (np.zeros((2, 1, 4)),),
         "LSTM at '0' returns (output, (h_n, c_n)), which the next layer of a Sequential "
         "cannot take"),
        (nn.Sequential(nn.GRU(4, 3), nn.ReLU()), (np.zeros((2, 1, 4)),),
         "GRU at '0' returns (output, h_n), which the next layer of a Sequential cannot take; "
         "export the layer on its own (cr.onnx.export(layer, x, path) gives output and h_n)"),
        (nn.Sequential(nn.Linear(4, 4), nn.LSTMCell(4, 3)), (np.zeros((2, 4)),),
         "LSTMCell at '1' returns (h, c)"),
        (nn.Sequential(nn.MultiheadAttention(8, 2)), (np.zeros((2, 3, 8)),),
         "MultiheadAttention at '0' takes query, key and value"),
        (nn.Sequential(custom), (np.zeros((5, 2, 8)),),
         "TransformerEncoderLayer at '0' has activation <function"),
        (nn.Sequential(with_bias_kv), (np.zeros((5, 2, 8)),),
         "MultiheadAttention at '0.self_attn' has add_bias_kv=True"),
        (own, (np.zeros((1, 3), np.int64),), "the model is a test_onnx_export.OwnGPT, not "
                                              "chainrule.models.gpt.GPT"),
        (gpt.GPT(config), ((np.zeros((1, 3), np.int64), np.zeros((1, 3), np.int64)),),
         "example_input for a GPT is the token indices alone (it is exported as model(idx), "
         "without targets), got 2 arrays"),
        (rnn_lm.rnn_lm("gru", 5, 4, embedding_dim=3), ((np.zeros((1, 3)), 1, 2, 3),),
         "example_input for a RNNModel is idx or (idx, h_0), got 4 arrays"),
    ]


@pytest.mark.parametrize("index", range(9))
def test_what_cannot_be_exported_among_sequence_layers_is_named(tmp_path, index):
    model, (example,), fragment = refused_cases()[index]
    if type(model).__name__ == "OwnGPT":
        type(model).__module__ = "test_onnx_export"
    path = tmp_path / "m.onnx"
    with pytest.raises(ExportError, match=re.escape(fragment)):
        cr.onnx.export(model, example, path)
    assert not path.exists()


def test_every_recurrent_and_attention_layer_exports_or_is_refused_by_name():
    """The coverage: each layer of interop_cases.recurrent and .attention either runs in
    onnxruntime in a test above or is in the refused cases, whose messages are checked."""
    ran = {type(m).__name__ for m in recurrent_layers()} | {"RNNCell", "GRUCell", "Embedding"}
    ran |= {type(m).__name__ for layer in attention_layers() for m in layer.modules()}
    ran |= {type(m).__name__ for model, _ in encoder_models() for m in model.modules()}
    refused = {type(m).__name__ for model, _, _ in refused_cases() for m in model.modules()}
    refused |= {"TransformerDecoderLayer", "TransformerDecoder", "Transformer"}  # test_attention
    cases = {type(m).__name__ for m in recurrent(nn)}
    cases |= {type(m).__name__ for layer in attention(nn) for m in layer.modules()}
    assert cases <= ran | refused, cases - ran - refused
