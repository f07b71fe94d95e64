"""PyTorch's reductions and selections added in chainrule/more_indexing.py (nanmean, nanmedian,
quantile, nanquantile, kthvalue, mode, aminmax, std_mean's correction, bincount,
unique_consecutive, argwhere), run through the checks of tests/torch_cases.py's table
(test_torch_ops.py): values, dtypes, indices, every leaf's gradient against PyTorch on float64
and float32, and float64 central differences to first and second order. Edge values (NaN, inf,
ties), empty and 0-d tensors, views and fan-out are among the cases; a call PyTorch refuses
must be refused here too."""
import numpy as np
import pytest

import chainrule as cr
from torch_cases import N_EDGES, Case, E, F, K

pytest.importorskip("torch")
import test_torch_ops as checks  # noqa: E402  (imports torch)

NAN, INF = float("nan"), float("inf")
# Rows with NaNs: some, all, none; a constant added to a float input keeps them there.
NAN_ROWS = np.array([[0.0, NAN, 0.0, 0.0], [NAN, NAN, NAN, NAN], [0.0, 0.0, 0.0, 0.0]])
INTERPOLATIONS = ("linear", "lower", "higher", "midpoint", "nearest")


def R(case):
    """A call that PyTorch refuses: chainrule must refuse it too."""
    case.refused = True
    return case


def N(case):
    """A case whose results hold NaN or inf where its inputs do not: no central differences."""
    case.nan_valued = True
    return case


def _q(M, x, values):
    return M.tensor(values, dtype=x.dtype)


