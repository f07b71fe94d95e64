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
from interop_cases import (attention, every_layer, lines_and_upsampling, more_options, recurrent,
                           volumes, with_indices)

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
    containers = {"Module", "Sequential", "ModuleList", "ModuleDict"}
    return {name for name in nn.__all__ if isinstance(getattr(nn, name), type)
            and issubclass(getattr(nn, name), nn.Module) and name not in containers
            and not getattr(nn, name).__module__.endswith("losses")
            and not issubclass(getattr(nn, name), nn.LazyModuleMixin)}  # see the lazy test


def test_every_layer_has_an_onnx_form_and_a_test():
    from chainrule.interop.onnx_export import EMITTERS
    assert layer_classes() <= set(EMITTERS)
    tested = {type(m).__name__ for build in (every_layer, more_options, volumes,
                                             lines_and_upsampling)
              for m in build(nn).modules()}
    tested |= {type(m).__name__ for pair, _ in with_indices(nn) for m in pair}
    tested |= {type(m).__name__ for m in recurrent(nn)}
    tested |= {type(m).__name__ for layer in attention(nn) for m in layer.modules()}
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
