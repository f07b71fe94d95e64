"""TensorBoard logs: a ``--tensorboard`` run's event files, read back with TensorBoard's own
reader, hold the scalars of every step and epoch and the histograms of every layer."""
import doctest
import json
import math
import subprocess
import sys

import numpy as np
import pytest

import chainrule as cr
from chainrule import data, nn, optim, train

pytest.importorskip("tensorboardX", reason='pip install -e ".[interop]"')
event_accumulator = pytest.importorskip(
    "tensorboard.backend.event_processing.event_accumulator",
    reason='TensorBoard reads the files back: pip install -e ".[test]"')

EPOCH_SCALARS = {"loss/train", "loss/test", "accuracy/train", "accuracy/test", "learning_rate",
                 "samples_per_second"}


def read_logs(directory):
    logs = event_accumulator.EventAccumulator(
        str(directory), size_guidance={event_accumulator.SCALARS: 0,
                                       event_accumulator.HISTOGRAMS: 0})
    logs.Reload()
    return logs


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory):
    pytest.importorskip("sklearn", reason="the digits dataset ships with scikit-learn")
    folder = tmp_path_factory.mktemp("tensorboard")
    result = subprocess.run(
        [sys.executable, "-m", "chainrule", "train", "--epochs", "2", "--hidden", "16",
         "--lr", "0.1", "--out", "run", "--tensorboard", "tb", "--no-progress"],
        capture_output=True, text=True, cwd=folder, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "TensorBoard logs in tb/" in result.stdout
    return folder


def test_the_epoch_scalars_are_the_history(cli_run):
    logs = read_logs(cli_run / "tb")
    assert EPOCH_SCALARS <= set(logs.Tags()["scalars"])
    history = json.loads((cli_run / "run" / "history.json").read_text())
    records = history["epochs"] if isinstance(history, dict) else history
    for tag, field in [("loss/train", "train_loss"), ("accuracy/test", "test_accuracy"),
                       ("loss/test", "test_loss"), ("accuracy/train", "train_accuracy")]:
        events = logs.Scalars(tag)
        assert [e.step for e in events] == [1, 2]
        assert [e.value for e in events] == pytest.approx([r[field] for r in records], rel=1e-6)
    assert [e.value for e in logs.Scalars("learning_rate")] == pytest.approx([0.1, 0.1])


def test_every_step_has_its_loss(cli_run):
    logs = read_logs(cli_run / "tb")
    steps = [e.step for e in logs.Scalars("train/loss_step")]
    assert steps == list(range(1, 2 * math.ceil(1438 / 16) + 1))  # 2 epochs of 90 batches
    assert all(math.isfinite(e.value) and e.value > 0 for e in logs.Scalars("train/loss_step"))


def test_weights_and_gradients_have_histograms_per_layer(cli_run):
    logs = read_logs(cli_run / "tb")
    names = ["0.weight", "0.bias", "2.weight", "2.bias"]
    expected = {f"{kind}/{name}" for kind in ("weights", "gradients") for name in names}
    assert expected <= set(logs.Tags()["histograms"])
    from chainrule.serialize import load_tree
    final = load_tree(cli_run / "run" / "checkpoint.crt")["model"]["0.weight"]
    last = logs.Histograms("weights/0.weight")[-1]
    assert last.step == 2
    assert last.histogram_value.num == final.size
    assert last.histogram_value.min == pytest.approx(final.min())
    assert last.histogram_value.max == pytest.approx(final.max())
    gradient = logs.Histograms("gradients/0.weight")[-1].histogram_value
    assert gradient.num == final.size and gradient.max > gradient.min


def test_the_callback_logs_your_own_model_and_a_resumed_fit(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.random((40, 3), dtype=np.float32)
    loader = data.DataLoader((x, (x.sum(1) > 1.5).astype(np.int64)), batch_size=8)
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))
    logger = cr.interop.TensorBoardLogger(tmp_path / "tb")
    trainer = train.Trainer(epochs=2, progress=False, log=None, callbacks=[logger])
    trainer.fit(model, loader, optimizer=optim.SGD(model.parameters(), lr=0.1))  # no test set
    trainer.fit(epochs=3)  # continues: the logger opens a new file in the same directory
    logs = read_logs(tmp_path / "tb")
    assert [e.step for e in logs.Scalars("loss/train")] == [1, 2, 3]
    assert "loss/test" not in logs.Tags()["scalars"]  # NaN without a test set: not written
    assert len(logs.Scalars("train/loss_step")) == 3 * 5
    assert {"weights/1.weight", "gradients/1.bias"} <= set(logs.Tags()["histograms"])


def test_without_tensorboardx_the_cli_says_what_to_install(tmp_path):
    pytest.importorskip("sklearn", reason="the digits dataset ships with scikit-learn")
    code = ("import sys; sys.modules['tensorboardX'] = None; from chainrule.cli import main; "
            "sys.exit(main(['train', '--epochs', '1', '--out', 'run', '--tensorboard', 'tb']))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=tmp_path, timeout=300)
    assert result.returncode == 1
    assert "tensorboardX" in result.stderr and 'pip install -e ".[interop]"' in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "run").exists()


def test_the_docstring_example_runs():
    import chainrule.interop.tensorboard as module
    result = doctest.testmod(module, extraglobs={"cr": cr, "np": np})
    assert result.attempted >= 5 and result.failed == 0
