"""PyTorch names users reach for: tril_indices and triu_indices, F.adaptive_max_pool1d/2d,
F.lp_pool1d/2d, F.embedding_bag and their modules, erfinv and cr.special, run through the checks of
tests/torch_cases.py's table (test_torch_ops.py): values, dtypes, every leaf's gradient against
PyTorch on float64 and float32, and float64 central differences to first and second order.
Fan-out, non-contiguous views, edge values and empty tensors are among the cases; a case
PyTorch refuses must be refused here too (test_torch_ops._run)."""
import numpy as np
import pytest

import chainrule as cr
from torch_cases import N_EDGES, Case, E, F, K


def _rows(M, m, indices):
    return m[indices[0], indices[1]]


def _amp1(M):
    return M.nn.functional.adaptive_max_pool1d


def _amp2(M):
    return M.nn.functional.adaptive_max_pool2d


def _lp1(M):
    return M.nn.functional.lp_pool1d


def _lp2(M):
    return M.nn.functional.lp_pool2d


def _bag(M):
    return M.nn.functional.embedding_bag


SPECIAL_UNARY = ("erf", "erfc", "erfinv", "exp2", "expm1", "log1p", "expit",
                 "gammaln", "logit", "sinc", "round", "ndtr")
SPECIAL_EDGES = ("erf", "erfc", "erfinv", "exp2", "expm1", "log1p", "expit", "ndtr", "sinc")
# Bags of 1-D indices: [0, 2], [], [1, 3, 3] and [4, 1] (padding_idx 3 or 1 leaves some out).
BAG_INDICES = [0, 2, 1, 3, 3, 4, 1]
BAG_OFFSETS = [0, 2, 2, 5]


