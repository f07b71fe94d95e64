"""chainrule.data against torch.utils.data: the same batches (values, dtypes, containers), the
same lengths, the same refusals; samplers by their properties where PyTorch's random numbers
cannot be reproduced; and a PyTorch training loop with a checkpoint giving PyTorch's losses."""
import collections
import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import data
from chainrule.utils import data as utils_data

torch = pytest.importorskip("torch")
tdata = pytest.importorskip("torch.utils.data")

Pair = collections.namedtuple("Pair", "a b")


def as_numpy(value):
    return value.detach().numpy() if hasattr(value, "detach") else np.asarray(value)


def assert_same_batch(ours, theirs, where="batch"):
    """Same structure, container types, dtypes and values (nan where nan)."""
    if isinstance(theirs, torch.Tensor):
        assert isinstance(ours, cr.Tensor), f"{where}: {type(ours).__name__}, not a Tensor"
        assert str(ours.dtype) == str(theirs.dtype).replace("torch.", ""), where
        assert tuple(ours.shape) == tuple(theirs.shape), where
        np.testing.assert_array_equal(as_numpy(ours), theirs.numpy(), err_msg=where)
    elif isinstance(theirs, dict):
        assert type(ours).__name__ == type(theirs).__name__, where
        assert list(ours) == list(theirs), where
        for key in theirs:
            assert_same_batch(ours[key], theirs[key], f"{where}[{key!r}]")
    elif isinstance(theirs, (list, tuple)):
        assert type(ours).__name__ == type(theirs).__name__, where
        assert len(ours) == len(theirs), where
        for i, (a, b) in enumerate(zip(ours, theirs)):
            assert_same_batch(a, b, f"{where}[{i}]")
    else:
        assert type(ours) is type(theirs) and ours == theirs, where


def to_torch(sample):
    """The same example in PyTorch's world: chainrule Tensors become torch tensors."""
    if isinstance(sample, cr.Tensor):
        return torch.from_numpy(sample.numpy().copy())
    if isinstance(sample, dict):
        return type(sample)((k, to_torch(v)) for k, v in sample.items())
    if isinstance(sample, tuple) and hasattr(sample, "_fields"):
        return type(sample)(*(to_torch(v) for v in sample))
    if isinstance(sample, (list, tuple)):
        return type(sample)(to_torch(v) for v in sample)
    return sample


SAMPLES = {
    "python ints": [1, -2, 3],
    "python floats": [1.5, -0.0, float("inf")],
    "int then float": [1, 2.5],
    "float then int": [2.5, 1],
    "bools": [True, False],
    "numpy float32 scalars": [np.float32(1), np.float32(np.nan)],
    "numpy int16 scalars": [np.int16(3), np.int16(-4)],
    "numpy uint8 arrays": [np.array([1, 255], np.uint8), np.array([0, 7], np.uint8)],
    "numpy float64 arrays": [np.zeros((2, 3)), np.ones((2, 3))],
    "empty arrays": [np.zeros((0, 2), np.float32), np.zeros((0, 2), np.float32)],
    "tensors": [cr.tensor([1.0, 2.0]), cr.tensor([3.0, -4.0])],
    "int tensors": [cr.tensor(1), cr.tensor(2)],
    "tuples": [(np.float32(0.5), 1), (np.float32(1.5), 0)],
    "lists": [[1, 2.0], [3, 4.0]],
    "dicts": [{"x": np.arange(3), "y": 1.0, "name": "a"}, {"x": np.arange(3) * 2, "y": 2.0,
                                                         "name": "b"}],
    "ordered dicts": [collections.OrderedDict(b=1, a=2.0), collections.OrderedDict(b=3, a=4.0)],
    "nested": [{"pair": (np.ones(2), [1, 2])}, {"pair": (np.zeros(2), [3, 4])}],
    "namedtuples": [Pair(1, np.float64(2)), Pair(3, np.float64(4))],
    "mixed numpy scalars": [np.float32(1), np.float64(2)],
    "bool then int": [True, 1],
    "numpy int then int": [np.int64(1), 2],
    "0-d arrays": [np.array(5.0), np.array(6.0)],
    "numpy bools": [np.bool_(True), np.bool_(False)],
    "mixed tensor dtypes": [cr.tensor([1]), cr.tensor([1.0])],
    "float32 and float64 tensors": [cr.tensor([1.0]), cr.tensor([1.0], dtype=cr.float64)],
    "strings": ["a", "bc"],
    "bytes": [b"a", b"b"],
    "numpy strings": [np.str_("a"), np.str_("bc")],
}


