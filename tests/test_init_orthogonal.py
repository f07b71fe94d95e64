"""nn.init.orthogonal_ and nn.init.sparse_ against torch.nn.init: PyTorch's exact numbers need
its random generator, so what is compared is which side comes out orthonormal, the gain, the
shapes and dtypes, the distribution over many draws, and what each refuses."""
import doctest
import re

import numpy as np
import pytest

import chainrule as cr
from chainrule.nn import init

torch = pytest.importorskip("torch")

SHAPES = [(3, 5), (5, 3), (4, 4), (6, 2, 3, 3), (20, 2, 2), (1, 7), (7, 1)]


def flat(values):
    values = np.asarray(values, dtype=np.float64)
    return values.reshape(values.shape[0], -1)


def orthonormal_side(w, gain=1.0):
    """'rows' if the flattened w has orthonormal rows (times gain), 'columns' if columns."""
    w = flat(w) / gain
    sides = []
    if w.shape[0] <= w.shape[1] and np.allclose(w @ w.T, np.eye(w.shape[0]), atol=1e-5):
        sides.append("rows")
    if w.shape[0] >= w.shape[1] and np.allclose(w.T @ w, np.eye(w.shape[1]), atol=1e-5):
        sides.append("columns")
    return sides


@pytest.mark.parametrize("gain", [1.0, 2.5])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_the_same_side_comes_out_orthonormal_as_in_pytorch(shape, dtype, gain):
    ours = cr.empty(*shape, dtype=getattr(cr, dtype))
    theirs = torch.empty(*shape, dtype=getattr(torch, dtype))
    assert init.orthogonal_(ours, gain=gain) is ours
    torch.nn.init.orthogonal_(theirs, gain=gain)
    assert ours.dtype == np.dtype(dtype) and tuple(ours.shape) == shape
    side = orthonormal_side(theirs.numpy(), gain)
    assert side and orthonormal_side(ours.numpy(), gain) == side


def test_a_fixed_generator_gives_the_same_matrix_and_another_seed_another():
    def draw(seed):
        return init.orthogonal_(cr.empty(4, 6), generator=cr.Generator().manual_seed(seed))
    np.testing.assert_array_equal(draw(0).numpy(), draw(0).numpy())
    assert not np.allclose(draw(0).numpy(), draw(1).numpy())
    cr.manual_seed(3)
    first = init.orthogonal_(cr.empty(4, 6)).numpy()
    cr.manual_seed(3)
    np.testing.assert_array_equal(init.orthogonal_(cr.empty(4, 6)).numpy(), first)


def test_the_matrices_are_uniformly_distributed_as_pytorchs():
    """Haar-distributed: each entry of an n x n draw has mean 0 and mean square 1/n, and the
    corner entry's quantiles agree with PyTorch's. Without the sign correction the corner entry
    would always have one sign."""
    n, draws = 3, 3000
    gen, torch_gen = cr.Generator().manual_seed(0), torch.Generator().manual_seed(0)
    ours = np.stack([init.orthogonal_(cr.empty(n, n, dtype=cr.float64), generator=gen).numpy()
                     for _ in range(draws)])
    theirs = np.stack([torch.nn.init.orthogonal_(torch.empty(n, n, dtype=torch.float64),
                                                 generator=torch_gen).numpy()
                       for _ in range(draws)])
    for sample in (ours, theirs):
        assert np.abs(sample.mean(axis=0)).max() < 0.05
        np.testing.assert_allclose((sample ** 2).mean(axis=0), 1 / n, atol=0.03)
    quantiles = [0.1, 0.25, 0.5, 0.75, 0.9]
    np.testing.assert_allclose(np.quantile(ours[:, 0, 0], quantiles),
                               np.quantile(theirs[:, 0, 0], quantiles), atol=0.06)


def test_it_fills_in_place_through_a_parameter_and_moves_its_version():
    layer = cr.nn.Linear(5, 3)
    before = layer.weight._version
    with cr.no_grad():
        init.orthogonal_(layer.weight)
    assert layer.weight._version > before and orthonormal_side(layer.weight.detach().numpy()) == ["rows"]


@pytest.mark.parametrize("shape", [(), (4,)], ids=["0-d", "1-D"])
def test_fewer_than_two_axes_are_refused_as_pytorch_refuses(shape):
    with pytest.raises(ValueError, match="2 or more dimensions"):
        torch.nn.init.orthogonal_(torch.empty(shape))
    with pytest.raises(ValueError, match=re.escape(f"orthogonal_: only tensors with 2 or more "
                                                   f"dimensions are supported, got shape {shape}")):
        init.orthogonal_(cr.empty(shape))


def test_an_empty_tensor_is_left_alone_as_in_pytorch():
    assert init.orthogonal_(cr.empty(0, 3)).shape == (0, 3)
    assert torch.nn.init.orthogonal_(torch.empty(0, 3)).shape == (0, 3)


# ---------------------------------------------------------------- sparse_

@pytest.mark.parametrize("sparsity", [0.0, 0.1, 0.5, 0.99, 1.0])
def test_sparse_zeroes_as_many_entries_per_column_as_pytorch(sparsity):
    ours = init.sparse_(cr.empty(10, 400), sparsity, std=0.5,
                        generator=cr.Generator().manual_seed(0)).numpy()
    theirs = torch.nn.init.sparse_(torch.empty(10, 400), sparsity, std=0.5,
                                   generator=torch.Generator().manual_seed(0)).numpy()
    np.testing.assert_array_equal((ours == 0).sum(axis=0), (theirs == 0).sum(axis=0))
    assert ours.dtype == np.float32
    rest = ours[ours != 0]
    if rest.size > 100:
        assert rest.std() == pytest.approx(theirs[theirs != 0].std(), rel=0.1)


def test_sparse_with_a_fixed_generator_repeats_values_and_positions():
    def draw(seed):
        return init.sparse_(cr.empty(6, 8), 0.5, generator=cr.Generator().manual_seed(seed))
    np.testing.assert_array_equal(draw(4).numpy(), draw(4).numpy())
    assert not np.array_equal(draw(4).numpy() == 0, draw(5).numpy() == 0)


@pytest.mark.parametrize("call, message", [
    (lambda: init.sparse_(cr.empty(4), 0.5), r"sparse_: only 2-D tensors are supported, got "
                                              r"shape \(4,\)"),
    (lambda: init.sparse_(cr.empty(2, 3, 4), 0.5), r"only 2-D tensors"),
    (lambda: init.sparse_(cr.empty(4, 3), 1.5), r"sparse_: sparsity must be in \[0, 1\], got 1.5"),
    (lambda: init.sparse_(cr.empty(4, 3), -0.1), r"sparsity must be in \[0, 1\], got -0.1"),
    (lambda: init.sparse_(cr.empty(4, 3), 0.5, std=-1), r"sparse_: std must be >= 0, got -1"),
])
def test_sparse_refuses_what_it_cannot_fill(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_sparse_refuses_other_than_2_d_as_pytorch_does():
    with pytest.raises(ValueError, match="2 dimensions"):
        torch.nn.init.sparse_(torch.empty(4), 0.5)


@pytest.mark.parametrize("function", [init.orthogonal_, init.sparse_], ids=lambda f: f.__name__)
def test_the_examples_print_what_they_show(function):
    runner = doctest.DocTestRunner()
    for test in doctest.DocTestFinder().find(function, globs={"cr": cr}):
        runner.run(test)
    assert runner.summarize(verbose=False).failed == 0