CASES = [
    # tril_indices / triu_indices: offsets either side, more rows or more columns, 0 rows
    Case("tril_indices", lambda M: (M.tril_indices(3, 3), M.tril_indices(3, 4, -1),
                                    M.tril_indices(4, 3, 1), M.tril_indices(3, 3, -5),
                                    M.tril_indices(3, 3, 10), M.tril_indices(0, 3),
                                    M.tril_indices(3, 0), M.tril_indices(1, 1, -1),
                                    M.tril_indices(5, 2, offset=-2)), []),
    Case("triu_indices", lambda M: (M.triu_indices(3, 3), M.triu_indices(3, 4, -1),
                                    M.triu_indices(4, 3, 1), M.triu_indices(3, 3, -5),
                                    M.triu_indices(3, 3, 10), M.triu_indices(0, 0),
                                    M.triu_indices(2, 5, offset=3)), []),
    Case("tril_indices", lambda M: (M.tril_indices(3, 2, dtype=M.int32),
                                    M.triu_indices(2, 3, dtype=M.int64)), []),
    # The indices select a triangle, which carries the gradient back (a transposed view too)
    Case("tril_indices", lambda M, m: (_rows(M, m, M.tril_indices(3, 4, -1)),
                                       _rows(M, m.t(), M.triu_indices(4, 3)) * m[0, 0]),
         [F(3, 4)]),
    Case("triu_indices", lambda M, m: _rows(M, m, M.triu_indices(3, 4, 1)), [E(3, 4)]),
    # F.adaptive_max_pool1d/2d: shrinking, keeping (None), growing, indices, views, fan-out
    Case("adaptive_max_pool2d", lambda M, x: (_amp2(M)(x, 2), _amp2(M)(x, (3, None), True),
                                              _amp2(M)(x, (5, 7), return_indices=True),
                                              _amp2(M)(x, 1)), [F(2, 3, 7, 5)]),
    Case("adaptive_max_pool2d", lambda M, x: (_amp2(M)(x.transpose(2, 3), (2, 3), True),
                                              _amp2(M)(x, 3) * _amp2(M)(x * x, 3)),
         [F(2, 2, 6, 4)]),
    Case("adaptive_max_pool2d", lambda M, x: (_amp2(M)(x, (2, 1), True), _amp2(M)(x[:, 1:], 1)),
         [F(3, 4, 5)]),
    # An empty output: PyTorch's backward refuses it, so only the values are compared.
    Case("adaptive_max_pool2d", lambda M, x: (_amp2(M)(x, 2, True),
                                              _amp2(M)(x.detach(), (0, 2))), [F(0, 2, 4, 4)]),
    Case("adaptive_max_pool2d", lambda M, x: _amp2(M)(x.detach(), (0, 2), True),
         [F(1, 2, 4, 4)]),
    Case("adaptive_max_pool2d", lambda M, x: (_amp2(M)(x.reshape(1, 1, 9, 4), (1, 2), True),
                                              _amp2(M)(x.reshape(1, 9, 4), (9, 1), True)),
         [E(9, 4, layout="rows")]),
    Case("adaptive_max_pool2d", lambda M, x: _amp2(M)(x.reshape(1, 3, 5, 3), (2, 2), True),
         [E(45)]),
    Case("adaptive_max_pool2d", lambda M, x: _amp2(M)(x, 2), [F(1, 1, 3, 3, dtype="float32")]),
    Case("adaptive_max_pool1d", lambda M, x: (_amp1(M)(x, 3, True), _amp1(M)(x, 13, True),
                                              _amp1(M)(x, (1,)), _amp1(M)(x[:, :, ::2], 2)),
         [F(2, 3, 10)]),
    Case("adaptive_max_pool1d", lambda M, x: (_amp1(M)(x, 2, True),
                                              _amp1(M)(x.t(), 3) * _amp1(M)(x.t(), 3)),
         [F(4, 5)]),
    Case("adaptive_max_pool1d", lambda M, x: (_amp1(M)(x, 1, True), _amp1(M)(x, 3, True)),
         [E(9, 4, layout="rows")]),
    Case("adaptive_max_pool1d", lambda M, x: _amp1(M)(x, 2, True), [F(0, 3, 4)]),
    # F.lp_pool1d/2d: p = 1, 2, 3, 1.5, +-inf; strides, ceil_mode, a window of zeros, views
    Case("lp_pool1d", lambda M, x: (_lp1(M)(x, 2, 2), _lp1(M)(x, 1, 3, stride=2),
                                    _lp1(M)(x, 2, 3, ceil_mode=True),
                                    _lp1(M)(x.transpose(1, 2), 2, 2) * 2),
         [F(2, 3, 8)]),
    Case("lp_pool1d", lambda M, x: (_lp1(M)(x, 3, 2), _lp1(M)(x, 1.5, 3, 1, True),
                                    _lp1(M)(x * x, 2, 2) + _lp1(M)(x, 2, 2)),
         [F(2, 3, 8, low=0.2)]),
    Case("lp_pool1d", lambda M, x: (_lp1(M)(x, float("inf"), 2), _lp1(M)(x, -float("inf"), 3, 2),
                                    _lp1(M)(x, float("inf"), 3, ceil_mode=True)),
         [F(2, 8)]),
    Case("lp_pool1d", lambda M, x, m: (_lp1(M)(x * m, 2, 2), _lp1(M)(x * m, 1, 2)),
         [F(1, 2, 6), K([[[0, 0, 1, 1, 1, 0], [1, 1, 0, 0, 1, 1]]], "float64")]),
    Case("lp_pool1d", lambda M, x: (_lp1(M)(x, 2, 3), _lp1(M)(x, 1, 3), _lp1(M)(x, 3, 3),
                                    _lp1(M)(x, float("inf"), 3)), [E(1, 3, 15)]),
    Case("lp_pool1d", lambda M, x: _lp1(M)(x, 2, 2), [F(0, 3, 4)]),
    Case("lp_pool2d", lambda M, x: (_lp2(M)(x, 2, 2), _lp2(M)(x, 2, (2, 3), stride=(2, 1)),
                                    _lp2(M)(x, 1, 3, ceil_mode=True),
                                    _lp2(M)(x.transpose(2, 3), float("inf"), 2)),
         [F(2, 3, 6, 5)]),
    Case("lp_pool2d", lambda M, x: (_lp2(M)(x, 3, 2, 1), _lp2(M)(x * x, 1.5, (1, 2), (1, 3), True)),
         [F(2, 4, 4, low=0.2)]),
    Case("lp_pool2d", lambda M, x: _lp2(M)(x.reshape(1, 3, 5, 3), 2, 2), [E(45)]),
    # F.embedding_bag: sum, mean and max; an empty bag; 2-D input; per-sample weights;
    # padding (a bag of padding only); include_last_offset; int32; a transposed table; edges
    *[Case("embedding_bag", lambda M, w, m=mode: (
        _bag(M)(M.tensor(BAG_INDICES), w, M.tensor(BAG_OFFSETS), mode=m),
        _bag(M)(M.tensor([[0, 1, 4], [2, 2, 3]]), w, mode=m) * w[:2],
        _bag(M)(M.tensor(BAG_INDICES), w, M.tensor(BAG_OFFSETS), mode=m, padding_idx=3),
        _bag(M)(M.tensor(BAG_INDICES), w, M.tensor([0, 2, 7]), mode=m, padding_idx=-4,
                include_last_offset=True),
        _bag(M)(M.tensor(BAG_INDICES, dtype=M.int32), w.t().t() * 1,
                M.tensor([0, 3], dtype=M.int32), mode=m)), [F(5, 3)])
      for mode in ("sum", "mean", "max")],
    Case("embedding_bag", lambda M, w, p: (
        _bag(M)(M.tensor(BAG_INDICES), w, M.tensor(BAG_OFFSETS), mode="sum", per_sample_weights=p),
        _bag(M)(M.tensor(BAG_INDICES), w, M.tensor(BAG_OFFSETS), mode="sum", per_sample_weights=p,
                padding_idx=1),
        _bag(M)(M.tensor([[1, 2], [4, 4]]), w, None, mode="sum",
                per_sample_weights=p[:4].reshape(2, 2)) * p[0]), [F(5, 3), F(7)]),
    Case("embedding_bag", lambda M, w: (_bag(M)(M.tensor([3, 0, 4, 1]), w.t(), M.tensor([0, 1])),
                                        _bag(M)(M.tensor([3, 0, 4, 1]), w.t(), M.tensor([0, 1]),
                                                mode="max")), [F(3, 5)]),
    Case("embedding_bag", lambda M, w: (
        _bag(M)(M.tensor([], dtype=M.int64), w, M.tensor([0, 0])),
        _bag(M)(M.tensor([], dtype=M.int64), w, M.tensor([0, 0]), mode="max"),
        _bag(M)(M.tensor([[], []], dtype=M.int64).reshape(0, 3), w, mode="sum"),
        _bag(M)(M.tensor([1, 1]), w, M.tensor([0]), mode="max", padding_idx=1)), [F(4, 2)]),
    Case("embedding_bag", lambda M, w: (  # int16 or uint8 indices with int64 offsets: promoted
        _bag(M)(M.tensor([0, 3, 1], dtype=M.int16), w, M.tensor([0, 1])),
        _bag(M)(M.tensor([0, 3, 1], dtype=M.uint8), w, M.tensor([0, 2]), mode="max")), [F(4, 2)]),
    *[Case("embedding_bag", lambda M, w, m=mode: (
        _bag(M)(M.tensor(BAG_INDICES), w, M.tensor(BAG_OFFSETS), mode=m),
        _bag(M)(M.tensor([[0, 1], [1, 0], [2, 3], [3, 2], [4, 0], [0, 4]]), w, mode=m)),
        [E(5, 3)]) for mode in ("sum", "mean", "max")],
    # erfinv, a primitive: function, method, in place on a copy, fan-out through a view,
    # 0-d, empty, integers, edges (+-0, +-1, beyond, inf, nan, tiny, denormal)
    Case("erfinv", lambda M, x: (M.erfinv(x), x.erfinv() * x, M.special.erfinv(x.t()[1:]),
                                 (x * 0.5).clone().erfinv_()), [F(3, 4, low=-0.97, high=0.97)]),
    Case("erfinv", lambda M, x: M.erfinv(x), [F(low=-0.9, high=0.9)]),
    Case("erfinv", lambda M, x: M.erfinv(x), [F(0, 3)]),
    Case("erfinv", lambda M, x: (M.erfinv(x), x.erfinv()), [K([0, 1, -1, 2])]),
    Case("erfinv", lambda M, x: M.erfinv(x), [K([-1.0, -0.5, 0.0, 0.999999, 1.0], "float32")]),
    Case("erfinv", lambda M, x: M.erfinv(x), [E(N_EDGES)]),
    Case("erfinv", lambda M, x: M.erfinv(x * 0.5), [F(2, 3, dtype="float32")]),
    # cr.special: each name is the chainrule function PyTorch's torch.special name is
    Case("special", lambda M, x: tuple(getattr(M.special, n)(x) for n in SPECIAL_UNARY),
         [F(2, 3, low=0.1, high=0.9)]),
    Case("special", lambda M, x, y: (M.special.xlogy(x, y), M.special.logsumexp(x, 1),
                                     M.special.softmax(x, 1), M.special.log_softmax(x, 0),
                                     M.special.logit(x * 0.3, eps=0.2),
                                     M.special.ndtr(x * y)), [F(3, 4), F(3, 4, low=0.1)]),
    Case("special", lambda M, x: tuple(getattr(M.special, n)(x) for n in SPECIAL_EDGES),
         [E(N_EDGES)]),
    # digamma's second derivative needs polygamma(2, x), which chainrule lacks
    Case("special", lambda M, x: (M.special.digamma(x), M.special.psi(x * x)),
         [F(2, 3, low=0.1, high=3.0)], twice=False),
    Case("special", lambda M, x: (M.special.round(x), M.special.round(x * 10, decimals=1),
                                  M.special.softmax(x, 1, dtype=M.float32)),
         [K([[0.25, -1.5, 2.5, 0.049]])]),
]
# Refusals, which PyTorch makes too: a negative size, a float size, a float dtype.
REFUSALS = [
    Case("tril_indices", lambda M: M.tril_indices(-1, 3), []),
    Case("triu_indices", lambda M: M.triu_indices(3, -2), []),
    Case("tril_indices", lambda M: M.tril_indices(3.0, 3), []),
    Case("triu_indices", lambda M: M.triu_indices(3, 3, dtype=M.float32), []),
    Case("tril_indices", lambda M: M.tril_indices(3, 3, dtype=M.bool), []),
    # pooling: integers, the wrong number of dimensions, an empty channel or row, a negative
    # or misshapen output size, a kernel larger than the input
    Case("adaptive_max_pool2d", lambda M, x: _amp2(M)(x, 2), [K([[[[1, 2], [3, 4]]]])]),
    Case("adaptive_max_pool2d", lambda M, x: _amp2(M)(x, 2), [F(3, 3)]),
    Case("adaptive_max_pool2d", lambda M, x: _amp2(M)(x, 2), [F(2, 0, 3, 3)]),
    Case("adaptive_max_pool2d", lambda M, x: _amp2(M)(x, 2), [F(2, 1, 0, 3)]),
    Case("adaptive_max_pool2d", lambda M, x: _amp2(M)(x, -1), [F(1, 3, 3)]),
    Case("adaptive_max_pool1d", lambda M, x: _amp1(M)(x, (2, 2)), [F(3, 3)]),
    Case("adaptive_max_pool1d", lambda M, x: _amp1(M)(x, 2), [F(3)]),
    Case("adaptive_max_pool1d", lambda M, x: _amp1(M)(x, 2), [K([[[1, 2, 3]]])]),
    Case("lp_pool1d", lambda M, x: _lp1(M)(x, 2, 10), [F(1, 1, 8)]),
    Case("lp_pool1d", lambda M, x: _lp1(M)(x, 2, (2,)), [F(1, 1, 8)]),
    Case("lp_pool2d", lambda M, x: _lp2(M)(x, 2, 2), [F(1, 1, 8)]),
    Case("lp_pool1d", lambda M, x: _lp1(M)(x, float("inf"), 2), [K([[[1, 2, 3, 4]]])]),
    # embedding_bag: offsets that do not start at 0, decrease or pass the end; offsets with
    # 2-D input or none with 1-D; per-sample weights outside "sum", of another shape or
    # dtype; an unknown mode; indices out of range, of a float dtype; a padding_idx out of
    # range; an integer table; 3-D input; 2-D input with empty bags
    *[Case("embedding_bag", lambda M, w, o=offsets: _bag(M)(M.tensor(BAG_INDICES), w, M.tensor(o)),
           [F(5, 3)]) for offsets in ([1, 3], [0, 8], [[0, 2]])],
    Case("embedding_bag", lambda M, w: _bag(M)(M.tensor([[0, 1]]), w, M.tensor([0])), [F(5, 3)]),
    Case("embedding_bag", lambda M, w: _bag(M)(M.tensor([0, 1]), w), [F(5, 3)]),
    Case("embedding_bag", lambda M, w, p: _bag(M)(M.tensor([0, 1]), w, M.tensor([0]),
                                                  per_sample_weights=p), [F(5, 3), F(2)]),
    Case("embedding_bag", lambda M, w, p: _bag(M)(M.tensor([0, 1]), w, M.tensor([0]), mode="max",
                                                  per_sample_weights=p), [F(5, 3), F(2)]),
    Case("embedding_bag", lambda M, w, p: _bag(M)(M.tensor([0, 1]), w, M.tensor([0]), mode="sum",
                                                  per_sample_weights=p), [F(5, 3), F(3)]),
    Case("embedding_bag", lambda M, w, p: _bag(M)(M.tensor([0, 1]), w, M.tensor([0]), mode="sum",
                                                  per_sample_weights=p),
         [F(5, 3), F(2, dtype="float32")]),
    Case("embedding_bag", lambda M, w: _bag(M)(M.tensor([0, 1]), w, M.tensor([0]), mode="prod"),
         [F(5, 3)]),
    Case("embedding_bag", lambda M, w: _bag(M)(M.tensor([0, 5]), w, M.tensor([0])), [F(5, 3)]),
    Case("embedding_bag", lambda M, w: _bag(M)(M.tensor([0, -1]), w, M.tensor([0])), [F(5, 3)]),
    Case("embedding_bag", lambda M, w: _bag(M)(M.tensor([0., 1.]), w, M.tensor([0])), [F(5, 3)]),
    Case("embedding_bag", lambda M, w: _bag(M)(M.tensor([0, 1], dtype=M.int16), w,
                                               M.tensor([0], dtype=M.int16)), [F(5, 3)]),
    Case("embedding_bag", lambda M, w: _bag(M)(M.tensor([[0, 1]], dtype=M.int16), w), [F(5, 3)]),
    Case("embedding_bag", lambda M, w: _bag(M)(M.tensor([0, 1]), w, M.tensor([0]), padding_idx=5),
         [F(5, 3)]),
    Case("embedding_bag", lambda M, w: _bag(M)(M.tensor([0, 1]), w, M.tensor([0])),
         [K([[1, 2], [3, 4]])]),
    Case("embedding_bag", lambda M, w: _bag(M)(M.tensor([[[0, 1]]]), w), [F(5, 3)]),
    Case("embedding_bag", lambda M, w: _bag(M)(M.tensor([[], []], dtype=M.int64), w), [F(5, 3)]),
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

def test_triangle_indices_errors_name_the_op():
    with pytest.raises(cr.ArgumentError, match="tril_indices: row must be non-negative"):
        cr.tril_indices(-1, 2)
    with pytest.raises(cr.ArgumentError, match="triu_indices: col must be non-negative"):
        cr.triu_indices(2, -1)
    with pytest.raises(cr.DtypeError, match="triu_indices: not implemented for float32"):
        cr.triu_indices(2, 2, dtype=cr.float32)
    with pytest.raises(TypeError, match="argument 'offset' must be int"):
        cr.tril_indices(2, 2, 0.5)


@pytest.mark.parametrize("row, col", [(0, 0), (1, 4), (4, 1), (5, 5), (3, 7)])
@pytest.mark.parametrize("offset", [-8, -2, -1, 0, 1, 3, 9])
def test_triangle_indices_are_pytorchs(row, col, offset):
    for name in ("tril_indices", "triu_indices"):
        ours = getattr(cr, name)(row, col, offset)
        theirs = getattr(torch, name)(row, col, offset)
        assert ours.dtype == cr.int64 and tuple(ours.shape) == tuple(theirs.shape)
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_adaptive_max_pool_picks_pytorchs_winner_at_ties_and_nans():
    x = [[[2.0, 1.0, 2.0, float("nan"), 0.0, float("nan"), -float("inf"), -float("inf")]]]
    for size in (1, 2, 3, 4, 8):
        ours = cr.nn.functional.adaptive_max_pool1d(cr.tensor(x), size, return_indices=True)
        theirs = torch.nn.functional.adaptive_max_pool1d(torch.tensor(x), size, True)
        np.testing.assert_array_equal(ours[1].numpy(), theirs[1].numpy())
        np.testing.assert_array_equal(ours[0].numpy(), theirs[0].numpy())


def test_adaptive_max_pool_errors_name_the_op_and_shapes():
    F = cr.nn.functional
    with pytest.raises(cr.ShapeError, match=r"adaptive_max_pool2d: input must be 4-D.*\(3, 3\)"):
        F.adaptive_max_pool2d(cr.ones(3, 3), 2)
    with pytest.raises(cr.ShapeError, match=r"adaptive_max_pool1d: only the batch.*\(2, 0, 3\)"):
        F.adaptive_max_pool1d(cr.ones(2, 0, 3), 2)
    with pytest.raises(cr.ArgumentError, match="adaptive_max_pool1d: output_size must have 1"):
        F.adaptive_max_pool1d(cr.ones(2, 3), (2, 2))
    with pytest.raises(cr.ArgumentError, match="adaptive_max_pool2d: output_size must be non-n"):
        F.adaptive_max_pool2d(cr.ones(1, 3, 3), (2, -1))
    with pytest.raises(cr.DtypeError, match="adaptive_max_pool2d: not implemented for int64"):
        F.adaptive_max_pool2d(cr.ones(1, 3, 3, dtype=cr.int64), 2)


def test_lp_pool_errors_name_the_op():
    F = cr.nn.functional
    with pytest.raises(ZeroDivisionError):
        torch.nn.functional.lp_pool1d(torch.ones(1, 1, 4), 0, 2)
    with pytest.raises(cr.ArgumentError, match="lp_pool1d: norm_type must not be 0"):
        F.lp_pool1d(cr.ones(1, 1, 4), 0, 2)
    with pytest.raises(TypeError, match="lp_pool1d: kernel_size must be an int"):
        F.lp_pool1d(cr.ones(1, 1, 4), 2, (2,))
    with pytest.raises(cr.ShapeError, match="avg_pool2d: input must be 4-D"):
        F.lp_pool2d(cr.ones(1, 4), 2, 2)


def test_lp_pool_of_integers_is_refused_where_pytorch_rounds_each_mean_down():
    # PyTorch's integer average pooling rounds each window's mean down: (1 + 4) // 2 * 2 = 4,
    # so its lp_pool1d gives 2.0 here where the 2-norm is sqrt(5). chainrule refuses.
    x = [[[1, 2, 3, 4]]]
    assert torch.nn.functional.lp_pool1d(torch.tensor(x), 2, 2)[0, 0, 0].item() == 2.0
    with pytest.raises(cr.DtypeError, match="lp_pool1d: needs a floating-point input, got int64"):
        cr.nn.functional.lp_pool1d(cr.tensor(x), 2, 2)


@pytest.mark.parametrize("make, args", [
    ("AdaptiveMaxPool1d", (3,)), ("AdaptiveMaxPool1d", (4, True)),
    ("AdaptiveMaxPool2d", ((None, 3),)), ("AdaptiveMaxPool2d", (2, True)),
    ("LPPool1d", (2, 3)), ("LPPool1d", (1.5, 3, 2, True)), ("LPPool2d", (2, (2, 3))),
    ("LPPool2d", (float("inf"), 2, 1))])
def test_pool_modules_are_the_functions_as_pytorchs(make, args):
    shape = (2, 3, 7) if make.endswith("1d") else (2, 3, 7, 6)
    x = np.random.default_rng(5).uniform(0.1, 2.0, shape)
    ours, theirs = getattr(cr.nn, make)(*args), getattr(torch.nn, make)(*args)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == []
    mine, reference = ours(cr.tensor(x)), theirs(torch.tensor(x))
    mine = mine if isinstance(mine, tuple) else (mine,)
    reference = reference if isinstance(reference, tuple) else (reference,)
    for a, b in zip(mine, reference, strict=True):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-12)


