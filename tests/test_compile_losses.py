"""The class-index losses compiled: nll_loss, and cross_entropy with weights, label smoothing
and ignore_index, read each call's labels (the targets the loss ignores too), check them at
every replay as eager does, and give eager's numbers bit for bit. gather, which they pick
with, reads its index along dim as a line of the plan. Before, the arrays these losses built
from the labels with NumPy were constants of the plan, and a compiled step with any of them
was refused at its second batch."""
import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.compile import CaptureError
from chainrule.errors import LabelError, ScatterIndexError
from test_compile_edge_replay import model_step, sgd, twin

F = nn.functional

# Each call's labels for a batch of 6 and 4 classes: class 1 (the ignore_index below) at
# other places in every call, and in none of the last.
MOVING = [[1, 0, 2, 3, 1, 0], [0, 1, 3, 2, 2, 1], [2, 2, 1, 0, 3, 3], [3, 1, 1, 1, 0, 2]]


def batches(labels, dtype="float32", label_dtype=np.int64, rows=6):
    def args(k):
        rng = np.random.default_rng(70 + k)
        x = rng.standard_normal((rows, 5)).astype(dtype)
        return [cr.tensor(x), cr.tensor(np.array(labels[k], dtype=label_dtype))]
    return args


LOSSES = {
    "nll_loss": lambda o, y: F.nll_loss(F.log_softmax(o, 1), y),
    "nll_loss_ignore": lambda o, y: F.nll_loss(F.log_softmax(o, 1), y, ignore_index=1),
    "nll_loss_weight_sum": lambda o, y: F.nll_loss(
        F.log_softmax(o, 1), y, weight=cr.tensor([0.5, 2.0, 1.0, 3.0]), reduction="sum"),
    "nll_loss_none": lambda o, y: F.nll_loss(F.log_softmax(o, 1), y, reduction="none").sum(),
    "cross_entropy_ignore": lambda o, y: F.cross_entropy(o, y, ignore_index=1),
    "cross_entropy_weight_ignore": lambda o, y: F.cross_entropy(
        o, y, weight=cr.tensor([1.0, 0.5, 2.0, 0.25]), ignore_index=1),
    "cross_entropy_smoothing_ignore": lambda o, y: F.cross_entropy(
        o, y, label_smoothing=0.3, ignore_index=1),
}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", list(LOSSES))
def test_moving_labels_and_ignored_targets_replay_eager_bits(name, dtype):
    compiled = twin(model_step(LOSSES[name], sgd, dtype=dtype), batches(MOVING, dtype))
    assert compiled.plans[0].calls >= 2  # two calls traced, the others replayed


def test_uint8_labels_replay():
    twin(model_step(LOSSES["nll_loss_weight_sum"], sgd), batches(MOVING, label_dtype=np.uint8))


def test_every_target_ignored_gives_nan_as_eager():
    labels = [[1] * 6, [0, 1, 1, 1, 1, 1], [1] * 6, [1, 1, 1, 1, 1, 2]]
    twin(model_step(LOSSES["nll_loss_ignore"], sgd), batches(labels))


def test_sequence_targets_with_padding_at_other_places_replay():
    # (N, C, T) scores and (N, T) targets padded with ignore_index, as a sequence model's.
    pads = [[[0, 2, 3, -100], [1, -100, -100, -100]], [[2, 2, -100, -100], [3, 0, 1, 1]],
            [[1, -100, 0, 0], [-100, -100, 3, 2]], [[0, 1, 2, 3], [0, 0, -100, 1]]]

    def make():
        conv = nn.Conv1d(3, 4, 1)
        opt = cr.optim.SGD(conv.parameters(), lr=0.1)

        def step(x, y):
            opt.zero_grad()
            loss = F.cross_entropy(conv(x), y, weight=cr.tensor([1.0, 2.0, 0.5, 1.5]),
                                   label_smoothing=0.1)
            loss.backward()
            opt.step()
            return loss
        return list(conv.parameters()), opt, step, conv

    def args(k):
        x = np.random.default_rng(k).standard_normal((2, 3, 4)).astype(np.float32)
        return [cr.tensor(x), cr.tensor(np.array(pads[k]))]
    twin(make, args)


