"""The dims a reduction takes, against PyTorch: an empty list reduces every dim (NumPy's
axis=() reduces none, and ``x.sum(())`` once returned x unreduced), a 0-d tensor takes dim 0
or -1 as its one dim, keepdim keeps the reduced dims, and what PyTorch refuses (a dim out of
range, a dim twice) is refused. The gradient of a reduction over every dim reaches every
element."""
import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

OPS = ["sum", "mean", "amax", "amin", "nansum", "std", "var", "logsumexp"]
DIMS = [(), [], 0, -1, 1, (0,), (-1,), (0, 1), (1,), (0, 0), 2]
SOURCES = {"2-D": [[1.0, 2.0], [3.0, 5.0]], "0-d": 5.0, "3-D": [[[1.0, -2.0, 0.5]]]}


def outcome(make):
    try:
        result = make()
    except Exception:
        return "error"
    return list(result.shape), np.asarray(result.tolist(), dtype=float)


@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("dim", DIMS, ids=repr)
@pytest.mark.parametrize("source", list(SOURCES))
@pytest.mark.parametrize("op", OPS)
def test_reduction_dims_as_pytorch(op, source, dim, keepdim):
    def run(m):
        return outcome(lambda: getattr(m.tensor(SOURCES[source]), op)(dim, keepdim=keepdim))
    expected, got = run(torch), run(cr)
    if op == "logsumexp" and dim in ((), []) and expected == "error":
        return  # PyTorch's logsumexp refuses an empty list; chainrule reduces every dim
    if expected == "error" or got == "error":
        assert got == expected, f"chainrule {got}, PyTorch {expected}"
        return
    assert got[0] == expected[0]
    np.testing.assert_allclose(got[1], expected[1], rtol=1e-6, equal_nan=True)


@pytest.mark.parametrize("op", ["sum", "mean", "amax"])
def test_an_empty_dim_list_differentiates_every_element(op):
    # Against PyTorch's reduction with no dim given. (Its var(()) reduces every element
    # forward but gives an infinite gradient, as though nothing had been reduced: chainrule
    # refuses that gradient, tests/test_math_grad_edges.py.)
    grads = []
    for m, dims in ((torch, ()), (cr, ((),))):
        x = m.tensor([[1.0, 2.0], [3.0, 5.0]], dtype=m.float64, requires_grad=True)
        getattr(x, op)(*dims).backward()
        grads.append(np.asarray(x.grad.tolist()))
    np.testing.assert_allclose(grads[1], grads[0], rtol=1e-12)


def test_numpy_keeps_its_own_empty_axis():
    # np.sum(t, axis=()) is NumPy's call: no dim reduced, as for an array.
    t = cr.tensor([[1.0, 2.0], [3.0, 5.0]])
    assert np.sum(t, axis=()).shape == (2, 2)


@pytest.mark.parametrize("dim", DIMS, ids=repr)
@pytest.mark.parametrize("source", list(SOURCES))
@pytest.mark.parametrize("call", ["norm", "norm keepdim", "count_nonzero"])
def test_norm_and_count_nonzero_dims_as_pytorch(call, source, dim):
    def run(m):
        t = m.tensor(SOURCES[source])
        if call == "count_nonzero":
            return outcome(lambda: m.count_nonzero(t, dim=dim))
        return outcome(lambda: t.norm(dim=dim, keepdim=call.endswith("keepdim")))
    expected, got = run(torch), run(cr)
    if expected == "error" or got == "error":
        assert got == expected, f"chainrule {got}, PyTorch {expected}"
        return
    assert got[0] == expected[0]
    np.testing.assert_allclose(got[1], expected[1], rtol=1e-6)
