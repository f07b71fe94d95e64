"""Result dtypes PyTorch keeps for bool and uint8 inputs: square of bools counts (int64), and
all/any of uint8 stay uint8. A bool result where PyTorch has int64 changes later sums
(True + True is True, 1 + 1 is 2), so these are numbers, not only dtypes."""
import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


def _same(ours, theirs):
    assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "")
    np.testing.assert_array_equal(np.asarray(ours), theirs.numpy())


@pytest.mark.parametrize("data", [[True, False, True], [], [[True], [False]], True])
def test_square_of_bools_is_int64_as_pytorch(data):
    _same(cr.square(cr.tensor(data)), torch.square(torch.tensor(data)))
    _same(cr.tensor(data).square(), torch.tensor(data).square())


def test_square_of_bools_sums_as_counts():
    ours, theirs = cr.tensor([True, False]), torch.tensor([True, False])
    _same(cr.square(ours) + cr.square(ours), torch.square(theirs) + torch.square(theirs))
    _same(np.square(ours), torch.square(theirs))


def test_square_in_place_on_bools_is_refused_as_pytorch():
    with pytest.raises(RuntimeError):
        torch.tensor([True]).square_()
    with pytest.raises(cr.DtypeError, match="int64"):
        cr.tensor([True]).square_()


@pytest.mark.parametrize("name", ["all", "any"])
@pytest.mark.parametrize("data, dims", [([1, 0, 3], [None, 0]), ([[1, 0], [2, 2]], [None, 0, 1, -1]),
                                        ([], [None]), ([[0, 0, 0]], [1])])
@pytest.mark.parametrize("dtype", ["uint8", "bool", "int8", "int64", "float32"])
def test_all_and_any_keep_pytorchs_dtype(name, data, dims, dtype):
    ours = cr.tensor(data, dtype=getattr(cr, dtype))
    theirs = torch.tensor(data, dtype=getattr(torch, dtype))
    for dim in dims:
        for keepdim in (False, True):
            if dim is None:
                if keepdim:
                    continue
                _same(getattr(ours, name)(), getattr(theirs, name)())
                _same(getattr(cr, name)(ours), getattr(torch, name)(theirs))
            else:
                _same(getattr(ours, name)(dim, keepdim), getattr(theirs, name)(dim, keepdim))
