"""Edges of three doors, found by a differential hunt against PyTorch and d2l: activation
checkpointing (chainrule.utils.checkpoint), the data doors (DataLoader, samplers, collation,
random_split, d2l's Vocab and sequence iterators) and DistributedSampler. Each test compares
with PyTorch, with the plain (uncheckpointed) graph, or with a reference written in the test;
where PyTorch's answer cannot be given, it checks that chainrule refuses, naming the cause."""
import collections
import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import data
from chainrule.errors import GradientError
from chainrule.utils.checkpoint import checkpoint


def _torch():
    return pytest.importorskip("torch")


# -- checkpoint ------------------------------------------------------------------------------------

def test_a_permutation_drawn_again_in_recomputation_is_refused():
    # The recomputed output holds the same values in other places: its sums are the forward
    # pass's, so only a fingerprint that weighs positions sees it. Before, the gradient was
    # another permutation's, silently.
    weights = cr.tensor(np.arange(6.0))
    x = cr.tensor(np.random.default_rng(0).standard_normal(6), requires_grad=True)
    generator = cr.Generator().manual_seed(1)

    def f(t):
        return t[cr.randperm(6, generator=generator)].exp()

    state = generator.get_state()
    y = checkpoint(f, x)
    with pytest.raises(GradientError, match="same values in other places"):
        (y * weights).sum().backward()
    # What the plain graph gives, for the record: the forward pass's permutation.
    replay = cr.Generator()
    replay.set_state(state)
    order = cr.randperm(6, generator=replay).numpy()
    x.grad = None
    (f_fixed(x, order) * weights).sum().backward()
    expected = np.zeros(6)
    expected[order] = weights.numpy() * np.exp(x.detach().numpy()[order])
    np.testing.assert_allclose(x.grad.numpy(), expected)


def f_fixed(t, order):
    return t[cr.tensor(order)].exp()


def test_rows_that_trade_places_are_refused_too():
    # Rows as long as the fingerprint's chunk: a weight pattern repeating per chunk would miss it.
    x = cr.tensor(np.random.default_rng(1).standard_normal((3, 8192)), requires_grad=True)
    generator = cr.Generator().manual_seed(0)

    def f(t):
        return t[cr.randperm(3, generator=generator)].tanh()

    y = checkpoint(f, x)
    with pytest.raises(GradientError, match="other values"):
        (y * cr.arange(3.0).reshape(3, 1)).sum().backward()


def test_a_function_that_modifies_its_input_is_refused_naming_the_cause():
    torch = _torch()
    data_ = np.random.default_rng(2).standard_normal((3, 4))

    def f(t):
        t.add_(1)
        return t.exp()

    x = cr.tensor(data_, requires_grad=True)
    y = checkpoint(f, x * 1)
    with pytest.raises(GradientError, match="modified its input 0 .* in place"):
        y.sum().backward()
    tx = torch.tensor(data_, requires_grad=True)
    ty = torch.utils.checkpoint.checkpoint(f, tx * 1, use_reentrant=False)
    with pytest.raises(RuntimeError, match="inplace"):
        ty.sum().backward()


def test_an_idempotent_in_place_change_of_the_input_gives_the_plain_gradient():
    # PyTorch refuses this one (version counter); recomputing relu_ on relu'd values gives the
    # same values, so chainrule's answer is the plain graph's.
    data_ = np.random.default_rng(3).standard_normal((3, 4))
    x = cr.tensor(data_, requires_grad=True)
    checkpoint(lambda t: t.relu_().exp().sin(), x * 1).sum().backward()
    relu = np.maximum(data_, 0)
    expected = np.cos(np.exp(relu)) * np.exp(relu) * (data_ > 0)
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-12)
