"""cr.Generator, cr.randperm and cr.multinomial against PyTorch: the same arguments, errors,
dtypes and shapes; the same distributions (a Generator draws from NumPy's PCG64, not PyTorch's
Mersenne Twister, so values are compared by their frequencies, not bit for bit)."""
import itertools
import math

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


def error_of(call):
    try:
        call()
    except Exception as error:  # noqa: BLE001  (the class is what is compared)
        return type(error)
    return None


# -- Generator ---------------------------------------------------------------------------------

def test_generator_seeds_as_pytorchs():
    assert cr.Generator().initial_seed() == torch.Generator().initial_seed()
    for seed in (0, 5, -1, -2**63, 2**64 - 1, 2**40):
        assert cr.Generator().manual_seed(seed).initial_seed() == \
            torch.Generator().manual_seed(seed).initial_seed()
    for seed in (2**64, -2**63 - 1):
        with pytest.raises(ValueError):
            torch.Generator().manual_seed(seed)
        with pytest.raises(ValueError, match="outside"):
            cr.Generator().manual_seed(seed)
    for seed in (1.5, True, "3"):
        assert error_of(lambda: torch.Generator().manual_seed(seed)) is not None
        with pytest.raises(TypeError, match="seed must be an int"):
            cr.Generator().manual_seed(seed)
    g = cr.Generator()
    assert g.manual_seed(3) is g
    assert g.seed() == g.initial_seed() != 3
    assert str(cr.Generator("cpu").device) == "cpu"
    with pytest.raises(RuntimeError):
        cr.Generator(device="cuda")


def test_two_generators_with_one_seed_draw_the_same_and_others_differ():
    def draws(seed):
        g = cr.Generator().manual_seed(seed)
        return np.concatenate([cr.rand(3, generator=g).numpy(), cr.randn(3, generator=g).numpy(),
                               cr.randint(0, 100, (3,), generator=g).numpy(),
                               cr.normal(0.0, 1.0, (3,), generator=g).numpy(),
                               cr.randperm(5, generator=g).numpy(),
                               cr.multinomial(cr.ones(4), 2, generator=g).numpy()])
    np.testing.assert_array_equal(draws(1), draws(1))
    assert not np.array_equal(draws(1), draws(2))
    np.testing.assert_array_equal(cr.rand(4, generator=cr.Generator()).numpy(),
                                  cr.rand(4, generator=cr.Generator()).numpy())


def test_get_state_and_set_state_replay_the_stream():
    g = cr.Generator().manual_seed(9)
    cr.rand(7, generator=g)
    state = g.get_state()
    assert state.dtype == np.uint8 and state.ndim == 1
    first = cr.randn(5, generator=g).numpy()
    cr.randn(100, generator=g)
    assert g.set_state(state) is g
    np.testing.assert_array_equal(cr.randn(5, generator=g).numpy(), first)
    other = cr.Generator().set_state(state)
    np.testing.assert_array_equal(cr.randn(5, generator=other).numpy(), first)
    with pytest.raises(TypeError):
        torch.Generator().set_state(torch.zeros(5056))
    with pytest.raises(TypeError, match="uint8"):
        g.set_state(cr.zeros(state.shape[0]))
    with pytest.raises(RuntimeError):
        torch.Generator().set_state(torch.zeros(3, dtype=torch.uint8))
    with pytest.raises(ValueError, match="37 bytes"):
        g.set_state(cr.zeros(3, dtype=cr.uint8))


def test_the_default_generator_is_a_generator_that_manual_seed_reseeds():
    assert isinstance(cr.manual_seed(4), cr.Generator)
    assert cr.manual_seed(4) is cr.default_generator()
    a = cr.rand(3).numpy()
    cr.manual_seed(4)
    np.testing.assert_array_equal(cr.rand(3).numpy(), a)
    assert cr.default_generator().initial_seed() == 4


# -- randperm ----------------------------------------------------------------------------------

def test_randperm_counts_to_the_largest_exact_value_of_its_dtype():
    for n, dtype in ((128, "int8"), (256, "uint8"), (2049, "float16")):
        ours = cr.randperm(n, dtype=getattr(cr, dtype)).numpy()
        assert torch.randperm(n, dtype=getattr(torch, dtype)).shape == (n,)
        np.testing.assert_array_equal(np.sort(ours.astype(np.int64)), np.arange(n))