@pytest.mark.parametrize("bad", [-1, 4])
@pytest.mark.parametrize("name", ["nll_loss", "cross_entropy_weight_ignore"])
def test_a_label_out_of_range_raises_at_replay_as_eager(name, bad):
    # A -1 read by NumPy would pick the last class: eager raises, and so must the plan.
    cr.manual_seed(0)
    _, _, step, _ = model_step(LOSSES[name], sgd)()
    compiled = cr.compile(step)
    args = batches(MOVING)
    for k in range(3):
        compiled(*args(k))
    assert compiled.plans and compiled.plans[0].calls >= 1
    x, y = args(3)
    y = cr.tensor(np.array([0, 2, bad, 1, 0, 3]))
    with pytest.raises(LabelError, match=f"label {bad} at position 2 is out of range"):
        compiled(x, y)


def test_gather_with_an_index_out_of_range_raises_at_replay_as_eager():
    w = cr.tensor(np.ones((3, 4)), requires_grad=True)

    @cr.compile
    def step(index):
        out = (w * 2).gather(1, index).sum()
        out.backward()
        return out
    for k in range(3):
        step(cr.tensor(np.array([[k], [0], [3]])))
    with pytest.raises(ScatterIndexError, match="index -1 is out of bounds for dimension 1"):
        step(cr.tensor(np.array([[1], [-1], [0]])))


def test_cross_entropy_refuses_a_call_whose_targets_ignore_none_when_traced_ignoring_some():
    # Eager runs the fused softmax cross-entropy when no target is ignored: another
    # computation, which the plan made for ignored targets cannot give.
    cr.manual_seed(0)
    _, _, step, _ = model_step(LOSSES["cross_entropy_ignore"], sgd)()
    compiled = cr.compile(step)
    args = batches(MOVING)
    for k in range(3):
        compiled(*args(k))
    x, _ = args(3)
    with pytest.raises(CaptureError, match="do not include ignore_index \\(1\\) in this call"):
        compiled(x, cr.tensor(np.array([0, 2, 3, 0, 2, 3])))


def test_a_refused_constant_names_the_line_that_made_it():
    # index_add still reads its indices with NumPy: the refusal names the step's line and
    # the chainrule functions that do this, rather than blaming "the step" alone.
    w = cr.tensor(np.ones((3, 4)), requires_grad=True)

    def step(index):
        out = cr.zeros(5, 4, dtype="float64").index_add(0, index, w * 2).sum()  # named
        out.backward()
        return out
    compiled = cr.compile(step)
    with pytest.raises(CaptureError) as refused:
        for k in range(3):  # the traced calls see other indices
            compiled(cr.tensor(np.array([k, 0, 3])))
    message = str(refused.value)
    assert "test_compile_losses.py:" in message and "index_add(0, index, w * 2)" in message
    assert "read by " in message and "index_add, embedding_bag" in message


def test_index_select_and_take_read_each_calls_index_and_check_it():
    w = cr.tensor(np.arange(12.0).reshape(3, 4), requires_grad=True)

    def step(index):
        w.grad = None
        out = (w * 2).take(index).sum() + (w * 3).index_select(1, index[:2]).sum()
        out.backward()
        return out, w.grad * 1
    compiled = cr.compile(step)
    for k in range(4):
        index = cr.tensor(np.array([k, 0, 3, -1]))
        expected, got = step(index), compiled(index)
        assert got[0].item() == expected[0].item()
        np.testing.assert_array_equal(got[1].numpy(), expected[1].numpy())
    assert sum(plan.calls for plan in compiled.plans) >= 2
    with pytest.raises(IndexError, match="index_select: index -1 is out of range"):
        compiled(cr.tensor(np.array([0, -1, 3, 1])))
    with pytest.raises(IndexError, match="take: index out of range for a tensor of 12"):
        compiled(cr.tensor(np.array([0, 1, 12, 1])))
