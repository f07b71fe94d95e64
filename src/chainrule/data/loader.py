"""DataLoader, as ``torch.utils.data.DataLoader``: batches of Tensors from a map-style or
iterable dataset, reproducibly shuffled and resumable from a checkpoint."""
import numbers

import numpy as np

from chainrule.tensor import Tensor, as_tensor

from .collate import default_collate, default_convert
from .dataset import IterableDataset, Subset, TensorDataset
from .sampler import BatchSampler, RandomSampler, SequentialSampler
from .workers import WorkerInfo, in_worker


class DataLoader:
    """Batches from ``dataset``, as ``torch.utils.data.DataLoader`` (same arguments, same
    batches): a map-style dataset (``__len__``/``__getitem__``: a Dataset subclass, a
    ``TensorDataset``, a list of ``(x, y)`` pairs), an ``IterableDataset``, or, as before,
    a tuple of equal-length arrays (read as ``TensorDataset(*arrays)``). Each batch is what
    ``collate_fn`` (default: ``default_collate``) makes of ``batch_size`` examples: Tensors.

    ``shuffle=True`` draws a fresh order each epoch from ``generator`` if one is given, else
    from ``seed`` and the epoch number (``seed`` defaults to a number drawn from the library's
    generator, so ``cr.manual_seed`` makes the order repeatable); ``state_dict()`` then holds
    all a checkpoint needs to resume in the middle of an epoch.

    ``num_workers > 0`` is accepted and runs in this process: the batches, their order and what
    ``get_worker_info()`` says inside the dataset are those of PyTorch's worker processes,
    computed one after another (no speed-up; no processes to start or fail).

    >>> x = cr.arange(10.0).reshape(5, 2)
    >>> y = cr.tensor([0, 1, 0, 1, 1])
    >>> loader = data.DataLoader(data.TensorDataset(x, y), batch_size=3)
    >>> len(loader)
    2
    >>> xb, yb = next(iter(loader))
    >>> xb.std(0), yb
    (tensor([2., 2.], dtype=float32), tensor([0, 1, 0], dtype=int64))
    """

    def __init__(self, dataset, batch_size=1, shuffle=None, sampler=None, batch_sampler=None,
                 num_workers=0, collate_fn=None, pin_memory=False, drop_last=False, timeout=0,
                 worker_init_fn=None, multiprocessing_context=None, generator=None, *,
                 prefetch_factor=None, persistent_workers=False, pin_memory_device="",
                 in_order=True, seed=None):
        self.dataset = _as_dataset(dataset)
        self._check_options(num_workers, timeout, prefetch_factor, persistent_workers)
        if generator is not None:
            from chainrule.random import resolve
            resolve(generator)  # a TypeError now, rather than at the first shuffle
        iterable = isinstance(self.dataset, IterableDataset)
        if iterable and shuffle not in (None, False):
            raise ValueError(f"DataLoader with IterableDataset: expected unspecified shuffle "
                             f"option, but got shuffle={shuffle}")
        if iterable and sampler is not None:
            raise ValueError(f"DataLoader with IterableDataset: expected unspecified sampler "
                             f"option, but got sampler={sampler}")
        if iterable and batch_sampler is not None:
            raise ValueError(f"DataLoader with IterableDataset: expected unspecified "
                             f"batch_sampler option, but got batch_sampler={batch_sampler}")
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("DataLoader: batch_sampler option is mutually exclusive with "
                                 "batch_size, shuffle, sampler, and drop_last")
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError("DataLoader: batch_size=None option disables auto-batching and "
                             "is mutually exclusive with drop_last")
        if batch_size is not None:
            _check_batch_size(batch_size)
        if not isinstance(drop_last, bool):
            raise ValueError(f"DataLoader: drop_last should be a boolean value, but got "
                             f"drop_last={drop_last!r}")
        self.batch_size, self.drop_last = batch_size, drop_last
        self.num_workers, self.timeout = num_workers, timeout
        self.worker_init_fn, self.generator = worker_init_fn, generator
        self.prefetch_factor, self.persistent_workers = prefetch_factor, persistent_workers
        self.pin_memory, self.pin_memory_device = pin_memory, pin_memory_device
        self.multiprocessing_context, self.in_order = multiprocessing_context, in_order
        self.shuffle = bool(shuffle)
        self._own_order = sampler is None and batch_sampler is None
        # A shuffle without a seed draws one now from the library's generator, so that an
        # unseeded run is repeatable after cr.manual_seed and can still be checkpointed and
        # resumed (kept below 2**63 for JSON readers with 64-bit integers). A loader that does
        # not shuffle draws nothing, so making one changes no later random number.
        if seed is None:
            from chainrule.random import resolve
            draws = self.shuffle and generator is None and self._own_order and not iterable
            seed = int(resolve(None).integers(2**63)) if draws else 0
        self.seed = _check_seed(seed)
        if iterable:
            self.sampler = None
        elif sampler is not None:
            self.sampler = sampler
        elif self.shuffle:
            self.sampler = RandomSampler(self.dataset, generator=generator)
            if generator is None:
                self.sampler._epoch_seed = (self.seed, 0)
        else:
            self.sampler = SequentialSampler(self.dataset)
        if batch_sampler is None and batch_size is not None and not iterable:
            batch_sampler = BatchSampler(self.sampler, batch_size, drop_last)
        self.batch_sampler = batch_sampler
        self.collate_fn = collate_fn or (default_collate if self._auto_collation
                                         else default_convert)
        self._epoch = 0
        self._batches_done = 0
        self._resuming = False
        self._epoch_generator_state = None
        self._workers = []

    @staticmethod
    def _check_options(num_workers, timeout, prefetch_factor, persistent_workers):
        if isinstance(num_workers, bool) or not isinstance(num_workers, numbers.Integral):
            raise TypeError(f"DataLoader: num_workers must be an int, got {num_workers!r}")
        if num_workers < 0:
            raise ValueError("DataLoader: num_workers option should be non-negative; use "
                             "num_workers=0 to disable multiprocessing.")
        if timeout < 0:
            raise ValueError("DataLoader: timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("DataLoader: prefetch_factor option could only be specified in "
                             "multiprocessing. Let num_workers > 0 to enable multiprocessing, "
                             "otherwise set prefetch_factor to None.")
        if prefetch_factor is not None and prefetch_factor < 0:
            raise ValueError("DataLoader: prefetch_factor option should be non-negative")
        if persistent_workers and num_workers == 0:
            raise ValueError("DataLoader: persistent_workers option needs num_workers > 0")

    @property
    def _auto_collation(self):
        return self.batch_sampler is not None or (
            self.sampler is None and self.batch_size is not None)

    @property
    def num_examples(self):
        return len(self.dataset)

    @property
    def epoch(self):
        """The index of the epoch that is running, or that the next loop will run."""
        return self._epoch

    def __len__(self):
        if isinstance(self.dataset, IterableDataset):
            length = len(self.dataset)  # a TypeError if the stream has no length, as PyTorch
            if self.batch_size is None:
                return length
            return length // self.batch_size if self.drop_last else -(-length //
                                                                      self.batch_size)
        if self.batch_sampler is not None:
            return len(self.batch_sampler)
        return len(self.sampler)

    def __iter__(self):
        return _LoaderIterator(self, self._batches())

    def _batches(self):
        if self._batches_done and not self._resuming:
            # A loop left part-way counts as a finished epoch: a new loop starts a new epoch,
            # unless load_state_dict() asked to continue the interrupted one.
            self._epoch += 1
            self._batches_done = 0
        self._resuming = False
        skip = self._batches_done
        self._prepare_epoch()
        # Only a map-style dataset resumes mid-epoch (check_state_dict refuses a stream).
        batches = self._iterable_batches() if isinstance(self.dataset, IterableDataset) \
            else self._map_batches(skip)
        for number, batch in enumerate(batches, skip):
            self._batches_done = number + 1
            yield batch
        self._epoch += 1
        self._batches_done = 0

    def _prepare_epoch(self):
        if isinstance(self.sampler, RandomSampler) and self._own_order:
            if self.generator is None:
                self.sampler._epoch_seed = (self.seed, self._epoch)
            elif self._batches_done == 0 or self._epoch_generator_state is None:
                self._epoch_generator_state = _generator_state(self.generator)
        if self.persistent_workers and self._workers:
            return  # PyTorch starts persistent workers, and runs worker_init_fn, once
        self._workers = [WorkerInfo(i, self.num_workers, self.seed + i, self.dataset)
                         for i in range(self.num_workers)]
        if self.worker_init_fn is not None:
            for info in self._workers:
                with in_worker(info):
                    self.worker_init_fn(info.id)

    def _map_batches(self, skip):
        if self.batch_sampler is None:
            for number, index in enumerate(self.sampler):
                if number < skip:
                    continue
                with in_worker(self._worker(number)):
                    yield self.collate_fn(self.dataset[index])
            return
        arrays = self.batch_sampler._index_arrays() \
            if isinstance(self.batch_sampler, BatchSampler) else None
        columns, rows = _columns(self.dataset)
        fast = arrays is not None and self.collate_fn is default_collate and columns is not None
        batches = arrays if arrays is not None else iter(self.batch_sampler)
        for number, indices in enumerate(batches):
            if number < skip:
                continue
            with in_worker(self._worker(number)):
                if fast:
                    indices = indices if rows is None else rows[indices]
                    yield [_take(column, indices) for column in columns]
                    continue
                if isinstance(indices, np.ndarray):
                    indices = indices.tolist()
                getitems = getattr(self.dataset, "__getitems__", None)
                samples = getitems(indices) if getitems else [self.dataset[i] for i in indices]
                yield self.collate_fn(samples)

    def _worker(self, number):
        return self._workers[number % self.num_workers] if self._workers else None

    def _iterable_batches(self):
        # Each of PyTorch's workers holds its own copy of the stream and batches it; the
        # loader takes one batch from each in turn, dropping a worker once it runs dry.
        infos = self._workers or [None]
        streams = []
        for info in infos:
            with in_worker(info):
                streams.append((info, iter(self.dataset)))
        while streams:
            for entry in list(streams):
                info, stream = entry
                with in_worker(info):
                    batch = self._next_batch(stream)
                if batch is None:
                    streams.remove(entry)
                else:
                    yield batch

    def _next_batch(self, stream):
        if self.batch_size is None:
            for example in stream:
                return self.collate_fn(example)
            return None
        examples = []
        for example in stream:
            examples.append(example)
            if len(examples) == self.batch_size:
                break
        if not examples or (self.drop_last and len(examples) < self.batch_size):
            return None
        return self.collate_fn(examples)

    # -- checkpoints ---------------------------------------------------------------------------
    def state_dict(self):
        """The seed, the epoch and the batches already served in it (and, with a
        ``generator``, its state at the start of the epoch), as JSON-ready values."""
        state = {
            "seed": self.seed,
            "epoch": self._epoch,
            "batches_done": self._batches_done,
            "num_examples": None if isinstance(self.dataset, IterableDataset)
            else self.num_examples,
            "batch_size": self.batch_size,
        }
        if self.shuffle and self.generator is not None:
            state["generator_state"] = (self._epoch_generator_state if self._batches_done
                                        else _generator_state(self.generator))
        return state

    def load_state_dict(self, state):
        """Continue from ``state``: the next loop serves the rest of the saved epoch (no batches,
        if it was saved after the epoch's last batch), and the loops after it the next epochs,
        exactly as an uninterrupted run would have."""
        self.seed, self._epoch, self._batches_done = self.check_state_dict(state)
        if "generator_state" in state and self.generator is not None:
            _set_generator_state(self.generator, state["generator_state"])
            self._epoch_generator_state = list(state["generator_state"])
        self._resuming = True

    def check_state_dict(self, state):
        """Raise what ``load_state_dict(state)`` would raise, changing nothing; returns the
        seed, epoch and batches done that it would restore."""
        if not isinstance(state, dict):
            raise TypeError(f"DataLoader state must be a dict, got {type(state).__name__}")
        missing = {"seed", "epoch", "batches_done"} - set(state)
        if missing:
            raise ValueError(f"DataLoader state lacks {sorted(missing)}; got keys {sorted(state)}")
        seed = _check_seed(state["seed"])
        epoch, batches_done = int(state["epoch"]), int(state["batches_done"])
        length = None if isinstance(self.dataset, IterableDataset) else len(self)
        if epoch < 0 or batches_done < 0 or (length is not None and batches_done > length):
            raise ValueError(
                f"DataLoader state has epoch {epoch} and {batches_done} batches done; "
                f"this loader has {length} batches per epoch"
            )
        if batches_done:
            # The position within an epoch means the same batches only for the same data layout.
            saved = (state.get("num_examples"), state.get("batch_size"))
            here = (None if length is None else self.num_examples, self.batch_size)
            if saved != here:
                raise ValueError(
                    f"DataLoader state was saved mid-epoch with {saved[0]} examples in batches of "
                    f"{saved[1]}; this loader has {here[0]} in batches of {here[1]}"
                )
            if self.shuffle and self.generator is not None and "generator_state" not in state:
                raise ValueError("DataLoader state was saved mid-epoch without the state of "
                                 "the generator that shuffles this loader")
            if isinstance(self.dataset, IterableDataset):
                raise ValueError(
                    f"DataLoader state was saved mid-epoch, but this loader's examples come "
                    f"from your {type(self.dataset).__name__} stream, which it cannot replay; "
                    f"resume at an epoch boundary instead")
            if not self._own_order and not _repeatable(self.sampler or self.batch_sampler):
                order = self.batch_sampler if self.sampler is None else self.sampler
                raise ValueError(
                    f"DataLoader state was saved mid-epoch, but this loader's order comes from "
                    f"your {type(order).__name__}, which it cannot replay; resume at an epoch "
                    f"boundary instead")
        if self.shuffle and self.generator is not None and "generator_state" in state:
            _check_generator_state(self.generator, state["generator_state"])
        return int(seed), epoch, batches_done

    def __repr__(self):
        size = "" if isinstance(self.dataset, IterableDataset) else \
            f"{self.num_examples} examples, "
        return (f"DataLoader({size}batch_size={self.batch_size}, shuffle={self.shuffle}, "
                f"drop_last={self.drop_last}, num_workers={self.num_workers})")


