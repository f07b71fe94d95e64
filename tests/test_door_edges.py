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


def test_a_recomputation_of_other_shapes_is_refused_even_without_the_determinism_check():
    # determinism_check="none" compares only the number of ops. Before, a recomputation over
    # two rows where the forward pass had one gave row 1 a gradient, silently; the plain graph
    # gives row 1 none.
    x = cr.tensor(np.random.default_rng(4).standard_normal((3, 4)), requires_grad=True)
    calls = []

    def f(t):
        calls.append(1)
        u = t[:len(calls)].exp()
        return u - u.mean()

    y = checkpoint(f, x * 1, determinism_check="none")
    with pytest.raises(GradientError, match=r"shapes \[\(2, 4\)\] where the forward pass gave"):
        (y * cr.arange(4.0)).sum().backward()


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


@pytest.mark.filterwarnings("ignore:.*ength of split at index")
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


# -- text data: d2l's Vocab and sequence iterators --------------------------------------------------

def d2l_vocab(tokens, min_freq=0, reserved_tokens=()):
    """d2l's Vocab (0.17), the reference: idx_to_token and token_freqs."""
    if len(tokens) == 0 or isinstance(tokens[0], list):
        tokens = [token for line in tokens for token in line]
    token_freqs = sorted(collections.Counter(tokens).items(), key=lambda x: x[1], reverse=True)
    idx_to_token = ["<unk>"] + list(reserved_tokens)
    for token, freq in token_freqs:
        if freq < min_freq:
            break
        if token not in idx_to_token:
            idx_to_token.append(token)
    return idx_to_token, token_freqs


def test_vocab_of_bigrams_counts_pairs_as_d2l():
    # d2l 8.3 builds Vocab(list(zip(corpus[:-1], corpus[1:]))): a tuple is one token. Before,
    # tuples were read as lines and flattened: the bigram vocabulary was the unigram one.
    words = "the time traveller for so it will be convenient to speak of him the time".split()
    for n in (2, 3):
        grams = list(zip(*(words[i:] for i in range(n))))
        vocab = data.Vocab(grams, min_freq=1, reserved_tokens=["<pad>"])
        idx_to_token, token_freqs = d2l_vocab(grams, 1, ["<pad>"])
        assert vocab.idx_to_token == idx_to_token
        assert vocab.token_freqs == token_freqs
        assert token_freqs[0] == (("the", "time") if n == 2 else ("the", "time", "traveller"),
                                  1 if n == 3 else 2)
        assert vocab.to_tokens(len(vocab) - 1) == idx_to_token[-1]


