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
    config = train.TrainConfig(epochs=1, checkpoint_segments=2)
    trainer = train.Trainer(config, progress=False, log=None, compile=True)
    with pytest.raises(cr.ChainruleError, match="--compile"):
        trainer.fit()


TINY_LM = {"lstm": dict(hidden=[8]),
           "gpt": dict(n_layer=1, n_head=2, n_embd=8, steps_per_epoch=4, warmup_steps=2)}


def _fit_language_model(model, compiled):
    """Two epochs of a tiny language model, with its default gradient clipping (and for the
    GPT AdamW with nanoGPT's warmup and cosine schedule); the losses, learning rates and
    weights after them."""
    config = train.TrainConfig.language_model(model, max_tokens=700, block_size=8, batch_size=4,
                                              epochs=2, **TINY_LM[model])
    losses, rates = [], []

    class Record:
        def on_step(self, trainer, loss):
            losses.append(loss)
            rates.append(trainer.optimizer.param_groups[0]["lr"])
    trainer = train.Trainer(config, progress=False, log=None, compile=compiled,
                            callbacks=[Record()])
    history = trainer.fit()
    return losses, rates, [p.detach().numpy().copy() for p in trainer.model.parameters()], \
        history, trainer


@pytest.mark.parametrize("model", ["gpt", "lstm"])
def test_compiled_language_model_training_equals_eager(model):
    losses, rates, weights, history, _ = _fit_language_model(model, False)
    c_losses, c_rates, c_weights, c_history, trainer = _fit_language_model(model, True)
    assert trainer.config.clip_grad_norm > 0
    assert c_losses == losses and len(losses) >= 8  # bit for bit, step by step
    assert c_rates == rates
    for a, b in zip(c_weights, weights):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(c_history, history):
        assert (a.train_loss, a.test_loss) == (b.train_loss, b.test_loss)
    step = trainer._compiled
    assert sum(plan.calls for plan in step.plans) >= len(losses) - 4  # replayed, not traced
    code = step.code
    assert "clip_grads(" in code  # the norm is computed by the plan at every call
    if model == "gpt":
        assert len(set(rates)) == len(rates)  # warmup then cosine: a new rate every step
        assert "param_groups[0]['lr']" in code or "group['lr']" in code  # read live
    else:
        assert "one_hot" in code  # the tokens' one-hot rows are made from each call's input
        # the time steps' slice gradients are added in place into the plan's own sum
        assert "_add_into(" in code and "_accum(" not in code
        # the recurrent state runs on from batch to batch: an input and an output of the plan
        assert any("_args[2]" in plan.program.source for plan in step.plans)
        # and the first batch of each epoch, which starts from a fresh state, has its own plan
        assert len(step.plans) == 2


def test_compiled_clip_computes_the_norm_of_each_call():
    from chainrule.nn.utils import clip_grad_norm_  # bound before tracing: swapped too
    cr.manual_seed(0)
    model = nn.Linear(4, 3)
    opt = optim.SGD(model.parameters(), lr=0.1)

    def step(x):
        opt.zero_grad()
        loss = (model(x) ** 2).sum()
        loss.backward()
        norm = clip_grad_norm_(model.parameters(), 0.5)
        opt.step()
        return loss, norm

    def run(compiled):
        cr.manual_seed(0)
        fresh = nn.Linear(4, 3)
        model.load_state_dict(fresh.state_dict())
        f = cr.compile(step) if compiled else step
        rng = np.random.default_rng(1)
        out = [f(cr.tensor(rng.standard_normal((5, 4)).astype(np.float32) * (i + 1)))
               for i in range(5)]
        return [(float(loss), float(norm)) for loss, norm in out], f
    eager, _ = run(False)
    compiled, f = run(True)
    assert compiled == eager
    assert len({norm for _, norm in eager}) == 5  # a different norm each call, none frozen
    assert f.plans and f.plans[0].calls == 3


def test_compiled_one_hot_checks_its_range_at_replay():
    w = cr.ones(3, 2, requires_grad=True)

    def step(labels):
        return (cr.one_hot(labels, 3).to(cr.float32) @ w).sum()
    f = cr.compile(step)
    for _ in range(3):
        assert float(f(cr.tensor([0, 2]))) == 2 * 2
    assert f.plans[0].calls == 1
    assert float(f(cr.tensor([1, 1]))) == 4  # replayed from the input, not frozen
    with pytest.raises(cr.ChainruleError, match="out of range"):
        f(cr.tensor([0, 3]))


def test_one_hot_without_num_classes_is_refused_naming_the_line():
    def step(labels):
        return cr.one_hot(labels).sum()
    from chainrule.compile import CaptureError
    with pytest.raises(CaptureError, match=r"num_classes.*test_compile_train.py"):
        cr.compile(step)(cr.tensor([0, 2]))


