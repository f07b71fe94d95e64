"""PyTorch names users reach for: tril_indices and triu_indices, F.adaptive_max_pool1d/2d,
F.lp_pool1d/2d, F.embedding_bag, and their modules, run through the checks of
tests/torch_cases.py's table (test_torch_ops.py): values, dtypes, every leaf's gradient against
PyTorch on float64 and float32, and float64 central differences to first and second order.
Fan-out, non-contiguous views, edge values and empty tensors are among the cases; a case
PyTorch refuses must be refused here too (test_torch_ops._run)."""
import numpy as np
import pytest

import chainrule as cr
from torch_cases import Case, E, F, K


def _rows(M, m, indices):
    return m[indices[0], indices[1]]


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
]
# Refusals, which PyTorch makes too: a negative size, a float size, a float dtype.
REFUSALS = [
    Case("tril_indices", lambda M: M.tril_indices(-1, 3), []),
    Case("triu_indices", lambda M: M.triu_indices(3, -2), []),
    Case("tril_indices", lambda M: M.tril_indices(3.0, 3), []),
    Case("triu_indices", lambda M: M.triu_indices(3, 3, dtype=M.float32), []),
    Case("tril_indices", lambda M: M.tril_indices(3, 3, dtype=M.bool), []),
]
CASES += REFUSALS
for _i, _case in enumerate(CASES):
    _case.id = f"{_case.name}-{_i}"

torch = pytest.importorskip("torch")
import test_torch_ops as checks  # noqa: E402  (imports torch)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_matches_pytorch(case, dtype):
    if case not in REFUSALS:  # both refusing would pass below
        assert checks._run(case, dtype) is not None, "PyTorch refuses this case"
    checks.test_matches_pytorch(case, dtype)


# Central differences mean nothing at inf or nan, nor where the call is refused.
SMOOTH = [c for c in CASES if not c.edges and c not in REFUSALS]


@pytest.mark.parametrize("case", SMOOTH, ids=lambda c: c.id)
def test_gradient_matches_central_differences(case):
    checks.test_gradient_matches_central_differences(case)


@pytest.mark.parametrize("case", SMOOTH, ids=lambda c: c.id)
def test_second_derivative_matches_central_differences(case):
    checks.test_second_derivative_matches_central_differences(case)


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