CASES = [
    # nanmean: NaNs skipped (zero gradient there), all-NaN lanes NaN, dtype=, ints refused
    N(Case("nanmean", lambda M, x, n: (M.nanmean(x + n, 1), (x + n).nanmean(),
                                     M.nanmean(x + n, (0, 1), keepdim=True),
                                     (x + n).t().nanmean(dim=-1), M.nanmean(x, 0) * x.mean()),
         [F(3, 4), K(NAN_ROWS)])),
    Case("nanmean", lambda M, x: (M.nanmean(x, 1), M.nanmean(x)), [E(9, 4, layout="rows")]),
    N(Case("nanmean", lambda M, x: (M.nanmean(x), M.nanmean(x[:0]), M.nanmean(x[:0], 0)),
         [F(3)])),
    Case("nanmean", lambda M, x: M.nanmean(x), [F()]),
    Case("nanmean", lambda M, x: M.nanmean(x, dtype=M.float64), [F(2, 3, dtype="float32")]),
    R(Case("nanmean", lambda M, x: M.nanmean(x), [K([1, 2, 3])])),
    # nanmedian: the lower median of the non-NaN elements; with dim, values and indices
    N(Case("nanmedian", lambda M, x, n: ((x + n).nanmedian(1), M.nanmedian(x + n, 0, keepdim=True),
                                       (x + n).nanmedian(), M.nanmedian(x, -1)),
         [F(3, 4), K(NAN_ROWS)])),
    Case("nanmedian", lambda M, x: (M.nanmedian(x, 1), M.nanmedian(x)),
         [E(9, 4, layout="rows")]),
    Case("nanmedian", lambda M, x: (M.nanmedian(x), M.nanmedian(x, 0), M.nanmedian(x[:0])),
         [E(N_EDGES)]),
    Case("nanmedian", lambda M, x: (x.nanmedian(), x.nanmedian(0), x.nanmedian(-1, True)),
         [F()]),
    Case("nanmedian", lambda M, x: M.nanmedian(x * x[0]), [F(5)]),  # fan-out
    Case("nanmedian", lambda M, x: (M.nanmedian(x, 0), M.nanmedian(x)),
         [K([[3, 1, 2], [3, 0, 1]])]),
    R(Case("nanmedian", lambda M, x: M.nanmedian(x[:, :0], 1), [F(2, 3)])),
    # quantile and nanquantile: every interpolation, q a number or a 1-D tensor
    *[Case("quantile", lambda M, x, m=m: (
        M.quantile(x, _q(M, x, [0.0, 0.3, 0.5, 1.0]), dim=1, interpolation=m),
        x.quantile(0.25, 0, keepdim=True, interpolation=m),
        M.quantile(x.t(), _q(M, x, [0.7, 0.1]), interpolation=m),
        M.quantile(x, _q(M, x, [0.4]), -1, True, interpolation=m),
        M.nanquantile(x, 0.6, -2, interpolation=m), x.nanquantile(_q(M, x, 0.5))),
        [F(3, 4)], id=m) for m in INTERPOLATIONS],
    *[N(Case("quantile", lambda M, x, n, m=m: (
        M.quantile(x + n, _q(M, x, [0.0, 0.5, 0.9]), dim=1, interpolation=m),
        M.nanquantile(x + n, _q(M, x, [0.0, 0.5, 0.9]), dim=1, interpolation=m),
        (x + n).nanquantile(0.35, 0, interpolation=m), M.nanquantile(x + n, 0.5)),
        [F(3, 4), K(NAN_ROWS)], id=f"nan-{m}")) for m in INTERPOLATIONS],
    Case("quantile", lambda M, x: (M.quantile(x, 0.5, 1), M.nanquantile(x, 0.75, 1),
                                   M.quantile(x, 0.25, 1, interpolation="midpoint")),
         [E(9, 4, layout="rows/moderate")]),
    Case("quantile", lambda M, x: (M.quantile(x, 0.5), M.quantile(x, 0.2, 0, True),
                                   M.nanquantile(x, _q(M, x, [0.5, 1.0]), 0)), [F()]),
    R(Case("quantile", lambda M, x: M.quantile(x, 1.5), [F(3)])),
    R(Case("quantile", lambda M, x: M.quantile(x[:0], 0.5), [F(3)])),
    R(Case("quantile", lambda M, x: M.quantile(x, 0.5, interpolation="cubic"), [F(3)])),
    R(Case("quantile", lambda M, x: M.quantile(x, _q(M, x, [[0.5]])), [F(3)])),
    R(Case("quantile", lambda M, x: M.quantile(x, 0.5), [K([1, 2, 3])])),
    # kthvalue: NaN is the largest; equal elements in their order
    Case("kthvalue", lambda M, x: (M.kthvalue(x, 2), x.kthvalue(1, 0, keepdim=True),
                                   M.kthvalue(x.t(), 3, dim=-1), M.kthvalue(x, 4).values * x[:, 0]),
         [F(3, 4)]),
    Case("kthvalue", lambda M, x: (M.kthvalue(x, 2), M.kthvalue(x, 4, 1)),
         [E(9, 4, layout="rows")]),
    Case("kthvalue", lambda M, x: (M.kthvalue(x, 1), M.kthvalue(x, 1, 0, True)), [F()]),
    R(Case("kthvalue", lambda M, x: M.kthvalue(x, 5), [F(4)])),
    R(Case("kthvalue", lambda M, x: M.kthvalue(x, 0), [F(4)])),
    Case("kthvalue", lambda M, x: (M.kthvalue(x, 2, 0), M.kthvalue(x, 3)),
         [K([[2, 1, 2, 1], [1, 1, 0, 3], [2, 2, 2, 2]])]),
    # mode: the most frequent value (of ties, the smallest), the index of its last occurrence
    Case("mode", lambda M, x: (M.mode(x), x.mode(0, keepdim=True), M.mode(x.t(), -1)),
         [F(3, 4)]),
    N(Case("mode", lambda M, x, k: (M.mode(x * 0 + k), (x * 0 + k).mode(0)),
         [F(3, 5), K([[2.0, 1.0, 2.0, 1.0, 3.0], [0.5, 0.5, -1.0, -1.0, -1.0],
                      [INF, -INF, INF, 4.0, -INF]])])),
    Case("mode", lambda M, x: (M.mode(x, 1), M.mode(x, 0)),
         [K([[5, 5, 0, 0, 0], [1, 3, 3, 1, 2], [7, 7, 7, 7, 7]])]),
    Case("mode", lambda M, x: (M.mode(x), M.mode(x, 0, True)), [F()]),
    Case("mode", lambda M, x: M.mode(x), [K([True, False, True])]),
    R(Case("mode", lambda M, x: M.mode(x[:0]), [F(3)])),
    # aminmax: the gradient shared among the tied extremes
    Case("aminmax", lambda M, x: (M.aminmax(x), x.aminmax(dim=1), M.aminmax(x.t(), dim=-1,
                                                                        keepdim=True),
                                  M.aminmax(x, keepdim=True)), [F(3, 4)]),
    Case("aminmax", lambda M, x: (M.aminmax(x, dim=1), M.aminmax(x)),
         [E(9, 4, layout="rows")]),
    Case("aminmax", lambda M, x: (M.aminmax(x), M.aminmax(x, dim=0)), [F()]),
    R(Case("aminmax", lambda M, x: M.aminmax(x[:0]), [F(3)])),
    Case("aminmax", lambda M, x: (M.aminmax(x), M.aminmax(x, dim=0)),
         [K([[3, -1, 2], [3, 0, 9]], "int32")]),
    Case("aminmax", lambda M, x: M.aminmax(x, dim=0), [K([True, False])]),
    # std_mean with correction=
    Case("std_mean", lambda M, x: (M.std_mean(x, 1, correction=0),
                                   M.std_mean(x, (0, 1), keepdim=True, correction=2),
                                   M.std_mean(x.t(), dim=0)), [F(3, 4)]),
    # no gradient: counts and runs
    Case("bincount", lambda M, x, w: (M.bincount(x), x.bincount(w), M.bincount(x, minlength=9),
                                      M.bincount(x, w.to(M.int32), 2)),
         [K([0, 3, 3, 1, 5, 3]), K([0.5, 1.0, 2.0, -1.0, 4.0, 0.25])]),
    Case("bincount", lambda M, x: (M.bincount(x[:0]), M.bincount(x[:0], minlength=3)),
         [K([1, 2])]),
    R(Case("bincount", lambda M, x: M.bincount(x), [K([1, -2])])),
    R(Case("bincount", lambda M, x: M.bincount(x), [K([[1, 2]])])),
    Case("unique_consecutive", lambda M, x: (
        M.unique_consecutive(x), x.unique_consecutive(return_inverse=True, return_counts=True),
        M.unique_consecutive(x.reshape(4, 2), return_inverse=True, dim=0),
        M.unique_consecutive(x.reshape(2, 4), return_counts=True, dim=-1),
        M.unique_consecutive(x[:0])), [K([1, 1, 2, 2, 2, 2, 1, 3])]),
    Case("unique_consecutive", lambda M, x: (M.unique_consecutive(x, return_counts=True),
                                             M.unique_consecutive(x[0])),
         [K([0.5, -0.0, 0.0, NAN, NAN, INF])]),
    Case("argwhere", lambda M, x: (M.argwhere(x), x.t().argwhere(), M.argwhere(x[0, 0]),
                                   M.argwhere(x[0, 0] * 0), M.argwhere(x > 0.5)),
         [K([[0.0, 1.5, 0.0], [NAN, 0.0, -2.0]])]),
    # take, select, narrow_copy and the splits: views or copies, the gradient to each element
    Case("take", lambda M, x: (M.take(x, M.tensor([[0, 11], [-1, 5]])),
                               x.t().take(M.tensor([1, 1, 4])),
                               M.take(x, M.tensor(3)), M.take(x, M.tensor([], dtype=M.int64))),
         [F(3, 4)]),
    Case("take", lambda M, x: (M.take(x, M.tensor([0, 0])), M.take(x, M.tensor([[-1]]))), [F()]),
    Case("take", lambda M, x: M.take(x, M.tensor([2, 0])), [K([[True, False], [False, True]])]),
    Case("take", lambda M, x: M.take(x, M.tensor([3, 1, 3, 0])), [E(N_EDGES)]),
    R(Case("take", lambda M, x: M.take(x, M.tensor([12])), [F(3, 4)])),
    R(Case("take", lambda M, x: M.take(x, M.tensor([1], dtype=M.int32)), [F(3, 4)])),
    Case("select", lambda M, x: (x.select(1, -1), M.select(x, 0, 2) * x[0], x.t().select(0, 1),
                                 M.select(x[0], 0, 3)), [F(3, 4)]),
    Case("select", lambda M, x: (M.select(x, 1, 0), x.select(-1, -2)), [K([[1, 2, 3], [4, 5, 6]])]),
    R(Case("select", lambda M, x: x.select(1, 4), [F(3, 4)])),
    R(Case("select", lambda M, x: x.select(0, 0), [F()])),
    Case("narrow_copy", lambda M, x: (M.narrow_copy(x, 1, 1, 2), x.t().narrow_copy(0, 0, 3),
                                      x.narrow_copy(-1, 4, 0)), [F(3, 4)]),
    Case("narrow_copy", lambda M, x: M.narrow_copy(x, 0, 1, 1), [K([True, False])]),
    Case("split_with_sizes", lambda M, x: (M.split_with_sizes(x, [1, 3], 1),
                                           x.split_with_sizes([2, 0, 1]),
                                           x.t().split_with_sizes([4], dim=0)), [F(3, 4)]),
    R(Case("split_with_sizes", lambda M, x: M.split_with_sizes(x, [1, 1]), [F(3)])),
    R(Case("split_with_sizes", lambda M, x: M.split_with_sizes(x, [4, -1]), [F(3)])),
    Case("hsplit", lambda M, x: (M.hsplit(x, 2), M.hsplit(x, [1, 3]), M.vsplit(x, [2]),
                                 x[0].hsplit([1, 9]), M.vsplit(x, 3), x.hsplit([3, 1]),
                                 M.dsplit(x.reshape(3, 1, 4), [1, 3]),
                                 M.dsplit(x.reshape(1, 3, 4), 4)), [F(3, 4)]),
    Case("hsplit", lambda M, x: (M.hsplit(x, 3), M.vsplit(x.reshape(3, 2), [-1])),
         [K([1, 2, 3, 4, 5, 6])]),
    R(Case("hsplit", lambda M, x: M.hsplit(x, 3), [F(3, 4)])),
    R(Case("hsplit", lambda M, x: M.vsplit(x, 1), [F(4)])),
    R(Case("hsplit", lambda M, x: M.dsplit(x, 1), [F(2, 2)])),
    R(Case("hsplit", lambda M, x: M.hsplit(x, 1), [F()])),
    # rot90, diag_embed, diagflat
    Case("rot90", lambda M, x: (M.rot90(x), M.rot90(x, 2), x.rot90(-1, [1, 0]),
                                M.rot90(x, 3, [-1, 0]), M.rot90(x, 4, [2, 1])), [F(2, 3, 4)]),
    Case("rot90", lambda M, x: M.rot90(x, 1), [K([[1, 2, 3], [4, 5, 6]], "int32")]),
    R(Case("rot90", lambda M, x: M.rot90(x, 1, [1, 1]), [F(2, 3)])),
    R(Case("rot90", lambda M, x: M.rot90(x), [F(3)])),
    Case("diag_embed", lambda M, x: (M.diag_embed(x), M.diag_embed(x, 1), x.diag_embed(-2, 0, 2),
                                     M.diag_embed(x, 1, -1, 1), M.diag_embed(x.t())), [F(2, 3)]),
    Case("diag_embed", lambda M, x: (M.diag_embed(x), M.diag_embed(x[:0])), [F(3)]),
    Case("diag_embed", lambda M, x: M.diag_embed(x, -1), [K([[1, 2], [3, 4]])]),
    R(Case("diag_embed", lambda M, x: M.diag_embed(x, 0, 1, -2), [F(2, 3)])),
    Case("diagflat", lambda M, x: (M.diagflat(x), M.diagflat(x, -1), x.t().diagflat(2)),
         [F(2, 2)]),
    Case("diagflat", lambda M, x: (M.diagflat(x), M.diagflat(x, 1)), [F()]),
    Case("diagflat", lambda M, x: M.diagflat(x), [K([True, False])]),
    # index_copy, index_fill, masked_scatter, put_ and their in-place forms, on views too
    Case("index_copy", lambda M, x, s, u: (M.index_copy(x, 1, M.tensor([3, 0]), s),
                                           x.index_copy(0, M.tensor([2, 0]), u),
                                           x.index_copy(-1, M.tensor(1), s[:, :1])),
         [F(3, 4), F(3, 2), F(2, 4)]),
    Case("index_copy", lambda M, x, s, u: _index_copy_in_place(x, s, u, M),
         [F(3, 4), F(3, 2), F(2, 4)]),
    Case("index_copy", lambda M, x: M.index_copy(x, 0, M.tensor([1]), M.tensor([[7, 8]])),
         [K([[1, 2], [3, 4]])]),
    R(Case("index_copy", lambda M, x: M.index_copy(x, 0, M.tensor([1]), M.tensor([[7, 8]])),
           [F(2, 2)])),
    R(Case("index_copy", lambda M, x, s: M.index_copy(x, 0, M.tensor([1], dtype=M.int32), s),
           [F(2, 2), F(1, 2)])),
    Case("index_fill", lambda M, x, v: (M.index_fill(x, 1, M.tensor([0, 2]), -1.5),
                                        x.index_fill(0, M.tensor([1]), v),
                                        x.t().index_fill(1, M.tensor([2, 2]), v * 2)),
         [F(3, 4), F()]),
    Case("index_fill", lambda M, x, v: _index_fill_in_place(x, v), [F(3, 4), F()]),
    Case("index_fill", lambda M, x: (M.index_fill(x, 0, M.tensor([0]), 7),
                                     (x > 2).index_fill(1, M.tensor([1]), True)),
         [K([[1, 2], [3, 4]])]),
    Case("index_fill", lambda M, x: M.index_fill(x, 0, M.tensor([1, 0]), float("nan")),
         [E(N_EDGES)]),
    Case("masked_scatter", lambda M, x, s, m: (M.masked_scatter(x, m, s), x.masked_scatter(m[0], s),
                                               x.t().masked_scatter(m.t(), s * 2)),
         [F(3, 4), F(12), K(np.arange(12).reshape(3, 4) % 3 == 1)]),
    Case("masked_scatter", lambda M, x, s, m: _masked_scatter_in_place(x, s, m),
         [F(3, 4), F(12), K(np.arange(12).reshape(3, 4) % 3 == 1)]),
    Case("masked_scatter", lambda M, x: M.masked_scatter(x, x > 2, M.tensor([9, 8, 7])),
         [K([1, 3, 2, 5])]),
    Case("masked_scatter", lambda M, x, s: M.masked_scatter(x, x < -9, s[:0]), [F(3), F(2)]),
    R(Case("masked_scatter", lambda M, x, s: M.masked_scatter(x, x > -9, s), [F(3), F(2)])),
    Case("put_", lambda M, x, s: _put_in_place(x, s, M), [F(3, 4), F(6)]),
    Case("put_", lambda M, x: x.clone().put_(M.tensor([0, 0]), M.tensor([5, 6]), accumulate=True),
         [K([1, 2, 3])]),
    R(Case("put_", lambda M, x, s: x.clone().put_(M.tensor([0, 12]), s[:2]), [F(3, 4), F(6)])),
    R(Case("put_", lambda M, x, s: x.clone().put_(M.tensor([0, 1]), s[:3]), [F(3, 4), F(6)])),
    # fill_diagonal_, sum_to_size, tril_, triu_, scatter_, squeeze_, unsqueeze_, t_
    Case("fill_diagonal_", lambda M, x, t: _fill_diagonal_in_place(x, t), [F(3, 4), F(7, 3)]),
    Case("fill_diagonal_", lambda M, x: (x * 1).fill_diagonal_(0.5), [F(2, 2, 2)]),
    Case("fill_diagonal_", lambda M, x: x.clone().fill_diagonal_(9, wrap=True),
         [K(np.zeros((5, 2), dtype=np.int64))]),
    R(Case("fill_diagonal_", lambda M, x: (x * 1).fill_diagonal_(0.5), [F(2, 3, 2)])),
    R(Case("fill_diagonal_", lambda M, x: x.fill_diagonal_(0.5), [F(2, 2)])),
    Case("sum_to_size", lambda M, x: (x.sum_to_size(1, 4), x.sum_to_size(4), x.sum_to_size((3, 1)),
                                      x.sum_to_size(3, 4), x.t().sum_to_size(1, 1)), [F(3, 4)]),
    Case("sum_to_size", lambda M, x: x.sum_to_size(1), [K([[1, 2], [3, 4]])]),
    R(Case("sum_to_size", lambda M, x: x.sum_to_size(2), [F(3, 4)])),
    Case("tril_", lambda M, x: _triangles_in_place(x), [F(3, 4)]),
    Case("scatter_", lambda M, x, s: _scatter_in_place(x, s, M), [F(3, 4), F(3, 1)]),
    Case("squeeze_", lambda M, x: _shapes_in_place(x), [F(3, 4)]),
    R(Case("squeeze_", lambda M, x: x.t_(), [F(3, 4)])),
    R(Case("squeeze_", lambda M, x: x.unsqueeze_(0), [F(3, 4)])),
    Case("transpose_", lambda M, x: _transposes_in_place(x), [F(2, 3, 4)]),
    R(Case("transpose_", lambda M, x: x.transpose_(0, 1), [F(3, 4)])),
    # predicates
    Case("is_same_size", lambda M, x: (M.is_same_size(x, x.t()), x.is_same_size(x * 2),
                                       M.is_signed(x), x.is_complex(), M.isreal(x),
                                       M.isposinf(x), x.isneginf(), M.is_nonzero(x[0:1, 0]),
                                       x.ndimension(), tuple(x.new_empty(2, 3).shape),
                                       x.new_empty((1,), dtype=M.int32).fill_(1)), [F(3, 4)]),
    Case("is_same_size", lambda M, x: (M.isreal(x), M.isposinf(x), M.isneginf(x),
                                       M.is_nonzero(x[7]), M.is_nonzero(x[0])), [E(N_EDGES)]),
    Case("is_same_size", lambda M, x: (M.is_signed(x), M.isposinf(x), x.isneginf(), x.isreal(),
                                       M.is_nonzero(x[1:2]), x.ndimension()),
         [K([3, 0, 7], "uint8")]),
    Case("is_same_size", lambda M, x: (M.is_signed(x), M.is_nonzero(x[:1]), M.isreal(x)),
         [K([True, False])]),
    Case("is_same_size", lambda M, x: (M.is_signed(x), M.is_nonzero(x), x.ndimension()),
         [K(-2, "int8")]),
    R(Case("is_same_size", lambda M, x: M.is_nonzero(x), [F(3)])),
    R(Case("is_same_size", lambda M, x: M.is_nonzero(x[:0]), [F(3)])),
]


