"""Training end to end: accuracy on real data, exact resume, determinism, checkpoints, CLI."""
import json
from pathlib import Path

import numpy as np
import pytest

from chainrule import CheckpointError, TrainingDiverged
from chainrule.cli import main
from chainrule.train import TrainConfig, Trainer

pytest.importorskip("sklearn", reason="the digits dataset ships with scikit-learn")

MNIST = Path(__file__).resolve().parents[1].parent / "shared" / "datasets" / "mnist"
needs_mnist = pytest.mark.skipif(not (MNIST / "t10k-images-idx3-ubyte.gz").exists(),
                                 reason=f"the MNIST test split is not at {MNIST}")


def quiet(config, **options):
    return Trainer(config, progress=False, log=None, **options)


def weights(trainer):
    return trainer.model.state_dict()


def test_default_command_reaches_096_on_digits(tmp_path, capsys):
    assert main(["train", "--out", str(tmp_path), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    history = json.loads((tmp_path / "history.json").read_text())
    assert history[-1]["test_accuracy"] >= 0.96
    assert f"test accuracy {history[-1]['test_accuracy']:.4f}" in printed
    header = (tmp_path / "history.csv").read_text().splitlines()[0]
    assert header == ("epoch,train_loss,train_accuracy,test_loss,test_accuracy,seconds,"
                      "samples_per_second")
    try:
        import matplotlib  # noqa: F401, the curves are drawn only when it is installed
    except ImportError:
        assert not (tmp_path / "curves.png").exists()
    else:
        assert (tmp_path / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@needs_mnist
@pytest.mark.parametrize("loss, floor", [("cross-entropy", 0.90), ("hinge", 0.92)])
def test_d2l_setup_on_mnist(loss, floor):
    config = TrainConfig(dataset="mnist", hidden=[256], loss=loss, lr=0.1, batch_size=256,
                         epochs=10, init="d2l", seed=0)
    trainer = quiet(config, data_dir=str(MNIST))
    assert len(trainer.train_data) == 8000 and len(trainer.test_data) == 2000
    assert trainer.fit()[-1].test_accuracy >= floor


def test_resume_gives_the_same_weights_bit_for_bit(tmp_path):
    config = TrainConfig(epochs=6, hidden=[32])
    first = quiet(config, out_dir=str(tmp_path))
    first.fit(3)
    resumed = Trainer.resume(str(tmp_path / "checkpoint.crt"), progress=False, log=None)
    assert resumed.epoch == 3
    resumed.fit(6)
    straight = quiet(config)
    straight.fit(6)
    for (name, a), (_, b) in zip(weights(resumed).items(), weights(straight).items()):
        assert np.array_equal(a, b), name
    assert [r.epoch for r in resumed.history] == list(range(1, 7))


def test_same_seed_same_run_and_other_seed_differs():
    runs = [quiet(TrainConfig(epochs=2, hidden=[16], seed=s)) for s in (5, 5, 6)]
    for run in runs:
        run.fit()
    same = weights(runs[0]), weights(runs[1])
    assert all(np.array_equal(same[0][k], same[1][k]) for k in same[0])
    assert not np.array_equal(weights(runs[0])["0.weight"], weights(runs[2])["0.weight"])


@pytest.mark.parametrize("damage", ["truncate", "header"])
def test_a_damaged_checkpoint_fails_clearly_and_leaves_the_model_untouched(tmp_path, damage):
    trainer = quiet(TrainConfig(epochs=1, hidden=[16]), out_dir=str(tmp_path))
    trainer.fit()
    path = tmp_path / "checkpoint.crt"
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2] if damage == "truncate" else b"NOTCHAIN" + raw[8:])
    target = quiet(TrainConfig(epochs=1, hidden=[16], seed=9))
    before = {k: v.numpy().copy() for k, v in weights(target).items()}
    with pytest.raises(CheckpointError, match=str(path)):
        Trainer.resume(str(path), progress=False, log=None)
    from chainrule.serialize import load_tree
    with pytest.raises(CheckpointError):
        target.load_state(load_tree(str(path)))
    assert all(np.array_equal(before[k], v.numpy()) for k, v in weights(target).items())


def test_diverging_loss_stops_with_epoch_and_step():
    from chainrule.train import load_dataset
    train, test = load_dataset("digits")
    train.x[700] = np.nan  # one poisoned example: its batch's loss is NaN
    trainer = quiet(TrainConfig(epochs=3, hidden=[16], batch_size=1437 // 2 + 1),
                    datasets=(train, test))
    from chainrule.data import DataLoader
    trainer.loader = DataLoader(trainer.train_data, batch_size=1437 // 2 + 1, shuffle=False)
    with np.errstate(all="ignore"), pytest.raises(TrainingDiverged,
                                                  match=r"nan at epoch 1, step 1 of 2"):
        trainer.fit()


def test_ctrl_c_stops_cleanly_and_keeps_the_last_checkpoint(tmp_path, monkeypatch, capsys):
    from chainrule import optim
    calls = {"n": 0}
    original = optim.SGD.step

    def interrupted_step(self):
        calls["n"] += 1
        if calls["n"] == 100:  # in the second epoch (90 steps of 16 per epoch)
            raise KeyboardInterrupt
        return original(self)

    monkeypatch.setattr(optim.SGD, "step", interrupted_step)
    code = main(["train", "--out", str(tmp_path), "--no-progress", "--epochs", "3"])
    assert code == 130
    assert "last checkpoint (epoch 1)" in capsys.readouterr().err
    resumed = Trainer.resume(str(tmp_path / "checkpoint.crt"), progress=False, log=None)
    assert resumed.epoch == 1


def test_evaluate_command_reports_the_saved_accuracy(tmp_path, capsys):
    trainer = quiet(TrainConfig(epochs=2, hidden=[32]), out_dir=str(tmp_path))
    accuracy = trainer.fit()[-1].test_accuracy
    assert main(["evaluate", str(tmp_path / "checkpoint.crt")]) == 0
    assert f"accuracy {accuracy:.4f}" in capsys.readouterr().out


@pytest.mark.parametrize("argv", [["train", "--epochs", "0"], ["train", "--lr", "abc"],
                                  ["train", "--loss", "l1"], ["train", "--bogus"],
                                  ["evaluate"], ["frobnicate"]])
def test_bad_options_give_usage_and_exit_code_2(argv, capsys):
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "usage:" in err and "Traceback" not in err


def test_missing_mnist_directory_is_a_clear_error(tmp_path, capsys):
    code = main(["train", "--dataset", "mnist", "--data-dir", str(tmp_path), "--no-progress"])
    assert code == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and str(tmp_path) in err
