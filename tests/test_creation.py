"""Constructors with PyTorch's names: shapes, dtypes and values as torch's, random ones drawn from
the library's generator (so manual_seed governs them)."""
import numpy as np
import pytest

import chainrule as cr


CASES = [
    ("zeros(2, 3)", lambda m: m.zeros(2, 3)),
    ("zeros((2, 3))", lambda m: m.zeros((2, 3))),
    ("ones([4])", lambda m: m.ones([4])),
    ("ones float64", lambda m: m.ones(2, dtype=m.float64)),
    ("full float", lambda m: m.full((2, 2), 1.5)),
    ("full int", lambda m: m.full((3,), 7)),
    ("full bool", lambda m: m.full((2,), True)),
    ("arange(5)", lambda m: m.arange(5)),
    ("arange(1, 4)", lambda m: m.arange(1, 4)),
    ("arange float step", lambda m: m.arange(0, 1, 0.25)),
    ("arange float dtype", lambda m: m.arange(3, dtype=m.float32)),
    ("linspace", lambda m: m.linspace(-1, 1, 5)),
    ("eye(3)", lambda m: m.eye(3)),
    ("eye(2, 3)", lambda m: m.eye(2, 3)),
    ("zeros_like int", lambda m: m.zeros_like(m.arange(4))),
    ("ones_like float", lambda m: m.ones_like(m.zeros(2, 2))),
    ("full_like", lambda m: m.full_like(m.zeros(3), 2.5)),
    ("empty size", lambda m: m.zeros_like(m.empty(2, 5))),
]


@pytest.mark.parametrize("name, make", CASES, ids=[c[0] for c in CASES])
def test_constructors_match_pytorch(name, make):
    torch = pytest.importorskip("torch")
    ours, theirs = make(cr), make(torch)
    assert ours.shape == tuple(theirs.shape)
    assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "")
    np.testing.assert_allclose(ours.detach().numpy(), theirs.numpy(), rtol=1e-6)


@pytest.mark.parametrize("make", [
    lambda: cr.rand(3, 4), lambda: cr.randn((2, 5)), lambda: cr.normal(1.0, 2.0, (6,)),
    lambda: cr.randint(0, 10, (5,)), lambda: cr.randint(3, (4,)),
    lambda: cr.rand_like(cr.zeros(2, 2)), lambda: cr.randn_like(cr.zeros(3)),
    lambda: cr.randint_like(cr.zeros(4), 5),
])
def test_random_constructors_follow_manual_seed(make):
    cr.manual_seed(3)
    first = make()
    cr.manual_seed(3)
    second = make()
    np.testing.assert_array_equal(first.detach().numpy(), second.detach().numpy())
    cr.manual_seed(4)
    assert not np.array_equal(make().detach().numpy(), first.detach().numpy())


def test_random_values_have_the_right_ranges_dtypes_and_moments():
    cr.manual_seed(0)
    u = cr.rand(20000)
    assert u.dtype == np.float32 and 0 <= u.detach().numpy().min() and u.detach().numpy().max() < 1
    n = cr.normal(1.0, 2.0, (20000,))
    assert abs(n.detach().numpy().mean() - 1.0) < 0.05 and abs(n.detach().numpy().std() - 2.0) < 0.05
    k = cr.randint(2, 5, (1000,))
    assert k.dtype == np.int64 and set(np.unique(k.detach().numpy())) == {2, 3, 4}


def test_requires_grad_makes_a_leaf_and_integers_refuse_it():
    w = cr.zeros(2, 3, requires_grad=True)
    (w * 2).sum().backward()
    assert w.is_leaf and w.grad.tolist() == [[2.0] * 3] * 2
    with pytest.raises(cr.GradientError, match="floating-point"):
        cr.arange(3, requires_grad=True)


@pytest.mark.parametrize("make, pattern", [
    (lambda: cr.zeros(-1), "non-negative"),
    (lambda: cr.ones(2.5), "sizes must be ints"),
    (lambda: cr.arange(0, 3, 0), "step must not be 0"),
    (lambda: cr.randint(5, 5, (2,)), "high"),
    (lambda: cr.randint(5), "give the size"),
    (lambda: cr.normal(0.0, -1.0, (2,)), "std"),
])
def test_bad_arguments_say_what_is_wrong(make, pattern):
    with pytest.raises((ValueError, TypeError), match=pattern):
        make()


CONVERSIONS = [
    ("float", lambda t: t.float()), ("double", lambda t: t.double()),
    ("half", lambda t: t.half()), ("long", lambda t: t.long()), ("int", lambda t: t.int()),
    ("bool", lambda t: t.bool()), ("to float64", lambda t: t.to(t_module(t).float64)),
    ("to cpu", lambda t: t.to("cpu")), ("view", lambda t: t.view(3, 2)),
    ("view -1", lambda t: t.view(-1)),
]


def t_module(t):
    return cr if isinstance(t, cr.Tensor) else __import__("torch")


@pytest.mark.parametrize("name, convert", CONVERSIONS, ids=[c[0] for c in CONVERSIONS])
def test_conversions_match_pytorch_values_dtypes_and_gradients(name, convert):
    torch = pytest.importorskip("torch")
    values = np.array([[0.5, -1.5, 2.0], [0.0, 3.25, -0.75]], np.float32)
    ours = cr.tensor(values, requires_grad=True)
    theirs = torch.tensor(values, requires_grad=True)
    a, b = convert(ours), convert(theirs)
    assert str(a.dtype) == str(b.dtype).replace("torch.", "") and a.shape == tuple(b.shape)
    np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    assert a.requires_grad == b.requires_grad
    if b.requires_grad:  # a fan-out through the conversion and around it
        ((a * 3).sum() + (ours * 2).sum()).backward()
        ((b * 3).sum() + (theirs * 2).sum()).backward()
        np.testing.assert_allclose(ours.grad.detach().numpy(), theirs.grad.numpy(), rtol=1e-6)
        assert ours.grad.dtype == np.float32


def test_dim_numel_and_devices():
    t = cr.zeros(2, 3, 4)
    assert t.dim() == 3 and t.numel() == 24
    with pytest.raises(cr.DeviceError, match="CPU only"):  # a RuntimeError, as PyTorch's
        t.to("cuda")
