"""Losses: values against loop-over-examples references and PyTorch, gradients, label errors,
numerical stability at huge logits, and the L2 penalty against SGD's weight decay."""
import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.nn import functional as F

REDUCTIONS = ["mean", "sum", "none"]


# ---------------------------------------------------------------- references, one example at a time

def reduce(losses, reduction):
    losses = np.array(losses)
    return {"mean": losses.mean(), "sum": losses.sum(), "none": losses}[reduction]


def cross_entropy_reference(logits, labels, reduction="mean"):
    losses = []
    for row, label in zip(logits, labels):
        total = sum(math.exp(v) for v in row)
        losses.append(-math.log(math.exp(row[label]) / total))
    return reduce(losses, reduction)


def hinge_reference(scores, labels, margin=1.0, reduction="mean"):
    losses = []
    for row, label in zip(scores, labels):
        losses.append(sum(max(0.0, row[j] - row[label] + margin)
                          for j in range(len(row)) if j != label))
    return reduce(losses, reduction)


def mse_reference(pred, target, reduction="mean"):
    squares = [(p - t) ** 2 for p, t in zip(pred.ravel(), target.ravel())]
    return reduce(squares, reduction).reshape(pred.shape) if reduction == "none" else \
        reduce(squares, reduction)


def bce_reference(logits, targets, reduction="mean"):
    losses = []
    for x, y in zip(logits.ravel(), targets.ravel()):
        p = 1 / (1 + math.exp(-x))
        losses.append(-(y * math.log(p) + (1 - y) * math.log(1 - p)))
    return reduce(losses, reduction).reshape(logits.shape) if reduction == "none" else \
        reduce(losses, reduction)


def scores_away_from_kinks(rng, n, c, margin=1.0, gap=0.05):
    """Random scores and labels whose hinge terms s_j - s_y + margin all stay |.| > gap."""
    while True:
        scores = rng.normal(size=(n, c))
        labels = rng.integers(0, c, size=n)
        terms = scores - scores[np.arange(n), labels][:, None] + margin
        terms[np.arange(n), labels] = 1.0
        if np.abs(terms).min() > gap:
            return scores, labels


@pytest.fixture
def batch():
    rng = np.random.default_rng(0)
    scores, labels = scores_away_from_kinks(rng, 6, 4)
    return {"scores": scores, "labels": labels, "pred": rng.normal(size=(6, 3)),
            "target": rng.normal(size=(6, 3)), "probabilities": rng.uniform(size=(6, 3))}


# ---------------------------------------------------------------- values against the references

@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_matches_reference(batch, reduction):
    got = F.cross_entropy(batch["scores"], batch["labels"], reduction=reduction)
    expected = cross_entropy_reference(batch["scores"], batch["labels"], reduction)
    np.testing.assert_allclose(got.detach().numpy(), expected, rtol=1e-12)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("margin", [1.0, 0.3])
def test_hinge_matches_reference(batch, reduction, margin):
    got = F.multiclass_hinge_loss(batch["scores"], batch["labels"], margin=margin,
                                  reduction=reduction)
    expected = hinge_reference(batch["scores"], batch["labels"], margin, reduction)
    np.testing.assert_allclose(got.detach().numpy(), expected, rtol=1e-12)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_mse_matches_reference(batch, reduction):
    got = F.mse_loss(batch["pred"], batch["target"], reduction=reduction)
    expected = mse_reference(batch["pred"], batch["target"], reduction)
    np.testing.assert_allclose(got.detach().numpy(), expected, rtol=1e-12)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_with_logits_matches_reference(batch, reduction):
    got = F.binary_cross_entropy_with_logits(batch["pred"], batch["probabilities"],
                                             reduction=reduction)
    expected = bce_reference(batch["pred"], batch["probabilities"], reduction)
    np.testing.assert_allclose(got.detach().numpy(), expected, rtol=1e-12)


def test_hinge_of_a_worked_example():
    # Row 0: label 0, terms max(0, 2 - 3 + 1) = 0 and max(0, 4 - 3 + 1) = 2 -> 2.
    # Row 1: label 2, terms max(0, 0 - 1 + 1) = 0 and max(0, 2 - 1 + 1) = 2 -> 2.
    scores = np.array([[3.0, 2.0, 4.0], [0.0, 2.0, 1.0]])
    assert F.multiclass_hinge_loss(scores, [0, 2]).item() == 2.0
    assert F.multiclass_hinge_loss(scores, [0, 2], reduction="sum").item() == 4.0


