"""PyTorch names added for users with PyTorch's habits: Tensor.where, nansum, index_add(_),
F.cosine_similarity, F.unfold and F.fold, run through the checks of tests/torch_cases.py's table
(test_torch_ops.py): values, dtypes, every leaf's gradient against PyTorch on float64 and
float32, and float64 central differences to first and second order. Fan-out, views, in-place
changes, edge values, empty tensors and mixed dtypes are among the cases; a case PyTorch refuses
must be refused here too (test_torch_ops._run)."""
import numpy as np
import pytest

import chainrule as cr
from torch_cases import N_EDGES, Case, E, F, K

NAN = float("nan")
# A constant with NaNs: nansum(x + NAN_ROWS) skips them, and x gets 0 there.
NAN_ROWS = np.array([[0.0, NAN, 0.0, 0.0], [NAN, NAN, 0.0, 0.0], [0.0, 0.0, 0.0, NAN]])
ROW_DUPLICATES = np.array([2, 0, 2, 2])  # into 3 rows: row 2 three times, row 1 never


def _cos(M):
    return M.nn.functional.cosine_similarity


def _index_add_in_place(M, x, s):
    """index_add_ on a copy and on a transposed view of another copy (x fans out to both and
    to the product after the change)."""
    y = x * 1
    y.index_add_(0, M.tensor([2, 0, 2, 2]), s)
    z = (x * 1).t()
    z.index_add_(1, M.tensor([1, 1, 0, 2]), s * 2, alpha=-1.5)
    return y * x, z