def test_embedding_bag_max_norm_renormalises_the_rows_read_as_pytorch():
    rng = np.random.default_rng(6)
    table = rng.normal(0, 2, (6, 4))
    indices, offsets = [0, 2, 2, 5, 1], [0, 1, 3]
    ours, theirs = cr.tensor(table.copy(), requires_grad=True), \
        torch.tensor(table.copy(), requires_grad=True)
    for mode in ("sum", "mean", "max"):
        a = cr.nn.functional.embedding_bag(cr.tensor(indices), ours, cr.tensor(offsets),
                                           max_norm=1.5, norm_type=3.0, mode=mode)
        b = torch.nn.functional.embedding_bag(torch.tensor(indices), theirs,
                                              torch.tensor(offsets), max_norm=1.5,
                                              norm_type=3.0, mode=mode)
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-6)
        (a * a).sum().backward()
        (b * b).sum().backward()
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-6)


def test_embedding_bag_refuses_what_pytorch_does_differently_or_not_at_all():
    F = cr.nn.functional
    w = cr.ones(5, 3)
    # PyTorch: decreasing offsets read past its buffers (an internal assertion, or a number).
    with pytest.raises(cr.ArgumentError, match=r"offsets \[0, 3, 2\] must not decrease"):
        F.embedding_bag(cr.tensor([0, 1, 2, 3]), w, cr.tensor([0, 3, 2]))
    with pytest.raises(cr.ArgumentError, match=r"offsets\[0\] must be 0"):
        F.embedding_bag(cr.tensor([0, 1, 2, 3]), w, cr.tensor([1, 3]))
    # An index after the last offset: PyTorch's mean of the last bag [1, 3] counts it (in
    # float32 it is left out of the sum, in float64 added in), never (t[1] + t[3]) / 2.
    indices, offsets, table = [0, 2, 1, 3, 3], [0, 2, 4], np.arange(15.0).reshape(5, 3)
    for dtype in (torch.float32, torch.float64):
        theirs = torch.nn.functional.embedding_bag(
            torch.tensor(indices), torch.tensor(table, dtype=dtype), torch.tensor(offsets),
            include_last_offset=True)
        assert not np.allclose(theirs[1].numpy(), (table[1] + table[3]) / 2)
    with pytest.raises(cr.ArgumentError, match="include_last_offset the last offset must be"):
        F.embedding_bag(cr.tensor(indices), cr.tensor(table), cr.tensor(offsets),
                        include_last_offset=True)
    # PyTorch's scale_grad_by_freq gives a row read once half its gradient (CPU).
    weight = torch.arange(12.0).reshape(4, 3).requires_grad_()
    torch.nn.functional.embedding_bag(torch.tensor([0, 2, 1, 3, 3, 1]), weight,
                                      torch.tensor([0, 2]), scale_grad_by_freq=True,
                                      mode="sum").sum().backward()
    assert weight.grad[2, 0].item() != 1.0
    with pytest.raises(NotImplementedError, match="embedding_bag: scale_grad_by_freq=True"):
        F.embedding_bag(cr.tensor([0, 1]), w, cr.tensor([0]), scale_grad_by_freq=True)
    with pytest.raises(NotImplementedError, match="embedding_bag: sparse=True"):
        F.embedding_bag(cr.tensor([0, 1]), w, cr.tensor([0]), sparse=True)