def _index_copy_in_place(x, s, u, M):
    y = x * 1
    y.index_copy_(1, M.tensor([3, 0]), s)
    view = (x * 1).t()
    view.index_copy_(1, M.tensor([2, 0]), u.t() * 2)
    return y * x, view


def _index_fill_in_place(x, v):
    y = x * 1
    y.index_fill_(1, _long(x, [0, 3]), v)
    view = (x * 1)[1:]
    view.index_fill_(0, _long(x, [1]), -2.0)
    return y, view


def _long(like, values):
    """An int64 index tensor of the library ``like`` belongs to."""
    module = type(like).__module__.split(".")[0]
    return __import__(module).tensor(values)


def _masked_scatter_in_place(x, s, m):
    y = x * 1
    y.masked_scatter_(m, s)
    view = (x * 1).t()
    view.masked_scatter_(m.t(), s * 3)
    return y * x, view


def _put_in_place(x, s, M):
    y = x * 1
    y.put_(M.tensor([0, 5, 5]), s[:3], accumulate=True)
    view = (x * 1).t()
    view.put_(M.tensor([1, -1, 4]), s[3:])
    other = (x * 1)[1:]
    other.put_(M.tensor([2, 7]), s[:2] * 2)
    return y, view, other


def _fill_diagonal_in_place(x, t):
    y = x * 1
    y.fill_diagonal_(2.5)
    view = (x * 1).t()
    view.fill_diagonal_(-1)
    tall = t * 1
    tall.fill_diagonal_(0.5, wrap=True)
    plain = t * 1
    plain.fill_diagonal_(0.5)
    return y * x, view, tall, plain