@pytest.mark.parametrize("name", SAMPLES)
def test_default_collate_gives_pytorchs_batch(name):
    samples = SAMPLES[name]
    assert_same_batch(data.default_collate(samples),
                      tdata.default_collate([to_torch(s) for s in samples]), name)


@pytest.mark.parametrize("name", SAMPLES)
def test_default_convert_gives_pytorchs_example(name):
    sample = SAMPLES[name][0]
    assert_same_batch(data.default_convert(sample), tdata.default_convert(to_torch(sample)), name)


BAD_BATCHES = {
    "lists of unequal length": [[1, 2], [3]],
    "tensors of unequal shape": [np.zeros(3), np.zeros(2)],
    "objects": [object(), object()],
    "string arrays": [np.array(["a"]), np.array(["b"])],
    "complex numbers": [1 + 2j, 3j],
    "None": [None, None],
}


@pytest.mark.parametrize("name", BAD_BATCHES)
def test_default_collate_refuses_what_pytorch_refuses(name):
    batch = BAD_BATCHES[name]
    with pytest.raises(Exception) as theirs:
        tdata.default_collate([to_torch(s) for s in batch])
    with pytest.raises(theirs.type):
        data.default_collate(batch)


def make_xy(n=11, features=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, features)).astype(np.float32), rng.integers(0, 4, n)


def both_loaders(dataset_args, **options):
    x, y = dataset_args
    ours = data.DataLoader(data.TensorDataset(cr.tensor(x), cr.tensor(y)), **options)
    theirs = tdata.DataLoader(tdata.TensorDataset(torch.tensor(x), torch.tensor(y)), **options)
    return ours, theirs


@pytest.mark.parametrize("batch_size", [1, 3, 4, 11, 20, None])
@pytest.mark.parametrize("drop_last", [False, True])
def test_tensor_dataset_batches_and_len_match_pytorch(batch_size, drop_last):
    if batch_size is None and drop_last:
        return
    ours, theirs = both_loaders(make_xy(), batch_size=batch_size, drop_last=drop_last)
    assert len(ours) == len(theirs)
    ours_batches, their_batches = list(ours), list(theirs)
    assert len(ours_batches) == len(their_batches) == len(theirs)
    for a, b in zip(ours_batches, their_batches):
        assert_same_batch(a, b)


def test_batches_mean_what_pytorch_means():
    # The first confirmed case: std is unbiased, transpose swaps, max(1) has indices.
    x, y = make_xy(6)
    (xb, _), (txb, _) = (next(iter(loader)) for loader in both_loaders((x, y), batch_size=3))
    np.testing.assert_allclose(xb.std(0).numpy(), txb.std(0).numpy(), rtol=1e-6)
    np.testing.assert_array_equal(xb.transpose(0, 1).numpy(), txb.transpose(0, 1).numpy())
    values, indices = xb.max(1)
    np.testing.assert_array_equal(indices.numpy(), txb.max(1).indices.numpy())
    np.testing.assert_array_equal(values.numpy(), txb.max(1).values.numpy())


def test_a_list_of_pairs_is_a_dataset():
    x, y = make_xy(7)
    pairs = [(x[i], int(y[i])) for i in range(7)]
    for a, b in zip(data.DataLoader(pairs, batch_size=3),
                    tdata.DataLoader(pairs, batch_size=3)):
        assert_same_batch(a, b)


