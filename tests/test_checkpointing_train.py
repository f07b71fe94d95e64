"""``chainrule train --checkpoint-segments K``: the same run, to the bit, as without it."""
import numpy as np
import pytest

from chainrule.cli import main
from chainrule.train import TrainConfig, Trainer

pytest.importorskip("sklearn", reason="the digits dataset ships with scikit-learn")


def trained(**options):
    config = TrainConfig(hidden=[64, 32], epochs=1, batch_size=128, **options)
    trainer = Trainer(config, progress=False, log=None)
    trainer.fit(1)
    return trainer


@pytest.mark.parametrize("model, segments", [("mlp", 2), ("mlp", 5), ("lenet", 3)])
def test_checkpointed_training_gives_the_same_weights(model, segments):
    plain = trained(model=model)
    ours = trained(model=model, checkpoint_segments=segments)
    assert ours.history[-1].train_loss == plain.history[-1].train_loss
    mine, theirs = ours.model.state_dict(), plain.model.state_dict()
    assert mine.keys() == theirs.keys()
    for name in mine:
        np.testing.assert_array_equal(mine[name].numpy(), theirs[name].numpy())


def test_the_command_line_option(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--out", str(out), "--no-progress", "--epochs", "1",
                 "--checkpoint-segments", "2"]) == 0
    assert "activations checkpointed in 2 segments" in capsys.readouterr().out
    assert main(["train", "--resume", str(out / "checkpoint.crt"), "--epochs", "2",
                 "--checkpoint-segments", "3", "--no-progress"]) != 0
    assert "--checkpoint-segments cannot change with --resume" in capsys.readouterr().err


@pytest.mark.parametrize("options, match", [
    (dict(checkpoint_segments=9), "the model has 5 layers"),
    (dict(checkpoint_segments=-1), "checkpoint_segments"),
])
def test_impossible_segment_counts_are_refused(options, match):
    with pytest.raises(ValueError, match=match):
        trained(**options)


def test_a_language_model_is_refused():
    with pytest.raises(ValueError, match="not to a language model"):
        TrainConfig.language_model("lstm", checkpoint_segments=2)


def test_help_names_it(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    assert "--checkpoint-segments K" in capsys.readouterr().out
