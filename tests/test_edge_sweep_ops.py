"""nansum, index_add(_) and bernoulli(_) off the happy path, against PyTorch: nansum's dtype=
(NaNs dropped before an integer cast, the result in the dtype asked for) and an empty dim list;
index_add's order of rounding and its signed zeros; bernoulli's p with inputs of any dtype, its
0-d results, bool tensors and the zero gradients PyTorch hands a p that requires grad. The
table's cases also run through central differences to first and second order."""
import numpy as np
import pytest

import chainrule as cr
from torch_cases import Case, E, F, K

NAN = float("nan")

CASES = [
    # nansum: a NaN cast to an integer dtype would be a number; PyTorch drops it first
    Case("nansum", lambda M, x: (M.nansum(x, dtype=M.int64), M.nansum(x, 1, dtype=M.int32)),
         [K([[1.5, NAN, -2.5], [NAN, 7.9, 1.0]])]),
    Case("nansum", lambda M, x: (M.nansum(x, dtype=M.int32), x.nansum(0, dtype=M.bool)),
         [K([[1, -1], [0, 3]], "int64")]),
    # an empty dim list sums over everything, in PyTorch's sum and nansum alike
    Case("nansum", lambda M, x, n: (M.nansum(x + n, ()), (x.t() + n.t()).nansum([])),
         [F(3, 4), K(np.where(np.eye(3, 4) > 0, NAN, 0.0))]),
    Case("nansum", lambda M, x: (M.nansum(x * x, (), keepdim=True), M.nansum(x, dtype=M.float64)),
         [F(2, 3)]),
    # a 0-d tensor's dimension named as an int or in a list, kept or not
    Case("nansum", lambda M, x: (M.nansum(x, (0,)), M.nansum(x * 2, [-1], keepdim=True),
                                 x.nansum(0)), [F()]),
    Case("index_add", lambda M, x, s: M.index_add(x, 1, M.tensor([0, 0, 2, 0]), s.t()[:, :4] * 3),
         [F(3, 3), F(8, 3)]),
    Case("index_add", lambda M, x, s: M.index_add(x, -1, M.tensor([2, 0, 2]), s, alpha=-0.5),
         [E(4, 3), E(4, 3)]),
    # a bool tensor takes alpha as a bool (it gave int64 sums)
    Case("index_add", lambda M, x, s: (M.index_add(x, 0, M.tensor([0, 0, 2]), s, alpha=2),
                                       x.index_add(0, M.tensor([1, 1, 1]), s, alpha=0)),
         [K([False, False, True]), K([True, False, True])]),
    Case("index_add", lambda M, x, s: (x.t().index_add(0, M.tensor([1, 1]), s),
                                       M.index_add(x[:, :2], 1, M.tensor([0, 1]), s.t()) * x[:, :2]),
         [F(2, 3), F(2, 2)]),
]
# Refused by both: index_add's source and self of different dtypes, an index neither int32 nor
# int64; bernoulli of a tensor p.
REFUSALS = [
    Case("index_add", lambda M, x, s: x.index_add_(0, M.tensor([0]), s),
         [K([1, 2], "int64"), K([1.0], "float64")]),
    Case("bernoulli", lambda M, x: M.bernoulli(x, p=x), [K([0.5], "float64")]),
    Case("nansum", lambda M, x: M.nansum(x, (0, -2)), [F(2, 2)]),
    Case("nansum", lambda M, x: M.nansum(x, 1), [F()]),
    Case("index_add", lambda M, x, s: x.index_add(0, M.tensor([0], dtype=M.uint8), s),
         [F(3, 2), F(1, 2)]),
    Case("index_add", lambda M, x, s: x.index_add(0, M.tensor([1], dtype=M.int16), s),
         [F(3, 2), F(1, 2)]),
]
CASES += REFUSALS
for _i, _case in enumerate(CASES):
    _case.id = f"{_case.name}-{_i}"

torch = pytest.importorskip("torch")
import test_torch_ops as checks  # noqa: E402  (imports torch)