def _triangles_in_place(x):
    y = x * 1
    y.tril_()
    view = (x * 1)[1:]
    view.triu_(1)
    other = (x * 1).t()
    other.tril_(-1)
    return y * x, view, other


def _scatter_in_place(x, s, M):
    y = x * 1
    y.scatter_(1, M.tensor([[0], [3], [1]]), s)
    view = (x * 1).t()
    view.scatter_(0, M.tensor([[2, 0, 1]]), s.t() * 2)
    other = x * 1
    other.scatter_(0, M.tensor([[1, 2]]), 2.5)
    return y * x, view, other


def _shapes_in_place(x):
    y = x * 1
    same = y.unsqueeze_(1) is y
    y.squeeze_(1)
    y.t_()
    view = (x * 1)[0:2]
    view.t_()
    view.unsqueeze_(-1).squeeze_()
    return y * x.t(), view * 2, same, tuple(y.shape)


def _transposes_in_place(x):
    y = x * 1
    same = y.transpose_(0, 2) is y
    y.swapaxes_(-1, 1).swapdims_(0, 0)
    view = (x * 1)[1:]
    view.transpose_(2, 1).mul_(3)
    return y * 2, view, same, tuple(y.shape), tuple(view.shape)


for _i, _case in enumerate(CASES):
    _case.id = f"{_case.name}-{_case.id + '-' if _case.id else ''}{_i}"