class Squares:
    """A map-style dataset that is no Dataset subclass, returning dicts."""

    def __len__(self):
        return 5

    def __getitem__(self, i):
        return {"i": i, "square": float(i * i), "row": np.full(2, i, dtype=np.int32)}


class Numbers(data.Dataset):
    def __len__(self):
        return 6

    def __getitem__(self, i):
        return np.float32(i) / 2, i % 2


@pytest.mark.parametrize("dataset", [Squares(), Numbers()], ids=["dicts", "subclass"])
@pytest.mark.parametrize("batch_size", [2, None])
def test_map_style_datasets_match_pytorch(dataset, batch_size):
    for a, b in zip(data.DataLoader(dataset, batch_size=batch_size),
                    tdata.DataLoader(dataset, batch_size=batch_size), strict=True):
        assert_same_batch(a, b)


def test_collate_fn_batch_sampler_and_sampler_are_used_as_pytorch():
    x, y = make_xy(9)
    pairs = [(x[i], int(y[i])) for i in range(9)]
    collate = lambda batch: [len(batch), batch[0][1]]  # noqa: E731
    for options in ({"batch_size": 4, "collate_fn": collate},
                    {"batch_sampler": [[3, 1], [8], [0, 2, 4]]},
                    {"sampler": [5, 4, 3], "batch_size": 2},
                    {"sampler": [5, 4, 3], "batch_size": None}):
        ours = list(data.DataLoader(pairs, **options))
        theirs = list(tdata.DataLoader(pairs, **options))
        assert len(ours) == len(theirs), options
        for a, b in zip(ours, theirs):
            assert_same_batch(a, b, str(options))


@pytest.mark.parametrize("options", [
    {"batch_size": 0}, {"batch_size": -3}, {"num_workers": -1},
    {"batch_size": None, "drop_last": True}, {"shuffle": True, "sampler": [0, 1]},
    {"batch_sampler": [[0]], "batch_size": 2}, {"batch_sampler": [[0]], "drop_last": True},
    {"batch_sampler": [[0]], "shuffle": True}, {"prefetch_factor": 2},
    {"persistent_workers": True}, {"timeout": -1}, {"drop_last": 1},
], ids=str)
def test_dataloader_refuses_options_as_pytorch(options):
    with pytest.raises(ValueError) as theirs:
        tdata.DataLoader(list(range(5)), **options)
    with pytest.raises(ValueError) as ours:
        data.DataLoader(list(range(5)), **options)
    # The message keeps PyTorch's words, after "DataLoader: " where chainrule names the caller.
    words = str(theirs.value).split(";")[0].split(".")[0]
    assert words.lower() in str(ours.value).lower()


class Stream(data.IterableDataset):
    """Split between workers by get_worker_info(), as PyTorch's documentation shows."""

    def __init__(self, start, end):
        self.start, self.end = start, end

    def __iter__(self):
        info = data.get_worker_info()
        if info is None:
            return iter(range(self.start, self.end))
        per_worker = math.ceil((self.end - self.start) / info.num_workers)
        start = self.start + info.id * per_worker
        return iter(range(start, min(start + per_worker, self.end)))

    def __len__(self):
        return self.end - self.start


class TorchStream(tdata.IterableDataset):
    def __init__(self, start, end):
        self.start, self.end = start, end

    def __iter__(self):
        info = tdata.get_worker_info()
        if info is None:
            return iter(range(self.start, self.end))
        per_worker = math.ceil((self.end - self.start) / info.num_workers)
        start = self.start + info.id * per_worker
        return iter(range(start, min(start + per_worker, self.end)))


class Duplicated(data.IterableDataset):
    """Not split: each worker yields the whole stream, so PyTorch yields it num_workers times."""

    def __iter__(self):
        return iter(range(5))


class TorchDuplicated(tdata.IterableDataset):
    def __iter__(self):
        return iter(range(5))