CASES = [
    # Tensor.where: method form of where(condition, self, other)
    Case("where", lambda M, x, y: (x.where(x > 0, y), x.where(y < 0, 2.5),
                                   x.t().where(x.t() > y.t(), x.t() * y.t())),
         [F(3, 4), F(3, 4)]),
    Case("where", lambda M, x, y: x.where(M.tensor([True, False, True]), y), [F(2, 3), F(3)]),
    Case("where", lambda M, x, y: x.where(x > 0, y), [F(3), F(3, dtype="float32")]),
    Case("where", lambda M, x: x.where(x == x, -x), [E(N_EDGES)]),
    Case("where", lambda M, x: x[:0].where(x[:0] > 0, 1.0), [F(3)]),
    # nansum
    Case("nansum", lambda M, x, n: (M.nansum(x + n, 1), (x + n).nansum(),
                                    M.nansum(x + n, (0, 1), keepdim=True),
                                    (x + n).nansum(dim=0, dtype=M.float64)),
         [F(3, 4), K(NAN_ROWS)]),
    Case("nansum", lambda M, x: (M.nansum(x), x.t().nansum(0) * x.sum(1), M.nansum(x[:0], 0)),
         [F(3, 4)]),
    Case("nansum", lambda M, x: (M.nansum(x, 1), M.nansum(x)), [E(9, 4, layout="rows")]),
    Case("nansum", lambda M, x: (M.nansum(x), x.nansum(dtype=M.float32)),
         [K([[1, 2], [3, 4]], "int32")]),
    Case("nansum", lambda M, x: M.nansum(x, 0), [K([True, False, True])]),
    Case("nansum", lambda M, x: M.nansum(x), [F()]),
    # index_add: duplicate indices add up; input and source get gradients
    Case("index_add", lambda M, x, s: (M.index_add(x, 0, M.tensor(ROW_DUPLICATES), s),
                                       x.index_add(-1, M.tensor([1, 1]), s[:3, :2], alpha=2.5)),
         [F(3, 4), F(4, 4)]),
    Case("index_add", lambda M, x, s: M.index_add(x, 0, M.tensor([0, 0], dtype=M.int32), s) * x,
         [F(2, 3), F(2, 3)]),
    Case("index_add", _index_add_in_place, [F(3, 4), F(4, 4)]),
    Case("index_add", lambda M, x, s: x.index_add(0, M.tensor([], dtype=M.int64), s),
         [F(3, 2), F(0, 2)]),
    Case("index_add", lambda M, x, s: M.index_add(x, 0, M.tensor(0), s), [F(), F()]),
    Case("index_add", lambda M, x, s: M.index_add(x, 1, M.tensor([0, 2, 0]), s),
         [E(5, 3), E(5, 3)]),
    Case("index_add", lambda M, x, s: M.index_add(x, 0, M.tensor([1, 1]), s, alpha=3),
         [K([1, 2, 3], "int64"), K([5, -7], "int64")]),
    # F.cosine_similarity: broadcasting, dims, mixed dtypes, a zero vector, fan-out, views
    Case("cosine_similarity", lambda M, a, b: (_cos(M)(a, b), _cos(M)(a, b, dim=0),
                                               _cos(M)(a, a * b)), [F(3, 4), F(3, 4)]),
    Case("cosine_similarity", lambda M, a, b: (_cos(M)(a, b, dim=-1), _cos(M)(b.t(), a[0], 0)),
         [F(2, 3, 4), F(4)]),
    Case("cosine_similarity", lambda M, a, b: _cos(M)(a, b, -1), [F(2, 1, 4), F(3, 4)]),
    Case("cosine_similarity", lambda M, a, b: _cos(M)(a, b), [F(2, 3), F(2, 3, dtype="float32")]),
    Case("cosine_similarity", lambda M, a, b: _cos(M)(a, b), [K(np.zeros((2, 3))), F(2, 3)]),
    Case("cosine_similarity", lambda M, a, b: (_cos(M)(a[0], b[0], 0), _cos(M)(a[:, :0], b[:, :0]),
                                               _cos(M)(a[:0], b[:0])), [F(2, 3), F(2, 3)]),
    Case("cosine_similarity", lambda M, a, b: _cos(M)(a, b, dim=1), [E(5, 3), E(5, 3)]),
    # F.unfold (im2col) and F.fold (col2im), each the other's gradient
    Case("unfold", lambda M, x: (M.nn.functional.unfold(x, 2),
                                 M.nn.functional.unfold(x, (2, 3), dilation=(2, 1),
                                                        padding=(1, 0), stride=(1, 2))),
         [F(2, 3, 5, 6)]),
    Case("unfold", lambda M, x: (M.nn.functional.unfold(x, 3, padding=1, stride=2),
                                 M.nn.functional.unfold(x.transpose(1, 2), 2)), [F(2, 4, 5)]),
    Case("unfold", lambda M, x: M.nn.functional.unfold(x * x, 2, padding=2), [F(1, 1, 2, 3)]),
    Case("unfold", lambda M, x: M.nn.functional.unfold(x, 2), [F(0, 2, 3, 3)]),
    Case("unfold", lambda M, x: M.nn.functional.unfold(x, 2, stride=2), [E(1, 1, 6, 8)]),
    Case("fold", lambda M, c: (M.nn.functional.fold(c, (4, 5), 2),
                               M.nn.functional.fold(c[:, :4, :6], (3, 4), (1, 2), padding=(1, 0),
                                                    stride=(2, 1), dilation=(1, 2))),
         [F(2, 8, 12)]),
    Case("fold", lambda M, c: M.nn.functional.fold(c, (3, 3), 2), [F(8, 4)]),
    Case("fold", lambda M, x: M.nn.functional.fold(M.nn.functional.unfold(x, 2, padding=1),
                                                   (3, 4), 2, padding=1), [F(2, 2, 3, 4)]),
    Case("fold", lambda M, c: M.nn.functional.fold(c, (3, 3), 2), [E(1, 4, 4)]),
]
# Refusals, which PyTorch makes too (test_torch_ops._run checks that both refuse): dtypes
# differ, shapes disagree, an index out of range, a 2-D or float index, no dim 1, no blocks.
REFUSALS = [
    Case("index_add", lambda M, x, s: x.index_add(0, M.tensor([0]), s),
         [F(3, 2), F(1, 2, dtype="float32")]),
    Case("index_add", lambda M, x, s: x.index_add(0, M.tensor([0, 1]), s), [F(3, 2), F(1, 2)]),
    Case("index_add", lambda M, x, s: x.index_add(0, M.tensor([0]), s), [F(3, 2), F(1, 3)]),
    Case("index_add", lambda M, x, s: x.index_add(0, M.tensor([3]), s), [F(3, 2), F(1, 2)]),
    Case("index_add", lambda M, x, s: x.index_add(0, M.tensor([-1]), s), [F(3, 2), F(1, 2)]),
    Case("index_add", lambda M, x, s: x.index_add(0, M.tensor([[0]]), s), [F(3, 2), F(1, 2)]),
    Case("index_add", lambda M, x, s: x.index_add(0, M.tensor([0.0]), s), [F(3, 2), F(1, 2)]),
    Case("index_add", lambda M, x, s: x.index_add(2, M.tensor([0]), s), [F(3, 2), F(1, 2)]),
    Case("cosine_similarity", lambda M, a, b: _cos(M)(a, b), [F(2, 3), F(2, 4)]),
    Case("cosine_similarity", lambda M, a, b: _cos(M)(a, b), [K([[1, 2]]), K([[3, 4]])]),
    Case("cosine_similarity", lambda M, a, b: _cos(M)(a, b, 1), [F(3), F(3)]),
    Case("unfold", lambda M, x: M.nn.functional.unfold(x, 4), [F(1, 2, 3, 3)]),
    Case("unfold", lambda M, x: M.nn.functional.unfold(x, 2, stride=0), [F(1, 2, 3, 3)]),
    Case("unfold", lambda M, x: M.nn.functional.unfold(x, 2), [F(3, 3)]),
    Case("fold", lambda M, c: M.nn.functional.fold(c, (3, 3), 2), [F(1, 7, 4)]),
    Case("fold", lambda M, c: M.nn.functional.fold(c, (3, 3), 2), [F(1, 8, 5)]),
]
CASES += REFUSALS
for _i, _case in enumerate(CASES):
    _case.id = f"{_case.name}-{_i}"

