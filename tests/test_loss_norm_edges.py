"""Losses and normalisations off the happy path, against PyTorch: mixed dtypes of inputs and
weights, targets outside their range, edge inputs (probabilities exactly 0 or 1, a vector of
zeros), empty batches and second-order gradients. Each case is one chainrule gave a wrong
number for, or computed where PyTorch raises."""
import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


def rng(seed=0):
    return np.random.default_rng(seed)


def pair(array, requires_grad=False):
    """The same array as a chainrule and a PyTorch tensor."""
    return (cr.tensor(array, requires_grad=requires_grad),
            torch.tensor(array, requires_grad=requires_grad))


def assert_raises_like_torch(call, pattern):
    with pytest.raises(Exception):
        call(torch)
    with pytest.raises(Exception, match=pattern):
        call(cr)


def test_cross_entropy_probability_targets_promote_with_a_float64_weight():
    # PyTorch's probability-target cross-entropy multiplies by the weight, promoting: float32
    # logits with a float64 weight give a float64 loss (chainrule cast the weight to float32,
    # its deliberate difference for the class-index losses, where PyTorch raises).
    x = rng().normal(size=(3, 4)).astype(np.float32)
    p = rng(1).dirichlet(np.ones(4), 3).astype(np.float32)
    w = rng(2).random(4) + 0.5
    (cx, tx), (cp, tp), (cw, tw) = pair(x, True), pair(p), pair(w)
    ours = cr.nn.functional.cross_entropy(cx, cp, weight=cw, label_smoothing=0.2)
    theirs = torch.nn.functional.cross_entropy(tx, tp, weight=tw, label_smoothing=0.2)
    assert str(theirs.dtype) == "torch.float64"
    assert ours.dtype == cr.float64
    np.testing.assert_allclose(ours.item(), theirs.item(), rtol=1e-6)
    ours.backward(), theirs.backward()
    assert cx.grad.dtype == cr.float32
    np.testing.assert_allclose(cx.grad.numpy(), tx.grad.numpy(), rtol=1e-5, atol=1e-7)
