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


# -- data: collation, samplers, random_split --------------------------------------------------------

def test_collating_an_int_beyond_int64_is_refused_as_in_pytorch():
    # Before: [2**63, 1] became a float32 batch [9.223372e+18, 1.], the int rounded silently.
    torch = _torch()
    tdata = pytest.importorskip("torch.utils.data")
    batch = [2**63, 1]
    with pytest.raises(ValueError, match="Overflow"):
        tdata.default_collate(batch)
    with pytest.raises(ValueError, match="does not fit in int64"):
        data.default_collate(batch)
    with pytest.raises(ValueError, match="does not fit in int64"):
        data.default_collate([{"id": -2**63 - 1}, {"id": 0}])
    edge = [2**63 - 1, -2**63, True]
    ours, theirs = data.default_collate(edge), tdata.default_collate(edge)
    assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "") == "int64"
    assert ours.tolist() == theirs.tolist()
    assert torch is not None


@pytest.mark.parametrize("indices", [[1.5, 2.7], [[0, 1], [2, 3]], ["a", "b", "c"]],
                         ids=["floats", "lists", "strings"])
def test_subset_random_sampler_hands_over_its_keys_as_they_are(indices):
    # Before: the keys were cast to int64 and flattened: floats truncated ([1, 2]), a list of
    # lists gave two of its four numbers; PyTorch yields the keys themselves.
    tdata = pytest.importorskip("torch.utils.data")
    ours = data.SubsetRandomSampler(indices, generator=cr.Generator().manual_seed(0))
    theirs = tdata.SubsetRandomSampler(indices)
    assert len(ours) == len(theirs) == len(indices)
    drawn = list(ours)
    assert sorted(map(repr, drawn)) == sorted(map(repr, theirs)) == sorted(map(repr, indices))
    batches = list(data.BatchSampler(ours, 2, drop_last=False))
    assert [len(b) for b in batches] == [len(b) for b in tdata.BatchSampler(theirs, 2, False)]
    assert sorted(map(repr, sum(batches, []))) == sorted(map(repr, indices))


def test_float_keys_reach_the_dataset_and_are_refused_there_as_in_pytorch():
    torch = _torch()
    tdata = pytest.importorskip("torch.utils.data")
    with pytest.raises(IndexError):
        list(tdata.DataLoader(torch.arange(10.0), sampler=tdata.SubsetRandomSampler([1.5, 2.7]),
                              batch_size=2))
    with pytest.raises((IndexError, TypeError)):
        list(data.DataLoader(cr.arange(10.0), sampler=data.SubsetRandomSampler([1.5, 2.7]),
                             batch_size=2))


def test_string_keys_through_a_loader_as_in_pytorch():
    tdata = pytest.importorskip("torch.utils.data")
    source = {"a": 1, "b": 2, "c": 5}
    ours = list(data.DataLoader(source, sampler=data.SubsetRandomSampler(list(source)),
                                batch_size=3))
    theirs = list(tdata.DataLoader(source, sampler=tdata.SubsetRandomSampler(list(source)),
                                   batch_size=3))
    assert len(ours) == len(theirs) == 1
    assert str(ours[0].dtype) == str(theirs[0].dtype).replace("torch.", "")
    assert sorted(ours[0].tolist()) == sorted(theirs[0].tolist())


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64"])
@pytest.mark.parametrize("n", [7, 37, 1001])
def test_random_split_takes_a_tensor_of_lengths_with_pytorchs_rounding(n, dtype):
    # Before: a tensor of lengths was refused (TypeError). Fractions in a float32 tensor add and
    # multiply in float32 in PyTorch, which moves some splits by one.
    torch = _torch()
    tdata = pytest.importorskip("torch.utils.data")
    rows = [[3, n - 3]] if dtype == "int64" else \
        [[a, 1 - a] for a in np.linspace(0.01, 0.99, 33)] + [[1 / 3] * 3, [0.1] * 10]
    def outcome(split, lengths):
        try:
            subsets = split(range(n), lengths)
        except ValueError:  # ten float32 tenths sum to 1.0000001: not fractions, in both
            return "refused"
        assert sorted(i for s in subsets for i in s) == list(range(n))
        return [len(s) for s in subsets]

    for row in rows:
        lengths = np.array(row, dtype=dtype)
        assert outcome(data.random_split, cr.tensor(lengths)) == \
            outcome(tdata.random_split, torch.tensor(lengths)), row


MIXED = {
    "arrays int64 and float32": [np.array([1, 2]), np.array([1.5, 2.0], np.float32)],
    "arrays int64 and float16": [np.array([1, 2]), np.array([1.5, 2.0], np.float16)],
    "arrays uint8 and int8": [np.array([1], np.uint8), np.array([-1], np.int8)],
    "arrays bool and int32": [np.array([True]), np.array([3], np.int32)],
    "scalars int64 and float32": [np.int64(1), np.float32(2.5)],
    "scalars float16 and int64": [np.float16(1.5), np.int64(3)],
    "scalar float32 then a Python float": [np.float32(1), 2.5],
    "scalar float16 then a Python int": [np.float16(1), 2],
    "0-d arrays int32 and float64": [np.array(1, np.int32), np.array(2.5)],
}


@pytest.mark.parametrize("name", list(MIXED))
def test_collating_mixed_numpy_dtypes_promotes_as_pytorch(name):
    # Before: NumPy's promotion (int64 with float32 made float64); PyTorch promotes as torch.
    _torch()
    tdata = pytest.importorskip("torch.utils.data")
    batch = MIXED[name]
    ours, theirs = data.default_collate(batch), tdata.default_collate(batch)
    assert str(ours.dtype) == str(theirs.dtype).replace("torch.", ""), name
    assert tuple(ours.shape) == tuple(theirs.shape)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
