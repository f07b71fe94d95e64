"""An in-place change through a view of a leaf that requires grad is refused inside the graph,
as PyTorch refuses it: ``w[0].mul_(3)`` changed the parameter silently inside the graph (its
gradient then described the changed values). Under no_grad, and through detach(), the change
is made, as in PyTorch. Checked against PyTorch for each kind of view."""
import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

VIEWS = {
    "index": lambda w: w[0], "slice": lambda w: w[:, 1:], "step slice": lambda w: w[::2],
    "transpose": lambda w: w.t(), "reshape": lambda w: w.reshape(-1), "view": lambda w: w.view(4),
    "unsqueeze": lambda w: w.unsqueeze(0), "select": lambda w: w.select(1, 0),
    "narrow": lambda w: w.narrow(0, 1, 1), "diagonal": lambda w: w.diagonal(),
    "unbind": lambda w: w.unbind(0)[1], "chunk": lambda w: w.chunk(2, 1)[0],
    "view of a view": lambda w: w[1:][0], "movedim": lambda w: w.movedim(0, 1),
}
CHANGES = {"mul_": lambda v: v.mul_(3), "+=": lambda v: v.__iadd__(1),
           "setitem": lambda v: v.__setitem__(..., 5.0), "zero_": lambda v: v.zero_()}


def leaf(lib):
    return lib.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)


@pytest.mark.parametrize("change", sorted(CHANGES))
@pytest.mark.parametrize("view", sorted(VIEWS))
def test_inside_the_graph_it_is_refused_as_in_pytorch(view, change):
    with pytest.raises(RuntimeError, match="view"):
        CHANGES[change](VIEWS[view](leaf(torch)))
    w = leaf(cr)
    with pytest.raises(cr.GradientError, match="view of a leaf tensor that requires grad"):
        CHANGES[change](VIEWS[view](w))
    np.testing.assert_array_equal(w.detach().numpy(), [[1.0, 2.0], [3.0, 4.0]])


@pytest.mark.parametrize("view", sorted(VIEWS))
def test_under_no_grad_and_through_detach_the_change_is_made(view):
    results = []
    for lib in (torch, cr):
        w = leaf(lib)
        with lib.no_grad():
            VIEWS[view](w).mul_(3)
        VIEWS[view](w.detach()).add_(1)
        results.append(np.array(w.tolist()))
    np.testing.assert_array_equal(results[1], results[0])


def test_a_view_of_a_computed_tensor_or_of_a_clone_is_not_a_leafs():
    for lib in (torch, cr):
        w = leaf(lib)
        w.clone()[0].mul_(2)
        (w * 1)[0].mul_(2)
        assert np.array_equal(np.array(w.tolist()), [[1.0, 2.0], [3.0, 4.0]])