def _as_dataset(data):
    if isinstance(data, tuple) and data and all(isinstance(a, (np.ndarray, Tensor))
                                                for a in data):
        # chainrule's original form, kept: a tuple of equal-length arrays is their columns.
        # (PyTorch would read the tuple as a dataset of len(data) examples.)
        if any(np.ndim(a) == 0 for a in data):
            shapes = [tuple(np.shape(a)) for a in data]
            raise ValueError(f"DataLoader needs arrays with an example axis; got shapes {shapes}")
        lengths = [len(a) for a in data]
        if len(set(lengths)) > 1:
            raise ValueError(f"DataLoader needs arrays of equal length; got lengths {lengths}")
        return TensorDataset(*data)
    if hasattr(data, "x") and hasattr(data, "y") and not hasattr(data, "__getitem__"):
        return TensorDataset(np.asarray(data.x), np.asarray(data.y))
    if not (hasattr(data, "__getitem__") and hasattr(data, "__len__")) and \
            not isinstance(data, IterableDataset):
        raise TypeError(
            f"DataLoader takes a dataset (an object with __len__ and __getitem__, such as a "
            f"TensorDataset or a list of (x, y) pairs, or an IterableDataset) or a tuple of "
            f"equal-length arrays; got {type(data).__name__}")
    return data