@pytest.mark.filterwarnings("ignore:This DataLoader will create")
@pytest.mark.parametrize("num_workers", [0, 2, 3])
@pytest.mark.parametrize("drop_last", [False, True])
def test_iterable_datasets_and_workers_give_pytorchs_batches_in_order(num_workers, drop_last):
    for ours, theirs in ((Stream(3, 20), TorchStream(3, 20)), (Duplicated(), TorchDuplicated())):
        mine = [b.tolist() for b in data.DataLoader(ours, batch_size=4, drop_last=drop_last,
                                                    num_workers=num_workers)]
        reference = [b.tolist() for b in tdata.DataLoader(
            theirs, batch_size=4, drop_last=drop_last, num_workers=num_workers,
            multiprocessing_context="fork" if num_workers else None)]
        assert mine == reference


def test_map_style_workers_keep_the_order_and_see_their_worker_info():
    ids = []

    class WhoFetches(data.Dataset):
        def __len__(self):
            return 10

        def __getitem__(self, i):
            ids.append(data.get_worker_info().id)
            return i

    started = []
    loader = data.DataLoader(WhoFetches(), batch_size=3, num_workers=2,
                             worker_init_fn=started.append)
    assert [b.tolist() for b in loader] == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]
    assert ids == [0] * 3 + [1] * 3 + [0] * 3 + [1]  # PyTorch hands batches out in turn
    assert started == [0, 1]
    assert data.get_worker_info() is None


def test_iterable_dataset_refuses_shuffle_and_samplers_as_pytorch():
    for options in ({"shuffle": True}, {"sampler": [0]}, {"batch_sampler": [[0]]}):
        with pytest.raises(ValueError):
            tdata.DataLoader(TorchDuplicated(), **options)
        with pytest.raises(ValueError, match="IterableDataset"):
            data.DataLoader(Duplicated(), **options)


# -- samplers ----------------------------------------------------------------------------------

def test_sequential_and_batch_samplers_match_pytorch():
    for n, size, drop_last in [(10, 3, False), (10, 3, True), (9, 3, True), (2, 5, False),
                               (0, 2, False)]:
        ours = data.BatchSampler(data.SequentialSampler(range(n)), size, drop_last)
        theirs = tdata.BatchSampler(tdata.SequentialSampler(range(n)), size, drop_last)
        assert list(ours) == list(theirs) and len(ours) == len(theirs)
    keys = ["a", "b", "c"]  # a sampler of one's own may yield any keys
    assert list(data.BatchSampler(keys, 2, False)) == list(tdata.BatchSampler(keys, 2, False))


@pytest.mark.parametrize("make", [
    lambda lib: lib.BatchSampler(range(3), 0, False),
    lambda lib: lib.BatchSampler(range(3), 2.0, False),
    lambda lib: lib.BatchSampler(range(3), 2, 1),
    lambda lib: lib.RandomSampler(range(3), num_samples=0),
    lambda lib: lib.RandomSampler(range(0)),
    lambda lib: lib.WeightedRandomSampler([1.0, 2.0], 0),
    lambda lib: lib.WeightedRandomSampler([1.0, 2.0], 2, replacement=1),
    lambda lib: lib.WeightedRandomSampler([[1.0, 2.0]], 2),
], ids=["batch-size-0", "batch-size-float", "drop-last-int", "num-samples-0", "empty",
        "weighted-num-samples-0", "weighted-replacement-int", "weighted-2d"])
def test_samplers_refuse_bad_arguments_as_pytorch(make):
    with pytest.raises(Exception) as theirs:
        make(tdata)
    with pytest.raises(theirs.type):
        make(data)


def test_random_sampler_replacement_must_be_a_bool():
    with pytest.raises(TypeError):
        tdata.RandomSampler(range(3), replacement=1)
    with pytest.raises(TypeError, match="replacement"):
        data.RandomSampler(range(3), replacement=1)


