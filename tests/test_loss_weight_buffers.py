"""A loss's class weights are buffers, as PyTorch's _WeightedLoss keeps them: in the state dict
(so a model holding its loss saves and loads as PyTorch's) and converted by .to(dtype)."""
import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

WEIGHT = [1.0, 2.0, 0.5]


def _inputs(lib, name, dtype):
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((4, 3))
    if name in ("BCELoss",):
        logits = 1 / (1 + np.exp(-logits))
    if name == "NLLLoss":
        logits = logits - np.log(np.exp(logits).sum(1, keepdims=True))
    x = lib.tensor(logits.astype(dtype))
    if name in ("BCELoss", "BCEWithLogitsLoss"):
        return x, lib.tensor(rng.integers(0, 2, (4, 3)).astype(dtype))
    return x, lib.tensor(np.array([0, 2, 1, 2]))


def _make(lib, name):
    kwargs = {"weight": lib.tensor(WEIGHT)}
    if name == "BCEWithLogitsLoss":
        kwargs["pos_weight"] = lib.tensor([2.0, 1.0, 3.0])
    return getattr(lib.nn, name)(**kwargs)


NAMES = ["CrossEntropyLoss", "NLLLoss", "MultiMarginLoss", "BCELoss", "BCEWithLogitsLoss"]


@pytest.mark.parametrize("name", NAMES)
def test_state_dict_keys_and_values_are_pytorchs(name):
    ours, theirs = _make(cr, name).state_dict(), _make(torch, name).state_dict()
    assert list(ours) == list(theirs)
    for key in ours:
        np.testing.assert_array_equal(np.asarray(ours[key]), theirs[key].numpy())
    assert list(getattr(cr.nn, name)().state_dict()) == list(getattr(torch.nn, name)().state_dict())


@pytest.mark.parametrize("name", NAMES)
def test_to_float64_converts_the_weights_and_the_loss_is_pytorchs(name):
    ours, theirs = _make(cr, name).double(), _make(torch, name).double()
    for key, buffer in ours.state_dict().items():
        assert buffer.dtype == cr.float64, key
    value = ours(*_inputs(cr, name, np.float64))
    expected = theirs(*_inputs(torch, name, np.float64))
    assert value.dtype == cr.float64
    np.testing.assert_allclose(value.item(), expected.item(), rtol=1e-12)


@pytest.mark.parametrize("name", NAMES)
def test_a_model_holding_its_loss_loads_pytorchs_state_dict(name):
    def model(lib):
        class WithLoss(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.head = lib.nn.Linear(3, 3)
                self.loss = _make(lib, name)
        return WithLoss()

    theirs = model(torch)
    with torch.no_grad():
        theirs.loss.weight.mul_(3)
    ours = model(cr)
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    np.testing.assert_array_equal(np.asarray(ours.loss.weight), theirs.loss.weight.numpy())
    assert list(ours.state_dict()) == list(theirs.state_dict())