torch = pytest.importorskip("torch")
import test_torch_ops as checks  # noqa: E402  (imports torch)


# Central differences mean nothing at inf or nan, nor where the call is refused.
SMOOTH = [c for c in CASES if not c.edges and c not in REFUSALS]

test_matches_pytorch, test_gradient_matches_central_differences, \
    test_second_derivative_matches_central_differences = checks.table_tests(
        CASES, SMOOTH, runs=[c for c in CASES if c not in REFUSALS])


# -- what the table cannot say ----------------------------------------------------------------

def _pair(array, requires_grad=True):
    return (cr.tensor(array.copy(), requires_grad=requires_grad),
            torch.tensor(array.copy(), requires_grad=requires_grad))


def test_cosine_similarity_clamps_each_norm_and_keeps_its_gradient_as_pytorch():
    # Norms below eps: the value divides by eps, the gradient is the norm's (PyTorch clamps in
    # place under no_grad), so it is not the derivative of the value: compared with PyTorch.
    rng = np.random.default_rng(1)
    a, b = rng.uniform(-0.1, 0.1, (4, 3)), rng.uniform(-1, 1, (4, 3))
    a[1] = 0.0  # a zero vector: 0, with PyTorch's gradient
    (ca, ta), (cb, tb) = _pair(a), _pair(b)
    ours = cr.nn.functional.cosine_similarity(ca, cb, eps=0.5)
    theirs = torch.nn.functional.cosine_similarity(ta, tb, eps=0.5)
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-12)
    weights = rng.uniform(-1, 1, 4)
    (ours * cr.tensor(weights)).sum().backward()
    (theirs * torch.tensor(weights)).sum().backward()
    np.testing.assert_allclose(ca.grad.numpy(), ta.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(cb.grad.numpy(), tb.grad.numpy(), rtol=1e-10, atol=1e-12)
    assert np.isfinite(ca.grad.numpy()).all()


def test_cosine_similarity_module_is_the_function():
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(2, 5, 3)), rng.normal(size=(2, 5, 3))
    layer, reference = cr.nn.CosineSimilarity(dim=2, eps=1e-6), torch.nn.CosineSimilarity(2, 1e-6)
    np.testing.assert_allclose(layer(cr.tensor(a), cr.tensor(b)).numpy(),
                               reference(torch.tensor(a), torch.tensor(b)).numpy(), rtol=1e-12)
    assert repr(layer) == "CosineSimilarity(dim=2, eps=1e-06)"
    assert list(layer.state_dict()) == []


def test_cosine_similarity_errors_name_the_op_and_shapes():
    with pytest.raises(cr.ShapeError, match=r"cosine_similarity.*\(2, 3\).*\(2, 4\)"):
        cr.nn.functional.cosine_similarity(cr.ones(2, 3), cr.ones(2, 4))
    with pytest.raises(cr.DtypeError, match="cosine_similarity.*int64"):
        cr.nn.functional.cosine_similarity(cr.tensor([[1, 2]]), cr.tensor([[3, 4]]))
    with pytest.raises(IndexError, match="cosine_similarity"):
        cr.nn.functional.cosine_similarity(cr.ones(3), cr.ones(3))


@pytest.mark.parametrize("eps", [-1.0, -1e-12, float("nan")])
def test_cosine_similarity_refuses_a_negative_eps_as_pytorch(eps):
    # With a negative eps a zero vector gave nan where PyTorch refuses.
    x = [[1.0, 2.0], [0.0, 0.0]]
    if eps < 0:
        with pytest.raises(RuntimeError, match="eps must be non-negative"):
            torch.nn.functional.cosine_similarity(torch.tensor(x), torch.tensor(x), eps=eps)
    with pytest.raises(ValueError, match="cosine_similarity: eps must be non-negative"):
        cr.nn.functional.cosine_similarity(cr.tensor(x), cr.tensor(x), eps=eps)
    with pytest.raises(ValueError, match="eps must be non-negative"):
        cr.nn.CosineSimilarity(eps=eps)(cr.tensor(x), cr.tensor(x))


