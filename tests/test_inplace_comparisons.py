"""PyTorch's in-place comparisons (x.lt_(y), eq_, ..., their aliases less_, ...), running
scans (cumsum_, cumprod_), lerp_ and the aliases subtract_, multiply_, divide_ against PyTorch:
values, dtypes, and the gradients that reach the tensor's history and the other operand (zero
for a comparison: the new value hangs on the graph, not the old one's node), on fan-out,
views, mixed dtypes and edge values. The logical in-place ops, which PyTorch leaves out of
the graph, are refused there; a result in a graph may call requires_grad_() as in PyTorch."""
import numpy as np
import pytest

import chainrule as cr
from chainrule.errors import GradientError

torch = pytest.importorskip("torch")

COMPARISONS = ["eq_", "ne_", "lt_", "le_", "gt_", "ge_", "not_equal_", "less_", "less_equal_",
               "greater_", "greater_equal_"]
OTHERS = ["cumsum_", "cumprod_", "lerp_", "subtract_", "multiply_", "divide_"]

SELF = [0.3, -1.7, 2.5, 0.0, -0.0, np.inf, -np.inf, np.nan, 2.0]
OTHER = [1.0, -1.7, 2.0, 0.0, 0.0, np.inf, 1.0, 0.5, np.nan]


def _call(t, name, other):
    method = getattr(t, name)
    if name in ("cumsum_", "cumprod_"):
        return method(0)
    if name == "lerp_":
        return method(other, 0.3)
    return method(other)


def _program(lib, name, other_dtype, view):
    """x -> y = 2x (used before and after the change: fan-out), the change on y or on a view
    of it, then a loss reading y and the earlier use."""
    x = lib.tensor(SELF, dtype=lib.float64, requires_grad=True)
    o = lib.tensor(OTHER, dtype=getattr(lib, other_dtype), requires_grad=True)
    y = x * 2
    before = y * 3  # the old value, read before the change
    target = y[1:] if view else y
    returned = _call(target, name, o[1:] if view else o)
    assert returned is target
    weights = lib.tensor(np.arange(1.0, len(SELF) + 1), dtype=lib.float64)
    loss = (y * weights).sum() + before.sum()
    loss.backward()
    grad = (lambda t: None if t.grad is None else t.grad.numpy().copy())
    return y.detach().numpy().copy(), y.requires_grad, grad(x), grad(o)


@pytest.mark.parametrize("view", [False, True], ids=["tensor", "view"])
@pytest.mark.parametrize("other_dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", COMPARISONS + OTHERS)
def test_values_and_gradients_as_pytorch(name, other_dtype, view):
    if name == "lerp_" and other_dtype != "float64":  # lerp does not promote, in PyTorch too
        with pytest.raises(RuntimeError, match="expected dtype"):
            _program(torch, name, other_dtype, view)
        with pytest.raises(cr.errors.DtypeError, match="expected dtype float64"):
            _program(cr, name, other_dtype, view)
        return
    with np.errstate(all="ignore"):
        ours = _program(cr, name, other_dtype, view)
    theirs = _program(torch, name, other_dtype, view)
    if name == "lerp_":  # PyTorch's lerp rounds once (a fused multiply-add)
        np.testing.assert_allclose(ours[0], theirs[0], rtol=3e-16, atol=0)
    else:
        np.testing.assert_array_equal(ours[0], theirs[0])
    assert ours[1] == theirs[1]
    for a, b in zip(ours[2:], theirs[2:]):
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-12, equal_nan=True)


@pytest.mark.parametrize("name", COMPARISONS)
@pytest.mark.parametrize("dtype", ["int64", "int32", "bool", "float32"])
def test_comparison_results_keep_the_tensors_dtype(name, dtype):
    values = np.array([0, 1, 2, 3]) if dtype != "bool" else np.array([0, 1, 1, 0])

    def run(lib):
        t = lib.tensor(values.astype(dtype))
        _call(t, name, lib.tensor([1.5, 1.0, 2.5, 0.0]))
        return t

    ours, theirs = run(cr), run(torch)
    assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1]
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_a_plain_tensor_compared_with_one_needing_grad_joins_the_graph():
    def run(lib):
        y = lib.tensor([1.0, 2.0])
        o = lib.tensor([1.5, 1.5], requires_grad=True)
        y.lt_(o)
        (y * 2).sum().backward()
        return y.requires_grad, o.grad.numpy()

    assert run(cr)[0] == run(torch)[0]
    np.testing.assert_array_equal(run(cr)[1], run(torch)[1])


@pytest.mark.parametrize("name", COMPARISONS + ["cumsum_", "lerp_"])
def test_a_leaf_that_requires_grad_is_refused_as_in_pytorch(name):
    for lib, error in ((cr, GradientError), (torch, RuntimeError)):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        with pytest.raises(error, match="leaf"):
            _call(x, name, lib.tensor([1.5, 1.5]))


def test_empty_tensors():
    for name in COMPARISONS + OTHERS:
        ours = _call(cr.zeros(0), name, cr.zeros(0))
        theirs = _call(torch.zeros(0), name, torch.zeros(0))
        assert tuple(ours.shape) == tuple(theirs.shape) == (0,)


@pytest.mark.parametrize("name", ["logical_and_", "logical_or_", "logical_xor_"])
def test_logical_in_place_outside_a_graph_as_pytorch_and_refused_inside(name):
    for dtype in ("float32", "int64", "bool"):
        values = np.array([0, 2, 3, 0]).astype(dtype)
        other = np.array([1, 0, 5, 0]).astype(dtype)
        ours = getattr(cr.tensor(values), name)(cr.tensor(other))
        theirs = getattr(torch.tensor(values), name)(torch.tensor(other))
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
        assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1]
    y = cr.tensor([1.0, 0.0], requires_grad=True) * 2
    with pytest.raises(GradientError, match=name):
        getattr(y, name)(cr.tensor([1.0, 1.0]))
    np.testing.assert_array_equal(y.detach().numpy(), [2.0, 0.0])  # unchanged by the refusal
    theirs = torch.tensor([1.0, 0.0], requires_grad=True) * 2
    with cr.no_grad():
        getattr(y, name)(cr.tensor([1.0, 1.0]))
    with torch.no_grad():
        getattr(theirs, name)(torch.tensor([1.0, 1.0]))
    np.testing.assert_array_equal(y.detach().numpy(), theirs.detach().numpy())


def test_logical_not_in_place():
    assert cr.tensor([0.0, 2.0]).logical_not_().tolist() == \
        torch.tensor([0.0, 2.0]).logical_not_().tolist()
    with pytest.raises(GradientError, match="logical_not_"):
        (cr.tensor([1.0], requires_grad=True) * 2).logical_not_()


def test_cumprod_in_place_is_differentiable_twice():
    x = cr.tensor([0.5, -1.5, 2.0, 0.0, 3.0], dtype=cr.float64, requires_grad=True)

    def fn(x):
        y = x * 1.0
        y.cumprod_(0)
        return y
    assert cr.gradcheck(fn, (x,))
    assert cr.gradgradcheck(fn, (x,))


def test_requires_grad_on_a_result_as_pytorch():
    for lib in (cr, torch):
        y = lib.tensor([1.0], requires_grad=True) * 2
        assert y.requires_grad_() is y
        with pytest.raises((GradientError, RuntimeError)):
            y.requires_grad_(False)
