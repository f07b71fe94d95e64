"""nn.utils against torch.nn.utils: clip_grad_norm_ (norm types, mixed dtypes, nan/inf, no
gradients), clip_grad_value_, parameters_to_vector and vector_to_parameters."""
import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

torch = pytest.importorskip("torch")


def pair(arrays, grads):
    """The same parameters with the same gradients in both libraries (None: no gradient)."""
    ours, theirs = [], []
    for array, grad in zip(arrays, grads):
        p = nn.Parameter(np.array(array))
        t = torch.nn.Parameter(torch.tensor(np.array(array)))
        if grad is not None:
            p.grad = cr.tensor(np.array(grad))
            t.grad = torch.tensor(np.array(grad))
        ours.append(p)
        theirs.append(t)
    return ours, theirs


def grads_of(params):
    return [None if p.grad is None else np.asarray(p.grad.detach().numpy()) for p in params]


rng = np.random.default_rng(0)
G32 = rng.normal(size=(3, 4)).astype(np.float32)
G64 = rng.normal(size=5)

CLIP_CASES = [
    ("below the limit", [G32], 100.0, 2.0),
    ("above the limit", [G32, G32[0] * 10], 1.0, 2.0),
    ("l1", [G32, G32[1]], 0.5, 1.0),
    ("p = 3", [G32, G32[1]], 0.5, 3),
    ("inf", [G32, G32[2]], 0.5, float("inf")),
    ("inf as text", [G32], 0.5, "inf"),
    ("zeros", [np.zeros((2, 2), np.float32)], 1.0, 2.0),
    ("float64", [G64], 0.1, 2.0),
    ("mixed dtypes", [G32, G64], 0.1, 2.0),
    ("a parameter without grad", [G32, None], 0.3, 2.0),
    ("max_norm 0", [G32], 0.0, 2.0),
]


@pytest.mark.parametrize("grads, max_norm, norm_type", [c[1:] for c in CLIP_CASES],
                         ids=[c[0] for c in CLIP_CASES])
def test_clip_grad_norm_matches_torch(grads, max_norm, norm_type):
    arrays = [np.zeros_like(g) if g is not None else np.zeros(3, np.float32) for g in grads]
    ours, theirs = pair(arrays, grads)
    total = nn.utils.clip_grad_norm_(ours, max_norm, norm_type=norm_type)
    expected = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type=norm_type)
    assert isinstance(total, cr.Tensor) and total.shape == ()
    assert total.dtype == np.dtype(str(expected.dtype).replace("torch.", ""))
    np.testing.assert_allclose(total.item(), expected.item(), rtol=1e-6)
    for mine, torchs in zip(grads_of(ours), grads_of(theirs)):
        if torchs is None:
            assert mine is None
        else:
            assert mine.dtype == torchs.dtype
            np.testing.assert_allclose(mine, torchs, rtol=1e-6, atol=1e-7)


def test_clip_grad_norm_changes_the_gradients_in_place():
    p = nn.Parameter(np.zeros(2, np.float32))
    p.grad = cr.tensor([30.0, 40.0])
    grad = p.grad
    nn.utils.clip_grad_norm_(p, 5.0)  # a single tensor, as torch accepts
    assert p.grad is grad
    np.testing.assert_allclose(grad.numpy(), [3.0, 4.0], rtol=1e-5)


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_clip_grad_norm_non_finite(bad):
    ours, theirs = pair([np.zeros(3)], [[1.0, bad, 2.0]])
    with pytest.raises(RuntimeError, match="non-finite"):
        nn.utils.clip_grad_norm_(ours, 1.0, error_if_nonfinite=True)
    with pytest.raises(RuntimeError, match="non-finite"):
        torch.nn.utils.clip_grad_norm_(theirs, 1.0, error_if_nonfinite=True)
    total = nn.utils.clip_grad_norm_(ours, 1.0)
    expected = torch.nn.utils.clip_grad_norm_(theirs, 1.0)
    np.testing.assert_equal(total.item(), expected.item())
    np.testing.assert_array_equal(grads_of(ours)[0], grads_of(theirs)[0])  # nan where torch's