@pytest.mark.parametrize("n", [0, 1, 2, 7, 1000])
@pytest.mark.parametrize("dtype", [None, "int64", "int32", "uint8", "float32", "float64"])
def test_randperm_is_a_permutation_of_pytorchs_dtype(n, dtype):
    def call(lib):
        return lib.randperm(n) if dtype is None else lib.randperm(n, dtype=getattr(lib, dtype))
    expected = error_of(lambda: call(torch))
    if expected is not None:  # uint8 cannot count to 999
        with pytest.raises(expected, match="does not fit"):
            call(cr)
        return
    ours, theirs = call(cr), call(torch)
    assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "")
    assert tuple(ours.shape) == tuple(theirs.shape) == (n,)
    np.testing.assert_array_equal(np.sort(ours.numpy()), np.arange(n))


@pytest.mark.parametrize("call", [
    lambda lib: lib.randperm(-1),
    lambda lib: lib.randperm(3.0),
    lambda lib: lib.randperm(True),
    lambda lib: lib.randperm(300, dtype=lib.uint8),
    lambda lib: lib.randperm(129, dtype=lib.int8),
    lambda lib: lib.randperm(2050, dtype=lib.float16),
    lambda lib: lib.randperm(3, dtype=lib.bool),
    lambda lib: lib.randperm(3, requires_grad=True),
    lambda lib: lib.randperm(3, generator=np.random.default_rng()) if lib is torch else
    lib.randperm(3, generator=object()),
], ids=["negative", "float", "bool", "uint8-overflow", "int8-overflow", "float16-inexact",
        "bool-dtype", "int-requires-grad",
        "bad-generator"])
def test_randperm_refuses_what_pytorch_refuses(call):
    expected = error_of(lambda: call(torch))
    assert expected is not None
    with pytest.raises(expected):
        call(cr)


def test_randperm_is_uniform_over_permutations():
    g = cr.Generator().manual_seed(0)
    counts = {}
    for _ in range(6000):
        key = tuple(cr.randperm(3, generator=g).tolist())
        counts[key] = counts.get(key, 0) + 1
    assert set(counts) == set(itertools.permutations(range(3)))
    assert max(abs(c - 1000) for c in counts.values()) < 5 * math.sqrt(6000 * (1 / 6) * (5 / 6))
    float_perm = cr.randperm(4, dtype=cr.float32, requires_grad=True)
    assert float_perm.requires_grad and float_perm.dtype == np.float32


# -- multinomial -------------------------------------------------------------------------------

P = [0.2, 0.3, 0.5]


@pytest.mark.parametrize("call", [
    lambda lib: lib.multinomial(lib.tensor(P), 0),
    lambda lib: lib.multinomial(lib.tensor(P), -1),
    lambda lib: lib.multinomial(lib.tensor(P), 4),
    lambda lib: lib.multinomial(lib.tensor(P), 1.0),
    lambda lib: lib.multinomial(lib.tensor([1, 2]), 1),
    lambda lib: lib.multinomial(lib.tensor([True, False]), 1),
    lambda lib: lib.multinomial(lib.tensor([1.0, -2.0]), 1),
    lambda lib: lib.multinomial(lib.tensor([1.0, math.nan]), 1),
    lambda lib: lib.multinomial(lib.tensor([1.0, math.inf]), 1),
    lambda lib: lib.multinomial(lib.tensor([0.0, 0.0]), 1),
    lambda lib: lib.multinomial(lib.tensor([[0.0, 0.0], [1.0, 1.0]]), 1),
    lambda lib: lib.multinomial(lib.tensor(1.0), 1),
    lambda lib: lib.multinomial(lib.ones(2, 2, 2), 1),
    lambda lib: lib.multinomial(lib.ones(2, 0), 1),
    lambda lib: lib.multinomial(lib.ones(0), 1, True),
    lambda lib: lib.multinomial([0.5, 0.5], 1),
], ids=["zero", "negative", "too-many", "float-count", "int-input", "bool-input", "negative-p",
        "nan", "inf", "all-zero", "a-zero-row", "0-d", "3-d", "no-categories", "empty",
        "not-a-tensor"])
def test_multinomial_refuses_what_pytorch_refuses(call):
    expected = error_of(lambda: call(torch))
    assert expected is not None
    with pytest.raises(expected):
        call(cr)


@pytest.mark.parametrize("shape, num_samples, replacement", [
    ((3,), 2, False), ((3,), 3, False), ((3,), 7, True), ((4, 3), 2, False),
    ((4, 3), 5, True), ((0, 3), 2, False), ((0, 3), 2, True)])
