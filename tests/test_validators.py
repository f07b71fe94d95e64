"""One validator family with one wording (chainrule/argtypes.py): the optimizers, the trainer's
config, nn.functional and the command line refuse the same mistake in the same words; and
integer labels are checked in one place (ops/fused.check_labels) for every loss."""
import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import optim
from chainrule.cli import main
from chainrule.nn import functional as F
from chainrule.train import TrainConfig


def one_param():
    return [cr.nn.Parameter(cr.zeros(2))]


@pytest.mark.parametrize("call, message", [
    (lambda: optim.SGD(one_param(), lr=0.1, momentum=-1), "momentum must be >= 0, got -1"),
    (lambda: TrainConfig(momentum=-1), "momentum must be >= 0, got -1"),
    (lambda: F.l2_penalty([cr.ones(2)], -1), "l2_penalty: lam must be >= 0, got -1"),
    (lambda: optim.SGD(one_param(), lr="x"), "lr must be a number, got 'x'"),
    (lambda: TrainConfig(lr="x"), "lr must be a number, got 'x'"),
    (lambda: F.dropout(cr.ones(2), p="x"), "dropout probability p must be a number, got 'x'"),
    (lambda: optim.SGD(one_param(), lr=math.inf), "lr must be finite, got inf"),
    (lambda: TrainConfig(weight_decay=math.inf), "weight_decay must be finite, got inf"),
    (lambda: F.l2_penalty([cr.ones(2)], math.inf), "l2_penalty: lam must be finite, got inf"),
    (lambda: optim.StepLR(optim.SGD(one_param(), lr=0.1), step_size=0),
     "step_size must be a positive int, got 0"),
    (lambda: TrainConfig(epochs=0), "epochs must be a positive int, got 0"),
    (lambda: TrainConfig(seed=-1), "seed must be a non-negative int, got -1"),
    (lambda: TrainConfig(batch_size=True), "batch_size must be a positive int, got True"),
    (lambda: F.dropout(cr.ones(2), p=1.5), "dropout probability p must be a number in [0, 1], "
                                            "got 1.5"),
])
def test_the_library_refuses_in_one_wording(call, message):
    with pytest.raises(ValueError) as caught:
        call()
    # The optimizers and schedulers put their own name in front ("SGD: lr must be ...").
    text = str(caught.value)
    assert text == message or text.endswith(f": {message}"), text


@pytest.mark.parametrize("argv, message", [
    (["--momentum", "-1"], "argument --momentum: must be >= 0, got -1.0"),
    (["--lr", "x"], "argument --lr: must be a number, got 'x'"),
    (["--weight-decay", "inf"], "argument --weight-decay: must be finite, got inf"),
    (["--epochs", "0"], "argument --epochs: must be a positive int, got 0"),
    (["--seed", "-1"], "argument --seed: must be a non-negative int, got -1"),
])
def test_the_command_line_refuses_in_the_same_words(argv, message, capsys):
    with pytest.raises(SystemExit) as caught:
        main(["train", *argv])
    assert caught.value.code == 2
    assert capsys.readouterr().err.strip().endswith(f"error: {message}")


LABELS = np.array([0, 5, 1])


@pytest.mark.parametrize("loss", [
    lambda s, y: cr.softmax_cross_entropy(s, y),
    lambda s, y: F.cross_entropy(s, y),
    lambda s, y: F.nll_loss(F.log_softmax(s, 1), y),
    lambda s, y: F.multi_margin_loss(s, y),
    lambda s, y: F.multiclass_hinge_loss(s, y),
], ids=["softmax_cross_entropy", "cross_entropy", "nll_loss", "multi_margin_loss",
        "multiclass_hinge_loss"])
def test_labels_are_checked_in_one_place(loss):
    scores = cr.zeros(3, 4)
    with pytest.raises(cr.LabelError, match=r"label 5 at position 1 is out of range for 4 "
                                            r"classes \[0, 4\)$"):
        loss(scores, LABELS)
    with pytest.raises(cr.LabelError, match="must be integers, got dtype float64"):
        loss(scores, LABELS.astype(np.float64))
    with pytest.raises(cr.LabelError, match="scores have 3 rows but labels have 2 entries"):
        loss(scores, LABELS[:2] * 0)


def test_labels_match_pytorchs_range_check():
    torch = pytest.importorskip("torch")
    with pytest.raises(IndexError):
        torch.nn.functional.cross_entropy(torch.zeros(3, 4), torch.tensor(LABELS))
    with pytest.raises(IndexError):  # a LabelError is also what PyTorch raises here
        F.cross_entropy(cr.zeros(3, 4), LABELS)