def _columns(dataset):
    """The arrays whose rows are the examples, where fetching a batch can index them at once
    and give exactly what default_collate would make of the examples one by one; and, for a
    Subset of such a dataset, the rows that its indices pick (else None)."""
    rows = None
    while type(dataset) is Subset:
        picked = np.asarray(dataset.indices.numpy() if isinstance(dataset.indices, Tensor)
                            else dataset.indices)
        if picked.ndim != 1 or not (picked.dtype.kind in "iu" or picked.size == 0):
            return None, None
        picked = picked.astype(np.int64)
        rows = picked if rows is None else picked[rows]
        dataset = dataset.dataset
    if type(dataset) is TensorDataset:
        return dataset.tensors, rows
    from .datasets import LabeledDataset
    if type(dataset) is LabeledDataset:
        return (dataset.x, dataset.y), rows
    return None, None


def _take(column, indices):
    if isinstance(column, Tensor):
        return column[as_tensor(indices)]
    return as_tensor(np.take(column, indices, axis=0))


def _repeatable(order):
    return isinstance(order, SequentialSampler) or (
        isinstance(order, BatchSampler) and isinstance(order.sampler, SequentialSampler))


def _generator_state(generator):
    from chainrule.random import Generator
    if isinstance(generator, Generator):
        return generator.get_state().tolist()
    return generator.bit_generator.state