def test_unfold_and_fold_modules_match_pytorch():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(2, 3, 6, 5))
    options = dict(kernel_size=(2, 3), dilation=(1, 2), padding=1, stride=(2, 1))
    ours, theirs = cr.nn.Unfold(**options), torch.nn.Unfold(**options)
    columns = ours(cr.tensor(x))
    np.testing.assert_array_equal(columns.numpy(), theirs(torch.tensor(x)).numpy())
    back = cr.nn.Fold((6, 5), **options)(columns)
    np.testing.assert_allclose(back.numpy(), torch.nn.Fold((6, 5), **options)(
        theirs(torch.tensor(x))).numpy(), rtol=1e-12)
    assert repr(ours) == repr(theirs)


def test_unfold_gradient_is_fold_of_the_upstream_gradient():
    rng = np.random.default_rng(4)
    x = cr.tensor(rng.normal(size=(1, 2, 5, 5)), requires_grad=True)
    upstream = cr.tensor(rng.normal(size=(1, 2 * 9, 9)))
    (cr.nn.functional.unfold(x, 3, padding=1, stride=2) * upstream).sum().backward()
    folded = cr.nn.functional.fold(upstream, (5, 5), 3, padding=1, stride=2)
    np.testing.assert_allclose(x.grad.numpy(), folded.numpy(), rtol=1e-12)


def test_unfold_and_fold_errors_name_the_op_and_shapes():
    F = cr.nn.functional
    with pytest.raises(cr.ShapeError, match=r"unfold: spatial size \(3, 3\).*\(0, 0\)"):
        F.unfold(cr.ones(1, 2, 3, 3), 4)
    with pytest.raises(cr.ShapeError, match=r"unfold: expects.*\(3, 3\)"):
        F.unfold(cr.ones(3, 3), 2)
    with pytest.raises(cr.ShapeError, match="unfold: padding must be non-negative"):
        F.unfold(cr.ones(1, 1, 3, 3), 2, padding=-1)
    with pytest.raises(cr.ShapeError, match=r"fold: input of shape \(1, 7, 4\).*divisible"):
        F.fold(cr.ones(1, 7, 4), (3, 3), 2)
    with pytest.raises(cr.ShapeError, match=r"fold: input of shape \(1, 8, 5\) has 5 blocks"):
        F.fold(cr.ones(1, 8, 5), (3, 3), 2)
    with pytest.raises(cr.DtypeError, match="unfold: needs a floating-point"):
        F.unfold(cr.ones(1, 1, 3, 3, dtype=cr.int64), 2)


def test_nansum_gives_nan_positions_zero_gradient_and_np_nansum_dispatches():
    x = cr.tensor([[1.0, NAN], [float("inf"), 2.0]], requires_grad=True)
    x.nansum(1).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[1.0, 0.0], [1.0, 1.0]])
    a = np.array([[1.0, NAN, 3.0], [NAN, NAN, 2.0]])
    np.testing.assert_array_equal(np.nansum(cr.tensor(a), axis=1).numpy(), np.nansum(a, axis=1))
    np.testing.assert_array_equal(np.nansum(cr.tensor(a), 0, np.float32).numpy(),
                                  np.nansum(a, 0, np.float32))
    assert np.nansum(cr.tensor(a), 0, np.float32).dtype == np.float32


def test_index_add_in_place_follows_the_in_place_rules():
    y = cr.tensor([1.0, 2.0, 3.0], requires_grad=True) * 1
    product = y * y  # saves y
    version = y._version
    assert y.index_add_(0, cr.tensor([0]), cr.tensor([5.0])) is y
    assert y._version == version + 1
    with pytest.raises(cr.GradientError, match="modified in place"):
        product.sum().backward()
    leaf = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(cr.GradientError, match="leaf tensor that requires grad"):
        leaf.index_add_(0, cr.tensor([0]), cr.tensor([1.0]))
    with cr.no_grad():
        leaf.index_add_(0, cr.tensor([1, 1]), cr.tensor([1.0, 2.0]))
    np.testing.assert_array_equal(leaf.detach().numpy(), [1.0, 5.0])
    # Elements no index reaches keep their own bits (a -0.0 is not turned into 0.0).
    out = cr.index_add(cr.tensor([-0.0, -0.0]), 0, cr.tensor([1]), cr.tensor([1.0]))
    assert np.signbit(out.numpy()[0])