def _fit_gpt_with_dropout(compiled):
    config = train.TrainConfig.language_model("gpt", max_tokens=700, block_size=8, batch_size=4,
                                              epochs=1, dropout=0.1, **TINY_LM["gpt"])
    losses = []

    class Record:
        def on_step(self, trainer, loss):
            losses.append(loss)
    trainer = train.Trainer(config, progress=False, log=None, compile=compiled,
                            callbacks=[Record()])
    trainer.fit()
    return losses, [p.detach().numpy().copy() for p in trainer.model.parameters()], trainer


def test_compiled_training_with_dropout_draws_the_eager_masks():
    """The GPT's dropouts (embeddings, attention weights, residual branches) draw a new mask at
    each replayed step, from the same generator in the same order as the eager run: the same
    losses and weights, bit for bit."""
    losses, weights, _ = _fit_gpt_with_dropout(False)
    c_losses, c_weights, trainer = _fit_gpt_with_dropout(True)
    assert c_losses == losses and len(set(losses)) == len(losses) >= 4
    for a, b in zip(c_weights, weights):
        np.testing.assert_array_equal(a, b)
    assert sum(plan.calls for plan in trainer._compiled.plans) > 0  # replayed
    assert "a new mask at each call" in trainer._compiled.code


def test_max_and_min_along_a_dim_pick_their_indices_in_the_plan():
    w = cr.tensor(np.random.default_rng(0).standard_normal((4, 5)).astype(np.float32),
                  requires_grad=True)

    def step(x):
        values, indices = (x * w).max(dim=1)
        low = (x * w).min(1, keepdim=True).values
        loss = values.sum() + low.sum()
        w.grad = None
        loss.backward()
        return loss, indices, w.grad, (x * w).argmax(0), (x * w).argmin()
    f = cr.compile(step)
    rng = np.random.default_rng(1)
    seen = set()
    for _ in range(5):
        x = cr.tensor(rng.standard_normal((4, 5)).astype(np.float32))
        compiled, eager = f(x), step(x)
        assert float(compiled[0]) == float(eager[0])
        for a, b in zip(compiled[1:], eager[1:]):
            assert a.dtype == b.dtype and a.shape == b.shape
            np.testing.assert_array_equal(a.numpy(), b.numpy())
        seen.add(tuple(compiled[1].numpy()))
    assert len(seen) > 1  # the indices follow each call's data
    assert f.plans[0].calls == 3


def test_ignored_targets_are_checked_at_every_replay():
    """Eager takes the fused softmax cross-entropy only when no target equals ignore_index: a
    replay that would need the other computation is refused, never computed with the traced
    choice. Traced with ignored targets, calls whose ignored places and labels differ replay
    (the general path picks and masks with ops) and equal eager."""
    from chainrule.compile import CaptureError
    w = cr.tensor(np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32),
                  requires_grad=True)

    def step(x, y):
        w.grad = None
        loss = nn.functional.cross_entropy(x @ w, y, ignore_index=-1)
        loss.backward()
        return loss, w.grad.detach() * 1

    def same_as_eager(f, targets):
        x = cr.tensor(rng.standard_normal((6, 5)).astype(np.float32))
        y = cr.tensor(np.array(targets))
        eager = step(x, y)
        w.grad = None
        compiled = f(x, y)
        w.grad = None
        assert float(compiled[0]) == float(eager[0])
        np.testing.assert_array_equal(compiled[1].numpy(), eager[1].numpy())
    f = cr.compile(step)
    rng = np.random.default_rng(1)
    for targets in ([0, 1, 2, 3, 0, 1], [1, 1, 2, 3, 0, 1], [2, 0, 1, 3, 3, 1]):
        same_as_eager(f, targets)
    assert f.plans[0].calls == 1
    x = cr.tensor(rng.standard_normal((6, 5)).astype(np.float32))
    with pytest.raises(CaptureError, match=r"cross_entropy's targets include ignore_index "
                                           r"\(-1\) in this call, and did not"):
        f(x, cr.tensor(np.array([0, -1, 2, -1, 0, 1])))
    g = cr.compile(step)
    for targets in ([0, -1, 2, 3, 0, 1], [1, -1, 2, 3, 0, 1], [-1, 2, 2, 0, 3, -1],
                    [3, 3, -1, -1, -1, -1]):
        same_as_eager(g, targets)
    assert g.plans[0].calls == 2
    with pytest.raises(CaptureError, match=r"do not include ignore_index \(-1\)"):
        g(x, cr.tensor(np.array([0, 1, 2, 3, 0, 1])))