SMOOTH = [c for c in CASES if not c.edges and c not in REFUSALS]

test_matches_pytorch, test_gradient_matches_central_differences, \
    test_second_derivative_matches_central_differences = checks.table_tests(
        CASES, SMOOTH, runs=[c for c in CASES if c not in REFUSALS])


# -- nansum ----------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["int32", "int16", "bool", "float16", "float64"])
def test_nansum_returns_the_dtype_asked_for(dtype):
    values = np.array([[3, 0, -1], [2, 5, 0]])
    for dim in (None, 1):
        ours = cr.nansum(cr.tensor(values), dim, dtype=getattr(cr, dtype))
        theirs = torch.nansum(torch.tensor(values), dim, dtype=getattr(torch, dtype))
        assert str(ours.dtype) == dtype == str(theirs.dtype).replace("torch.", "")
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_nansum_errors_name_nansum_and_the_shape():
    with pytest.raises(cr.DimError, match="nansum: dim 2 is out of range"):
        cr.nansum(cr.ones(2, 3), 2)
    with pytest.raises(cr.ArgumentError, match=r"nansum: dim \(1, -1\) .* twice .*\(2, 3\)"):
        cr.ones(2, 3).nansum((1, -1))
    with pytest.raises(TypeError, match="nansum: dim must be an int"):
        cr.nansum(cr.ones(2), 1.0)


def test_nansum_drops_nans_before_casting_to_an_integer_dtype():
    x = np.array([1.5, NAN, 2.5, NAN])
    assert cr.nansum(cr.tensor(x), dtype=cr.int64).item() == 3
    assert torch.nansum(torch.tensor(x), dtype=torch.int64).item() == 3


# -- index_add ---------------------------------------------------------------------------------

def test_index_add_keeps_negative_zero_where_pytorch_does():
    self_values = np.array([-0.0, -0.0, 0.0, -0.0, -0.0, 1.0])
    source = np.array([-0.0, 0.0, -0.0, -0.0, -0.0, -0.0, -1.0])
    index = [0, 1, 2, 3, 3, 4, 5]
    for dtype in ("float32", "float64"):
        ours = cr.index_add(cr.tensor(self_values.astype(dtype)), 0, cr.tensor(index),
                            cr.tensor(source.astype(dtype)))
        theirs = torch.index_add(torch.tensor(self_values.astype(dtype)), 0,
                                 torch.tensor(index), torch.tensor(source.astype(dtype)))
        np.testing.assert_array_equal(np.signbit(ours.numpy()), np.signbit(theirs.numpy()))
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
        assert np.signbit(ours.numpy()).tolist() == [True, False, False, True, True, False]


def test_index_add_negative_zero_keeps_gradients_to_self_and_source():
    # Row 0 is all -0 (the negated path), row 1 is not: each element's gradient is the
    # upstream one, to self and to every source row added into it.
    x = np.array([[-0.0, -0.0], [-0.0, 2.0]])
    s = np.array([[-0.0, -0.0], [-0.0, 3.0], [1.0, -0.0]])
    index = [0, 1, 0]
    weights = np.array([[1.0, 2.0], [3.0, 4.0]])
    grads = []
    for M in (cr, torch):
        a, b = M.tensor(x, requires_grad=True), M.tensor(s, requires_grad=True)
        out = M.index_add(a, 0, M.tensor(index), b, alpha=2.0)
        (out * M.tensor(weights)).sum().backward()
        grads.append((out.detach().numpy(), a.grad.numpy(), b.grad.numpy()))
    for ours, theirs in zip(*grads):
        np.testing.assert_array_equal(ours, theirs)
        np.testing.assert_array_equal(np.signbit(ours), np.signbit(theirs))


