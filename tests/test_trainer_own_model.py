"""Trainer.fit(model, train_loader, val_loader, loss=..., optimizer=...): your own model gets
the command line's progress, history, checkpoints and bit-for-bit resume."""
import numpy as np
import pytest

from chainrule import data, nn, optim
from chainrule.cli import main
from chainrule.errors import CheckpointError
from chainrule.models import load_model
from chainrule.random import manual_seed
from chainrule.serialize import load_tree
from chainrule.train import Trainer


def problem():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((96, 5)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int64) + (x[:, 2] > 1)
    return x, y


def own_run(out_dir=None):
    manual_seed(1)
    model = nn.Sequential(nn.Linear(5, 16), nn.Tanh(), nn.Linear(16, 3))
    x, y = problem()
    train = data.DataLoader((x[:64], y[:64]), batch_size=16, shuffle=True, seed=4)
    val = data.DataLoader((x[64:], y[64:]), batch_size=10)
    optimizer = optim.SGD(model.parameters(), lr=0.2, momentum=0.9)
    return Trainer(out_dir=out_dir, progress=False, log=None), model, train, val, optimizer


def test_own_model_trains_and_reports_held_out_metrics(tmp_path):
    trainer, model, train, val, optimizer = own_run(tmp_path / "run")
    history = trainer.fit(model, train, val, optimizer=optimizer, epochs=6)
    assert [r.epoch for r in history] == list(range(1, 7))
    assert history[-1].train_loss < history[0].train_loss
    # The test columns are the val loader's, computed here independently.
    x, y = problem()
    scores = model(x[64:]).detach().numpy()
    assert history[-1].test_accuracy == pytest.approx(np.mean(scores.argmax(1) == y[64:]))
    for name in ("checkpoint.crt", "history.csv", "history.json"):
        assert (tmp_path / "run" / name).exists()


def test_own_model_resumes_bit_for_bit_from_its_checkpoint(tmp_path):
    trainer, model, train, val, optimizer = own_run(tmp_path / "a")
    trainer.fit(model, train, val, optimizer=optimizer, epochs=2)
    again, model2, train2, val2, optimizer2 = own_run(tmp_path / "b")
    again.fit(model2, train2, val2, optimizer=optimizer2, epochs=4,
              ckpt_path=tmp_path / "a" / "checkpoint.crt")
    straight, model3, train3, val3, optimizer3 = own_run()
    straight.fit(model3, train3, val3, optimizer=optimizer3, epochs=4)
    assert again.epoch == 4 and len(again.history) == 4
    for (name, p), (_, q) in zip(model2.named_parameters(), model3.named_parameters()):
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy(), err_msg=name)


def test_loss_is_yours_and_no_val_loader_means_no_test_columns(capsys):
    trainer, model, train, _, optimizer = own_run()
    trainer.log = print
    history = trainer.fit(model, train, loss=nn.functional.multiclass_hinge_loss,
                          optimizer=optimizer, epochs=1)
    assert np.isnan(history[0].test_accuracy)
    line = capsys.readouterr().out
    assert "train acc" in line and "test acc" not in line
    x, y = problem()
    model.eval()
    assert history[0].train_loss > 0 and np.isfinite(
        nn.functional.multiclass_hinge_loss(model(x), y).item())


@pytest.mark.parametrize("kwargs, message", [
    ({}, "pass the optimizer"),
    ({"optimizer": "sgd"}, "pass the optimizer"),
    ({"train_loader": [(1, 2)]}, "train_loader must be a chainrule.data.DataLoader"),
    ({"model": "mlp"}, "model must be a chainrule.nn.Module"),
])
def test_bad_arguments_are_refused_before_any_work(kwargs, message):
    trainer, model, train, _, optimizer = own_run()
    args = {"model": model, "train_loader": train, **kwargs}
    with pytest.raises(TypeError, match=message):
        trainer.fit(args.pop("model"), args.pop("train_loader"), **args)
    assert trainer.epoch == 0


def test_without_a_config_or_a_model_fit_says_what_to_pass():
    with pytest.raises(TypeError, match="pass the model, its train_loader and an optimizer"):
        Trainer(progress=False, log=None).fit()


def test_an_own_model_checkpoint_is_explained_to_the_commands(tmp_path, capsys):
    trainer, model, train, val, optimizer = own_run(tmp_path / "run")
    trainer.fit(model, train, val, optimizer=optimizer, epochs=1)
    path = tmp_path / "run" / "checkpoint.crt"
    assert load_tree(path)["module"] == "Sequential"
    with pytest.raises(CheckpointError, match="holds your own model"):
        load_model(path)
    assert main(["evaluate", str(path)]) == 1
    err = capsys.readouterr().err
    assert "holds your own model (a Sequential" in err and err.count("\n") == 1


def test_divergence_advice_names_the_weight_decay_when_it_is_the_cause(tmp_path, capsys):
    pytest.importorskip("sklearn")
    assert main(["train", "--weight-decay", "100", "--lr", "0.5", "--epochs", "5",
                 "--hidden", "8", "--no-progress", "--out", str(tmp_path / "run")]) == 1
    err = capsys.readouterr().err
    assert "--weight-decay 100 is too large for --lr 0.5" in err and "smaller --lr" not in err
    assert "RuntimeWarning" not in err and "Traceback" not in err


def test_interrupted_resume_names_a_checkpoint_that_exists(tmp_path, capsys, monkeypatch):
    pytest.importorskip("sklearn")
    first = tmp_path / "first"
    assert main(["train", "--epochs", "1", "--hidden", "8", "--no-progress",
                 "--out", str(first)]) == 0
    capsys.readouterr()

    def interrupted(self, epoch, epochs):
        raise KeyboardInterrupt
    monkeypatch.setattr(Trainer, "_train_epoch", interrupted)
    checkpoint = first / "checkpoint.crt"
    assert main(["train", "--resume", str(checkpoint), "--epochs", "3", "--out",
                 str(tmp_path / "second")]) == 130
    err = capsys.readouterr().err
    assert f"continue with: chainrule train --resume {checkpoint} --epochs 3" in err
    assert not (tmp_path / "second" / "checkpoint.crt").exists()
