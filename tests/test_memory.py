"""inspect.memory: the ledger counts each saved buffer once, matches what tracemalloc sees the
graph retain, and training's extra memory grows linearly with batch size and depth."""
import gc
import json
import tracemalloc

import numpy as np
import pytest

import chainrule as cr
from chainrule import models, nn
from chainrule.cli import main
from chainrule.inspect import memory_report
from chainrule.nn.objective import objective
from chainrule.random import manual_seed


def batch(n, d, q, seed=0):
    rng = np.random.default_rng(seed)
    return cr.tensor(rng.random((n, d), dtype=np.float32)), rng.integers(0, q, n)


def network(hidden=(256,), d=784, q=10, activation="relu", seed=0):
    manual_seed(seed)
    return models.mlp(d, list(hidden), q, activation=activation)


@pytest.fixture
def tracing():
    started = not tracemalloc.is_tracing()
    if started:
        tracemalloc.start()
    yield
    if started:
        tracemalloc.stop()


def retained_by_graph(model, x, y, lam=0.0, inputs=None):
    """Build the objective under tracemalloc; return (ledger, bytes freed when the graph goes)."""
    gc.collect()
    loss = objective(model, x, y, lam)
    with_graph = tracemalloc.get_traced_memory()[0]
    report = memory_report(loss, model, inputs=inputs)
    del loss
    gc.collect()
    return report, with_graph - tracemalloc.get_traced_memory()[0]


@pytest.mark.parametrize("activation, lam, inputs", [
    ("relu", 0.0, False), ("relu", 1e-3, False), ("tanh", 0.0, False),
    # sigmoid is a composite that makes constant arrays of its own (a sign mask and a where
    # condition): with inputs named, those are counted too.
    ("sigmoid", 0.0, True)])
def test_ledger_equals_what_the_graph_retains(tracing, activation, lam, inputs):
    model = network(activation=activation)
    x, y = batch(512, 784, 10)
    report, retained = retained_by_graph(model, x, y, lam, inputs=(x, y) if inputs else None)
    assert report.training_bytes == pytest.approx(retained, rel=0.05)
    assert report.training_bytes > 512 * 256 * 4


def test_parameter_views_and_inputs_cost_nothing_and_masks_are_one_byte():
    # Per hidden unit and example the textbook MLP keeps the next matmul's input h (4 bytes in
    # float32) and ReLU's mask (1 byte); the weights (seen through W^T) and x cost nothing.
    model = network(hidden=(32,), d=20, q=5)
    x, y = batch(8, 20, 5)
    report = memory_report(objective(model, x, y), model)
    rows = {row.variable: row for row in report.rows}
    relu_mask = rows["h"].saved[0]
    assert (relu_mask.name, relu_mask.extra_bytes) == ("mask", 8 * 32)
    matmul_input = next(i for i in rows["h W2^T"].saved if i.name == "a")
    assert (matmul_input.kind, matmul_input.extra_bytes) == ("intermediate", 8 * 32 * 4)
    weight_view = next(i for i in rows["h W2^T"].saved if i.name == "b")
    assert (weight_view.kind, weight_view.extra_bytes) == ("parameter", 0)
    batch_input = next(i for i in rows["x W1^T"].saved if i.name == "a")
    assert (batch_input.kind, batch_input.extra_bytes) == ("input", 0)
    assert report.saved_bytes == 8 * 32 * 5 + 8 * 5 * 4  # h, the mask and the logits o
    assert report.by_module == {"1 (ReLU)": 8 * 32, "2 (Linear)": 8 * 32 * 4,
                                "(top level)": 8 * 5 * 4}
    assert report.inference_bytes == 8 * 5 * 4 and report.prediction_name == "o"
    # The weights are referenced (through W^T); the biases are not saved by any node.
    assert report.parameter_bytes == model[0].weight.detach().numpy().nbytes + model[2].weight.detach().numpy().nbytes


def test_training_minus_inference_grows_linearly_with_batch_size():
    model = network(hidden=(64,), d=30, q=10)
    extra = []
    for n in (16, 32, 48, 64):
        x, y = batch(n, 30, 10)
        extra.append(memory_report(objective(model, x, y), model).extra_bytes)
    steps = np.diff(extra)
    assert (steps > 0).all() and (steps == steps[0]).all()
    assert steps[0] == 16 * 64 * 5  # one hidden activation and its mask, 16 more rows


def test_training_minus_inference_grows_linearly_with_depth():
    x, y = batch(32, 30, 10)
    extra = []
    for depth in (1, 2, 3, 4):
        model = network(hidden=(64,) * depth, d=30)  # alive, so its weights count as parameters
        extra.append(memory_report(objective(model, x, y), model).extra_bytes)
    steps = np.diff(extra)
    assert (steps > 0).all() and (steps == steps[0]).all()
    assert steps[0] == 32 * 64 * 5


