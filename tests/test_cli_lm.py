"""chainrule train for the language models on tiny settings: gradient clipping, nanoGPT's
schedule, refused options, names and Tiny Shakespeare; chainrule sample (same seed, same text;
clear errors); the --help texts. Exact resume is in test_cli_lm_resume.py."""
import math
import os
from pathlib import Path

import pytest

from chainrule.cli import main

SHARED = Path(__file__).resolve().parents[2] / "shared" / "datasets"
TINY = {
    "rnn": ["--hidden", "8"],
    "gru": ["--hidden", "6", "6", "--embedding-dim", "5"],
    "lstm": ["--hidden", "8"],
    "gpt": ["--n-layer", "1", "--n-head", "2", "--n-embd", "8", "--steps-per-epoch", "4"],
}


def train(tmp_path, name, model, *extra, epochs=2):
    out = tmp_path / name
    code = main(["train", "--model", model, "--dataset", "timemachine", "--max-tokens", "700",
                 "--block-size", "8", "--batch-size", "4", "--epochs", str(epochs),
                 "--out", str(out), "--no-progress", *TINY[model], *extra])
    assert code == 0
    return out


def test_clipping_bounds_each_step():
    from chainrule.train import TrainConfig, Trainer
    config = TrainConfig.language_model("rnn", hidden=[8], max_tokens=700, block_size=8,
                                        batch_size=4, epochs=1, clip_grad_norm=1e-3)
    trainer = Trainer(config, progress=False, log=None)
    before = [p.detach().numpy().copy() for p in trainer.model.parameters()]
    x, y = next(iter(trainer.loader))
    loss, _, _ = trainer._batch_loss(x, y)
    trainer._update(loss, 1)
    moved = math.sqrt(sum(float(((p.detach().numpy() - b) ** 2).sum())
                          for p, b in zip(trainer.model.parameters(), before)))
    assert 0 < moved <= 1e-3 * (1 + 1e-5)  # SGD at lr 1: the step is the clipped gradient


def test_gpt_schedule_is_nanogpts():
    from chainrule.train import TrainConfig
    from chainrule.train.trainer import scheduled_lr
    config = TrainConfig.language_model("gpt")
    assert config.lr == 1e-3 and config.warmup_steps == 100
    assert scheduled_lr(config, 0, 2000) == pytest.approx(1e-3 / 101)
    assert scheduled_lr(config, 100, 2000) == pytest.approx(1e-3)
    assert scheduled_lr(config, 1050, 2000) == pytest.approx(0.55e-3)
    assert scheduled_lr(config, 2000, 2000) == pytest.approx(1e-4)


@pytest.fixture(scope="module")
def lstm_checkpoint(tmp_path_factory):
    return train(tmp_path_factory.mktemp("lm"), "run", "lstm", epochs=1) / "checkpoint.crt"


