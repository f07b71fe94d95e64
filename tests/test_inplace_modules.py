"""Modules with PyTorch's ``inplace=True``: the input tensor itself comes back holding the result,
values and gradients equal to PyTorch's, the same refusals (a leaf that requires grad, a graph
that saved the overwritten values), and PyTorch's repr."""
import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

torch = pytest.importorskip("torch")

X = np.array([[-3.0, -1.0, -0.25, 0.0], [0.25, 0.5, 2.0, 8.0]])

CASES = [
    ("ReLU", (), {}),
    ("ReLU6", (), {}),
    ("LeakyReLU", (0.2,), {}),
    ("ELU", (), {"alpha": 0.5}),
    ("CELU", (), {"alpha": 2.0}),
    ("SELU", (), {}),
    ("SiLU", (), {}),
    ("Mish", (), {}),
    ("Hardsigmoid", (), {}),
    ("Hardswish", (), {}),
    ("Hardtanh", (-0.5, 1.5), {}),
    ("Threshold", (0.3, -2.0), {}),
]


def both(name, args, kwargs, inplace):
    return (getattr(nn, name)(*args, inplace=inplace, **kwargs),
            getattr(torch.nn, name)(*args, inplace=inplace, **kwargs))


@pytest.mark.parametrize("name, args, kwargs", CASES, ids=[c[0] for c in CASES])
def test_inplace_result_is_the_input_with_torchs_values_and_gradients(name, args, kwargs):
    ours, theirs = both(name, args, kwargs, inplace=True)
    leaf = cr.tensor(X, requires_grad=True)
    tleaf = torch.tensor(X, requires_grad=True)
    weights = np.arange(8.0).reshape(2, 4)
    h, th = leaf * 2, tleaf * 2  # not a leaf: in place is allowed
    out, tout = ours(h), theirs(th)
    assert out is h and tout is th
    np.testing.assert_allclose(h.detach().numpy(), th.detach().numpy(), rtol=1e-12, atol=1e-15)
    (out * cr.tensor(weights)).sum().backward()
    (tout * torch.tensor(weights)).sum().backward()
    # torch's hardsigmoid backward uses a float32 1/6 even in float64, hence rtol 1e-7.
    np.testing.assert_allclose(leaf.grad.numpy(), tleaf.grad.numpy(), rtol=1e-7, atol=1e-15)


@pytest.mark.parametrize("name, args, kwargs", CASES, ids=[c[0] for c in CASES])
def test_inplace_and_not_agree_outside_a_graph(name, args, kwargs):
    ours, _ = both(name, args, kwargs, inplace=True)
    plain, _ = both(name, args, kwargs, inplace=False)
    x = cr.tensor(X.astype(np.float32))
    expected = plain(x).numpy().copy()
    assert np.array_equal(x.numpy(), X.astype(np.float32))  # inplace=False left x alone
    assert ours(x) is x
    np.testing.assert_array_equal(x.numpy(), expected)


@pytest.mark.parametrize("name, args, kwargs", CASES, ids=[c[0] for c in CASES])
def test_inplace_on_a_leaf_that_requires_grad_raises_as_torch(name, args, kwargs):
    ours, theirs = both(name, args, kwargs, inplace=True)
    with pytest.raises(RuntimeError, match="leaf"):
        theirs(torch.tensor(X, requires_grad=True))
    with pytest.raises(RuntimeError, match="leaf"):
        ours(cr.tensor(X, requires_grad=True))


def test_inplace_after_an_op_that_saved_its_output_refuses_backward_as_torch():
    leaf, tleaf = cr.tensor(X, requires_grad=True), torch.tensor(X, requires_grad=True)
    out = nn.ReLU(inplace=True)(leaf.sigmoid() - 0.5)  # sub saves nothing: fine
    tout = torch.nn.ReLU(inplace=True)(tleaf.sigmoid() - 0.5)
    out.sum().backward()
    tout.sum().backward()
    np.testing.assert_allclose(leaf.grad.numpy(), tleaf.grad.numpy(), rtol=1e-12)
    with pytest.raises(RuntimeError, match="inplace"):
        torch.nn.ReLU(inplace=True)(tleaf.sigmoid()).sum().backward()
    with pytest.raises(RuntimeError, match="in place"):
        nn.ReLU(inplace=True)(leaf.sigmoid()).sum().backward()


@pytest.mark.parametrize("inplace", [False, True])
@pytest.mark.parametrize("name, args, kwargs", CASES + [("Dropout", (0.3,), {}),
                                                        ("Dropout2d", (0.3,), {})],
                         ids=[c[0] for c in CASES] + ["Dropout", "Dropout2d"])
def test_repr_is_torchs(name, args, kwargs, inplace):
    ours, theirs = both(name, args, kwargs, inplace)
    assert repr(ours) == repr(theirs)


@pytest.mark.parametrize("layer", [nn.Dropout, nn.Dropout2d])
def test_inplace_dropout_writes_into_its_input_in_training_only(layer):
    x = cr.ones(4, 3, 5, 5)
    drop = layer(0.5, inplace=True, generator=np.random.default_rng(0))
    assert drop(x) is x
    values = np.unique(x.numpy())
    assert set(values) == {0.0, 2.0}
    y = cr.ones(2, 3)
    out = drop.eval()(y)
    np.testing.assert_array_equal(out.numpy(), np.ones((2, 3)))