@pytest.mark.parametrize("num_samples", [None, 4, 10, 23])
def test_random_sampler_without_replacement_repeats_whole_permutations(num_samples):
    ours = list(data.RandomSampler(range(10), num_samples=num_samples))
    theirs = list(tdata.RandomSampler(range(10), num_samples=num_samples))
    assert len(ours) == len(theirs)
    for start in range(0, len(ours), 10):  # each block of 10 has no repeats, as PyTorch's
        block = ours[start:start + 10]
        assert len(set(block)) == len(block) and set(block) <= set(range(10))


def test_random_sampler_draws_uniformly_and_fresh_each_epoch():
    sampler = data.RandomSampler(range(4), replacement=True, num_samples=40000,
                                 generator=cr.Generator().manual_seed(1))
    counts = np.bincount(list(sampler), minlength=4)
    assert abs(counts - 10000).max() < 5 * math.sqrt(40000 * 0.25 * 0.75)
    orders = {tuple(data.RandomSampler(range(6))) for _ in range(20)}
    assert len(orders) > 1


def test_generator_makes_shuffles_repeatable():
    def epochs(seed):
        loader = data.DataLoader(list(range(20)), batch_size=5, shuffle=True,
                                 generator=cr.Generator().manual_seed(seed))
        return [[b.tolist() for b in loader] for _ in range(2)]
    first = epochs(3)
    assert first == epochs(3) and first != epochs(4) and first[0] != first[1]
    assert sorted(sum(first[0], [])) == list(range(20))
    cr.manual_seed(5)
    unseeded = [b.tolist() for b in data.DataLoader(list(range(20)), batch_size=5, shuffle=True)]
    cr.manual_seed(5)
    assert unseeded == [b.tolist() for b in data.DataLoader(list(range(20)), batch_size=5,
                                                            shuffle=True)]


def test_subset_random_and_weighted_samplers():
    picks = list(data.SubsetRandomSampler([7, 3, 5, 11]))
    assert sorted(picks) == [3, 5, 7, 11]
    assert sorted(data.SubsetRandomSampler(cr.tensor([4, 2, 9]))) == \
        sorted(int(i) for i in tdata.SubsetRandomSampler(torch.tensor([4, 2, 9])))
    orders = {tuple(data.SubsetRandomSampler(range(6))) for _ in range(20)}
    assert len(orders) > 1
    weighted = list(data.WeightedRandomSampler([0.0, 3.0, 1.0, 0.0], 4000,
                                               generator=cr.Generator().manual_seed(0)))
    counts = np.bincount(weighted, minlength=4)
    assert counts[0] == counts[3] == 0
    assert abs(counts[1] / 4000 - 0.75) < 0.03
    assert sorted(data.WeightedRandomSampler([1.0, 1.0, 1.0], 3, replacement=False)) == [0, 1, 2]


@pytest.mark.filterwarnings("ignore:.*ength of split at index")
def test_random_split_lengths_and_fractions_match_pytorch():
    for n, lengths in [(5, [3, 2]), (5, [0.6, 0.4]), (5, [0.5, 0.5]), (5, [0.3, 0.3, 0.4]),
                       (5, [1]), (5, [0, 1]), (10, [0.25] * 4), (0, [0, 0]), (7, [7])]:
        ours = data.random_split(range(n), lengths, generator=cr.Generator().manual_seed(0))
        theirs = tdata.random_split(range(n), lengths, generator=torch.Generator().manual_seed(0))
        assert [len(s) for s in ours] == [len(s) for s in theirs], lengths
        assert sorted(i for s in ours for i in s) == list(range(n))
    for n, lengths in [(5, [3, 3]), (5, [0.5, 0.6]), (5, []), (5, [2.5, 2.5]), (5, [1.5, -0.5])]:
        with pytest.raises((ValueError, TypeError)) as theirs:
            tdata.random_split(range(n), lengths)
        with pytest.raises(theirs.type):
            data.random_split(range(n), lengths)
    with pytest.raises(ValueError, match="negative"):  # PyTorch returns lengths [4, 1]
        data.random_split(range(5), [-1, 6])