def test_embedding_bag_errors_name_the_op_and_shapes():
    F, w = cr.nn.functional, cr.ones(5, 3)
    with pytest.raises(cr.ShapeError, match=r"embedding_bag: per_sample_weights of shape "
                                            r"\(3,\) must have the input's shape \(2,\)"):
        F.embedding_bag(cr.tensor([0, 1]), w, cr.tensor([0]), mode="sum",
                        per_sample_weights=cr.ones(3))
    with pytest.raises(NotImplementedError, match="only supported for mode='sum'"):
        F.embedding_bag(cr.tensor([0, 1]), w, cr.tensor([0]), per_sample_weights=cr.ones(2))
    with pytest.raises(cr.ShapeError, match=r"embedding_bag: input must be 1-D or 2-D.*"
                                            r"\(1, 1, 2\)"):
        F.embedding_bag(cr.tensor([[[0, 1]]]), w)
    with pytest.raises(cr.ShapeError, match="1-D input needs offsets"):
        F.embedding_bag(cr.tensor([0, 1]), w)
    with pytest.raises(IndexError, match="embedding_bag: index out of range"):
        F.embedding_bag(cr.tensor([0, 5]), w, cr.tensor([0]))
    with pytest.raises(cr.ArgumentError, match="embedding_bag: mode must be one of"):
        F.embedding_bag(cr.tensor([0, 1]), w, cr.tensor([0]), mode="prod")


