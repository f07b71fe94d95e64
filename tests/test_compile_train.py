"""The Trainer with compile=True (chainrule train --compile): the same losses, accuracies and
weights as the eager run, bit for bit."""
import numpy as np
import pytest

import chainrule as cr
from chainrule import data, nn, optim, train


def _fit(compiled, epochs=3):
    cr.manual_seed(0)
    rng = np.random.default_rng(0)
    x = rng.random((70, 20), dtype=np.float32)  # 70: the last batch of 16 has 6 rows
    y = (x[:, :3].argmax(axis=1)).astype(np.int64)
    loader = data.DataLoader((x, y), batch_size=16, shuffle=True, seed=0)
    model = nn.Sequential(nn.Linear(20, 32), nn.ReLU(), nn.Linear(32, 3))
    trainer = train.Trainer(epochs=epochs, progress=False, log=None, compile=compiled)
    history = trainer.fit(model, loader, loader,
                          optimizer=optim.SGD(model.parameters(), lr=0.2, momentum=0.9))
    return history, [p.detach().numpy().copy() for p in model.parameters()], trainer


def test_compiled_training_equals_eager_training():
    eager, eager_weights, _ = _fit(False)
    compiled, weights, trainer = _fit(True)
    for a, b in zip(compiled, eager):
        assert (a.train_loss, a.train_accuracy, a.test_loss, a.test_accuracy) == \
            (b.train_loss, b.train_accuracy, b.test_loss, b.test_accuracy)
    for a, b in zip(weights, eager_weights):
        np.testing.assert_array_equal(a, b)
    step = trainer._compiled
    assert sum(plan.calls for plan in step.plans) > 0  # replayed, not only traced
    assert len(step.plans) == 2  # full batches and the last, shorter one


def test_cli_train_compile(tmp_path, capsys):
    from chainrule.cli import main
    assert main(["train", "--compile", "--epochs", "2", "--no-progress", "--out",
                 str(tmp_path / "run")]) == 0
    compiled = capsys.readouterr().out
    assert main(["train", "--epochs", "2", "--no-progress", "--out",
                 str(tmp_path / "eager")]) == 0
    eager = capsys.readouterr().out
    # the epoch lines agree but for their timing columns
    def epochs(text):
        return [line.split()[:9] for line in text.splitlines() if line.startswith("epoch")]
    assert epochs(compiled) == epochs(eager) and epochs(eager)


def test_compile_refuses_what_the_step_cannot_replay():
    config = train.TrainConfig(epochs=1, clip_grad_norm=1.0)
    trainer = train.Trainer(config, progress=False, log=None, compile=True)
    with pytest.raises(cr.ChainruleError, match="--compile"):
        trainer.fit()