def test_random_split_is_repeatable_with_a_generator():
    def split(seed):
        return [list(s) for s in data.random_split(range(10), [4, 6],
                                                   generator=cr.Generator().manual_seed(seed))]
    assert split(0) == split(0) and split(0) != split(1)


def test_datasets_compose_as_pytorchs():
    a, b = [10, 11, 12], [13, 14]
    for ours, theirs in ((data.ConcatDataset([a, b]), tdata.ConcatDataset([a, b])),
                         (data.Subset(a + b, [4, 0, 2]), tdata.Subset(a + b, [4, 0, 2]))):
        assert len(ours) == len(theirs)
        assert [ours[i] for i in range(-len(ours), len(ours))] == \
            [theirs[i] for i in range(-len(theirs), len(theirs))]
    with pytest.raises(ValueError):
        data.ConcatDataset([a, b])[-6]
    with pytest.raises(ValueError):
        tdata.ConcatDataset([a, b])[-6]
    assert isinstance(Numbers() + Numbers(), data.ConcatDataset)
    assert list(data.ChainDataset([Duplicated(), Duplicated()])) == \
        list(tdata.ChainDataset([TorchDuplicated(), TorchDuplicated()]))
    with pytest.raises(TypeError, match="IterableDataset"):
        data.ChainDataset([range(2)])
    with pytest.raises(ValueError, match="Size mismatch|size mismatch"):
        data.TensorDataset(cr.zeros(3), cr.zeros(2))


def test_utils_data_is_the_same_module():
    import subprocess
    import sys
    assert utils_data is data
    assert utils_data.DataLoader is data.DataLoader
    # In a fresh interpreter, by attribute after a plain import, and by each import path.
    code = ("import chainrule as cr\n"
            "assert cr.utils.data.DataLoader is cr.data.DataLoader\n"
            "import chainrule.utils.data as d\n"
            "from chainrule.utils.data import TensorDataset\n"
            "assert d is cr.data and TensorDataset is cr.data.TensorDataset\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr


# -- a PyTorch training loop with a checkpoint --------------------------------------------------

def test_training_loop_with_a_checkpoint_gives_pytorchs_losses(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((40, 5)).astype(np.float32)
    y = rng.integers(0, 3, 40)
    order = rng.permutation(40).tolist()  # one fixed order, given to both as the sampler
    torch_net = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3))
    net = cr.nn.Sequential(cr.nn.Linear(5, 8), cr.nn.Tanh(), cr.nn.Linear(8, 3))
    net.load_state_dict({k: cr.tensor(v.detach().numpy()) for k, v in
                         torch_net.state_dict().items()})

    def run(lib, tensor_dataset, loader_class, model, path, save, load):
        loader = loader_class(tensor_dataset(lib.tensor(x), lib.tensor(y)), batch_size=8,
                              sampler=order, drop_last=True)
        optimizer = lib.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        losses = []
        for epoch in range(3):
            for xb, yb in loader:
                loss = lib.nn.functional.cross_entropy(model(xb), yb)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                losses.append(loss.item())
            if epoch == 0:
                save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                      "epoch": epoch}, path)
                checkpoint = load(path)
                model.load_state_dict(checkpoint["model"])
                optimizer.load_state_dict(checkpoint["optimizer"])
                assert checkpoint["epoch"] == 0
        return losses

    theirs = run(torch, tdata.TensorDataset, tdata.DataLoader, torch_net, tmp_path / "t.pt",
                 torch.save, torch.load)
    ours = run(cr, data.TensorDataset, data.DataLoader, net, tmp_path / "c.pt", cr.save,
               cr.load)
    assert len(ours) == len(theirs) == 15
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-6)


