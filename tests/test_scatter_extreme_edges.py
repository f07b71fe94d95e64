"""scatter_reduce's amax and amin off the happy path, against PyTorch through
tests/torch_cases.py's checks (values, dtypes, every leaf's gradient on float64 and float32,
central differences to first and second order where smooth): NaN among the elements (a NaN
result, whose elements all get a NaN gradient), infinities (the result was NaN: inf - inf in
the gradient's carrier), signed zeros (a -0 result became +0), ties, and the input's own
element with include_self=False (PyTorch counts it when it shares the gradient)."""
import itertools

import numpy as np
import pytest

from torch_cases import Case, F

NAN, INF = float("nan"), float("inf")
INDICES = [[0, 0, 2, 1], [3, 3, 3, 3], [0, 1, 2, 3]]
VALUES = [([5.0, NAN, 7.0, 1.0], [1.0, NAN, 9.0, 2.0]),
          ([NAN, NAN, 0.0, -0.0], [NAN, 1.0, -0.0, 0.0]),
          ([INF, -INF, 1.0, 2.0], [INF, NAN, -INF, 2.0]),
          ([1.0, 2.0, 3.0, 4.0], [4.0, 4.0, 4.0, 4.0])]


SMOOTH = [Case("scatter_reduce", lambda M, x, s, r=reduce, k=own: M.scatter_reduce(
              x, 1, M.tensor([[0, 0, 3], [2, 1, 1]]), s * (s > 0), r, include_self=k) * x,
               [F(2, 4), F(2, 3)])
          for reduce, own in itertools.product(["amax", "amin"], [True, False])]
# views in, and the input fanned out to the result's two uses
SMOOTH += [Case("scatter_reduce", lambda M, x, s, r=reduce: M.scatter_reduce(
               x.t(), 0, M.tensor([[0, 1], [1, 0], [0, 0]]), s[::2] * x.t()[:3, :2], r)
               * x.t(), [F(2, 3), F(6, 2)])
           for reduce in ("amax", "amin")]
CASES = SMOOTH
for _i, _case in enumerate(CASES):
    _case.id = f"{_case.name}-{_i}"

torch = pytest.importorskip("torch")
import test_torch_ops as checks  # noqa: E402  (imports torch)


test_matches_pytorch, test_gradient_matches_central_differences, \
    test_second_derivative_matches_central_differences = checks.table_tests(CASES, SMOOTH)


def _edge_run(M, x, s, reduce, include_self, index, dtype):
    x = M.tensor(x, dtype=getattr(M, dtype), requires_grad=True)
    s = M.tensor(s, dtype=getattr(M, dtype), requires_grad=True)
    out = x.scatter_reduce(0, M.tensor(index), s, reduce, include_self=include_self)
    upstream = M.tensor([1.0, -2.0, 3.0, 0.5], dtype=getattr(M, dtype))
    (out * upstream).sum().backward()
    return [out.detach().numpy(), x.grad.numpy(), s.grad.numpy()]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("values, reduce, include_self, index", list(itertools.product(
    VALUES, ["amax", "amin"], [True, False], INDICES)))
def test_edge_values_and_gradients_match_pytorch(values, reduce, include_self, index, dtype):
    import chainrule as cr
    args = (*values, reduce, include_self, index, dtype)
    with np.errstate(invalid="ignore"):
        ours = _edge_run(cr, *args)
    theirs = _edge_run(torch, *args)
    for a, b in zip(ours, theirs):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(np.signbit(a), np.signbit(b))  # -0 stays -0