REFUSED = [c for c in CASES if getattr(c, "refused", False)]
# central differences mean nothing at inf or nan, nor for a refused call
SMOOTH = [c for c in CASES if not (c.edges or getattr(c, "refused", False)
                                   or getattr(c, "nan_valued", False))]

test_matches_pytorch, test_gradient_matches_central_differences, \
    test_second_derivative_matches_central_differences = checks.table_tests(
        CASES, SMOOTH, refused=REFUSED)


def test_the_named_tuples_have_pytorchs_fields():
    x = cr.tensor([[1.0, 5.0], [-2.0, 3.0]])
    low, high = x.aminmax(dim=1)
    assert x.aminmax().min.item() == -2.0 and x.aminmax().max.item() == 5.0
    assert low.tolist() == [1.0, -2.0] and high.tolist() == [5.0, 3.0]
    for result in (x.kthvalue(1), x.mode(), x.nanmedian(0)):
        assert result.values.shape == result.indices.shape == (2,)
        assert result.indices.dtype == cr.int64


def test_mode_refuses_nan_whose_pytorch_answer_follows_no_rule():
    # PyTorch's mode of [1, nan, 1, 1, 0, 2, nan, 1, nan, 2, 1] is value 1 at index 3, neither
    # its last occurrence (10) nor its first: its sort leaves NaNs anywhere.
    with pytest.raises(cr.ArgumentError, match="NaN"):
        cr.mode(cr.tensor([1.0, NAN, 1.0]))
    assert cr.mode(cr.tensor([1.0, INF, 1.0, INF, INF])).indices.item() == 4


def test_shape_changes_in_place_count_as_changes_as_in_pytorch():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = x.reshape(2, 1) * 1
    z = y * y  # saves y
    assert y.t_() is y and y.shape == (1, 2)
    with pytest.raises(cr.GradientError, match="modified in place"):
        z.sum().backward()
    w = x.reshape(2, 1) * 1
    w.t_()
    (w * cr.tensor([[3.0, 5.0]])).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 5.0])