def test_clip_grad_norm_without_gradients_returns_zero():
    assert nn.utils.clip_grad_norm_([nn.Parameter(np.zeros(2))], 1.0).item() == 0.0
    assert nn.utils.clip_grad_norm_([], 1.0).item() == 0.0


def test_clip_grad_norm_then_step_trains_as_torch():
    layer = nn.Linear(4, 3)
    theirs = torch.nn.Linear(4, 3)
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(layer.weight.detach().numpy()))
        theirs.bias.copy_(torch.tensor(layer.bias.detach().numpy()))
    x = rng.normal(size=(5, 4)).astype(np.float32) * 10
    (layer(cr.tensor(x)) ** 2).sum().backward()
    (theirs(torch.tensor(x)) ** 2).sum().backward()
    a = nn.utils.clip_grad_norm_(layer.parameters(), 2.0)
    b = torch.nn.utils.clip_grad_norm_(theirs.parameters(), 2.0)
    np.testing.assert_allclose(a.item(), b.item(), rtol=1e-5)
    np.testing.assert_allclose(layer.weight.grad.numpy(), theirs.weight.grad.numpy(), rtol=1e-5,
                               atol=1e-6)


@pytest.mark.parametrize("clip_value", [0.5, 0.0, 2])
def test_clip_grad_value_matches_torch(clip_value):
    grads = [[-3.0, -0.2, 0.0, 0.4, 7.0, float("nan")], [float("-inf"), 1.0], None]
    ours, theirs = pair([np.zeros(6), np.zeros(2), np.zeros(1)], grads)
    assert nn.utils.clip_grad_value_(ours, clip_value) is None
    torch.nn.utils.clip_grad_value_(theirs, clip_value)
    for mine, torchs in zip(grads_of(ours), grads_of(theirs)):
        if torchs is None:
            assert mine is None
        else:
            np.testing.assert_array_equal(mine, torchs)


def test_clip_refuses_what_is_not_a_tensor():
    with pytest.raises(TypeError, match="clip_grad_norm_: parameter 0 is a list"):
        nn.utils.clip_grad_norm_([[1.0]], 1.0)


def test_parameters_to_vector_and_back_as_torch():
    layer = nn.Linear(3, 2)
    theirs = torch.nn.Linear(3, 2)
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(layer.weight.detach().numpy()))
        theirs.bias.copy_(torch.tensor(layer.bias.detach().numpy()))
    vec = nn.utils.parameters_to_vector(layer.parameters())
    tvec = torch.nn.utils.parameters_to_vector(theirs.parameters())
    np.testing.assert_array_equal(vec.detach().numpy(), tvec.detach().numpy())
    # differentiable: the gradient of a sum flows back to every parameter
    (vec * cr.arange(8.0)).sum().backward()
    (tvec * torch.arange(8.0)).sum().backward()
    np.testing.assert_array_equal(layer.weight.grad.numpy(), theirs.weight.grad.numpy())

    new = cr.arange(10.0)  # two more elements than needed: ignored, as in torch
    nn.utils.vector_to_parameters(new, layer.parameters())
    torch.nn.utils.vector_to_parameters(torch.arange(10.0), theirs.parameters())
    np.testing.assert_array_equal(layer.weight.detach().numpy(), theirs.weight.detach().numpy())
    np.testing.assert_array_equal(layer.bias.detach().numpy(), theirs.bias.detach().numpy())
    new[0] = 99.0  # the parameters are views of the vector, as torch's param.data = view
    assert layer.weight.detach().numpy()[0, 0] == 99.0


def test_vector_to_parameters_refusals():
    layer = nn.Linear(3, 2)
    with pytest.raises(TypeError, match="expected a Tensor"):
        nn.utils.vector_to_parameters([0.0] * 8, layer.parameters())
    with pytest.raises(ValueError, match="need a vector of 8 elements"):
        nn.utils.vector_to_parameters(cr.zeros(5), layer.parameters())
