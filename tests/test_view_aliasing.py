"""diagonal() and Tensor.unfold() are views, as in PyTorch: a change made in place through the
result shows in the input and the other way round (they were copies, so the change was lost
silently on one side). Checked against PyTorch outside the graph; inside it a change through
such a view is refused like any view's, and overlapping unfold windows refuse in-place writes
(several elements share one memory location)."""
import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

VIEWS = {
    "diagonal": lambda y: y.diagonal(),
    "diagonal offset 1": lambda y: y.diagonal(1),
    "diagonal offset -1": lambda y: y.diagonal(-1),
    "diagonal dims 1, 2": lambda y: y.diagonal(0, 1, 2),
    "diagonal dims -1, 0": lambda y: y.diagonal(1, -1, 0),
    "diagonal of a transpose": lambda y: y.transpose(0, 2).diagonal(0, 0, 1),
    "diagonal of a slice": lambda y: y[:, 1:, ::2].diagonal(0, 1, 2),
    "function diagonal": lambda y, lib=None: (cr if isinstance(y, cr.Tensor) else torch)
    .diagonal(y, 0, 0, 1),
    "unfold, windows apart": lambda y: y.unfold(2, 2, 2),
    "unfold, gaps between windows": lambda y: y.unfold(2, 1, 3),
    "unfold dim 1": lambda y: y.unfold(1, 3, 3),
    "unfold of a transpose": lambda y: y.transpose(1, 2).unfold(1, 2, 2),
}


def start(lib):
    return lib.tensor(np.arange(24.0).reshape(2, 3, 4) - 7)


@pytest.mark.parametrize("name", sorted(VIEWS))
def test_a_change_through_the_view_shows_in_the_input(name):
    results = []
    for lib in (torch, cr):
        with lib.no_grad():
            y = start(lib)
            VIEWS[name](y).mul_(-2)
            results.append(np.array(y.tolist()))
    np.testing.assert_array_equal(results[1], results[0])
    assert not np.array_equal(results[1], np.arange(24.0).reshape(2, 3, 4) - 7)


@pytest.mark.parametrize("name", sorted(VIEWS))
def test_a_change_to_the_input_shows_in_the_view(name):
    results = []
    for lib in (torch, cr):
        with lib.no_grad():
            y = start(lib)
            view = VIEWS[name](y)
            y.add_(100)
            y[0] = 5
            results.append(np.array(view.tolist()))
    np.testing.assert_array_equal(results[1], results[0])


@pytest.mark.parametrize("name", sorted(VIEWS))
def test_values_and_gradients_stay_pytorchs(name):
    grads = []
    for lib in (torch, cr):
        x = lib.tensor(np.linspace(-1, 2, 24).reshape(2, 3, 4), requires_grad=True)
        out = VIEWS[name](x * 1)
        (out * out * lib.tensor(np.arange(out.numel()).reshape(tuple(out.shape)) + 1.0)).sum() \
            .backward()
        grads.append(np.array(x.grad.tolist()))
    np.testing.assert_allclose(grads[1], grads[0], rtol=1e-12)


def test_overlapping_unfold_windows_refuse_an_in_place_write():
    y = cr.arange(8.0).reshape(2, 4)
    windows = y.unfold(1, 2, 1)  # windows share elements
    with pytest.raises(cr.ArgumentError, match="share one memory location"):
        windows.mul_(2)
    np.testing.assert_array_equal(y.numpy(), np.arange(8.0).reshape(2, 4))
    y.add_(1)  # the windows still read the input's memory
    np.testing.assert_array_equal(windows.numpy(), torch.arange(1.0, 9).reshape(2, 4)
                                  .unfold(1, 2, 1).numpy())


@pytest.mark.parametrize("name", ["diagonal", "unfold, windows apart"])
def test_inside_the_graph_a_change_through_the_view_is_pytorchs_or_refused_never_lost(name):
    # The indexing behind these views may or may not leave NumPy's result a view of a
    # temporary, which decides whether chainrule can follow the change back to y; when it
    # cannot, it refuses. Either way no number differs from PyTorch's.
    tx = torch.tensor(np.linspace(-1, 2, 24).reshape(2, 3, 4), requires_grad=True)
    ty = tx * 1
    VIEWS[name](ty).mul_(2)
    (ty * ty * ty).sum().backward()
    x = cr.tensor(np.linspace(-1, 2, 24).reshape(2, 3, 4), requires_grad=True)
    y = x * 1
    VIEWS[name](y).mul_(2)
    try:
        (y * y * y).sum().backward()
    except cr.GradientError as error:
        assert "changed in place" in str(error)
    else:
        np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12)


def test_a_read_only_input_gives_a_read_only_view():
    array = np.arange(9.0).reshape(3, 3)
    array.flags.writeable = False
    t = cr.from_numpy(array)
    for view in (t.diagonal(), t.unfold(0, 1, 1)):
        with pytest.raises(cr.ArgumentError):
            view.mul_(2)