def test_module_forms_match_the_functions(batch):
    s, y = batch["scores"], batch["labels"]
    assert nn.CrossEntropyLoss()(s, y).item() == F.cross_entropy(s, y).item()
    assert nn.MulticlassHingeLoss(margin=0.5, reduction="sum")(s, y).item() == \
        F.multiclass_hinge_loss(s, y, margin=0.5, reduction="sum").item()
    assert nn.MSELoss()(batch["pred"], batch["target"]).item() == \
        F.mse_loss(batch["pred"], batch["target"]).item()
    assert nn.BCEWithLogitsLoss()(batch["pred"], batch["probabilities"]).item() == \
        F.binary_cross_entropy_with_logits(batch["pred"], batch["probabilities"]).item()
    assert repr(nn.MulticlassHingeLoss()) == "MulticlassHingeLoss(margin=1.0, reduction='mean')"
    with pytest.raises(ValueError, match="reduction"):
        nn.MSELoss(reduction="average")


def test_labels_may_be_tensors_lists_or_arrays(batch):
    s, y = batch["scores"], batch["labels"]
    expected = F.cross_entropy(s, y).item()
    assert F.cross_entropy(cr.tensor(s), cr.tensor(y)).item() == expected
    assert F.cross_entropy(s, list(y)).item() == expected
    assert F.multiclass_hinge_loss(s, cr.tensor(y)).item() == F.multiclass_hinge_loss(s, y).item()


# ---------------------------------------------------------------- against PyTorch

