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
]
for _i, _case in enumerate(CASES):
    _case.id = f"{_case.name}-{_case.id + '-' if _case.id else ''}{_i}"


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_matches_pytorch(case, dtype):
    if getattr(case, "refused", False):
        assert checks._run(case, dtype) is None, "PyTorch accepts this call"
    checks.test_matches_pytorch(case, dtype)


# central differences mean nothing at inf or nan, nor for a refused call
SMOOTH = [c for c in CASES if not (c.edges or getattr(c, "refused", False)
                                   or getattr(c, "nan_valued", False))]


@pytest.mark.parametrize("case", SMOOTH, ids=lambda c: c.id)
def test_gradient_matches_central_differences(case):
    checks.test_gradient_matches_central_differences(case)


@pytest.mark.parametrize("case", SMOOTH, ids=lambda c: c.id)
def test_second_derivative_matches_central_differences(case):
    checks.test_second_derivative_matches_central_differences(case)


def test_the_named_tuples_have_pytorchs_fields():
    x = cr.tensor([[1.0, 5.0], [-2.0, 3.0]])
    low, high = x.aminmax(dim=1)
    assert x.aminmax().min.item() == -2.0 and x.aminmax().max.item() == 5.0
    assert low.tolist() == [1.0, -2.0] and high.tolist() == [5.0, 3.0]
    for result in (x.kthvalue(1), x.mode(), x.nanmedian(0)):
        assert result.values.shape == result.indices.shape == (2,)
        assert result.indices.dtype == cr.int64