def _set_generator_state(generator, state):
    from chainrule.random import Generator
    from chainrule.tensor import tensor
    if isinstance(generator, Generator):
        generator.set_state(tensor(state, dtype=np.uint8))
    else:
        generator.bit_generator.state = state


def _check_generator_state(generator, state):
    from chainrule.random import Generator
    from chainrule.tensor import tensor
    if isinstance(generator, Generator):
        Generator().set_state(tensor(state, dtype=np.uint8))
    else:
        type(generator.bit_generator)().state = state


class _LoaderIterator:
    """One pass over a DataLoader, as PyTorch's loader iterators: ``next()`` gives the next
    batch and ``len()`` the loader's length (``len(iter(loader))``)."""

    def __init__(self, loader, batches):
        self._loader, self._batches = loader, batches

    def __iter__(self):
        return self

    def __next__(self):
        return next(self._batches)

    def __len__(self):
        return len(self._loader)


class _NotAnIntError(TypeError, ValueError):
    # PyTorch raises ValueError for batch_size=2.5; chainrule has always raised TypeError.
    pass


def _check_batch_size(batch_size):
    if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral):
        raise _NotAnIntError(f"DataLoader: batch_size should be a positive integer value, but "
                             f"got batch_size={batch_size!r}")
    if batch_size <= 0:
        raise ValueError(f"DataLoader: batch_size should be a positive integer value, but got "
                         f"batch_size={batch_size!r}")


def _check_seed(seed):
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"DataLoader: seed must be a non-negative integer or None; got {seed!r}")
    if seed < 0:
        raise ValueError(f"DataLoader: seed must be non-negative; got {seed}")
    return int(seed)


__all__ = ["DataLoader"]