def test_measured_difference_grows_linearly_with_batch_and_depth(tracing):
    def measured(n, depth):
        x, y = batch(n, 100, 10)
        m = memory_report(network(hidden=(128,) * depth, d=100), x, y).measured
        return m["training_retained_bytes"] - m["inference_retained_bytes"]

    by_batch = [measured(n, 1) for n in (128, 256, 512)]
    assert by_batch[2] - by_batch[1] == pytest.approx(2 * (by_batch[1] - by_batch[0]), rel=0.05)
    assert by_batch[1] - by_batch[0] == pytest.approx(128 * 128 * 5, rel=0.05)
    by_depth = [by_batch[1]] + [measured(256, depth) for depth in (2, 3)]
    assert by_depth[2] - by_depth[1] == pytest.approx(by_depth[1] - by_depth[0], rel=0.05)
    assert by_depth[1] - by_depth[0] == pytest.approx(256 * 128 * 5, rel=0.05)


def test_model_form_measures_training_against_prediction():
    x, y = batch(256, 784, 10)
    report = memory_report(network(), x, y)
    m = report.measured
    assert m["batch"] == 256
    assert m["training_retained_bytes"] > 10 * m["inference_retained_bytes"]
    assert m["training_retained_bytes"] == pytest.approx(report.training_bytes, rel=0.05)
    assert m["inference_retained_bytes"] == pytest.approx(report.inference_bytes, rel=0.2)
    text = str(report)
    assert "measured with tracemalloc" in text and "training - prediction" in text
    assert report.ratio == pytest.approx(report.training_bytes / report.inference_bytes)


def test_explicit_inputs_count_constants_made_during_forward():
    manual_seed(0)
    model = nn.Sequential(nn.Linear(20, 16), nn.ReLU(), nn.Dropout(0.5), nn.Linear(16, 3))
    x, y = batch(8, 20, 3)
    loss = nn.functional.cross_entropy(model(x), y)
    assumed = memory_report(loss, model)
    named = memory_report(loss, model, inputs=[x, y])
    mask = 8 * 16 * 4
    assert named.saved_bytes - assumed.saved_bytes == mask  # the dropout mask
    kinds = {i.kind for row in named.rows for i in row.saved}
    assert "constant" in kinds


def test_report_is_readable_and_serialisable():
    x, y = batch(8, 20, 5)
    model = network(hidden=(32,), d=20, q=5)
    report = memory_report(objective(model, x, y, 0.1), model)
    text = str(report)
    assert "relu" in text and "mask" in text and "[parameter]" in text
    data = json.loads(report.to_json())
    assert data["training_bytes"] == report.training_bytes
    assert data["extra_bytes"] == report.training_bytes - report.inference_bytes
    assert data["rows"][0]["saved"][0]["name"]


def test_a_freed_graph_is_refused():
    x, y = batch(4, 20, 5)
    loss = objective(network(hidden=(8,), d=20, q=5), x, y)
    loss.backward()
    with pytest.raises(cr.GradientError, match="freed"):
        memory_report(loss)


def test_wrong_arguments_are_explained():
    with pytest.raises(TypeError, match=r"memory_report\(model, x, y\)"):
        memory_report(network(hidden=(8,), d=20, q=5), np.ones((2, 20)))


def test_memory_command_prints_and_writes_json(tmp_path, capsys):
    out = tmp_path / "memory.json"
    assert main(["memory", "--input-size", "30", "--hidden", "16", "--classes", "4",
                 "--batch-size", "8", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "RANDOM" in text and "training - prediction" in text
    data = json.loads(out.read_text())
    assert data["saved_bytes"] == 8 * 16 * 5 + 8 * 4 * 4
    assert data["measured"]["batch"] == 8


def test_memory_command_rejects_bad_options(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["memory", "--batch-size", "-3"])
    assert stop.value.code == 2
    assert "usage: chainrule memory" in capsys.readouterr().err


def test_a_buffer_saved_by_two_nodes_is_counted_once():
    # tanh keeps its output h for its VJP, and the next matmul keeps the same h as its input.
    model = network(hidden=(32,), d=20, q=5, activation="tanh")
    x, y = batch(8, 20, 5)
    report = memory_report(objective(model, x, y), model)
    rows = {row.variable: row for row in report.rows}
    assert rows["h"].saved[0].extra_bytes == 8 * 32 * 4
    matmul_input = next(i for i in rows["h W2^T"].saved if i.name == "a")
    assert matmul_input.extra_bytes == 0 and matmul_input.shared_with == "h (tanh)"
    assert report.saved_bytes == 8 * 32 * 4 + 8 * 5 * 4
