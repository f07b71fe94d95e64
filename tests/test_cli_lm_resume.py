"""chainrule train --model rnn|gru|lstm|gpt on a tiny setting: a run stopped after one epoch
and resumed ends with the weights and history of the uninterrupted run; the history holds the
perplexity; chainrule evaluate reports it."""
import json
import math

import numpy as np
import pytest

from chainrule.cli import main
from chainrule.serialize import load_tree

from test_cli_lm import train


@pytest.mark.parametrize("model", ["rnn", "gru", "lstm", "gpt"])
def test_train_then_resume_gives_the_uninterrupted_run(tmp_path, capsys, model):
    whole = train(tmp_path, "whole", model)
    half = train(tmp_path, "half", model, epochs=1)
    assert main(["train", "--resume", str(half / "checkpoint.crt"), "--epochs", "2",
                 "--no-progress"]) == 0
    a, b = load_tree(whole / "checkpoint.crt"), load_tree(half / "checkpoint.crt")
    assert a["model"].keys() == b["model"].keys()
    for name in a["model"]:
        np.testing.assert_array_equal(a["model"][name], b["model"][name], err_msg=name)
    assert [r["train_loss"] for r in a["history"]] == [r["train_loss"] for r in b["history"]]
    out = capsys.readouterr().out
    assert "perplexity" in out and "tokens/s" in out
    assert a["tokenizer"]["tokens"][:3] == ["<unk>", " ", "e"]  # d2l's Vocab, as trained on
    assert a["config"]["model"] == model and a["config"]["vocab_size"] == 28
    rows = json.loads((whole / "history.json").read_text())
    assert len(rows) == 2
    for row in rows:
        assert math.isclose(row["train_perplexity"], math.exp(row["train_loss"]), rel_tol=1e-12)
        assert math.isclose(row["test_perplexity"], math.exp(row["test_loss"]), rel_tol=1e-12)
        assert 1 < row["test_perplexity"] < 28 * 2
    header = (whole / "history.csv").read_text().splitlines()[0]
    assert header.endswith("train_perplexity,test_perplexity")
    assert main(["evaluate", str(whole / "checkpoint.crt")]) == 0
    assert f"perplexity {rows[-1]['test_perplexity']:.3f}" in capsys.readouterr().out