def test_embedding_bag_module_is_pytorchs():
    rng = np.random.default_rng(7)
    table = rng.normal(size=(6, 3))
    for options in ({}, {"mode": "sum", "padding_idx": 2}, {"mode": "max"},
                    {"mode": "sum", "include_last_offset": True, "max_norm": 1.0}):
        ours = cr.nn.EmbeddingBag.from_pretrained(cr.tensor(table.copy()), **options)
        theirs = torch.nn.EmbeddingBag.from_pretrained(torch.tensor(table.copy()), **options)
        assert repr(ours) == repr(theirs)
        assert not ours.weight.requires_grad and list(ours.state_dict()) == ["weight"]
        indices, offsets = [1, 2, 0, 5, 2, 4], [0, 3, 6]
        if not options.get("include_last_offset"):
            offsets = offsets[:2]
        np.testing.assert_allclose(ours(cr.tensor(indices), cr.tensor(offsets)).numpy(),
                                   theirs(torch.tensor(indices), torch.tensor(offsets)).numpy(),
                                   rtol=1e-12)
    bag = cr.nn.EmbeddingBag(10, 4, mode="sum", padding_idx=3)
    assert repr(bag) == repr(torch.nn.EmbeddingBag(10, 4, mode="sum", padding_idx=3))
    assert bag.weight.shape == (10, 4) and bag.weight.dtype == cr.float32
    assert bag.weight[3].tolist() == [0.0] * 4 and bag.weight[4].tolist() != [0.0] * 4
    weights = cr.tensor([0.5, 2.0, 1.0])
    out = bag(cr.tensor([1, 2, 3]), cr.tensor([0, 1]), per_sample_weights=weights)
    table = bag.weight.detach().numpy()
    expected = np.stack([0.5 * table[1], 2.0 * table[2]])
    np.testing.assert_allclose(out.detach().numpy(), expected, rtol=1e-6)
    with pytest.raises(cr.ArgumentError, match="EmbeddingBag: mode must be one of"):
        cr.nn.EmbeddingBag(4, 2, mode="median")
    with pytest.raises(cr.DeviceError, match="EmbeddingBag"):
        cr.nn.EmbeddingBag(4, 2, device="cuda")
    with pytest.raises(TypeError, match="EmbeddingBag: num_embeddings must be an int"):
        cr.nn.EmbeddingBag(2.5, 3)
    with pytest.raises(ValueError, match="EmbeddingBag: padding_idx must be within"):
        cr.nn.EmbeddingBag(3, 2, padding_idx=5)
    with pytest.raises(cr.ShapeError, match=r"EmbeddingBag: _weight has shape \(2, 2\)"):
        cr.nn.EmbeddingBag(3, 2, _weight=cr.ones(2, 2))