def d2l_seq_data_iter_random(corpus, batch_size, num_steps, rng):
    """d2l's random sampling, its random.randint and random.shuffle drawn as chainrule documents
    its draws: integers(0, num_steps), then permutation(number of subsequences)."""
    corpus = corpus[int(rng.integers(0, num_steps)):]
    num_subseqs = (len(corpus) - 1) // num_steps
    starts = list(range(0, num_subseqs * num_steps, num_steps))
    starts = [starts[i] for i in rng.permutation(len(starts))]
    for i in range(0, batch_size * (num_subseqs // batch_size), batch_size):
        chosen = starts[i: i + batch_size]
        yield ([corpus[j: j + num_steps] for j in chosen],
               [corpus[j + 1: j + 1 + num_steps] for j in chosen])


def d2l_seq_data_iter_sequential(corpus, batch_size, num_steps, rng):
    offset = int(rng.integers(0, num_steps + 1))
    num_tokens = ((len(corpus) - offset - 1) // batch_size) * batch_size
    if num_tokens <= 0:
        return
    xs = np.array(corpus[offset: offset + num_tokens]).reshape(batch_size, -1)
    ys = np.array(corpus[offset + 1: offset + 1 + num_tokens]).reshape(batch_size, -1)
    for i in range(0, num_steps * (xs.shape[1] // num_steps), num_steps):
        yield xs[:, i: i + num_steps].tolist(), ys[:, i: i + num_steps].tolist()


@pytest.mark.parametrize("ours, theirs", [
    (data.seq_data_iter_random, d2l_seq_data_iter_random),
    (data.seq_data_iter_sequential, d2l_seq_data_iter_sequential)], ids=["random", "sequential"])
def test_sequence_iterators_are_d2ls_down_to_short_corpora(ours, theirs):
    # Probed already right (corpora of 0 to 29 tokens, every offset), kept as a guard.
    for n in range(0, 30, 3):
        corpus = list(range(100, 100 + n))
        for batch_size in (1, 2, 5):
            for num_steps in (1, 3, 7):
                got = [(x.tolist(), y.tolist()) for x, y in
                       ours(corpus, batch_size, num_steps, generator=np.random.default_rng(n))]
                want = list(theirs(corpus, batch_size, num_steps, np.random.default_rng(n)))
                assert got == want, (n, batch_size, num_steps)


# -- DistributedSampler, without MPI (num_replicas and rank given) ---------------------------------

def _shards(sampler_class, n, replicas, drop_last, shuffle, seed=3, epoch=2):
    samplers = [sampler_class(list(range(n)), num_replicas=replicas, rank=r, shuffle=shuffle,
                              drop_last=drop_last, seed=seed) for r in range(replicas)]
    for s in samplers:
        s.set_epoch(epoch)
    return samplers, [list(s) for s in samplers]


@pytest.mark.parametrize("shuffle", [False, True])
@pytest.mark.parametrize("drop_last", [False, True])
def test_distributed_sampler_shards_by_pytorchs_rules(drop_last, shuffle):
    # Probed already right: shard sizes, padding by repeating the start (several times over
    # when there are more ranks than examples), drop_last's tail, the union over ranks.
    _torch()
    from torch.utils.data.distributed import DistributedSampler as TorchSampler

    from chainrule.distributed import DistributedSampler
    for n in (0, 1, 2, 3, 5, 7, 10, 13):
        for replicas in (1, 2, 3, 4, 8):
            ours, our_lists = _shards(DistributedSampler, n, replicas, drop_last, shuffle)
            theirs, their_lists = _shards(TorchSampler, n, replicas, drop_last, shuffle)
            where = (n, replicas)
            assert [len(s) for s in ours] == [len(s) for s in theirs], where
            assert [len(x) for x in our_lists] == [len(x) for x in their_lists], where
            assert ours[0].total_size == theirs[0].total_size, where
            counts = collections.Counter(i for x in our_lists for i in x)
            their_counts = collections.Counter(i for x in their_lists for i in x)
            assert sorted(counts.values()) == sorted(their_counts.values()), where
            if not shuffle:
                assert our_lists == their_lists, where
            elif not drop_last:
                assert set(counts) == set(their_counts), where
            assert all(type(i) is int for x in our_lists for i in x)


def test_distributed_sampler_takes_numpy_ints_and_negative_seeds_as_pytorch():
    # Before: NumPy ints for num_replicas/rank were refused, a negative seed or epoch failed at
    # iteration with NumPy's "expected non-negative integer", and a float seed was truncated
    # (PyTorch refuses one).
    _torch()
    from torch.utils.data.distributed import DistributedSampler as TorchSampler

    from chainrule.distributed import DistributedSampler
    ours = DistributedSampler(range(5), num_replicas=np.int64(2), rank=np.int64(1), shuffle=False)
    theirs = TorchSampler(range(5), num_replicas=np.int64(2), rank=np.int64(1), shuffle=False)
    assert list(ours) == list(theirs) and len(ours) == len(theirs)
    for seed, epoch in ((-1, 0), (0, -3), (-7, -7)):
        shards = []
        for rank in range(2):
            sampler = DistributedSampler(range(5), num_replicas=2, rank=rank, seed=seed)
            sampler.set_epoch(epoch)
            shards.append(list(sampler))
        torch_sampler = TorchSampler(range(5), num_replicas=2, rank=0, seed=seed)
        torch_sampler.set_epoch(epoch)
        assert [len(s) for s in shards] == [len(torch_sampler)] * 2
        assert set(shards[0] + shards[1]) == set(range(5))
    with pytest.raises(TypeError, match="seed must be an int"):
        DistributedSampler(range(5), num_replicas=2, rank=0, seed=1.5)
    with pytest.raises(TypeError, match="epoch must be an int"):
        DistributedSampler(range(5), num_replicas=2, rank=0).set_epoch(0.5)


def test_weighted_random_sampler_takes_weights_that_require_grad_as_pytorch():
    # Before: numpy() refused the tensor ("this tensor requires grad").
    torch = _torch()
    tdata = pytest.importorskip("torch.utils.data")
    theirs = tdata.WeightedRandomSampler(torch.tensor([0.0, 2.0, 0.0], requires_grad=True), 4)
    ours = data.WeightedRandomSampler(cr.tensor([0.0, 2.0, 0.0], requires_grad=True), 4)
    assert list(ours) == list(theirs) == [1, 1, 1, 1]
    assert len(ours) == len(theirs)


_SAVED_THEN_REDUCED = """
import sys
import chainrule as cr
from chainrule import distributed as dist
from chainrule.errors import GradientError
dist.init()
rank = dist.rank()
t = cr.tensor([1.0 + rank, 2.0 + rank])
w = cr.tensor([1.0, 1.0], requires_grad=True)
y = (w * t).sum()        # mul saves t
dist.{call}
try:
    y.backward()
    line = f"grad {w.grad.tolist()}, plain {[1.0 + rank, 2.0 + rank]}"
except GradientError as error:
    line = f"refused: {error}"
with open(f"{sys.argv[1]}/rank{rank}.txt", "w") as file:
    file.write(line)
"""


@pytest.mark.parametrize("call", ["all_reduce(t)", "broadcast(t, 1)"])
def test_a_collective_into_a_tensor_a_graph_saved_is_refused_at_backward(call, tmp_path):
    # Before: backward differentiated with the collective's values, silently (on 2 ranks the
    # gradient was [3, 5] for every rank, where the plain graph gives rank r [1 + r, 2 + r]).
    # PyTorch's collectives do not bump the version counter and give the same silent number;
    # chainrule refuses instead (the project's first rule).
    import os
    import shutil
    import subprocess
    import sys
    from pathlib import Path
    mpiexec = shutil.which("mpiexec") or shutil.which("mpiexec",
                                                      path=str(Path(sys.executable).parent))
    if mpiexec is None:
        pytest.skip("mpiexec is not installed")
    pytest.importorskip("mpi4py")
    environment = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    environment.pop("CI", None)
    done = subprocess.run([mpiexec, "-n", "2", sys.executable, "-c",
                           _SAVED_THEN_REDUCED.replace("{call}", call), str(tmp_path)],
                          capture_output=True, text=True, timeout=120, env=environment)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = [(tmp_path / f"rank{rank}.txt").read_text() for rank in range(2)]
    assert all("refused:" in line and "modified in place" in line for line in lines), lines


def test_collectives_in_a_world_of_one_change_nothing_and_refuse_nothing():
    from chainrule import distributed as dist
    t = cr.tensor([1.0, 2.0])
    w = cr.tensor([1.0, 1.0], requires_grad=True)
    y = (w * t).sum()
    dist.all_reduce(t)
    dist.broadcast(t, 0)
    y.backward()
    assert w.grad.tolist() == [1.0, 2.0]