@pytest.mark.parametrize("shuffle", [False, True])
def test_batches_of_tensors_that_require_grad_stay_in_the_graph(shuffle):
    # PyTorch stacks the rows, so the batch is a function of the dataset's tensor.
    x = np.arange(12.0).reshape(6, 2)
    order = [4, 1, 5, 0, 2, 3] if shuffle else None
    ours_x = cr.tensor(x, requires_grad=True)
    theirs_x = torch.tensor(x, requires_grad=True)
    for xb, in data.DataLoader(data.TensorDataset(ours_x), batch_size=4, sampler=order):
        (xb * xb * xb).sum().backward()
    for xb, in tdata.DataLoader(tdata.TensorDataset(theirs_x), batch_size=4, sampler=order):
        (xb * xb * xb).sum().backward()
    np.testing.assert_allclose(ours_x.grad.numpy(), theirs_x.grad.numpy())


@pytest.mark.parametrize("labeled", [False, True])
def test_subsets_of_tensor_datasets_give_pytorchs_batches(labeled):
    x, y = make_xy(12)
    outer, inner = [5, -1, 0, 7, 3, 2, 11, 9], [6, 0, 2, 7, 1]
    if labeled:
        from chainrule.data import LabeledDataset
        base = LabeledDataset(x, y, "toy", ("a", "b", "c", "d"))
        torch_base = tdata.TensorDataset(torch.tensor(x), torch.tensor(y))
    else:
        base = data.TensorDataset(cr.tensor(x), cr.tensor(y))
        torch_base = tdata.TensorDataset(torch.tensor(x), torch.tensor(y))
    ours = data.Subset(data.Subset(base, outer), cr.tensor(inner))
    theirs = tdata.Subset(tdata.Subset(torch_base, outer), torch.tensor(inner))
    for a, b in zip(data.DataLoader(ours, batch_size=2), tdata.DataLoader(theirs, batch_size=2),
                    strict=True):
        assert_same_batch(a, b)
    with pytest.raises(IndexError):
        list(data.DataLoader(data.Subset(base, [0, 12]), batch_size=2))


@pytest.mark.parametrize("options", [{"batch_size": 2}, {"batch_size": 2, "drop_last": True},
                                     {"batch_size": None}, {"batch_size": 2, "shuffle": True}],
                         ids=str)
@pytest.mark.parametrize("empty", ["list", "tensors"])
def test_empty_datasets_as_pytorch(options, empty):
    def outcome(lib, dataset):
        try:
            loader = lib.DataLoader(dataset, **options)
            return len(loader), len(list(loader))
        except Exception as error:  # noqa: BLE001  (the class is what is compared)
            return type(error)
    ours = [] if empty == "list" else data.TensorDataset(cr.zeros(0, 3))
    theirs = [] if empty == "list" else tdata.TensorDataset(torch.zeros(0, 3))
    assert outcome(data, ours) == outcome(tdata, theirs)


@pytest.mark.parametrize("kwargs", [dict(batch_size=3), dict(batch_size=3, drop_last=True),
                                    dict(batch_size=None), dict(batch_size=4, shuffle=True)])
def test_the_loaders_iterator_has_the_loaders_length_as_pytorchs(kwargs):
    data = list(range(10))
    ours = iter(cr.data.DataLoader(data, **kwargs))
    theirs = iter(torch.utils.data.DataLoader(data, **kwargs))
    assert len(ours) == len(theirs)
    assert sum(1 for _ in ours) == len(theirs)  # the length is the number of batches it gives
    assert iter(ours) is ours


def test_the_iterator_of_a_stream_without_length_refuses_len_as_pytorchs():
    class Stream(cr.data.IterableDataset):
        def __iter__(self):
            return iter(range(3))

    class TorchStream(torch.utils.data.IterableDataset):
        def __iter__(self):
            return iter(range(3))

    with pytest.raises(TypeError):
        len(iter(torch.utils.data.DataLoader(TorchStream(), batch_size=2)))
    with pytest.raises(TypeError):
        len(iter(cr.data.DataLoader(Stream(), batch_size=2)))