def test_index_add_rounds_one_index_at_a_time_as_pytorch():
    # PyTorch adds the slices into self one by one: 1e8 + 1 rounds back to 1e8 in float32,
    # eight times. Eight ones added up first would move it to 1e8 + 8.
    results = []
    for M in (cr, torch):
        base = M.full((4, 3), 1e8)
        base[:, 1].index_add_(0, M.tensor([2] * 8 + [0]), M.ones(9))  # in place, on a view
        out = M.index_add(M.full((2, 3), -1e8), 1, M.tensor([0] * 8), -M.ones(2, 8))
        results.append((base.numpy(), out.numpy()))
    for ours, theirs in zip(*results):
        np.testing.assert_array_equal(ours, theirs)
    assert results[0][0][2, 1] == np.float32(1e8)


# -- bernoulli ---------------------------------------------------------------------------------

def test_bernoulli_of_a_0d_tensor_is_a_0d_tensor_that_can_change_in_place():
    for drawn in (cr.bernoulli(cr.tensor(1.0)), cr.bernoulli(cr.tensor(0.0), p=1.0),
                  cr.tensor(0.0).bernoulli_(1.0)):
        assert isinstance(drawn._data, np.ndarray) and drawn.shape == ()
        assert drawn.add_(1).item() == 2.0


@pytest.mark.parametrize("dtype", ["int64", "int32", "bool", "float16"])
def test_bernoulli_with_p_takes_any_dtype_as_pytorch(dtype):
    for p in (0.0, 1.0):
        ours = cr.bernoulli(cr.zeros(3, dtype=getattr(cr, dtype)), p=p)
        theirs = torch.bernoulli(torch.zeros(3, dtype=getattr(torch, dtype)), p=p)
        assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "")
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_bernoulli_in_place_on_a_bool_tensor_as_pytorch():
    for p in (1.0, cr.ones(3)):
        x = cr.zeros(3, dtype=cr.bool)
        assert x.bernoulli_(p) is x and x.numpy().tolist() == [True] * 3
    assert torch.zeros(3, dtype=torch.bool).bernoulli_(1.0).tolist() == [True] * 3
    assert cr.ones(2, dtype=cr.bool).bernoulli_(0.0).numpy().tolist() == [False, False]


def test_bernoulli_with_p_is_a_constant():
    # PyTorch's result requires grad and its backward raises ("derivative for aten::bernoulli
    # is not implemented"); chainrule's draw is a constant, so no number is made up.
    x = torch.full((3,), 0.5, requires_grad=True)
    with pytest.raises(RuntimeError, match="bernoulli"):
        torch.bernoulli(x, p=1.0).sum().backward()
    x = cr.full((3,), 0.5, requires_grad=True)
    y = cr.bernoulli(x, p=1.0)
    assert not y.requires_grad and y.numpy().tolist() == [1.0, 1.0, 1.0]
    with pytest.raises(cr.GradientError):
        y.sum().backward()


def test_bernoulli_in_place_hands_a_tensor_p_a_zero_gradient_as_pytorch():
    results = []
    for M in (cr, torch):
        p = M.full((2, 3), 0.5, requires_grad=True)
        q = M.full((3,), 1.0, dtype=M.float64, requires_grad=True)
        x, y = M.zeros(2, 3), M.zeros(2, 3)
        x.bernoulli_(p)
        y.bernoulli_(q)  # a float64 p for a float32 tensor, broadcast
        assert x.requires_grad and y.requires_grad and y.dtype == M.float32
        (x * 2 + p + (y * 5).sum()).sum().backward()
        results.append((p.grad.numpy(), q.grad.numpy()))
    for ours, theirs in zip(*results):
        np.testing.assert_array_equal(ours, theirs)
    np.testing.assert_array_equal(results[0][1], [0.0, 0.0, 0.0])


def test_bernoulli_in_place_on_an_integer_tensor_with_a_p_that_requires_grad():
    # PyTorch gives the integer tensor a grad_fn; chainrule's integers hold no gradient, and
    # the draw is the same.
    x = cr.zeros(3, dtype=cr.int64)
    x.bernoulli_(cr.ones(3, requires_grad=True))
    assert x.numpy().tolist() == [1, 1, 1] and x.dtype == np.int64