@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_losses_match_torch(batch, reduction):
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    s, y = torch.from_numpy(batch["scores"]), torch.from_numpy(batch["labels"])
    pred, target = torch.from_numpy(batch["pred"]), torch.from_numpy(batch["target"])
    prob = torch.from_numpy(batch["probabilities"])
    pairs = [
        (F.cross_entropy(batch["scores"], batch["labels"], reduction=reduction),
         tf.cross_entropy(s, y, reduction=reduction)),
        (F.mse_loss(batch["pred"], batch["target"], reduction=reduction),
         tf.mse_loss(pred, target, reduction=reduction)),
        (F.binary_cross_entropy_with_logits(batch["pred"], batch["probabilities"],
                                            reduction=reduction),
         tf.binary_cross_entropy_with_logits(pred, prob, reduction=reduction)),
    ]
    for ours, theirs in pairs:
        np.testing.assert_allclose(ours.detach().numpy(), theirs.numpy(), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("margin", [1.0, 0.5])
def test_hinge_over_classes_is_torch_multi_margin_loss(batch, reduction, margin):
    torch = pytest.importorskip("torch")
    classes = batch["scores"].shape[1]
    scores = torch.from_numpy(batch["scores"]).requires_grad_()
    theirs = torch.nn.functional.multi_margin_loss(scores, torch.from_numpy(batch["labels"]),
                                                   margin=margin, reduction=reduction)
    ours_in = cr.tensor(batch["scores"], requires_grad=True)
    ours = F.multiclass_hinge_loss(ours_in, batch["labels"], margin=margin, reduction=reduction)
    np.testing.assert_allclose(ours.detach().numpy() / classes, theirs.detach().numpy(), rtol=1e-12)
    weights = np.random.default_rng(1).normal(size=ours.shape)
    (ours * weights / classes).sum().backward()
    (theirs * torch.from_numpy(weights)).sum().backward()
    np.testing.assert_allclose(ours_in.grad.detach().numpy(), scores.grad.numpy(), rtol=1e-12, atol=1e-15)


def test_hinge_kink_subgradient_matches_torch():
    torch = pytest.importorskip("torch")
    scores = np.array([[1.0, 0.0, 0.5], [1.0, 0.0, -5.0]])  # each row has a term exactly at 0
    labels = np.array([0, 0])
    x = torch.from_numpy(scores).requires_grad_()
    torch.nn.functional.multi_margin_loss(x, torch.from_numpy(labels), reduction="sum").backward()
    ours = cr.tensor(scores, requires_grad=True)
    F.multiclass_hinge_loss(ours, labels, reduction="sum").backward()
    np.testing.assert_array_equal(ours.grad.detach().numpy(), 3 * x.grad.numpy())


# ---------------------------------------------------------------- gradients

def test_cross_entropy_gradcheck(batch):
    for reduction in REDUCTIONS:
        assert cr.gradcheck(lambda s: F.cross_entropy(s, batch["labels"], reduction=reduction),
                            [batch["scores"]])


def test_hinge_gradcheck_away_from_kinks(batch):
    for reduction in REDUCTIONS:
        assert cr.gradcheck(
            lambda s: F.multiclass_hinge_loss(s, batch["labels"], reduction=reduction),
            [batch["scores"]])


def test_mse_gradcheck_both_inputs(batch):
    for reduction in REDUCTIONS:
        assert cr.gradcheck(lambda p, t: F.mse_loss(p, t, reduction=reduction),
                            [batch["pred"], batch["target"]])


def test_bce_with_logits_gradcheck_both_inputs(batch):
    for reduction in REDUCTIONS:
        assert cr.gradcheck(
            lambda x, y: F.binary_cross_entropy_with_logits(x, y, reduction=reduction),
            [batch["pred"] * 3, batch["probabilities"]])


def test_hinge_subgradient_at_the_kink_is_zero():
    # Row 0, label 0: the term for class 1 is 0 - 1 + 1 = 0 exactly (the kink) and counts as
    # inactive; the term for class 2 is 0.5 > 0 and active. So the row's gradient is
    # [-1, 0, +1], divided by the batch size 2. Row 1 only has a kink and an inactive term.
    scores = cr.tensor([[1.0, 0.0, 0.5], [1.0, 0.0, -5.0]], dtype="float64", requires_grad=True)
    F.multiclass_hinge_loss(scores, [0, 0]).backward()
    np.testing.assert_array_equal(scores.grad.detach().numpy(), [[-0.5, 0.0, 0.5], [0.0, 0.0, 0.0]])


def test_cross_entropy_gradient_is_softmax_minus_onehot(batch):
    s = cr.tensor(batch["scores"], requires_grad=True)
    F.cross_entropy(s, batch["labels"], reduction="sum").backward()
    e = np.exp(batch["scores"])
    expected = e / e.sum(axis=1, keepdims=True)
    expected[np.arange(len(batch["labels"])), batch["labels"]] -= 1
    np.testing.assert_allclose(s.grad.detach().numpy(), expected, rtol=1e-12, atol=1e-15)


# ---------------------------------------------------------------- label errors

LABEL_CASES = [
    ("out of range", np.array([0, 3, 1]), r"label 3 at position 1 is out of range .*\[0, 3\)"),
    ("negative", np.array([0, 1, -1]), r"label -1 at position 2 is out of range .*\[0, 3\)"),
    ("float", np.array([0.0, 1.0, 2.0]), r"must be integers, got dtype float64"),
    ("2-D", np.array([[0], [1], [2]]), r"must be 1-D of shape \(3,\), got shape \(3, 1\)"),
    ("wrong length", np.array([0, 1]), r"3 rows but labels have 2 entries"),
]


@pytest.mark.parametrize("loss", [F.cross_entropy, F.multiclass_hinge_loss],
                         ids=["cross_entropy", "hinge"])
@pytest.mark.parametrize("case", LABEL_CASES, ids=[c[0] for c in LABEL_CASES])
def test_bad_labels_raise_with_value_and_range(loss, case):
    _, labels, message = case
    scores = np.zeros((3, 3))
    with pytest.raises(cr.LabelError, match=message) as caught:
        loss(scores, labels)
    assert loss.__name__ in str(caught.value)
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize("loss", [F.cross_entropy, F.multiclass_hinge_loss])
def test_empty_batch_raises(loss):
    with pytest.raises(cr.LabelError, match=r"empty .*\(0, 3\)"):
        loss(np.zeros((0, 3)), np.zeros(0, dtype=np.int64))


def test_shape_and_reduction_errors():
    with pytest.raises(cr.ShapeError, match=r"\(4, 1\).*\(4,\)"):
        F.mse_loss(np.zeros((4, 1)), np.zeros(4))
    with pytest.raises(cr.ShapeError, match=r"\(2, 2\).*\(2,\)"):
        F.binary_cross_entropy_with_logits(np.zeros((2, 2)), np.zeros(2))
    with pytest.raises(ValueError, match="reduction must be one of"):
        F.cross_entropy(np.zeros((2, 2)), [0, 1], reduction="avg")
    with pytest.raises(ValueError, match="reduction must be one of"):
        F.multiclass_hinge_loss(np.zeros((2, 2)), [0, 1], reduction=None)


# ---------------------------------------------------------------- stability at huge logits

@pytest.mark.parametrize("scale", [1e4, 1e20])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cross_entropy_is_finite_at_huge_logits(scale, dtype):
    logits = cr.tensor(np.array([[1.0, -1.0, 0.0], [-1.0, 1.0, 1.0], [0.0, 0.0, -1.0]]) * scale,
                       dtype=dtype, requires_grad=True)
    labels = np.array([1, 2, 0])
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        loss = F.cross_entropy(logits, labels)
        loss.backward()
    assert np.isfinite(loss.item())
    # Row 0 is wrong by 2 * scale; rows 1 and 2 are right but tied with one other class, which
    # costs log 2 each: loss = (2 scale + 2 log 2) / 3.
    np.testing.assert_allclose(loss.item(), (2 * scale + 2 * math.log(2)) / 3, rtol=1e-6)
    assert np.all(np.isfinite(logits.grad.detach().numpy()))
    np.testing.assert_allclose(logits.grad.detach().numpy()[0], np.array([1, -1, 0]) / 3, atol=1e-7)


@pytest.mark.parametrize("scale", [1e4, 1e20])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bce_with_logits_is_finite_at_huge_logits(scale, dtype):
    logits = cr.tensor(np.array([1.0, -1.0, 1.0, -1.0]) * scale, dtype=dtype, requires_grad=True)
    targets = np.array([1.0, 0.0, 0.0, 1.0], dtype=dtype)
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        loss = F.binary_cross_entropy_with_logits(logits, targets, reduction="none")
        loss.sum().backward()
    # Right with huge confidence costs 0, wrong costs |logit|; the gradient is sigmoid(x) - y.
    np.testing.assert_allclose(loss.detach().numpy(), [0, 0, scale, scale], rtol=1e-6)
    np.testing.assert_allclose(logits.grad.detach().numpy(), [0, 0, 1, -1], atol=1e-7)


# ---------------------------------------------------------------- L2 regularisation

def test_l2_penalty_value_and_gradient():
    a = cr.tensor([[1.0, 2.0], [3.0, 4.0]], dtype="float64", requires_grad=True)
    b = cr.tensor([0.5, -1.0], dtype="float64", requires_grad=True)
    penalty = nn.l2_penalty([a, b], lam=0.1)
    assert penalty.item() == pytest.approx(0.05 * (1 + 4 + 9 + 16 + 0.25 + 1))
    penalty.backward()
    np.testing.assert_allclose(a.grad.detach().numpy(), 0.1 * a.detach().numpy())
    np.testing.assert_allclose(b.grad.detach().numpy(), 0.1 * b.detach().numpy())
    assert nn.l2_penalty({"a": a, "b": b}, 0.1).item() == penalty.item()
    assert nn.l2_penalty(iter([a, b]), 0.1).item() == penalty.item()
    assert nn.l2_penalty([], 0.1).item() == 0.0
    with pytest.raises(ValueError, match="lam"):
        nn.l2_penalty([a], -1.0)


def test_l2_penalty_equals_sgd_weight_decay():
    lam, lr = 0.05, 0.3
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(8, 5)), rng.integers(0, 3, size=8)

    def make_model():
        model = nn.Sequential(nn.Linear(5, 4, dtype="float64", generator=np.random.default_rng(1)),
                              nn.Tanh(),
                              nn.Linear(4, 3, dtype="float64", generator=np.random.default_rng(2)))
        for p in model.parameters():  # non-zero biases, so that they are decayed too
            p.data += 0.1
        return model

    decayed, penalised = make_model(), make_model()
    sgd_decay = optim.SGD(decayed.parameters(), lr=lr, weight_decay=lam)
    sgd_plain = optim.SGD(penalised.parameters(), lr=lr)
    for _ in range(3):
        sgd_decay.zero_grad()
        F.cross_entropy(decayed(x), y).backward()
        sgd_decay.step()
        sgd_plain.zero_grad()
        (F.cross_entropy(penalised(x), y) + nn.l2_penalty(penalised.parameters(), lam)).backward()
        sgd_plain.step()
    for (name, p), q in zip(decayed.named_parameters(), penalised.parameters()):
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=1e-13, atol=1e-15, err_msg=name)
    assert not np.allclose(decayed[0].weight.detach().numpy(), make_model()[0].weight.detach().numpy())