def test_special_names_are_torch_specials_and_the_cr_functions():
    import chainrule.special as special
    assert set(special.__all__) <= set(dir(torch.special))
    assert special.expit is cr.sigmoid and special.gammaln is cr.lgamma
    assert special.psi is cr.digamma and special.erfinv is cr.erfinv
    for name in special.__all__:
        assert callable(getattr(cr.special, name)), name


def test_erfinv_is_erfs_inverse_to_float64s_precision_into_the_tails():
    rng = np.random.default_rng(8)
    x = np.concatenate([rng.uniform(-1, 1, 2000), 1 - 10.0 ** -rng.uniform(0, 15.9, 2000),
                        [0.5, -1 + 2.0 ** -53, 1 - 2.0 ** -52, 1e-300, -5e-324]])
    ours = cr.erfinv(cr.tensor(x)).numpy()
    np.testing.assert_allclose(ours, torch.erfinv(torch.tensor(x)).numpy(), rtol=4e-15)
    np.testing.assert_allclose(cr.erf(cr.tensor(ours)).numpy(), x, rtol=0, atol=4e-16)


def test_erfinv_examples_run():
    import doctest
    import chainrule.special
    result = doctest.testmod(chainrule.special, extraglobs={"cr": cr, "np": np},
                             optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted and not result.failed
