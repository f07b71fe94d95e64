"""cr.default_generator, as torch.default_generator: one Generator object that manual_seed
reseeds and returns, that every random function draws from when it is given no generator, and
that seed / initial_seed / get_rng_state / set_rng_state act on. Its stream for a seed is NumPy's
PCG64 seeded with it, as before it was an object, so seeded programs draw what they drew."""
import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


@pytest.fixture
def default():
    """Set the default dtype for one test; float32 again afterwards, also on failure."""
    before = cr.get_default_dtype()
    try:
        yield cr.set_default_dtype
    finally:
        cr.set_default_dtype(before)


def test_the_default_generator_is_one_generator_object_as_pytorchs():
    assert isinstance(cr.default_generator, cr.Generator)
    assert isinstance(torch.default_generator, torch.Generator)
    assert cr.manual_seed(3) is cr.default_generator
    assert torch.manual_seed(3) is torch.default_generator
    assert cr.random.default_generator is cr.default_generator
    assert cr.default_generator.manual_seed(4) is cr.default_generator
    assert cr.initial_seed() == cr.default_generator.initial_seed() == 4


def test_calling_it_as_earlier_versions_did_returns_it():
    assert cr.default_generator() is cr.default_generator


@pytest.mark.parametrize("seed", [0, 1, 42, 2**63 + 5])
def test_a_seed_gives_the_stream_it_gave_before(seed):
    # The same numbers as NumPy's PCG64 seeded with the seed: what seeded runs drew before.
    cr.manual_seed(seed)
    expected = np.random.default_rng(seed)
    np.testing.assert_array_equal(cr.rand(5).numpy(), expected.random(5).astype(np.float32))
    np.testing.assert_array_equal(cr.randn(3).numpy(),
                                  expected.standard_normal(3).astype(np.float32))


def test_a_seed_under_a_float64_default_gives_the_unrounded_stream(default):
    default(cr.float64)
    cr.manual_seed(7)
    np.testing.assert_array_equal(cr.rand(4).numpy(), np.random.default_rng(7).random(4))


# Random functions as f(generator_kwargs): {} draws from the default generator.
DRAWS = [
    ("rand", lambda k: cr.rand(3, **k)),
    ("randn", lambda k: cr.randn(2, 2, **k)),
    ("normal", lambda k: cr.normal(1.0, 2.0, (3,), **k)),
    ("randint", lambda k: cr.randint(0, 100, (4,), **k)),
    ("randperm", lambda k: cr.randperm(8, **k)),
    ("rand_like", lambda k: cr.rand_like(cr.ones(3), **k)),
    ("randint_like", lambda k: cr.randint_like(cr.ones(3), 10, **k)),
    ("multinomial", lambda k: cr.multinomial(cr.tensor([1.0, 2.0, 3.0]), 2, **k)),
    ("bernoulli", lambda k: cr.bernoulli(cr.full((6,), 0.5), **k)),
    ("uniform_", lambda k: cr.empty(4).uniform_(-1, 1, **k)),
    ("normal_", lambda k: cr.empty(4).normal_(0, 1, **k)),
    ("init.normal_", lambda k: cr.nn.init.normal_(cr.empty(3), **k)),
    ("dropout", lambda k: cr.nn.functional.dropout(cr.ones(8), 0.5, **k)),
    ("Linear", lambda k: cr.nn.Linear(3, 2, **k).weight),
    ("LSTM", lambda k: cr.nn.LSTM(2, 3, **k).weight_hh_l0),
]


@pytest.mark.parametrize("label, draw", DRAWS, ids=[d[0] for d in DRAWS])
def test_a_random_function_without_a_generator_draws_from_the_default(label, draw):
    cr.manual_seed(11)
    from_default = draw({}).detach().numpy()
    following = cr.rand(2).numpy()
    mine = cr.Generator().manual_seed(11)
    from_mine = draw({"generator": mine}).detach().numpy()
    np.testing.assert_array_equal(from_default, from_mine, err_msg=label)
    # The default generator moved on exactly as the explicit one did.
    np.testing.assert_array_equal(following, cr.rand(2, generator=mine).numpy(), err_msg=label)


def test_the_rng_state_functions_act_on_the_default_generator():
    cr.manual_seed(5)
    state = cr.get_rng_state()
    assert isinstance(state, cr.Tensor) and state.dtype == np.uint8
    np.testing.assert_array_equal(state.numpy(), cr.default_generator.get_state().numpy())
    first = cr.randn(3).numpy()
    cr.set_rng_state(state)
    np.testing.assert_array_equal(cr.randn(3).numpy(), first)
    cr.default_generator.set_state(state)
    np.testing.assert_array_equal(cr.randn(3).numpy(), first)
    new = cr.seed()
    assert isinstance(new, int) and cr.default_generator.initial_seed() == new


def test_manual_seed_refuses_what_it_refused():
    with pytest.raises(TypeError, match="manual_seed"):
        cr.manual_seed(1.5)
    with pytest.raises(ValueError, match="manual_seed"):
        cr.manual_seed(-1)
    assert isinstance(cr.manual_seed(0), cr.Generator)