@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_multinomial_shapes_and_dtype_match_pytorch(shape, num_samples, replacement, dtype):
    weights = np.random.default_rng(0).random(shape) + 0.1
    ours = cr.multinomial(cr.tensor(weights, dtype=getattr(cr, dtype)), num_samples,
                          replacement)
    theirs = torch.multinomial(torch.tensor(weights, dtype=getattr(torch, dtype)), num_samples,
                               replacement)
    assert ours.dtype == np.int64 and tuple(ours.shape) == tuple(theirs.shape)
    if not replacement and ours.numel():
        rows = ours.numpy().reshape(-1, num_samples)
        assert all(len(set(row)) == num_samples for row in rows)


def test_multinomial_with_replacement_follows_the_weights():
    g = cr.Generator().manual_seed(0)
    weights = cr.tensor([[1.0, 0.0, 3.0, 6.0], [0.0, 0.0, 0.0, 2.0]])
    draws = cr.multinomial(weights, 20000, replacement=True, generator=g).numpy()
    assert (draws[1] == 3).all()
    counts = np.bincount(draws[0], minlength=4) / 20000
    assert counts[1] == 0
    np.testing.assert_allclose(counts, [0.1, 0.0, 0.3, 0.6], atol=0.015)
    method = weights.multinomial(3, True, generator=cr.Generator().manual_seed(0))
    assert tuple(method.shape) == (2, 3)


def test_multinomial_without_replacement_draws_in_pytorchs_order_distribution():
    # P(first = i, second = j) = p_i * p_j / (1 - p_i): sequential drawing without replacement.
    p = np.array(P)
    expected = {(i, j): p[i] * p[j] / (1 - p[i]) for i in range(3) for j in range(3) if i != j}
    n = 30000
    g = cr.Generator().manual_seed(1)
    ours = cr.multinomial(cr.tensor([P] * n), 2, generator=g).numpy()
    theirs = torch.multinomial(torch.tensor([P] * n), 2).numpy()
    for i, j in expected:
        ours_freq = np.mean((ours[:, 0] == i) & (ours[:, 1] == j))
        theirs_freq = np.mean((theirs[:, 0] == i) & (theirs[:, 1] == j))
        tolerance = 5 * math.sqrt(expected[i, j] * (1 - expected[i, j]) / n)
        assert abs(ours_freq - expected[i, j]) < tolerance, (i, j)
        assert abs(theirs_freq - expected[i, j]) < tolerance, (i, j)


def test_multinomial_without_replacement_takes_zero_weights_last():
    for _ in range(20):
        picks = cr.multinomial(cr.tensor([0.0, 1.0, 0.0, 2.0]), 4).tolist()
        assert set(picks[:2]) == {1, 3} and set(picks[2:]) == {0, 2}
    assert torch.multinomial(torch.tensor([0.0, 1.0, 0.0]), 3)[0].item() == 1


def test_multinomial_is_not_differentiable_and_ignores_the_graph():
    weights = cr.tensor([1.0, 2.0], requires_grad=True)
    picks = cr.multinomial(weights, 1)
    assert not picks.requires_grad
    assert not torch.multinomial(torch.tensor([1.0, 2.0], requires_grad=True), 1).requires_grad


def test_the_random_modules_examples_run():
    import doctest

    from chainrule import random

    cr.manual_seed(0)
    result = doctest.testmod(random, extraglobs={"cr": cr, "np": np},
                             optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted and result.failed == 0


def test_the_default_generators_functions_as_pytorchs():
    # torch.seed, initial_seed, get_rng_state and set_rng_state act on the default generator.
    assert cr.manual_seed(11) is cr.default_generator()
    assert cr.initial_seed() == 11 == torch.manual_seed(11).initial_seed()
    state = cr.get_rng_state()
    assert isinstance(state, cr.Tensor) and state.dtype == np.uint8
    assert isinstance(torch.get_rng_state(), torch.Tensor)
    a = cr.randn(4).numpy()
    assert cr.set_rng_state(state) is None and torch.set_rng_state(torch.get_rng_state()) is None
    np.testing.assert_array_equal(cr.randn(4).numpy(), a)
    new_seed = cr.seed()
    assert isinstance(new_seed, int) and cr.initial_seed() == new_seed
    with pytest.raises(TypeError):
        cr.set_rng_state(state.numpy())
