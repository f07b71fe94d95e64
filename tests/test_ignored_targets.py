"""cross_entropy and nll_loss when every target is ignored, or the targets' weights sum to 0,
against PyTorch: "mean" gives PyTorch's NaN loss, and the gradient is PyTorch's, 0 for every
ignored example. chainrule's was NaN everywhere (0 * inf), so a batch of padding alone turned
every weight into NaN at the next step, where PyTorch's step changes nothing."""
import itertools

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

TARGETS = {"all ignored": [-100, -100, -100, -100], "some ignored": [0, -100, 2, -100],
           "none ignored": [0, 1, 2, 1], "other ignore_index": [3, 3, 1, 3]}
WEIGHTS = {"none": None, "positive": [1.0, 2.0, 3.0], "zero at the targets": [0.0, 0.0, 3.0]}


def run(lib, loss, targets, weight, reduction, smoothing, shape):
    x = lib.tensor(np.random.default_rng(0).normal(size=(4, 3)), requires_grad=True)
    inputs = x if shape == "2-D" else x.reshape(2, 2, 3).transpose(1, 2)
    labels = lib.tensor(TARGETS[targets])
    labels = labels if shape == "2-D" else labels.reshape(2, 2)
    kwargs = dict(reduction=reduction, ignore_index=3 if targets == "other ignore_index" else -100)
    if WEIGHTS[weight] is not None:
        kwargs["weight"] = lib.tensor(WEIGHTS[weight], dtype=lib.float64)
    if loss == "cross_entropy":
        out = lib.nn.functional.cross_entropy(inputs, labels, label_smoothing=smoothing, **kwargs)
    else:
        out = lib.nn.functional.nll_loss(inputs.log_softmax(1), labels, **kwargs)
    out.sum().backward()
    return np.array(out.tolist()), np.array(x.grad.tolist())


@pytest.mark.parametrize("loss, targets, weight, reduction, smoothing, shape", [
    case for case in itertools.product(["cross_entropy", "nll_loss"], TARGETS, WEIGHTS,
                                       ["mean", "sum", "none"], [0.0, 0.2], ["2-D", "3-D"])
    if case[0] == "cross_entropy" or case[4] == 0.0])
def test_loss_and_gradient_are_pytorchs(loss, targets, weight, reduction, smoothing, shape):
    if targets == "other ignore_index" and weight != "none":
        weight = "positive" if weight == "zero at the targets" else weight
    ours = run(cr, loss, targets, weight, reduction, smoothing, shape)
    theirs = run(torch, loss, targets, weight, reduction, smoothing, shape)
    for mine, expected in zip(ours, theirs):
        np.testing.assert_allclose(mine, expected, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("loss", ["cross_entropy", "nll_loss"])
@pytest.mark.parametrize("label_dtype", ["int64", "uint8"])
def test_strided_and_uint8_targets_pick_as_pytorch(loss, label_dtype):
    # The general path picks with the target tensor itself (cr.compile reads it live): a
    # strided view of the labels, or uint8 ones, must pick the same classes as PyTorch.
    def run(lib):
        x = lib.tensor(np.random.default_rng(1).normal(size=(4, 3)), requires_grad=True)
        every = lib.tensor([2, 9, 0, 9, 1, 9, 0, 9], dtype=getattr(lib, label_dtype))
        labels = every[::2]  # a view with a stride of 2
        kwargs = dict(weight=lib.tensor([0.5, 2.0, 1.0], dtype=lib.float64), ignore_index=1)
        inputs = x * 1.5 + x  # x used twice: the gradient sums both paths
        if loss == "cross_entropy":
            # (PyTorch's smoothing gathers with the target itself, which uint8 cannot do)
            smoothing = 0.1 if label_dtype == "int64" else 0.0
            out = lib.nn.functional.cross_entropy(inputs, labels, label_smoothing=smoothing,
                                                  **kwargs)
        else:
            out = lib.nn.functional.nll_loss(inputs.log_softmax(1), labels, **kwargs)
        out.backward()
        return out.item(), np.array(x.grad.tolist())
    (value, grad), (expected, expected_grad) = run(cr), run(torch)
    assert value == pytest.approx(expected, rel=1e-12)
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-12, atol=1e-15)
