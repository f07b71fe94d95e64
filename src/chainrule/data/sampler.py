"""Samplers as ``torch.utils.data`` has them: which indices a DataLoader fetches, in what order,
and how they are grouped into batches.

The samplers here can also hand a whole epoch over as one int64 array (``_index_array``), which
BatchSampler slices into batches without a Python loop over the examples.
"""
import numbers

import numpy as np


class Sampler:
    """Base class: subclass it and define ``__iter__`` (yielding dataset indices) and, where
    it is known, ``__len__``."""

    def __init__(self, data_source=None):
        pass

    def __iter__(self):
        raise NotImplementedError(f"{type(self).__name__} is a Sampler without __iter__")


class SequentialSampler(Sampler):
    """``0, 1, ..., len(data_source) - 1``.

    >>> list(data.SequentialSampler(range(3)))
    [0, 1, 2]
    """

    def __init__(self, data_source):
        self.data_source = data_source

    def _index_array(self):
        return np.arange(len(self.data_source), dtype=np.int64)

    def __iter__(self):
        return iter(range(len(self.data_source)))

    def __len__(self):
        return len(self.data_source)


class RandomSampler(Sampler):
    """The indices in a random order (a fresh one each epoch), or, with ``replacement``,
    ``num_samples`` draws with replacement. Without a ``generator`` each epoch draws its order
    from the library's default generator (``cr.manual_seed`` makes it repeatable).

    >>> sampler = data.RandomSampler(range(5), generator=cr.Generator().manual_seed(0))
    >>> sorted(sampler)
    [0, 1, 2, 3, 4]
    """

    def __init__(self, data_source, replacement=False, num_samples=None, generator=None):
        if not isinstance(replacement, bool):
            raise TypeError(f"RandomSampler: replacement should be a boolean value, but got "
                            f"replacement={replacement!r}")
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator
        # DataLoader(seed=...) sets (seed, epoch): each epoch's order then depends on nothing
        # else, which is what lets a checkpoint resume in the middle of an epoch.
        self._epoch_seed = None
        n = self.num_samples
        if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n <= 0:
            raise ValueError(f"RandomSampler: num_samples should be a positive integer value, "
                             f"but got num_samples={n!r}")

    @property
    def num_samples(self):
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def _rng(self):
        from chainrule.random import resolve
        if self._epoch_seed is not None:
            return np.random.default_rng(list(self._epoch_seed))
        if self.generator is None:
            # As PyTorch: each epoch seeds its own generator from the default one.
            return np.random.default_rng(int(resolve(None).integers(2**63)))
        return resolve(self.generator)

    def _index_array(self):
        n, rng = len(self.data_source), self._rng()
        if self.replacement:
            return rng.integers(0, n, size=self.num_samples, dtype=np.int64)
        whole, rest = divmod(self.num_samples, n)
        parts = [rng.permutation(n) for _ in range(whole)]
        if rest:
            parts.append(rng.permutation(n)[:rest])
        return np.concatenate(parts).astype(np.int64, copy=False)

    def __iter__(self):
        return iter(self._index_array().tolist())

    def __len__(self):
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given ``indices`` in a random order, a fresh one each epoch.

    >>> sorted(data.SubsetRandomSampler([7, 3, 5]))
    [3, 5, 7]
    """

    def __init__(self, indices, generator=None):
        self.indices = indices
        self.generator = generator

    def _integer_indices(self):
        """The indices as a 1-D int64 array, or None where they are other keys (floats, lists,
        strings): those are handed to the dataset as they are, as PyTorch does, never cast."""
        indices = self.indices.numpy() if hasattr(self.indices, "numpy") else self.indices
        try:
            array = np.asarray(indices)
        except ValueError:  # ragged lists
            return None
        if array.ndim != 1 or array.dtype.kind not in "iu" and array.size:
            return None
        return array.astype(np.int64)

    def _index_array(self):
        from chainrule.random import resolve
        indices = self._integer_indices()
        if indices is None:
            return None
        return indices[resolve(self.generator).permutation(len(indices))]

    def __iter__(self):
        array = self._index_array()
        if array is not None:
            return iter(array.tolist())
        from chainrule.random import resolve
        order = resolve(self.generator).permutation(len(self.indices)).tolist()
        return iter([self.indices[i] for i in order])

    def __len__(self):
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """``num_samples`` indices drawn with probabilities proportional to ``weights`` (as
    ``cr.multinomial``).

    >>> list(data.WeightedRandomSampler([0.0, 1.0, 0.0], 3))
    [1, 1, 1]
    """

    def __init__(self, weights, num_samples, replacement=True, generator=None):
        if isinstance(num_samples, bool) or not isinstance(num_samples, numbers.Integral) \
                or num_samples <= 0:
            raise ValueError(f"WeightedRandomSampler: num_samples should be a positive integer "
                             f"value, but got num_samples={num_samples!r}")
        if not isinstance(replacement, bool):
            raise ValueError(f"WeightedRandomSampler: replacement should be a boolean value, "
                             f"but got replacement={replacement!r}")
        if hasattr(weights, "detach"):  # weights that require grad are still only weights
            weights = weights.detach()
        weights = np.asarray(weights.numpy() if hasattr(weights, "numpy") else weights,
                             dtype=np.float64)
        if weights.ndim != 1:
            raise ValueError(f"WeightedRandomSampler: weights should be a 1d sequence but "
                             f"given weights have shape {weights.shape}")
        self.weights = weights
        self.num_samples = int(num_samples)
        self.replacement = replacement
        self.generator = generator

    def _index_array(self):
        from chainrule.random import multinomial
        from chainrule.tensor import Tensor
        draws = multinomial(Tensor._make(self.weights, None), self.num_samples, self.replacement,
                            generator=self.generator)
        return draws.numpy()

    def __iter__(self):
        return iter(self._index_array().tolist())

    def __len__(self):
        return self.num_samples


class BatchSampler(Sampler):
    """Groups the indices of ``sampler`` into lists of ``batch_size``; with ``drop_last`` a
    last, shorter batch is left out.

    >>> list(data.BatchSampler(data.SequentialSampler(range(5)), 2, drop_last=False))
    [[0, 1], [2, 3], [4]]
    """

    def __init__(self, sampler, batch_size, drop_last):
        if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) \
                or batch_size <= 0:
            raise ValueError(f"BatchSampler: batch_size should be a positive integer value, "
                             f"but got batch_size={batch_size!r}")
        if not isinstance(drop_last, bool):
            raise ValueError(f"BatchSampler: drop_last should be a boolean value, but got "
                             f"drop_last={drop_last!r}")
        self.sampler = sampler
        self.batch_size = int(batch_size)
        self.drop_last = drop_last

    def _index_arrays(self):
        """The epoch's batches as int64 arrays, or None if the sampler cannot give its indices
        as one array (a sampler of your own may yield any keys your dataset takes)."""
        if not _gives_arrays(self.sampler):
            return None
        order = self.sampler._index_array()
        if order is None:  # a SubsetRandomSampler of keys that are not integers
            return None
        stop = len(order) - len(order) % self.batch_size if self.drop_last else len(order)
        return (order[start:start + self.batch_size]
                for start in range(0, stop, self.batch_size))

    def __iter__(self):
        arrays = self._index_arrays()
        if arrays is not None:
            yield from (batch.tolist() for batch in arrays)
            return
        batch = []
        for index in self.sampler:
            batch.append(index)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self):
        if self.drop_last:
            return len(self.sampler) // self.batch_size
        return -(-len(self.sampler) // self.batch_size)


def _gives_arrays(sampler):
    # Exact types: a subclass may override __iter__, and then its __iter__ decides.
    return type(sampler) in (SequentialSampler, RandomSampler, SubsetRandomSampler,
                             WeightedRandomSampler)


__all__ = ["Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler",
           "WeightedRandomSampler", "BatchSampler"]