def sample(capsys, *args):
    code = main(["sample", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_the_same_seed_gives_the_same_text(lstm_checkpoint, capsys):
    runs = [sample(capsys, "--checkpoint", str(lstm_checkpoint), "--tokens", "40", "--seed", s)
            for s in ("3", "3", "4")]
    assert all(code == 0 for code, _, _ in runs)
    assert runs[0][1] == runs[1][1] != runs[2][1]
    assert runs[0][1].startswith("time traveller ")
    code, out, _ = sample(capsys, "--checkpoint", str(lstm_checkpoint), "--prompt", "the ",
                          "--tokens", "5", "--top-k", "1")
    assert code == 0 and out.startswith("the ") and len(out.rstrip("\n")) >= 9


def test_sample_refuses_characters_the_model_never_saw(lstm_checkpoint, capsys):
    code, _, err = sample(capsys, "--checkpoint", str(lstm_checkpoint), "--prompt", "Hi!")
    assert code == 1
    assert "'!H'" in err and "it knows only ' abcdefghijklmnopqrstuvwxyz'" in err


@pytest.mark.parametrize("option,value", [("--temperature", "0"), ("--temperature", "x"),
                                          ("--tokens", "-1"), ("--top-k", "0"),
                                          ("--seed", "-2")])
def test_sample_refuses_bad_numbers(lstm_checkpoint, capsys, option, value):
    with pytest.raises(SystemExit) as exit:
        main(["sample", "--checkpoint", str(lstm_checkpoint), option, value])
    assert exit.value.code == 2
    assert option in capsys.readouterr().err


def test_sample_refuses_a_checkpoint_that_is_not_a_language_model(tmp_path, capsys):
    out = tmp_path / "mlp"
    assert main(["train", "--epochs", "1", "--hidden", "8", "--out", str(out),
                 "--no-progress"]) == 0
    code, _, err = sample(capsys, "--checkpoint", str(out / "checkpoint.crt"))
    assert code == 1 and "not a language model" in err and "MLP 64-8-10" in err
    code, _, err = sample(capsys, "--checkpoint", str(tmp_path / "missing.crt"))
    assert code == 1 and "missing.crt" in err


@pytest.mark.parametrize("args,message", [
    (["--model", "lstm", "--n-head", "2"], "--n-head do not apply to --model lstm"),
    (["--model", "gpt", "--hidden", "8"], "--hidden do not apply to --model gpt"),
    (["--block-size", "8"], "apply to the language models"),
    (["--model", "lstm", "--dataset", "digits"], "trains on text"),
    (["--dataset", "timemachine"], "--model mlp trains on an image data set"),
    (["--model", "gru", "--hidden", "8", "4"], "all equal"),
    (["--model", "gpt", "--n-embd", "10", "--n-head", "3"], "multiple of n_head"),
    (["--model", "lstm", "--loss", "hinge"], "cross-entropy"),
    (["--model", "lstm", "--dataset", "names", "--max-tokens", "9"],
     "--max-tokens do not apply to --dataset names"),
])
def test_train_refuses_options_that_do_not_fit(tmp_path, capsys, args, message):
    assert main(["train", *args, "--out", str(tmp_path / "x"), "--no-progress"]) == 1
    assert message in capsys.readouterr().err


def test_help_explains_the_language_model_options(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for phrase in ("--clip-grad-norm MAX", "--block-size N", "perplexity", "timemachine",
                   "shakespeare_char", "names", "--n-head", "--embedding-dim", "gpt",
                   "chainrule sample --checkpoint"):
        assert phrase in text, phrase
    with pytest.raises(SystemExit):
        main(["sample", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for phrase in ("--checkpoint CKPT", "--prompt TEXT", "--tokens N", "--temperature T",
                   "--top-k K", "--seed", "same --seed gives the same text"):
        assert phrase in text, phrase


@pytest.mark.skipif(not (SHARED / "makemore" / "names.txt").exists(),
                    reason="makemore's names.txt is not in ../shared/datasets")
def test_names_train_and_sample_names(tmp_path, capsys):
    out = tmp_path / "names"
    assert main(["train", "--model", "gru", "--dataset", "names", "--data-dir",
                 str(SHARED / "makemore"), "--hidden", "16", "--batch-size", "512",
                 "--epochs", "1", "--lr", "2", "--out", str(out), "--no-progress"]) == 0
    text = capsys.readouterr().out
    assert "25,626 train / 3,203 held-out names, vocabulary 27" in text
    code, names, _ = sample(capsys, "--checkpoint", str(out / "checkpoint.crt"), "--tokens",
                            "60", "--prompt", "em")
    lines = names.split()
    assert code == 0 and lines[0].startswith("em") and len(lines) >= 2
    assert all(set(line) <= set("abcdefghijklmnopqrstuvwxyz") for line in lines)


@pytest.mark.skipif(not (SHARED / "tinyshakespeare" / "input.txt").exists(),
                    reason="Tiny Shakespeare is not in ../shared/datasets")
def test_gpt_on_shakespeare_char(tmp_path, capsys):
    out = tmp_path / "gpt"
    assert main(["train", "--model", "gpt", "--dataset", "shakespeare_char", "--data-dir",
                 str(SHARED / "tinyshakespeare"), "--n-layer", "1", "--n-head", "2",
                 "--n-embd", "16", "--block-size", "16", "--batch-size", "8",
                 "--steps-per-epoch", "10", "--epochs", "1", "--max-tokens", "5000",
                 "--out", str(out), "--no-progress"]) == 0
    assert "5,000 train / 111,540 held-out tokens, vocabulary 65" in capsys.readouterr().out
    code, text, _ = sample(capsys, "--checkpoint", str(out / "checkpoint.crt"), "--tokens",
                           "30", "--prompt", "ROMEO:")
    assert code == 0 and text.startswith("ROMEO:") and len(text) >= 36
    assert os.path.exists(out / "history.csv")
